//! Duplicate keys: a key found in two places stops `validate`, `convert` and `plan` before
//! anything is written, because keeping either copy would be a guess.

use std::path::PathBuf;

use super::inventory::{Duplicate, Inventory};
use crate::ui::{plural, sanitize_line};

/// Lists every source and stops the run (exit 2) when a key is found in more than one place:
/// writing either copy would be a guess.
pub(crate) fn inventory_without_duplicates(sources: &[PathBuf]) -> anyhow::Result<Inventory> {
    let inventory = Inventory::build(sources)?;
    if !inventory.duplicates.is_empty() {
        anyhow::bail!("{}", duplicates_message(sources, &inventory.duplicates));
    }
    Ok(inventory)
}

/// How many duplicate keys a message names before pointing to `scan --json`.
pub(crate) const SHOWN_DUPLICATES: usize = 10;

/// One line per duplicate key, at most [`SHOWN_DUPLICATES`]: the key, the two files of its
/// first collision, and how many more files carry the key; then how many keys are not shown.
pub(crate) fn duplicate_lines(duplicates: &[Duplicate]) -> Vec<String> {
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
