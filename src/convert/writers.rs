//! The format writers of one run: one set per split, opened when the split's first sample
//! arrives, and the journal of the shards they seal (see `output::journal`). A resumed run
//! hands each writer the shards its predecessor sealed and skips the samples they hold.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::ConvertConfig;
use crate::format::parquet::writer::ParquetSink;
use crate::format::shard::{SealedShard, ShardFormat, ShardRecord};
use crate::format::webdataset::writer::WebDatasetSink;
use crate::format::Sink;
use crate::output::journal::{Journal, Sealed};
use crate::sample::Sample;
use crate::schema::DatasetSchema;

struct Slot {
    sink: Box<dyn Sink>,
    /// Samples up to this key are in shards a resumed run kept.
    resume_after: Option<String>,
    /// Sealed shards already in the journal.
    journaled: usize,
}

pub(super) struct Writers<'a> {
    config: &'a ConvertConfig,
    schema: &'a DatasetSchema,
    slots: BTreeMap<String, Vec<Slot>>,
    /// Kept shards of an interrupted run, by writer, until the writer opens.
    resumed: BTreeMap<(ShardFormat, String), Vec<SealedShard>>,
    journal: Journal,
}

impl<'a> Writers<'a> {
    /// Writers for a run whose journal (already on disk) is `journal`, with the kept
    /// shards of an interrupted run in `resumed`.
    pub(super) fn new(
        config: &'a ConvertConfig,
        schema: &'a DatasetSchema,
        journal: Journal,
        resumed: BTreeMap<(ShardFormat, String), Vec<SealedShard>>,
    ) -> Writers<'a> {
        Writers {
            config,
            schema,
            slots: BTreeMap::new(),
            resumed,
            journal,
        }
    }

    /// Hands a valid sample to every writer of its split; records newly sealed shards.
    pub(super) fn write(&mut self, split: &str, sample: &Arc<Sample>) -> anyhow::Result<()> {
        if !self.slots.contains_key(split) {
            let slots = self.open(split)?;
            self.slots.insert(split.to_string(), slots);
        }
        let out = &self.config.out;
        let journaled_before = self.journal.sealed.len();
        let mut sealed_now = false;
        for slot in self.slots.get_mut(split).expect("opened above") {
            if slot
                .resume_after
                .as_deref()
                .is_some_and(|last| *sample.key <= *last)
            {
                continue;
            }
            slot.sink.write(sample)?;
            let sealed = slot.sink.sealed();
            if sealed.len() > slot.journaled {
                for shard in &sealed[slot.journaled..] {
                    self.journal.sealed.push(Sealed {
                        temp: relative(out, &shard.temp),
                        record: shard.record.clone(),
                    });
                }
                slot.journaled = sealed.len();
                sealed_now = true;
            }
        }
        if sealed_now {
            // The shard is synced by now; recording it makes it survive a crash.
            self.journal.write(out)?;
            for n in journaled_before + 1..=self.journal.sealed.len() {
                crate::fault::point(&format!("after-seal-{n}"));
            }
        }
        Ok(())
    }

    fn open(&mut self, split: &str) -> anyhow::Result<Vec<Slot>> {
        let config = self.config;
        let mut slots = Vec::new();
        for format in &config.formats {
            let resumed = self
                .resumed
                .remove(&(*format, split.to_string()))
                .unwrap_or_default();
            let resume_after = resumed.last().map(|s| s.record.last_key.clone());
            let journaled = resumed.len();
            let sink: Box<dyn Sink> = match format {
                ShardFormat::Parquet => Box::new(ParquetSink::new(
                    &config.out,
                    split,
                    self.schema,
                    config.parquet.clone(),
                    resumed,
                )?),
                ShardFormat::Webdataset => Box::new(WebDatasetSink::new(
                    &config.out,
                    split,
                    self.schema,
                    config.parquet.shard_size,
                    config.parquet.landmark_count,
                    config.mtime,
                    resumed,
                )?),
            };
            slots.push(Slot {
                sink,
                resume_after,
                journaled,
            });
        }
        Ok(slots)
    }

    /// Interrupted: every file of this run goes, the journal too.
    pub(super) fn abort(self) {
        for slot in self.slots.into_values().flatten() {
            slot.sink.abort();
        }
        let leftover = self.resumed.into_values().flatten();
        crate::format::shard::remove_all(
            leftover
                .map(|s| s.temp)
                .collect::<Vec<_>>()
                .iter()
                .map(|p| p.as_path()),
        );
        Journal::remove(&self.config.out);
    }

    /// Failed (a full disk, an I/O error): the shard being written goes, sealed shards
    /// and the journal stay for `--resume`.
    pub(super) fn abandon(self) {
        for slot in self.slots.into_values().flatten() {
            slot.sink.abandon();
        }
    }

    /// Completes every writer: the last shards sealed and journaled, then all renamed to
    /// their final names (a run killed while renaming finds them again by their sha256).
    pub(super) fn finish(mut self) -> anyhow::Result<Vec<ShardRecord>> {
        let out = &self.config.out;
        let journaled_before = self.journal.sealed.len();
        for slot in self.slots.values_mut().flatten() {
            slot.sink.seal_last()?;
            let sealed = slot.sink.sealed();
            for shard in &sealed[slot.journaled..] {
                self.journal.sealed.push(Sealed {
                    temp: relative(out, &shard.temp),
                    record: shard.record.clone(),
                });
            }
            slot.journaled = sealed.len();
        }
        if self.journal.sealed.len() > journaled_before {
            self.journal.write(out)?;
        }
        let mut shards = Vec::new();
        let mut failure = None;
        for slot in self.slots.into_values().flatten() {
            if failure.is_some() {
                slot.sink.abandon();
                continue;
            }
            match slot.sink.finish() {
                Ok(records) => shards.extend(records),
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            return Err(e.into());
        }
        // Kept shards of a writer that received no sample this time cannot be: the
        // fingerprint matched. Should it happen, they are not left behind unlisted.
        let leftover: Vec<_> = self
            .resumed
            .into_values()
            .flatten()
            .map(|s| s.temp)
            .collect();
        crate::format::shard::remove_all(leftover.iter().map(|p| p.as_path()));
        Ok(shards)
    }
}

fn relative(out: &Path, path: &Path) -> String {
    path.strip_prefix(out)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
