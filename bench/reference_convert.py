#!/usr/bin/env python3
"""The Python reference converter of the benchmark (issue 5).

What a practised user would write to do the same work as `sfhq-pack convert` with its
default checks, using numpy + pickle + PIL + pyarrow:

  for each key, in sorted order: read the four files once;
  image:        PIL Image.open (lazy: parses the header only) -> size 1024x1024 and mode RGB;
                the bytes end with the JPEG end marker FF D9; with --deep, im.load() decodes it;
  segmentation: decode the PNG with PIL into a numpy array; 1024x1024 single channel;
                labels <= 18; every aligned 4x4 block constant (share of pure blocks);
  landmarks:    np.load -> 'landmarks', shape (110, 2), finite, upscaled, inside the frame;
  features:     pickle.load (yes: what users do) -> dict of (1, D) arrays, finite, D as the first sample;
  sha256 of the image and segmentation bytes (and of the npz and pickle, as sfhq-pack does);
  Parquet shards of ~500 MB of sample bytes with pyarrow: 100-row row groups, image and
  segmentation as struct<bytes, path> stored uncompressed, plain, no statistics; the rest snappy;
  landmarks fixed_size_list<fixed_size_list<float, 2>, 110>; features struct of
  fixed_size_list<halffloat, D>; the `huggingface` feature description in the schema metadata;
  then a sha256 per shard, SHA256SUMS and manifest.json.

Single process by default, as a typical script is. `--workers N` runs the per-sample work
in a multiprocessing pool (order kept with imap) and writes in the main process.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import sys
import time
from multiprocessing import Pool

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

SIZE = 1024
UPSCALE = 4
MAX_LABEL = 18
N_LANDMARKS = 110
ROW_GROUP_ROWS = 100
FOLDERS = {"image": ("images", "jpg"), "segmentation": ("segmentations", "png"),
           "landmarks": ("landmarks", "npz"), "features": ("pretrained_features", "pickle")}

DEEP = False


def parse_size(text: str) -> int:
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "B": 1}
    t = text.strip().upper()
    for unit, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * factor)
    return int(t)


def part_of(key: str):
    if key.startswith("SFHQ_pt"):
        digits = key[7:].split("_", 1)[0]
        if digits.isdigit():
            return int(digits)
    return None


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def process(args: tuple[str, str]):
    """Reads and checks one sample. Returns (key, row or None, issues, bytes_read)."""
    src, key = args
    issues: list[dict] = []
    files = {}
    nread = 0
    for modality, (folder, ext) in FOLDERS.items():
        path = os.path.join(src, folder, f"{key}.{ext}")
        try:
            files[modality] = read(path)
            nread += len(files[modality])
        except OSError as e:
            issues.append({"code": "sample.missing", "file": path, "message": str(e)})

    def issue(code, modality, message, severity="error"):
        issues.append({"code": code, "severity": severity,
                       "file": f"{FOLDERS[modality][0]}/{key}.{FOLDERS[modality][1]}", "message": message})

    # Image: header only (PIL's open is lazy), end marker, size, mode.
    width = height = None
    img = files.get("image")
    if img is not None:
        try:
            with Image.open(io.BytesIO(img)) as im:
                width, height = im.size
                if im.format != "JPEG":
                    issue("image.unreadable", "image", f"not a JPEG ({im.format})")
                if (width, height) != (SIZE, SIZE):
                    issue("image.size", "image", f"image is {width}x{height}")
                if im.mode != "RGB":
                    issue("image.channels", "image", f"mode {im.mode}")
                if not img.endswith(b"\xff\xd9"):
                    issue("image.truncated", "image", "JPEG end marker missing")
                elif DEEP:
                    im.load()
        except Exception as e:  # noqa: BLE001
            issue("image.unreadable", "image", str(e))

    # Segmentation: full decode, labels, 4x4 blocks.
    seg = files.get("segmentation")
    if seg is not None:
        try:
            with Image.open(io.BytesIO(seg)) as im:
                if im.mode not in ("L", "P"):
                    issue("segmentation.channels", "segmentation", f"mode {im.mode}")
                labels = np.asarray(im)
            h, w = labels.shape[:2]
            if (w, h) == (SIZE // UPSCALE, SIZE // UPSCALE):
                issue("segmentation.not_upscaled", "segmentation", "map is 256x256")
            elif (w, h) != (SIZE, SIZE):
                issue("segmentation.size", "segmentation", f"map is {w}x{h}")
            top = int(labels.max())
            if top > MAX_LABEL:
                issue("segmentation.labels", "segmentation", f"labels up to {top}")
            if (w, h) == (SIZE, SIZE) and labels.ndim == 2:
                blocks = labels.reshape(SIZE // UPSCALE, UPSCALE, SIZE // UPSCALE, UPSCALE)
                pure = (blocks == blocks[:, :1, :, :1]).all(axis=(1, 3))
                share = float(pure.mean())
                if share < 1.0:
                    issue("segmentation.blocks", "segmentation", f"{share:.2%} pure blocks", "warning")
        except Exception as e:  # noqa: BLE001
            issue("segmentation.unreadable", "segmentation", str(e))

    # Landmarks.
    landmarks = None
    npz = files.get("landmarks")
    if npz is not None:
        try:
            with np.load(io.BytesIO(npz)) as z:
                landmarks = np.asarray(z["landmarks"])
            if landmarks.shape != (N_LANDMARKS, 2):
                issue("landmarks.shape", "landmarks", f"shape {landmarks.shape}")
                landmarks = None
            elif not np.isfinite(landmarks).all():
                issue("landmarks.nonfinite", "landmarks", "NaN or infinite coordinates")
            elif landmarks.max() <= SIZE // UPSCALE:
                issue("landmarks.not_upscaled", "landmarks", "all points within 0..256")
            else:
                outside = ((landmarks < 0) | (landmarks > SIZE)).any(axis=1).sum()
                if outside:
                    issue("landmarks.out_of_bounds", "landmarks", f"{outside} points outside", "warning")
        except Exception as e:  # noqa: BLE001
            issue("landmarks.unreadable", "landmarks", str(e))

    # Features.
    features = None
    pkl = files.get("features")
    if pkl is not None:
        try:
            d = pickle.loads(pkl)
            features = {}
            for model, arr in d.items():
                arr = np.asarray(arr)
                if arr.ndim != 2 or arr.shape[0] != 1:
                    issue("features.shape", "features", f"{model}: shape {arr.shape}")
                elif not np.isfinite(arr).all():
                    issue("features.nonfinite", "features", f"{model}: NaN or infinite")
                else:
                    features[model] = arr
        except Exception as e:  # noqa: BLE001
            issue("features.unreadable", "features", str(e))

    if any(i.get("severity", "error") == "error" for i in issues) or img is None:
        return key, None, issues, nread
    row = {
        "key": key,
        "part": part_of(key),
        "image": (img, f"{key}.jpg", hashlib.sha256(img).hexdigest()),
        "width": width,
        "height": height,
        "segmentation": (seg, f"{key}.png", hashlib.sha256(seg).hexdigest()) if seg is not None else None,
        "landmarks": landmarks,
        "landmarks_sha256": hashlib.sha256(npz).hexdigest() if npz is not None else None,
        "features": features,
        "features_sha256": hashlib.sha256(pkl).hexdigest() if pkl is not None else None,
    }
    return key, row, issues, nread


def row_size(row) -> int:
    n = len(row["image"][0]) + (len(row["segmentation"][0]) if row["segmentation"] else 0)
    if row["landmarks"] is not None:
        n += row["landmarks"].nbytes
    for a in (row["features"] or {}).values():
        n += a.nbytes
    return n


class ShardWriter:
    def __init__(self, out: str, models: dict[str, tuple[int, np.dtype]], shard_size: int):
        self.dir = os.path.join(out, "data")
        os.makedirs(self.dir, exist_ok=True)
        self.models = models
        self.shard_size = shard_size
        blob = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        self.lm_type = pa.list_(pa.list_(pa.float32(), 2), N_LANDMARKS)
        self.feat_types = {m: pa.list_(pa.from_numpy_dtype(dt), dim) for m, (dim, dt) in models.items()}
        fields = [("key", pa.string()), ("part", pa.int16()), ("image", blob), ("image_sha256", pa.string()),
                  ("width", pa.int32()), ("height", pa.int32()), ("segmentation", blob),
                  ("segmentation_sha256", pa.string()), ("landmarks", self.lm_type)]
        hf = lambda d: {"dtype": d, "_type": "Value"}  # noqa: E731
        seq = lambda inner, n: {"feature": inner, "length": n, "_type": "Sequence"}  # noqa: E731
        desc = {"key": hf("string"), "part": hf("int16"), "image": {"_type": "Image"},
                "image_sha256": hf("string"), "width": hf("int32"), "height": hf("int32"),
                "segmentation": {"_type": "Image"}, "segmentation_sha256": hf("string"),
                "landmarks": seq(seq(hf("float32"), 2), N_LANDMARKS)}
        if models:
            fields.append(("pretrained_features", pa.struct([(m, t) for m, t in self.feat_types.items()])))
            desc["pretrained_features"] = {m: seq(hf(str(np.dtype(dt))), dim) for m, (dim, dt) in models.items()}
        self.schema = pa.schema(fields, metadata={"huggingface": json.dumps({"info": {"features": desc}})})
        # Per-column options: image bytes uncompressed and without statistics, the rest snappy.
        leaves = self._leaf_paths()
        blobs = {"image.bytes", "segmentation.bytes"}
        self.compression = {p: ("NONE" if p in blobs else "SNAPPY") for p in leaves}
        self.statistics = [p for p in leaves if p not in blobs]
        self.rows: list[dict] = []
        self.writer = None
        self.shard_rows = 0
        self.shard_payload = 0
        self.first_key = None
        self.last_key = None
        self.sealed: list[dict] = []

    def _leaf_paths(self) -> list[str]:
        buf = io.BytesIO()
        pq.write_table(self.schema.empty_table(), buf)
        buf.seek(0)
        return [c.path for c in pq.ParquetFile(buf).schema]

    def write(self, row: dict) -> None:
        size = row_size(row)
        if self.shard_rows and self.shard_payload + size > self.shard_size:
            self.seal()
        self.shard_rows += 1
        self.shard_payload += size
        self.rows.append(row)
        if len(self.rows) >= ROW_GROUP_ROWS:
            self.flush()

    def _table(self, rows: list[dict]) -> pa.Table:
        def blob(col):
            vals = [r[col] for r in rows]
            mask = np.array([v is None for v in vals])
            return pa.StructArray.from_arrays(
                [pa.array([v[0] if v else None for v in vals], pa.binary()),
                 pa.array([v[1] if v else None for v in vals], pa.string())],
                fields=list(self.schema.field(col).type), mask=pa.array(mask) if mask.any() else None)

        lm = np.stack([r["landmarks"] if r["landmarks"] is not None else np.zeros((N_LANDMARKS, 2))
                       for r in rows]).astype(np.float32, copy=False)
        inner = pa.FixedSizeListArray.from_arrays(pa.array(lm.reshape(-1)), 2)
        landmarks = pa.FixedSizeListArray.from_arrays(inner, N_LANDMARKS)
        cols = [
            pa.array([r["key"] for r in rows], pa.string()),
            pa.array([r["part"] for r in rows], pa.int16()),
            blob("image"),
            pa.array([r["image"][2] for r in rows], pa.string()),
            pa.array([r["width"] for r in rows], pa.int32()),
            pa.array([r["height"] for r in rows], pa.int32()),
            blob("segmentation"),
            pa.array([r["segmentation"][2] if r["segmentation"] else None for r in rows], pa.string()),
            landmarks,
        ]
        if self.models:
            children = []
            for m, (dim, dt) in self.models.items():
                vals = np.stack([(r["features"] or {}).get(m, np.zeros((1, dim), dt)) for r in rows]).astype(dt)
                children.append(pa.FixedSizeListArray.from_arrays(pa.array(vals.reshape(-1)), dim))
            cols.append(pa.StructArray.from_arrays(children, fields=list(self.schema.field("pretrained_features").type)))
        return pa.Table.from_arrays(cols, schema=self.schema)

    def flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        if self.writer is None:
            self.temp = os.path.join(self.dir, f".train-{len(self.sealed):05d}.parquet.partial")
            self.writer = pq.ParquetWriter(
                self.temp, self.schema, compression=self.compression, use_dictionary=False,
                write_statistics=self.statistics)
            self.first_key = rows[0]["key"]
        self.writer.write_table(self._table(rows), row_group_size=ROW_GROUP_ROWS)
        self.last_key = rows[-1]["key"]

    def seal(self) -> None:
        self.flush()
        if self.writer is None:
            return
        self.writer.close()
        self.writer = None
        with open(self.temp, "rb") as f:
            sha = hashlib.file_digest(f, "sha256").hexdigest()
        self.sealed.append({"temp": self.temp, "rows": self.shard_rows, "bytes": os.path.getsize(self.temp),
                            "sha256": sha, "first_key": self.first_key, "last_key": self.last_key})
        self.shard_rows = self.shard_payload = 0

    def finish(self) -> list[dict]:
        self.seal()
        n = len(self.sealed)
        shards = []
        for i, s in enumerate(self.sealed):
            rel = f"data/train-{i:05d}-of-{n:05d}.parquet"
            os.replace(s.pop("temp"), os.path.join(os.path.dirname(self.dir), rel))
            shards.append({"path": rel, "format": "parquet", "split": "train", **s})
        return shards


def discover_models(src: str, key: str) -> dict[str, tuple[int, np.dtype]]:
    """Feature columns from the first sample's pickle (model -> (dim, dtype))."""
    folder, ext = FOLDERS["features"]
    path = os.path.join(src, folder, f"{key}.{ext}")
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as f:
        d = pickle.load(f)
    return {m: (int(np.asarray(a).shape[-1]), np.asarray(a).dtype) for m, a in d.items()}


