//! Near-duplicates: every pair of samples whose feature vectors have a cosine similarity at or
//! above a threshold, exactly, and the groups they form.
//!
//! Contract: the pairs are exactly those whose similarity, computed in float32 from the stored
//! vectors normalised to unit length, is `>=` the threshold ([`kernel`] says how that is
//! computed and why the fast filter provably misses none). Samples with the same image bytes
//! (sha256) under different keys are pairs too, with similarity 1.0 and `identical`,
//! whatever their vectors say. Samples without a usable vector are listed as unchecked, with
//! the reason, never skipped silently. Groups are the connected components of the pairs.
//!
//! Sources are raw SFHQ parts (only the feature pickles and the image bytes are read) or
//! folders written by `convert` (only the key, image hash and feature columns of the Parquet
//! shards are read). `convert --dedup-threshold` uses [`group_map`] to keep each group in one
//! split; `validate --dedup-threshold` uses [`add_to_report`].

pub mod groups;
pub mod kernel;
pub mod load;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::pipeline::Progress;
use crate::sample::Modality;
use crate::source::inventory::Inventory;
use crate::validate::report::{Report, SampleIssues};
use crate::validate::{Code, Issue};
use load::{Collector, Converted, Loaded};

/// The model whose vectors are compared unless told otherwise: the one SFHQ's authors used
/// for their own deduplication.
pub const DEFAULT_MODEL: &str = "CLIP_ViTL_14@336";
/// The similarity SFHQ's authors state no two images reach ("~0.92").
pub const DEFAULT_THRESHOLD: f64 = 0.92;

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Pairs at or above this cosine similarity are reported (compared in float32).
    pub threshold: f64,
    /// Feature model whose vectors are compared.
    pub model: String,
    /// Workers for the matrix products (one per core is best: the work is arithmetic).
    pub threads: usize,
    /// Raw sources: refuse files larger than this.
    pub max_file_bytes: u64,
}

impl DedupConfig {
    /// Checks the threshold: a cosine similarity, above -1 and at most 1.
    pub fn new(
        threshold: f64,
        model: &str,
        threads: usize,
        max_file_bytes: u64,
    ) -> anyhow::Result<Self> {
        if !(threshold > -1.0 && threshold <= 1.0) {
            anyhow::bail!("threshold {threshold} is not a cosine similarity in (-1, 1]");
        }
        if model.is_empty() {
            anyhow::bail!("the model name is empty");
        }
        Ok(DedupConfig {
            threshold,
            model: model.to_string(),
            threads: threads.max(1),
            max_file_bytes,
        })
    }
}

/// One pair, keys in order (`a < b`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub a: String,
    pub b: String,
    /// float32 cosine similarity; 1.0 for identical images.
    pub similarity: f32,
    /// The two images are the same bytes.
    pub identical: bool,
}

/// A sample whose vector could not be compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unchecked {
    pub key: String,
    pub reason: String,
}

/// How the run went, for the summary (not part of the JSON).
#[derive(Debug, Clone, Default)]
pub struct DedupStats {
    pub samples: u64,
    /// `float16` or `float32`: how the vectors were held.
    pub dtype: &'static str,
    pub vector_bytes: u64,
    pub bytes_read: u64,
    /// Bytes of the Parquet shards opened, when converted folders were read.
    pub shard_bytes: u64,
    pub candidates: u64,
    pub compared_pairs: u64,
    pub load_seconds: f64,
    pub search_seconds: f64,
    pub interrupted: bool,
}

/// What `dedup --json` prints (`schema/dedup.schema.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupReport {
    pub threshold: f64,
    pub model: String,
    /// Samples whose vector was compared.
    pub checked: u64,
    pub unchecked: Vec<Unchecked>,
    /// Sorted by `a`, then `b`.
    pub pairs: Vec<Pair>,
    /// Connected components of the pairs: keys sorted, groups sorted by their first key.
    pub groups: Vec<Vec<String>>,
    #[serde(skip)]
    pub stats: DedupStats,
}

impl DedupReport {
    /// The report of a run stopped before its end: no result, only the flag.
    fn interrupted(config: &DedupConfig) -> DedupReport {
        DedupReport {
            threshold: config.threshold,
            model: config.model.clone(),
            checked: 0,
            unchecked: Vec::new(),
            pairs: Vec::new(),
            groups: Vec::new(),
            stats: DedupStats {
                interrupted: true,
                ..DedupStats::default()
            },
        }
    }
}

/// The sources of a run, opened: raw parts in one inventory, converted folders by manifest.
pub struct Sources {
    pub inventory: Option<Inventory>,
    pub converted: Vec<Converted>,
}

