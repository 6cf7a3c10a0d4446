//! WebDataset shards (`webdataset/{split}-{i:06}.tar`): member names and the one `KEY.json`
//! type ([`names`]), the writer ([`writer`]), the reader that `verify` and `extract` use
//! ([`reader`]) and the `wids` index ([`index`]). A change to the on-disk shape is made here.

pub(crate) mod index;
pub(crate) mod names;
pub(crate) mod reader;
pub(crate) mod writer;

/// The folder of the tar shards, relative to the output folder.
pub(crate) const WDS_DIR: &str = "webdataset";
