//! Hostile input: pickles that would run code, unsafe zip member names, decompression
//! bombs, and the pickle forms numpy writes.

use std::fs;

use sfhq_pack::decode::pickle::{read_feature_dict, PickleError, PickleLimits};

use crate::util::*;

#[test]
fn a_pickle_that_would_run_a_command_is_refused_and_runs_nothing() {
    let t = TestDir::new();
    t.convert(&[broken_folder()], "out", &[]).expect_code(1);
    // The payload is `touch sfhq-pack-pwned`, relative to the working directory.
    assert!(
        !t.join("sfhq-pack-pwned").exists(),
        "the pickle's command ran"
    );
    let m = manifest(&t.join("out"));
    let unsafe_issues: Vec<&serde_json::Value> = m["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["issues"].as_array().unwrap())
        .filter(|i| i["code"] == "features.unsafe")
        .collect();
    assert_eq!(unsafe_issues.len(), 2);
    assert!(unsafe_issues[0]["message"]
        .as_str()
        .unwrap()
        .contains("'posix system'"));
    assert!(unsafe_issues[1]["message"]
        .as_str()
        .unwrap()
        .contains("'builtins eval'"));
}

#[test]
fn unsafe_zip_member_names_are_refused_never_followed() {
    let t = TestDir::new();
    let zip = fixtures().join("broken").join("unsafe_paths.zip");
    t.convert(&[zip], "out", &[]).expect_code(1);
    let m = manifest(&t.join("out"));
    assert_eq!(m["rows"], 1, "the good sample in the zip is converted");
    let names: Vec<&str> = m["unsafe_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "../evil/SFHQ_pt5_00000002.jpg",
            "/abs/images/SFHQ_pt5_00000003.jpg",
            "images/../../escape.jpg"
        ]
    );
    assert_eq!(m["errors"]["source.unsafe_path"], 3);
    // Nothing was written anywhere but the output folder.
    assert_eq!(
        tree(t.path()),
        [
            "out/SHA256SUMS",
            "out/data/train-00000-of-00001.parquet",
            "out/manifest.json"
        ]
    );
}

