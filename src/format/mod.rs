//! Sinks: where valid samples go. A sink receives samples in key order, cuts them into
//! shards, writes each shard under a temporary hidden name while hashing it, and on
//! `finish` renames complete shards to their final names. A shard that is not finished
//! never carries a final name, and the manifest lists only finished shards.

pub mod names;
pub mod parquet;
pub mod shard;
pub(crate) mod shard_files;
pub mod webdataset;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sample::Sample;

pub use shard::ShardRecord;

/// A destination for samples.
pub trait Sink: Send {
    /// Adds one valid sample; samples arrive in key order.
    fn write(&mut self, sample: &Arc<Sample>) -> Result<(), SinkError>;

    /// Seals the shard being written, if any: after this every shard is sealed and
    /// `finish` only renames.
    fn seal_last(&mut self) -> Result<(), SinkError>;

    /// Completes the last shard and gives every shard its final name.
    fn finish(self: Box<Self>) -> Result<Vec<ShardRecord>, SinkError>;

    /// Removes every file this sink wrote (an interrupted run leaves nothing).
    fn abort(self: Box<Self>);

    /// Removes only the shard being written, keeping the sealed ones for `convert
    /// --resume` (a failed run: a full disk, an I/O error).
    fn abandon(self: Box<Self>);

    /// The shards sealed so far (under their temporary names), resumed ones first.
    fn sealed(&self) -> &[shard::SealedShard];
}

/// Why a sink failed. The disk filling up is told apart: the run stops with exit 2 and
/// the user frees space, where any other write error is a fault to report.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{}: the disk is full; free space on it, then run the same command with --resume", path.display())]
    DiskFull { path: PathBuf, source: io::Error },
    #[error("{}: cannot write", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: cannot encode the shard: {message}", path.display())]
    Encode { path: PathBuf, message: String },
}

impl SinkError {
    /// Sorts an error raised while writing below `path`: an I/O error anywhere in its
    /// chain (Parquet and tar wrap them) decides the kind.
    pub(crate) fn classify(path: &Path, error: anyhow::Error) -> SinkError {
        let io = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<io::Error>())
            .map(|e| (e.kind(), e.raw_os_error(), e.to_string()));
        match io {
            Some((kind, os, text)) => {
                let source = match os {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(kind, text),
                };
                // ENOSPC (28) and EDQUOT (122) on Linux.
                if kind == io::ErrorKind::StorageFull || matches!(os, Some(28) | Some(122)) {
                    SinkError::DiskFull {
                        path: path.to_path_buf(),
                        source,
                    }
                } else {
                    SinkError::Io {
                        path: path.to_path_buf(),
                        source,
                    }
                }
            }
            None => SinkError::Encode {
                path: path.to_path_buf(),
                message: format!("{error:#}"),
            },
        }
    }
}
