//! Segmentation label maps: PNG bytes in, what the checks need out.
//!
//! SFHQ maps are 8-bit grayscale (mode `L`) or palette (`P`) PNGs; in both the stored
//! sample value is the label, so the decoder keeps palette indices as they are
//! (`Transformations::IDENTITY`) instead of expanding them to colours the way image
//! libraries do by default.
//!
//! Every map of a 425,000-sample dataset is decoded, so the map is summarised row by row
//! as the decoder produces it: no full-size pixel buffer is allocated per map (that was a
//! fresh megabyte, zeroed and faulted in, for every sample), and the label and block
//! checks run while the row is still in cache. The pixels per label (the dataset's class
//! shares) are counted on the way: a band whose rows are equal is counted from its first
//! row, and a band of pure tiles from one pixel per tile, so an upscaled map costs one
//! count per 4x4 block, not per pixel.

use std::io::Cursor;

/// What the segmentation rules need to know about a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMapSummary {
    pub width: u32,
    pub height: u32,
    /// Largest label in the map (0 for an empty map).
    pub max_label: u8,
    /// Pixels whose label is above the limit given to [`summarize_label_map`].
    pub above_limit: u64,
    /// Aligned `block`x`block` tiles whose pixels all carry one label, of `blocks`.
    pub pure_blocks: u64,
    pub blocks: u64,
    /// Entries of the palette (`PLTE`) of a palette map; `None` for grayscale.
    pub palette_entries: Option<usize>,
    /// Pixels per label value, over the whole map (tiles or not).
    pub label_pixels: [u64; 256],
}

impl LabelMapSummary {
    /// Share of aligned tiles holding one label: 1.0 for a nearest-neighbour upscale by
    /// the block size, lower for a map computed at full size or resampled with
    /// interpolation; 0.0 when the map is smaller than one tile.
    pub fn pure_block_share(&self) -> f64 {
        if self.blocks == 0 {
            0.0
        } else {
            self.pure_blocks as f64 / self.blocks as f64
        }
    }
}

/// A PNG colour type as people name it.
fn color_name(color: png::ColorType) -> &'static str {
    match color {
        png::ColorType::Grayscale => "grayscale",
        png::ColorType::Rgb => "RGB",
        png::ColorType::Indexed => "palette",
        png::ColorType::GrayscaleAlpha => "grayscale with alpha",
        png::ColorType::Rgba => "RGBA",
    }
}

/// Why a map could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelMapError {
    #[error("not a readable PNG: {0}")]
    Unreadable(String),
    #[error("PNG is {found}, a label map must be 8-bit grayscale or 8-bit palette")]
    NotSingleChannel { found: String },
}

/// Decodes an 8-bit grayscale or palette PNG and summarises its labels: the largest,
/// how many exceed `label_limit`, and how many aligned `block`x`block` tiles are pure.
/// The caller has already checked the header's pixel count against the size limit;
/// `max_bytes` is passed to the PNG decoder as a second guard.
pub fn summarize_label_map(
    bytes: &[u8],
    max_bytes: usize,
    label_limit: u8,
    block: usize,
) -> Result<LabelMapSummary, LabelMapError> {
    let unreadable = |e: png::DecodingError| LabelMapError::Unreadable(e.to_string());
    // A chunk whose CRC does not match is damage, ancillary or not (the decoder skips bad
    // ancillary chunks by default; PIL refuses the file).
    let mut options = png::DecodeOptions::default();
    options.set_skip_ancillary_crc_failures(false);
    let mut decoder = png::Decoder::new_with_options(Cursor::new(bytes), options);
    decoder.set_limits(png::Limits { bytes: max_bytes });
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(unreadable)?;
    let info = reader.info();
    let (color, depth) = (info.color_type, info.bit_depth);
    let single_channel = matches!(color, png::ColorType::Grayscale | png::ColorType::Indexed);
    if !single_channel || depth != png::BitDepth::Eight {
        return Err(LabelMapError::NotSingleChannel {
            found: format!("{} with {} bits per sample", color_name(color), depth as u8),
        });
    }
    let (width, height, interlaced) = (info.width, info.height, info.interlaced);
    let palette_entries = (color == png::ColorType::Indexed)
        .then(|| info.palette.as_ref().map_or(0, |p| p.len() / 3));
    let mut summary = Summarizer::new(width, height, label_limit, block);
    summary.summary.palette_entries = palette_entries;
    if interlaced {
        // Adam7 delivers the rows out of order, so an interlaced map (no SFHQ map is one)
        // is decoded whole first.
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| LabelMapError::Unreadable("image dimensions overflow".to_string()))?;
        let mut pixels = vec![0u8; size];
        reader.next_frame(&mut pixels).map_err(unreadable)?;
        for row in pixels.chunks_exact(width as usize).take(height as usize) {
            summary.push_row(row);
        }
    } else {
        while let Some(row) = reader.next_row().map_err(unreadable)? {
            summary.push_row(row.data());
        }
    }
    if summary.rows != u64::from(height) {
        return Err(LabelMapError::Unreadable(format!(
            "image data ends after {} of {height} rows",
            summary.rows
        )));
    }
    Ok(summary.finish())
}

