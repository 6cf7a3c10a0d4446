//! `extract`: shards back to the SFHQ layout (`images/`, `segmentations/`, `landmarks/`,
//! `pretrained_features/`), so that code written for the original download keeps working.
//!
//! Image and map bytes come back exactly as read (as stored, for a dataset converted with
//! `--resolution`: the resized pictures and scaled landmarks, which the command says). Landmarks come back as an `.npz` holding
//! `landmarks` and features as a protocol-4 pickle of a dict, each array in the dtype and
//! shape it was read in (Parquet columns hold the widest dtype; the row's `source_dtypes`
//! says which arrays were narrower). Every shard is verified against the manifest before
//! it is read, and every name taken from a shard is checked to be a plain file name, so a
//! doctored shard cannot write outside `--out`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context};

use crate::config::ExtractConfig;
use crate::decode::array::{Array, DType};
use crate::decode::npy::read_named_array;
use crate::encode::{npy::write_npz, pickle::write_feature_dict};
use crate::format::parquet::reader::{for_each_row, StoredRow};
use crate::format::shard::ShardFormat;
use crate::format::webdataset::names::{
    SampleInfo, INFO_MEMBER, LANDMARKS_MEMBER, SEGMENTATION_MEMBER,
};
use crate::format::webdataset::reader::{for_each_sample, TarSample};
use crate::format::ShardRecord;
use crate::manifest::Manifest;
use crate::pipeline::{Completion, Progress};
use crate::sample::Modality;
use crate::ui::sanitize;

/// What an extraction did.
pub struct Extraction {
    pub completion: Completion,
    pub samples: u64,
    pub shards: usize,
    pub format: ShardFormat,
    /// The dataset was converted at a training resolution: the files written are the
    /// stored, resized pictures, not the source bytes.
    pub resize: Option<crate::resize::ResizeRecord>,
}

/// The largest member or cell read back: SFHQ files are a few MB at most, so a shard that
/// claims more was doctored (it is refused rather than allocated).
const MAX_STORED_FILE_BYTES: u64 = 1 << 30;

/// Verifies the chosen shards, then writes every sample below `config.out`. On interruption
/// or error every file it wrote is removed again (and the folders it created, when empty).
pub fn extract(
    config: &ExtractConfig,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
) -> anyhow::Result<Extraction> {
    let manifest = Manifest::read(&config.dir)?;
    let format = match config.from {
        Some(format) => format,
        None => *manifest
            .options
            .formats
            .first()
            .context("the manifest lists no shard format")?,
    };
    let shards: Vec<&ShardRecord> = manifest
        .shards
        .iter()
        .filter(|s| s.format == format)
        .collect();
    if shards.is_empty() && manifest.rows > 0 {
        bail!(
            "{}: the manifest lists no {} shards; pick another with --from",
            config.dir.display(),
            format.name()
        );
    }
    let problems: Vec<_> = shards
        .iter()
        .flat_map(|s| crate::verify::check_shard(&config.dir, s))
        .collect();
    if let Some(p) = problems.first() {
        bail!("{p}; run `sfhq-pack verify` and restore the shard before extracting");
    }
    progress.start(shards.iter().map(|s| s.rows).sum());
    let mut writer = Writer::new(&config.out, config.overwrite, manifest.parts.len() > 1)?;
    let result = (|| -> anyhow::Result<Completion> {
        for shard in &shards {
            let path = config.dir.join(&shard.path);
            let file =
                File::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
            let mut each = |sample: Extracted| -> anyhow::Result<()> {
                if interrupted.load(Ordering::SeqCst) {
                    bail!(Interrupted);
                }
                writer.write(&sample)?;
                progress.advance(1, 0);
                Ok(())
            };
            match format {
                ShardFormat::Parquet => for_each_row(file, &manifest.landmarks.shape, |row| {
                    each(Extracted::from_row(row)?)
                }),
                ShardFormat::Webdataset => for_each_sample(file, MAX_STORED_FILE_BYTES, |s| {
                    each(Extracted::from_tar(s)?)
                }),
            }
            .with_context(|| format!("{}: cannot extract", shard.path))?;
        }
        Ok(Completion::Finished)
    })();
    let completion = match result {
        Ok(c) => c,
        Err(e) if e.chain().any(|c| c.is::<Interrupted>()) => Completion::Interrupted,
        Err(e) => {
            writer.remove_all();
            return Err(e);
        }
    };
    if completion == Completion::Interrupted || interrupted.load(Ordering::SeqCst) {
        writer.remove_all();
        return Ok(Extraction {
            completion: Completion::Interrupted,
            samples: 0,
            shards: shards.len(),
            format,
            resize: None,
        });
    }
    Ok(Extraction {
        completion: Completion::Finished,
        samples: writer.samples,
        shards: shards.len(),
        format,
        resize: manifest.options.resize.clone(),
    })
}

/// Raised inside a reader's callback to stop it when Ctrl-C or SIGTERM arrives.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

