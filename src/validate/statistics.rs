//! Dataset statistics that need every sample: the pixels per segmentation class and where
//! the landmarks fall. They are gathered by the validation pass itself (`validate`,
//! `convert`, `report` on raw sources), from the maps and arrays it decodes anyway, so no
//! second pass reads the data again; `convert` records them in `manifest.json`, which is
//! where `report` on a converted folder finds them.
//!
//! Each worker turns its sample into a [`SampleStatistics`] (a few hundred bytes); the one
//! consumer adds those of the samples kept into [`Statistics`]. Only sums are kept, so the
//! result is the same numbers whatever the thread count, and its memory is fixed.

use serde::{Deserialize, Serialize};

use crate::validate::rules::MAX_LABEL;

/// The face-parsing classes: labels 0 to [`MAX_LABEL`].
pub const CLASSES: usize = MAX_LABEL as usize + 1;
/// Bins per side of the landmark density grid over the image frame (16 pixels per bin at
/// 1024).
pub const DENSITY_BINS: u32 = 64;

/// What one sample adds to the statistics (computed in the worker that decoded it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleStatistics {
    /// Pixels per class of its segmentation map, when the map was decoded.
    pub class_pixels: Option<[u64; CLASSES]>,
    /// Its landmarks, when their array was read with the expected shape.
    pub landmarks: Option<LandmarkBins>,
}

/// One sample's landmarks on the density grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LandmarkBins {
    /// The bin (row-major, `y * DENSITY_BINS + x`) of each point inside the frame.
    pub bins: Vec<u16>,
    /// Points outside the frame (or not finite).
    pub outside: u64,
}

impl LandmarkBins {
    /// Bins `(x, y)` pairs (flattened) on a [`DENSITY_BINS`]-square grid over a `frame`-pixel
    /// square. A point on the far edge (x == frame) is inside, as the validation rule
    /// `landmarks.out_of_bounds` counts it.
    pub fn of(values: &[f64], frame: u32) -> LandmarkBins {
        let frame = f64::from(frame.max(1));
        let side = f64::from(DENSITY_BINS);
        let last = DENSITY_BINS - 1;
        let mut out = LandmarkBins::default();
        for p in values.chunks_exact(2) {
            let inside = |v: f64| v.is_finite() && (0.0..=frame).contains(&v);
            if !(inside(p[0]) && inside(p[1])) {
                out.outside += 1;
                continue;
            }
            let bin = |v: f64| ((v / frame * side) as u32).min(last);
            out.bins.push((bin(p[1]) * DENSITY_BINS + bin(p[0])) as u16);
        }
        out
    }
}

/// Every kept sample's statistics, summed (`validate --json`, `manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Segmentation maps counted: those of the samples kept (not excluded).
    pub maps_counted: u64,
    /// Pixels per class (labels 0 to 18) over those maps, at their source size.
    pub segmentation_class_pixels: Vec<u64>,
    pub landmark_density: LandmarkDensity,
}

/// Landmark positions of the kept samples on a grid over the image frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandmarkDensity {
    /// Samples whose landmarks were counted.
    pub samples: u64,
    /// Side of the frame the grid covers, in source pixels (`--image-size`).
    pub frame: u32,
    /// Bins per side.
    pub bins: u32,
    /// Points inside the frame (the sum of `counts`).
    pub points: u64,
    /// Points outside the frame.
    pub outside: u64,
    /// Points per bin, `bins` x `bins`, row by row from the top (`counts[y * bins + x]`).
    pub counts: Vec<u64>,
}

impl Statistics {
    /// Empty statistics for a `frame`-pixel image frame.
    pub fn new(frame: u32) -> Statistics {
        Statistics {
            maps_counted: 0,
            segmentation_class_pixels: vec![0; CLASSES],
            landmark_density: LandmarkDensity {
                samples: 0,
                frame,
                bins: DENSITY_BINS,
                points: 0,
                outside: 0,
                counts: vec![0; (DENSITY_BINS * DENSITY_BINS) as usize],
            },
        }
    }

    /// Adds one kept sample.
    pub fn add(&mut self, sample: &SampleStatistics) {
        if let Some(pixels) = &sample.class_pixels {
            self.maps_counted += 1;
            for (total, n) in self.segmentation_class_pixels.iter_mut().zip(pixels) {
                *total += n;
            }
        }
        if let Some(landmarks) = &sample.landmarks {
            let d = &mut self.landmark_density;
            d.samples += 1;
            d.outside += landmarks.outside;
            d.points += landmarks.bins.len() as u64;
            for &bin in &landmarks.bins {
                d.counts[usize::from(bin)] += 1;
            }
        }
    }
}

impl Default for Statistics {
    fn default() -> Self {
        Statistics::new(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_fall_in_their_bins_and_the_edge_is_inside() {
        // 16 pixels per bin at 1024.
        let b = LandmarkBins::of(
            &[
                0.0,
                0.0,
                15.9,
                16.0,
                1024.0,
                1024.0,
                -0.1,
                5.0,
                f64::NAN,
                1.0,
            ],
            1024,
        );
        assert_eq!(b.bins, vec![0, 64, 64 * 64 - 1]);
        assert_eq!(b.outside, 2);
    }

    #[test]
    fn sums_count_maps_and_points_of_each_sample() {
        let mut s = Statistics::new(1024);
        let mut pixels = [0u64; CLASSES];
        pixels[1] = 10;
        pixels[18] = 6;
        s.add(&SampleStatistics {
            class_pixels: Some(pixels),
            landmarks: Some(LandmarkBins {
                bins: vec![3, 3, 5],
                outside: 1,
            }),
        });
        s.add(&SampleStatistics {
            class_pixels: Some(pixels),
            landmarks: None,
        });
        assert_eq!(s.maps_counted, 2);
        assert_eq!(s.segmentation_class_pixels[1], 20);
        assert_eq!(s.segmentation_class_pixels[18], 12);
        let d = &s.landmark_density;
        assert_eq!((d.samples, d.points, d.outside), (1, 3, 1));
        assert_eq!((d.counts[3], d.counts[5]), (2, 1));
    }
}