/// Folds rows into a [`LabelMapSummary`], holding only the current band of `block` rows.
struct Summarizer {
    summary: LabelMapSummary,
    label_limit: u8,
    block: usize,
    /// Tiles per band; a band covers `tiles * block` columns.
    tiles: usize,
    band: Vec<u8>,
    rows_in_band: usize,
    rows: u64,
}

impl Summarizer {
    fn new(width: u32, height: u32, label_limit: u8, block: usize) -> Summarizer {
        let tiles = (width as usize).checked_div(block).unwrap_or(0);
        Summarizer {
            summary: LabelMapSummary {
                width,
                height,
                max_label: 0,
                above_limit: 0,
                pure_blocks: 0,
                blocks: 0,
                palette_entries: None,
                label_pixels: [0; 256],
            },
            label_limit,
            block,
            tiles,
            band: vec![0; tiles * block * block],
            rows_in_band: 0,
            rows: 0,
        }
    }

    fn push_row(&mut self, row: &[u8]) {
        let row = &row[..self.summary.width as usize];
        self.rows += 1;
        let row_max = row.iter().copied().fold(0, u8::max);
        self.summary.max_label = self.summary.max_label.max(row_max);
        if row_max > self.label_limit {
            let limit = self.label_limit;
            self.summary.above_limit += row.iter().filter(|&&l| l > limit).count() as u64;
        }
        let span = self.tiles * self.block;
        // Columns beyond the last whole tile belong to no band: counted here.
        count_pixels(&mut self.summary.label_pixels, &row[span..], 1);
        if self.tiles == 0 {
            return;
        }
        let slot = self.rows_in_band * span;
        self.band[slot..slot + span].copy_from_slice(&row[..span]);
        self.rows_in_band += 1;
        if self.rows_in_band == self.block {
            let pixels = &mut self.summary.label_pixels;
            self.summary.pure_blocks += pure_tiles(&self.band, span, self.block, pixels) as u64;
            self.summary.blocks += self.tiles as u64;
            self.rows_in_band = 0;
        }
    }

    fn finish(mut self) -> LabelMapSummary {
        // Rows below the last whole band.
        let span = self.tiles * self.block;
        let rest = &self.band[..self.rows_in_band * span];
        count_pixels(&mut self.summary.label_pixels, rest, 1);
        self.summary
    }
}

/// Adds `weight` to the count of every label in `labels`.
fn count_pixels(counts: &mut [u64; 256], labels: &[u8], weight: u64) {
    for &label in labels {
        counts[usize::from(label)] += weight;
    }
}

/// Pure tiles in a band of `block` rows of `span` pixels each; adds the band's pixels to
/// `counts`.
fn pure_tiles(band: &[u8], span: usize, block: usize, counts: &mut [u64; 256]) -> usize {
    let row = |dy: usize| &band[dy * span..(dy + 1) * span];
    let top = row(0);
    // An upscaled map repeats each row `block` times: one memcmp per row settles the
    // band, and only the first row's runs need looking at (each of its pixels stands for
    // `block` pixels).
    if (1..block).all(|dy| row(dy) == top) {
        if block == 4 {
            return runs_of_four(top, counts);
        }
        count_pixels(counts, top, block as u64);
        return top
            .chunks_exact(block)
            .filter(|run| run.iter().all(|&l| l == run[0]))
            .count();
    }
    count_pixels(counts, &band[..block * span], 1);
    (0..span / block)
        .filter(|&tx| {
            let first = top[tx * block];
            (0..block).all(|dy| {
                row(dy)[tx * block..(tx + 1) * block]
                    .iter()
                    .all(|&l| l == first)
            })
        })
        .count()
}

/// The first row of a band of four equal rows: its pure runs of four pixels, counted, and
/// its pixels added to `counts` four times. Eight pixels that continue the current run are
/// one comparison of a u64 with the label repeated (most of a map lies inside one class), so
/// an upscaled map costs about one step per two 4x4 blocks, and a label is counted once per
/// run instead of once per pixel.
fn runs_of_four(top: &[u8], counts: &mut [u64; 256]) -> usize {
    let mut runs = Runs::new(top.first().copied().unwrap_or(0));
    let mut words = top.chunks_exact(8);
    for word in &mut words {
        let bytes: [u8; 8] = word.try_into().expect("chunks of eight");
        if u64::from_le_bytes(bytes) == runs.repeated {
            runs.pure += 2;
            runs.pixels += 8;
        } else {
            runs.tile(&word[..4], counts);
            runs.tile(&word[4..], counts);
        }
    }
    for tile in words.remainder().chunks_exact(4) {
        runs.tile(tile, counts);
    }
    runs.finish(counts)
}

