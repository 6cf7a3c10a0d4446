//! `plan`: what `convert` would produce, predicted from the inventory alone (no decoding),
//! set against the limits of Hugging Face and Kaggle, so that a limit is found before hours
//! of converting and uploading rather than after.
//!
//! Shards are cut by the same rules as the sinks, on the same key order and split draw,
//! with each sample's size taken from its files: exact for images and maps (their bytes
//! are stored as read), a close bound for the small arrays. Samples that fail validation
//! are not known without decoding, so the plan is an upper bound.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{FormatArg, PlanArgs, Target};
use crate::exit::ExitCode;
use crate::source::inventory::{Inventory, Modality, SampleFiles};
use crate::split::SplitPlan;
use crate::ui::{format_bytes, Printer};

/// Hugging Face: hard limit per file, recommended maximum per file, entries per folder,
/// files per repository (hub-docs storage limits).
const HF_MAX_FILE: u64 = 50_000_000_000;
const HF_RECOMMENDED_FILE: u64 = 20_000_000_000;
const HF_FILES_PER_FOLDER: u64 = 10_000;
const HF_FILES_PER_REPO: u64 = 100_000;
/// Kaggle refuses a dataset version of 1,000 files or more; its client uploads the top level
/// of one folder only.
const KAGGLE_FILES: u64 = 1_000;
/// manifest.json, SHA256SUMS, README.md, croissant.json.
const TOP_LEVEL_FILES: u64 = 4;
/// Tar bytes of one member header, and of a sample's `.json` member (a bound).
const BLOCK: u64 = 512;
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

/// Running cut of one shard sequence, with the sinks' rule: a new shard starts when the
/// next sample would push the current one past the size, never leaving one empty.
#[derive(Default)]
struct Cutter {
    sizes: Vec<u64>,
    current: u64,
    rows: u64,
}

impl Cutter {
    fn add(&mut self, size: u64, limit: u64, reserve: u64) {
        if self.rows > 0 && self.current + size + reserve > limit {
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

pub fn run(args: &PlanArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let splits = args.sharding.split_plan()?;
    // A duplicate key stops `convert` before it writes anything: no plan can be kept.
    let inventory = super::inventory_without_duplicates(&args.sources)?;
    let plan = plan(&inventory, &splits, args);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print_text(&plan);
    }
    printer.status(&format!("plan: {}", plan.verdict));
    Ok(ExitCode::from_problems(plan.checks.iter().any(|c| !c.ok)))
}

pub fn plan(inventory: &Inventory, splits: &SplitPlan, args: &PlanArgs) -> Plan {
    let parquet = args.sharding.formats.contains(&FormatArg::Parquet);
    let webdataset = args.sharding.formats.contains(&FormatArg::Webdataset);
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
            parquet_cuts.entry(split.clone()).or_default().add(
                payload,
                args.sharding.shard_size,
                0,
            );
        }
        if webdataset {
            let arrays = padded(landmarks) + if models { padded(features) } else { 0 };
            let tar = padded(image) + padded(seg) + arrays + JSON_MEMBER;
            tar_cuts
                .entry(split)
                .or_default()
                .add(tar, args.sharding.shard_size, 2 * BLOCK);
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
    let parquet_files = folders
        .iter()
        .find(|f| f.path == "data")
        .map_or(0, |f| f.files);

    let mut checks = Vec::new();
    let mut check = |target, ok, rule: String| checks.push(Check { target, rule, ok });
    if args.target != Some(Target::Kaggle) {
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
    if args.target != Some(Target::Hf) {
        let kaggle_files = parquet_files + 2;
        check(
            "kaggle",
            kaggle_files < KAGGLE_FILES,
            format!("under 1,000 files in the upload folder ({kaggle_files}: Parquet shards, card, dataset-metadata.json); raise --shard-size if not"),
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

fn print_text(plan: &Plan) {
    println!(
        "{} samples (an upper bound: samples that fail validation are not counted out)",
        plan.samples
    );
    for (split, rows) in &plan.splits {
        println!("  split {split}: {rows} samples");
    }
    for folder in &plan.folders {
        println!(
            "{}/: {} files, {}, largest {}",
            folder.path,
            folder.files,
            format_bytes(folder.bytes),
            format_bytes(folder.largest_file)
        );
    }
    println!(
        "total: {} files, {}",
        plan.total_files,
        format_bytes(plan.total_bytes)
    );
    for check in &plan.checks {
        println!(
            "{} {}: {}",
            if check.ok { "ok  " } else { "FAIL" },
            check.target,
            check.rule
        );
    }
    println!("verdict: {}", plan.verdict);
}
