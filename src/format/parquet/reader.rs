//! Reading our own Parquet shards back, for `verify` (row count and key range) and
//! `extract` (every column of every row).
//!
//! A shard may have been doctored: every column is looked up by name and checked to have
//! the type the writer gives it before it is used, so a wrong type is an error naming the
//! column, never a panic. The parquet and arrow crates themselves panic on some malformed
//! files; every call into them here goes through [`catch_reader_panics`].

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use arrow::array::{Array as _, ArrayRef, AsArray, FixedSizeListArray, RecordBatch, StructArray};
use arrow::datatypes::{DataType, Int16Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;

use super::schema::dtype_of;
use crate::decode::array::{Array, DType};

/// Why a Parquet shard cannot be read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ParquetReadError {
    #[error("not a readable Parquet file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("cannot decode: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("no column '{0}'")]
    MissingColumn(String),
    #[error("column '{column}' is {found}, expected {expected}")]
    WrongType {
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error("the Parquet reader failed on malformed data: {0}")]
    Panicked(String),
    #[error("row {row} ({key}): {what}")]
    BadRow {
        row: usize,
        key: String,
        what: String,
    },
}

/// Row count from the footer and the first and last key of the file.
pub(crate) struct KeySpan {
    pub rows: u64,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// Reads the footer's row count and the `key` column only.
pub(crate) fn read_key_span<R: ChunkReader + 'static>(
    reader: R,
) -> Result<KeySpan, ParquetReadError> {
    catch_reader_panics(|| key_span(reader))
}

fn key_span<R: ChunkReader + 'static>(reader: R) -> Result<KeySpan, ParquetReadError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader)?;
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).map_err(|_| {
        ParquetReadError::WrongType {
            column: "footer num_rows".into(),
            found: "negative".into(),
            expected: "a row count",
        }
    })?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), ["key"]);
    let (mut first, mut last) = (None, None);
    for batch in builder.with_projection(mask).build()? {
        let batch = batch?;
        let keys = column(&batch, "key")?;
        let keys = keys
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong_type("key", keys.data_type(), "a string column"))?;
        if keys.is_empty() {
            continue;
        }
        if first.is_none() {
            first = Some(keys.value(0).to_string());
        }
        last = Some(keys.value(keys.len() - 1).to_string());
    }
    Ok(KeySpan { rows, first, last })
}

/// Runs `read`, a call into the parquet or arrow crates, turning a panic inside it into
/// [`ParquetReadError::Panicked`]. Those crates (60.x) assert on some malformed files
/// (`fuzz/regressions/parquet_shard/def_levels_bit_chunk_assert`: a bit-chunk assertion in
/// arrow-buffer on malformed definition levels), and a doctored shard must give an error
/// naming the shard, not abort `verify` or `extract`. While it runs, the panic hook stays
/// quiet on this thread: the error says it once. Pass only reading code: a panic of our
/// own in there would be hidden as an error too.
pub(crate) fn catch_reader_panics<T>(
    read: impl FnOnce() -> Result<T, ParquetReadError>,
) -> Result<T, ParquetReadError> {
    thread_local! {
        static CATCHING: Cell<bool> = const { Cell::new(false) };
    }
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.get() {
                previous(info);
            }
        }));
    });
    let was_catching = CATCHING.replace(true);
    let result = panic::catch_unwind(AssertUnwindSafe(read));
    CATCHING.set(was_catching);
    result.unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Err(ParquetReadError::Panicked(reason))
    })
}

fn wrong_type(column: &str, found: &DataType, expected: &'static str) -> ParquetReadError {
    ParquetReadError::WrongType {
        column: column.to_string(),
        found: found.to_string(),
        expected,
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, ParquetReadError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ParquetReadError::MissingColumn(name.to_string()))
}

/// A picture column: a struct of `bytes` (binary) and `path` (string).
struct Picture<'a> {
    column: &'a StructArray,
    bytes: &'a arrow::array::BinaryArray,
    paths: &'a arrow::array::StringArray,
}

impl<'a> Picture<'a> {
    fn of(batch: &'a RecordBatch, name: &str) -> Result<Picture<'a>, ParquetReadError> {
        let array = column(batch, name)?;
        let expected = "struct<bytes: binary, path: string>";
        let column = array
            .as_struct_opt()
            .ok_or_else(|| wrong_type(name, array.data_type(), expected))?;
        let child = |field: &str| {
            column
                .column_by_name(field)
                .ok_or_else(|| wrong_type(name, array.data_type(), expected))
        };
        let bytes = child("bytes")?
            .as_binary_opt::<i32>()
            .ok_or_else(|| wrong_type(name, array.data_type(), expected))?;
        let paths = child("path")?
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong_type(name, array.data_type(), expected))?;
        Ok(Picture {
            column,
            bytes,
            paths,
        })
    }

    /// The file name and bytes of a row, or `None` when the row has no picture.
    fn row(&self, row: usize, key: &str, default_ext: &str) -> Option<(String, Vec<u8>)> {
        if self.column.is_null(row) || self.bytes.is_null(row) {
            return None;
        }
        let name = if self.paths.is_null(row) {
            format!("{key}.{default_ext}")
        } else {
            self.paths.value(row).to_string()
        };
        Some((name, self.bytes.value(row).to_vec()))
    }
}

