//! Reads SFHQ `pretrained_features/*.pickle` files without executing them.
//!
//! A pickle is a program for a stack machine, and its `GLOBAL`/`REDUCE` opcodes import and
//! call any Python function the file names: `pickle.load` (and numpy's `allow_pickle=True`)
//! runs `os.system` as readily as `numpy.dtype`. So this reader is its own small machine
//! with an allow-list: it knows the handful of globals that numpy's array pickling emits
//! and interprets each of them symbolically, building typed values, never calling
//! anything. Any other global refuses the whole file as [`PickleError::Unsafe`], at the
//! moment the global is named, because Python would already have imported its module then.
//!
//! What it accepts, and nothing more:
//! - protocols 2 to 5, binary opcodes only (protocol 0/1 text opcodes, persistent ids,
//!   extension registry codes, sets, `NEWOBJ` and out-of-band buffers are refused);
//! - the globals `numpy.core.multiarray _reconstruct` / `numpy._core.multiarray _reconstruct`
//!   (numpy 1.x / 2.x spelling) with `numpy ndarray`, `numpy dtype`, `_codecs encode` (how
//!   protocol 2 carries bytes, as a latin-1 string), `__builtin__ bytes` / `builtins bytes`
//!   with no arguments (how protocol 2 carries the empty data of an empty array), and
//!   `numpy.core.numeric _frombuffer` / `numpy._core.numeric _frombuffer` (protocol 5);
//! - as the result, a dict of model name -> numpy array of a [`DType`], which comes out
//!   in the dict's insertion order, normalised to little-endian C order.
//!
//! A crafted file must not exhaust memory or stack either. The machine is a loop over an
//! explicit stack; objects live in one arena and refer to each other by index, so nothing
//! (not even dropping a deeply nested tuple) recurses on input-controlled depth. Every
//! length prefix is checked against the remaining input before anything is allocated.
//! [`PickleLimits`] bounds the stack, the memo and the array bytes, and [`MAX_OBJECTS`]
//! the objects and container items, which cost tens of bytes each however few input bytes
//! made them (a chain of one-byte `TUPLE1` opcodes would otherwise turn 32 MiB of input
//! into 2 GiB). What remains, strings and bytes, is bounded by the input size.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use super::array::{data_len, Array, ByteOrder, DType};

/// Objects (strings, tuples, lists, dicts, numpy values) and items placed in containers
/// that one file may create. A numpy feature pickle needs a few dozen per array.
pub const MAX_OBJECTS: usize = 1_000_000;

/// Limits that keep a crafted file from exhausting memory or stack.
#[derive(Debug, Clone, Copy)]
pub struct PickleLimits {
    /// Size of the whole pickle file.
    pub max_input_bytes: usize,
    /// Distinct memo slots the file may fill (`BINPUT`, `LONG_BINPUT`, `MEMOIZE`).
    pub max_memo_entries: usize,
    /// Items on the stack + nesting of MARKs.
    pub max_stack_depth: usize,
    /// Bytes of array data one file may decode to, each array and all of them together
    /// (arrays shared through the memo count once per use, so sharing cannot amplify).
    pub max_array_bytes: usize,
}

impl Default for PickleLimits {
    fn default() -> Self {
        PickleLimits {
            max_input_bytes: 64 << 20,
            max_memo_entries: 10_000,
            max_stack_depth: 10_000,
            max_array_bytes: 64 << 20,
        }
    }
}

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// A global outside the allow-list: the file would run code under pickle.load.
    #[error(
        "global '{}' is not allowed: a pickle.load of this file would run it",
        shown_global(.module, .name)
    )]
    Unsafe { module: String, name: String },
    /// Not a pickle, truncated, an unknown or unsupported opcode, a wrong shape of data.
    #[error("malformed pickle at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    /// A limit was hit (say which and the value).
    #[error("the pickle exceeds the limit of {limit} {what}")]
    Limit { what: &'static str, limit: usize },
}

/// Decodes a pickled dict of str -> numpy array, in the dict's insertion order.
pub fn read_feature_dict(
    bytes: &[u8],
    limits: &PickleLimits,
) -> Result<Vec<(String, Array)>, PickleError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(PickleError::Limit {
            what: "input bytes",
            limit: limits.max_input_bytes,
        });
    }
    let mut vm = Vm::new(bytes, *limits);
    let (result, stop_offset) = vm.run()?;
    vm.feature_dict(result, stop_offset)
}

/// Longest module, name, key or code quoted in a message: the file chooses them.
const MAX_QUOTED_CHARS: usize = 120;

/// Quotes file-controlled text so that control characters cannot forge log lines and a
/// huge string cannot flood a report.
fn quoted(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_QUOTED_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn shown_global(module: &str, name: &str) -> String {
    format!("{} {}", quoted(module), quoted(name))
}

pub(crate) mod opcodes;
#[cfg(test)]
mod tests;
mod vm;

use opcodes as op;
#[allow(clippy::wildcard_imports)]
use vm::*;
