//! Replays every saved fuzz input on stable Rust: the minimised corpora in
//! `fuzz/corpus/<target>/` and every past finding in `fuzz/regressions/<target>/`, each
//! through the same facade function its fuzz target calls (`sfhq_pack::fuzzing`). A panic
//! or a broken round trip fails the test and names the file, so CI checks every finding
//! without nightly or cargo-fuzz.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use sfhq_pack::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files directly in `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every saved input of `target` and returns one line per failure.
fn replay(target: &str) -> (usize, Vec<String>) {
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target named {target} in sfhq_pack::fuzzing"));
    let files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .flat_map(|kind| inputs(&fuzz_dir().join(kind).join(target)))
        .collect();
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).expect("readable fuzz input");
        match catch_unwind(AssertUnwindSafe(|| run(&data))) {
            Ok(Ok(())) => {}
            Ok(Err(broken)) => failures.push(format!("{}: {broken}", file.display())),
            Err(_) => failures.push(format!("{}: panicked (message above)", file.display())),
        }
    }
    (files.len(), failures)
}

#[test]
fn every_saved_fuzz_input_replays_without_a_panic() {
    // One thread per target: the Parquet and tar inputs take most of the time.
    let results: Vec<(&str, usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = TARGETS
            .iter()
            .map(|(name, _)| {
                scope.spawn(move || {
                    let (count, failures) = replay(name);
                    (*name, count, failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("the replay thread catches panics"))
            .collect()
    });
    let mut report = Vec::new();
    for (name, count, failures) in results {
        if count == 0 {
            report.push(format!(
                "fuzz/corpus/{name}/ is empty: the corpus was not committed"
            ));
        }
        report.extend(failures);
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn every_fuzz_folder_names_a_target_and_every_target_has_a_fuzz_target() {
    let mut dirs: Vec<String> = ["corpus", "regressions"]
        .iter()
        .flat_map(|kind| fs::read_dir(fuzz_dir().join(kind)).into_iter().flatten())
        .map(|e| e.expect("readable folder entry").file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in &dirs {
        assert!(
            TARGETS.iter().any(|(name, _)| name == dir),
            "fuzz/*/{dir}/ matches no target in sfhq_pack::fuzzing::TARGETS"
        );
    }
    for (name, _) in TARGETS {
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "target {name} has no fuzz/fuzz_targets/{name}.rs"
        );
    }
}
