//! One module per subcommand, each with a `run` that returns the exit code. Shared steps
//! (building the inventory, printing issues) live here.

pub mod convert;
pub mod extract;
pub mod package;
pub mod plan;
pub mod scan;
pub mod validate;
pub mod verify;

use std::path::PathBuf;

use crate::source::inventory::Inventory;
use crate::ui::{sanitize, Printer};
use crate::validate::report::SampleIssues;

/// Lists every source and stops the run (exit 2) when a key is found twice: writing either
/// copy would be a guess.
pub fn inventory_without_duplicates(sources: &[PathBuf]) -> anyhow::Result<Inventory> {
    let inventory = Inventory::build(sources)?;
    if let Some(first) = inventory.duplicates.first() {
        let more = inventory.duplicates.len() - 1;
        anyhow::bail!(
            "source.duplicate: key {} is in two places:\n  {}\n  {}\n{}remove one copy, or do not pass the same part twice; nothing was written",
            first.key,
            first.first,
            first.second,
            if more > 0 { format!("({more} more duplicate key(s))\n") } else { String::new() }
        );
    }
    Ok(inventory)
}

/// How many issue lines to print before pointing to the full list.
const SHOWN_ISSUES: usize = 20;

/// Prints issues, one per line, on stderr (unless quiet), at most [`SHOWN_ISSUES`].
pub fn print_issues(printer: &Printer, heading: &str, samples: &[SampleIssues], full_list: &str) {
    if printer.quiet || samples.is_empty() {
        return;
    }
    eprintln!("{heading}");
    let mut shown = 0;
    let total: usize = samples.iter().map(|s| s.issues.len()).sum();
    'outer: for sample in samples {
        for issue in &sample.issues {
            if shown == SHOWN_ISSUES {
                break 'outer;
            }
            eprintln!(
                "  {} {} [{}] {}: {}",
                sanitize(&sample.key),
                issue.code,
                issue.severity.as_str(),
                sanitize(&issue.file),
                sanitize(&issue.message)
            );
            shown += 1;
        }
    }
    if total > shown {
        eprintln!("  ... {} more, all listed in {full_list}", total - shown);
    }
}
