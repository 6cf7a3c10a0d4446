//! One module per subcommand, each with a `run` that takes its resolved settings, calls an
//! engine and prints: args -> config -> engine -> print. Shared printing lives here.

pub(crate) mod completions;
pub(crate) mod convert;
pub(crate) mod dedup;
pub(crate) mod extract;
pub(crate) mod package;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod validate;
pub(crate) mod verify;

use crate::ui::{sanitize, Printer};
use crate::validate::report::SampleIssues;

/// How many issue lines to print before pointing to the full list.
const SHOWN_ISSUES: usize = 20;

/// Prints issues, one per line, on stderr (unless quiet), at most [`SHOWN_ISSUES`].
pub(crate) fn print_issues(
    printer: &Printer,
    heading: &str,
    samples: &[SampleIssues],
    full_list: &str,
) {
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
