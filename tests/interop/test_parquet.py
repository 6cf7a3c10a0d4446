"""The Parquet shards as their readers see them: pyarrow, Hugging Face `datasets`, DuckDB
and `sha256sum`. Each test checks something a user of the converted dataset would check."""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import (
    GOOD_SOURCES,
    run_bin,
    sha256_hex,
)

DTYPES = {
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "bool": pa.bool_(),
}
IMAGE_STRUCT = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
# Leaf columns holding JPEG/PNG bytes: stored uncompressed and PLAIN, like `datasets` does.
ENCODED_IMAGE_COLUMNS = {"image.bytes", "segmentation.bytes"}
SHARD_NAME = re.compile(r"^data/(?P<split>[A-Za-z0-9_]+)-(?P<i>[0-9]{5})-of-(?P<n>[0-9]{5})\.parquet$")
EXPECTED_KEYS = sorted(
    [f"SFHQ_pt1_0000000{i}" for i in range(1, 5)]
    + [f"SFHQ_pt2_0000000{i}" for i in range(1, 5)]
    + [f"SFHQ_pt4_0000000{i}" for i in range(1, 3)]
)


def read_all(output) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in output.parquet_shard_paths())


# --- pyarrow: files, row counts, schema, layout ---------------------------------------


def test_every_listed_shard_reads_and_row_counts_agree(output):
    manifest = output.manifest
    total = 0
    for shard in manifest["shards"]:
        path = output.dir / shard["path"]
        table = pq.read_table(path)
        assert table.num_rows == shard["rows"], shard["path"]
        assert pq.ParquetFile(path).metadata.num_rows == shard["rows"], shard["path"]
        assert path.stat().st_size == shard["bytes"], shard["path"]
        total += table.num_rows
    assert total == manifest["rows"] == sum(manifest["splits"].values()) == len(EXPECTED_KEYS)


def test_data_folder_holds_exactly_the_listed_shards_with_hub_names(output):
    shards = output.manifest["shards"]
    on_disk = sorted(f"data/{p.name}" for p in (output.dir / "data").iterdir())
    assert on_disk == sorted(s["path"] for s in shards)
    for index, shard in enumerate(shards):
        match = SHARD_NAME.match(shard["path"])
        assert match, shard["path"]
        assert match["split"] == shard["split"] == "train"
        assert int(match["i"]) == index
        assert int(match["n"]) == len(shards)


def test_small_shard_size_gives_several_shards(sharded_output, good_output):
    assert len(good_output.manifest["shards"]) == 1
    assert len(sharded_output.manifest["shards"]) >= 3
    assert sharded_output.manifest["options"]["shard_size"] == 60_000


def test_parquet_shards_are_the_same_when_webdataset_is_also_written(both_formats_output, sharded_output):
    both = {s["path"]: s["sha256"] for s in both_formats_output.manifest["shards"] if s["format"] == "parquet"}
    alone = {s["path"]: s["sha256"] for s in sharded_output.manifest["shards"]}
    assert both == alone


def test_arrow_schema_has_the_documented_columns(output):
    manifest = output.manifest
    landmark_type = DTYPES[manifest["landmarks"]["dtype"]]
    feature_struct = pa.struct(
        [
            pa.field(model, pa.list_(DTYPES[entry["dtype"]], entry["dim"]))
            for model, entry in sorted(manifest["features"].items())
        ]
    )
    expected = {
        "key": pa.string(),
        "part": pa.int16(),
        "image": IMAGE_STRUCT,
        "image_sha256": pa.string(),
        "width": pa.int32(),
        "height": pa.int32(),
        "segmentation": IMAGE_STRUCT,
        "segmentation_sha256": pa.string(),
        "landmarks": pa.list_(pa.list_(landmark_type, 2), 110),
        "pretrained_features": feature_struct,
        "source_dtypes": pa.string(),
    }
    assert set(manifest["features"]) == {"CLIP_ViTL_14@336", "CLIP_ResNet50x64"}
    for path in output.parquet_shard_paths():
        schema = pq.read_schema(path)
        assert sorted(schema.names) == sorted(expected), path.name
        for name, arrow_type in expected.items():
            field = schema.field(name)
            # Field names of list children (`item` vs `element`) do not matter to readers.
            assert field.type.equals(arrow_type, check_metadata=False), (
                f"{path.name}: {name} is {field.type}, expected {arrow_type}"
            )
            # `datasets` ignores its metadata unless every field and struct child is nullable.
            assert field.nullable, f"{path.name}: {name} is not nullable"
            if pa.types.is_struct(field.type):
                for child in field.type:
                    assert child.nullable, f"{path.name}: {name}.{child.name} is not nullable"


