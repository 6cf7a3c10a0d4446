//! Hostile sources (issue 10): files that are not zips, zips cut short, zips that repeat a
//! name, share data between entries or use a method we cannot read; folders holding FIFOs,
//! symlinks and names that are not UTF-8; sources holding no sample at all.
//! Each input is built here, in the test's own folder.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::rawzip::RawZip;
use crate::util::*;

fn pt1_file(rel: &str) -> Vec<u8> {
    fs::read(fixtures().join("good").join("SFHQ_pt1").join(rel)).unwrap()
}

fn image(n: u32) -> Vec<u8> {
    pt1_file(&format!("images/SFHQ_pt1_0000000{n}.jpg"))
}

/// Runs `scan`, `validate` and `convert` on `sources`, expecting each to stop with exit 2 and
/// a message containing every one of `texts`; nothing may be written.
fn all_commands_stop(t: &TestDir, sources: &[PathBuf], texts: &[&str]) {
    let mut scan: Vec<std::ffi::OsString> = vec!["scan".into()];
    scan.extend(sources.iter().map(|s| s.clone().into_os_string()));
    let mut validate = scan.clone();
    validate[0] = "validate".into();
    for run in [
        t.run(&scan),
        t.run(&validate),
        t.convert(sources, "out", &[]),
    ] {
        run.expect_code(2);
        for text in texts {
            run.expect_stderr_contains(text);
        }
    }
    assert!(!t.join("out/manifest.json").exists());
}

#[test]
fn a_file_that_is_not_a_zip_is_described_not_called_an_invalid_zip() {
    let t = TestDir::new();
    let html = t.join("SFHQ_pt1.zip");
    fs::write(
        &html,
        "<!DOCTYPE html>\n<html><body>403 Forbidden</body></html>\n",
    )
    .unwrap();
    all_commands_stop(
        &t,
        std::slice::from_ref(&html),
        &["SFHQ_pt1.zip", "HTML page"],
    );

    let gz = t.join("part.tar.gz.zip");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&image(1)).unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    all_commands_stop(&t, &[gz], &["gzip", "tar -xzf"]);

    let empty = t.join("empty.zip");
    fs::write(&empty, b"").unwrap();
    all_commands_stop(&t, &[empty], &["empty.zip", "empty (0 bytes)"]);

    let good = fs::read(fixtures().join("good").join("SFHQ_pt2.zip")).unwrap();
    let cut = t.join("cut.zip");
    fs::write(&cut, &good[..good.len() / 2]).unwrap();
    all_commands_stop(
        &t,
        &[cut],
        &[
            "cut.zip",
            "the download may be incomplete; download it again",
        ],
    );
    let run = t.run(["scan".as_ref(), html.as_os_str()]);
    assert!(!run.stderr.contains("EOCD"), "{}", run.stderr);
}

#[test]
fn a_zip_cut_inside_a_stored_npz_is_reported_truncated_not_read_as_the_npz() {
    let t = TestDir::new();
    let npz = pt1_file("landmarks/SFHQ_pt1_00000001.npz");
    let mut zip = RawZip::new();
    zip.add("images/SFHQ_pt1_00000001.jpg", &image(1));
    zip.add("images/SFHQ_pt1_00000002.jpg", &image(2));
    zip.add("landmarks/SFHQ_pt1_00000001.npz", &npz);
    let whole = zip.finish();
    // Cut right after the stored npz: the file now ends with the npz's own directory.
    let end = whole
        .windows(npz.len())
        .position(|w| w == npz.as_slice())
        .unwrap()
        + npz.len();
    let cut = t.join("SFHQ_pt1.zip");
    fs::write(&cut, &whole[..end]).unwrap();
    all_commands_stop(&t, &[cut], &["SFHQ_pt1.zip", "download it again"]);
}

