//! Integration tests: the real binary on the fixtures in `fixtures/`, one module per
//! subcommand, plus the hostile-input and determinism checks.

mod util;

mod convert;
mod dedup;
mod determinism;
mod extract;
mod fuzz_replay;
mod hostile;
mod install;
mod interrupt;
mod memory;
mod package;
mod plan;
mod report;
mod resolution;
mod resume;
mod scan;
mod sources;
mod splits;
mod trust;
mod validate;
mod verify;
mod webdataset;