/// The run of pure tiles being measured by [`runs_of_four`].
struct Runs {
    label: u8,
    /// `label` in every byte of a u64.
    repeated: u64,
    /// Pixels of the row in the run.
    pixels: u64,
    /// Pure tiles seen.
    pure: usize,
}

impl Runs {
    fn new(label: u8) -> Runs {
        Runs {
            label,
            repeated: u64::from(label) * 0x0101_0101_0101_0101,
            pixels: 0,
            pure: 0,
        }
    }

    fn tile(&mut self, tile: &[u8], counts: &mut [u64; 256]) {
        let first = tile[0];
        if tile.iter().any(|&l| l != first) {
            count_pixels(counts, tile, 4);
            return;
        }
        self.pure += 1;
        if first != self.label {
            counts[usize::from(self.label)] += self.pixels * 4;
            *self = Runs {
                pure: self.pure,
                ..Runs::new(first)
            };
        }
        self.pixels += 4;
    }

    fn finish(self, counts: &mut [u64; 256]) -> usize {
        counts[usize::from(self.label)] += self.pixels * 4;
        self.pure
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

    fn summarize(png: &[u8]) -> Result<LabelMapSummary, LabelMapError> {
        summarize_label_map(png, 1 << 20, 18, 4)
    }

    /// An 8x8 map: the x4 nearest-neighbour upscale of a 2x2 one.
    fn upscaled_8x8() -> Vec<u8> {
        let small = [1u8, 2, 3, 4];
        (0..64)
            .map(|i| small[(i / 8 / 4) * 2 + (i % 8) / 4])
            .collect()
    }

    #[test]
    fn grayscale_values_are_labels() {
        let s = summarize(&encode(2, 2, png::ColorType::Grayscale, &[0, 1, 17, 18])).unwrap();
        assert_eq!(
            (s.width, s.height, s.max_label, s.above_limit),
            (2, 2, 18, 0)
        );
    }

    #[test]
    fn labels_above_the_limit_are_counted() {
        let s = summarize(&encode(3, 1, png::ColorType::Grayscale, &[19, 18, 255])).unwrap();
        assert_eq!((s.max_label, s.above_limit), (255, 2));
    }

    #[test]
    fn palette_indices_are_kept_not_expanded() {
        // A palette of all-black entries: expanding it would give labels 0.
        let s = summarize(&encode(2, 1, png::ColorType::Indexed, &[5, 13])).unwrap();
        assert_eq!(s.max_label, 13);
    }

    #[test]
    fn rgb_is_refused() {
        let err = summarize(&encode(1, 1, png::ColorType::Rgb, &[1, 2, 3])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PNG is RGB with 8 bits per sample, a label map must be 8-bit grayscale or 8-bit palette"
        );
    }

    #[test]
    fn block_share_of_an_upscaled_map_is_one() {
        let mut labels = upscaled_8x8();
        let s = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!((s.pure_blocks, s.blocks), (4, 4));
        assert_eq!(s.pure_block_share(), 1.0);
        // One pixel off in the first row of a band, then in a later row of a band.
        labels[0] = 9;
        let s = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!(s.pure_block_share(), 0.75);
        labels[0] = 1;
        labels[8 * 6 + 7] = 0;
        let s = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!(s.pure_block_share(), 0.75);
    }

    #[test]
    fn rows_and_columns_beyond_the_last_whole_tile_are_not_tiles() {
        // 10x9: two tiles across, two bands down; the last 2 columns and 1 row are in no
        // tile, but their pixels are counted.
        let labels: Vec<u8> = (0..90)
            .map(|i| if i % 10 >= 8 || i / 10 == 8 { 7 } else { 1 })
            .collect();
        let s = summarize(&encode(10, 9, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!((s.pure_blocks, s.blocks, s.max_label), (4, 4, 7));
        assert_eq!((s.label_pixels[1], s.label_pixels[7]), (64, 26));
        assert_eq!(s.label_pixels.iter().sum::<u64>(), 90);
    }

    /// The counts of every label a map holds, counted the plain way.
    fn plain_counts(labels: &[u8]) -> [u64; 256] {
        let mut counts = [0u64; 256];
        for &l in labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    #[test]
    fn label_pixels_are_exact_for_pure_and_impure_bands() {
        // 8x8, x4 upscale of [[1, 2], [3, 4]]: every band pure, 16 pixels per label.
        let mut labels = upscaled_8x8();
        let s = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!(&s.label_pixels[..5], &[0, 16, 16, 16, 16]);
        assert_eq!(s.label_pixels, plain_counts(&labels));
        // Rows of the first band equal but one run impure (a column of label 9 in every
        // row of the band: counted from the first row, times 4).
        for y in 0..4 {
            labels[y * 8 + 1] = 9;
        }
        let s = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!(
            (s.pure_blocks, s.label_pixels[9], s.label_pixels[1]),
            (3, 4, 12)
        );
        assert_eq!(s.label_pixels, plain_counts(&labels));
        // Rows of the second band differ: every pixel counted.
        labels[8 * 6 + 7] = 0;
        let s = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        assert_eq!(
            (s.pure_blocks, s.label_pixels[0], s.label_pixels[4]),
            (2, 1, 15)
        );
        assert_eq!(s.label_pixels, plain_counts(&labels));
    }

    #[test]
    fn label_pixels_of_wide_upscaled_maps_are_exact() {
        // 100x8 small maps (runs longer and shorter than a chunk of eight tiles, changes
        // inside chunks) upscaled x4 to 400x32, plus 3 stray columns: every band pure.
        for seed in 0..4u32 {
            let small: Vec<u8> = (0..800u32)
                .map(|i| ((i / (1 + seed * 7 + i % 5) + seed) % 19) as u8)
                .collect();
            let (w, h) = (403usize, 32usize);
            let labels: Vec<u8> = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    if x >= 400 {
                        18
                    } else {
                        small[(y / 4) * 100 + x / 4]
                    }
                })
                .collect();
            let png = encode(w as u32, h as u32, png::ColorType::Grayscale, &labels);
            let s = summarize(&png).unwrap();
            assert_eq!((s.pure_blocks, s.blocks), (800, 800));
            assert_eq!(s.label_pixels, plain_counts(&labels), "seed {seed}");
        }
    }

    #[test]
    fn label_pixels_of_a_map_smaller_than_a_tile_are_counted() {
        let s = summarize(&encode(
            3,
            2,
            png::ColorType::Grayscale,
            &[0, 5, 5, 18, 18, 18],
        ))
        .unwrap();
        assert_eq!(
            (s.label_pixels[0], s.label_pixels[5], s.label_pixels[18]),
            (1, 2, 3)
        );
    }

    #[test]
    fn a_map_smaller_than_a_tile_has_no_pure_share() {
        let s = summarize(&encode(2, 2, png::ColorType::Grayscale, &[1, 1, 1, 1])).unwrap();
        assert_eq!((s.blocks, s.pure_block_share()), (0, 0.0));
    }

    /// A grayscale PNG written by hand with Adam7 interlacing (the `png` crate's encoder
    /// does not write it): each pass's rows with filter type 0, deflated.
    fn interlaced_png(width: u32, height: u32, labels: &[u8]) -> Vec<u8> {
        const PASSES: [(u32, u32, u32, u32); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in PASSES {
            for y in (y0..height).step_by(dy as usize) {
                let row: Vec<u8> = (x0..width)
                    .step_by(dx as usize)
                    .map(|x| labels[(y * width + x) as usize])
                    .collect();
                if !row.is_empty() {
                    raw.push(0);
                    raw.extend(row);
                }
            }
        }
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut zlib, &raw).unwrap();
        let idat = zlib.finish().unwrap();
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([8, 0, 0, 0, 1]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(&b"IHDR"[..], ihdr), (b"IDAT", idat), (b"IEND", Vec::new())] {
            out.extend((data.len() as u32).to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(&data);
            out.extend(kind);
            out.extend(&data);
            out.extend(crc.finalize().to_be_bytes());
        }
        out
    }

    #[test]
    fn interlaced_maps_give_the_same_summary() {
        let mut labels = upscaled_8x8();
        labels[8 * 5 + 2] = 30;
        let plain = summarize(&encode(8, 8, png::ColorType::Grayscale, &labels)).unwrap();
        let interlaced = summarize(&interlaced_png(8, 8, &labels)).unwrap();
        assert_eq!(interlaced, plain);
        assert_eq!((plain.pure_blocks, plain.above_limit), (3, 1));
    }

    #[test]
    fn a_cut_map_is_unreadable() {
        let labels: Vec<u8> = (0..64 * 64).map(|i| (i * 7 % 19) as u8).collect();
        let png = encode(64, 64, png::ColorType::Grayscale, &labels);
        for cut in [20, png.len() / 2] {
            assert!(
                matches!(summarize(&png[..cut]), Err(LabelMapError::Unreadable(_))),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn garbage_is_unreadable() {
        assert!(matches!(
            summarize(b"not a png"),
            Err(LabelMapError::Unreadable(_))
        ));
    }
}
