//! `croissant.json`: MLCommons Croissant 1.1, checked with `mlcroissant validate` and loaded
//! with `mlcroissant` (1.1.1).
//!
//! Every shard is a `cr:FileObject` with its sha256 and size from the manifest. Records are
//! read through a `cr:FileSet` over `data/*.parquet` rather than through those FileObjects:
//! mlcroissant reads a record set from one FileObject or one FileSet, and a FileSet
//! `containedIn` plain (non-archive) FileObjects fails at `records()`, so the FileObjects
//! carry the checksums and the FileSet (which `verify` guarantees holds exactly the listed
//! shards) carries the rows. The split comes from each shard's file name, as the Hub's own
//! Croissant does. Tar shards are FileObjects too, with a FileSet of the JPEG members inside
//! them (mlcroissant extracts archives, and checks their sha256 while doing so).
//!
//! `encodingFormat` is `application/x-parquet`: the IANA type validates but mlcroissant
//! cannot read it.

use serde_json::{json, Map, Value};

use super::{column_description, Facts, Meta, SFHQ_CITATION, SFHQ_URL};
use crate::format::ShardRecord;

const RECORDS: &str = "sfhq";
const SPLITS: &str = "splits";
const WDS_RECORDS: &str = "webdataset";
const PARQUET_SET: &str = "parquet-files";
const WDS_IMAGES: &str = "webdataset-images";

/// The standard Croissant 1.1 `@context` (mlcroissant warns about any key it lacks).
fn context() -> Value {
    let mut context = json!({
        "@language": "en",
        "@vocab": "https://schema.org/",
        "sc": "https://schema.org/",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "dct": "http://purl.org/dc/terms/",
        "conformsTo": "dct:conformsTo",
        "data": {"@id": "cr:data", "@type": "@json"},
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    });
    for term in [
        "arrayShape",
        "citeAs",
        "column",
        "containedIn",
        "equivalentProperty",
        "extract",
        "field",
        "fileObject",
        "fileProperty",
        "fileSet",
        "format",
        "includes",
        "isArray",
        "isLiveDataset",
        "jsonPath",
        "key",
        "md5",
        "parentField",
        "path",
        "recordSet",
        "references",
        "regex",
        "repeated",
        "replace",
        "samplingRate",
        "separator",
        "source",
        "subField",
        "transform",
    ] {
        context[term] = Value::String(format!("cr:{term}"));
    }
    context
}

/// Croissant's data type for a numpy / `datasets` dtype name.
fn data_type(dtype: &str) -> &'static str {
    match dtype {
        "bool" => "sc:Boolean",
        "int8" => "cr:Int8",
        "int16" => "cr:Int16",
        "int32" => "cr:Int32",
        "int64" => "cr:Int64",
        "uint8" => "cr:UInt8",
        "uint16" => "cr:UInt16",
        "uint32" => "cr:UInt32",
        "uint64" => "cr:UInt64",
        "float16" => "cr:Float16",
        "float32" => "cr:Float32",
        "float64" => "cr:Float64",
        _ => "sc:Text",
    }
}

fn file_object(shard: &ShardRecord, encoding: &str) -> Value {
    json!({
        "@type": "cr:FileObject",
        "@id": shard.path,
        "name": shard.path,
        "description": format!("{} split: {} rows, keys {} to {}", shard.split, shard.rows, shard.first_key, shard.last_key),
        "contentUrl": shard.path,
        "encodingFormat": encoding,
        "contentSize": format!("{} B", shard.bytes),
        "sha256": shard.sha256,
    })
}

fn parquet_source(column: &str) -> Map<String, Value> {
    let mut source = Map::new();
    source.insert("fileSet".into(), json!({"@id": PARQUET_SET}));
    source.insert("extract".into(), json!({"column": column}));
    source
}

/// Where a WebDataset field comes from: a property of the `.jpg` members.
fn wds_source(extract: Value, regex: Option<&str>) -> Map<String, Value> {
    let mut source = Map::new();
    source.insert("fileSet".into(), json!({"@id": WDS_IMAGES}));
    source.insert("extract".into(), extract);
    if let Some(regex) = regex {
        source.insert("transform".into(), json!({"regex": regex}));
    }
    source
}

fn field(
    id: &str,
    name: &str,
    description: &str,
    data_type: Value,
    source: Map<String, Value>,
) -> Map<String, Value> {
    let mut field = Map::new();
    field.insert("@type".into(), json!("cr:Field"));
    field.insert("@id".into(), json!(id));
    field.insert("name".into(), json!(name));
    field.insert("description".into(), json!(description));
    field.insert("dataType".into(), data_type);
    field.insert("source".into(), Value::Object(source));
    field
}

