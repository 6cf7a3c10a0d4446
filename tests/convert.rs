//! `convert`: output layout, manifest contents, rows, shard cutting, exit codes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::*;

fn read_rows(path: &std::path::Path) -> Vec<RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    reader.map(Result::unwrap).collect()
}

#[test]
fn good_sources_become_one_checksummed_dataset() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let out = t.join("out");
    let m = manifest(&out);

    assert_eq!(m["rows"], 10);
    assert_eq!(m["splits"]["train"], 10);
    assert_eq!(m["excluded"].as_array().unwrap().len(), 0);
    let kinds: Vec<&str> = m["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["folder", "zip", "folder"]);
    assert_eq!(shard_paths(&m), ["data/train-00000-of-00001.parquet"]);

    // The union of models, each with the widest dtype seen (part 1 float16, part 2 float32).
    assert_eq!(m["features"]["CLIP_ViTL_14@336"]["dtype"], "float32");
    assert_eq!(m["features"]["CLIP_ViTL_14@336"]["dim"], 768);
    assert_eq!(
        m["features"]["CLIP_ViTL_14@336"]["wds_name"],
        "clip_vitl_14_336"
    );
    assert_eq!(m["features"]["CLIP_ResNet50x64"]["dtype"], "float16");
    assert_eq!(m["features"]["CLIP_ResNet50x64"]["dim"], 1024);
    assert_eq!(m["landmarks"]["shape"], serde_json::json!([110, 2]));

    // Every shard: listed size and hash; SHA256SUMS in `sha256sum -c` form.
    let mut sums = String::new();
    for shard in m["shards"].as_array().unwrap() {
        let bytes = fs::read(out.join(shard["path"].as_str().unwrap())).unwrap();
        assert_eq!(bytes.len() as u64, shard["bytes"].as_u64().unwrap());
        assert_eq!(sha256(&bytes), shard["sha256"].as_str().unwrap());
        sums += &format!(
            "{}  {}\n",
            shard["sha256"].as_str().unwrap(),
            shard["path"].as_str().unwrap()
        );
    }
    // ... and last the manifest's own hash, so that a changed manifest fails the check too.
    sums += &format!(
        "{}  manifest.json\n",
        sha256(&fs::read(out.join("manifest.json")).unwrap())
    );
    assert_eq!(fs::read_to_string(out.join("SHA256SUMS")).unwrap(), sums);
    // Nothing else is left behind: no temporary files.
    assert_eq!(
        tree(&out),
        [
            "SHA256SUMS",
            "data/train-00000-of-00001.parquet",
            "manifest.json"
        ]
    );
}

