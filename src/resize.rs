//! Training resolutions (`convert --resolution 256|512`): a sample's pictures decoded,
//! reduced by the integer factor k = source size / resolution, and encoded again; its
//! landmarks scaled by resolution / source size; its features unchanged.
//!
//! This runs in the pipeline's worker threads, right after a sample is validated, so the
//! single writer thread only ever sees the small stored bytes.
//!
//! - Images (`--image-filter`): `dct` (the default) has libjpeg-turbo decode each JPEG
//!   straight at the stored size: its reduced inverse DCT (2x2 or 4x4 outputs per 8x8
//!   block instead of 8x8) is a low-pass of the block that skips most of the decode's work
//!   (bench/README.md: 49 dB against the exact area mean before encoding, against 58 dB
//!   for `box`; both far above what JPEG quality 95 keeps). `box` decodes fully and
//!   takes the mean of each k x k block per channel, rounded to the nearest integer (the
//!   area average OpenCV's `INTER_AREA` and PIL's `reduce` compute for integer factors).
//!   Images that are not JPEG (PNG) are always box-filtered. Decoding is strict: any
//!   libjpeg warning (corrupt or missing scan data, which it would fill with grey)
//!   excludes the sample. Integer arithmetic throughout (libjpeg-turbo's accurate integer
//!   DCTs, whose SIMD code is bit-exact with its C code), so the stored bytes are the
//!   same at any thread count.
//! - Label maps: one label per k x k block. SFHQ's maps were computed at 256 and upscaled
//!   x4 by repeating pixels, so every block is pure and its label is the 256 map's pixel:
//!   the 256 output gives back the original map exactly. A block that is not pure (a map
//!   `validate` warns about with `segmentation.blocks`) takes its most frequent label,
//!   ties going to the smallest label. Stored as 8-bit grayscale PNG: the pixel value is
//!   the label, whether the source was grayscale or palette.
//! - Landmarks: every coordinate times resolution / source size, kept in the array's own
//!   dtype (exact for floats with the power-of-two factors of SFHQ sizes; integer arrays
//!   are rounded to the nearest integer).

use serde::{Deserialize, Serialize};

use crate::checksum::sha256_hex;
use crate::decode::array::{Array, DType};
use crate::sample::{Blob, Payload, SourceHashes};
use crate::validate::{Code, Issue};

/// The resolutions `--resolution` accepts.
pub const RESOLUTIONS: [u32; 3] = [256, 512, 1024];

/// How stored images are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredImageFormat {
    Jpeg,
    Png,
}

impl StoredImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            StoredImageFormat::Jpeg => "jpg",
            StoredImageFormat::Png => "png",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StoredImageFormat::Jpeg => "JPEG",
            StoredImageFormat::Png => "PNG",
        }
    }
}

/// How images are reduced (`--image-filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFilter {
    /// libjpeg-turbo's DCT-domain scaling for JPEG sources; box for the others.
    Dct,
    /// The rounded mean of each k x k block of the fully decoded source.
    Box,
}

/// The JPEG encoder (library and version: the libjpeg-turbo 3.1.0 that `turbojpeg-sys`
/// 1.2.0, pinned in Cargo.toml, vendors) and its chroma sampling.
const JPEG_ENCODER: &str = "libjpeg-turbo 3.1";
const PNG_ENCODER: &str = "png 0.18";
const CHROMA: &str = "4:4:4";

/// What a conversion at a training resolution does, resolved from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resize {
    /// Width and height of the sources (`--image-size`).
    pub source_size: u32,
    /// Width and height stored.
    pub resolution: u32,
    pub image_format: StoredImageFormat,
    /// 1-100, used when `image_format` is JPEG.
    pub jpeg_quality: u8,
    pub image_filter: ImageFilter,
}

