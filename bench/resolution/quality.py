#!/usr/bin/env python3
"""Image quality and map exactness of the resolution benchmark (issue 14).

Against the float area-downscale of the decoded source (PIL decode, float64 mean of each
k x k block, no rounding), the mean PSNR over the sampled images of every output given
(sfhq-pack's Parquet shards, the references' train.parquet); and for every sample, whether
each output's map equals the source map sampled every k pixels. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys

import numpy as np
import pyarrow.parquet as pq
from PIL import Image


def stored(path: str) -> dict[str, tuple[bytes, bytes]]:
    """key -> (image bytes, map bytes) from a folder of Parquet files (recursively)."""
    out = {}
    files = sorted(glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True))
    for file in files:
        table = pq.read_table(file, columns=["key", "image", "segmentation"])
        for row in table.to_pylist():
            out[row["key"]] = (row["image"]["bytes"], row["segmentation"]["bytes"])
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("--resolution", type=int, required=True)
    ap.add_argument("--every", type=int, default=5, help="PSNR on every N-th sample")
    ap.add_argument("outputs", nargs="+", metavar="NAME=DIR")
    args = ap.parse_args()
    k = 1024 // args.resolution
    outputs = {name: stored(d) for name, d in (o.split("=", 1) for o in args.outputs)}
    keys = sorted(next(iter(outputs.values())))
    result = {name: {"psnr": [], "map_mismatches": 0, "samples": len(rows)} for name, rows in outputs.items()}
    for i, key in enumerate(keys):
        with open(os.path.join(args.src, "segmentations", f"{key}.png"), "rb") as f:
            source_map = np.asarray(Image.open(f))[::k, ::k]
        reference = None
        if i % args.every == 0:
            src = np.asarray(Image.open(os.path.join(args.src, "images", f"{key}.jpg")).convert("RGB"), np.float64)
            r = args.resolution
            reference = src.reshape(r, k, r, k, 3).mean(axis=(1, 3))
        for name, rows in outputs.items():
            image, labels = rows[key]
            if not np.array_equal(np.asarray(Image.open(io.BytesIO(labels))), source_map):
                result[name]["map_mismatches"] += 1
            if reference is not None:
                ours = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"), np.float64)
                result[name]["psnr"].append(psnr(ours, reference))
    for name, r in result.items():
        values = r.pop("psnr")
        r["psnr_images"] = len(values)
        r["mean_psnr_db"] = round(float(np.mean(values)), 2)
        r["min_psnr_db"] = round(float(np.min(values)), 2)
        r["mean_image_bytes"] = round(float(np.mean([len(v[0]) for v in outputs[name].values()])))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