#[test]
fn rows_hold_source_bytes_unchanged_and_nulls_where_a_part_lacks_a_modality() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let expected = read_json(&fixtures().join("good").join("EXPECTED.json"));
    let mut expected_rows = BTreeMap::new();
    for set in expected["sets"].as_object().unwrap().values() {
        for row in set["rows"].as_array().unwrap() {
            expected_rows.insert(row["key"].as_str().unwrap().to_string(), row.clone());
        }
    }

    let shard = t.join("out/data/train-00000-of-00001.parquet");
    let batches = read_rows(&shard);
    let mut keys = Vec::new();
    for batch in &batches {
        let key = batch.column_by_name("key").unwrap().as_string::<i32>();
        let part = batch
            .column_by_name("part")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int16Type>();
        let image = batch.column_by_name("image").unwrap().as_struct();
        let image_bytes = image.column_by_name("bytes").unwrap().as_binary::<i32>();
        let image_path = image.column_by_name("path").unwrap().as_string::<i32>();
        let image_sha = batch
            .column_by_name("image_sha256")
            .unwrap()
            .as_string::<i32>();
        let seg = batch.column_by_name("segmentation").unwrap().as_struct();
        let seg_bytes = seg.column_by_name("bytes").unwrap().as_binary::<i32>();
        let landmarks = batch
            .column_by_name("landmarks")
            .unwrap()
            .as_fixed_size_list();
        let features = batch
            .column_by_name("pretrained_features")
            .unwrap()
            .as_struct();
        for row in 0..batch.num_rows() {
            let k = key.value(row).to_string();
            let want = &expected_rows[&k];
            assert_eq!(
                i64::from(part.value(row)),
                want["part"].as_i64().unwrap(),
                "{k}"
            );
            assert_eq!(
                image_path.value(row),
                want["image"]["path"].as_str().unwrap(),
                "{k}"
            );
            assert_eq!(
                sha256(image_bytes.value(row)),
                want["image"]["sha256"].as_str().unwrap(),
                "{k}"
            );
            assert_eq!(
                image_sha.value(row),
                want["image"]["sha256"].as_str().unwrap(),
                "{k}"
            );
            assert_eq!(
                sha256(seg_bytes.value(row)),
                want["segmentation"]["sha256"].as_str().unwrap(),
                "{k}"
            );
            assert!(landmarks.is_valid(row), "{k}");
            let has_features = want
                .get("pretrained_features")
                .is_some_and(|f| !f.is_null());
            assert_eq!(
                features.is_valid(row),
                has_features,
                "{k}: features null iff the part has none"
            );
            keys.push(k);
        }
        assert!(batch.num_rows() <= 100);
    }
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "rows are in key order");
    assert_eq!(keys.len(), expected_rows.len());

    // The feature description as readers see it: from the embedded Arrow schema.
    let schema = ParquetRecordBatchReaderBuilder::try_new(File::open(&shard).unwrap())
        .unwrap()
        .schema()
        .clone();
    let hf: serde_json::Value = serde_json::from_str(&schema.metadata()["huggingface"]).unwrap();
    assert_eq!(hf["info"]["features"]["image"]["_type"], "Image");
    assert_eq!(hf["info"]["features"]["segmentation"]["_type"], "Image");
    assert_eq!(hf["info"]["features"]["landmarks"]["_type"], "Sequence");
    assert_eq!(hf["info"]["features"]["landmarks"]["length"], 110);
    let DataType::FixedSizeList(_, 110) = schema.field_with_name("landmarks").unwrap().data_type()
    else {
        panic!("landmarks is a fixed-size list of 110");
    };
    assert!(schema.fields().iter().all(|f| f.is_nullable()));
}

#[test]
fn shard_size_cuts_several_complete_shards_named_of_n() {
    let t = TestDir::new();
    t.convert(
        &good_sources(),
        "out",
        &["--shard-size", "60kB", "--row-group-rows", "3"],
    )
    .expect_code(0);
    let out = t.join("out");
    let m = manifest(&out);
    let shards = m["shards"].as_array().unwrap();
    let n = shards.len();
    assert!(n >= 3, "60 kB shards over ~250 kB of samples: got {n}");
    let mut previous_last = String::new();
    let mut rows = 0;
    for (i, shard) in shards.iter().enumerate() {
        assert_eq!(
            shard["path"],
            format!("data/train-{i:05}-of-{n:05}.parquet")
        );
        let first = shard["first_key"].as_str().unwrap().to_string();
        assert!(first > previous_last, "shards follow key order");
        previous_last = shard["last_key"].as_str().unwrap().to_string();
        let meta = ParquetRecordBatchReaderBuilder::try_new(
            File::open(out.join(shard["path"].as_str().unwrap())).unwrap(),
        )
        .unwrap()
        .metadata()
        .clone();
        assert_eq!(
            meta.file_metadata().num_rows() as u64,
            shard["rows"].as_u64().unwrap()
        );
        assert!(meta.row_groups().iter().all(|rg| rg.num_rows() <= 3));
        rows += shard["rows"].as_u64().unwrap();
    }
    assert_eq!(rows, 10);
}

