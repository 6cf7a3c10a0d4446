//! `dedup`: exactly the planted pairs of `fixtures/dedup/` (made by
//! `fixtures/make_dedup_fixtures.py` with real numpy 1.x and 2.x pickles), from raw parts and
//! from a converted folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::util::*;

fn dedup_dir() -> PathBuf {
    fixtures().join("dedup")
}

fn expected() -> Value {
    read_json(&dedup_dir().join("EXPECTED.json"))
}

/// (a, b, identical) of every pair, and the similarity of each.
fn pair_set(pairs: &Value) -> BTreeMap<(String, String, bool), f64> {
    pairs
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            (
                (
                    p["a"].as_str().unwrap().to_string(),
                    p["b"].as_str().unwrap().to_string(),
                    p["identical"].as_bool().unwrap(),
                ),
                p["similarity"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Checks a `dedup --json` result against EXPECTED.json: the same pairs (similarities within
/// 1e-6 of numpy's float32), groups, unchecked keys and count checked.
fn assert_matches_expected(got: &Value, run: &Run) {
    let want = expected();
    let (got_pairs, want_pairs) = (pair_set(&got["pairs"]), pair_set(&want["pairs"]));
    assert_eq!(
        got_pairs.keys().collect::<Vec<_>>(),
        want_pairs.keys().collect::<Vec<_>>(),
        "pairs differ\n{}",
        run.stdout
    );
    for (pair, similarity) in &want_pairs {
        assert!(
            (got_pairs[pair] - similarity).abs() < 1e-6,
            "{pair:?}: {} against numpy's {similarity}",
            got_pairs[pair]
        );
    }
    assert_eq!(got["groups"], want["groups"]);
    let unchecked: Vec<&str> = got["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap())
        .collect();
    let want_unchecked: Vec<&str> = want["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(unchecked, want_unchecked);
    assert_eq!(got["checked"], want["checked"]);
    assert_eq!(got["threshold"], 0.92);
    assert_eq!(got["model"], "CLIP_ViTL_14@336");
    // Near misses and pairs just below the threshold are absent.
    for p in want["must_not_pair"].as_array().unwrap() {
        let (a, b) = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
        assert!(
            !got_pairs.keys().any(|(x, y, _)| x == a && y == b),
            "{a} {b} reported: {}",
            p["why"]
        );
    }
}

fn dedup_args(sources: &[PathBuf], extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["dedup".into()];
    args.extend(sources.iter().map(|s| s.clone().into_os_string()));
    args.extend(extra.iter().map(Into::into));
    args
}

#[test]
fn dedup_reports_exactly_the_planted_pairs_from_raw_parts() {
    let t = TestDir::new();
    let run = t.run(dedup_args(&dedup_sources(), &["--json"]));
    run.expect_code(1);
    assert_matches_expected(&run.json(), &run);
    let reasons: BTreeMap<String, String> = run.json()["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["key"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(reasons["SFHQ_pt7_00000014"].contains("no 'CLIP_ViTL_14@336' vector"));
    assert!(reasons["SFHQ_pt9_00000001"].contains("no pretrained_features folder"));
}

#[test]
fn dedup_reports_the_same_pairs_from_a_converted_folder() {
    let t = TestDir::new();
    t.convert(&dedup_sources(), "out", &["--image-size", "8"])
        .expect_code(0);
    let run = t.run(dedup_args(&[t.join("out")], &["--json"]));
    run.expect_code(1);
    assert_matches_expected(&run.json(), &run);
    // The summary says how much of the shards was read.
    run.expect_stderr_contains("of Parquet shards");
    run.expect_stderr_contains("held as float32");
}

#[test]
fn dedup_text_gives_a_verdict_and_the_largest_groups() {
    let t = TestDir::new();
    let run = t.run(dedup_args(&dedup_sources(), &[]));
    run.expect_code(1)
        .expect_stdout_contains("verdict: the dataset's claim does not hold: 10 pair(s) at or above 0.92 (1 of identical images), in 7 group(s); 3 sample(s) unchecked")
        .expect_stdout_contains("3 samples: SFHQ_pt7_00000004, SFHQ_pt7_00000005, SFHQ_pt8_00000005")
        .expect_stdout_contains("1.0 (identical images)  SFHQ_pt7_00000013  SFHQ_pt8_00000012")
        .expect_stdout_contains("SFHQ_pt9_00000002: its part has no pretrained_features folder");
}

#[test]
fn dedup_exits_0_when_no_pair_reaches_the_threshold() {
    let t = TestDir::new();
    // Part 7 alone has no identical images, and no pair reaches 1.0.
    let part7 = vec![dedup_dir().join("SFHQ_pt7")];
    let run = t.run(dedup_args(&part7, &["--threshold", "1.0"]));
    run.expect_code(0)
        .expect_stdout_contains("verdict: the dataset's claim holds: no pair at or above 1 among");
    let json = t.run(dedup_args(&part7, &["--threshold", "1.0", "--json"]));
    json.expect_code(0);
    assert_eq!(json.json()["pairs"], Value::Array(vec![]));
    assert_eq!(json.json()["groups"], Value::Array(vec![]));
    // A lower threshold finds the near misses too, but never the pickle without the model.
    let low = t.run(dedup_args(&part7, &["--threshold", "0.9", "--json"]));
    low.expect_code(1);
    let pairs = pair_set(&low.json()["pairs"]);
    assert!(pairs.contains_key(&(
        "SFHQ_pt7_00000006".to_string(),
        "SFHQ_pt7_00000007".to_string(),
        false
    )));
    assert!(!pairs
        .keys()
        .any(|(a, b, _)| a.ends_with("14") || b.ends_with("14")));
}

#[test]
fn dedup_refuses_what_it_cannot_run() {
    let t = TestDir::new();
    t.run(dedup_args(&dedup_sources(), &["--threshold", "1.5"]))
        .expect_code(2)
        .expect_stderr_contains("not a cosine similarity");
    t.run(dedup_args(&[t.join("missing")], &[]))
        .expect_code(2)
        .expect_stderr_contains("cannot open source");
    // The same part raw and converted: every key twice.
    t.convert(
        &[dedup_dir().join("SFHQ_pt7")],
        "out",
        &["--image-size", "8"],
    )
    .expect_code(0);
    t.run(dedup_args(
        &[dedup_dir().join("SFHQ_pt7"), t.join("out")],
        &[],
    ))
    .expect_code(2)
    .expect_stderr_contains("found in two sources");
}

#[test]
fn dedup_compares_another_model_when_asked() {
    let t = TestDir::new();
    let run = t.run(dedup_args(
        &[dedup_dir().join("SFHQ_pt7")],
        &["--model", "CLIP_ResNet50x64", "--json"],
    ));
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["checked"], 1);
    let unchecked: BTreeSet<&str> = json["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap())
        .collect();
    assert!(unchecked.contains("SFHQ_pt7_00000001"));
    assert!(!unchecked.contains("SFHQ_pt7_00000014"));
}

/// key -> split, read from the Parquet shards themselves.
fn assignment(out: &std::path::Path) -> BTreeMap<String, String> {
    use arrow::array::AsArray;
    let m = manifest(out);
    let mut keys = BTreeMap::new();
    for shard in m["shards"].as_array().unwrap() {
        let file = std::fs::File::open(out.join(shard["path"].as_str().unwrap())).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for key in batch.column_by_name("key").unwrap().as_string::<i32>() {
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
fn convert_keeps_each_group_in_one_split_and_other_keys_where_they_were() {
    let t = TestDir::new();
    let plain_args = [
        "--image-size",
        "8",
        "--split",
        "test=0.3",
        "--split-seed",
        "1",
    ];
    t.convert(&dedup_sources(), "plain", &plain_args)
        .expect_code(0);
    let mut grouped_args = plain_args.to_vec();
    grouped_args.extend(["--dedup-threshold", "0.92"]);
    t.convert(&dedup_sources(), "grouped", &grouped_args)
        .expect_code(0)
        .expect_stderr_contains("7 near-duplicate group(s) at 0.92 (3 unchecked)");
    let (plain, grouped) = (assignment(&t.join("plain")), assignment(&t.join("grouped")));
    assert_eq!(plain.len(), 37);
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        grouped.keys().collect::<Vec<_>>()
    );
    let want = expected();
    let groups: Vec<Vec<String>> = serde_json::from_value(want["groups"].clone()).unwrap();
    let mut straddled = 0;
    let mut in_group = BTreeSet::new();
    for group in &groups {
        let splits: BTreeSet<&String> = group.iter().map(|k| &grouped[k]).collect();
        assert_eq!(splits.len(), 1, "{group:?} split apart: {splits:?}");
        // The group's split is the one its smallest key draws without the option.
        assert_eq!(grouped[&group[0]], plain[&group[0]], "{group:?}");
        let before: BTreeSet<&String> = group.iter().map(|k| &plain[k]).collect();
        straddled += usize::from(before.len() > 1);
        in_group.extend(group.iter().cloned());
    }
    assert!(
        straddled > 0,
        "no group straddled the splits without the option: the test would prove nothing"
    );
    for (key, split) in &plain {
        if !in_group.contains(key) {
            assert_eq!(&grouped[key], split, "{key} moved though it is in no group");
        }
    }
    let m = manifest(&t.join("grouped"));
    assert_eq!(m["dedup"]["threshold"], 0.92);
    assert_eq!(m["dedup"]["model"], "CLIP_ViTL_14@336");
    assert_eq!(m["dedup"]["groups"], want["groups"]);
    assert!(manifest(&t.join("plain")).get("dedup").is_none());
}

#[test]
fn validate_warns_about_each_near_duplicate_naming_the_partner() {
    let t = TestDir::new();
    let mut args = vec!["validate".into()];
    args.extend(dedup_sources().into_iter().map(PathBuf::into_os_string));
    args.extend(["--image-size", "8", "--dedup-threshold", "0.92"].map(Into::into));
    let text = t.run(&args);
    text.expect_code(0)
        .expect_stdout_contains("SFHQ_pt7_00000002\tsample.near_duplicate\twarning\t");
    args.push("--json".into());
    let run = t.run(&args);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(
        report["warnings"]["sample.near_duplicate"], 20,
        "10 pairs, both keys"
    );
    let issues = |key: &str| -> Vec<String> {
        report["warned"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap_or_else(|| panic!("{key} not warned"))["issues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["code"] == "sample.near_duplicate")
            .map(|i| i["message"].as_str().unwrap().to_string())
            .collect()
    };
    let one = issues("SFHQ_pt7_00000001");
    assert_eq!(one.len(), 1);
    assert!(
        one[0].contains("SFHQ_pt7_00000002") && one[0].contains("similarity 0.99"),
        "{one:?}"
    );
    let middle = issues("SFHQ_pt7_00000005");
    assert_eq!(
        middle.len(),
        2,
        "the middle of the chain has two partners: {middle:?}"
    );
    let same = issues("SFHQ_pt8_00000012");
    assert!(same[0].contains("SFHQ_pt7_00000013") && same[0].contains("same image bytes"));
    let warned: BTreeSet<&str> = report["warned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(
        !warned.contains("SFHQ_pt7_00000006"),
        "a near miss is not a near duplicate"
    );
}

#[test]
fn dedup_refuses_a_manifest_naming_a_shard_outside_the_folder() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let path = t.join("out/manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let doctored = text.replace(
        "\"data/train-00000-of-00001.parquet\"",
        "\"../../etc/passwd\"",
    );
    assert_ne!(doctored, text);
    std::fs::write(&path, doctored).unwrap();
    t.run(["dedup", t.join("out").to_str().unwrap()])
        .expect_code(2)
        .expect_stderr_contains("outside the folder");
}
