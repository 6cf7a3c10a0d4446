#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = sfhq_pack::fuzzing::label_map(data) {
        panic!("{broken}");
    }
});

// Every PNG chunk ends with a CRC of itself, so nearly every mutation would only test the
// CRC check. Three mutations in four get their chunks' CRCs recomputed, so that the header
// fields and the image data reach the decoder and the summary behind it.
fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let size = fuzzer_mutate(data, size, max_size);
    if !seed.is_multiple_of(4) {
        fix_crcs(&mut data[..size]);
    }
    size
});

fn fix_crcs(png: &mut [u8]) {
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e + 4 <= png.len()) else {
            return;
        };
        let crc = crc32fast::hash(&png[pos + 4..end]);
        png[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        pos = end + 4;
    }
}
