//! `convert --resolution`: stored sizes, exact label maps, scaled landmarks, provenance
//! hashes, determinism, and the refusals.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::*;

/// One Parquet row, as far as these tests look at it.
#[derive(Debug, Clone)]
struct Row {
    image: Vec<u8>,
    image_path: String,
    image_sha256: String,
    image_source_sha256: Option<String>,
    width: i32,
    height: i32,
    segmentation: Option<Vec<u8>>,
    segmentation_sha256: Option<String>,
    segmentation_source_sha256: Option<String>,
    landmarks: Option<Vec<f64>>,
}

/// Every row of every Parquet shard below `out`, by key.
fn rows(out: &Path) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for shard in shard_paths(&manifest(out)) {
        if !shard.ends_with(".parquet") {
            continue;
        }
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(File::open(out.join(&shard)).unwrap())
                .unwrap()
                .build()
                .unwrap();
        for batch in reader.map(Result::unwrap) {
            let col = |name: &str| batch.column_by_name(name).cloned();
            let string = |name: &str, row: usize| {
                col(name).and_then(|c| {
                    let c = c.as_string::<i32>().clone();
                    (!c.is_null(row)).then(|| c.value(row).to_string())
                })
            };
            let picture = |name: &str, row: usize| {
                let s = col(name).unwrap();
                let s = s.as_struct();
                let bytes = s.column_by_name("bytes").unwrap().as_binary::<i32>();
                let path = s.column_by_name("path").unwrap().as_string::<i32>();
                (!s.is_null(row)).then(|| (bytes.value(row).to_vec(), path.value(row).to_string()))
            };
            let int = |name: &str, row: usize| {
                col(name)
                    .unwrap()
                    .as_primitive::<arrow::datatypes::Int32Type>()
                    .value(row)
            };
            let landmarks = col("landmarks").unwrap();
            let landmarks = landmarks.as_fixed_size_list();
            for row in 0..batch.num_rows() {
                let key = string("key", row).unwrap();
                let (image, image_path) = picture("image", row).unwrap();
                let points = (!landmarks.is_null(row)).then(|| {
                    let point_list = landmarks.value(row);
                    let xy = point_list.as_fixed_size_list().values().clone();
                    match xy.data_type() {
                        DataType::Float32 => xy
                            .as_primitive::<Float32Type>()
                            .values()
                            .iter()
                            .map(|&v| f64::from(v))
                            .collect(),
                        _ => xy.as_primitive::<Float64Type>().values().to_vec(),
                    }
                });
                rows.insert(
                    key,
                    Row {
                        image,
                        image_path,
                        image_sha256: string("image_sha256", row).unwrap(),
                        image_source_sha256: string("image_source_sha256", row),
                        width: int("width", row),
                        height: int("height", row),
                        segmentation: picture("segmentation", row).map(|(b, _)| b),
                        segmentation_sha256: string("segmentation_sha256", row),
                        segmentation_source_sha256: string("segmentation_source_sha256", row),
                        landmarks: points,
                    },
                );
            }
        }
    }
    rows
}

/// The sample values of an 8-bit grayscale or palette PNG: the labels, palette indices kept.
fn labels(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().unwrap();
    let (w, h) = (reader.info().width as usize, reader.info().height as usize);
    assert_eq!(reader.info().bit_depth, png::BitDepth::Eight);
    let mut pixels = vec![0u8; w * h];
    reader.next_frame(&mut pixels).unwrap();
    (w, h, pixels)
}

/// Every k-th pixel of every k-th row, from the top-left: `map[::k, ::k]`.
fn sampled(map: &[u8], width: usize, k: usize) -> Vec<u8> {
    map.chunks_exact(width)
        .step_by(k)
        .flat_map(|row| row.iter().step_by(k).copied())
        .collect()
}

