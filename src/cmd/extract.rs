//! `extract`: shards back to the SFHQ folder layout.

use crate::config::ExtractConfig;
use crate::exit::ExitCode;
use crate::extract::extract;
use crate::pipeline::Completion;
use crate::ui::{sanitize, Printer, INTERRUPTED};

pub(crate) fn run(config: &ExtractConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    let bar = printer.progress(0, "extract");
    let done = extract(config, &bar, &INTERRUPTED)?;
    bar.finish();
    if done.completion == Completion::Interrupted {
        printer.status("sfhq-pack: interrupted; the files extracted so far were removed");
        return Ok(ExitCode::Interrupted);
    }
    printer.status(&format!(
        "extracted {} samples from {} {} shard(s) to {}",
        done.samples,
        done.shards,
        done.format.name(),
        sanitize(&config.out.display().to_string())
    ));
    Ok(ExitCode::Success)
}
