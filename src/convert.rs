//! The `convert` engine: inventory -> schema -> pipeline -> format writers -> wids
//! indexes, `SHA256SUMS` and `manifest.json`, in that order, so that a folder with a
//! manifest is always complete.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::config::ConvertConfig;
use crate::dedup;
use crate::format::names::refuse_unusable_names;
use crate::format::parquet::writer::ParquetSink;
use crate::format::shard::ShardFormat;
use crate::format::webdataset::index::index_files;
use crate::format::webdataset::writer::WebDatasetSink;
use crate::format::Sink;
use crate::manifest::Manifest;
use crate::output::{check_target, write_atomic, OutputFolder};
use crate::pipeline::{self, Completion, Context, Progress};
use crate::sample::Sample;
use crate::schema::{self, DatasetSchema};
use crate::source::duplicates::inventory_without_duplicates;
use crate::source::inventory::Inventory;
use crate::validate::report::{Report, SampleIssues};

/// What a conversion did.
pub struct Conversion {
    pub completion: Completion,
    /// The manifest written; `None` when interrupted (nothing was kept).
    pub manifest: Option<Manifest>,
    /// Excluded samples with their files as typed on the command line (the manifest names
    /// files by their source's name).
    pub excluded_as_typed: Vec<SampleIssues>,
    /// Bytes read from the sources.
    pub bytes_read: u64,
}

/// Converts the sources into `config.out`. `on_status` receives one-line notes for the
/// terminal ("reading headers ...").
pub fn convert(
    config: &ConvertConfig,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
    on_status: &dyn Fn(&str),
) -> anyhow::Result<Conversion> {
    // --out is checked first (reads only), the folder claimed only after every other check.
    check_target(&config.out, config.overwrite)?;
    let inventory = inventory_without_duplicates(&config.sources)?;
    let checks = &config.check.checks;
    on_status(&format!(
        "sfhq-pack: {} samples in {} source(s); reading landmark and feature headers",
        inventory.samples.len(),
        inventory.sources.len()
    ));
    let schema = schema::discover(&inventory, checks, config.check.max_file_bytes);
    // --dedup-threshold: near-duplicate groups, found before any sample is written.
    let near_duplicates = match &config.dedup {
        Some(d) => {
            progress.start(inventory.samples.len() as u64);
            let found = dedup::find_in_inventory(&inventory, d, interrupted, progress)?;
            if found.stats.interrupted {
                return Ok(Conversion {
                    completion: Completion::Interrupted,
                    manifest: None,
                    excluded_as_typed: Vec::new(),
                    bytes_read: 0,
                });
            }
            on_status(&format!(
                "sfhq-pack: {} near-duplicate group(s) at {} ({} unchecked); each stays in one split",
                found.groups.len(),
                d.threshold,
                found.unchecked.len()
            ));
            Some(found)
        }
        None => None,
    };
    let groups = near_duplicates
        .as_ref()
        .map(dedup::group_map)
        .unwrap_or_default();
    for part in &inventory.incomplete_parts {
        on_status(&format!("sfhq-pack: warning: {}", part.message()));
    }
    refuse_unusable_names(
        inventory.samples.iter().map(|s| &*s.key),
        &schema,
        &config.formats,
    )?;
    if let Some(empty) = empty_splits(config, &inventory, &groups) {
        if !config.allow_empty_split {
            anyhow::bail!("{empty}; pass --allow-empty-split to write the other splits anyway, or ask for a larger fraction; nothing was written");
        }
        on_status(&format!(
            "sfhq-pack: warning: {empty}; writing the other splits (--allow-empty-split)"
        ));
    }
    let folder = OutputFolder::claim(&config.out, config.overwrite, "convert")?;
    if let Some(earlier) = &folder.took_over {
        on_status(&format!(
            "sfhq-pack: took over the lock of a run that no longer runs ({earlier})"
        ));
    }
    // One set of sinks per split, opened when the split's first sample arrives.
    let mut sinks: BTreeMap<String, Vec<Box<dyn Sink>>> = BTreeMap::new();

    let context = Context {
        inventory: &inventory,
        checks,
        schema: &schema,
        max_file_bytes: config.check.max_file_bytes,
        keep_payload: true,
    };
    let mut report = Report::from_inventory(&inventory);
    let mut parts: BTreeMap<String, u64> = BTreeMap::new();
    progress.start(inventory.samples.len() as u64);
    let outcome = pipeline::run(&context, progress, interrupted, |batch| {
        for processed in batch {
            report.add(&processed);
            if let Some(payload) = processed.payload {
                let part = processed.part.map_or("none".to_string(), |p| p.to_string());
                *parts.entry(part).or_default() += 1;
                let sample = Arc::new(Sample {
                    key: processed.key,
                    part: processed.part,
                    payload,
                });
                let split = config.splits.split_of_grouped(&sample.key, &groups);
                if !sinks.contains_key(split) {
                    sinks.insert(split.to_string(), open_sinks(config, &schema, split)?);
                }
                for sink in sinks.get_mut(split).expect("opened above") {
                    sink.write(&sample)?;
                }
            }
        }
        Ok(())
    });
    let completion = match outcome {
        Ok(c) => c,
        Err(e) => {
            sinks.into_values().flatten().for_each(|s| s.abort());
            return Err(e);
        }
    };
    if completion == Completion::Interrupted {
        sinks.into_values().flatten().for_each(|s| s.abort());
        return Ok(Conversion {
            completion,
            manifest: None,
            excluded_as_typed: Vec::new(),
            bytes_read: 0,
        });
    }
    let mut shards = Vec::new();
    let mut failure = None;
    for sink in sinks.into_values().flatten() {
        if failure.is_some() {
            sink.abort();
            continue;
        }
        match sink.finish() {
            Ok(sealed) => shards.extend(sealed),
            Err(e) => failure = Some(e),
        }
    }
    // Listed by format (in the order asked), then split (train first), then name.
    let split_names = config.splits.names();
    shards.sort_by_key(|s| {
        (
            config.formats.iter().position(|f| *f == s.format),
            split_names.iter().position(|n| *n == s.split),
            s.path.clone(),
        )
    });
    // The terminal shows paths as typed; the manifest names files by their source's name.
    let excluded_as_typed = report.excluded.clone();
    let bytes_read = report.bytes_read;
    let written = match failure {
        Some(e) => Err(anyhow::Error::from(e)),
        None => {
            let mut manifest =
                Manifest::assemble(config, &inventory, &schema, report, parts, shards.clone());
            manifest.dedup = near_duplicates
                .as_ref()
                .map(dedup::DedupRecord::from_report);
            write_indexes_and_manifest(&config.out, &manifest).map(|()| manifest)
        }
    };
    let manifest = match written {
        Ok(manifest) => manifest,
        Err(e) => {
            // No manifest vouches for these shards: take them back rather than leave
            // files no later run could prove are ours.
            let mut ours: Vec<_> = shards.iter().map(|s| s.path.clone().into()).collect();
            ours.extend(index_files(&shards).into_iter().map(|(p, _)| p.into()));
            let _ = crate::output::ownership::remove_files(&config.out, &ours);
            return Err(e);
        }
    };
    folder.finish();
    Ok(Conversion {
        completion: Completion::Finished,
        excluded_as_typed,
        bytes_read,
        manifest: Some(manifest),
    })
}