/// Written independently of the tool's: each block's most frequent label, ties to the
/// smallest.
fn majority(map: &[u8], width: usize, k: usize) -> Vec<u8> {
    let height = map.len() / width;
    let mut out = Vec::new();
    for by in 0..height / k {
        for bx in 0..width / k {
            let mut counts = BTreeMap::<u8, usize>::new();
            for y in by * k..(by + 1) * k {
                for x in bx * k..(bx + 1) * k {
                    *counts.entry(map[y * width + x]).or_default() += 1;
                }
            }
            let top = counts.values().copied().max().unwrap();
            out.push(*counts.iter().find(|(_, &c)| c == top).unwrap().0);
        }
    }
    out
}

fn decoded_size(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).unwrap();
    (image.width(), image.height())
}

#[test]
fn resolutions_store_smaller_pictures_exact_maps_scaled_landmarks_and_their_sources() {
    let t = TestDir::new();
    t.convert(&good_sources(), "full", &[]).expect_code(0);
    let full = rows(&t.join("full"));
    assert_eq!(full.len(), 10);
    let expected = read_json(&fixtures().join("good").join("EXPECTED.json"));
    let mut source_hashes = BTreeMap::new();
    for set in expected["sets"].as_object().unwrap().values() {
        for row in set["rows"].as_array().unwrap() {
            source_hashes.insert(
                row["key"].as_str().unwrap().to_string(),
                (
                    row["image"]["sha256"].as_str().unwrap().to_string(),
                    row["segmentation"]["sha256"].as_str().unwrap().to_string(),
                ),
            );
        }
    }
    for resolution in [256usize, 512] {
        let k = 1024 / resolution;
        let out = format!("r{resolution}");
        t.convert(
            &good_sources(),
            &out,
            &["--resolution", &resolution.to_string()],
        )
        .expect_code(0);
        let m = manifest(&t.join(&out));
        let resize = &m["options"]["resize"];
        assert_eq!(resize["resolution"], resolution);
        assert_eq!(resize["source_size"], 1024);
        assert_eq!(resize["image_filter"], "dct");
        assert_eq!(resize["segmentation_filter"], "block_mode");
        assert_eq!(resize["image_format"], "jpeg");
        assert_eq!(resize["jpeg_quality"], 95);
        let small = rows(&t.join(&out));
        assert_eq!(small.len(), 10);
        for (key, row) in &small {
            let source = &full[key];
            // Sizes: the columns and the pictures themselves.
            assert_eq!(
                (row.width, row.height),
                (resolution as i32, resolution as i32),
                "{key}"
            );
            assert_eq!(
                decoded_size(&row.image),
                (resolution as u32, resolution as u32),
                "{key}"
            );
            assert!(
                row.image_path.ends_with(".jpg"),
                "{key}: {}",
                row.image_path
            );
            // Provenance: the stored bytes' hash, and the source files' next to it.
            assert_eq!(row.image_sha256, sha256(&row.image), "{key}");
            let (image_source, map_source) = &source_hashes[key];
            assert_eq!(
                row.image_source_sha256.as_ref(),
                Some(image_source),
                "{key}"
            );
            assert_eq!(&source.image_sha256, image_source, "{key}");
            let map = row.segmentation.as_ref().unwrap();
            assert_eq!(
                row.segmentation_sha256.as_deref(),
                Some(sha256(map).as_str())
            );
            assert_eq!(
                row.segmentation_source_sha256.as_ref(),
                Some(map_source),
                "{key}"
            );
            // Maps: the source map sampled every k pixels, exactly.
            let (w, h, stored) = labels(map);
            assert_eq!((w, h), (resolution, resolution), "{key}");
            let (sw, _, source_map) = labels(source.segmentation.as_ref().unwrap());
            assert!(
                stored == sampled(&source_map, sw, k),
                "{key}: map differs from source[::{k}, ::{k}]"
            );
            // Landmarks: the source's times resolution / 1024 (a power of two: exact).
            let scale = resolution as f64 / 1024.0;
            let want: Vec<f64> = source
                .landmarks
                .as_ref()
                .unwrap()
                .iter()
                .map(|v| v * scale)
                .collect();
            assert_eq!(row.landmarks.as_ref().unwrap(), &want, "{key}");
        }
        t.run(["verify".as_ref(), t.join(&out).as_os_str()])
            .expect_code(0);
    }
    // At the source size nothing changes: no provenance columns, the source bytes.
    assert!(full.values().all(|r| r.image_source_sha256.is_none()));
    assert!(manifest(&t.join("full"))["options"].get("resize").is_none());
}

