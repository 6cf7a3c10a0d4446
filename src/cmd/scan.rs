//! `scan`: the inventory alone, no decoding. Counts per source and modality, orphans,
//! samples missing a file, duplicates, unsafe zip members and ignored files.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::ScanArgs;
use crate::exit::ExitCode;
use crate::source::inventory::{
    Duplicate, Inventory, Modality, Orphan, RefusedPath, SourceSummary,
};
use crate::ui::{format_bytes, sanitize, Printer};

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
        }
    }

    pub fn has_problems(&self) -> bool {
        !(self.incomplete.is_empty() && self.duplicates.is_empty() && self.unsafe_paths.is_empty())
    }
}

pub fn run(args: &ScanArgs, _printer: &Printer) -> anyhow::Result<ExitCode> {
    let inventory = Inventory::build(&args.sources)?;
    let report = ScanReport::from_inventory(&inventory);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::from_problems(report.has_problems()))
}

fn print_text(report: &ScanReport) {
    for source in &report.sources {
        println!(
            "{} ({:?}): {} samples, {} files, {}",
            sanitize(&source.path),
            source.kind,
            source.samples,
            source.files,
            format_bytes(source.bytes)
        );
        for modality in Modality::ALL {
            match source.modalities.get(&modality) {
                Some(c) => println!(
                    "  {:<20} {:>8} files {:>10}",
                    modality.folder(),
                    c.files,
                    format_bytes(c.bytes)
                ),
                None => println!(
                    "  {:<20} absent (its columns will be null)",
                    modality.folder()
                ),
            }
        }
        if source.junk + source.ignored > 0 {
            println!(
                "  ignored: {} junk file(s), {} other file(s)",
                source.junk, source.ignored
            );
        }
    }
    println!(
        "total: {} samples, {}",
        report.samples,
        format_bytes(report.bytes)
    );
    let mut missing: BTreeMap<Modality, u64> = BTreeMap::new();
    for sample in &report.incomplete {
        for &m in &sample.missing {
            *missing.entry(m).or_default() += 1;
        }
    }
    for (modality, count) in missing {
        println!(
            "sample.missing: {count} sample(s) without a {} file",
            modality.folder()
        );
    }
    if !report.orphans.is_empty() {
        println!(
            "source.orphan: {} annotation key(s) without an image",
            report.orphans.len()
        );
    }
    if !report.duplicates.is_empty() {
        println!(
            "source.duplicate: {} found in more than one place (convert would stop; --json lists every file):",
            super::plural(report.duplicates.len(), "key")
        );
        for line in super::duplicate_lines(&report.duplicates) {
            println!("  {line}");
        }
    }
    for u in &report.unsafe_paths {
        println!(
            "source.unsafe_path: {}: '{}' refused ({})",
            sanitize(&u.source),
            sanitize(&u.name),
            u.reason
        );
    }
    for path in &report.ignored_examples {
        println!("ignored: {}", sanitize(path));
    }
}
