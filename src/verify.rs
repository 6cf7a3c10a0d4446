//! `verify`: checks an output folder against its manifest, offline, in bounded memory.
//!
//! Every shard: present, the listed size, the listed sha256, and for Parquet the listed
//! row count and first and last keys read from the file itself. Then `SHA256SUMS` against
//! the manifest, and no shard file in the data folders that the manifest does not list (a
//! stray shard would be loaded by every `data/train-*` glob).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::checksum::hash_file;
use crate::format::parquet::{reader::read_key_span, DATA_DIR};
use crate::format::shard::ShardFormat;
use crate::format::webdataset::{index::index_files, reader, WDS_DIR};
use crate::format::ShardRecord;
use crate::manifest::{Manifest, MANIFEST_FILE, SUMS_FILE};
use crate::ui::sanitize;

/// One thing that does not match.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The shard or file concerned, relative to the folder.
    pub path: String,
    pub check: &'static str,
    pub message: String,
}

/// `PATH: CHECK: MESSAGE`, with the names from the folder made safe for a terminal.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            sanitize(&self.path),
            self.check,
            sanitize(&self.message)
        )
    }
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub dir: String,
    pub shards: usize,
    pub rows: u64,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

pub(crate) fn verify(dir: &Path, manifest: &Manifest) -> VerifyReport {
    let mut problems: Vec<Problem> = manifest
        .shards
        .par_iter()
        .flat_map_iter(|shard| check_shard(dir, shard))
        .collect();
    problems.extend(check_totals(manifest));
    problems.extend(check_sums_file(dir, manifest));
    problems.extend(check_unlisted(dir, manifest));
    problems.extend(check_wds_index(dir, manifest));
    VerifyReport {
        dir: dir.display().to_string(),
        shards: manifest.shards.len(),
        rows: manifest.rows,
        bytes: manifest.shards.iter().map(|s| s.bytes).sum(),
        problems,
    }
}

fn problem(path: &str, check: &'static str, message: String) -> Problem {
    Problem {
        path: path.to_string(),
        check,
        message,
    }
}

/// Every check of one shard; an empty list when it matches the manifest.
pub(crate) fn check_shard(dir: &Path, shard: &ShardRecord) -> Vec<Problem> {
    let path = dir.join(&shard.path);
    let listed = &shard.path;
    if !is_inside(&shard.path) {
        return vec![problem(
            listed,
            "path",
            "the manifest names a path outside the folder; refusing to read it".to_string(),
        )];
    }
    let size = match fs::metadata(&path) {
        Ok(meta) => meta.len(),
        Err(e) => {
            return vec![problem(
                listed,
                "exists",
                format!("cannot open: {e}; the shard is missing, download it again"),
            )]
        }
    };
    let mut problems = Vec::new();
    if size != shard.bytes {
        problems.push(problem(
            listed,
            "size",
            format!(
                "{size} bytes, the manifest lists {}: the file is truncated or was replaced",
                shard.bytes
            ),
        ));
    }
    match hash_file(&path) {
        Ok((sha256, _)) if sha256 != shard.sha256 => problems.push(problem(
            listed,
            "sha256",
            format!(
                "sha256 is {sha256}, the manifest lists {}: the file is corrupt, download it again",
                shard.sha256
            ),
        )),
        Ok(_) => {}
        Err(e) => problems.push(problem(listed, "read", format!("cannot read: {e}"))),
    }
    match shard.format {
        ShardFormat::Parquet => problems.extend(check_parquet_rows(&path, shard)),
        ShardFormat::Webdataset => problems.extend(check_tar(&path, shard)),
    }
    problems
}

/// Manifest paths are relative and never climb: a doctored manifest must not make
/// `verify` read arbitrary files.
fn is_inside(rel: &str) -> bool {
    !rel.starts_with('/')
        && !rel.contains('\\')
        && rel.split('/').all(|p| !p.is_empty() && p != "..")
}

fn check_parquet_rows(path: &Path, shard: &ShardRecord) -> Vec<Problem> {
    let listed = &shard.path;
    let read = || -> anyhow::Result<(u64, Option<String>, Option<String>)> {
        let span = read_key_span(File::open(path)?)?;
        Ok((span.rows, span.first, span.last))
    };
    match read() {
        Err(e) => vec![problem(
            listed,
            "parquet",
            format!("not a readable Parquet file: {e:#}"),
        )],
        Ok((rows, first, last)) => {
            let mut problems = Vec::new();
            if rows != shard.rows {
                problems.push(problem(
                    listed,
                    "rows",
                    format!(
                        "the file holds {rows} rows, the manifest lists {}",
                        shard.rows
                    ),
                ));
            }
            if first.as_deref() != Some(shard.first_key.as_str())
                || last.as_deref() != Some(shard.last_key.as_str())
            {
                problems.push(problem(
                    listed,
                    "keys",
                    format!(
                        "keys run from {} to {}, the manifest lists {} to {}",
                        first.unwrap_or_default(),
                        last.unwrap_or_default(),
                        shard.first_key,
                        shard.last_key
                    ),
                ));
            }
            problems
        }
    }
}

