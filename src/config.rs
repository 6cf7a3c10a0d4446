//! Settings resolved once from the command line. Engines take these, never clap types.

use std::path::PathBuf;

use crate::cli::{CheckArgs, ConvertArgs, FormatArg};
use crate::decode::pickle::PickleLimits;
use crate::manifest::Options;
use crate::sink::parquet::ParquetOptions;
use crate::sink::shard::ShardFormat;
use crate::split::SplitPlan;
use crate::validate::rules::{Checks, MAX_LANDMARK_BYTES};

/// Everything `validate` and `convert` need to check samples.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub checks: Checks,
    pub max_file_bytes: u64,
}

impl CheckConfig {
    pub fn from_args(args: &CheckArgs) -> CheckConfig {
        let max_file_bytes = args.max_file_bytes;
        let bounded = usize::try_from(max_file_bytes).unwrap_or(usize::MAX);
        CheckConfig {
            checks: Checks {
                image_size: args.image_size,
                landmark_count: args.landmark_count,
                max_pixels: args.max_pixels,
                deep: args.deep,
                pickle_limits: PickleLimits {
                    max_input_bytes: bounded,
                    max_array_bytes: MAX_LANDMARK_BYTES.min(bounded),
                    ..PickleLimits::default()
                },
                max_array_bytes: MAX_LANDMARK_BYTES.min(bounded),
            },
            max_file_bytes,
        }
    }
}

/// Everything `convert` needs.
#[derive(Debug, Clone)]
pub struct ConvertConfig {
    pub sources: Vec<PathBuf>,
    pub out: PathBuf,
    pub check: CheckConfig,
    pub parquet: ParquetOptions,
    /// In a fixed order (Parquet first), duplicates removed.
    pub formats: Vec<ShardFormat>,
    /// Tar header time stamp: `SOURCE_DATE_EPOCH`, or 0.
    pub mtime: u64,
    pub overwrite: bool,
    pub json: bool,
    pub splits: SplitPlan,
    /// `--dedup-threshold`: near-duplicate groups stay in one split.
    pub dedup: Option<crate::dedup::DedupConfig>,
}

impl ConvertConfig {
    pub fn from_args(args: &ConvertArgs) -> anyhow::Result<ConvertConfig> {
        let splits = args.sharding.split_plan()?;
        let check = CheckConfig::from_args(&args.checks);
        Ok(ConvertConfig {
            splits,
            sources: args.sources.clone(),
            out: args.out.clone(),
            parquet: ParquetOptions {
                shard_size: args.sharding.shard_size,
                row_group_rows: usize::try_from(args.row_group_rows).unwrap_or(usize::MAX),
                landmark_count: args.checks.landmark_count,
            },
            check,
            formats: [ShardFormat::Parquet, ShardFormat::Webdataset]
                .into_iter()
                .filter(|f| {
                    args.sharding.formats.contains(&match f {
                        ShardFormat::Parquet => FormatArg::Parquet,
                        ShardFormat::Webdataset => FormatArg::Webdataset,
                    })
                })
                .collect(),
            mtime: std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            overwrite: args.overwrite,
            json: args.json,
            dedup: args
                .dedup_threshold
                .map(|t| dedup_config_for_splits(t, args.checks.max_file_bytes))
                .transpose()?,
        })
    }

    /// The options recorded in the manifest.
    pub fn manifest_options(&self) -> Options {
        Options {
            formats: self.formats.clone(),
            shard_size: self.parquet.shard_size,
            row_group_rows: self.parquet.row_group_rows,
            deep: self.check.checks.deep,
            image_size: self.check.checks.image_size,
            landmark_count: self.check.checks.landmark_count,
            max_pixels: self.check.checks.max_pixels,
            max_file_bytes: self.check.max_file_bytes,
            splits: self.splits.clone(),
        }
    }
}

/// What `dedup` compares: the threshold and model asked for, one worker per core (at most
/// `--threads`), since the matrix products are arithmetic, not I/O.
pub fn dedup_config(args: &crate::cli::DedupArgs) -> anyhow::Result<crate::dedup::DedupConfig> {
    crate::dedup::DedupConfig::new(
        args.threshold,
        &args.model,
        dedup_threads(),
        args.max_file_bytes,
    )
}

fn dedup_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    rayon::current_num_threads().min(cores)
}

/// The dedup settings of `convert`/`validate --dedup-threshold`: the default model.
pub fn dedup_config_for_splits(
    threshold: f64,
    max_file_bytes: u64,
) -> anyhow::Result<crate::dedup::DedupConfig> {
    crate::dedup::DedupConfig::new(
        threshold,
        crate::dedup::DEFAULT_MODEL,
        dedup_threads(),
        max_file_bytes,
    )
    .map_err(|e| anyhow::anyhow!("--dedup-threshold: {e}"))
}
