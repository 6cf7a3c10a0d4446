//! `convert --format webdataset`: tar layout, headers, index, shard sizes, keys.

use std::fs::{self, File};
use std::io::Read;

use crate::util::*;

fn both_formats(t: &TestDir, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--format", "parquet,webdataset"];
    args.extend_from_slice(extra);
    t.convert(&good_sources(), "out", &args).expect_code(0);
    manifest(&t.join("out"))
}

#[test]
fn one_read_writes_both_formats_with_every_shard_checksummed() {
    let t = TestDir::new();
    let m = both_formats(&t, &[]);
    let paths = shard_paths(&m);
    assert_eq!(
        paths,
        [
            "data/train-00000-of-00001.parquet",
            "webdataset/train-000000.tar"
        ]
    );
    assert_eq!(
        m["options"]["formats"],
        serde_json::json!(["parquet", "webdataset"])
    );
    assert_eq!(m["rows"], 10);
    let sums = fs::read_to_string(t.join("out/SHA256SUMS")).unwrap();
    assert!(sums.contains("  webdataset/train-000000.tar\n"));

    let index = read_json(&t.join("out/webdataset/index.json"));
    assert_eq!(index["__kind__"], "wids-shard-index-v1");
    assert_eq!(index["shardlist"][0]["url"], "train-000000.tar");
    assert_eq!(index["shardlist"][0]["nsamples"], 10);
    assert_eq!(index["shardlist"][0]["sha256"], m["shards"][1]["sha256"]);
    t.run(["verify", t.join("out").to_str().unwrap()])
        .expect_code(0);
}

#[test]
fn members_are_adjacent_in_fixed_order_with_deterministic_headers() {
    let t = TestDir::new();
    both_formats(&t, &[]);
    let mut archive =
        tar::Archive::new(File::open(t.join("out/webdataset/train-000000.tar")).unwrap());
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(header.entry_type(), tar::EntryType::Regular);
        assert_eq!(header.mode().unwrap(), 0o644);
        assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
        assert_eq!(header.mtime().unwrap(), 0, "no SOURCE_DATE_EPOCH: mtime 0");
        assert_eq!(header.username().unwrap(), Some(""));
        assert!(header.as_ustar().is_some(), "ustar headers");
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            let info: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                info["pretrained_features"]["clip_vitl_14_336"],
                "CLIP_ViTL_14@336"
            );
            assert_eq!(info["sha256"]["image"].as_str().unwrap().len(), 64);
            if name.starts_with("SFHQ_pt4") {
                assert_eq!(
                    info["missing"],
                    serde_json::json!([
                        "pretrained_features.CLIP_ResNet50x64",
                        "pretrained_features.CLIP_ViTL_14@336"
                    ])
                );
            }
        }
        names.push(name);
    }
    assert_eq!(names.len(), 10 * 6);
    let first: Vec<&str> = names[..6].iter().map(String::as_str).collect();
    assert_eq!(
        first,
        [
            "SFHQ_pt1_00000001.jpg",
            "SFHQ_pt1_00000001.seg.png",
            "SFHQ_pt1_00000001.landmarks.npy",
            "SFHQ_pt1_00000001.clip_resnet50x64.npy",
            "SFHQ_pt1_00000001.clip_vitl_14_336.npy",
            "SFHQ_pt1_00000001.json",
        ]
    );
    for (i, chunk) in names.chunks(6).enumerate() {
        let key = chunk[0].split('.').next().unwrap();
        let ext: Vec<&str> = chunk.iter().map(|n| n.split_once('.').unwrap().1).collect();
        let want: Vec<&str> = first.iter().map(|n| n.split_once('.').unwrap().1).collect();
        assert_eq!(
            ext, want,
            "sample {i} ({key}) has the same members in the same order"
        );
        assert!(
            chunk.iter().all(|n| n.starts_with(&format!("{key}."))),
            "{chunk:?}"
        );
    }
}

