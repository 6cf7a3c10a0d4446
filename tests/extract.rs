//! `extract`: back to the SFHQ layout, losslessly; and round trips that give the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use sfhq_pack::decode::array::Array;
use sfhq_pack::decode::npy::read_named_array;
use sfhq_pack::decode::pickle::{read_feature_dict, PickleLimits};

use crate::util::*;

/// Every file of an SFHQ layout, decoded: image and map bytes, landmark and feature arrays.
#[derive(Debug, PartialEq)]
enum Content {
    Bytes(Vec<u8>),
    Landmarks(Array),
    Features(BTreeMap<String, Array>),
}

fn contents(root: &Path) -> BTreeMap<String, Content> {
    let mut out = BTreeMap::new();
    for rel in tree(root) {
        let path = root.join(&rel);
        let Some((folder, name)) = rel.rsplit_once('/') else {
            continue;
        };
        let folder = folder.rsplit('/').next().unwrap();
        if name.starts_with('.') || name == "Thumbs.db" || rel.contains("__MACOSX") {
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        let key = format!("{folder}/{}", name.rsplit_once('.').unwrap().0);
        let content = match folder {
            "images" | "segmentations" => Content::Bytes(bytes),
            "landmarks" => {
                Content::Landmarks(read_named_array(&bytes, "landmarks", 1 << 20).unwrap())
            }
            "pretrained_features" => Content::Features(
                read_feature_dict(&bytes, &PickleLimits::default())
                    .unwrap()
                    .into_iter()
                    .collect(),
            ),
            _ => continue,
        };
        out.insert(key, content);
    }
    out
}

/// The good sources unpacked into one folder, so they can be compared file by file.
fn unpacked_good_sources(t: &TestDir) -> std::path::PathBuf {
    let dir = t.join("sources");
    copy_tree(&fixtures().join("good").join("SFHQ_pt1"), &dir);
    copy_tree(&fixtures().join("good").join("SFHQ_pt4_no_features"), &dir);
    unzip_flat(&fixtures().join("good").join("SFHQ_pt2.zip"), &dir);
    dir
}

/// Extracts the zip's data members into `dir/<modality>/<name>` (test side only).
fn unzip_flat(zip_path: &Path, dir: &Path) {
    let mut archive = zip::ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let name = member.name().to_string();
        if member.is_dir()
            || name.contains("__MACOSX")
            || name.rsplit('/').next().unwrap().starts_with('.')
        {
            continue;
        }
        let parts: Vec<&str> = name.split('/').collect();
        let target = dir.join(parts[0]).join(parts.last().unwrap());
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut out = fs::File::create(target).unwrap();
        std::io::copy(&mut member, &mut out).unwrap();
    }
}

#[test]
fn extract_rebuilds_every_file_from_parquet_and_from_webdataset() {
    let t = TestDir::new();
    let sources = unpacked_good_sources(&t);
    let want = contents(&sources);
    assert_eq!(
        want.len(),
        10 * 3 + 8,
        "10 images, maps and landmarks, 8 feature files"
    );
    t.convert(&good_sources(), "out", &["--format", "parquet,webdataset"])
        .expect_code(0);
    for from in ["parquet", "webdataset"] {
        let back = t.join(&format!("back-{from}"));
        t.run([
            "extract",
            t.join("out").to_str().unwrap(),
            "--out",
            back.to_str().unwrap(),
            "--from",
            from,
        ])
        .expect_code(0);
        let got = contents(&back);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "from {from}"
        );
        for (key, content) in &want {
            assert!(
                got[key] == *content,
                "{key} differs after extract from {from}"
            );
        }
    }
}

#[test]
fn convert_of_an_extracted_dataset_gives_the_same_parquet_shards_and_a_fixed_point() {
    let t = TestDir::new();
    let formats = ["--format", "parquet,webdataset"];
    t.convert(&good_sources(), "first", &formats).expect_code(0);
    t.run([
        "extract",
        t.join("first").to_str().unwrap(),
        "--out",
        t.join("x1").to_str().unwrap(),
    ])
    .expect_code(0);
    // A dataset of several parts comes back as one folder per part.
    assert_eq!(
        fs::read_dir(t.join("x1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<std::collections::BTreeSet<_>>(),
        ["SFHQ_pt1", "SFHQ_pt2", "SFHQ_pt4"]
            .map(String::from)
            .into()
    );
    t.convert(&[t.join("x1")], "second", &formats)
        .expect_code(0);
    t.run([
        "extract",
        t.join("second").to_str().unwrap(),
        "--out",
        t.join("x2").to_str().unwrap(),
    ])
    .expect_code(0);
    t.convert(&[t.join("x2")], "third", &formats).expect_code(0);

    let parquet = "data/train-00000-of-00001.parquet";
    let tar = "webdataset/train-000000.tar";
    assert!(
        fs::read(t.join("first").join(parquet)).unwrap()
            == fs::read(t.join("second").join(parquet)).unwrap(),
        "Parquet shards of the source and of its extraction differ"
    );
    // The tar's json carries the sha256 of each source file, and a re-encoded .npz or
    // .pickle has other bytes than the original: from the first extraction on, it is fixed.
    assert!(
        fs::read(t.join("second").join(tar)).unwrap()
            == fs::read(t.join("third").join(tar)).unwrap()
    );
    assert_eq!(shard_sums(&t.join("second")), shard_sums(&t.join("third")));
}

#[test]
fn a_zip_and_the_same_files_in_a_folder_give_identical_shards() {
    let t = TestDir::new();
    let folder = t.join("pt2");
    unzip_flat(&fixtures().join("good").join("SFHQ_pt2.zip"), &folder);
    let formats = ["--format", "parquet,webdataset"];
    t.convert(
        &[fixtures().join("good").join("SFHQ_pt2.zip")],
        "from-zip",
        &formats,
    )
    .expect_code(0);
    t.convert(&[folder], "from-folder", &formats).expect_code(0);
    // The shards are identical; the manifests differ where they name the sources.
    assert_eq!(
        shard_sums(&t.join("from-zip")),
        shard_sums(&t.join("from-folder"))
    );
}

/// The shard lines of `SHA256SUMS` (its last line is the manifest's hash).
fn shard_sums(out: &std::path::Path) -> Vec<String> {
    fs::read_to_string(out.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with("  manifest.json"))
        .map(str::to_string)
        .collect()
}

#[test]
fn extract_refuses_a_non_empty_folder_and_a_corrupt_shard() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    fs::create_dir(t.join("busy")).unwrap();
    fs::write(t.join("busy/x"), "x").unwrap();
    t.run([
        "extract",
        t.join("out").to_str().unwrap(),
        "--out",
        t.join("busy").to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_stderr_contains("--overwrite");

    let shard = t.join("out/data/train-00000-of-00001.parquet");
    let mut bytes = fs::read(&shard).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&shard, bytes).unwrap();
    t.run([
        "extract",
        t.join("out").to_str().unwrap(),
        "--out",
        t.join("back").to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_stderr_contains("sha256");
    assert!(
        tree(&t.join("back")).is_empty(),
        "nothing extracted from a corrupt shard"
    );
}