/// The source JPEG decoded by libjpeg-turbo (the library sfhq-pack resizes with), scaled
/// by 1 / `k` in the DCT domain: interleaved RGB.
fn libjpeg_turbo_decode(path: &Path, k: usize) -> (usize, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    let mut decompressor = turbojpeg::Decompressor::new().unwrap();
    let scale = turbojpeg::ScalingFactor::new(1, k);
    decompressor.set_scaling_factor(scale).unwrap();
    let header = decompressor.read_header(&bytes).unwrap().scaled(scale);
    let mut pixels = vec![0u8; header.width * header.height * 3];
    let image = turbojpeg::Image {
        pixels: &mut pixels[..],
        width: header.width,
        pitch: header.width * 3,
        height: header.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor.decompress(&bytes, image).unwrap();
    (header.width, pixels)
}

/// The float mean of each k x k block: the exact area downscale.
fn area_mean(rgb: &[u8], width: usize, k: usize) -> Vec<f64> {
    let out_width = width / k;
    let mut sums = vec![0.0; out_width * out_width * 3];
    for (i, &v) in rgb.iter().enumerate() {
        let (pixel, c) = (i / 3, i % 3);
        let (x, y) = (pixel % width / k, pixel / width / k);
        sums[(y * out_width + x) * 3 + c] += f64::from(v);
    }
    sums.iter().map(|s| s / (k * k) as f64).collect()
}

fn psnr(reference: &[f64], stored: &[u8]) -> f64 {
    let mse = reference
        .iter()
        .zip(stored)
        .map(|(r, &s)| (r - f64::from(s)).powi(2))
        .sum::<f64>()
        / reference.len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

#[test]
fn png_images_with_the_box_filter_are_the_exact_block_mean_of_the_decoded_source() {
    let t = TestDir::new();
    let part = fixtures().join("good").join("SFHQ_pt1");
    t.convert(
        std::slice::from_ref(&part),
        "png",
        &[
            "--resolution",
            "512",
            "--image-format",
            "png",
            "--image-filter",
            "box",
        ],
    )
    .expect_code(0);
    let m = manifest(&t.join("png"));
    assert_eq!(m["options"]["resize"]["image_format"], "png");
    assert_eq!(m["options"]["resize"]["image_filter"], "box");
    assert!(m["options"]["resize"].get("jpeg_quality").is_none());
    for (key, row) in rows(&t.join("png")) {
        assert!(row.image_path.ends_with(".png"), "{}", row.image_path);
        let (width, source) =
            libjpeg_turbo_decode(&part.join("images").join(format!("{key}.jpg")), 1);
        let stored = image::load_from_memory(&row.image).unwrap().into_rgb8();
        assert_eq!(stored.dimensions(), (512, 512));
        for (x, y, px) in stored.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            for c in 0..3 {
                let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                    .iter()
                    .map(|(dx, dy)| u32::from(source[((2 * y + dy) * width + 2 * x + dx) * 3 + c]))
                    .sum();
                assert_eq!(
                    u32::from(px[c]),
                    (sum + 2) / 4,
                    "{key} pixel ({x}, {y}) channel {c}"
                );
            }
        }
    }
}

#[test]
fn png_images_with_the_dct_filter_are_libjpeg_turbo_scaled_decodes_close_to_the_area_mean() {
    let t = TestDir::new();
    let part = fixtures().join("good").join("SFHQ_pt1");
    for resolution in [256usize, 512] {
        let k = 1024 / resolution;
        let out = format!("png{resolution}");
        t.convert(
            std::slice::from_ref(&part),
            &out,
            &[
                "--resolution",
                &resolution.to_string(),
                "--image-format",
                "png",
            ],
        )
        .expect_code(0);
        assert_eq!(
            manifest(&t.join(&out))["options"]["resize"]["image_filter"],
            "dct"
        );
        for (key, row) in rows(&t.join(&out)) {
            let path = part.join("images").join(format!("{key}.jpg"));
            let stored = image::load_from_memory(&row.image).unwrap().into_rgb8();
            assert_eq!(stored.dimensions(), (resolution as u32, resolution as u32));
            let (width, scaled) = libjpeg_turbo_decode(&path, k);
            assert_eq!(width, resolution);
            assert!(stored.as_raw() == &scaled, "{key}: not the scaled decode");
            // Quality: against the exact area mean of the full decode, far above what
            // JPEG quality 95 keeps (about 40 dB at 256).
            let (full_width, full) = libjpeg_turbo_decode(&path, 1);
            let db = psnr(&area_mean(&full, full_width, k), stored.as_raw());
            assert!(db > 42.0, "{key} at {resolution}: {db:.2} dB");
        }
    }
}

#[test]
fn webdataset_members_carry_the_stored_size_and_the_source_hashes() {
    let t = TestDir::new();
    let sources = good_sources();
    t.convert(
        &sources,
        "wds",
        &["--resolution", "256", "--format", "webdataset"],
    )
    .expect_code(0);
    let out = t.join("wds");
    let mut seen = 0;
    for shard in shard_paths(&manifest(&out)) {
        let mut archive = tar::Archive::new(File::open(out.join(&shard)).unwrap());
        let mut members: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            members.insert(name, bytes);
        }
        for (name, bytes) in &members {
            let Some(key) = name.strip_suffix(".json") else {
                continue;
            };
            let info: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let image = &members[&format!("{key}.jpg")];
            let map = &members[&format!("{key}.seg.png")];
            assert_eq!(
                (info["width"].as_u64(), info["height"].as_u64()),
                (Some(256), Some(256))
            );
            assert_eq!(decoded_size(image), (256, 256));
            assert_eq!(labels(map).0, 256);
            assert_eq!(info["sha256"]["image"], sha256(image).as_str());
            assert_eq!(info["sha256"]["segmentation"], sha256(map).as_str());
            let source = &info["source_sha256"];
            assert_eq!(source["image"].as_str().unwrap().len(), 64, "{info}");
            assert_ne!(source["image"], info["sha256"]["image"]);
            seen += 1;
        }
    }
    assert_eq!(seen, 10);
}

