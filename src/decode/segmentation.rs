//! Segmentation label maps: PNG bytes in, one label per pixel out.
//!
//! SFHQ maps are 8-bit grayscale (mode `L`) or palette (`P`) PNGs; in both the stored
//! sample value is the label, so the decoder keeps palette indices as they are
//! (`Transformations::IDENTITY`) instead of expanding them to colours the way image
//! libraries do by default.

use std::io::Cursor;

/// A decoded map: `labels[y * width + x]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    pub width: u32,
    pub height: u32,
    pub labels: Vec<u8>,
}

/// Why a map could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelMapError {
    #[error("not a readable PNG: {0}")]
    Unreadable(String),
    #[error("PNG is {found}, a label map must be 8-bit grayscale or 8-bit palette")]
    NotSingleChannel { found: String },
}

/// Decodes an 8-bit grayscale or palette PNG into its labels. The caller has already
/// checked the header's pixel count against the size limit; `max_bytes` is passed to the
/// PNG decoder as a second guard.
pub fn decode_label_map(bytes: &[u8], max_bytes: usize) -> Result<LabelMap, LabelMapError> {
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: max_bytes });
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .map_err(|e| LabelMapError::Unreadable(e.to_string()))?;
    let info = reader.info();
    let (color, depth) = (info.color_type, info.bit_depth);
    let single_channel = matches!(color, png::ColorType::Grayscale | png::ColorType::Indexed);
    if !single_channel || depth != png::BitDepth::Eight {
        return Err(LabelMapError::NotSingleChannel {
            found: format!("{color:?} with {} bits per sample", depth as u8),
        });
    }
    let (width, height) = (info.width, info.height);
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| LabelMapError::Unreadable("image dimensions overflow".to_string()))?;
    let mut labels = vec![0u8; size];
    reader
        .next_frame(&mut labels)
        .map_err(|e| LabelMapError::Unreadable(e.to_string()))?;
    labels.truncate(width as usize * height as usize);
    Ok(LabelMap {
        width,
        height,
        labels,
    })
}

impl LabelMap {
    /// Largest label in the map (0 for an empty map).
    pub fn max_label(&self) -> u8 {
        self.labels.iter().copied().max().unwrap_or(0)
    }

    /// Share of aligned `block`x`block` tiles whose pixels all carry one label: 1.0 for a
    /// nearest-neighbour upscale by `block`, lower for a map that was computed at full size
    /// or resampled with interpolation.
    pub fn pure_block_share(&self, block: usize) -> f64 {
        let (w, h) = (self.width as usize, self.height as usize);
        let (bx, by) = (w / block, h / block);
        if bx == 0 || by == 0 {
            return 0.0;
        }
        let row = |y: usize| &self.labels[y * w..y * w + bx * block];
        let mut pure = 0usize;
        for ty in 0..by {
            let top = row(ty * block);
            // An upscaled map repeats each row `block` times: one memcmp per row settles
            // the block row, and only its first row's runs need looking at. This check
            // runs on every map, so it must cost next to nothing beside the PNG decode.
            if (1..block).all(|dy| row(ty * block + dy) == top) {
                pure += top
                    .chunks_exact(block)
                    .filter(|run| run.iter().all(|&l| l == run[0]))
                    .count();
                continue;
            }
            for tx in 0..bx {
                let first = top[tx * block];
                let is_pure = (0..block).all(|dy| {
                    row(ty * block + dy)[tx * block..(tx + 1) * block]
                        .iter()
                        .all(|&l| l == first)
                });
                pure += usize::from(is_pure);
            }
        }
        pure as f64 / (bx * by) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(color);
            enc.set_depth(png::BitDepth::Eight);
            if color == png::ColorType::Indexed {
                enc.set_palette(vec![0u8; 256 * 3]);
            }
            enc.write_header().unwrap().write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn grayscale_values_are_labels() {
        let map = decode_label_map(
            &encode(2, 2, png::ColorType::Grayscale, &[0, 1, 17, 18]),
            1 << 20,
        )
        .unwrap();
        assert_eq!(map.labels, vec![0, 1, 17, 18]);
        assert_eq!(map.max_label(), 18);
    }

    #[test]
    fn palette_indices_are_kept_not_expanded() {
        let map =
            decode_label_map(&encode(2, 1, png::ColorType::Indexed, &[5, 13]), 1 << 20).unwrap();
        assert_eq!(map.labels, vec![5, 13]);
    }

    #[test]
    fn rgb_is_refused() {
        let err =
            decode_label_map(&encode(1, 1, png::ColorType::Rgb, &[1, 2, 3]), 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PNG is Rgb with 8 bits per sample, a label map must be 8-bit grayscale or 8-bit palette"
        );
    }

    #[test]
    fn block_share_of_an_upscaled_map_is_one() {
        let small = [1u8, 2, 3, 4];
        let mut labels = vec![0u8; 64];
        for y in 0..8 {
            for x in 0..8 {
                labels[y * 8 + x] = small[(y / 4) * 2 + x / 4];
            }
        }
        let mut map = LabelMap {
            width: 8,
            height: 8,
            labels,
        };
        assert_eq!(map.pure_block_share(4), 1.0);
        map.labels[0] = 9;
        assert_eq!(map.pure_block_share(4), 0.75);
    }

    #[test]
    fn garbage_is_unreadable() {
        assert!(matches!(
            decode_label_map(b"not a png", 1 << 20),
            Err(LabelMapError::Unreadable(_))
        ));
    }
}