/// `manifest.json`'s `options.resize`: how the stored pictures were made from the sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeRecord {
    /// Width and height of the stored images and maps.
    pub resolution: u32,
    /// Width and height of the source files.
    pub source_size: u32,
    /// `dct`: libjpeg-turbo's DCT-domain scaling of JPEG sources (box for other formats);
    /// `box`: mean of each k x k block, rounded to nearest.
    pub image_filter: ImageFilter,
    /// `block_mode`: the label of each k x k block, the most frequent (ties: smallest)
    /// when it is not pure.
    pub segmentation_filter: String,
    pub image_format: StoredImageFormat,
    /// The encoder crate and its version.
    pub image_encoder: String,
    /// JPEG only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jpeg_quality: Option<u8>,
    /// JPEG only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chroma_subsampling: Option<String>,
    /// Label maps: 8-bit grayscale PNG.
    pub segmentation_encoder: String,
}

impl Resize {
    /// The factor k: source pixels per stored pixel along each side.
    pub fn factor(&self) -> u32 {
        self.source_size / self.resolution
    }

    pub fn record(&self) -> ResizeRecord {
        let jpeg = self.image_format == StoredImageFormat::Jpeg;
        ResizeRecord {
            resolution: self.resolution,
            source_size: self.source_size,
            image_filter: self.image_filter,
            segmentation_filter: "block_mode".to_string(),
            image_format: self.image_format,
            image_encoder: if jpeg {
                JPEG_ENCODER.to_string()
            } else {
                format!("{PNG_ENCODER} (balanced)")
            },
            jpeg_quality: jpeg.then_some(self.jpeg_quality),
            chroma_subsampling: jpeg.then(|| CHROMA.to_string()),
            segmentation_encoder: format!("{PNG_ENCODER} (fast)"),
        }
    }

    /// How `reduce_image` decodes these bytes.
    fn decode_kind(&self, bytes: &[u8]) -> ImageDecode {
        match (bytes.starts_with(&[0xFF, 0xD8]), self.image_filter) {
            (true, ImageFilter::Dct) => ImageDecode::JpegScaled(self.factor()),
            (true, ImageFilter::Box) => ImageDecode::JpegFull,
            (false, _) => ImageDecode::Other,
        }
    }

    /// The image decoded and reduced by the factor k: interleaved RGB, width, height.
    fn reduce_image(&self, bytes: &[u8]) -> Result<(Vec<u8>, usize, usize), String> {
        let k = self.factor() as usize;
        let size = self.source_size as usize;
        let kind = self.decode_kind(bytes);
        if let ImageDecode::JpegScaled(_) = kind {
            let mut small = Vec::new();
            let (w, h) = decode_jpeg(bytes, size, k, &mut small)?;
            return Ok((small, w, h));
        }
        PIXELS.with_borrow_mut(|rgb| {
            let (w, h) = match kind {
                ImageDecode::Other => decode_other(bytes, size, rgb)?,
                _ => decode_jpeg(bytes, size, 1, rgb)?,
            };
            let small = box_downscale_rgb(&rgb[..w * h * 3], w, h, k);
            Ok((small, w / k, h / k))
        })
    }

