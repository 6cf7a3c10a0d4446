//! Publishing files for a converted folder: the Hugging Face card ([`hf_card`]), Croissant
//! ([`croissant`]) and the Kaggle upload folder ([`kaggle`]).
//!
//! Everything here is a pure function of the manifest, the Parquet footers and the
//! command-line metadata ([`Meta`]), so the same folder and arguments give the same bytes.
//! The one date the files carry (Croissant's `datePublished`) comes from `--date`, else the
//! manifest's `created` (written when `convert` ran with `SOURCE_DATE_EPOCH`), else
//! `SOURCE_DATE_EPOCH` at `package` time, else today; the terminal says which, and how to
//! pin it, because only a pinned date gives the same bytes on another day.
//!
//! The platforms report mistakes only after an upload, so [`Meta::resolve`] checks every
//! rule up front and returns every violation at once.

pub(crate) mod croissant;
pub(crate) mod hf_card;
pub(crate) mod kaggle;
pub(crate) mod license;
pub(crate) mod limits;
pub(crate) mod package;
pub(crate) mod yaml;

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::path::Path;

use anyhow::Context;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

use crate::decode::array::DType;
use crate::format::parquet::reader::catch_reader_panics;
use crate::format::parquet::schema::arrow_schema;
use crate::format::shard::ShardFormat;
use crate::format::ShardRecord;
use crate::manifest::Manifest;
use crate::resize::ResizeRecord;
use crate::schema::{DatasetSchema, FeatureColumn};
use license::License;

/// The lengths of a (nested) `Sequence`/`List` feature from the outside in (`None` for a
/// list without a fixed length) and the element feature inside them.
pub(crate) fn sequence_dims(feature: &Value) -> (Vec<Option<u64>>, &Value) {
    let mut dims = Vec::new();
    let mut inner = feature;
    while matches!(
        inner.get("_type").and_then(Value::as_str),
        Some("Sequence" | "List")
    ) {
        dims.push(inner.get("length").and_then(Value::as_u64));
        inner = &inner["feature"];
    }
    (dims, inner)
}

pub const CARD_FILE: &str = "README.md";
pub const CROISSANT_FILE: &str = "croissant.json";
pub const KAGGLE_DIR: &str = "kaggle";
/// `package --hf`: a grid of 8 samples with their overlays, shown at the top of the card.
pub const PREVIEW_FILE: &str = "preview.png";
/// Samples in the preview grid.
pub const PREVIEW_SAMPLES: usize = 8;

/// Whether a path in a converted folder is one of `package`'s files (or their staging).
pub(crate) fn is_publishing_path(rel: &str) -> bool {
    rel == CARD_FILE
        || rel == CROISSANT_FILE
        || rel == PREVIEW_FILE
        || rel.starts_with(&format!("{KAGGLE_DIR}/"))
        || rel.starts_with(".kaggle.")
}

/// The title when `--title` is not given: the dataset's own name, which also meets Kaggle's
/// 6-50 character rule.
pub const DEFAULT_TITLE: &str = "Synthetic Faces High Quality (SFHQ)";
pub const SFHQ_URL: &str = "https://github.com/SelfishGene/SFHQ-dataset";
pub const SFHQ_AUTHOR: &str = "David Beniaguev";
/// The citation the SFHQ authors ask for (their README); users of a repackaged copy cite
/// the data's creators.
pub const SFHQ_CITATION: &str = "@misc{david_beniaguev_2022_SFHQ,
  title={Synthetic Faces High Quality (SFHQ) dataset},
  url={https://github.com/SelfishGene/SFHQ-dataset},
  DOI={10.34740/kaggle/dsv/4737549},
  publisher={GitHub},
  author={David Beniaguev},
  year={2022}
}";

/// Kaggle's title and slug length rule (kaggle 2.2.5 `dataset_create_new`), in characters.
pub const KAGGLE_NAME_CHARS: std::ops::RangeInclusive<usize> = 6..=50;
/// Kaggle's subtitle length rule, in characters.
pub const KAGGLE_SUBTITLE_CHARS: std::ops::RangeInclusive<usize> = 20..=80;

/// What `package` was asked for, as given (checked by [`Meta::resolve`]).
#[derive(Debug, Clone, Default)]
pub struct PackageRequest {
    pub dir: std::path::PathBuf,
    pub targets: Targets,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub license: Option<String>,
    pub id: Option<String>,
    pub creator: Option<String>,
    pub url: Option<String>,
    /// `--date YYYY-MM-DD`.
    pub date: Option<String>,
    pub overwrite: bool,
}

