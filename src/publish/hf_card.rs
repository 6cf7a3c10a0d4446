//! The Hugging Face dataset card, `README.md`: YAML front matter the Hub and `datasets`
//! read, then a card people read.
//!
//! The front matter follows what `datasets` itself writes on `push_to_hub`
//! (`configs` with one `data/{split}-*` glob per split, `dataset_info` with features and
//! split sizes), with two deliberate choices: features use the older `sequence:` +
//! `length:` spelling, which datasets 3.x and 5.x both parse into fixed-length lists, and
//! they are derived from the same `huggingface` description the Parquet shards carry
//! ([`crate::format::parquet::arrow_schema`]), so the card can never disagree with the
//! files: `datasets` casts the shards to the card's features and would fail on any
//! difference.
//!
//! The card body doubles as the Kaggle description ([`Flavor::Kaggle`]), with paths for
//! the flat upload folder and without the checksum table (the folder carries `SHA256SUMS`).

use serde_json::Value;

use super::yaml::{self, Yaml};
use super::{
    column_description, Facts, Meta, SplitInfo, SEGMENTATION_LABELS, SFHQ_AUTHOR, SFHQ_CITATION,
    SFHQ_URL,
};
use crate::format::webdataset::index::index_files;
use crate::ui::format_bytes;
use crate::validate::report::excluded_by_code;

/// Where the text will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `README.md` at the top of the converted folder (a Hub repository).
    Hub,
    /// The description in Kaggle's `dataset-metadata.json`: a flat folder.
    Kaggle,
}

/// The Hub's size buckets, by row count.
pub fn size_category(rows: u64) -> &'static str {
    const BUCKETS: [(u64, &str); 10] = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
        (10_000_000_000, "1B<n<10B"),
        (100_000_000_000, "10B<n<100B"),
        (1_000_000_000_000, "100B<n<1T"),
    ];
    BUCKETS
        .iter()
        .find(|(limit, _)| rows < *limit)
        .map_or("n>1T", |(_, name)| name)
}

/// The keys that sit beside `name` in a `dataset_info.features` entry, from a feature's
/// `datasets` JSON description (`_to_yaml_list` in datasets, with `sequence:` for lists).
fn feature_yaml(feature: &Value) -> Vec<(String, Yaml)> {
    match feature.get("_type").and_then(Value::as_str) {
        Some("Value") => vec![(
            "dtype".into(),
            Yaml::str(feature["dtype"].as_str().unwrap_or("string")),
        )],
        Some("Image") => vec![("dtype".into(), Yaml::str("image"))],
        Some("Sequence" | "List") => {
            let inner = &feature["feature"];
            let inner_yaml = if inner.get("_type").and_then(Value::as_str) == Some("Value") {
                Yaml::str(inner["dtype"].as_str().unwrap_or("string"))
            } else {
                Yaml::Map(feature_yaml(inner))
            };
            let mut out = vec![("sequence".to_string(), inner_yaml)];
            if let Some(length) = feature.get("length").and_then(Value::as_u64) {
                out.push(("length".into(), Yaml::Int(length)));
            }
            out
        }
        _ => {
            // A struct: a plain object of named children.
            let children = feature
                .as_object()
                .map(|fields| {
                    fields
                        .iter()
                        .map(|(name, child)| named_feature(name, child))
                        .collect()
                })
                .unwrap_or_default();
            vec![("struct".into(), Yaml::List(children))]
        }
    }
}

fn named_feature(name: &str, feature: &Value) -> Yaml {
    let mut entries = vec![("name".to_string(), Yaml::str(name))];
    entries.extend(feature_yaml(feature));
    Yaml::Map(entries)
}

/// A column's type in words, for the tables.
fn type_words(feature: &Value) -> String {
    match feature.get("_type").and_then(Value::as_str) {
        Some("Value") => feature["dtype"].as_str().unwrap_or("?").to_string(),
        Some("Image") => "image".to_string(),
        Some("Sequence" | "List") => {
            let (dims, inner) = super::sequence_dims(feature);
            let dims: Vec<String> = dims
                .iter()
                .map(|d| d.map_or("*".to_string(), |n| n.to_string()))
                .collect();
            format!("{}[{}]", type_words(inner), dims.join(", "))
        }
        _ => "struct".to_string(),
    }
}

