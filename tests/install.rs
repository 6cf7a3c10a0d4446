//! `--version`, `completions` and `man`: what an installed binary offers the shell.

use crate::util::run_in;

#[test]
fn version_names_the_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), ["--version"]);
    run.expect_code(0);
    let line = run.stdout.trim();
    let expected = format!("sfhq-pack {}", env!("CARGO_PKG_VERSION"));
    assert!(
        line == expected || line.starts_with(&format!("{expected} (commit ")),
        "{line}"
    );
}

#[test]
fn completions_and_man_print_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let run = run_in(dir.path(), ["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains("sfhq-pack"), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("convert"), "{shell}");
    }
    let run = run_in(dir.path(), ["completions", "tcsh"]);
    run.expect_code(2);
    let run = run_in(dir.path(), ["man", "report"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(".TH sfhq-pack-report 1"),
        "{}",
        run.stdout
    );
    let run = run_in(dir.path(), ["man", "nope"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no command named \"nope\""),
        "{}",
        run.stderr
    );
}
