//! Exit codes: a typed enum, so every command reports through one mapping.

/// How a run ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    /// 0: done, nothing wrong (warnings allowed).
    Success,
    /// 1: finished, but problems were found: samples excluded, validation errors, a verify
    /// mismatch, refused paths (unsafe zip members, special files).
    ProblemsFound,
    /// 2: could not run: bad usage, unreadable source, duplicate keys, I/O failure.
    Failure,
    /// 130: interrupted by Ctrl-C or SIGTERM; partial files were removed.
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::ProblemsFound => 1,
            ExitCode::Failure => 2,
            ExitCode::Interrupted => 130,
        }
    }

    pub fn from_problems(found: bool) -> ExitCode {
        if found {
            ExitCode::ProblemsFound
        } else {
            ExitCode::Success
        }
    }
}

/// The text `--help` shows; the README repeats it.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (warnings allowed)
  1    finished, but problems were found: samples excluded, validation errors,
       refused paths (unsafe zip members, special files), or a verify mismatch
  2    could not run: usage error, unreadable source, duplicate keys, foreign
       files in --out, a folder locked by another run, an empty split, I/O
       failure (a full disk)
  130  interrupted (Ctrl-C, SIGTERM); no partial file is left behind";

#[cfg(test)]
mod tests {
    use super::ExitCode::*;

    #[test]
    fn codes_are_the_documented_numbers() {
        assert_eq!(
            [Success, ProblemsFound, Failure, Interrupted].map(|c| c.code()),
            [0, 1, 2, 130]
        );
    }
}
