//! `report`: the HTML page on raw sources (validated for it) and on a converted folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::{
    broken_folder, dedup_sources, finish, fixtures, good_sources, read_json, signal_when, TestDir,
};

/// `report SOURCES EXTRA...`.
fn report_args(sources: &[PathBuf], extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["report".into()];
    args.extend(sources.iter().map(|s| s.clone().into_os_string()));
    args.extend(extra.iter().map(Into::into));
    args
}

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
    // The manifest records every statistic: only the 4 gallery rows are read.
    assert_eq!(summary["statistics_samples"], 4);
    let page = assert_self_contained(&t.join("from-shards"));
    assert!(page.contains("parquet shards"));
    for entry in summary["gallery"].as_array().unwrap() {
        assert!(page.contains(entry["key"].as_str().unwrap()));
        assert_eq!(entry["pictures"].as_array().unwrap().len(), 4);
    }
    // The same seed picks the same samples from the sources and from the shards, and
    // draws the same pixels (the shards hold the source bytes unchanged).
    let raw = t.run(report_args(
        &good_sources(),
        &[
            "--out",
            "from-sources",
            "--json",
            "--gallery",
            "4",
            "--seed",
            "7",
        ],
    ));
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
    use std::time::Duration;

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
    signal_when(&child, "INT", Duration::from_millis(200), || out.exists());
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("no page written to"), "{stderr}");
    assert!(
        !out.exists(),
        "the report folder this run created is removed"
    );
}

/// Adds the pixels per label of a PNG label map (palette indices kept) to `counts`.
fn add_label_counts(path: &Path, counts: &mut [u64]) {
    let mut decoder =
        png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().unwrap();
    let mut labels = vec![0u8; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut labels).unwrap();
    for &label in &labels[..frame.buffer_size()] {
        counts[usize::from(label)] += 1;
    }
}

