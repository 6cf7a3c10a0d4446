//! A decoded numeric array in one normal form, whatever file it came from.
//!
//! `.npy`/`.npz` landmarks and pickled feature vectors arrive in any byte order and in C or
//! Fortran order. Decoders normalise them to little-endian, C-order bytes here so that the
//! validators and the sinks deal with exactly one layout and never copy per element again.

use std::fmt;

/// Element types sfhq-pack accepts in landmark and feature arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F16,
    F32,
    F64,
}

impl DType {
    pub const ALL: [DType; 12] = [
        DType::Bool,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::F32,
        DType::F64,
    ];

    /// The type of a numpy name (`float32`), as written by [`DType::name`].
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Size of one element in bytes.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 | DType::F16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// The numpy name (`float32`, `int16`, ...), used in the manifest and in messages.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::F32 | DType::F64)
    }

    /// Parses a numpy type code as found in `.npy` descriptors and pickled `numpy.dtype`
    /// arguments: the kind letter and the item size, without the byte-order character
    /// (`f4`, `i8`, `u1`, `b1`, `f2`). Returns `None` for anything else (objects, strings,
    /// complex, datetimes), which callers report as unsupported.
    pub fn from_kind_and_size(kind: char, size: usize) -> Option<DType> {
        Some(match (kind, size) {
            ('b', 1) => DType::Bool,
            ('u', 1) => DType::U8,
            ('u', 2) => DType::U16,
            ('u', 4) => DType::U32,
            ('u', 8) => DType::U64,
            ('i', 1) => DType::I8,
            ('i', 2) => DType::I16,
            ('i', 4) => DType::I32,
            ('i', 8) => DType::I64,
            ('f', 2) => DType::F16,
            ('f', 4) => DType::F32,
            ('f', 8) => DType::F64,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An n-dimensional array: `data` holds `shape.iter().product()` elements of `dtype`,
/// little-endian, in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Array {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element as `f64` (exact for all supported types except 64-bit integers beyond
    /// 2^53, which no landmark or feature reaches).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let size = self.dtype.itemsize();
        self.data
            .chunks_exact(size)
            .map(|b| match self.dtype {
                DType::Bool | DType::U8 => f64::from(b[0]),
                DType::I8 => f64::from(b[0] as i8),
                DType::U16 => f64::from(u16::from_le_bytes([b[0], b[1]])),
                DType::I16 => f64::from(i16::from_le_bytes([b[0], b[1]])),
                DType::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f64(),
                DType::U32 => f64::from(u32::from_le_bytes(b.try_into().expect("chunk of 4"))),
                DType::I32 => f64::from(i32::from_le_bytes(b.try_into().expect("chunk of 4"))),
                DType::F32 => f64::from(f32::from_le_bytes(b.try_into().expect("chunk of 4"))),
                DType::U64 => u64::from_le_bytes(b.try_into().expect("chunk of 8")) as f64,
                DType::I64 => i64::from_le_bytes(b.try_into().expect("chunk of 8")) as f64,
                DType::F64 => f64::from_le_bytes(b.try_into().expect("chunk of 8")),
            })
            .collect()
    }
}

/// Byte order of raw array data as stored in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// Why raw bytes cannot form the array their header describes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawArrayError {
    #[error("shape {shape:?} of {dtype} overflows the address space")]
    Overflow { shape: Vec<usize>, dtype: DType },
    #[error("shape {shape:?} of {dtype} needs {expected} bytes of data, the file holds {actual}")]
    Length {
        shape: Vec<usize>,
        dtype: DType,
        expected: usize,
        actual: usize,
    },
}

/// Number of data bytes that `shape` elements of `dtype` occupy, or `None` on overflow.
pub fn data_len(dtype: DType, shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))?
        .checked_mul(dtype.itemsize())
}

