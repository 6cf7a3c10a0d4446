//! What the page shows, gathered from either kind of input without decoding every image:
//! raw sources go through the validation pipeline once (headers, maps and arrays are
//! checked as `validate` checks them, and the report carries the class pixels and landmark
//! bins of every valid sample; only block purity per map is kept besides it), a converted
//! folder is read from its manifest (which records the same statistics) and the key column
//! of its Parquet shards. Then only the chosen samples (the cards, the gallery, the
//! near-duplicates shown and, converted, the statistics sample) have their files read again
//! and decoded for drawing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use arrow::array::{Array as _, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::PageIndexPolicy;
use sha2::{Digest, Sha256};

use crate::config::CheckConfig;
use crate::dedup::{DedupConfig, DedupReport};
use crate::format::shard::ShardFormat;
use crate::manifest::Manifest;
use crate::pipeline::{self, Progress, Validated};
use crate::sample::{parse_part, Modality};
use crate::source::inventory::Inventory;
use crate::validate::report::SampleIssues;
use crate::validate::statistics::{PurityCounts, SizeCounts, Statistics};
use crate::validate::Code;

/// The overview numbers, from either kind of input.
#[derive(Debug, Default)]
pub(crate) struct Overview {
    pub samples: u64,
    pub valid: u64,
    pub excluded: Vec<SampleIssues>,
    pub warned: Vec<SampleIssues>,
    pub errors: BTreeMap<Code, u64>,
    pub warnings: BTreeMap<Code, u64>,
    /// Samples per SFHQ part (`pt1`, ..., `none`).
    pub parts: BTreeMap<String, u64>,
    /// Rows per split (converted folders only).
    pub splits: BTreeMap<String, u64>,
    /// Source bytes read (sources) or shard bytes (converted).
    pub bytes: u64,
    /// Shards per format: (count, bytes).
    pub shards: BTreeMap<String, (u64, u64)>,
    /// 4x4 block purity of every map validated (sources), of every row (recorded by
    /// convert), or of the statistics sample (a manifest of an older version).
    pub purity: PurityCounts,
    pub purity_of_every_map: bool,
    /// Image file sizes, likewise.
    pub image_sizes: SizeCounts,
    pub sizes_of_every_image: bool,
    /// Class pixels and landmark density of every valid sample: from the validation pass,
    /// or recorded in the manifest (`None` for a manifest of an older version).
    pub statistics: Option<Statistics>,
}

/// One sample whose files are read for drawing.
pub(crate) struct Files {
    pub image: Option<Result<Vec<u8>, String>>,
    pub segmentation: Option<Result<Vec<u8>, String>>,
    pub landmarks: Option<Result<Vec<[f64; 2]>, String>>,
    /// The files' names as the user knows them.
    pub names: Vec<String>,
}

/// Where the pixels of chosen samples come from.
pub(crate) enum Input {
    Sources {
        inventory: Box<Inventory>,
        max_file_bytes: u64,
    },
    Converted {
        dir: std::path::PathBuf,
        /// Rows read from the shards for the statistics sample, by key.
        rows: BTreeMap<String, Files>,
    },
}

impl Input {
    /// The files of `key` for drawing; `None` when the input does not hold them (an
    /// excluded sample of a converted folder: excluded samples are never written).
    pub fn files(&self, key: &str) -> Option<Files> {
        match self {
            Input::Sources {
                inventory,
                max_file_bytes,
            } => {
                let index = inventory
                    .samples
                    .binary_search_by(|s| (*s.key).cmp(key))
                    .ok()?;
                let sample = &inventory.samples[index];
                let read = |m: Modality| {
                    inventory.read(sample, m, *max_file_bytes).map(|r| {
                        r.map_err(|e| {
                            let path = inventory.display_path(sample, m).unwrap_or_default();
                            format!("{path}: cannot read: {e}")
                        })
                    })
                };
                let names = [
                    Modality::Image,
                    Modality::Segmentation,
                    Modality::Landmarks,
                    Modality::Features,
                ]
                .into_iter()
                .filter_map(|m| inventory.display_path(sample, m))
                .collect();
                let landmarks = read(Modality::Landmarks).map(|r| r.and_then(|b| landmarks(&b)));
                Some(Files {
                    image: read(Modality::Image),
                    segmentation: read(Modality::Segmentation),
                    landmarks,
                    names,
                })
            }
            Input::Converted { rows, .. } => rows.get(key).map(|f| Files {
                image: f.image.clone(),
                segmentation: f.segmentation.clone(),
                landmarks: f.landmarks.clone(),
                names: f.names.clone(),
            }),
        }
    }

