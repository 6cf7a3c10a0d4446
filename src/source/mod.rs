//! Sources: an SFHQ part as a folder or as the zip downloaded from Kaggle.
//!
//! A [`Source`] lists its files once, one at a time ([`Source::list`]: nothing holds a
//! million-file listing whole), and later reads any of them by
//! [`Locator`], from any thread. Zip members are read in place, never extracted; member
//! names are checked before anything else sees them, and a name that is absolute or climbs
//! with `..` is refused and reported (`source.unsafe_path`), never opened. In folders, files
//! that are not regular files and symlinks that leave the folder are refused the same way
//! ([`folder`]). A file that is not a usable zip is described ([`sniff`]), and a zip whose
//! central directory repeats names, shares data between entries or uses a compression
//! method we cannot read is found from the directory itself ([`central`]).
//!
//! [`inventory`] turns the listings of all sources into samples paired by stem.

mod central;
pub(crate) mod duplicates;
mod folder;
pub(crate) mod inventory;
pub(crate) mod parts;
mod sniff;
mod zip;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a source's bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Folder,
    Zip,
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceKind::Folder => "folder",
            SourceKind::Zip => "zip",
        })
    }
}

/// How to find one file again inside its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// Relative path is rebuilt from the inventory; folder files need nothing more.
    Path,
    /// Index of the member in the zip's central directory.
    Member(u32),
}

/// A regular file found in a source.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Path relative to the source root, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Modification time (nanoseconds since 1970) of a folder's file; `None` in a zip,
    /// whose own size and time stand for its members.
    pub modified: Option<i128>,
    pub locator: Locator,
}

/// A name refused while listing: an unsafe zip member name, a symlink, a file that is not a
/// regular file, a name that is not UTF-8.
#[derive(Debug, Clone, Serialize)]
pub struct UnsafePath {
    pub name: String,
    pub reason: &'static str,
}

/// Why a source could not be opened: missing (a typo, a moved download), unreadable
/// (permissions), or a file that is not a readable zip (with what it looks like instead).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{}: cannot open source (check the path)", path.display())]
    Missing {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot open source", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot read this zip: {reason}", path.display())]
    NotAZip {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "file is {size} bytes, above the limit of {limit} bytes (raise it with --max-file-bytes)"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// The most a read reserves before the first byte arrives (larger files grow the buffer).
const READ_RESERVE_LIMIT: u64 = 8 << 20;

/// An opened source.
pub struct Source {
    pub path: PathBuf,
    pub kind: SourceKind,
    backend: Backend,
}

enum Backend {
    Folder,
    Zip(zip::ZipSource),
}

impl Source {
    /// Opens a folder or a zip file (reading the zip's central directory).
    pub fn open(path: &Path) -> Result<Source, OpenError> {
        let meta = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                OpenError::Missing {
                    path: path.to_path_buf(),
                    source,
                }
            } else {
                OpenError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let (kind, backend) = if meta.is_dir() {
            (SourceKind::Folder, Backend::Folder)
        } else {
            let zip = zip::ZipSource::open(path).map_err(|e| OpenError::NotAZip {
                path: path.to_path_buf(),
                reason: format!("{e:#}"),
            })?;
            (SourceKind::Zip, Backend::Zip(zip))
        };
        Ok(Source {
            path: path.to_path_buf(),
            kind,
            backend,
        })
    }

    /// Hands every regular file to `on_file`, in a fixed order, and returns the names
    /// refused on the way.
    pub fn list(&self, on_file: &mut dyn FnMut(ListedFile)) -> anyhow::Result<Vec<UnsafePath>> {
        match &self.backend {
            Backend::Folder => folder::list(&self.path, on_file),
            Backend::Zip(zip) => zip.list(on_file),
        }
    }

    /// Reads a whole file, refusing it when it is larger than `max_bytes` (checked on the
    /// listed size first, and again while reading since a zip can lie about sizes).
    pub fn read(
        &self,
        rel_path: &str,
        locator: Locator,
        size: u64,
        max_bytes: u64,
    ) -> Result<Vec<u8>, ReadError> {
        if size > max_bytes {
            return Err(ReadError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        // The declared size is only a hint (a sparse file or a lying zip64 member can claim
        // terabytes): reserve at most a few megabytes and let the buffer grow as bytes arrive.
        let mut data = Vec::with_capacity(size.min(READ_RESERVE_LIMIT) as usize);
        match (&self.backend, locator) {
            (Backend::Folder, _) => {
                let full = self.path.join(rel_path);
                // Check the type before opening: opening a FIFO blocks until a writer comes.
                if !std::fs::metadata(&full)?.is_file() {
                    return Err(ReadError::Io(io::Error::other(
                        "not a regular file (it changed since the folder was listed), not opened",
                    )));
                }
                let file = std::fs::File::open(full)?;
                file.take(max_bytes + 1).read_to_end(&mut data)?;
            }
            (Backend::Zip(zip), Locator::Member(index)) => {
                zip.read_member(index, max_bytes, &mut data)?
            }
            (Backend::Zip(_), Locator::Path) => {
                return Err(ReadError::Io(io::Error::other(
                    "zip file listed without a member index",
                )))
            }
        }
        if data.len() as u64 > max_bytes {
            return Err(ReadError::TooLarge {
                size: data.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(data)
    }

    /// The path shown to users for a file of this source: `SRC/rel` for folders,
    /// `SRC!rel` for zip members (the usual notation for a member inside an archive).
    pub fn display_path(&self, rel_path: &str) -> String {
        match self.kind {
            SourceKind::Folder => self.path.join(rel_path).display().to_string(),
            SourceKind::Zip => format!("{}!{}", self.path.display(), rel_path),
        }
    }
}

/// Names that operating systems and archivers leave behind: never data.
pub fn is_junk(rel_path: &str) -> bool {
    rel_path.split('/').any(|part| {
        part.starts_with('.')
            || part == "__MACOSX"
            || part.eq_ignore_ascii_case("Thumbs.db")
            || part.eq_ignore_ascii_case("desktop.ini")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_names_are_recognised() {
        for junk in [
            "images/.DS_Store",
            "__MACOSX/images/._a.jpg",
            "images/Thumbs.db",
            ".hidden/a.jpg",
            "images/.a.jpg",
        ] {
            assert!(is_junk(junk), "{junk}");
        }
        for data in ["images/SFHQ_pt1_00000001.jpg", "x/images/images/a.JPG"] {
            assert!(!is_junk(data), "{data}");
        }
    }
}
