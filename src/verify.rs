//! `verify`: checks an output folder against its manifest, offline, in bounded memory.
//!
//! Every shard: present, the listed size, the listed sha256, and for Parquet the listed
//! row count and first and last keys read from the file itself. Then `SHA256SUMS` and the
//! wids indexes against the manifest, the publishing files `package` recorded (card,
//! `croissant.json`, `kaggle/`) against their checksums, and every other file in the folder
//! reported (a stray shard would be loaded by every `data/train-*` glob, a stale card
//! describes other data). Works on the flat Kaggle folder too: it has its own manifest.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::checksum::hash_file;
use crate::format::parquet::{reader::read_key_span, DATA_DIR};
use crate::format::shard::ShardFormat;
use crate::format::webdataset::{index::index_files, reader, WDS_DIR};
use crate::format::ShardRecord;
use crate::manifest::{is_inside_folder, Manifest, MANIFEST_FILE, SUMS_FILE};
use crate::output::journal::JOURNAL_FILE;
use crate::output::lock::{current_holder, LOCK_FILE};
use crate::pipeline::Progress;
use crate::publish::kaggle::{COVER_IMAGES, METADATA_FILE};
use crate::publish::{CARD_FILE, CROISSANT_FILE, KAGGLE_DIR};
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
    /// What is not there and need not be (the `kaggle/` folder in a Hugging Face copy, the
    /// shards of a format left out with `--format`), said rather than failed.
    pub notes: Vec<String>,
    /// Ctrl-C or SIGTERM stopped it: the report is incomplete and is not printed.
    #[serde(skip)]
    pub interrupted: bool,
}