#[test]
fn every_pickle_form_numpy_writes_decodes_to_the_recorded_values() {
    let dir = fixtures().join("pickle_forms");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("pickle") {
            continue;
        }
        let want = read_json(&path.with_extension("json"));
        let models = read_feature_dict(&fs::read(&path).unwrap(), &PickleLimits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let want = want.as_object().unwrap();
        assert_eq!(models.len(), want.len(), "{}", path.display());
        for (model, array) in models {
            let w = &want[&model];
            assert_eq!(
                array.dtype.name(),
                w["dtype"].as_str().unwrap(),
                "{} {model}",
                path.display()
            );
            let shape: Vec<usize> = w["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(array.shape, shape, "{} {model}", path.display());
            // Exact: the sidecar holds Python's shortest round-trip repr of each value.
            assert_eq!(
                array.to_f64_vec(),
                flatten(&w["values"]),
                "{} {model}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} pickle forms found");
}

fn flatten(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other.as_f64().unwrap()],
    }
}

#[test]
fn hostile_pickles_are_refused_with_the_global_named() {
    let dir = fixtures().join("pickle_forms").join("hostile");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("pickle") {
            continue;
        }
        let want = read_json(&path.with_extension("json"));
        let result = read_feature_dict(&fs::read(&path).unwrap(), &PickleLimits::default());
        match want["expect"].as_str().unwrap() {
            "unsafe" => {
                let Err(PickleError::Unsafe { module, name }) = &result else {
                    panic!("{}: expected unsafe, got {result:?}", path.display());
                };
                assert_eq!(
                    format!("{module} {name}"),
                    want["global"].as_str().unwrap(),
                    "{}",
                    path.display()
                );
            }
            "unreadable" => assert!(
                matches!(
                    result,
                    Err(PickleError::Malformed { .. } | PickleError::Limit { .. })
                ),
                "{}: expected unreadable, got {result:?}",
                path.display()
            ),
            other => panic!("{}: unknown expectation {other}", path.display()),
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} hostile pickles found");
}

/// The pickle with its one model renamed: the name is a SHORT_BINUNICODE right after the
/// dict opener, inside the protocol-4 frame whose length is fixed up.
fn rename_model(pickle: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = pickle
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .expect("model name in the pickle");
    assert_eq!(pickle[at - 2..at], [0x8c, from.len() as u8]);
    let mut out = pickle[..at - 1].to_vec();
    out.push(to.len() as u8);
    out.extend(to.as_bytes());
    out.extend(&pickle[at + from.len()..]);
    assert_eq!(out[2], 0x95, "a protocol-4 frame");
    let frame = u64::from_le_bytes(out[3..11].try_into().unwrap());
    let frame = frame + to.len() as u64 - from.len() as u64;
    out[3..11].copy_from_slice(&frame.to_le_bytes());
    out
}

#[test]
fn feature_models_that_would_name_the_same_tar_member_stop_before_writing() {
    for (renamed, other) in [
        ("clip_vitl_14_336", "feature model 'CLIP_ViTL_14@336'"),
        ("landmarks", "the landmarks"),
    ] {
        let t = TestDir::new();
        let src = t.join("SFHQ_pt1");
        copy_tree(&fixtures().join("good").join("SFHQ_pt1"), &src);
        // Sample 2 gets sample 1's (protocol 4) pickle with its model renamed.
        let features = src.join("pretrained_features");
        let bytes = fs::read(features.join("SFHQ_pt1_00000001.pickle")).unwrap();
        fs::write(
            features.join("SFHQ_pt1_00000002.pickle"),
            rename_model(&bytes, "CLIP_ViTL_14@336", renamed),
        )
        .unwrap();
        t.convert(&[src], "out", &["--format", "webdataset"])
            .expect_code(2)
            .expect_stderr_contains(&format!("feature model '{renamed}'"))
            .expect_stderr_contains(other)
            .expect_stderr_contains("nothing was written");
        assert!(!t.join("out/manifest.json").exists());
        assert!(tree(t.path()).iter().all(|f| !f.ends_with(".tar")));
    }
}

#[test]
fn keys_that_extract_could_not_write_back_stop_convert_in_every_format() {
    let t = TestDir::new();
    let src = t.join("SFHQ_pt1");
    fs::create_dir_all(src.join("images")).unwrap();
    let jpg = fs::read(
        fixtures()
            .join("good")
            .join("SFHQ_pt1")
            .join("images")
            .join("SFHQ_pt1_00000001.jpg"),
    )
    .unwrap();
    let long = "k".repeat(250);
    for key in ["SFHQ_pt1_00000001", "bad:key", "bell\u{7}", long.as_str()] {
        fs::write(src.join("images").join(format!("{key}.jpg")), &jpg).unwrap();
    }
    for format in ["parquet", "webdataset"] {
        t.convert(std::slice::from_ref(&src), format, &["--format", format])
            .expect_code(2)
            .expect_stderr_contains("3 keys cannot be written")
            .expect_stderr_contains("bad:key: contains one of :*?\"<>|")
            .expect_stderr_contains("contains control characters")
            .expect_stderr_contains("255-byte file name limit");
        assert!(!t.join(format).join("manifest.json").exists());
    }
}

/// Bytes of the good fixture image `n` of part 1.
fn pt1_image(n: u32) -> Vec<u8> {
    fs::read(
        fixtures()
            .join("good")
            .join("SFHQ_pt1")
            .join("images")
            .join(format!("SFHQ_pt1_0000000{n}.jpg")),
    )
    .unwrap()
}

/// Where a JPEG's entropy-coded data starts: right after its (first) SOS segment.
fn scan_start(jpeg: &[u8]) -> usize {
    let mut pos = 2;
    loop {
        assert_eq!(jpeg[pos], 0xFF);
        let marker = jpeg[pos + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        pos += 2 + len;
        if marker == 0xDA {
            return pos;
        }
    }
}

/// Deterministic noise (a 64-bit LCG, top byte), so the test input never changes.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

/// A part whose images 2-4 have good headers over bad scan data: noise, none at all, and
/// far too little for the size claimed. Image 1 is good.
fn part_with_corrupt_scans(t: &TestDir) -> std::path::PathBuf {
    let images = t.join("SFHQ_pt1/images");
    fs::create_dir_all(&images).unwrap();
    let good = pt1_image(1);
    let start = scan_start(&good);
    // 1: the scan data replaced by noise, end marker kept. PIL 13 (/work/main/.venv):
    // `Image.open(f).load()` raises "broken data stream when reading image file".
    let mut noisy = good[..start].to_vec();
    noisy.extend(noise(good.len() - start - 2));
    noisy.extend([0xFF, 0xD9]);
    // 2: no scan data at all, end marker right after the scan header. PIL 13 loads it
    // (libjpeg only warns "premature end" and fills grey); the image is empty all the same.
    let mut empty = good[..start].to_vec();
    empty.extend([0xFF, 0xD9]);
    // 3: a 64x64 JPEG whose frame header claims 1024x1024. PIL 13 loads it too (checked on
    // the same edit of a PIL-encoded 64x64 JPEG: grey below the first rows); its scan data is
    // far too short for the size claimed.
    let mut small = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut small)
        .encode(
            &[120u8; 64 * 64 * 3],
            64,
            64,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let sof = small
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    small[sof + 5..sof + 9].copy_from_slice(&[4, 0, 4, 0]);
    for (n, bytes) in [(2, &noisy), (3, &empty), (4, &small)] {
        fs::write(images.join(format!("SFHQ_pt1_0000000{n}.jpg")), bytes).unwrap();
    }
    fs::write(images.join("SFHQ_pt1_00000001.jpg"), &good).unwrap();
    t.join("SFHQ_pt1")
}

#[test]
fn deep_excludes_jpegs_whose_scan_data_is_noise_missing_or_too_short() {
    let t = TestDir::new();
    let src = part_with_corrupt_scans(&t);
    // Without --deep only headers are read, and the three pass.
    t.convert(std::slice::from_ref(&src), "shallow", &[])
        .expect_code(0);
    t.convert(&[src], "deep", &["--deep"]).expect_code(1);
    let m = manifest(&t.join("deep"));
    assert_eq!(m["rows"], 1);
    assert_eq!(
        keys(&m["excluded"]),
        [
            "SFHQ_pt1_00000002",
            "SFHQ_pt1_00000003",
            "SFHQ_pt1_00000004"
        ]
    );
    for sample in m["excluded"].as_array().unwrap() {
        let issue = &sample["issues"][0];
        assert_eq!(issue["code"], "image.unreadable");
        assert!(issue["message"]
            .as_str()
            .unwrap()
            .contains("the full decode (--deep) failed"));
    }
    let message = |i: usize| {
        m["excluded"][i]["issues"][0]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        message(1).contains("the scan data is 0 bytes"),
        "{}",
        message(1)
    );
    assert!(
        message(2).contains("belongs to a smaller image"),
        "{}",
        message(2)
    );
}

#[test]
fn resolutions_decode_strictly_and_exclude_jpegs_with_bad_scan_data() {
    // libjpeg-turbo only warns on these (and fills grey); a warning excludes the sample,
    // with either filter, without --deep.
    let t = TestDir::new();
    let src = part_with_corrupt_scans(&t);
    for filter in ["dct", "box"] {
        let out = format!("r256-{filter}");
        t.convert(
            std::slice::from_ref(&src),
            &out,
            &["--resolution", "256", "--image-filter", filter],
        )
        .expect_code(1);
        let m = manifest(&t.join(&out));
        assert_eq!(m["rows"], 1, "{filter}");
        assert_eq!(
            keys(&m["excluded"]),
            [
                "SFHQ_pt1_00000002",
                "SFHQ_pt1_00000003",
                "SFHQ_pt1_00000004"
            ],
            "{filter}"
        );
        for sample in m["excluded"].as_array().unwrap() {
            let issue = &sample["issues"][0];
            assert_eq!(issue["code"], "image.unreadable");
            let message = issue["message"].as_str().unwrap();
            assert!(
                message.contains(&format!(
                    "the decode for --resolution 256 (libjpeg-turbo {})",
                    if filter == "dct" {
                        "scaling 1/4 while decoding, --image-filter dct"
                    } else {
                        "full decode, --image-filter box"
                    }
                )) && message.contains("replace the file"),
                "{filter}: {message}"
            );
        }
    }
}

#[test]
fn a_jpeg_without_its_quantisation_table_is_excluded_whatever_decoded_before_it() {
    // libjpeg keeps the tables of the last image it decoded: a decoder reused from sample
    // to sample would decode this one with its predecessor's tables on one thread and
    // refuse it on another. Every image gets a fresh decoder, so it is always refused.
    let t = TestDir::new();
    let images = t.join("SFHQ_pt1/images");
    fs::create_dir_all(&images).unwrap();
    let good = pt1_image(1);
    // Every DQT segment (PIL writes one per table) left out of the header, scan intact.
    let scan = scan_start(&good);
    let mut stripped = good[..2].to_vec();
    let mut pos = 2;
    let mut dropped = 0;
    while pos < scan {
        let length = usize::from(u16::from_be_bytes([good[pos + 2], good[pos + 3]]));
        let segment = &good[pos..pos + 2 + length];
        if segment[1] == 0xDB {
            dropped += 1;
        } else {
            stripped.extend(segment);
        }
        pos += 2 + length;
    }
    stripped.extend(&good[scan..]);
    assert!(dropped >= 1, "the fixture JPEG has a DQT segment");
    fs::write(images.join("SFHQ_pt1_00000001.jpg"), &good).unwrap();
    fs::write(images.join("SFHQ_pt1_00000002.jpg"), &stripped).unwrap();
    fs::write(images.join("SFHQ_pt1_00000003.jpg"), &good).unwrap();
    let src = t.join("SFHQ_pt1");
    for threads in ["1", "4"] {
        let out = format!("t{threads}");
        t.convert(
            std::slice::from_ref(&src),
            &out,
            &["--resolution", "256", "--threads", threads],
        )
        .expect_code(1);
        let m = manifest(&t.join(&out));
        assert_eq!(m["rows"], 2, "--threads {threads}");
        assert_eq!(
            keys(&m["excluded"]),
            ["SFHQ_pt1_00000002"],
            "--threads {threads}"
        );
        let message = m["excluded"][0]["issues"][0]["message"].as_str().unwrap();
        assert!(message.contains("Quantization table"), "{message}");
    }
    assert_eq!(tree(&t.join("t1")), tree(&t.join("t4")));
    for file in tree(&t.join("t1")) {
        assert!(
            fs::read(t.join("t1").join(&file)).unwrap()
                == fs::read(t.join("t4").join(&file)).unwrap(),
            "{file} differs between --threads 1 and 4"
        );
    }
}

/// A PNG chunk with its length and CRC (`bad_crc` flips the CRC's lowest bit).
fn png_chunk(kind: &[u8; 4], data: &[u8], bad_crc: bool) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend(kind);
    out.extend(data);
    let crc = crc32fast::hash(&[&kind[..], data].concat()) ^ u32::from(bad_crc);
    out.extend(crc.to_be_bytes());
    out
}

#[test]
fn label_maps_with_a_bad_ancillary_crc_or_a_short_palette_are_reported() {
    let t = TestDir::new();
    let src = t.join("SFHQ_pt1");
    copy_tree(&fixtures().join("good").join("SFHQ_pt1"), &src);
    let maps = src.join("segmentations");
    // 1: a tEXt chunk with a wrong CRC after IHDR. PIL 13 refuses the file
    // (`Image.open` raises UnidentifiedImageError: it checks every chunk's CRC).
    let good = fs::read(maps.join("SFHQ_pt1_00000001.png")).unwrap();
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let mut bad = good[..ihdr_end].to_vec();
    bad.extend(png_chunk(b"tEXt", b"Comment\0edited", true));
    bad.extend(&good[ihdr_end..]);
    fs::write(maps.join("SFHQ_pt1_00000001.png"), bad).unwrap();
    // 2: the labels of map 2 re-saved as an 8-bit palette map whose palette has 5 entries,
    // while the labels go up to 17. PIL 13 loads it (and `convert("RGB")` works): the PNG
    // specification calls such indices an error, so this is a warning, not an exclusion.
    let decoder = png::Decoder::new(std::io::Cursor::new(
        fs::read(maps.join("SFHQ_pt1_00000002.png")).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut labels = vec![0u8; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut labels).unwrap();
    let mut short = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut short, 1024, 1024);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette((0..15u8).collect::<Vec<u8>>());
        enc.write_header()
            .unwrap()
            .write_image_data(&labels)
            .unwrap();
    }
    fs::write(maps.join("SFHQ_pt1_00000002.png"), short).unwrap();
    t.convert(&[src], "out", &[]).expect_code(1);
    let m = manifest(&t.join("out"));
    assert_eq!(keys(&m["excluded"]), ["SFHQ_pt1_00000001"]);
    let issue = &m["excluded"][0]["issues"][0];
    assert_eq!(issue["code"], "segmentation.unreadable");
    assert!(issue["message"].as_str().unwrap().contains("CRC error"));
    assert_eq!(keys(&m["warned"]), ["SFHQ_pt1_00000002"]);
    let issue = &m["warned"][0]["issues"][0];
    assert_eq!(issue["code"], "segmentation.palette");
    assert!(issue["message"]
        .as_str()
        .unwrap()
        .contains("the palette has 5 entries, but pixels use index 17"));
    assert_eq!(m["warnings"]["segmentation.palette"], 1);
}
