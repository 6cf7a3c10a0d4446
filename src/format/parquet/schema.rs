//! The mapping between the dataset's columns and Arrow/Parquet types, both ways: the writer
//! builds its schema here and the readers map stored types back to numpy dtypes here, so
//! the two never disagree.
//!
//! What `datasets` needs to decode `image` and `segmentation` as pictures: every field and
//! struct child nullable, `binary`/`string` (not the large variants), and the `huggingface`
//! feature description, written into the Arrow schema and as a plain Parquet key-value.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use serde_json::{json, Value};

use crate::decode::array::DType;
use crate::schema::DatasetSchema;

pub(crate) fn arrow_type(dtype: DType) -> DataType {
    match dtype {
        DType::Bool | DType::U8 => DataType::UInt8,
        DType::U16 => DataType::UInt16,
        DType::U32 => DataType::UInt32,
        DType::U64 => DataType::UInt64,
        DType::I8 => DataType::Int8,
        DType::I16 => DataType::Int16,
        DType::I32 => DataType::Int32,
        DType::I64 => DataType::Int64,
        DType::F16 => DataType::Float16,
        DType::F32 => DataType::Float32,
        DType::F64 => DataType::Float64,
    }
}

/// The element type a column stores: booleans are kept as bytes, one per value.
pub(crate) fn stored_dtype(dtype: DType) -> DType {
    if dtype == DType::Bool {
        DType::U8
    } else {
        dtype
    }
}

fn fixed_list_type(dtype: DType, shape: &[usize]) -> DataType {
    shape.iter().rev().fold(arrow_type(dtype), |inner, &len| {
        DataType::FixedSizeList(Arc::new(Field::new("item", inner, true)), len as i32)
    })
}

fn hf_value(dtype: &str) -> Value {
    json!({"dtype": dtype, "_type": "Value"})
}

/// `Sequence` rather than `List`: datasets 3.x fails on `List`, 4.x and 5.x accept both.
fn hf_sequence(dtype: DType, shape: &[usize]) -> Value {
    shape.iter().rev().fold(
        hf_value(stored_dtype(dtype).name()),
        |inner, &len| json!({"feature": inner, "length": len, "_type": "Sequence"}),
    )
}

pub(crate) fn image_struct_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ]))
}

/// The Arrow schema of the dataset's rows and the `huggingface` feature description.
pub(crate) fn arrow_schema(schema: &DatasetSchema, landmark_count: usize) -> (SchemaRef, String) {
    let landmarks = stored_dtype(schema.landmarks);
    // Resized pictures (`convert --resolution`) keep the sha256 of their source file in a
    // column next to the sha256 of the stored bytes; the columns exist only then.
    let source = |name: &str| {
        schema
            .source_hashes
            .then(|| Field::new(format!("{name}_source_sha256"), DataType::Utf8, true))
    };
    let mut fields: Vec<Field> = [
        Some(Field::new("key", DataType::Utf8, true)),
        Some(Field::new("part", DataType::Int16, true)),
        Some(Field::new("image", image_struct_type(), true)),
        Some(Field::new("image_sha256", DataType::Utf8, true)),
        source("image"),
        Some(Field::new("width", DataType::Int32, true)),
        Some(Field::new("height", DataType::Int32, true)),
        Some(Field::new("segmentation", image_struct_type(), true)),
        Some(Field::new("segmentation_sha256", DataType::Utf8, true)),
        source("segmentation"),
        Some(Field::new(
            "landmarks",
            fixed_list_type(landmarks, &[landmark_count, 2]),
            true,
        )),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut features = json!({
        "key": hf_value("string"),
        "part": hf_value("int16"),
        "image": {"_type": "Image"},
        "image_sha256": hf_value("string"),
        "width": hf_value("int32"),
        "height": hf_value("int32"),
        "segmentation": {"_type": "Image"},
        "segmentation_sha256": hf_value("string"),
        "landmarks": hf_sequence(landmarks, &[landmark_count, 2]),
    });
    if schema.source_hashes {
        features["image_source_sha256"] = hf_value("string");
        features["segmentation_source_sha256"] = hf_value("string");
    }
    if !schema.features.is_empty() {
        let children: Vec<Field> = schema
            .features
            .iter()
            .map(|f| {
                Field::new(
                    &f.model,
                    fixed_list_type(stored_dtype(f.dtype), &[f.dim]),
                    true,
                )
            })
            .collect();
        fields.push(Field::new(
            "pretrained_features",
            DataType::Struct(Fields::from(children)),
            true,
        ));
        let described: serde_json::Map<String, Value> = schema
            .features
            .iter()
            .map(|f| (f.model.clone(), hf_sequence(f.dtype, &[f.dim])))
            .collect();
        features["pretrained_features"] = Value::Object(described);
    }
    fields.push(Field::new("source_dtypes", DataType::Utf8, true));
    features["source_dtypes"] = hf_value("string");
    let description = json!({"info": {"features": features}}).to_string();
    let metadata: std::collections::HashMap<String, String> =
        [("huggingface".to_string(), description.clone())]
            .into_iter()
            .collect();
    (
        Arc::new(Schema::new_with_metadata(fields, metadata)),
        description,
    )
}

/// The numpy dtype of a stored element type: the inverse of [`arrow_type`] (booleans come
/// back as bytes, as they are stored). `None` for a type this tool never writes.
pub(crate) fn dtype_of(data_type: &DataType) -> Option<DType> {
    DType::ALL
        .into_iter()
        .filter(|d| *d != DType::Bool)
        .find(|d| &arrow_type(*d) == data_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_types_map_back_to_their_dtype() {
        for dtype in DType::ALL {
            let back = dtype_of(&arrow_type(dtype)).expect("every stored type maps back");
            assert_eq!(back, stored_dtype(dtype));
        }
        assert_eq!(dtype_of(&DataType::Utf8), None);
    }
}
