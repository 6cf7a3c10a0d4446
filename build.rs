//! Names the git commit in `sfhq-pack --version` when the binary is built from a checkout
//! of this repository: `sfhq-pack 0.1.0 (commit 1a2b3c4)`. A build from a source archive
//! (crates.io, an sdist, a tarball) has no `.git` and shows the version alone; so does a
//! machine without git. Nothing here can fail the build.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = env!("CARGO_PKG_VERSION");
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Only this repository's own checkout counts: a source archive unpacked inside some
    // other repository must not borrow that repository's commit.
    let is_our_checkout = git(&["rev-parse", "--show-toplevel"])
        .and_then(|top| Path::new(&top).canonicalize().ok())
        .zip(manifest_dir.canonicalize().ok())
        .is_some_and(|(top, here)| top == here);
    let commit = if is_our_checkout {
        git(&["rev-parse", "--short=9", "HEAD"])
    } else {
        None
    };
    if commit.is_some() {
        // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it points to (a
        // commit), and packed-refs (a branch that was packed).
        for name in ["HEAD", "packed-refs"] {
            if let Some(path) = git(&["rev-parse", "--git-path", name]) {
                println!(
                    "cargo:rerun-if-changed={}",
                    manifest_dir.join(path).display()
                );
            }
        }
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(path) = git(&["rev-parse", "--git-path", &reference]) {
                println!(
                    "cargo:rerun-if-changed={}",
                    manifest_dir.join(path).display()
                );
            }
        }
    }
    let long = match &commit {
        Some(commit) => format!("{version} (commit {commit})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=SFHQ_PACK_VERSION={long}");
    println!(
        "cargo:rustc-env=SFHQ_PACK_COMMIT={}",
        commit.as_deref().unwrap_or("")
    );
}
