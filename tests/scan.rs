//! `scan`: the inventory without decoding.

use crate::util::*;

#[test]
fn scan_counts_samples_per_source_and_ignores_junk() {
    let t = TestDir::new();
    let mut args = vec!["scan".into(), "--json".into()];
    args.extend(good_sources().into_iter().map(|p| p.into_os_string()));
    let run = t.run(&args);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["samples"], 10);
    let sources = report["sources"].as_array().unwrap();
    let samples: Vec<u64> = sources
        .iter()
        .map(|s| s["samples"].as_u64().unwrap())
        .collect();
    assert_eq!(samples, [4, 4, 2]);
    // .DS_Store, Thumbs.db and a hidden file in part 1; __MACOSX and .DS_Store in the zip.
    assert!(sources[0]["junk"].as_u64().unwrap() >= 3);
    assert!(sources[1]["junk"].as_u64().unwrap() >= 2);
    assert!(
        sources[2]["modalities"].get("features").is_none(),
        "part 4 has no features folder"
    );
    assert_eq!(report["incomplete"].as_array().unwrap().len(), 0);
}

#[test]
fn scan_reports_missing_files_orphans_and_unsafe_members_with_exit_1() {
    let t = TestDir::new();
    let zip = fixtures().join("broken").join("unsafe_paths.zip");
    let run = t.run([
        "scan".into(),
        "--json".into(),
        broken_folder().into_os_string(),
        zip.into_os_string(),
    ]);
    run.expect_code(1);
    let report = run.json();
    let incomplete = &report["incomplete"][0];
    assert_eq!(incomplete["key"], "SFHQ_pt3_00000029");
    assert_eq!(incomplete["missing"], serde_json::json!(["landmarks"]));
    assert_eq!(keys(&report["orphans"]), ["SFHQ_pt3_00000030"]);
    assert_eq!(report["unsafe_paths"].as_array().unwrap().len(), 3);

    let text = t.run(["scan".into(), broken_folder().into_os_string()]);
    text.expect_code(1)
        .expect_stdout_contains(
            "sample.missing: 1 sample without a landmarks file: SFHQ_pt3_00000029",
        )
        .expect_stdout_contains(
            "source.orphan: 1 annotation key without an image: SFHQ_pt3_00000030",
        )
        .expect_stdout_contains("(folder)");
}

#[test]
fn scan_lists_each_duplicate_key_once_with_all_its_files() {
    let t = TestDir::new();
    let (part, copy) = part1_and_a_copy(&t);
    let run = t.run([
        "scan".into(),
        "--json".into(),
        part.clone().into_os_string(),
        copy.clone().into_os_string(),
    ]);
    run.expect_code(1);
    let report = run.json();
    let duplicates = &report["duplicates"];
    assert_eq!(
        keys(duplicates),
        (1..=4)
            .map(|n| format!("SFHQ_pt1_0000000{n}"))
            .collect::<Vec<_>>()
    );
    let first = &duplicates[0];
    let files: Vec<&str> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let expected: Vec<String> = [&part, &copy]
        .iter()
        .flat_map(|root| {
            [
                "images/SFHQ_pt1_00000001.jpg",
                "segmentations/SFHQ_pt1_00000001.png",
                "landmarks/SFHQ_pt1_00000001.npz",
                "pretrained_features/SFHQ_pt1_00000001.pickle",
            ]
            .map(|rel| root.join(rel).display().to_string())
        })
        .collect();
    assert_eq!(files, expected);
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["files", "key"]
    );

    let text = t.run(["scan".into(), part.into_os_string(), copy.into_os_string()]);
    text.expect_code(1)
        .expect_stdout_contains("source.duplicate: 4 keys found in more than one place");
    assert_eq!(
        text.stdout
            .matches("(and 6 more files with this key)")
            .count(),
        4
    );
}
