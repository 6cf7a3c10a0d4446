//! The Kaggle upload folder, `DIR/kaggle/`, laid out the way the `kaggle` client (2.2.5)
//! uploads: it sends only the top-level files of the folder (sub-folders are skipped, or
//! zipped with `--dir-mode`), so everything sits flat: the shards, a `README.md` written for
//! this flat folder, a `manifest.json` of it (so `sfhq-pack verify` checks a download), a
//! `SHA256SUMS` with the flat names, and `dataset-metadata.json`.
//!
//! Shards are hard links to the converted files: no second copy of hundreds of gigabytes,
//! and the bytes stay identical, so both `SHA256SUMS` files keep holding. Where the file
//! system cannot link, the shard is copied and the copy's sha256 checked.
//!
//! The folder is built under a hidden name beside it and renamed into place, so a failed
//! run never leaves a half-written upload folder; `--overwrite` replaces the whole folder,
//! keeping a `dataset-cover-image.*` the user put there.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use serde_json::{json, Value};

use super::hf_card::{self, Flavor};
use super::limits::KAGGLE_MAX_FILES;
use super::{
    license, Facts, Meta, CARD_FILE, KAGGLE_DIR, KAGGLE_NAME_CHARS, KAGGLE_SUBTITLE_CHARS,
};
use crate::checksum::hash_file;
use crate::format::ShardRecord;
use crate::manifest::{PublishedFile, MANIFEST_FILE, SUMS_FILE};
use crate::output::write_atomic;

pub const METADATA_FILE: &str = "dataset-metadata.json";
/// Files the client treats as the dataset's cover instead of uploading them.
pub const COVER_IMAGES: [&str; 4] = [
    "dataset-cover-image.png",
    "dataset-cover-image.jpg",
    "dataset-cover-image.jpeg",
    "dataset-cover-image.webp",
];
const STAGING: &str = ".kaggle.partial";
const OLD: &str = ".kaggle.old";

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    /// A shard: linked (or copied) from the converted folder; its sha256.
    Shard(PathBuf, String),
    Bytes(Vec<u8>),
}

/// One top-level file of the upload folder (besides `dataset-metadata.json`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub description: String,
    pub content: Content,
}

/// Every file of the upload folder, in a fixed order.
#[derive(Debug, Clone)]
pub struct Layout {
    pub entries: Vec<Entry>,
}

fn flat_name(shard: &ShardRecord) -> &str {
    shard.path.rsplit('/').next().unwrap_or(&shard.path)
}

/// The shards Kaggle gets: the Parquet shards, or the tar shards when there are none.
fn shards<'a>(facts: &'a Facts) -> Vec<&'a ShardRecord> {
    if facts.has_parquet() {
        facts.parquet_shards().collect()
    } else {
        facts.tar_shards().collect()
    }
}

