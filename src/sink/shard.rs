//! Shard bookkeeping shared by the sinks: temporary names, hashing writers, the final
//! rename and the record that goes into the manifest.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::checksum::HashingWriter;

/// The shard formats sfhq-pack writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardFormat {
    Parquet,
    Webdataset,
}

/// A finished shard, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Path relative to the output folder, `/`-separated.
    pub path: String,
    pub format: ShardFormat,
    pub split: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub first_key: String,
    pub last_key: String,
}

/// The file a shard is being written to: hidden, so no glob such as `data/train-*` ever
/// picks up a partial shard.
pub type ShardWriter = HashingWriter<BufWriter<File>>;

pub fn temp_path(dir: &Path, split: &str, index: usize, extension: &str) -> PathBuf {
    dir.join(format!(".{split}-{index:05}.{extension}.partial"))
}

pub fn create(path: &Path) -> anyhow::Result<ShardWriter> {
    let file =
        File::create(path).with_context(|| format!("{}: cannot create shard", path.display()))?;
    Ok(HashingWriter::new(BufWriter::with_capacity(1 << 20, file)))
}

/// Flushes and syncs a finished shard's file; returns its sha256 and size.
pub fn seal(writer: ShardWriter, path: &Path) -> anyhow::Result<(String, u64)> {
    let (mut buffered, sha256, bytes) = writer.finish();
    buffered
        .flush()
        .with_context(|| format!("{}: cannot write shard", path.display()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("{}: cannot write shard", path.display()))?;
    file.sync_all()
        .with_context(|| format!("{}: cannot sync shard", path.display()))?;
    Ok((sha256, bytes))
}

/// A sealed shard still under its temporary name.
#[derive(Debug)]
pub struct SealedShard {
    pub temp: PathBuf,
    pub record: ShardRecord,
}

/// Renames sealed shards to `name(index, count)` inside `dir`, now that the count is known.
pub fn rename_all(
    out: &Path,
    dir_rel: &str,
    shards: Vec<SealedShard>,
    name: impl Fn(usize, usize) -> String,
) -> anyhow::Result<Vec<ShardRecord>> {
    let count = shards.len();
    let mut records = Vec::with_capacity(count);
    for (index, shard) in shards.into_iter().enumerate() {
        let rel = format!("{dir_rel}/{}", name(index, count));
        let target = out.join(&rel);
        fs::rename(&shard.temp, &target).with_context(|| {
            format!(
                "{}: cannot rename to {}",
                shard.temp.display(),
                target.display()
            )
        })?;
        records.push(ShardRecord {
            path: rel,
            ..shard.record
        });
    }
    Ok(records)
}

/// Removes temporary and already renamed shard files, ignoring the ones already gone.
pub fn remove_all<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    for path in paths {
        let _ = fs::remove_file(path);
    }
}
