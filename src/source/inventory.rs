//! The inventory: every source's files classified by modality and paired by stem into
//! samples, sorted by key, with orphans, duplicates, unsafe names and ignored files set
//! aside. Nothing is decoded here, so `scan` and `plan` cost one listing.
//!
//! A sample's files must come from one source; a key seen in two places (two sources, or
//! twice in one) is a duplicate, and the run stops before writing anything.
//! Per file the inventory keeps interned ids instead of paths, so 425,000 samples cost
//! tens of megabytes, not hundreds.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::sample::Modality;

use super::parts::{incomplete_parts, IncompletePart};
use super::{is_junk, ListedFile, Locator, ReadError, Source, SourceKind, UnsafePath};

/// One file of a sample, by interned directory and extension.
#[derive(Debug, Clone, Copy)]
pub struct FileRef {
    dir: u32,
    ext: u32,
    pub size: u64,
    locator: Locator,
}

/// The files of one sample.
#[derive(Debug, Clone)]
pub struct SampleFiles {
    pub key: Box<str>,
    pub source: usize,
    files: [Option<FileRef>; 4],
}

impl SampleFiles {
    pub fn file(&self, modality: Modality) -> Option<&FileRef> {
        self.files[modality.index()].as_ref()
    }

    /// Total bytes of the sample's files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().flatten().map(|f| f.size).sum()
    }
}

/// An annotation file whose image is not there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Orphan {
    pub key: String,
    pub files: Vec<String>,
}

/// A key found in more than one place: in two sources, or twice in one source for the same
/// modality (`images/k.jpg` and `images/k.png`). One per key, however many files collide.
#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub key: String,
    /// Every file of the key, as shown to users: first those taken for the key, from the
    /// place it was first seen in, then each file that collided with them; each group by
    /// source, then modality (image, segmentation, landmarks, features).
    pub files: Vec<String>,
    /// The first collision: a file already taken for the key, and the file that met it.
    #[serde(skip)]
    pub first_clash: [String; 2],
}

/// A name refused while listing, with the source it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusedPath {
    pub source: String,
    pub name: String,
    pub reason: String,
    /// The path as shown to users: `SRC/name` in a folder, `SRC!name` in a zip.
    #[serde(skip)]
    pub shown: String,
}

/// Counts per modality for one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModalityCount {
    pub files: u64,
    pub bytes: u64,
}

/// What one source holds.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub path: String,
    pub kind: SourceKind,
    /// Regular files listed, junk included.
    pub files: u64,
    pub bytes: u64,
    pub samples: u64,
    pub modalities: BTreeMap<Modality, ModalityCount>,
    /// Files that are neither data nor known junk: outside the four folders, or with an
    /// extension the folder does not hold.
    pub ignored: u64,
    pub junk: u64,
    /// Ignored files per extension (`*.rs`, or `no extension`), for the message that
    /// says what a source without samples holds.
    #[serde(skip)]
    pub ignored_kinds: BTreeMap<String, u64>,
    /// Whether any listed path has an `images/` folder.
    #[serde(skip)]
    pub has_image_folder: bool,
    /// sha256 over every listed file's name, size and modification time (a zip's own size
    /// and time stand for its members): what `convert --resume` compares to tell that the
    /// sources are the ones the interrupted run read.
    #[serde(skip)]
    pub fingerprint: String,
}

/// All sources, classified and paired.
pub struct Inventory {
    pub sources: Vec<Source>,
    pub summaries: Vec<SourceSummary>,
    /// Samples (keys with an image) in key order.
    pub samples: Vec<SampleFiles>,
    pub orphans: Vec<Orphan>,
    /// Keys found in more than one place, in key order.
    pub duplicates: Vec<Duplicate>,
    pub unsafe_paths: Vec<RefusedPath>,
    /// Up to [`IGNORED_EXAMPLES`] ignored file paths, to show in `scan`.
    pub ignored_examples: Vec<String>,
    /// Parts held with fewer samples than published (`source.incomplete`).
    pub incomplete_parts: Vec<IncompletePart>,
    /// Which modalities each part (source and part root) carries at all.
    present: HashMap<(usize, String), [bool; 4]>,
    dirs: Vec<String>,
    exts: Vec<String>,
}

pub const IGNORED_EXAMPLES: usize = 20;

/// Appended to the second entry of a name a zip holds twice.
const SAME_NAME_AGAIN: &str = " (the same name again: the zip holds it twice)";

struct Slot {
    source: usize,
    files: [Option<FileRef>; 4],
}

/// The files that met a key already taken: the first file they met, and each of them with
/// its source and modality, in listing order.
struct Clashes {
    taken: FileRef,
    colliding: Vec<(usize, Modality, String)>,
}

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct folders");
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }
}

