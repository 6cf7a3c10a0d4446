#!/usr/bin/env bash
# The benchmark of issue 5: sfhq-pack against the Python way and against the floor.
#
#   bench/run.sh [N]             generate N samples (default 1500) and time everything on them
#   bench/run.sh --scaling       peak RSS of `sfhq-pack convert` at 1500 and at 12000 samples
#   bench/run.sh --profile [N]   perf profile of `sfhq-pack convert` (default N 300), by stage
#
# Environment:
#   BENCH_DIR    scratch folder for sources and outputs (default /tmp/sfhq-bench); generated
#                sources are kept there and reused by later runs with the same N and seed
#   SFHQ_PACK    measure this binary instead of building one
#   SFHQ_REV     build this git revision (git archive into BENCH_DIR) instead of the work tree
#   REPEAT       rounds; every measurement runs once per round, medians are reported (default 3)
#   PY_WORKERS   also time the Python reference with this many processes (default nproc; 0 skips)
#   PY_DEEP=1    also time the Python reference with --deep (full JPEG decode)
#   QUIET_WAIT   seconds to wait before each run for other processes to go quiet (default 20)
#   BENCH_NICE   niceness of the measured commands (default -20 as root: background load on a
#                shared machine then takes little CPU from them; set 0 to run them as usual)
#   PROFILE_ARGS extra convert arguments for --profile (e.g. --deep), PROFILE_SRC=zip for the zip
#   ONLY         regex on "CACHE NAME": run only the matching measurements (e.g. 'warm .*convert$')
#   APPEND=1     add the runs to the previous ones of the same N instead of starting afresh
#   SEED         dataset seed (default 5)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/sfhq-bench}"
REPEAT="${REPEAT:-3}"
SEED="${SEED:-5}"
NPROC="$(nproc)"
PY_WORKERS="${PY_WORKERS:-$NPROC}"
PY_DEEP="${PY_DEEP:-0}"
VENV="$HERE/.venv"
PY="$VENV/bin/python"

MODE=main
N=1500
case "${1:-}" in
  --scaling) MODE=scaling ;;
  --profile) MODE=profile; N="${2:-300}" ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  "") ;;
  *) N="$1" ;;
esac

log() { printf '== %s\n' "$*" >&2; }

machine_info() {
  local model sha
  model="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
  sha="$(grep -o -m1 sha_ni /proc/cpuinfo | head -1 || true)"
  echo "machine: nproc=$NPROC; cpu: $model; SHA-NI: ${sha:-no}; memory: $(free -g | awk '/^Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "priority of measured commands: ${PRIO[*]:-as usual}"
  echo "kernel: $(uname -r); disk for $BENCH_DIR: $(df -h "$BENCH_DIR" | awk 'NR==2{print $4" free of "$2" ("$1")"}')"
}

setup_venv() {
  local stamp="$VENV/.requirements"
  if [[ ! -x "$PY" ]] || ! cmp -s "$HERE/requirements.txt" "$stamp"; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$stamp"
  fi
}

setup_time() {
  if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time missing: installing Debian package 'time'"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  fi
}

# Builds the binary to measure. The work tree is used when it compiles; when it does not (other
# engineers editing), or when SFHQ_REV names a git revision, that revision (default HEAD) is
# exported with `git archive` into $BENCH_DIR and built there, with a target dir of its own
# seeded from target/release so that only sfhq-pack itself recompiles.
build_rev() {
  local rev="$1" snap
  snap="$BENCH_DIR/snapshot-$(cd "$REPO" && git rev-parse --short "$rev")"
  log "building git revision $rev in $snap"
  rm -rf "$snap/src"
  mkdir -p "$snap/src"
  (cd "$REPO" && git archive "$rev") | tar -x -C "$snap/src"
  if [[ ! -d "$snap/target/release" && -d "$REPO/target/release/deps" ]]; then
    mkdir -p "$snap/target/release"
    cp -a "$REPO/target/release/deps" "$REPO/target/release/build" "$REPO/target/release/.fingerprint" "$snap/target/release/"
  fi
  (cd "$snap/src" && CARGO_TARGET_DIR="$snap/target" cargo build --release --quiet)
  BIN="$snap/target/release/sfhq-pack"
  GIT_REV="$(cd "$REPO" && git rev-parse --short "$rev") (git archive)"
}