/// The wids indexes, then `SHA256SUMS` and `manifest.json`: the manifest last, so that a
/// folder with a manifest is complete.
fn write_indexes_and_manifest(out: &std::path::Path, manifest: &Manifest) -> anyhow::Result<()> {
    for (rel, text) in index_files(&manifest.shards) {
        write_atomic(&out.join(rel), text.as_bytes())?;
    }
    manifest.write(out)
}

fn open_sinks(
    config: &ConvertConfig,
    schema: &DatasetSchema,
    split: &str,
) -> anyhow::Result<Vec<Box<dyn Sink>>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for format in &config.formats {
        sinks.push(match format {
            ShardFormat::Parquet => Box::new(ParquetSink::new(
                &config.out,
                split,
                schema,
                config.parquet.clone(),
            )?),
            ShardFormat::Webdataset => Box::new(WebDatasetSink::new(
                &config.out,
                split,
                schema,
                config.parquet.shard_size,
                config.parquet.landmark_count,
                config.mtime,
            )?),
        });
    }
    Ok(sinks)
}

/// A message naming every requested split that draws no sample, with the counts of all.
fn empty_splits(
    config: &ConvertConfig,
    inventory: &Inventory,
    groups: &std::collections::HashMap<String, String>,
) -> Option<String> {
    let mut counts: BTreeMap<&str, u64> =
        config.splits.names().into_iter().map(|n| (n, 0)).collect();
    for sample in &inventory.samples {
        *counts
            .entry(config.splits.split_of_grouped(&sample.key, groups))
            .or_default() += 1;
    }
    let empty: Vec<&str> = counts
        .iter()
        .filter(|(name, n)| **n == 0 && **name != crate::split::TRAIN)
        .map(|(name, _)| *name)
        .collect();
    if empty.is_empty() {
        return None;
    }
    let all: Vec<String> = counts.iter().map(|(n, c)| format!("{n} {c}")).collect();
    Some(format!(
        "--split draws no sample into {} from the {} sample(s) found ({})",
        empty.join(", "),
        inventory.samples.len(),
        all.join(", ")
    ))
}
