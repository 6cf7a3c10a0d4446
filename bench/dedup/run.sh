#!/usr/bin/env bash
# The benchmark of issue 12: `sfhq-pack dedup` against numpy (blocked float32 a @ b.T) and
# faiss-cpu (IndexFlatIP.range_search), on the same vectors in the same run.
#
#   bench/dedup/run.sh [N...]     default: 10000 20000 50000 100000
#
# For each N: generates N samples (float16 768-d clustered vectors in feature pickles, tiny
# PNGs), converts them once with sfhq-pack (not timed), then times, under /usr/bin/time -v,
#   ours    sfhq-pack dedup CONVERTED_DIR --json  (reads the Parquet feature column)
#   numpy   bench/dedup/ref_numpy.py  (vectors from a .npy file)
#   faiss   bench/dedup/ref_faiss.py  (vectors from a .npy file)
# checks that the three pair sets are identical, and prints wall time, peak RSS and the bytes
# sfhq-pack read against the bytes of the shards. Last, the projection for 425,258 vectors.
#
# Environment: BENCH_DIR (default /tmp/sfhq-dedup-bench; generated data is reused),
# SFHQ_PACK (a binary to measure instead of building target/release/sfhq-pack), RAW=1 (also
# time `dedup` on the raw part: pickles + image hashes), THRESHOLD (default 0.92), BENCH_NICE
# (niceness of the measured commands, default -20), PROJECTION=0 (skip the projection check).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/sfhq-dedup-bench}"
THRESHOLD="${THRESHOLD:-0.92}"
VENV="$HERE/.venv"
PY="$VENV/bin/python"
SIZES=("$@")
# Measured commands run at this niceness: -20 (as root) keeps background work on a shared
# machine from taking CPU time from them; BENCH_NICE=0 runs them as usual.
BENCH_NICE="${BENCH_NICE:--20}"
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(10000 20000 50000 100000)

log() { printf '== %s\n' "$*" >&2; }

if [[ ! -x "$PY" ]] || ! cmp -s "$HERE/requirements.txt" "$VENV/.requirements"; then
  log "creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/.requirements"
fi
if [[ -z "${SFHQ_PACK:-}" ]]; then
  log "cargo build --release"
  (cd "$REPO" && cargo build --release --quiet)
  SFHQ_PACK="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/sfhq-pack"
fi
mkdir -p "$BENCH_DIR"

# measure NAME OUT_PREFIX CMD...: wall seconds and peak RSS (MB) into OUT_PREFIX.time
measure() {
  local name="$1" prefix="$2"
  shift 2
  sync
  nice -n "$BENCH_NICE" /usr/bin/time -v -o "$prefix.time" "$@" >"$prefix.stdout" 2>"$prefix.stderr" || {
    local rc=$?
    # dedup exits 1 when it finds pairs: that is success here
    if [[ $name != ours* || $rc -ne 1 ]]; then
      log "$name failed (exit $rc)"; cat "$prefix.stderr" >&2; exit 1
    fi
  }
}

field() { # field FILE "Maximum resident set size (kbytes)"
  sed -n "s/^[[:space:]]*$2: //p" "$1"
}

wall() { # elapsed (h:mm:ss or m:ss.ss) -> seconds
  field "$1" "Elapsed (wall clock) time (h:mm:ss or m:ss)" | awk -F: '{ s=0; for (i=1;i<=NF;i++) s=s*60+$i; printf "%.2f", s }'
}

rss_mb() { echo "$(( $(field "$1" "Maximum resident set size (kbytes)") / 1024 ))"; }

