//! The dataset's columns, decided before any row is written.
//!
//! Parquet needs one schema for every shard, while sources may differ in which feature
//! models they carry and in dtypes. A first pass reads only the small files (landmarks and
//! features, about 2 KB a sample against 300 KB of image) and takes the union of models,
//! each with the widest dtype seen and the vector length most samples have. Known SFHQ
//! models keep their published length, so one odd file cannot redefine a column.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::decode::array::DType;
use crate::decode::{npy, pickle};
use crate::sample::Modality;
use crate::source::inventory::Inventory;
use crate::validate::rules::Checks;

/// Published vector lengths of the models SFHQ ships.
pub const KNOWN_DIMS: &[(&str, usize)] = &[("CLIP_ViTL_14@336", 768), ("CLIP_ResNet50x64", 1024)];

/// One feature model's column.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureColumn {
    pub model: String,
    pub dim: usize,
    pub dtype: DType,
    /// The model name as a WebDataset member extension: lower-case `[a-z0-9_]`.
    pub wds_name: String,
}

/// Columns of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSchema {
    /// Landmark element type (float32 when no source carries landmarks: the column is
    /// then all null, but it exists, so every output has the same columns).
    pub landmarks: DType,
    /// Feature models in name order.
    pub features: Vec<FeatureColumn>,
    /// The pictures are stored resized (`convert --resolution`): the Parquet rows also
    /// carry `image_source_sha256` and `segmentation_source_sha256`.
    pub source_hashes: bool,
}

impl DatasetSchema {
    pub fn feature(&self, model: &str) -> Option<&FeatureColumn> {
        self.features.iter().find(|f| f.model == model)
    }

    /// The vector length a model's arrays must have: its column's once the schema exists.
    pub fn expected_dim(&self, model: &str) -> Option<usize> {
        self.feature(model).map(|f| f.dim)
    }
}

/// numpy-style promotion: the narrowest type both values fit in exactly.
pub fn promote(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    let float_for_int = |t: DType| match t {
        Bool | U8 | I8 => F16,
        U16 | I16 => F32,
        _ => F64,
    };
    match (a.is_float(), b.is_float()) {
        (true, true) => a.max(b),
        (true, false) => a.max(float_for_int(b)),
        (false, true) => b.max(float_for_int(a)),
        (false, false) => {
            if a == Bool {
                return b;
            }
            if b == Bool {
                return a;
            }
            let signed = |t: DType| matches!(t, I8 | I16 | I32 | I64);
            match (signed(a), signed(b)) {
                (sa, sb) if sa == sb => {
                    if a.itemsize() >= b.itemsize() {
                        a
                    } else {
                        b
                    }
                }
                _ => {
                    let (s, u) = if signed(a) { (a, b) } else { (b, a) };
                    if s.itemsize() > u.itemsize() {
                        s
                    } else {
                        match u {
                            U8 => I16,
                            U16 => I32,
                            U32 => I64,
                            _ => F64,
                        }
                    }
                }
            }
        }
    }
}

/// Lower-cases a model name and maps every other character to `_`:
/// `CLIP_ViTL_14@336` -> `clip_vitl_14_336`.
pub fn wds_name(model: &str) -> String {
    model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    landmarks: Option<DType>,
    /// model -> (dtype, dim -> count)
    models: BTreeMap<String, (DType, BTreeMap<usize, u64>)>,
}

impl Tally {
    fn merge(mut self, other: Tally) -> Tally {
        self.landmarks = match (self.landmarks, other.landmarks) {
            (Some(a), Some(b)) => Some(promote(a, b)),
            (a, b) => a.or(b),
        };
        for (model, (dtype, dims)) in other.models {
            let entry = self.models.entry(model).or_insert((dtype, BTreeMap::new()));
            entry.0 = promote(entry.0, dtype);
            for (dim, count) in dims {
                *entry.1.entry(dim).or_default() += count;
            }
        }
        self
    }
}

/// Reads every landmark and feature file once and decides the columns. Files that cannot
/// be decoded are skipped here; the main pass reports them.
pub fn discover(inventory: &Inventory, checks: &Checks, max_file_bytes: u64) -> DatasetSchema {
    let tally = inventory
        .samples
        .par_iter()
        .fold(Tally::default, |mut tally, sample| {
            if let Some(Ok(bytes)) = inventory.read(sample, Modality::Landmarks, max_file_bytes) {
                if let Ok(array) =
                    npy::read_named_array(&bytes, "landmarks", checks.max_array_bytes)
                {
                    if array.shape == [checks.landmark_count, 2] {
                        tally.landmarks = Some(
                            tally
                                .landmarks
                                .map_or(array.dtype, |t| promote(t, array.dtype)),
                        );
                    }
                }
            }
            if let Some(Ok(bytes)) = inventory.read(sample, Modality::Features, max_file_bytes) {
                if let Ok(models) = pickle::read_feature_dict(&bytes, &checks.pickle_limits) {
                    for (model, array) in models {
                        if array.shape.len() != 2 || array.shape[0] != 1 {
                            continue;
                        }
                        let entry = tally
                            .models
                            .entry(model)
                            .or_insert((array.dtype, BTreeMap::new()));
                        entry.0 = promote(entry.0, array.dtype);
                        *entry.1.entry(array.shape[1]).or_default() += 1;
                    }
                }
            }
            tally
        })
        .reduce(Tally::default, Tally::merge);

    let landmarks = tally.landmarks.unwrap_or(DType::F32);
    let features = tally
        .models
        .into_iter()
        .map(|(model, (dtype, dims))| {
            let known = KNOWN_DIMS
                .iter()
                .find(|(name, _)| *name == model)
                .map(|&(_, d)| d);
            // The most common length; ties go to the smaller so the choice never depends on order.
            let majority = dims
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(&d, _)| d)
                .expect("a tallied model has at least one length");
            FeatureColumn {
                wds_name: wds_name(&model),
                dim: known.unwrap_or(majority),
                dtype,
                model,
            }
        })
        .collect();
    DatasetSchema {
        landmarks,
        features,
        source_hashes: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn promotion_matches_numpy() {
        for (a, b, want) in [
            (F16, F32, F32),
            (F32, F64, F64),
            (I16, F16, F32),
            (I8, F16, F16),
            (I32, F32, F64),
            (U8, I8, I16),
            (U64, I64, F64),
            (I32, I64, I64),
            (Bool, U8, U8),
        ] {
            assert_eq!(promote(a, b), want, "{a} + {b}");
            assert_eq!(promote(b, a), want, "{b} + {a}");
        }
    }

    #[test]
    fn model_names_become_safe_extensions() {
        assert_eq!(wds_name("CLIP_ViTL_14@336"), "clip_vitl_14_336");
        assert_eq!(wds_name("DINO ViT-B/8"), "dino_vit_b_8");
    }
}
