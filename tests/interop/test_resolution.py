"""`convert --resolution 256`, read by the real readers.

`datasets` loads the Parquet shards with typed 256x256 pictures, the provenance columns and
landmarks at a quarter of the source's; `webdataset` iterates the tars with the stored
members and `KEY.json`'s `source_sha256`; the manifest validates against its schema; the
maps equal the source maps sampled every 4 pixels; the Hugging Face card and Croissant
describe the stored size.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from conftest import GOOD_SOURCES, assert_valid, convert, run_bin, sha256_hex


@pytest.fixture(scope="session")
def small_output(tmp_path_factory):
    """The three good sources at 256, both formats."""
    return convert(
        tmp_path_factory,
        "resolution-256",
        GOOD_SOURCES,
        "--resolution",
        "256",
        "--format",
        "parquet",
        "--format",
        "webdataset",
    )


def labels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_resolution_manifest_validates_and_records_the_resize(small_output):
    manifest = small_output.manifest
    assert_valid("manifest", manifest)
    resize = manifest["options"]["resize"]
    assert (resize["resolution"], resize["source_size"], resize["jpeg_quality"]) == (256, 1024, 95)


def test_resolution_datasets_loads_256_pictures_and_provenance(small_output, source_files, hf_home):
    import datasets

    files = [str(p) for p in small_output.parquet_shard_paths()]
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(hf_home / "datasets"))
    assert ds.num_rows == 10
    assert ds.features["image"] == datasets.Image()
    for row in ds:
        key = row["key"]
        assert row["image"].size == (256, 256)
        assert (row["width"], row["height"]) == (256, 256)
        assert row["segmentation"].size == (256, 256)
        image_name, image_bytes = source_files[key]["image"]
        map_name, map_bytes = source_files[key]["segmentation"]
        assert row["image_source_sha256"] == sha256_hex(image_bytes)
        assert row["segmentation_source_sha256"] == sha256_hex(map_bytes)
        assert np.array_equal(np.asarray(row["segmentation"]), labels(map_bytes)[::4, ::4]), key
        source_landmarks = np.load(io.BytesIO(source_files[key]["landmarks"][1]))["landmarks"]
        assert np.array_equal(np.asarray(row["landmarks"]), source_landmarks.astype(np.float64) / 4), key


def test_resolution_webdataset_yields_the_stored_members(small_output, source_files):
    wds = pytest.importorskip("webdataset")
    urls = [str(small_output.dir / s["path"]) for s in small_output.manifest["shards"] if s["format"] == "webdataset"]
    dataset = wds.WebDataset(urls, shardshuffle=False).decode(wds.handle_extension("seg.png", labels), "pil")
    samples = list(dataset)
    assert [s["__key__"] for s in samples] == sorted(source_files)
    for sample in samples:
        key = sample["__key__"]
        assert sample["jpg"].size == (256, 256)
        assert sample["seg.png"].shape == (256, 256)
        info = sample["json"]
        assert (info["width"], info["height"]) == (256, 256)
        assert info["source_sha256"]["image"] == sha256_hex(source_files[key]["image"][1])
        map_bytes = source_files[key]["segmentation"][1]
        assert np.array_equal(sample["seg.png"], labels(map_bytes)[::4, ::4]), key


def test_resolution_huggingface_webdataset_loader_reads_the_shards(small_output, hf_home):
    import datasets

    urls = [str(small_output.dir / s["path"]) for s in small_output.manifest["shards"] if s["format"] == "webdataset"]
    ds = datasets.load_dataset("webdataset", data_files={"train": urls}, split="train")
    assert ds.num_rows == 10
    assert ds[0]["jpg"].size == (256, 256)


def test_resolution_card_and_croissant_describe_the_stored_size(small_output, tmp_path):
    import shutil

    folder = tmp_path / "pkg"
    shutil.copytree(small_output.dir, folder)
    run_bin(
        "package", folder, "--hf", "--croissant", "--title", "SFHQ at 256", "--license", "CC-BY-4.0",
        "--creator", "tests", "--id", "tests/sfhq-at-256", "--date", "2024-01-01", "--quiet",
    )
    card = (folder / "README.md").read_text()
    assert "synthetic face images (256x256)" in card
    assert "image_source_sha256" in card
    assert "not the source bytes" in card
    croissant = json.loads((folder / "croissant.json").read_text())
    text = json.dumps(croissant)
    assert "scaled from 1024x1024 to 256x256 while decoding (libjpeg-turbo's DCT-domain 1/4 scaling" in text
