#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/seeds/<target>/ (not committed:
fuzz/run.sh merges them into the minimised corpus in fuzz/corpus/<target>/).

    fuzz/make_seeds.py BINARY      BINARY: a built sfhq-pack (e.g. target/debug/sfhq-pack)

Seeds come from fixtures/ (pickles, landmark archives, maps, images, the zips) and from real
`convert` outputs: of the fixtures (shards of 30 KB and whole sets, both formats, splits, the
broken set), and of a mini SFHQ part made here with the standard library alone (8x8 PNG
images and maps, 110 landmarks as SFHQ has, 4-value features taken from fixtures/pickle_forms), whose
shards are a few KB, so that mutations reach the structure instead of the JPEG bytes.
Deterministic: SOURCE_DATE_EPOCH is fixed, and file names are the sha1 of the content
(libFuzzer's convention), so running it twice gives the same files.
"""

import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEEDS = ROOT / "fuzz" / "seeds"


def add(target, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def png(width, height, color_type, rows):
    """A PNG (8 bits per sample) from rows of bytes, filter 0."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\0" + bytes(r) for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def npy(descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (
        descr,
        "(%s)" % "".join("%d, " % d for d in shape).rstrip(" ") if len(shape) != 1 else "(%d,)" % shape[0],
    )
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def npz(arrays, deflated):
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in arrays:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return out.getvalue()


def mini_part(folder):
    """SFHQ_pt9: three 8x8 samples that pass every rule with --image-size 8 (the landmarks
    keep SFHQ's 110 points, the count the fuzz facade's manifest gives `extract`)."""
    forms = ["p4_np2_f32", "p2_np1_f16", "p5_np2_f16"]
    for i in range(1, 4):
        key = "SFHQ_pt9_%08d" % i
        for sub in ["images", "segmentations", "landmarks", "pretrained_features"]:
            (folder / sub).mkdir(parents=True, exist_ok=True)
        rgb = [[(x * 30 + i) % 256 for x in range(8) for _ in range(3)] for _ in range(8)]
        (folder / "images" / (key + ".png")).write_bytes(png(8, 8, 2, rgb))
        small = [[(x + y + i) % 19 for x in range(2)] for y in range(2)]
        labels = [[small[y // 4][x // 4] for x in range(8)] for y in range(8)]
        (folder / "segmentations" / (key + ".png")).write_bytes(png(8, 8, 0, labels))
        points = struct.pack("<220f", *[(n * 7 + i) % 9 for n in range(220)])
        (folder / "landmarks" / (key + ".npz")).write_bytes(
            npz([("landmarks", npy("<f4", (110, 2), points))], deflated=i == 2)
        )
        # The CLIP names have known lengths (768, 1024); a name of the same length keeps
        # the pickle's string and frame lengths right.
        pickle = (FIXTURES / "pickle_forms" / (forms[i - 1] + ".pickle")).read_bytes()
        assert b"CLIP_ViTL_14@336" in pickle
        pickle = pickle.replace(b"CLIP_ViTL_14@336", b"MINI_model_4@dim")
        (folder / "pretrained_features" / (key + ".pickle")).write_bytes(pickle)


def convert(binary, out, sources, *options):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1577836800")
    run = subprocess.run(
        [binary, "--quiet", "convert", *map(str, sources), "--out", str(out), *options],
        env=env,
        capture_output=True,
    )
    if run.returncode not in (0, 1) or not (out / "manifest.json").exists():
        sys.exit("convert %s failed: %s" % (out.name, run.stderr.decode()))


def add_output(out):
    add("manifest", (out / "manifest.json").read_bytes())
    for shard in sorted((out / "data").glob("*.parquet")):
        add("parquet_shard", shard.read_bytes())
    for shard in sorted((out / "webdataset").glob("*.tar")) if (out / "webdataset").exists() else []:
        data = shard.read_bytes()
        add("tar_shard", data)
        import tarfile

        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".npy"):
                    add("npy", tar.extractfile(member).read())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = Path(sys.argv[1]).resolve()
    shutil.rmtree(SEEDS, ignore_errors=True)

    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        data, suffix = path.read_bytes(), path.suffix.lower()
        if suffix in (".pickle", ".pkl"):
            add("pickle", data)
        elif suffix == ".npz":
            add("npz", data)
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    for info in z.infolist():
                        if info.file_size <= 1 << 16:  # not the zip bomb's 50 MB member
                            add("npy", z.read(info))
            except Exception:  # broken fixtures: not a zip, a zip bomb, a bad member
                pass
        elif suffix == ".png" and "segmentations" in path.parts:
            add("label_map", data)
        elif suffix in (".jpg", ".jpeg", ".png"):
            add("image_header", data)
        elif suffix == ".zip":
            add("zip_source", data)
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    name = info.filename.lower()
                    if info.is_dir() or "__macosx" in name:
                        continue
                    member = z.read(info)
                    if name.endswith(".pickle"):
                        add("pickle", member)
                    elif name.endswith(".npz"):
                        add("npz", member)
                    elif name.endswith(".png"):
                        add("label_map", member)
                    elif name.endswith((".jpg", ".jpeg")):
                        add("image_header", member)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mini = tmp / "SFHQ_pt9"
        mini_part(mini)
        for path in sorted(mini.rglob("*.png")):
            add("label_map" if "segmentations" in path.parts else "image_header", path.read_bytes())
        for path in sorted(mini.rglob("*.npz")):
            add("npz", path.read_bytes())
        # The mini part as a zip, Kaggle-style (nested folders, junk beside the data).
        listing = io.BytesIO()
        with zipfile.ZipFile(listing, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(mini.rglob("*")):
                if path.is_file():
                    rel = path.relative_to(mini)
                    info = zipfile.ZipInfo("%s/%s" % (rel.parts[0], rel), date_time=(2020, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_STORED if rel.suffix == ".png" else zipfile.ZIP_DEFLATED
                    z.writestr(info, path.read_bytes())
            z.writestr("__MACOSX/images/._SFHQ_pt9_00000001.png", b"junk")
            z.writestr("images/../../escape.png", b"x")
        add("zip_source", listing.getvalue())

        good = [FIXTURES / "good" / n for n in ("SFHQ_pt1", "SFHQ_pt2.zip", "SFHQ_pt4_no_features")]
        both = ["--format", "parquet,webdataset"]
        runs = {
            "mini": ([mini], both + ["--image-size", "8", "--shard-size", "1KB"]),
            "mini_whole": ([mini], both + ["--image-size", "8", "--row-group-rows", "2"]),
            "good_shards": (good, both + ["--shard-size", "30KB"]),
            "good_splits": (good, both + ["--split", "test=0.2,validation=0.1", "--row-group-rows", "3"]),
            "broken": ([FIXTURES / "broken" / "SFHQ_pt3"], both),
            "pt4_wds": ([FIXTURES / "good" / "SFHQ_pt4_no_features"], ["--format", "webdataset"]),
        }
        for name, (sources, options) in runs.items():
            out = tmp / name
            convert(binary, out, sources, *options)
            add_output(out)

    for target in sorted(os.listdir(SEEDS)):
        files = list((SEEDS / target).iterdir())
        print("%-14s %3d seeds, %7d bytes" % (target, len(files), sum(f.stat().st_size for f in files)))


if __name__ == "__main__":
    main()
