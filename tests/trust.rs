//! Trust (issue 10): sfhq-pack removes only what it can prove it wrote, changes nothing
//! before every check has passed, lets one run write a folder at a time, ends every command
//! on SIGINT/SIGTERM with exit 130 and nothing left over, and `verify` accounts for every
//! file, in a converted folder and in the copies users download.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::memory::big_source;
use crate::package::{converted, package, ALL};
use crate::util::*;

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// --- ownership -----------------------------------------------------------------------------

#[test]
fn overwrite_never_removes_foreign_files_and_stops_before_writing() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &["--format", "parquet,webdataset"])
        .expect_code(0);
    let out = t.join("out");
    fs::write(out.join("data/mine.parquet"), b"my own file").unwrap();
    fs::write(out.join("webdataset/my-000000.tar"), b"mine too").unwrap();
    let before = snapshot(&out);
    t.convert(
        &good_sources(),
        "out",
        &["--format", "parquet,webdataset", "--overwrite"],
    )
    .expect_code(2)
    .expect_stderr_contains("data/mine.parquet")
    .expect_stderr_contains("webdataset/my-000000.tar")
    .expect_stderr_contains("sfhq-pack did not write")
    .expect_stderr_contains("nothing was written");
    assert_eq!(snapshot(&out), before, "the folder changed");
}

#[test]
fn overwrite_with_a_source_that_cannot_be_read_leaves_the_earlier_output_untouched() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let out = t.join("out");
    let before = snapshot(&out);
    t.convert(&[t.join("no/such/source")], "out", &["--overwrite"])
        .expect_code(2)
        .expect_stderr_contains("no/such/source");
    assert_eq!(
        snapshot(&out),
        before,
        "a failed --overwrite changed the folder"
    );
    // Duplicate keys: the same part given twice.
    let (part, copy) = part1_and_a_copy(&t);
    t.convert(&[part, copy], "out", &["--overwrite"])
        .expect_code(2);
    assert_eq!(snapshot(&out), before, "duplicate keys changed the folder");
    t.run(["verify", s(&out)]).expect_code(0);
}

#[test]
fn without_overwrite_an_earlier_output_is_named_and_kept() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let before = snapshot(&t.join("out"));
    t.convert(&good_sources(), "out", &[])
        .expect_code(2)
        .expect_stderr_contains("earlier sfhq-pack output")
        .expect_stderr_contains("--overwrite");
    assert_eq!(snapshot(&t.join("out")), before);
    // With --overwrite the same output comes back, byte for byte.
    t.convert(&good_sources(), "out", &["--overwrite"])
        .expect_code(0);
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn overwrite_removes_the_publishing_files_package_wrote_and_keeps_edited_ones() {
    let t = TestDir::new();
    let out = converted(&t, "out");
    package(&t, &out, ALL).expect_code(0);
    let manifest = manifest(&out);
    let published: Vec<&str> = manifest["published"]
        .as_array()
        .expect("package records what it wrote")
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for expected in ["README.md", "croissant.json", "kaggle/manifest.json"] {
        assert!(published.contains(&expected), "{published:?}");
    }
    t.run(["verify", s(&out)]).expect_code(0);

    // An edited card is not provably ours any more: --overwrite stops and names it.
    let card = out.join("README.md");
    let mut text = fs::read_to_string(&card).unwrap();
    text.push_str("\nMy own notes.\n");
    fs::write(&card, &text).unwrap();
    t.run(["verify", s(&out)])
        .expect_code(1)
        .expect_stdout_contains("README.md");
    let again = [
        "--format",
        "parquet,webdataset",
        "--split",
        "test=0.3",
        "--shard-size",
        "60kB",
        "--overwrite",
    ];
    t.convert(&good_sources(), "out", &again)
        .expect_code(2)
        .expect_stderr_contains("README.md")
        .expect_stderr_contains("changed since `sfhq-pack package` wrote it");
    assert_eq!(fs::read_to_string(&card).unwrap(), text);

    // Unchanged publishing files go with the output they described; the user's Kaggle
    // cover image stays.
    fs::remove_file(&card).unwrap();
    fs::write(out.join("kaggle/dataset-cover-image.png"), b"cover").unwrap();
    t.convert(&good_sources(), "out", &again).expect_code(0);
    let left = tree(&out);
    assert!(
        !left.iter().any(|f| f == "croissant.json"
            || (f.starts_with("kaggle/") && f != "kaggle/dataset-cover-image.png")),
        "stale publishing files survived: {left:?}"
    );
    assert!(out.join("kaggle/dataset-cover-image.png").exists());
    t.run(["verify", s(&out)]).expect_code(0);
}

