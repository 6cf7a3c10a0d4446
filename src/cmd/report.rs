//! `report`: the HTML page to look at the data (engine in `report/`).

use crate::config::ReportCommandConfig;
use crate::exit::ExitCode;
use crate::report::{self, Outcome};
use crate::ui::{Printer, INTERRUPTED};

pub(crate) fn run(config: &ReportCommandConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    let bar = printer.progress(0, "report");
    let outcome = report::run(&config.report, &bar, &INTERRUPTED);
    bar.finish();
    let summary = match outcome? {
        Outcome::Written(summary) => summary,
        Outcome::Interrupted => {
            printer.status(&format!(
                "sfhq-pack: interrupted; no page written to {} (a folder this run created is removed): run report again",
                config.report.out.display()
            ));
            return Ok(ExitCode::Interrupted);
        }
    };
    if config.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    if !printer.quiet {
        let secs = bar.started.elapsed().as_secs_f64();
        eprintln!(
            "wrote {} in {secs:.1} s: {} samples, {} excluded, {} with warnings; {} cards, {} in the gallery",
            summary.page,
            summary.samples,
            summary.excluded,
            summary.warned,
            summary.cards.len(),
            summary.gallery.len()
        );
    }
    // Like validate: a dataset with excluded samples is a finished run that found problems.
    Ok(ExitCode::from_problems(!summary.errors.is_empty()))
}
