//! `.npy` files and `.npz` archives, byte for byte as numpy's `np.save` / `np.savez` lay
//! them out, so that what we write is indistinguishable from what users already load.

use std::io::{Cursor, Write};

use crate::decode::array::{Array, DType};

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// numpy pads the header so that the data starts on a 64-byte boundary (memory mapping).
const ARRAY_ALIGN: usize = 64;

/// numpy (since 1.23) leaves room after the header dict for the first axis to grow to this
/// many digits, so that appending rows can rewrite the header in place; we copy it to get
/// numpy's exact bytes.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The `descr` numpy writes for a little-endian array of `dtype`: `|` for one-byte types
/// because byte order means nothing for them.
pub fn descr(dtype: DType) -> String {
    let order = if dtype.itemsize() == 1 { '|' } else { '<' };
    let kind = match dtype {
        DType::Bool => 'b',
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => 'u',
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => 'i',
        DType::F16 | DType::F32 | DType::F64 => 'f',
    };
    format!("{order}{kind}{}", dtype.itemsize())
}

/// Python's `repr` of a shape tuple: `()`, `(3,)`, `(110, 2)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Appends `array` as a `.npy` file holding `dtype` elements (a widening cast when `dtype`
/// differs from `array.dtype`): the bytes `np.save(f, a.astype(dtype))` writes.
pub fn write_npy(array: &Array, dtype: DType, out: &mut Vec<u8>) {
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        descr(dtype),
        shape_repr(&array.shape)
    );
    if let Some(first) = array.shape.first() {
        let digits = first.to_string().len();
        header.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    // numpy writes version 1.0 (2-byte header length) whenever the header fits, 2.0 (4-byte)
    // otherwise; only thousands of dimensions could need the latter.
    let fits_v1 = |prefix: usize| padded_len(prefix, header.len()) <= usize::from(u16::MAX);
    let (version, prefix) = if fits_v1(10) { (1u8, 10) } else { (2u8, 12) };
    let total = padded_len(prefix, header.len());
    out.reserve(prefix + total + array.len() * dtype.itemsize());
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        let len = u16::try_from(total).expect("checked to fit");
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let len = u32::try_from(total).expect("a header of 4 GiB is impossible");
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', total - header.len() - 1));
    out.push(b'\n');
    array.extend_le_bytes_as(dtype, out);
}

/// Length of the header dict once padded with spaces and a final newline so that
/// `prefix + length` is a multiple of [`ARRAY_ALIGN`]. Like numpy, a dict that already
/// ends on the boundary gets a whole block of padding rather than none.
fn padded_len(prefix: usize, dict_len: usize) -> usize {
    let unpadded = dict_len + 1;
    unpadded + ARRAY_ALIGN - (prefix + unpadded) % ARRAY_ALIGN
}

