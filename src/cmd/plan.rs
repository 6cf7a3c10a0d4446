//! `plan`: predicts shards, sizes and file counts from the inventory and prints the checks
//! against the platforms' limits.

use crate::config::PlanCommandConfig;
use crate::exit::ExitCode;
use crate::plan::{plan, Plan};
use crate::source::duplicates::inventory_without_duplicates;
use crate::ui::{format_bytes, Printer};

pub(crate) fn run(config: &PlanCommandConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    // A duplicate key stops `convert` before it writes anything: no plan can be kept.
    let inventory = inventory_without_duplicates(&config.sources)?;
    let plan = plan(&inventory, &config.plan);
    if config.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print_text(&plan);
    }
    printer.status(&format!("plan: {}", plan.verdict));
    Ok(ExitCode::from_problems(plan.checks.iter().any(|c| !c.ok)))
}

fn print_text(plan: &Plan) {
    println!(
        "{} samples (an upper bound: samples that fail validation are not counted out)",
        plan.samples
    );
    for (split, rows) in &plan.splits {
        println!("  split {split}: {rows} samples");
    }
    for folder in &plan.folders {
        println!(
            "{}/: {} files, {}, largest {}",
            folder.path,
            folder.files,
            format_bytes(folder.bytes),
            format_bytes(folder.largest_file)
        );
    }
    println!(
        "total: {} files, {}",
        plan.total_files,
        format_bytes(plan.total_bytes)
    );
    for check in &plan.checks {
        println!(
            "{} {}: {}",
            if check.ok { "ok  " } else { "FAIL" },
            check.target,
            check.rule
        );
    }
    println!("verdict: {}", plan.verdict);
}
