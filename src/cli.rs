//! The command line, as clap types only. Everything past `config` works on resolved
//! settings, never on these.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

#[derive(Debug, Parser)]
#[command(
    name = "sfhq-pack",
    // The version and, in a build from a git checkout, the commit (see build.rs).
    version = env!("SFHQ_PACK_VERSION"),
    about = "Turn SFHQ downloads (folders or Kaggle zips) into checksummed Parquet shards with a manifest",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Worker threads (default: twice the cores, so that reading overlaps decoding).
    /// Output is identical whatever the count.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// No progress bar and no summary on stderr; errors are still printed.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory: samples, files and bytes per modality, orphans, missing files, duplicates.
    #[command(after_help = EXIT_CODES_HELP)]
    Scan(ScanArgs),
    /// Check every rule on every sample and report; writes nothing.
    #[command(after_help = EXIT_CODES_HELP)]
    Validate(ValidateArgs),
    /// Validate and write Parquet shards, manifest.json and SHA256SUMS to --out.
    #[command(after_help = EXIT_CODES_HELP)]
    Convert(ConvertArgs),
    /// Check every shard's size, sha256 and row count against the manifest.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// Rebuild the SFHQ folder layout (images/, landmarks/, ...) from converted shards.
    #[command(after_help = EXIT_CODES_HELP)]
    Extract(ExtractArgs),
    /// Predict shards, sizes and file counts from the inventory alone, against platform limits.
    #[command(after_help = EXIT_CODES_HELP)]
    Plan(PlanArgs),
    /// Write publishing files for a converted folder: Hugging Face card, Croissant, Kaggle upload folder.
    #[command(after_help = EXIT_CODES_HELP)]
    Package(PackageArgs),
    /// Find every pair of near-duplicate samples (feature cosine similarity >= threshold, exactly) and their groups.
    #[command(after_help = DEDUP_EXIT_CODES_HELP)]
    Dedup(DedupArgs),
    /// Write an HTML page to look at the data: overview, every excluded sample with its
    /// overlays, a seeded gallery, distributions. Opens offline.
    #[command(after_help = EXIT_CODES_HELP)]
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of sfhq-pack or of one command on stdout.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

const COMPLETIONS_HELP: &str = "\
Install:
  bash  sfhq-pack completions bash > ~/.local/share/bash-completion/completions/sfhq-pack
  zsh   sfhq-pack completions zsh > ~/.zfunc/_sfhq-pack   (with fpath+=~/.zfunc before compinit)
  fish  sfhq-pack completions fish > ~/.config/fish/completions/sfhq-pack.fish";

const MAN_HELP: &str = "\
Read it with `sfhq-pack man | man -l -`, or install it:
  sfhq-pack man > ~/.local/share/man/man1/sfhq-pack.1
  sfhq-pack man convert > ~/.local/share/man/man1/sfhq-pack-convert.1";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// SFHQ parts (folders or Kaggle zips: validated for the report), or one folder
    /// written by `convert` (its manifest and Parquet shards are read).
    #[arg(required = true, value_name = "SRC|DIR")]
    pub sources: Vec<PathBuf>,

    /// Report folder: index.html and its pictures (img/) are written there. Must be new,
    /// empty, or an earlier report.
    #[arg(long, short, value_name = "REPORT_DIR")]
    pub out: PathBuf,

    /// Seed of the sample choice (gallery and statistics): the same seed, the same page.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,

    /// Cards per validation code; the rest are counted.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub per_code: usize,

    /// Valid samples in the gallery.
    #[arg(long, default_value_t = 12, value_name = "N")]
    pub gallery: usize,

    /// Show near-duplicate pairs side by side: samples whose CLIP_ViTL_14@336 similarity is
    /// at or above this, and identical images (warned as with validate). A converted folder
    /// shows the pairs `convert --dedup-threshold` recorded, without this option too.
    #[arg(long, value_name = "SIMILARITY")]
    pub dedup_threshold: Option<f64>,

    /// Near-duplicate pairs drawn, most similar first; the rest are counted.
    #[arg(long, default_value_t = 12, value_name = "N")]
    pub pairs: usize,

    #[command(flatten)]
    pub checks: CheckArgs,

    /// Print a summary of the page (cards, gallery keys, files) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command whose page to print (e.g. convert); the main page when absent.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `dedup` reports pairs through its exit code.
pub const DEDUP_EXIT_CODES_HELP: &str = "\
Exit codes:
  0    no pair at or above the threshold
  1    pairs found
  2    could not run: usage error, unreadable source, duplicate keys, I/O failure
  130  interrupted (Ctrl-C)";

