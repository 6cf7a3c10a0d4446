//! Dataset statistics that need every sample: the pixels per segmentation class, where
//! the landmarks fall, how pure each map's 4x4 blocks are and how large the image files are. They are gathered by the validation pass itself (`validate`,
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

/// Equal bins of the block-purity distribution over [0, 1] (1.0 falls in the last).
pub const PURITY_BINS: usize = 20;
/// Bins per octave of the image file size distribution.
pub const SIZE_BINS_PER_OCTAVE: f64 = 8.0;

/// What one sample adds to the statistics (computed in the worker that decoded it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleStatistics {
    /// Pixels per class of its segmentation map, when the map was decoded.
    pub class_pixels: Option<[u64; CLASSES]>,
    /// Its landmarks, when their array was read with the expected shape.
    pub landmarks: Option<LandmarkBins>,
    /// The share of its map's aligned 4x4 blocks that are pure, when measured.
    pub block_share: Option<f64>,
    /// The size of its source image file, in bytes.
    pub image_bytes: Option<u64>,
}

/// The distribution of the share of pure 4x4 blocks per map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurityCounts {
    /// Maps measured.
    pub maps: u64,
    /// Maps whose every block is pure (share 1.0).
    pub pure: u64,
    /// Maps per bin: [`PURITY_BINS`] equal bins over [0, 1], 1.0 in the last.
    pub bins: Vec<u64>,
}

impl Default for PurityCounts {
    fn default() -> Self {
        PurityCounts {
            maps: 0,
            pure: 0,
            bins: vec![0; PURITY_BINS],
        }
    }
}

impl PurityCounts {
    pub fn add(&mut self, share: f64) {
        let share = if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.maps += 1;
        self.pure += u64::from(share >= 1.0);
        let bin = ((share * PURITY_BINS as f64) as usize).min(PURITY_BINS - 1);
        self.bins[bin] += 1;
    }
}

/// The distribution of image file sizes on logarithmic bins: bin b holds the sizes s with
/// floor(8 log2 s) = b (eight bins per doubling: 9% wide).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeCounts {
    /// Images measured.
    pub images: u64,
    /// Smallest and largest size, in bytes (0 when no image was measured).
    pub min: u64,
    pub max: u64,
    /// Images per bin: `[bin, count]` for every bin holding one, by bin.
    pub bins: Vec<[u64; 2]>,
}

impl SizeCounts {
    /// The bin of a size (0 and 1 byte share bin 0).
    pub fn bin(bytes: u64) -> u64 {
        ((bytes.max(1) as f64).log2() * SIZE_BINS_PER_OCTAVE).floor() as u64
    }

    /// The smallest size of a bin.
    pub fn bin_start(bin: u64) -> u64 {
        (bin as f64 / SIZE_BINS_PER_OCTAVE).exp2().ceil() as u64
    }

    pub fn add(&mut self, bytes: u64) {
        self.min = if self.images == 0 {
            bytes
        } else {
            self.min.min(bytes)
        };
        self.max = self.max.max(bytes);
        self.images += 1;
        let bin = SizeCounts::bin(bytes);
        match self.bins.binary_search_by_key(&bin, |b| b[0]) {
            Ok(i) => self.bins[i][1] += 1,
            Err(i) => self.bins.insert(i, [bin, 1]),
        }
    }
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
    /// Pure-block share of the counted maps.
    #[serde(default)]
    pub block_purity: PurityCounts,
    /// Source image file sizes of the kept samples.
    #[serde(default)]
    pub image_bytes: SizeCounts,
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
            block_purity: PurityCounts::default(),
            image_bytes: SizeCounts::default(),
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
        if let Some(share) = sample.block_share {
            self.block_purity.add(share);
        }
        if let Some(bytes) = sample.image_bytes {
            self.image_bytes.add(bytes);
        }
    }
}

