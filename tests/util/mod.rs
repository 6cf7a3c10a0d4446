//! Test harness: a fresh temporary folder per test, the real binary, and failures that
//! print the command, its exit code, stdout and stderr.

#![allow(dead_code)]

pub mod rawzip;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The three good sources: a folder, a Kaggle-style zip, a folder without features.
pub fn good_sources() -> Vec<PathBuf> {
    let good = fixtures().join("good");
    vec![
        good.join("SFHQ_pt1"),
        good.join("SFHQ_pt2.zip"),
        good.join("SFHQ_pt4_no_features"),
    ]
}

/// The three near-duplicate parts of fixtures/dedup: a folder (numpy 2 pickles), a zip
/// (numpy 1 pickles), a folder without features.
pub fn dedup_sources() -> Vec<PathBuf> {
    let d = fixtures().join("dedup");
    vec![
        d.join("SFHQ_pt7"),
        d.join("SFHQ_pt8.zip"),
        d.join("SFHQ_pt9_no_features"),
    ]
}

pub fn broken_folder() -> PathBuf {
    fixtures().join("broken").join("SFHQ_pt3")
}

/// Part 1, and a copy of it at `copy/SFHQ_pt1` in the test folder: the same four keys in two
/// places.
pub fn part1_and_a_copy(t: &TestDir) -> (PathBuf, PathBuf) {
    let part = fixtures().join("good").join("SFHQ_pt1");
    let copy = t.join("copy/SFHQ_pt1");
    copy_tree(&part, &copy);
    (part, copy)
}

pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs the binary with this folder as working directory.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_in(self.path(), args)
    }

    /// `convert SOURCES --out OUT` plus extra arguments.
    pub fn convert(&self, sources: &[PathBuf], out: &str, extra: &[&str]) -> Run {
        let mut args: Vec<std::ffi::OsString> = vec!["convert".into()];
        args.extend(sources.iter().map(|s| s.clone().into_os_string()));
        args.push("--out".into());
        args.push(self.join(out).into_os_string());
        args.extend(extra.iter().map(Into::into));
        self.run(args)
    }
}

pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run_in<I, S>(cwd: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args(&args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run sfhq-pack");
    Run {
        command: format!(
            "sfhq-pack {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Run {
    fn explain(&self) -> String {
        format!(
            "command: {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code, printing everything on failure.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.explain());
        self
    }

    pub fn expect_stdout_contains(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.explain()
        );
        self
    }

    pub fn expect_stderr_contains(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.explain()
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.explain()))
    }
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn manifest(out: &Path) -> serde_json::Value {
    read_json(&out.join("manifest.json"))
}

/// Keys of a list of `{key, ...}` objects.
pub fn keys(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|e| e["key"].as_str().expect("key").to_string())
        .collect()
}

/// Shard paths listed in a manifest.
pub fn shard_paths(manifest: &serde_json::Value) -> Vec<String> {
    manifest["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| s["path"].as_str().expect("path").to_string())
        .collect()
}

/// Every file below `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Lower-case hex sha256, as the manifest writes it.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file below `dir` with its bytes: to show that a run changed nothing, or that two
/// outputs are identical.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Waits (up to 60 s) until `ready` holds, lets `settle` pass, then sends `signal` (`INT`,
/// `TERM`, ...) to the child, as a user pressing Ctrl-C or a supervisor stopping it.
pub fn signal_when(child: &Child, signal: &str, settle: Duration, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(settle);
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The child's exit code and stderr, once it has ended.
pub fn finish(child: Child) -> (Option<i32>, String) {
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
