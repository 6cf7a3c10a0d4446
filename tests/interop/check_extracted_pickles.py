#!/usr/bin/env python3
"""Check that the files `sfhq-pack extract` rebuilt load with plain numpy and pickle.

    python check_extracted_pickles.py FOLDER [--json SUMMARY.json]

Loads every `*.pickle` below FOLDER with `pickle.load`, the way SFHQ users do
(`pickle.load(open(p, 'rb'))['CLIP_ViTL_14@336']`), and every `*.npz` with
`np.load(p)['landmarks']`, and checks what they hold: a dict of str -> numpy.ndarray for
a pickle, an ndarray for the landmarks, each of a bool, integer or float dtype in native
byte order and C-contiguous. Prints one line per array and exits non-zero on any failure,
or when the folder holds neither kind of file.

The point is to run it under more than one numpy: the pickles name numpy 1.x's
`numpy.core.multiarray`, which numpy 2.x serves through a compatibility shim. Run it with
`-W error::DeprecationWarning` to turn any deprecation warning raised while loading into a
failure, or `-W always` to see every warning, which the script prints as it records them.

Only for files sfhq-pack wrote: `pickle.load` runs whatever a pickle names, so never point
this at pickles from elsewhere (sfhq-pack's own reader is the safe way to read those).
`--json` writes, per file and array, the dtype, shape and a sha256 of the array's bytes, so
that a test can compare the values with the source without unpickling anything else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np

# Kinds SFHQ arrays come in: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = "biuf"


def describe(array: object) -> tuple[dict, list[str]]:
    """The summary of one array and what is wrong with it."""
    problems = []
    if type(array) is not np.ndarray:
        return {"type": type(array).__name__}, [f"is a {type(array).__name__}, not a numpy.ndarray"]
    if array.dtype.kind not in NUMERIC_KINDS:
        problems.append(f"dtype {array.dtype} is not bool, integer or float")
    if not array.dtype.isnative:
        problems.append(f"dtype {array.dtype.str} is not in native byte order")
    if not array.flags.c_contiguous:
        problems.append("is not C-contiguous")
    summary = {
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "c_contiguous": bool(array.flags.c_contiguous),
        "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
    }
    return summary, problems


def load_pickle(path: Path) -> dict:
    with path.open("rb") as f:
        return pickle.load(f)


def load_landmarks(path: Path) -> np.ndarray:
    with np.load(path) as archive:
        return archive["landmarks"]


def check(path: Path, root: Path, results: dict) -> list[str]:
    """Loads one file, prints its arrays, records them in results; returns the failures."""
    rel = path.relative_to(root).as_posix()
    failures = []
    with warnings.catch_warnings(record=True) as caught:
        try:
            loaded = load_pickle(path) if path.suffix == ".pickle" else load_landmarks(path)
        except Exception as e:  # noqa: BLE001 - any failure to load is the finding
            return [f"{rel}: does not load: {type(e).__name__}: {e}"]
    for w in caught:
        print(f"{rel}: warning while loading: {w.category.__name__}: {w.message}")

    if path.suffix == ".pickle":
        if type(loaded) is not dict:
            return [f"{rel}: holds a {type(loaded).__name__}, not a dict"]
        arrays = loaded
        if not arrays:
            print(f"{rel}: empty dict")
    else:
        arrays = {"landmarks": loaded}

    entry = results.setdefault(rel, {})
    for key, array in arrays.items():
        if not isinstance(key, str):
            failures.append(f"{rel}: key {key!r} is not a str")
            continue
        summary, problems = describe(array)
        entry[key] = summary
        if "dtype" in summary:
            print(
                f"{rel}: {key!r} {summary['dtype']} {tuple(summary['shape'])} "
                f"C-contiguous={summary['c_contiguous']}"
            )
        failures.extend(f"{rel}: {key!r} {p}" for p in problems)
    return failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", type=Path, help="write a summary of every array here")
    args = parser.parse_args(argv)

    root = args.folder
    if not root.is_dir():
        print(f"error: {root} is not a folder", file=sys.stderr)
        return 2
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".pickle", ".npz")
    )
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}: {len(files)} files below {root}")
    if not files:
        print("error: no .pickle or .npz file found", file=sys.stderr)
        return 1

    results: dict = {}
    failures = []
    for path in files:
        failures.extend(check(path, root, results))

    if args.json:
        args.json.write_text(
            json.dumps({"numpy": np.__version__, "files": results}, indent=1, sort_keys=True)
        )
    pickles = sum(1 for p in files if p.suffix == ".pickle")
    print(f"{pickles} pickles, {len(files) - pickles} npz, {len(failures)} failures")
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
