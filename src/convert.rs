//! The `convert` engine: inventory -> schema -> pipeline -> format writers -> wids
//! indexes, `SHA256SUMS` and `manifest.json`, in that order, so that a folder with a
//! manifest is always complete.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod space;
mod writers;

use crate::config::ConvertConfig;
use crate::dedup;
use crate::format::names::refuse_unusable_names;
use crate::format::webdataset::index::index_files;
use crate::manifest::{Manifest, SourceNames};
use crate::output::journal::{Fingerprint, Journal, SourcePrint};
use crate::output::ownership::{remove_files, Survey};
use crate::output::{check_target, write_atomic, OutputFolder};
use crate::pipeline::{self, Completion, Context, Progress};
use crate::sample::Sample;
use crate::schema;
use crate::source::duplicates::inventory_without_duplicates;
use crate::source::inventory::Inventory;
use crate::validate::report::{Report, SampleIssues};
use writers::Writers;

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
    /// `--resume` found the output finished: nothing was done.
    pub already_complete: bool,
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
    let found = check_target(&config.out, config.existing())?;
    if config.resume && found.journal.is_none() {
        if let Some(previous) = found.previous {
            // Finished already: --resume changes nothing.
            on_status("sfhq-pack: --resume: the output is complete (manifest.json, no journal); nothing to do");
            return Ok(Conversion {
                completion: Completion::Finished,
                manifest: Some(previous),
                excluded_as_typed: Vec::new(),
                bytes_read: 0,
                already_complete: true,
            });
        }
    }
    let inventory = inventory_without_duplicates(&config.sources)?;
    let checks = &config.check.checks;
    on_status(&format!(
        "sfhq-pack: {} samples in {} source(s); reading landmark and feature headers",
        inventory.samples.len(),
        inventory.sources.len()
    ));
    let mut schema = schema::discover(&inventory, checks, config.check.max_file_bytes);
    // Resized pictures: the Parquet rows carry the source files' sha256 as well.
    schema.source_hashes = config.resize.is_some();
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
                    already_complete: false,
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
    let fingerprint = fingerprint_of(config, &inventory);
    if let Some(journal) = &found.journal {
        if config.resume {
            refuse_changed(journal, &fingerprint)?;
        }
    }
    if config.space_check {
        let needed: u64 =
            inventory.samples.iter().map(|s| s.bytes()).sum::<u64>() * config.formats.len() as u64;
        space::check(&config.out, needed.saturating_sub(journaled_bytes(&found)))?;
    }

    let (folder, found) = OutputFolder::claim(&config.out, config.existing(), "convert")?;
    if let Some(earlier) = &folder.took_over {
        on_status(&format!(
            "sfhq-pack: took over the lock of a run that no longer runs ({earlier})"
        ));
    }
    // The journal goes to disk before the first shard, so a run killed at any moment
    // after this point can be resumed (or refused, if its sources change).
    let (journal, resumed) = match found.journal.clone() {
        Some(mut journal) if config.resume => {
            refuse_changed(&journal, &fingerprint)?;
            let kept = journal.keep_intact(&config.out);
            let kept_count: usize = kept.values().map(Vec::len).sum();
            remove_unkept(&config.out, &found, &kept)?;
            on_status(&format!(
                "sfhq-pack: --resume: keeping {kept_count} sealed shard(s) of the interrupted run, writing the rest"
            ));
            (journal, kept)
        }
        _ => (Journal::new(fingerprint), BTreeMap::new()),
    };
    journal.write(&config.out)?;
    let mut writers = Writers::new(config, &schema, journal, resumed);

    let context = Context {
        inventory: &inventory,
        checks,
        schema: &schema,
        max_file_bytes: config.check.max_file_bytes,
        keep_payload: true,
        resize: config.resize.as_ref(),
    };
    let mut report = Report::from_inventory(&inventory, checks.image_size);
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
                writers.write(split, &sample)?;
            }
        }
        Ok(())
    });
    let completion = match outcome {
        Ok(c) => c,
        Err(e) => {
            // Sealed shards and the journal stay: `--resume` continues from them.
            writers.abandon();
            return Err(stopped(config, e));
        }
    };
    if completion == Completion::Interrupted {
        writers.abort();
        return Ok(Conversion {
            completion,
            manifest: None,
            excluded_as_typed: Vec::new(),
            bytes_read: 0,
            already_complete: false,
        });
    }
    let (mut shards, failure) = match writers.finish() {
        Ok(shards) => (shards, None),
        Err(e) => (Vec::new(), Some(e)),
    };
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
        Some(e) => Err(stopped(config, e)),
        None => {
            let mut manifest =
                Manifest::assemble(config, &inventory, &schema, report, parts, shards.clone());
            manifest.dedup = near_duplicates
                .as_ref()
                .map(dedup::DedupRecord::from_report);
            crate::fault::point("after-rename");
            write_indexes_and_manifest(&config.out, &manifest).map(|()| manifest)
        }
    };
    // A failure here leaves the shards and the journal: `--resume` finishes the run.
    let manifest = written.map_err(|e| {
        if e.chain().any(|c| c.to_string().contains("--resume")) {
            e
        } else {
            stopped(config, e)
        }
    })?;
    crate::fault::point("before-journal-removal");
    Journal::remove(&config.out);
    folder.finish();
    Ok(Conversion {
        completion: Completion::Finished,
        excluded_as_typed,
        bytes_read,
        already_complete: false,
        manifest: Some(manifest),
    })
}