/// Where a listed file belongs: its modality, key, folder and extension.
struct Classified<'a> {
    modality: Modality,
    dir: &'a str,
    key: &'a str,
    ext: &'a str,
}

/// The folder a part's modality folders sit in: the path before the first modality
/// folder (`SFHQ_pt2` for `SFHQ_pt2/images/images`, empty for `images`). Several parts
/// unpacked side by side in one source each keep their own set of modalities.
fn part_root(dir: &str) -> &str {
    let mut end = 0;
    for component in dir.split('/') {
        if Modality::from_folder(component).is_some() {
            return dir[..end].trim_end_matches('/');
        }
        end += component.len() + 1;
    }
    dir
}

fn classify(path: &str) -> Option<Classified<'_>> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    // Kaggle nests `images/images/`: the innermost modality folder decides.
    let modality = dir.rsplit('/').find_map(Modality::from_folder)?;
    let (key, ext) = name.rsplit_once('.')?;
    if key.is_empty() || !modality.accepts_extension(&ext.to_ascii_lowercase()) {
        return None;
    }
    Some(Classified {
        modality,
        dir,
        key,
        ext,
    })
}

/// The inventory as it is being built, one listed file at a time.
#[derive(Default)]
struct Builder {
    dirs: Interner,
    exts: Interner,
    slots: BTreeMap<Box<str>, Slot>,
    duplicates: BTreeMap<String, Clashes>,
    unsafe_paths: Vec<RefusedPath>,
    ignored_examples: Vec<String>,
    summaries: Vec<SourceSummary>,
    present: HashMap<(usize, String), [bool; 4]>,
    sources: Vec<Source>,
}

impl Builder {
    fn add_source(&mut self, source: Source) -> anyhow::Result<()> {
        let source_index = self.sources.len();
        let mut summary = SourceSummary {
            path: source.path.display().to_string(),
            kind: source.kind,
            files: 0,
            bytes: 0,
            samples: 0,
            modalities: BTreeMap::new(),
            ignored: 0,
            junk: 0,
            ignored_kinds: BTreeMap::new(),
            has_image_folder: false,
            fingerprint: String::new(),
        };
        let mut fingerprint = Sha256::new();
        if let Ok(meta) = std::fs::metadata(&source.path) {
            if meta.is_file() {
                fingerprint.update(meta.len().to_le_bytes());
                let time = meta.modified().ok().map(super::folder::nanos_since_epoch);
                fingerprint.update(time.unwrap_or_default().to_le_bytes());
            }
        }
        let refused = source.list(&mut |file| {
            fingerprint.update(file.path.as_bytes());
            fingerprint.update([0]);
            fingerprint.update(file.size.to_le_bytes());
            fingerprint.update(file.modified.unwrap_or_default().to_le_bytes());
            self.add_file(source_index, &source, &mut summary, file);
        })?;
        summary.fingerprint = crate::checksum::hex(&fingerprint.finalize());
        for UnsafePath { name, reason } in refused {
            self.unsafe_paths.push(RefusedPath {
                source: summary.path.clone(),
                shown: source.display_path(&name),
                name,
                reason: reason.to_string(),
            });
        }
        self.summaries.push(summary);
        self.sources.push(source);
        Ok(())
    }

    fn add_file(
        &mut self,
        source_index: usize,
        source: &Source,
        summary: &mut SourceSummary,
        ListedFile {
            path,
            size,
            locator,
            ..
        }: ListedFile,
    ) {
        summary.files += 1;
        summary.bytes += size;
        if !summary.has_image_folder {
            let (dir, _) = path.rsplit_once('/').unwrap_or(("", ""));
            summary.has_image_folder = dir
                .split('/')
                .any(|c| Modality::from_folder(c) == Some(Modality::Image));
        }
        if is_junk(&path) {
            summary.junk += 1;
            return;
        }
        let Some(c) = classify(&path) else {
            summary.ignored += 1;
            let name = path.rsplit('/').next().unwrap_or(&path);
            let kind = match name.rsplit_once('.') {
                Some((stem, ext)) if !stem.is_empty() => format!("*.{}", ext.to_ascii_lowercase()),
                _ => "no extension".to_string(),
            };
            *summary.ignored_kinds.entry(kind).or_default() += 1;
            if self.ignored_examples.len() < IGNORED_EXAMPLES {
                self.ignored_examples.push(source.display_path(&path));
            }
            return;
        };
        self.present
            .entry((source_index, part_root(c.dir).to_string()))
            .or_insert([false; 4])[c.modality.index()] = true;
        let count = summary.modalities.entry(c.modality).or_default();
        count.files += 1;
        count.bytes += size;
        let file = FileRef {
            dir: self.dirs.id(c.dir),
            ext: self.exts.id(c.ext),
            size,
            locator,
        };
        let slot = self.slots.entry(c.key.into()).or_insert_with(|| Slot {
            source: source_index,
            files: [None; 4],
        });
        let clash = if slot.source != source_index {
            slot.files.iter().flatten().next().copied()
        } else {
            slot.files[c.modality.index()]
        };
        match clash {
            Some(taken) => self
                .duplicates
                .entry(c.key.to_string())
                .or_insert_with(|| Clashes {
                    taken,
                    colliding: Vec::new(),
                })
                .colliding
                .push((source_index, c.modality, path.clone())),
            None => slot.files[c.modality.index()] = Some(file),
        }
    }

