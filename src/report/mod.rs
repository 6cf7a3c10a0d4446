//! `report`: a page a person looks at, `REPORT_DIR/index.html`, that opens offline (no
//! script, style, font or picture from the network; the pictures are PNG files beside it).
//!
//! For raw sources the samples are validated once (the `validate` pass, which also counts
//! the class pixels of every map and bins every landmark); for a folder written by
//! `convert` the manifest (where convert recorded those counts) and the key column of the
//! Parquet shards are read. Then only a bounded set of samples is decoded: every excluded
//! or warned sample up to `per_code` per code (a card each), the gallery, the
//! near-duplicate pairs shown (`--dedup-threshold`, or recorded by `convert`), and for a
//! converted folder whose manifest was written before convert recorded every statistic, a
//! seeded sample of valid rows (at most [`STATISTICS_SAMPLE`]) to estimate them. A 425,258-sample dataset costs its validation pass plus a
//! few hundred decodes, or, converted, a few hundred rows.
//!
//! `gather` reads, `draw` makes pixels, `html` writes the page.

mod draw;
mod gather;
mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::CheckConfig;
use crate::dedup::{self, DedupConfig, DedupRecord, DedupReport, Pair};
use crate::manifest::Manifest;
use crate::pipeline::Progress;
use crate::validate::report::SampleIssues;
use crate::validate::statistics::CLASSES;
use crate::validate::{Code, Issue};

use draw::{Density, LabelMap, Rgb};
use gather::{Files, Overview};

/// Valid rows of a converted folder decoded to estimate the statistics its manifest does
/// not record (written by an older version; the gallery is taken from their start):
/// enough for stable shares, few enough for seconds.
pub const STATISTICS_SAMPLE: usize = 256;
/// Longer side of every thumbnail, in pixels.
pub const THUMBNAIL: u32 = 256;
/// The folder beside `index.html` holding the pictures.
pub const PICTURES: &str = "img";
pub const PAGE: &str = "index.html";
/// Written into the page so that a later run knows the folder is a report it may replace.
const GENERATOR: &str = "sfhq-pack report";

/// What `report` needs.
pub struct ReportConfig {
    /// Raw SFHQ parts (folders or zips), or one folder written by `convert`.
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub seed: u64,
    /// Cards per validation code; the rest are counted.
    pub per_code: usize,
    /// Valid samples in the gallery.
    pub gallery: usize,
    /// The rules' settings for raw sources.
    pub check: CheckConfig,
    /// `--dedup-threshold`: near-duplicate pairs, found by the dedup engine (for a converted
    /// folder only when its manifest records none at this threshold and model).
    pub dedup: Option<DedupConfig>,
    /// Near-duplicate pairs drawn side by side, most similar first; the rest are counted.
    pub pairs: usize,
}

/// One card, as `--json` lists it.
#[derive(Debug, Serialize)]
pub struct CardSummary {
    pub key: String,
    /// `excluded` or `warned`.
    pub section: &'static str,
    pub codes: Vec<Code>,
    /// Picture files of the card, relative to the report folder (none when the input does
    /// not hold the sample's files).
    pub pictures: Vec<String>,
}

/// One gallery sample, as `--json` lists it.
#[derive(Debug, Serialize)]
pub struct GalleryEntry {
    pub key: String,
    /// Picture files relative to the report folder.
    pub pictures: Vec<String>,
}

/// `report --json`: what the page holds (schema/report-page.schema.json).
#[derive(Debug, Serialize)]
pub struct ReportSummary {
    /// The page, as given with --out.
    pub page: String,
    /// `sources` (validated now) or `converted` (read from the manifest and shards).
    pub input: &'static str,
    pub samples: u64,
    pub valid: u64,
    pub excluded: u64,
    pub warned: u64,
    pub errors: BTreeMap<Code, u64>,
    pub warnings: BTreeMap<Code, u64>,
    pub cards: Vec<CardSummary>,
    /// Samples with a code beyond --per-code: counted on the page, no card.
    pub not_shown: BTreeMap<Code, u64>,
    pub gallery: Vec<GalleryEntry>,
    /// Valid samples decoded: the gallery, or for a converted folder whose manifest records
    /// no statistics, the rows that estimate them.
    pub statistics_samples: u64,
    pub class_shares: ClassShares,
    pub landmark_density: DensitySummary,
    /// Near-duplicate pairs: with --dedup-threshold, or recorded by `convert
    /// --dedup-threshold`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_duplicates: Option<NearDuplicateSummary>,
    pub seed: u64,
    /// Every file written, relative to the report folder.
    pub files: Vec<String>,
}

