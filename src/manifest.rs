//! `manifest.json`: the contract between `convert`, `verify`, CI scripts and the publishing
//! files. Written last and atomically; it lists only complete shards. The same types serve
//! writing and reading, and `schema/manifest.schema.json` describes them for other tools.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ConvertConfig;
use crate::format::shard::ShardFormat;
use crate::format::ShardRecord;
use crate::schema::DatasetSchema;
use crate::source::inventory::Inventory;
use crate::source::inventory::{Orphan, RefusedPath};
use crate::source::parts::IncompletePart;
use crate::source::{Source, SourceKind};
use crate::split::SplitPlan;
use crate::validate::report::Report;
use crate::validate::report::{BlockShare, SampleIssues};
use crate::validate::statistics::Statistics;
use crate::validate::Code;

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";
pub const SUMS_FILE: &str = "SHA256SUMS";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// A source that was read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceEntry {
    pub path: String,
    pub kind: SourceKind,
    pub files: u64,
    pub bytes: u64,
    pub samples: u64,
}

/// The options that shaped the output (not the ones that cannot change it, such as the
/// thread count: the manifest is the same bytes whatever they are).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    pub formats: Vec<ShardFormat>,
    pub shard_size: u64,
    pub row_group_rows: usize,
    pub deep: bool,
    pub image_size: u32,
    pub landmark_count: usize,
    pub max_pixels: u64,
    pub max_file_bytes: u64,
    /// Fractions of the splits besides train, and the seed of the draw.
    pub splits: SplitPlan,
    /// `convert --resolution` below the source size: the stored size, the filters, the
    /// encoder and its quality. Absent when images and maps are the source bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resize: Option<crate::resize::ResizeRecord>,
}

/// The landmark column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LandmarksEntry {
    pub column: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// One feature model's column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureEntry {
    pub dim: usize,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Parquet column path.
    pub column: String,
    /// Member extension in WebDataset shards.
    pub wds_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub tool: Tool,
    /// From `SOURCE_DATE_EPOCH` only, so that reruns give the same bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created: Option<String>,
    pub sources: Vec<SourceEntry>,
    pub options: Options,
    /// Samples written.
    pub rows: u64,
    pub splits: BTreeMap<String, u64>,
    /// Rows per SFHQ part (`"none"` for keys without `SFHQ_pt{N}_`).
    pub parts: BTreeMap<String, u64>,
    pub shards: Vec<ShardRecord>,
    pub landmarks: LandmarksEntry,
    pub features: BTreeMap<String, FeatureEntry>,
    pub excluded: Vec<SampleIssues>,
    pub warned: Vec<SampleIssues>,
    pub orphans: Vec<Orphan>,
    pub unsafe_paths: Vec<RefusedPath>,
    /// Parts held with fewer samples than published (`source.incomplete`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub incomplete_parts: Vec<IncompletePart>,
    /// Issues of severity error, by code.
    pub errors: BTreeMap<Code, u64>,
    /// Issues of severity warning, by code.
    pub warnings: BTreeMap<Code, u64>,
    pub segmentation_block_share: BlockShare,
    /// Pixels per segmentation class and the landmark density over every row written,
    /// gathered while converting. Absent in manifests of versions before it was recorded
    /// (`report` then estimates them from sampled rows).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub statistics: Option<Statistics>,
    /// `convert --dedup-threshold`: the threshold, the model and every near-duplicate group,
    /// each kept in one split. Absent without the option.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dedup: Option<crate::dedup::DedupRecord>,
    /// The files `sfhq-pack package` wrote into the folder (card, `croissant.json`, the
    /// `kaggle/` folder), with their checksums: what `verify` checks and what `convert
    /// --overwrite` may remove. Absent until `package` runs.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub published: Vec<PublishedFile>,
}

/// Manifest paths are relative and never climb: a doctored manifest must not make `verify`,
/// `extract` or `dedup` read a file outside the folder.
pub(crate) fn is_inside_folder(rel: &str) -> bool {
    !rel.starts_with('/')
        && !rel.contains('\\')
        && rel.split('/').all(|p| !p.is_empty() && p != "..")
}

