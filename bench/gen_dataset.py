#!/usr/bin/env python3
"""Generate an SFHQ-shaped source folder (and optionally a Kaggle-style zip) for the benchmark.

Layout (see shared FORMATS.md section 1):

    OUT/images/SFHQ_pt1_00000000.jpg            1024x1024 RGB JPEG, quality 95, ~300 KB
    OUT/segmentations/SFHQ_pt1_00000000.png     1024x1024 mode-L label map, x4 nearest upscale of 256x256, labels 0-18
    OUT/landmarks/SFHQ_pt1_00000000.npz         np.savez, array 'landmarks' (110, 2) float32, 1024-pixel coordinates
    OUT/pretrained_features/SFHQ_pt1_00000000.pickle   pickle protocol 4 of {"CLIP_ViTL_14@336": float16 (1, 768)}

With --zip Z, the same files also go into Z as a Kaggle download would hold them: each folder
nested in itself (images/images/x.jpg), JPEG and PNG members STORED, npz and pickle DEFLATED.

Every sample is a function of (seed, index) only, so the output is the same whatever the
number of worker processes.

The images are not faces, but they have the statistics that matter to a converter: the size
of a real quality-95 1024x1024 JPEG (smooth regions from a face-like label layout, mid
frequency texture and fine sensor-like noise, so the encoder cannot squeeze them flat), and
label maps with the same block structure as SFHQ's upscaled BiSeNet maps.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import shutil
import sys
import time
import zipfile
from multiprocessing import Pool

import numpy as np
from PIL import Image

SIZE = 1024
SMALL = 256
UPSCALE = SIZE // SMALL
N_LANDMARKS = 110
FEATURE_MODEL = "CLIP_ViTL_14@336"
FEATURE_DIM = 768
FOLDERS = ("images", "segmentations", "landmarks", "pretrained_features")
EXTS = ("jpg", "png", "npz", "pickle")

# A colour per label (0 background .. 18 hat), roughly face-like, varied per sample.
BASE_COLOURS = np.array(
    [
        [90, 110, 140],  # 0 background
        [224, 172, 140],  # 1 skin
        [80, 55, 40],  # 2 l_brow
        [80, 55, 40],  # 3 r_brow
        [240, 240, 235],  # 4 l_eye
        [240, 240, 235],  # 5 r_eye
        [30, 30, 30],  # 6 glasses
        [215, 160, 130],  # 7 l_ear
        [215, 160, 130],  # 8 r_ear
        [230, 200, 60],  # 9 earring
        [230, 165, 135],  # 10 nose
        [120, 40, 40],  # 11 mouth
        [190, 90, 90],  # 12 u_lip
        [200, 100, 100],  # 13 l_lip
        [210, 155, 125],  # 14 neck
        [200, 200, 210],  # 15 necklace
        [60, 70, 120],  # 16 cloth
        [70, 45, 30],  # 17 hair
        [150, 30, 30],  # 18 hat
    ],
    dtype=np.int16,
)

# Per worker: a pool of fine noise to crop from (normal noise per sample would cost ~90 ms).
_NOISE: np.ndarray | None = None
_GRID: tuple[np.ndarray, np.ndarray] | None = None


def _init_worker(seed: int) -> None:
    global _NOISE, _GRID
    rng = np.random.default_rng([seed, 0xB0B])
    _NOISE = rng.normal(0.0, 2.2, (2 * SIZE, 2 * SIZE)).astype(np.int16)
    yy, xx = np.mgrid[0:SMALL, 0:SMALL].astype(np.float32)
    _GRID = (yy, xx)


def key_of(index: int) -> str:
    return f"SFHQ_pt1_{index:08d}"


def _ellipse(cy, cx, ry, rx, angle=0.0):
    yy, xx = _GRID
    dy, dx = yy - cy, xx - cx
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    return (dy / ry) ** 2 + (dx / rx) ** 2 <= 1.0


def label_map(rng: np.random.Generator) -> np.ndarray:
    """A 256x256 face-parsing layout with labels 0-18."""
    m = np.zeros((SMALL, SMALL), dtype=np.uint8)
    j = lambda s: rng.uniform(-s, s)  # noqa: E731
    cy, cx = 118 + j(10), 128 + j(12)
    ry, rx = 72 + j(8), 56 + j(7)
    tilt = j(0.15)
    m[_ellipse(250, cx, 60 + j(10), 120 + j(15))] = 16  # cloth
    m[_ellipse(cy + ry + 10, cx, 40, rx * 0.55)] = 14  # neck
    if rng.random() < 0.6:
        m[_ellipse(cy - 25 + j(5), cx, ry + 20, rx + 22, tilt)] = 17  # hair
    m[_ellipse(cy + 6, cx - rx, 14, 8)] = 7  # ears
    m[_ellipse(cy + 6, cx + rx, 14, 8)] = 8
    if rng.random() < 0.15:
        m[_ellipse(cy + 22, cx - rx - 1, 3, 3)] = 9  # earring
    m[_ellipse(cy, cx, ry, rx, tilt)] = 1  # skin
    ey = cy - 12 + j(3)
    for lab_brow, lab_eye, sx in ((2, 4, -1), (3, 5, 1)):
        ex = cx + sx * (22 + j(3))
        m[_ellipse(ey - 12, ex, 3.5, 13, tilt)] = lab_brow
        m[_ellipse(ey, ex, 5, 10, tilt)] = lab_eye
    if rng.random() < 0.1:
        m[_ellipse(ey, cx - 22, 11, 17) & ~_ellipse(ey, cx - 22, 9, 15)] = 6  # glasses
        m[_ellipse(ey, cx + 22, 11, 17) & ~_ellipse(ey, cx + 22, 9, 15)] = 6
    m[_ellipse(cy + 14, cx, 18, 8, tilt)] = 10  # nose
    my = cy + 40 + j(4)
    m[_ellipse(my - 4, cx, 5, 20, tilt)] = 12  # lips
    m[_ellipse(my + 4, cx, 6, 19, tilt)] = 13
    m[_ellipse(my, cx, 2, 16, tilt)] = 11  # mouth
    if rng.random() < 0.08:
        m[_ellipse(cy - ry + 5, cx, 35, rx + 25)] = 18  # hat
    if rng.random() < 0.05:
        m[_ellipse(cy + ry + 40, cx, 4, 40) & ~_ellipse(cy + ry + 40, cx, 2, 36)] = 15  # necklace
    return m


def make_sample(seed: int, index: int) -> tuple[bytes, bytes, bytes, bytes]:
    rng = np.random.default_rng([seed, index])
    small = label_map(rng)
    labels = small.repeat(UPSCALE, axis=0).repeat(UPSCALE, axis=1)

    # Image: colour of each label region (blurred edges), low- and mid-frequency variation, fine noise.
    colours = (BASE_COLOURS + rng.integers(-25, 26, BASE_COLOURS.shape)).clip(0, 255)
    base = colours[small].astype(np.uint8)
    base = np.asarray(Image.fromarray(base).resize((SIZE, SIZE), Image.BILINEAR), dtype=np.int16)
    low = rng.integers(0, 60, (12, 12, 3), dtype=np.uint8)
    low = np.asarray(Image.fromarray(low).resize((SIZE, SIZE), Image.BICUBIC), dtype=np.int16) - 30
    mid = (rng.normal(0.0, 6.0, (SMALL, SMALL, 3)) + 128).clip(0, 255).astype(np.uint8)
    mid = np.asarray(Image.fromarray(mid).resize((SIZE, SIZE), Image.BILINEAR), dtype=np.int16) - 128
    oy, ox = rng.integers(0, SIZE, 2)
    fine = _NOISE[oy : oy + SIZE, ox : ox + SIZE]
    if index & 1:
        fine = fine[:, ::-1]
    img = base + low + mid + fine[:, :, None]
    np.clip(img, 0, 255, out=img)
    buf = io.BytesIO()
    Image.fromarray(img.astype(np.uint8), "RGB").save(buf, "JPEG", quality=95)
    jpg = buf.getvalue()

    buf = io.BytesIO()
    Image.fromarray(labels, "L").save(buf, "PNG")
    png = buf.getvalue()

    # Landmarks: 110 points around the face in 1024-pixel coordinates (float32).
    ys, xs = np.nonzero(small == 1)
    cy, cx = ys.mean() * UPSCALE, xs.mean() * UPSCALE
    t = np.linspace(0, 2 * np.pi, N_LANDMARKS, endpoint=False)
    r = rng.uniform(60, 300, N_LANDMARKS)
    lm = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
    lm = lm.clip(0, SIZE - 1).astype(np.float32)
    buf = io.BytesIO()
    np.savez(buf, landmarks=lm)
    npz = buf.getvalue()

    feat = rng.normal(0.0, 0.5, (1, FEATURE_DIM)).astype(np.float16)
    pkl = pickle.dumps({FEATURE_MODEL: feat}, protocol=4)
    return jpg, png, npz, pkl


def _work(args: tuple[int, int, str]) -> int:
    seed, index, out = args
    files = make_sample(seed, index)
    key = key_of(index)
    for folder, ext, data in zip(FOLDERS, EXTS, files):
        path = os.path.join(out, folder, f"{key}.{ext}")
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    return len(files[0])


def _paths(out: str, index: int) -> list[str]:
    key = key_of(index)
    return [os.path.join(out, folder, f"{key}.{ext}") for folder, ext in zip(FOLDERS, EXTS)]


def _exists(out: str, index: int) -> bool:
    return all(os.path.exists(p) for p in _paths(out, index))


def write_zip(out: str, zip_path: str, samples: int) -> None:
    """Kaggle-style: every folder nested in itself; already-compressed files STORED."""
    tmp = zip_path + ".partial"
    with zipfile.ZipFile(tmp, "w", allowZip64=True) as z:
        for folder, ext in zip(FOLDERS, EXTS):
            method = zipfile.ZIP_STORED if ext in ("jpg", "png") else zipfile.ZIP_DEFLATED
            for index in range(samples):
                name = f"{key_of(index)}.{ext}"
                z.write(os.path.join(out, folder, name), f"{folder}/{folder}/{name}", compress_type=method)
    os.replace(tmp, zip_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1500)
    ap.add_argument("--out", required=True, help="source folder to create")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--zip", metavar="ZIP", help="also write the same files as a Kaggle-style zip here")
    ap.add_argument("--unique", type=int, metavar="K",
                    help="generate only samples 0..K-1; sample i >= K is a byte copy of sample i %% K under its own "
                         "key (fast large sources for the memory-scaling run)")
    ap.add_argument("--zip-only", action="store_true", help="only write --zip from an already generated --out")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if args.zip_only:
        t = time.time()
        write_zip(args.out, args.zip, args.samples)
        print(f"zip {args.zip}: {os.path.getsize(args.zip) / 1e6:.1f} MB, {time.time() - t:.0f} s", file=sys.stderr)
        return 0

    for folder in FOLDERS:
        os.makedirs(os.path.join(args.out, folder), exist_ok=True)
    started = time.time()
    unique = min(args.unique or args.samples, args.samples)
    # Samples already there (a resumed or seeded run) are kept: files are written atomically.
    todo = [i for i in range(unique) if not _exists(args.out, i)]
    jobs = ((args.seed, i, args.out) for i in todo)
    with Pool(args.workers, initializer=_init_worker, initargs=(args.seed,)) as pool:
        for n, _ in enumerate(pool.imap(_work, jobs, chunksize=16), 1):
            if n % 500 == 0 or n == len(todo):
                print(f"  generated {n}/{len(todo)} samples ({time.time() - started:.0f} s)", file=sys.stderr)
    for i in range(unique, args.samples):
        for src, dst in zip(_paths(args.out, i % unique), _paths(args.out, i)):
            if not os.path.exists(dst):
                shutil.copyfile(src, dst + ".tmp")
                os.replace(dst + ".tmp", dst)
    if unique < args.samples:
        print(f"  copied samples {unique}..{args.samples - 1} from 0..{unique - 1} ({time.time() - started:.0f} s)", file=sys.stderr)
    jpeg_bytes = sum(os.path.getsize(_paths(args.out, i)[0]) for i in range(args.samples))
    total = 0
    for folder in FOLDERS:
        d = os.path.join(args.out, folder)
        total += sum(e.stat().st_size for e in os.scandir(d))
    print(
        f"{args.samples} samples in {args.out}: {total / 1e6:.1f} MB, "
        f"mean JPEG {jpeg_bytes / max(args.samples, 1) / 1e3:.0f} KB, {time.time() - started:.0f} s",
        file=sys.stderr,
    )
    if args.zip:
        t = time.time()
        write_zip(args.out, args.zip, args.samples)
        print(f"zip {args.zip}: {os.path.getsize(args.zip) / 1e6:.1f} MB, {time.time() - t:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
