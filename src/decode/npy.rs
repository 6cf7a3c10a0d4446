//! Landmark arrays from `.npz` archives (stored or deflated) and bare `.npy` files.
//!
//! ndarray-npy parses the `.npy` header (a Python literal); the data is then checked
//! against the header's shape and copied into the normal form of [`Array`]. The archive
//! member's declared and actual sizes are bounded before decompression, so an `.npz` that
//! inflates to gigabytes costs at most `max_bytes`.

use std::cell::RefCell;
use std::io::{Cursor, Read};

use ndarray_npy::npy::header::Header;

use super::array::{Array, ByteOrder, DType};

/// Why landmarks could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    #[error("not a .npz archive: {0}")]
    NotAnArchive(String),
    #[error("the archive holds no array named '{wanted}' (it holds: {found})")]
    MissingArray { wanted: String, found: String },
    #[error("array '{name}' inflates to more than {limit} bytes")]
    TooLarge { name: String, limit: usize },
    #[error("bad .npy header: {0}")]
    Header(String),
    #[error("unsupported dtype {0}: expected a float or integer type")]
    UnsupportedDtype(String),
    #[error("{0}")]
    Data(String),
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Reads the array `name` from `.npz` bytes, or the single array of `.npy` bytes.
pub fn read_named_array(bytes: &[u8], name: &str, max_bytes: usize) -> Result<Array, NpyError> {
    if bytes.starts_with(NPY_MAGIC) {
        return parse_npy(bytes);
    }
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(NpyError::NotAnArchive(
            "it starts with neither the zip nor the .npy signature".to_string(),
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| NpyError::NotAnArchive(e.to_string()))?;
    let member = format!("{name}.npy");
    if archive.index_for_name(&member).is_none() {
        let found: Vec<String> = archive.file_names().map(|n| format!("'{n}'")).collect();
        return Err(NpyError::MissingArray {
            wanted: name.to_string(),
            found: if found.is_empty() {
                "nothing".to_string()
            } else {
                found.join(", ")
            },
        });
    }
    let mut file = archive
        .by_name(&member)
        .map_err(|e| NpyError::NotAnArchive(e.to_string()))?;
    let too_large = || NpyError::TooLarge {
        name: member.clone(),
        limit: max_bytes,
    };
    if file.size() > max_bytes as u64 {
        return Err(too_large());
    }
    // The declared size can lie; never read past the limit whatever it says.
    let mut data = Vec::with_capacity(file.size() as usize);
    (&mut file)
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| NpyError::NotAnArchive(format!("member '{member}': {e}")))?;
    if data.len() > max_bytes {
        return Err(too_large());
    }
    parse_npy(&data)
}

/// Headers parsed on this thread, by their bytes. A dataset's arrays share one or two
/// headers, and parsing the Python literal cost more than everything else done with a
/// landmarks file (5% of all convert CPU in the profile).
const HEADER_CACHE_SIZE: usize = 8;

thread_local! {
    static HEADER_CACHE: RefCell<Vec<(Vec<u8>, Header)>> = const { RefCell::new(Vec::new()) };
}

/// The bytes from the magic string to the end of the header, as its length field says;
/// `None` when they are not all there (the parser then reports what is wrong).
fn header_bytes(bytes: &[u8]) -> Option<&[u8]> {
    bytes.get(..header_end(bytes)?)
}

/// Where the header ends by its length field, whether or not the file is that long; `None`
/// when the version or the length field is missing or unknown.
fn header_end(bytes: &[u8]) -> Option<usize> {
    let (len, start): (usize, usize) = match *bytes.get(6)? {
        1 => (
            u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?) as usize,
            10,
        ),
        2 | 3 => (
            u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize,
            12,
        ),
        _ => return None,
    };
    start.checked_add(len)
}

/// The parsed header and where the data starts.
fn read_header(bytes: &[u8]) -> Result<(Header, usize), NpyError> {
    let parse = || {
        let mut cursor = Cursor::new(bytes);
        let header =
            Header::from_reader(&mut cursor).map_err(|e| NpyError::Header(e.to_string()))?;
        Ok((header, cursor.position() as usize))
    };
    let Some(key) = header_bytes(bytes) else {
        if let Some(end) = header_end(bytes) {
            // ndarray-npy allocates the length the field declares before reading (4 GiB for
            // a 20-byte file), so a header that is not all there never reaches it.
            return Err(NpyError::Header(format!(
                "the header length field says the header ends at byte {end}, the file holds {} bytes",
                bytes.len()
            )));
        }
        return parse();
    };
    let cached = HEADER_CACHE.with_borrow(|cache| {
        cache
            .iter()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, h)| h.clone())
    });
    if let Some(header) = cached {
        return Ok((header, key.len()));
    }
    let (header, start) = parse()?;
    if start == key.len() {
        HEADER_CACHE.with_borrow_mut(|cache| {
            if cache.len() == HEADER_CACHE_SIZE {
                cache.remove(0);
            }
            cache.push((key.to_vec(), header.clone()));
        });
    }
    Ok((header, start))
}

fn parse_npy(bytes: &[u8]) -> Result<Array, NpyError> {
    let (header, data_start) = read_header(bytes)?;
    let descr = match &header.type_descriptor {
        py_literal::Value::String(s) => s.clone(),
        other => return Err(NpyError::UnsupportedDtype(other.to_string())),
    };
    let (dtype, order) =
        parse_descr(&descr).ok_or_else(|| NpyError::UnsupportedDtype(format!("'{descr}'")))?;
    let data = &bytes[data_start..];
    Array::from_raw(dtype, order, header.shape, header.layout.is_fortran(), data)
        .map_err(|e| NpyError::Data(e.to_string()))
}