fn folder_of(manifest: &Path) -> &Path {
    manifest.parent().unwrap_or(manifest)
}

/// One file `package` wrote, relative to the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Why `manifest.json` could not be read: callers tell a folder without one (not an
/// sfhq-pack output, or a download that left it out) from a damaged one.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: no manifest.json here: not a folder sfhq-pack wrote, or a copy that left it out", folder_of(.0).display())]
    Missing(PathBuf),
    #[error("{path}: cannot read manifest: {source}", path = .0.display(), source = .1)]
    Unreadable(PathBuf, std::io::Error),
    #[error("{path}: not a sfhq-pack manifest: {source}", path = .0.display(), source = .1)]
    Invalid(PathBuf, serde_json::Error),
    #[error("{}: format_version {found} is not supported by this sfhq-pack (it reads {FORMAT_VERSION}); use a matching version", path.display())]
    Version { path: PathBuf, found: u32 },
}

impl Manifest {
    /// The manifest of a finished conversion: sources, options, shards, and every sample
    /// excluded or warned about, with files named by their source's name.
    pub(crate) fn assemble(
        config: &ConvertConfig,
        inventory: &Inventory,
        schema: &DatasetSchema,
        report: Report,
        parts: BTreeMap<String, u64>,
        shards: Vec<ShardRecord>,
    ) -> Manifest {
        // Every format holds every row: count the rows of one of them.
        let mut splits = BTreeMap::new();
        for shard in shards
            .iter()
            .filter(|s| Some(&s.format) == config.formats.first())
        {
            *splits.entry(shard.split.clone()).or_insert(0) += shard.rows;
        }
        let landmark_count = config.check.checks.landmark_count;
        let names = SourceNames::new(&inventory.sources);
        let name_files = |samples: Vec<SampleIssues>| -> Vec<SampleIssues> {
            samples
                .into_iter()
                .map(|mut sample| {
                    for issue in &mut sample.issues {
                        issue.file = names.file(&issue.file);
                    }
                    sample
                })
                .collect()
        };
        Manifest {
            format_version: FORMAT_VERSION,
            tool: Tool::this(),
            created: created_from_env(),
            sources: inventory
                .summaries
                .iter()
                .map(|s| SourceEntry {
                    path: names.source(&s.path),
                    kind: s.kind,
                    files: s.files,
                    bytes: s.bytes,
                    samples: s.samples,
                })
                .collect(),
            options: config.manifest_options(),
            rows: splits.values().sum(),
            splits,
            parts,
            shards,
            landmarks: LandmarksEntry {
                column: "landmarks".to_string(),
                dtype: schema.landmarks.name().to_string(),
                shape: vec![landmark_count, 2],
            },
            features: schema
                .features
                .iter()
                .map(|f| {
                    let entry = FeatureEntry {
                        dim: f.dim,
                        dtype: f.dtype.name().to_string(),
                        shape: vec![1, f.dim],
                        column: format!("pretrained_features.{}", f.model),
                        wds_name: f.wds_name.clone(),
                    };
                    (f.model.clone(), entry)
                })
                .collect(),
            excluded: name_files(report.excluded),
            warned: name_files(report.warned),
            orphans: report
                .orphans
                .into_iter()
                .map(|mut orphan| {
                    orphan.files = orphan.files.iter().map(|f| names.file(f)).collect();
                    orphan
                })
                .collect(),
            unsafe_paths: report
                .unsafe_paths
                .into_iter()
                .map(|mut refused| {
                    refused.source = names.source(&refused.source);
                    refused
                })
                .collect(),
            incomplete_parts: report
                .incomplete_parts
                .into_iter()
                .map(|mut part| {
                    part.sources = part.sources.iter().map(|s| names.source(s)).collect();
                    part
                })
                .collect(),
            errors: report.errors,
            warnings: report.warnings,
            segmentation_block_share: report.segmentation_block_share,
            statistics: Some(report.statistics),
            dedup: None,
            published: Vec::new(),
        }
    }

