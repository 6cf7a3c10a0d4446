//! `plan`: predictions from the inventory alone, checked against what `convert` produces.

use std::collections::BTreeMap;

use crate::util::*;

#[test]
fn plan_predicts_the_shards_convert_writes() {
    let t = TestDir::new();
    let options = [
        "--format",
        "parquet,webdataset",
        "--shard-size",
        "60kB",
        "--split",
        "test=0.3",
    ];
    let mut args: Vec<std::ffi::OsString> = vec!["plan".into(), "--json".into()];
    args.extend(good_sources().into_iter().map(Into::into));
    args.extend(options.iter().map(Into::into));
    let run = t.run(&args);
    run.expect_code(0);
    let plan = run.json();
    assert_eq!(plan["samples"], 10);

    t.convert(&good_sources(), "out", &options).expect_code(0);
    let m = manifest(&t.join("out"));
    let mut actual: BTreeMap<(String, String), i64> = BTreeMap::new();
    for shard in m["shards"].as_array().unwrap() {
        let key = (
            shard["format"].as_str().unwrap().to_string(),
            shard["split"].as_str().unwrap().to_string(),
        );
        *actual.entry(key).or_default() += 1;
    }
    for ((format, split), count) in &actual {
        let predicted = plan["shards"][format][split].as_i64().unwrap();
        assert!(
            (predicted - count).abs() <= 1,
            "{format}/{split}: planned {predicted}, wrote {count}"
        );
    }
    assert_eq!(plan["splits"], m["splits"]);
    let largest = m["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .max()
        .unwrap();
    let planned = plan["largest_file"].as_u64().unwrap();
    assert!(
        planned >= largest / 2 && planned <= largest * 2,
        "largest file: planned {planned}, wrote {largest}"
    );
}

#[test]
fn plan_flags_a_kaggle_upload_of_a_thousand_files_before_any_work() {
    let t = TestDir::new();
    let src = t.join("many");
    let good = fixtures().join("good").join("SFHQ_pt1");
    let image = std::fs::read(good.join("images/SFHQ_pt1_00000001.jpg")).unwrap();
    std::fs::create_dir_all(src.join("images")).unwrap();
    for i in 0..1000 {
        std::fs::write(src.join(format!("images/SFHQ_pt7_{i:08}.jpg")), &image).unwrap();
    }
    // One sample per shard: 1,000 Parquet files, over Kaggle's limit, fine for the Hub.
    let run = t.run([
        "plan",
        src.to_str().unwrap(),
        "--shard-size",
        "1",
        "--target",
        "kaggle",
    ]);
    run.expect_code(1)
        // The same count as `package --kaggle`: shards + card + SHA256SUMS + metadata.
        .expect_stdout_contains("FAIL kaggle: under 1000 files in the upload folder (1004: 1000 shards, README.md, SHA256SUMS, manifest.json, dataset-metadata.json)")
        .expect_stdout_contains("verdict: exceeds a platform limit");
    t.run([
        "plan",
        src.to_str().unwrap(),
        "--shard-size",
        "1",
        "--target",
        "hf",
    ])
    .expect_code(0);
    assert!(!t.join("many").join("data").exists(), "plan writes nothing");
}

#[test]
fn plan_stops_on_duplicate_keys_as_convert_would() {
    let t = TestDir::new();
    let part = fixtures().join("good").join("SFHQ_pt1");
    t.run([
        "plan".into(),
        "--json".into(),
        part.clone().into_os_string(),
        part.into_os_string(),
    ])
    .expect_code(2)
    .expect_stderr_contains("source.duplicate: 4 keys found in more than one place");
}

/// `plan` predicts from the inventory alone; `--dedup-threshold` would need every feature
/// pickle and image read (the whole cost of `dedup`), so `plan` does not take it rather
/// than take it and ignore it (src/plan.rs says what the plan then differs by).
#[test]
fn plan_refuses_dedup_threshold_instead_of_ignoring_it() {
    let t = TestDir::new();
    let mut args: Vec<std::ffi::OsString> = vec!["plan".into()];
    args.extend(good_sources().into_iter().map(Into::into));
    args.extend(["--dedup-threshold".into(), "0.5".into()]);
    t.run(&args)
        .expect_code(2)
        .expect_stderr_contains("unexpected argument '--dedup-threshold'");
}
