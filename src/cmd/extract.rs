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
    if let Some(r) = &done.resize {
        printer.status(&format!(
            "note: the dataset was converted at {r}x{r} (--resolution {r}): the images, maps and landmarks written are the stored {r}x{r} ones, not the original {s}x{s} source bytes (the manifest's options.resize says how they were made; the Parquet *_source_sha256 columns name the source files)",
            r = r.resolution,
            s = r.source_size
        ));
    }
    Ok(ExitCode::Success)
}