build() {
  if [[ -n "${SFHQ_PACK:-}" ]]; then
    BIN="$SFHQ_PACK"
    GIT_REV="binary given by SFHQ_PACK"
  elif [[ -n "${SFHQ_REV:-}" ]]; then
    build_rev "$SFHQ_REV"
  else
    log "cargo build --release (work tree)"
    if (cd "$REPO" && cargo build --release --quiet); then
      BIN="$REPO/target/release/sfhq-pack"
      GIT_REV="$(cd "$REPO" && git rev-parse --short HEAD)"
      if [[ -n "$(cd "$REPO" && git status --porcelain -- src Cargo.toml Cargo.lock)" ]]; then
        GIT_REV="$GIT_REV + uncommitted changes in src/"
      fi
    else
      log "the work tree does not compile: measuring HEAD instead"
      build_rev HEAD
    fi
  fi
  BIN_VERSION="$("$BIN" --version 2>/dev/null || echo '?')"
}

# gen N [yes|no] [UNIQUE] -> sets SRC (folder), ZIP, SRC_BYTES, SRC_FILES. With UNIQUE, only
# that many distinct samples are generated (seeded from the UNIQUE-sample source when it
# exists) and the others are byte copies of them under their own keys.
gen() {
  local n="$1" zip="${2:-yes}" unique="${3:-}"
  SRC="$BENCH_DIR/src-$n-s$SEED${unique:+-u$unique}"
  ZIP="$SRC.zip"
  if [[ ! -f "$SRC/.complete" ]]; then
    rm -rf "$ZIP"
    log "generating $n samples into $SRC${unique:+ ($unique distinct)}"
    if [[ -n "$unique" && -f "$BENCH_DIR/src-$unique-s$SEED/.complete" && ! -d "$SRC" ]]; then
      cp -r "$BENCH_DIR/src-$unique-s$SEED" "$SRC"
      rm -f "$SRC/.complete"
    fi
    "$PY" "$HERE/gen_dataset.py" --samples "$n" --seed "$SEED" --out "$SRC" ${unique:+--unique "$unique"}
    touch "$SRC/.complete"
  fi
  if [[ "$zip" == yes && ! -f "$ZIP" ]]; then
    log "writing $ZIP"
    "$PY" "$HERE/gen_dataset.py" --samples "$n" --seed "$SEED" --out "$SRC" --zip "$ZIP" --zip-only
  fi
  SRC_BYTES="$(find "$SRC" -type f ! -name .complete -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}')"
  SRC_FILES="$(find "$SRC" -type f ! -name .complete | wc -l)"
}

