//! `--split`: deterministic splits, each with its own shards and totals.

use std::collections::BTreeMap;
use std::fs::File;

use arrow::array::AsArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::*;

/// key -> split, read from the Parquet shards themselves.
fn assignment(out: &std::path::Path) -> BTreeMap<String, String> {
    let m = manifest(out);
    let mut keys = BTreeMap::new();
    for shard in m["shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["format"] == "parquet")
    {
        let reader = ParquetRecordBatchReaderBuilder::try_new(
            File::open(out.join(shard["path"].as_str().unwrap())).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for key in batch
                .column_by_name("key")
                .unwrap()
                .as_string::<i32>()
                .iter()
            {
                keys.insert(
                    key.unwrap().to_string(),
                    shard["split"].as_str().unwrap().to_string(),
                );
            }
        }
    }
    keys
}

#[test]
fn splits_get_their_own_shards_and_totals() {
    let t = TestDir::new();
    t.convert(
        &good_sources(),
        "out",
        &[
            "--split",
            "validation=0.2,test=0.3",
            "--format",
            "parquet,webdataset",
        ],
    )
    .expect_code(0);
    let m = manifest(&t.join("out"));
    let splits = m["splits"].as_object().unwrap();
    assert_eq!(
        splits.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        10
    );
    assert_eq!(
        m["options"]["splits"]["fractions"],
        serde_json::json!({"test": 0.3, "validation": 0.2})
    );
    // Keys in name order, whatever the order on the command line.
    let text = std::fs::read_to_string(t.join("out/manifest.json")).unwrap();
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} not in {text}"));
    assert!(at(r#""test": 0.3"#) < at(r#""validation": 0.2"#));
    for shard in m["shards"].as_array().unwrap() {
        let split = shard["split"].as_str().unwrap();
        let path = shard["path"].as_str().unwrap();
        assert!(
            path.starts_with(&format!("data/{split}-"))
                || path.starts_with(&format!("webdataset/{split}-")),
            "{path}"
        );
    }
    let keys = assignment(&t.join("out"));
    for (split, rows) in splits {
        assert_eq!(
            keys.values().filter(|s| *s == split).count() as u64,
            rows.as_u64().unwrap(),
            "{split}"
        );
    }
    t.run(["verify", t.join("out").to_str().unwrap()])
        .expect_code(0);
    // The commands that read the manifest back parse the fractions, and so they do in a
    // manifest written before they became an object.
    t.run([
        "extract",
        t.join("out").to_str().unwrap(),
        "--out",
        t.join("sfhq").to_str().unwrap(),
    ])
    .expect_code(0);
    let old = text.replace(
        "{\n        \"test\": 0.3,\n        \"validation\": 0.2\n      }",
        "[[\"test\", 0.3], [\"validation\", 0.2]]",
    );
    assert_ne!(old, text, "fractions as written: {text}");
    std::fs::write(t.join("out/manifest.json"), old).unwrap();
    // ... with the SHA256SUMS of that time, which did not hold the manifest's hash.
    let sums = std::fs::read_to_string(t.join("out/SHA256SUMS")).unwrap();
    let shards_only: String = sums
        .lines()
        .filter(|l| !l.ends_with("  manifest.json"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(t.join("out/SHA256SUMS"), shards_only).unwrap();
    t.run(["verify", t.join("out").to_str().unwrap()])
        .expect_code(0)
        .expect_stdout_contains("NOTE SHA256SUMS (written by an earlier sfhq-pack)");
}

#[test]
fn a_key_keeps_its_split_across_runs_and_when_a_part_is_added() {
    let t = TestDir::new();
    let split = ["--split", "test=0.5", "--split-seed", "11"];
    let part1 = vec![fixtures().join("good").join("SFHQ_pt1")];
    t.convert(&part1, "alone", &split).expect_code(0);
    t.convert(&part1, "again", &split).expect_code(0);
    t.convert(&good_sources(), "all", &split).expect_code(0);
    let alone = assignment(&t.join("alone"));
    assert_eq!(alone, assignment(&t.join("again")));
    let all = assignment(&t.join("all"));
    for (key, split) in &alone {
        assert_eq!(&all[key], split, "{key} moved when a part was added");
    }
    let mut other_seed = split;
    other_seed[3] = "12";
    t.convert(&good_sources(), "reseeded", &other_seed)
        .expect_code(0);
    assert_ne!(
        assignment(&t.join("reseeded")),
        all,
        "the seed changes the draw"
    );
}

#[test]
fn a_bad_split_is_a_usage_error() {
    let t = TestDir::new();
    t.convert(
        &good_sources(),
        "out",
        &["--split", "test=0.7,validation=0.5"],
    )
    .expect_code(2)
    .expect_stderr_contains("nothing for train");
    assert!(!t.join("out").exists());
}
