//! Folder sources: one walk, sorted, symbolic links judged one by one.
//!
//! Only regular files are listed. Everything else is refused by name, with its reason, and
//! never opened (opening a FIFO blocks forever): FIFOs, sockets, devices, names that are not
//! UTF-8, and symbolic links that leave the source folder or lead nowhere, as zip sources
//! refuse their symlink members. A link to a regular file *inside* the source folder is
//! followed: it reads a file the user handed over anyway (tools that share files between
//! copies of a dataset leave such links), and it is read under the link's own name. A link to
//! a folder is not walked into: the folder's files are listed where they really are.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use anyhow::Context;

use super::{ListedFile, Locator, UnsafePath};

pub(super) fn list(
    root: &Path,
    on_file: &mut dyn FnMut(ListedFile),
) -> anyhow::Result<Vec<UnsafePath>> {
    let real_root = root
        .canonicalize()
        .with_context(|| format!("{}: cannot open source", root.display()))?;
    let mut refused = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.with_context(|| format!("{}: cannot list folder", root.display()))?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths below its root");
        let Some(rel) = rel.to_str() else {
            // Not UTF-8: cannot be an SFHQ file name; keep it visible rather than dropping it.
            refused.push(UnsafePath {
                name: rel.to_string_lossy().into_owned(),
                reason: "file name is not valid UTF-8 (SFHQ file names are ASCII); rename the file",
            });
            continue;
        };
        let name = rel.replace(std::path::MAIN_SEPARATOR, "/");
        let mut modified = None;
        let size = if file_type.is_symlink() {
            match followed_link(&real_root, entry.path()) {
                Ok(size) => size,
                Err(reason) => {
                    refused.push(UnsafePath { name, reason });
                    continue;
                }
            }
        } else if file_type.is_file() {
            let meta = entry
                .metadata()
                .with_context(|| format!("{}: cannot stat", entry.path().display()))?;
            modified = meta.modified().ok().map(nanos_since_epoch);
            meta.len()
        } else {
            refused.push(UnsafePath {
                name,
                reason: special_file_reason(&file_type),
            });
            continue;
        };
        on_file(ListedFile {
            path: name,
            size,
            modified,
            locator: Locator::Path,
        });
    }
    Ok(refused)
}

/// The size of the regular file a symbolic link leads to, when the link may be followed;
/// otherwise why it is refused.
fn followed_link(real_root: &Path, link: &Path) -> Result<u64, &'static str> {
    let Ok(target) = link.canonicalize() else {
        return Err("symbolic link whose target does not exist (or a loop of links); fix or remove the link");
    };
    if !target.starts_with(real_root) {
        return Err("symbolic link to a file outside the source folder, not followed; copy the file into the folder if it belongs to the dataset");
    }
    let Ok(meta) = fs::metadata(&target) else {
        return Err("symbolic link whose target cannot be read");
    };
    if meta.is_dir() {
        return Err("symbolic link to a folder, not followed (the folder's files are listed where they are)");
    }
    if !meta.is_file() {
        return Err("symbolic link to something that is not a regular file (a FIFO, socket or device), never opened");
    }
    Ok(meta.len())
}

fn special_file_reason(file_type: &fs::FileType) -> &'static str {
    if file_type.is_fifo() {
        "not a regular file (a FIFO), never opened"
    } else if file_type.is_socket() {
        "not a regular file (a socket), never opened"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "not a regular file (a device), never opened"
    } else {
        "not a regular file, never opened"
    }
}

/// A file time as nanoseconds since 1970 (negative before).
pub(crate) fn nanos_since_epoch(time: std::time::SystemTime) -> i128 {
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}
