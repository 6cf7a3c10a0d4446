//! Parquet shards as the Hugging Face Hub lays them out (`data/{split}-{i:05}-of-{n:05}.parquet`):
//! the column mapping both ways ([`schema`]), the writer ([`writer`]) and the readers that
//! `verify` and `extract` use ([`reader`]). A change to the on-disk shape is made here once.

pub(crate) mod reader;
pub(crate) mod schema;
pub(crate) mod writer;

/// The folder of the Parquet shards, relative to the output folder.
pub(crate) const DATA_DIR: &str = "data";