/// The pixel share per class plot, as `--json` gives it.
#[derive(Debug, Serialize)]
pub struct ClassShares {
    /// Segmentation maps the shares were computed over.
    pub maps: u64,
    /// Every valid sample's map (counted while validating or converting), or only the
    /// sampled ones (a manifest of an older version).
    pub every_map: bool,
    /// Pixels per class, labels 0 to 18.
    pub pixels: Vec<u64>,
}

/// The landmark density plot, as `--json` gives it.
#[derive(Debug, Serialize)]
pub struct DensitySummary {
    /// Samples whose landmarks were binned.
    pub samples: u64,
    /// Landmark positions inside the frame.
    pub points: u64,
    /// Every valid sample, or only the sampled ones (a manifest of an older version).
    pub every_sample: bool,
}

/// The near-duplicate section, as `--json` gives it.
#[derive(Debug, Serialize)]
pub struct NearDuplicateSummary {
    pub threshold: f64,
    pub model: String,
    /// `recorded` (manifest.json of `convert --dedup-threshold`) or `computed` (this run).
    pub source: &'static str,
    /// Every pair found.
    pub pairs: u64,
    pub groups: u64,
    /// The pairs drawn side by side, most similar first.
    pub shown: Vec<PairShown>,
    /// Pairs beyond --pairs: counted on the page, not drawn.
    pub not_shown: u64,
}

/// One pair drawn side by side.
#[derive(Debug, Serialize)]
pub struct PairShown {
    pub a: String,
    pub b: String,
    pub similarity: f32,
    pub identical: bool,
    /// The two thumbnails (a's, then b's) that could be drawn, relative to the report folder.
    pub pictures: Vec<String>,
}

/// How a run ended.
pub enum Outcome {
    Written(Box<ReportSummary>),
    Interrupted,
}

/// A sample drawn on the page: its pictures and what could not be drawn.
pub(crate) struct Drawn {
    pub key: String,
    /// `(panel name, file relative to the report folder)`.
    pub pictures: Vec<(&'static str, String)>,
    pub notes: Vec<String>,
    pub names: Vec<String>,
}

/// What is drawn of a decoded sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draw {
    /// Nothing: a statistics sample only.
    Nothing,
    /// The image thumbnail: a near-duplicate shown beside its partner.
    Image,
    /// Image, map, map over image, landmarks: a card or a gallery sample.
    Panels,
}

/// What decoding one sample gives.
struct Decoded {
    drawn: Option<Drawn>,
    labels: Option<[u64; 256]>,
    purity: Option<f64>,
    landmarks: Option<Vec<[f64; 2]>>,
}

/// A group of cards under one code.
pub(crate) struct CodeSection {
    pub code: Code,
    pub total: u64,
    pub keys: Vec<String>,
}

/// Everything the page shows.
pub(crate) struct Page {
    pub input: String,
    pub converted: bool,
    pub overview: Overview,
    pub excluded_sections: Vec<CodeSection>,
    pub warned_sections: Vec<CodeSection>,
    pub issues: BTreeMap<String, Vec<Issue>>,
    pub drawn: BTreeMap<String, Drawn>,
    pub gallery: Vec<String>,
    pub class_pixels: [u64; 256],
    /// Maps the class pixels come from, and whether they are every valid sample's.
    pub class_maps: u64,
    pub statistics_samples: u64,
    pub density_picture: Option<String>,
    pub density_points: u64,
    pub density_samples: u64,
    /// The class pixels and landmark density cover every valid sample (not a sample).
    pub every_sample: bool,
    pub near_duplicates: Option<NearDuplicates>,
    /// Pairs drawn side by side.
    pub pairs_shown: usize,
    pub seed: u64,
    /// Why the manifest's statistics were set aside (they did not hold together).
    pub statistics_rejected: Option<String>,
}