#[derive(Debug, Args)]
pub struct DedupArgs {
    /// SFHQ parts (folders or Kaggle zips: only feature pickles and image bytes are read) or
    /// folders written by `convert` (only the feature column is read), in any mix.
    #[arg(required = true, value_name = "SRC|DIR")]
    pub sources: Vec<PathBuf>,

    /// Report pairs whose cosine similarity (float32, unit vectors) is at or above this.
    #[arg(long, default_value_t = crate::dedup::DEFAULT_THRESHOLD, value_name = "SIMILARITY")]
    pub threshold: f64,

    /// Feature model whose vectors are compared.
    #[arg(long, default_value = crate::dedup::DEFAULT_MODEL, value_name = "NAME")]
    pub model: String,

    /// Refuse any raw source file larger than this (e.g. 64MiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_file_bytes: u64,

    /// Print the pairs, groups and unchecked samples as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// SFHQ parts: folders or Kaggle zips.
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,

    /// Print the inventory as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The rules' settings, shared by `validate` and `convert`.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Decode every image fully, not just its header (slower; catches corrupt pixel data).
    #[arg(long)]
    pub deep: bool,

    /// Width and height every image and segmentation map must have.
    #[arg(long, default_value_t = 1024, value_name = "PIXELS")]
    pub image_size: u32,

    /// Number of landmark points per sample.
    #[arg(long = "landmarks", default_value_t = 110, value_name = "N")]
    pub landmark_count: usize,

    /// Refuse images and maps whose header declares more pixels than this.
    #[arg(long, default_value_t = 64_000_000, value_name = "N")]
    pub max_pixels: u64,

    /// Refuse any source file larger than this (e.g. 64MiB, 100MB).
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_file_bytes: u64,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// SFHQ parts: folders or Kaggle zips.
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,

    #[command(flatten)]
    pub checks: CheckArgs,

    /// Also warn (sample.near_duplicate) about every pair of samples whose CLIP_ViTL_14@336
    /// similarity is at or above this, and about identical images, naming the partner.
    #[arg(long, value_name = "SIMILARITY")]
    pub dedup_threshold: Option<f64>,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// SFHQ parts: folders or Kaggle zips. Several parts make one dataset.
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,

    /// Output folder; nothing is ever written outside it.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub sharding: ShardingArgs,

    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub row_group_rows: u64,

    /// Replace the output of an earlier run in --out: only files sfhq-pack can prove it
    /// wrote (listed in the earlier manifest.json, or its own temporaries) are removed; any
    /// other file in --out stops the run before anything is written.
    #[arg(long)]
    pub overwrite: bool,

    /// Continue a run that was killed (kill -9, power loss, a full disk): keep every shard
    /// it sealed whose sha256 still matches its journal, write the rest. Refused when the
    /// sources or options differ from the interrupted run's.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,

    /// Write the other splits when a --split draws no sample (a warning instead of exit 2).
    #[arg(long)]
    pub allow_empty_split: bool,

    /// Start even when the output's estimated size exceeds the free space of --out's file
    /// system (a compressing file system, an estimate you know to be high).
    #[arg(long)]
    pub no_space_check: bool,

    #[command(flatten)]
    pub checks: CheckArgs,

    /// Store images and maps at this width and height: 256, 512 or 1024, at most the source
    /// size. Below it, images are downscaled (--image-filter) and encoded again, each label map keeps one
    /// label per block, landmarks are scaled. [default: the source size, bytes unchanged]
    #[arg(long, value_name = "PIXELS", value_parser = parse_resolution)]
    pub resolution: Option<u32>,

    /// With --resolution below the source size: JPEG quality of the stored images (1-100)
    /// [default: 95]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: Option<u8>,

    /// With --resolution below the source size: encode the stored images as jpeg (lossy,
    /// --jpeg-quality) or png (lossless) [default: jpeg]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub image_format: Option<ImageFormatArg>,

    /// With --resolution below the source size: how images are reduced. dct: libjpeg-turbo
    /// decodes each JPEG directly at the stored size (DCT-domain scaling, about twice as
    /// fast); box: the full decode, then the rounded mean of each k x k block (area
    /// averaging). Non-JPEG sources are always box-filtered [default: dct when the factor
    /// is 2, 4 or 8, else box]
    #[arg(long, value_enum, value_name = "FILTER")]
    pub image_filter: Option<ImageFilterArg>,

    /// Keep near-duplicates in one split: samples whose CLIP_ViTL_14@336 similarity is at or
    /// above this (and identical images) form groups, and each group takes the split of its
    /// smallest key. Reads the feature pickles and images once more before converting.
    #[arg(long, value_name = "SIMILARITY")]
    pub dedup_threshold: Option<f64>,

    /// Print the manifest as JSON on stdout when done.
    #[arg(long)]
    pub json: bool,
}

