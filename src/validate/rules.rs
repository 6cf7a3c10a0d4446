//! The rules, one function per modality: bytes in, typed values and issues out.
//!
//! Each rule reads the header first and applies limits before decoding, so a hostile file
//! costs as little as a good one. Messages name what is wrong and what to do about it;
//! the file and the sample key travel with the [`Issue`].

use crate::decode::array::Array;
use crate::decode::image::{self, ImageFormat, ImageHeader};
use crate::decode::npy::{self, NpyError};
use crate::decode::pickle::{self, PickleError, PickleLimits};
use crate::decode::segmentation::{self, LabelMapError};
use crate::ui::thousands;

use super::statistics::CLASSES;
use super::{Code, Issue};

/// Labels of the 19 CelebAMask-HQ face-parsing classes: 0 (background) to 18 (hat).
pub const MAX_LABEL: u8 = 18;
/// Landmarks and maps were computed on a 256x256 copy and upscaled by this factor.
pub const UPSCALE: u32 = 4;

/// A landmark array of 110x2 float64 is 1,760 bytes; this leaves room for any plausible
/// point count while refusing an archive member that inflates to megabytes.
pub const MAX_LANDMARK_BYTES: usize = 1 << 20;

/// What the rules check against.
#[derive(Debug, Clone)]
pub struct Checks {
    /// Width and height every image and map must have (SFHQ: 1024).
    pub image_size: u32,
    /// Number of landmark points (SFHQ: 110).
    pub landmark_count: usize,
    /// Images and maps whose header declares more pixels are refused before decoding.
    pub max_pixels: u64,
    /// Decode every image fully, not just its header.
    pub deep: bool,
    pub pickle_limits: PickleLimits,
    /// Bytes a landmark `.npy` may inflate to (see [`MAX_LANDMARK_BYTES`]).
    pub max_array_bytes: usize,
}

/// The image rule: format, completeness, size and channels from the header; a full decode
/// with `deep`.
pub fn check_image(
    bytes: &[u8],
    file: &str,
    checks: &Checks,
    issues: &mut Vec<Issue>,
) -> Option<ImageHeader> {
    let header = match image::read_header(bytes) {
        Ok(h) => h,
        Err(e) => {
            issues.push(Issue::new(
                Code::ImageUnreadable,
                file,
                format!("cannot read the image header: {e}; replace the file with a valid JPEG"),
            ));
            return None;
        }
    };
    if header.pixels() > checks.max_pixels {
        issues.push(Issue::new(
            Code::ImageTooLarge,
            file,
            format!(
                "header declares {}x{} = {} pixels, above the limit of {} (raise it with --max-pixels if the image is genuine)",
                header.width, header.height, header.pixels(), checks.max_pixels
            ),
        ));
        return None;
    }
    if !header.complete {
        let marker = match header.format {
            ImageFormat::Jpeg => "the JPEG end marker (FF D9)",
            ImageFormat::Png => "the PNG IEND chunk",
        };
        issues.push(Issue::new(
            Code::ImageTruncated,
            file,
            format!("{marker} is missing: the file was cut short; download or copy it again"),
        ));
    }
    let expected = checks.image_size;
    if header.width != expected || header.height != expected {
        issues.push(Issue::new(
            Code::ImageSize,
            file,
            format!(
                "image is {}x{}, expected {expected}x{expected} (set --image-size if your dataset differs)",
                header.width, header.height
            ),
        ));
    }
    if header.channels != 3 {
        issues.push(Issue::new(
            Code::ImageChannels,
            file,
            format!(
                "image has {} channel(s), expected 3 (RGB); convert it to RGB",
                header.channels
            ),
        ));
    }
    if checks.deep && header.complete {
        if let Err(e) = image::decode_fully(bytes, checks.max_pixels) {
            issues.push(Issue::new(
                Code::ImageUnreadable,
                file,
                format!("the full decode (--deep) failed: {e}; the pixel data is corrupt, replace the file"),
            ));
        }
    }
    Some(header)
}

/// What the segmentation rule measured of a map it decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct MapMeasure {
    /// Share of pure 4x4 blocks, when the map has the full size.
    pub block_share: Option<f64>,
    /// Pixels per class (labels 0 to [`MAX_LABEL`]), for the dataset's class shares.
    pub class_pixels: [u64; CLASSES],
}

