#!/usr/bin/env python3
"""Run a command and sample its resident memory over time (for the memory-scaling target).

usage: rss_trace.py [--every SECONDS] [--watch DIR] -- CMD...

Prints one line per sample: seconds, VmRSS MB, VmHWM (peak so far) MB, and, with --watch, the
number of files under DIR (for example the shards written so far), so that growth can be tied
to what the program was doing (a steady climb, or a step at each shard).
"""

import argparse
import os
import subprocess
import sys
import time


def status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0]) / 1024
    except OSError:
        pass
    return out


def count(d: str) -> int:
    n = 0
    for _, _, files in os.walk(d):
        n += len(files)
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--watch")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    t0 = time.time()
    p = subprocess.Popen(cmd)
    print(f"{'s':>6} {'RSS MB':>8} {'anon MB':>8} {'peak MB':>8}" + (f" {'files':>6}" if a.watch else ""))
    while p.poll() is None:
        s = status(p.pid)
        if s:
            line = f"{time.time() - t0:>6.1f} {s.get('VmRSS', 0):>8.1f} {s.get('RssAnon', 0):>8.1f} {s.get('VmHWM', 0):>8.1f}"
            if a.watch:
                line += f" {count(a.watch) if os.path.isdir(a.watch) else 0:>6}"
            print(line, flush=True)
        time.sleep(a.every)
    print(f"exit {p.returncode} after {time.time() - t0:.1f} s")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
