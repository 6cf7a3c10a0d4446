//! Settings resolved once from the command line. Engines take these, never clap types.

use std::path::PathBuf;

use crate::cli::{CheckArgs, ConvertArgs};
use crate::decode::pickle::PickleLimits;
use crate::manifest::Options;
use crate::sink::parquet::ParquetOptions;
use crate::sink::shard::ShardFormat;
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
    pub overwrite: bool,
    pub json: bool,
}

impl ConvertConfig {
    pub fn from_args(args: &ConvertArgs) -> ConvertConfig {
        let check = CheckConfig::from_args(&args.checks);
        ConvertConfig {
            sources: args.sources.clone(),
            out: args.out.clone(),
            parquet: ParquetOptions {
                shard_size: args.shard_size,
                row_group_rows: usize::try_from(args.row_group_rows).unwrap_or(usize::MAX),
                landmark_count: args.checks.landmark_count,
            },
            check,
            overwrite: args.overwrite,
            json: args.json,
        }
    }

    /// The options recorded in the manifest.
    pub fn manifest_options(&self) -> Options {
        Options {
            formats: vec![ShardFormat::Parquet],
            shard_size: self.parquet.shard_size,
            row_group_rows: self.parquet.row_group_rows,
            deep: self.check.checks.deep,
            image_size: self.check.checks.image_size,
            landmark_count: self.check.checks.landmark_count,
            max_pixels: self.check.checks.max_pixels,
            max_file_bytes: self.check.max_file_bytes,
        }
    }
}