def test_huggingface_metadata_in_arrow_schema_and_parquet_key_value(output):
    import json

    for path in output.parquet_shard_paths():
        file = pq.ParquetFile(path)
        kv = file.metadata.metadata or {}
        arrow_meta = file.schema_arrow.metadata or {}
        assert b"huggingface" in kv, f"{path.name}: no `huggingface` Parquet key-value"
        assert b"huggingface" in arrow_meta, f"{path.name}: no `huggingface` in the Arrow schema"
        assert b"ARROW:schema" in kv, f"{path.name}: no embedded Arrow schema"
        info = json.loads(kv[b"huggingface"])
        assert json.loads(arrow_meta[b"huggingface"]) == info
        features = info["info"]["features"]
        assert set(features) == set(file.schema_arrow.names)
        assert features["image"] == {"_type": "Image"}
        assert features["segmentation"] == {"_type": "Image"}
        landmarks = features["landmarks"]
        assert (landmarks["_type"], landmarks["length"]) == ("Sequence", 110)
        assert (landmarks["feature"]["_type"], landmarks["feature"]["length"]) == ("Sequence", 2)
        for model, entry in output.manifest["features"].items():
            feature = features["pretrained_features"][model]
            assert feature == {
                "_type": "Sequence",
                "feature": {"_type": "Value", "dtype": entry["dtype"]},
                "length": entry["dim"],
            }


def test_image_bytes_are_stored_uncompressed_and_other_columns_compressed(output):
    for path in output.parquet_shard_paths():
        metadata = pq.ParquetFile(path).metadata
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                where = f"{path.name} row group {g} column {chunk.path_in_schema}"
                if chunk.path_in_schema in ENCODED_IMAGE_COLUMNS:
                    assert chunk.compression == "UNCOMPRESSED", where
                    assert "PLAIN" in chunk.encodings, where
                    assert not {"PLAIN_DICTIONARY", "RLE_DICTIONARY"} & set(chunk.encodings), where
                else:
                    assert chunk.compression != "UNCOMPRESSED", where


def test_row_groups_hold_at_most_100_rows_and_100_mb(output):
    for path in output.parquet_shard_paths():
        metadata = pq.ParquetFile(path).metadata
        assert metadata.num_row_groups >= 1
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            assert 1 <= group.num_rows <= 100, f"{path.name} row group {g}"
            assert group.total_byte_size <= 100_000_000, f"{path.name} row group {g}"


def test_row_group_rows_option_caps_row_groups(tmp_path):
    out = tmp_path / "out"
    run_bin("convert", *GOOD_SOURCES, "--out", out, "--row-group-rows", "3")
    metadata = pq.ParquetFile(next((out / "data").glob("*.parquet"))).metadata
    sizes = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    assert sizes == [3, 3, 3, 1]


# --- contents: bytes, keys, arrays ------------------------------------------------------


def test_image_and_segmentation_bytes_are_the_source_files(output, source_files):
    table = read_all(output)
    assert sorted(table.column("key").to_pylist()) == sorted(source_files)
    for row in table.to_pylist():
        files = source_files[row["key"]]
        for column, modality in (("image", "image"), ("segmentation", "segmentation")):
            name, data = files[modality]
            stored = row[column]["bytes"]
            assert stored == data, f"{row['key']}: {column} bytes differ from {name}"
            assert sha256_hex(stored) == row[f"{column}_sha256"] == sha256_hex(data), row["key"]
            assert row[column]["path"] == name


