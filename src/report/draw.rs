//! Pixels for the report: the 19-class palette, thumbnails, the overlays SFHQ's own
//! exploration script shows (the coloured label map, the map blended over the face, the 110
//! landmarks as dots), the landmark density image, and PNG encoding.
//!
//! Plain pixel code on RGB buffers: every overlay is a few loops, and exact pixel values
//! are what the tests (and the Chromium interop test) check.

use std::io::Cursor;

/// SFHQ's label order (FORMATS.md: the 19 CelebAMask-HQ classes in BiSeNet face-parsing
/// order), each with the colour CelebAMask-HQ's own colouring script gives that class.
pub(crate) const CLASSES: [(&str, [u8; 3]); 19] = [
    ("background", [0, 0, 0]),
    ("skin", [204, 0, 0]),
    ("left brow", [0, 255, 255]),
    ("right brow", [255, 204, 204]),
    ("left eye", [51, 51, 255]),
    ("right eye", [204, 0, 204]),
    ("glasses", [204, 204, 0]),
    ("left ear", [102, 51, 0]),
    ("right ear", [255, 0, 0]),
    ("earring", [0, 204, 204]),
    ("nose", [76, 153, 0]),
    ("mouth", [102, 204, 0]),
    ("upper lip", [255, 255, 0]),
    ("lower lip", [0, 0, 153]),
    ("neck", [255, 153, 51]),
    ("necklace", [0, 51, 0]),
    ("cloth", [0, 204, 0]),
    ("hair", [0, 0, 204]),
    ("hat", [255, 51, 153]),
];

/// Labels above 18 (a `segmentation.labels` fault) are drawn white, a colour no class has.
pub(crate) const UNKNOWN_LABEL: [u8; 3] = [255, 255, 255];
/// The landmark dots: pure green (no class has it) with a black rim, visible on any face.
pub(crate) const LANDMARK: [u8; 3] = [0, 255, 0];
pub(crate) const LANDMARK_RIM: [u8; 3] = [0, 0, 0];
/// The background of a panel whose picture could not be decoded.
pub(crate) const EMPTY: [u8; 3] = [48, 48, 48];

pub(crate) fn class_colour(label: u8) -> [u8; 3] {
    CLASSES
        .get(usize::from(label))
        .map_or(UNKNOWN_LABEL, |(_, colour)| *colour)
}

/// An RGB picture, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rgb {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Rgb {
    pub fn filled(width: u32, height: u32, colour: [u8; 3]) -> Rgb {
        Rgb {
            width,
            height,
            pixels: colour.repeat(width as usize * height as usize),
        }
    }

    #[cfg(test)]
    pub fn get(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    fn set(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.pixels[i..i + 3].copy_from_slice(&colour);
    }

    /// Copies `other` with its top left corner at (x0, y0), clipped to this picture.
    pub fn paste(&mut self, other: &Rgb, x0: u32, y0: u32) {
        for y in 0..other.height {
            for x in 0..other.width {
                let i = (y as usize * other.width as usize + x as usize) * 3;
                let colour = [other.pixels[i], other.pixels[i + 1], other.pixels[i + 2]];
                self.set(i64::from(x0 + x), i64::from(y0 + y), colour);
            }
        }
    }

    /// PNG bytes (8-bit RGB).
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .expect("writing a PNG header to memory cannot fail");
        writer
            .write_image_data(&self.pixels)
            .expect("the buffer holds width x height RGB pixels");
        writer
            .finish()
            .expect("finishing a PNG in memory cannot fail");
        out
    }
}

/// A label map at full size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LabelMap {
    pub width: u32,
    pub height: u32,
    pub labels: Vec<u8>,
}