/// Element dtype and `arrayShape` of a (nested) `Sequence` feature.
fn array_of(feature: &Value) -> (String, String) {
    let (dims, inner) = super::sequence_dims(feature);
    let dims: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("-1".to_string(), |n| n.to_string()))
        .collect();
    (
        inner["dtype"].as_str().unwrap_or("float32").to_string(),
        dims.join(","),
    )
}

/// A JSONPath that selects one struct child: quoted, so names such as `CLIP_ViTL_14@336`
/// are taken literally.
fn json_path_of(name: &str) -> Option<String> {
    if !name.contains('\'') {
        Some(format!("'{name}'"))
    } else if !name.contains('"') {
        Some(format!("\"{name}\""))
    } else {
        None
    }
}

fn parquet_fields(facts: &Facts) -> Vec<Value> {
    let manifest = facts.manifest;
    let mut fields = Vec::new();
    for column in &facts.columns {
        let name = column.name.as_str();
        let id = format!("{RECORDS}/{name}");
        let description = column_description(name, manifest);
        let feature = &column.feature;
        match feature.get("_type").and_then(Value::as_str) {
            Some("Image") => {
                let mut source = parquet_source(name);
                source.insert("transform".into(), json!({"jsonPath": "bytes"}));
                let data_type = if name == "segmentation" {
                    json!(["cr:SegmentationMask", "sc:ImageObject"])
                } else {
                    json!("sc:ImageObject")
                };
                fields.push(Value::Object(field(
                    &id,
                    name,
                    &description,
                    data_type,
                    source,
                )));
            }
            Some("Sequence" | "List") => {
                let (dtype, shape) = array_of(feature);
                let mut f = field(
                    &id,
                    name,
                    &description,
                    json!(data_type(&dtype)),
                    parquet_source(name),
                );
                f.insert("isArray".into(), json!(true));
                f.insert("arrayShape".into(), json!(shape));
                fields.push(Value::Object(f));
            }
            Some(_) => {
                let dtype = feature["dtype"].as_str().unwrap_or("string");
                fields.push(Value::Object(field(
                    &id,
                    name,
                    &description,
                    json!(data_type(dtype)),
                    parquet_source(name),
                )));
            }
            None => {
                // A struct column (the feature models): one array field per child.
                let Some(children) = feature.as_object() else {
                    continue;
                };
                for (model, child) in children {
                    let Some(path) = json_path_of(model) else {
                        continue;
                    };
                    let (dtype, shape) = array_of(child);
                    let wds_name = manifest
                        .features
                        .get(model)
                        .map_or_else(|| crate::schema::wds_name(model), |f| f.wds_name.clone());
                    let mut source = parquet_source(name);
                    source.insert("transform".into(), json!({"jsonPath": path}));
                    let mut f = field(
                        &format!("{RECORDS}/{name}/{wds_name}"),
                        model,
                        &format!("embedding of the image by {model} (column {name}.{model}); null when the source part has none"),
                        json!(data_type(&dtype)),
                        source,
                    );
                    f.insert("isArray".into(), json!(true));
                    f.insert("arrayShape".into(), json!(shape));
                    fields.push(Value::Object(f));
                }
            }
        }
    }
    // Hub style: the split from the shard's file name, referencing the split record set.
    let mut source = Map::new();
    source.insert("fileSet".into(), json!({"@id": PARQUET_SET}));
    source.insert("extract".into(), json!({"fileProperty": "fullpath"}));
    source.insert(
        "transform".into(),
        json!({"regex": "^(?:.*/)?([a-z0-9_]+)(?:-\\d{5}-of-\\d{5}\\.parquet)?$"}),
    );
    let mut split = field(
        &format!("{RECORDS}/split"),
        "split",
        "the split the sample belongs to, from its shard's file name",
        json!("sc:Text"),
        source,
    );
    split.insert(
        "references".into(),
        json!({"field": {"@id": format!("{SPLITS}/name")}}),
    );
    fields.push(Value::Object(split));
    fields
}

