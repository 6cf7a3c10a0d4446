//! What in an output folder sfhq-pack can prove it wrote: the files the folder's own
//! `manifest.json` lists (itself, `SHA256SUMS`, the shards, the wids indexes, and the
//! publishing files `package` recorded with their checksums), and its hidden temporaries.
//! Everything else belongs to someone else and is never removed or replaced.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::checksum::hash_file;
use crate::format::parquet::DATA_DIR;
use crate::format::webdataset::index::index_files;
use crate::format::webdataset::WDS_DIR;
use crate::manifest::{Manifest, ManifestError, PublishedFile, MANIFEST_FILE, SUMS_FILE};
use crate::publish::kaggle::COVER_IMAGES;
use crate::ui::sanitize;

use super::journal::{Journal, JOURNAL_FILE};
use super::lock::LOCK_FILE;

/// Folders sfhq-pack creates; removed when a run leaves them empty.
pub(crate) const OUR_FOLDERS: [&str; 5] = [
    DATA_DIR,
    WDS_DIR,
    crate::publish::KAGGLE_DIR,
    ".kaggle.partial",
    ".kaggle.old",
];

/// Files larger than this that `package` recorded are recognised by their size alone
/// (hashing a copy of every shard again would take as long as writing it).
const HASHED_UP_TO: u64 = 64 << 20;

/// An output folder sorted into what is ours and what is not.
#[derive(Debug, Default)]
pub(crate) struct Survey {
    /// Files sfhq-pack wrote (relative paths), removable by `--overwrite`.
    pub ours: Vec<PathBuf>,
    /// Its hidden temporaries: removable at any time by the lock holder.
    pub temporaries: Vec<PathBuf>,
    /// Everything else (relative paths as text), each with why it is not ours.
    pub foreign: Vec<(String, &'static str)>,
    /// The earlier output's manifest, when it could be read.
    pub previous: Option<Manifest>,
    /// Why the manifest there could not be read, when one is there.
    pub manifest_problem: Option<String>,
    /// The journal of an interrupted `convert`, when there is one.
    pub journal: Option<Journal>,
}

impl Survey {
    pub(crate) fn is_empty(&self) -> bool {
        self.ours.is_empty() && self.temporaries.is_empty() && self.foreign.is_empty()
    }

    /// The foreign files, a few named, for a message.
    pub(crate) fn foreign_list(&self) -> String {
        let mut lines: Vec<String> = self
            .foreign
            .iter()
            .take(10)
            .map(|(path, why)| format!("  {} ({why})", sanitize(path)))
            .collect();
        if self.foreign.len() > 10 {
            lines.push(format!("  ... and {} more", self.foreign.len() - 10));
        }
        lines.join("\n")
    }
}

/// Whether `name` is one of sfhq-pack's hidden temporaries (`.NAME.partial`).
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".partial")
}

/// Sorts every file below `out` (an existing folder). Reads, never changes anything.
pub(crate) fn survey(out: &Path) -> anyhow::Result<Survey> {
    let mut survey = Survey::default();
    let mut listed: BTreeSet<String> = BTreeSet::new();
    let mut published: Vec<&PublishedFile> = Vec::new();
    let previous = match Manifest::read(out) {
        Ok(m) => Some(m),
        Err(ManifestError::Missing(_)) => None,
        Err(e) => {
            survey.manifest_problem = Some(e.to_string());
            None
        }
    };
    let journal = Journal::read(out).ok().flatten();
    // A run that was killed may have written, besides its hidden temporaries, shards under
    // their final names (while finishing), wids indexes, SHA256SUMS and the manifest: its
    // journal proves them ours (a shard by its size, checked again by sha256 on resume).
    let journal_sizes: BTreeSet<(String, u64)> = journal
        .iter()
        .flat_map(|j| j.sealed.iter())
        .map(|s| (s.record.split.clone(), s.record.bytes))
        .collect();
    if let Some(manifest) = &previous {
        listed.insert(MANIFEST_FILE.to_string());
        listed.insert(SUMS_FILE.to_string());
        listed.extend(manifest.shards.iter().map(|s| s.path.clone()));
        listed.extend(index_files(&manifest.shards).into_iter().map(|(p, _)| p));
        published.extend(manifest.published.iter());
    }
    for entry in walkdir::WalkDir::new(out).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", out.display()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(out)
            .expect("walkdir stays below its root")
            .to_path_buf();
        let Some(text) = rel.to_str().map(str::to_string) else {
            survey.foreign.push((
                rel.to_string_lossy().into_owned(),
                "a name sfhq-pack never writes",
            ));
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        let in_staging = text.starts_with(".kaggle.partial/") || text.starts_with(".kaggle.old/");
        // The lock is the lock holder's; a Kaggle cover image is the user's, kept in
        // `kaggle/` by `package` and never touched.
        let is_cover = COVER_IMAGES
            .iter()
            .any(|c| text == format!("{}/{c}", crate::publish::KAGGLE_DIR));
        if text == LOCK_FILE || is_cover {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let journal_made = journal.is_some()
            && (text == MANIFEST_FILE
                || text == SUMS_FILE
                || text.starts_with(&format!("{WDS_DIR}/index"))
                || ((text.starts_with(&format!("{DATA_DIR}/"))
                    || text.starts_with(&format!("{WDS_DIR}/")))
                    && journal_sizes.iter().any(|(split, bytes)| {
                        *bytes == size && name.starts_with(&format!("{split}-"))
                    })));
        if !entry.file_type().is_file() {
            survey.foreign.push((text, "not a regular file"));
        } else if is_temporary(&name) || in_staging || text == JOURNAL_FILE {
            survey.temporaries.push(rel);
        } else if journal_made || listed.contains(&text) {
            survey.ours.push(rel);
        } else if let Some(record) = published.iter().find(|p| p.path == text) {
            if is_unchanged(&entry.path().to_path_buf(), record) {
                survey.ours.push(rel);
            } else {
                survey
                    .foreign
                    .push((text, "changed since `sfhq-pack package` wrote it"));
            }
        } else {
            survey.foreign.push((
                text,
                if previous.is_some() {
                    "not listed in manifest.json"
                } else {
                    "no manifest.json here lists it"
                },
            ));
        }
    }
    survey.previous = previous;
    survey.journal = journal;
    Ok(survey)
}

fn is_unchanged(path: &PathBuf, record: &PublishedFile) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    if meta.len() != record.bytes {
        return false;
    }
    meta.len() > HASHED_UP_TO || hash_file(path).is_ok_and(|(hex, _)| hex == record.sha256)
}

/// Removes the given files (relative to `out`), then every one of our folders left empty.
pub(crate) fn remove_files(out: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    for rel in files {
        let path = out.join(rel);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::anyhow!(
                    "{}: cannot remove earlier output: {e}",
                    path.display()
                ))
            }
            _ => {}
        }
    }
    remove_empty_folders(out);
    Ok(())
}

/// Removes sfhq-pack's folders below `out` that are empty (deepest first); a folder that
/// holds anything stays.
pub(crate) fn remove_empty_folders(out: &Path) {
    for folder in OUR_FOLDERS {
        let dir = out.join(folder);
        if !dir.is_dir() {
            continue;
        }
        let mut inner: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
            .min_depth(1)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.into_path())
            .collect();
        inner.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for d in inner {
            let _ = fs::remove_dir(d);
        }
        let _ = fs::remove_dir(&dir);
    }
}