    /// The payload at this resolution. `image_file` and `segmentation_file` name the
    /// source files for the issue raised when one cannot be decoded.
    pub fn apply(
        &self,
        payload: Payload,
        image_file: &str,
        segmentation_file: &str,
    ) -> Result<Payload, Issue> {
        let k = self.factor() as usize;
        let size = self.source_size as usize;
        let (small, sw, sh) = self.reduce_image(&payload.image.bytes).map_err(|e| {
            Issue::new(
                Code::ImageUnreadable,
                image_file,
                format!(
                    "the decode for --resolution {} ({}) failed: {e}; the pixel data is corrupt, replace the file",
                    self.resolution,
                    self.decode_kind(&payload.image.bytes)
                ),
            )
        })?;
        let bytes = match self.image_format {
            StoredImageFormat::Jpeg => encode_jpeg(&small, sw, sh, self.jpeg_quality),
            StoredImageFormat::Png => encode_png(
                &small,
                sw,
                sh,
                png::ColorType::Rgb,
                png::Compression::Balanced,
            ),
        }
        .map_err(|e| {
            Issue::new(
                Code::ImageUnreadable,
                image_file,
                format!("cannot encode the {sw}x{sh} image: {e}"),
            )
        })?;
        let image = Blob {
            sha256: sha256_hex(&bytes),
            name: with_extension(&payload.image.name, self.image_format.extension()),
            bytes,
        };
        let mut source = SourceHashes {
            image: payload.image.sha256.clone(),
            segmentation: None,
        };
        let segmentation = match payload.segmentation {
            None => None,
            Some(map) => {
                let unreadable = |e: String| {
                    Issue::new(
                        Code::SegmentationUnreadable,
                        segmentation_file,
                        format!("cannot resize the label map: {e}; replace the file with the part's original PNG"),
                    )
                };
                let (reduced, mw, mh) = LABELS
                    .with_borrow_mut(|labels| {
                        let (mw, mh) = decode_labels(&map.bytes, size, labels)?;
                        Ok((block_mode_labels(&labels[..mw * mh], mw, mh, k), mw, mh))
                    })
                    .map_err(unreadable)?;
                let bytes = encode_png(
                    &reduced,
                    mw / k,
                    mh / k,
                    png::ColorType::Grayscale,
                    png::Compression::Fast,
                )
                .map_err(unreadable)?;
                source.segmentation = Some(map.sha256);
                Some(Blob {
                    sha256: sha256_hex(&bytes),
                    name: map.name,
                    bytes,
                })
            }
        };
        let landmarks = payload.landmarks.map(|mut l| {
            l.value = scale_array(&l.value, self.resolution, self.source_size);
            l
        });
        Ok(Payload {
            image,
            width: sw as u32,
            height: sh as u32,
            segmentation,
            landmarks,
            features: payload.features,
            source: Some(source),
        })
    }
}

impl ResizeRecord {
    /// How the stored images were made from the sources, in words for cards and column
    /// descriptions: `scaled from 1024x1024 to 256x256 while decoding (...)`.
    pub fn image_reduction(&self) -> String {
        let (s, r) = (self.source_size, self.resolution);
        let k = s / r.max(1);
        match self.image_filter {
            ImageFilter::Dct => format!(
                "scaled from {s}x{s} to {r}x{r} while decoding (libjpeg-turbo's DCT-domain 1/{k} scaling; box-downscaled, the mean of each {k}x{k} block, when the source is not a JPEG)"
            ),
            ImageFilter::Box => format!(
                "box-downscaled from {s}x{s} to {r}x{r} (mean of each {k}x{k} block)"
            ),
        }
    }
}

/// How an image is decoded for `--resolution` (named in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageDecode {
    /// libjpeg-turbo scaling by 1/k while decoding (`--image-filter dct`).
    JpegScaled(u32),
    /// libjpeg-turbo's full decode, then the box mean (`--image-filter box`).
    JpegFull,
    /// A PNG: full decode, then the box mean.
    Other,
}

impl std::fmt::Display for ImageDecode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageDecode::JpegScaled(k) => write!(
                f,
                "libjpeg-turbo scaling 1/{k} while decoding, --image-filter dct"
            ),
            ImageDecode::JpegFull => f.write_str("libjpeg-turbo full decode, --image-filter box"),
            ImageDecode::Other => f.write_str("full decode"),
        }
    }
}

/// `name` with its extension replaced (`SFHQ_pt2_00000003.JPG` -> `...00000003.jpg`).
fn with_extension(name: &str, ext: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    format!("{stem}.{ext}")
}

thread_local! {
    /// Each worker's decode buffer, reused from sample to sample: a fresh 3 MB buffer per
    /// image cost a tenth of the time in page faults and zeroing.
    static PIXELS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The same for label maps (one buffer for both would be zeroed again at each switch).
    static LABELS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Each worker's libjpeg-turbo encoder, made on first use (every setting it uses is set
    /// again for each image). The decoder is not reused: libjpeg keeps the quantisation and
    /// Huffman tables of the last image, so a JPEG that lacks one would silently decode
    /// with its predecessor's, and the output would depend on which worker got it.
    static COMPRESSOR: std::cell::RefCell<Option<turbojpeg::Compressor>> =
        const { std::cell::RefCell::new(None) };
}

/// Progressive scans libjpeg-turbo reads before giving up: a crafted progressive JPEG can
/// otherwise hold a worker for minutes (libjpeg-turbo's own advice for untrusted input;
/// real progressive encoders write about ten).
const SCAN_LIMIT: u32 = 500;