fn front_matter(facts: &Facts, meta: &Meta) -> Yaml {
    let manifest = facts.manifest;
    let mut entries: Vec<(String, Yaml)> = vec![("license".into(), Yaml::str(meta.license.hub))];
    if let Some(name) = meta.license.hub_other_name() {
        entries.push(("license_name".into(), Yaml::str(name)));
        if let Some(url) = meta.license.url {
            entries.push(("license_link".into(), Yaml::str(url)));
        }
    }
    entries.push(("pretty_name".into(), Yaml::str(&meta.title)));
    let mut tasks = vec!["image-segmentation"];
    if !manifest.features.is_empty() {
        tasks.push("image-feature-extraction");
    }
    tasks.push("unconditional-image-generation");
    entries.push(("task_categories".into(), Yaml::strs(tasks)));
    entries.push(("task_ids".into(), Yaml::strs(["semantic-segmentation"])));
    entries.push((
        "size_categories".into(),
        Yaml::strs([size_category(manifest.rows)]),
    ));
    entries.push((
        "tags".into(),
        Yaml::strs(["faces", "synthetic", "face-parsing", "facial-landmarks"]),
    ));

    let parquet_splits: Vec<&SplitInfo> = facts
        .splits
        .iter()
        .filter(|s| !s.parquet.is_empty())
        .collect();
    let data_files = parquet_splits
        .iter()
        .map(|s| {
            Yaml::map([
                ("split", Yaml::str(&s.name)),
                ("path", Yaml::str(format!("data/{}-*", s.name))),
            ])
        })
        .collect();
    entries.push((
        "configs".into(),
        Yaml::List(vec![Yaml::map([
            ("config_name", Yaml::str("default")),
            ("data_files", Yaml::List(data_files)),
        ])]),
    ));

    let features = facts
        .columns
        .iter()
        .map(|c| named_feature(&c.name, &c.feature))
        .collect();
    let splits = parquet_splits
        .iter()
        .map(|s| {
            Yaml::map([
                ("name", Yaml::str(&s.name)),
                ("num_bytes", Yaml::Int(s.num_bytes)),
                (
                    "num_examples",
                    Yaml::Int(s.parquet.iter().map(|p| p.rows).sum()),
                ),
            ])
        })
        .collect();
    let download_size: u64 = facts.parquet_shards().map(|s| s.bytes).sum();
    let dataset_size: u64 = parquet_splits.iter().map(|s| s.num_bytes).sum();
    entries.push((
        "dataset_info".into(),
        Yaml::map([
            ("features", Yaml::List(features)),
            ("splits", Yaml::List(splits)),
            ("download_size", Yaml::Int(download_size)),
            ("dataset_size", Yaml::Int(dataset_size)),
        ]),
    ));
    Yaml::Map(entries)
}

/// The whole `README.md`.
pub fn card(facts: &Facts, meta: &Meta) -> String {
    format!(
        "---\n{}---\n\n{}",
        yaml::render(&front_matter(facts, meta)),
        body(facts, meta, Flavor::Hub)
    )
}

/// The card with the preview grid shown under its title (`![...](preview.png)`).
pub fn with_preview(card: &str, file: &str, samples: usize) -> String {
    let image = format!(
        "![{samples} samples: the image with its segmentation map blended over it and its landmarks as green dots]({file})\n\n"
    );
    // The body starts with `# title` and a blank line, after the front matter.
    match card
        .find("\n# ")
        .and_then(|t| card[t + 1..].find("\n\n").map(|e| t + 1 + e + 2))
    {
        Some(at) => format!("{}{image}{}", &card[..at], &card[at..]),
        None => format!("{card}\n{image}"),
    }
}

/// Shard file name as the reader sees it: relative to the folder (Hub) or flat (Kaggle).
fn shown_path(path: &str, flavor: Flavor) -> &str {
    match flavor {
        Flavor::Hub => path,
        Flavor::Kaggle => path.rsplit('/').next().unwrap_or(path),
    }
}

/// `webdataset/train-{000000..000003}.tar` for a split's tar shards.
fn brace_pattern(tars: &[&crate::format::ShardRecord], flavor: Flavor) -> String {
    let first = shown_path(&tars[0].path, flavor);
    if tars.len() == 1 {
        return first.to_string();
    }
    let last = shown_path(&tars[tars.len() - 1].path, flavor);
    // Names differ only in the zero-padded index before `.tar`.
    let stem_end = first.len() - ".tar".len();
    let digits_start = first[..stem_end].rfind('-').map_or(stem_end, |i| i + 1);
    format!(
        "{}{{{}..{}}}.tar",
        &first[..digits_start],
        &first[digits_start..stem_end],
        &last[digits_start..last.len() - ".tar".len()]
    )
}

