"""`sfhq-pack package`: the publishing files, read by the platforms' own libraries.

- the Hugging Face card: `datasets.load_dataset(DIR)` loads every split with the card's
  features, which must equal the ones the Parquet shards carry; the card's WebDataset
  snippet runs as printed;
- Croissant: `mlcroissant validate` passes with no error and `mlcroissant` yields records
  with decoded images, split by split;
- Kaggle: the `kaggle` client's own local checks pass on `dataset-metadata.json`, run
  offline with its network calls stubbed; DuckDB and `sha256sum -c` work on the flat
  upload folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import GOOD_SOURCES, SMALL_SHARD_SIZE, run_bin

EPOCH = "1700000000"
TITLE = "SFHQ faces, packed"
SUBTITLE = "Synthetic faces with masks, landmarks and CLIP embeddings"
KAGGLE_ID = "jane/sfhq-faces"
PACKAGE_ARGS = (
    "--hf", "--croissant", "--kaggle",
    "--title", TITLE, "--subtitle", SUBTITLE,
    "--license", "CC-BY-4.0", "--id", KAGGLE_ID, "--creator", "Jane Doe",
)


@dataclass(frozen=True)
class Packaged:
    dir: Path

    @property
    def manifest(self) -> dict:
        return json.loads((self.dir / "manifest.json").read_text())

    @property
    def splits(self) -> dict[str, int]:
        return {name: rows for name, rows in self.manifest["splits"].items() if rows}


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> Packaged:
    """The good sources in three splits, Parquet and WebDataset, several shards each,
    packaged for all three targets."""
    out = tmp_path_factory.mktemp("package") / "out"
    run_bin(
        "convert", *GOOD_SOURCES, "--out", out, "--format", "parquet,webdataset",
        "--split", "test=0.3,validation=0.2", "--split-seed", "7",
        "--shard-size", SMALL_SHARD_SIZE,
    )
    run_bin("package", out, *PACKAGE_ARGS, env={"SOURCE_DATE_EPOCH": EPOCH})
    return Packaged(out)


@pytest.fixture(scope="session")
def croissant_cache(tmp_path_factory) -> Path:
    """mlcroissant extracts tars under CROISSANT_CACHE (default ~/.cache/croissant), read
    when it is imported: point it at a temporary folder first."""
    cache = tmp_path_factory.mktemp("croissant-cache")
    os.environ["CROISSANT_CACHE"] = str(cache)
    assert "mlcroissant" not in sys.modules, "mlcroissant was imported before its cache was set"
    return cache


def split_of(path: str) -> str:
    return re.match(r"(?:.*/)?([a-z0-9_]+)-\d{5}-of-\d{5}\.parquet$", path).group(1)


# ---------------------------------------------------------------- Hugging Face


def test_datasets_loads_every_split_with_the_shards_features(packaged, hf_home):
    import datasets
    import pyarrow.parquet as pq
    from PIL import Image

    assert len(packaged.splits) == 3
    ds = datasets.load_dataset(str(packaged.dir))
    assert {name: len(ds[name]) for name in ds} == packaged.splits

    shard = next(s for s in packaged.manifest["shards"] if s["format"] == "parquet")
    in_shards = datasets.Features.from_arrow_schema(pq.read_schema(packaged.dir / shard["path"]))
    for name in ds:
        features = ds[name].features
        assert features == in_shards, f"the card's features differ from the shards' in {name}"
        assert isinstance(features["image"], datasets.Image)
        assert isinstance(features["segmentation"], datasets.Image)
        assert features["landmarks"].length == 110
        assert features["landmarks"].feature.length == 2
    row = ds["test"][0]
    assert isinstance(row["image"], Image.Image) and row["image"].mode == "RGB"
    assert isinstance(row["segmentation"], Image.Image) and row["segmentation"].mode in ("L", "P")
    assert len(row["landmarks"]) == 110
    keys = sorted(k for name in ds for k in ds[name]["key"])
    assert len(keys) == packaged.manifest["rows"] == len(set(keys))


def test_card_metadata_reads_back_with_huggingface_hub(packaged):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(packaged.dir / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "cc-by-4.0"
    assert data["pretty_name"] == TITLE
    assert data["size_categories"] == ["n<1K"]
    assert "image-segmentation" in data["task_categories"]
    assert data["configs"] == [{
        "config_name": "default",
        "data_files": [{"split": s, "path": f"data/{s}-*"} for s in ("train", "test", "validation")],
    }]
    info = data["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == packaged.splits
    parquet = [s for s in packaged.manifest["shards"] if s["format"] == "parquet"]
    assert info["download_size"] == sum(s["bytes"] for s in parquet)
    assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"])


def test_the_cards_webdataset_snippet_runs_as_printed(packaged, monkeypatch):
    import numpy as np
    from PIL import Image

    card = (packaged.dir / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    (snippet,) = [b for b in blocks if "wds.WebDataset" in b]
    monkeypatch.chdir(packaged.dir)
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert isinstance(scope["key"], str)
    assert isinstance(scope["image"], Image.Image) and scope["image"].mode == "RGB"
    labels = scope["labels"]
    assert isinstance(labels, np.ndarray) and labels.dtype == np.uint8 and labels.ndim == 2
    assert labels.max() <= 18
    assert scope["landmarks"].shape == (110, 2)
    assert scope["info"]["key"] == scope["key"]


# ---------------------------------------------------------------- Croissant


def test_mlcroissant_validate_passes_without_errors(packaged):
    cli = Path(sys.executable).parent / "mlcroissant"
    proc = subprocess.run(
        [str(cli), "validate", "--jsonld", str(packaged.dir / "croissant.json")],
        capture_output=True, text=True, timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "error" not in output.lower(), output
    assert "warning" not in output.lower(), output


def test_mlcroissant_yields_records_with_decoded_images(packaged, croissant_cache):
    import mlcroissant as mlc
    import numpy as np
    from PIL import Image

    dataset = mlc.Dataset(jsonld=str(packaged.dir / "croissant.json"))
    records = list(dataset.records(record_set="sfhq"))
    assert len(records) == packaged.manifest["rows"]
    splits = Counter(r["sfhq/split"].decode() for r in records)
    assert dict(splits) == packaged.splits
    for record in records:
        assert isinstance(record["sfhq/image"], Image.Image)
        # Label maps stay single-channel: `L`, or `P` where the source PNG has a palette.
        assert record["sfhq/segmentation"].mode in ("L", "P")
        assert np.asarray(record["sfhq/segmentation"]).max() <= 18
        assert np.asarray(record["sfhq/landmarks"]).shape == (110, 2)
    with_features = [r for r in records if r["sfhq/pretrained_features/clip_vitl_14_336"] is not None]
    assert with_features and all(
        np.asarray(r["sfhq/pretrained_features/clip_vitl_14_336"]).shape == (768,) for r in with_features
    )
    names = [r["splits/name"] for r in dataset.records(record_set="splits")]
    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    assert names == ["train", "test", "validation"]

    # The tar shards: extracted by mlcroissant, which checks each tar's sha256 on the way.
    images = list(dataset.records(record_set="webdataset"))
    assert len(images) == packaged.manifest["rows"]
    assert all(isinstance(r["webdataset/image"], Image.Image) for r in images)


def test_a_wrong_checksum_in_croissant_fails_to_load(packaged, croissant_cache, tmp_path):
    """The FileObjects' sha256 are not decoration: mlcroissant checks them."""
    import mlcroissant as mlc

    copy = tmp_path / "copy"
    shutil.copytree(packaged.dir, copy, ignore=shutil.ignore_patterns("kaggle", "data"))
    doc = json.loads((copy / "croissant.json").read_text())
    tar = next(d for d in doc["distribution"] if d.get("encodingFormat") == "application/x-tar")
    tar["sha256"] = "0" * 64
    (copy / "croissant.json").write_text(json.dumps(doc))
    with pytest.raises(Exception) as raised:
        list(mlc.Dataset(jsonld=str(copy / "croissant.json")).records(record_set="webdataset"))
    chain, error = [], raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert any("hash" in message.lower() for message in chain), chain