    pub fn read(out: &Path) -> Result<Manifest, ManifestError> {
        let path = out.join(MANIFEST_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ManifestError::Missing(path))
            }
            Err(e) => return Err(ManifestError::Unreadable(path, e)),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| ManifestError::Invalid(path.clone(), e))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(ManifestError::Version {
                path,
                found: manifest.format_version,
            });
        }
        Ok(manifest)
    }

    /// `SHA256SUMS` in the format `sha256sum -c` reads, `<hex>  <path>`: every shard, then
    /// `manifest.json` itself (`manifest_json` is its bytes), so that a change to any byte of
    /// the folder's contract is caught by `verify` and by `sha256sum -c` alike.
    pub fn sums(&self, manifest_json: &[u8]) -> String {
        let mut text: String = self
            .shards
            .iter()
            .map(|s| format!("{}  {}\n", s.sha256, s.path))
            .collect();
        text.push_str(&format!(
            "{}  {MANIFEST_FILE}\n",
            crate::checksum::sha256_hex(manifest_json)
        ));
        text
    }

    /// Writes `manifest.json`, then `SHA256SUMS` (which holds the manifest's hash), each
    /// atomically.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        let json = self.to_json();
        crate::output::write_atomic(&out.join(MANIFEST_FILE), json.as_bytes())?;
        crate::fault::point("before-sums");
        crate::output::write_atomic(&out.join(SUMS_FILE), self.sums(json.as_bytes()).as_bytes())
    }

    /// The bytes of `manifest.json`: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        text.push('\n');
        text
    }
}

/// Formats `SOURCE_DATE_EPOCH` (seconds since 1970) as an RFC 3339 UTC time stamp.
pub fn created_from_env() -> Option<String> {
    let secs: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(rfc3339(secs))
}

/// Seconds since 1970 as an RFC 3339 UTC time stamp.
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm): proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// How the manifest names a source and the files in it: by the source's own name
/// (`SFHQ_pt2.zip`, `SFHQ_pt1`) instead of the path typed on the command line, so that the
/// manifest's bytes do not depend on the working directory or where the download sits, and
/// a published manifest carries no local path. The terminal still shows paths as typed.
pub struct SourceNames {
    /// (path as typed, its name), and the prefixes of the files in it.
    sources: Vec<(String, String)>,
    prefixes: Vec<(String, String)>,
}

impl SourceNames {
    pub fn new(sources: &[Source]) -> SourceNames {
        let mut names = SourceNames {
            sources: Vec::new(),
            prefixes: Vec::new(),
        };
        for source in sources {
            let name = source_name(&source.path);
            let (typed_prefix, named_prefix) = match source.kind {
                SourceKind::Folder => (
                    source.path.join("").display().to_string(),
                    format!("{name}/"),
                ),
                SourceKind::Zip => (format!("{}!", source.path.display()), format!("{name}!")),
            };
            names
                .sources
                .push((source.path.display().to_string(), name));
            names.prefixes.push((typed_prefix, named_prefix));
        }
        // A source inside another: the longer path decides.
        names
            .prefixes
            .sort_by_key(|(typed, _)| std::cmp::Reverse(typed.len()));
        names
    }

    /// The name of a source given by its path as typed.
    pub fn source(&self, typed: &str) -> String {
        self.sources
            .iter()
            .find(|(path, _)| path == typed)
            .map_or_else(|| typed.to_string(), |(_, name)| name.clone())
    }

    /// A file's path with its source's typed path replaced by the source's name.
    pub fn file(&self, typed: &str) -> String {
        self.prefixes
            .iter()
            .find_map(|(prefix, named)| {
                typed
                    .strip_prefix(prefix.as_str())
                    .map(|rest| format!("{named}{rest}"))
            })
            .unwrap_or_else(|| typed.to_string())
    }
}

/// The last component of the source's real path (`.` names the current folder's name).
fn source_name(path: &Path) -> String {
    let resolved = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    resolved.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_formatted_in_utc() {
        std::env::set_var("SOURCE_DATE_EPOCH", "1700000000");
        assert_eq!(created_from_env().as_deref(), Some("2023-11-14T22:13:20Z"));
        std::env::set_var("SOURCE_DATE_EPOCH", "0");
        assert_eq!(created_from_env().as_deref(), Some("1970-01-01T00:00:00Z"));
        std::env::remove_var("SOURCE_DATE_EPOCH");
        assert_eq!(created_from_env(), None);
    }
}
