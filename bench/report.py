#!/usr/bin/env python3
"""Table and ratios of a bench/run.sh run.

usage: report.py RAW_TSV SAMPLES SOURCE_BYTES OUTPUT_BYTES NPROC SHARDS

RAW_TSV rows: name, cache, wall s, max RSS KB, user s, sys s, exit code, CPU s of other processes.
Medians over the runs of each (name, cache); peak RSS is the maximum over them. A run is
"quiet" when other processes used less than QUIET_SHARE (0.15) of a core on average during it;
the ratios use the median of the quiet runs of both sides when both have some, else of all runs.
"""

import os
import statistics
import sys
from collections import OrderedDict


def main() -> int:
    raw, n, src_bytes, out_bytes, nproc, shards = sys.argv[1:7]
    n, src_bytes, out_bytes, nproc, shards = int(n), int(src_bytes), int(out_bytes), int(nproc), int(shards)
    runs = OrderedDict()
    for line in open(raw):
        name, cache, wall, rss, user, sys_, rc, foreign = line.rstrip("\n").split("\t")
        runs.setdefault((name, cache), []).append(
            dict(wall=float(wall), rss=int(rss), cpu=float(user) + float(sys_), rc=int(rc), foreign=float(foreign)))

    quiet_share = float(os.environ.get("QUIET_SHARE", "0.15"))
    med = {}
    head = (f"{'measurement':<34} {'cache':<5} {'wall s':>7} {'min s':>7} {'quiet s':>8} {'samples/s':>9} {'MB/s':>7} "
            f"{'peak RSS MB':>11} {'CPU s':>6} {'cores':>5} {'others':>6} {'runs':>4} {'exit':>4}")
    print(head)
    print("-" * len(head))
    for (name, cache), rs in runs.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        rss = max(r["rss"] for r in rs) / 1024
        foreign = statistics.median(r["foreign"] / r["wall"] for r in rs)
        quiet = [r for r in rs if r["foreign"] / r["wall"] < quiet_share]
        qwall = statistics.median(r["wall"] for r in quiet) if quiet else None
        med[(name, cache)] = dict(wall=wall, cpu=cpu, rss=rss, min=min(r["wall"] for r in rs), quiet=qwall)
        nbytes = out_bytes if ("verify" in name or "of the shards" in name) else src_bytes
        rows = n if "of the shards" not in name else float("nan")
        best = qwall if qwall is not None else wall
        qtext = f"{qwall:.2f}/{len(quiet)}" if quiet else "-"
        print(f"{name:<34} {cache:<5} {wall:>7.2f} {min(r['wall'] for r in rs):>7.2f} {qtext:>8} {rows / best:>9.1f} "
              f"{nbytes / 1e6 / best:>7.1f} {rss:>11.1f} {cpu:>6.2f} {cpu / wall:>5.2f} {foreign:>6.2f} "
              f"{len(rs):>4} {','.join(sorted({str(r['rc']) for r in rs})):>4}")
    print()
    print("wall s: median over all runs; min s: fastest run; quiet s: median over the quiet runs / their number")
    print(f"(quiet: other processes used < {quiet_share} core during the run); samples/s and MB/s (source bytes, verify:")
    print("shard bytes) from the quiet median when there is one, else the median; CPU s: user+sys (median);")
    print("cores: CPU s / wall; others: CPU cores used by other processes during the run (median).")
    print()
    print(f"source: {n} samples, {src_bytes / 1e6:.1f} MB in {n * 4} files; sfhq-pack output: {shards} shard(s), {out_bytes / 1e6:.1f} MB")

    def ratio(a, b, key="wall"):
        if a not in med or b not in med:
            return float("nan")
        if key == "wall" and med[a]["quiet"] is not None and med[b]["quiet"] is not None:
            return med[a]["quiet"] / med[b]["quiet"]
        return med[a][key] / med[b][key]

    def wall(k):
        return med[k]["quiet"] if med[k]["quiet"] is not None else med[k]["wall"]

    conv = "sfhq-pack convert"
    py1 = "python reference (1 process)"
    floor = "floor: tar | openssl sha256"
    for cache in ("cold", "warm"):
        if (conv, cache) not in med:
            continue
        print(f"[{cache} cache]")
        print(f"  python reference / sfhq-pack convert        : {ratio((py1, cache), (conv, cache)):6.2f}x wall, "
              f"{ratio((py1, cache), (conv, cache), 'cpu'):5.2f}x CPU time   (target: >= 8x)")
        for (name, c) in med:
            if c == cache and name.startswith("python reference (") and name != py1:
                print(f"  {name} / sfhq-pack convert: {ratio((name, c), (conv, cache)):6.2f}x wall")
        if ("python reference --deep (1 process)", cache) in med:
            print(f"  python reference --deep / sfhq-pack --deep : "
                  f"{ratio(('python reference --deep (1 process)', cache), ('sfhq-pack convert --deep', cache)):6.2f}x wall")
        print(f"  sfhq-pack convert / floor                   : {ratio((conv, cache), (floor, cache)):6.2f}x wall   (target: <= 2x)")
        if ("sfhq-pack convert --deep", cache) in med:
            print(f"  sfhq-pack convert --deep / floor            : {ratio(('sfhq-pack convert --deep', cache), (floor, cache)):6.2f}x wall")
        print(f"  sfhq-pack convert, zip source / folder      : {ratio(('sfhq-pack convert (zip source)', cache), (conv, cache)):6.2f}x wall")
        print(f"  sfhq-pack convert, --threads 1 / default    : {ratio(('sfhq-pack convert --threads 1', cache), (conv, cache)):6.2f}x wall")
        print(f"  peak RSS of sfhq-pack convert               : {med[(conv, cache)]['rss']:6.1f} MB   (target: < 256 MB)")
        if ("sfhq-pack verify", cache) in med:
            v = med[("sfhq-pack verify", cache)]
            vw = wall(("sfhq-pack verify", cache))
            busy = min(nproc, shards)
            print(f"  verify: {out_bytes / 1e9 / vw:.2f} GB/s wall = {out_bytes / 1e9 / vw / busy:.2f} GB/s per busy core "
                  f"({shards} shard(s), {nproc} cores); {out_bytes / 1e9 / v['cpu']:.2f} GB/s per CPU-second   (target: >= 1 GB/s per core)")
        if ("openssl sha256 of the shards", cache) in med:
            o = wall(("openssl sha256 of the shards", cache))
            print(f"  openssl sha256 of the same shards (1 core)  : {out_bytes / 1e9 / o:.2f} GB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
