//! Writes `pretrained_features/*.pickle` files as SFHQ ships them: a pickled dict of model
//! name -> numpy array.
//!
//! The stream is protocol 4 with numpy 1.x's globals (`numpy.core.multiarray _reconstruct`,
//! `numpy ndarray`, `numpy dtype`), each array rebuilt the way `ndarray.__reduce__` does it.
//! numpy 1.x imports those names as they are; numpy 2.x keeps `numpy.core.multiarray` as
//! a shim that resolves `_reconstruct` to `numpy._core`, so plain `pickle.load` works
//! under both. (numpy 2's own spelling, `numpy._core`, would not load under numpy 1.)
//!
//! Beyond loading, the bytes are the very ones CPython's `pickle.dumps(d, protocol=4)`
//! writes under numpy 1.x for freshly made arrays: the same opcodes, the same memo
//! references for objects CPython shares (the globals, one dtype object per type, and the
//! strings and bytes it keeps a single copy of), and the same frames, including the
//! out-of-frame copy of payloads of 64 KiB or more. That is what makes "the same arrays give
//! the same file" checkable against the reference implementation, not just our reader.

use std::collections::HashMap;

use super::npy::descr;
use crate::decode::array::{Array, DType};

use crate::decode::pickle::opcodes as op;

/// CPython's framing constants (`Modules/_pickle.c`, `Lib/pickle.py`).
const FRAME_SIZE_TARGET: usize = 64 * 1024;
const FRAME_SIZE_MIN: usize = 4;
const FRAME_HEADER_SIZE: usize = 9;
/// CPython writes dict items in SETITEMS batches of this many.
const BATCH_SIZE: usize = 1000;

/// The module numpy 1.x names for `_reconstruct`; see the module doc for why not numpy 2's.
const RECONSTRUCT_MODULE: &str = "numpy.core.multiarray";

/// Appends a protocol-4 pickle of the dict `{name: array}`, in the given order, each array
/// with its own dtype and shape (C order). `pickle.load` gives numpy arrays equal to the
/// input under numpy 1.x and 2.x, and [`crate::decode::pickle::read_feature_dict`] gives
/// the input back.
///
/// # Panics
/// If two models have the same name: a dict keeps one value per key, so the file could
/// not hold both arrays.
pub fn write_feature_dict(models: &[(&str, &Array)], out: &mut Vec<u8>) {
    for (i, (name, _)) in models.iter().enumerate() {
        assert!(
            models[..i].iter().all(|(other, _)| other != name),
            "feature model name '{name}' appears twice"
        );
    }
    let mut p = Pickler {
        out,
        frame: None,
        memo_len: 0,
        shared: HashMap::new(),
    };
    // PROTO precedes the first frame: CPython turns framing on only after writing it.
    p.out.extend_from_slice(&[op::PROTO, 4]);
    p.save_dict(models);
    p.write(&[op::STOP]);
    p.commit_frame();
}

/// Objects that CPython pickles once and then refers to through the memo, because they
/// are one object in its memory: the memo is keyed by identity, not value.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Shared {
    /// Interned identifiers (global names) and the strings of at most one Latin-1
    /// character, which CPython keeps a single copy of (byte orders, 1-letter keys).
    Str(String),
    /// The empty and the one-byte bytes objects, likewise single: `b'b'` in every
    /// `_reconstruct` call, and the data of arrays of at most one byte.
    Bytes(Vec<u8>),
    Reconstruct,
    NdarrayClass,
    DtypeClass,
    /// numpy has one dtype object per built-in type, shared by the arrays that use it.
    Dtype(DType),
}

/// Mirrors CPython's `Pickler.save` call by call, since where a frame ends depends on
/// which `save` calls happen: the frame is checked at the start of every one.
struct Pickler<'a> {
    out: &'a mut Vec<u8>,
    /// Offset in `out` of the open frame's reserved header, if a frame is open.
    frame: Option<usize>,
    memo_len: u32,
    shared: HashMap<Shared, u32>,
}

