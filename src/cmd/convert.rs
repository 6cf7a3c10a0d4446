//! `convert`: inventory -> schema -> pipeline -> Parquet sink -> SHA256SUMS and manifest.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::config::ConvertConfig;
use crate::dedup;
use crate::exit::ExitCode;
use crate::manifest::{
    self, FeatureEntry, LandmarksEntry, Manifest, SourceEntry, SourceNames, Tool,
};
use crate::pipeline::{self, Completion, Context, Sample};
use crate::schema::{self, DatasetSchema};
use crate::sink::parquet::{ParquetSink, DATA_DIR};
use crate::sink::shard::ShardFormat;
use crate::sink::webdataset::{self, WebDatasetSink, INDEX_FILE, WDS_DIR};
use crate::sink::{ShardRecord, Sink};
use crate::source::inventory::Inventory;
use crate::ui::{format_bytes, format_counts, sanitize, Printer, INTERRUPTED};
use crate::validate::report::{excluded_by_code, Report, SampleIssues};

pub fn run(config: &ConvertConfig, printer: &Printer) -> anyhow::Result<ExitCode> {
    prepare_output(&config.out, config.overwrite)?;
    let inventory = super::inventory_without_duplicates(&config.sources)?;
    let checks = &config.check.checks;
    printer.status(&format!(
        "sfhq-pack: {} samples in {} source(s); reading landmark and feature headers",
        inventory.samples.len(),
        inventory.sources.len()
    ));
    let schema = schema::discover(&inventory, checks, config.check.max_file_bytes);
    // --dedup-threshold: near-duplicate groups, found before any sample is written.
    let near_duplicates = match &config.dedup {
        Some(d) => {
            let bar = printer.progress(inventory.samples.len() as u64, "dedup");
            let found = dedup::find_in_inventory(&inventory, d, &INTERRUPTED, &bar)?;
            bar.finish();
            if found.stats.interrupted {
                return Ok(ExitCode::Interrupted);
            }
            printer.status(&format!(
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
    if config.formats.contains(&ShardFormat::Webdataset) {
        refuse_unusable_keys(&inventory, &schema)?;
    }
    fs::create_dir_all(&config.out)
        .with_context(|| format!("{}: cannot create output folder", config.out.display()))?;
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
    let bar = printer.progress(inventory.samples.len() as u64, "convert");
    let outcome = pipeline::run(&context, &bar, &INTERRUPTED, |batch| {
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
    bar.finish();
    let completion = match outcome {
        Ok(c) => c,
        Err(e) => {
            sinks.into_values().flatten().for_each(|s| s.abort());
            return Err(e);
        }
    };
    if completion == Completion::Interrupted {
        sinks.into_values().flatten().for_each(|s| s.abort());
        printer.status("sfhq-pack: interrupted; partial shards removed, no manifest written");
        return Ok(ExitCode::Interrupted);
    }
    let mut shards = Vec::new();
    for sink in sinks.into_values().flatten() {
        shards.extend(sink.finish()?);
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
    for (rel, text) in webdataset::index_files(&shards) {
        manifest::write_atomic(&config.out.join(rel), text.as_bytes())?;
    }
    // The terminal shows paths as typed; the manifest names files by their source's name.
    let excluded_as_typed = report.excluded.clone();
    let mut manifest = build_manifest(config, &inventory, &schema, report, parts, shards);
    manifest.dedup = near_duplicates
        .as_ref()
        .map(dedup::DedupRecord::from_report);
    manifest.write(&config.out)?;

    if config.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    }
    print_summary(
        printer,
        &manifest,
        &excluded_as_typed,
        &config.out,
        bar.started.elapsed().as_secs_f64(),
    );
    Ok(ExitCode::from_problems(!manifest.errors.is_empty()))
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

/// WebDataset readers cut keys at the first dot: a key with a dot would be read back as
/// another sample, so such keys stop the run before anything is written.
fn refuse_unusable_keys(inventory: &Inventory, schema: &DatasetSchema) -> anyhow::Result<()> {
    let longest = webdataset::longest_extension(schema);
    let bad: Vec<String> = inventory
        .samples
        .iter()
        .filter_map(|s| {
            webdataset::key_problem(&s.key, longest)
                .map(|why| format!("  {}: {why}", sanitize(&s.key)))
        })
        .collect();
    if !bad.is_empty() {
        anyhow::bail!(
            "{} key(s) cannot name WebDataset members:\n{}\nrename those files, or convert with --format parquet; nothing was written",
            bad.len(),
            bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// Refuses to mix output into a folder that holds something else, unless `--overwrite`
/// asks to replace an earlier run: then only sfhq-pack's own files are removed.
fn prepare_output(out: &Path, overwrite: bool) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        anyhow::bail!("{}: --out exists and is not a folder", out.display());
    }
    let is_empty = fs::read_dir(out)
        .with_context(|| format!("{}: cannot read output folder", out.display()))?
        .next()
        .is_none();
    if is_empty {
        return Ok(());
    }
    if !overwrite {
        anyhow::bail!(
            "{}: output folder is not empty; pass --overwrite to replace an earlier sfhq-pack output, or choose a new folder",
            out.display()
        );
    }
    for name in [manifest::MANIFEST_FILE, manifest::SUMS_FILE] {
        remove_if_present(&out.join(name))?;
    }
    for (dir, extension) in [(DATA_DIR, ".parquet"), (WDS_DIR, ".tar")] {
        let dir = out.join(dir);
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(extension) || name.ends_with(".partial") || name == INDEX_FILE {
                remove_if_present(&path)?;
            }
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("{}: cannot remove earlier output", path.display()))
        }
        _ => Ok(()),
    }
}

fn build_manifest(
    config: &ConvertConfig,
    inventory: &Inventory,
    schema: &DatasetSchema,
    report: Report,
    parts: BTreeMap<String, u64>,
    shards: Vec<ShardRecord>,
) -> Manifest {
    // Every format holds every row: count the rows of one of them.
    let mut splits = BTreeMap::new();
    for shard in shards
        .iter()
        .filter(|s| Some(&s.format) == config.formats.first())
    {
        *splits.entry(shard.split.clone()).or_insert(0) += shard.rows;
    }
    let landmark_count = config.check.checks.landmark_count;
    let names = SourceNames::new(&inventory.sources);
    let name_files = |samples: Vec<SampleIssues>| -> Vec<SampleIssues> {
        samples
            .into_iter()
            .map(|mut sample| {
                for issue in &mut sample.issues {
                    issue.file = names.file(&issue.file);
                }
                sample
            })
            .collect()
    };
    Manifest {
        format_version: manifest::FORMAT_VERSION,
        tool: Tool::this(),
        created: manifest::created_from_env(),
        sources: inventory
            .summaries
            .iter()
            .map(|s| SourceEntry {
                path: names.source(&s.path),
                kind: s.kind,
                files: s.files,
                bytes: s.bytes,
                samples: s.samples,
            })
            .collect(),
        options: config.manifest_options(),
        rows: splits.values().sum(),
        splits,
        parts,
        shards,
        landmarks: LandmarksEntry {
            column: "landmarks".to_string(),
            dtype: schema.landmarks.name().to_string(),
            shape: vec![landmark_count, 2],
        },
        features: schema
            .features
            .iter()
            .map(|f| {
                let entry = FeatureEntry {
                    dim: f.dim,
                    dtype: f.dtype.name().to_string(),
                    shape: vec![1, f.dim],
                    column: format!("pretrained_features.{}", f.model),
                    wds_name: f.wds_name.clone(),
                };
                (f.model.clone(), entry)
            })
            .collect(),
        excluded: name_files(report.excluded),
        warned: name_files(report.warned),
        orphans: report
            .orphans
            .into_iter()
            .map(|mut orphan| {
                orphan.files = orphan.files.iter().map(|f| names.file(f)).collect();
                orphan
            })
            .collect(),
        unsafe_paths: report
            .unsafe_paths
            .into_iter()
            .map(|mut refused| {
                refused.source = names.source(&refused.source);
                refused
            })
            .collect(),
        errors: report.errors,
        warnings: report.warnings,
        segmentation_block_share: report.segmentation_block_share,
        dedup: None,
    }
}

fn print_summary(
    printer: &Printer,
    manifest: &Manifest,
    excluded: &[SampleIssues],
    out: &Path,
    secs: f64,
) {
    if printer.quiet {
        return;
    }
    let bytes: u64 = manifest.shards.iter().map(|s| s.bytes).sum();
    let read: u64 = manifest.sources.iter().map(|s| s.bytes).sum();
    super::print_issues(printer, "excluded samples:", excluded, "manifest.json");
    eprintln!(
        "wrote {} samples in {} shard(s), {}, to {} in {secs:.1} s ({:.0} samples/s, {}/s read)",
        manifest.rows,
        manifest.shards.len(),
        format_bytes(bytes),
        sanitize(&out.display().to_string()),
        manifest.rows as f64 / secs.max(1e-9),
        format_bytes((read as f64 / secs.max(1e-9)) as u64)
    );
    if !manifest.excluded.is_empty() {
        let by_code = excluded_by_code(&manifest.excluded);
        eprintln!(
            "excluded {} sample(s), by code:{}",
            manifest.excluded.len(),
            format_counts(&by_code)
        );
    }
    if !manifest.unsafe_paths.is_empty() {
        eprintln!(
            "refused {} unsafe zip member name(s) (source.unsafe_path), listed in manifest.json",
            manifest.unsafe_paths.len()
        );
    }
    if !manifest.warnings.is_empty() {
        eprintln!("warnings by code:{}", format_counts(&manifest.warnings));
    }
}