/// Checks the folder `dir` against `manifest`: every shard (of `only`'s format, when given),
/// the totals, `SHA256SUMS`, the wids indexes, the publishing files `package` recorded, and
/// that every file in the folder is accounted for.
pub(crate) fn verify(
    dir: &Path,
    manifest: &Manifest,
    only: Option<ShardFormat>,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> VerifyReport {
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    let mut checked: Vec<&ShardRecord> = Vec::new();
    let mut wds_index_expected = only.is_none_or(|o| o == ShardFormat::Webdataset);
    for format in &manifest.options.formats {
        let shards: Vec<&ShardRecord> = manifest
            .shards
            .iter()
            .filter(|s| s.format == *format)
            .collect();
        if only.is_some_and(|o| o != *format) {
            notes.push(format!(
                "{} {} shard(s) not checked (--format {})",
                shards.len(),
                format.name(),
                only.map(|o| o.option_value()).unwrap_or_default()
            ));
            continue;
        }
        let absent = !dir.join(folder_of(*format)).exists();
        if absent && !shards.is_empty() && manifest.options.formats.len() > 1 {
            // A copy uploaded or downloaded without one format: one clear problem instead
            // of one "missing" per shard.
            let other = manifest.options.formats.iter().find(|f| *f != format);
            problems.push(problem(
                &format!("{}/", folder_of(*format)),
                "absent",
                format!(
                    "none of the {} {} shards is here: this copy was uploaded or downloaded without them; `sfhq-pack verify --format {}` checks the rest alone",
                    shards.len(),
                    format.name(),
                    other.map(|f| f.option_value()).unwrap_or_default()
                ),
            ));
            wds_index_expected &= *format != ShardFormat::Webdataset;
            continue;
        }
        checked.extend(shards);
    }
    progress.start(checked.iter().map(|s| s.rows).sum());
    problems.extend(
        checked
            .par_iter()
            .flat_map_iter(|shard| {
                if interrupted.load(Ordering::SeqCst) {
                    return Vec::new();
                }
                let found = check_shard(dir, shard);
                progress.advance(shard.rows, shard.bytes);
                found
            })
            .collect::<Vec<_>>(),
    );
    problems.extend(check_totals(manifest));
    let (sums_problems, sums_note) = check_sums_file(dir, manifest);
    problems.extend(sums_problems);
    notes.extend(sums_note);
    if wds_index_expected {
        problems.extend(check_wds_index(dir, manifest));
    }
    let (published, published_notes) = check_published(dir, manifest);
    problems.extend(published);
    notes.extend(published_notes);
    problems.extend(check_accounted(dir, manifest));
    if let Some(holder) = current_holder(dir) {
        problems.push(problem(
            LOCK_FILE,
            "lock",
            format!("the folder is being written by {holder}: verify again when it has ended"),
        ));
    }
    VerifyReport {
        dir: dir.display().to_string(),
        shards: checked.len(),
        rows: manifest.rows,
        bytes: checked.iter().map(|s| s.bytes).sum(),
        problems,
        notes,
        interrupted: interrupted.load(Ordering::SeqCst),
    }
}

fn folder_of(format: ShardFormat) -> &'static str {
    match format {
        ShardFormat::Parquet => DATA_DIR,
        ShardFormat::Webdataset => WDS_DIR,
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
    if !is_inside_folder(&shard.path) {
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

/// `SHA256SUMS` lists exactly the manifest's shards and the hash of `manifest.json` as it
/// is on disk: a changed byte in either file is caught here.
fn check_sums_file(dir: &Path, manifest: &Manifest) -> (Vec<Problem>, Option<String>) {
    let json = match fs::read(dir.join(MANIFEST_FILE)) {
        Ok(bytes) => bytes,
        Err(e) => {
            return (
                vec![problem(MANIFEST_FILE, "read", format!("cannot read: {e}"))],
                None,
            )
        }
    };
    let text = match fs::read(dir.join(SUMS_FILE)) {
        Ok(bytes) => bytes,
        Err(e) => {
            return (
                vec![problem(SUMS_FILE, "exists", format!("cannot read: {e}"))],
                None,
            )
        }
    };
    let expected = manifest.sums(&json);
    if text == expected.as_bytes() {
        return (Vec::new(), None);
    }
    // Written before SHA256SUMS held the manifest's hash: the shard lines alone.
    let manifest_line = expected.lines().last().unwrap_or_default();
    let shards_only = expected
        .strip_suffix(&format!("{manifest_line}\n"))
        .unwrap_or_default();
    if text == shards_only.as_bytes() {
        return (
            Vec::new(),
            Some("SHA256SUMS (written by an earlier sfhq-pack) lists the shards but not manifest.json, so a change to the manifest cannot be detected; convert again to get it".to_string()),
        );
    }
    let actual = crate::checksum::sha256_hex(&json);
    let listed = String::from_utf8_lossy(&text).lines().find_map(|l| {
        l.strip_suffix(&format!("  {MANIFEST_FILE}"))
            .map(str::to_string)
    });
    let problems = match listed {
        // Either file may be the one that changed: both are named.
        Some(listed) if listed != actual => vec![
            problem(
                MANIFEST_FILE,
                "sha256",
                format!("sha256 is {actual}, SHA256SUMS lists {listed}: the manifest (or SHA256SUMS) was changed after they were written; download both again or convert again"),
            ),
            problem(
                SUMS_FILE,
                "content",
                format!("lists {listed} for manifest.json, which hashes to {actual}"),
            ),
        ],
        _ => vec![problem(
            SUMS_FILE,
            "content",
            "does not list exactly the manifest's shards and hashes and the hash of manifest.json; download it again or convert again".to_string(),
        )],
    };
    (problems, None)
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

/// Files a download from a platform carries besides the dataset: never problems.
fn is_platform_file(rel: &str) -> bool {
    rel == ".gitattributes"
        || rel == METADATA_FILE
        || rel.starts_with(".git/")
        || rel.starts_with(".cache/huggingface/")
        || COVER_IMAGES
            .iter()
            .any(|c| rel == *c || rel == format!("{KAGGLE_DIR}/{c}"))
}

/// Every file below the folder that the manifest does not account for: a stray shard is
/// loaded by every `data/train-*` glob, a stale card or index describes other data.
fn check_accounted(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    let mut known: BTreeSet<String> = [MANIFEST_FILE, SUMS_FILE, LOCK_FILE]
        .iter()
        .map(|s| s.to_string())
        .collect();
    known.extend(manifest.shards.iter().map(|s| s.path.clone()));
    known.extend(index_files(&manifest.shards).into_iter().map(|(p, _)| p));
    known.extend(manifest.published.iter().map(|p| p.path.clone()));
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
    {
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if known.contains(&rel) || is_platform_file(&rel) {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let message = if rel == JOURNAL_FILE {
            "the journal of a convert that was interrupted: run the same convert with --resume to finish it (or --overwrite to start again)"
        } else if name.starts_with('.') && name.ends_with(".partial") || rel.starts_with(".kaggle.")
        {
            "a temporary file of an interrupted sfhq-pack run: remove it (convert --overwrite does)"
        } else if rel.starts_with(&format!("{DATA_DIR}/")) && name.ends_with(".parquet")
            || rel.starts_with(&format!("{WDS_DIR}/")) && name.ends_with(".tar")
        {
            "file is not in the manifest; readers globbing the folder would load it. Remove it"
        } else if rel.starts_with(&format!("{WDS_DIR}/index")) {
            "a wids index this manifest does not list (stale from an earlier output?): readers would trust it; remove it"
        } else if rel == CARD_FILE
            || rel == CROISSANT_FILE
            || rel.starts_with(&format!("{KAGGLE_DIR}/"))
        {
            "a publishing file `package` did not write for this output (stale from an earlier conversion?): run `sfhq-pack package --overwrite` again, or remove it"
        } else {
            "not part of this output: uploads and readers globbing the folder would take it; remove it or move it elsewhere"
        };
        problems.push(problem(&rel, "unlisted", message.to_string()));
    }
    problems
}

/// The files `package` recorded: present with their size and sha256. A whole `kaggle/`
/// folder absent is a note (a Hugging Face copy does not carry it), not a problem.
fn check_published(dir: &Path, manifest: &Manifest) -> (Vec<Problem>, Vec<String>) {
    let kaggle_prefix = format!("{KAGGLE_DIR}/");
    let kaggle_absent = !dir.join(KAGGLE_DIR).exists();
    let mut notes = Vec::new();
    if kaggle_absent
        && manifest
            .published
            .iter()
            .any(|p| p.path.starts_with(&kaggle_prefix))
    {
        notes.push(format!(
            "{KAGGLE_DIR}/ (the Kaggle upload folder `package --kaggle` wrote) is not here: expected in a copy from the Hugging Face Hub"
        ));
    }
    let shard_files: Vec<(String, u64)> = manifest
        .shards
        .iter()
        .map(|s| (s.sha256.clone(), s.bytes))
        .collect();
    let problems = manifest
        .published
        .par_iter()
        .filter(|p| !(kaggle_absent && p.path.starts_with(&kaggle_prefix)))
        .filter_map(|p| {
            if !is_inside_folder(&p.path) {
                return Some(problem(&p.path, "path", "the manifest names a path outside the folder; refusing to read it".to_string()));
            }
            let path = dir.join(&p.path);
            let size = match fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) => {
                    return Some(problem(
                        &p.path,
                        "exists",
                        format!("cannot open: {e}; `sfhq-pack package` wrote it: run package again, or download it again"),
                    ))
                }
            };
            if size != p.bytes {
                return Some(problem(
                    &p.path,
                    "size",
                    format!("{size} bytes, `package` wrote {}: the file was changed or cut short; run package --overwrite again", p.bytes),
                ));
            }
            // A Kaggle shard linked to a shard checked above is the same file: not hashed twice.
            if shard_files.contains(&(p.sha256.clone(), p.bytes)) && same_file_as_listed(dir, manifest, &path, &p.sha256) {
                return None;
            }
            match hash_file(&path) {
                Ok((sha256, _)) if sha256 != p.sha256 => Some(problem(
                    &p.path,
                    "sha256",
                    format!("sha256 is {sha256}, `package` wrote {}: the file was changed; run package --overwrite again, or download it again", p.sha256),
                )),
                Ok(_) => None,
                Err(e) => Some(problem(&p.path, "read", format!("cannot read: {e}"))),
            }
        })
        .collect();
    (problems, notes)
}

/// Whether `path` is a hard link to the listed shard with this sha256.
fn same_file_as_listed(dir: &Path, manifest: &Manifest, path: &Path, sha256: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    manifest
        .shards
        .iter()
        .filter(|s| s.sha256 == sha256)
        .filter_map(|s| fs::metadata(dir.join(&s.path)).ok())
        .any(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
}
