//! Reading the vectors and image hashes, and nothing else.
//!
//! - Raw parts (folders or zips): the feature pickle of each sample, decoded by the
//!   allow-list reader (never executed), and the image bytes, hashed. Landmarks and
//!   segmentation maps are not opened.
//! - Folders written by `convert`: from every Parquet shard the manifest lists, only the
//!   `key`, `image_sha256` and `pretrained_features.<model>` columns, through a projection
//!   mask, so the pictures are never read. The bytes read are counted at the file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{Array as _, AsArray};
use arrow::datatypes::{DataType, Float16Type, Float32Type, Float64Type};
use half::f16;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::{ChunkReader, Length};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::kernel::{RawVector, Vectors};
use crate::decode::array::{Array, DType};
use crate::decode::pickle::{self, PickleLimits};
use crate::format::parquet::reader::catch_reader_panics;
use crate::format::shard::ShardFormat;
use crate::manifest::Manifest;
use crate::pipeline::Progress;
use crate::sample::Modality;
use crate::schema::KNOWN_DIMS;
use crate::source::inventory::{Inventory, SampleFiles};

/// A sample as read: its key, image hash and vector (or why it has none).
pub(super) struct Read1 {
    pub key: Box<str>,
    pub image_sha256: Option<[u8; 32]>,
    pub vector: Result<RawVector, String>,
}

/// Everything the search needs, samples sorted by key.
pub struct Loaded {
    pub keys: Vec<Box<str>>,
    pub image_sha256: Vec<Option<[u8; 32]>>,
    /// The comparable vectors, in reading order.
    pub vectors: Vectors,
    /// The sample (index into `keys`) of each row of `vectors`.
    pub row_sample: Vec<u32>,
    /// Samples without a comparable vector, with the reason, by sample index.
    pub unchecked: Vec<(u32, String)>,
    /// Bytes read from the sources.
    pub bytes_read: u64,
    /// Bytes of the Parquet shards opened (to compare with `bytes_read`).
    pub shard_bytes: u64,
}

/// Collects samples as they are read, then sorts them.
pub(super) struct Collector {
    dim: usize,
    keys: Vec<Box<str>>,
    hashes: Vec<Option<[u8; 32]>>,
    vectors: Vectors,
    row_sample: Vec<u32>,
    unchecked: Vec<(u32, String)>,
    pub bytes_read: u64,
    pub shard_bytes: u64,
}

impl Collector {
    pub(super) fn new(model: &str) -> Collector {
        let dim = KNOWN_DIMS
            .iter()
            .find(|(m, _)| *m == model)
            .map_or(0, |(_, d)| *d);
        Collector {
            dim,
            keys: Vec::new(),
            hashes: Vec::new(),
            vectors: Vectors::new(dim),
            row_sample: Vec::new(),
            unchecked: Vec::new(),
            bytes_read: 0,
            shard_bytes: 0,
        }
    }

    pub(super) fn add(&mut self, read: Read1) {
        let index = self.keys.len() as u32;
        self.keys.push(read.key);
        self.hashes.push(read.image_sha256);
        let vector = match read.vector {
            Ok(v) => v,
            Err(reason) => {
                self.unchecked.push((index, reason));
                return;
            }
        };
        if self.dim == 0 {
            // A model of unknown length: the first vector decides.
            self.dim = vector.len();
            self.vectors = Vectors::new(self.dim);
        }
        match vector.prepare(self.dim) {
            Ok((vector, inv_norm)) => {
                self.vectors.push(vector, inv_norm);
                self.row_sample.push(index);
            }
            Err(why) => self.unchecked.push((index, why.to_string())),
        }
    }

