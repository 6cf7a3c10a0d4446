//! Settings resolved once from the command line. Engines take these, never clap types.

use std::path::PathBuf;

use crate::cli::{
    CheckArgs, ConvertArgs, DedupArgs, ExtractArgs, FormatArg, ImageFilterArg, ImageFormatArg,
    PackageArgs, PlanArgs, ReportArgs, ScanArgs, ShardingArgs, Target, ValidateArgs, VerifyArgs,
};
use crate::decode::pickle::PickleLimits;
use crate::dedup::DedupConfig;
use crate::format::parquet::writer::ParquetOptions;
use crate::format::shard::ShardFormat;
use crate::manifest::Options;
use crate::plan::PlanConfig;
use crate::publish::limits::Platform;
use crate::publish::{PackageRequest, Targets};
use crate::resize::{ImageFilter, Resize, StoredImageFormat};
use crate::split::SplitPlan;
use crate::validate::rules::{Checks, MAX_LANDMARK_BYTES};

fn shard_format(format: FormatArg) -> ShardFormat {
    match format {
        FormatArg::Parquet => ShardFormat::Parquet,
        FormatArg::Webdataset => ShardFormat::Webdataset,
    }
}

/// The formats asked for, in a fixed order (Parquet first), each once.
fn shard_formats(formats: &[FormatArg]) -> Vec<ShardFormat> {
    [ShardFormat::Parquet, ShardFormat::Webdataset]
        .into_iter()
        .filter(|f| formats.iter().any(|&a| shard_format(a) == *f))
        .collect()
}

impl ShardingArgs {
    /// The split draw these options ask for.
    fn split_plan(&self) -> anyhow::Result<SplitPlan> {
        SplitPlan::parse(self.split.as_deref().unwrap_or(""), self.split_seed)
            .map_err(|e| anyhow::anyhow!("--split: {e}"))
    }
}

/// What `scan` needs.
pub struct ScanConfig {
    pub sources: Vec<PathBuf>,
    pub json: bool,
}

impl ScanConfig {
    pub fn from_args(args: &ScanArgs) -> ScanConfig {
        ScanConfig {
            sources: args.sources.clone(),
            json: args.json,
        }
    }
}

/// What `validate` needs.
pub struct ValidateConfig {
    pub sources: Vec<PathBuf>,
    pub check: CheckConfig,
    /// `--dedup-threshold`: warn about near-duplicate pairs.
    pub dedup: Option<DedupConfig>,
    pub json: bool,
}

impl ValidateConfig {
    pub fn from_args(args: &ValidateArgs) -> anyhow::Result<ValidateConfig> {
        Ok(ValidateConfig {
            sources: args.sources.clone(),
            check: CheckConfig::from_args(&args.checks),
            dedup: args
                .dedup_threshold
                .map(|t| dedup_config_for_splits(t, args.checks.max_file_bytes))
                .transpose()?,
            json: args.json,
        })
    }
}

/// What `report` needs.
pub struct ReportCommandConfig {
    pub report: crate::report::ReportConfig,
    pub json: bool,
}

impl ReportCommandConfig {
    pub fn from_args(args: &ReportArgs) -> anyhow::Result<ReportCommandConfig> {
        Ok(ReportCommandConfig {
            report: crate::report::ReportConfig {
                inputs: args.sources.clone(),
                out: args.out.clone(),
                seed: args.seed,
                per_code: args.per_code,
                gallery: args.gallery,
                check: CheckConfig::from_args(&args.checks),
                dedup: args
                    .dedup_threshold
                    .map(|t| dedup_config_for_splits(t, args.checks.max_file_bytes))
                    .transpose()?,
                pairs: args.pairs,
            },
            json: args.json,
        })
    }
}

/// What `dedup` needs.
pub struct DedupCommandConfig {
    pub sources: Vec<PathBuf>,
    pub dedup: DedupConfig,
    pub json: bool,
}

impl DedupCommandConfig {
    pub fn from_args(args: &DedupArgs) -> anyhow::Result<DedupCommandConfig> {
        Ok(DedupCommandConfig {
            sources: args.sources.clone(),
            dedup: DedupConfig::new(
                args.threshold,
                &args.model,
                dedup_threads(),
                args.max_file_bytes,
            )?,
            json: args.json,
        })
    }
}