    fn finish(self) -> Inventory {
        let Builder {
            dirs,
            exts,
            slots,
            duplicates,
            unsafe_paths,
            ignored_examples,
            summaries,
            present,
            sources,
        } = self;
        let mut inventory = Inventory {
            sources,
            summaries,
            samples: Vec::with_capacity(slots.len()),
            orphans: Vec::new(),
            duplicates: Vec::new(),
            unsafe_paths,
            ignored_examples,
            incomplete_parts: Vec::new(),
            present,
            dirs: dirs.names,
            exts: exts.names,
        };
        inventory.duplicates = duplicates
            .into_iter()
            .map(|(key, clashes)| {
                let slot = &slots[key.as_str()];
                let source = &inventory.sources[slot.source];
                let mut files: Vec<String> = slot
                    .files
                    .iter()
                    .flatten()
                    .map(|f| source.display_path(&inventory.rel_path(&key, f)))
                    .collect();
                let mut colliding = clashes.colliding;
                let mut first_clash = [
                    source.display_path(&inventory.rel_path(&key, &clashes.taken)),
                    inventory.sources[colliding[0].0].display_path(&colliding[0].2),
                ];
                // A zip can hold one name twice: say so, or the message names one file twice.
                if first_clash[0] == first_clash[1] {
                    first_clash[1].push_str(SAME_NAME_AGAIN);
                }
                // Like the taken files: by source, then modality (stable: listing order).
                colliding.sort_by_key(|&(s, modality, _)| (s, modality));
                let taken = files.clone();
                files.extend(colliding.iter().map(|(s, _, path)| {
                    let shown = inventory.sources[*s].display_path(path);
                    if taken.contains(&shown) {
                        shown + SAME_NAME_AGAIN
                    } else {
                        shown
                    }
                }));
                Duplicate {
                    key,
                    files,
                    first_clash,
                }
            })
            .collect();
        for (key, slot) in slots {
            let sample = SampleFiles {
                key,
                source: slot.source,
                files: slot.files,
            };
            if sample.file(Modality::Image).is_some() {
                inventory.summaries[sample.source].samples += 1;
                inventory.samples.push(sample);
            } else {
                let files = Modality::ALL
                    .iter()
                    .filter_map(|&m| inventory.display_path(&sample, m))
                    .collect();
                inventory.orphans.push(Orphan {
                    key: sample.key.into(),
                    files,
                });
            }
        }
        inventory
    }
}

impl Inventory {
    /// Opens every source and builds the inventory, one source and one file at a time.
    /// Stops (exit 2) when no source holds a single sample, saying what they hold instead.
    pub fn build(paths: &[PathBuf]) -> anyhow::Result<Inventory> {
        let mut builder = Builder::default();
        for path in paths {
            builder.add_source(Source::open(path)?)?;
        }
        let mut inventory = builder.finish();
        if inventory.samples.is_empty() {
            anyhow::bail!("{}", no_samples_message(&inventory));
        }
        inventory.incomplete_parts = incomplete_parts(&inventory);
        Ok(inventory)
    }

    fn rel_path(&self, key: &str, file: &FileRef) -> String {
        let dir = &self.dirs[file.dir as usize];
        let ext = &self.exts[file.ext as usize];
        if dir.is_empty() {
            format!("{key}.{ext}")
        } else {
            format!("{dir}/{key}.{ext}")
        }
    }

    /// The file's name alone (`SFHQ_pt1_00000001.jpg`), as stored in the Parquet `path`.
    pub fn file_name(&self, sample: &SampleFiles, modality: Modality) -> Option<String> {
        let file = sample.file(modality)?;
        Some(format!("{}.{}", sample.key, self.exts[file.ext as usize]))
    }

    /// The path shown to users for a sample's file.
    pub fn display_path(&self, sample: &SampleFiles, modality: Modality) -> Option<String> {
        let file = sample.file(modality)?;
        Some(self.sources[sample.source].display_path(&self.rel_path(&sample.key, file)))
    }