    /// Sorts the samples by key (the vectors stay where they are) and refuses a key seen twice.
    pub(super) fn finish(self) -> anyhow::Result<Loaded> {
        let mut order: Vec<u32> = (0..self.keys.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.keys[a as usize].cmp(&self.keys[b as usize]));
        if let Some(w) = order
            .windows(2)
            .find(|w| self.keys[w[0] as usize] == self.keys[w[1] as usize])
        {
            anyhow::bail!(
                "source.duplicate: key {} found in two sources; pass each part once",
                self.keys[w[0] as usize]
            );
        }
        let mut new_index = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old as usize] = new as u32;
        }
        let mut keys: Vec<Option<Box<str>>> = self.keys.into_iter().map(Some).collect();
        let sorted_keys = order
            .iter()
            .map(|&old| keys[old as usize].take().expect("each index once"))
            .collect();
        let image_sha256 = order.iter().map(|&old| self.hashes[old as usize]).collect();
        let mut unchecked: Vec<(u32, String)> = self
            .unchecked
            .into_iter()
            .map(|(i, why)| (new_index[i as usize], why))
            .collect();
        unchecked.sort_unstable_by_key(|(i, _)| *i);
        Ok(Loaded {
            keys: sorted_keys,
            image_sha256,
            vectors: self.vectors,
            row_sample: self
                .row_sample
                .iter()
                .map(|&i| new_index[i as usize])
                .collect(),
            unchecked,
            bytes_read: self.bytes_read,
            shard_bytes: self.shard_bytes,
        })
    }
}

/// Samples per parallel batch of raw reads.
const RAW_BATCH: usize = 256;

/// Reads every sample of the raw parts in an inventory, or stops between batches once
/// `stop` is set (Ctrl-C, SIGTERM), leaving the collection incomplete.
pub(super) fn read_raw(
    inventory: &Inventory,
    model: &str,
    max_file_bytes: u64,
    collector: &mut Collector,
    stop: &AtomicBool,
    progress: &dyn Progress,
) {
    let limits = PickleLimits {
        max_input_bytes: usize::try_from(max_file_bytes).unwrap_or(usize::MAX),
        ..PickleLimits::default()
    };
    for chunk in inventory.samples.chunks(RAW_BATCH) {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let batch: Vec<(Read1, u64)> = chunk
            .par_iter()
            .map(|s| read_raw_sample(inventory, s, model, max_file_bytes, &limits))
            .collect();
        let bytes: u64 = batch.iter().map(|(_, b)| b).sum();
        collector.bytes_read += bytes;
        for (read, _) in batch {
            collector.add(read);
        }
        progress.advance(chunk.len() as u64, bytes);
    }
}

fn read_raw_sample(
    inventory: &Inventory,
    sample: &SampleFiles,
    model: &str,
    max_file_bytes: u64,
    limits: &PickleLimits,
) -> (Read1, u64) {
    let mut bytes = 0;
    let image_sha256 = match inventory.read(sample, Modality::Image, max_file_bytes) {
        Some(Ok(data)) => {
            bytes += data.len() as u64;
            Some(Sha256::digest(&data).into())
        }
        _ => None,
    };
    let vector = match inventory.read(sample, Modality::Features, max_file_bytes) {
        None if inventory.source_has(sample, Modality::Features) => {
            Err("no pretrained_features file for this sample".to_string())
        }
        None => Err("its part has no pretrained_features folder".to_string()),
        Some(Err(e)) => Err(format!("feature file cannot be read: {e}")),
        Some(Ok(data)) => {
            bytes += data.len() as u64;
            match pickle::read_feature_dict(&data, limits) {
                Err(e) => Err(format!("feature file refused: {e}")),
                Ok(models) => match models.into_iter().find(|(m, _)| m == model) {
                    None => Err(format!("no '{model}' vector in the feature file")),
                    Some((_, array)) => raw_vector(&array),
                },
            }
        }
    };
    (
        Read1 {
            key: sample.key.clone(),
            image_sha256,
            vector,
        },
        bytes,
    )
}

