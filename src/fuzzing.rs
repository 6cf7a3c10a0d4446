//! The fuzzing facade: one function per fuzz target in `fuzz/`, each taking the fuzzer's
//! bytes and handing them to the real parsers the way the commands do.
//!
//! The fuzz targets and the replay test (`tests/fuzz_replay.rs`) call only this module, so
//! that moving the parsers around inside the crate changes this file and nothing else.
//! Every function returns `Ok(())` whatever the input is, since refusing bad bytes is the
//! parsers' job; `Err` means an invariant broke (bytes that decode, encode and decode again
//! to something else), and a panic anywhere is a bug. Parsers that only take a path (zip
//! sources, shards, `manifest.json`) get the bytes through a file in a scratch folder of
//! this thread, emptied before every call.
//!
//! Not part of the public interface: hidden from the docs, and free to change.

use std::cell::RefCell;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use clap::Parser;

use crate::checksum::sha256_hex;
use crate::cli::{Cli, Command};
use crate::config::{CheckConfig, ExtractConfig};
use crate::decode::array::Array;
use crate::decode::{image, npy, pickle};
use crate::dedup::{self, load::Converted, DedupConfig};
use crate::encode;
use crate::format::parquet::reader::{for_each_row, read_key_span};
use crate::format::shard::ShardFormat;
use crate::format::webdataset::reader::{for_each_sample, member_sets};
use crate::format::ShardRecord;
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::pipeline::Progress;
use crate::publish;
use crate::sample::Modality;
use crate::scan::ScanReport;
use crate::source::inventory::Inventory;
use crate::validate::report::Report;
use crate::validate::rules::{self, Checks};
use crate::{extract, verify};

/// A target: the fuzzer's bytes in; `Err` when an invariant of ours broke.
pub type Target = fn(&[u8]) -> Result<(), String>;

/// Every target by name: `fuzz/fuzz_targets/<name>.rs` calls the function, and the replay
/// test runs `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/` through it.
pub const TARGETS: &[(&str, Target)] = &[
    ("pickle", pickle),
    ("npy", npy),
    ("npz", npz),
    ("label_map", label_map),
    ("image_header", image_header),
    ("zip_source", zip_source),
    ("tar_shard", tar_shard),
    ("parquet_shard", parquet_shard),
    ("manifest", manifest),
];

/// The checks and the file size limit `validate` and `convert` run with by default, taken
/// from the command line's own defaults so that they cannot drift apart.
fn check_config() -> &'static CheckConfig {
    static CONFIG: OnceLock<CheckConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        match Cli::try_parse_from(["sfhq-pack", "validate", "fuzz"]).map(|c| c.command) {
            Ok(Command::Validate(args)) => CheckConfig::from_args(&args.checks),
            _ => unreachable!("`sfhq-pack validate fuzz` parses"),
        }
    })
}

fn checks() -> &'static Checks {
    &check_config().checks
}

/// Feature pickles (`pretrained_features/*.pickle`): the feature rule as `convert` runs it,
/// then what `extract` does with the arrays it keeps: write them as a pickle again, which
/// must read back the same.
pub fn pickle(data: &[u8]) -> Result<(), String> {
    let mut issues = Vec::new();
    let models = rules::check_features(data, "fuzz.pickle", checks(), &|_| None, &mut issues);
    if models.is_empty() {
        return Ok(());
    }
    let refs: Vec<(&str, &Array)> = models.iter().map(|(m, a)| (m.as_str(), a)).collect();
    let mut again = Vec::new();
    encode::pickle::write_feature_dict(&refs, &mut again);
    match pickle::read_feature_dict(&again, &checks().pickle_limits) {
        Ok(back) if back == models => Ok(()),
        Ok(back) => Err(format!(
            "feature dict changed in a write and read: {models:?} became {back:?}"
        )),
        Err(e) => Err(format!("a feature dict we wrote cannot be read: {e}")),
    }
}

/// Bare `.npy` files (WebDataset members, `extract`'s input): read as `extract` reads a
/// member, and as the landmark rule reads a landmarks file; what decodes must survive
/// `write_npy` and a second read unchanged.
pub fn npy(data: &[u8]) -> Result<(), String> {
    let mut issues = Vec::new();
    let _ = rules::check_landmarks(data, "fuzz.npy", checks(), &mut issues);
    let Ok(array) = npy::read_named_array(data, "landmarks", data.len()) else {
        return Ok(());
    };
    let mut again = Vec::new();
    encode::npy::write_npy(&array, array.dtype, &mut again);
    match npy::read_named_array(&again, "landmarks", again.len()) {
        Ok(back) if back == array => Ok(()),
        Ok(back) => Err(format!(
            ".npy changed in a write and read: {array:?} became {back:?}"
        )),
        Err(e) => Err(format!("a .npy we wrote cannot be read: {e}")),
    }
}