# ---------------------------------------------------------------- Kaggle


class ReachedNetwork(Exception):
    """Raised by the stubs: every local check before the first request passed."""


@pytest.fixture
def kaggle_api(tmp_path, monkeypatch):
    """KaggleApi with dummy credentials in a private HOME and every network entry point
    stubbed to raise ReachedNetwork."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAGGLE_USERNAME", "jane")
    monkeypatch.setenv("KAGGLE_KEY", "0" * 32)
    monkeypatch.delenv("KAGGLE_CONFIG_DIR", raising=False)
    (tmp_path / "home").mkdir()
    from kaggle.api.kaggle_api_extended import KaggleApi

    api = KaggleApi()
    api.authenticate()

    def stop(*args, **kwargs):
        raise ReachedNetwork()

    for name in ("dataset_status", "upload_files", "build_kaggle_client", "with_retry"):
        monkeypatch.setattr(api, name, stop)
    return api


def test_the_kaggle_clients_local_checks_pass(packaged, kaggle_api):
    with pytest.raises(ReachedNetwork):
        kaggle_api.dataset_create_new(str(packaged.dir / "kaggle"))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(title="SFHQ"), "title must be between 6 and 50"),
        (lambda m: m.update(licenses=[{"name": "CC0-1.0"}, {"name": "CC-BY-4.0"}]), "exactly one license"),
        (lambda m: m.update(id="jane/sfhq"), "slug must be between 6 and 50"),
        (lambda m: m["resources"].append({"path": "gone.parquet"}), "does not exist"),
    ],
)
def test_the_stubbed_client_still_catches_bad_metadata(packaged, kaggle_api, tmp_path, change, message):
    """Control for the test above: the stubs leave the client's checks in place."""
    folder = tmp_path / "kaggle"
    shutil.copytree(packaged.dir / "kaggle", folder)
    metadata = json.loads((folder / "dataset-metadata.json").read_text())
    change(metadata)
    (folder / "dataset-metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match=message):
        kaggle_api.dataset_create_new(str(folder))


def test_kaggle_folder_is_flat_and_every_file_is_described(packaged):
    folder = packaged.dir / "kaggle"
    entries = sorted(p.name for p in folder.iterdir())
    assert all((folder / e).is_file() for e in entries), "only files: the client skips folders"
    metadata = json.loads((folder / "dataset-metadata.json").read_text())
    described = sorted(r["path"] for r in metadata["resources"])
    assert described == [e for e in entries if e != "dataset-metadata.json"]
    parquet = [s for s in packaged.manifest["shards"] if s["format"] == "parquet"]
    for shard in parquet:
        name = shard["path"].rsplit("/", 1)[-1]
        assert os.stat(folder / name).st_ino == os.stat(packaged.dir / shard["path"]).st_ino


def test_duckdb_counts_rows_per_split_in_the_kaggle_folder(packaged):
    import duckdb

    rows = duckdb.sql(
        "SELECT filename, count(*) AS n, min(len(landmarks)) AS points "
        f"FROM read_parquet('{packaged.dir / 'kaggle'}/*.parquet', filename=true) GROUP BY filename"
    ).fetchall()
    per_split: Counter = Counter()
    for filename, n, points in rows:
        per_split[split_of(filename)] += n
        assert points == 110
    assert dict(per_split) == packaged.splits


@pytest.mark.parametrize("folder", [".", "kaggle"])
def test_sha256sum_checks_both_folders(packaged, folder):
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    proc = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=packaged.dir / folder,
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_kaggle_readme_describes_the_flat_folder_not_the_hub_layout(packaged):
    folder = packaged.dir / "kaggle"
    readme = (folder / "README.md").read_text()
    card = (packaged.dir / "README.md").read_text()
    assert readme != card
    assert not readme.startswith("---"), "no Hub front matter on Kaggle"
    assert "data/" not in readme and "webdataset/" not in readme, readme
    for name in (p.name for p in folder.glob("*.parquet")):
        assert name in readme or "*.parquet" in readme
    # the flat folder verifies as a dataset of its own
    run_bin("verify", folder)


def test_package_on_an_output_without_rows_names_parquet_not_webdataset(empty_output, tmp_path):
    folder = tmp_path / "empty"
    shutil.copytree(empty_output.dir, folder)
    proc = run_bin("package", folder, *PACKAGE_ARGS, expect=2, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert "holds no rows" in proc.stderr, proc.stderr
    assert "--format webdataset" not in proc.stderr, proc.stderr
    assert not (folder / "README.md").exists()


@pytest.mark.parametrize("folder", [".", "kaggle"])
def test_packaged_manifests_validate_against_the_schema(packaged, folder):
    from conftest import assert_valid

    manifest = json.loads((packaged.dir / folder / "manifest.json").read_text())
    assert_valid("manifest", manifest)
    if folder == ".":
        # package records each file it wrote, with its checksum
        paths = {p["path"] for p in manifest["published"]}
        assert {"README.md", "croissant.json", "kaggle/manifest.json"} <= paths
