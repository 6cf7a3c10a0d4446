//! The streaming pipeline: samples flow source -> decode -> validate in parallel batches,
//! then to one consumer (a sink, or a report) in key order.
//!
//! Batches are processed with rayon and handed over through a channel of capacity one, so
//! at most three batches are alive at any time (one being processed, one queued, one being
//! consumed): memory does not grow with the dataset, and a slow consumer stalls the
//! readers instead of letting work pile up. `collect` keeps batch order, so the consumer
//! sees samples in key order whatever the thread count, and its output is the same bytes.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::checksum::sha256_hex;
use crate::config::CheckConfig;
use crate::decode::image::ImageHeader;
use crate::dedup::DedupConfig;
use crate::resize::Resize;
use crate::sample::Modality;
use crate::sample::{parse_part, Blob, Decoded, Payload, Processed};
use crate::schema::{self, DatasetSchema};
use crate::source::duplicates::inventory_without_duplicates;
use crate::source::inventory::{Inventory, SampleFiles};
use crate::source::ReadError;
use crate::validate::report::Report;
use crate::validate::rules::{self, Checks};
use crate::validate::statistics::{LandmarkBins, SampleStatistics};
use crate::validate::{Code, Issue};

/// Everything a worker needs to process samples.
pub struct Context<'a> {
    pub inventory: &'a Inventory,
    pub checks: &'a Checks,
    pub schema: &'a DatasetSchema,
    pub max_file_bytes: u64,
    /// Keep bytes and arrays for a sink (`convert`), or drop them after checking (`validate`).
    pub keep_payload: bool,
    /// `convert --resolution`: resize each kept sample here, in the worker threads.
    pub resize: Option<&'a Resize>,
}

fn read_code(modality: Modality, error: &ReadError) -> Code {
    match (modality, error) {
        (Modality::Image, ReadError::TooLarge { .. }) => Code::ImageTooLarge,
        (Modality::Segmentation, ReadError::TooLarge { .. }) => Code::SegmentationTooLarge,
        (Modality::Landmarks, ReadError::TooLarge { .. }) => Code::LandmarksTooLarge,
        (Modality::Features, ReadError::TooLarge { .. }) => Code::FeaturesTooLarge,
        (Modality::Image, ReadError::Io(_)) => Code::ImageUnreadable,
        (Modality::Segmentation, ReadError::Io(_)) => Code::SegmentationUnreadable,
        (Modality::Landmarks, ReadError::Io(_)) => Code::LandmarksUnreadable,
        (Modality::Features, ReadError::Io(_)) => Code::FeaturesUnreadable,
    }
}