/// Decodes a JPEG with libjpeg-turbo, scaled by 1 / `k` in the DCT domain (k = 1: full
/// size), to 8-bit RGB into `out`; returns the decoded width and height. Strict: a
/// warning (corrupt data) is an error. `max_side` bounds the header's declared size
/// before anything is allocated.
pub fn decode_jpeg(
    bytes: &[u8],
    max_side: usize,
    k: usize,
    out: &mut Vec<u8>,
) -> Result<(usize, usize), String> {
    use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};
    {
        // A fresh decoder per image (microseconds against milliseconds of decoding): see
        // COMPRESSOR for why.
        let mut decompressor = Decompressor::new().map_err(|e| e.to_string())?;
        decompressor
            .set_scan_limit(SCAN_LIMIT)
            .map_err(|e| e.to_string())?;
        let header = decompressor.read_header(bytes).map_err(|e| e.to_string())?;
        if header.width > max_side || header.height > max_side {
            return Err(format!(
                "{}x{} is larger than {max_side}x{max_side}",
                header.width, header.height
            ));
        }
        let scale = ScalingFactor::new(1, k);
        decompressor
            .set_scaling_factor(scale)
            .map_err(|e| e.to_string())?;
        let scaled = header.scaled(scale);
        let (w, h) = (scaled.width, scaled.height);
        out.resize(w * h * 3, 0);
        let image = Image {
            pixels: &mut out[..],
            width: w,
            pitch: w * 3,
            height: h,
            format: PixelFormat::RGB,
        };
        decompressor
            .decompress(bytes, image)
            .map_err(|e| e.to_string())?;
        Ok((w, h))
    }
}

/// Decodes an image that is not a JPEG (PNG) to 8-bit RGB into `out`, returning its width
/// and height. `max_side` bounds the size the header may declare (the validation already
/// checked it is the source size).
pub fn decode_other(
    bytes: &[u8],
    max_side: usize,
    out: &mut Vec<u8>,
) -> Result<(usize, usize), String> {
    let max_pixels = (max_side as u64).saturating_mul(max_side as u64);
    let rgb = crate::decode::image::decode_within(bytes, max_pixels)?.into_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    *out = rgb.into_raw();
    Ok((w, h))
}

/// Decodes an 8-bit grayscale or palette PNG to its stored sample values (the labels)
/// into `out`, returning its width and height.
pub fn decode_labels(
    bytes: &[u8],
    max_side: usize,
    out: &mut Vec<u8>,
) -> Result<(usize, usize), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_limits(png::Limits {
        bytes: 4 * max_side * max_side + (1 << 20),
    });
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let info = reader.info();
    let single = matches!(
        info.color_type,
        png::ColorType::Grayscale | png::ColorType::Indexed
    );
    if !single || info.bit_depth != png::BitDepth::Eight {
        return Err("not an 8-bit grayscale or palette PNG".to_string());
    }
    let (w, h) = (info.width as usize, info.height as usize);
    out.resize(w * h, 0);
    reader.next_frame(out).map_err(|e| e.to_string())?;
    Ok((w, h))
}

/// Box filter by the integer factor `k`: each output pixel is the mean of a k x k block of
/// `rgb` (interleaved RGB, `width` x `height`), rounded to nearest (halves up). Columns
/// and rows beyond the last whole block are left out.
pub fn box_downscale_rgb(rgb: &[u8], width: usize, height: usize, k: usize) -> Vec<u8> {
    assert!((1..=256).contains(&k), "box factor {k} out of range");
    let (ow, oh) = (width / k, height / k);
    let area = (k * k) as u32;
    let divide = Divider::new(area);
    let row_len = width * 3;
    let mut out = vec![0u8; ow * oh * 3];
    // Column sums over the k rows of one band (at most 256 x 255: a u16 holds them), added
    // a whole row at a time so that the compiler vectorises the loop.
    let mut sums = vec![0u16; row_len];
    for (oy, out_row) in out.chunks_exact_mut(ow * 3).enumerate() {
        sums.fill(0);
        let band = &rgb[oy * k * row_len..(oy + 1) * k * row_len];
        for row in band.chunks_exact(row_len) {
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += u16::from(v);
            }
        }
        for (px, block) in out_row.chunks_exact_mut(3).zip(sums.chunks_exact(3 * k)) {
            let mut total = [area / 2; 3];
            for p in block.chunks_exact(3) {
                total[0] += u32::from(p[0]);
                total[1] += u32::from(p[1]);
                total[2] += u32::from(p[2]);
            }
            for (c, t) in px.iter_mut().zip(total) {
                *c = divide.floor(t) as u8;
            }
        }
    }
    out
}

