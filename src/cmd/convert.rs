//! `convert`: runs the conversion engine with a progress bar and prints the summary.

use std::path::Path;

use crate::config::ConvertConfig;
use crate::convert::convert;
use crate::exit::ExitCode;
use crate::manifest::Manifest;
use crate::pipeline::Completion;
use crate::ui::{format_bytes, format_counts, sanitize, Printer, INTERRUPTED};
use crate::validate::report::{excluded_by_code, SampleIssues};

pub(crate) fn run(config: &ConvertConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    let bar = printer.progress(0, "convert");
    let done = convert(config, &bar, &INTERRUPTED, &|note| printer.status(note))?;
    bar.finish();
    let manifest = match (done.completion, done.manifest) {
        (Completion::Finished, Some(manifest)) => manifest,
        _ => {
            printer.status("sfhq-pack: interrupted; partial shards removed, no manifest written");
            return Ok(ExitCode::Interrupted);
        }
    };
    if config.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    }
    if done.already_complete {
        return Ok(ExitCode::from_problems(!manifest.errors.is_empty()));
    }
    print_summary(
        printer,
        done.bytes_read,
        &manifest,
        &done.excluded_as_typed,
        &config.out,
        bar.started.elapsed().as_secs_f64(),
    );
    Ok(ExitCode::from_problems(!manifest.errors.is_empty()))
}

fn print_summary(
    printer: &Printer,
    bytes_read: u64,
    manifest: &Manifest,
    excluded: &[SampleIssues],
    out: &Path,
    secs: f64,
) {
    if printer.quiet {
        return;
    }
    let bytes: u64 = manifest.shards.iter().map(|s| s.bytes).sum();
    // Bytes actually read, not the sizes files declare (a sparse file declares terabytes).
    let read = bytes_read;
    super::print_issues(printer, "excluded samples:", excluded, "manifest.json");
    eprintln!(
        "wrote {} samples in {} shard(s), {}, to {} in {secs:.1} s ({:.0} samples/s, {}/s read)",
        manifest.rows,
        manifest.shards.len(),
        format_bytes(bytes),
        sanitize(&out.display().to_string()),
        manifest.rows as f64 / secs.max(1e-9),
        format_bytes((read as f64 / secs.max(1e-9)) as u64)
    );
    if !manifest.excluded.is_empty() {
        let by_code = excluded_by_code(&manifest.excluded);
        eprintln!(
            "excluded {} sample(s), by code:{}",
            manifest.excluded.len(),
            format_counts(&by_code)
        );
    }
    if !manifest.unsafe_paths.is_empty() {
        eprintln!(
            "refused {} path(s) (source.unsafe_path: unsafe zip member names, special files, links leaving a folder), listed in manifest.json",
            manifest.unsafe_paths.len()
        );
    }
    if !manifest.warnings.is_empty() {
        eprintln!("warnings by code:{}", format_counts(&manifest.warnings));
    }
}