#[test]
fn verify_reports_stale_publishing_files_and_indexes_and_any_stray_file() {
    let t = TestDir::new();
    let out = converted(&t, "out");
    fs::write(out.join("croissant.json"), b"{}").unwrap();
    fs::write(out.join("webdataset/index-old.json"), b"{}").unwrap();
    fs::write(out.join("notes.txt"), b"hello").unwrap();
    let run = t.run(["verify", s(&out)]);
    run.expect_code(1)
        .expect_stdout_contains("croissant.json: unlisted")
        .expect_stdout_contains("webdataset/index-old.json: unlisted")
        .expect_stdout_contains("notes.txt: unlisted");
}

#[test]
fn an_out_that_is_a_dangling_link_is_refused_before_the_sources_are_read() {
    let t = TestDir::new();
    std::os::unix::fs::symlink(t.join("missing"), t.join("out")).unwrap();
    t.convert(&good_sources(), "out", &[])
        .expect_code(2)
        .expect_stderr_contains("symbolic link to a folder that does not exist");
}

// --- one writer per folder -----------------------------------------------------------------

#[test]
fn a_second_convert_into_a_folder_being_written_is_refused_and_corrupts_nothing() {
    let t = TestDir::new();
    let src = t.join("big");
    big_source(&src, 600, 300_000);
    let out = t.join("out");
    let args = [
        "convert",
        s(&src),
        "--out",
        s(&out),
        "--shard-size",
        "20MB",
        "--threads",
        "1",
    ];
    let first = spawn(&args);
    let started = Instant::now();
    while !out.join(".sfhq-pack.lock").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = t.run(
        args.iter()
            .copied()
            .chain(["--overwrite"])
            .collect::<Vec<_>>(),
    );
    let (code, stderr) = finish(first);
    assert_eq!(code, Some(0), "{stderr}");
    second
        .expect_code(2)
        .expect_stderr_contains("another run is writing this folder")
        .expect_stderr_contains("sfhq-pack convert");
    assert!(
        !out.join(".sfhq-pack.lock").exists(),
        "the lock was not released"
    );
    t.run(["verify", s(&out)]).expect_code(0);
}

#[test]
fn a_lock_left_by_a_killed_run_is_taken_over() {
    let t = TestDir::new();
    let out = t.join("out");
    fs::create_dir(&out).unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    fs::write(
        out.join(".sfhq-pack.lock"),
        format!(
            r#"{{"pid":{pid},"host":"{}","command":"convert","started":1,"start_ticks":1}}"#,
            host.trim()
        ),
    )
    .unwrap();
    t.convert(&good_sources(), "out", &[])
        .expect_code(0)
        .expect_stderr_contains("took over the lock");
    t.run(["verify", s(&out)]).expect_code(0);
}

// --- interruption ------------------------------------------------------------------------

#[test]
fn an_interrupted_convert_leaves_no_folder_and_the_same_command_then_runs() {
    for signal in ["INT", "TERM"] {
        let t = TestDir::new();
        let src = t.join("big");
        big_source(&src, 600, 300_000);
        let out = t.join("out");
        let args = [
            "convert",
            s(&src),
            "--out",
            s(&out),
            "--format",
            "parquet,webdataset",
            "--shard-size",
            "20MB",
            "--threads",
            "1",
        ];
        let child = spawn(&args);
        signal_when(&child, signal, Duration::ZERO, || out.join("data").exists());
        let (code, stderr) = finish(child);
        assert_eq!(code, Some(130), "SIG{signal}: {stderr}");
        assert!(!out.exists(), "SIG{signal}: left {:?}", tree(&out));
        t.run(args).expect_code(0);
    }
}

