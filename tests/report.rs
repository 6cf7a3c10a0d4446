//! `report`: the HTML page on raw sources (validated for it) and on a converted folder.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{broken_folder, fixtures, good_sources, read_json, TestDir};

/// Every `src="..."` of the page.
fn sources_of(page: &str) -> Vec<String> {
    page.split("src=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("closing quote")].to_string())
        .collect()
}

/// The page loads nothing from the network and every picture it names is there.
fn assert_self_contained(dir: &Path) -> String {
    let page = std::fs::read_to_string(dir.join("index.html")).expect("index.html written");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page must not name a network resource"
    );
    assert!(!page.contains("<script"), "the page has no script");
    let srcs = sources_of(&page);
    assert!(!srcs.is_empty());
    for src in &srcs {
        assert!(
            src.starts_with("img/") && src.ends_with(".png"),
            "picture outside img/: {src}"
        );
        assert!(
            dir.join(src).is_file(),
            "the page names a missing file: {src}"
        );
    }
    page
}

#[test]
fn report_on_broken_sources_shows_every_excluded_sample() {
    let t = TestDir::new();
    let run = t.run([
        "report".as_ref(),
        broken_folder().as_os_str(),
        "--out".as_ref(),
        t.join("report").as_os_str(),
        "--json".as_ref(),
    ]);
    run.expect_code(1);
    let summary = run.json();
    let page = assert_self_contained(&t.join("report"));
    let expected = read_json(&fixtures().join("broken/EXPECTED.json"));
    let samples = expected["samples"].as_object().unwrap();
    let excluded: Vec<&String> = samples
        .iter()
        .filter(|(_, s)| s["excluded"] == true)
        .map(|(k, _)| k)
        .collect();
    assert!(excluded.len() > 10);
    for key in &excluded {
        assert!(page.contains(key.as_str()), "{key} is not on the page");
    }
    assert_eq!(summary["excluded"], excluded.len());
    assert_eq!(summary["input"], "sources");
    // Every card that could be read has its pictures; every excluded key has a card.
    let cards: BTreeSet<String> = summary["cards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["section"] == "excluded")
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect();
    for key in &excluded {
        assert!(cards.contains(key.as_str()), "no card for {key}");
    }
    let files: Vec<String> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    for file in &files {
        assert!(t.join("report").join(file).is_file(), "{file}");
    }
    assert!(files.contains(&"img/landmark-density.png".to_string()));
    // Issue messages and the legend are on the page.
    assert!(page.contains("segmentation.labels"));
    // Codes link to their cards; a source-level code (orphans) has none to link to.
    assert!(page.contains("href=\"#code-segmentation.labels\""));
    assert!(page.contains("id=\"code-segmentation.labels\""));
    assert!(page.contains("source.orphan"));
    assert!(!page.contains("href=\"#code-source.orphan\""));
    assert!(page.contains("17 hair"));
    assert!(page.contains("Pixel share per class"));
    // The clean control sample is valid: it may be in the gallery, never in a card.
    let gallery: Vec<&str> = summary["gallery"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    for key in &gallery {
        assert!(!excluded.iter().any(|e| e.as_str() == *key));
    }
}

#[test]
fn per_code_limits_cards_and_counts_the_rest() {
    let t = TestDir::new();
    let run = t.run([
        "report".as_ref(),
        broken_folder().as_os_str(),
        "--out".as_ref(),
        t.join("r").as_os_str(),
        "--json".as_ref(),
        "--per-code".as_ref(),
        "0".as_ref(),
        "--gallery".as_ref(),
        "1".as_ref(),
    ]);
    run.expect_code(1);
    let summary = run.json();
    assert_eq!(summary["cards"].as_array().unwrap().len(), 0);
    assert_eq!(summary["not_shown"]["landmarks.unreadable"], 2);
    assert_eq!(summary["gallery"].as_array().unwrap().len(), 1);
    let page = std::fs::read_to_string(t.join("r/index.html")).unwrap();
    assert!(page.contains("more not shown (raise --per-code to see them)"));
}

#[test]
fn report_on_a_converted_folder_matches_the_sources_gallery() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let converted = t.run([
        "report".as_ref(),
        t.join("out").as_os_str(),
        "--out".as_ref(),
        t.join("from-shards").as_os_str(),
        "--json".as_ref(),
        "--gallery".as_ref(),
        "4".as_ref(),
        "--seed".as_ref(),
        "7".as_ref(),
    ]);
    converted.expect_code(0);
    let summary = converted.json();
    assert_eq!(summary["input"], "converted");
    assert_eq!(summary["samples"], 10);
    assert_eq!(summary["statistics_samples"], 10);
    let page = assert_self_contained(&t.join("from-shards"));
    assert!(page.contains("parquet shards"));
    for entry in summary["gallery"].as_array().unwrap() {
        assert!(page.contains(entry["key"].as_str().unwrap()));
        assert_eq!(entry["pictures"].as_array().unwrap().len(), 4);
    }
    // The same seed picks the same samples from the sources and from the shards, and
    // draws the same pixels (the shards hold the source bytes unchanged).
    let mut args: Vec<std::ffi::OsString> = vec!["report".into()];
    args.extend(good_sources().into_iter().map(Into::into));
    for extra in [
        "--out",
        "from-sources",
        "--json",
        "--gallery",
        "4",
        "--seed",
        "7",
    ] {
        args.push(extra.into());
    }
    let raw = t.run(args);
    raw.expect_code(0);
    let raw = raw.json();
    assert_eq!(raw["gallery"], summary["gallery"]);
    let picture = |dir: &str, n: usize| {
        std::fs::read(t.join(dir).join(format!("img/{n:05}-landmarks.png"))).unwrap()
    };
    assert_eq!(picture("from-shards", 0), picture("from-sources", 0));
    assert_eq!(
        std::fs::read(t.join("from-shards/img/landmark-density.png")).unwrap(),
        std::fs::read(t.join("from-sources/img/landmark-density.png")).unwrap()
    );
}

#[test]
fn report_replaces_its_own_folder_and_refuses_others() {
    let t = TestDir::new();
    let args = |out: &Path| {
        vec![
            "report".into(),
            good_sources()[0].clone().into_os_string(),
            "--out".into(),
            out.as_os_str().to_os_string(),
        ]
    };
    t.run(args(&t.join("r"))).expect_code(0);
    t.run(args(&t.join("r"))).expect_code(0);
    std::fs::create_dir_all(t.join("other")).unwrap();
    std::fs::write(t.join("other/notes.txt"), "mine").unwrap();
    t.run(args(&t.join("other")))
        .expect_code(2)
        .expect_stderr_contains("not empty and not a report sfhq-pack wrote (notes.txt found)");
    assert_eq!(
        std::fs::read_dir(t.join("other")).unwrap().count(),
        1,
        "nothing written"
    );
    // A run that fails after creating the folder leaves no folder behind.
    t.run([
        "report".as_ref(),
        t.join("no-such-part").as_os_str(),
        "--out".as_ref(),
        t.join("fresh").as_os_str(),
    ])
    .expect_code(2)
    .expect_stderr_contains("no-such-part");
    assert!(!t.join("fresh").exists());
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    t.run([
        "report".as_ref(),
        t.join("out").as_os_str(),
        good_sources()[0].as_os_str(),
        "--out".as_ref(),
        t.join("mixed").as_os_str(),
    ])
    .expect_code(2)
    .expect_stderr_contains("a folder written by convert is reported on its own");
}

#[test]
fn package_hf_puts_a_preview_grid_in_the_card() {
    let t = TestDir::new();
    let dir = crate::package::converted(&t, "out");
    crate::package::package(&t, &dir, &["--hf", "--license", "CC0-1.0"])
        .expect_code(0)
        .expect_stdout_contains("preview.png: 8 samples with their segmentation map and landmarks");
    let preview = std::fs::read(dir.join("preview.png")).expect("preview.png written");
    let grid = image::load_from_memory(&preview).unwrap().to_rgb8();
    assert_eq!(grid.dimensions(), (1024, 512), "4 x 2 tiles of 256 pixels");
    let dots = grid.pixels().filter(|p| p.0 == [0, 255, 0]).count();
    assert!(
        dots > 8 * 100,
        "landmark dots drawn on every tile: {dots} pixels"
    );
    let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let title = card.find("\n# ").expect("a title");
    let image = card
        .find("](preview.png)")
        .expect("the card shows preview.png");
    assert!(image > title, "the preview comes after the title");
    // Recorded like the card: verify checks it, a second run needs --overwrite.
    let manifest = read_json(&dir.join("manifest.json"));
    let published: Vec<&str> = manifest["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(published.contains(&"preview.png"), "{published:?}");
    t.run(["verify".as_ref(), dir.as_os_str()]).expect_code(0);
    crate::package::package(&t, &dir, &["--hf", "--license", "CC0-1.0"])
        .expect_code(2)
        .expect_stderr_contains("preview.png");
    crate::package::package(&t, &dir, &["--hf", "--license", "CC0-1.0", "--overwrite"])
        .expect_code(0);
    assert_eq!(
        std::fs::read(dir.join("preview.png")).unwrap(),
        preview,
        "same bytes"
    );
    std::fs::write(dir.join("preview.png"), b"edited").unwrap();
    t.run(["verify".as_ref(), dir.as_os_str()]).expect_code(1);
}

#[test]
fn an_interrupted_report_writes_no_page_and_exits_130() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let t = TestDir::new();
    let src = t.join("big");
    crate::memory::big_source(&src, 600, 300_000);
    let out = t.join("report");
    let child = Command::new(env!("CARGO_BIN_EXE_sfhq-pack"))
        .args([
            "report",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--threads", "1", "--deep"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The report folder is created before the validation pass starts.
    let started = Instant::now();
    while !out.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("no page written to"), "{stderr}");
    assert!(
        !out.exists(),
        "the report folder this run created is removed"
    );
}
