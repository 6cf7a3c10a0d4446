"""Shared fixtures for the interop tests.

These tests check sfhq-pack's output the way its users will read it: with pyarrow,
Hugging Face `datasets`, DuckDB, `sha256sum -c` and JSON Schema validators. They run the
real binary (SFHQ_PACK_BIN, default target/debug/sfhq-pack; `tests/run-all` builds it and
sets it) on the committed fixtures, once per session, and never modify the fixtures.

The binary always runs with the repository root as its working directory and relative
source paths, as a user in a checkout would: the manifest records source paths as given.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
SCHEMA_DIR = REPO / "schema"

GOOD_SOURCES = (
    "fixtures/good/SFHQ_pt1",
    "fixtures/good/SFHQ_pt2.zip",
    "fixtures/good/SFHQ_pt4_no_features",
)
BROKEN_SOURCE = "fixtures/broken/SFHQ_pt3"
UNSAFE_ZIP = "fixtures/broken/unsafe_paths.zip"

# The small shard size that splits the 10 good samples (about 250 kB) into several shards.
SMALL_SHARD_SIZE = "60kB"

# SFHQ modality folders, as the dataset names them.
MODALITY_FOLDERS = {
    "images": "image",
    "segmentations": "segmentation",
    "landmarks": "landmarks",
    "pretrained_features": "features",
}
JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _binary() -> Path:
    configured = os.environ.get("SFHQ_PACK_BIN")
    if configured:
        return Path(configured).resolve()
    return REPO / "target" / "debug" / "sfhq-pack"


BIN = _binary()


def pytest_configure(config: pytest.Config) -> None:
    if not BIN.is_file() or not os.access(BIN, os.X_OK):
        raise pytest.UsageError(
            f"sfhq-pack binary not found at {BIN}: run `cargo build` first, "
            "or set SFHQ_PACK_BIN (tests/run-all does both)"
        )
    # `datasets` must never reach the network here, and must not write into ~/.cache.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


def run_bin(*args, expect: int | None = 0, cwd: Path = REPO, env: dict | None = None):
    """Runs sfhq-pack; fails with the command, exit code, stdout and stderr when the exit
    code is not `expect` (None accepts any)."""
    argv = [str(BIN), *(str(a) for a in args)]
    full_env = dict(os.environ)
    full_env.pop("SOURCE_DATE_EPOCH", None)
    full_env.update(env or {})
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if expect is not None and proc.returncode != expect:
        raise AssertionError(
            f"`{' '.join(argv)}` (in {cwd}) exited {proc.returncode}, expected {expect}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Output:
    """A folder written by `sfhq-pack convert`."""

    name: str
    dir: Path
    exit_code: int

    @property
    def manifest(self) -> dict:
        return json.loads((self.dir / "manifest.json").read_text())

    def parquet_shard_paths(self) -> list[Path]:
        return [self.dir / s["path"] for s in self.manifest["shards"] if s["format"] == "parquet"]


def convert(tmp_path_factory, name: str, sources, *extra, expect: int = 0, env=None) -> Output:
    out = tmp_path_factory.mktemp(name) / "out"
    run_bin("convert", *sources, "--out", out, *extra, expect=expect, env=env)
    return Output(name=name, dir=out, exit_code=expect)


def require(path: str) -> None:
    if not (REPO / path).exists():
        pytest.skip(f"{path} is not there (yet)")


@pytest.fixture(scope="session")
def good_output(tmp_path_factory) -> Output:
    """The three good sources in one run, default options: one shard."""
    return convert(tmp_path_factory, "good", GOOD_SOURCES)


@pytest.fixture(scope="session")
def sharded_output(tmp_path_factory) -> Output:
    """The same sources with a small --shard-size, so there are several shards."""
    return convert(tmp_path_factory, "sharded", GOOD_SOURCES, "--shard-size", SMALL_SHARD_SIZE)


@pytest.fixture(scope="session")
def both_formats_output(tmp_path_factory) -> Output:
    """The good sources written as Parquet and WebDataset shards in one run."""
    return convert(
        tmp_path_factory, "both-formats", GOOD_SOURCES, "--format", "parquet,webdataset",
        "--shard-size", SMALL_SHARD_SIZE,
    )


@pytest.fixture(scope="session")
def split_output(tmp_path_factory) -> Output:
    """The good sources drawn into train, test and validation splits."""
    return convert(
        tmp_path_factory, "splits", GOOD_SOURCES, "--split", "test=0.3,validation=0.2",
        "--split-seed", "7",
    )


@pytest.fixture(scope="session", params=["one-shard", "small-shards"])
def output(request) -> Output:
    """Each good output in turn."""
    return request.getfixturevalue(
        {"one-shard": "good_output", "small-shards": "sharded_output"}[request.param]
    )


@pytest.fixture(scope="session")
def broken_output(tmp_path_factory) -> Output:
    """fixtures/broken/SFHQ_pt3: one fault per issue code; exits 1, writes the clean samples."""
    require(BROKEN_SOURCE)
    return convert(tmp_path_factory, "broken", [BROKEN_SOURCE], expect=1)


@pytest.fixture(scope="session")
def unsafe_zip_output(tmp_path_factory) -> Output:
    """A zip with absolute and `..` member names: exits 1, refuses them, writes the rest."""
    require(UNSAFE_ZIP)
    return convert(tmp_path_factory, "unsafe-zip", [UNSAFE_ZIP], expect=1)


@pytest.fixture(scope="session")
def empty_output(tmp_path_factory) -> Output:
    """A source whose every sample is excluded: exits 1 and writes no shard."""
    require(BROKEN_SOURCE)
    part = tmp_path_factory.mktemp("all-bad-src") / "SFHQ_pt3"
    keys = ("SFHQ_pt3_00000002", "SFHQ_pt3_00000003")
    for folder in MODALITY_FOLDERS:
        (part / folder).mkdir(parents=True)
        for file in sorted((REPO / BROKEN_SOURCE / folder).iterdir()):
            if file.stem in keys:
                shutil.copy2(file, part / folder / file.name)
    return convert(tmp_path_factory, "all-bad", [part], expect=1)


@pytest.fixture(scope="session")
def dated_output(tmp_path_factory) -> Output:
    """One good source with SOURCE_DATE_EPOCH set, so the manifest carries `created`."""
    return convert(
        tmp_path_factory, "dated", GOOD_SOURCES[:1], env={"SOURCE_DATE_EPOCH": "1700000000"}
    )


def _modality_of(path: PurePosixPath) -> str | None:
    """The modality of a source file, by the innermost SFHQ folder it sits in (Kaggle zips
    nest `images/images/`), or None for junk and anything else."""
    if path.name in JUNK_NAMES or path.name.startswith(".") or "__MACOSX" in path.parts:
        return None
    for folder in reversed(path.parts[:-1]):
        if folder in MODALITY_FOLDERS:
            return MODALITY_FOLDERS[folder]
    return None


@pytest.fixture(scope="session")
def source_files() -> dict[str, dict[str, tuple[str, bytes]]]:
    """key -> modality -> (file name, bytes), read straight from the good fixtures: files of
    folder sources from disk, members of zip sources with `zipfile`."""
    files: dict[str, dict[str, tuple[str, bytes]]] = {}

    def add(rel: PurePosixPath, data: bytes) -> None:
        modality = _modality_of(rel)
        if modality is not None:
            files.setdefault(rel.stem, {})[modality] = (rel.name, data)

    for source in GOOD_SOURCES:
        path = REPO / source
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    add(PurePosixPath(file.relative_to(path).as_posix()), file.read_bytes())
        else:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        add(PurePosixPath(info.filename), archive.read(info))
    return files


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory) -> Path:
    """A private Hugging Face cache, so the tests leave nothing in ~/.cache."""
    home = tmp_path_factory.mktemp("hf-home")
    os.environ["HF_HOME"] = str(home)
    os.environ["HF_DATASETS_CACHE"] = str(home / "datasets")
    return home


def load_schema(name: str):
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(name: str, document) -> None:
    """Asserts `document` validates against schema/<name>.schema.json, listing every error."""
    errors = sorted(load_schema(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors]
        raise AssertionError(
            f"{len(errors)} error(s) against schema/{name}.schema.json:\n" + "\n".join(lines)
        )