drop_caches() {
  sync
  { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null
}

# CPU jiffies busy on the whole machine (all processes), from /proc/stat.
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# Waits (up to QUIET_WAIT seconds) until the machine is idle enough: other sessions may share
# these cores, and a benchmark under a foreign load measures that load.
wait_quiet() {
  local waited=0 a b busy limit="${QUIET_WAIT:-20}"
  while :; do
    a="$(busy_jiffies)"; sleep 1; b="$(busy_jiffies)"
    busy=$((b - a))   # jiffies (1/100 s) in 1 s over all cores: percent of one core
    if (( busy <= ${QUIET_BUSY:-30} )); then return 0; fi
    if (( waited >= limit )); then
      log "machine still busy (others use $busy% of one core) after ${waited}s: measuring anyway"
      return 0
    fi
    sleep 4; waited=$((waited + 5))
  done
}

# run_one CACHE NAME WARM_INPUTS CMD: one timed run under /usr/bin/time -v, appended to $RAW as
# name, cache, wall s, max RSS KB, user s, sys s, exit code, CPU seconds used by other processes.
run_one() {
  local cache="$1" name="$2" inputs="$3" cmd="$4" tf rc=0 wall rss user sys a b foreign
  rm -rf "$OUT"
  # The previous run's output must not be written back to disk during this one.
  sync
  if [[ "$cache" == cold ]]; then
    drop_caches || cache="warm (drop refused)"
  else
    # shellcheck disable=SC2086
    find $inputs -type f -exec cat {} + >/dev/null
  fi
  wait_quiet
  tf="$(mktemp)"
  a="$(busy_jiffies)"
  "${PRIO[@]}" /usr/bin/time -v -o "$tf" bash -c "$cmd" >"$BENCH_DIR/last.stdout" 2>"$BENCH_DIR/last.stderr" || rc=$?
  b="$(busy_jiffies)"
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$tf")"
  rss="$(awk -F': ' '/Maximum resident set size/{print $2}' "$tf")"
  user="$(awk -F': ' '/User time/{print $2}' "$tf")"
  sys="$(awk -F': ' '/System time/{print $2}' "$tf")"
  rm -f "$tf"
  foreign="$(awk -v b=$((b - a)) -v u="$user" -v s="$sys" 'BEGIN{f=b/100-u-s; if(f<0)f=0; printf "%.2f", f}')"
  if [[ $rc -ne 0 ]]; then log "$name: exit code $rc"; tail -5 "$BENCH_DIR/last.stderr" >&2; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$cache" "$wall" "$rss" "$user" "$sys" "$rc" "$foreign" >>"$RAW"
  log "$(printf '%-34s %-5s %7.2fs wall %5d MB RSS  cpu %6.2fs  others %5.2f CPU-s  exit %s' \
    "$name" "$cache" "$wall" $((rss / 1024)) "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$foreign" "$rc")"
}

mkdir -p "$BENCH_DIR"
setup_venv
setup_time

CACHE=warm
if drop_caches; then CACHE=cold; fi

# Measured commands run at a high priority when allowed, so that other sessions' builds on a
# shared machine disturb them less (CPU: nice; disk: best-effort class, highest level).
BENCH_NICE="${BENCH_NICE:--20}"
PRIO=()
if [[ "$BENCH_NICE" != 0 ]] && nice -n "$BENCH_NICE" true 2>/dev/null && [[ "$(nice -n "$BENCH_NICE" nice)" == "$BENCH_NICE" ]]; then
  PRIO=(nice -n "$BENCH_NICE" ionice -c 2 -n 0)
fi

case "$MODE" in
main)
  machine_info
  build
  echo "sfhq-pack: $BIN_VERSION (git $GIT_REV); python: $("$PY" -c 'import sys,numpy,PIL,pyarrow;print(sys.version.split()[0], "numpy", numpy.__version__, "pillow", PIL.__version__, "pyarrow", pyarrow.__version__)')"
  gen "$N"
  ZIP_BYTES="$(stat -c %s "$ZIP")"
  echo "source: $SRC ($SRC_FILES files, $SRC_BYTES bytes); zip: $ZIP ($ZIP_BYTES bytes)"
  if [[ "$CACHE" == cold ]]; then
    echo "page cache: 'cold' runs drop it first (sync; echo 3 > /proc/sys/vm/drop_caches), 'warm' runs read their inputs first"
  else
    echo "page cache: dropping it is refused here, so 'cold' runs are in fact warm (marked 'warm (drop refused)')"
  fi
  OUT="$BENCH_DIR/out-$N"
  KEEP="$BENCH_DIR/out-$N.keep"
  rm -rf "$KEEP"; "$BIN" convert "$SRC" --out "$KEEP" -q
  OUT_BYTES="$(find "$KEEP/data" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}')"
  SHARDS="$(find "$KEEP/data" -name '*.parquet' | wc -l)"
  RAW="$BENCH_DIR/raw-$N.tsv"
  [[ "${APPEND:-0}" == 1 ]] || : >"$RAW"
  REF="'$PY' '$HERE/reference_convert.py'"
  # cache | name | inputs to pre-read for warm runs | command (the last field may hold '|')
  SPECS=(
    "cold|floor: tar | openssl sha256|$SRC|tar -cf - -C '$SRC' . | openssl dgst -sha256"
    "warm|floor: tar | openssl sha256|$SRC|tar -cf - -C '$SRC' . | openssl dgst -sha256"
    "cold|sfhq-pack convert|$SRC|'$BIN' convert '$SRC' --out '$OUT' -q"
    "warm|sfhq-pack convert|$SRC|'$BIN' convert '$SRC' --out '$OUT' -q"
    "cold|sfhq-pack convert --threads 1|$SRC|'$BIN' convert '$SRC' --out '$OUT' -q --threads 1"
    "warm|sfhq-pack convert --threads 1|$SRC|'$BIN' convert '$SRC' --out '$OUT' -q --threads 1"
    "cold|sfhq-pack convert --deep|$SRC|'$BIN' convert '$SRC' --out '$OUT' -q --deep"
    "cold|sfhq-pack convert (zip source)|$ZIP|'$BIN' convert '$ZIP' --out '$OUT' -q"
    "warm|sfhq-pack convert (zip source)|$ZIP|'$BIN' convert '$ZIP' --out '$OUT' -q"
    "cold|sfhq-pack verify|$KEEP|'$BIN' verify '$KEEP' -q"
    "warm|sfhq-pack verify|$KEEP|'$BIN' verify '$KEEP' -q"
    "warm|openssl sha256 of the shards|$KEEP|openssl dgst -sha256 '$KEEP'/data/*.parquet"
    "cold|python reference (1 process)|$SRC|$REF '$SRC' --out '$OUT'"
    "warm|python reference (1 process)|$SRC|$REF '$SRC' --out '$OUT'"
  )
  if [[ "$PY_WORKERS" -gt 1 ]]; then
    SPECS+=("cold|python reference ($PY_WORKERS processes)|$SRC|$REF '$SRC' --out '$OUT' --workers $PY_WORKERS")
  fi
  if [[ "$PY_DEEP" == 1 ]]; then
    SPECS+=("cold|python reference --deep (1 process)|$SRC|$REF '$SRC' --out '$OUT' --deep")
  fi
  # Round-robin: every measurement once per round, so that a burst of foreign load is spread
  # over all of them rather than hitting the repeats of one.
  for ((round = 1; round <= REPEAT; round++)); do
    log "round $round/$REPEAT"
    for spec in "${SPECS[@]}"; do
      IFS='|' read -r cache name inputs _ <<<"$spec"
      # The floor's name holds a '|' of its own: split on the known fields.
      case "$name" in "floor: tar ") name="floor: tar | openssl sha256";; esac
      rest="${spec#"$cache|$name|"}"
      inputs="${rest%%|*}"
      cmd="${rest#*|}"
      if [[ -n "${ONLY:-}" ]] && ! [[ "$cache $name" =~ $ONLY ]]; then continue; fi
      run_one "$cache" "$name" "$inputs" "$cmd"
    done
  done
  rm -rf "$OUT"
  echo
  "$PY" "$HERE/report.py" "$RAW" "$N" "$SRC_BYTES" "$OUT_BYTES" "$NPROC" "$SHARDS" | tee "$BENCH_DIR/table-$N.txt"
  echo "(raw runs: $RAW; table: $BENCH_DIR/table-$N.txt; sfhq-pack output kept in $KEEP)"
  ;;