/// Division by a constant through a multiplication and a shift (a hardware division per
/// channel was a fifth of the resize time): exact for every numerator below 2^24, since
/// the multiplier is ceil(2^(24+l) / d) with 2^l >= d (Granlund and Montgomery, 1994).
struct Divider {
    multiplier: u64,
    shift: u32,
}

impl Divider {
    fn new(d: u32) -> Divider {
        let l = 32 - (d - 1).leading_zeros();
        let shift = 24 + l;
        Divider {
            multiplier: (1u64 << shift).div_ceil(u64::from(d)),
            shift,
        }
    }

    fn floor(&self, n: u32) -> u32 {
        debug_assert!(n < 1 << 24);
        ((u64::from(n) * self.multiplier) >> self.shift) as u32
    }
}

/// One label per k x k block of `labels` (`width` x `height`): the block's label when it
/// is pure, else its most frequent label, ties going to the smallest.
pub fn block_mode_labels(labels: &[u8], width: usize, height: usize, k: usize) -> Vec<u8> {
    let (ow, oh) = (width / k, height / k);
    let mut out = vec![0u8; ow * oh];
    let mut counts = [0u32; 256];
    // Per column of a band: whether every row below the first equals the first.
    let mut same = vec![true; width];
    for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
        let band = &labels[oy * k * width..(oy + 1) * k * width];
        let first_row = &band[..width];
        same.fill(true);
        for row in band.chunks_exact(width).skip(1) {
            for ((s, &a), &b) in same.iter_mut().zip(row).zip(first_row) {
                *s &= a == b;
            }
        }
        for (ox, label) in out_row.iter_mut().enumerate() {
            let columns = ox * k..(ox + 1) * k;
            let top = &first_row[columns.clone()];
            let first = top[0];
            if same[columns.clone()].iter().all(|&s| s) && top.iter().all(|&v| v == first) {
                *label = first;
                continue;
            }
            let block = || band.chunks_exact(width).map(|r| &r[columns.clone()]);
            for &v in block().flatten() {
                counts[usize::from(v)] += 1;
            }
            let mut best = first;
            for &v in block().flatten() {
                let (c, b) = (counts[usize::from(v)], counts[usize::from(best)]);
                if c > b || (c == b && v < best) {
                    best = v;
                }
            }
            // Reset only what this block touched.
            for &v in block().flatten() {
                counts[usize::from(v)] = 0;
            }
            *label = best;
        }
    }
    out
}

/// Baseline JPEG at `quality`, 4:4:4 (no chroma subsampling: at 256 pixels a face's lips
/// and eyes are a few pixels wide, and halving their colour resolution shows).
/// libjpeg-turbo with its defaults otherwise: accurate integer DCT, standard Huffman
/// tables, JFIF header.
pub fn encode_jpeg(rgb: &[u8], w: usize, h: usize, quality: u8) -> Result<Vec<u8>, String> {
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};
    if rgb.len() != w * h * 3 {
        return Err(format!("{} bytes for a {w}x{h} RGB image", rgb.len()));
    }
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(c) => c,
            None => {
                let mut c = Compressor::new().map_err(|e| e.to_string())?;
                c.set_subsamp(Subsamp::None).map_err(|e| e.to_string())?;
                slot.insert(c)
            }
        };
        compressor
            .set_quality(i32::from(quality))
            .map_err(|e| e.to_string())?;
        let image = Image {
            pixels: rgb,
            width: w,
            pitch: w * 3,
            height: h,
            format: PixelFormat::RGB,
        };
        compressor.compress_to_vec(image).map_err(|e| e.to_string())
    })
}