/// Row `row` of a (nested) fixed-size-list column as an array of `shape`.
fn list_row(
    name: &str,
    column: &FixedSizeListArray,
    row: usize,
    shape: &[usize],
) -> Result<Array, ParquetReadError> {
    let mut values = column.value(row);
    while let Some(inner) = values.as_fixed_size_list_opt() {
        values = inner.values().slice(
            inner.offset() * inner.value_length() as usize,
            inner.len() * inner.value_length() as usize,
        );
    }
    let dtype = dtype_of(values.data_type())
        .ok_or_else(|| wrong_type(name, values.data_type(), "a list of numbers"))?;
    let expected: usize = shape.iter().product();
    if values.len() != expected || values.null_count() > 0 {
        return Err(wrong_type(
            name,
            column.data_type(),
            "a fixed-size list of the manifest's shape without nulls",
        ));
    }
    let data = values.to_data();
    let size = dtype.itemsize();
    let start = data.offset() * size;
    let bytes = data
        .buffers()
        .first()
        .and_then(|b| b.as_slice().get(start..start + values.len() * size))
        .ok_or_else(|| wrong_type(name, values.data_type(), "a list of numbers"))?;
    Ok(Array {
        dtype,
        shape: shape.to_vec(),
        data: bytes.to_vec(),
    })
}

fn fixed_list<'a>(
    name: &str,
    array: &'a ArrayRef,
) -> Result<&'a FixedSizeListArray, ParquetReadError> {
    array
        .as_fixed_size_list_opt()
        .ok_or_else(|| wrong_type(name, array.data_type(), "a fixed-size list"))
}

/// One row as stored: names and bytes of the pictures, the arrays in their column's dtype,
/// and the dtypes the source files had where they were narrower.
pub(crate) struct StoredRow {
    pub key: String,
    pub part: Option<i16>,
    pub image: Option<(String, Vec<u8>)>,
    pub segmentation: Option<(String, Vec<u8>)>,
    pub landmarks: Option<Array>,
    /// `None` when the row has no features at all; models in column order.
    pub features: Option<Vec<(String, Array)>>,
    /// Column (`landmarks`, `pretrained_features.MODEL`) -> source dtype.
    pub source_dtypes: BTreeMap<String, DType>,
}

/// Reads every row of a shard and hands it to `each`; returns the count.
pub(crate) fn for_each_row<R: ChunkReader + 'static>(
    reader: R,
    landmark_shape: &[usize],
    mut each: impl FnMut(StoredRow) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut batches =
        catch_reader_panics(|| Ok(ParquetRecordBatchReaderBuilder::try_new(reader)?.build()?))?;
    let mut count = 0;
    // Only the reading of a batch runs under `catch_reader_panics`, not `each`: a panic in
    // our own code stays a panic.
    while let Some(batch) = catch_reader_panics(|| Ok(batches.next()))? {
        let batch: RecordBatch = batch.map_err(ParquetReadError::from)?;
        let keys = column(&batch, "key")?;
        let keys = keys
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong_type("key", keys.data_type(), "a string column"))?;
        let parts = column(&batch, "part")?;
        let parts = parts
            .as_primitive_opt::<Int16Type>()
            .ok_or_else(|| wrong_type("part", parts.data_type(), "int16"))?;
        let images = Picture::of(&batch, "image")?;
        let segmentations = Picture::of(&batch, "segmentation")?;
        let landmarks = fixed_list("landmarks", column(&batch, "landmarks")?)?;
        let features = match batch.column_by_name("pretrained_features") {
            None => None,
            Some(f) => Some(f.as_struct_opt().ok_or_else(|| {
                wrong_type("pretrained_features", f.data_type(), "a struct of lists")
            })?),
        };
        let source_dtypes = column(&batch, "source_dtypes")?;
        let source_dtypes = source_dtypes
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong_type("source_dtypes", source_dtypes.data_type(), "string"))?;
        for row in 0..batch.num_rows() {
            let key = keys.value(row).to_string();
            let bad = |what: String| ParquetReadError::BadRow {
                row,
                key: key.clone(),
                what,
            };
            let narrower: BTreeMap<String, String> = if source_dtypes.is_null(row) {
                BTreeMap::new()
            } else {
                serde_json::from_str(source_dtypes.value(row))
                    .map_err(|e| bad(format!("source_dtypes is not a JSON object: {e}")))?
            };
            let mut source = BTreeMap::new();
            for (column, name) in narrower {
                let dtype = DType::from_name(&name)
                    .ok_or_else(|| bad(format!("source_dtypes names unknown dtype {name:?}")))?;
                source.insert(column, dtype);
            }
            let landmarks = (!landmarks.is_null(row))
                .then(|| list_row("landmarks", landmarks, row, landmark_shape))
                .transpose()?;
            let features = match features {
                Some(f) if !f.is_null(row) => {
                    let mut models = Vec::new();
                    for (field, child) in f.fields().iter().zip(f.columns()) {
                        let name = format!("pretrained_features.{}", field.name());
                        let child = fixed_list(&name, child)?;
                        if child.is_null(row) {
                            continue;
                        }
                        let shape = [1, child.value_length().max(0) as usize];
                        models.push((field.name().clone(), list_row(&name, child, row, &shape)?));
                    }
                    Some(models)
                }
                _ => None,
            };
            each(StoredRow {
                image: images.row(row, &key, "jpg"),
                segmentation: segmentations.row(row, &key, "png"),
                part: (!parts.is_null(row)).then(|| parts.value(row)),
                landmarks,
                features,
                source_dtypes: source,
                key,
            })?;
            count += 1;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_parquet_crates_becomes_an_error() {
        // As arrow-buffer 60 asserts on the malformed definition levels of
        // fuzz/regressions/parquet_shard/def_levels_bit_chunk_assert.
        let err = catch_reader_panics::<()>(|| panic!("assertion failed: ceil(offset + len, 8)"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Parquet reader failed on malformed data: assertion failed: ceil(offset + len, 8)"
        );
        assert_eq!(catch_reader_panics(|| Ok(7)).unwrap(), 7);
    }
}
