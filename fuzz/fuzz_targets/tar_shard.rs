#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = sfhq_pack::fuzzing::tar_shard(data) {
        panic!("{broken}");
    }
});

// Every tar header carries a checksum of itself, so nearly every mutation of a header would
// only test the checksum check. Three mutations in four get their ustar headers' checksums
// recomputed, so that sizes, names and types reach the readers behind it.
fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let size = fuzzer_mutate(data, size, max_size);
    if !seed.is_multiple_of(4) {
        fix_checksums(&mut data[..size]);
    }
    size
});

fn fix_checksums(tar: &mut [u8]) {
    for header in tar.chunks_exact_mut(512) {
        if &header[257..262] != b"ustar" {
            continue;
        }
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        let field = format!("{sum:06o}\0 ");
        header[148..156].copy_from_slice(&field.as_bytes()[field.len() - 8..]);
    }
}
