//! The vocabulary every layer shares: what a sample is made of ([`Modality`]), its key and
//! part, and the values that travel from the readers through validation to the format
//! writers ([`Blob`], [`Decoded`], [`Payload`], [`Sample`], [`Processed`]).
//!
//! It sits below everything else and imports only value types, so that the sources, the
//! decoders, the validators and the format writers can all speak of samples without
//! importing the engine that moves them.

use serde::{Deserialize, Serialize};

use crate::checksum::sha256_hex;
use crate::decode::array::Array;
use crate::validate::statistics::SampleStatistics;
use crate::validate::Issue;

/// The four kinds of file an SFHQ sample is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Image,
    Segmentation,
    Landmarks,
    Features,
}

impl Modality {
    pub const ALL: [Modality; 4] = [
        Modality::Image,
        Modality::Segmentation,
        Modality::Landmarks,
        Modality::Features,
    ];

    /// The folder name SFHQ uses for this modality.
    pub fn folder(self) -> &'static str {
        match self {
            Modality::Image => "images",
            Modality::Segmentation => "segmentations",
            Modality::Landmarks => "landmarks",
            Modality::Features => "pretrained_features",
        }
    }

    pub(crate) fn accepts_extension(self, ext_lower: &str) -> bool {
        match self {
            Modality::Image => matches!(ext_lower, "jpg" | "jpeg" | "png"),
            Modality::Segmentation => ext_lower == "png",
            Modality::Landmarks => matches!(ext_lower, "npz" | "npy"),
            Modality::Features => matches!(ext_lower, "pickle" | "pkl"),
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn from_folder(name: &str) -> Option<Modality> {
        Modality::ALL
            .into_iter()
            .find(|m| name.eq_ignore_ascii_case(m.folder()))
    }
}

/// The longest extension `extract` gives a sample's files (`KEY.pickle`).
const LONGEST_FILE_EXTENSION: &str = ".pickle";

/// Why a key cannot name the files `extract` writes back (`KEY.jpg`, `KEY.pickle`, ...) on
/// common file systems: the one rule for keys as file names, applied by `convert` before
/// writing (so that every converted folder extracts) and by `extract`.
pub fn key_file_name_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("is empty")
    } else if key.starts_with('.') {
        Some("starts with '.', which would make a hidden file")
    } else if key.contains(['/', '\\']) {
        Some("contains a path separator")
    } else if key.chars().any(char::is_control) {
        Some("contains control characters")
    } else if key.contains([':', '*', '?', '"', '<', '>', '|']) {
        Some("contains one of :*?\"<>|, which Windows file names cannot hold")
    } else if key.len() + LONGEST_FILE_EXTENSION.len() > 255 {
        Some("is too long: with its extension it exceeds the 255-byte file name limit")
    } else {
        None
    }
}

/// A file's bytes as they were read, with its name and hash.
#[derive(Debug, Clone)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub name: String,
    pub sha256: String,
}

/// A decoded file with the name and hash of its source bytes.
#[derive(Debug, Clone)]
pub struct Decoded<T> {
    pub value: T,
    pub name: String,
    pub sha256: String,
}

impl<T> Decoded<T> {
    pub(crate) fn new(value: T, bytes: &[u8], name: String) -> Decoded<T> {
        Decoded {
            value,
            name,
            sha256: sha256_hex(bytes),
        }
    }
}

/// What a valid sample carries to the sinks.
#[derive(Debug, Clone)]
pub struct Payload {
    pub image: Blob,
    pub width: u32,
    pub height: u32,
    pub segmentation: Option<Blob>,
    pub landmarks: Option<Decoded<Array>>,
    /// Model name -> array, in the order of the pickled dict.
    pub features: Option<Decoded<Vec<(String, Array)>>>,
    /// When the pictures were resized (`convert --resolution`): the sha256 of the source
    /// files they were made from. `None` when the stored bytes are the source bytes.
    pub source: Option<SourceHashes>,
}

/// The sha256 of the source image and map of a resized sample (its provenance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceHashes {
    pub image: String,
    pub segmentation: Option<String>,
}

impl Payload {
    /// Bytes the sample adds to a shard before encoding, used to cut shards.
    pub fn size(&self) -> u64 {
        let landmarks = self.landmarks.as_ref().map_or(0, |l| l.value.data.len());
        let features: usize = self
            .features
            .iter()
            .flat_map(|f| &f.value)
            .map(|(_, a)| a.data.len())
            .sum();
        let segmentation = self.segmentation.as_ref().map_or(0, |s| s.bytes.len());
        (self.image.bytes.len() + segmentation + landmarks + features) as u64
    }

    /// The array of a feature model, if this sample has it.
    pub fn feature(&self, model: &str) -> Option<&Array> {
        let models = &self.features.as_ref()?.value;
        models.iter().find(|(m, _)| m == model).map(|(_, a)| a)
    }
}

/// A valid sample on its way to the sinks; shared, so that several sinks read the same
/// bytes without copying them.
#[derive(Debug)]
pub struct Sample {
    pub key: Box<str>,
    pub part: Option<i16>,
    pub payload: Payload,
}

/// One sample after validation.
#[derive(Debug)]
pub struct Processed {
    pub key: Box<str>,
    pub part: Option<i16>,
    pub issues: Vec<Issue>,
    /// `None` when an error excluded the sample, or when the run keeps no payloads.
    pub payload: Option<Payload>,
    /// Share of pure 4x4 blocks of the segmentation map, when it was decoded at full size.
    pub block_share: Option<f64>,
    /// What the sample adds to the dataset's statistics (class pixels, landmark bins).
    pub statistics: SampleStatistics,
    pub bytes_read: u64,
}

impl Processed {
    pub fn is_excluded(&self) -> bool {
        self.issues.iter().any(Issue::is_error)
    }
}

/// The part number in `SFHQ_pt{N}_...`.
pub fn parse_part(key: &str) -> Option<i16> {
    let rest = key.strip_prefix("SFHQ_pt")?;
    let (digits, _) = rest.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_part;

    #[test]
    fn keys_must_be_file_names_again() {
        use super::key_file_name_problem;
        for key in ["SFHQ_pt1_00000001", "face v2", "é", &"k".repeat(248)] {
            assert_eq!(key_file_name_problem(key), None, "{key}");
        }
        for key in [
            "",
            ".hidden",
            "a/b",
            "a\\b",
            "bell\u{7}",
            "a:b",
            "a?b",
            "a|b",
            &"k".repeat(249),
        ] {
            assert!(key_file_name_problem(key).is_some(), "{key:?}");
        }
    }

    #[test]
    fn part_comes_from_the_key() {
        assert_eq!(parse_part("SFHQ_pt2_00070336"), Some(2));
        assert_eq!(parse_part("SFHQ_pt10_1"), Some(10));
        assert_eq!(parse_part("SFHQ_ptx_1"), None);
        assert_eq!(parse_part("face_0001"), None);
    }
}