def main() -> int:
    global DEEP
    ap = argparse.ArgumentParser(description="Python reference SFHQ -> Parquet converter (benchmark)")
    ap.add_argument("src", help="an SFHQ part folder (images/, segmentations/, landmarks/, pretrained_features/)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--shard-size", default="500MB")
    ap.add_argument("--deep", action="store_true", help="also decode every JPEG fully")
    ap.add_argument("--workers", type=int, default=1, help="processes for the per-sample work (default 1)")
    args = ap.parse_args()
    DEEP = args.deep
    started = time.time()

    image_dir = os.path.join(args.src, FOLDERS["image"][0])
    keys = sorted(name[:-4] for name in os.listdir(image_dir) if name.endswith(".jpg"))
    models = discover_models(args.src, keys[0]) if keys else {}
    os.makedirs(args.out, exist_ok=True)
    writer = ShardWriter(args.out, models, parse_size(args.shard_size))

    excluded, warnings, total_read = [], {}, 0
    jobs = ((args.src, k) for k in keys)
    pool = Pool(args.workers) if args.workers > 1 else None
    results = pool.imap(process, jobs, chunksize=4) if pool else map(process, jobs)
    for key, row, issues, nread in results:
        total_read += nread
        for i in issues:
            if i.get("severity") == "warning":
                warnings[i["code"]] = warnings.get(i["code"], 0) + 1
        if row is None:
            excluded.append({"key": key, "issues": issues})
        else:
            writer.write(row)
    if pool:
        pool.close()
        pool.join()
    shards = writer.finish()

    with open(os.path.join(args.out, "SHA256SUMS"), "w") as f:
        for s in shards:
            f.write(f"{s['sha256']}  {s['path']}\n")
    manifest = {
        "format_version": 1,
        "tool": {"name": "reference_convert.py", "version": "1"},
        "sources": [{"path": args.src, "kind": "folder", "bytes": total_read}],
        "options": {"shard_size": parse_size(args.shard_size), "row_group_rows": ROW_GROUP_ROWS,
                    "deep": DEEP, "workers": args.workers},
        "rows": sum(s["rows"] for s in shards),
        "splits": {"train": sum(s["rows"] for s in shards)},
        "shards": shards,
        "excluded": excluded,
        "warnings": warnings,
    }
    tmp = os.path.join(args.out, "manifest.json.partial")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, os.path.join(args.out, "manifest.json"))
    secs = time.time() - started
    print(f"reference: {manifest['rows']} rows, {len(excluded)} excluded, {len(shards)} shard(s), "
          f"{total_read / 1e6:.0f} MB read in {secs:.1f} s", file=sys.stderr)
    return 1 if excluded else 0


if __name__ == "__main__":
    sys.exit(main())
