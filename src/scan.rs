//! The `scan` report: the inventory alone, no decoding. Counts per source and modality,
//! orphans, samples missing a file, duplicates, refused paths, incomplete parts and ignored files.

use serde::Serialize;

use crate::sample::Modality;
use crate::source::inventory::{Duplicate, Inventory, Orphan, RefusedPath, SourceSummary};
use crate::source::parts::IncompletePart;

/// A sample lacking files its source carries for others.
#[derive(Debug, Serialize)]
pub struct Incomplete {
    pub key: String,
    pub missing: Vec<Modality>,
}

#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub sources: Vec<SourceSummary>,
    pub samples: u64,
    pub bytes: u64,
    pub incomplete: Vec<Incomplete>,
    pub orphans: Vec<Orphan>,
    pub duplicates: Vec<Duplicate>,
    pub unsafe_paths: Vec<RefusedPath>,
    pub ignored_examples: Vec<String>,
    /// Parts held with fewer samples than published (`source.incomplete`, a warning);
    /// absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete_parts: Vec<IncompletePart>,
}

impl ScanReport {
    pub fn from_inventory(inventory: &Inventory) -> ScanReport {
        let incomplete = inventory
            .samples
            .iter()
            .filter_map(|s| {
                let missing: Vec<Modality> = Modality::ALL
                    .into_iter()
                    .filter(|&m| s.file(m).is_none() && inventory.source_has(s, m))
                    .collect();
                (!missing.is_empty()).then(|| Incomplete {
                    key: s.key.to_string(),
                    missing,
                })
            })
            .collect();
        ScanReport {
            sources: inventory.summaries.clone(),
            samples: inventory.samples.len() as u64,
            bytes: inventory.samples.iter().map(|s| s.bytes()).sum(),
            incomplete,
            orphans: inventory.orphans.clone(),
            duplicates: inventory.duplicates.clone(),
            unsafe_paths: inventory.unsafe_paths.clone(),
            ignored_examples: inventory.ignored_examples.clone(),
            incomplete_parts: inventory.incomplete_parts.clone(),
        }
    }

    pub fn has_problems(&self) -> bool {
        !(self.incomplete.is_empty() && self.duplicates.is_empty() && self.unsafe_paths.is_empty())
    }
}
