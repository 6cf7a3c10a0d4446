"""The JSON documents sfhq-pack writes (manifest.json, `validate --json`, `scan --json`,
`verify --json`, `plan --json`) against the schemas in schema/, which other tools and CI scripts rely on.
Also: the schemas themselves are valid Draft 2020-12, agree with each other, and are strict
enough to reject plausible mistakes."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from conftest import (
    BROKEN_SOURCE,
    FIXTURES,
    GOOD_SOURCES,
    SCHEMA_DIR,
    UNSAFE_ZIP,
    assert_valid,
    load_schema,
    require,
    run_bin,
)

SCHEMAS = ("manifest", "report", "scan", "verify", "plan", "dedup", "report-page")
OUTPUTS = (
    "good_output",
    "sharded_output",
    "broken_output",
    "unsafe_zip_output",
    "empty_output",
    "dated_output",
    "both_formats_output",
    "split_output",
)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_draft_2020_12_with_descriptions(name):
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{where} is not closed"
                # `created` and `dedup` (convert --dedup-threshold) are written only when asked for,
                # `incomplete_parts` only when a part holds fewer samples than published,
                # `published` only once `package` has written files into the folder,
                # `options.resize` only with `convert --resolution` below the source size
                # (and its `jpeg_quality`, `chroma_subsampling` only for JPEG images),
                # `near_duplicates` of `report --json` only with --dedup-threshold or recorded pairs
                optional = {"created", "dedup", "incomplete_parts", "resize", "jpeg_quality", "chroma_subsampling",
                            "near_duplicates"}
                if where == "manifest":
                    # `statistics` and the `dedup.pairs` are absent from manifests of older versions
                    optional |= {"published", "statistics"}
                if where == "manifest/properties/dedup":
                    optional.add("pairs")
                assert set(node.get("required", [])) == set(node["properties"]) - optional, where
                for prop, sub in node["properties"].items():
                    assert sub.get("description"), f"{where}/properties/{prop} has no description"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, name)


def test_shared_definitions_are_identical_across_schemas():
    docs = {n: json.loads((SCHEMA_DIR / f"{n}.schema.json").read_text()) for n in SCHEMAS}
    seen = {}
    for name, doc in docs.items():
        for key, definition in doc.get("$defs", {}).items():
            if key in seen:
                assert definition == seen[key][1], f"$defs/{key} differs in {name} and {seen[key][0]}"
            else:
                seen[key] = (name, definition)


@pytest.mark.parametrize("which", OUTPUTS)
def test_manifest_validates(request, which):
    out = request.getfixturevalue(which)
    manifest = out.manifest
    assert_valid("manifest", manifest)
    # What JSON Schema cannot say: shard paths carry their split, counts add up.
    for shard in manifest["shards"]:
        assert shard["path"].split("/")[1].startswith(shard["split"] + "-")
        assert shard["format"] in manifest["options"]["formats"]
    if manifest["rows"]:
        for fmt in manifest["options"]["formats"]:
            shards = [s for s in manifest["shards"] if s["format"] == fmt]
            assert sum(s["rows"] for s in shards) == manifest["rows"], fmt
    assert sum(manifest["splits"].values()) == manifest["rows"]
    assert sum(manifest["parts"].values()) == manifest["rows"]
    errors = sum(manifest["errors"].values())
    assert (errors > 0) == (out.exit_code == 1)


def test_dated_manifest_has_created(dated_output):
    assert dated_output.manifest["created"] == "2023-11-14T22:13:20Z"


def test_manifest_without_samples_validates(empty_output):
    manifest = empty_output.manifest
    assert (manifest["rows"], manifest["shards"], manifest["splits"]) == (0, [], {})
    assert [s["key"] for s in manifest["excluded"]] == ["SFHQ_pt3_00000002", "SFHQ_pt3_00000003"]


def test_convert_json_prints_the_manifest(tmp_path):
    out = tmp_path / "out"
    proc = run_bin("convert", *GOOD_SOURCES[:1], "--out", out, "--json", "--quiet")
    printed = json.loads(proc.stdout)
    assert_valid("manifest", printed)
    assert printed == json.loads((out / "manifest.json").read_text())


VALIDATE_CASES = {
    "good": (GOOD_SOURCES, 0),
    "broken": ((BROKEN_SOURCE,), 1),
    "unsafe-zip": ((UNSAFE_ZIP,), 1),
}


@pytest.mark.parametrize("case", VALIDATE_CASES)
def test_validate_json_validates(case):
    sources, code = VALIDATE_CASES[case]
    for source in sources:
        require(source)
    report = json.loads(run_bin("validate", *sources, "--json", expect=code).stdout)
    assert_valid("report", report)
    assert report["samples"] == report["valid"] + len(report["excluded"])
    assert bool(report["errors"]) == (code == 1)


SCAN_CASES = {
    "good": (GOOD_SOURCES, 0),
    "broken": ((BROKEN_SOURCE,), 1),
    "unsafe-zip": ((UNSAFE_ZIP,), 1),
    "duplicates": ((GOOD_SOURCES[0], GOOD_SOURCES[0]), 1),
}


@pytest.mark.parametrize("case", SCAN_CASES)
def test_scan_json_validates(case):
    sources, code = SCAN_CASES[case]
    for source in sources:
        require(source)
    report = json.loads(run_bin("scan", *sources, "--json", expect=code).stdout)
    assert_valid("scan", report)
    if case == "duplicates":
        # One entry per key (part 1 has four), each with the key's files from both places.
        assert [d["key"] for d in report["duplicates"]] == [
            f"SFHQ_pt1_0000000{n}" for n in range(1, 5)
        ], report
        assert all(len(d["files"]) == 8 for d in report["duplicates"]), report
    if case == "unsafe-zip":
        assert len(report["unsafe_paths"]) == 3, report


def test_split_fractions_are_an_object_in_name_order(split_output, tmp_path):
    splits = split_output.manifest["options"]["splits"]
    assert splits == {"fractions": {"test": 0.3, "validation": 0.2}, "seed": 7}
    assert list(splits["fractions"]) == ["test", "validation"]
    # The order on the command line does not matter, in the draw or in the file.
    out = tmp_path / "out"
    run_bin(
        "convert", *GOOD_SOURCES, "--out", out, "--split", "validation=0.2,test=0.3",
        "--split-seed", "7", "--quiet",
    )
    again = json.loads((out / "manifest.json").read_text())
    assert list(again["options"]["splits"]["fractions"]) == ["test", "validation"]
    assert again["splits"] == split_output.manifest["splits"]


@pytest.mark.parametrize(
    "fractions",
    [[["test", 0.3]], {"train": 0.3}, {"test": 1.5}, {"test": 0}, {"Test": 0.3}, {"test": "0.3"}],
)
def test_manifest_schema_rejects_split_fractions(split_output, fractions):
    manifest = copy.deepcopy(split_output.manifest)
    manifest["options"]["splits"]["fractions"] = fractions
    assert not load_schema("manifest").is_valid(manifest), f"{fractions} was accepted"


def _many_images(tmp_path, count: int):
    """A part of `count` images and nothing else (one image file, copied)."""
    image = next((FIXTURES / "good" / "SFHQ_pt1" / "images").glob("SFHQ_pt1_*.jpg"))
    images = tmp_path / "SFHQ_pt7" / "images"
    images.mkdir(parents=True)
    for i in range(count):
        shutil.copyfile(image, images / f"SFHQ_pt7_{i:08}.jpg")
    return images.parent


PLAN_CASES = {
    "good": (GOOD_SOURCES, (), 0),
    "both-formats-splits": (
        GOOD_SOURCES,
        ("--format", "parquet,webdataset", "--shard-size", "60kB", "--split", "test=0.3,validation=0.2"),
        0,
    ),
    "webdataset-hf": (GOOD_SOURCES[1:], ("--format", "webdataset", "--target", "hf"), 0),
    "over-kaggle-limit": (None, ("--shard-size", "1", "--target", "kaggle"), 1),
}


def test_plan_on_a_folder_without_samples_stops(tmp_path):
    # Issue 10: sources holding no sample stop every command (exit 2) with what was found.
    (tmp_path / "empty").mkdir()
    proc = run_bin("plan", tmp_path / "empty", "--json", "--target", "kaggle", expect=2)
    assert proc.stdout == ""
    assert "no SFHQ sample found" in proc.stderr


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan_json_validates(case, tmp_path):
    sources, extra, code = PLAN_CASES[case]
    if case == "over-kaggle-limit":
        sources = (_many_images(tmp_path, 1000),)
    plan = json.loads(run_bin("plan", *sources, "--json", *extra, expect=code).stdout)
    assert_valid("plan", plan)
    # What JSON Schema cannot say: the figures add up, and the verdict follows the checks.
    assert sum(plan["splits"].values()) == plan["samples"]
    assert plan["total_bytes"] == sum(f["bytes"] for f in plan["folders"])
    assert plan["largest_file"] == max((f["largest_file"] for f in plan["folders"]), default=0)
    formats = {"data": "parquet", "webdataset": "webdataset"}
    assert set(plan["shards"]) == {formats[f["path"]] for f in plan["folders"]}
    for shards in plan["shards"].values():
        assert set(shards) == set(plan["splits"])
    assert any(not c["ok"] for c in plan["checks"]) == (code == 1)
    assert plan["verdict"].startswith("exceeds") == (code == 1)
    if case == "over-kaggle-limit":
        assert [c["target"] for c in plan["checks"]] == ["kaggle"]


def test_plan_schema_rejects_plausible_mistakes():
    plan = json.loads(run_bin("plan", *GOOD_SOURCES, "--json").stdout)
    assert_valid("plan", plan)
    mutations = {
        "unknown-format": lambda p: p["shards"].update(arrow={"train": 1}),
        "zero-shards": lambda p: p["shards"]["parquet"].update(train=0),
        "unknown-target": lambda p: p["checks"][0].update(target="zenodo"),
        "ok-as-string": lambda p: p["checks"][0].update(ok="true"),
        "folder-outside": lambda p: p["folders"][0].update(path="../data"),
        "extra-field": lambda p: p.update(surprise=1),
        "missing-verdict": lambda p: p.pop("verdict"),
    }
    for name, mutate in mutations.items():
        mutated = copy.deepcopy(plan)
        mutate(mutated)
        assert not load_schema("plan").is_valid(mutated), f"{name} was accepted"


def test_broken_manifest_matches_fixture_expectations(broken_output):
    """fixtures/broken/EXPECTED.json, written with the fixtures, says which samples are
    written, excluded or warned and with which codes."""
    expected = json.loads((FIXTURES / "broken" / "EXPECTED.json").read_text())["samples"]
    manifest = broken_output.manifest
    rows = sorted(k for k, v in expected.items() if v["row"])
    assert [manifest["shards"][0]["first_key"], manifest["shards"][-1]["last_key"]] == [rows[0], rows[-1]]
    assert manifest["rows"] == len(rows)
    excluded = {s["key"]: sorted({i["code"] for i in s["issues"]}) for s in manifest["excluded"]}
    assert excluded == {k: sorted(v["codes"]) for k, v in expected.items() if v["excluded"]}
    warned = {s["key"]: sorted({i["code"] for i in s["issues"]}) for s in manifest["warned"]}
    assert warned == {k: sorted(v["codes"]) for k, v in expected.items() if v["row"] and v["codes"]}
    orphans = {o["key"] for o in manifest["orphans"]}
    assert orphans == {k for k, v in expected.items() if "source.orphan" in v["codes"]}


# --- the schemas reject what they should -------------------------------------------------


def _mutations():
    def shard(m):
        return m["shards"][0]

    def issue(m):
        return m["excluded"][0]["issues"][0]

    return {
        "extra-top-level-field": lambda m: m.update(surprise=1),
        "missing-rows": lambda m: m.pop("rows"),
        "upper-case-sha256": lambda m: shard(m).update(sha256=shard(m)["sha256"].upper()),
        "short-sha256": lambda m: shard(m).update(sha256=shard(m)["sha256"][:63]),
        "shard-outside-data": lambda m: shard(m).update(path="../train-00000-of-00001.parquet"),
        "shard-bad-name": lambda m: shard(m).update(path="data/train-0-of-1.parquet"),
        "format-path-mismatch": lambda m: shard(m).update(format="webdataset"),
        "negative-rows": lambda m: m.update(rows=-1),
        "unknown-modality-code": lambda m: issue(m).update(code="pixels.unreadable"),
        "capitalised-severity": lambda m: issue(m).update(severity="Error"),
        "warning-code-as-error": lambda m: issue(m).update(code="source.orphan"),
        "excluded-without-error": lambda m: issue(m).update(
            code="landmarks.out_of_bounds", severity="warning"
        ),
        "warning-count-under-errors": lambda m: m["errors"].update({"segmentation.blocks": 1}),
        "zero-count": lambda m: m["warnings"].update({"source.orphan": 0}),
        "unknown-dtype": lambda m: m["landmarks"].update(dtype="float128"),
        "extra-issue-field": lambda m: issue(m).update(hint="x"),
    }


@pytest.mark.parametrize("mutation", list(_mutations()))
def test_manifest_schema_rejects(broken_output, mutation):
    manifest = copy.deepcopy(broken_output.manifest)
    assert_valid("manifest", manifest)
    _mutations()[mutation](manifest)
    assert not load_schema("manifest").is_valid(manifest), f"{mutation} was accepted"



DEDUP_SOURCES = (
    "fixtures/dedup/SFHQ_pt7",
    "fixtures/dedup/SFHQ_pt8.zip",
    "fixtures/dedup/SFHQ_pt9_no_features",
)


def _dedup_json(case, tmp_path):
    require("fixtures/dedup/EXPECTED.json")
    if case == "raw":
        args, code = DEDUP_SOURCES, 1
    elif case == "converted":
        out = tmp_path / "out"
        run_bin("convert", *DEDUP_SOURCES, "--out", out, "--image-size", "8", "--quiet")
        args, code = (out,), 1
    else:
        args, code = (DEDUP_SOURCES[0], "--threshold", "1.0"), 0
    return json.loads(run_bin("dedup", *args, "--json", "--quiet", expect=code).stdout)


@pytest.mark.parametrize("case", ["raw", "converted", "no-pairs"])
def test_dedup_json_validates_and_matches_numpy(case, tmp_path):
    report = _dedup_json(case, tmp_path)
    assert_valid("dedup", report)
    if case == "no-pairs":
        assert report["pairs"] == [] and report["groups"] == []
        return
    # EXPECTED.json holds numpy's float32 brute force over the same stored vectors.
    expected = json.loads((FIXTURES / "dedup" / "EXPECTED.json").read_text())
    got = {(p["a"], p["b"], p["identical"]): p["similarity"] for p in report["pairs"]}
    want = {(p["a"], p["b"], p["identical"]): p["similarity"] for p in expected["pairs"]}
    assert sorted(got) == sorted(want)
    for pair, similarity in want.items():
        assert abs(got[pair] - similarity) < 1e-6, pair
    assert report["groups"] == expected["groups"]
    assert [u["key"] for u in report["unchecked"]] == expected["unchecked"]


@pytest.mark.parametrize(
    "mutation",
    ["missing-groups", "similarity-above-1", "group-of-one", "extra-pair-field", "unchecked-as-keys"],
)
def test_dedup_schema_rejects(mutation, tmp_path):
    report = _dedup_json("raw", tmp_path)
    assert_valid("dedup", report)
    {
        "missing-groups": lambda r: r.pop("groups"),
        "similarity-above-1": lambda r: r["pairs"][0].update(similarity=1.5),
        "group-of-one": lambda r: r["groups"].append(["SFHQ_pt7_00000001"]),
        "extra-pair-field": lambda r: r["pairs"][0].update(note="x"),
        "unchecked-as-keys": lambda r: r.update(unchecked=[u["key"] for u in r["unchecked"]]),
    }[mutation](report)
    assert not load_schema("dedup").is_valid(report), f"{mutation} was accepted"


def test_dedup_threshold_outputs_validate(tmp_path):
    """`validate --dedup-threshold --json` and the manifest of `convert --dedup-threshold`."""
    require("fixtures/dedup/EXPECTED.json")
    report = json.loads(
        run_bin("validate", *DEDUP_SOURCES, "--image-size", "8", "--dedup-threshold", "0.92",
                "--json", "--quiet").stdout
    )
    assert_valid("report", report)
    assert report["warnings"]["sample.near_duplicate"] == 20
    out = tmp_path / "out"
    run_bin("convert", *DEDUP_SOURCES, "--out", out, "--image-size", "8", "--split", "test=0.3",
            "--dedup-threshold", "0.92", "--quiet")
    manifest = json.loads((out / "manifest.json").read_text())
    assert_valid("manifest", manifest)
    expected = json.loads((FIXTURES / "dedup" / "EXPECTED.json").read_text())
    pairs = manifest["dedup"].pop("pairs")
    assert manifest["dedup"] == {"threshold": 0.92, "model": "CLIP_ViTL_14@336",
                                 "groups": expected["groups"]}
    assert [(p["a"], p["b"], p["identical"]) for p in pairs] == [
        (p["a"], p["b"], p["identical"]) for p in expected["pairs"]
    ]
    for got, want in zip(pairs, expected["pairs"]):
        assert abs(got["similarity"] - want["similarity"]) < 1e-6, (got, want)
