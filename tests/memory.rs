//! Memory stays flat: a source several times larger than everything the pipeline may hold
//! at once converts in bounded memory, even into one big shard.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// A JPEG that passes the header checks: SOI, a 1024x1024 3-channel frame header, `size`
/// bytes of scan data (no 0xFF, so no stray markers), EOI. Different per sample.
fn jpeg(size: usize, seed: u32) -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x04, 0x00, 0x04, 0x00, 0x03,
    ];
    v.extend_from_slice(&[1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    v.extend((0..size).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x % 255) as u8
    }));
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// `count` samples of ~`image_bytes` each, reusing a good fixture's map, landmarks and features.
pub fn big_source(dir: &Path, count: u32, image_bytes: usize) {
    let good = fixtures().join("good").join("SFHQ_pt1");
    for folder in [
        "images",
        "segmentations",
        "landmarks",
        "pretrained_features",
    ] {
        fs::create_dir_all(dir.join(folder)).unwrap();
    }
    let seg = fs::read(good.join("segmentations/SFHQ_pt1_00000001.png")).unwrap();
    let landmarks = fs::read(good.join("landmarks/SFHQ_pt1_00000001.npz")).unwrap();
    let features = fs::read(good.join("pretrained_features/SFHQ_pt1_00000001.pickle")).unwrap();
    for i in 0..count {
        let key = format!("SFHQ_pt9_{i:08}");
        fs::write(dir.join(format!("images/{key}.jpg")), jpeg(image_bytes, i)).unwrap();
        fs::write(dir.join(format!("segmentations/{key}.png")), &seg).unwrap();
        fs::write(dir.join(format!("landmarks/{key}.npz")), &landmarks).unwrap();
        fs::write(
            dir.join(format!("pretrained_features/{key}.pickle")),
            &features,
        )
        .unwrap();
    }
}

/// Runs the binary and returns its exit code and peak resident memory in bytes, read from
/// `/proc/PID/status` (VmHWM, the kernel's own high-water mark) until the process ends.
fn run_measuring_peak(args: &[&str], cwd: &Path) -> (i32, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    loop {
        if let Ok(status) = fs::read_to_string(&status_file) {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), peak_kib * 1024);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn converting_a_large_source_into_one_shard_keeps_memory_flat() {
    let t = TestDir::new();
    let src = t.join("big");
    // 1,000 samples of ~320 KB: 320 MB of images, ten row groups' worth many times over.
    big_source(&src, 1000, 320_000);
    let out = t.join("out");
    let (code, peak) = run_measuring_peak(
        &[
            "convert",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--shard-size",
            "10GB",
            "--format",
            "parquet,webdataset",
            "--threads",
            "2",
        ],
        t.path(),
    );
    assert_eq!(code, 0);
    let m = manifest(&out);
    assert_eq!(m["rows"], 1000);
    let shard_bytes = m["shards"][0]["bytes"].as_u64().unwrap();
    assert!(
        shard_bytes > 300_000_000,
        "one shard holds everything: {shard_bytes}"
    );
    // Held at once: three batches of samples in flight and one encoded row group (~32 MB),
    // about 70 MB here. Buffering the 320 MB shard, or a row group's samples and their
    // Arrow copy beside the encoded group, would fail this.
    assert!(peak < 120_000_000, "peak RSS {} MB", peak / 1_000_000);
    assert!(peak > 0, "the peak could not be read from /proc");
}
