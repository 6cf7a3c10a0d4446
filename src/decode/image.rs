//! Image headers: format, dimensions and channel count read from the first bytes, without
//! decoding pixels, plus the structural checks that catch truncated files cheaply.
//!
//! Reading the header alone is what makes the default checks fast (a 1024x1024 JPEG decode
//! costs milliseconds; its header costs microseconds) and safe: the pixel count is known
//! before anything is allocated, so a header declaring 60000x60000 is refused up front.
//! `--deep` adds a full decode through the `image` crate.

use std::io::Cursor;

/// What a sniffed image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
        }
    }
}

/// Facts from an image header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    /// The file ends with its end marker (JPEG EOI after the scan data; PNG IEND).
    pub complete: bool,
}

impl ImageHeader {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("not a JPEG or PNG file (starts with {0})")]
    UnknownFormat(String),
    #[error("{format} header is cut short at byte {offset}")]
    Truncated { format: &'static str, offset: usize },
    #[error("{format} header is malformed: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
}

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Reads the header of a JPEG or PNG held in memory.
pub fn read_header(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        read_jpeg_header(bytes)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        read_png_header(bytes)
    } else {
        let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(HeaderError::UnknownFormat(if shown.is_empty() {
            "nothing: the file is empty".to_string()
        } else {
            shown.join(" ")
        }))
    }
}

/// Walks JPEG marker segments up to the first start-of-frame. Segment lengths come from the
/// file, so every step is bounds-checked.
fn read_jpeg_header(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    const FORMAT: &str = "JPEG";
    let truncated = |offset| HeaderError::Truncated {
        format: FORMAT,
        offset,
    };
    let mut pos = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (&ff, &marker) = match (bytes.get(pos), bytes.get(pos + 1)) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(truncated(pos)),
        };
        if ff != 0xFF {
            return Err(HeaderError::Malformed {
                format: FORMAT,
                reason: format!("expected a marker at byte {pos}, found {ff:02x}"),
            });
        }
        pos += 2;
        match marker {
            // Stand-alone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => {
                return Err(HeaderError::Malformed {
                    format: FORMAT,
                    reason: "no frame header (SOF) before the image data".to_string(),
                })
            }
            _ => {}
        }
        let len = match bytes.get(pos..pos + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err(truncated(pos)),
        };
        if len < 2 {
            return Err(HeaderError::Malformed {
                format: FORMAT,
                reason: format!("segment length {len} at byte {pos}"),
            });
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = bytes.get(pos..pos + 8).ok_or_else(|| truncated(pos))?;
            let height = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let width = u32::from(u16::from_be_bytes([seg[5], seg[6]]));
            let channels = seg[7];
            return Ok(ImageHeader {
                format: ImageFormat::Jpeg,
                width,
                height,
                channels,
                complete: jpeg_has_end_marker(bytes, pos + len),
            });
        }
        pos += len;
    }
}

/// A JPEG is complete when an EOI marker follows the frame header. Inside entropy-coded
/// data every 0xFF is followed by 0x00 or a restart marker, so FF D9 after the frame can
/// only be the real end; trailing bytes some encoders append after it are tolerated.
fn jpeg_has_end_marker(bytes: &[u8], after: usize) -> bool {
    bytes.len() >= after + 2 && bytes[after..].windows(2).rev().any(|w| w == [0xFF, 0xD9])
}

fn read_png_header(bytes: &[u8]) -> Result<ImageHeader, HeaderError> {
    const FORMAT: &str = "PNG";
    // Signature (8), IHDR length (4) and type (4), then 13 bytes of IHDR data.
    let ihdr = bytes.get(8..33).ok_or(HeaderError::Truncated {
        format: FORMAT,
        offset: bytes.len(),
    })?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(HeaderError::Malformed {
            format: FORMAT,
            reason: "first chunk is not IHDR".to_string(),
        });
    }
    let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    let channels = match ihdr[17] {
        0 => 1, // grayscale
        2 => 3, // RGB
        3 => 1, // palette: one index per pixel
        4 => 2, // grayscale + alpha
        6 => 4, // RGBA
        other => {
            return Err(HeaderError::Malformed {
                format: FORMAT,
                reason: format!("unknown colour type {other}"),
            })
        }
    };
    Ok(ImageHeader {
        format: ImageFormat::Png,
        width,
        height,
        channels,
        complete: bytes.len() >= 12 && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND",
    })
}

