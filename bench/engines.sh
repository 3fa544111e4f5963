#!/bin/sh
# Benchmark of the three engines (SPEC §7): start and stop of N apps under
# the daemon engine, the Emperor engine and the systemd engine (a real
# systemd in its own namespaces, the package's units, `systemctl start
# uwsgi.service`), beside Debian's own /etc/init.d/uwsgi starting the same
# number of apps, in the same run. Not a test: it prints numbers and ratios.
#
#   bench/engines.sh
#
# Environment:
#   N=50        apps started and stopped by each
#   RUNS=3      runs of each engine (medians shown; the engines take turns)
#   ENGINES="daemon emperor systemd"
#   SKIP_DEBIAN=1  leave out Debian's script (its start takes ~10 s at N=50)
#
# Needs, as root: cargo, uwsgi-core, uwsgi-plugin-python3, systemd (for the
# systemd engine; skipped with a note where it cannot boot), and what
# bench/service.sh needs for Debian's side. See bench/README.md.
set -eu

N=${N:-50}
RUNS=${RUNS:-3}
ENGINES=${ENGINES:-daemon emperor systemd}
SKIP_DEBIAN=${SKIP_DEBIAN:-0}

die() {
    echo "bench/engines.sh: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (uWSGI drops to www-data; systemd runs in namespaces)"
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/bench-engines.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "building the release test binary..." >&2
cargo test --release --test bench_engines --no-run >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; die "cargo could not build tests/bench_engines.rs"; }

# Debian's script starting N apps with one worker each, as the engines'
# apps have: the time until every instance is ready (it returns before its
# apps are loaded, so its return is no end point), from bench/service.sh.
debian_run() {
    DEBIAN_ONLY=1 SKIP_DEBIAN_STOP=1 SCALE='' N="$N" WORKERS=1 FLOOR_RUNS=1 \
        bench/service.sh >"$work/debian.$1.log" 2>&1 ||
        { tail -20 "$work/debian.$1.log" >&2; die "bench/service.sh failed (above)"; }
    start=$(awk -v n="$N" '
        index($0, "start " n " (until every instance is ready)") == 1 {
            for (i = 1; i <= NF; i++) if ($(i + 1) == "s") { print $i; exit }
        }' "$work/debian.$1.log")
    [ -n "$start" ] || { cat "$work/debian.$1.log" >&2; die "no start figure in Debian's run (above)"; }
    echo "$start" >>"$work/debian"
}

# Debian's script and the engines take turns, run after run, so that a
# disturbance of the machine falls on all of them alike (Debian's start
# varies most: 6.9-9.5 s for 50 from one run to the next).
run=1
while [ "$run" -le "$RUNS" ]; do
    if [ "$SKIP_DEBIAN" != 1 ]; then
        echo "run $run/$RUNS: Debian's script: start of $N..." >&2
        debian_run "$run"
    fi
    for engine in $ENGINES; do
        echo "run $run/$RUNS: $engine engine, N=$N..." >&2
        N="$N" cargo test --release --test bench_engines -- --ignored --nocapture \
            --test-threads=1 --exact "bench_${engine}_engine" >"$work/$engine.$run.log" 2>&1 ||
            { tail -30 "$work/$engine.$run.log" >&2; die "the $engine engine's run failed (above)"; }
        grep '^bench-row ' "$work/$engine.$run.log" >>"$work/rows" || true
    done
    run=$((run + 1))
done

echo
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ); N=$N, medians of $RUNS runs"
echo "apps: a WSGI hello, one worker, Debian's default.ini (paths moved); start = until every app is ready"
echo
printf '%-8s %10s %14s %10s %10s %14s\n' engine "start $N" "Debian/ours" "stop $N" "stop 1" "stop $N/stop 1"
debian_start=
if [ -s "$work/debian" ]; then
    debian_start=$(sort -g "$work/debian" | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    printf '%-8s %8.2f s %14s %10s %10s %14s\n' Debian "$debian_start" "1.0x" "(see below)" "" ""
    printf '         every run: start%s\n' "$(awk '{ printf " %.2f", $1 }' "$work/debian")"
fi
for engine in $ENGINES; do
    if ! grep -q "^bench-row $engine " "$work/rows" 2>/dev/null; then
        printf '%-8s %s\n' "$engine" "not measured here (see $engine's log: no systemd that can boot?)"
        continue
    fi
    grep "^bench-row $engine " "$work/rows" | awk -v deb="$debian_start" '
        function median(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        { k++; start[k] = $4; stop[k] = $5; one[k] = $6; ratio[k] = $5 / $6; e = $2 }
        END {
            s = median(start, k)
            printf "%-8s %8.2f s %14s %8.2f s %8.2f s %13.2fx\n", e, s,
                deb == "" ? "" : sprintf("%.1fx", deb / s), median(stop, k), median(one, k), median(ratio, k)
            printf "         every run: start"; for (i = 1; i <= k; i++) printf " %.2f", start[i]
            printf "; stop %d/1", $3; for (i = 1; i <= k; i++) printf " %.2f/%.2f", stop[i], one[i]
            printf "\n"
        }'
done
echo
echo "targets: start >= 3x faster than Debian's script; stop $N <= 1.5x the stop of 1 (Debian's stop of 50: ~142 s, bench/service.sh)"
echo "reproduce: N=$N RUNS=$RUNS ENGINES=\"$ENGINES\" bench/engines.sh"