#[test]
fn output_is_byte_identical_with_one_thread_and_with_four() {
    let t = TestDir::new();
    let mut sources = good_sources();
    sources.push(broken_folder());
    for (out, threads) in [("one", "1"), ("four", "4")] {
        t.convert(
            &sources,
            out,
            &[
                "--threads",
                threads,
                "--resolution",
                "256",
                "--format",
                "parquet",
                "--format",
                "webdataset",
                "--shard-size",
                "40kB",
            ],
        )
        .expect_code(1);
    }
    let one = tree(&t.join("one"));
    assert_eq!(one, tree(&t.join("four")));
    assert!(one.len() > 5, "several shards: {one:?}");
    for file in &one {
        assert!(
            fs::read(t.join("one").join(file)).unwrap()
                == fs::read(t.join("four").join(file)).unwrap(),
            "{file} differs between --threads 1 and --threads 4"
        );
    }
}

#[test]
fn a_map_with_impure_blocks_keeps_the_majority_label_of_each() {
    // SFHQ_pt3_00000010 has one pixel changed in 300 of its 4x4 blocks (a warning).
    let t = TestDir::new();
    t.convert(&[broken_folder()], "small", &["--resolution", "256"])
        .expect_code(1);
    let key = "SFHQ_pt3_00000010";
    let source = fs::read(
        broken_folder()
            .join("segmentations")
            .join(format!("{key}.png")),
    )
    .unwrap();
    let (sw, _, source_map) = labels(&source);
    let row = rows(&t.join("small"))
        .remove(key)
        .expect("the warned sample is kept");
    let (_, _, stored) = labels(&row.segmentation.unwrap());
    assert!(stored == majority(&source_map, sw, 4));
    // The blocks are impure indeed: 300 of them hold two labels.
    let impure = (0..sw / 4)
        .flat_map(|by| (0..sw / 4).map(move |bx| (by, bx)))
        .filter(|&(by, bx)| {
            let first = source_map[by * 4 * sw + bx * 4];
            (0..16).any(|i| source_map[(by * 4 + i / 4) * sw + bx * 4 + i % 4] != first)
        })
        .count();
    assert_eq!(impure, 300);
}