/// One dedup worker per core (at most `--threads`): the matrix products are arithmetic,
/// not I/O.
fn dedup_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    rayon::current_num_threads().min(cores)
}

/// The dedup settings of `convert`/`validate --dedup-threshold`: the default model.
fn dedup_config_for_splits(threshold: f64, max_file_bytes: u64) -> anyhow::Result<DedupConfig> {
    DedupConfig::new(
        threshold,
        crate::dedup::DEFAULT_MODEL,
        dedup_threads(),
        max_file_bytes,
    )
    .map_err(|e| anyhow::anyhow!("--dedup-threshold: {e}"))
}

/// What `verify` needs.
pub struct VerifyConfig {
    pub dir: PathBuf,
    /// `--format`: only these shards.
    pub only: Option<ShardFormat>,
    pub json: bool,
}

impl VerifyConfig {
    pub fn from_args(args: &VerifyArgs) -> VerifyConfig {
        VerifyConfig {
            dir: args.dir.clone(),
            only: args.format.map(shard_format),
            json: args.json,
        }
    }
}

/// What `extract` needs.
pub struct ExtractConfig {
    pub dir: PathBuf,
    pub out: PathBuf,
    /// The shards to read; `None`: the first format converted.
    pub from: Option<ShardFormat>,
    pub overwrite: bool,
}

impl ExtractConfig {
    pub fn from_args(args: &ExtractArgs) -> ExtractConfig {
        ExtractConfig {
            dir: args.dir.clone(),
            out: args.out.clone(),
            from: args.from.map(shard_format),
            overwrite: args.overwrite,
        }
    }
}

/// What `plan` needs: its prediction settings and how to print them.
pub struct PlanCommandConfig {
    pub sources: Vec<PathBuf>,
    pub plan: PlanConfig,
    pub json: bool,
}

impl PlanCommandConfig {
    pub fn from_args(args: &PlanArgs) -> anyhow::Result<PlanCommandConfig> {
        Ok(PlanCommandConfig {
            sources: args.sources.clone(),
            plan: PlanConfig {
                formats: shard_formats(&args.sharding.formats),
                shard_size: args.sharding.shard_size,
                splits: args.sharding.split_plan()?,
                target: args.target.map(|t| match t {
                    Target::Hf => Platform::HuggingFace,
                    Target::Kaggle => Platform::Kaggle,
                }),
            },
            json: args.json,
        })
    }
}

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
    /// `--resume`: continue an interrupted run from its journal.
    pub resume: bool,
    /// Compare the estimated output size with the free space first (not `--no-space-check`).
    pub space_check: bool,
    /// `--allow-empty-split`: a split that draws no sample is a warning, not a refusal.
    pub allow_empty_split: bool,
    pub json: bool,
    pub splits: SplitPlan,
    /// `--dedup-threshold`: near-duplicate groups stay in one split.
    pub dedup: Option<DedupConfig>,
    /// `--resolution` below the source size: how samples are resized; `None` keeps the
    /// source bytes.
    pub resize: Option<Resize>,
}