/// The segmentation rule. Returns what it measured when the map could be decoded.
pub fn check_segmentation(
    bytes: &[u8],
    file: &str,
    checks: &Checks,
    issues: &mut Vec<Issue>,
) -> Option<MapMeasure> {
    let header = match image::read_header(bytes) {
        Ok(h) if h.format == ImageFormat::Png => h,
        Ok(h) => {
            issues.push(Issue::new(
                Code::SegmentationUnreadable,
                file,
                format!(
                    "label map is a {}, expected a PNG (lossy formats destroy labels)",
                    h.format.name()
                ),
            ));
            return None;
        }
        Err(e) => {
            issues.push(Issue::new(
                Code::SegmentationUnreadable,
                file,
                format!("cannot read the label map header: {e}; replace the file with the part's original PNG"),
            ));
            return None;
        }
    };
    if header.pixels() > checks.max_pixels {
        issues.push(Issue::new(
            Code::SegmentationTooLarge,
            file,
            format!(
                "header declares {}x{} = {} pixels, above the limit of {} (raise it with --max-pixels if the map is genuine)",
                header.width, header.height, header.pixels(), checks.max_pixels
            ),
        ));
        return None;
    }
    let max_bytes = usize::try_from(checks.max_pixels).unwrap_or(usize::MAX);
    let map = match segmentation::summarize_label_map(bytes, max_bytes, MAX_LABEL, UPSCALE as usize)
    {
        Ok(map) => map,
        Err(LabelMapError::NotSingleChannel { found }) => {
            issues.push(Issue::new(
                Code::SegmentationChannels,
                file,
                format!("label map is {found}; it must be 8-bit grayscale (mode L) or palette (mode P) holding labels 0-{MAX_LABEL}"),
            ));
            return None;
        }
        Err(LabelMapError::Unreadable(reason)) => {
            issues.push(Issue::new(
                Code::SegmentationUnreadable,
                file,
                format!("cannot decode the label map: {reason}; replace the file with the part's original PNG"),
            ));
            return None;
        }
    };
    let size = checks.image_size;
    let small = size / UPSCALE;
    if (map.width, map.height) == (small, small) {
        issues.push(Issue::new(
            Code::SegmentationNotUpscaled,
            file,
            format!("label map is {small}x{small}: it was never upscaled x{UPSCALE} to {size}x{size}; upscale it with nearest-neighbour resampling"),
        ));
    } else if (map.width, map.height) != (size, size) {
        issues.push(Issue::new(
            Code::SegmentationSize,
            file,
            format!(
                "label map is {}x{}, expected {size}x{size} like its image",
                map.width, map.height
            ),
        ));
    }
    if map.max_label > MAX_LABEL {
        let (above, max) = (map.above_limit, map.max_label);
        issues.push(Issue::new(
            Code::SegmentationLabels,
            file,
            format!("{above} pixel(s) carry labels above {MAX_LABEL} (largest {max}); face-parsing labels are 0-{MAX_LABEL}"),
        ));
    }
    if let Some(entries) = map.palette_entries {
        if usize::from(map.max_label) >= entries {
            issues.push(Issue::new(
                Code::SegmentationPalette,
                file,
                format!(
                    "the palette has {entries} entries, but pixels use index {}: the PNG specification makes an index beyond the palette an error, and readers may refuse the map or show those pixels black (the labels themselves are kept); save the map as grayscale (mode L) or with a palette of {} entries",
                    map.max_label,
                    MAX_LABEL + 1
                ),
            ));
        }
    }
    let mut class_pixels = [0; CLASSES];
    class_pixels.copy_from_slice(&map.label_pixels[..CLASSES]);
    let mut measure = MapMeasure {
        block_share: None,
        class_pixels,
    };
    if (map.width, map.height) != (size, size) {
        return Some(measure);
    }
    let share = map.pure_block_share();
    if share < 1.0 {
        issues.push(Issue::new(
            Code::SegmentationBlocks,
            file,
            format!(
                "{} of {} aligned {UPSCALE}x{UPSCALE} blocks hold one label ({:.2}%); a nearest-neighbour x{UPSCALE} upscale makes every block pure: the map was resampled or edited at full size",
                thousands(map.pure_blocks),
                thousands(map.blocks),
                share * 100.0
            ),
        ));
    }
    measure.block_share = Some(share);
    Some(measure)
}