/// A name taken from a shard may only name a file directly inside its folder: the same
/// rule `convert` applies to keys before writing (`sample::key_file_name_problem`).
fn plain_name(name: &str) -> anyhow::Result<&str> {
    if let Some(why) = crate::sample::key_file_name_problem(name) {
        bail!(
            "refusing file name {:?} from the shard: it {why}",
            sanitize(name)
        );
    }
    Ok(name)
}

/// Writes extracted samples below the output folder, remembering every file and folder it
/// creates so that an interrupted or failed extraction can take them all back.
struct Writer {
    out: PathBuf,
    per_part: bool,
    folder: crate::output::PlainFolder,
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    samples: u64,
}

impl Writer {
    fn new(out: &Path, overwrite: bool, per_part: bool) -> anyhow::Result<Writer> {
        let folder = crate::output::prepare_plain_folder(out, overwrite, "extract")?;
        Ok(Writer {
            out: out.to_path_buf(),
            per_part,
            folder,
            dirs: Vec::new(),
            files: Vec::new(),
            samples: 0,
        })
    }

    /// Writes below `out`, or below `out/SFHQ_pt{part}` when the dataset mixes parts: a
    /// part that lacks a modality then stays a part that lacks it, and converting the
    /// folders again reports nothing missing.
    fn write(&mut self, sample: &Extracted) -> anyhow::Result<()> {
        plain_name(&sample.key)?;
        let base = if self.per_part {
            self.out.join(
                sample
                    .part
                    .map_or("no_part".to_string(), |p| format!("SFHQ_pt{p}")),
            )
        } else {
            self.out.clone()
        };
        self.file(&base, Modality::Image, &sample.image.0, &sample.image.1)?;
        if let Some((name, bytes)) = &sample.segmentation {
            self.file(&base, Modality::Segmentation, name, bytes)?;
        }
        if let Some((name, array)) = &sample.landmarks {
            let mut npz = Vec::new();
            write_npz(&[("landmarks", array)], &mut npz);
            self.file(&base, Modality::Landmarks, name, &npz)?;
        }
        if let Some((name, models)) = &sample.features {
            // A dict holds one array per model (`write_feature_dict` asserts it), and a
            // doctored shard can name a model twice (two members mapped to one model by
            // `KEY.json`, or two struct fields of one name).
            if let Some((i, (model, _))) = models
                .iter()
                .enumerate()
                .find(|(i, (m, _))| models[..*i].iter().any(|(other, _)| other == m))
            {
                bail!(
                    "{}: the shard gives the features of model {:?} twice (array {} of {})",
                    sanitize(&sample.key),
                    sanitize(model),
                    i + 1,
                    models.len()
                );
            }
            let refs: Vec<(&str, &Array)> = models.iter().map(|(m, a)| (m.as_str(), a)).collect();
            let mut pickle = Vec::new();
            write_feature_dict(&refs, &mut pickle);
            self.file(&base, Modality::Features, name, &pickle)?;
        }
        self.samples += 1;
        Ok(())
    }

    fn file(
        &mut self,
        base: &Path,
        modality: Modality,
        name: &str,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        let dir = base.join(modality.folder());
        if !dir.is_dir() {
            for ancestor in [base, dir.as_path()] {
                if !ancestor.is_dir() {
                    fs::create_dir(ancestor)
                        .with_context(|| format!("{}: cannot create", ancestor.display()))?;
                    self.dirs.push(ancestor.to_path_buf());
                }
            }
        }
        let path = dir.join(plain_name(name)?);
        let existed = fs::symlink_metadata(&path).is_ok();
        fs::write(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
        if !existed {
            self.files.push(path);
        }
        Ok(())
    }

    /// Removes every file and folder this run created (files it replaced under
    /// `--overwrite` cannot be brought back, and are left as written).
    fn remove_all(mut self) {
        for file in &self.files {
            let _ = fs::remove_file(file);
        }
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        self.folder.release();
        if self.folder.created {
            let _ = fs::remove_dir(&self.out);
        }
    }
}

/// One sample's content, whatever shard it came from.
struct Extracted {
    key: String,
    part: Option<i16>,
    image: (String, Vec<u8>),
    segmentation: Option<(String, Vec<u8>)>,
    landmarks: Option<(String, Array)>,
    features: Option<(String, Vec<(String, Array)>)>,
}

impl Extracted {
    /// A Parquet row, each array narrowed back to its source file's dtype.
    fn from_row(row: StoredRow) -> anyhow::Result<Extracted> {
        let StoredRow {
            key,
            part,
            image,
            segmentation,
            landmarks,
            features,
            source_dtypes,
        } = row;
        let narrow = |column: &str, array: Array| match source_dtypes.get(column) {
            Some(&to) => array.cast(to),
            None => array,
        };
        let image = image.with_context(|| format!("{}: no image", sanitize(&key)))?;
        Ok(Extracted {
            landmarks: landmarks.map(|a| (format!("{key}.npz"), narrow("landmarks", a))),
            features: features.map(|models| {
                let models = models
                    .into_iter()
                    .map(|(m, a)| {
                        let a = narrow(&format!("pretrained_features.{m}"), a);
                        (m, a)
                    })
                    .collect();
                (format!("{key}.pickle"), models)
            }),
            image,
            segmentation,
            part,
            key,
        })
    }

