"""WebDataset shards and `extract`, read by the real readers.

`webdataset` iterates every tar and yields every member of every sample; `.npy` members
decode to the source arrays; `KEY.seg.png` decoded with a label handler gives the source
labels; `datasets.load_dataset("webdataset", ...)` loads the shards; and the pickles that
`extract` writes load with plain `pickle.load` under numpy 2.x (this venv) and numpy 1.x
(a venv of its own, made here).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, run_bin

wds = pytest.importorskip("webdataset")

MEMBERS = {"jpg", "seg.png", "landmarks.npy", "clip_resnet50x64.npy", "clip_vitl_14_336.npy", "json"}


def labels(data: bytes) -> np.ndarray:
    """The label handler a user needs: `.decode("pil")` would turn the map into RGB."""
    return np.asarray(Image.open(io.BytesIO(data)))


def tar_urls(output) -> list[str]:
    return [str(output.dir / s["path"]) for s in output.manifest["shards"] if s["format"] == "webdataset"]


def source_array(source_files, key: str, modality: str):
    """The source's own arrays, loaded the way SFHQ users load them (trusted fixtures)."""
    name, data = source_files[key][modality]
    if modality == "landmarks":
        return np.load(io.BytesIO(data))["landmarks"]
    return pickle.loads(data)


def test_webdataset_yields_every_sample_with_every_member(both_formats_output, source_files):
    dataset = wds.WebDataset(tar_urls(both_formats_output), shardshuffle=False).decode(
        wds.handle_extension("seg.png", labels), "pil"
    )
    samples = list(dataset)
    assert [s["__key__"] for s in samples] == sorted(source_files)
    for sample in samples:
        key = sample["__key__"]
        assert MEMBERS <= set(sample), key
        info = sample["json"]
        assert info["key"] == key
        assert sample["jpg"].size == (1024, 1024)

        want = labels(source_files[key]["segmentation"][1])
        assert sample["seg.png"].dtype == np.uint8
        assert np.array_equal(sample["seg.png"], want), key

        # Members carry their column's dtype (the widest of the sources, an exact widening);
        # the json names the dtype the source file had where it differs.
        landmarks = source_array(source_files, key, "landmarks")
        got = sample["landmarks.npy"]
        assert got.dtype.name == both_formats_output.manifest["landmarks"]["dtype"]
        assert info["source_dtypes"].get("landmarks.npy", got.dtype.name) == landmarks.dtype.name
        assert np.array_equal(got, landmarks), key

        if "features" in source_files[key]:
            features = source_array(source_files, key, "features")
            for wds_name, model in info["pretrained_features"].items():
                got = sample[f"{wds_name}.npy"]
                if model in features:
                    want = features[model]
                    assert got.shape == want.shape
                    assert got.dtype.name == both_formats_output.manifest["features"][model]["dtype"]
                    assert info["source_dtypes"].get(f"{wds_name}.npy", got.dtype.name) == want.dtype.name
                    assert np.array_equal(got, want), (key, model)
                else:
                    # A stand-in of the column's shape, all NaN, named as missing.
                    assert got.shape == (1, both_formats_output.manifest["features"][model]["dim"])
                    assert np.isnan(got).all()
                    assert f"pretrained_features.{model}" in info["missing"]
        else:
            assert info["missing"] == [
                "pretrained_features.CLIP_ResNet50x64",
                "pretrained_features.CLIP_ViTL_14@336",
            ]


def test_json_member_carries_the_source_hashes(both_formats_output, source_files):
    import hashlib

    for sample in wds.WebDataset(tar_urls(both_formats_output), shardshuffle=False).decode():
        key = sample["__key__"]
        info = sample["json"]
        for modality, field in [("image", "image"), ("segmentation", "segmentation"),
                                ("landmarks", "landmarks"), ("features", "pretrained_features")]:
            if modality in source_files[key]:
                name, data = source_files[key][modality]
                assert info["files"][field] == name
                assert info["sha256"][field] == hashlib.sha256(data).hexdigest()


