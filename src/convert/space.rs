//! Free space, checked before anything is written: a run that cannot fit is refused with
//! both figures instead of failing hours later with a full disk.

use std::path::Path;

use crate::ui::format_bytes;

/// Bytes a format adds around the samples' own bytes, as a share: Parquet's pages and
/// footer, tar headers and padding, the `.npy` headers. Generous, since a refusal is cheap
/// and a full disk late in a run is not.
const OVERHEAD: f64 = 0.02;

/// Refuses when `needed` bytes will not fit in the free space of the file system that
/// holds `out` (or its nearest existing ancestor, when `out` does not exist yet).
pub(super) fn check(out: &Path, needed: u64) -> anyhow::Result<()> {
    let Some(free) = free_bytes(out) else {
        return Ok(());
    };
    let needed = (needed as f64 * (1.0 + OVERHEAD)) as u64;
    if needed > free {
        anyhow::bail!(
            "{}: the output needs about {}, and its file system has {} free; free space there or choose another --out; nothing was written",
            out.display(),
            format_bytes(needed),
            format_bytes(free)
        );
    }
    Ok(())
}

/// Free bytes for an unprivileged writer on the file system of `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let stat = nix::sys::statvfs::statvfs(existing).ok()?;
    Some((stat.blocks_available() as u64).saturating_mul(stat.fragment_size() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_larger_than_the_free_space_is_refused_with_both_figures() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).expect("statvfs works here");
        assert!(check(&dir.path().join("not/yet"), 1).is_ok());
        let err = check(dir.path(), free.saturating_mul(2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("free"), "{err}");
        assert!(err.contains("nothing was written"), "{err}");
    }
}
