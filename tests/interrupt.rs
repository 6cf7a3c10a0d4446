//! Ctrl-C: the run stops between batches, removes its partial shards, writes no manifest,
//! and exits 130.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::memory::big_source;
use crate::util::*;

#[test]
fn an_interrupted_convert_leaves_no_shard_and_no_manifest() {
    let t = TestDir::new();
    let src = t.join("big");
    big_source(&src, 600, 300_000);
    let out = t.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args([
            "convert",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args([
            "--format",
            "parquet,webdataset",
            "--shard-size",
            "20MB",
            "--threads",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first shards are being written, then press Ctrl-C once.
    signal_when(&child, "INT", Duration::from_millis(300), || {
        out.join("data").exists()
    });
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("partial shards removed"), "{stderr}");
    let left: Vec<String> = tree(&out);
    assert!(left.is_empty(), "files left behind: {left:?}");
}
