//! `completions SHELL` and `man [COMMAND]`: generated from the clap definition in `cli.rs`,
//! so they never drift from `--help`. These two commands are about the command line
//! itself, which is why clap types reach past `config.rs` here and nowhere else.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::exit::ExitCode;

const BIN: &str = "sfhq-pack";

/// Writes the completion script for `shell` to `out`.
pub(crate) fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, BIN, out);
}

pub(crate) fn run(shell: Shell) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    write_completions(shell, &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .context("writing the completion script to stdout")?;
    Ok(ExitCode::Success)
}

/// The roff page of the whole tool (`None`) or of one command (`Some("convert")`): the
/// page of a command is named `sfhq-pack-convert(1)`, as git and cargo name theirs.
pub(crate) fn man_page(command: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let mut root = Cli::command();
    root.build();
    let page = match command {
        None => root,
        Some(name) => {
            let names: Vec<String> = root
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            let sub = root.find_subcommand(name).cloned().with_context(|| {
                format!(
                    "man: no command named {name:?}; the commands are: {}",
                    names.join(", ")
                )
            })?;
            // clap's names are `&'static str` without its `string` feature (which would
            // rebuild clap for every user); one page per process, so leaking is harmless.
            let page_name: &'static str = format!("{BIN}-{}", sub.get_name()).leak();
            sub.name(page_name)
                .bin_name(page_name)
                .version(env!("SFHQ_PACK_VERSION"))
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .context("rendering the manual page")?;
    Ok(roff)
}

pub(crate) fn run_man(command: Option<&str>) -> anyhow::Result<ExitCode> {
    let roff = man_page(command)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&roff)
        .and_then(|()| stdout.flush())
        .context("writing the manual page to stdout")?;
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        write_completions(shell, &mut out);
        String::from_utf8(out).expect("completion scripts are UTF-8")
    }

    #[test]
    fn completions_name_the_binary_and_every_command() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = script(shell);
            assert!(text.contains(BIN), "{shell}: binary name missing");
            for command in [
                "scan",
                "validate",
                "convert",
                "verify",
                "package",
                "completions",
            ] {
                assert!(text.contains(command), "{shell}: command {command} missing");
            }
        }
        assert!(script(Shell::Bash).contains("-o default sfhq-pack"));
        assert!(script(Shell::Zsh).starts_with("#compdef sfhq-pack"));
        assert!(script(Shell::Fish).contains("complete -c sfhq-pack"));
        assert!(script(Shell::Fish).contains("-l shard-size"));
    }

    #[test]
    fn man_pages_for_the_tool_and_a_command() {
        let main = String::from_utf8(man_page(None).unwrap()).unwrap();
        assert!(main.contains(".TH sfhq-pack 1"), "{main}");
        assert!(main.contains("convert"));
        let convert = String::from_utf8(man_page(Some("convert")).unwrap()).unwrap();
        assert!(convert.contains(".TH sfhq-pack-convert 1"), "{convert}");
        assert!(convert.contains("shard\\-size"), "{convert}");
        let err = man_page(Some("nope")).unwrap_err().to_string();
        assert!(err.contains("no command named \"nope\""), "{err}");
        assert!(err.contains("convert"), "{err}");
    }

    #[test]
    fn version_names_the_package_version_and_the_commit_when_known() {
        let version = Cli::command().get_version().unwrap().to_string();
        assert!(version.starts_with(env!("CARGO_PKG_VERSION")), "{version}");
        let commit = env!("SFHQ_PACK_COMMIT");
        if commit.is_empty() {
            assert_eq!(version, env!("CARGO_PKG_VERSION"));
        } else {
            assert_eq!(
                version,
                format!("{} (commit {commit})", env!("CARGO_PKG_VERSION"))
            );
            assert!(commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
}
