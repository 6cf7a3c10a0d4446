"""`sfhq-pack verify` against damaged copies of a real output, and reproducible output:
what a user who downloaded, mirrored or rebuilt a converted folder relies on."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import GOOD_SOURCES, SMALL_SHARD_SIZE, assert_valid, run_bin, sha256_hex


@pytest.fixture
def damaged(sharded_output, tmp_path):
    """A private copy of the several-shard output, and the path of a shard in the middle."""
    copy = tmp_path / "copy"
    shutil.copytree(sharded_output.dir, copy)
    shards = sharded_output.manifest["shards"]
    assert len(shards) >= 3
    return copy, shards[1]["path"]


def flip_middle_byte(out, rel):
    path = out / rel
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(out, rel):
    path = out / rel
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.truncate(size - size // 3)


def delete(out, rel):
    (out / rel).unlink()


def add_one_row_in_manifest(out, rel):
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    (shard,) = [s for s in manifest["shards"] if s["path"] == rel]
    shard["rows"] += 1
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def add_stray_shard(out, rel):
    stray = "data/train-99999-of-99999.parquet"
    shutil.copy2(out / rel, out / stray)
    return stray


@pytest.mark.parametrize(
    "damage, check",
    [
        (flip_middle_byte, "sha256"),
        (truncate, "size"),
        (delete, "exists"),
        (add_one_row_in_manifest, "rows"),
        (add_stray_shard, "unlisted"),
    ],
    ids=["flipped-byte", "truncated", "deleted", "manifest-rows+1", "stray-shard"],
)
def test_verify_fails_and_names_the_damaged_shard(damaged, damage, check):
    out, rel = damaged
    named = damage(out, rel) or rel
    proc = run_bin("verify", out, expect=1)
    assert named in proc.stdout, f"stdout does not name {named}:\n{proc.stdout}"
    assert "FAILED" in proc.stdout
    report = json.loads(run_bin("verify", out, "--json", expect=1).stdout)
    assert_valid("verify", report)
    assert (named, check) in {(p["path"], p["check"]) for p in report["problems"]}, report
    # Only the damaged file is blamed (manifest.json may add a totals mismatch; an edited
    # manifest no longer has the hash SHA256SUMS lists, and both files are named).
    assert {p["path"] for p in report["problems"]} <= {named, "manifest.json", "SHA256SUMS"}, report


@pytest.mark.parametrize(
    "which",
    [
        "good_output",
        "sharded_output",
        "both_formats_output",
        "split_output",
        "broken_output",
        "unsafe_zip_output",
        "empty_output",
    ],
)
def test_verify_passes_on_clean_output(request, which):
    out = request.getfixturevalue(which)
    proc = run_bin("verify", out.dir, expect=0)
    assert proc.stdout.startswith("OK "), proc.stdout
    report = json.loads(run_bin("verify", out.dir, "--json", expect=0).stdout)
    assert_valid("verify", report)
    assert report["problems"] == []
    assert (report["shards"], report["rows"]) == (
        len(out.manifest["shards"]),
        out.manifest["rows"],
    )


@pytest.mark.parametrize("damage", [flip_middle_byte, truncate, delete], ids=["flipped-byte", "truncated", "deleted"])
def test_verify_names_a_damaged_webdataset_shard(both_formats_output, tmp_path, damage):
    out = tmp_path / "copy"
    shutil.copytree(both_formats_output.dir, out)
    tars = [s["path"] for s in both_formats_output.manifest["shards"] if s["format"] == "webdataset"]
    assert len(tars) >= 2
    damage(out, tars[-1])
    proc = run_bin("verify", out, expect=1)
    assert tars[-1] in proc.stdout, proc.stdout
    report = json.loads(run_bin("verify", out, "--json", expect=1).stdout)
    assert_valid("verify", report)
    assert {p["path"] for p in report["problems"]} <= {tars[-1], "manifest.json"}, report


@pytest.mark.parametrize("shard_size", [None, SMALL_SHARD_SIZE], ids=["one-shard", "small-shards"])
def test_output_is_identical_whatever_the_thread_count(tmp_path, shard_size, good_output, sharded_output):
    extra = [] if shard_size is None else ["--shard-size", shard_size]
    one, two = tmp_path / "threads-1", tmp_path / "threads-2"
    # --threads is global: accepted before and after the subcommand.
    run_bin("--threads", "1", "convert", *GOOD_SOURCES, "--out", one, *extra)
    run_bin("convert", *GOOD_SOURCES, "--out", two, *extra, "--threads", "2")
    default = good_output if shard_size is None else sharded_output  # all cores
    for name in ("SHA256SUMS", "manifest.json"):
        first = (one / name).read_bytes()
        assert first == (two / name).read_bytes(), f"{name} differs between 1 and 2 threads"
        assert first == (default.dir / name).read_bytes(), f"{name} differs from the default run"
    for rel in sorted(p.relative_to(one) for p in (one / "data").iterdir()):
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


@pytest.mark.parametrize("column", ["landmarks", "image", "pretrained_features", "key"])
def test_extract_refuses_a_shard_whose_column_has_another_type(good_output, tmp_path, column):
    """A doctored shard whose checksums were updated to match (so verify passes) must end
    `extract` with a message naming the shard and the column, never a panic."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "doctored"
    shutil.copytree(good_output.dir, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    shard = next(s for s in manifest["shards"] if s["format"] == "parquet")
    path = folder / shard["path"]
    table = pq.read_table(path)
    index = table.schema.get_field_index(column)
    retyped = pa.array([f"not a {column}"] * table.num_rows, type=pa.string())
    if column == "key":
        retyped = pa.array(list(range(table.num_rows)), type=pa.int64())
    table = table.set_column(index, column, retyped)
    pq.write_table(table, path)
    data = path.read_bytes()
    shard["sha256"] = sha256_hex(data)
    shard["bytes"] = len(data)
    text = json.dumps(manifest, indent=2) + "\n"
    (folder / "manifest.json").write_text(text)
    proc = run_bin("extract", folder, "--out", tmp_path / "back", expect=None)
    assert proc.returncode in (1, 2), proc.stderr
    assert "panicked" not in proc.stderr, proc.stderr
    assert shard["path"] in proc.stderr, proc.stderr
    assert column in proc.stderr, proc.stderr
    assert not (tmp_path / "back").exists() or not any((tmp_path / "back").rglob("*.jpg"))