/// Landmark archives (`landmarks/*.npz`): the landmark rule, then `extract`'s reading and
/// writing of the array, which must round-trip.
pub fn npz(data: &[u8]) -> Result<(), String> {
    let mut issues = Vec::new();
    let Some(array) = rules::check_landmarks(data, "fuzz.npz", checks(), &mut issues) else {
        // Refused by the rule; extract reads members with the member's size as the limit.
        let _ = npy::read_named_array(data, "landmarks", data.len());
        return Ok(());
    };
    let mut again = Vec::new();
    encode::npy::write_npz(&[("landmarks", &array)], &mut again);
    match npy::read_named_array(&again, "landmarks", again.len()) {
        Ok(back) if back == array => Ok(()),
        Ok(back) => Err(format!(
            ".npz changed in a write and read: {array:?} became {back:?}"
        )),
        Err(e) => Err(format!("a .npz we wrote cannot be read: {e}")),
    }
}

/// Segmentation maps (`segmentations/*.png`): the segmentation rule (header, pixel limit,
/// the row-by-row label-map summary).
pub fn label_map(data: &[u8]) -> Result<(), String> {
    let mut issues = Vec::new();
    let _ = rules::check_segmentation(data, "fuzz.png", checks(), &mut issues);
    // The class counts cover every pixel exactly once, whatever the tiles.
    let max_bytes = usize::try_from(checks().max_pixels).unwrap_or(usize::MAX);
    if let Ok(map) = crate::decode::segmentation::summarize_label_map(data, max_bytes, 18, 4) {
        let counted: u64 = map.label_pixels.iter().sum();
        let pixels = u64::from(map.width) * u64::from(map.height);
        if counted != pixels {
            return Err(format!("{counted} pixels counted in a map of {pixels}"));
        }
    }
    Ok(())
}

/// Image headers (`images/*.jpg`, our own JPEG and PNG header reader): the image rule as
/// `convert` runs it by default (header only, no `--deep` decode).
pub fn image_header(data: &[u8]) -> Result<(), String> {
    let mut issues = Vec::new();
    let _ = rules::check_image(data, "fuzz.jpg", checks(), &mut issues);
    let _ = image::read_header(data);
    Ok(())
}

/// A zip source (a Kaggle download): the inventory (central directory, member names,
/// refusal of unsafe names, pairing by stem), `scan`'s report on it, and a read of every
/// paired member under the default size limit.
pub fn zip_source(data: &[u8]) -> Result<(), String> {
    with_scratch(|dir| {
        let path = dir.join("SFHQ_fuzz.zip");
        fs::write(&path, data).map_err(|e| e.to_string())?;
        let Ok(inventory) = Inventory::build(&[path]) else {
            return Ok(());
        };
        let report = ScanReport::from_inventory(&inventory);
        let _ = serde_json::to_string(&report);
        let _ = Report::from_inventory(&inventory, 1024);
        for sample in &inventory.samples {
            for modality in Modality::ALL {
                let _ = inventory.display_path(sample, modality);
                let _ = inventory.expected_path(sample, modality);
                let _ = inventory.file_name(sample, modality);
                let _ = inventory.source_has(sample, modality);
                let _ = inventory.read(sample, modality, check_config().max_file_bytes);
            }
        }
        Ok(())
    })
}

/// The largest member or cell `extract` reads back from a shard (its own limit is 1 GiB;
/// smaller here only so that the fuzzer does not spend its memory on it).
const MAX_MEMBER_BYTES: u64 = 16 << 20;

/// A WebDataset shard (`webdataset/*.tar`): the tar reader directly (`verify`'s member
/// sets and `extract`'s reading of every sample), then the `extract` command on a folder
/// whose manifest lists the shard with its own size, sha256, sample count and keys, so
/// that `verify`'s checks of it pass whenever the tar is well formed and `extract` goes on
/// to read every sample's `KEY.json`, arrays and file names.
pub fn tar_shard(data: &[u8]) -> Result<(), String> {
    with_scratch(|dir| {
        let mut record = place_shard(dir, "webdataset/train-000000.tar", data)?;
        let path = dir.join(&record.path);
        if let Ok(samples) = member_sets(data) {
            record.rows = samples.len() as u64;
            if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
                record.first_key.clone_from(&first.0);
                record.last_key.clone_from(&last.0);
            }
        }
        let _ = for_each_sample(data, MAX_MEMBER_BYTES, |_| Ok(()));
        let _ = verify::check_shard(dir, &record);
        run_extract(dir, record, &path)
    })
}