/// `<f4`, `>i8`, `|u1`, `=f8` -> element type and byte order.
fn parse_descr(descr: &str) -> Option<(DType, ByteOrder)> {
    let mut chars = descr.chars();
    let order = match chars.next()? {
        '>' => ByteOrder::Big,
        '<' | '|' | '=' => ByteOrder::Little,
        _ => return None,
    };
    let kind = chars.next()?;
    let size: usize = chars.as_str().parse().ok()?;
    Some((DType::from_kind_and_size(kind, size)?, order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn npy(descr: &str, shape: &str, fortran: bool, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out
    }

    fn npz(members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in members {
            w.start_file(
                *name,
                zip::write::SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn f32s(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn stored_and_deflated_npz_give_the_same_array() {
        let array = npy("<f4", "(2, 2)", false, &f32s(&[1.0, 2.0, 3.0, 4.0]));
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            let a = read_named_array(
                &npz(&[("landmarks.npy", array.clone())], method),
                "landmarks",
                1 << 20,
            )
            .unwrap();
            assert_eq!((a.dtype, a.shape.clone()), (DType::F32, vec![2, 2]));
            assert_eq!(a.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        }
    }

    #[test]
    fn big_endian_fortran_float64_is_normalised() {
        let data: Vec<u8> = [1.0f64, 3.0, 2.0, 4.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = read_named_array(&npy(">f8", "(2, 2)", true, &data), "landmarks", 1 << 20).unwrap();
        assert_eq!(a.dtype, DType::F64);
        assert_eq!(a.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn half_precision_and_integers_are_accepted() {
        let a = read_named_array(
            &npy("<i2", "(1, 2)", false, &[7, 0, 9, 0]),
            "landmarks",
            1 << 20,
        )
        .unwrap();
        assert_eq!((a.dtype, a.to_f64_vec()), (DType::I16, vec![7.0, 9.0]));
        let h = half::f16::from_f32(2.5).to_le_bytes();
        let a = read_named_array(&npy("<f2", "(1,)", false, &h), "landmarks", 1 << 20).unwrap();
        assert_eq!(a.to_f64_vec(), vec![2.5]);
    }

    #[test]
    fn missing_member_lists_what_is_there() {
        let bytes = npz(
            &[("points.npy", npy("<f4", "(1,)", false, &f32s(&[1.0])))],
            zip::CompressionMethod::Stored,
        );
        let err = read_named_array(&bytes, "landmarks", 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the archive holds no array named 'landmarks' (it holds: 'points.npy')"
        );
    }

    #[test]
    fn inflating_past_the_limit_is_refused() {
        let array = npy("<f4", "(110, 2)", false, &vec![0u8; 1 << 16]);
        let bytes = npz(
            &[("landmarks.npy", array)],
            zip::CompressionMethod::Deflated,
        );
        assert!(matches!(
            read_named_array(&bytes, "landmarks", 4096),
            Err(NpyError::TooLarge { .. })
        ));
    }

    #[test]
    fn remembered_headers_never_mix_up_arrays() {
        // Same header length, different dtype and shape: each must come back as written,
        // in any order, parsed or remembered.
        let as_f4 = npy("<f4", "(2,)", false, &f32s(&[1.5, 2.5]));
        let as_i4 = npy("<i4", "(2,)", false, &[1, 0, 0, 0, 2, 0, 0, 0]);
        let as_u1 = npy("|u1", "(8,)", false, &[7; 8]);
        for _ in 0..3 {
            for (bytes, dtype, shape) in [
                (&as_f4, DType::F32, vec![2]),
                (&as_i4, DType::I32, vec![2]),
                (&as_u1, DType::U8, vec![8]),
            ] {
                let array = read_named_array(bytes, "landmarks", 1 << 20).unwrap();
                assert_eq!((array.dtype, &array.shape), (dtype, &shape));
            }
        }
        let mut lying = as_f4.clone();
        lying[8] = 0xff; // header length past the end of the file
        assert!(matches!(
            read_named_array(&lying, "landmarks", 1 << 20),
            Err(NpyError::Header(_))
        ));
    }

    #[test]
    fn a_header_length_past_the_end_is_refused_before_the_parser_allocates_it() {
        // Found by fuzz/ (target npy): version 3, header length 0xFFFF_FF00 in a 20-byte
        // file made ndarray-npy allocate 4 GiB. Also fuzz/regressions/npy/.
        let mut bytes = NPY_MAGIC.to_vec();
        bytes.extend_from_slice(&[3, 0, 0x00, 0xff, 0xff, 0xff, b'{', b'}']);
        let err = read_named_array(&bytes, "landmarks", 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad .npy header: the header length field says the header ends at byte 4294967052, the file holds 14 bytes"
        );
    }

    #[test]
    fn header_shape_larger_than_data_is_refused() {
        let err = read_named_array(
            &npy("<f8", "(1000000000000,)", false, &[0; 8]),
            "landmarks",
            1 << 20,
        )
        .unwrap_err();
        assert!(matches!(err, NpyError::Data(_)), "{err}");
    }

    #[test]
    fn object_arrays_are_refused() {
        let err =
            read_named_array(&npy("|O", "(1,)", false, &[0; 8]), "landmarks", 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported dtype '|O': expected a float or integer type"
        );
    }

    #[test]
    fn garbage_is_not_an_archive() {
        assert!(matches!(
            read_named_array(b"hello", "landmarks", 1 << 20),
            Err(NpyError::NotAnArchive(_))
        ));
    }
}