impl LabelMap {
    /// Pixels per label 0..=255 over the whole map.
    pub fn histogram(&self) -> [u64; 256] {
        let mut counts = [0u64; 256];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Share of aligned 4x4 tiles that hold one label (as `segmentation.blocks` measures).
    pub fn pure_block_share(&self) -> f64 {
        let (w, h) = (self.width as usize, self.height as usize);
        let (tiles_x, tiles_y) = (w / 4, h / 4);
        if tiles_x == 0 || tiles_y == 0 {
            return 0.0;
        }
        let mut pure = 0u64;
        for ty in 0..tiles_y {
            for tx in 0..tiles_x {
                let first = self.labels[ty * 4 * w + tx * 4];
                let one = (0..4).all(|dy| {
                    let row = (ty * 4 + dy) * w + tx * 4;
                    self.labels[row..row + 4].iter().all(|&l| l == first)
                });
                pure += u64::from(one);
            }
        }
        pure as f64 / (tiles_x * tiles_y) as f64
    }

    /// The map coloured with the palette, scaled to `width` x `height` by nearest neighbour
    /// (labels are categories: averaging them would invent classes).
    pub fn coloured(&self, width: u32, height: u32) -> Rgb {
        let mut out = Rgb::filled(width, height, EMPTY);
        for y in 0..height {
            let sy = (u64::from(y) * u64::from(self.height) / u64::from(height)) as usize;
            for x in 0..width {
                let sx = (u64::from(x) * u64::from(self.width) / u64::from(width)) as usize;
                let label = self.labels[sy * self.width as usize + sx];
                out.set(i64::from(x), i64::from(y), class_colour(label));
            }
        }
        out
    }
}

/// Why a picture could not be drawn; shown on the card.
pub(crate) type DrawError = String;

/// Decodes a JPEG (or any format the image crate reads with our features) into a
/// thumbnail whose longer side is at most `max_side`; returns it and the full size.
pub(crate) fn decode_thumbnail(
    bytes: &[u8],
    max_side: u32,
    max_pixels: u64,
) -> Result<(Rgb, u32, u32), DrawError> {
    let header = crate::decode::image::read_header(bytes).map_err(|e| e.to_string())?;
    if header.pixels() > max_pixels {
        return Err(format!(
            "{}x{} is more than --max-pixels allows; not decoded",
            header.width, header.height
        ));
    }
    let picture = crate::decode::image::decode_within(bytes, max_pixels)?.to_rgb8();
    let (width, height) = picture.dimensions();
    let (tw, th) = thumbnail_size(width, height, max_side);
    let small = image::imageops::thumbnail(&picture, tw, th);
    Ok((
        Rgb {
            width: tw,
            height: th,
            pixels: small.into_raw(),
        },
        width,
        height,
    ))
}

/// The size that fits `width` x `height` into `max_side`, keeping the aspect (never 0).
pub(crate) fn thumbnail_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longer = width.max(height).max(1);
    if longer <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| ((u64::from(side) * u64::from(max_side)) / u64::from(longer)).max(1);
    (scale(width) as u32, scale(height) as u32)
}

/// Decodes an 8-bit grayscale or palette PNG keeping the stored values as labels (palette
/// indices are labels, not colours), within `max_bytes` of decoder memory.
pub(crate) fn decode_label_map(bytes: &[u8], max_bytes: usize) -> Result<LabelMap, DrawError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_limits(png::Limits { bytes: max_bytes });
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a readable PNG: {e}"))?;
    let info = reader.info();
    let single = matches!(
        info.color_type,
        png::ColorType::Grayscale | png::ColorType::Indexed
    );
    if !single || info.bit_depth != png::BitDepth::Eight {
        return Err("not an 8-bit grayscale or palette PNG; not drawn".to_string());
    }
    let (width, height) = (info.width, info.height);
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "image dimensions overflow".to_string())?;
    let mut labels = vec![0u8; size];
    reader
        .next_frame(&mut labels)
        .map_err(|e| format!("not a readable PNG: {e}"))?;
    labels.truncate(width as usize * height as usize);
    Ok(LabelMap {
        width,
        height,
        labels,
    })
}

/// `over` laid on `under` with `alpha` (0..=255) opacity; both the same size.
pub(crate) fn blend(under: &Rgb, over: &Rgb, alpha: u8) -> Rgb {
    assert_eq!(
        (under.width, under.height),
        (over.width, over.height),
        "blend needs pictures of one size"
    );
    let a = u32::from(alpha);
    let pixels = under
        .pixels
        .iter()
        .zip(&over.pixels)
        .map(|(&u, &o)| ((u32::from(u) * (255 - a) + u32::from(o) * a + 127) / 255) as u8)
        .collect();
    Rgb {
        width: under.width,
        height: under.height,
        pixels,
    }
}

/// Draws each point (in the coordinates of a `source_width` x `source_height` picture) on
/// `picture` as a 3x3 green dot with a black rim (5x5); points outside are skipped and
/// counted, and so are non-finite ones.
pub(crate) fn draw_landmarks(
    picture: &mut Rgb,
    points: &[[f64; 2]],
    source_width: u32,
    source_height: u32,
) -> usize {
    let sx = f64::from(picture.width) / f64::from(source_width.max(1));
    let sy = f64::from(picture.height) / f64::from(source_height.max(1));
    let mut outside = 0;
    let mut centres = Vec::with_capacity(points.len());
    for &[x, y] in points {
        let (px, py) = ((x * sx).floor(), (y * sy).floor());
        if !px.is_finite()
            || !py.is_finite()
            || px < 0.0
            || py < 0.0
            || px >= f64::from(picture.width)
            || py >= f64::from(picture.height)
        {
            outside += 1;
            continue;
        }
        centres.push((px as i64, py as i64));
    }
    // Rims first, so that no rim covers a neighbouring dot's centre.
    for &(cx, cy) in &centres {
        for dy in -2..=2 {
            for dx in -2..=2 {
                picture.set(cx + dx, cy + dy, LANDMARK_RIM);
            }
        }
    }
    for &(cx, cy) in &centres {
        for dy in -1..=1 {
            for dx in -1..=1 {
                picture.set(cx + dx, cy + dy, LANDMARK);
            }
        }
    }
    outside
}