impl Context<'_> {
    /// Reads one modality of a sample, turning a missing or unreadable file into an issue.
    fn read(
        &self,
        sample: &SampleFiles,
        modality: Modality,
        issues: &mut Vec<Issue>,
        bytes_read: &mut u64,
    ) -> Option<(Vec<u8>, String)> {
        let Some(file) = self.inventory.display_path(sample, modality) else {
            if self.inventory.source_has(sample, modality) {
                issues.push(Issue::new(
                    Code::SampleMissing,
                    self.inventory.expected_path(sample, modality),
                    format!(
                        "no {} file for this sample while its source has them for others; restore it from the original download",
                        modality.folder()
                    ),
                ));
            }
            return None;
        };
        let listed = sample.file(modality).map_or(0, |f| f.size);
        match self.inventory.read(sample, modality, self.max_file_bytes)? {
            Ok(bytes) if bytes.len() as u64 != listed => {
                *bytes_read += bytes.len() as u64;
                issues.push(Issue::new(
                    Code::SourceChanged,
                    file,
                    format!(
                        "{} bytes read, {listed} when the sources were listed: the file changed during the run (or its zip entry states a wrong size); the sample is excluded: convert again once the download is complete",
                        bytes.len()
                    ),
                ));
                None
            }
            Ok(bytes) => {
                *bytes_read += bytes.len() as u64;
                Some((bytes, file))
            }
            Err(e) => {
                issues.push(Issue::new(
                    read_code(modality, &e),
                    file,
                    format!("cannot read: {e}"),
                ));
                None
            }
        }
    }

    /// Reads, decodes and validates one sample.
    pub fn process(&self, sample: &SampleFiles) -> Processed {
        let mut issues = Vec::new();
        let mut bytes_read = 0;
        let mut read =
            |m: Modality, issues: &mut Vec<Issue>| self.read(sample, m, issues, &mut bytes_read);

        let image = read(Modality::Image, &mut issues);
        let header: Option<ImageHeader> = image
            .as_ref()
            .and_then(|(bytes, file)| rules::check_image(bytes, file, self.checks, &mut issues));

        let image_file = image.as_ref().map(|(_, file)| file.clone());
        let segmentation = read(Modality::Segmentation, &mut issues);
        let segmentation_file = segmentation.as_ref().map(|(_, file)| file.clone());
        let map = segmentation.as_ref().and_then(|(bytes, file)| {
            rules::check_segmentation(bytes, file, self.checks, &mut issues)
        });

        let landmarks_file = read(Modality::Landmarks, &mut issues);
        let landmarks = landmarks_file.as_ref().and_then(|(bytes, file)| {
            rules::check_landmarks(bytes, file, self.checks, &mut issues)
        });
        // Counted in the source frame, before any --resolution scaling.
        let statistics = SampleStatistics {
            class_pixels: map.as_ref().map(|m| m.class_pixels),
            landmarks: landmarks
                .as_ref()
                .filter(|a| a.shape == [self.checks.landmark_count, 2])
                .map(|a| LandmarkBins::of(&a.to_f64_vec(), self.checks.image_size)),
            block_share: map.as_ref().and_then(|m| m.block_share),
            image_bytes: image.as_ref().map(|(bytes, _)| bytes.len() as u64),
        };

        let features_file = read(Modality::Features, &mut issues);
        let expected_dim = |model: &str| self.schema.expected_dim(model);
        let features = features_file
            .as_ref()
            .map(|(bytes, file)| {
                rules::check_features(bytes, file, self.checks, &expected_dim, &mut issues)
            })
            .unwrap_or_default();

        let excluded = issues.iter().any(Issue::is_error);
        let payload = match (self.keep_payload && !excluded, image, header) {
            (true, Some((bytes, _)), Some(header)) => {
                let name = |m: Modality| {
                    self.inventory
                        .file_name(sample, m)
                        .expect("a read file has a name")
                };
                Some(Payload {
                    image: Blob {
                        sha256: sha256_hex(&bytes),
                        name: name(Modality::Image),
                        bytes,
                    },
                    width: header.width,
                    height: header.height,
                    segmentation: segmentation.map(|(bytes, _)| Blob {
                        sha256: sha256_hex(&bytes),
                        name: name(Modality::Segmentation),
                        bytes,
                    }),
                    landmarks: landmarks.zip(landmarks_file).map(|(array, (bytes, _))| {
                        Decoded::new(array, &bytes, name(Modality::Landmarks))
                    }),
                    features: features_file
                        .map(|(bytes, _)| Decoded::new(features, &bytes, name(Modality::Features))),
                    source: None,
                })
            }
            _ => None,
        };
        let payload = match (payload, self.resize) {
            (Some(payload), Some(resize)) => {
                let (image, map) = (image_file.unwrap_or_default(), segmentation_file);
                match resize.apply(payload, &image, map.as_deref().unwrap_or_default()) {
                    Ok(resized) => Some(resized),
                    Err(issue) => {
                        issues.push(issue);
                        None
                    }
                }
            }
            (payload, _) => payload,
        };
        Processed {
            part: parse_part(&sample.key),
            key: sample.key.clone(),
            issues,
            payload,
            block_share: map.and_then(|m| m.block_share),
            statistics,
            bytes_read,
        }
    }
}

