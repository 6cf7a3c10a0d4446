//! `extract`: shards back to the SFHQ layout (`images/`, `segmentations/`, `landmarks/`,
//! `pretrained_features/`), so that code written for the original download keeps working.
//!
//! Image and map bytes come back exactly as read. Landmarks come back as an `.npz` holding
//! `landmarks` and features as a protocol-4 pickle of a dict, each array in the dtype and
//! shape it was read in (Parquet columns hold the widest dtype; the row's `source_dtypes`
//! says which arrays were narrower). Every shard is verified against the manifest before
//! it is read, and every name taken from a shard is checked to be a plain file name, so a
//! doctored shard cannot write outside `--out`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;

use anyhow::{bail, Context};
use arrow::array::{Array as _, AsArray, FixedSizeListArray, RecordBatch, StructArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::cli::{ExtractArgs, FormatArg};
use crate::decode::array::{Array, DType};
use crate::decode::npy::read_named_array;
use crate::encode::{npy::write_npz, pickle::write_feature_dict};
use crate::exit::ExitCode;
use crate::manifest::Manifest;
use crate::sink::shard::ShardFormat;
use crate::sink::ShardRecord;
use crate::source::inventory::Modality;
use crate::ui::{sanitize, Printer};

pub fn run(args: &ExtractArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let manifest = Manifest::read(&args.dir)?;
    let format = match args.from {
        Some(FormatArg::Parquet) => ShardFormat::Parquet,
        Some(FormatArg::Webdataset) => ShardFormat::Webdataset,
        None => *manifest
            .options
            .formats
            .first()
            .context("the manifest lists no shard format")?,
    };
    let shards: Vec<&ShardRecord> = manifest
        .shards
        .iter()
        .filter(|s| s.format == format)
        .collect();
    if shards.is_empty() && manifest.rows > 0 {
        bail!(
            "{}: the manifest lists no {format:?} shards; pick another with --from",
            args.dir.display()
        );
    }
    prepare_output(&args.out, args.overwrite)?;

    let problems: Vec<_> = shards
        .iter()
        .flat_map(|s| super::verify::check_shard(&args.dir, s))
        .collect();
    if let Some(p) = problems.first() {
        bail!("{p}; run `sfhq-pack verify` and restore the shard before extracting");
    }
    let per_part = manifest.parts.len() > 1;
    let mut written = 0u64;
    for shard in &shards {
        let path = args.dir.join(&shard.path);
        written += match format {
            ShardFormat::Parquet => extract_parquet(&path, &manifest, &args.out, per_part),
            ShardFormat::Webdataset => extract_tar(&path, &args.out, per_part),
        }
        .with_context(|| format!("{}: cannot extract", path.display()))?;
    }
    printer.status(&format!(
        "extracted {written} samples from {} {format:?} shard(s) to {}",
        shards.len(),
        sanitize(&args.out.display().to_string())
    ));
    Ok(ExitCode::Success)
}

fn prepare_output(out: &Path, overwrite: bool) -> anyhow::Result<()> {
    if out.exists() {
        let is_empty = fs::read_dir(out)
            .with_context(|| format!("{}: cannot read output folder", out.display()))?
            .next()
            .is_none();
        if !is_empty && !overwrite {
            bail!(
                "{}: output folder is not empty; pass --overwrite to write into it anyway, or choose a new folder",
                out.display()
            );
        }
    }
    fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output folder", out.display()))
}

/// A name taken from a shard may only name a file directly inside its folder.
fn plain_name(name: &str) -> anyhow::Result<&str> {
    let bad = name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0'])
        || name.len() > 255;
    if bad {
        bail!(
            "refusing file name {:?} from the shard: it is not a plain file name",
            sanitize(name)
        );
    }
    Ok(name)
}

fn write_file(out: &Path, modality: Modality, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = out.join(modality.folder());
    fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let path = dir.join(plain_name(name)?);
    fs::write(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// One sample's decoded content, whatever shard it came from.
struct Extracted {
    key: String,
    part: Option<i16>,
    image: (String, Vec<u8>),
    segmentation: Option<(String, Vec<u8>)>,
    landmarks: Option<(String, Array)>,
    features: Option<(String, Vec<(String, Array)>)>,
}

impl Extracted {
    /// Writes below `out`, or below `out/SFHQ_pt{part}` when the dataset mixes parts: a
    /// part that lacks a modality then stays a part that lacks it, and converting the
    /// folders again reports nothing missing.
    fn write(&self, out: &Path, per_part: bool) -> anyhow::Result<()> {
        plain_name(&self.key)?;
        let folder;
        let out = if per_part {
            folder = out.join(
                self.part
                    .map_or("no_part".to_string(), |p| format!("SFHQ_pt{p}")),
            );
            folder.as_path()
        } else {
            out
        };
        write_file(out, Modality::Image, &self.image.0, &self.image.1)?;
        if let Some((name, bytes)) = &self.segmentation {
            write_file(out, Modality::Segmentation, name, bytes)?;
        }
        if let Some((name, array)) = &self.landmarks {
            let mut npz = Vec::new();
            write_npz(&[("landmarks", array)], &mut npz);
            write_file(out, Modality::Landmarks, name, &npz)?;
        }
        if let Some((name, models)) = &self.features {
            let refs: Vec<(&str, &Array)> = models.iter().map(|(m, a)| (m.as_str(), a)).collect();
            let mut pickle = Vec::new();
            write_feature_dict(&refs, &mut pickle);
            write_file(out, Modality::Features, name, &pickle)?;
        }
        Ok(())
    }
}

fn dtype_of(data_type: &DataType) -> anyhow::Result<DType> {
    Ok(match data_type {
        DataType::UInt8 => DType::U8,
        DataType::UInt16 => DType::U16,
        DataType::UInt32 => DType::U32,
        DataType::UInt64 => DType::U64,
        DataType::Int8 => DType::I8,
        DataType::Int16 => DType::I16,
        DataType::Int32 => DType::I32,
        DataType::Int64 => DType::I64,
        DataType::Float16 => DType::F16,
        DataType::Float32 => DType::F32,
        DataType::Float64 => DType::F64,
        other => bail!("unexpected array element type {other}"),
    })
}

/// Row `row` of a (nested) fixed-size-list column as an array of `shape`, converted back
/// to the dtype the source file had.
fn list_row(
    column: &FixedSizeListArray,
    row: usize,
    shape: Vec<usize>,
    source: Option<DType>,
) -> anyhow::Result<Array> {
    let mut values = column.value(row);
    while let Some(inner) = values.as_fixed_size_list_opt() {
        values = inner.values().slice(
            inner.offset() * inner.value_length() as usize,
            inner.len() * inner.value_length() as usize,
        );
    }
    let dtype = dtype_of(values.data_type())?;
    let data = values.to_data();
    let size = dtype.itemsize();
    let start = data.offset() * size;
    let bytes = &data.buffers()[0].as_slice()[start..start + values.len() * size];
    let array = Array {
        dtype,
        shape,
        data: bytes.to_vec(),
    };
    Ok(match source {
        Some(to) => array.cast(to),
        None => array,
    })
}

fn blob(
    column: &StructArray,
    row: usize,
    key: &str,
    default_ext: &str,
) -> Option<(String, Vec<u8>)> {
    if column.is_null(row) {
        return None;
    }
    let bytes = column
        .column_by_name("bytes")?
        .as_binary::<i32>()
        .value(row)
        .to_vec();
    let paths = column.column_by_name("path")?.as_string::<i32>();
    let name = if paths.is_null(row) {
        format!("{key}.{default_ext}")
    } else {
        paths.value(row).to_string()
    };
    Some((name, bytes))
}

fn extract_parquet(
    path: &Path,
    manifest: &Manifest,
    out: &Path,
    per_part: bool,
) -> anyhow::Result<u64> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?.build()?;
    let mut count = 0;
    for batch in reader {
        let batch: RecordBatch = batch?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .with_context(|| format!("no column '{name}'"))
        };
        let keys = column("key")?.as_string::<i32>();
        let parts = column("part")?.as_primitive::<arrow::datatypes::Int16Type>();
        let images = column("image")?.as_struct();
        let segmentations = column("segmentation")?.as_struct();
        let landmarks = column("landmarks")?.as_fixed_size_list();
        let features = batch
            .column_by_name("pretrained_features")
            .map(|c| c.as_struct());
        let source_dtypes = column("source_dtypes")?.as_string::<i32>();
        for row in 0..batch.num_rows() {
            let key = keys.value(row).to_string();
            let narrower: BTreeMap<String, String> = if source_dtypes.is_null(row) {
                BTreeMap::new()
            } else {
                serde_json::from_str(source_dtypes.value(row))
                    .context("source_dtypes is not a JSON object")?
            };
            let source = |name: &str| narrower.get(name).and_then(|d| DType::from_name(d));
            let image =
                blob(images, row, &key, "jpg").with_context(|| format!("{key}: no image"))?;
            let landmarks = (!landmarks.is_null(row))
                .then(|| {
                    list_row(
                        landmarks,
                        row,
                        manifest.landmarks.shape.clone(),
                        source("landmarks"),
                    )
                })
                .transpose()?
                .map(|a| (format!("{key}.npz"), a));
            let features = match features {
                Some(f) if !f.is_null(row) => {
                    let mut models = Vec::new();
                    for (field, child) in f.fields().iter().zip(f.columns()) {
                        let child = child.as_fixed_size_list();
                        if child.is_null(row) {
                            continue;
                        }
                        let model = field.name();
                        let shape = vec![1, child.value_length() as usize];
                        let source = source(&format!("pretrained_features.{model}"));
                        models.push((model.clone(), list_row(child, row, shape, source)?));
                    }
                    Some((format!("{key}.pickle"), models))
                }
                _ => None,
            };
            Extracted {
                segmentation: blob(segmentations, row, &key, "png"),
                part: (!parts.is_null(row)).then(|| parts.value(row)),
                key,
                image,
                landmarks,
                features,
            }
            .write(out, per_part)?;
            count += 1;
        }
    }
    Ok(count)
}

/// `KEY.json` as the WebDataset sink writes it.
#[derive(serde::Deserialize)]
struct SampleInfo {
    key: String,
    part: Option<i16>,
    files: BTreeMap<String, Option<String>>,
    pretrained_features: BTreeMap<String, String>,
    missing: Vec<String>,
    #[serde(default)]
    source_dtypes: BTreeMap<String, String>,
}

fn extract_tar(path: &Path, out: &Path, per_part: bool) -> anyhow::Result<u64> {
    let mut archive = tar::Archive::new(File::open(path)?);
    let mut count = 0;
    let mut members: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut current = String::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let (key, extension) = name
            .split_once('.')
            .with_context(|| format!("member {name} has no extension"))?;
        if key != current && !members.is_empty() {
            tar_sample(&current, std::mem::take(&mut members))?.write(out, per_part)?;
            count += 1;
        }
        current = key.to_string();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        std::io::Read::read_to_end(&mut entry, &mut bytes)?;
        members.insert(extension.to_string(), bytes);
    }
    if !members.is_empty() {
        tar_sample(&current, members)?.write(out, per_part)?;
        count += 1;
    }
    Ok(count)
}

