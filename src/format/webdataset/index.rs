//! `webdataset/index.json` (train) and `index-{split}.json` (other splits): the `wids`
//! shard index, which `wids` readers trust for sample counts.

use serde_json::json;

use super::WDS_DIR;
use crate::format::shard::ShardFormat;
use crate::format::ShardRecord;

/// The index of the train split; other splits get `index-{split}.json`.
pub(crate) const INDEX_FILE: &str = "index.json";

/// The index files of a dataset's tar shards, as (path relative to the output, content):
/// `webdataset/index.json` for train, `webdataset/index-{split}.json` for other splits.
pub(crate) fn index_files(shards: &[ShardRecord]) -> Vec<(String, String)> {
    // Only shards in webdataset/: the flat Kaggle folder has no index.
    let in_folder = format!("{WDS_DIR}/");
    let mut splits: Vec<&str> = shards
        .iter()
        .filter(|s| s.format == ShardFormat::Webdataset && s.path.starts_with(&in_folder))
        .map(|s| s.split.as_str())
        .collect();
    splits.dedup();
    splits
        .into_iter()
        .map(|split| {
            let of_split: Vec<ShardRecord> = shards
                .iter()
                .filter(|s| s.split == split)
                .cloned()
                .collect();
            let name = if split == crate::split::TRAIN {
                INDEX_FILE.to_string()
            } else {
                format!("index-{split}.json")
            };
            (format!("{WDS_DIR}/{name}"), index_json(&of_split))
        })
        .collect()
}

/// `webdataset/index.json` in the `wids` shard-index form: urls relative to the index,
/// exact sample counts (wids maps a global index to a shard by their running sum), sizes,
/// and sha256 beside the md5 field wids knows.
fn index_json(shards: &[ShardRecord]) -> String {
    let shardlist: Vec<serde_json::Value> = shards
        .iter()
        .filter(|s| s.format == ShardFormat::Webdataset)
        .map(|s| {
            json!({
                "url": s.path.strip_prefix(&format!("{WDS_DIR}/")).unwrap_or(&s.path),
                "nsamples": s.rows,
                "filesize": s.bytes,
                "sha256": s.sha256,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({
        "__kind__": "wids-shard-index-v1",
        "wids_version": 1,
        "name": "sfhq",
        "shardlist": shardlist,
    }))
    .expect("JSON values serialise");
    text.push('\n');
    text
}