    /// The path a missing file would have had, for messages about it.
    pub fn expected_path(&self, sample: &SampleFiles, modality: Modality) -> String {
        let source = &self.sources[sample.source];
        let image_dir = sample
            .file(Modality::Image)
            .map(|f| self.dirs[f.dir as usize].clone())
            .unwrap_or_default();
        // Mirror the image's folder layout (for Kaggle's `images/images/`, `x/x/`).
        let dir = image_dir.replace(Modality::Image.folder(), modality.folder());
        let ext = match modality {
            Modality::Image => "jpg",
            Modality::Segmentation => "png",
            Modality::Landmarks => "npz",
            Modality::Features => "pickle",
        };
        source.display_path(&format!("{dir}/{}.{ext}", sample.key))
    }

    /// Whether the sample's part carries this modality at all (else its absence is no fault).
    pub fn source_has(&self, sample: &SampleFiles, modality: Modality) -> bool {
        let Some(image) = sample.file(Modality::Image) else {
            return false;
        };
        let root = part_root(&self.dirs[image.dir as usize]);
        self.present
            .get(&(sample.source, root.to_string()))
            .is_some_and(|has| has[modality.index()])
    }

    /// Reads one file of a sample.
    pub fn read(
        &self,
        sample: &SampleFiles,
        modality: Modality,
        max_bytes: u64,
    ) -> Option<Result<Vec<u8>, ReadError>> {
        let file = sample.file(modality)?;
        let rel = self.rel_path(&sample.key, file);
        Some(self.sources[sample.source].read(&rel, file.locator, file.size, max_bytes))
    }
}

/// What sources without a single sample hold: per source, the reason and the kinds of files
/// found (`no images/ folder; 46 files ignored: 30 *.rs, 10 *.toml, ...`).
fn no_samples_message(inventory: &Inventory) -> String {
    use crate::ui::{plural, sanitize_line};
    let mut text = String::from(
        "no SFHQ sample found: a sample is an image in an images/ folder (images/SFHQ_pt1_00000001.jpg), paired by name with files in segmentations/, landmarks/ and pretrained_features/",
    );
    for (summary, source) in inventory.summaries.iter().zip(&inventory.sources) {
        let mut parts = Vec::new();
        if summary.files == 0 {
            parts.push("no files at all".to_string());
        } else if !summary.has_image_folder {
            parts.push("no images/ folder".to_string());
        } else {
            parts.push("no .jpg, .jpeg or .png file in its images/ folder".to_string());
        }
        let annotations: u64 = summary.modalities.values().map(|c| c.files).sum();
        if annotations > 0 {
            parts.push(format!(
                "{} without an image",
                plural(annotations as usize, "annotation file")
            ));
        }
        if summary.ignored > 0 {
            let mut kinds: Vec<(&String, &u64)> = summary.ignored_kinds.iter().collect();
            kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let mut shown: Vec<String> = kinds
                .iter()
                .take(5)
                .map(|(kind, n)| format!("{n} {}", sanitize_line(kind)))
                .collect();
            if kinds.len() > 5 {
                shown.push("...".to_string());
            }
            parts.push(format!(
                "{} ignored: {}",
                plural(summary.ignored as usize, "file"),
                shown.join(", ")
            ));
        }
        if summary.junk > 0 {
            parts.push(plural(summary.junk as usize, "junk file"));
        }
        let refused = inventory
            .unsafe_paths
            .iter()
            .filter(|u| u.source == summary.path)
            .count();
        if refused > 0 {
            parts.push(format!(
                "{} refused (`scan` lists them)",
                plural(refused, "file")
            ));
        }
        text.push_str(&format!(
            "\n  {} ({}): {}",
            sanitize_line(&summary.path),
            source.kind,
            parts.join("; ")
        ));
    }
    text.push_str("\npass the folders or Kaggle zips of the SFHQ parts (the folder that holds images/, or the zip as downloaded)");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innermost_modality_folder_decides() {
        let c = classify("SFHQ_pt2/images/images/SFHQ_pt2_00000001.JPG").unwrap();
        assert_eq!(
            (c.modality, c.dir, c.key, c.ext),
            (
                Modality::Image,
                "SFHQ_pt2/images/images",
                "SFHQ_pt2_00000001",
                "JPG"
            )
        );
        let c = classify("landmarks/x/SFHQ_pt1_00000002.npz").unwrap();
        assert_eq!(c.modality, Modality::Landmarks);
        assert!(classify("README.txt").is_none());
        assert!(classify("images/notes.txt").is_none());
        assert!(classify("segmentations/a.jpg").is_none());
        assert!(classify("images/.jpg").is_none());
    }

    #[test]
    fn part_root_is_the_folder_above_the_modality_folders() {
        assert_eq!(part_root("SFHQ_pt2/images/images"), "SFHQ_pt2");
        assert_eq!(part_root("images"), "");
        assert_eq!(part_root("all/SFHQ_pt4/landmarks"), "all/SFHQ_pt4");
    }
}