#[test]
fn zip_members_named_with_a_leading_dot_slash_are_read() {
    let t = TestDir::new();
    let mut zip = RawZip::new();
    zip.add("./images/SFHQ_pt1_00000001.jpg", &image(1));
    zip.add("./images/SFHQ_pt1_00000002.jpg", &image(2));
    let path = t.join("SFHQ_pt1.zip");
    fs::write(&path, zip.finish()).unwrap();
    t.convert(&[path], "out", &[]).expect_code(0);
    assert_eq!(manifest(&t.join("out"))["rows"], 2);
}

#[test]
fn a_zip_holding_a_name_twice_is_a_duplicate_key_and_every_entry_is_counted() {
    let t = TestDir::new();
    let mut zip = RawZip::new();
    zip.add("images/SFHQ_pt1_00000001.jpg", &image(1));
    zip.add("images/SFHQ_pt1_00000002.jpg", &image(2));
    // The same name again, with another image's bytes.
    zip.add("images/SFHQ_pt1_00000001.jpg", &image(3));
    let path = t.join("SFHQ_pt1.zip");
    fs::write(&path, zip.finish()).unwrap();

    let scan = t.run(["scan".as_ref(), "--json".as_ref(), path.as_os_str()]);
    scan.expect_code(1);
    let report = scan.json();
    assert_eq!(report["sources"][0]["files"], 3, "every entry is counted");
    assert_eq!(keys(&report["duplicates"]), ["SFHQ_pt1_00000001"]);

    let run = t.convert(&[path], "out", &[]);
    run.expect_code(2)
        .expect_stderr_contains("source.duplicate")
        .expect_stderr_contains("SFHQ_pt1.zip!images/SFHQ_pt1_00000001.jpg and ")
        .expect_stderr_contains("the zip holds it twice");
    assert!(!t.join("out/manifest.json").exists());
}

#[test]
fn a_zip_whose_entries_share_one_members_data_is_refused() {
    let t = TestDir::new();
    let mut zip = RawZip::new();
    let first = zip.add("images/SFHQ_pt1_00000000.jpg", &image(1));
    for n in 1..400 {
        zip.central_entry(&format!("images/SFHQ_pt1_{n:08}.jpg"), first);
    }
    let path = t.join("bomb.zip");
    fs::write(&path, zip.finish()).unwrap();
    all_commands_stop(
        &t,
        &[path],
        &[
            "bomb.zip",
            "399 central-directory entries share their data",
            "zip bomb",
        ],
    );
}

#[test]
fn a_zip_compressed_with_lzma_gets_one_error_naming_the_method() {
    let t = TestDir::new();
    let mut zip = RawZip::new();
    for n in 1..=4 {
        // The bytes are not LZMA: the zip must be refused before any member is decoded.
        zip.add_with_method(&format!("images/SFHQ_pt1_0000000{n}.jpg"), &image(n), 14);
    }
    let path = t.join("lzma.zip");
    fs::write(&path, zip.finish()).unwrap();
    all_commands_stop(
        &t,
        std::slice::from_ref(&path),
        &[
            "lzma.zip",
            "4 member(s) are compressed with LZMA (zip method 14",
            "7z x",
        ],
    );
    let run = t.convert(&[path], "out2", &[]);
    assert_eq!(run.stderr.matches("LZMA").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("Compression method not supported"));
}

/// A folder with one good image, as `SFHQ_pt1/images/SFHQ_pt1_00000001.jpg`.
fn folder_with_one_image(t: &TestDir) -> PathBuf {
    let src = t.join("SFHQ_pt1");
    fs::create_dir_all(src.join("images")).unwrap();
    fs::write(src.join("images/SFHQ_pt1_00000001.jpg"), image(1)).unwrap();
    src
}

