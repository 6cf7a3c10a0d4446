#!/usr/bin/env python3
"""Generates N SFHQ-shaped samples for the dedup benchmark: realistic clustered float16 CLIP-like
vectors (768-d, unnormalised, norms 8-12) in feature pickles, one tiny distinct PNG per sample,
and the same vectors as one .npy matrix for the Python references.

    gen.py N OUT_DIR [--seed S]

Unrelated faces sit at cosine ~0.5-0.8 (a shared component, 300 clusters, noise), as CLIP
embeddings of faces do. Planted: near-duplicate pairs and triples at 0.93-0.999 (one per 500
samples) and near misses at 0.90-0.919 (as many), so the answer is known to be non-empty.
"""
import argparse
import io
import json
import os
import pickle

import numpy as np
from PIL import Image

D = 768
VITL = "CLIP_ViTL_14@336"


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--image-px", type=int, default=8,
                    help="side of the images: 8 (tiny PNGs) or more (noise JPEGs of realistic size)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    n = a.n
    common = unit(rng.standard_normal(D))
    centers = unit(rng.standard_normal((300, D)))
    cluster = rng.integers(0, 300, n)
    X = unit(0.75 * common + 0.4 * centers[cluster] + 0.53 * unit(rng.standard_normal((n, D))))

    def turned(base, s):
        w = rng.standard_normal(D)
        w -= (w @ base) * base
        w /= np.linalg.norm(w)
        return s * base + np.sqrt(1 - s * s) * w

    planted = max(1, n // 500)
    targets = rng.permutation(n)
    used = 0
    for k in range(planted):
        i, j = targets[used], targets[used + 1]
        used += 2
        X[j] = turned(X[i], rng.uniform(0.93, 0.999))
        if k % 4 == 0:  # a triple
            X[targets[used]] = turned(X[j], rng.uniform(0.95, 0.99))
            used += 1
    for _ in range(planted):
        i, j = targets[used], targets[used + 1]
        used += 2
        X[j] = turned(X[i], rng.uniform(0.90, 0.919))
    X = (X * rng.uniform(8, 12, (n, 1))).astype(np.float16)

    part = os.path.join(a.out, "SFHQ_pt1")
    os.makedirs(os.path.join(part, "images"), exist_ok=True)
    os.makedirs(os.path.join(part, "pretrained_features"), exist_ok=True)
    keys = [f"SFHQ_pt1_{i:08d}" for i in range(n)]
    for i, key in enumerate(keys):
        buf = io.BytesIO()
        if a.image_px == 8:
            # lossless, so that every sample's image bytes differ (JPEG would make equal files)
            pixels = np.frombuffer(i.to_bytes(4, "little") * 48, dtype=np.uint8).reshape(8, 8, 3)
            Image.fromarray(pixels, "RGB").save(buf, "PNG")
            ext = "png"
        else:
            # noise compresses badly: about as many bytes as a real 1024x1024 face JPEG at 512 px
            pixels = rng.integers(0, 256, (a.image_px, a.image_px, 3), dtype=np.uint8)
            Image.fromarray(pixels, "RGB").save(buf, "JPEG", quality=90)
            ext = "jpg"
        with open(os.path.join(part, "images", f"{key}.{ext}"), "wb") as f:
            f.write(buf.getvalue())
        with open(os.path.join(part, "pretrained_features", key + ".pickle"), "wb") as f:
            pickle.dump({VITL: X[i : i + 1].copy()}, f, protocol=4)
    np.save(os.path.join(a.out, "vectors.npy"), X)
    with open(os.path.join(a.out, "keys.json"), "w") as f:
        json.dump(keys, f)


if __name__ == "__main__":
    main()