def test_huggingface_webdataset_loader_reads_the_shards(both_formats_output, hf_home):
    import datasets

    ds = datasets.load_dataset("webdataset", data_files={"train": tar_urls(both_formats_output)}, split="train")
    assert ds.num_rows == both_formats_output.manifest["rows"]
    assert isinstance(ds.features["jpg"], datasets.Image)
    row = ds[0]
    assert row["jpg"].size == (1024, 1024)
    assert np.asarray(row["landmarks.npy"]).shape == (110, 2)


def test_wids_index_counts_every_sample(both_formats_output):
    index = json.loads((both_formats_output.dir / "webdataset" / "index.json").read_text())
    assert index["__kind__"] == "wids-shard-index-v1"
    total = 0
    for shard in index["shardlist"]:
        path = both_formats_output.dir / "webdataset" / shard["url"]
        assert path.stat().st_size == shard["filesize"]
        total += shard["nsamples"]
        assert sum(1 for _ in wds.WebDataset(str(path), shardshuffle=False)) == shard["nsamples"]
    assert total == both_formats_output.manifest["rows"]


@pytest.fixture(scope="session")
def extracted(both_formats_output, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("extracted") / "sfhq"
    run_bin("extract", both_formats_output.dir, "--out", out, "--from", "webdataset")
    return out


@pytest.fixture(scope="session")
def numpy1_python(tmp_path_factory) -> Path:
    """A venv with numpy 1.26 (the last 1.x), next to this session's numpy 2."""
    home = REPO / ".venv-numpy1"
    python = home / "bin" / "python"
    if not python.exists():
        venv.create(home, with_pip=True)
    check = subprocess.run([python, "-c", "import numpy; print(numpy.__version__)"], capture_output=True, text=True)
    if check.returncode != 0 or not check.stdout.startswith("1.26"):
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "numpy==1.26.4"],
                       check=True)
    return python


def test_existing_user_code_works_on_the_extracted_files(extracted, source_files):
    keys = 0
    for part in sorted(p for p in extracted.iterdir() if p.is_dir()):
        for image in sorted((part / "images").iterdir()):
            key = image.stem
            keys += 1
            assert image.read_bytes() == source_files[key]["image"][1]
            seg = part / "segmentations" / f"{key}.png"
            assert seg.read_bytes() == source_files[key]["segmentation"][1]
            assert Image.open(seg).size == (1024, 1024)
            got = np.load(part / "landmarks" / f"{key}.npz")["landmarks"]
            want = source_array(source_files, key, "landmarks")
            assert got.dtype == want.dtype and np.array_equal(got, want)
            pickled = part / "pretrained_features" / f"{key}.pickle"
            if "features" in source_files[key]:
                with open(pickled, "rb") as f:
                    got = pickle.load(f)  # our own output, written by `extract`
                want = source_array(source_files, key, "features")
                assert got.keys() == want.keys()
                for model in want:
                    assert got[model].dtype == want[model].dtype
                    assert np.array_equal(got[model], want[model])
                assert got["CLIP_ViTL_14@336"].shape == (1, 768)
            else:
                assert not pickled.exists()
    assert keys == len(source_files)


def test_extracted_pickles_load_the_same_under_numpy_1_and_2(extracted, numpy1_python, tmp_path):
    """Plain pickle.load of every extracted pickle and np.load of every npz, with
    DeprecationWarnings as errors, gives the same dtypes, shapes and bytes in both."""
    script = REPO / "tests" / "interop" / "check_extracted_pickles.py"
    summaries = {}
    for major, python in [("2", sys.executable), ("1", numpy1_python)]:
        summary = tmp_path / f"numpy{major}.json"
        result = subprocess.run(
            [python, "-W", "error::DeprecationWarning", script, extracted, "--json", summary],
            capture_output=True, text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        summaries[major] = json.loads(summary.read_text())
        assert summaries[major]["numpy"].startswith(major + ".")
    assert summaries["1"]["files"] == summaries["2"]["files"]
    assert len(summaries["2"]["files"]) == 10 + 8, "10 landmark files and 8 feature pickles"