#[test]
fn a_non_utf8_name_in_a_folder_is_not_called_a_zip_member() {
    use std::os::unix::ffi::OsStrExt;
    let t = TestDir::new();
    let src = folder_with_one_image(&t);
    let odd = src
        .join("images")
        .join(std::ffi::OsStr::from_bytes(b"SFHQ_pt1_\xff.jpg"));
    fs::write(odd, image(2)).unwrap();
    let validate = t.run(["validate".as_ref(), src.as_os_str()]);
    validate
        .expect_code(1)
        .expect_stdout_contains("source.unsafe_path")
        .expect_stdout_contains("not valid UTF-8");
    // A folder's file is shown as a path, not with the zip member notation `SRC!name`.
    assert!(
        validate
            .stdout
            .contains(&format!("{}/images/SFHQ_pt1_", src.display())),
        "{}",
        validate.stdout
    );
    assert!(!validate.stdout.contains('!'), "{}", validate.stdout);
    let scan = t.run(["scan".as_ref(), src.as_os_str()]);
    assert!(!scan.stdout.contains("zip"), "{}", scan.stdout);
}

/// Runs the binary under `timeout`, so that a hang fails the test instead of the suite.
fn run_with_timeout(t: &TestDir, secs: u32, args: &[&std::ffi::OsStr]) -> Run {
    let output = Command::new("timeout")
        .arg(secs.to_string())
        .arg(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args(args)
        .current_dir(t.path())
        .output()
        .expect("run timeout");
    Run {
        command: format!("timeout {secs} sfhq-pack {args:?}"),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_named_like_an_image_is_listed_and_never_opened() {
    let t = TestDir::new();
    let src = folder_with_one_image(&t);
    mkfifo(&src.join("images/SFHQ_pt1_00000002.jpg"));
    let out = t.join("out");
    let run = run_with_timeout(
        &t,
        60,
        &[
            "convert".as_ref(),
            src.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    );
    run.expect_code(1);
    let m = manifest(&out);
    assert_eq!(m["rows"], 1);
    let refused = &m["unsafe_paths"][0];
    assert_eq!(refused["name"], "images/SFHQ_pt1_00000002.jpg");
    assert!(refused["reason"].as_str().unwrap().contains("FIFO"));
    let scan = run_with_timeout(&t, 60, &["scan".as_ref(), src.as_os_str()]);
    scan.expect_code(1).expect_stdout_contains("FIFO");
}

#[test]
fn symlinks_in_a_folder_are_judged_one_by_one() {
    use std::os::unix::fs::symlink;
    let t = TestDir::new();
    let src = folder_with_one_image(&t);
    fs::create_dir_all(t.join("elsewhere")).unwrap();
    fs::write(t.join("elsewhere/secret.jpg"), image(2)).unwrap();
    let images = src.join("images");
    // Leaves the source folder: refused, never read.
    symlink(
        t.join("elsewhere/secret.jpg"),
        images.join("SFHQ_pt1_00000002.jpg"),
    )
    .unwrap();
    // Leads nowhere: refused, and the run goes on.
    symlink("no-such-file.jpg", images.join("SFHQ_pt1_00000003.jpg")).unwrap();
    // Stays inside the source folder: followed.
    symlink(
        "SFHQ_pt1_00000001.jpg",
        images.join("SFHQ_pt1_00000004.jpg"),
    )
    .unwrap();
    t.convert(std::slice::from_ref(&src), "out", &[])
        .expect_code(1);
    let m = manifest(&t.join("out"));
    assert_eq!(m["rows"], 2, "samples 1 and 4");
    let refused: Vec<(String, String)> = m["unsafe_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].0, "images/SFHQ_pt1_00000002.jpg");
    assert!(refused[0].1.contains("outside the source folder"));
    assert_eq!(refused[1].0, "images/SFHQ_pt1_00000003.jpg");
    assert!(refused[1].1.contains("does not exist"));
}

#[test]
fn a_declared_size_far_above_the_real_one_is_never_allocated() {
    let t = TestDir::new();
    let data = image(1);
    // A zip64 member whose central record claims 900 GB; its data is one small image.
    let mut zip = RawZip::new();
    zip.add("images/SFHQ_pt1_00000002.jpg", &image(2));
    zip.add_lying_size("images/SFHQ_pt1_00000001.jpg", &data, 900_000_000_000);
    let path = t.join("SFHQ_pt1.zip");
    fs::write(&path, zip.finish()).unwrap();
    // Taken at its word, the zip needs 900 GB: the space check refuses it before writing.
    t.convert(
        std::slice::from_ref(&path),
        "out",
        &["--max-file-bytes", "1TB"],
    )
    .expect_code(2)
    .expect_stderr_contains("free");
    let run = t.convert(
        &[path],
        "out",
        &["--max-file-bytes", "1TB", "--no-space-check"],
    );
    assert!(
        !run.stderr.contains("memory allocation"),
        "aborted: {}",
        run.stderr
    );
    // The member is read as the bytes that are really there, and since they are not the
    // size its entry states, the sample is excluded as changed (a zip that lies is damaged).
    run.expect_code(1);
    let m = manifest(&t.join("out"));
    assert_eq!(m["rows"], 1);
    assert_eq!(m["excluded"][0]["key"], "SFHQ_pt1_00000001");
    assert_eq!(m["excluded"][0]["issues"][0]["code"], "source.changed");
}

#[test]
fn sources_without_a_single_sample_stop_every_command() {
    let t = TestDir::new();
    let empty = t.join("empty");
    fs::create_dir_all(&empty).unwrap();
    all_commands_stop(&t, &[empty], &["no SFHQ sample found", "no files at all"]);

    let code = t.join("project");
    fs::create_dir_all(code.join("src")).unwrap();
    for n in 0..3 {
        fs::write(code.join(format!("src/m{n}.rs")), "fn main() {}").unwrap();
    }
    fs::write(code.join("Cargo.toml"), "[package]").unwrap();
    all_commands_stop(
        &t,
        &[code],
        &[
            "no SFHQ sample found",
            "no images/ folder; 4 files ignored: 3 *.rs, 1 *.toml",
        ],
    );
}

#[test]
fn a_part_holding_fewer_samples_than_published_is_a_warning_everywhere() {
    let t = TestDir::new();
    // 1,200 samples of part 1 (published with 89,785), all one image hard-linked.
    let src = folder_with_one_image(&t);
    let first = src.join("images/SFHQ_pt1_00000001.jpg");
    for n in 2..=1200 {
        fs::hard_link(&first, src.join(format!("images/SFHQ_pt1_{n:08}.jpg"))).unwrap();
    }
    let message = "SFHQ part 1 (";
    let counts = "holds 1,200 samples, but the part is published with 89,785";
    let scan = t.run(["scan".as_ref(), src.as_os_str()]);
    scan.expect_code(0)
        .expect_stdout_contains("source.incomplete: ")
        .expect_stdout_contains(counts);
    let json = t.run(["scan".as_ref(), "--json".as_ref(), src.as_os_str()]);
    let part = &json.json()["incomplete_parts"][0];
    assert_eq!(
        (part["part"].as_u64(), part["samples"].as_u64()),
        (Some(1), Some(1200))
    );
    assert_eq!(part["published"], 89_785);
    t.run(["validate".as_ref(), src.as_os_str()])
        .expect_code(0)
        .expect_stdout_contains(counts)
        .expect_stdout_contains("source.incomplete: 1");
    t.convert(std::slice::from_ref(&src), "out", &[])
        .expect_code(0)
        .expect_stderr_contains(message)
        .expect_stderr_contains(counts);
    let m = manifest(&t.join("out"));
    assert_eq!(m["rows"], 1200, "a warning: every sample is converted");
    assert_eq!(m["warnings"]["source.incomplete"], 1);
    assert_eq!(m["incomplete_parts"][0]["sources"][0], "SFHQ_pt1");
    assert_eq!(m["incomplete_parts"][0]["samples"], 1200);
}