/// Which files to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets {
    pub hf: bool,
    pub croissant: bool,
    pub kaggle: bool,
}

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetId {
    pub owner: String,
    pub name: String,
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What the publishing files say beyond the manifest, resolved and checked.
#[derive(Debug, Clone)]
pub struct Meta {
    pub targets: Targets,
    pub title: String,
    pub subtitle: Option<String>,
    pub license: &'static License,
    pub id: Option<DatasetId>,
    pub creator: Option<String>,
    /// The dataset's home page: `--url`, else derived from `--id`.
    pub url: Option<String>,
    /// `YYYY-MM-DD`: `--date`, the manifest's `created`, `SOURCE_DATE_EPOCH` or today.
    pub date: Option<String>,
    /// Where [`Meta::date`] came from, for the message that says how to pin it.
    pub date_source: &'static str,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A suggestion for a Kaggle slug: lower-case, runs of other characters as one `-`.
fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

impl Meta {
    /// Checks every argument against every target asked for; `created_env` is
    /// `SOURCE_DATE_EPOCH` as an RFC 3339 time stamp, if set. Returns every violation.
    pub fn resolve(
        args: &PackageRequest,
        manifest: &Manifest,
        created_env: Option<String>,
    ) -> Result<Meta, Vec<String>> {
        let targets = args.targets;
        let mut problems = Vec::new();
        if !(targets.hf || targets.croissant || targets.kaggle) {
            problems.push("nothing to write: pass --hf, --croissant and/or --kaggle".to_string());
        }

        let license = match args.license.as_deref() {
            None => {
                problems.push(
                    "--license is required: the license the dataset is published under, from Kaggle's list (e.g. CC-BY-4.0, CC0-1.0, CC-BY-NC-4.0)"
                        .to_string(),
                );
                None
            }
            Some(text) => license::parse(text, targets.kaggle)
                .map_err(|e| problems.push(e))
                .ok(),
        };

        let title = args
            .title
            .as_deref()
            .map(str::trim)
            .unwrap_or(DEFAULT_TITLE)
            .to_string();
        if title.is_empty() || title.chars().any(char::is_control) {
            problems.push("--title must be one line of text".to_string());
        } else if targets.kaggle && !KAGGLE_NAME_CHARS.contains(&chars(&title)) {
            problems.push(format!(
                "--title {title:?} is {} characters: Kaggle needs a title of 6 to 50 characters",
                chars(&title)
            ));
        }

        let subtitle = args.subtitle.as_deref().map(str::trim).map(str::to_string);
        if let Some(subtitle) = &subtitle {
            if subtitle.chars().any(char::is_control) {
                problems.push("--subtitle must be one line of text".to_string());
            } else if targets.kaggle && !KAGGLE_SUBTITLE_CHARS.contains(&chars(subtitle)) {
                problems.push(format!(
                    "--subtitle {subtitle:?} is {} characters: Kaggle needs a subtitle of 20 to 80 characters",
                    chars(subtitle)
                ));
            }
        }

        let id = match args.id.as_deref() {
            None => {
                if targets.kaggle {
                    problems.push(
                        "--kaggle needs --id owner/slug: your Kaggle user name and the dataset's name in its URL"
                            .to_string(),
                    );
                }
                None
            }
            Some(text) => check_id(text.trim(), targets, &mut problems),
        };

        let creator = args
            .creator
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if creator
            .as_deref()
            .is_some_and(|c| c.chars().any(char::is_control))
        {
            problems.push("--creator must be one line of text".to_string());
        }
        if targets.croissant && creator.is_none() && args.id.is_none() {
            problems.push(
                "--croissant needs a creator (Croissant requires one): pass --creator NAME, or --id owner/name to use the owner"
                    .to_string(),
            );
        }

        let url = match args.url.as_deref().map(str::trim) {
            Some(url) => {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() > "https://".len()
                    && !url.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    problems.push(format!(
                        "--url {url:?} is not an http(s) URL such as https://huggingface.co/datasets/owner/name"
                    ));
                }
                Some(url.to_string())
            }
            // Croissant hosts are the Hub and Kaggle; the Hub wins when both are asked for
            // because it is where Croissant files are served from.
            None => id.as_ref().map(|id| {
                if targets.kaggle && !targets.hf {
                    format!("https://www.kaggle.com/datasets/{id}")
                } else {
                    format!("https://huggingface.co/datasets/{id}")
                }
            }),
        };
        if targets.croissant && url.is_none() && args.id.is_none() {
            problems.push(
                "--croissant needs the dataset's URL (Croissant requires one): pass --url, or --id owner/name to use its Hugging Face page"
                    .to_string(),
            );
        }

        // The date Croissant carries: pinned by --date, else recorded facts, else today
        // (said on the terminal, with how to pin it, since it makes the bytes differ by day).
        let (date, date_source) = if let Some(given) = args.date.as_deref() {
            let given = given.trim();
            if date_of(given).is_some_and(|d| d == given) {
                (Some(given.to_string()), "--date")
            } else {
                problems.push(format!(
                    "--date {given:?} is not a date of the form YYYY-MM-DD"
                ));
                (None, "--date")
            }
        } else if let Some(date) = manifest.created.as_deref().and_then(date_of) {
            (Some(date), "the manifest's `created`")
        } else if let Some(date) = created_env.as_deref().and_then(date_of) {
            (Some(date), "SOURCE_DATE_EPOCH")
        } else {
            (today(), "today's date")
        };
        match license {
            Some(license) if problems.is_empty() => Ok(Meta {
                targets,
                title,
                subtitle,
                license,
                id,
                creator,
                url,
                date,
                date_source,
            }),
            _ => Err(problems),
        }
    }

    /// Creator for Croissant: `--creator`, else the owner in `--id`.
    pub fn creator_name(&self) -> Option<&str> {
        self.creator
            .as_deref()
            .or(self.id.as_ref().map(|id| id.owner.as_str()))
    }
}

fn check_id(text: &str, targets: Targets, problems: &mut Vec<String>) -> Option<DatasetId> {
    let parts: Vec<&str> = text.split('/').collect();
    let [owner, name] = parts.as_slice() else {
        problems.push(format!(
            "--id {text:?} is not owner/slug (one '/', e.g. jane/sfhq-faces)"
        ));
        return None;
    };
    let before = problems.len();
    if owner.is_empty() || name.is_empty() {
        problems.push(format!(
            "--id {text:?} is not owner/slug: both parts must be non-empty"
        ));
        return None;
    }
    if !owner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        problems.push(format!(
            "--id owner {owner:?} may hold only letters, digits, '-', '_' and '.'"
        ));
    }
    if targets.kaggle {
        if !KAGGLE_NAME_CHARS.contains(&chars(name)) {
            problems.push(format!(
                "--id slug {name:?} is {} characters: Kaggle needs a slug of 6 to 50 characters",
                chars(name)
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problems.push(format!(
                "--id slug {name:?}: Kaggle slugs are lower-case letters, digits and '-' (try {:?})",
                slugify(name)
            ));
        }
    }
    if targets.hf
        && (chars(name) > 96
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.contains("--")
            || name.contains(".."))
    {
        problems.push(format!(
            "--id name {name:?}: Hugging Face repository names are up to 96 letters, digits, '-', '_' and '.', without '--' or '..'"
        ));
    }
    (problems.len() == before).then(|| DatasetId {
        owner: owner.to_string(),
        name: name.to_string(),
    })
}

/// `YYYY-MM-DD` from an RFC 3339 time stamp.
/// Today (UTC) as `YYYY-MM-DD`.
fn today() -> Option<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    date_of(&crate::manifest::rfc3339(i64::try_from(secs).ok()?))
}

fn date_of(stamp: &str) -> Option<String> {
    let date = stamp.get(..10)?;
    let bytes = date.as_bytes();
    let shape = bytes.iter().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            *b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    shape.then(|| date.to_string())
}

/// One split, as the publishing files describe it.
#[derive(Debug)]
pub struct SplitInfo<'a> {
    pub name: String,
    pub rows: u64,
    pub parquet: Vec<&'a ShardRecord>,
    pub tars: Vec<&'a ShardRecord>,
    /// Uncompressed size of the split's Parquet data (the row groups' `total_byte_size`),
    /// what the card's `num_bytes` stands for.
    pub num_bytes: u64,
}