/// Landmark positions accumulated on a `side` x `side` grid covering the image.
pub(crate) struct Density {
    side: u32,
    image_size: u32,
    counts: Vec<u64>,
    pub points: u64,
}

impl Density {
    pub fn new(side: u32, image_size: u32) -> Density {
        Density {
            side,
            image_size: image_size.max(1),
            counts: vec![0; side as usize * side as usize],
            points: 0,
        }
    }

    pub fn add(&mut self, points: &[[f64; 2]]) {
        let scale = f64::from(self.side) / f64::from(self.image_size);
        for &[x, y] in points {
            let (px, py) = ((x * scale).floor(), (y * scale).floor());
            if px.is_finite()
                && py.is_finite()
                && px >= 0.0
                && py >= 0.0
                && px < f64::from(self.side)
                && py < f64::from(self.side)
            {
                self.counts[py as usize * self.side as usize + px as usize] += 1;
                self.points += 1;
            }
        }
    }

    /// The grid counted during validation (`Statistics::landmark_density`): `counts` holds
    /// `side` x `side` bins, row by row.
    pub fn from_grid(side: u32, counts: &[u64]) -> Density {
        let mut density = Density::new(side, side);
        if counts.len() == density.counts.len() {
            density.counts.copy_from_slice(counts);
            density.points = counts.iter().sum();
        }
        density
    }

    /// Black where no landmark fell, then dark red to yellow to white on a log scale; each
    /// bin a square of `size / side` pixels (at least one).
    pub fn render(&self, size: u32) -> Rgb {
        let scale = (size / self.side.max(1)).max(1);
        let max = self.counts.iter().copied().max().unwrap_or(0);
        let mut out = Rgb::filled(self.side * scale, self.side * scale, [0, 0, 0]);
        if max == 0 {
            return out;
        }
        let top = (max as f64).ln_1p();
        for (i, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let t = (count as f64).ln_1p() / top; // (0, 1]
            let colour = heat(t);
            let (x, y) = (i as u32 % self.side, i as u32 / self.side);
            for dy in 0..scale {
                for dx in 0..scale {
                    out.set(i64::from(x * scale + dx), i64::from(y * scale + dy), colour);
                }
            }
        }
        out
    }
}