#[test]
fn bad_resolutions_are_refused_before_anything_is_written() {
    let t = TestDir::new();
    let part = [fixtures().join("good").join("SFHQ_pt1")];
    t.convert(&part, "a", &["--resolution", "300"])
        .expect_code(2)
        .expect_stderr_contains("use one of 256, 512, 1024");
    t.convert(&part, "b", &["--resolution", "1024", "--image-size", "512"])
        .expect_code(2)
        .expect_stderr_contains("--resolution 1024 is above the source size 512 (--image-size)")
        .expect_stderr_contains("use one of 256, 512");
    t.convert(&part, "c", &["--jpeg-quality", "80"])
        .expect_code(2)
        .expect_stderr_contains(
            "--jpeg-quality applies only with a --resolution below the source size 1024",
        );
    t.convert(&part, "d", &["--resolution", "256", "--jpeg-quality", "0"])
        .expect_code(2);
    // libjpeg-turbo's DCT scaling has 1/2, 1/4 and 1/8 only: a factor of 3 is refused when
    // dct is asked for by name, and takes the box filter by default.
    t.convert(
        &part,
        "e",
        &[
            "--image-size",
            "768",
            "--resolution",
            "256",
            "--image-filter",
            "dct",
        ],
    )
    .expect_code(2)
    .expect_stderr_contains("--image-filter dct scales by 1/2, 1/4 or 1/8, and 768 / 256 = 3")
    .expect_stderr_contains("use --image-filter box");
    for out in ["a", "b", "c", "d", "e"] {
        assert!(!t.join(out).exists(), "{out} was created");
    }
}

#[test]
fn a_factor_libjpeg_turbo_cannot_scale_by_takes_the_box_filter() {
    let t = TestDir::new();
    let part = [fixtures().join("good").join("SFHQ_pt1")];
    // The fixtures are 1024 pixels, so every image fails --image-size 768 (exit 1): what
    // is checked here is the filter the manifest records.
    t.convert(&part, "k3", &["--image-size", "768", "--resolution", "256"])
        .expect_code(1);
    assert_eq!(
        manifest(&t.join("k3"))["options"]["resize"]["image_filter"],
        "box"
    );
}

#[test]
fn extract_writes_the_stored_files_and_says_they_are_not_the_sources() {
    let t = TestDir::new();
    let part = [fixtures().join("good").join("SFHQ_pt1")];
    t.convert(&part, "small", &["--resolution", "256"])
        .expect_code(0);
    let run = t.run([
        "extract".as_ref(),
        t.join("small").as_os_str(),
        "--out".as_ref(),
        t.join("x").as_os_str(),
    ]);
    run.expect_code(0)
        .expect_stderr_contains("not the original 1024x1024 source bytes");
    let stored = rows(&t.join("small"));
    for (key, row) in stored {
        let image = fs::read(t.join("x/images").join(format!("{key}.jpg"))).unwrap();
        assert!(image == row.image, "{key}: the stored image is written");
        assert_eq!(
            labels(&fs::read(t.join("x/segmentations").join(format!("{key}.png"))).unwrap()).0,
            256
        );
    }
}