/// A Parquet column with its `datasets` feature description.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub feature: Value,
}

/// What the publishing files are built from: the manifest plus what it implies.
#[derive(Debug)]
pub struct Facts<'a> {
    pub manifest: &'a Manifest,
    /// Splits with rows, `train` first, then the others in name order.
    pub splits: Vec<SplitInfo<'a>>,
    /// Parquet columns in file order, with the features `datasets` reads from the shards.
    pub columns: Vec<Column>,
}

/// Parses a numpy dtype name as the manifest writes it.
pub fn dtype_named(name: &str) -> anyhow::Result<DType> {
    use DType::*;
    [Bool, U8, U16, U32, U64, I8, I16, I32, I64, F16, F32, F64]
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| anyhow::anyhow!("manifest.json names an unknown dtype {name:?}"))
}

/// The dataset's columns, rebuilt from the manifest exactly as `convert` built them.
pub fn dataset_schema(manifest: &Manifest) -> anyhow::Result<DatasetSchema> {
    let features = manifest
        .features
        .iter()
        .map(|(model, entry)| {
            Ok(FeatureColumn {
                model: model.clone(),
                dim: entry.dim,
                dtype: dtype_named(&entry.dtype)?,
                wds_name: entry.wds_name.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(DatasetSchema {
        landmarks: dtype_named(&manifest.landmarks.dtype)?,
        features,
        source_hashes: manifest.options.resize.is_some(),
    })
}

impl<'a> Facts<'a> {
    /// Reads the Parquet footers of a verified folder.
    pub fn gather(dir: &Path, manifest: &'a Manifest) -> anyhow::Result<Facts<'a>> {
        let mut names: Vec<String> = manifest
            .options
            .splits
            .names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let listed: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let extra: BTreeSet<String> = manifest
            .shards
            .iter()
            .map(|s| s.split.as_str())
            .filter(|s| !listed.contains(s))
            .map(str::to_string)
            .collect();
        names.extend(extra);

        let mut splits = Vec::new();
        for name in names {
            let of = |format: ShardFormat| -> Vec<&'a ShardRecord> {
                manifest
                    .shards
                    .iter()
                    .filter(|s| s.split == name && s.format == format)
                    .collect()
            };
            let (parquet, tars) = (of(ShardFormat::Parquet), of(ShardFormat::Webdataset));
            if parquet.is_empty() && tars.is_empty() {
                continue;
            }
            let mut num_bytes = 0;
            for shard in &parquet {
                num_bytes += uncompressed_bytes(&dir.join(&shard.path))?;
            }
            let rows = manifest.splits.get(&name).copied().unwrap_or_else(|| {
                parquet
                    .iter()
                    .chain(&tars)
                    .filter(|s| Some(s.format) == manifest.options.formats.first().copied())
                    .map(|s| s.rows)
                    .sum()
            });
            splits.push(SplitInfo {
                name,
                rows,
                parquet,
                tars,
                num_bytes,
            });
        }

        let schema = dataset_schema(manifest)?;
        let landmark_count = manifest
            .landmarks
            .shape
            .first()
            .copied()
            .unwrap_or(manifest.options.landmark_count);
        let (arrow, description) = arrow_schema(&schema, landmark_count);
        let described: Value = serde_json::from_str(&description)?;
        let columns = arrow
            .fields()
            .iter()
            .map(|field| Column {
                name: field.name().clone(),
                feature: described["info"]["features"][field.name()].clone(),
            })
            .collect();
        Ok(Facts {
            manifest,
            splits,
            columns,
        })
    }

    pub fn parquet_shards(&self) -> impl Iterator<Item = &'a ShardRecord> + '_ {
        self.splits.iter().flat_map(|s| s.parquet.iter().copied())
    }

    pub fn tar_shards(&self) -> impl Iterator<Item = &'a ShardRecord> + '_ {
        self.splits.iter().flat_map(|s| s.tars.iter().copied())
    }

    pub fn has_parquet(&self) -> bool {
        self.parquet_shards().next().is_some()
    }

    pub fn has_tars(&self) -> bool {
        self.tar_shards().next().is_some()
    }
}

fn uncompressed_bytes(path: &Path) -> anyhow::Result<u64> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let reader = catch_reader_panics(|| Ok(SerializedFileReader::new(file)?))
        .with_context(|| format!("{}: cannot read the Parquet footer", path.display()))?;
    Ok(reader
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| u64::try_from(rg.total_byte_size()).unwrap_or(0))
        .sum())
}

/// What a column holds, for the card, Croissant and Kaggle.
pub fn column_description(name: &str, manifest: &Manifest) -> String {
    if let Some(resize) = &manifest.options.resize {
        if let Some(text) = resized_column_description(name, manifest, resize) {
            return text;
        }
    }
    let points = manifest.landmarks.shape.first().copied().unwrap_or(110);
    let size = manifest.options.image_size;
    match name {
        "key" => "sample id: the SFHQ file stem, e.g. SFHQ_pt2_00070336".to_string(),
        "part" => "SFHQ part (1-4) parsed from the key; null when the key names no part".to_string(),
        "image" => format!("the source JPEG, bytes unchanged ({size}x{size} RGB)"),
        "image_sha256" => "sha256 of the source image file (equals sha256 of image.bytes)".to_string(),
        "width" | "height" => "from the image header, in pixels".to_string(),
        "segmentation" => format!(
            "face-parsing label map: 8-bit single-channel PNG ({size}x{size}), labels 0-18, source bytes unchanged"
        ),
        "segmentation_sha256" => "sha256 of the source segmentation map".to_string(),
        "landmarks" => format!(
            "{points} (x, y) points in pixel coordinates: the 68 usual face points plus inner and outer hairline points"
        ),
        "pretrained_features" => "one embedding vector per model (fields below); null when the source part has none".to_string(),
        "source_dtypes" => "JSON: dtypes of this sample's source arrays where they differ from the column's (sfhq-pack extract restores them); null when none differ".to_string(),
        other => format!("column {other}"),
    }
}

/// The width and height of the stored images and maps.
pub fn stored_size(manifest: &Manifest) -> u32 {
    manifest
        .options
        .resize
        .as_ref()
        .map_or(manifest.options.image_size, |r| r.resolution)
}

/// The extension of the image member of WebDataset samples.
pub fn image_extension(manifest: &Manifest) -> &'static str {
    manifest
        .options
        .resize
        .as_ref()
        .map_or("jpg", |r| r.image_format.extension())
}

/// How the stored images were encoded, in words: `JPEG (quality 95, 4:4:4)`.
pub fn stored_encoding(resize: &ResizeRecord) -> String {
    match (resize.jpeg_quality, &resize.chroma_subsampling) {
        (Some(q), Some(chroma)) => {
            format!("{} (quality {q}, {chroma})", resize.image_format.name())
        }
        (Some(q), None) => format!("{} (quality {q})", resize.image_format.name()),
        _ => format!("{} (lossless)", resize.image_format.name()),
    }
}

/// The columns that say something else when the pictures were resized (`None`: the
/// description does not change).
fn resized_column_description(
    name: &str,
    manifest: &Manifest,
    resize: &ResizeRecord,
) -> Option<String> {
    let (r, s) = (resize.resolution, resize.source_size);
    let k = s / r.max(1);
    let points = manifest.landmarks.shape.first().copied().unwrap_or(110);
    Some(match name {
        "image" => format!(
            "the source image decoded, {} and encoded as {} by sfhq-pack: not the source bytes ({r}x{r} RGB)",
            resize.image_reduction(),
            stored_encoding(resize)
        ),
        "image_sha256" => "sha256 of image.bytes, the stored resized image".to_string(),
        "image_source_sha256" => format!("sha256 of the source image file ({s}x{s}) the stored image was made from"),
        "width" | "height" => "of the stored image, in pixels".to_string(),
        "segmentation" => format!(
            "face-parsing label map: 8-bit grayscale PNG ({r}x{r}), labels 0-18, one label per {k}x{k} block of the source map (exact for SFHQ's maps, upscaled x4 from 256 by repeating pixels; a mixed block takes its most frequent label, ties to the smallest)"
        ),
        "segmentation_sha256" => "sha256 of segmentation.bytes, the stored resized map".to_string(),
        "segmentation_source_sha256" => format!("sha256 of the source segmentation map ({s}x{s})"),
        "landmarks" => format!(
            "{points} (x, y) points in pixel coordinates of the stored {r}x{r} image (the source's times {r}/{s}): the 68 usual face points plus inner and outer hairline points"
        ),
        _ => return None,
    })
}

/// The 19 face-parsing classes (CelebAMask-HQ order, as BiSeNet face parsing outputs them).
pub const SEGMENTATION_LABELS: [&str; 19] = [
    "background",
    "skin",
    "left brow",
    "right brow",
    "left eye",
    "right eye",
    "eyeglasses",
    "left ear",
    "right ear",
    "earring",
    "nose",
    "mouth",
    "upper lip",
    "lower lip",
    "neck",
    "necklace",
    "cloth",
    "hair",
    "hat",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_from_rfc3339_stamps_only() {
        assert_eq!(
            date_of("2023-11-14T22:13:20Z").as_deref(),
            Some("2023-11-14")
        );
        assert_eq!(date_of("yesterday"), None);
        assert_eq!(date_of("2023/11/14T"), None);
    }

    #[test]
    fn slugs_are_suggested_in_kaggle_form() {
        assert_eq!(slugify("Face_Landmarks Demo!"), "face-landmarks-demo");
    }

    #[test]
    fn every_dtype_name_parses_back() {
        for name in ["uint8", "int16", "float16", "float32", "float64", "bool"] {
            assert_eq!(dtype_named(name).unwrap().name(), name);
        }
        assert!(dtype_named("complex64").is_err());
    }
}
