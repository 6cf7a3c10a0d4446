//! sfhq-pack: turns SFHQ face-dataset downloads into checksummed Parquet and WebDataset
//! shards with a manifest, validating every sample on the way.
//!
//! Data flows one way, and the module tree follows it:
//! [`source`] (folders, zips, the inventory) -> [`decode`] (bytes to typed values, no I/O)
//! -> [`validate`] (rules to issues) -> `format` (Parquet and WebDataset writers and
//! readers) -> `manifest`. `sample` is the vocabulary they share; `pipeline` drives the
//! flow in parallel batches. The engines (`convert`, `verify`, `extract`, `plan`, `scan`,
//! `dedup`, `publish`, `report`) sit above and can be called from any command; `cmd` holds one thin module
//! per subcommand (args -> config -> engine -> print).

mod checksum;
pub mod cli;
mod cmd;
mod config;
mod convert;
pub mod decode;
mod dedup;
mod encode;
mod exit;
mod extract;
mod fault;
mod format;
/// Not an interface: the entry points of the fuzz targets in `fuzz/` and of the replay test
/// `tests/fuzz_replay.rs`.
#[doc(hidden)]
pub mod fuzzing;
mod manifest;
pub mod memory;
mod output;
mod pipeline;
mod plan;
mod publish;
mod report;
mod resize;
mod sample;
mod scan;
mod schema;
pub mod source;
mod split;
mod ui;
pub mod validate;
mod verify;

use cli::{Cli, Command};
pub use exit::ExitCode;

/// Two workers per core: a worker waiting for the disk leaves its core to the other, so
/// a cold-cache convert overlaps reading with decoding (10% faster here on 2 cores), and
/// with the files cached the extra threads cost nothing measurable.
fn default_threads() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs a parsed command line and returns the exit code; errors are printed here, once.
pub fn run(cli: Cli) -> ExitCode {
    let printer = ui::Printer::new(cli.quiet);
    let threads = cli.threads.unwrap_or_else(default_threads).max(1);
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        eprintln!("sfhq-pack: cannot start {threads} threads: {e}");
        return ExitCode::Failure;
    }
    ui::install_interrupt_handler();
    let result = match &cli.command {
        Command::Scan(args) => cmd::scan::run(&config::ScanConfig::from_args(args), &printer),
        Command::Validate(args) => {
            config::ValidateConfig::from_args(args).and_then(|c| cmd::validate::run(&c, &printer))
        }
        Command::Convert(args) => {
            config::ConvertConfig::from_args(args).and_then(|c| cmd::convert::run(&c, &printer))
        }
        Command::Verify(args) => cmd::verify::run(&config::VerifyConfig::from_args(args), &printer),
        Command::Extract(args) => {
            cmd::extract::run(&config::ExtractConfig::from_args(args), &printer)
        }
        Command::Plan(args) => {
            config::PlanCommandConfig::from_args(args).and_then(|c| cmd::plan::run(&c, &printer))
        }
        Command::Package(args) => {
            cmd::package::run(&publish::PackageRequest::from_args(args), &printer)
        }
        Command::Dedup(args) => {
            config::DedupCommandConfig::from_args(args).and_then(|c| cmd::dedup::run(&c, &printer))
        }
        Command::Report(args) => config::ReportCommandConfig::from_args(args)
            .and_then(|c| cmd::report::run(&c, &printer)),
        Command::Completions(args) => cmd::completions::run(args.shell),
        Command::Man(args) => cmd::completions::run_man(args.command.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::Success,
        Err(e) => {
            eprintln!("sfhq-pack: {}", ui::sanitize(&format!("{e:#}")));
            ExitCode::Failure
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
