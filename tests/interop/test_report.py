"""`sfhq-pack report` opened in a real browser: headless Chromium (Debian's `chromium`;
.ci/run installs it) loads the page of the broken fixtures and of a converted folder from
disk, and the test checks what a person would see: no console error, no network request
made by the page, every excluded key on the page, the palette's colours and the landmark
dots in the rendered screenshot; and, in the thumbnails, landmark dots exactly where the
fixture's landmarks are and the palette colour of exactly the label the map has there.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BROKEN_SOURCE, FIXTURES, REPO, assert_valid, run_bin

# The palette, written out independently of the Rust code: SFHQ's label order (FORMATS.md)
# with the colour CelebAMask-HQ gives each class.
PALETTE = np.array(
    [
        (0, 0, 0),  # 0 background
        (204, 0, 0),  # 1 skin
        (0, 255, 255),  # 2 left brow
        (255, 204, 204),  # 3 right brow
        (51, 51, 255),  # 4 left eye
        (204, 0, 204),  # 5 right eye
        (204, 204, 0),  # 6 glasses
        (102, 51, 0),  # 7 left ear
        (255, 0, 0),  # 8 right ear
        (0, 204, 204),  # 9 earring
        (76, 153, 0),  # 10 nose
        (102, 204, 0),  # 11 mouth
        (255, 255, 0),  # 12 upper lip
        (0, 0, 153),  # 13 lower lip
        (255, 153, 51),  # 14 neck
        (0, 51, 0),  # 15 necklace
        (0, 204, 0),  # 16 cloth
        (0, 0, 204),  # 17 hair
        (255, 51, 153),  # 18 hat
    ]
    + [(255, 255, 255)] * (256 - 19),  # labels above 18
    dtype=np.uint8,
)
LANDMARK = (0, 255, 0)
THUMBNAIL = 256


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium on PATH: install Debian's `chromium` package (.ci/run does)")


def _browse(page: Path, workdir: Path, *mode: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Opens `page` in a fresh headless Chromium profile; returns the process and the URLs
    the page itself requested from the network (the browser's own background requests
    carry no page origin and are left out). `mode` is --dump-dom or --screenshot=FILE:
    without one, headless Chromium keeps running."""
    assert mode, "give --dump-dom or --screenshot"
    profile = workdir / f"profile-{len(list(workdir.iterdir()))}"
    net_log = profile.with_suffix(".netlog.json")
    argv = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--log-net-log={net_log}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,6000",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        *mode,
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(
        argv, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"chromium exited {proc.returncode}\n{proc.stderr[-4000:]}"
    log = json.loads(net_log.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    requests = [
        e["params"]["url"]
        for e in log["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
        and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]
    return proc, requests


def _console(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def _report(source, out: Path, *extra, expect: int) -> dict:
    proc = run_bin("report", source, "--out", out, "--json", "--quiet", *extra, expect=expect)
    summary = json.loads(proc.stdout)
    assert_valid("report-page", summary)
    return summary


def _assert_overlays(out: Path, entry: dict, seg_png: bytes, landmarks: np.ndarray) -> None:
    """The coloured map is the palette applied to the map's labels (nearest neighbour,
    1024 -> 256 takes every 4th pixel) and a dot sits on every landmark."""
    pictures = {Path(p).stem.split("-", 1)[1]: out / p for p in entry["pictures"]}
    assert set(pictures) == {"image", "segmentation", "blend", "landmarks"}, entry
    labels = np.asarray(Image.open(io.BytesIO(seg_png)))
    assert labels.ndim == 2
    step = labels.shape[0] // THUMBNAIL
    coloured = np.asarray(Image.open(pictures["segmentation"]).convert("RGB"))
    expected = PALETTE[labels[::step, ::step]]
    assert coloured.shape == expected.shape
    mismatched = int((coloured != expected).any(axis=2).sum())
    assert mismatched == 0, f"{entry['key']}: {mismatched} pixels differ from the palette"
    dotted = np.asarray(Image.open(pictures["landmarks"]).convert("RGB"))
    scale = THUMBNAIL / labels.shape[1]
    drawn = 0
    for x, y in landmarks.astype(np.float64):
        px, py = int(np.floor(x * scale)), int(np.floor(y * scale))
        if 0 <= px < THUMBNAIL and 0 <= py < THUMBNAIL:
            assert tuple(dotted[py, px]) == LANDMARK, f"{entry['key']}: no dot at ({x}, {y})"
            drawn += 1
    assert drawn >= 100, f"{entry['key']}: only {drawn} landmarks inside the picture"


def _assert_screenshot_shows_overlays(shot: Path) -> None:
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    skin = int((pixels == PALETTE[1]).all(axis=1).sum())
    dots = int((pixels == np.array(LANDMARK, dtype=np.uint8)).all(axis=1).sum())
    assert skin > 1000, f"the screenshot shows {skin} pixels of the skin colour"
    assert dots > 100, f"the screenshot shows {dots} landmark-dot pixels"


def test_page_requests_are_detected(tmp_path):
    """The network check can fail: a page that loads a picture over http is caught."""
    page = tmp_path / "control" / "index.html"
    page.parent.mkdir()
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png">')
    _, requests = _browse(page, tmp_path, "--dump-dom")
    assert requests == ["http://127.0.0.1:9/x.png"]


def test_broken_fixtures_report_in_chromium(tmp_path):
    out = tmp_path / "report"
    summary = _report(BROKEN_SOURCE, out, expect=1)
    expected = json.loads((FIXTURES / "broken" / "EXPECTED.json").read_text())["samples"]
    excluded = sorted(k for k, s in expected.items() if s["excluded"])
    assert summary["excluded"] == len(excluded)

    proc, requests = _browse(out / "index.html", tmp_path, "--dump-dom")
    assert requests == [], f"the page requested {requests}"
    assert _console(proc) == []
    dom = proc.stdout
    assert "<h1>SFHQ report</h1>" in dom
    for key in excluded:
        assert key in dom, f"{key} is not on the page"
    for code in ("segmentation.labels", "landmarks.out_of_bounds", "image.truncated"):
        assert f'id="code-{code}"' in dom

    shot = tmp_path / "broken.png"
    _browse(out / "index.html", tmp_path, f"--screenshot={shot}")
    _assert_screenshot_shows_overlays(shot)

    # Gallery and card thumbnails against the fixture files themselves.
    folder = REPO / BROKEN_SOURCE
    checked = 0
    for entry in summary["gallery"] + [c for c in summary["cards"] if c["key"] == "SFHQ_pt3_00000010"]:
        seg = folder / "segmentations" / f"{entry['key']}.png"
        marks = np.load(folder / "landmarks" / f"{entry['key']}.npz")["landmarks"]
        _assert_overlays(out, entry, seg.read_bytes(), marks)
        checked += 1
    assert checked >= 3


def test_converted_folder_report_in_chromium(good_output, source_files, tmp_path):
    out = tmp_path / "report"
    summary = _report(good_output.dir, out, "--gallery", "6", expect=0)
    assert summary["input"] == "converted"
    assert len(summary["gallery"]) == 6

    proc, requests = _browse(out / "index.html", tmp_path, "--dump-dom")
    assert requests == [], f"the page requested {requests}"
    assert _console(proc) == []
    for entry in summary["gallery"]:
        assert entry["key"] in proc.stdout

    shot = tmp_path / "converted.png"
    _browse(out / "index.html", tmp_path, f"--screenshot={shot}")
    _assert_screenshot_shows_overlays(shot)


    for entry in summary["gallery"]:
        files = source_files[entry["key"]]
        marks = np.load(io.BytesIO(files["landmarks"][1]))["landmarks"]
        _assert_overlays(out, entry, files["segmentation"][1], marks)


def test_manifest_statistics_match_numpy(good_output, source_files):
    """convert's class pixels and landmark bins over every map, against PIL + numpy on the
    fixture files themselves (a palette map's pixels are its labels)."""
    stats = good_output.manifest["statistics"]
    pixels = np.zeros(256, dtype=np.int64)
    bins = np.zeros((64, 64), dtype=np.int64)
    maps = 0
    for key, files in source_files.items():
        if "image" not in files:
            continue
        labels = np.asarray(Image.open(io.BytesIO(files["segmentation"][1])))
        pixels += np.bincount(labels.ravel(), minlength=256)
        maps += 1
        marks = np.load(io.BytesIO(files["landmarks"][1]))["landmarks"].astype(np.float64)
        cells = np.clip((marks / 1024 * 64).astype(np.int64), 0, 63)
        np.add.at(bins, (cells[:, 1], cells[:, 0]), 1)
    assert pixels[19:].sum() == 0
    assert stats["maps_counted"] == maps == 10
    assert stats["segmentation_class_pixels"] == pixels[:19].tolist()
    density = stats["landmark_density"]
    assert (density["bins"], density["frame"], density["points"]) == (64, 1024, 1100)
    assert density["counts"] == bins.ravel().tolist()


def test_near_duplicate_pairs_in_chromium(tmp_path):
    """report --dedup-threshold on the dedup fixtures: each pair's keys side by side with its
    similarity, both thumbnails showing, as the browser renders the page."""
    expected = json.loads((FIXTURES / "dedup" / "EXPECTED.json").read_text())
    sources = [f"fixtures/dedup/{p}" for p in ("SFHQ_pt7", "SFHQ_pt8.zip", "SFHQ_pt9_no_features")]
    out = tmp_path / "report"
    summary = _report(sources[0], out, *sources[1:], "--image-size", "8", "--dedup-threshold", "0.92", expect=0)
    near = summary["near_duplicates"]
    assert near["pairs"] == len(expected["pairs"]) and near["not_shown"] == 0
    proc, requests = _browse(out / "index.html", tmp_path, "--dump-dom")
    assert requests == [], f"the page requested {requests}"
    assert _console(proc) == []
    dom = proc.stdout
    for pair in expected["pairs"]:
        text = "1.0 (identical images)" if pair["identical"] else f"{pair['similarity']:.6f}"
        card = dom.find(f'<b class="similarity">{text}</b>')
        assert card >= 0, f"no card with similarity {text}"
        end = dom.find('<div class="card pair">', card)
        block = dom[card : end if end > 0 else len(dom)]
        assert pair["a"] in block and pair["b"] in block, (pair, block)
        assert block.index(pair["a"]) < block.index(pair["b"])
    for shown in near["shown"]:
        assert len(shown["pictures"]) == 2
        for picture in shown["pictures"]:
            assert (out / picture).is_file()
            assert Image.open(out / picture).size == (8, 8)
