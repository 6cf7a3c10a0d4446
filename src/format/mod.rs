//! Sinks: where valid samples go. A sink receives samples in key order, cuts them into
//! shards, writes each shard under a temporary hidden name while hashing it, and on
//! `finish` renames complete shards to their final names. A shard that is not finished
//! never carries a final name, and the manifest lists only finished shards.

pub mod names;
pub mod parquet;
pub mod shard;
pub mod webdataset;

use std::sync::Arc;

use crate::sample::Sample;

pub use shard::ShardRecord;

/// A destination for samples.
pub trait Sink: Send {
    /// Adds one valid sample; samples arrive in key order.
    fn write(&mut self, sample: &Arc<Sample>) -> anyhow::Result<()>;

    /// Completes the last shard and gives every shard its final name.
    fn finish(self: Box<Self>) -> anyhow::Result<Vec<ShardRecord>>;

    /// Removes every file this sink wrote (interrupt or fatal error).
    fn abort(self: Box<Self>);
}
