//! `plan`: what `convert` would produce, predicted from the inventory alone (no decoding),
//! set against the limits of Hugging Face and Kaggle, so that a limit is found before hours
//! of converting and uploading rather than after.
//!
//! Shards are cut by the same rules as the sinks, on the same key order and split draw,
//! with each sample's size taken from its files: exact for images and maps (their bytes
//! are stored as read), a close bound for the small arrays. Samples that fail validation
//! are not known without decoding, so the plan is an upper bound.
//!
//! `plan` takes no `--dedup-threshold`, on purpose: finding near-duplicate groups reads
//! every feature pickle and image (the whole cost of `dedup`), which a plan made from the
//! inventory alone must not. The grouping only moves the members of near-duplicate groups
//! to the split of their smallest key, so the totals stand; a split's sample count, and
//! its shard count, may differ by those samples. Refusing the option (a usage error) is
//! better than accepting it and predicting something else.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::format::shard::{starts_new_shard, ShardFormat};
use crate::format::webdataset::names::BLOCK;
use crate::publish::limits::{
    kaggle_files, Platform, HF_FILES_PER_FOLDER, HF_FILES_PER_REPO, HF_MAX_FILE,
    HF_RECOMMENDED_FILE, KAGGLE_FILES_BESIDES_SHARDS, KAGGLE_MAX_FILES, TOP_LEVEL_FILES,
};
use crate::sample::Modality;
use crate::source::inventory::{Inventory, SampleFiles};
use crate::split::SplitPlan;
use crate::ui::format_bytes;

/// What `plan` predicts for.
pub struct PlanConfig {
    pub formats: Vec<ShardFormat>,
    pub shard_size: u64,
    pub splits: SplitPlan,
    /// The platform whose limits to check; `None`: both.
    pub target: Option<Platform>,
}

/// Tar bytes of a sample's `.json` member (a bound).
const JSON_MEMBER: u64 = 2 * BLOCK;
/// Parquet footer, schema and page headers of a shard: a bound for small shards.
const PARQUET_OVERHEAD: u64 = 16 * 1024;

#[derive(Debug, Serialize)]
pub struct PlannedFolder {
    pub path: String,
    pub files: u64,
    pub bytes: u64,
    pub largest_file: u64,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub target: &'static str,
    pub rule: String,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub samples: u64,
    pub splits: BTreeMap<String, u64>,
    pub folders: Vec<PlannedFolder>,
    /// Shards per format and split.
    pub shards: BTreeMap<String, BTreeMap<String, u64>>,
    pub total_files: u64,
    pub total_bytes: u64,
    pub largest_file: u64,
    pub checks: Vec<Check>,
    pub verdict: &'static str,
}

/// Running cut of one shard sequence, with the writers' rule ([`starts_new_shard`]).
#[derive(Default)]
struct Cutter {
    sizes: Vec<u64>,
    current: u64,
    rows: u64,
}

impl Cutter {
    fn add(&mut self, size: u64, limit: u64, reserve: u64) {
        if starts_new_shard(self.rows, self.current, size, reserve, limit) {
            self.sizes.push(self.current);
            self.current = 0;
            self.rows = 0;
        }
        self.current += size;
        self.rows += 1;
    }

    fn finish(mut self) -> Vec<u64> {
        if self.rows > 0 {
            self.sizes.push(self.current);
        }
        self.sizes
    }
}

fn file_size(sample: &SampleFiles, modality: Modality) -> u64 {
    sample.file(modality).map_or(0, |f| f.size)
}

fn padded(len: u64) -> u64 {
    BLOCK + len.div_ceil(BLOCK) * BLOCK
}