/// Near-duplicate pairs for the page.
pub(crate) struct NearDuplicates {
    pub threshold: f64,
    pub model: String,
    /// Read from the manifest (`convert --dedup-threshold`), not found by this run.
    pub recorded: bool,
    /// Every pair, most similar first.
    pub pairs: Vec<Pair>,
    pub groups: u64,
    /// Why pairs are missing although groups were recorded (an older manifest).
    pub note: Option<String>,
}

impl NearDuplicates {
    fn new(threshold: f64, model: &str, pairs: &[Pair], groups: usize, recorded: bool) -> Self {
        NearDuplicates {
            threshold,
            model: model.to_string(),
            recorded,
            pairs: dedup::most_similar_first(pairs)
                .into_iter()
                .cloned()
                .collect(),
            groups: groups as u64,
            note: None,
        }
    }

    fn from_report(found: &DedupReport) -> Self {
        let (t, m) = (found.threshold, &found.model);
        NearDuplicates::new(t, m, &found.pairs, found.groups.len(), false)
    }
}

/// The near-duplicates of a converted folder: those its manifest records when they answer
/// the question (no --dedup-threshold, or the same threshold and model), else found now by
/// the dedup engine from the folder's key, image hash and feature columns. `None` without
/// the option and without a record.
fn converted_near_duplicates(
    dir: &Path,
    manifest: &Manifest,
    asked: Option<&DedupConfig>,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Option<NearDuplicates>> {
    let record = manifest.dedup.as_ref();
    let answers = |r: &&DedupRecord| {
        asked.is_none_or(|d| d.threshold == r.threshold && d.model == r.model)
            && (r.groups.is_empty() || !r.pairs.is_empty())
    };
    if let Some(r) = record.filter(answers) {
        let near = NearDuplicates::new(r.threshold, &r.model, &r.pairs, r.groups.len(), true);
        return Ok(Some(near));
    }
    let Some(config) = asked else {
        // Groups recorded by a version that did not record the pairs.
        return Ok(record.map(|r| {
            let mut near = NearDuplicates::new(r.threshold, &r.model, &[], r.groups.len(), true);
            near.note = Some(format!(
                "manifest.json records {} near-duplicate group(s) at {} but not their pairs (written by an older sfhq-pack): run report with --dedup-threshold {} to find the pairs and their similarities",
                r.groups.len(),
                r.threshold,
                r.threshold
            ));
            near
        }));
    };
    let folder = dedup::load::Converted::open(dir)?;
    progress.start(folder.rows());
    let Some(loaded) = dedup::load(None, &[folder], config, interrupted, progress)? else {
        // Interrupted while reading: the caller sees the flag and ends with exit 130.
        return Ok(None);
    };
    let found = dedup::find(&loaded, config, interrupted, &|_| {})?;
    Ok(Some(NearDuplicates::from_report(&found)))
}

impl Page {
    /// The image thumbnail of a drawn sample.
    pub fn thumbnail(&self, key: &str) -> Option<String> {
        let drawn = self.drawn.get(key)?;
        drawn
            .pictures
            .iter()
            .find(|(panel, _)| *panel == "image")
            .map(|(_, file)| file.clone())
    }
}

/// Whether a path is a folder `convert` wrote.
fn is_converted(path: &Path) -> bool {
    path.is_dir() && path.join(crate::manifest::MANIFEST_FILE).is_file()
}

/// Runs the report: gathers, draws, writes the pictures then the page. A report folder
/// this run created is removed again when the run fails or is interrupted, so that no
/// half-written report is left.
pub fn run(
    config: &ReportConfig,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Outcome> {
    let converted: Vec<&PathBuf> = config.inputs.iter().filter(|p| is_converted(p)).collect();
    if !converted.is_empty() && config.inputs.len() > 1 {
        anyhow::bail!(
            "{}: a folder written by convert is reported on its own; give either raw sources (folders or zips) or one converted folder",
            converted[0].display()
        );
    }
    let created = check_out_dir(&config.out)?;
    let outcome = write_report(config, progress, interrupted);
    if created && !matches!(outcome, Ok(Outcome::Written(_))) {
        let _ = std::fs::remove_dir_all(&config.out);
    }
    outcome
}

fn write_report(
    config: &ReportConfig,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Outcome> {
    let converted: Vec<&PathBuf> = config.inputs.iter().filter(|p| is_converted(p)).collect();
    let mut statistics_rejected = None;
    let (overview, input, statistics, near_duplicates) = if let Some(dir) = converted.first() {
        let mut manifest = Manifest::read(dir)?;
        // Statistics that do not hold together are set aside, as if absent (estimated from
        // rows instead), and the page says why.
        if let Some(why) = manifest.statistics.as_ref().and_then(|s| s.check().err()) {
            manifest.statistics = None;
            statistics_rejected = Some(why);
        }
        let near = converted_near_duplicates(
            dir,
            &manifest,
            config.dedup.as_ref(),
            progress,
            interrupted,
        )?;
        if interrupted.load(Ordering::SeqCst) {
            return Ok(Outcome::Interrupted);
        }
        let pair_keys: BTreeSet<String> = shown_pairs(near.as_ref(), config.pairs)
            .flat_map(|p| [p.a.clone(), p.b.clone()])
            .collect();
        // What convert recorded covers every row: then only the gallery is read. A manifest
        // of an older version lacks some of it, estimated from a sample of rows.
        let complete = manifest
            .statistics
            .as_ref()
            .is_some_and(|s| s.image_bytes.images > 0);
        let picked = gather::Picked {
            seed: config.seed,
            sample_size: if complete {
                config.gallery
            } else {
                STATISTICS_SAMPLE.max(config.gallery)
            },
            with_images: config.gallery,
        };
        let max_file_bytes = config.check.max_file_bytes;
        let (overview, input, sample) =
            gather::from_converted(dir, &manifest, picked, &pair_keys, max_file_bytes)?;
        (overview, input, sample, near)
    } else {
        let Some(found) = gather::from_sources(
            &config.inputs,
            &config.check,
            config.dedup.as_ref(),
            progress,
            interrupted,
        )?
        else {
            return Ok(Outcome::Interrupted);
        };
        // Every plot is computed over every sample already: only the gallery is decoded.
        let gallery = gather::seeded_order(found.valid.iter().map(String::as_str), config.seed)
            .into_iter()
            .take(config.gallery)
            .map(str::to_string)
            .collect();
        let near = found.dedup.as_ref().map(NearDuplicates::from_report);
        (found.overview, found.input, gallery, near)
    };
    let excluded_sections = sections(&overview.excluded, config.per_code, true);
    let warned_sections = sections(&overview.warned, config.per_code, false);
    let gallery: Vec<String> = statistics.iter().take(config.gallery).cloned().collect();
    // Samples to decode: cards and gallery are drawn, the pairs shown as thumbnails, the rest
    // of the statistics sample only counted. One index per drawn sample names its picture
    // files (keys may be hostile).
    let mut to_draw: Vec<(String, Draw)> = Vec::new();
    for section in excluded_sections.iter().chain(&warned_sections) {
        to_draw.extend(section.keys.iter().map(|k| (k.clone(), Draw::Panels)));
    }
    to_draw.extend(gallery.iter().map(|k| (k.clone(), Draw::Panels)));
    for pair in shown_pairs(near_duplicates.as_ref(), config.pairs) {
        to_draw.extend([(pair.a.clone(), Draw::Image), (pair.b.clone(), Draw::Image)]);
    }
    let mut seen = BTreeSet::new();
    to_draw.retain(|(k, _)| seen.insert(k.clone()));
    let statistic_keys: BTreeSet<&String> = statistics.iter().collect();
    let mut jobs: Vec<(usize, String, Draw)> = to_draw
        .into_iter()
        .enumerate()
        .map(|(i, (k, d))| (i, k, d))
        .collect();
    let offset = jobs.len();
    jobs.extend(
        statistics
            .iter()
            .filter(|k| !seen.contains(*k))
            .enumerate()
            .map(|(i, k)| (offset + i, k.clone(), Draw::Nothing)),
    );
    progress.start(jobs.len() as u64);
    let pictures = config.out.join(PICTURES);
    std::fs::create_dir_all(&pictures)
        .with_context(|| format!("{}: cannot create the folder", pictures.display()))?;
    let image_size = config.check.checks.image_size;
    let max_pixels = config.check.checks.max_pixels;
    let decoded: Vec<anyhow::Result<Option<(String, Decoded)>>> = jobs
        .par_iter()
        .map(|(index, key, draw)| {
            if interrupted.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let files = input.files(key);
            let bytes = files.as_ref().map_or(0, |f| {
                let size = |b: &Option<Result<Vec<u8>, String>>| {
                    b.as_ref()
                        .and_then(|r| r.as_ref().ok())
                        .map_or(0, |b| b.len() as u64)
                };
                size(&f.image) + size(&f.segmentation)
            });
            let target = Target {
                index: *index,
                key,
                draw: *draw,
                out: &config.out,
            };
            let result = decode_sample(target, files, image_size, max_pixels)?;
            progress.advance(1, bytes);
            Ok(Some((key.clone(), result)))
        })
        .collect();
    if interrupted.load(Ordering::SeqCst) {
        return Ok(Outcome::Interrupted);
    }
    let mut drawn = BTreeMap::new();
    let mut class_pixels = [0u64; 256];
    let mut class_maps = 0;
    let mut density = Density::new(THUMBNAIL, image_size);
    let mut density_samples = 0;
    let mut overview = overview;
    let mut statistics_samples = 0;
    let exact = overview.statistics.take();
    for result in decoded {
        let Some((key, d)) = result? else { continue };
        if statistic_keys.contains(&key) {
            statistics_samples += 1;
            if exact.is_none() {
                if let Some(labels) = d.labels {
                    class_maps += 1;
                    for (total, n) in class_pixels.iter_mut().zip(labels) {
                        *total += n;
                    }
                }
                if let Some(points) = &d.landmarks {
                    density_samples += 1;
                    density.add(points);
                }
            }
            if let Some(share) = d.purity.filter(|_| !overview.purity_of_every_map) {
                overview.purity.add(share);
            }
        }
        if let Some(card) = d.drawn {
            drawn.insert(key, card);
        }
    }
    if let Some(exact) = &exact {
        class_maps = exact.maps_counted;
        for (total, n) in class_pixels
            .iter_mut()
            .zip(&exact.segmentation_class_pixels)
        {
            *total = *n;
        }
        let grid = &exact.landmark_density;
        density = Density::from_grid(grid.bins, &grid.counts);
        density_samples = grid.samples;
    }
    let mut files: Vec<String> = drawn
        .values()
        .flat_map(|d| d.pictures.iter().map(|(_, f)| f.clone()))
        .collect();
    let density_picture = if density.points > 0 {
        let name = format!("{PICTURES}/landmark-density.png");
        write_file(&config.out.join(&name), &density.render(THUMBNAIL).to_png())?;
        files.push(name.clone());
        Some(name)
    } else {
        None
    };
    let mut issues = BTreeMap::new();
    for sample in overview.excluded.iter().chain(&overview.warned) {
        if drawn.contains_key(&sample.key) {
            issues.insert(sample.key.clone(), sample.issues.clone());
        }
    }
    let page = Page {
        input: input.describe(),
        converted: input.is_converted(),
        overview,
        excluded_sections,
        warned_sections,
        issues,
        drawn,
        gallery,
        class_pixels,
        class_maps,
        statistics_samples,
        density_picture,
        density_points: density.points,
        density_samples,
        every_sample: exact.is_some(),
        near_duplicates,
        pairs_shown: config.pairs,
        seed: config.seed,
        statistics_rejected,
    };
    let text = html::render(&page, GENERATOR);
    write_file(&config.out.join(PAGE), text.as_bytes())?;
    files.push(PAGE.to_string());
    files.sort();
    Ok(Outcome::Written(Box::new(summary(config, &page, files))))
}

/// The first `limit` pairs (most similar first), the ones drawn.
pub(crate) fn shown_pairs(
    near: Option<&NearDuplicates>,
    limit: usize,
) -> impl Iterator<Item = &Pair> {
    near.into_iter()
        .flat_map(move |n| n.pairs.iter().take(limit))
}

fn summary(config: &ReportConfig, page: &Page, files: Vec<String>) -> ReportSummary {
    let pictures_of = |key: &String| {
        page.drawn.get(key).map_or_else(Vec::new, |d| {
            d.pictures.iter().map(|(_, f)| f.clone()).collect()
        })
    };
    let mut cards = Vec::new();
    for (name, sections) in [
        ("excluded", &page.excluded_sections),
        ("warned", &page.warned_sections),
    ] {
        let mut listed = BTreeSet::new();
        for section in sections {
            for key in &section.keys {
                if !listed.insert(key.clone()) {
                    continue;
                }
                let codes: BTreeSet<Code> = page
                    .issues
                    .get(key)
                    .map(|i| i.iter().map(|i| i.code).collect())
                    .unwrap_or_default();
                cards.push(CardSummary {
                    key: key.clone(),
                    section: name,
                    codes: codes.into_iter().collect(),
                    pictures: pictures_of(key),
                });
            }
        }
    }
    let mut not_shown = BTreeMap::new();
    for section in page.excluded_sections.iter().chain(&page.warned_sections) {
        let rest = section.total - section.keys.len() as u64;
        if rest > 0 {
            *not_shown.entry(section.code).or_default() += rest;
        }
    }
    let o = &page.overview;
    ReportSummary {
        page: config.out.join(PAGE).display().to_string(),
        input: if page.converted {
            "converted"
        } else {
            "sources"
        },
        samples: o.samples,
        valid: o.valid,
        excluded: o.excluded.len() as u64,
        warned: o.warned.len() as u64,
        errors: o.errors.clone(),
        warnings: o.warnings.clone(),
        cards,
        not_shown,
        gallery: page
            .gallery
            .iter()
            .map(|key| GalleryEntry {
                key: key.clone(),
                pictures: pictures_of(key),
            })
            .collect(),
        statistics_samples: page.statistics_samples,
        class_shares: ClassShares {
            maps: page.class_maps,
            every_map: page.every_sample,
            pixels: page.class_pixels[..CLASSES].to_vec(),
        },
        landmark_density: DensitySummary {
            samples: page.density_samples,
            points: page.density_points,
            every_sample: page.every_sample,
        },
        near_duplicates: page.near_duplicates.as_ref().map(|n| {
            let shown: Vec<PairShown> = shown_pairs(Some(n), page.pairs_shown)
                .map(|p| PairShown {
                    a: p.a.clone(),
                    b: p.b.clone(),
                    similarity: p.similarity,
                    identical: p.identical,
                    pictures: [&p.a, &p.b]
                        .into_iter()
                        .filter_map(|k| page.thumbnail(k))
                        .collect(),
                })
                .collect();
            NearDuplicateSummary {
                threshold: n.threshold,
                model: n.model.clone(),
                source: if n.recorded { "recorded" } else { "computed" },
                pairs: n.pairs.len() as u64,
                groups: n.groups,
                not_shown: (n.pairs.len() - shown.len()) as u64,
                shown,
            }
        }),
        seed: page.seed,
        files,
    }
}

/// Per code (in code order), the samples carrying it with `severity`, the first `limit`
/// of them as cards.
fn sections(samples: &[SampleIssues], limit: usize, errors: bool) -> Vec<CodeSection> {
    let mut by_code: BTreeMap<Code, CodeSection> = BTreeMap::new();
    for sample in samples {
        let codes: BTreeSet<Code> = sample
            .issues
            .iter()
            .filter(|i| i.is_error() == errors)
            .map(|i| i.code)
            .collect();
        for code in codes {
            let section = by_code.entry(code).or_insert_with(|| CodeSection {
                code,
                total: 0,
                keys: Vec::new(),
            });
            section.total += 1;
            if section.keys.len() < limit {
                section.keys.push(sample.key.clone());
            }
        }
    }
    by_code.into_values().collect()
}

/// A sample to decode, and what to draw of it where.
struct Target<'a> {
    /// Names its picture files.
    index: usize,
    key: &'a str,
    draw: Draw,
    out: &'a Path,
}

/// Reads and decodes one sample; draws what `target.draw` asks.
fn decode_sample(
    target: Target<'_>,
    files: Option<Files>,
    image_size: u32,
    max_pixels: u64,
) -> anyhow::Result<Decoded> {
    let Target {
        index,
        key,
        draw,
        out,
    } = target;
    let mut notes = Vec::new();
    let Some(files) = files else {
        let drawn = (draw != Draw::Nothing).then(|| Drawn {
            key: key.to_string(),
            pictures: Vec::new(),
            notes: vec![
                "not drawn: excluded samples are not written to the shards; run `sfhq-pack report` on the source to see its pictures".to_string(),
            ],
            names: Vec::new(),
        });
        return Ok(Decoded {
            drawn,
            labels: None,
            purity: None,
            landmarks: None,
        });
    };
    let max_bytes = usize::try_from(max_pixels.saturating_mul(4)).unwrap_or(usize::MAX);
    let map: Option<LabelMap> = match &files.segmentation {
        Some(Ok(bytes)) => match draw::decode_label_map(bytes, max_bytes) {
            Ok(map) => Some(map),
            Err(e) => {
                notes.push(format!("segmentation map: {e}"));
                None
            }
        },
        Some(Err(e)) => {
            notes.push(e.clone());
            None
        }
        None => None,
    };
    let landmarks = match files.landmarks {
        Some(Ok(points)) => Some(points),
        Some(Err(e)) => {
            notes.push(e);
            None
        }
        None => None,
    };
    let labels = map.as_ref().map(LabelMap::histogram);
    let purity = map.as_ref().map(LabelMap::pure_block_share);
    if draw == Draw::Nothing {
        return Ok(Decoded {
            drawn: None,
            labels,
            purity,
            landmarks,
        });
    }
    let image = match &files.image {
        Some(Ok(bytes)) => match draw::decode_thumbnail(bytes, THUMBNAIL, max_pixels) {
            Ok(decoded) => Some(decoded),
            Err(e) => {
                notes.push(format!("image not drawn: {e}"));
                None
            }
        },
        Some(Err(e)) => {
            notes.push(e.clone());
            None
        }
        None => None,
    };
    // The panels share one size: the image's thumbnail, else the map's, else a square.
    let (source_w, source_h) = match (&image, &map) {
        (Some((_, w, h)), _) => (*w, *h),
        (None, Some(m)) => (m.width, m.height),
        (None, None) => (image_size, image_size),
    };
    let (tw, th) = draw::thumbnail_size(source_w, source_h, THUMBNAIL);
    let base = image
        .map(|(rgb, _, _)| rgb)
        .unwrap_or_else(|| Rgb::filled(tw, th, draw::EMPTY));
    let mut pictures = Vec::new();
    let mut save = |panel: &'static str, rgb: &Rgb| -> anyhow::Result<()> {
        let name = format!("{PICTURES}/{index:05}-{panel}.png");
        write_file(&out.join(&name), &rgb.to_png())?;
        pictures.push((panel, name));
        Ok(())
    };
    save("image", &base)?;
    // A near-duplicate shown beside its partner needs the image only.
    if draw == Draw::Panels {
        if let Some(map) = &map {
            let coloured = map.coloured(base.width, base.height);
            save("segmentation", &coloured)?;
            save("blend", &draw::blend(&base, &coloured, 128))?;
        }
        if let Some(points) = &landmarks {
            let mut dotted = base.clone();
            let outside = draw::draw_landmarks(&mut dotted, points, source_w, source_h);
            if outside > 0 {
                notes.push(format!(
                    "{outside} of {} landmarks lie outside the picture and are not drawn",
                    points.len()
                ));
            }
            save("landmarks", &dotted)?;
        }
    }
    Ok(Decoded {
        drawn: Some(Drawn {
            key: key.to_string(),
            pictures,
            notes,
            names: files.names,
        }),
        labels,
        purity,
        landmarks,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// The report folder must be new, empty, or an earlier report (whose pictures are then
/// removed); any other content stops the run before anything is written. Returns whether
/// the folder was created here.
fn check_out_dir(out: &Path) -> anyhow::Result<bool> {
    let entries = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out)
                .with_context(|| format!("{}: cannot create the report folder", out.display()))?;
            return Ok(true);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot read the folder", out.display()))
        }
    };
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        return Ok(false);
    }
    let page = out.join(PAGE);
    let ours = std::fs::read_to_string(&page)
        .map(|text| text.contains(&format!("<meta name=\"generator\" content=\"{GENERATOR}")))
        .unwrap_or(false);
    let foreign: Vec<&String> = names
        .iter()
        .filter(|n| n.as_str() != PAGE && n.as_str() != PICTURES)
        .collect();
    if !ours || !foreign.is_empty() {
        anyhow::bail!(
            "{}: not empty and not a report sfhq-pack wrote ({} found); give a new or empty folder with --out (nothing was written)",
            out.display(),
            foreign
                .first()
                .map_or_else(|| names[0].clone(), |n| (*n).clone())
        );
    }
    // An earlier report: its pictures go (only PNG files we name), then the page is rewritten.
    let pictures = out.join(PICTURES);
    if let Ok(entries) = std::fs::read_dir(&pictures) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".png") && entry.path().is_file() {
                std::fs::remove_file(entry.path()).with_context(|| {
                    format!(
                        "{}: cannot remove an earlier picture",
                        entry.path().display()
                    )
                })?;
            }
        }
    }
    Ok(false)
}