/// Reads a tar back the way WebDataset readers group it: members of a sample adjacent,
/// the same member set in every sample, keys without dots (so first-dot and last-dot
/// readers agree), regular files only, and the end-of-archive blocks present.
fn check_tar(path: &Path, shard: &ShardRecord) -> Vec<Problem> {
    let listed = &shard.path;
    let mut problems = Vec::new();
    let read = || -> anyhow::Result<Vec<(String, BTreeSet<String>)>> {
        Ok(reader::member_sets(File::open(path)?)?)
    };
    let samples = match read() {
        Ok(samples) => samples,
        Err(e) => return vec![problem(listed, "tar", format!("{e:#}"))],
    };
    if samples.len() as u64 != shard.rows {
        problems.push(problem(
            listed,
            "rows",
            format!(
                "the file holds {} samples, the manifest lists {}",
                samples.len(),
                shard.rows
            ),
        ));
    }
    // Every sample should carry every member any sample carries.
    let all: BTreeSet<String> = samples
        .iter()
        .flat_map(|(_, m)| m.iter().cloned())
        .collect();
    for (key, members) in &samples {
        let lacking: Vec<&String> = all.difference(members).collect();
        if !lacking.is_empty() {
            problems.push(problem(
                listed,
                "members",
                format!("sample {key} lacks {lacking:?} that other samples have: readers that need one member set refuse the shard"),
            ));
        }
    }
    let keys = (
        samples.first().map(|s| s.0.as_str()),
        samples.last().map(|s| s.0.as_str()),
    );
    if keys
        != (
            Some(shard.first_key.as_str()),
            Some(shard.last_key.as_str()),
        )
    {
        problems.push(problem(
            listed,
            "keys",
            format!(
                "keys run from {:?} to {:?}, the manifest lists {} to {}",
                keys.0, keys.1, shard.first_key, shard.last_key
            ),
        ));
    }
    match reader::end_is_intact(path) {
        Ok(true) => {}
        Ok(false) => problems.push(problem(
            listed,
            "tar",
            "the archive does not end with two zero blocks: it was cut short".to_string(),
        )),
        Err(e) => problems.push(problem(listed, "read", format!("cannot read: {e}"))),
    }
    problems
}

fn check_totals(manifest: &Manifest) -> Vec<Problem> {
    // Each format holds every row once.
    let rows: u64 = manifest
        .shards
        .iter()
        .filter(|s| Some(s.format) == manifest.options.formats.first().copied())
        .map(|s| s.rows)
        .sum();
    let split_rows: u64 = manifest.splits.values().sum();
    let mut problems = Vec::new();
    if rows != manifest.rows || split_rows != manifest.rows {
        problems.push(problem(
            MANIFEST_FILE,
            "rows",
            format!(
                "the manifest says {} rows, its shards add up to {rows} and its splits to {split_rows}",
                manifest.rows
            ),
        ));
    }
    problems
}

fn check_sums_file(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    match fs::read_to_string(dir.join(SUMS_FILE)) {
        Err(e) => vec![problem(SUMS_FILE, "exists", format!("cannot read: {e}"))],
        Ok(text) if text != manifest.sums() => vec![problem(
            SUMS_FILE,
            "content",
            "does not list exactly the manifest's shards and hashes; regenerate the folder or restore the file".to_string(),
        )],
        Ok(_) => Vec::new(),
    }
}

/// The `wids` index files are what `wids` readers trust for sample counts.
fn check_wds_index(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    index_files(&manifest.shards)
        .into_iter()
        .filter_map(|(rel, expected)| match fs::read_to_string(dir.join(&rel)) {
            Err(e) => Some(problem(&rel, "exists", format!("cannot read: {e}"))),
            Ok(text) if text != expected => Some(problem(
                &rel,
                "content",
                "does not list exactly the manifest's tar shards, counts and hashes".to_string(),
            )),
            Ok(_) => None,
        })
        .collect()
}

fn check_unlisted(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    let listed: BTreeSet<&str> = manifest.shards.iter().map(|s| s.path.as_str()).collect();
    let mut names: Vec<String> = Vec::new();
    for (folder, extension) in [(DATA_DIR, ".parquet"), (WDS_DIR, ".tar")] {
        let Ok(entries) = fs::read_dir(dir.join(folder)) else {
            continue;
        };
        names.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(extension) && !n.starts_with('.'))
                .map(|n| format!("{folder}/{n}")),
        );
    }
    names.sort();
    names
        .into_iter()
        .filter(|rel| !listed.contains(rel.as_str()))
        .map(|rel| {
            problem(
                &rel,
                "unlisted",
                "file is not in the manifest; readers globbing the folder would load it. Remove it"
                    .to_string(),
            )
        })
        .collect()
}
