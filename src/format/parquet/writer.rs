//! The Parquet writer: shards that Hugging Face `datasets`, pyarrow, DuckDB and mlcroissant
//! read unchanged, with the columns of [`super::schema`]. Image bytes are stored as read,
//! uncompressed and PLAIN (JPEG and PNG are compressed already); everything else is snappy.
//! About 100 rows per row group keeps random access cheap and every group far below the
//! Hub viewer's 100 MB limit.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    make_array, ArrayData, ArrayRef, BinaryBuilder, FixedSizeListArray, Int16Array, Int32Array,
    RecordBatch, StringArray, StructArray,
};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::{DataType, Field, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::schema::{arrow_schema, arrow_type, image_struct_type, stored_dtype};
use super::DATA_DIR;
use crate::decode::array::{Array, DType};
use crate::format::shard::{self, SealedShard, ShardFormat, ShardWriter};
use crate::format::shard_files::{OpenShard, ShardEncoder, ShardFiles, ShardedSink};
use crate::sample::{Blob, Payload, Sample};
use crate::schema::DatasetSchema;

/// Row groups are also cut at this many payload bytes, whatever the row count.
const MAX_ROW_GROUP_BYTES: u64 = 64 * 1024 * 1024;

/// Rows turned into Arrow arrays and encoded at a time. A row group is built from several
/// such batches, so neither the samples nor a row group's worth of Arrow arrays are held
/// at once: memory stays a few megabytes above the encoded row group, and no allocation
/// is large enough to fragment the heap as the run goes on.
const ENCODE_BATCH_ROWS: usize = 8;

/// How shards are cut.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// Payload bytes per shard before a new one starts.
    pub shard_size: u64,
    pub row_group_rows: usize,
    pub landmark_count: usize,
}

fn writer_properties(description: String, row_group_rows: usize) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_created_by(format!(
            "sfhq-pack {} (parquet-rs)",
            env!("CARGO_PKG_VERSION")
        ))
        .set_compression(Compression::SNAPPY)
        // Keys are unique and arrays are noise to a dictionary: it would only be discarded.
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(row_group_rows))
        // The page size limit is checked between mini-batches: with the default 1024 rows
        // a whole row group of images (~30 MB) lands in one page buffer, grown by doubling.
        // Four rows per mini-batch, and a one-byte limit on the picture columns below, make
        // every picture a page of its own, copied once into an exactly sized buffer.
        .set_write_batch_size(4)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "huggingface".to_string(),
            description,
        )]));
    for column in ["image", "segmentation"] {
        let path = ColumnPath::new(vec![column.to_string(), "bytes".to_string()]);
        builder = builder
            .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
            .set_column_encoding(path.clone(), Encoding::PLAIN)
            .set_column_data_page_size_limit(path.clone(), 1)
            // Min/max of JPEG bytes help no query and cost a copy per page.
            .set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    builder.build()
}

/// Writes `data/{split}-{i:05}-of-{n:05}.parquet`.
pub(crate) type ParquetSink = ShardedSink<ParquetEncoder>;

type ParquetFiles = ShardFiles<ArrowWriter<ShardWriter>>;

/// What goes inside a Parquet shard, and where shards are cut.
pub(crate) struct ParquetEncoder {
    options: ParquetOptions,
    schema: DatasetSchema,
    arrow_schema: SchemaRef,
    properties: WriterProperties,
    /// Samples not yet encoded (fewer than `ENCODE_BATCH_ROWS`).
    pending: Vec<Arc<Sample>>,
    /// Rows and payload bytes of the open row group, encoded or pending.
    group_rows: usize,
    group_bytes: u64,
    /// Rows and payload bytes of the current shard, written or buffered.
    shard_rows: u64,
    shard_payload: u64,
}

impl ParquetSink {
    /// `resumed`: shards an interrupted run sealed (`convert --resume`); the next shard
    /// continues their numbering.
    pub fn new(
        out: &Path,
        split: &str,
        schema: &DatasetSchema,
        options: ParquetOptions,
        resumed: Vec<SealedShard>,
    ) -> anyhow::Result<ParquetSink> {
        let files = ShardFiles::new(
            out,
            DATA_DIR,
            split,
            ShardFormat::Parquet,
            |split, i, n| format!("{split}-{i:05}-of-{n:05}.parquet"),
            resumed,
        )?;
        let (arrow_schema, description) = arrow_schema(schema, options.landmark_count);
        let encoder = ParquetEncoder {
            properties: writer_properties(description, options.row_group_rows),
            options,
            schema: schema.clone(),
            arrow_schema,
            pending: Vec::new(),
            group_rows: 0,
            group_bytes: 0,
            shard_rows: 0,
            shard_payload: 0,
        };
        Ok(ShardedSink::from_parts(encoder, files))
    }
}