/// Appends an `.npz` archive with one STORED member `{name}.npy` per array, in the given
/// order, each array in its own dtype: what `np.savez(f, **arrays)` writes as far as a
/// reader can tell (`np.load(f)[name]`): the members are byte-identical, the zip headers
/// differ (numpy's mark every member zip64 and mode 0600). Every member carries numpy's
/// fixed time stamp, 1980-01-01 00:00:00, and mode 0644, so the same arrays always give
/// the same bytes.
///
/// # Panics
/// If two arrays have the same name (a caller's bug: the archive could hold only one).
pub fn write_npz(arrays: &[(&str, &Array)], out: &mut Vec<u8>) {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut npy = Vec::new();
    for (name, array) in arrays {
        npy.clear();
        write_npy(array, array.dtype, &mut npy);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            // Explicit, not the default: the crate's `time` feature, if any other
            // dependency turns it on, would stamp the current time.
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644)
            .large_file(npy.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(format!("{name}.npy"), options)
            .unwrap_or_else(|e| panic!("npz member '{name}.npy': {e}"));
        zip.write_all(&npy).expect("writing to memory cannot fail");
    }
    let bytes = zip
        .finish()
        .expect("writing to memory cannot fail")
        .into_inner();
    if out.is_empty() {
        *out = bytes;
    } else {
        out.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::npy::read_named_array;

    const ALL: [DType; 12] = DType::ALL;

    /// An array whose every byte differs from its neighbours, so that a misplaced byte shows.
    fn sample(dtype: DType, shape: &[usize]) -> Array {
        let len: usize = shape.iter().product();
        let data = (0..len * dtype.itemsize())
            .map(|i| match dtype {
                DType::Bool => u8::from(i % 3 == 0),
                // Keep float exponents away from NaN so that equality of values holds.
                DType::F16 | DType::F32 | DType::F64 if (i + 1) % dtype.itemsize() == 0 => 0x3c,
                _ => (i * 37 + 11) as u8,
            })
            .collect();
        Array {
            dtype,
            shape: shape.to_vec(),
            data,
        }
    }

    fn npy(array: &Array) -> Vec<u8> {
        let mut out = Vec::new();
        write_npy(array, array.dtype, &mut out);
        out
    }

    // Byte literals below are numpy's own output, `f = io.BytesIO(); np.save(f, a)`,
    // identical under numpy 1.26.4 and 2.4.6.

    /// `np.array([1, -2, 3], dtype=np.int16)`: a 1-tuple shape is written `(3,)`.
    const NUMPY_I16_3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }                                                            \n\x01\x00\xfe\xff\x03\x00";
    /// `np.array([True, False, True])`: bool is `|b1`.
    const NUMPY_BOOL_3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }                                                            \n\x01\x00\x01";
    /// `np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)`.
    const NUMPY_U8_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }                                                          \n\x01\x02\x03\x04\x05\x06";
    /// `np.array([[0.5, -1, 65504]], dtype=np.float16)`.
    const NUMPY_F16_1X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (1, 3), }                                                          \n\x008\x00\xbc\xff{";
    /// `np.array([[1.5], [-2.25]], dtype=np.float32)`.
    const NUMPY_F32_2X1: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }                                                          \n\x00\x00\xc0?\x00\x00\x10\xc0";
    /// `np.zeros((0,))`: float64, no data.
    const NUMPY_F64_EMPTY: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }                                                            \n";
    /// `np.array(2.5)`: a 0-d array, shape `()`, no growth padding.
    const NUMPY_F64_SCALAR: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }                                                              \n\x00\x00\x00\x00\x00\x00\x04@";
    /// Header of `np.zeros((110, 2), np.float32)` (the landmarks).
    const NUMPY_HEADER_F32_110X2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (110, 2), }                                                        \n";
    /// Header of `np.zeros((1, 768), np.float16)` (a CLIP feature).
    const NUMPY_HEADER_F16_1X768: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (1, 768), }                                                        \n";

    fn from_values<T: Copy>(
        dtype: DType,
        shape: &[usize],
        values: &[T],
        le: fn(T) -> Vec<u8>,
    ) -> Array {
        Array {
            dtype,
            shape: shape.to_vec(),
            data: values.iter().flat_map(|&v| le(v)).collect(),
        }
    }

    #[test]
    fn matches_numpy_save_byte_for_byte() {
        let f16 = |v: f32| half::f16::from_f32(v).to_le_bytes().to_vec();
        let cases = [
            (
                from_values(DType::I16, &[3], &[1i16, -2, 3], |v| {
                    v.to_le_bytes().to_vec()
                }),
                NUMPY_I16_3,
            ),
            (
                from_values(DType::Bool, &[3], &[1u8, 0, 1], |v| vec![v]),
                NUMPY_BOOL_3,
            ),
            (
                from_values(DType::U8, &[2, 3], &[1u8, 2, 3, 4, 5, 6], |v| vec![v]),
                NUMPY_U8_2X3,
            ),
            (
                from_values(DType::F16, &[1, 3], &[0.5f32, -1.0, 65504.0], f16),
                NUMPY_F16_1X3,
            ),
            (
                from_values(DType::F32, &[2, 1], &[1.5f32, -2.25], |v| {
                    v.to_le_bytes().to_vec()
                }),
                NUMPY_F32_2X1,
            ),
            (
                from_values(DType::F64, &[0], &[] as &[f64], |v| {
                    v.to_le_bytes().to_vec()
                }),
                NUMPY_F64_EMPTY,
            ),
            (
                from_values(DType::F64, &[], &[2.5f64], |v| v.to_le_bytes().to_vec()),
                NUMPY_F64_SCALAR,
            ),
        ];
        for (array, expected) in cases {
            assert_eq!(npy(&array), expected, "{} {:?}", array.dtype, array.shape);
        }
    }

    #[test]
    fn sfhq_shapes_get_numpy_headers() {
        for (array, header) in [
            (sample(DType::F32, &[110, 2]), NUMPY_HEADER_F32_110X2),
            (sample(DType::F16, &[1, 768]), NUMPY_HEADER_F16_1X768),
        ] {
            let bytes = npy(&array);
            assert_eq!(&bytes[..header.len()], header);
            assert_eq!(&bytes[header.len()..], array.data);
        }
    }

    #[test]
    fn every_dtype_and_shape_round_trips_through_our_reader() {
        for dtype in ALL {
            for shape in [&[110, 2][..], &[1, 768], &[0], &[3], &[], &[2, 0, 5]] {
                let array = sample(dtype, shape);
                let bytes = npy(&array);
                assert_eq!(bytes.len() % ARRAY_ALIGN, array.data.len() % ARRAY_ALIGN);
                let back = read_named_array(&bytes, "landmarks", 1 << 20).unwrap();
                assert_eq!(back, array, "{dtype} {shape:?}");
            }
        }
    }

    #[test]
    fn descr_follows_numpy() {
        let got: Vec<String> = ALL.iter().map(|&d| descr(d)).collect();
        assert_eq!(
            got,
            ["|b1", "|u1", "<u2", "<u4", "<u8", "|i1", "<i2", "<i4", "<i8", "<f2", "<f4", "<f8"]
        );
    }

    #[test]
    fn casts_to_the_requested_dtype() {
        let array = from_values(DType::F16, &[1, 2], &[0.5f32, -3.0], |v| {
            half::f16::from_f32(v).to_le_bytes().to_vec()
        });
        let mut bytes = Vec::new();
        write_npy(&array, DType::F32, &mut bytes);
        let back = read_named_array(&bytes, "x", 1 << 20).unwrap();
        assert_eq!((back.dtype, back.shape.clone()), (DType::F32, vec![1, 2]));
        assert_eq!(back.to_f64_vec(), vec![0.5, -3.0]);
    }

    #[test]
    fn first_axis_of_any_width_keeps_the_data_aligned() {
        // Past 21 digits numpy's growth padding runs out; the alignment must not.
        for first in [0, 9, 10, 123_456_789, usize::MAX] {
            let array = Array {
                dtype: DType::U8,
                shape: vec![first, 0],
                data: Vec::new(),
            };
            let bytes = npy(&array);
            assert_eq!(bytes.len() % ARRAY_ALIGN, 0, "{first}");
            assert_eq!(bytes.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn a_header_too_long_for_version_1_uses_version_2() {
        let array = Array {
            dtype: DType::U8,
            shape: vec![1; 30_000],
            data: vec![7],
        };
        let bytes = npy(&array);
        assert_eq!(&bytes[6..8], &[2, 0]);
        let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert_eq!((12 + len) % ARRAY_ALIGN, 0);
        assert_eq!(&bytes[12 + len..], &[7]);
    }

    #[test]
    fn npz_round_trips_and_is_deterministic() {
        let landmarks = sample(DType::F32, &[110, 2]);
        let extra = sample(DType::I16, &[0]);
        let mut a = Vec::new();
        write_npz(&[("landmarks", &landmarks), ("extra", &extra)], &mut a);
        let mut b = b"prefix".to_vec();
        write_npz(&[("landmarks", &landmarks), ("extra", &extra)], &mut b);
        assert_eq!(
            &b[6..],
            &a[..],
            "same arrays, same bytes; out is appended to"
        );

        assert_eq!(
            read_named_array(&a, "landmarks", 1 << 20).unwrap(),
            landmarks
        );
        assert_eq!(read_named_array(&a, "extra", 1 << 20).unwrap(), extra);

        let mut archive = zip::ZipArchive::new(Cursor::new(&a)).unwrap();
        let names: Vec<&str> = archive.file_names().collect();
        assert_eq!(names, ["landmarks.npy", "extra.npy"]);
        let member = archive.by_name("landmarks.npy").unwrap();
        assert_eq!(member.compression(), zip::CompressionMethod::Stored);
        let time = member.last_modified().unwrap();
        assert_eq!(
            (
                time.year(),
                time.month(),
                time.day(),
                time.hour(),
                time.minute(),
                time.second()
            ),
            (1980, 1, 1, 0, 0, 0)
        );
        drop(member);
        // The member is exactly the .npy we write on its own.
        let mut member = archive.by_name("landmarks.npy").unwrap();
        let mut stored = Vec::new();
        std::io::Read::read_to_end(&mut member, &mut stored).unwrap();
        assert_eq!(stored, npy(&landmarks));
    }

    #[test]
    #[should_panic(expected = "landmarks.npy")]
    fn npz_refuses_a_repeated_name() {
        let a = sample(DType::F32, &[1]);
        write_npz(&[("landmarks", &a), ("landmarks", &a)], &mut Vec::new());
    }
}