#[test]
fn verify_package_and_extract_end_with_130_on_sigint_and_sigterm_leaving_nothing() {
    let t = TestDir::new();
    let src = t.join("big");
    big_source(&src, 1500, 300_000);
    let out = t.join("out");
    t.run([
        "convert",
        s(&src),
        "--out",
        s(&out),
        "--format",
        "parquet,webdataset",
        "--shard-size",
        "30MB",
    ])
    .expect_code(0);
    let before = snapshot(&out);
    for signal in ["INT", "TERM"] {
        // verify: reads only; must not claim a result.
        let child = spawn(&["--threads", "1", "verify", s(&out)]);
        std::thread::sleep(Duration::from_millis(150));
        signal_when(&child, signal, Duration::ZERO, || true);
        let (code, stderr) = finish(child);
        assert_eq!(code, Some(130), "verify SIG{signal}: {stderr}");

        // package: interrupted while it verifies the shards; nothing written.
        let mut args = vec!["--threads", "1", "package", s(&out)];
        args.extend_from_slice(ALL);
        let child = spawn(&args);
        std::thread::sleep(Duration::from_millis(150));
        signal_when(&child, signal, Duration::ZERO, || true);
        let (code, stderr) = finish(child);
        assert_eq!(code, Some(130), "package SIG{signal}: {stderr}");
        assert_eq!(snapshot(&out), before, "package SIG{signal} left files");

        // extract: every file it wrote is taken back, and the folder it created.
        let back = t.join(&format!("back-{signal}"));
        let child = spawn(&["extract", s(&out), "--out", s(&back)]);
        signal_when(&child, signal, Duration::ZERO, || {
            back.join("images")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some())
        });
        let (code, stderr) = finish(child);
        assert_eq!(code, Some(130), "extract SIG{signal}: {stderr}");
        assert!(!back.exists(), "extract SIG{signal} left {:?}", tree(&back));
    }
}

/// Bytes the process has read so far (`rchar` of /proc/PID/io).
fn bytes_read(child: &Child) -> u64 {
    fs::read_to_string(format!("/proc/{}/io", child.id()))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("rchar: ").map(|n| n.parse().unwrap()))
        })
        .unwrap_or(0)
}

#[test]
fn dedup_and_convert_with_dedup_end_with_130_on_sigint_and_sigterm_printing_nothing() {
    let t = TestDir::new();
    let src = t.join("big");
    // 800 samples of 300 KB: reading the pickles and hashing the images takes a while, and
    // every vector is the same, so the comparison that follows takes longer still.
    big_source(&src, 800, 300_000);
    for signal in ["INT", "TERM"] {
        // dedup: stopped while it reads (past the first 20 MB); no result on stdout.
        let child = Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
            .args(["--threads", "1", "dedup", s(&src), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        signal_when(&child, signal, Duration::ZERO, || {
            bytes_read(&child) > 20_000_000
        });
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(130),
            "dedup SIG{signal}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "dedup SIG{signal} printed a result: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(stderr.contains("interrupted; no result"), "{stderr}");

        // convert --dedup-threshold: stopped while it groups, before any shard; no folder.
        let out = t.join(&format!("out-{signal}"));
        let child = spawn(&[
            "--threads",
            "1",
            "convert",
            s(&src),
            "--out",
            s(&out),
            "--dedup-threshold",
            "0.92",
        ]);
        signal_when(&child, signal, Duration::ZERO, || {
            bytes_read(&child) > 20_000_000
        });
        let (code, stderr) = finish(child);
        assert_eq!(
            code,
            Some(130),
            "convert --dedup-threshold SIG{signal}: {stderr}"
        );
        assert!(
            !out.exists(),
            "convert --dedup-threshold SIG{signal} left {:?}",
            tree(&out)
        );
    }
}

// --- inputs that are not a dataset, empty splits --------------------------------------------

#[test]
fn a_split_that_draws_no_sample_stops_before_writing_unless_allowed() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &["--split", "test=0.000001"])
        .expect_code(2)
        .expect_stderr_contains("draws no sample into test")
        .expect_stderr_contains("--allow-empty-split");
    assert!(!t.join("out").exists(), "the refused run created --out");
    t.convert(
        &good_sources(),
        "out",
        &["--split", "test=0.000001", "--allow-empty-split"],
    )
    .expect_code(0)
    .expect_stderr_contains("draws no sample into test");
}

// --- verify on the copies users download -------------------------------------------------