#[test]
fn source_date_epoch_sets_the_member_times_and_the_manifest_date() {
    let t = TestDir::new();
    let mut args: Vec<std::ffi::OsString> =
        vec!["convert".into(), "--format".into(), "webdataset".into()];
    args.push(fixtures().join("good").join("SFHQ_pt1").into_os_string());
    args.extend(["--out".into(), t.join("out").into_os_string()]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args(&args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let m = manifest(&t.join("out"));
    assert_eq!(m["created"], "2023-11-14T22:13:20Z");
    let mut archive =
        tar::Archive::new(File::open(t.join("out/webdataset/train-000000.tar")).unwrap());
    for entry in archive.entries().unwrap() {
        assert_eq!(entry.unwrap().header().mtime().unwrap(), 1_700_000_000);
    }
}

#[test]
fn shard_size_counts_headers_and_padding_and_never_leaves_an_empty_shard() {
    let t = TestDir::new();
    let m = both_formats(&t, &["--shard-size", "80kB"]);
    let tars: Vec<&serde_json::Value> = m["shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["format"] == "webdataset")
        .collect();
    assert!(tars.len() >= 3, "{} tars", tars.len());
    let mut rows = 0;
    for (i, shard) in tars.iter().enumerate() {
        assert_eq!(shard["path"], format!("webdataset/train-{i:06}.tar"));
        let bytes = fs::metadata(t.join("out").join(shard["path"].as_str().unwrap()))
            .unwrap()
            .len();
        assert!(
            bytes <= 80_000 || shard["rows"] == 1,
            "{} is {bytes} bytes",
            shard["path"]
        );
        assert!(shard["rows"].as_u64().unwrap() >= 1);
        rows += shard["rows"].as_u64().unwrap();
    }
    assert_eq!(rows, 10);
    let index = read_json(&t.join("out/webdataset/index.json"));
    assert_eq!(index["shardlist"].as_array().unwrap().len(), tars.len());
}

#[test]
fn a_key_with_a_dot_is_refused_before_anything_is_written() {
    let t = TestDir::new();
    let src = t.join("part");
    copy_tree(&fixtures().join("good").join("SFHQ_pt4_no_features"), &src);
    for (folder, ext) in [
        ("images", "jpg"),
        ("landmarks", "npz"),
        ("segmentations", "png"),
    ] {
        fs::rename(
            src.join(folder).join(format!("SFHQ_pt4_00000001.{ext}")),
            src.join(folder).join(format!("face.v2.{ext}")),
        )
        .unwrap();
    }
    t.convert(
        std::slice::from_ref(&src),
        "out",
        &["--format", "webdataset"],
    )
    .expect_code(2)
    .expect_stderr_contains("face.v2: contains '.'")
    .expect_stderr_contains("--format parquet");
    assert!(!t.join("out").join("webdataset").exists());
    // Parquet has no such rule: the same source converts.
    t.convert(&[src], "out2", &["--format", "parquet"])
        .expect_code(0);
}

#[test]
fn verify_names_a_tar_with_a_flipped_byte_a_missing_member_or_a_cut_end() {
    let t = TestDir::new();
    both_formats(&t, &[]);
    let tar_path = t.join("out/webdataset/train-000000.tar");
    let original = fs::read(&tar_path).unwrap();
    let verify = || t.run(["verify", t.join("out").to_str().unwrap()]);

    let mut flipped = original.clone();
    flipped[original.len() / 2] ^= 0x20;
    fs::write(&tar_path, &flipped).unwrap();
    verify()
        .expect_code(1)
        .expect_stdout_contains("FAILED webdataset/train-000000.tar: sha256");

    // Drop the second member (a .seg.png) by rewriting the tar without it.
    let mut builder = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(original.as_slice());
    for (i, entry) in archive.entries().unwrap().enumerate() {
        let mut entry = entry.unwrap();
        if i == 1 {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let header = entry.header().clone();
        builder.append(&header, data.as_slice()).unwrap();
    }
    fs::write(&tar_path, builder.into_inner().unwrap()).unwrap();
    verify().expect_code(1).expect_stdout_contains(
        "FAILED webdataset/train-000000.tar: members: sample SFHQ_pt1_00000001 lacks",
    );

    fs::write(&tar_path, &original[..original.len() - 1024]).unwrap();
    verify().expect_code(1).expect_stdout_contains(
        "FAILED webdataset/train-000000.tar: tar: the archive does not end with two zero blocks",
    );
}