impl Sources {
    /// Sorts the paths into raw parts and converted folders (a folder holding
    /// `manifest.json`) and opens them. A key found twice in the raw parts stops the run.
    pub fn open(paths: &[PathBuf]) -> anyhow::Result<Sources> {
        let (converted, raw): (Vec<&PathBuf>, Vec<&PathBuf>) =
            paths.iter().partition(|p| load::is_converted(p));
        let inventory = if raw.is_empty() {
            None
        } else {
            let raw: Vec<PathBuf> = raw.into_iter().cloned().collect();
            let inventory = Inventory::build(&raw)?;
            if let Some(d) = inventory.duplicates.first() {
                anyhow::bail!(
                    "source.duplicate: {} key(s) found in more than one place, first {}; pass each part once (`sfhq-pack scan --json` lists them)",
                    inventory.duplicates.len(),
                    d.key
                );
            }
            Some(inventory)
        };
        Ok(Sources {
            inventory,
            converted: converted
                .into_iter()
                .map(|p| Converted::open(p))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// Samples to read (for a progress bar).
    pub fn samples(&self) -> u64 {
        self.inventory
            .as_ref()
            .map_or(0, |i| i.samples.len() as u64)
            + self.converted.iter().map(Converted::rows).sum::<u64>()
    }
}

/// Reads the sources' vectors and hashes; `None` when `stop` was set (Ctrl-C, SIGTERM)
/// before every sample was read.
pub fn load(
    inventory: Option<&Inventory>,
    converted: &[Converted],
    config: &DedupConfig,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> anyhow::Result<Option<Loaded>> {
    let mut collector = Collector::new(&config.model);
    if let Some(inventory) = inventory {
        load::read_raw(
            inventory,
            &config.model,
            config.max_file_bytes,
            &mut collector,
            stop,
            progress,
        );
    }
    for c in converted {
        load::read_converted(c, &config.model, &mut collector, stop, progress)?;
    }
    if stop.load(Ordering::SeqCst) {
        return Ok(None);
    }
    collector.finish().map(Some)
}

/// Finds every pair and group among loaded samples. `progress` hears of tiles done (out of
/// [`kernel::tile_count`]).
pub fn find(
    loaded: &Loaded,
    config: &DedupConfig,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<DedupReport> {
    let started = Instant::now();
    let threshold = config.threshold as f32;
    let (hits, search) =
        kernel::search(&loaded.vectors, threshold, config.threads, stop, progress)?;
    // By sample index, a < b: feature pairs, then identical images over them.
    let mut pairs: BTreeMap<(u32, u32), (f32, bool)> = BTreeMap::new();
    for hit in hits {
        let (a, b) = (
            loaded.row_sample[hit.a as usize],
            loaded.row_sample[hit.b as usize],
        );
        pairs.insert((a.min(b), a.max(b)), (hit.similarity, false));
    }
    let mut by_hash: HashMap<[u8; 32], Vec<u32>> = HashMap::new();
    for (index, hash) in loaded.image_sha256.iter().enumerate() {
        if let Some(hash) = hash {
            by_hash.entry(*hash).or_default().push(index as u32);
        }
    }
    for same in by_hash.values().filter(|s| s.len() > 1) {
        for (i, &a) in same.iter().enumerate() {
            for &b in &same[i + 1..] {
                pairs.insert((a.min(b), a.max(b)), (1.0, true));
            }
        }
    }
    let key = |i: u32| loaded.keys[i as usize].to_string();
    let groups = groups::components(loaded.keys.len(), pairs.keys().copied())
        .into_iter()
        .map(|g| g.into_iter().map(key).collect())
        .collect();
    Ok(DedupReport {
        threshold: config.threshold,
        model: config.model.clone(),
        checked: loaded.vectors.len() as u64,
        unchecked: loaded
            .unchecked
            .iter()
            .map(|(i, reason)| Unchecked {
                key: key(*i),
                reason: reason.clone(),
            })
            .collect(),
        pairs: pairs
            .into_iter()
            .map(|((a, b), (similarity, identical))| Pair {
                a: key(a),
                b: key(b),
                similarity,
                identical,
            })
            .collect(),
        groups,
        stats: DedupStats {
            samples: loaded.keys.len() as u64,
            dtype: loaded.vectors.dtype_name(),
            vector_bytes: loaded.vectors.bytes() as u64,
            bytes_read: loaded.bytes_read,
            shard_bytes: loaded.shard_bytes,
            candidates: search.candidates,
            compared_pairs: search.pairs,
            load_seconds: 0.0,
            search_seconds: started.elapsed().as_secs_f64(),
            interrupted: search.interrupted,
        },
    })
}

/// The pairs from the most similar down (ties by keys): the order people read them in.
pub fn most_similar_first(pairs: &[Pair]) -> Vec<&Pair> {
    let mut sorted: Vec<&Pair> = pairs.iter().collect();
    sorted.sort_by(|x, y| {
        y.similarity
            .total_cmp(&x.similarity)
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
    sorted
}

/// Loads and searches the raw parts of an inventory (`validate` and `convert` have one).
pub fn find_in_inventory(
    inventory: &Inventory,
    config: &DedupConfig,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> anyhow::Result<DedupReport> {
    let started = Instant::now();
    let Some(loaded) = load(Some(inventory), &[], config, stop, progress)? else {
        return Ok(DedupReport::interrupted(config));
    };
    let load_seconds = started.elapsed().as_secs_f64();
    let mut report = find(&loaded, config, stop, &|_| {})?;
    report.stats.load_seconds = load_seconds;
    Ok(report)
}

/// Key -> the smallest key of its group, for every key in a group: the key whose split the
/// whole group takes.
pub fn group_map(report: &DedupReport) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for group in &report.groups {
        let first = group.iter().min().expect("groups are not empty").clone();
        for key in group {
            map.insert(key.clone(), first.clone());
        }
    }
    map
}

/// What `manifest.json` records about the grouping `convert --dedup-threshold` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupRecord {
    pub threshold: f64,
    pub model: String,
    /// Every group, as in `dedup --json`: each stays in one split.
    pub groups: Vec<Vec<String>>,
    /// Every pair with its similarity, as in `dedup --json` (`report` shows them side by
    /// side). Absent when no pair was found, and in manifests of versions before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<Pair>,
}

impl DedupRecord {
    pub fn from_report(report: &DedupReport) -> DedupRecord {
        DedupRecord {
            threshold: report.threshold,
            model: report.model.clone(),
            groups: report.groups.clone(),
            pairs: report.pairs.clone(),
        }
    }
}
/// One `sample.near_duplicate` warning per sample and partner: each key of a pair names the
/// other and the similarity. Warnings keep the sample; they are counted like the others.
pub fn add_to_report(report: &mut Report, dedup: &DedupReport, inventory: &Inventory) {
    let files: HashMap<&str, String> = inventory
        .samples
        .iter()
        .map(|s| {
            let file = inventory
                .display_path(s, Modality::Features)
                .or_else(|| inventory.display_path(s, Modality::Image))
                .unwrap_or_default();
            (&*s.key, file)
        })
        .collect();
    for pair in &dedup.pairs {
        for (key, partner) in [(&pair.a, &pair.b), (&pair.b, &pair.a)] {
            let message = if pair.identical {
                format!("near duplicate of {partner}: the same image bytes (similarity 1.0)")
            } else {
                format!(
                    "near duplicate of {partner}: {} similarity {} >= {}",
                    dedup.model, pair.similarity, dedup.threshold
                )
            };
            let file = files.get(key.as_str()).cloned().unwrap_or_default();
            let issue = Issue::new(Code::SampleNearDuplicate, file, message);
            *report.warnings.entry(issue.code).or_default() += 1;
            if let Some(s) = report.excluded.iter_mut().find(|s| &s.key == key) {
                s.issues.push(issue);
                continue;
            }
            match report.warned.binary_search_by(|s| s.key.as_str().cmp(key)) {
                Ok(i) => report.warned[i].issues.push(issue),
                Err(i) => report.warned.insert(
                    i,
                    SampleIssues {
                        key: key.clone(),
                        issues: vec![issue],
                    },
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;

    impl Progress for Quiet {
        fn advance(&self, _samples: u64, _bytes: u64) {}
    }

    fn fixture_inventory() -> Inventory {
        let part = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/dedup/SFHQ_pt7");
        Inventory::build(&[part]).unwrap()
    }

    #[test]
    fn a_stop_while_reading_gives_no_result_and_an_interrupted_report() {
        let inventory = fixture_inventory();
        let config = DedupConfig::new(DEFAULT_THRESHOLD, DEFAULT_MODEL, 1, 1 << 26).unwrap();
        let go = AtomicBool::new(false);
        let loaded = load(Some(&inventory), &[], &config, &go, &Quiet).unwrap();
        assert_eq!(loaded.map(|l| l.keys.len()), Some(inventory.samples.len()));

        let stop = AtomicBool::new(true);
        assert!(load(Some(&inventory), &[], &config, &stop, &Quiet)
            .unwrap()
            .is_none());
        let report = find_in_inventory(&inventory, &config, &stop, &Quiet).unwrap();
        assert!(report.stats.interrupted);
        assert!(report.pairs.is_empty() && report.groups.is_empty());
    }
}