/// A folder packaged for every platform.
fn packaged(t: &TestDir) -> PathBuf {
    let out = converted(t, "out");
    package(t, &out, ALL).expect_code(0);
    out
}

#[test]
fn verify_passes_on_the_kaggle_folder_as_uploaded_and_fails_on_a_flipped_byte() {
    let t = TestDir::new();
    let out = packaged(&t);
    let kaggle = out.join("kaggle");
    t.run(["verify", s(&kaggle)]).expect_code(0);
    // A Kaggle download holds the files without dataset-metadata.json.
    let download = t.join("kaggle-download");
    fs::create_dir(&download).unwrap();
    for rel in tree(&kaggle) {
        if rel != "dataset-metadata.json" {
            fs::copy(kaggle.join(&rel), download.join(&rel)).unwrap();
        }
    }
    t.run(["verify", s(&download)]).expect_code(0);
    let sums = Command::new("sha256sum")
        .args(["--strict", "-c", "SHA256SUMS"])
        .current_dir(&download)
        .output()
        .unwrap();
    assert!(sums.status.success(), "{sums:?}");
    let shard = tree(&download)
        .into_iter()
        .find(|f| f.ends_with(".parquet"))
        .unwrap();
    let path = download.join(&shard);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    t.run(["verify", s(&download)])
        .expect_code(1)
        .expect_stdout_contains(&format!("{shard}: sha256"));
}

#[test]
fn verify_accepts_a_hugging_face_copy_and_says_what_was_not_downloaded() {
    let t = TestDir::new();
    let out = packaged(&t);
    // The Hub copy: everything but kaggle/, plus the files the Hub and its client add.
    let hub = t.join("hub");
    copy_tree(&out, &hub);
    fs::remove_dir_all(hub.join("kaggle")).unwrap();
    fs::write(hub.join(".gitattributes"), b"*.parquet filter=lfs\n").unwrap();
    fs::create_dir_all(hub.join(".cache/huggingface/download")).unwrap();
    fs::write(
        hub.join(".cache/huggingface/download/README.md.metadata"),
        b"x",
    )
    .unwrap();
    t.run(["verify", s(&hub)])
        .expect_code(0)
        .expect_stdout_contains("NOTE kaggle/");
    // Uploaded with Parquet only: one clear problem, and --format parquet checks the rest.
    fs::remove_dir_all(hub.join("webdataset")).unwrap();
    t.run(["verify", s(&hub)])
        .expect_code(1)
        .expect_stdout_contains("webdataset/: absent")
        .expect_stdout_contains("verify --format parquet");
    t.run(["verify", s(&hub), "--format", "parquet"])
        .expect_code(0);
}

// --- verify catches every change -----------------------------------------------------------

/// A small deterministic generator (the test must fail the same way on every machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn verify_fails_on_every_flipped_byte_and_every_truncation_naming_the_file() {
    let t = TestDir::new();
    let out = t.join("out");
    t.convert(
        &good_sources(),
        "out",
        &["--format", "parquet,webdataset", "--shard-size", "60kB"],
    )
    .expect_code(0);
    let files: Vec<String> = tree(&out);
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    let mut rng = Lcg(0x5f48_5150_4143_4b00);
    let flips = 1000;
    let truncations = 100;
    for round in 0..flips + truncations {
        let which = (rng.next() as usize) % files.len();
        let path = out.join(&files[which]);
        let original = &originals[which];
        let mut changed = original.clone();
        if round < flips {
            let at = (rng.next() as usize) % changed.len();
            changed[at] ^= 1 + (rng.next() % 255) as u8;
        } else {
            changed.truncate((rng.next() as usize) % changed.len());
        }
        fs::write(&path, &changed).unwrap();
        let run = t.run(["verify", s(&out)]);
        // Exit 1 names the file in a FAILED line; a manifest that no longer parses is exit 2
        // with its name in the message.
        let named = match run.code {
            1 => run
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("FAILED {}", files[which]))),
            2 => run.stderr.contains(&files[which]),
            _ => false,
        };
        assert!(
            named,
            "round {round}: {} changed, verify did not fail naming it:\nexit {}\n{}{}",
            files[which], run.code, run.stdout, run.stderr
        );
        fs::write(&path, original).unwrap();
    }
    t.run(["verify", s(&out)]).expect_code(0);
}
