#!/usr/bin/env python3
"""The Python references of the resolution benchmark (issue 14).

What a practised user writes to turn an SFHQ part into a 256 (or 512) pixel Parquet dataset,
on all cores:

  for each key, in sorted order (multiprocessing Pool.imap, order kept), read the four files;
  image         --backend opencv: cv2.imdecode -> cv2.resize(INTER_AREA) -> cv2.imencode(".jpg",
                quality Q; OpenCV's default chroma subsampling 4:2:0, or --chroma 444);
                --backend pil: Image.open -> convert("RGB") -> reduce(k) -> save JPEG quality Q
                (subsampling 4:4:4 with --chroma 444, else PIL's default 4:2:0);
  segmentation  decode the PNG to an array, map[::k, ::k] (exact for SFHQ's x4-upscaled maps),
                encode as PNG again;
  landmarks     np.load(...)["landmarks"] * resolution / 1024;
  features      pickle.load, kept as they are;
  sha256 of the source image and map and of the stored ones (the provenance sfhq-pack keeps);
  pyarrow Parquet, 100-row row groups, pictures as struct<bytes, path>, written in the main
  process.

`--decode-only` times only reading and decoding the images (cv2.imdecode), the floor of the
OpenCV pipeline.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import sys
import time
from multiprocessing import Pool

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SIZE = 1024
ROWS = 100

OPTS: dict = {}


def init(opts: dict) -> None:
    OPTS.update(opts)
    if OPTS["backend"] == "opencv":
        import cv2

        cv2.setNumThreads(1)  # one process per core already


def read(folder: str, key: str, ext: str) -> bytes:
    with open(os.path.join(OPTS["src"], folder, f"{key}.{ext}"), "rb") as f:
        return f.read()


def resize_image(data: bytes) -> bytes:
    r, q = OPTS["resolution"], OPTS["quality"]
    if OPTS["backend"] == "opencv":
        import cv2

        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        small = cv2.resize(img, (r, r), interpolation=cv2.INTER_AREA)
        params = [cv2.IMWRITE_JPEG_QUALITY, q]
        if OPTS["chroma"] == "444":
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        ok, out = cv2.imencode(".jpg", small, params)
        assert ok
        return out.tobytes()
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB").reduce(SIZE // r)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q, subsampling=0 if OPTS["chroma"] == "444" else 2)
    return buf.getvalue()


def resize_map(data: bytes) -> bytes:
    k = SIZE // OPTS["resolution"]
    if OPTS["backend"] == "opencv":
        import cv2

        labels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        ok, out = cv2.imencode(".png", np.ascontiguousarray(labels[::k, ::k]))
        assert ok
        return out.tobytes()
    from PIL import Image

    labels = np.asarray(Image.open(io.BytesIO(data)))
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(labels[::k, ::k])).save(buf, "PNG")
    return buf.getvalue()


def process(key: str):
    image = read("images", key, "jpg")
    if OPTS["decode_only"]:
        import cv2

        cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
        return None
    seg = read("segmentations", key, "png")
    stored_image = resize_image(image)
    stored_map = resize_map(seg)
    landmarks = np.load(io.BytesIO(read("landmarks", key, "npz")))["landmarks"]
    landmarks = (landmarks * (OPTS["resolution"] / SIZE)).astype(landmarks.dtype)
    features = pickle.loads(read("pretrained_features", key, "pickle"))
    return {
        "key": key,
        "image": {"bytes": stored_image, "path": f"{key}.jpg"},
        "image_sha256": hashlib.sha256(stored_image).hexdigest(),
        "image_source_sha256": hashlib.sha256(image).hexdigest(),
        "width": OPTS["resolution"],
        "height": OPTS["resolution"],
        "segmentation": {"bytes": stored_map, "path": f"{key}.png"},
        "segmentation_sha256": hashlib.sha256(stored_map).hexdigest(),
        "segmentation_source_sha256": hashlib.sha256(seg).hexdigest(),
        "landmarks": landmarks.tolist(),
        "features": {m: np.asarray(v).reshape(-1).tolist() for m, v in features.items()},
    }


def write(writer, batch: list[dict], out: str):
    """Appends a row group; the pictures stored uncompressed (JPEG and PNG are already)."""
    table = pa.Table.from_pylist(batch)
    if writer is None:
        writer = pq.ParquetWriter(
            os.path.join(out, "train.parquet"), table.schema, use_dictionary=False,
            compression={c: ("NONE" if c.endswith(".bytes") else "SNAPPY") for c in _leaf_names(table.schema)},
        )
    writer.write_table(table)
    return writer


def _leaf_names(schema: pa.Schema) -> list[str]:
    names = []

    def walk(field: pa.Field, prefix: str) -> None:
        if pa.types.is_struct(field.type):
            for child in field.type:
                walk(child, f"{prefix}{field.name}.")
        else:
            names.append(f"{prefix}{field.name}")

    for field in schema:
        walk(field, "")
    return names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="SFHQ-shaped source folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", choices=["opencv", "pil"], default="opencv")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--chroma", choices=["420", "444"], default="420")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--decode-only", action="store_true")
    args = ap.parse_args()
    keys = sorted(n[:-4] for n in os.listdir(os.path.join(args.src, "images"))
                  if n.endswith(".jpg") and not n.startswith("."))
    opts = {"src": args.src, "backend": args.backend, "resolution": args.resolution,
            "quality": args.quality, "chroma": args.chroma, "decode_only": args.decode_only}
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    writer = None
    batch: list[dict] = []
    with Pool(args.workers, initializer=init, initargs=(opts,)) as pool:
        for row in pool.imap(process, keys, chunksize=8):
            if row is None:
                continue
            batch.append(row)
            if len(batch) == ROWS:
                writer = write(writer, batch, args.out)
                batch = []
    if batch:
        writer = write(writer, batch, args.out)
    if writer is not None:
        writer.close()
    print(f"{len(keys)} samples in {time.time() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