echo "machine: $(nproc) cores (vCPUs), $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(free -g | awk '/^Mem:/{print $2}') GiB; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "measured at nice $BENCH_NICE; other processes running: $(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 {print $2}' | tr '\n' ' ')"
echo "sfhq-pack: $SFHQ_PACK; numpy $("$PY" -c 'import numpy; print(numpy.__version__)'), faiss $("$PY" -c 'import faiss; print(faiss.__version__)'), threshold $THRESHOLD"
echo
printf '| vectors | float16 MB | ours s | ours RSS MB | numpy s | numpy RSS MB | faiss s | faiss RSS MB | pairs | same pairs | ours read / shards MB |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n'
last_n=0
last_search=0
last_load=0
for n in "${SIZES[@]}"; do
  dir="$BENCH_DIR/n$n"
  if [[ ! -f "$dir/keys.json" ]]; then
    log "generating $n samples in $dir"
    rm -rf "$dir"
    "$PY" "$HERE/gen.py" "$n" "$dir"
  fi
  if [[ ! -f "$dir/conv/manifest.json" ]]; then
    log "converting $n samples (not timed)"
    rm -rf "$dir/conv"
    "$SFHQ_PACK" convert "$dir/SFHQ_pt1" --out "$dir/conv" --image-size 8 --quiet
  fi
  log "n=$n: sfhq-pack dedup"
  measure ours "$dir/ours" "$SFHQ_PACK" dedup "$dir/conv" --json --threshold "$THRESHOLD"
  if [[ "${RAW:-0}" == 1 ]]; then
    log "n=$n: sfhq-pack dedup (raw part)"
    measure ours-raw "$dir/ours-raw" "$SFHQ_PACK" dedup "$dir/SFHQ_pt1" --json --threshold "$THRESHOLD"
  fi
  log "n=$n: numpy"
  measure numpy "$dir/numpy" "$PY" "$HERE/ref_numpy.py" "$dir/vectors.npy" "$dir/keys.json" "$THRESHOLD" "$dir/numpy.json"
  log "n=$n: faiss"
  measure faiss "$dir/faiss" "$PY" "$HERE/ref_faiss.py" "$dir/vectors.npy" "$dir/keys.json" "$THRESHOLD" "$dir/faiss.json"
  same="$("$PY" - "$dir" <<'PYEOF'
import json, sys
d = sys.argv[1]
ours = {(p["a"], p["b"]) for p in json.load(open(f"{d}/ours.stdout"))["pairs"]}
out = []
for name in ("numpy", "faiss"):
    other = {(a, b) for a, b, _ in json.load(open(f"{d}/{name}.json"))}
    out.append("yes" if other == ours else f"NO ({name}: {len(other ^ ours)} differ)")
print(len(ours), " / ".join(out) if len(set(out)) > 1 or out[0] != "yes" else "yes (numpy, faiss)")
PYEOF
)"
  read -r pairs same_text <<<"$same"
  # "read 100000 samples (12.3 MB read, of 45.6 MB of Parquet shards) in 0.3 s; ... compared ... in 41.2 s"
  summary="$(grep '^read ' "$dir/ours.stderr" || true)"
  read_mb="$(sed -n 's/.*(\([0-9.]* [kMG]*B\) read, of \([0-9.]* [kMG]*B\) of Parquet shards).*/\1 of \2/p' <<<"$summary")"
  last_load="$(sed -n 's/.* in \([0-9.]*\) s; .*/\1/p' <<<"$summary")"
  last_search="$(sed -n 's/.*pairs in \([0-9.]*\) s .*/\1/p' <<<"$summary")"
  last_n=$n
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$n" "$(( n * 768 * 2 / 1000000 ))" \
    "$(wall "$dir/ours.time")" "$(rss_mb "$dir/ours.time")" \
    "$(wall "$dir/numpy.time")" "$(rss_mb "$dir/numpy.time")" \
    "$(wall "$dir/faiss.time")" "$(rss_mb "$dir/faiss.time")" \
    "$pairs" "$same_text" "$read_mb"
  if [[ "${RAW:-0}" == 1 ]]; then
    echo "|  raw part: $(wall "$dir/ours-raw.time") s, $(rss_mb "$dir/ours-raw.time") MB |"
  fi
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $last_n -gt 0 && -n "$last_search" ]]; then
  "$PY" - "$last_n" "$last_search" "$last_load" <<'PYEOF'
import sys
n, search, load = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3] or 0)
full = 425258
f = (full * (full - 1)) / (n * (n - 1))
print(f"projection for {full:,} vectors from n={n:,}: search {search:.1f} s x {f:.2f} (pairs) = {search * f / 60:.1f} min, "
      f"plus reading {load:.1f} s x {full / n:.2f} = {load * full / n:.0f} s; vectors {full * 768 * 2 / 1e6:.0f} MB in float16")
PYEOF
fi
if [[ "${PROJECTION:-1}" == 1 ]]; then
  # Does dedup on a converted folder read only the feature column? Shards whose pictures are
  # of realistic size (noise JPEGs of about 300 kB): bytes read against the shards' size, and
  # the time against reading every column with pyarrow.
  dir="$BENCH_DIR/projection"
  if [[ ! -f "$dir/conv/manifest.json" ]]; then
    log "projection check: generating and converting 2000 samples with 512x512 images"
    rm -rf "$dir"
    "$PY" "$HERE/gen.py" 2000 "$dir" --image-px 512
    "$SFHQ_PACK" convert "$dir/SFHQ_pt1" --out "$dir/conv" --image-size 512 --quiet
  fi
  measure ours "$dir/ours" "$SFHQ_PACK" dedup "$dir/conv" --json --threshold "$THRESHOLD"
  measure all "$dir/all" "$PY" -c 'import sys, pyarrow.parquet as pq; [pq.read_table(p) for p in sys.argv[1:]]' "$dir"/conv/data/*.parquet
  echo "projection (2000 samples, warm page cache): $(grep '^read ' "$dir/ours.stderr" | sed -n 's/.*(\(.*\)) in \([0-9.]*\) s;.*/dedup read \1 in \2 s/p'); dedup wall $(wall "$dir/ours.time") s, $(rss_mb "$dir/ours.time") MB; pyarrow reading every column: $(wall "$dir/all.time") s, $(rss_mb "$dir/all.time") MB"
fi
