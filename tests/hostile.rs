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