def test_width_height_and_part_match_the_images(output):
    from PIL import Image

    for row in read_all(output).to_pylist():
        with Image.open(io.BytesIO(row["image"]["bytes"])) as image:
            assert (row["width"], row["height"]) == image.size == (1024, 1024)
        assert row["part"] == int(re.match(r"SFHQ_pt(\d+)_", row["key"])[1])


def test_keys_are_sorted_unique_and_match_each_shards_range(output):
    all_keys = []
    for shard in output.manifest["shards"]:
        keys = pq.read_table(output.dir / shard["path"], columns=["key"]).column("key").to_pylist()
        assert keys, shard["path"]
        assert (keys[0], keys[-1]) == (shard["first_key"], shard["last_key"]), shard["path"]
        all_keys += keys
    assert all_keys == sorted(all_keys) == EXPECTED_KEYS
    assert len(set(all_keys)) == len(all_keys)


def test_landmarks_equal_the_source_arrays(output, source_files):
    dtype = output.manifest["landmarks"]["dtype"]
    for row in read_all(output).select(["key", "landmarks"]).to_pylist():
        _, data = source_files[row["key"]]["landmarks"]
        with np.load(io.BytesIO(data)) as archive:
            source = archive["landmarks"]
        stored = np.asarray(row["landmarks"], dtype=dtype)
        assert stored.shape == (110, 2)
        np.testing.assert_array_equal(stored, source.astype(dtype), err_msg=row["key"])


def test_pretrained_features_equal_the_source_pickles(output, source_files):
    features = output.manifest["features"]
    table = read_all(output).select(["key", "pretrained_features"])
    for row in table.to_pylist():
        files = source_files[row["key"]]
        if "features" not in files:
            # A part shipped without pretrained_features/: the whole struct is null.
            assert row["pretrained_features"] is None, row["key"]
            continue
        _, data = files["features"]
        with warnings.catch_warnings():
            # numpy 1.x pickles name `numpy.core`, which numpy 2 still maps, with a warning.
            warnings.simplefilter("ignore", DeprecationWarning)
            source = pickle.loads(data)  # our own fixtures: trusted
        for model, entry in features.items():
            stored = row["pretrained_features"][model]
            if model not in source:
                assert stored is None, f"{row['key']}: {model}"
                continue
            stored = np.asarray(stored, dtype=entry["dtype"])
            assert stored.shape == (entry["dim"],)
            np.testing.assert_array_equal(
                stored, source[model].reshape(-1).astype(entry["dtype"]), err_msg=row["key"]
            )


def test_source_dtypes_name_the_arrays_stored_wider_than_read(output, source_files):
    """Columns hold the widest dtype of all sources; `source_dtypes` records, per row, the
    arrays whose source dtype was narrower (JSON object column -> dtype), else null."""
    import json

    manifest = output.manifest
    columns = {"landmarks": manifest["landmarks"]["dtype"]}
    columns.update({entry["column"]: entry["dtype"] for entry in manifest["features"].values()})
    for row in read_all(output).select(["key", "source_dtypes"]).to_pylist():
        files = source_files[row["key"]]
        read = {}
        with np.load(io.BytesIO(files["landmarks"][1])) as archive:
            read["landmarks"] = str(archive["landmarks"].dtype)
        if "features" in files:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                for model, array in pickle.loads(files["features"][1]).items():
                    read[f"pretrained_features.{model}"] = str(array.dtype)
        narrower = {c: d for c, d in read.items() if d != columns[c]}
        stored = row["source_dtypes"]
        assert (json.loads(stored) if stored is not None else {}) == narrower, row["key"]
        if not narrower:
            assert stored is None, row["key"]


# --- Hugging Face datasets -------------------------------------------------------------


@pytest.fixture(scope="session")
def hf_dataset(output, hf_home):
    import datasets

    files = [str(p) for p in output.parquet_shard_paths()]
    return datasets.load_dataset(
        "parquet", data_files=files, split="train", cache_dir=str(hf_home / "datasets")
    )