/// Pixels per label of the folder parts' maps, decoded here with the `png` crate (palette
/// indices kept: they are the labels).
fn class_pixels_of_folders(parts: &[&Path]) -> (Vec<u64>, u64) {
    let mut counts = vec![0u64; 256];
    let mut maps = 0;
    for part in parts {
        let mut files: Vec<_> = std::fs::read_dir(part.join("segmentations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            add_label_counts(&file, &mut counts);
            maps += 1;
        }
    }
    (counts, maps)
}

/// Of the maps under `parts`: how many have every aligned 4x4 block of one label; and the
/// sizes of the image files.
fn pure_maps_and_image_sizes(parts: &[&Path]) -> (u64, Vec<u64>) {
    let mut pure = 0;
    let mut sizes = Vec::new();
    for part in parts {
        for entry in std::fs::read_dir(part.join("segmentations")).unwrap() {
            let map = image::open(entry.unwrap().path()).unwrap();
            let map = map.to_luma8();
            let (w, h) = map.dimensions();
            let block_is_pure = |bx: u32, by: u32| {
                let first = map.get_pixel(bx * 4, by * 4);
                (0..16).all(|i| map.get_pixel(bx * 4 + i % 4, by * 4 + i / 4) == first)
            };
            let all = (0..h / 4).all(|by| (0..w / 4).all(|bx| block_is_pure(bx, by)));
            pure += u64::from(all);
        }
        for entry in std::fs::read_dir(part.join("images")).unwrap() {
            let entry = entry.unwrap();
            // Samples only: the fixtures hold .DS_Store, Thumbs.db and a hidden file too.
            if entry.file_name().to_string_lossy().starts_with("SFHQ_") {
                sizes.push(entry.metadata().unwrap().len());
            }
        }
    }
    (pure, sizes)
}

#[test]
fn convert_records_the_class_pixels_of_every_map_at_any_thread_count() {
    let t = TestDir::new();
    let sources = good_sources();
    let folders: Vec<&Path> = sources
        .iter()
        .filter(|p| p.is_dir())
        .map(PathBuf::as_path)
        .collect();
    assert_eq!(folders.len(), 2, "pt1 and pt4 are folders");
    let owned: Vec<PathBuf> = folders.iter().map(|p| p.to_path_buf()).collect();
    t.convert(&owned, "one", &["--threads", "1"]).expect_code(0);
    t.convert(&owned, "four", &["--threads", "4"])
        .expect_code(0);
    let one = read_json(&t.join("one/manifest.json"))["statistics"].clone();
    let four = read_json(&t.join("four/manifest.json"))["statistics"].clone();
    assert_eq!(one, four, "the same numbers whatever the thread count");
    let (counts, maps) = class_pixels_of_folders(&folders);
    assert_eq!(counts[19..].iter().sum::<u64>(), 0);
    let recorded: Vec<u64> = one["segmentation_class_pixels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(recorded, counts[..19], "counted independently");
    assert_eq!(one["maps_counted"], maps);
    assert_eq!(maps, 6);
    let density = &one["landmark_density"];
    assert_eq!(density["samples"], 6);
    assert_eq!(density["points"], 6 * 110);
    assert_eq!(density["bins"], 64);
    let binned: u64 = density["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(binned, 6 * 110);
    // Block purity and image sizes of every row, checked against the files.
    let (pure, sizes) = pure_maps_and_image_sizes(&folders);
    let purity = &one["block_purity"];
    assert_eq!(
        (purity["maps"].as_u64(), purity["pure"].as_u64()),
        (Some(6), Some(pure))
    );
    let in_bins: u64 = purity["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(in_bins, 6);
    assert!(
        purity["bins"][19].as_u64().unwrap() >= pure,
        "pure maps in the last bin"
    );
    let recorded_sizes = &one["image_bytes"];
    assert_eq!(recorded_sizes["images"], 6);
    assert_eq!(recorded_sizes["min"], *sizes.iter().min().unwrap());
    assert_eq!(recorded_sizes["max"], *sizes.iter().max().unwrap());
    let sized: u64 = recorded_sizes["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[1].as_u64().unwrap())
        .sum();
    assert_eq!(sized, 6);
    // validate --json gives the same statistics, and the zip part counts alike at any
    // thread count.
    let mut args: Vec<std::ffi::OsString> = vec!["validate".into(), "--json".into()];
    args.extend(owned.iter().map(|p| p.clone().into_os_string()));
    assert_eq!(t.run(args).json()["statistics"], one);
    t.convert(&sources, "all-1", &["--threads", "1"])
        .expect_code(0);
    t.convert(&sources, "all-4", &["--threads", "4"])
        .expect_code(0);
    assert_eq!(
        std::fs::read(t.join("all-1/manifest.json")).unwrap(),
        std::fs::read(t.join("all-4/manifest.json")).unwrap()
    );
    assert_eq!(
        read_json(&t.join("all-1/manifest.json"))["statistics"]["maps_counted"],
        10
    );
}

#[test]
fn statistics_count_only_the_samples_kept() {
    let t = TestDir::new();
    t.convert(&[broken_folder()], "out", &[]).expect_code(1);
    let m = read_json(&t.join("out/manifest.json"));
    let excluded: BTreeSet<String> = m["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect();
    // An independent count over the maps of the kept samples only.
    let mut counts = vec![0u64; 256];
    let (mut kept_maps, mut all_maps) = (0u64, 0u64);
    for entry in std::fs::read_dir(broken_folder().join("segmentations")).unwrap() {
        let path = entry.unwrap().path();
        let key = path.file_stem().unwrap().to_string_lossy().into_owned();
        all_maps += 1;
        if excluded.contains(&key) {
            continue;
        }
        add_label_counts(&path, &mut counts);
        kept_maps += 1;
    }
    assert!(
        kept_maps < all_maps,
        "some excluded samples have maps: the test means something"
    );
    let statistics = &m["statistics"];
    assert_eq!(statistics["maps_counted"], kept_maps);
    assert_eq!(statistics["block_purity"]["maps"], kept_maps);
    let recorded: Vec<u64> = statistics["segmentation_class_pixels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(recorded, counts[..19], "the kept maps' pixels, no others");
    assert_eq!(statistics["image_bytes"]["images"], m["rows"]);
}

#[test]
fn a_report_sets_aside_statistics_that_do_not_hold_together() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let path = t.join("out/manifest.json");
    let original = read_json(&path);
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 4] = [
        ("bins", |s| {
            s["landmark_density"]["bins"] = 1_000_000_000.into()
        }),
        ("counts", |s| {
            s["landmark_density"]["counts"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        ("sizes", |s| s["image_bytes"]["min"] = u64::MAX.into()),
        ("overflow", |s| {
            s["segmentation_class_pixels"][0] = u64::MAX.into()
        }),
    ];
    for (name, edit) in edits {
        let mut manifest = original.clone();
        edit(&mut manifest["statistics"]);
        std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
        let out = t.join(&format!("r-{name}"));
        let run = t.run([
            "report".as_ref(),
            t.join("out").as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--json".as_ref(),
        ]);
        run.expect_code(0);
        assert_eq!(run.json()["class_shares"]["every_map"], false, "{name}");
        let page = std::fs::read_to_string(out.join("index.html")).unwrap();
        assert!(
            page.contains("statistics do not hold together"),
            "{name}: the page says why they were set aside"
        );
    }
}

#[test]
fn report_of_a_converted_folder_shows_shares_over_every_map() {
    let t = TestDir::new();
    t.convert(&good_sources(), "out", &[]).expect_code(0);
    let report = |out: &str| {
        let run = t.run([
            "report".as_ref(),
            t.join("out").as_os_str(),
            "--out".as_ref(),
            t.join(out).as_os_str(),
            "--json".as_ref(),
        ]);
        run.expect_code(0);
        let page = std::fs::read_to_string(t.join(out).join("index.html")).unwrap();
        (run.json(), page)
    };
    let (summary, page) = report("r");
    let recorded = &read_json(&t.join("out/manifest.json"))["statistics"];
    assert_eq!(summary["class_shares"]["every_map"], true);
    assert_eq!(summary["class_shares"]["maps"], 10);
    assert_eq!(
        summary["class_shares"]["pixels"],
        recorded["segmentation_class_pixels"]
    );
    assert_eq!(summary["landmark_density"]["every_sample"], true);
    assert_eq!(summary["landmark_density"]["points"], 1100);
    assert!(
        page.contains("Over all 10 segmentation maps of the rows, counted by convert"),
        "the page says what the shares cover"
    );
    // The purity and size plots cover every row too.
    let pure = recorded["block_purity"]["pure"].as_u64().unwrap();
    assert!(
        page.contains(&format!("{pure} of 10 maps fully pure")),
        "purity over every map"
    );
    assert!(
        page.contains("10 source image files (every valid sample"),
        "sizes over every row"
    );
    // A manifest of an older version (no statistics): estimated from sampled rows, said so.
    let path = t.join("out/manifest.json");
    let mut manifest = read_json(&path);
    manifest.as_object_mut().unwrap().remove("statistics");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let (summary, page) = report("old");
    assert_eq!(summary["class_shares"]["every_map"], false);
    assert_eq!(summary["class_shares"]["maps"], 10);
    assert!(page.contains("Estimated from the 10 segmentation maps of 10 rows chosen with seed 0"));
    assert!(page.contains("written by an older sfhq-pack"));
    assert!(
        page.contains("of 10 sampled maps fully pure"),
        "purity from the sampled rows"
    );
    assert!(
        page.contains("10 sampled rows (the stored images)"),
        "sizes from the sampled rows"
    );
}

/// The pairs of `dedup/EXPECTED.json` as (a, b) -> similarity.
fn expected_pairs() -> std::collections::BTreeMap<(String, String), f64> {
    let expected = read_json(&fixtures().join("dedup/EXPECTED.json"));
    expected["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let key = |k: &str| p[k].as_str().unwrap().to_string();
            ((key("a"), key("b")), p["similarity"].as_f64().unwrap())
        })
        .collect()
}

/// Every shown pair is a planted one with its similarity, drawn side by side on the page.
fn assert_pairs_shown(summary: &serde_json::Value, dir: &Path, shown: usize) {
    let want = expected_pairs();
    let near = &summary["near_duplicates"];
    assert_eq!(near["pairs"], want.len());
    assert_eq!(near["groups"], 7);
    assert_eq!(near["not_shown"], want.len() - shown);
    let page = assert_self_contained(dir);
    let pairs = near["shown"].as_array().unwrap();
    assert_eq!(pairs.len(), shown);
    let mut last = f64::INFINITY;
    for pair in pairs {
        let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
        let similarity = pair["similarity"].as_f64().unwrap();
        let planted = want[&(a.to_string(), b.to_string())];
        assert!((similarity - planted).abs() < 1e-6, "{a} {b}: {similarity}");
        assert!(similarity <= last, "most similar first");
        last = similarity;
        let text = if pair["identical"] == true {
            "1.0 (identical images)".to_string()
        } else {
            format!("{similarity:.6}")
        };
        let card =
            format!("similarity <b class=\"similarity\">{text}</b></div>\n<div class=\"panels\">");
        let at = page
            .find(&card)
            .unwrap_or_else(|| panic!("no pair card {text}"));
        let rest = &page[at..at + 600.min(page.len() - at)];
        assert!(rest.find(a) < rest.find(b), "{a} then {b} in {rest}");
        let pictures = pair["pictures"].as_array().unwrap();
        assert_eq!(pictures.len(), 2, "both thumbnails of {a} {b}");
        for picture in pictures {
            assert!(rest.contains(picture.as_str().unwrap()));
        }
    }
    assert!(page.contains("id=\"near-duplicates\""));
}

#[test]
fn report_shows_near_duplicate_pairs_side_by_side() {
    let t = TestDir::new();
    let extra = [
        "--out",
        "from-sources",
        "--json",
        "--image-size",
        "8",
        "--dedup-threshold",
        "0.92",
        "--pairs",
        "4",
    ];
    let run = t.run(report_args(&dedup_sources(), &extra));
    run.expect_code(0);
    let summary = run.json();
    assert_eq!(summary["near_duplicates"]["source"], "computed");
    assert_eq!(summary["warnings"]["sample.near_duplicate"], 20);
    assert_pairs_shown(&summary, &t.join("from-sources"), 4);
    let page = std::fs::read_to_string(t.join("from-sources/index.html")).unwrap();
    assert!(page.contains("6 more not shown (raise --pairs to see them)"));

    // A folder converted with --dedup-threshold: the pairs it recorded, without the option.
    t.convert(
        &dedup_sources(),
        "out",
        &["--image-size", "8", "--dedup-threshold", "0.92"],
    )
    .expect_code(0);
    assert_eq!(
        read_json(&t.join("out/manifest.json"))["dedup"]["pairs"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let report = |out: &str, extra: &[&str]| {
        let out = t.join(out);
        let mut args = vec![
            "--out",
            out.to_str().unwrap(),
            "--json",
            "--image-size",
            "8",
        ];
        args.extend(extra);
        let run = t.run(report_args(&[t.join("out")], &args));
        run.expect_code(0);
        run.json()
    };
    let summary = report("recorded", &[]);
    assert_eq!(summary["near_duplicates"]["source"], "recorded");
    assert_pairs_shown(&summary, &t.join("recorded"), 10);
    // Another threshold: the engine runs on the folder's feature column.
    let summary = report("computed", &["--dedup-threshold", "0.95"]);
    assert_eq!(summary["near_duplicates"]["source"], "computed");
    let higher = expected_pairs().values().filter(|&&s| s >= 0.95).count();
    assert_eq!(summary["near_duplicates"]["pairs"], higher);
    // Without either, no section.
    t.convert(&dedup_sources(), "plain", &["--image-size", "8"])
        .expect_code(0);
    let none = t.join("none");
    let extra = [
        "--out",
        none.to_str().unwrap(),
        "--json",
        "--image-size",
        "8",
    ];
    let run = t.run(report_args(&[t.join("plain")], &extra));
    run.expect_code(0);
    assert!(run.json().get("near_duplicates").is_none());
    let page = std::fs::read_to_string(t.join("none/index.html")).unwrap();
    assert!(!page.contains("near-duplicates"));
}
