//! `dedup`: every near-duplicate pair and group among the samples of the sources given,
//! against a threshold; exit 1 when any pair is found.

use std::time::Instant;

use crate::config::DedupCommandConfig;
use crate::dedup::{self, DedupReport, Sources};
use crate::exit::ExitCode;
use crate::pipeline::Progress;
use crate::ui::{format_bytes, sanitize_line, Printer, INTERRUPTED};

/// Lines of each list the text output shows before pointing to `--json`.
const SHOWN: usize = 20;

const INTERRUPTED_NOTE: &str = "sfhq-pack: interrupted; no result";

pub(crate) fn run(command: &DedupCommandConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    let config = &command.dedup;
    let sources = Sources::open(&command.sources)?;
    let started = Instant::now();
    let bar = printer.progress(sources.samples(), "read");
    let loaded = dedup::load(
        sources.inventory.as_ref(),
        &sources.converted,
        config,
        &INTERRUPTED,
        &bar,
    )?;
    bar.finish();
    let load_seconds = started.elapsed().as_secs_f64();
    let Some(loaded) = loaded else {
        printer.status(INTERRUPTED_NOTE);
        return Ok(ExitCode::Interrupted);
    };
    // The bar counts samples; the search reports tiles: shown as the same share of samples.
    let samples = loaded.vectors.len() as u64;
    let tiles = dedup::kernel::tile_count(loaded.vectors.len()).max(1);
    let bar = printer.progress(samples, "compare");
    let done = std::sync::atomic::AtomicU64::new(0);
    let on_tiles = |n: u64| {
        let before = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        bar.advance((before + n) * samples / tiles - before * samples / tiles, 0);
    };
    let mut report = dedup::find(&loaded, config, &INTERRUPTED, &on_tiles)?;
    bar.finish();
    report.stats.load_seconds = load_seconds;
    drop(loaded);
    if report.stats.interrupted {
        printer.status(INTERRUPTED_NOTE);
        return Ok(ExitCode::Interrupted);
    }
    if command.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    if !printer.quiet {
        print_summary(&report);
    }
    Ok(ExitCode::from_problems(!report.pairs.is_empty()))
}

fn print_text(report: &DedupReport) {
    println!(
        "{}, threshold {}: {} samples, {} checked, {} unchecked",
        sanitize_line(&report.model),
        report.threshold,
        report.stats.samples,
        report.checked,
        report.unchecked.len()
    );
    if !report.unchecked.is_empty() {
        println!(
            "unchecked (no usable '{}' vector):",
            sanitize_line(&report.model)
        );
        for u in report.unchecked.iter().take(SHOWN) {
            println!("  {}: {}", sanitize_line(&u.key), sanitize_line(&u.reason));
        }
        more(report.unchecked.len());
    }
    if !report.pairs.is_empty() {
        let top = dedup::most_similar_first(&report.pairs);
        println!("top pairs:");
        for p in top.iter().take(SHOWN) {
            let what = if p.identical {
                "1.0 (identical images)".to_string()
            } else {
                format!("{:.6}", p.similarity)
            };
            println!("  {what}  {}  {}", sanitize_line(&p.a), sanitize_line(&p.b));
        }
        more(top.len());
        let mut largest: Vec<&Vec<String>> = report.groups.iter().collect();
        largest.sort_by(|x, y| y.len().cmp(&x.len()).then_with(|| x.cmp(y)));
        println!("largest groups:");
        for g in largest.iter().take(SHOWN) {
            let keys: Vec<String> = g.iter().take(8).map(|k| sanitize_line(k)).collect();
            let rest = if g.len() > 8 { ", ..." } else { "" };
            println!("  {} samples: {}{rest}", g.len(), keys.join(", "));
        }
        more(largest.len());
    }
    let identical = report.pairs.iter().filter(|p| p.identical).count();
    if report.pairs.is_empty() {
        println!(
            "verdict: the dataset's claim holds: no pair at or above {} among {} checked samples{}",
            report.threshold,
            report.checked,
            unchecked_note(report)
        );
    } else {
        println!(
            "verdict: the dataset's claim does not hold: {} pair(s) at or above {} ({identical} of identical images), in {} group(s){}",
            report.pairs.len(),
            report.threshold,
            report.groups.len(),
            unchecked_note(report)
        );
    }
}

fn unchecked_note(report: &DedupReport) -> String {
    if report.unchecked.is_empty() {
        String::new()
    } else {
        format!(
            "; {} sample(s) unchecked (no usable vector)",
            report.unchecked.len()
        )
    }
}

fn more(total: usize) {
    if total > SHOWN {
        println!("  ... {} more (all in --json)", total - SHOWN);
    }
}

fn print_summary(report: &DedupReport) {
    let s = &report.stats;
    let read = if s.shard_bytes > 0 {
        format!(
            "{} read, of {} of Parquet shards",
            format_bytes(s.bytes_read),
            format_bytes(s.shard_bytes)
        )
    } else {
        format!("{} read", format_bytes(s.bytes_read))
    };
    eprintln!(
        "read {} samples ({read}) in {:.1} s; {} vectors held as {} ({}); compared {} pairs in {:.1} s ({} candidates from the float32 products, each checked exactly)",
        s.samples,
        s.load_seconds,
        report.checked,
        s.dtype,
        format_bytes(s.vector_bytes),
        s.compared_pairs,
        s.search_seconds,
        s.candidates
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_names_the_count_and_threshold() {
        let report = DedupReport {
            threshold: 0.92,
            model: "m".into(),
            checked: 3,
            unchecked: vec![],
            pairs: vec![],
            groups: vec![],
            stats: Default::default(),
        };
        assert_eq!(unchecked_note(&report), "");
    }
}