pub fn plan(inventory: &Inventory, config: &PlanConfig) -> Plan {
    let splits = &config.splits;
    let parquet = config.formats.contains(&ShardFormat::Parquet);
    let webdataset = config.formats.contains(&ShardFormat::Webdataset);
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut parquet_cuts: BTreeMap<String, Cutter> = BTreeMap::new();
    let mut tar_cuts: BTreeMap<String, Cutter> = BTreeMap::new();
    let models = inventory
        .samples
        .iter()
        .any(|s| s.file(Modality::Features).is_some());
    for sample in &inventory.samples {
        let split = splits.split_of(&sample.key).to_string();
        *rows.entry(split.clone()).or_default() += 1;
        let image = file_size(sample, Modality::Image);
        let seg = file_size(sample, Modality::Segmentation);
        let landmarks = file_size(sample, Modality::Landmarks);
        let features = file_size(sample, Modality::Features);
        if parquet {
            let payload = image + seg + landmarks + features;
            parquet_cuts
                .entry(split.clone())
                .or_default()
                .add(payload, config.shard_size, 0);
        }
        if webdataset {
            let arrays = padded(landmarks) + if models { padded(features) } else { 0 };
            let tar = padded(image) + padded(seg) + arrays + JSON_MEMBER;
            tar_cuts
                .entry(split)
                .or_default()
                .add(tar, config.shard_size, 2 * BLOCK);
        }
    }

    let mut folders = Vec::new();
    let mut shards: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (name, cuts, overhead, end) in [
        ("data", parquet_cuts, PARQUET_OVERHEAD, 0),
        ("webdataset", tar_cuts, 0, 2 * BLOCK),
    ] {
        if cuts.is_empty() {
            continue;
        }
        let mut folder = PlannedFolder {
            path: name.to_string(),
            files: 0,
            bytes: 0,
            largest_file: 0,
        };
        let format = if name == "data" {
            "parquet"
        } else {
            "webdataset"
        };
        for (split, cutter) in cuts {
            let sizes = cutter.finish();
            shards
                .entry(format.to_string())
                .or_default()
                .insert(split, sizes.len() as u64);
            for size in sizes {
                let bytes = size + overhead + end;
                folder.files += 1;
                folder.bytes += bytes;
                folder.largest_file = folder.largest_file.max(bytes);
            }
        }
        if format == "webdataset" {
            // One wids index per split.
            folder.files += shards[format].len() as u64;
        }
        folders.push(folder);
    }
    let total_files = folders.iter().map(|f| f.files).sum::<u64>() + TOP_LEVEL_FILES;
    let total_bytes = folders.iter().map(|f| f.bytes).sum();
    let largest_file = folders.iter().map(|f| f.largest_file).max().unwrap_or(0);

    let mut checks = Vec::new();
    let mut check = |target, ok, rule: String| checks.push(Check { target, rule, ok });
    if config.target != Some(Platform::Kaggle) {
        check(
            "hf",
            largest_file < HF_MAX_FILE,
            format!(
                "every file under 50 GB (largest {})",
                format_bytes(largest_file)
            ),
        );
        check(
            "hf",
            largest_file < HF_RECOMMENDED_FILE,
            format!(
                "every file under the recommended 20 GB (largest {})",
                format_bytes(largest_file)
            ),
        );
        let most = folders.iter().map(|f| f.files).max().unwrap_or(0);
        check(
            "hf",
            most < HF_FILES_PER_FOLDER,
            format!("under 10,000 files per folder (most {most})"),
        );
        check(
            "hf",
            total_files < HF_FILES_PER_REPO,
            format!("under 100,000 files in the repository ({total_files})"),
        );
    }
    if config.target != Some(Platform::HuggingFace) {
        // Kaggle gets the Parquet shards, or the tar shards when there are none.
        let count = |format: &str| shards.get(format).map_or(0, |s| s.values().sum::<u64>());
        let shards = match count("parquet") {
            0 => count("webdataset"),
            n => n,
        } as usize;
        let files = kaggle_files(shards);
        check(
            "kaggle",
            files < KAGGLE_MAX_FILES,
            format!(
                "under {KAGGLE_MAX_FILES} files in the upload folder ({files}: {shards} shards, {}); raise --shard-size if not",
                KAGGLE_FILES_BESIDES_SHARDS.join(", ")
            ),
        );
    }
    let verdict = if checks.iter().all(|c| c.ok) {
        "fits every checked platform limit"
    } else {
        "exceeds a platform limit: see the failed checks"
    };
    Plan {
        samples: inventory.samples.len() as u64,
        splits: rows,
        folders,
        shards,
        total_files,
        total_bytes,
        largest_file,
        checks,
        verdict,
    }
}