impl ParquetEncoder {
    fn open_shard<'f>(
        &self,
        files: &'f mut ParquetFiles,
        first_key: &str,
    ) -> anyhow::Result<&'f mut OpenShard<ArrowWriter<ShardWriter>>> {
        files.open_or_start(first_key, |file| {
            Ok(ArrowWriter::try_new(
                file,
                self.arrow_schema.clone(),
                Some(self.properties.clone()),
            )?)
        })
    }

    /// Encodes the pending samples into the open row group.
    fn encode_pending(&mut self, files: &mut ParquetFiles) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let batch = self.record_batch(&rows)?;
        let (first, last) = (&rows[0].key, &rows[rows.len() - 1].key);
        let open = self.open_shard(files, first)?;
        open.add_rows(rows.len() as u64, last);
        // The batch holds its own copy of the bytes: let the samples go before encoding.
        drop(rows);
        open.writer.write(&batch)?;
        Ok(())
    }

    /// Ends the open row group.
    fn flush_row_group(&mut self, files: &mut ParquetFiles) -> anyhow::Result<()> {
        self.encode_pending(files)?;
        if let Some(open) = files.open_mut() {
            open.writer.flush()?;
        }
        self.group_rows = 0;
        self.group_bytes = 0;
        Ok(())
    }

    fn record_batch(&self, rows: &[Arc<Sample>]) -> anyhow::Result<RecordBatch> {
        let payloads: Vec<&Payload> = rows.iter().map(|r| &r.payload).collect();
        let landmarks: Vec<Option<&Array>> = payloads
            .iter()
            .map(|p| p.landmarks.as_ref().map(|l| &l.value))
            .collect();
        // `image_source_sha256` and `segmentation_source_sha256`, when the schema has them.
        let source_column = |hash: &dyn Fn(&Payload) -> Option<&str>| -> Option<ArrayRef> {
            self.schema.source_hashes.then(|| {
                Arc::new(payloads.iter().map(|p| hash(p)).collect::<StringArray>()) as ArrayRef
            })
        };
        let columns: Vec<Option<ArrayRef>> = vec![
            Some(Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &*r.key),
            ))),
            Some(Arc::new(
                rows.iter().map(|r| r.part).collect::<Int16Array>(),
            )),
            Some(blob_column(payloads.iter().map(|p| Some(&p.image)))),
            Some(Arc::new(StringArray::from_iter_values(
                payloads.iter().map(|p| p.image.sha256.as_str()),
            ))),
            source_column(&|p| p.source.as_ref().map(|s| s.image.as_str())),
            Some(Arc::new(Int32Array::from_iter_values(
                payloads.iter().map(|p| p.width as i32),
            ))),
            Some(Arc::new(Int32Array::from_iter_values(
                payloads.iter().map(|p| p.height as i32),
            ))),
            Some(blob_column(
                payloads.iter().map(|p| p.segmentation.as_ref()),
            )),
            Some(Arc::new(
                payloads
                    .iter()
                    .map(|p| p.segmentation.as_ref().map(|s| s.sha256.as_str()))
                    .collect::<StringArray>(),
            )),
            source_column(&|p| p.source.as_ref().and_then(|s| s.segmentation.as_deref())),
            Some(fixed_list_column(
                &landmarks,
                stored_dtype(self.schema.landmarks),
                &[self.options.landmark_count, 2],
            )?),
        ];
        let mut columns: Vec<ArrayRef> = columns.into_iter().flatten().collect();
        if !self.schema.features.is_empty() {
            let mut children = Vec::with_capacity(self.schema.features.len());
            for column in &self.schema.features {
                let arrays: Vec<Option<&Array>> =
                    payloads.iter().map(|p| p.feature(&column.model)).collect();
                children.push(fixed_list_column(
                    &arrays,
                    stored_dtype(column.dtype),
                    &[column.dim],
                )?);
            }
            let DataType::Struct(fields) = self
                .arrow_schema
                .field_with_name("pretrained_features")?
                .data_type()
                .clone()
            else {
                unreachable!("pretrained_features is a struct column");
            };
            let valid = NullBuffer::from(
                payloads
                    .iter()
                    .map(|p| p.features.is_some())
                    .collect::<Vec<bool>>(),
            );
            columns.push(Arc::new(StructArray::try_new(
                fields,
                children,
                Some(valid),
            )?));
        }
        columns.push(Arc::new(
            payloads
                .iter()
                .map(|p| self.source_dtypes(p))
                .collect::<StringArray>(),
        ));
        Ok(RecordBatch::try_new(self.arrow_schema.clone(), columns)?)
    }

    /// The dtypes of a sample's arrays that differ from their column's (the column holds
    /// the widest dtype of all sources), as JSON; null when none differ. `extract` uses it
    /// to give back each array in the dtype it was read in.
    fn source_dtypes(&self, payload: &Payload) -> Option<String> {
        let mut differing = serde_json::Map::new();
        if let Some(landmarks) = &payload.landmarks {
            if landmarks.value.dtype != self.schema.landmarks {
                differing.insert("landmarks".into(), landmarks.value.dtype.name().into());
            }
        }
        for column in &self.schema.features {
            if let Some(array) = payload.feature(&column.model) {
                if array.dtype != column.dtype {
                    differing.insert(
                        format!("pretrained_features.{}", column.model),
                        array.dtype.name().into(),
                    );
                }
            }
        }
        (!differing.is_empty()).then(|| serde_json::Value::Object(differing).to_string())
    }
}

