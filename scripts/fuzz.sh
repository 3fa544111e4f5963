#!/bin/sh
# Short fuzzing run over every cargo-fuzz target (libFuzzer), starting from
# the committed corpus in fuzz/corpus/TARGET. The time budget (default 60 s)
# is shared by all targets; building comes on top of it (a few minutes the
# first time). A crash, a panic, a hang (-timeout) or an allocation over
# -malloc_limit_mb fails the run and leaves the input in fuzz/artifacts/.
#
#   sh scripts/fuzz.sh            # 60 s in all
#   sh scripts/fuzz.sh 600        # longer, e.g. before a release
#
# cargo-fuzz needs nightly-only rustc flags (-Z sanitizer); on a stable
# toolchain RUSTC_BOOTSTRAP=1 allows them. The committed corpus is never
# changed: each target runs on a scratch copy.
set -eu
cd "$(dirname "$0")/.."
total=${1:-60}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

targets=$(cargo fuzz list)
n=$(echo "$targets" | wc -l)
# libFuzzer overruns each budget by about a second: keep the sum within it.
per=$(( (total - n) / n ))
[ "$per" -ge 1 ] || per=1

cargo fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
# The sqlite target writes each input to a file: keep those in the scratch.
export TMPDIR="$scratch"
status=0
for t in $targets; do
    mkdir -p "$scratch/$t"
    if [ -d "fuzz/corpus/$t" ]; then
        cp -R "fuzz/corpus/$t/." "$scratch/$t/"
    fi
    echo "== fuzz $t for ${per}s"
    if cargo fuzz run "$t" "$scratch/$t" -- \
        -max_total_time="$per" -max_len=65536 -timeout=5 \
        -rss_limit_mb=1024 -malloc_limit_mb=256 -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1; then
        grep -E '^Done|stat::number_of_executed_units|stat::peak_rss_mb' "$scratch/$t.log" || true
    else
        status=1
        tail -40 "$scratch/$t.log"
        echo "fuzz target $t FAILED; the input is in fuzz/artifacts/$t/"
    fi
done
exit $status
