//! The files behind one sink, whatever its format: the shard being written under its hidden
//! temporary name, the shards sealed so far, and what becomes of them when the run ends
//! (renamed by `finish`, all removed by `abort`, only the open one removed by `abandon`).
//! A format supplies only what goes inside a shard (a [`ShardEncoder`]); [`ShardedSink`]
//! joins the two into the [`Sink`] every format is, so this is the one place that decides
//! which files exist.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::format::shard::{self, SealedShard, ShardFormat, ShardRecord, ShardWriter};
use crate::format::{Sink, SinkError};
use crate::sample::Sample;

/// A format's part of a sink: how samples are encoded into the open shard of a
/// [`ShardFiles`], and where shards are cut.
pub(crate) trait ShardEncoder: Send {
    /// The format's writer over the shard file (an Arrow writer, a tar builder).
    type Writer: Send;

    /// Encodes one sample (they arrive in key order), sealing the open shard first when
    /// the sample starts a new one, and opening a shard when none is open.
    fn add(
        &mut self,
        files: &mut ShardFiles<Self::Writer>,
        sample: &Arc<Sample>,
    ) -> anyhow::Result<()>;

    /// Writes whatever is still buffered and seals the open shard, if any.
    fn seal(&mut self, files: &mut ShardFiles<Self::Writer>) -> anyhow::Result<()>;
}

/// A format's encoder and its shard files: the [`Sink`] of every format.
pub(crate) struct ShardedSink<E: ShardEncoder> {
    encoder: E,
    files: ShardFiles<E::Writer>,
}

impl<E: ShardEncoder> ShardedSink<E> {
    pub fn from_parts(encoder: E, files: ShardFiles<E::Writer>) -> Self {
        ShardedSink { encoder, files }
    }
}

impl<E: ShardEncoder> Sink for ShardedSink<E> {
    fn write(&mut self, sample: &Arc<Sample>) -> Result<(), SinkError> {
        let added = self.encoder.add(&mut self.files, sample);
        self.files.classify(added)
    }

    fn seal_last(&mut self) -> Result<(), SinkError> {
        let sealed = self.encoder.seal(&mut self.files);
        self.files.classify(sealed)
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<ShardRecord>, SinkError> {
        let sealed = self.seal_last();
        self.files.finish(sealed)
    }

    fn abort(self: Box<Self>) {
        self.files.abort();
    }

    fn abandon(self: Box<Self>) {
        self.files.abandon();
    }

    fn sealed(&self) -> &[SealedShard] {
        self.files.sealed()
    }
}

/// The shard being written: the format's writer over the hashing file writer, and what the
/// manifest will say about it.
pub(crate) struct OpenShard<W> {
    pub writer: W,
    pub temp: PathBuf,
    pub rows: u64,
    pub first_key: String,
    pub last_key: String,
}

impl<W> OpenShard<W> {
    /// Counts `rows` more samples written, the last of them keyed `last_key`.
    pub fn add_rows(&mut self, rows: u64, last_key: &str) {
        self.rows += rows;
        self.last_key = last_key.to_string();
    }
}

/// A shard's final file name from the split, its index and the shard count.
pub(crate) type ShardName = fn(split: &str, index: usize, count: usize) -> String;

/// The shard files of one split in one format, under `out/dir_rel`.
pub(crate) struct ShardFiles<W> {
    out: PathBuf,
    dir_rel: &'static str,
    split: String,
    format: ShardFormat,
    name: ShardName,
    open: Option<OpenShard<W>>,
    sealed: Vec<SealedShard>,
}

impl<W> ShardFiles<W> {
    /// Creates the shard folder. `resumed`: shards an interrupted run sealed (`convert
    /// --resume`); the next shard continues their numbering.
    pub fn new(
        out: &Path,
        dir_rel: &'static str,
        split: &str,
        format: ShardFormat,
        name: ShardName,
        resumed: Vec<SealedShard>,
    ) -> anyhow::Result<Self> {
        let dir = out.join(dir_rel);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        Ok(ShardFiles {
            out: out.to_path_buf(),
            dir_rel,
            split: split.to_string(),
            format,
            name,
            open: None,
            sealed: resumed,
        })
    }

    /// The shard being written, if any.
    pub fn open_mut(&mut self) -> Option<&mut OpenShard<W>> {
        self.open.as_mut()
    }

    /// Rows in the shard being written (0 when none is open).
    pub fn open_rows(&self) -> u64 {
        self.open.as_ref().map_or(0, |o| o.rows)
    }

    /// The shard being written, opened first if none is: a new hidden file numbered after
    /// the sealed shards, wrapped by `start` in the format's writer.
    pub fn open_or_start(
        &mut self,
        first_key: &str,
        start: impl FnOnce(ShardWriter) -> anyhow::Result<W>,
    ) -> anyhow::Result<&mut OpenShard<W>> {
        if self.open.is_none() {
            let temp = shard::temp_path(
                &self.out.join(self.dir_rel),
                &self.split,
                self.sealed.len(),
                self.format.extension(),
            );
            let writer = start(shard::create(&temp)?)?;
            self.open = Some(OpenShard {
                writer,
                temp,
                rows: 0,
                first_key: first_key.to_string(),
                last_key: String::new(),
            });
        }
        Ok(self.open.as_mut().expect("opened above"))
    }

