//! sfhq-pack: turns SFHQ face-dataset downloads into checksummed Parquet shards with a
//! manifest, validating every sample on the way.
//!
//! Data flows one way: [`source`] (folders, zips, the inventory) -> [`decode`] (bytes to
//! typed values, no I/O) -> [`validate`] (rules to issues) -> [`sink`] (shards) ->
//! [`manifest`]. [`pipeline`] drives the flow in parallel batches; [`cmd`] holds one
//! module per subcommand.

pub mod checksum;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod decode;
pub mod dedup;
pub mod encode;
pub mod exit;
pub mod manifest;
pub mod memory;
pub mod pipeline;
pub mod publish;
pub mod schema;
pub mod sink;
pub mod source;
pub mod split;
pub mod ui;
pub mod validate;

use cli::{Cli, Command};
use exit::ExitCode;

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
        Command::Scan(args) => cmd::scan::run(args, &printer),
        Command::Validate(args) => cmd::validate::run(args, &printer),
        Command::Convert(args) => {
            config::ConvertConfig::from_args(args).and_then(|c| cmd::convert::run(&c, &printer))
        }
        Command::Verify(args) => cmd::verify::run(args, &printer),
        Command::Extract(args) => cmd::extract::run(args, &printer),
        Command::Plan(args) => cmd::plan::run(args, &printer),
        Command::Package(args) => cmd::package::run(args, &printer),
        Command::Dedup(args) => cmd::dedup::run(args, &printer),
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
