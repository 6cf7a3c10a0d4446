//! One module per subcommand, each with a `run` that returns the exit code. Shared steps
//! (building the inventory, printing issues) live here.

pub mod convert;
pub mod dedup;
pub mod extract;
pub mod package;
pub mod plan;
pub mod scan;
pub mod validate;
pub mod verify;

use std::path::PathBuf;

use crate::source::inventory::{Duplicate, Inventory};
use crate::ui::{sanitize, sanitize_line, Printer};
use crate::validate::report::SampleIssues;

/// Lists every source and stops the run (exit 2) when a key is found in more than one place:
/// writing either copy would be a guess.
pub fn inventory_without_duplicates(sources: &[PathBuf]) -> anyhow::Result<Inventory> {
    let inventory = Inventory::build(sources)?;
    if !inventory.duplicates.is_empty() {
        anyhow::bail!("{}", duplicates_message(sources, &inventory.duplicates));
    }
    Ok(inventory)
}

/// How many duplicate keys a message names before pointing to `scan --json`.
pub const SHOWN_DUPLICATES: usize = 10;

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// One line per duplicate key, at most [`SHOWN_DUPLICATES`]: the key, the two files of its
/// first collision, and how many more files carry the key; then how many keys are not shown.
pub fn duplicate_lines(duplicates: &[Duplicate]) -> Vec<String> {
    let mut lines: Vec<String> = duplicates
        .iter()
        .take(SHOWN_DUPLICATES)
        .map(|d| {
            let [taken, other] = &d.first_clash;
            let more = d.files.len().saturating_sub(2);
            format!(
                "{}: {} and {}{}",
                sanitize_line(&d.key),
                sanitize_line(taken),
                sanitize_line(other),
                if more > 0 {
                    format!(" (and {} with this key)", plural(more, "more file"))
                } else {
                    String::new()
                }
            )
        })
        .collect();
    if duplicates.len() > SHOWN_DUPLICATES {
        lines.push(format!(
            "... and {}",
            plural(duplicates.len() - SHOWN_DUPLICATES, "more key")
        ));
    }
    lines
}

/// The error that stops `validate`, `convert` and `plan`: how many keys, the first few with
/// the files that collide, and what to do.
fn duplicates_message(sources: &[PathBuf], duplicates: &[Duplicate]) -> String {
    let mut text = format!(
        "source.duplicate: {} found in more than one place (in two sources, or as two files of one kind in one source); keeping either copy would be a guess, so nothing was written",
        plural(duplicates.len(), "key")
    );
    for line in duplicate_lines(duplicates) {
        text.push_str("\n  ");
        text.push_str(&line);
    }
    let same = |a: &PathBuf, b: &PathBuf| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let given_twice = sources
        .iter()
        .enumerate()
        .find_map(|(i, a)| sources[i + 1..].iter().find(|b| same(a, b)).map(|b| (a, b)));
    text.push('\n');
    match given_twice {
        Some((a, b)) if a == b => text.push_str(&format!(
            "{} is given twice: pass each part once",
            sanitize_line(&a.display().to_string())
        )),
        Some((a, b)) => text.push_str(&format!(
            "{} and {} are the same source: pass each part once",
            sanitize_line(&a.display().to_string()),
            sanitize_line(&b.display().to_string())
        )),
        None => text.push_str(
            "remove one of the colliding files of each key (or a whole copy of the part), or do not pass the same part twice",
        ),
    }
    text.push_str("; `sfhq-pack scan --json SOURCES` lists every file of every duplicate key");
    text
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
