//! The platforms' limits, in one place: `plan` predicts against them and `package` checks
//! them before writing, so a plan cannot pass where `package` would refuse.

use super::kaggle::METADATA_FILE;
use super::CARD_FILE;
use crate::manifest::{MANIFEST_FILE, SUMS_FILE};

/// A platform to publish on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    HuggingFace,
    Kaggle,
}

/// Hugging Face: hard limit per file, recommended maximum per file, entries per folder,
/// files per repository (hub-docs storage limits).
pub(crate) const HF_MAX_FILE: u64 = 50_000_000_000;
pub(crate) const HF_RECOMMENDED_FILE: u64 = 20_000_000_000;
pub(crate) const HF_FILES_PER_FOLDER: u64 = 10_000;
pub(crate) const HF_FILES_PER_REPO: u64 = 100_000;

/// Kaggle refuses a dataset version of this many files or more; its client uploads the
/// top level of one folder only.
pub(crate) const KAGGLE_MAX_FILES: usize = 1_000;

/// The files of the flat Kaggle folder besides the shards.
pub(crate) const KAGGLE_FILES_BESIDES_SHARDS: [&str; 4] =
    [CARD_FILE, SUMS_FILE, MANIFEST_FILE, METADATA_FILE];

/// Files in the Kaggle folder for a dataset of `shards` shards.
pub(crate) fn kaggle_files(shards: usize) -> usize {
    shards + KAGGLE_FILES_BESIDES_SHARDS.len()
}

/// The top-level files of a packaged folder: manifest.json, SHA256SUMS, README.md,
/// croissant.json.
pub(crate) const TOP_LEVEL_FILES: u64 = 4;
