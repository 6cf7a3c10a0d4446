//! `validate`: every rule on every sample, a report, nothing written.

use crate::config::ValidateConfig;
use crate::exit::ExitCode;
use crate::pipeline::validate_all;
use crate::ui::{format_bytes, format_counts, sanitize, Printer, INTERRUPTED};
use crate::validate::report::Report;

pub(crate) fn run(config: &ValidateConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    let bar = printer.progress(0, "validate");
    let report = validate_all(
        &config.sources,
        &config.check,
        config.dedup.as_ref(),
        &bar,
        &INTERRUPTED,
    )?;
    bar.finish();
    let Some(report) = report else {
        return Ok(ExitCode::Interrupted);
    };
    if config.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    if !printer.quiet {
        let secs = bar.started.elapsed().as_secs_f64();
        eprintln!(
            "validated {} samples ({}) in {secs:.1} s: {} valid, {} excluded, {} with warnings",
            report.samples,
            format_bytes(report.bytes_read),
            report.valid,
            report.excluded.len(),
            report.warned.len()
        );
    }
    Ok(ExitCode::from_problems(report.has_errors()))
}

fn print_text(report: &Report) {
    for sample in report.excluded.iter().chain(&report.warned) {
        for issue in &sample.issues {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                sanitize(&sample.key),
                issue.code,
                issue.severity.as_str(),
                sanitize(&issue.file),
                sanitize(&issue.message)
            );
        }
    }
    for orphan in &report.orphans {
        println!(
            "{}\tsource.orphan\twarning\t{}\tannotation file(s) with no image",
            sanitize(&orphan.key),
            sanitize(&orphan.files.join(", "))
        );
    }
    for u in &report.unsafe_paths {
        println!(
            "-\tsource.unsafe_path\terror\t{}\trefused: {}",
            sanitize(&u.shown),
            u.reason
        );
    }
    for part in &report.incomplete_parts {
        println!(
            "-\tsource.incomplete\twarning\t{}\t{}",
            sanitize(&part.sources.join(", ")),
            sanitize(&part.message())
        );
    }
    if !report.errors.is_empty() {
        println!("errors by code:{}", format_counts(&report.errors));
    }
    if !report.warnings.is_empty() {
        println!("warnings by code:{}", format_counts(&report.warnings));
    }
    let share = &report.segmentation_block_share;
    if let (Some(min), Some(mean)) = (share.min, share.mean) {
        println!(
            "segmentation 4x4 block purity: {} of {} maps fully pure; min {:.2}%, mean {:.2}%",
            share.pure_maps,
            share.maps,
            min * 100.0,
            mean * 100.0
        );
    }
}
