//! `validate`: every rule, a report, nothing written.

use crate::util::*;

#[test]
fn validate_good_sources_is_clean_and_writes_nothing() {
    let t = TestDir::new();
    let mut args = vec!["validate".into(), "--json".into()];
    args.extend(good_sources().into_iter().map(|p| p.into_os_string()));
    let run = t.run(&args);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["samples"], 10);
    assert_eq!(report["valid"], 10);
    assert_eq!(report["segmentation_block_share"]["pure_maps"], 10);
    assert!(
        tree(t.path()).is_empty(),
        "validate wrote files: {:?}",
        tree(t.path())
    );
}

#[test]
fn validate_broken_set_reports_errors_by_code_with_exit_1() {
    let t = TestDir::new();
    let run = t.run([
        "validate".into(),
        "--json".into(),
        broken_folder().into_os_string(),
    ]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["samples"], 29);
    assert_eq!(report["valid"], 3);
    assert_eq!(report["errors"]["features.unsafe"], 2);
    assert_eq!(report["errors"]["landmarks.unreadable"], 2);
    assert_eq!(report["warnings"]["segmentation.blocks"], 1);
    let share = report["segmentation_block_share"]["min"].as_f64().unwrap();
    assert!(
        share > 0.9 && share < 1.0,
        "the edited map has a few impure blocks: {share}"
    );

    // The text form names key, code, severity and file on one line.
    let text = t.run(["validate".into(), broken_folder().into_os_string()]);
    text.expect_code(1)
        .expect_stdout_contains("SFHQ_pt3_00000003\timage.truncated\terror\t");
}

#[test]
fn deep_decoding_catches_corrupt_pixel_data_behind_a_good_header() {
    let t = TestDir::new();
    let src = t.join("part");
    copy_tree(&fixtures().join("good").join("SFHQ_pt1"), &src);
    // The frame header and end marker stay intact; the Huffman table behind them is
    // corrupted, so only a full decode notices.
    let path = src.join("images").join("SFHQ_pt1_00000001.jpg");
    let mut bytes = std::fs::read(&path).unwrap();
    let dht = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC4])
        .expect("a DHT segment");
    for b in &mut bytes[dht + 5..dht + 21] {
        *b = 0xFF;
    }
    std::fs::write(&path, bytes).unwrap();

    t.run(["validate".into(), src.clone().into_os_string()])
        .expect_code(0);
    let deep = t.run([
        "validate".into(),
        "--deep".into(),
        "--json".into(),
        src.into_os_string(),
    ]);
    deep.expect_code(1);
    assert_eq!(keys(&deep.json()["excluded"]), ["SFHQ_pt1_00000001"]);
    assert_eq!(
        deep.json()["excluded"][0]["issues"][0]["code"],
        "image.unreadable"
    );
}