/// An 8-bit PNG of `color` (RGB image or grayscale label map) at `compression`: the same
/// bytes for the same pixels. Label maps use `Fast` (fdeflate): their long runs of one
/// label compress nearly as well, at a fraction of the balanced level's time.
pub fn encode_png(
    pixels: &[u8],
    w: usize,
    h: usize,
    color: png::ColorType,
    compression: png::Compression,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(compression);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Every element times `num / den`, in the array's own dtype (integers rounded to
/// nearest).
pub fn scale_array(array: &Array, num: u32, den: u32) -> Array {
    let factor = f64::from(num) / f64::from(den);
    let scaled: Vec<f64> = array.to_f64_vec().into_iter().map(|v| v * factor).collect();
    let rounded = |v: f64| if array.dtype.is_float() { v } else { v.round() };
    let mut data = Vec::with_capacity(array.data.len());
    let as_f64 = Array {
        dtype: DType::F64,
        shape: array.shape.clone(),
        data: scaled
            .into_iter()
            .flat_map(|v| rounded(v).to_le_bytes())
            .collect(),
    };
    as_f64.extend_le_bytes_as(array.dtype, &mut data);
    Array {
        dtype: array.dtype,
        shape: array.shape.clone(),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_blocks_keep_their_label_and_impure_blocks_take_the_majority() {
        // 4x4 map, k = 2: blocks (0,0) pure 7; (1,0) three 3 and one 1; (0,1) two 2 and
        // two 5 (tie: smallest, 2); (1,1) all different (tie of four: smallest, 0).
        #[rustfmt::skip]
        let map = [
            7, 7, 3, 1,
            7, 7, 3, 3,
            5, 2, 9, 4,
            2, 5, 0, 6,
        ];
        assert_eq!(block_mode_labels(&map, 4, 4, 2), vec![7, 3, 2, 0]);
    }

    #[test]
    fn an_upscaled_map_comes_back_exactly() {
        let small: Vec<u8> = (0..64u32).map(|i| (i * 7 % 19) as u8).collect();
        let big: Vec<u8> = (0..32 * 32)
            .map(|i| small[(i / 32 / 4) * 8 + (i % 32) / 4])
            .collect();
        assert_eq!(block_mode_labels(&big, 32, 32, 4), small);
    }

    #[test]
    fn the_box_filter_is_the_rounded_block_mean() {
        // 2x2 RGB -> 1x1 with k = 2.
        let rgb = [0, 10, 255, 1, 10, 255, 2, 11, 0, 2, 11, 1];
        // R: (0+1+2+2)/4 = 1.25 -> 1; G: 42/4 = 10.5 -> 11; B: 511/4 = 127.75 -> 128.
        assert_eq!(box_downscale_rgb(&rgb, 2, 2, 2), vec![1, 11, 128]);
    }

    #[test]
    fn division_by_multiplication_is_exact() {
        for d in [1u32, 4, 9, 16, 64, 256, 1024, 65536] {
            let divide = Divider::new(d);
            for n in (0..1 << 24).step_by(7).chain([(1 << 24) - 1]) {
                assert_eq!(divide.floor(n), n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn landmarks_scale_in_their_dtype() {
        let a = Array {
            dtype: DType::F32,
            shape: vec![1, 2],
            data: [511.5f32, 1023.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        };
        assert_eq!(
            scale_array(&a, 256, 1024).to_f64_vec(),
            vec![127.875, 255.75]
        );
        let i = Array {
            dtype: DType::I16,
            shape: vec![2],
            data: [10i16, 6].iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let scaled = scale_array(&i, 256, 1024);
        assert_eq!(scaled.dtype, DType::I16);
        assert_eq!(scaled.to_f64_vec(), vec![3.0, 2.0]);
    }

    #[test]
    fn names_take_the_stored_extension() {
        assert_eq!(
            with_extension("SFHQ_pt2_00000003.JPG", "jpg"),
            "SFHQ_pt2_00000003.jpg"
        );
        assert_eq!(with_extension("a.b.jpeg", "png"), "a.b.png");
    }
}
