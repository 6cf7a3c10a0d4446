//! The journal of a `convert` run: `.sfhq-pack.journal.json` in the output folder, written
//! before the first shard and again each time a shard is sealed (synced to disk before it
//! is recorded). It holds a fingerprint of the sources and options, and every sealed shard
//! with its sha256. After a crash (kill -9, power loss, a full disk), `convert --resume`
//! keeps every sealed shard whose bytes still match, writes the rest, and ends with the
//! output an uninterrupted run writes, because shards are cut by one deterministic rule from
//! the same samples in the same order. The journal is removed once the manifest is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checksum::hash_file;
use crate::format::shard::{SealedShard, ShardFormat, ShardRecord};
use crate::ui::format_bytes;

pub(crate) const JOURNAL_FILE: &str = ".sfhq-pack.journal.json";

/// What a resumed run must share with the interrupted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    pub tool: String,
    /// Per source (by its name): files, bytes, and a hash of every file's name, size and
    /// modification time.
    pub sources: Vec<SourcePrint>,
    /// The options as the manifest records them.
    pub options: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourcePrint {
    pub name: String,
    pub files: u64,
    pub bytes: u64,
    pub hash: String,
}

/// One sealed shard: which writer sealed it, its file (relative to the output folder, under
/// its temporary name) and its record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub temp: String,
    pub record: ShardRecord,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub fingerprint: Fingerprint,
    pub sealed: Vec<Sealed>,
}

impl Journal {
    pub(crate) fn new(fingerprint: Fingerprint) -> Journal {
        Journal {
            fingerprint,
            sealed: Vec::new(),
        }
    }

    /// The journal in `out`, if there is one.
    pub(crate) fn read(out: &Path) -> anyhow::Result<Option<Journal>> {
        let path = out.join(JOURNAL_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a journal this sfhq-pack can read ({e}); run with --overwrite to start again",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("{}: cannot read: {e}", path.display())),
        }
    }

    /// Writes the journal atomically (synced), so that what it lists is on disk.
    pub(crate) fn write(&self, out: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a journal serialises");
        super::write_atomic(&out.join(JOURNAL_FILE), text.as_bytes())
    }

    pub(crate) fn remove(out: &Path) {
        let _ = fs::remove_file(out.join(JOURNAL_FILE));
    }

    /// Why a run with `now` may not continue this journal: each source or option that
    /// differs, named.
    pub(crate) fn differences(&self, now: &Fingerprint) -> Vec<String> {
        let then = &self.fingerprint;
        let mut found = Vec::new();
        if then.tool != now.tool {
            found.push(format!(
                "the interrupted run was sfhq-pack {}, this is {}",
                then.tool, now.tool
            ));
        }
        let by_name = |list: &[SourcePrint]| -> BTreeMap<String, SourcePrint> {
            list.iter().map(|s| (s.name.clone(), s.clone())).collect()
        };
        let (a, b) = (by_name(&then.sources), by_name(&now.sources));
        for (name, old) in &a {
            match b.get(name) {
                None => found.push(format!("source {name} was read then and is not given now")),
                Some(new) if new == old => {}
                Some(new) if new.files != old.files || new.bytes != old.bytes => {
                    found.push(format!(
                        "source {name} held {} files, {} then and holds {} files, {} now",
                        old.files,
                        format_bytes(old.bytes),
                        new.files,
                        format_bytes(new.bytes)
                    ))
                }
                Some(_) => found.push(format!(
                    "source {name}: a file's name, size or modification time changed"
                )),
            }
        }
        for name in b.keys().filter(|n| !a.contains_key(*n)) {
            found.push(format!("source {name} is new"));
        }
        option_differences("", Some(&then.options), Some(&now.options), &mut found);
        found
    }

    /// Keeps, per writer (format and split), the longest run of sealed shards whose files
    /// are intact (present under their temporary name, or already renamed to their final
    /// name by a run killed while finishing, with the recorded size and sha256), and forgets
    /// the rest. Returns the kept shards, ready to hand back to their writers.
    pub(crate) fn keep_intact(
        &mut self,
        out: &Path,
    ) -> BTreeMap<(ShardFormat, String), Vec<SealedShard>> {
        let mut kept: BTreeMap<(ShardFormat, String), Vec<SealedShard>> = BTreeMap::new();
        let mut broken: std::collections::BTreeSet<(ShardFormat, String)> = Default::default();
        let mut entries = Vec::new();
        for entry in std::mem::take(&mut self.sealed) {
            let writer = (entry.record.format, entry.record.split.clone());
            if broken.contains(&writer) {
                continue;
            }
            let temp = out.join(&entry.temp);
            if !is_intact(&temp, &entry.record) && !restore_renamed(out, &temp, &entry.record) {
                broken.insert(writer);
                continue;
            }
            kept.entry(writer).or_default().push(SealedShard {
                temp: temp.clone(),
                record: entry.record.clone(),
            });
            entries.push(entry);
        }
        self.sealed = entries;
        kept
    }
}

