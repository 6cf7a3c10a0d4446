//! Shard bookkeeping shared by the sinks: temporary names, hashing writers, the final
//! rename and the record that goes into the manifest.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::checksum::HashingWriter;

/// The shard formats sfhq-pack writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardFormat {
    Parquet,
    Webdataset,
}

impl ShardFormat {
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            ShardFormat::Parquet => "Parquet",
            ShardFormat::Webdataset => "WebDataset",
        }
    }

    /// The format's value for `--format`.
    pub fn option_value(self) -> &'static str {
        match self {
            ShardFormat::Parquet => "parquet",
            ShardFormat::Webdataset => "webdataset",
        }
    }

    /// The extension of the format's shard files.
    pub fn extension(self) -> &'static str {
        match self {
            ShardFormat::Parquet => "parquet",
            ShardFormat::Webdataset => "tar",
        }
    }
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

/// The one rule that cuts shards, used by both writers and by `plan`: a new shard starts
/// when the next sample (`next` bytes) would push the current one (`rows` samples, `bytes`
/// bytes) past `limit`, counting the `reserve` bytes the format adds when it closes a
/// shard; a shard is never left empty, so one sample larger than the limit gets its own.
pub(crate) fn starts_new_shard(rows: u64, bytes: u64, next: u64, reserve: u64, limit: u64) -> bool {
    rows > 0 && bytes + next + reserve > limit
}

pub fn temp_path(dir: &Path, split: &str, index: usize, extension: &str) -> PathBuf {
    dir.join(format!(".{split}-{index:05}.{extension}.partial"))
}

pub fn create(path: &Path) -> anyhow::Result<ShardWriter> {
    let file =
        File::create(path).with_context(|| format!("{}: cannot create shard", path.display()))?;
    Ok(HashingWriter::new(BufWriter::with_capacity(1 << 20, file)))
}

/// A sealed shard still under its temporary name.
#[derive(Debug)]
pub struct SealedShard {
    pub temp: PathBuf,
    pub record: ShardRecord,
}

/// Seals a shard whose format writer is finished: flushes and syncs its file at `temp`, and
/// records its sha256, size, rows and key range. The record's `path` stays empty until
/// [`rename_all`] gives the shard its final name, once the shard count is known.
pub fn seal(
    writer: ShardWriter,
    temp: PathBuf,
    format: ShardFormat,
    split: &str,
    rows: u64,
    first_key: String,
    last_key: String,
) -> anyhow::Result<SealedShard> {
    let (mut buffered, sha256, bytes) = writer.finish();
    let synced = (|| -> anyhow::Result<()> {
        buffered
            .flush()
            .with_context(|| format!("{}: cannot write shard", temp.display()))?;
        let file = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: cannot write shard", temp.display()))?;
        file.sync_all()
            .with_context(|| format!("{}: cannot sync shard", temp.display()))
    })();
    if let Err(e) = synced {
        // Not sealed, so no longer anyone's to remove: gone now.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    Ok(SealedShard {
        temp,
        record: ShardRecord {
            path: String::new(),
            format,
            split: split.to_string(),
            rows,
            bytes,
            sha256,
            first_key,
            last_key,
        },
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_records_the_bytes_on_disk_and_leaves_the_final_name_to_rename_all() {
        let dir = tempfile::tempdir().unwrap();
        let temp = temp_path(dir.path(), "test", 3, "tar");
        let mut writer = create(&temp).unwrap();
        writer.write_all(b"abc").unwrap();
        let sealed = seal(
            writer,
            temp.clone(),
            ShardFormat::Webdataset,
            "test",
            2,
            "k1".to_string(),
            "k2".to_string(),
        )
        .unwrap();
        assert_eq!(fs::read(&temp).unwrap(), b"abc");
        assert_eq!(sealed.temp, temp);
        assert_eq!(
            sealed.record,
            ShardRecord {
                path: String::new(),
                format: ShardFormat::Webdataset,
                split: "test".to_string(),
                rows: 2,
                bytes: 3,
                // sha256("abc")
                sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                    .to_string(),
                first_key: "k1".to_string(),
                last_key: "k2".to_string(),
            }
        );
        let sealed_record = sealed.record.clone();
        fs::create_dir(dir.path().join("tars")).unwrap();
        let records = rename_all(dir.path(), "tars", vec![sealed], |i, n| {
            format!("{i}-of-{n}")
        })
        .unwrap();
        assert_eq!(
            records,
            [ShardRecord {
                path: "tars/0-of-1".to_string(),
                ..sealed_record
            }]
        );
        assert!(dir.path().join("tars/0-of-1").is_file() && !temp.exists());
    }
}