impl Array {
    /// Builds the normal form from raw bytes in any byte order and C or Fortran order.
    /// `raw` must hold exactly the bytes the shape needs: the length is checked before
    /// anything is allocated, so a header declaring a huge shape costs nothing.
    pub fn from_raw(
        dtype: DType,
        order: ByteOrder,
        shape: Vec<usize>,
        fortran_order: bool,
        raw: &[u8],
    ) -> Result<Array, RawArrayError> {
        let expected = data_len(dtype, &shape).ok_or_else(|| RawArrayError::Overflow {
            shape: shape.clone(),
            dtype,
        })?;
        if raw.len() != expected {
            return Err(RawArrayError::Length {
                shape,
                dtype,
                expected,
                actual: raw.len(),
            });
        }
        let size = dtype.itemsize();
        let mut data = raw.to_vec();
        if order == ByteOrder::Big && size > 1 {
            data.chunks_exact_mut(size).for_each(<[u8]>::reverse);
        }
        if fortran_order && shape.iter().filter(|&&d| d > 1).count() > 1 {
            data = fortran_to_c(&data, &shape, size);
        }
        Ok(Array { dtype, shape, data })
    }
}

/// Reorders elements from column-major to row-major. Arrays with at most one axis longer
/// than 1 have the same bytes in both orders and never get here.
fn fortran_to_c(data: &[u8], shape: &[usize], size: usize) -> Vec<u8> {
    let count = data.len() / size;
    let mut out = vec![0u8; data.len()];
    // Strides of the Fortran layout, in elements.
    let mut f_strides = vec![1usize; shape.len()];
    for axis in 1..shape.len() {
        f_strides[axis] = f_strides[axis - 1] * shape[axis - 1];
    }
    let mut index = vec![0usize; shape.len()];
    for c_pos in 0..count {
        let f_pos: usize = index.iter().zip(&f_strides).map(|(i, s)| i * s).sum();
        out[c_pos * size..(c_pos + 1) * size]
            .copy_from_slice(&data[f_pos * size..(f_pos + 1) * size]);
        // Advance the C-order multi-index: last axis fastest.
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

impl Array {
    /// The same values as `to` elements (exact for the casts sfhq-pack makes: widening to
    /// a column's dtype, and back to the dtype a value was read in).
    pub fn cast(self, to: DType) -> Array {
        if to == self.dtype {
            return self;
        }
        let mut data = Vec::with_capacity(self.len() * to.itemsize());
        self.extend_le_bytes_as(to, &mut data);
        Array {
            dtype: to,
            shape: self.shape,
            data,
        }
    }

    /// Appends the elements as little-endian `to` values. Widening casts (the only kind
    /// the schema asks for) are exact.
    pub fn extend_le_bytes_as(&self, to: DType, out: &mut Vec<u8>) {
        if to == self.dtype {
            out.extend_from_slice(&self.data);
            return;
        }
        for v in self.to_f64_vec() {
            match to {
                DType::Bool | DType::U8 => out.push(v as u8),
                DType::I8 => out.push(v as i8 as u8),
                DType::U16 => out.extend_from_slice(&(v as u16).to_le_bytes()),
                DType::I16 => out.extend_from_slice(&(v as i16).to_le_bytes()),
                DType::U32 => out.extend_from_slice(&(v as u32).to_le_bytes()),
                DType::I32 => out.extend_from_slice(&(v as i32).to_le_bytes()),
                DType::U64 => out.extend_from_slice(&(v as u64).to_le_bytes()),
                DType::I64 => out.extend_from_slice(&(v as i64).to_le_bytes()),
                DType::F16 => out.extend_from_slice(&half::f16::from_f64(v).to_le_bytes()),
                DType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
                DType::F64 => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // numpy: np.asfortranarray([[1,2,3],[4,5,6]], dtype='u1') stores 1 4 2 5 3 6.
        let a = Array::from_raw(
            DType::U8,
            ByteOrder::Little,
            vec![2, 3],
            true,
            &[1, 4, 2, 5, 3, 6],
        )
        .unwrap();
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn big_endian_is_swapped() {
        let a = Array::from_raw(
            DType::F32,
            ByteOrder::Big,
            vec![1],
            false,
            &1.5f32.to_be_bytes(),
        )
        .unwrap();
        assert_eq!(a.to_f64_vec(), vec![1.5]);
    }

    #[test]
    fn length_is_checked_before_allocation() {
        let err = Array::from_raw(
            DType::F64,
            ByteOrder::Little,
            vec![1 << 40, 1 << 30],
            false,
            &[0; 8],
        )
        .unwrap_err();
        assert!(matches!(err, RawArrayError::Overflow { .. }), "{err}");
        let err = Array::from_raw(DType::F32, ByteOrder::Little, vec![110, 2], false, &[0; 8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "shape [110, 2] of float32 needs 880 bytes of data, the file holds 8"
        );
    }
}