#[test]
fn broken_set_excludes_exactly_the_expected_samples_with_their_codes() {
    let t = TestDir::new();
    t.convert(&[broken_folder()], "out", &[]).expect_code(1);
    let m = manifest(&t.join("out"));
    let expected = read_json(&fixtures().join("broken").join("EXPECTED.json"));

    let found: BTreeMap<String, BTreeSet<String>> = m["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .chain(m["warned"].as_array().unwrap())
        .map(|s| {
            let codes = s["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["code"].as_str().unwrap().to_string())
                .collect();
            (s["key"].as_str().unwrap().to_string(), codes)
        })
        .collect();
    let excluded: BTreeSet<String> = keys(&m["excluded"]).into_iter().collect();
    for (key, want) in expected["samples"].as_object().unwrap() {
        let codes: BTreeSet<String> = want["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        if want["codes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "source.orphan")
        {
            assert!(
                keys(&m["orphans"]).contains(key),
                "{key} is listed as an orphan"
            );
            continue;
        }
        assert_eq!(
            found.get(key).cloned().unwrap_or_default(),
            codes,
            "{key}: {}",
            want["why"]
        );
        assert_eq!(
            excluded.contains(key),
            want["excluded"].as_bool().unwrap(),
            "{key}: {}",
            want["why"]
        );
    }
    // Every issue names the file and says something.
    for sample in m["excluded"].as_array().unwrap() {
        for issue in sample["issues"].as_array().unwrap() {
            assert!(issue["file"]
                .as_str()
                .unwrap()
                .contains(sample["key"].as_str().unwrap()));
            assert!(issue["message"].as_str().unwrap().len() > 20);
        }
    }
    let summary = &expected["samples_summary"];
    assert_eq!(
        m["rows"].as_u64().unwrap(),
        summary["rows"].as_array().unwrap().len() as u64
    );
    for (code, count) in summary["warnings"].as_object().unwrap() {
        assert_eq!(m["warnings"][code], *count, "warning count of {code}");
    }
}

/// The registry: every code of the catalogue is produced by a fixture or a test here.
#[test]
fn every_issue_code_is_exercised_by_a_fixture_or_a_test() {
    let expected = read_json(&fixtures().join("broken").join("EXPECTED.json"));
    let mut covered: BTreeSet<String> = expected["samples"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|s| {
            s["codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
        })
        .collect();
    // Produced by tests in this suite rather than by the broken folder.
    for code in [
        "source.unsafe_path",
        "source.duplicate",
        "features.too_large",
        // tests/dedup.rs: validate --dedup-threshold on fixtures/dedup/
        "sample.near_duplicate",
        // tests/sources.rs: a part holding fewer samples than published
        "source.incomplete",
        // tests/hostile.rs: a palette map using indices beyond its palette
        "segmentation.palette",
        // tests/resume.rs: a file that changes size during the run; tests/sources.rs: a zip
        // entry that states a wrong size
        "source.changed",
    ] {
        covered.insert(code.to_string());
    }
    let catalogue: BTreeSet<String> = sfhq_pack::validate::Code::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let untested: Vec<_> = catalogue.difference(&covered).collect();
    assert!(untested.is_empty(), "codes without a fixture: {untested:?}");
}

#[test]
fn a_file_above_the_byte_limit_is_refused_before_reading() {
    let t = TestDir::new();
    let src = t.join("SFHQ_pt1");
    copy_tree(&fixtures().join("good").join("SFHQ_pt1"), &src);
    let big = src
        .join("pretrained_features")
        .join("SFHQ_pt1_00000002.pickle");
    fs::write(&big, vec![0x80u8; 300_000]).unwrap();
    t.convert(&[src], "out", &["--max-file-bytes", "200kB"])
        .expect_code(1);
    let m = manifest(&t.join("out"));
    assert_eq!(keys(&m["excluded"]), ["SFHQ_pt1_00000002"]);
    let issue = &m["excluded"][0]["issues"][0];
    assert_eq!(issue["code"], "features.too_large");
    assert!(issue["message"]
        .as_str()
        .unwrap()
        .contains("--max-file-bytes"));
    assert_eq!(m["rows"], 3);
}

#[test]
fn duplicate_keys_stop_the_run_before_anything_is_written() {
    let t = TestDir::new();
    let part = fixtures().join("good").join("SFHQ_pt1");
    let run = t.convert(&[part.clone(), part], "out", &[]);
    run.expect_code(2)
        .expect_stderr_contains("source.duplicate")
        .expect_stderr_contains("SFHQ_pt1_00000001")
        .expect_stderr_contains("nothing was written")
        .expect_stderr_contains("SFHQ_pt1 is given twice: pass each part once");
    assert!(!t.join("out").exists());
}

/// Four keys of four files each, in two places: the message counts keys, not files, and
/// names both colliding files of every key.
#[test]
fn duplicate_keys_are_counted_once_each_with_both_files_named() {
    let t = TestDir::new();
    let (part, copy) = part1_and_a_copy(&t);
    let run = t.convert(&[part.clone(), copy.clone()], "out", &[]);
    run.expect_code(2)
        .expect_stderr_contains("source.duplicate: 4 keys found in more than one place")
        .expect_stderr_contains("remove one of the colliding files of each key");
    assert!(
        !run.stderr.contains("more duplicate") && !run.stderr.contains("given twice"),
        "{}",
        run.stderr
    );
    for n in 1..=4 {
        let image = |root: &std::path::Path| {
            root.join("images")
                .join(format!("SFHQ_pt1_0000000{n}.jpg"))
                .display()
                .to_string()
        };
        run.expect_stderr_contains(&format!(
            "SFHQ_pt1_0000000{n}: {} and {} (and 6 more files with this key)",
            image(&part),
            image(&copy)
        ));
    }
    assert!(!t.join("out").exists());
    // `validate` stops the same way.
    t.run([
        "validate".into(),
        part.into_os_string(),
        copy.into_os_string(),
    ])
    .expect_code(2)
    .expect_stderr_contains("source.duplicate: 4 keys");
}

/// Past ten keys the message says how many more there are, instead of naming them all.
#[test]
fn many_duplicate_keys_are_summarised_after_the_first_ten() {
    let t = TestDir::new();
    let images = t.join("SFHQ_pt9/images");
    fs::create_dir_all(&images).unwrap();
    let jpg = fs::read(
        fixtures()
            .join("good")
            .join("SFHQ_pt1/images/SFHQ_pt1_00000001.jpg"),
    )
    .unwrap();
    for n in 0..13 {
        // The same key as a .jpg and a .png: two images for one sample.
        fs::write(images.join(format!("SFHQ_pt9_{n:08}.jpg")), &jpg).unwrap();
        fs::write(images.join(format!("SFHQ_pt9_{n:08}.png")), &jpg).unwrap();
    }
    let run = t.convert(&[t.join("SFHQ_pt9")], "out", &[]);
    run.expect_code(2)
        .expect_stderr_contains("source.duplicate: 13 keys found in more than one place")
        .expect_stderr_contains(&format!(
            "SFHQ_pt9_00000009: {} and {}\n",
            images.join("SFHQ_pt9_00000009.jpg").display(),
            images.join("SFHQ_pt9_00000009.png").display()
        ))
        .expect_stderr_contains("... and 3 more keys");
    assert!(!run.stderr.contains("SFHQ_pt9_00000010"), "{}", run.stderr);
}

#[test]
fn a_non_empty_output_folder_needs_overwrite_which_replaces_only_our_files() {
    let t = TestDir::new();
    let sources = vec![fixtures().join("good").join("SFHQ_pt1")];
    t.convert(&sources, "out", &["--shard-size", "30kB"])
        .expect_code(0);
    let shards_before = shard_paths(&manifest(&t.join("out")));
    assert!(shards_before.len() > 1);
    t.convert(&sources, "out", &[])
        .expect_code(2)
        .expect_stderr_contains("--overwrite");
    // A file of the user's in --out: never removed, and the run stops before writing.
    fs::write(t.join("out/notes.txt"), "mine").unwrap();
    t.convert(&sources, "out", &["--overwrite"])
        .expect_code(2)
        .expect_stderr_contains("notes.txt");
    assert_eq!(shard_paths(&manifest(&t.join("out"))), shards_before);
    fs::remove_file(t.join("out/notes.txt")).unwrap();
    t.convert(&sources, "out", &["--overwrite"]).expect_code(0);
    let m = manifest(&t.join("out"));
    assert_eq!(shard_paths(&m), ["data/train-00000-of-00001.parquet"]);
    assert_eq!(
        tree(&t.join("out")),
        [
            "SHA256SUMS",
            "data/train-00000-of-00001.parquet",
            "manifest.json",
        ],
        "earlier shards are gone"
    );
}

#[test]
fn usage_and_fatal_errors_exit_2() {
    let t = TestDir::new();
    t.run(["convert", "x"])
        .expect_code(2)
        .expect_stderr_contains("--out");
    t.run(["convert", "does-not-exist", "--out", "o"])
        .expect_code(2)
        .expect_stderr_contains("does-not-exist");
    t.run(["convert", "x", "--out", "o", "--shard-size", "lots"])
        .expect_code(2)
        .expect_stderr_contains("not a size");
    t.run(["frobnicate"]).expect_code(2);
}

#[test]
fn help_documents_the_exit_codes() {
    let t = TestDir::new();
    for args in [
        vec!["--help"],
        vec!["convert", "--help"],
        vec!["verify", "--help"],
    ] {
        let run = t.run(&args);
        run.expect_code(0);
        for line in [
            "0    success",
            "1    finished, but problems were found",
            "2    could not run",
            "130  interrupted",
        ] {
            run.expect_stdout_contains(line);
        }
    }
}

#[test]
fn manifest_names_files_by_their_source_not_by_the_path_typed() {
    // The same sources typed as absolute paths from one folder and as relative paths from
    // another give the same manifest, and it holds no local path: it is published as is.
    let t = TestDir::new();
    let zip = fixtures().join("broken").join("unsafe_paths.zip");
    t.convert(&[broken_folder(), zip], "abs", &[])
        .expect_code(1);
    let relative = run_in(
        &fixtures(),
        [
            "convert",
            "broken/SFHQ_pt3/",
            "./broken/unsafe_paths.zip",
            "--out",
            t.join("rel").to_str().unwrap(),
        ],
    );
    relative.expect_code(1);
    let abs = fs::read_to_string(t.join("abs").join("manifest.json")).unwrap();
    let rel = fs::read_to_string(t.join("rel").join("manifest.json")).unwrap();
    assert_eq!(abs, rel);
    assert!(!abs.contains(fixtures().to_str().unwrap()), "{abs}");
    assert!(!abs.contains("broken/"), "{abs}");

    let m = manifest(&t.join("abs"));
    let names: Vec<&str> = m["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["SFHQ_pt3", "unsafe_paths.zip"]);
    for list in ["excluded", "warned"] {
        for sample in m[list].as_array().unwrap() {
            for issue in sample["issues"].as_array().unwrap() {
                let file = issue["file"].as_str().unwrap();
                assert!(file.starts_with("SFHQ_pt3/"), "{file}");
            }
        }
    }
    assert!(!m["excluded"].as_array().unwrap().is_empty());
    for orphan in m["orphans"].as_array().unwrap() {
        for file in orphan["files"].as_array().unwrap() {
            assert!(file.as_str().unwrap().starts_with("SFHQ_pt3/"), "{file}");
        }
    }
    let refused = m["unsafe_paths"].as_array().unwrap();
    assert_eq!(refused.len(), 3);
    assert!(refused.iter().all(|r| r["source"] == "unsafe_paths.zip"));
    // The terminal still shows paths as typed, so the user can find the files.
    relative.expect_stderr_contains("broken/SFHQ_pt3/");
}
