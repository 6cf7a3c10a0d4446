//! `package`: publishing files for a converted folder (being written).

use crate::cli::PackageArgs;
use crate::exit::ExitCode;
use crate::ui::Printer;

pub fn run(_args: &PackageArgs, _printer: &Printer) -> anyhow::Result<ExitCode> {
    anyhow::bail!("package is not available in this build")
}