fn tar_sample(key: &str, mut members: BTreeMap<String, Vec<u8>>) -> anyhow::Result<Extracted> {
    let info: SampleInfo = serde_json::from_slice(
        &members
            .remove("json")
            .with_context(|| format!("{key}: no json member"))?,
    )?;
    if info.key != key {
        bail!("{key}: its json names key {}", info.key);
    }
    let file = |m: &str, default: String| info.files.get(m).cloned().flatten().unwrap_or(default);
    let is_missing = |m: &str| info.missing.iter().any(|x| x == m);
    let image_ext = if members.contains_key("png") {
        "png"
    } else {
        "jpg"
    };
    let image = members
        .remove(image_ext)
        .with_context(|| format!("{key}: no image member"))?;
    let segmentation = members
        .remove("seg.png")
        .filter(|_| !is_missing("segmentation"));
    // Members hold their column's dtype; each array goes back in the source file's dtype.
    let narrow = |member: &str, array: Array| match info
        .source_dtypes
        .get(member)
        .and_then(|n| DType::from_name(n))
    {
        Some(to) => array.cast(to),
        None => array,
    };
    let landmarks = match members.remove("landmarks.npy") {
        Some(bytes) if !is_missing("landmarks") => Some(narrow(
            "landmarks.npy",
            read_named_array(&bytes, "landmarks", bytes.len())?,
        )),
        _ => None,
    };
    let mut models = Vec::new();
    for (wds_name, model) in &info.pretrained_features {
        let member = format!("{wds_name}.npy");
        let Some(bytes) = members.remove(&member) else {
            continue;
        };
        if !is_missing(&format!("pretrained_features.{model}")) {
            let array = read_named_array(&bytes, wds_name, bytes.len())?;
            models.push((model.clone(), narrow(&member, array)));
        }
    }
    Ok(Extracted {
        image: (file("image", format!("{key}.{image_ext}")), image),
        segmentation: segmentation.map(|b| (file("segmentation", format!("{key}.png")), b)),
        landmarks: landmarks.map(|a| (file("landmarks", format!("{key}.npz")), a)),
        features: (!models.is_empty())
            .then(|| (file("pretrained_features", format!("{key}.pickle")), models)),
        key: key.to_string(),
        part: info.part,
    })
}
