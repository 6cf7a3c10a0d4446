#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the other, then
# minimises each corpus, and says which target found what.
#
#   fuzz/run.sh SECONDS [TARGET...]      e.g. fuzz/run.sh 600, fuzz/run.sh 60 tar_shard
#
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`). One job at a time, niced, so
# that it can run beside other work on a small machine. A target stops at its first
# finding; the input is saved as fuzz/artifacts/<target>/{crash,oom,timeout,leak}-<sha1>.
# Reproduce one with `cargo +nightly fuzz run <target> <file>`, then follow "A finding"
# in fuzz/README.md. Each run adds a line to fuzz/artifacts/runs.tsv (target, seconds,
# executions, findings). Seeds: fuzz/seeds/<target>/ when present (fuzz/make_seeds.py);
# dictionaries: fuzz/dicts/<target>.dict when present.
set -uo pipefail

fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz"

seconds="${1:-}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
    echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2
    exit 2
fi
shift
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

export CARGO_INCREMENTAL=0
# One core for the build too, like the fuzzing itself (override with CARGO_BUILD_JOBS).
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# The facade writes shards and zips to a scratch folder per call: keep that in memory.
if [[ -z "${TMPDIR:-}" && -d /dev/shm ]]; then
    export TMPDIR=/dev/shm
fi

echo "==> building ${#targets[@]} target(s) (nightly, debug assertions and overflow checks on)"
nice -n 19 cargo +nightly fuzz build --debug-assertions || exit 2

# Longest input per target: room for a few samples of the mini seeds (fuzz/make_seeds.py)
# and whole fixture files, while keeping the corpus small and every execution fast.
max_len() {
    case "$1" in
        image_header | npy | npz) echo 4096 ;;
        pickle | label_map | manifest | zip_source) echo 8192 ;;
        parquet_shard) echo 12288 ;;
        *) echo 16384 ;;
    esac
}
binary() { echo "$fuzz/target/x86_64-unknown-linux-gnu/release/$1"; }

mkdir -p artifacts
summary=()
status=0
for target in "${targets[@]}"; do
    corpus="corpus/$target"
    mkdir -p "$corpus" "artifacts/$target" "artifacts/$target/logs"
    extra=()
    [[ -d "seeds/$target" ]] && extra+=("seeds/$target")
    dict=()
    [[ -f "dicts/$target.dict" ]] && dict+=("-dict=$fuzz/dicts/$target.dict")
    before="$(ls "artifacts/$target" | grep -cE '^(crash|oom|timeout|leak|slow-unit)-')"
    log="artifacts/$target/logs/$(date +%Y%m%dT%H%M%S).log"
    echo "==> $target: ${seconds}s (log: fuzz/$log)"
    # -jobs=1 -workers=1: one fuzzing process; libFuzzer writes its output to fuzz-0.log
    # in the working folder, hence the subshell in the log folder.
    started=$(date +%s)
    (
        cd "artifacts/$target/logs" &&
            nice -n 19 cargo +nightly fuzz run --fuzz-dir "$fuzz" --debug-assertions "$target" \
                "$fuzz/$corpus" "${extra[@]/#/$fuzz/}" -- \
                -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -max_len="$(max_len "$target")" "${dict[@]}" -jobs=1 -workers=1 -print_final_stats=1 \
                -artifact_prefix="$fuzz/artifacts/$target/" >/dev/null 2>&1
        mv fuzz-0.log "$fuzz/$log" 2>/dev/null
    )
    execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)"
    # Wall-clock seconds of the run (libFuzzer prints its own count only when no finding
    # stopped it).
    secs=$(($(date +%s) - started))
    after="$(ls "artifacts/$target" | grep -cE '^(crash|oom|timeout|leak|slow-unit)-')"
    found=$((after - before))
    if [[ $found -gt 0 ]]; then
        status=1
        what="FOUND $found: $(ls -t "artifacts/$target" | grep -E '^(crash|oom|timeout|leak|slow-unit)-' | head -n "$found" | tr '\n' ' ')"
        grep -m1 -E "panicked at|ERROR: libFuzzer|==ERROR" "$log" | sed 's/^/    /'
    else
        what="nothing found"
    fi
    printf '%s\t%s\t%s\t%s\n' "$target" "${secs:-?}" "${execs:-?}" "$found" >>artifacts/runs.tsv
    echo "    ${secs:-?}s, ${execs:-?} executions, corpus $(ls "$corpus" | wc -l) files: $what"
    summary+=("$(printf '%-14s %6ss %10s execs  %s' "$target" "${secs:-?}" "${execs:-?}" "$what")")

    # Keep the committed corpus small: the inputs of the corpus and the seeds that reach
    # new code (edges, not hit counts: -use_counters=0), cut to the target's max_len.
    # `cargo fuzz cmin` does the same without the seeds.
    rm -rf "$corpus.new" && mkdir -p "$corpus.new"
    if (cd "artifacts/$target/logs" && nice -n 19 "$(binary "$target")" -merge=1 \
        -max_len="$(max_len "$target")" -use_counters=0 -timeout=10 -rss_limit_mb=2048 \
        "$fuzz/$corpus.new" "$fuzz/$corpus" "${extra[@]/#/$fuzz/}" >cmin.log 2>&1); then
        rm -rf "$corpus" && mv "$corpus.new" "$corpus"
        echo "    minimised: $(ls "$corpus" | wc -l) files, $(du -s --apparent-size --block-size=1K "$corpus" | cut -f1) KB"
    else
        rm -rf "$corpus.new"
        echo "    minimising failed: see fuzz/artifacts/$target/logs/cmin.log"
    fi
done

echo
echo "==> summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