/// The landmark rule. Coordinates are judged in the frame SFHQ documents (`image_size`
/// pixels), not against the image's own header: a wrong-sized image is reported by the
/// image rule, and judging its landmarks against it would only repeat that finding.
pub fn check_landmarks(
    bytes: &[u8],
    file: &str,
    checks: &Checks,
    issues: &mut Vec<Issue>,
) -> Option<Array> {
    let array = match npy::read_named_array(bytes, "landmarks", checks.max_array_bytes) {
        Ok(a) => a,
        Err(e @ NpyError::TooLarge { .. }) => {
            issues.push(Issue::new(
                Code::LandmarksTooLarge,
                file,
                format!(
                    "{e}; a landmark array is a few hundred bytes, this file is corrupt or hostile"
                ),
            ));
            return None;
        }
        Err(e) => {
            issues.push(Issue::new(
                Code::LandmarksUnreadable,
                file,
                format!(
                    "{e}; expected an .npz holding an array 'landmarks' of shape ({}, 2)",
                    checks.landmark_count
                ),
            ));
            return None;
        }
    };
    let n = checks.landmark_count;
    if array.shape != [n, 2] {
        issues.push(Issue::new(
            Code::LandmarksShape,
            file,
            format!("landmarks have shape {:?}, expected ({n}, 2) (set --landmarks if your dataset uses another count)", array.shape),
        ));
        return None;
    }
    let values = array.to_f64_vec();
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        issues.push(Issue::new(
            Code::LandmarksNonfinite,
            file,
            format!("{bad} landmark coordinate(s) are NaN or infinite; the landmark detector failed on this image"),
        ));
        return Some(array);
    }
    let (width, height) = (checks.image_size, checks.image_size);
    let max_coord = values.iter().copied().fold(f64::MIN, f64::max);
    let small = f64::from(width / UPSCALE);
    if max_coord <= small {
        issues.push(Issue::new(
            Code::LandmarksNotUpscaled,
            file,
            format!("every coordinate lies within 0..{small} in a {width}x{height} frame: the points were never scaled x{UPSCALE}; multiply them by {UPSCALE}"),
        ));
        return Some(array);
    }
    let outside = values
        .chunks_exact(2)
        .filter(|p| p[0] < 0.0 || p[1] < 0.0 || p[0] > f64::from(width) || p[1] > f64::from(height))
        .count();
    if outside > 0 {
        issues.push(Issue::new(
            Code::LandmarksOutOfBounds,
            file,
            format!("{outside} of {n} points lie outside the {width}x{height} frame (kept: detectors extrapolate occluded points)"),
        ));
    }
    Some(array)
}

/// The feature rule. `expected_dim` gives the vector length each model must have.
pub fn check_features(
    bytes: &[u8],
    file: &str,
    checks: &Checks,
    expected_dim: &dyn Fn(&str) -> Option<usize>,
    issues: &mut Vec<Issue>,
) -> Vec<(String, Array)> {
    let models = match pickle::read_feature_dict(bytes, &checks.pickle_limits) {
        Ok(models) => models,
        Err(e @ PickleError::Unsafe { .. }) => {
            issues.push(Issue::new(
                Code::FeaturesUnsafe,
                file,
                format!("{e}; the file was not executed. Do not open it with pickle.load or numpy allow_pickle=True"),
            ));
            return Vec::new();
        }
        Err(e @ PickleError::Limit { .. }) => {
            issues.push(Issue::new(
                Code::FeaturesUnreadable,
                file,
                format!("{e}; the file is corrupt or hostile"),
            ));
            return Vec::new();
        }
        Err(e) => {
            issues.push(Issue::new(
                Code::FeaturesUnreadable,
                file,
                format!(
                    "{e}; expected a pickled dict of model name -> numpy array of shape (1, D)"
                ),
            ));
            return Vec::new();
        }
    };
    if models.is_empty() {
        issues.push(Issue::new(
            Code::FeaturesUnreadable,
            file,
            "the pickled dict is empty: no feature arrays; re-export the features",
        ));
    }
    let mut any_error = false;
    for (model, array) in &models {
        let mut fail = |code, message: String| {
            any_error = true;
            issues.push(Issue::new(
                code,
                file,
                format!("model '{model}': {message}"),
            ));
        };
        if array.shape.len() != 2 || array.shape[0] != 1 {
            fail(
                Code::FeaturesShape,
                format!("shape {:?}, expected (1, D)", array.shape),
            );
            continue;
        }
        let dim = array.shape[1];
        if let Some(expected) = expected_dim(model) {
            if dim != expected {
                fail(
                    Code::FeaturesDimMismatch,
                    format!("vector has {dim} values, the model's vectors have {expected}: this file holds another model's output"),
                );
                continue;
            }
        }
        let bad = array.to_f64_vec().iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            fail(
                Code::FeaturesNonfinite,
                format!("{bad} value(s) are NaN or infinite (float16 overflow?)"),
            );
        }
    }
    if any_error {
        return Vec::new();
    }
    models
}