/// `--resolution`, `--jpeg-quality` and `--image-format`, checked against the source size
/// before anything is read or written.
fn resize_of(args: &ConvertArgs) -> anyhow::Result<Option<Resize>> {
    let source = args.checks.image_size;
    let resolution = args.resolution.unwrap_or(source);
    if resolution > source {
        anyhow::bail!(
            "--resolution {resolution} is above the source size {source} (--image-size): sfhq-pack only downscales; {}",
            allowed_up_to(source)
        );
    }
    if source % resolution != 0 {
        anyhow::bail!(
            "--resolution {resolution} does not divide the source size {source} (--image-size): {}",
            allowed_up_to(source)
        );
    }
    if resolution == source {
        let given = [
            args.jpeg_quality.map(|_| "--jpeg-quality"),
            args.image_format.map(|_| "--image-format"),
            args.image_filter.map(|_| "--image-filter"),
        ];
        if let Some(flag) = given.into_iter().flatten().next() {
            anyhow::bail!(
                "{flag} applies only with a --resolution below the source size {source}: at the source size the image bytes are stored unchanged; add --resolution 256 or 512, or drop {flag}"
            );
        }
        return Ok(None);
    }
    // libjpeg-turbo scales in the DCT domain by 1/2, 1/4 and 1/8 only (its other factors
    // are n/8); another factor (an --image-size that is not a power-of-two multiple) takes
    // the box filter unless dct was asked for by name.
    let k = source / resolution;
    let dct_scales = matches!(k, 2 | 4 | 8);
    let image_filter = match args.image_filter {
        Some(ImageFilterArg::Dct) if !dct_scales => anyhow::bail!(
            "--image-filter dct scales by 1/2, 1/4 or 1/8, and {source} / {resolution} = {k}: use --image-filter box (the mean of each {k}x{k} block), or a --resolution of {source} / 2, / 4 or / 8"
        ),
        Some(ImageFilterArg::Dct) => ImageFilter::Dct,
        Some(ImageFilterArg::Box) => ImageFilter::Box,
        None if dct_scales => ImageFilter::Dct,
        None => ImageFilter::Box,
    };
    Ok(Some(Resize {
        source_size: source,
        resolution,
        image_format: match args.image_format.unwrap_or(ImageFormatArg::Jpeg) {
            ImageFormatArg::Jpeg => StoredImageFormat::Jpeg,
            ImageFormatArg::Png => StoredImageFormat::Png,
        },
        jpeg_quality: args.jpeg_quality.unwrap_or(95),
        image_filter,
    }))
}

/// What to pass instead, for sources of `source` pixels: the resolutions that fit.
fn allowed_up_to(source: u32) -> String {
    let fits: Vec<String> = crate::resize::RESOLUTIONS
        .iter()
        .filter(|&&r| r <= source && source % r == 0)
        .map(u32::to_string)
        .collect();
    if fits.is_empty() {
        format!(
            "leave --resolution out: none of {} fits sources of {source} pixels",
            crate::resize::RESOLUTIONS.map(|r| r.to_string()).join(", ")
        )
    } else {
        format!("use one of {}", fits.join(", "))
    }
}

impl ConvertConfig {
    /// What to do with an earlier output in `--out`.
    pub(crate) fn existing(&self) -> crate::output::Existing {
        use crate::output::Existing;
        match (self.overwrite, self.resume) {
            (_, true) => Existing::Resume,
            (true, false) => Existing::Overwrite,
            (false, false) => Existing::Refuse,
        }
    }

    pub fn from_args(args: &ConvertArgs) -> anyhow::Result<ConvertConfig> {
        let splits = args.sharding.split_plan()?;
        let check = CheckConfig::from_args(&args.checks);
        let resize = resize_of(args)?;
        Ok(ConvertConfig {
            resize,
            splits,
            sources: args.sources.clone(),
            out: args.out.clone(),
            parquet: ParquetOptions {
                shard_size: args.sharding.shard_size,
                row_group_rows: usize::try_from(args.row_group_rows).unwrap_or(usize::MAX),
                landmark_count: args.checks.landmark_count,
            },
            check,
            formats: shard_formats(&args.sharding.formats),
            mtime: std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            overwrite: args.overwrite,
            allow_empty_split: args.allow_empty_split,
            resume: args.resume,
            space_check: !args.no_space_check,
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
            resize: self.resize.as_ref().map(Resize::record),
        }
    }
}

impl PackageRequest {
    pub fn from_args(args: &PackageArgs) -> PackageRequest {
        PackageRequest {
            dir: args.dir.clone(),
            targets: Targets {
                hf: args.hf,
                croissant: args.croissant,
                kaggle: args.kaggle,
            },
            title: args.title.clone(),
            subtitle: args.subtitle.clone(),
            license: args.license.clone(),
            id: args.id.clone(),
            creator: args.creator.clone(),
            url: args.url.clone(),
            date: args.date.clone(),
            overwrite: args.overwrite,
        }
    }
}
