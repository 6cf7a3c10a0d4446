//! `package`: the Hugging Face card, Croissant and the Kaggle folder, through the real
//! binary. What the platforms' own readers make of them is checked in
//! `tests/interop/test_package.py`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

const EPOCH: &str = "1700000000";
const TITLE: &str = "SFHQ faces, packed";
const SUBTITLE: &str = "Synthetic faces with masks, landmarks and CLIP embeddings";

/// Runs the binary with `SOURCE_DATE_EPOCH` set or unset (the harness always unsets it).
fn run_with_epoch(cwd: &Path, args: &[&str], epoch: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sfhq-pack"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH");
    if let Some(epoch) = epoch {
        command.env("SOURCE_DATE_EPOCH", epoch);
    }
    let output = command.output().expect("run sfhq-pack");
    Run {
        command: format!("SOURCE_DATE_EPOCH={epoch:?} sfhq-pack {}", args.join(" ")),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The good sources in train and test splits, Parquet and WebDataset, several shards.
pub(crate) fn converted(t: &TestDir, out: &str) -> PathBuf {
    t.convert(
        &good_sources(),
        out,
        &[
            "--format",
            "parquet,webdataset",
            "--split",
            "test=0.3",
            "--shard-size",
            "60kB",
        ],
    )
    .expect_code(0);
    t.join(out)
}

pub(crate) fn package(t: &TestDir, dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["package", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_with_epoch(t.path(), &args, Some(EPOCH))
}

pub(crate) const ALL: &[&str] = &[
    "--hf",
    "--croissant",
    "--kaggle",
    "--title",
    TITLE,
    "--subtitle",
    SUBTITLE,
    "--license",
    "CC-BY-4.0",
    "--id",
    "jane/sfhq-faces",
    "--creator",
    "Jane Doe",
];

fn front_matter(card: &str) -> &str {
    let rest = card
        .strip_prefix("---\n")
        .expect("card starts with front matter");
    &rest[..rest.find("\n---\n").expect("front matter ends")]
}

fn parquet_shards(m: &Value) -> Vec<&Value> {
    m["shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["format"] == "parquet")
        .collect()
}

/// Every file below `dir` with its bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .map(|rel| {
            let bytes = fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

fn publishing_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    contents(dir)
        .into_iter()
        .filter(|(rel, _)| {
            rel == "README.md" || rel == "croissant.json" || rel.starts_with("kaggle/")
        })
        .collect()
}

fn assert_nothing_written(dir: &Path) {
    for name in ["README.md", "croissant.json", "kaggle", ".kaggle.partial"] {
        assert!(
            !dir.join(name).exists(),
            "{name} was written although package refused"
        );
    }
}

#[test]
fn card_front_matter_has_the_hub_fields_and_per_split_sizes() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    package(&t, &dir, ALL)
        .expect_code(0)
        .expect_stdout_contains("README.md: Hugging Face card");
    let m = manifest(&dir);
    let card = fs::read_to_string(dir.join("README.md")).unwrap();
    let yaml = front_matter(&card);
    for line in [
        "license: cc-by-4.0",
        &format!("pretty_name: \"{TITLE}\""),
        "task_categories:\n- image-segmentation\n- image-feature-extraction",
        "size_categories:\n- \"n<1K\"",
        "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\n  - split: test\n    path: data/test-*",
        "  - name: image\n    dtype: image",
        "  - name: segmentation\n    dtype: image",
        "  - name: landmarks\n    sequence:\n      sequence: float64\n      length: 2\n    length: 110",
        "  - name: pretrained_features\n    struct:\n    - name: CLIP_ResNet50x64\n      sequence: float16\n      length: 1024\n    - name: CLIP_ViTL_14@336\n      sequence: float32\n      length: 768",
        "  - name: part\n    dtype: int16",
        "  - name: width\n    dtype: int32",
        "  - name: source_dtypes\n    dtype: string",
    ] {
        assert!(yaml.contains(line), "front matter lacks {line:?}:\n{yaml}");
    }
    let mut download = 0;
    for split in ["train", "test"] {
        let shards: Vec<&Value> = parquet_shards(&m)
            .into_iter()
            .filter(|s| s["split"] == split)
            .collect();
        let rows: u64 = shards.iter().map(|s| s["rows"].as_u64().unwrap()).sum();
        assert_eq!(rows, m["splits"][split].as_u64().unwrap());
        download += shards
            .iter()
            .map(|s| s["bytes"].as_u64().unwrap())
            .sum::<u64>();
        let entry = format!("  - name: {split}\n    num_bytes: ");
        let at = yaml
            .find(&entry)
            .unwrap_or_else(|| panic!("no {split} in splits:\n{yaml}"));
        let rest = &yaml[at + entry.len()..];
        let (num_bytes, rest) = rest.split_once('\n').unwrap();
        assert!(num_bytes.parse::<u64>().unwrap() > 0, "{split} num_bytes");
        assert!(
            rest.starts_with(&format!("    num_examples: {rows}\n")),
            "{split} num_examples is not {rows}:\n{yaml}"
        );
    }
    assert!(
        yaml.contains(&format!("\n  download_size: {download}\n")),
        "{yaml}"
    );
    assert!(yaml.contains("\n  dataset_size: "), "{yaml}");

    // The readable part: loading with the seg.png handler, the summary, every checksum.
    assert!(card.contains("wds.handle_extension(\"seg.png\", lambda b: np.asarray(PIL.Image.open(io.BytesIO(b)))), \"pil\")"));
    assert!(card.contains("load_dataset(\"jane/sfhq-faces\")"));
    assert!(card.contains("Rows written: 10. Samples excluded: 0."));
    for shard in m["shards"].as_array().unwrap() {
        assert!(
            card.contains(&format!(
                "| `{}` | {} | {} | {} | `{}` |",
                shard["path"].as_str().unwrap(),
                shard["split"].as_str().unwrap(),
                shard["rows"],
                shard["bytes"],
                shard["sha256"].as_str().unwrap()
            )),
            "the card lacks the checksum row of {}",
            shard["path"]
        );
    }
    assert!(
        !card.contains(t.path().to_str().unwrap()),
        "the card leaks a local path"
    );
}

#[test]
fn croissant_has_one_file_object_per_shard_with_the_manifest_sha256() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    package(&t, &dir, ALL).expect_code(0);
    let m = manifest(&dir);
    let doc = read_json(&dir.join("croissant.json"));
    assert_eq!(doc["conformsTo"], "http://mlcommons.org/croissant/1.1");
    assert_eq!(doc["@type"], "sc:Dataset");
    assert_eq!(doc["datePublished"], "2023-11-14");
    assert_eq!(
        doc["license"],
        "https://creativecommons.org/licenses/by/4.0/"
    );
    assert_eq!(
        doc["url"],
        "https://huggingface.co/datasets/jane/sfhq-faces"
    );
    assert_eq!(doc["creator"]["name"], "Jane Doe");
    for key in ["name", "description", "version", "citeAs"] {
        assert!(doc[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    let objects: Vec<&Value> = doc["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["@type"] == "cr:FileObject")
        .collect();
    let shards = m["shards"].as_array().unwrap();
    assert_eq!(objects.len(), shards.len());
    for shard in shards {
        let object = objects
            .iter()
            .find(|o| o["contentUrl"] == shard["path"])
            .unwrap_or_else(|| panic!("no FileObject for {}", shard["path"]));
        assert_eq!(object["sha256"], shard["sha256"]);
        assert_eq!(object["contentSize"], format!("{} B", shard["bytes"]));
        let format = if shard["format"] == "parquet" {
            "application/x-parquet"
        } else {
            "application/x-tar"
        };
        assert_eq!(object["encodingFormat"], format);
    }
    let records = doc["recordSet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["@id"] == "sfhq")
        .expect("the sfhq record set");
    let field = |id: &str| {
        records["field"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["@id"] == id)
            .unwrap_or_else(|| panic!("no field {id}"))
            .clone()
    };
    assert_eq!(field("sfhq/image")["dataType"], "sc:ImageObject");
    assert_eq!(
        field("sfhq/segmentation")["dataType"],
        serde_json::json!(["cr:SegmentationMask", "sc:ImageObject"])
    );
    assert_eq!(field("sfhq/landmarks")["arrayShape"], "110,2");
    assert_eq!(field("sfhq/landmarks")["isArray"], true);
    let clip = field("sfhq/pretrained_features/clip_vitl_14_336");
    assert_eq!(
        (clip["arrayShape"].as_str(), clip["dataType"].as_str()),
        (Some("768"), Some("cr:Float32"))
    );
    assert!(field("sfhq/split")["references"].is_object());
}

#[test]
fn croissant_date_comes_from_the_manifest_or_date_or_today_and_says_which() {
    let t = TestDir::new();
    // Converted with SOURCE_DATE_EPOCH: the manifest carries `created`.
    let out = t.join("dated");
    let mut args = vec!["convert".to_string()];
    args.extend(
        good_sources()
            .iter()
            .map(|s| s.to_string_lossy().into_owned()),
    );
    args.extend(["--out".to_string(), out.to_string_lossy().into_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with_epoch(t.path(), &args, Some("86400")).expect_code(0);
    let dir = out.to_str().unwrap();
    let common = [
        "package",
        dir,
        "--croissant",
        "--license",
        "CC0-1.0",
        "--creator",
        "Jane",
        "--url",
        "https://example.org/sfhq",
    ];
    run_with_epoch(t.path(), &common, None).expect_code(0);
    assert_eq!(
        read_json(&out.join("croissant.json"))["datePublished"],
        "1970-01-02"
    );

    // Without `created` and without SOURCE_DATE_EPOCH: today's date, said on the terminal
    // with how to pin it; `--date` pins it.
    let plain = converted(&t, "plain");
    let plain_dir = plain.to_str().unwrap();
    let mut args = common.to_vec();
    args[1] = plain_dir;
    run_with_epoch(t.path(), &args, None)
        .expect_code(0)
        .expect_stderr_contains("from today's date; pass --date");
    let published = read_json(&plain.join("croissant.json"))["datePublished"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(published.len(), 10, "{published}");
    args.extend(["--overwrite", "--date", "2024-02-29"]);
    run_with_epoch(t.path(), &args, None)
        .expect_code(0)
        .expect_stderr_contains("datePublished 2024-02-29 from --date");
    assert_eq!(
        read_json(&plain.join("croissant.json"))["datePublished"],
        "2024-02-29"
    );
    let mut bad = common.to_vec();
    bad[1] = plain_dir;
    bad.extend(["--overwrite", "--date", "29.02.2024"]);
    run_with_epoch(t.path(), &bad, None)
        .expect_code(2)
        .expect_stderr_contains("not a date of the form YYYY-MM-DD");
}

#[test]
fn a_license_outside_kaggles_list_is_accepted_without_kaggle() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    package(
        &t,
        &dir,
        &[
            "--hf",
            "--croissant",
            "--license",
            "MIT",
            "--id",
            "jane/sfhq-faces",
        ],
    )
    .expect_code(0);
    let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(card.contains("license: mit"), "{card}");
    assert_eq!(read_json(&dir.join("croissant.json"))["license"], "MIT");
}

#[test]
fn kaggle_folder_is_flat_hard_linked_and_passes_the_metadata_rules() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    package(&t, &dir, ALL)
        .expect_code(0)
        .expect_stdout_contains("hard-linked");
    let m = manifest(&dir);
    let kaggle = dir.join("kaggle");
    let parquet = parquet_shards(&m);
    let mut expected: Vec<String> = parquet
        .iter()
        .map(|s| {
            s["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    expected.extend(
        [
            "README.md",
            "SHA256SUMS",
            "dataset-metadata.json",
            "manifest.json",
        ]
        .map(String::from),
    );
    expected.sort();
    let mut found: Vec<String> = fs::read_dir(&kaggle)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found, expected,
        "the folder is flat and holds exactly these files"
    );

    let mut sums = String::new();
    for shard in &parquet {
        let rel = shard["path"].as_str().unwrap();
        let name = rel.rsplit('/').next().unwrap();
        let original = fs::metadata(dir.join(rel)).unwrap();
        let linked = fs::metadata(kaggle.join(name)).unwrap();
        assert_eq!(
            (linked.dev(), linked.ino()),
            (original.dev(), original.ino()),
            "{name} is not a hard link"
        );
        sums.push_str(&format!("{}  {name}\n", shard["sha256"].as_str().unwrap()));
    }
    // ... and the hash of the flat folder's own manifest.json, so `verify` works there too.
    let flat_manifest = fs::read(kaggle.join("manifest.json")).unwrap();
    sums.push_str(&format!("{}  manifest.json\n", sha256(&flat_manifest)));
    assert_eq!(fs::read_to_string(kaggle.join("SHA256SUMS")).unwrap(), sums);
    // Kaggle gets a description of the flat folder, not the Hub card with its data/ paths.
    let readme = fs::read_to_string(kaggle.join("README.md")).unwrap();
    assert_ne!(readme, fs::read_to_string(dir.join("README.md")).unwrap());
    assert!(!readme.starts_with("---"), "no Hub front matter: {readme}");
    assert!(
        !readme.contains("data/") && !readme.contains("webdataset/"),
        "the Kaggle README names folders Kaggle does not have:\n{readme}"
    );
    Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args(["verify", kaggle.to_str().unwrap()])
        .status()
        .map(|s| assert!(s.success(), "verify fails on the Kaggle folder"))
        .unwrap();
    // The links changed no byte: the folder still verifies.
    t.run(["verify", dir.to_str().unwrap()]).expect_code(0);

    let meta = read_json(&kaggle.join("dataset-metadata.json"));
    assert_eq!(meta["title"], TITLE);
    assert_eq!(meta["subtitle"], SUBTITLE);
    assert_eq!(meta["id"], "jane/sfhq-faces");
    assert_eq!(meta["licenses"], serde_json::json!([{"name": "CC-BY-4.0"}]));
    let title = meta["title"].as_str().unwrap().chars().count();
    let subtitle = meta["subtitle"].as_str().unwrap().chars().count();
    let slug = meta["id"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap()
        .1
        .chars()
        .count();
    assert!((6..=50).contains(&title) && (6..=50).contains(&slug) && (20..=80).contains(&subtitle));
    let mut described: Vec<String> = meta["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()));
            r["path"].as_str().unwrap().to_string()
        })
        .collect();
    described.sort();
    let uploaded: Vec<String> = expected
        .into_iter()
        .filter(|n| n != "dataset-metadata.json")
        .collect();
    assert_eq!(
        described, uploaded,
        "resources describe every uploaded file, once"
    );
    assert!(meta["description"]
        .as_str()
        .unwrap()
        .contains("sha256sum -c SHA256SUMS"));
}

#[test]
fn a_corrupt_shard_is_refused_and_nothing_is_written() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    let m = manifest(&dir);
    let shard = parquet_shards(&m)[0]["path"].as_str().unwrap().to_string();
    let path = dir.join(&shard);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    package(&t, &dir, ALL)
        .expect_code(1)
        .expect_stderr_contains(&format!("FAILED {shard}: sha256"))
        .expect_stderr_contains("nothing was written");
    assert_nothing_written(&dir);
}

#[test]
fn kaggle_rules_are_checked_before_anything_is_written() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    let base = ["--hf", "--croissant", "--kaggle"];
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "--title",
                "SFHQ",
                "--license",
                "CC-BY-4.0",
                "--id",
                "jane/sfhq-faces",
            ],
            "Kaggle needs a title of 6 to 50 characters",
        ),
        (
            &["--license", "CC-BY-4.0,CC0-1.0", "--id", "jane/sfhq-faces"],
            "exactly one license",
        ),
        (
            &["--license", "CC-BY-4.0", "--id", "jane/sfhq"],
            "Kaggle needs a slug of 6 to 50 characters",
        ),
        (
            &["--license", "CC-BY-4.0", "--id", "jane/SFHQ_Faces"],
            "Kaggle slugs are lower-case letters, digits and '-' (try \"sfhq-faces\")",
        ),
        (
            &[
                "--license",
                "CC-BY-4.0",
                "--id",
                "jane/sfhq-faces",
                "--subtitle",
                "too short",
            ],
            "Kaggle needs a subtitle of 20 to 80 characters",
        ),
    ];
    for (args, rule) in cases {
        let mut all = base.to_vec();
        all.extend_from_slice(args);
        package(&t, &dir, &all)
            .expect_code(2)
            .expect_stderr_contains(rule)
            .expect_stderr_contains("nothing was written");
        assert_nothing_written(&dir);
    }
    // Every violation at once, not one per run.
    let run = package(
        &t,
        &dir,
        &[
            "--kaggle",
            "--title",
            "SFHQ",
            "--license",
            "MIT",
            "--id",
            "x/y",
        ],
    );
    run.expect_code(2)
        .expect_stderr_contains("3 problem(s)")
        .expect_stderr_contains("not in Kaggle's license list");
    package(&t, &dir, &["--license", "CC0-1.0"])
        .expect_code(2)
        .expect_stderr_contains("pass --hf, --croissant and/or --kaggle");
    package(&t, &dir, &["--kaggle", "--license", "CC0-1.0"])
        .expect_code(2)
        .expect_stderr_contains("--kaggle needs --id owner/slug");
    assert_nothing_written(&dir);
}

#[test]
fn existing_files_are_replaced_only_with_overwrite() {
    let t = TestDir::new();
    let dir = converted(&t, "out");
    package(&t, &dir, ALL).expect_code(0);
    fs::write(dir.join("kaggle/dataset-cover-image.png"), b"cover").unwrap();
    fs::write(dir.join("kaggle/stale.parquet"), b"old").unwrap();
    let before = publishing_files(&dir);
    package(&t, &dir, ALL)
        .expect_code(2)
        .expect_stderr_contains("already exist")
        .expect_stderr_contains("--overwrite");
    assert_eq!(
        publishing_files(&dir),
        before,
        "a refused run changed nothing"
    );

    let mut again = ALL.to_vec();
    again.push("--overwrite");
    package(&t, &dir, &again).expect_code(0);
    assert!(
        !dir.join("kaggle/stale.parquet").exists(),
        "the old folder was replaced whole"
    );
    assert_eq!(
        fs::read(dir.join("kaggle/dataset-cover-image.png")).unwrap(),
        b"cover"
    );
    assert!(!dir.join(".kaggle.partial").exists() && !dir.join(".kaggle.old").exists());
}

#[test]
fn the_same_folder_and_arguments_give_the_same_bytes() {
    let t = TestDir::new();
    let one = converted(&t, "one");
    let two = converted(&t, "two");
    package(&t, &one, ALL).expect_code(0);
    package(&t, &two, ALL).expect_code(0);
    let first = publishing_files(&one);
    let names: Vec<&str> = first.iter().map(|f| f.0.as_str()).collect();
    assert!(
        names.contains(&"README.md")
            && names.contains(&"croissant.json")
            && names.contains(&"kaggle/dataset-metadata.json"),
        "{names:?}"
    );
    assert!(
        first == publishing_files(&two),
        "two folders converted alike package alike"
    );

    let mut again = ALL.to_vec();
    again.push("--overwrite");
    package(&t, &one, &again).expect_code(0);
    assert!(
        first == publishing_files(&one),
        "a second run gives the same bytes"
    );
}

#[test]
fn a_webdataset_only_folder_gets_croissant_and_kaggle_but_no_card() {
    let t = TestDir::new();
    t.convert(&good_sources(), "wds", &["--format", "webdataset"])
        .expect_code(0);
    let dir = t.join("wds");
    package(&t, &dir, &["--hf", "--license", "CC0-1.0"])
        .expect_code(2)
        .expect_stderr_contains("--format parquet,webdataset");
    assert_nothing_written(&dir);
    package(
        &t,
        &dir,
        &[
            "--croissant",
            "--kaggle",
            "--license",
            "CC0-1.0",
            "--id",
            "jane/sfhq-faces",
        ],
    )
    .expect_code(0);
    let doc = read_json(&dir.join("croissant.json"));
    let sets: Vec<&str> = doc["recordSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["@id"].as_str().unwrap())
        .collect();
    assert_eq!(sets, ["webdataset"]);
    assert!(dir.join("kaggle/train-000000.tar").is_file());
}

#[test]
fn the_card_summarises_excluded_samples_and_warnings() {
    let t = TestDir::new();
    t.convert(&[broken_folder()], "broken", &[]).expect_code(1);
    let dir = t.join("broken");
    package(&t, &dir, &["--hf", "--license", "CC0-1.0"]).expect_code(0);
    let m = manifest(&dir);
    let card = fs::read_to_string(dir.join("README.md")).unwrap();
    let excluded = m["excluded"].as_array().unwrap();
    assert!(!excluded.is_empty());
    assert!(card.contains(&format!("Samples excluded: {}.", excluded.len())));
    for sample in excluded {
        for issue in sample["issues"].as_array().unwrap() {
            if issue["severity"] == "error" {
                let code = issue["code"].as_str().unwrap();
                assert!(
                    card.contains(&format!("| `{code}` | ")),
                    "the card lacks {code}"
                );
            }
        }
    }
    for code in m["warnings"].as_object().unwrap().keys() {
        assert!(
            card.contains(&format!("| `{code}` | ")),
            "the card lacks warning {code}"
        );
    }
}