/// A black-body ramp: t in [0, 1] to dark red, orange, yellow, white.
fn heat(t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let channel = |start: f64| (((t - start) * 3.0).clamp(0.0, 1.0) * 255.0).round() as u8;
    [channel(0.0).max(96), channel(1.0 / 3.0), channel(2.0 / 3.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(width: u32, height: u32, labels: &[u8]) -> LabelMap {
        LabelMap {
            width,
            height,
            labels: labels.to_vec(),
        }
    }

    #[test]
    fn palette_follows_the_sfhq_label_order() {
        assert_eq!(CLASSES.len(), 19);
        assert_eq!(class_colour(0), [0, 0, 0]);
        assert_eq!(CLASSES[1].0, "skin");
        assert_eq!(class_colour(1), [204, 0, 0]);
        assert_eq!(CLASSES[10].0, "nose");
        assert_eq!(class_colour(10), [76, 153, 0]);
        assert_eq!(CLASSES[17].0, "hair");
        assert_eq!(class_colour(17), [0, 0, 204]);
        assert_eq!(class_colour(18), [255, 51, 153]);
        assert_eq!(class_colour(19), UNKNOWN_LABEL);
        assert_eq!(class_colour(255), UNKNOWN_LABEL);
        // Every class has its own colour, and none is the landmark colour or "unknown".
        let mut colours: Vec<[u8; 3]> = CLASSES.iter().map(|(_, c)| *c).collect();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), 19);
        assert!(!colours.contains(&LANDMARK) && !colours.contains(&UNKNOWN_LABEL));
    }

    #[test]
    fn a_tiny_map_is_coloured_scaled_and_blended_exactly() {
        // 2x2 labels: skin, nose / hair, 200 (out of range), shown at 4x4.
        let m = map(2, 2, &[1, 10, 17, 200]);
        let coloured = m.coloured(4, 4);
        assert_eq!(coloured.get(0, 0), [204, 0, 0]);
        assert_eq!(coloured.get(1, 1), [204, 0, 0]);
        assert_eq!(coloured.get(2, 0), [76, 153, 0]);
        assert_eq!(coloured.get(3, 1), [76, 153, 0]);
        assert_eq!(coloured.get(0, 3), [0, 0, 204]);
        assert_eq!(coloured.get(3, 3), UNKNOWN_LABEL);

        let grey = Rgb::filled(4, 4, [100, 100, 100]);
        let half = blend(&grey, &coloured, 128);
        // (100 * 127 + 204 * 128 + 127) / 255 = 152; (100 * 127 + 0 + 127) / 255 = 50
        assert_eq!(half.get(0, 0), [152, 50, 50]);
        assert_eq!(blend(&grey, &coloured, 0), grey);
        assert_eq!(blend(&grey, &coloured, 255), coloured);

        let counts = m.histogram();
        assert_eq!(
            (counts[1], counts[10], counts[17], counts[200]),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn landmarks_are_dots_at_the_scaled_position() {
        let mut picture = Rgb::filled(16, 16, [10, 20, 30]);
        // (512, 256) in a 1024 image is (8, 4) in a 16-pixel thumbnail.
        let outside = draw_landmarks(
            &mut picture,
            &[[512.0, 256.0], [2000.0, 5.0], [f64::NAN, 1.0]],
            1024,
            1024,
        );
        assert_eq!(outside, 2);
        for (x, y) in [(8, 4), (7, 3), (9, 5)] {
            assert_eq!(picture.get(x, y), LANDMARK, "({x}, {y})");
        }
        for (x, y) in [(6, 4), (10, 4), (8, 2), (8, 6)] {
            assert_eq!(picture.get(x, y), LANDMARK_RIM, "({x}, {y})");
        }
        assert_eq!(picture.get(11, 4), [10, 20, 30]);
        assert_eq!(picture.get(0, 0), [10, 20, 30]);
    }

    #[test]
    fn block_purity_counts_aligned_tiles() {
        let mut labels = vec![1u8; 8 * 4];
        assert_eq!(map(8, 4, &labels).pure_block_share(), 1.0);
        labels[5] = 2; // second tile, first row
        assert_eq!(map(8, 4, &labels).pure_block_share(), 0.5);
        assert_eq!(map(3, 3, &[0; 9]).pure_block_share(), 0.0);
    }

    #[test]
    fn paste_places_and_clips() {
        let mut grid = Rgb::filled(4, 2, [0, 0, 0]);
        grid.paste(&Rgb::filled(2, 2, [9, 9, 9]), 3, 1);
        assert_eq!(grid.get(3, 1), [9, 9, 9]);
        assert_eq!(grid.get(2, 1), [0, 0, 0]);
        assert_eq!(grid.get(3, 0), [0, 0, 0]);
    }

    #[test]
    fn thumbnails_keep_the_aspect() {
        assert_eq!(thumbnail_size(1024, 1024, 256), (256, 256));
        assert_eq!(thumbnail_size(1024, 512, 256), (256, 128));
        assert_eq!(thumbnail_size(100, 50, 256), (100, 50));
        assert_eq!(thumbnail_size(5000, 1, 256), (256, 1));
    }

    #[test]
    fn density_counts_points_and_renders_them() {
        let mut d = Density::new(4, 1024);
        d.add(&[[0.0, 0.0], [1023.0, 1023.0], [1023.0, 1023.0], [-1.0, 0.0]]);
        assert_eq!(d.points, 3);
        let picture = d.render(4);
        assert_eq!(picture.get(3, 3), [255, 255, 255]);
        assert_eq!(picture.get(1, 1), [0, 0, 0]);
        assert_ne!(picture.get(0, 0), [0, 0, 0]);
    }

    #[test]
    fn a_counted_grid_renders_each_bin_as_a_square() {
        let d = Density::from_grid(2, &[0, 5, 0, 1]);
        assert_eq!(d.points, 6);
        let picture = d.render(8);
        assert_eq!((picture.width, picture.height), (8, 8));
        assert_eq!(picture.get(4, 0), [255, 255, 255]);
        assert_eq!(picture.get(7, 3), [255, 255, 255]);
        assert_eq!(picture.get(0, 0), [0, 0, 0]);
        assert_ne!(picture.get(6, 6), [0, 0, 0]);
    }

    #[test]
    fn png_round_trip_and_label_decoding() {
        let picture = Rgb::filled(3, 2, [1, 2, 3]);
        let decoded = image::load_from_memory(&picture.to_png())
            .unwrap()
            .to_rgb8();
        assert_eq!(decoded.into_raw(), picture.pixels);

        let mut grey = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut grey, 2, 1);
            encoder.set_color(png::ColorType::Grayscale);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[17, 3]).unwrap();
        }
        assert_eq!(
            decode_label_map(&grey, 1 << 20).unwrap(),
            map(2, 1, &[17, 3])
        );
        assert!(decode_label_map(b"nope", 1 << 20)
            .unwrap_err()
            .contains("not a readable PNG"));
    }
}
