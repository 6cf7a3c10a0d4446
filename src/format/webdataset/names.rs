//! Member names and `KEY.json`: how a sample is spelled inside a tar.
//!
//! Readers take a sample's key as the member name up to its first dot and start a new
//! sample whenever the key changes, so keys never contain a dot, and every member name
//! must fit the 100-byte ustar name field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::DatasetSchema;

/// The members every sample has besides its image and its features, in writing order.
pub(crate) const SEGMENTATION_MEMBER: &str = "seg.png";
pub(crate) const LANDMARKS_MEMBER: &str = "landmarks.npy";
pub(crate) const INFO_MEMBER: &str = "json";

/// The tar block size: headers are one block, data is padded to whole blocks.
pub(crate) const BLOCK: u64 = 512;

/// Tar bytes a member of `len` bytes takes: its header and its data padded to a block.
pub(crate) fn member_size(len: usize) -> u64 {
    BLOCK + (len as u64).div_ceil(BLOCK) * BLOCK
}

/// Why a key cannot name WebDataset members.
pub(crate) fn key_problem(key: &str, longest_extension: usize) -> Option<&'static str> {
    if key.contains('.') {
        Some("contains '.', and WebDataset readers end the key at the first dot of a member name")
    } else if key.contains('/') || key.contains('\\') {
        Some("contains a path separator")
    } else if !key.chars().all(|c| c.is_ascii_graphic()) {
        Some("contains spaces, control or non-ASCII characters that tar readers disagree on")
    } else if key.len() + 1 + longest_extension > 100 {
        Some("is too long for a 100-byte ustar member name")
    } else {
        None
    }
}

/// Feature models whose member names collide with another member of every sample
/// (`landmarks` -> `landmarks.npy`) or with each other (`CLIP_ViTL_14@336` and
/// `clip_vitl_14_336` both -> `clip_vitl_14_336.npy`), one line per clash.
pub(crate) fn member_clashes(schema: &DatasetSchema) -> Vec<String> {
    let mut taken: BTreeMap<String, String> = [
        (SEGMENTATION_MEMBER, "the segmentation map"),
        (LANDMARKS_MEMBER, "the landmarks"),
        (INFO_MEMBER, "the sample's JSON"),
    ]
    .into_iter()
    .map(|(m, what)| (m.to_string(), what.to_string()))
    .collect();
    let mut clashes = Vec::new();
    for f in &schema.features {
        let member = format!("{}.npy", f.wds_name);
        let this = format!("feature model '{}'", f.model);
        match taken.get(&member) {
            Some(other) => clashes.push(format!(
                "{this} and {other} would both be written as KEY.{member}"
            )),
            None => {
                taken.insert(member, this);
            }
        }
    }
    clashes
}

/// The extension of the longest member name a sample gets.
pub(crate) fn longest_extension(schema: &DatasetSchema) -> usize {
    schema
        .features
        .iter()
        .map(|f| f.wds_name.len() + ".npy".len())
        .chain([LANDMARKS_MEMBER.len(), SEGMENTATION_MEMBER.len()])
        .max()
        .unwrap_or(0)
}

/// Source file names (or their sha256), per modality, as `KEY.json` records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Files {
    pub image: String,
    pub segmentation: Option<String>,
    pub landmarks: Option<String>,
    pub pretrained_features: Option<String>,
}

/// `KEY.json`: what the sample is and where it came from. The writer and the reader share
/// this one type, so a field added here is written and read back alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SampleInfo {
    pub key: String,
    pub part: Option<i16>,
    pub width: u32,
    pub height: u32,
    /// Source file names.
    pub files: Files,
    /// sha256 of each source file (of the stored image and map when `source_sha256` is
    /// present).
    pub sha256: Files,
    /// Member extension -> the model name in the source pickle.
    pub pretrained_features: BTreeMap<String, String>,
    /// Modalities written as stand-ins because the source lacks them.
    pub missing: Vec<String>,
    /// Arrays stored wider than the source file had them (member extension -> source
    /// dtype): members carry their column's dtype, so every sample has one type per member.
    #[serde(default)]
    pub source_dtypes: BTreeMap<String, String>,
    /// `convert --resolution`: the stored image and map were resized; `sha256` holds the
    /// hashes of the stored members and this the hashes of the source files they were
    /// made from. Absent when the members are the source bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source_sha256: Option<crate::sample::SourceHashes>,
}