    pub fn is_converted(&self) -> bool {
        matches!(self, Input::Converted { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Input::Sources { inventory, .. } => inventory
                .sources
                .iter()
                .map(|s| s.display_path(""))
                .collect::<Vec<_>>()
                .join(", "),
            Input::Converted { dir, .. } => dir.display().to_string(),
        }
    }
}

/// The array `landmarks` of `.npz` bytes as (x, y) points.
fn landmarks(bytes: &[u8]) -> Result<Vec<[f64; 2]>, String> {
    let array = crate::decode::npy::read_named_array(bytes, "landmarks", 1 << 20)
        .map_err(|e| format!("landmarks not drawn: {e}"))?;
    points(&array.shape, array.to_f64_vec())
}

fn points(shape: &[usize], values: Vec<f64>) -> Result<Vec<[f64; 2]>, String> {
    if shape.last() != Some(&2) {
        return Err(format!(
            "landmarks not drawn: shape {shape:?} is not (N, 2)"
        ));
    }
    Ok(values.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
}

/// Keys ranked by sha256(seed, key): the same seed picks the same samples whatever the
/// order or the number of inputs, and a raw source and its converted folder agree.
pub(crate) fn seeded_order<'a>(keys: impl Iterator<Item = &'a str>, seed: u64) -> Vec<&'a str> {
    let mut ranked: Vec<([u8; 8], &str)> = keys
        .map(|key| {
            let mut hasher = Sha256::new();
            hasher.update(seed.to_le_bytes());
            hasher.update(key.as_bytes());
            let digest = hasher.finalize();
            let mut rank = [0u8; 8];
            rank.copy_from_slice(&digest[..8]);
            (rank, key)
        })
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().map(|(_, key)| key).collect()
}

fn part_name(key: &str) -> String {
    parse_part(key).map_or_else(|| "none".to_string(), |p| format!("pt{p}"))
}

