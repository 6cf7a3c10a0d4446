//! The output folder: what is ours, preparing it, and writing files so that a reader never
//! sees half of one (a hidden temporary beside the target, synced, then renamed over it).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::format::parquet::DATA_DIR;
use crate::format::webdataset::index::INDEX_FILE;
use crate::format::webdataset::WDS_DIR;
use crate::manifest::{MANIFEST_FILE, SUMS_FILE};

/// Writes to a hidden temporary file beside `path`, syncs it, and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .expect("output files have names")
        .to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.partial"));
    let mut file =
        fs::File::create(&temp).with_context(|| format!("{}: cannot create", temp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", temp.display()))?;
    fs::rename(&temp, path)
        .with_context(|| format!("{}: cannot rename to {}", temp.display(), path.display()))?;
    Ok(())
}

/// Whether an existing `--out` is an empty folder; an error when it is not a folder.
fn is_empty_folder(out: &Path) -> anyhow::Result<bool> {
    if !out.is_dir() {
        anyhow::bail!("{}: --out exists and is not a folder", out.display());
    }
    Ok(fs::read_dir(out)
        .with_context(|| format!("{}: cannot read output folder", out.display()))?
        .next()
        .is_none())
}

/// Prepares a folder that receives plain files (`extract`): it may not exist yet (it is
/// created; the return value says so), may be empty, or with `overwrite` may hold files.
pub(crate) fn prepare_plain_folder(out: &Path, overwrite: bool) -> anyhow::Result<bool> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(out)
                .with_context(|| format!("{}: cannot create output folder", out.display()))?;
            return Ok(true);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot read output folder", out.display()))
        }
        Ok(_) => {}
    }
    let is_empty = is_empty_folder(out)?;
    if !is_empty && !overwrite {
        anyhow::bail!(
            "{}: output folder is not empty; pass --overwrite to write into it anyway, or choose a new folder",
            out.display()
        );
    }
    Ok(false)
}

/// Refuses to mix output into a folder that holds something else, unless `--overwrite`
/// asks to replace an earlier run: then only sfhq-pack's own files are removed.
pub(crate) fn prepare_convert_output(out: &Path, overwrite: bool) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let is_empty = is_empty_folder(out)?;
    if is_empty {
        return Ok(());
    }
    if !overwrite {
        anyhow::bail!(
            "{}: output folder is not empty; pass --overwrite to replace an earlier sfhq-pack output, or choose a new folder",
            out.display()
        );
    }
    for name in [MANIFEST_FILE, SUMS_FILE] {
        remove_if_present(&out.join(name))?;
    }
    for (dir, extension) in [(DATA_DIR, ".parquet"), (WDS_DIR, ".tar")] {
        let dir = out.join(dir);
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(extension) || name.ends_with(".partial") || name == INDEX_FILE {
                remove_if_present(&path)?;
            }
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("{}: cannot remove earlier output", path.display()))
        }
        _ => Ok(()),
    }
}
