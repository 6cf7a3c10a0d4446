#!/usr/bin/env bash
# The benchmark of issue 14: `sfhq-pack convert --resolution 256|512` against the Python way
# (OpenCV and PIL, multiprocessing on all cores, pyarrow Parquet) on the same samples.
#
#   bench/resolution/run.sh [N]      default 1500 samples, the generator and seed of bench/run.sh
#
# Timed (warm page cache, REPEAT rounds, medians), for each resolution:
#   ours          sfhq-pack convert SRC --resolution R            (DCT-scaled decode, JPEG q95 4:4:4, default threads)
#   ours-box      the same with --image-filter box                (full decode, mean of each k x k block)
#   opencv        reference.py --backend opencv                   (imdecode, INTER_AREA, imencode q95, 4:2:0)
#   opencv-444    the same with IMWRITE_JPEG_SAMPLING_FACTOR_444  (the chroma sfhq-pack keeps)
#   pil           reference.py --backend pil                      (Image.reduce, save q95, 4:2:0)
# and once: the decode floors, `reference.py --decode-only` (cv2.imdecode of every image, all
# cores) and `sfhq-pack validate --deep` (strict full decode plus every check, no writing).
# Then quality.py: mean PSNR of each output against the float area-downscale of the decoded
# source, and the maps against the source sampled every k pixels.
#
# Environment: BENCH_DIR (default /tmp/sfhq-res-bench; sources are generated once and reused),
# SFHQ_PACK (binary to measure; default: cargo build --release of the work tree), REPEAT
# (default 3), SEED (default 5), RESOLUTIONS (default "256 512").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/sfhq-res-bench}"
REPEAT="${REPEAT:-3}"
SEED="${SEED:-5}"
N="${1:-1500}"
RESOLUTIONS="${RESOLUTIONS:-256 512}"
NPROC="$(nproc)"
VENV="$HERE/.venv"
PY="$VENV/bin/python"

log() { printf '== %s\n' "$*" >&2; }

if [[ ! -x "$PY" ]] || ! cmp -s "$HERE/requirements.txt" "$VENV/.requirements"; then
  log "creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/.requirements"
fi
if [[ ! -x /usr/bin/time ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

if [[ -n "${SFHQ_PACK:-}" ]]; then
  BIN="$SFHQ_PACK"
else
  log "cargo build --release"
  (cd "$REPO" && cargo build --release --quiet)
  BIN="$REPO/target/release/sfhq-pack"
fi

mkdir -p "$BENCH_DIR"
SRC="$BENCH_DIR/src-$N-s$SEED"
if [[ ! -f "$SRC/.complete" ]]; then
  log "generating $N samples into $SRC"
  "$PY" "$REPO/bench/gen_dataset.py" --samples "$N" --seed "$SEED" --out "$SRC"
  touch "$SRC/.complete"
fi

RAW="$BENCH_DIR/times.tsv"
: >"$RAW"

# timed NAME OUT CMD...: one run under /usr/bin/time, warm cache; appends name, wall s, max RSS KB,
# CPU s (user + system, children included): on a shared machine the CPU seconds compare better.
timed() {
  local name="$1" out="$2" tf
  shift 2
  rm -rf "$out"
  find "$SRC" -type f -exec cat {} + >/dev/null
  sync
  tf="$(mktemp)"
  /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >/dev/null 2>"$BENCH_DIR/last.stderr" || {
    log "$name failed"; tail -5 "$BENCH_DIR/last.stderr" >&2; exit 1; }
  read -r wall rss user sys <"$tf"
  rm -f "$tf"
  cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u + s}')"
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$rss" "$cpu" >>"$RAW"
  log "$(printf '%-22s %7.2f s wall %7.2f s CPU %5d MB RSS  (load %s)' "$name" "$wall" "$cpu" $((rss / 1024)) "$(cut -d' ' -f1 /proc/loadavg)")"
}

log "machine: $NPROC cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
REF="$HERE/reference.py"
for round in $(seq "$REPEAT"); do
  log "round $round of $REPEAT"
  for r in $RESOLUTIONS; do
    timed "ours $r" "$BENCH_DIR/ours-$r" "$BIN" convert -q "$SRC" --out "$BENCH_DIR/ours-$r" --resolution "$r"
    timed "ours-box $r" "$BENCH_DIR/oursbox-$r" "$BIN" convert -q "$SRC" --out "$BENCH_DIR/oursbox-$r" --resolution "$r" --image-filter box
    timed "opencv $r" "$BENCH_DIR/opencv-$r" "$PY" "$REF" "$SRC" --out "$BENCH_DIR/opencv-$r" --resolution "$r" --workers "$NPROC"
    timed "opencv-444 $r" "$BENCH_DIR/opencv444-$r" "$PY" "$REF" "$SRC" --out "$BENCH_DIR/opencv444-$r" --resolution "$r" --chroma 444 --workers "$NPROC"
    timed "pil $r" "$BENCH_DIR/pil-$r" "$PY" "$REF" "$SRC" --out "$BENCH_DIR/pil-$r" --backend pil --resolution "$r" --workers "$NPROC"
  done
  timed "floor cv2.imdecode" "$BENCH_DIR/floor" "$PY" "$REF" "$SRC" --out "$BENCH_DIR/floor" --decode-only --workers "$NPROC"
  timed "floor validate --deep" "$BENCH_DIR/floor" "$BIN" validate -q "$SRC" --deep
done

echo
echo "## $N samples, $NPROC cores, median of $REPEAT (warm cache); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s (median) | samples/s | CPU s (median) | peak RSS MB |"
echo "|---|---:|---:|---:|---:|"
sort -t$'\t' -k1,1 -s "$RAW" | awk -F'\t' -v n="$N" '
  function median(list,   a, c, i, j, t) {
    c = split(substr(list, 2), a, " ")
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
  }
  { w[$1] = w[$1] " " $2; cpu[$1] = cpu[$1] " " $4; if ($3 > m[$1]) m[$1] = $3; order[$1] = 1 }
  END {
    for (k in order) {
      med = median(w[k])
      printf "| %s | %.2f | %.0f | %.2f | %d |\n", k, med, n / med, median(cpu[k]), m[k] / 1024
    }
  }' | sort
echo
for r in $RESOLUTIONS; do
  echo "### quality at $r (PSNR against the float area-downscale of the decoded source, every 5th image; maps against source[::k, ::k], all)"
  "$PY" "$HERE/quality.py" "$SRC" --resolution "$r" \
    "ours=$BENCH_DIR/ours-$r" "ours-box=$BENCH_DIR/oursbox-$r" "opencv=$BENCH_DIR/opencv-$r" "opencv-444=$BENCH_DIR/opencv444-$r" "pil=$BENCH_DIR/pil-$r"
done