def test_datasets_reads_typed_features(hf_dataset, output):
    import datasets

    manifest = output.manifest
    features = hf_dataset.features
    assert hf_dataset.num_rows == manifest["rows"]
    assert features["image"] == datasets.Image()
    assert features["segmentation"] == datasets.Image()
    landmark = datasets.Value(manifest["landmarks"]["dtype"])
    assert features["landmarks"] == datasets.Sequence(datasets.Sequence(landmark, length=2), length=110)
    assert set(features["pretrained_features"]) == set(manifest["features"])
    for model, entry in manifest["features"].items():
        assert features["pretrained_features"][model] == datasets.Sequence(
            datasets.Value(entry["dtype"]), length=entry["dim"]
        )
    assert hf_dataset["key"] == EXPECTED_KEYS


def test_datasets_decodes_row_0_image_as_rgb_1024(hf_dataset):
    from PIL import Image

    image = hf_dataset[0]["image"]
    assert isinstance(image, Image.Image)
    assert (image.size, image.mode) == ((1024, 1024), "RGB")


def test_datasets_decodes_segmentations_as_label_maps(hf_dataset):
    from PIL import Image

    for row in hf_dataset:
        mask = row["segmentation"]
        assert isinstance(mask, Image.Image), row["key"]
        assert mask.mode in ("L", "P") and mask.size == (1024, 1024), row["key"]
        assert int(np.asarray(mask).max()) <= 18, row["key"]


def test_datasets_landmarks_are_110_by_2(hf_dataset):
    for row in hf_dataset:
        landmarks = row["landmarks"]
        assert len(landmarks) == 110 and all(len(point) == 2 for point in landmarks), row["key"]


def test_datasets_features_have_manifest_length_and_part4_is_null(hf_dataset, output):
    features = output.manifest["features"]
    seen = {model: 0 for model in features}
    for row in hf_dataset:
        value = row["pretrained_features"]
        if row["key"].startswith("SFHQ_pt4_"):
            # Part 4 fixture has no pretrained_features/ folder.
            assert value is None or all(v is None for v in value.values()), row["key"]
            continue
        assert value is not None, row["key"]
        for model, vector in value.items():
            if vector is not None:
                assert len(vector) == features[model]["dim"], (row["key"], model)
                seen[model] += 1
    # pt1 carries CLIP_ViTL_14@336 only, pt2 both models.
    assert seen == {"CLIP_ViTL_14@336": 8, "CLIP_ResNet50x64": 4}


# --- other tools --------------------------------------------------------------------------


def test_sha256sum_check_passes(output):
    sums = (output.dir / "SHA256SUMS").read_text().splitlines()
    # one line per shard, and one for manifest.json itself
    assert len(sums) == len(output.manifest["shards"]) + 1
    assert sums[-1].endswith("  manifest.json")
    proc = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=output.dir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": OK") == len(sums)


def test_duckdb_counts_rows_and_reads_landmarks(output):
    duckdb = pytest.importorskip("duckdb")
    glob = str(output.dir / "data" / "*.parquet")
    con = duckdb.connect()
    try:
        (count,) = con.execute("SELECT count(*) FROM read_parquet(?)", [glob]).fetchone()
        assert count == output.manifest["rows"]
        rows = con.execute(
            "SELECT key, landmarks[1][1], landmarks[110][2] FROM read_parquet(?) ORDER BY key",
            [glob],
        ).fetchall()
    finally:
        con.close()
    table = read_all(output).select(["key", "landmarks"]).to_pylist()
    expected = sorted((r["key"], r["landmarks"][0][0], r["landmarks"][109][1]) for r in table)
    assert rows == expected


def test_datasets_finds_every_split_by_file_name(split_output, hf_home):
    """A folder with several splits loads as a DatasetDict from the Hub-style file names
    alone (no README, no data_files)."""
    import datasets

    dataset = datasets.load_dataset(str(split_output.dir), cache_dir=str(hf_home / "datasets"))
    manifest = split_output.manifest
    assert {name: split.num_rows for name, split in dataset.items()} == manifest["splits"]
    assert set(manifest["splits"]) == {"train", "test", "validation"}
    keys = [key for split in dataset.values() for key in split["key"]]
    assert sorted(keys) == EXPECTED_KEYS
