#!/usr/bin/env python3
"""Group `perf script -F comm,tid,ip,sym` call stacks of `sfhq-pack convert` into stages.

Each sample is assigned to the first stage whose pattern matches a frame, walking from the
leaf towards the root; generic frames (memcpy, page faults, malloc) match nothing, so their
time goes to the stage that called them (a page fault while the PNG decoder fills its
buffer counts as PNG decode). Usage: perf_stages.py PERF_SCRIPT_OUTPUT
"""

import collections
import re
import sys

# (stage, regex on a frame), tried in order for each frame from the leaf up.
RULES = [
    ("hashing", r"sha2::|sha256_hex|Sha256"),
    ("segmentation checks: 4x4 blocks, max label", r"segmentation::Summarizer|segmentation::pure_tiles|segmentation::constant_runs|pure_block_share|max_label|LabelMap"),
    ("PNG decode (segmentation)", r"png::|fdeflate|decode_label_map|miniz_oxide|zune_inflate"),
    ("JPEG decode (--deep)", r"jpeg|zune_|decode_fully"),
    ("landmarks npz + features pickle decode", r"decode::npy|decode::pickle|decode::array|py_literal|pest::|check_landmarks|check_features|ndarray_npy"),
    ("Parquet encode (arrow + parquet + snappy)", r"parquet::|arrow_|arrow::|snap::|zstd|record_batch|fixed_list_column|blob_column"),
    ("write (syscalls, page cache)", r"ksys_write|vfs_write|__x64_sys_write|BufWriter|sync_all|fsync|__x64_sys_fsync"),
    ("read (open, syscalls, copy)", r"ksys_read|vfs_read|__x64_sys_read|__x64_sys_pread|read_to_end|Source>::read|source::Source::read|read_member|zip::read|__x64_sys_openat|do_sys_open|Inventory>::read|inventory::Inventory::read"),
    ("image header check", r"read_header|check_image"),
    ("listing and inventory", r"walkdir|folder::list|Inventory::build|inventory_without_duplicates|schema::discover"),
    ("freeing buffers", r"drop_in_place|_int_free|__munmap|cfree|__x64_sys_munmap"),
    ("thread startup / exit, loader", r"_dl_|clone3|do_exit|exit_mm|copy_process|execve"),
]
COMPILED = [(stage, re.compile(p)) for stage, p in RULES]


def stacks(path):
    frames, header = [], None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if header is not None:
                    yield header, frames
                frames, header = [], None
            elif line[0] in " \t":
                parts = line.strip().split(None, 1)
                frames.append(parts[1] if len(parts) > 1 else parts[0])
            else:
                header = line.strip()
    if header is not None:
        yield header, frames


def classify(frames):
    for frame in frames:
        for stage, rx in COMPILED:
            if rx.search(frame):
                if stage == "hashing":
                    # The shard's hash is taken in the writer; every other hash is of source bytes.
                    if any("HashingWriter" in f or "hash_file" in f for f in frames):
                        return "hashing: shard sha256 (in the writer / verify)"
                    return "hashing: sha256 of source files"
                return stage
    return None


def main():
    counts = collections.Counter()
    other_leaf = collections.Counter()
    total = 0
    for _, frames in stacks(sys.argv[1]):
        total += 1
        stage = classify(frames)
        if stage is None:
            stage = "other"
            other_leaf[frames[0] if frames else "?"] += 1
        counts[stage] += 1
    if not total:
        print("no samples")
        return 1
    print(f"CPU time by stage ({total} samples of cpu-clock over all threads):")
    for stage, n in counts.most_common():
        print(f"  {100 * n / total:5.1f}%  {stage}")
    if other_leaf:
        print("  'other' leaves: " + ", ".join(f"{s[:60]} ({100 * n / total:.1f}%)" for s, n in other_leaf.most_common(6)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