/// An `Image` column: struct<bytes: binary, path: string>.
fn blob_column<'a>(blobs: impl Iterator<Item = Option<&'a Blob>> + Clone) -> ArrayRef {
    // Sized up front: collecting would grow the value buffer by doubling, copying it.
    let total: usize = blobs.clone().flatten().map(|b| b.bytes.len()).sum();
    let mut bytes = BinaryBuilder::with_capacity(blobs.clone().count(), total);
    for blob in blobs.clone() {
        bytes.append_option(blob.map(|b| b.bytes.as_slice()));
    }
    let bytes = bytes.finish();
    let paths: StringArray = blobs.clone().map(|b| b.map(|b| b.name.as_str())).collect();
    let valid = NullBuffer::from(blobs.map(|b| b.is_some()).collect::<Vec<bool>>());
    let DataType::Struct(fields) = image_struct_type() else {
        unreachable!("image_struct_type is a struct");
    };
    Arc::new(StructArray::new(
        fields,
        vec![Arc::new(bytes), Arc::new(paths)],
        Some(valid),
    ))
}

/// Nested fixed-size lists of `shape` over `dtype` values; a missing array is a null row
/// (its slots hold zeros, as Arrow requires slots under nulls).
fn fixed_list_column(
    arrays: &[Option<&Array>],
    dtype: DType,
    shape: &[usize],
) -> anyhow::Result<ArrayRef> {
    let per_row: usize = shape.iter().product();
    let mut values = Vec::with_capacity(arrays.len() * per_row * dtype.itemsize());
    for array in arrays {
        match array {
            Some(a) => a.extend_le_bytes_as(dtype, &mut values),
            None => values.resize(values.len() + per_row * dtype.itemsize(), 0),
        }
    }
    let data = ArrayData::builder(arrow_type(dtype))
        .len(arrays.len() * per_row)
        .add_buffer(Buffer::from_vec(values))
        .build()?;
    let mut column = make_array(data);
    let mut rows = arrays.len() * per_row;
    for (depth, &len) in shape.iter().enumerate().rev() {
        rows /= len;
        let field = Arc::new(Field::new("item", column.data_type().clone(), true));
        let nulls = (depth == 0)
            .then(|| NullBuffer::from(arrays.iter().map(Option::is_some).collect::<Vec<bool>>()));
        column = Arc::new(FixedSizeListArray::try_new(
            field, len as i32, column, nulls,
        )?);
        debug_assert_eq!(column.len(), rows);
    }
    Ok(column)
}

impl ShardEncoder for ParquetEncoder {
    type Writer = ArrowWriter<ShardWriter>;

    fn add(&mut self, files: &mut ParquetFiles, sample: &Arc<Sample>) -> anyhow::Result<()> {
        let size = sample.payload.size();
        if shard::starts_new_shard(
            self.shard_rows,
            self.shard_payload,
            size,
            0,
            self.options.shard_size,
        ) {
            self.seal(files)?;
        }
        self.shard_rows += 1;
        self.shard_payload += size;
        self.pending.push(Arc::clone(sample));
        self.group_rows += 1;
        self.group_bytes += size;
        if self.group_rows >= self.options.row_group_rows || self.group_bytes >= MAX_ROW_GROUP_BYTES
        {
            self.flush_row_group(files)?;
        } else if self.pending.len() >= ENCODE_BATCH_ROWS {
            self.encode_pending(files)?;
        }
        Ok(())
    }

    fn seal(&mut self, files: &mut ParquetFiles) -> anyhow::Result<()> {
        self.flush_row_group(files)?;
        self.shard_rows = 0;
        self.shard_payload = 0;
        files.seal(|writer| Ok(writer.into_inner()?))
    }
}