scaling)
  machine_info
  build
  echo "sfhq-pack: $BIN_VERSION (git $GIT_REV)"
  SMALL=1500; LARGE=12000
  # ~330 KB per sample of source plus about the same of output, for both sizes, plus 10%.
  NEED_KB=$(( (SMALL + LARGE) * 330 * 2 * 11 / 10 ))
  AVAIL_KB="$(df -Pk "$BENCH_DIR" | awk 'NR==2{print $4}')"
  echo "disk: the scaling run needs about $((NEED_KB / 1024 / 1024)) GB in $BENCH_DIR; $((AVAIL_KB / 1024 / 1024)) GB free"
  if [[ "$AVAIL_KB" -lt "$NEED_KB" ]]; then
    echo "INSUFFICIENT DISK for the scaling run: set BENCH_DIR to a folder with more room"; exit 1
  fi
  RAW="$BENCH_DIR/raw-scaling.tsv"; : >"$RAW"
  for n in "$SMALL" "$LARGE"; do
    # The large source repeats the small one's samples under new keys (generating 12000 distinct
    # JPEGs takes long on 2 cores, and the bytes are what a converter's memory depends on).
    if [[ "$n" == "$SMALL" ]]; then gen "$n" no; else gen "$n" no "$SMALL"; fi
    echo "source $n: $SRC ($SRC_BYTES bytes)"
    OUT="$BENCH_DIR/out-scaling-$n"
    for ((round = 1; round <= ${SCALING_REPEAT:-2}; round++)); do
      run_one "$CACHE" "convert $n" "$SRC" "'$BIN' convert '$SRC' --out '$OUT' -q"
    done
    # The last run's output is still there.
    echo "output $n: $(find "$OUT/data" -name '*.parquet' | wc -l) shard(s), $(du -sb "$OUT" | cut -f1) bytes"
    rm -rf "$OUT"
  done
  "$PY" - "$RAW" "$SMALL" "$LARGE" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
