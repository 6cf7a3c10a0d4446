//! `verify`: every shard against the manifest; each corruption is named.

use std::fs;

use crate::util::*;

/// A converted folder with several shards, ready to be damaged.
fn converted(t: &TestDir) -> (std::path::PathBuf, serde_json::Value) {
    t.convert(&good_sources(), "out", &["--shard-size", "60kB"])
        .expect_code(0);
    let out = t.join("out");
    let m = manifest(&out);
    (out, m)
}

fn verify(t: &TestDir) -> Run {
    t.run(["verify", t.join("out").to_str().unwrap()])
}

#[test]
fn a_clean_folder_verifies() {
    let t = TestDir::new();
    let (_, m) = converted(&t);
    verify(&t).expect_code(0).expect_stdout_contains(&format!(
        "OK {} shard(s), 10 rows",
        m["shards"].as_array().unwrap().len()
    ));
}

#[test]
fn a_flipped_byte_is_named() {
    let t = TestDir::new();
    let (out, m) = converted(&t);
    let shard = shard_paths(&m)[1].clone();
    let path = out.join(&shard);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    verify(&t)
        .expect_code(1)
        .expect_stdout_contains(&format!("FAILED {shard}: sha256"));
}

#[test]
fn a_truncated_shard_is_named() {
    let t = TestDir::new();
    let (out, m) = converted(&t);
    let shard = shard_paths(&m)[0].clone();
    let path = out.join(&shard);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    verify(&t)
        .expect_code(1)
        .expect_stdout_contains(&format!("FAILED {shard}: size"))
        .expect_stdout_contains(&format!("FAILED {shard}: parquet"));
}

#[test]
fn a_missing_shard_is_named() {
    let t = TestDir::new();
    let (out, m) = converted(&t);
    let shard = shard_paths(&m).last().unwrap().clone();
    fs::remove_file(out.join(&shard)).unwrap();
    verify(&t)
        .expect_code(1)
        .expect_stdout_contains(&format!("FAILED {shard}: exists"));
}

#[test]
fn a_row_count_that_disagrees_with_the_file_is_named() {
    let t = TestDir::new();
    let (out, mut m) = converted(&t);
    let shard = shard_paths(&m)[0].clone();
    let rows = m["shards"][0]["rows"].as_u64().unwrap();
    m["shards"][0]["rows"] = (rows + 1).into();
    m["rows"] = (m["rows"].as_u64().unwrap() + 1).into();
    m["splits"]["train"] = m["rows"].clone();
    fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
    verify(&t).expect_code(1).expect_stdout_contains(&format!(
        "FAILED {shard}: rows: the file holds {rows} rows, the manifest lists {}",
        rows + 1
    ));
}

#[test]
fn a_stray_shard_that_readers_would_load_is_named() {
    let t = TestDir::new();
    let (out, m) = converted(&t);
    fs::copy(
        out.join(&shard_paths(&m)[0]),
        out.join("data/train-00099-of-00099.parquet"),
    )
    .unwrap();
    verify(&t)
        .expect_code(1)
        .expect_stdout_contains("FAILED data/train-00099-of-00099.parquet: unlisted");
}

#[test]
fn a_manifest_pointing_outside_the_folder_is_refused() {
    let t = TestDir::new();
    let (out, mut m) = converted(&t);
    m["shards"][0]["path"] = "../../etc/passwd".into();
    fs::write(
        out.join("manifest.json"),
        serde_json::to_string(&m).unwrap(),
    )
    .unwrap();
    verify(&t)
        .expect_code(1)
        .expect_stdout_contains("FAILED ../../etc/passwd: path");
}

#[test]
fn a_folder_without_manifest_cannot_be_verified() {
    let t = TestDir::new();
    fs::create_dir(t.join("out")).unwrap();
    verify(&t)
        .expect_code(2)
        .expect_stderr_contains("manifest.json");
}