/// Validates raw sources once (the `validate` pass, keeping each map's block purity, and
/// with `dedup` the near-duplicate search) and returns the overview, the input to draw
/// from, the valid keys and the near-duplicates. `None` when interrupted.
pub(crate) fn from_sources(
    sources: &[std::path::PathBuf],
    check: &CheckConfig,
    dedup: Option<&DedupConfig>,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Option<FromSources>> {
    let Some(validated) = pipeline::validate_with(sources, check, dedup, progress, interrupted)?
    else {
        return Ok(None);
    };
    let Validated {
        report,
        inventory,
        dedup,
    } = validated;
    let excluded: BTreeSet<&str> = report.excluded.iter().map(|s| s.key.as_str()).collect();
    let valid: Vec<String> = inventory
        .samples
        .iter()
        .filter(|s| !excluded.contains(&*s.key))
        .map(|s| s.key.to_string())
        .collect();
    let mut parts = BTreeMap::new();
    for sample in &inventory.samples {
        *parts.entry(part_name(&sample.key)).or_default() += 1;
    }
    // Block purity and image sizes of the valid samples, as convert records them, so that
    // a source and its converted folder show the same plots.
    let purity = report.statistics.block_purity.clone();
    let image_sizes = report.statistics.image_bytes.clone();
    let overview = Overview {
        samples: report.samples,
        valid: report.valid,
        excluded: report.excluded,
        warned: report.warned,
        errors: report.errors,
        warnings: report.warnings,
        parts,
        splits: BTreeMap::new(),
        bytes: report.bytes_read,
        shards: BTreeMap::new(),
        purity,
        purity_of_every_map: true,
        image_sizes,
        sizes_of_every_image: true,
        statistics: Some(report.statistics),
    };
    let input = Input::Sources {
        inventory: Box::new(inventory),
        max_file_bytes: check.max_file_bytes,
    };
    Ok(Some(FromSources {
        overview,
        input,
        valid,
        dedup,
    }))
}

/// What [`from_sources`] gives.
pub(crate) struct FromSources {
    pub overview: Overview,
    pub input: Input,
    /// Every valid key, in key order.
    pub valid: Vec<String>,
    pub dedup: Option<DedupReport>,
}

/// A converted folder: the manifest, the key column of every Parquet shard, and the rows
/// of the `sample_size` valid samples `seed` picks (read with a row selection, so only
/// their pages are decoded; image bytes are kept for the first `with_images` of them only,
/// the ones drawn, so memory stays flat), and the rows of the `extra` keys with their
/// images (near-duplicates drawn side by side). Returns the overview, the input and the
/// statistics sample.
pub(crate) fn from_converted(
    dir: &Path,
    manifest: &Manifest,
    sample: Picked,
    extra: &BTreeSet<String>,
    max_file_bytes: u64,
) -> anyhow::Result<(Overview, Input, Vec<String>)> {
    let Picked {
        seed,
        sample_size,
        with_images,
    } = sample;
    let shards: Vec<_> = manifest
        .shards
        .iter()
        .filter(|s| s.format == ShardFormat::Parquet)
        .collect();
    if shards.is_empty() && manifest.rows > 0 {
        anyhow::bail!(
            "{}: no Parquet shards (converted with --format webdataset only); report reads the Parquet shards: convert again with --format parquet,webdataset",
            dir.display()
        );
    }
    // Every key, with its shard and row (the key column only: a few bytes per row).
    let mut located: Vec<(String, usize, usize)> = Vec::new();
    for (index, shard) in shards.iter().enumerate() {
        let path = dir.join(&shard.path);
        let keys = read_keys(&path).with_context(|| {
            format!(
                "{}: cannot read the key column; run `sfhq-pack verify {}`",
                path.display(),
                dir.display()
            )
        })?;
        located.extend(keys.into_iter().enumerate().map(|(row, k)| (k, index, row)));
    }
    let order = seeded_order(located.iter().map(|(k, _, _)| k.as_str()), seed);
    let mut drawn: BTreeSet<&str> = order.iter().take(with_images).copied().collect();
    let chosen: BTreeSet<&str> = order.into_iter().take(sample_size).collect();
    drawn.extend(extra.iter().map(String::as_str));
    let mut wanted: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (key, shard, row) in &located {
        if chosen.contains(key.as_str()) || extra.contains(key) {
            wanted.entry(*shard).or_default().push(*row);
        }
    }
    let mut rows = BTreeMap::new();
    let mut sampled_sizes = Vec::new();
    for (shard, mut wanted_rows) in wanted {
        wanted_rows.sort_unstable();
        let path = dir.join(&shards[shard].path);
        let keep_image = |key: &str| drawn.contains(key);
        let sampled = |key: &str| chosen.contains(key);
        let into = Rows {
            files: &mut rows,
            image_sizes: &mut sampled_sizes,
            keep_image: &keep_image,
            sampled: &sampled,
        };
        read_rows(&path, &wanted_rows, max_file_bytes, into).with_context(|| {
            format!(
                "{}: cannot read the sampled rows; run `sfhq-pack verify {}`",
                path.display(),
                dir.display()
            )
        })?;
    }
    let sample: Vec<String> = seeded_order(
        rows.keys()
            .map(String::as_str)
            .filter(|k| chosen.contains(k)),
        seed,
    )
    .into_iter()
    .map(str::to_string)
    .collect();
    // What convert recorded over every row; a manifest of an older version has neither (the
    // purity then comes from the sampled maps as they are decoded for the page).
    let recorded = manifest.statistics.as_ref();
    let (purity, purity_of_every_map) = match recorded.filter(|s| s.block_purity.maps > 0) {
        Some(s) => (s.block_purity.clone(), true),
        None => (PurityCounts::default(), false),
    };
    let (image_sizes, sizes_of_every_image) = match recorded.filter(|s| s.image_bytes.images > 0) {
        Some(s) => (s.image_bytes.clone(), true),
        None => {
            let mut sizes = SizeCounts::default();
            for bytes in sampled_sizes {
                sizes.add(bytes);
            }
            (sizes, false)
        }
    };
    let mut shard_totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for shard in &manifest.shards {
        let name = match shard.format {
            ShardFormat::Parquet => "parquet",
            ShardFormat::Webdataset => "webdataset",
        };
        let entry = shard_totals.entry(name.to_string()).or_default();
        entry.0 += 1;
        entry.1 += shard.bytes;
    }
    let overview = Overview {
        samples: manifest.rows + manifest.excluded.len() as u64,
        valid: manifest.rows,
        excluded: manifest.excluded.clone(),
        warned: manifest.warned.clone(),
        errors: manifest.errors.clone(),
        warnings: manifest.warnings.clone(),
        parts: manifest
            .parts
            .iter()
            .map(|(p, n)| {
                let name = if p == "none" {
                    p.clone()
                } else {
                    format!("pt{p}")
                };
                (name, *n)
            })
            .collect(),
        splits: manifest.splits.clone(),
        bytes: manifest.shards.iter().map(|s| s.bytes).sum(),
        shards: shard_totals,
        purity,
        purity_of_every_map,
        image_sizes,
        sizes_of_every_image,
        statistics: manifest.statistics.clone(),
    };
    let input = Input::Converted {
        dir: dir.to_path_buf(),
        rows,
    };
    Ok((overview, input, sample))
}

/// Which rows of a converted folder [`from_converted`] reads for the statistics sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Picked {
    pub seed: u64,
    /// Valid samples read (their maps and landmarks).
    pub sample_size: usize,
    /// Of those, the first this many with their image bytes (the gallery).
    pub with_images: usize,
}

