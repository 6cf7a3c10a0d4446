//! The report: what every rule found, collected in key order. `validate --json` prints it;
//! `convert` copies its lists into the manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::statistics::Statistics;
use super::{Code, Issue, Severity};
use crate::sample::Processed;
use crate::source::inventory::{Inventory, Orphan, RefusedPath};
use crate::source::parts::IncompletePart;

/// A sample with the issues found in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleIssues {
    pub key: String,
    pub issues: Vec<Issue>,
}

/// Summary of the 4x4-block purity of full-size segmentation maps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BlockShare {
    /// Maps measured.
    pub maps: u64,
    /// Maps where every aligned 4x4 block holds one label.
    pub pure_maps: u64,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    #[serde(skip)]
    sum: f64,
}

/// Everything validation found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Samples (keys with an image) examined.
    pub samples: u64,
    /// Samples without errors: written by `convert`.
    pub valid: u64,
    pub excluded: Vec<SampleIssues>,
    /// Samples kept with warnings.
    pub warned: Vec<SampleIssues>,
    pub errors: BTreeMap<Code, u64>,
    pub warnings: BTreeMap<Code, u64>,
    pub orphans: Vec<Orphan>,
    pub unsafe_paths: Vec<RefusedPath>,
    /// Parts held with fewer samples than published (`source.incomplete`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete_parts: Vec<IncompletePart>,
    pub segmentation_block_share: BlockShare,
    /// Class pixels and landmark density of every sample kept.
    pub statistics: Statistics,
    /// Bytes of source files read.
    pub bytes_read: u64,
}

impl Report {
    /// Starts a report with what the inventory found before any sample was read;
    /// `frame` is the image size the landmark density covers.
    pub fn from_inventory(inventory: &Inventory, frame: u32) -> Report {
        let mut report = Report {
            statistics: Statistics::new(frame),
            orphans: inventory.orphans.clone(),
            unsafe_paths: inventory.unsafe_paths.clone(),
            incomplete_parts: inventory.incomplete_parts.clone(),
            ..Report::default()
        };
        if !inventory.incomplete_parts.is_empty() {
            report.warnings.insert(
                Code::SourceIncomplete,
                inventory.incomplete_parts.len() as u64,
            );
        }
        if !inventory.orphans.is_empty() {
            report
                .warnings
                .insert(Code::SourceOrphan, inventory.orphans.len() as u64);
        }
        if !inventory.unsafe_paths.is_empty() {
            report
                .errors
                .insert(Code::SourceUnsafePath, inventory.unsafe_paths.len() as u64);
        }
        report
    }

    /// Adds one processed sample.
    pub fn add(&mut self, sample: &Processed) {
        self.samples += 1;
        self.bytes_read += sample.bytes_read;
        for issue in &sample.issues {
            let counts = match issue.severity {
                Severity::Error => &mut self.errors,
                Severity::Warning => &mut self.warnings,
            };
            *counts.entry(issue.code).or_default() += 1;
        }
        if let Some(share) = sample.block_share {
            let s = &mut self.segmentation_block_share;
            s.maps += 1;
            s.pure_maps += u64::from(share >= 1.0);
            s.sum += share;
            s.min = Some(s.min.map_or(share, |m: f64| m.min(share)));
            s.mean = Some(s.sum / s.maps as f64);
        }
        let entry = || SampleIssues {
            key: sample.key.to_string(),
            issues: sample.issues.clone(),
        };
        if sample.is_excluded() {
            self.excluded.push(entry());
        } else {
            self.valid += 1;
            self.statistics.add(&sample.statistics);
            if !sample.issues.is_empty() {
                self.warned.push(entry());
            }
        }
    }

    /// Whether anything of severity error was found (exit code 1).
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// Excluded samples per error code; a sample with two codes counts under both.
pub fn excluded_by_code(excluded: &[SampleIssues]) -> BTreeMap<Code, u64> {
    let mut counts = BTreeMap::new();
    for sample in excluded {
        let mut codes: Vec<Code> = sample
            .issues
            .iter()
            .filter(|i| i.is_error())
            .map(|i| i.code)
            .collect();
        codes.sort();
        codes.dedup();
        for code in codes {
            *counts.entry(code).or_default() += 1;
        }
    }
    counts
}