/// The whole document.
pub fn document(facts: &Facts, meta: &Meta) -> Value {
    let manifest = facts.manifest;
    let mut distribution: Vec<Value> = facts
        .parquet_shards()
        .map(|s| file_object(s, "application/x-parquet"))
        .collect();
    if facts.has_parquet() {
        distribution.push(json!({
            "@type": "cr:FileSet",
            "@id": PARQUET_SET,
            "name": PARQUET_SET,
            "description": "every Parquet shard (the FileObjects above, which carry the checksums)",
            "encodingFormat": "application/x-parquet",
            "includes": "data/*.parquet",
        }));
    }
    let tars: Vec<&ShardRecord> = facts.tar_shards().collect();
    distribution.extend(tars.iter().map(|s| file_object(s, "application/x-tar")));
    if !tars.is_empty() {
        // `convert --resolution --image-format png` stores PNG images.
        let image_format = match super::image_extension(manifest) {
            "png" => ("PNG", "image/png"),
            _ => ("JPEG", "image/jpeg"),
        };
        distribution.push(json!({
            "@type": "cr:FileSet",
            "@id": WDS_IMAGES,
            "name": WDS_IMAGES,
            "description": format!("the {} images inside the WebDataset tar shards", image_format.0),
            "containedIn": tars.iter().map(|s| json!({"@id": s.path})).collect::<Vec<_>>(),
            "encodingFormat": image_format.1,
            "includes": format!("*.{}", super::image_extension(manifest)),
        }));
    }

    let mut record_sets = Vec::new();
    if facts.has_parquet() {
        let splits: Vec<Value> = facts
            .splits
            .iter()
            .filter(|s| !s.parquet.is_empty())
            .map(|s| json!({format!("{SPLITS}/name"): s.name}))
            .collect();
        record_sets.push(json!({
            "@type": "cr:RecordSet",
            "@id": SPLITS,
            "name": SPLITS,
            "description": "the dataset's splits",
            "dataType": "cr:Split",
            "key": {"@id": format!("{SPLITS}/name")},
            "field": [{
                "@type": "cr:Field",
                "@id": format!("{SPLITS}/name"),
                "name": "name",
                "description": "split name",
                "dataType": "sc:Text",
            }],
            "data": splits,
        }));
        record_sets.push(json!({
            "@type": "cr:RecordSet",
            "@id": RECORDS,
            "name": RECORDS,
            "description": "one record per sample: image, segmentation map, landmarks and embeddings, from the Parquet shards",
            "key": {"@id": format!("{RECORDS}/key")},
            "field": parquet_fields(facts),
        }));
    }
    if !tars.is_empty() {
        let image_member = format!("^(.*)\\.{}$", super::image_extension(manifest));
        record_sets.push(json!({
            "@type": "cr:RecordSet",
            "@id": WDS_RECORDS,
            "name": WDS_RECORDS,
            "description": "the images of the WebDataset shards, by sample key",
            "key": {"@id": format!("{WDS_RECORDS}/key")},
            "field": [
                field(
                    &format!("{WDS_RECORDS}/key"),
                    "key",
                    &column_description("key", manifest),
                    json!("sc:Text"),
                    wds_source(json!({"fileProperty": "filename"}), Some(&image_member)),
                ),
                field(
                    &format!("{WDS_RECORDS}/image"),
                    "image",
                    &column_description("image", manifest),
                    json!("sc:ImageObject"),
                    wds_source(json!({"fileProperty": "content"}), None),
                ),
            ],
        }));
    }

    let mut description = format!(
        "{} synthetic face images from the Synthetic Faces High Quality (SFHQ) dataset ({SFHQ_URL}), each with a face-parsing segmentation map (19 classes) and {} facial landmarks",
        manifest.rows,
        manifest.landmarks.shape.first().copied().unwrap_or(110)
    );
    if !manifest.features.is_empty() {
        description.push_str(&format!(
            ", plus pretrained image embeddings ({})",
            manifest
                .features
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    description
        .push_str(". Validated and packed by sfhq-pack; every shard is listed with its sha256.");
    if let Some(subtitle) = &meta.subtitle {
        description = format!("{subtitle}. {description}");
    }

    json!({
        "@context": context(),
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": meta.title,
        "description": description,
        "license": meta.license.croissant(),
        "url": meta.url.as_deref().unwrap_or(SFHQ_URL),
        "creator": {"@type": "sc:Person", "name": meta.creator_name().unwrap_or("unknown")},
        "datePublished": meta.date.as_deref().unwrap_or("1970-01-01"),
        "version": "1.0.0",
        "citeAs": SFHQ_CITATION,
        "isBasedOn": SFHQ_URL,
        "keywords": ["faces", "synthetic", "face parsing", "segmentation", "facial landmarks", "embeddings"],
        "distribution": distribution,
        "recordSet": record_sets,
    })
}

/// `croissant.json` as written: pretty-printed, with a final newline.
pub fn render(facts: &Facts, meta: &Meta) -> String {
    let mut text =
        serde_json::to_string_pretty(&document(facts, meta)).expect("JSON values serialise");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_report_their_shape() {
        let landmarks = json!({"_type": "Sequence", "length": 110,
            "feature": {"_type": "Sequence", "length": 2, "feature": {"_type": "Value", "dtype": "float64"}}});
        assert_eq!(
            array_of(&landmarks),
            ("float64".to_string(), "110,2".to_string())
        );
        assert_eq!(data_type("float16"), "cr:Float16");
        assert_eq!(data_type("string"), "sc:Text");
    }

    #[test]
    fn struct_children_are_selected_literally() {
        assert_eq!(
            json_path_of("CLIP_ViTL_14@336").as_deref(),
            Some("'CLIP_ViTL_14@336'")
        );
        assert_eq!(json_path_of("it's").as_deref(), Some("\"it's\""));
        assert_eq!(json_path_of("'\""), None);
    }
}