/// A reader of one shard with its page index loaded, so that a row selection skips the
/// pages of rows not chosen without reading them (a row group holds ~100 images).
fn open_builder(path: &Path) -> anyhow::Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    Ok(ParquetRecordBatchReaderBuilder::try_new_with_options(
        file, options,
    )?)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> anyhow::Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .with_context(|| format!("no column '{name}'"))
}

fn read_keys(path: &Path) -> anyhow::Result<Vec<String>> {
    let builder = open_builder(path)?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), ["key"]);
    let mut keys = Vec::new();
    for batch in builder.with_projection(mask).build()? {
        let batch = batch?;
        let column = column(&batch, "key")?;
        let strings = column.as_string_opt::<i32>().with_context(|| {
            format!("column 'key' is {}, expected a string", column.data_type())
        })?;
        keys.extend(strings.iter().map(|k| k.unwrap_or_default().to_string()));
    }
    Ok(keys)
}

/// A picture's bytes, or why they are not drawn.
type Bytes = Result<Vec<u8>, String>;

/// The `bytes` child of a picture column at `row`, with its `path` when present.
fn picture(
    batch: &RecordBatch,
    name: &str,
    row: usize,
    max_file_bytes: u64,
) -> anyhow::Result<Option<(Option<String>, Bytes)>> {
    let Some(array) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let fields = array.as_struct_opt().with_context(|| {
        format!(
            "column '{name}' is {}, expected a struct",
            array.data_type()
        )
    })?;
    if fields.is_null(row) {
        return Ok(None);
    }
    let bytes = fields
        .column_by_name("bytes")
        .and_then(|b| b.as_binary_opt::<i32>())
        .with_context(|| format!("column '{name}.bytes' is missing or not binary"))?;
    let path = fields
        .column_by_name("path")
        .and_then(|p| p.as_string_opt::<i32>())
        .and_then(|p| (!p.is_null(row)).then(|| p.value(row).to_string()));
    if bytes.is_null(row) {
        return Ok(None);
    }
    let value = bytes.value(row);
    let data = if value.len() as u64 > max_file_bytes {
        Err(format!(
            "{name}: {} bytes, more than --max-file-bytes; not drawn",
            value.len()
        ))
    } else {
        Ok(value.to_vec())
    };
    Ok(Some((path, data)))
}

