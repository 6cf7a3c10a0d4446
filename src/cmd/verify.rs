//! `verify`: checks an output folder against its manifest and prints what does not match.

use crate::config::VerifyConfig;
use crate::exit::ExitCode;
use crate::manifest::Manifest;
use crate::ui::{format_bytes, Printer, INTERRUPTED};
use crate::verify::verify;

pub(crate) fn run(config: &VerifyConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    let manifest = Manifest::read(&config.dir)?;
    let bar = printer.progress(0, "verify");
    let report = verify(&config.dir, &manifest, config.only, &bar, &INTERRUPTED);
    bar.finish();
    if report.interrupted {
        printer.status("sfhq-pack: verify: interrupted; nothing was concluded");
        return Ok(ExitCode::Interrupted);
    }
    if config.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for problem in &report.problems {
            println!("FAILED {problem}");
        }
        for note in &report.notes {
            println!("NOTE {note}");
        }
        if report.problems.is_empty() {
            println!(
                "OK {} shard(s), {} rows, {}",
                report.shards,
                report.rows,
                format_bytes(report.bytes)
            );
        }
    }
    let secs = bar.started.elapsed().as_secs_f64();
    printer.status(&format!(
        "verified {} in {secs:.2} s ({}/s): {} problem(s)",
        format_bytes(report.bytes),
        format_bytes((report.bytes as f64 / secs.max(1e-9)) as u64),
        report.problems.len()
    ));
    Ok(ExitCode::from_problems(!report.problems.is_empty()))
}