/// Decodes every pixel (the `--deep` check), refusing images above `max_pixels` before any
/// pixel buffer exists.
pub fn decode_fully(bytes: &[u8], max_pixels: u64) -> Result<(), String> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return decode_jpeg_strictly(bytes, max_pixels);
    }
    decode_within(bytes, max_pixels).map(drop)
}

/// Decodes an image of any format the `image` crate reads, allocating at most 4 bytes per
/// pixel of `max_pixels` (the limit is enforced by the decoder, before its buffers exist).
pub fn decode_within(bytes: &[u8], max_pixels: u64) -> Result<image::DynamicImage, String> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(4));
    reader.limits(limits);
    reader.decode().map_err(|e| e.to_string())
}

/// The entropy-coded bytes of a JPEG's scans (stuffing and restart markers left out) and the
/// 8x8 blocks its frame declares, summed over components.
struct ScanSize {
    entropy_bytes: u64,
    blocks: u64,
}

/// Walks the marker segments of a whole JPEG; `None` when it is malformed (the decoder then
/// says why).
fn jpeg_scan_size(bytes: &[u8]) -> Option<ScanSize> {
    let mut pos = 2;
    let mut blocks = None;
    let mut entropy_bytes = 0u64;
    loop {
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        pos += 2;
        match marker {
            0xD9 => break,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]));
        let segment = bytes.get(pos..pos + len)?;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && blocks.is_none() {
            blocks = Some(frame_blocks(segment)?);
        }
        pos += len;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker other than a restart (RSTn) or a
            // stuffed zero.
            while pos + 1 < bytes.len() {
                if bytes[pos] == 0xFF && !matches!(bytes[pos + 1], 0x00 | 0xD0..=0xD7) {
                    break;
                }
                if bytes[pos] == 0xFF {
                    pos += 1;
                    if bytes[pos] == 0x00 {
                        entropy_bytes += 1;
                    }
                } else {
                    entropy_bytes += 1;
                }
                pos += 1;
            }
            if pos + 1 >= bytes.len() {
                break;
            }
        }
    }
    Some(ScanSize {
        entropy_bytes,
        blocks: blocks?,
    })
}

/// The 8x8 blocks a frame header (SOFn segment, length included) declares.
fn frame_blocks(segment: &[u8]) -> Option<u64> {
    let height = u64::from(u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?]));
    let width = u64::from(u16::from_be_bytes([*segment.get(5)?, *segment.get(6)?]));
    let count = usize::from(*segment.get(7)?);
    let factors: Vec<(u64, u64)> = (0..count)
        .map(|i| {
            let f = *segment.get(8 + 3 * i + 1)?;
            Some((u64::from(f >> 4).max(1), u64::from(f & 15).max(1)))
        })
        .collect::<Option<_>>()?;
    let h_max = factors.iter().map(|f| f.0).max()?;
    let v_max = factors.iter().map(|f| f.1).max()?;
    Some(
        factors
            .iter()
            .map(|&(h, v)| {
                let w = (width * h).div_ceil(h_max);
                let ht = (height * v).div_ceil(v_max);
                w.div_ceil(8) * ht.div_ceil(8)
            })
            .sum(),
    )
}