/// Plans the folder; `readme` is its `README.md` (the Kaggle description). Fails (a usage
/// error) when the folder would break Kaggle's file-count limit.
pub fn layout(dir: &Path, facts: &Facts, readme: Vec<u8>) -> Result<Layout, String> {
    let shards = shards(facts);
    let mut entries: Vec<Entry> = Vec::new();
    for shard in &shards {
        let index = facts
            .splits
            .iter()
            .find(|s| s.name == shard.split)
            .map(|s| {
                let list = if facts.has_parquet() {
                    &s.parquet
                } else {
                    &s.tars
                };
                let i = list.iter().position(|x| x.path == shard.path).unwrap_or(0);
                (i + 1, list.len())
            })
            .unwrap_or((1, 1));
        let kind = if facts.has_parquet() {
            "Parquet"
        } else {
            "WebDataset (tar)"
        };
        entries.push(Entry {
            name: flat_name(shard).to_string(),
            description: format!(
                "{kind} shard {} of {} of the {} split: {} rows, keys {} to {}; sha256 {}",
                index.0,
                index.1,
                shard.split,
                shard.rows,
                shard.first_key,
                shard.last_key,
                shard.sha256
            ),
            content: Content::Shard(dir.join(&shard.path), shard.sha256.clone()),
        });
    }
    // The manifest of the flat folder: the same dataset with only these shards, named
    // flat, so that `sfhq-pack verify` checks a Kaggle download as it checks the original.
    let mut flat = facts.manifest.clone();
    flat.shards = shards
        .iter()
        .map(|s| {
            let mut record = (*s).clone();
            record.path = flat_name(s).to_string();
            record
        })
        .collect();
    flat.options.formats = flat
        .shards
        .first()
        .map(|s| vec![s.format])
        .unwrap_or_default();
    flat.published = vec![PublishedFile {
        path: CARD_FILE.to_string(),
        bytes: readme.len() as u64,
        sha256: crate::checksum::sha256_hex(&readme),
    }];
    entries.push(Entry {
        name: CARD_FILE.to_string(),
        description:
            "this dataset's description: files, columns, how to load them, validation summary"
                .to_string(),
        content: Content::Bytes(readme),
    });
    let flat_json = flat.to_json();
    entries.push(Entry {
        name: SUMS_FILE.to_string(),
        description:
            "sha256 of every shard and of manifest.json; check a download with `sha256sum -c SHA256SUMS`"
                .to_string(),
        content: Content::Bytes(flat.sums(flat_json.as_bytes()).into_bytes()),
    });
    entries.push(Entry {
        name: MANIFEST_FILE.to_string(),
        description: "sfhq-pack's manifest: shards with sizes and sha256, excluded samples with reasons, options; check a download with `sfhq-pack verify .`".to_string(),
        content: Content::Bytes(flat_json.into_bytes()),
    });

    let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "two shards would both be named {} in the flat Kaggle folder",
            twice[0]
        ));
    }
    // The same count as `plan`'s (one definition in `limits`).
    let total = super::limits::kaggle_files(shards.len());
    if total >= KAGGLE_MAX_FILES {
        return Err(format!(
            "the Kaggle folder would hold {total} files and Kaggle refuses {KAGGLE_MAX_FILES} or more per dataset version: convert again with a --shard-size at least {}x the {} used",
            total.div_ceil(900),
            crate::ui::format_bytes(facts.manifest.options.shard_size)
        ));
    }
    Ok(Layout { entries })
}

/// `dataset-metadata.json` for the folder.
pub fn metadata(facts: &Facts, meta: &Meta, layout: &Layout) -> Value {
    let id = meta
        .id
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut value = json!({
        "title": meta.title,
        "id": id,
        "licenses": [{"name": meta.license.kaggle}],
        "description": hf_card::body(facts, meta, Flavor::Kaggle),
        "keywords": ["computer vision", "image", "image segmentation"],
        "resources": layout
            .entries
            .iter()
            .map(|e| json!({"path": e.name, "description": e.description}))
            .collect::<Vec<_>>(),
    });
    if let Some(subtitle) = &meta.subtitle {
        value["subtitle"] = json!(subtitle);
    }
    value
}

/// The client's own checks (`dataset_create_new`, `validate_resources`), re-run on the
/// finished metadata: the last line of defence before anything is written.
pub fn check_metadata(metadata: &Value, layout: &Layout) -> Vec<String> {
    let mut problems = Vec::new();
    let text = |key: &str| metadata.get(key).and_then(Value::as_str);
    let chars = |s: &str| s.chars().count();
    match text("id").and_then(|id| id.split_once('/')) {
        Some((owner, slug)) if !owner.is_empty() && !slug.contains('/') => {
            if !KAGGLE_NAME_CHARS.contains(&chars(slug)) {
                problems.push(format!("id: slug {slug:?} must be 6 to 50 characters"));
            }
        }
        _ => problems.push("id: must be owner/slug".to_string()),
    }
    match text("title") {
        Some(title) if KAGGLE_NAME_CHARS.contains(&chars(title)) => {}
        _ => problems.push("title: must be 6 to 50 characters".to_string()),
    }
    match metadata.get("licenses").and_then(Value::as_array) {
        Some(list) if list.len() == 1 => {
            let name = list[0].get("name").and_then(Value::as_str).unwrap_or("");
            if !license::LICENSES.iter().any(|l| l.kaggle == name) {
                problems.push(format!("licenses: {name:?} is not in Kaggle's list"));
            }
        }
        _ => problems.push("licenses: exactly one license is required".to_string()),
    }
    if let Some(subtitle) = metadata.get("subtitle") {
        match subtitle.as_str() {
            Some(s) if KAGGLE_SUBTITLE_CHARS.contains(&chars(s)) => {}
            _ => problems.push("subtitle: must be 20 to 80 characters".to_string()),
        }
    }
    let files: Vec<&str> = layout.entries.iter().map(|e| e.name.as_str()).collect();
    let mut seen = std::collections::BTreeSet::new();
    for resource in metadata
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let path = resource.get("path").and_then(Value::as_str).unwrap_or("");
        if path.contains('/') || !files.contains(&path) {
            problems.push(format!(
                "resources: {path:?} is not a file at the top of the folder"
            ));
        }
        if !seen.insert(path) {
            problems.push(format!("resources: {path:?} is listed twice"));
        }
        if resource
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            problems.push(format!("resources: {path:?} has no description"));
        }
    }
    for file in &files {
        if !seen.contains(file) {
            problems.push(format!("resources: {file} is not described"));
        }
    }
    problems
}