impl Statistics {
    /// Whether statistics read from a `manifest.json` have the shape this version writes and
    /// sums that fit: a hand-edited or damaged manifest must not make `report` allocate a
    /// grid of its choosing or overflow a sum. The error says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        fn total(what: &str, values: impl IntoIterator<Item = u64>) -> Result<u64, String> {
            values
                .into_iter()
                .try_fold(0u64, u64::checked_add)
                .ok_or_else(|| format!("{what} add up past 2^64"))
        }
        if self.segmentation_class_pixels.len() != CLASSES {
            return Err(format!(
                "segmentation_class_pixels has {} values, not {CLASSES}",
                self.segmentation_class_pixels.len()
            ));
        }
        total(
            "segmentation_class_pixels",
            self.segmentation_class_pixels.iter().copied(),
        )?;
        let d = &self.landmark_density;
        if d.bins != DENSITY_BINS || d.counts.len() != (DENSITY_BINS * DENSITY_BINS) as usize {
            return Err(format!(
                "landmark_density has bins {} and {} counts, not {DENSITY_BINS} and {}",
                d.bins,
                d.counts.len(),
                DENSITY_BINS * DENSITY_BINS
            ));
        }
        total("landmark_density.counts", d.counts.iter().copied())?;
        let p = &self.block_purity;
        if p.bins.len() != PURITY_BINS || p.pure > p.maps {
            return Err(format!(
                "block_purity has {} bins (not {PURITY_BINS}) or more pure maps ({}) than maps ({})",
                p.bins.len(),
                p.pure,
                p.maps
            ));
        }
        total("block_purity.bins", p.bins.iter().copied())?;
        let s = &self.image_bytes;
        let last = SizeCounts::bin(u64::MAX);
        if s.min > s.max || s.bins.iter().any(|[bin, _]| *bin > last) {
            return Err(format!(
                "image_bytes has min {} above max {} or a bin past {last}",
                s.min, s.max
            ));
        }
        total("image_bytes.bins", s.bins.iter().map(|[_, count]| *count))?;
        Ok(())
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
    fn purity_bins_put_a_pure_map_in_the_last_and_count_it() {
        let mut p = PurityCounts::default();
        for share in [0.0, 0.049, 0.05, 0.5, 0.999, 1.0, f64::NAN] {
            p.add(share);
        }
        assert_eq!((p.maps, p.pure), (7, 1));
        assert_eq!(p.bins[0], 3, "0, 0.049 and NaN");
        assert_eq!((p.bins[1], p.bins[10]), (1, 1));
        assert_eq!(p.bins[PURITY_BINS - 1], 2, "0.999 and 1.0");
        assert_eq!(p.bins.iter().sum::<u64>(), 7);
    }

    #[test]
    fn sizes_fall_in_eighth_octave_bins_kept_in_order() {
        let mut s = SizeCounts::default();
        for bytes in [262_144, 262_145, 300_000, 1, 0] {
            s.add(bytes);
        }
        // 2^18 starts bin 144; 300,000 is 2^18.19: bin 145; 0 and 1 share bin 0.
        assert_eq!(s.bins, vec![[0, 2], [144, 2], [145, 1]]);
        assert_eq!((s.images, s.min, s.max), (5, 0, 300_000));
        assert_eq!(SizeCounts::bin_start(144), 262_144);
        assert!(SizeCounts::bin(SizeCounts::bin_start(145)) == 145);
        assert!(SizeCounts::bin(SizeCounts::bin_start(145) - 1) == 144);
    }

    #[test]
    fn check_accepts_what_add_makes_and_names_what_a_damaged_manifest_breaks() {
        let mut s = Statistics::new(1024);
        s.add(&SampleStatistics {
            class_pixels: Some([1; CLASSES]),
            landmarks: None,
            block_share: Some(1.0),
            image_bytes: Some(300_000),
        });
        assert_eq!(s.check(), Ok(()));
        let broken = |edit: &dyn Fn(&mut Statistics)| {
            let mut b = s.clone();
            edit(&mut b);
            b.check().unwrap_err()
        };
        assert!(broken(&|b| b.landmark_density.bins = 1_000_000_000).contains("landmark_density"));
        assert!(
            broken(&|b| b.landmark_density.counts.pop().map(drop).unwrap_or(())).contains("4096")
        );
        assert!(broken(&|b| b.segmentation_class_pixels.push(1)).contains("20 values"));
        assert!(broken(&|b| b.segmentation_class_pixels[0] = u64::MAX).contains("past 2^64"));
        assert!(broken(&|b| b.image_bytes.min = u64::MAX).contains("min"));
        assert!(broken(&|b| b.block_purity.bins.clear()).contains("block_purity"));
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
            block_share: Some(1.0),
            image_bytes: Some(1000),
        });
        s.add(&SampleStatistics {
            class_pixels: Some(pixels),
            landmarks: None,
            block_share: Some(0.5),
            image_bytes: None,
        });
        assert_eq!(s.maps_counted, 2);
        assert_eq!(s.segmentation_class_pixels[1], 20);
        assert_eq!(s.segmentation_class_pixels[18], 12);
        let d = &s.landmark_density;
        assert_eq!((d.samples, d.points, d.outside), (1, 3, 1));
        assert_eq!((d.counts[3], d.counts[5]), (2, 1));
        assert_eq!((s.block_purity.maps, s.block_purity.pure), (2, 1));
        assert_eq!((s.image_bytes.images, s.image_bytes.max), (1, 1000));
    }
}