/// `package --hf`'s `preview.png`: the first `count` valid samples `seed` picks from a
/// converted folder (as the report's gallery picks them), each drawn as its image with the
/// coloured map blended over it and the landmarks as dots, in a grid of four columns of
/// [`THUMBNAIL`]-pixel tiles. `None` when the folder holds no rows.
pub(crate) fn preview_grid(
    dir: &Path,
    seed: u64,
    count: usize,
    max_file_bytes: u64,
    max_pixels: u64,
) -> anyhow::Result<Option<Vec<u8>>> {
    let manifest = Manifest::read(dir)?;
    let picked = gather::Picked {
        seed,
        sample_size: count,
        with_images: count,
    };
    let (_, input, sample) =
        gather::from_converted(dir, &manifest, picked, &BTreeSet::new(), max_file_bytes)?;
    let keys: Vec<&String> = sample.iter().take(count).collect();
    if keys.is_empty() {
        return Ok(None);
    }
    let tiles: Vec<Rgb> = keys
        .par_iter()
        .map(|key| preview_tile(input.files(key), max_pixels))
        .collect();
    let columns = tiles.len().min(4);
    let rows = tiles.len().div_ceil(columns);
    let mut grid = Rgb::filled(
        THUMBNAIL * columns as u32,
        THUMBNAIL * rows as u32,
        [255, 255, 255],
    );
    for (i, tile) in tiles.iter().enumerate() {
        let (x0, y0) = (
            (i % columns) as u32 * THUMBNAIL,
            (i / columns) as u32 * THUMBNAIL,
        );
        grid.paste(tile, x0, y0);
    }
    Ok(Some(grid.to_png()))
}

/// One preview tile: image, map blended at half opacity, landmarks; grey where a file
/// could not be decoded.
fn preview_tile(files: Option<Files>, max_pixels: u64) -> Rgb {
    let blank = || Rgb::filled(THUMBNAIL, THUMBNAIL, draw::EMPTY);
    let Some(files) = files else { return blank() };
    let max_bytes = usize::try_from(max_pixels.saturating_mul(4)).unwrap_or(usize::MAX);
    let image = files
        .image
        .and_then(Result::ok)
        .and_then(|b| draw::decode_thumbnail(&b, THUMBNAIL, max_pixels).ok());
    let Some((base, width, height)) = image else {
        return blank();
    };
    let map = files
        .segmentation
        .and_then(Result::ok)
        .and_then(|b| draw::decode_label_map(&b, max_bytes).ok());
    let mut tile = match map {
        Some(map) => draw::blend(&base, &map.coloured(base.width, base.height), 128),
        None => base,
    };
    if let Some(Ok(points)) = files.landmarks {
        draw::draw_landmarks(&mut tile, &points, width, height);
    }
    tile
}