/// The bytes of `dataset-metadata.json`.
fn metadata_text(metadata: &Value) -> String {
    let mut text = serde_json::to_string_pretty(metadata).expect("JSON values serialise");
    text.push('\n');
    text
}

/// Every file the folder gets from sfhq-pack (the user's cover image is not), as the
/// record `package` keeps in the converted folder's manifest.
pub fn published(layout: &Layout, metadata: &Value) -> Vec<PublishedFile> {
    let at = |name: &str| format!("{KAGGLE_DIR}/{name}");
    let mut files: Vec<PublishedFile> = layout
        .entries
        .iter()
        .map(|entry| match &entry.content {
            Content::Bytes(bytes) => PublishedFile {
                path: at(&entry.name),
                bytes: bytes.len() as u64,
                sha256: crate::checksum::sha256_hex(bytes),
            },
            Content::Shard(source, sha256) => PublishedFile {
                path: at(&entry.name),
                bytes: fs::metadata(source).map_or(0, |m| m.len()),
                sha256: sha256.clone(),
            },
        })
        .collect();
    let text = metadata_text(metadata);
    files.push(PublishedFile {
        path: at(METADATA_FILE),
        bytes: text.len() as u64,
        sha256: crate::checksum::sha256_hex(text.as_bytes()),
    });
    files
}

/// How the shards got into the folder.
#[derive(Debug, Default)]
pub struct Placed {
    pub linked: usize,
    pub copied: usize,
    /// Why linking failed, when it did.
    pub link_error: Option<String>,
}

/// A folder built under its hidden name, ready to be renamed into place.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    pub placed: Placed,
    pub files: usize,
}

/// Builds the folder under `DIR/.kaggle.partial`.
/// Stops between files when `interrupted` is set (the caller then abandons the folder).
pub fn stage(
    dir: &Path,
    layout: &Layout,
    metadata: &Value,
    interrupted: &AtomicBool,
) -> anyhow::Result<Staged> {
    let staging = dir.join(STAGING);
    if fs::symlink_metadata(&staging).is_ok() {
        fs::remove_dir_all(&staging).with_context(|| {
            format!(
                "{}: cannot remove an earlier partial folder",
                staging.display()
            )
        })?;
    }
    fs::create_dir(&staging).with_context(|| format!("{}: cannot create", staging.display()))?;
    let built = fill(dir, &staging, layout, metadata, interrupted);
    if built.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    let placed = built?;
    Ok(Staged {
        dir: dir.to_path_buf(),
        placed,
        files: layout.entries.len() + 1,
    })
}

fn fill(
    dir: &Path,
    staging: &Path,
    layout: &Layout,
    metadata: &Value,
    interrupted: &AtomicBool,
) -> anyhow::Result<Placed> {
    let mut placed = Placed::default();
    for entry in &layout.entries {
        if interrupted.load(Ordering::SeqCst) {
            return Ok(placed);
        }
        let target = staging.join(&entry.name);
        match &entry.content {
            Content::Bytes(bytes) => write_atomic(&target, bytes)?,
            Content::Shard(source, sha256) => match fs::hard_link(source, &target) {
                Ok(()) => placed.linked += 1,
                Err(e) => {
                    placed.link_error.get_or_insert_with(|| e.to_string());
                    fs::copy(source, &target).with_context(|| {
                        format!("{}: cannot copy to {}", source.display(), target.display())
                    })?;
                    let (copied, _) = hash_file(&target)
                        .with_context(|| format!("{}: cannot read back", target.display()))?;
                    if &copied != sha256 {
                        anyhow::bail!(
                            "{}: the copy's sha256 is {copied}, the shard's {sha256}: the disk corrupted it",
                            target.display()
                        );
                    }
                    placed.copied += 1;
                }
            },
        }
    }
    write_atomic(
        &staging.join(METADATA_FILE),
        metadata_text(metadata).as_bytes(),
    )?;
    let previous = dir.join(KAGGLE_DIR);
    for cover in COVER_IMAGES {
        let source = previous.join(cover);
        if source.is_file() {
            let target = staging.join(cover);
            if fs::hard_link(&source, &target).is_err() {
                fs::copy(&source, &target).with_context(|| {
                    format!("{}: cannot keep the cover image", source.display())
                })?;
            }
        }
    }
    Ok(placed)
}