/// How rows are cut into shards and splits: `convert` writes with these, `plan` predicts.
#[derive(Debug, Args)]
pub struct ShardingArgs {
    /// Shard formats: parquet, webdataset, or both (convert reads the sources once for all).
    #[arg(
        long = "format",
        value_enum,
        value_delimiter = ',',
        default_value = "parquet",
        value_name = "FORMATS"
    )]
    pub formats: Vec<FormatArg>,

    /// Target shard size (e.g. 500MB, 2GiB): sample bytes before encoding for Parquet, tar
    /// bytes including headers and padding for WebDataset.
    #[arg(long, default_value = "500MB", value_parser = parse_size, value_name = "SIZE")]
    pub shard_size: u64,

    /// Draw splits besides train, as fractions of the samples: test=0.02,validation=0.01.
    /// A sample's split depends only on its key and --split-seed.
    #[arg(long = "split", value_name = "NAME=FRACTION,...")]
    pub split: Option<String>,

    /// Seed of the split draw; the same seed gives the same assignment in every run.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub split_seed: u64,
}

/// A shard format on the command line.
/// How `convert --resolution` encodes images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormatArg {
    Jpeg,
    Png,
}

/// `--image-filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFilterArg {
    Dct,
    Box,
}

/// `--resolution`: one of [`crate::resize::RESOLUTIONS`].
fn parse_resolution(text: &str) -> Result<u32, String> {
    let allowed = crate::resize::RESOLUTIONS.map(|r| r.to_string()).join(", ");
    match text.trim().parse::<u32>() {
        Ok(r) if crate::resize::RESOLUTIONS.contains(&r) => Ok(r),
        _ => Err(format!(
            "{text:?} is not an allowed resolution: use one of {allowed} (1024 divided by 1, 2 or 4)"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Parquet,
    Webdataset,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A folder written by `sfhq-pack convert`, or a downloaded copy of one (the Hugging
    /// Face repository, or the Kaggle folder `package --kaggle` wrote).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Check only the shards of this format (a copy that holds one of the two).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A folder written by `sfhq-pack convert`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Folder to rebuild the SFHQ layout in; nothing is written outside it.
    #[arg(long, short, value_name = "SFHQ_DIR")]
    pub out: PathBuf,

    /// Shards to read when the folder has both (default: the first format converted).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub from: Option<FormatArg>,

    /// Write into a non-empty --out (existing files of the same name are replaced).
    #[arg(long)]
    pub overwrite: bool,
}

/// A platform to plan an upload for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Hf,
    Kaggle,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// SFHQ parts: folders or Kaggle zips.
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,

    /// Platform whose limits to check (default: both).
    #[arg(long, value_enum)]
    pub target: Option<Target>,

    #[command(flatten)]
    pub sharding: ShardingArgs,

    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// A folder written by `sfhq-pack convert` (it must pass `verify`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Write DIR/README.md: a Hugging Face dataset card with configs and dataset_info.
    #[arg(long)]
    pub hf: bool,

    /// Write DIR/croissant.json (Croissant 1.1) with a FileObject and sha256 per shard.
    #[arg(long)]
    pub croissant: bool,

    /// Lay out DIR/kaggle/: shards (hard links), card and dataset-metadata.json, flat.
    #[arg(long)]
    pub kaggle: bool,

    /// Dataset title (Kaggle: 6 to 50 characters).
    #[arg(long)]
    pub title: Option<String>,

    /// One-line subtitle (Kaggle: 20 to 80 characters).
    #[arg(long)]
    pub subtitle: Option<String>,

    /// License: a Kaggle license name such as CC-BY-4.0 or CC-BY-NC-4.0 (mapped to SPDX and a URL for the card and Croissant).
    #[arg(long)]
    pub license: Option<String>,

    /// owner/slug on Kaggle or Hugging Face (slug: 6 to 50 characters).
    #[arg(long)]
    pub id: Option<String>,

    /// Creator name for the card and Croissant.
    #[arg(long)]
    pub creator: Option<String>,

    /// Dataset home page or repository URL.
    #[arg(long)]
    pub url: Option<String>,

    /// Publication date for Croissant (YYYY-MM-DD). Default: the manifest's `created`,
    /// else SOURCE_DATE_EPOCH, else today; pin it to get the same bytes on another day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,

    /// Replace publishing files written by an earlier `package` run.
    #[arg(long)]
    pub overwrite: bool,
}

/// Parses `500MB`, `2GiB`, `64MiB`, `1000`: decimal units (kB, MB, GB) are powers of 1000,
/// binary units (KiB, MiB, GiB) powers of 1024, as in the Hugging Face shard sizes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 500MB or 2GiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit '{other}': use B, kB, MB, GB, KiB, MiB or GiB"
            ))
        }
    };
    let bytes = number * factor as f64;
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_decimal_and_binary_units() {
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