/// A decoded (1, D) or (D,) float array as a vector.
fn raw_vector(array: &Array) -> Result<RawVector, String> {
    if !matches!(array.shape.as_slice(), [_] | [1, _]) {
        return Err(format!("array of shape {:?}, expected (1, D)", array.shape));
    }
    let data = &array.data;
    Ok(match array.dtype {
        DType::F16 => RawVector::F16(
            data.chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]))
                .collect(),
        ),
        DType::F32 => RawVector::F32(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect(),
        ),
        DType::F64 => RawVector::F64(
            data.chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
        ),
        other => return Err(format!("array of dtype {other}, expected a float type")),
    })
}

/// Whether a path is a folder written by `convert` (it holds a manifest).
pub fn is_converted(path: &Path) -> bool {
    path.is_dir() && path.join(crate::manifest::MANIFEST_FILE).is_file()
}

/// A converted folder and its manifest.
pub struct Converted {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Converted {
    pub fn open(dir: &Path) -> anyhow::Result<Converted> {
        let manifest = Manifest::read(dir)?;
        if !manifest
            .shards
            .iter()
            .any(|s| s.format == ShardFormat::Parquet)
        {
            anyhow::bail!(
                "{}: no Parquet shards (converted with --format webdataset only); dedup reads the feature column of Parquet shards",
                dir.display()
            );
        }
        Ok(Converted {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    pub fn rows(&self) -> u64 {
        self.manifest.rows
    }
}

/// A shard file that counts the bytes read from it.
struct Counted {
    file: File,
    read: Arc<AtomicU64>,
}

struct CountedRead<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Length for Counted {
    fn len(&self) -> u64 {
        self.file.len()
    }
}

impl ChunkReader for Counted {
    type T = CountedRead<<File as ChunkReader>::T>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(CountedRead {
            inner: self.file.get_read(start)?,
            read: self.read.clone(),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.read.fetch_add(length as u64, Ordering::Relaxed);
        self.file.get_bytes(start, length)
    }
}

/// Reads the key, image hash and model vector of every row of a converted folder's
/// Parquet shards, or stops between batches once `stop` is set, leaving the collection
/// incomplete.
pub(super) fn read_converted(
    converted: &Converted,
    model: &str,
    collector: &mut Collector,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> anyhow::Result<()> {
    let mut shards: Vec<PathBuf> = Vec::new();
    for shard in &converted.manifest.shards {
        if shard.format != ShardFormat::Parquet {
            continue;
        }
        if !crate::manifest::is_inside_folder(&shard.path) {
            anyhow::bail!(
                "{}: manifest.json names the shard {:?} outside the folder; refusing to read it",
                converted.dir.display(),
                crate::ui::sanitize(&shard.path)
            );
        }
        shards.push(converted.dir.join(&shard.path));
    }
    for path in shards {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let read = Arc::new(AtomicU64::new(0));
        let file = File::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
        collector.shard_bytes += file.len();
        let counted = Counted {
            file,
            read: read.clone(),
        };
        let before = read.load(Ordering::Relaxed);
        read_shard(counted, &read, model, collector, stop, progress)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        collector.bytes_read += read.load(Ordering::Relaxed) - before;
    }
    Ok(())
}

fn read_shard(
    file: Counted,
    read: &AtomicU64,
    model: &str,
    collector: &mut Collector,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> anyhow::Result<()> {
    // A shard may have been edited since `convert` wrote it: the parquet crate's panics on
    // malformed files are caught, and every column is type-checked before use (as in
    // `format::parquet::reader`), so a doctored shard is an error naming it.
    let mut reader = catch_reader_panics(|| {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let leaves: Vec<usize> = builder
            .parquet_schema()
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let parts = c.path().parts();
                matches!(
                    parts.first().map(String::as_str),
                    Some("key" | "image_sha256")
                ) || (parts.first().map(String::as_str) == Some("pretrained_features")
                    && parts.get(1).map(String::as_str) == Some(model))
            })
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
        Ok(builder
            .with_projection(mask)
            .with_batch_size(4096)
            .build()?)
    })?;
    let mut reported = read.load(Ordering::Relaxed);
    while let Some(batch) = catch_reader_panics(|| Ok(reader.next()))? {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let batch = batch?;
        let wrong = |column: &str, found: &DataType| {
            anyhow::anyhow!("column '{column}' is {found}, not the type convert writes")
        };
        let keys = batch.column_by_name("key").context("no key column")?;
        let keys = keys
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong("key", keys.data_type()))?;
        let hashes = match batch.column_by_name("image_sha256") {
            None => None,
            Some(c) => Some(
                c.as_string_opt::<i32>()
                    .ok_or_else(|| wrong("image_sha256", c.data_type()))?,
            ),
        };
        let vectors = match batch.column_by_name("pretrained_features") {
            None => None,
            Some(c) => {
                let s = c
                    .as_struct_opt()
                    .ok_or_else(|| wrong("pretrained_features", c.data_type()))?;
                match s.column_by_name(model) {
                    None => None,
                    Some(m) => Some((
                        s.clone(),
                        m.as_fixed_size_list_opt()
                            .ok_or_else(|| {
                                wrong(&format!("pretrained_features.{model}"), m.data_type())
                            })?
                            .clone(),
                    )),
                }
            }
        };
        for row in 0..batch.num_rows() {
            let vector = match &vectors {
                None => Err(format!("no '{model}' column in the shards")),
                Some((parent, list)) if parent.is_null(row) || list.is_null(row) => {
                    Err(format!("no '{model}' vector (null in the shard)"))
                }
                Some((_, list)) => list_vector(list.value(row).as_ref()),
            };
            collector.add(Read1 {
                key: keys.value(row).into(),
                image_sha256: hashes
                    .filter(|h| !h.is_null(row))
                    .and_then(|h| parse_hex(h.value(row))),
                vector,
            });
        }
        let now = read.load(Ordering::Relaxed);
        progress.advance(batch.num_rows() as u64, now - reported);
        reported = now;
    }
    Ok(())
}

fn list_vector(values: &dyn arrow::array::Array) -> Result<RawVector, String> {
    if values.null_count() > 0 {
        return Err("vector has null elements".to_string());
    }
    Ok(match values.data_type() {
        DataType::Float16 => RawVector::F16(values.as_primitive::<Float16Type>().values().to_vec()),
        DataType::Float32 => RawVector::F32(values.as_primitive::<Float32Type>().values().to_vec()),
        DataType::Float64 => RawVector::F64(values.as_primitive::<Float64Type>().values().to_vec()),
        other => return Err(format!("feature column of type {other}, expected floats")),
    })
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_hashes_parse_and_bad_ones_do_not() {
        let text = "00ff".repeat(16);
        let parsed = parse_hex(&text).unwrap();
        assert_eq!(parsed[0], 0);
        assert_eq!(parsed[1], 255);
        assert!(parse_hex("abc").is_none());
        assert!(parse_hex(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn keys_are_sorted_and_duplicates_refused() {
        let mut c = Collector::new("m");
        for key in ["b", "a", "c"] {
            c.add(Read1 {
                key: key.into(),
                image_sha256: None,
                vector: if key == "a" {
                    Err("none".into())
                } else {
                    Ok(RawVector::F32(vec![1.0, 0.0]))
                },
            });
        }
        let loaded = c.finish().unwrap();
        assert_eq!(
            loaded.keys.iter().map(|k| &**k).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(loaded.row_sample, [1, 2]);
        assert_eq!(loaded.unchecked, [(0, "none".to_string())]);
        let mut c = Collector::new("m");
        for _ in 0..2 {
            c.add(Read1 {
                key: "x".into(),
                image_sha256: None,
                vector: Err("none".into()),
            });
        }
        assert!(c.finish().is_err());
    }
}