    /// A tar sample, as its `KEY.json` describes it.
    fn from_tar(sample: TarSample) -> anyhow::Result<Extracted> {
        let TarSample { key, mut members } = sample;
        let info: SampleInfo = serde_json::from_slice(
            &members
                .remove(INFO_MEMBER)
                .with_context(|| format!("{}: no json member", sanitize(&key)))?,
        )
        .with_context(|| {
            format!(
                "{}: its json member is not a sample description",
                sanitize(&key)
            )
        })?;
        if info.key != key {
            bail!(
                "{}: its json names key {}",
                sanitize(&key),
                sanitize(&info.key)
            );
        }
        let is_missing = |m: &str| info.missing.iter().any(|x| x == m);
        let image_ext = if members.contains_key("png") {
            "png"
        } else {
            "jpg"
        };
        let image = members
            .remove(image_ext)
            .with_context(|| format!("{}: no image member", sanitize(&key)))?;
        let segmentation = members
            .remove(SEGMENTATION_MEMBER)
            .filter(|_| !is_missing("segmentation"));
        // Members hold their column's dtype; each array goes back in the source file's dtype.
        let narrow = |member: &str, array: Array| match info
            .source_dtypes
            .get(member)
            .and_then(|n| DType::from_name(n))
        {
            Some(to) => array.cast(to),
            None => array,
        };
        let landmarks = match members.remove(LANDMARKS_MEMBER) {
            Some(bytes) if !is_missing("landmarks") => Some(narrow(
                LANDMARKS_MEMBER,
                read_named_array(&bytes, "landmarks", bytes.len())
                    .with_context(|| format!("{}.{LANDMARKS_MEMBER}", sanitize(&key)))?,
            )),
            _ => None,
        };
        let mut models = Vec::new();
        for (wds_name, model) in &info.pretrained_features {
            let member = format!("{wds_name}.npy");
            let Some(bytes) = members.remove(&member) else {
                continue;
            };
            if !is_missing(&format!("pretrained_features.{model}")) {
                let array = read_named_array(&bytes, wds_name, bytes.len())
                    .with_context(|| format!("{}.{member}", sanitize(&key)))?;
                models.push((model.clone(), narrow(&member, array)));
            }
        }
        let files = info.files;
        let name = |given: Option<String>, default: String| given.unwrap_or(default);
        Ok(Extracted {
            image: (files.image, image),
            segmentation: segmentation.map(|b| (name(files.segmentation, format!("{key}.png")), b)),
            landmarks: landmarks.map(|a| (name(files.landmarks, format!("{key}.npz")), a)),
            features: (!models.is_empty()).then(|| {
                (
                    name(files.pretrained_features, format!("{key}.pickle")),
                    models,
                )
            }),
            part: info.part,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_model_given_twice_is_an_error_not_a_panic() {
        // Two members mapped to one model by KEY.json: the pickle writer asserts that model
        // names are unique. Found by review of extract while fixing the fuzzer's findings.
        let key = "SFHQ_pt1_00000001";
        let info = serde_json::json!({
            "key": key, "part": 1, "width": 1024, "height": 1024,
            "files": {"image": format!("{key}.jpg"), "segmentation": null,
                      "landmarks": null, "pretrained_features": null},
            "sha256": {"image": "", "segmentation": null, "landmarks": null,
                       "pretrained_features": null},
            "pretrained_features": {"a": "CLIP", "b": "CLIP"},
            "missing": [],
        });
        let array = Array {
            dtype: DType::F32,
            shape: vec![1, 2],
            data: vec![0; 8],
        };
        let mut npy = Vec::new();
        crate::encode::npy::write_npy(&array, DType::F32, &mut npy);
        let members: BTreeMap<String, Vec<u8>> = [
            ("json", info.to_string().into_bytes()),
            ("jpg", b"not decoded".to_vec()),
            ("a.npy", npy.clone()),
            ("b.npy", npy),
        ]
        .into_iter()
        .map(|(m, b)| (m.to_string(), b))
        .collect();
        let sample = Extracted::from_tar(TarSample {
            key: key.to_string(),
            members,
        })
        .unwrap();
        let t = tempfile::tempdir().unwrap();
        let mut writer = Writer::new(&t.path().join("out"), false, false).unwrap();
        let err = writer.write(&sample).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SFHQ_pt1_00000001: the shard gives the features of model \"CLIP\" twice (array 2 of 2)"
        );
        writer.remove_all();
    }
}