/// Decodes a JPEG in the decoder's strict mode. The lenient mode (what `image` uses) fills
/// with grey whatever it cannot decode and calls the image fine: scan data that is random
/// bytes, a scan that ends before the last row (no scan data at all, or a 64x64 image whose
/// header claims 1024x1024). Strict mode refuses each of them.
fn decode_jpeg_strictly(bytes: &[u8], max_pixels: u64) -> Result<(), String> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let side = usize::try_from(max_pixels)
        .unwrap_or(usize::MAX)
        .min(65_535);
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(side)
        .set_max_height(side);
    if let Some(scan) = jpeg_scan_size(bytes) {
        // Every 8x8 block codes its DC value with a Huffman code of at least one bit, so
        // scan data shorter than a bit per block cannot hold the image (strict mode would
        // decode the missing rest as zeros without complaint).
        if scan.entropy_bytes * 8 < scan.blocks {
            return Err(format!(
                "the scan data is {} bytes, while the {} blocks the header declares need at least {}: the image data is missing or belongs to a smaller image",
                scan.entropy_bytes,
                scan.blocks,
                scan.blocks.div_ceil(8)
            ));
        }
    }
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions().unwrap_or((0, 0));
    if (w as u64) * (h as u64) > max_pixels {
        return Err(format!("{w}x{h} is above the pixel limit of {max_pixels}"));
    }
    decoder.decode().map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, a minimal SOF0 declaring `w`x`h` with `c` components, then EOI.
    fn jpeg_with_sof(w: u16, h: u16, c: u8) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0];
        let len = 8 + 3 * u16::from(c);
        v.extend_from_slice(&len.to_be_bytes());
        v.push(8);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.push(c);
        for i in 0..c {
            v.extend_from_slice(&[i + 1, 0x11, 0]);
        }
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        v
    }

    #[test]
    fn jpeg_dimensions_and_channels_come_from_sof() {
        let h = read_header(&jpeg_with_sof(1024, 768, 3)).unwrap();
        assert_eq!(
            (h.format, h.width, h.height, h.channels, h.complete),
            (ImageFormat::Jpeg, 1024, 768, 3, true)
        );
    }

    #[test]
    fn jpeg_without_end_marker_is_incomplete() {
        let mut v = jpeg_with_sof(1024, 1024, 3);
        v.truncate(v.len() - 2);
        assert!(!read_header(&v).unwrap().complete);
    }

    #[test]
    fn huge_declared_jpeg_is_read_without_allocating() {
        let h = read_header(&jpeg_with_sof(60000, 60000, 3)).unwrap();
        assert_eq!(h.pixels(), 3_600_000_000);
    }

    #[test]
    fn every_prefix_of_a_jpeg_header_is_an_error_not_a_panic() {
        let v = jpeg_with_sof(1024, 1024, 3);
        // The frame header ends at byte 18: every shorter prefix lacks it.
        for cut in 0..18 {
            assert!(read_header(&v[..cut]).is_err(), "prefix of {cut} bytes");
        }
    }

    #[test]
    fn png_header_gives_colour_type_channels() {
        let mut v = PNG_SIGNATURE.to_vec();
        v.extend_from_slice(&13u32.to_be_bytes());
        v.extend_from_slice(b"IHDR");
        v.extend_from_slice(&1024u32.to_be_bytes());
        v.extend_from_slice(&256u32.to_be_bytes());
        v.extend_from_slice(&[8, 3, 0, 0, 0, 0, 0, 0, 0]);
        let h = read_header(&v).unwrap();
        assert_eq!(
            (h.format, h.width, h.height, h.channels, h.complete),
            (ImageFormat::Png, 1024, 256, 1, false)
        );
    }

    #[test]
    fn unknown_bytes_are_named() {
        let err = read_header(b"GIF89a..").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a JPEG or PNG file (starts with 47 49 46 38 39 61 2e 2e)"
        );
        assert_eq!(
            read_header(b"").unwrap_err().to_string(),
            "not a JPEG or PNG file (starts with nothing: the file is empty)"
        );
    }
}
