//! `scan`: prints the inventory report, as text or JSON.

use std::collections::BTreeMap;

use crate::config::ScanConfig;
use crate::exit::ExitCode;
use crate::sample::Modality;
use crate::scan::ScanReport;
use crate::source::duplicates::duplicate_lines;
use crate::source::inventory::Inventory;
use crate::ui::{format_bytes, plural, sanitize, Printer};

pub(crate) fn run(config: &ScanConfig, _printer: &Printer) -> anyhow::Result<ExitCode> {
    let inventory = Inventory::build(&config.sources)?;
    let report = ScanReport::from_inventory(&inventory);
    if config.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::from_problems(report.has_problems()))
}

fn print_text(report: &ScanReport) {
    for source in &report.sources {
        println!(
            "{} ({}): {} samples, {} files, {}",
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
                "  ignored: {}, {}",
                plural(source.junk as usize, "junk file"),
                plural(source.ignored as usize, "other file")
            );
        }
    }
    println!(
        "total: {} samples, {}",
        report.samples,
        format_bytes(report.bytes)
    );
    let mut missing: BTreeMap<Modality, Vec<&str>> = BTreeMap::new();
    for sample in &report.incomplete {
        for &m in &sample.missing {
            missing.entry(m).or_default().push(&sample.key);
        }
    }
    for (modality, keys) in missing {
        println!(
            "sample.missing: {} without a {} file: {}",
            plural(keys.len(), "sample"),
            modality.folder(),
            first_keys(keys.iter().copied())
        );
    }
    if !report.orphans.is_empty() {
        println!(
            "source.orphan: {} without an image: {}",
            plural(report.orphans.len(), "annotation key"),
            first_keys(report.orphans.iter().map(|o| o.key.as_str()))
        );
    }
    if !report.duplicates.is_empty() {
        println!(
            "source.duplicate: {} found in more than one place (convert would stop; --json lists every file):",
            plural(report.duplicates.len(), "key")
        );
        for line in duplicate_lines(&report.duplicates) {
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
    for part in &report.incomplete_parts {
        println!("{}", part.message());
    }
    for path in &report.ignored_examples {
        println!("ignored: {}", sanitize(path));
    }
}

/// How many keys a line names before saying how many more there are (`--json` has all).
const SHOWN_KEYS: usize = 5;

/// `k1, k2, k3 and 12 more`.
fn first_keys<'a>(keys: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = keys.len();
    let shown: Vec<String> = keys.take(SHOWN_KEYS).map(sanitize).collect();
    let mut text = shown.join(", ");
    if total > SHOWN_KEYS {
        text.push_str(&format!(
            " and {} more (--json lists them all)",
            total - SHOWN_KEYS
        ));
    }
    text
}
