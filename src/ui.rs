//! What people see: the progress bar and the closing summary on stderr, error text made
//! safe for a terminal. Results and `--json` go to stdout; everything else to stderr.
//! The engine reports through [`Progress`] and never touches indicatif itself.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pipeline::Progress;
use crate::validate::Code;

/// Set by the first Ctrl-C; the pipeline stops between batches and removes partial shards.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler: the first press asks the run to stop cleanly, the second
/// exits at once with 130.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nsfhq-pack: interrupted; finishing the current batch and removing partial shards (Ctrl-C again to quit now)");
    });
}

/// Whether and how to talk on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub quiet: bool,
    pub stderr_is_terminal: bool,
}

impl Printer {
    pub fn new(quiet: bool) -> Printer {
        Printer {
            quiet,
            stderr_is_terminal: std::io::stderr().is_terminal(),
        }
    }

    /// A status line on stderr, unless quiet.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A progress bar over `total` samples: drawn only on a terminal and when not quiet.
    pub fn progress(&self, total: u64, verb: &str) -> Bar {
        let bar = if self.quiet || !self.stderr_is_terminal {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} samples, {msg} ({elapsed}, eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(verb.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        };
        Bar {
            bar,
            bytes: std::sync::atomic::AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

/// The progress bar handed to the engine.
pub struct Bar {
    bar: ProgressBar,
    bytes: std::sync::atomic::AtomicU64,
    pub started: Instant,
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn advance(&self, samples: u64, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bar.set_message(format_bytes(total));
        self.bar.inc(samples);
    }
}

impl Bar {
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `65,536`: a count with thousands separators.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 file`, `2 files`: a count with its noun, in the right number.
pub(crate) fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// `1234567` -> `1.2 MB` (decimal units, as file managers and the Hub show sizes).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// One line per code: `  image.truncated: 3`.
pub fn format_counts(counts: &BTreeMap<Code, u64>) -> String {
    counts
        .iter()
        .map(|(code, n)| format!("\n    {code}: {n}"))
        .collect()
}

/// Escapes control and bidirectional-override characters, so that a hostile file or zip
/// member name cannot rewrite the terminal.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                c.escape_unicode().to_string()
            }
            c => c.to_string(),
        })
        .collect()
}

/// [`sanitize`] for text that must stay on one line (a name inside a message): newlines
/// and tabs are escaped too, so a hostile file name cannot forge a line of its own.
pub fn sanitize_line(text: &str) -> String {
    sanitize(text).replace('\n', "\\n").replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_separators_and_number() {
        assert_eq!(thousands(65_533), "65,533");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(2, "file"), "2 files");
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(sanitize("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(sanitize("x\u{202E}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(sanitize("line\nnext"), "line\nnext");
        assert_eq!(
            sanitize_line("key\nsfhq-pack: ok\t"),
            "key\\nsfhq-pack: ok\\t"
        );
    }

    #[test]
    fn bytes_use_decimal_units() {
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(1_500_000), "1.5 MB");
    }
}