/// The wids indexes, then `SHA256SUMS` and `manifest.json`: the manifest last, so that a
/// folder with a manifest is complete.
fn write_indexes_and_manifest(out: &std::path::Path, manifest: &Manifest) -> anyhow::Result<()> {
    for (rel, text) in index_files(&manifest.shards) {
        write_atomic(&out.join(rel), text.as_bytes())?;
    }
    crate::fault::point("before-manifest");
    manifest.write(out)
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

/// What a failed run tells the user to do next.
fn resume_hint(config: &ConvertConfig) -> String {
    format!(
        "the run stopped; the shards sealed so far are kept: fix the cause and run the same command with --resume to continue ({})",
        config.out.display()
    )
}

/// A failed run's error, with what to do next (a full disk is named as such).
fn stopped(config: &ConvertConfig, error: anyhow::Error) -> anyhow::Error {
    if crate::output::is_disk_full(&error) {
        return error.context(format!(
            "the disk is full; the shards sealed so far are kept: free space on it and run the same command with --resume to continue ({})",
            config.out.display()
        ));
    }
    error.context(resume_hint(config))
}

/// The sources and options of this run, as the journal records them.
fn fingerprint_of(config: &ConvertConfig, inventory: &Inventory) -> Fingerprint {
    let names = SourceNames::new(&inventory.sources);
    Fingerprint {
        tool: env!("CARGO_PKG_VERSION").to_string(),
        sources: inventory
            .summaries
            .iter()
            .map(|s| SourcePrint {
                name: names.source(&s.path),
                files: s.files,
                bytes: s.bytes,
                hash: s.fingerprint.clone(),
            })
            .collect(),
        options: {
            // What changes the bytes written: the manifest's options, and besides them the
            // tar time stamp (SOURCE_DATE_EPOCH) and the near-duplicate grouping.
            let mut options = serde_json::to_value(config.manifest_options()).unwrap_or_default();
            if let Some(map) = options.as_object_mut() {
                map.insert("tar_mtime".to_string(), config.mtime.into());
                map.insert(
                    "dedup".to_string(),
                    config.dedup.as_ref().map_or(
                        serde_json::Value::Null,
                        |d| serde_json::json!({"threshold": d.threshold, "model": d.model}),
                    ),
                );
            }
            options
        },
    }
}

/// `--resume` continues only the run whose sources and options these are.
fn refuse_changed(journal: &Journal, now: &Fingerprint) -> anyhow::Result<()> {
    let changed = journal.differences(now);
    if !changed.is_empty() {
        anyhow::bail!(
            "--resume: the interrupted run read other sources or used other options:\n  {}\nrun the command it was started with, or start again with --overwrite; nothing was changed",
            changed.join("\n  ")
        );
    }
    Ok(())
}

/// Bytes of the shards a resumed run keeps (they need no new space).
fn journaled_bytes(found: &Survey) -> u64 {
    found
        .journal
        .iter()
        .flat_map(|j| j.sealed.iter())
        .map(|s| s.record.bytes)
        .sum()
}

/// Removes what an interrupted run left besides the shards kept: its open shard, sealed
/// shards that no longer match, and what it wrote while finishing (wids indexes,
/// `SHA256SUMS`, the manifest): all rewritten by this run.
fn remove_unkept(
    out: &std::path::Path,
    found: &Survey,
    kept: &BTreeMap<
        (crate::format::shard::ShardFormat, String),
        Vec<crate::format::shard::SealedShard>,
    >,
) -> anyhow::Result<()> {
    let keep: std::collections::BTreeSet<std::path::PathBuf> =
        kept.values().flatten().map(|s| s.temp.clone()).collect();
    let journal = std::path::Path::new(crate::output::journal::JOURNAL_FILE);
    let unkept: Vec<std::path::PathBuf> = found
        .temporaries
        .iter()
        .chain(found.ours.iter())
        .filter(|rel| rel.as_path() != journal && !keep.contains(&out.join(rel)))
        .filter(|rel| out.join(rel).exists())
        .cloned()
        .collect();
    remove_files(out, &unkept)
}