    /// Seals the shard being written, if any: `end` completes the format (the Parquet
    /// footer, the tar end blocks) and hands back the file writer, which is then synced
    /// and hashed. A shard that cannot be finished is removed: it is no longer tracked as
    /// open.
    pub fn seal(
        &mut self,
        end: impl FnOnce(W) -> anyhow::Result<ShardWriter>,
    ) -> anyhow::Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let writer = match end(open.writer) {
            Ok(writer) => writer,
            Err(e) => {
                shard::remove_all([open.temp.as_path()]);
                return Err(e.context(format!("{}: cannot finish shard", open.temp.display())));
            }
        };
        self.sealed.push(shard::seal(
            writer,
            open.temp,
            self.format,
            &self.split,
            open.rows,
            open.first_key,
            open.last_key,
        )?);
        Ok(())
    }

    /// Sorts an error raised while writing: it happened in the open shard's file, else in
    /// the shard folder.
    pub fn classify<T>(&self, result: anyhow::Result<T>) -> Result<T, SinkError> {
        result.map_err(|e| {
            let path = self
                .open
                .as_ref()
                .map_or_else(|| self.out.join(self.dir_rel), |o| o.temp.clone());
            SinkError::classify(&path, e)
        })
    }

    /// Gives every sealed shard its final name, once `sealed` (the sealing of the last
    /// shard) succeeded; when it failed, every file goes.
    pub fn finish(self, sealed: Result<(), SinkError>) -> Result<Vec<ShardRecord>, SinkError> {
        if let Err(e) = sealed {
            self.abort();
            return Err(e);
        }
        let (split, name) = (self.split, self.name);
        shard::rename_all(&self.out, self.dir_rel, self.sealed, |i, n| {
            name(&split, i, n)
        })
        .map_err(|e| SinkError::classify(&self.out.join(self.dir_rel), e))
    }

    /// Removes every file: the sealed shards and the open one.
    pub fn abort(&self) {
        let temps = self
            .sealed
            .iter()
            .map(|s| s.temp.as_path())
            .chain(self.open.as_ref().map(|o| o.temp.as_path()));
        shard::remove_all(temps);
    }

    /// Removes only the shard being written, keeping the sealed ones for `--resume`.
    pub fn abandon(&self) {
        shard::remove_all(self.open.as_ref().map(|o| o.temp.as_path()));
    }

    /// The shards sealed so far, under their temporary names, resumed ones first.
    pub fn sealed(&self) -> &[SealedShard] {
        &self.sealed
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Files of split `s` under `out/d`, the format writer being the file writer itself.
    fn files(out: &Path) -> ShardFiles<ShardWriter> {
        ShardFiles::new(
            out,
            "d",
            "s",
            ShardFormat::Webdataset,
            |split, i, n| format!("{split}-{i}-of-{n}"),
            Vec::new(),
        )
        .unwrap()
    }

    /// Writes one shard of `rows` rows, keyed `k{first}`..; sealed unless `seal` is false.
    fn shard(files: &mut ShardFiles<ShardWriter>, first: u64, rows: u64, seal: bool) {
        let open = files.open_or_start(&format!("k{first}"), Ok).unwrap();
        open.writer.write_all(b"rows").unwrap();
        open.add_rows(rows, &format!("k{}", first + rows - 1));
        if seal {
            files.seal(Ok).unwrap();
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Shard 0 sealed (rows k0, k1), shard 1 open (row k2).
    fn one_sealed_one_open(out: &Path) -> ShardFiles<ShardWriter> {
        let mut files = files(out);
        shard(&mut files, 0, 2, true);
        shard(&mut files, 2, 1, false);
        assert_eq!(
            names(&out.join("d")),
            [".s-00000.tar.partial", ".s-00001.tar.partial"]
        );
        files
    }

    #[test]
    fn finish_renames_the_sealed_shards_in_order() {
        let out = tempfile::tempdir().unwrap();
        let mut files = one_sealed_one_open(out.path());
        let sealed = files
            .seal(Ok)
            .map_err(|e| SinkError::classify(out.path(), e));
        let records = files.finish(sealed).unwrap();
        assert_eq!(names(&out.path().join("d")), ["s-0-of-2", "s-1-of-2"]);
        let summary: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.path.as_str(),
                    r.rows,
                    r.first_key.as_str(),
                    r.last_key.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [("d/s-0-of-2", 2, "k0", "k1"), ("d/s-1-of-2", 1, "k2", "k2")]
        );
    }

    #[test]
    fn abandon_removes_only_the_open_shard_and_abort_removes_all() {
        let out = tempfile::tempdir().unwrap();
        let files = one_sealed_one_open(out.path());
        files.abandon();
        assert_eq!(names(&out.path().join("d")), [".s-00000.tar.partial"]);
        assert_eq!(files.sealed().len(), 1);
        files.abort();
        assert!(names(&out.path().join("d")).is_empty());
    }

    #[test]
    fn a_shard_that_cannot_be_finished_is_removed_and_the_error_names_it() {
        let out = tempfile::tempdir().unwrap();
        let mut files = files(out.path());
        shard(&mut files, 0, 1, false);
        let error = files.seal(|_| anyhow::bail!("footer refused")).unwrap_err();
        assert!(names(&out.path().join("d")).is_empty());
        assert!(files.sealed().is_empty() && files.open_mut().is_none());
        assert!(format!("{error:#}").contains(".s-00000.tar.partial: cannot finish shard"));
    }
}