fn is_intact(path: &Path, record: &ShardRecord) -> bool {
    fs::metadata(path).is_ok_and(|m| m.len() == record.bytes)
        && hash_file(path).is_ok_and(|(sha256, _)| sha256 == record.sha256)
}

/// A run killed while finishing may have renamed sealed shards to their final names
/// (which depend on the shard count). Such a file, found by its size and sha256 in the
/// shard's folder, is moved back to its temporary name.
fn restore_renamed(out: &Path, temp: &Path, record: &ShardRecord) -> bool {
    let Some(dir) = temp.parent() else {
        return false;
    };
    let prefix = format!("{}-", record.split);
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) {
            continue;
        }
        let path: PathBuf = entry.path();
        if is_intact(&path, record) && fs::rename(&path, temp).is_ok() {
            return true;
        }
    }
    let _ = out;
    false
}

/// Names each option that differs between two runs. Where both runs recorded an object
/// (`resize`, `splits`, `dedup`), the difference is named down to the field that changed
/// (`resize.resolution`), not shown as two whole objects.
fn option_differences(
    key: &str,
    then: Option<&serde_json::Value>,
    now: Option<&serde_json::Value>,
    found: &mut Vec<String>,
) {
    if then == now {
        return;
    }
    if let (Some(serde_json::Value::Object(x)), Some(serde_json::Value::Object(y))) = (then, now) {
        for field in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
            let path = if key.is_empty() {
                field.clone()
            } else {
                format!("{key}.{field}")
            };
            option_differences(&path, x.get(field), y.get(field), found);
        }
        return;
    }
    let shown = |v: Option<&serde_json::Value>| v.map_or("unset".to_string(), |v| v.to_string());
    let key = if key.is_empty() { "options" } else { key };
    found.push(format!(
        "option {key} was {} and is {} now",
        shown(then),
        shown(now)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(hash: &str, files: u64) -> Fingerprint {
        Fingerprint {
            tool: "0.1.0".to_string(),
            sources: vec![SourcePrint {
                name: "SFHQ_pt1".to_string(),
                files,
                bytes: 100,
                hash: hash.to_string(),
            }],
            options: serde_json::json!({"shard_size": 500, "formats": ["parquet"]}),
        }
    }

    #[test]
    fn differences_name_the_source_and_the_option_that_changed() {
        let journal = Journal::new(print("a", 4));
        assert!(journal.differences(&print("a", 4)).is_empty());
        assert_eq!(
            journal.differences(&print("b", 4)),
            ["source SFHQ_pt1: a file's name, size or modification time changed"]
        );
        assert!(journal.differences(&print("a", 5))[0].contains("held 4 files"));
        let mut other = print("a", 4);
        other.options["shard_size"] = serde_json::json!(600);
        assert_eq!(
            journal.differences(&other),
            ["option shard_size was 500 and is 600 now"]
        );
    }

    #[test]
    fn a_changed_field_of_an_option_object_is_named_by_its_path() {
        let with = |resize: serde_json::Value| {
            let mut p = print("a", 4);
            p.options["resize"] = resize;
            p
        };
        let journal = Journal::new(with(
            serde_json::json!({"resolution": 256, "filter": "box"}),
        ));
        assert_eq!(
            journal.differences(&with(
                serde_json::json!({"resolution": 512, "filter": "box"})
            )),
            ["option resize.resolution was 256 and is 512 now"]
        );
        // Present once and absent (null) now: the whole value, as it was.
        assert_eq!(
            journal.differences(&with(serde_json::Value::Null)),
            [r#"option resize was {"filter":"box","resolution":256} and is null now"#]
        );
    }

    #[test]
    fn only_the_intact_prefix_of_each_writer_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        fs::create_dir(out.join("data")).unwrap();
        let mut journal = Journal::new(print("a", 1));
        for (i, content) in [b"first".as_slice(), b"second", b"third"]
            .iter()
            .enumerate()
        {
            let temp = format!("data/.train-{i:05}.parquet.partial");
            fs::write(out.join(&temp), content).unwrap();
            journal.sealed.push(Sealed {
                temp,
                record: ShardRecord {
                    path: String::new(),
                    format: ShardFormat::Parquet,
                    split: "train".to_string(),
                    rows: 1,
                    bytes: content.len() as u64,
                    sha256: crate::checksum::sha256_hex(content),
                    first_key: format!("k{i}"),
                    last_key: format!("k{i}"),
                },
            });
        }
        // The second shard was damaged: it and everything after it are redone.
        fs::write(out.join("data/.train-00001.parquet.partial"), b"SECOND").unwrap();
        // The first was renamed to its final name by a run killed while finishing.
        fs::rename(
            out.join("data/.train-00000.parquet.partial"),
            out.join("data/train-00000-of-00003.parquet"),
        )
        .unwrap();
        let kept = journal.keep_intact(out);
        let train = &kept[&(ShardFormat::Parquet, "train".to_string())];
        assert_eq!(train.len(), 1);
        assert!(out.join("data/.train-00000.parquet.partial").exists());
        assert_eq!(journal.sealed.len(), 1);
    }
}