fn landmark_row(batch: &RecordBatch, row: usize) -> anyhow::Result<Option<Vec<[f64; 2]>>> {
    let Some(array) = batch.column_by_name("landmarks") else {
        return Ok(None);
    };
    let outer = array.as_fixed_size_list_opt().with_context(|| {
        format!(
            "column 'landmarks' is {}, expected a fixed-size list",
            array.data_type()
        )
    })?;
    if outer.is_null(row) {
        return Ok(None);
    }
    let pairs = outer.value(row);
    let inner = pairs
        .as_fixed_size_list_opt()
        .context("column 'landmarks' holds no (x, y) pairs")?;
    let values = arrow::compute::cast(inner.values(), &DataType::Float64)?;
    let values = values.as_primitive::<Float64Type>();
    let flat: Vec<f64> = (0..values.len()).map(|i| values.value(i)).collect();
    let shape = [inner.len(), inner.value_length().max(0) as usize];
    Ok(Some(points(&shape, flat).map_err(|e| anyhow::anyhow!(e))?))
}

/// Reads `wanted` rows (sorted) of one shard into `out`.
/// Where [`read_rows`] puts what it reads.
struct Rows<'a> {
    files: &'a mut BTreeMap<String, Files>,
    /// The size of every image of the statistics sample.
    image_sizes: &'a mut Vec<u64>,
    /// Whether a row's image bytes are kept (only the drawn rows' are).
    keep_image: &'a dyn Fn(&str) -> bool,
    /// Whether a row is in the statistics sample (not only drawn as a near-duplicate).
    sampled: &'a dyn Fn(&str) -> bool,
}

fn read_rows(
    path: &Path,
    wanted: &[usize],
    max_file_bytes: u64,
    out: Rows<'_>,
) -> anyhow::Result<()> {
    let builder = open_builder(path)?;
    let total = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mut selectors = Vec::new();
    let mut at = 0;
    for &row in wanted {
        if row > at {
            selectors.push(RowSelector::skip(row - at));
        }
        selectors.push(RowSelector::select(1));
        at = row + 1;
    }
    if total > at {
        selectors.push(RowSelector::skip(total - at));
    }
    let roots: Vec<&str> = ["key", "image", "segmentation", "landmarks"]
        .into_iter()
        .filter(|name| builder.schema().field_with_name(name).is_ok())
        .collect();
    let mask = ProjectionMask::roots(
        builder.parquet_schema(),
        roots
            .iter()
            .filter_map(|name| builder.schema().index_of(name).ok()),
    );
    // Small batches: a batch holds whole pictures (about 300 kB each).
    let reader = builder
        .with_batch_size(8)
        .with_projection(mask)
        .with_row_selection(RowSelection::from(selectors))
        .build()?;
    for batch in reader {
        let batch = batch?;
        let keys = column(&batch, "key")?;
        let keys = keys
            .as_string_opt::<i32>()
            .context("column 'key' is not a string column")?;
        for row in 0..batch.num_rows() {
            let key = keys.value(row).to_string();
            let mut image = picture(&batch, "image", row, max_file_bytes)?;
            if let Some((_, Ok(bytes))) = &image {
                if (out.sampled)(&key) {
                    out.image_sizes.push(bytes.len() as u64);
                }
            }
            if !(out.keep_image)(&key) {
                if let Some((_, data)) = &mut image {
                    *data = Err("not drawn".to_string());
                }
            }
            let segmentation = picture(&batch, "segmentation", row, max_file_bytes)?;
            let mut names = Vec::new();
            for (p, _) in image.iter().chain(&segmentation) {
                names.extend(p.clone());
            }
            let landmarks = landmark_row(&batch, row)?;
            out.files.insert(
                key,
                Files {
                    image: image.map(|(_, d)| d),
                    segmentation: segmentation.map(|(_, d)| d),
                    landmarks: landmarks.map(Ok),
                    names,
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_order_depends_on_seed_and_keys_only() {
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let one = seeded_order(keys.iter().copied(), 1);
        let reversed = seeded_order(keys.iter().rev().copied(), 1);
        assert_eq!(one, reversed);
        assert_ne!(one, seeded_order(keys.iter().copied(), 2));
        let mut sorted = one.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, keys);
    }

    #[test]
    fn landmark_points_need_pairs() {
        assert_eq!(
            points(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap(),
            vec![[1.0, 2.0], [3.0, 4.0]]
        );
        assert!(points(&[4], vec![1.0; 4]).unwrap_err().contains("(N, 2)"));
    }
}