/// A Parquet shard (`data/*.parquet`): the readers directly (`verify`'s footer, row count
/// and key column; `extract`'s reading of every column), `package`'s reading of the footer,
/// `dedup`'s reading of the key, image hash and vector columns, then the `extract` command on a folder whose manifest (that of a conversion of the
/// fixtures) lists the shard with its own size, sha256, row count and keys.
pub fn parquet_shard(data: &[u8]) -> Result<(), String> {
    with_scratch(|dir| {
        let mut record = place_shard(dir, "data/train-00000-of-00001.parquet", data)?;
        let path = dir.join(&record.path);
        let open = || File::open(&path).map_err(|e| e.to_string());
        if let Ok(span) = read_key_span(open()?) {
            record.rows = span.rows;
            record.first_key = span.first.unwrap_or_default();
            record.last_key = span.last.unwrap_or_default();
        }
        let shape = &fixtures_manifest()?.landmarks.shape;
        let _ = for_each_row(open()?, shape, |_| Ok(()));
        let manifest = Manifest {
            shards: vec![record.clone()],
            ..fixtures_manifest()?.clone()
        };
        let _ = publish::Facts::gather(dir, &manifest);
        let converted = Converted {
            dir: dir.to_path_buf(),
            manifest: listing(record.clone())?,
        };
        let config = DedupConfig::new(
            dedup::DEFAULT_THRESHOLD,
            dedup::DEFAULT_MODEL,
            1,
            check_config().max_file_bytes,
        )
        .map_err(|e| e.to_string())?;
        let never = std::sync::atomic::AtomicBool::new(false);
        let _ = dedup::load(None, &[converted], &config, &never, &NoProgress);
        run_extract(dir, record, &path)
    })
}

/// Writes a manifest listing `record` alone (as the fixtures' conversion would, the rest
/// unchanged) and runs the `extract` engine on the folder: the shard is verified first and
/// read only if it matches. Whatever `extract` wrote is removed with the scratch folder.
fn run_extract(dir: &Path, record: ShardRecord, path: &Path) -> Result<(), String> {
    if !path.is_file() {
        return Err(format!("{}: the shard was not written", path.display()));
    }
    let manifest = listing(record)?;
    let text = serde_json::to_string(&manifest).map_err(|e| e.to_string())?;
    fs::write(dir.join(MANIFEST_FILE), text).map_err(|e| e.to_string())?;
    let config = ExtractConfig {
        dir: dir.to_path_buf(),
        out: dir.join("extracted"),
        from: None,
        overwrite: true,
    };
    let _ = extract::extract(&config, &NoProgress, &AtomicBool::new(false));
    Ok(())
}

/// The fixtures' manifest, listing `record` as its only shard.
fn listing(record: ShardRecord) -> Result<Manifest, String> {
    let mut manifest = fixtures_manifest()?.clone();
    manifest.options.formats = vec![record.format];
    manifest.rows = record.rows;
    manifest.shards = vec![record];
    Ok(manifest)
}

struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _samples: u64, _bytes: u64) {}
}

/// `manifest.json`: the reader `verify`, `extract` and `package` share, then what they do
/// with a manifest before touching any shard (every check of `verify`, here against a
/// folder holding nothing else, and `package`'s gathering of facts).
pub fn manifest(data: &[u8]) -> Result<(), String> {
    with_scratch(|dir| {
        fs::write(dir.join(MANIFEST_FILE), data).map_err(|e| e.to_string())?;
        let Ok(manifest) = Manifest::read(dir) else {
            return Ok(());
        };
        let _ = verify::verify(dir, &manifest, None, &NoProgress, &AtomicBool::new(false));
        let _ = publish::Facts::gather(dir, &manifest);
        Ok(())
    })
}

/// Writes `data` as the shard `rel` and returns a manifest record that lists it with its
/// own size and sha256 (one row, the first fixture key, until the caller knows better).
fn place_shard(dir: &Path, rel: &str, data: &[u8]) -> Result<ShardRecord, String> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    fs::write(&path, data).map_err(|e| e.to_string())?;
    let format = if rel.ends_with(".tar") {
        ShardFormat::Webdataset
    } else {
        ShardFormat::Parquet
    };
    Ok(ShardRecord {
        path: rel.to_string(),
        format,
        split: "train".to_string(),
        rows: 1,
        bytes: data.len() as u64,
        sha256: sha256_hex(data),
        first_key: "SFHQ_pt1_00000001".to_string(),
        last_key: "SFHQ_pt1_00000001".to_string(),
    })
}

/// The manifest `convert` writes for the three good fixture sets, without its shards:
/// what `extract` needs to read a Parquet shard (the landmark shape, the feature columns).
const FIXTURES_MANIFEST: &str = include_str!("fuzzing_manifest.json");

fn fixtures_manifest() -> Result<&'static Manifest, String> {
    static MANIFEST: OnceLock<Result<Manifest, String>> = OnceLock::new();
    MANIFEST
        .get_or_init(|| {
            serde_json::from_str(FIXTURES_MANIFEST)
                .map_err(|e| format!("src/fuzzing_manifest.json no longer parses: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A folder of this thread's own under the temporary folder, removed when the thread ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Runs `f` in this thread's scratch folder, emptied first.
fn with_scratch(f: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    SCRATCH.with_borrow_mut(|scratch| {
        let dir = &scratch
            .get_or_insert_with(|| {
                Scratch(std::env::temp_dir().join(format!(
                    "sfhq-pack-fuzz-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                )))
            })
            .0;
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        f(dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_manifest_parses() {
        let manifest = fixtures_manifest().unwrap();
        assert_eq!(manifest.landmarks.shape, [110, 2]);
    }

    #[test]
    fn every_target_accepts_nothing() {
        for (name, target) in TARGETS {
            assert_eq!(target(b""), Ok(()), "{name}");
        }
    }
}