impl Pickler<'_> {
    /// Appends to the open frame, opening one if none is.
    fn write(&mut self, bytes: &[u8]) {
        if self.frame.is_none() {
            self.frame = Some(self.out.len());
            self.out.extend_from_slice(&[0; FRAME_HEADER_SIZE]);
        }
        self.out.extend_from_slice(bytes);
    }

    /// Closes the open frame: fills in its header, or drops the header when the frame is
    /// too small to be worth one, as CPython does.
    fn commit_frame(&mut self) {
        let Some(start) = self.frame.take() else {
            return;
        };
        let len = self.out.len() - start - FRAME_HEADER_SIZE;
        if len >= FRAME_SIZE_MIN {
            self.out[start] = op::FRAME;
            self.out[start + 1..start + FRAME_HEADER_SIZE]
                .copy_from_slice(&(len as u64).to_le_bytes());
        } else {
            self.out.drain(start..start + FRAME_HEADER_SIZE);
        }
    }

    /// Runs at the start of every `save`: a frame that reached the target size ends here.
    fn save_start(&mut self) {
        if let Some(start) = self.frame {
            if self.out.len() - start - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET {
                self.commit_frame();
            }
        }
    }

    /// Writes an opcode with its length prefix and payload. Large payloads go outside any
    /// frame, so that a reader can take them without copying through a frame buffer.
    fn write_payload(&mut self, header: &[u8], payload: &[u8]) {
        if payload.len() >= FRAME_SIZE_TARGET {
            self.commit_frame();
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(payload);
        } else {
            self.write(header);
            self.write(payload);
        }
    }

    fn memoize(&mut self, key: Option<Shared>) {
        self.write(&[op::MEMOIZE]);
        if let Some(key) = key {
            self.shared.insert(key, self.memo_len);
        }
        self.memo_len += 1;
    }

    /// Refers to an already pickled shared object; false if it was not pickled yet.
    fn memo_get(&mut self, key: &Shared) -> bool {
        let Some(&index) = self.shared.get(key) else {
            return false;
        };
        match u8::try_from(index) {
            Ok(i) => self.write(&[op::BINGET, i]),
            Err(_) => {
                let mut bytes = vec![op::LONG_BINGET];
                bytes.extend_from_slice(&index.to_le_bytes());
                self.write(&bytes);
            }
        }
        true
    }

    fn save_int(&mut self, value: i128) {
        self.save_start();
        if let Ok(v) = u8::try_from(value) {
            self.write(&[op::BININT1, v]);
        } else if let Ok(v) = u16::try_from(value) {
            let [a, b] = v.to_le_bytes();
            self.write(&[op::BININT2, a, b]);
        } else if let Ok(v) = i32::try_from(value) {
            let mut bytes = vec![op::BININT];
            bytes.extend_from_slice(&v.to_le_bytes());
            self.write(&bytes);
        } else {
            // Two's complement, little-endian, in the fewest bytes that keep the sign.
            let le = value.to_le_bytes();
            let mut len = le.len();
            while len > 1 {
                let (top, next) = (le[len - 1], le[len - 2]);
                let redundant = (top == 0 && next & 0x80 == 0) || (top == 0xff && next & 0x80 != 0);
                if !redundant {
                    break;
                }
                len -= 1;
            }
            let mut bytes = vec![op::LONG1, len as u8];
            bytes.extend_from_slice(&le[..len]);
            self.write(&bytes);
        }
    }

    fn save_bool(&mut self, value: bool) {
        self.save_start();
        self.write(&[if value { op::NEWTRUE } else { op::NEWFALSE }]);
    }

    fn save_none(&mut self) {
        self.save_start();
        self.write(&[op::NONE]);
    }

    /// `interned`: a global's module or name, one object however often it is named.
    fn save_str(&mut self, text: &str, interned: bool) {
        self.save_start();
        let single = {
            let mut chars = text.chars();
            chars.next().is_none_or(|c| u32::from(c) < 256) && chars.next().is_none()
        };
        let key = (interned || single).then(|| Shared::Str(text.to_owned()));
        if key.as_ref().is_some_and(|k| self.memo_get(k)) {
            return;
        }
        let raw = text.as_bytes();
        let header = if let Ok(n) = u8::try_from(raw.len()) {
            vec![op::SHORT_BINUNICODE, n]
        } else if let Ok(n) = u32::try_from(raw.len()) {
            let mut h = vec![op::BINUNICODE];
            h.extend_from_slice(&n.to_le_bytes());
            h
        } else {
            let mut h = vec![op::BINUNICODE8];
            h.extend_from_slice(&(raw.len() as u64).to_le_bytes());
            h
        };
        self.write_payload(&header, raw);
        self.memoize(key);
    }

    fn save_bytes(&mut self, bytes: &[u8]) {
        self.save_start();
        let key = (bytes.len() <= 1).then(|| Shared::Bytes(bytes.to_vec()));
        if key.as_ref().is_some_and(|k| self.memo_get(k)) {
            return;
        }
        let header = if let Ok(n) = u8::try_from(bytes.len()) {
            vec![op::SHORT_BINBYTES, n]
        } else if let Ok(n) = u32::try_from(bytes.len()) {
            let mut h = vec![op::BINBYTES];
            h.extend_from_slice(&n.to_le_bytes());
            h
        } else {
            let mut h = vec![op::BINBYTES8];
            h.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            h
        };
        self.write_payload(&header, bytes);
        self.memoize(key);
    }

    fn save_global(&mut self, which: Shared, module: &str, name: &str) {
        self.save_start();
        if self.memo_get(&which) {
            return;
        }
        self.save_str(module, true);
        self.save_str(name, true);
        self.write(&[op::STACK_GLOBAL]);
        self.memoize(Some(which));
    }

    /// A tuple of `len` items that `items` saves. CPython never shares these (nor the
    /// empty tuple, which it does not even memoize).
    fn save_tuple(&mut self, len: usize, items: impl FnOnce(&mut Self)) {
        self.save_start();
        if len == 0 {
            self.write(&[op::EMPTY_TUPLE]);
            return;
        }
        if len <= 3 {
            items(self);
            self.write(&[op::TUPLE1 + (len - 1) as u8]);
        } else {
            self.write(&[op::MARK]);
            items(self);
            self.write(&[op::TUPLE]);
        }
        self.memoize(None);
    }

    /// `numpy.dtype.__reduce__`: `dtype('f2', False, True)`, then its state with the byte
    /// order, `(3, '<', None, None, None, -1, -1, 0)`.
    fn save_dtype(&mut self, dtype: DType) {
        self.save_start();
        if self.memo_get(&Shared::Dtype(dtype)) {
            return;
        }
        let descr = descr(dtype);
        let (order, code) = descr.split_at(1);
        self.save_global(Shared::DtypeClass, "numpy", "dtype");
        self.save_tuple(3, |p| {
            p.save_str(code, false);
            p.save_bool(false);
            p.save_bool(true);
        });
        self.write(&[op::REDUCE]);
        self.memoize(Some(Shared::Dtype(dtype)));
        self.save_tuple(8, |p| {
            p.save_int(3);
            p.save_str(order, false);
            p.save_none();
            p.save_none();
            p.save_none();
            p.save_int(-1);
            p.save_int(-1);
            p.save_int(0);
        });
        self.write(&[op::BUILD]);
    }

    /// numpy 1.x `ndarray.__reduce__`: `_reconstruct(ndarray, (0,), b'b')`, then the state
    /// `(1, shape, dtype, is_fortran, raw data)`.
    fn save_array(&mut self, array: &Array) {
        self.save_start();
        self.save_global(Shared::Reconstruct, RECONSTRUCT_MODULE, "_reconstruct");
        self.save_tuple(3, |p| {
            p.save_global(Shared::NdarrayClass, "numpy", "ndarray");
            p.save_tuple(1, |p| p.save_int(0));
            p.save_bytes(b"b");
        });
        self.write(&[op::REDUCE]);
        self.memoize(None);
        self.save_tuple(5, |p| {
            p.save_int(1);
            p.save_tuple(array.shape.len(), |p| {
                for &dim in &array.shape {
                    p.save_int(dim as i128);
                }
            });
            p.save_dtype(array.dtype);
            p.save_bool(false);
            p.save_bytes(&array.data);
        });
        self.write(&[op::BUILD]);
    }

    /// CPython's `save_dict` for an exact dict (`batch_dict_exact` in `_pickle.c`).
    fn save_dict(&mut self, models: &[(&str, &Array)]) {
        self.save_start();
        self.write(&[op::EMPTY_DICT]);
        self.memoize(None);
        match models {
            [] => {}
            [(name, array)] => {
                self.save_str(name, false);
                self.save_array(array);
                self.write(&[op::SETITEM]);
            }
            _ => {
                // CPython's loop writes one more, empty, batch when the count is a
                // multiple of the batch size; copied for identical bytes.
                let mut rest = models;
                loop {
                    let batch = &rest[..rest.len().min(BATCH_SIZE)];
                    rest = &rest[batch.len()..];
                    self.write(&[op::MARK]);
                    for (name, array) in batch {
                        self.save_str(name, false);
                        self.save_array(array);
                    }
                    self.write(&[op::SETITEMS]);
                    if batch.len() < BATCH_SIZE {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::pickle::{read_feature_dict, PickleLimits};
    use sha2::{Digest, Sha256};

    const ALL: [DType; 12] = DType::ALL;

    fn pickle(models: &[(&str, &Array)]) -> Vec<u8> {
        let mut out = Vec::new();
        write_feature_dict(models, &mut out);
        out
    }

    fn read_back(bytes: &[u8]) -> Vec<(String, Array)> {
        read_feature_dict(bytes, &PickleLimits::default()).unwrap()
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn array(dtype: DType, shape: &[usize], data: Vec<u8>) -> Array {
        Array {
            dtype,
            shape: shape.to_vec(),
            data,
        }
    }

    fn zeros(dtype: DType, shape: &[usize]) -> Array {
        let len: usize = shape.iter().product();
        array(dtype, shape, vec![0; len * dtype.itemsize()])
    }

    /// Distinct bytes, float exponents kept away from NaN so that values compare equal.
    fn sample(dtype: DType, shape: &[usize]) -> Array {
        let len: usize = shape.iter().product();
        let data = (0..len * dtype.itemsize())
            .map(|i| match dtype {
                DType::Bool => u8::from(i % 3 == 0),
                DType::F16 | DType::F32 | DType::F64 if (i + 1) % dtype.itemsize() == 0 => 0x3c,
                _ => (i * 37 + 11) as u8,
            })
            .collect();
        array(dtype, shape, data)
    }

    fn f16_bytes(values: &[f32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect()
    }

    // Byte literals and digests below are CPython 3.11's `pickle.dumps(d, protocol=4)`
    // under numpy 1.26.4, for dicts of freshly made arrays.

    /// `{'CLIP_ViTL_14@336': np.array([[0.5, -1, 2]], dtype=np.float16),
    ///   'mask': np.array([True, False])}`
    const NUMPY1_TWO_MODELS: &[u8] = b"\x80\x04\x95\xf2\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x10CLIP_ViTL_14@336\x94\x8c\x15numpy.core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01K\x03\x86\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\x02f2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x06\x008\x00\xbc\x00@\x94t\x94b\x8c\x04mask\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02\x85\x94h\x0e\x8c\x02b1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x02\x01\x00\x94t\x94bu.";

    /// `{'x': np.array([98], np.uint8), '<': np.zeros(0, np.int8), 'e': np.zeros((), np.float64),
    ///   'y': np.zeros(0, np.uint8), '': np.array([7], np.int8)}`: the data `b'b'` is the same
    /// object as `_reconstruct`'s `b'b'`, the key `'<'` the same as float64's byte order, the
    /// two empty datas one object, and the 0-d array's shape the (unmemoized) empty tuple.
    const NUMPY1_SHARED_OBJECTS: &[u8] = b"\x80\x04\x95_\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01x\x94\x8c\x15numpy.core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\x02u1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89h\x09t\x94b\x8c\x01<\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x00\x85\x94h\x0e\x8c\x02i1\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x00\x94t\x94b\x8c\x01e\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01)h\x0e\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03h\x15NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x94t\x94b\x8c\x01y\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x00\x85\x94h\x11\x89h\x1et\x94b\x8c\x00\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x01\x85\x94h\x1c\x89C\x01\x07\x94t\x94bu.";

    #[test]
    fn matches_numpy_1_pickle_dumps_byte_for_byte() {
        let clip = array(DType::F16, &[1, 3], f16_bytes(&[0.5, -1.0, 2.0]));
        let mask = array(DType::Bool, &[2], vec![1, 0]);
        let bytes = pickle(&[("CLIP_ViTL_14@336", &clip), ("mask", &mask)]);
        assert_eq!(bytes, NUMPY1_TWO_MODELS);
    }

    #[test]
    fn refers_to_the_objects_cpython_shares() {
        let x = array(DType::U8, &[1], vec![98]);
        let lt = zeros(DType::I8, &[0]);
        let e = zeros(DType::F64, &[]);
        let y = zeros(DType::U8, &[0]);
        let empty_name = array(DType::I8, &[1], vec![7]);
        let bytes = pickle(&[
            ("x", &x),
            ("<", &lt),
            ("e", &e),
            ("y", &y),
            ("", &empty_name),
        ]);
        assert_eq!(bytes, NUMPY1_SHARED_OBJECTS);
    }

    /// `{f'k{i}': np.zeros((1, i % 41), dtypes(i)) for i in range(n)}`, dtypes cycling
    /// through float32, uint8, float16 below 500, then int64 and bool (whose dtypes land
    /// past memo slot 255 and need LONG_BINGET).
    fn many(n: usize) -> Vec<(String, Array)> {
        (0..n)
            .map(|i| {
                let dtype = if i < 500 {
                    [DType::F32, DType::U8, DType::F16][i % 3]
                } else {
                    [DType::I64, DType::Bool][i % 2]
                };
                (format!("k{i}"), zeros(dtype, &[1, i % 41]))
            })
            .collect()
    }

    fn pickle_owned(models: &[(String, Array)]) -> Vec<u8> {
        let refs: Vec<(&str, &Array)> = models.iter().map(|(n, a)| (n.as_str(), a)).collect();
        pickle(&refs)
    }

    #[test]
    fn frames_and_batches_match_cpython() {
        let clip = (0..768u16)
            .flat_map(|i| half::f16::from_f32(f32::from(i) * 0.25).to_le_bytes())
            .collect();
        let hundred: Vec<(String, Array)> = (0..100)
            .map(|i| (format!("k{i}"), zeros(DType::F32, &[1, 300])))
            .collect();
        let cases = [
            // {'CLIP_ViTL_14@336': (np.arange(768, dtype=np.float32) * 0.25)
            //     .astype(np.float16).reshape(1, 768)}: one frame.
            (
                pickle(&[("CLIP_ViTL_14@336", &array(DType::F16, &[1, 768], clip))]),
                "18645c6ae93e8cda886e0595cc974b639d122c5377c8227756dcb09cbcba74b9",
            ),
            // {'a': np.zeros((1, 40000), np.float16)}: 80 kB of data written between frames.
            (
                pickle(&[("a", &zeros(DType::F16, &[1, 40000]))]),
                "37ffaefdf37c4d82acf1535a83dea8ccf5f32a5da2cf594a953238fc1eebee97",
            ),
            // {f'k{i}': np.zeros((1, 300), np.float32) for i in range(100)}: a frame ends
            // between two items.
            (
                pickle_owned(&hundred),
                "0836dd528e4ba8f7d91a6a9141aedb442fa68e929cbfb0540afb142145477127",
            ),
            // A frame ends in the middle of an array's opcodes.
            (
                pickle_owned(&many(999)),
                "0d7c817698bfcbbebf1eceae19044c1a3f07d2903730be4d6afc3a766edee309",
            ),
            // Exactly one batch of SETITEMS, then CPython's empty one.
            (
                pickle_owned(&many(1000)),
                "b59c0925e58821ff01ca4c2754477804eaa474cf72409ac762767646b2211fc2",
            ),
            (
                pickle_owned(&many(1001)),
                "327fc8a76db49232294ac94b64cca1b6c416fe881428f0b629741a79190615a1",
            ),
        ];
        for (i, (bytes, digest)) in cases.iter().enumerate() {
            assert_eq!(sha256_hex(bytes), *digest, "case {i}");
        }
    }

    #[test]
    fn integers_encode_as_cpython() {
        // The opcode CPython writes for `pickle.dumps(x, protocol=4)`, frame and STOP aside.
        let cases: [(i128, &[u8]); 13] = [
            (0, b"K\x00"),
            (255, b"K\xff"),
            (256, b"M\x00\x01"),
            (65535, b"M\xff\xff"),
            (65536, b"J\x00\x00\x01\x00"),
            (2147483647, b"J\xff\xff\xff\x7f"),
            (2147483648, b"\x8a\x05\x00\x00\x00\x80\x00"),
            (-1, b"J\xff\xff\xff\xff"),
            (-2147483648, b"J\x00\x00\x00\x80"),
            (-2147483649, b"\x8a\x05\xff\xff\xff\x7f\xff"),
            (-129, b"J\x7f\xff\xff\xff"),
            (
                9223372036854775807,
                b"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f",
            ),
            (
                18446744073709551615,
                b"\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00",
            ),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            let mut p = Pickler {
                out: &mut out,
                frame: None,
                memo_len: 0,
                shared: HashMap::new(),
            };
            p.save_int(value);
            assert_eq!(&out[FRAME_HEADER_SIZE..], expected, "{value}");
        }
    }

    #[test]
    fn every_dtype_and_shape_round_trips_through_our_reader() {
        for dtype in ALL {
            for shape in [&[110, 2][..], &[1, 768], &[0], &[3], &[], &[2, 0, 5]] {
                let a = sample(dtype, shape);
                let back = read_back(&pickle(&[("CLIP_ViTL_14@336", &a)]));
                assert_eq!(
                    back,
                    [("CLIP_ViTL_14@336".to_string(), a)],
                    "{dtype} {shape:?}"
                );
            }
        }
    }

    #[test]
    fn several_models_keep_their_order_and_dtypes() {
        let models: Vec<(String, Array)> = ALL
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| (format!("model_{i}_{d}"), sample(d, &[1, 5 + i])))
            .chain([("a".to_string(), sample(DType::F16, &[1, 40_000]))])
            .collect();
        assert_eq!(read_back(&pickle_owned(&models)), models);
        let many = many(1001);
        assert_eq!(read_back(&pickle_owned(&many)), many);
    }

    #[test]
    fn an_empty_dict_is_a_bare_pickle() {
        let bytes = pickle(&[]);
        // pickle.dumps({}, protocol=4): too small for a frame.
        assert_eq!(bytes, b"\x80\x04}\x94.");
        assert!(read_back(&bytes).is_empty());
    }

    #[test]
    fn appends_to_what_out_holds() {
        let a = sample(DType::F32, &[1, 4]);
        let mut out = b"head".to_vec();
        write_feature_dict(&[("m", &a)], &mut out);
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..], pickle(&[("m", &a)]));
    }

    #[test]
    #[should_panic(expected = "feature model name 'm' appears twice")]
    fn a_repeated_name_is_refused() {
        let a = sample(DType::F32, &[1, 4]);
        write_feature_dict(&[("m", &a), ("m", &a)], &mut Vec::new());
    }
}
