#![no_main]

use libfuzzer_sys::fuzz_target;

// The parquet and arrow crates panic on some malformed files. sfhq-pack's readers catch
// those panics and report the shard (`format::parquet::reader::catch_reader_panics`), which also
// keeps libfuzzer-sys's aborting panic hook quiet for the panics it catches: a panic
// anywhere else still aborts and is a finding.
fuzz_target!(|data: &[u8]| {
    if let Err(broken) = sfhq_pack::fuzzing::parquet_shard(data) {
        panic!("{broken}");
    }
});
