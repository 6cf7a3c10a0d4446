#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = sfhq_pack::fuzzing::manifest(data) {
        panic!("{broken}");
    }
});