impl Staged {
    /// Renames the staged folder to `DIR/kaggle`, replacing an earlier one.
    pub fn finish(self) -> anyhow::Result<Placed> {
        let staging = self.dir.join(STAGING);
        let target = self.dir.join(KAGGLE_DIR);
        let old = self.dir.join(OLD);
        if fs::symlink_metadata(&old).is_ok() {
            fs::remove_dir_all(&old)
                .with_context(|| format!("{}: cannot remove", old.display()))?;
        }
        let replaced = fs::symlink_metadata(&target).is_ok();
        if replaced {
            fs::rename(&target, &old)
                .with_context(|| format!("{}: cannot move aside", target.display()))?;
        }
        fs::rename(&staging, &target).with_context(|| {
            format!(
                "{}: cannot rename to {}",
                staging.display(),
                target.display()
            )
        })?;
        if replaced {
            // A leftover would only cost space; the new folder is complete already.
            let _ = fs::remove_dir_all(&old).or_else(|_| fs::remove_file(&old));
        }
        Ok(self.placed)
    }

    /// Removes the staged folder (a later step failed).
    pub fn abandon(self) {
        let _ = fs::remove_dir_all(self.dir.join(STAGING));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_of(names: &[&str]) -> Layout {
        Layout {
            entries: names
                .iter()
                .map(|n| Entry {
                    name: n.to_string(),
                    description: format!("about {n}"),
                    content: Content::Bytes(Vec::new()),
                })
                .collect(),
        }
    }

    fn valid() -> Value {
        json!({
            "title": "Synthetic Faces High Quality (SFHQ)",
            "id": "jane/sfhq-faces",
            "licenses": [{"name": "CC-BY-4.0"}],
            "subtitle": "Faces with masks, landmarks and CLIP embeddings",
            "resources": [{"path": "a.parquet", "description": "about a.parquet"}],
        })
    }

    #[test]
    fn the_clients_rules_hold() {
        let layout = layout_of(&["a.parquet"]);
        assert!(check_metadata(&valid(), &layout).is_empty());

        let mut short = valid();
        short["title"] = json!("SFHQ");
        assert_eq!(
            check_metadata(&short, &layout),
            ["title: must be 6 to 50 characters"]
        );

        let mut two = valid();
        two["licenses"] = json!([{"name": "CC-BY-4.0"}, {"name": "CC0-1.0"}]);
        assert_eq!(
            check_metadata(&two, &layout),
            ["licenses: exactly one license is required"]
        );

        let mut slug = valid();
        slug["id"] = json!("jane/sfhq");
        assert_eq!(
            check_metadata(&slug, &layout),
            ["id: slug \"sfhq\" must be 6 to 50 characters"]
        );

        let mut subtitle = valid();
        subtitle["subtitle"] = json!("too short");
        assert_eq!(
            check_metadata(&subtitle, &layout),
            ["subtitle: must be 20 to 80 characters"]
        );

        let more = layout_of(&["a.parquet", "b.parquet"]);
        assert_eq!(
            check_metadata(&valid(), &more),
            ["resources: b.parquet is not described"]
        );

        let mut twice = valid();
        twice["resources"] = json!([
            {"path": "a.parquet", "description": "x"},
            {"path": "a.parquet", "description": "x"},
            {"path": "sub/c.parquet", "description": "x"},
        ]);
        let problems = check_metadata(&twice, &layout);
        assert!(
            problems.iter().any(|p| p.contains("listed twice")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("sub/c.parquet")),
            "{problems:?}"
        );
    }
}
