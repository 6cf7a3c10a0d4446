//! `package`: writes the publishing files for a converted folder and prints what it wrote.

use crate::exit::ExitCode;
use crate::publish::package::package;
use crate::publish::PackageRequest;
use crate::ui::{sanitize, Printer, INTERRUPTED};

pub(crate) fn run(request: &PackageRequest, printer: &Printer) -> anyhow::Result<ExitCode> {
    let bar = printer.progress(0, "verify");
    let done = package(request, &bar, &INTERRUPTED, &|note| printer.status(note))?;
    bar.finish();
    if done.interrupted {
        printer.status("sfhq-pack: package: interrupted; nothing was written");
        return Ok(ExitCode::Interrupted);
    }
    if !done.refused.is_empty() {
        for problem in &done.refused {
            eprintln!("FAILED {problem}");
        }
        eprintln!(
            "sfhq-pack: package: refusing to describe a folder that fails verify ({} problem(s) above); nothing was written. Restore the shards (or convert again) until `sfhq-pack verify {}` passes",
            done.refused.len(),
            sanitize(&request.dir.display().to_string())
        );
        return Ok(ExitCode::ProblemsFound);
    }
    for line in &done.wrote {
        println!("{line}");
    }
    if !printer.quiet {
        for hint in &done.hints {
            eprintln!("{hint}");
        }
    }
    Ok(ExitCode::Success)
}