/// The card text below the front matter.
pub fn body(facts: &Facts, meta: &Meta, flavor: Flavor) -> String {
    let manifest = facts.manifest;
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };

    line(&format!("# {}", meta.title));
    line("");
    if let Some(subtitle) = &meta.subtitle {
        line(&format!("*{subtitle}*"));
        line("");
    }
    let size = super::stored_size(manifest);
    let points = manifest.landmarks.shape.first().copied().unwrap_or(110);
    let parts: Vec<String> = manifest
        .parts
        .iter()
        .map(|(part, rows)| {
            if part == "none" {
                format!("{rows} without a part number")
            } else {
                format!("{rows} from part {part}")
            }
        })
        .collect();
    line(&format!(
        "{} synthetic face images ({size}x{size}) from the [Synthetic Faces High Quality (SFHQ)]({SFHQ_URL}) dataset by {SFHQ_AUTHOR} ({}), each with its face-parsing segmentation map (19 classes), {points} facial landmarks{}. The faces are synthetic: StyleGAN2 renderings of \"inspiration\" images (paintings, drawings, 3D models, text-to-image samples), curated for quality; the SFHQ README explains how they were made.",
        manifest.rows,
        parts.join(", "),
        if manifest.features.is_empty() {
            String::new()
        } else {
            format!(
                " and pretrained image embeddings ({})",
                manifest.features.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    ));
    line("");
    let formats = match (facts.has_parquet(), facts.has_tars(), flavor) {
        (true, true, Flavor::Hub) => {
            "Parquet shards (`data/`) and WebDataset tar shards (`webdataset/`)"
        }
        (true, _, _) => "Parquet shards",
        (false, _, _) => "WebDataset tar shards",
    };
    let stored = match &manifest.options.resize {
        None => "the source bytes of images and maps are stored unchanged".to_string(),
        Some(r) => format!(
            "images and maps were resized from {s}x{s} to {size}x{size} (images {} and encoded as {}, maps one label per block, landmarks scaled; every row keeps the sha256 of its source files)",
            r.image_reduction(),
            super::stored_encoding(r),
            s = r.source_size
        ),
    };
    line(&format!(
        "Packed by sfhq-pack {} into {formats}: every sample was validated first, {stored}, and every shard is listed with its sha256.",
        manifest.tool.version
    ));
    line("");

    line("## Splits");
    line("");
    line("| split | rows | Parquet shards | WebDataset shards |");
    line("|---|---:|---:|---:|");
    for split in &facts.splits {
        let tars = if flavor == Flavor::Kaggle && facts.has_parquet() {
            0
        } else {
            split.tars.len()
        };
        line(&format!(
            "| {} | {} | {} | {} |",
            split.name,
            split.rows,
            split.parquet.len(),
            tars
        ));
    }
    line("");
    if !manifest.options.splits.fractions.is_empty() {
        let fractions: Vec<String> = manifest
            .options
            .splits
            .fractions
            .iter()
            .map(|(name, f)| format!("{name} {f}"))
            .collect();
        line(&format!(
            "A sample's split is a pure function of its key (sha256 of seed {} and key, against the fractions {}; train takes the rest), so it never changes when parts are added.",
            manifest.options.splits.seed,
            fractions.join(", ")
        ));
        line("");
    }

    line("## Columns");
    line("");
    line("One row per sample.");
    line("");
    line("| column | type | content |");
    line("|---|---|---|");
    for column in &facts.columns {
        line(&format!(
            "| `{}` | {} | {} |",
            column.name,
            type_words(&column.feature),
            column_description(&column.name, manifest)
        ));
        if column.name == "pretrained_features" {
            for (model, entry) in &manifest.features {
                line(&format!(
                    "| `pretrained_features.{model}` | {}[{}] | embedding of the image by {model} |",
                    entry.dtype, entry.dim
                ));
            }
        }
    }
    line("");
    line(&format!(
        "Segmentation labels: {}.",
        SEGMENTATION_LABELS
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{i} {name}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    line("");
    line("Landmarks and segmentation maps were computed by the SFHQ authors on a 256x256 copy of each image and scaled x4.");
    line("");

    line("## Loading");
    line("");
    if facts.has_parquet() {
        line("With Hugging Face `datasets` (images and maps come back as PIL images):");
        line("");
        line("```python");
        line("from datasets import load_dataset");
        line("");
        match flavor {
            Flavor::Hub => {
                let target = meta
                    .id
                    .as_ref()
                    .map_or("path/to/this/folder".to_string(), |id| id.to_string());
                line(&format!(
                    "ds = load_dataset({target:?})  # or load_dataset(\"path/to/a/local/copy\")"
                ));
            }
            Flavor::Kaggle => {
                let files: Vec<String> = facts
                    .splits
                    .iter()
                    .filter(|s| !s.parquet.is_empty())
                    .map(|s| format!("{:?}: \"{}-*.parquet\"", s.name, s.name))
                    .collect();
                line(&format!(
                    "ds = load_dataset(\"parquet\", data_files={{{}}})",
                    files.join(", ")
                ));
            }
        }
        line("row = ds[\"train\"][0]");
        line("row[\"image\"]         # PIL.Image.Image, RGB");
        line(
            "row[\"segmentation\"]  # PIL.Image.Image, one channel (mode L, or P for palette PNGs); numpy.asarray(...) gives the labels",
        );
        line(&format!("row[\"landmarks\"]     # {points} [x, y] pairs"));
        if let Some(model) = manifest.features.keys().next() {
            line(&format!(
                "row[\"pretrained_features\"][{model:?}]  # {} values, None where the part has none",
                manifest.features[model].dim
            ));
        }
        line("```");
        line("");
        let glob = match flavor {
            Flavor::Hub => "data/*.parquet",
            Flavor::Kaggle => "*.parquet",
        };
        line("With DuckDB (or pyarrow, pandas, Polars: the shards are plain Parquet):");
        line("");
        line("```python");
        line("import duckdb");
        line("");
        line(&format!(
            "duckdb.sql(\"SELECT part, count(*) FROM '{glob}' GROUP BY part ORDER BY part\").show()"
        ));
        line("```");
        line("");
    }
    let show_tars = facts.has_tars() && (flavor == Flavor::Hub || !facts.has_parquet());
    if show_tars {
        let train = facts
            .splits
            .iter()
            .find(|s| !s.tars.is_empty())
            .expect("has tars");
        let image_ext = super::image_extension(manifest);
        line(&format!(
            "With `webdataset`: each sample is `KEY.{image_ext}`, `KEY.seg.png`, `KEY.landmarks.npy`, {}`KEY.json` (key, part, size, sha256 of each source file, and which modalities were `missing` and stood in for). `seg.png` is a label map, so decode it before the `\"pil\"` handler, which would turn it into RGB:",
            manifest
                .features
                .values()
                .map(|f| format!("`KEY.{}.npy`, ", f.wds_name))
                .collect::<String>()
        ));
        line("");
        line("```python");
        line("import io");
        line("");
        line("import numpy as np");
        line("import PIL.Image");
        line("import webdataset as wds");
        line("");
        line("ds = (");
        line(&format!(
            "    wds.WebDataset({:?}, shardshuffle=False)",
            brace_pattern(&train.tars, flavor)
        ));
        line("    .decode(wds.handle_extension(\"seg.png\", lambda b: np.asarray(PIL.Image.open(io.BytesIO(b)))), \"pil\")");
        line(&format!(
            "    .to_tuple(\"__key__\", \"{image_ext}\", \"seg.png\", \"landmarks.npy\", \"json\")"
        ));
        line(")");
        line("key, image, labels, landmarks, info = next(iter(ds))");
        line("```");
        line("");
        if flavor == Flavor::Hub {
            let indexes: Vec<String> = index_files(&manifest.shards)
                .into_iter()
                .map(|(path, _)| format!("`{path}`"))
                .collect();
            if !indexes.is_empty() {
                line(&format!(
                    "{} list the tar shards with their sample counts for `wids` (indexed, random access).",
                    indexes.join(", ")
                ));
                line("");
            }
        }
    }

    line("## Validation");
    line("");
    let excluded = excluded_by_code(&manifest.excluded);
    line(&format!(
        "sfhq-pack checked every sample before writing it (image and map decoding, sizes, label range, landmark shape and range, embedding shape, values and safety of the feature pickles). Rows written: {}. Samples excluded: {}. Samples kept with warnings: {}. Orphan annotation files: {}. Refused zip members: {}.",
        manifest.rows,
        manifest.excluded.len(),
        manifest.warned.len(),
        manifest.orphans.len(),
        manifest.unsafe_paths.len()
    ));
    line("");
    if !excluded.is_empty() {
        line("| excluded because of | samples |");
        line("|---|---:|");
        for (code, count) in &excluded {
            line(&format!("| `{code}` | {count} |"));
        }
        line("");
    }
    if !manifest.warnings.is_empty() {
        line("| warning | count |");
        line("|---|---:|");
        for (code, count) in &manifest.warnings {
            line(&format!("| `{code}` | {count} |"));
        }
        line("");
    }
    let blocks = &manifest.segmentation_block_share;
    if blocks.maps > 0 {
        line(&format!(
            "Segmentation maps constant on every aligned 4x4 block (a clean x4 upscale): {} of {}{}.",
            blocks.pure_maps,
            blocks.maps,
            blocks
                .min
                .map(|min| format!(" (lowest share of pure blocks in one map: {min:.4})"))
                .unwrap_or_default()
        ));
        line("");
    }
    line("Sources read:");
    line("");
    line("| source | kind | samples | files | bytes |");
    line("|---|---|---:|---:|---:|");
    for source in &manifest.sources {
        // Only the file name: a local path says nothing to readers and may say too much.
        let name = source
            .path
            .trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&source.path);
        line(&format!(
            "| `{name}` | {} | {} | {} | {} |",
            serde_json::to_value(source.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            source.samples,
            source.files,
            source.bytes
        ));
    }
    line("");
    if flavor == Flavor::Hub {
        line("`manifest.json` lists every excluded sample with each issue (code, file, message).");
        line("");
    }

    line("## Checksums");
    line("");
    match flavor {
        Flavor::Hub => {
            line("Every shard with its size and sha256, as in `SHA256SUMS` (check a download with `sha256sum -c SHA256SUMS`, or `sfhq-pack verify` for sizes, hashes, row counts and key ranges):");
            line("");
            line("| file | split | rows | bytes | sha256 |");
            line("|---|---|---:|---:|---|");
            for shard in &manifest.shards {
                line(&format!(
                    "| `{}` | {} | {} | {} | `{}` |",
                    shard.path, shard.split, shard.rows, shard.bytes, shard.sha256
                ));
            }
            line("");
            line(&format!(
                "Total: {} in {} shard(s).",
                format_bytes(manifest.shards.iter().map(|s| s.bytes).sum()),
                manifest.shards.len()
            ));
        }
        Flavor::Kaggle => {
            line("`SHA256SUMS` in this dataset lists every shard's sha256: check a download with `sha256sum -c SHA256SUMS`.");
        }
    }
    line("");

    line("## License and citation");
    line("");
    let license = match meta.license.url {
        Some(url) => format!("[{}]({url})", meta.license.kaggle),
        None => meta.license.kaggle.to_string(),
    };
    line(&format!(
        "This copy is published under {license}{}. The images and annotations are the work of the SFHQ authors; please cite them:",
        meta.creator
            .as_deref()
            .map(|c| format!(" by {c}"))
            .unwrap_or_default()
    ));
    line("");
    line("```bibtex");
    line(SFHQ_CITATION);
    line("```");
    line("");
    let mut provenance = format!(
        "Converted with sfhq-pack {}: shard size {}, {} rows per row group.",
        manifest.tool.version,
        format_bytes(manifest.options.shard_size),
        manifest.options.row_group_rows
    );
    if let Some(created) = &manifest.created {
        provenance.push_str(&format!(" Created {created}."));
    }
    if flavor == Flavor::Hub && meta.targets.croissant {
        provenance.push_str(" `croissant.json` describes the same files in Croissant 1.1.");
    }
    line(&provenance);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn size_categories_follow_the_hub_buckets() {
        assert_eq!(size_category(10), "n<1K");
        assert_eq!(size_category(999), "n<1K");
        assert_eq!(size_category(1_000), "1K<n<10K");
        assert_eq!(size_category(425_258), "100K<n<1M");
        assert_eq!(size_category(5_000_000_000_000), "n>1T");
    }

    #[test]
    fn features_use_the_sequence_spelling() {
        let landmarks = json!({"_type": "Sequence", "length": 110,
            "feature": {"_type": "Sequence", "length": 2, "feature": {"_type": "Value", "dtype": "float32"}}});
        let doc = Yaml::List(vec![named_feature("landmarks", &landmarks)]);
        assert_eq!(
            yaml::render(&Yaml::map([("features", doc)])),
            "features:\n- name: landmarks\n  sequence:\n    sequence: float32\n    length: 2\n  length: 110\n"
        );
        let features = json!({"CLIP_ViTL_14@336": {"_type": "Sequence", "length": 768,
            "feature": {"_type": "Value", "dtype": "float16"}}});
        let doc = Yaml::List(vec![named_feature("pretrained_features", &features)]);
        assert_eq!(
            yaml::render(&Yaml::map([("features", doc)])),
            "features:\n- name: pretrained_features\n  struct:\n  - name: CLIP_ViTL_14@336\n    sequence: float16\n    length: 768\n"
        );
        assert_eq!(type_words(&landmarks), "float32[110, 2]");
    }
}