small, large = f"convert {sys.argv[2]}", f"convert {sys.argv[3]}"
print(f"{'run':<16} {'cache':<6} {'wall s':>8} {'samples/s':>10} {'peak RSS MB':>12} {'CPU s':>7}")
peak = {}
for name, cache, wall, rss, user, sys_, rc, foreign in rows:
    n = int(name.split()[1])
    peak[name] = max(peak.get(name, 0), int(rss))
    print(f"{name:<16} {cache:<6} {float(wall):>8.2f} {n / float(wall):>10.1f} {int(rss) / 1024:>12.1f} {float(user) + float(sys_):>7.2f}")
a, b = peak[small], peak[large]
print(f"peak RSS (max over runs): {a / 1024:.1f} MB at {sys.argv[2]}, {b / 1024:.1f} MB at {sys.argv[3]} samples: "
      f"{100 * (b - a) / a:+.1f}%   (targets: < 256 MB, within 10%)")
EOF
  ;;

profile)
  machine_info
  build
  echo "sfhq-pack: $BIN_VERSION (git $GIT_REV)"
  command -v perf >/dev/null || { log "installing linux-perf"; apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
  gen "$N" "$([[ "${PROFILE_SRC:-}" == zip ]] && echo yes || echo no)"
  INPUT="$SRC"; [[ "${PROFILE_SRC:-}" == zip ]] && INPUT="$ZIP"
  OUT="$BENCH_DIR/out-profile-$N"
  rm -rf "$OUT"
  find "$SRC" -type f -exec cat {} + >/dev/null
  [[ "$INPUT" == "$ZIP" ]] && cat "$ZIP" >/dev/null
  TAG="$N${PROFILE_SRC:+-$PROFILE_SRC}$(echo "${PROFILE_ARGS:-}" | tr -d ' -')"
  PERF_DATA="$BENCH_DIR/perf-$TAG.data"
  wait_quiet
  log "perf record (cpu-clock, DWARF call graphs) of: sfhq-pack convert $INPUT ${PROFILE_ARGS:-}"
  # shellcheck disable=SC2086
  "${PRIO[@]}" perf record -q -e cpu-clock -F 999 --call-graph dwarf,32768 -o "$PERF_DATA" \
    "$BIN" convert "$INPUT" --out "$OUT" -q ${PROFILE_ARGS:-} 2>/dev/null
  perf report -i "$PERF_DATA" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | head -30 >"$BENCH_DIR/perf-top-$TAG.txt" || true
  perf script -i "$PERF_DATA" -F comm,tid,ip,sym 2>/dev/null >"$BENCH_DIR/perf-script-$TAG.txt"
  echo "top symbols by self time (all threads):"
  cat "$BENCH_DIR/perf-top-$TAG.txt"
  echo
  "$PY" "$HERE/perf_stages.py" "$BENCH_DIR/perf-script-$TAG.txt"
  rm -rf "$OUT" "$BENCH_DIR/perf-script-$TAG.txt"
  ;;
esac