/// Receives progress from the engine; the CLI draws it, tests ignore it.
pub trait Progress: Sync {
    /// The number of samples the run will go through, once known.
    fn start(&self, _total: u64) {}
    fn advance(&self, samples: u64, bytes: u64);
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Finished,
    Interrupted,
}

/// Samples per batch: enough to keep every thread busy, few enough to bound memory.
pub fn batch_size() -> usize {
    (rayon::current_num_threads() * 8).clamp(32, 256)
}

/// Runs every sample through `context.process` and hands the results, in key order and in
/// batches, to `consume` on a thread of its own.
pub fn run<F>(
    context: &Context<'_>,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
    consume: F,
) -> anyhow::Result<Completion>
where
    F: FnMut(Vec<Processed>) -> anyhow::Result<()> + Send,
{
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Processed>>(1);
    std::thread::scope(|scope| {
        let consumer = scope.spawn(move || {
            let mut consume = consume;
            for batch in rx {
                consume(batch)?;
            }
            anyhow::Ok(())
        });
        let mut completion = Completion::Finished;
        for chunk in context.inventory.samples.chunks(batch_size()) {
            if interrupted.load(Ordering::SeqCst) {
                completion = Completion::Interrupted;
                break;
            }
            let batch: Vec<Processed> = chunk.par_iter().map(|s| context.process(s)).collect();
            let bytes = batch.iter().map(|p| p.bytes_read).sum();
            if tx.send(batch).is_err() {
                // The consumer stopped on an error; it is reported by join below.
                break;
            }
            progress.advance(chunk.len() as u64, bytes);
        }
        drop(tx);
        consumer.join().expect("consumer thread panicked")?;
        if interrupted.load(Ordering::SeqCst) {
            completion = Completion::Interrupted;
        }
        Ok(completion)
    })
}

/// What a validation pass over raw sources gives.
pub struct Validated {
    pub report: Report,
    pub inventory: Inventory,
    /// `--dedup-threshold`: the pairs and groups found (each pair is also a warning on both
    /// keys in `report`).
    pub dedup: Option<crate::dedup::DedupReport>,
}

/// The `validate` engine: every rule on every sample of `sources`, nothing kept but the
/// report. `None` when interrupted.
pub fn validate_all(
    sources: &[std::path::PathBuf],
    check: &CheckConfig,
    dedup: Option<&DedupConfig>,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Option<Report>> {
    let validated = validate_with(sources, check, dedup, progress, interrupted)?;
    Ok(validated.map(|v| v.report))
}

/// [`validate_all`], also returning the inventory and the near-duplicates (`report` draws
/// from them).
pub fn validate_with(
    sources: &[std::path::PathBuf],
    check: &CheckConfig,
    dedup: Option<&DedupConfig>,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Option<Validated>> {
    let inventory = inventory_without_duplicates(sources)?;
    let schema = schema::discover(&inventory, &check.checks, check.max_file_bytes);
    let context = Context {
        inventory: &inventory,
        checks: &check.checks,
        schema: &schema,
        max_file_bytes: check.max_file_bytes,
        keep_payload: false,
        resize: None,
    };
    let mut report = Report::from_inventory(&inventory, check.checks.image_size);
    progress.start(inventory.samples.len() as u64);
    let completion = run(&context, progress, interrupted, |batch| {
        for processed in &batch {
            report.add(processed);
        }
        Ok(())
    })?;
    if completion == Completion::Interrupted {
        return Ok(None);
    }
    // --dedup-threshold: every near-duplicate pair as a warning on both keys.
    let found = match dedup {
        Some(d) => {
            progress.start(inventory.samples.len() as u64);
            let found = crate::dedup::find_in_inventory(&inventory, d, interrupted, progress)?;
            if found.stats.interrupted {
                return Ok(None);
            }
            crate::dedup::add_to_report(&mut report, &found, &inventory);
            Some(found)
        }
        None => None,
    };
    Ok(Some(Validated {
        report,
        inventory,
        dedup: found,
    }))
}
