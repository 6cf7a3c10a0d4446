//! Decoders: bytes in, typed values out. No I/O here: sources read, decoders parse, so
//! every decoder can be tested and fuzzed on byte slices.

pub mod array;
pub mod image;
pub mod npy;
pub mod pickle;
pub mod segmentation;
