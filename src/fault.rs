//! Crash points for the recovery tests: with `SFHQ_PACK_CRASH_AT=NAME` in the environment the
//! process aborts at the point named NAME, as `kill -9` would (no destructor runs, nothing is
//! cleaned up). Timed kills hit the long stretches of a run; these reach the short ones
//! (between the last shard and the manifest) every time. Unset, a point costs one lookup of
//! a cached value.

use std::sync::OnceLock;

pub(crate) fn point(name: &str) {
    static CRASH_AT: OnceLock<Option<String>> = OnceLock::new();
    let wanted = CRASH_AT.get_or_init(|| std::env::var("SFHQ_PACK_CRASH_AT").ok());
    if wanted.as_deref() == Some(name) {
        eprintln!("sfhq-pack: SFHQ_PACK_CRASH_AT={name}: aborting here");
        std::process::abort();
    }
}
