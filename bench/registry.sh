#!/bin/sh
# Benchmark of the registry commands (SPEC §7), against Debian's tools on
# the same machine in the same run. Not a test: it prints numbers.
#
#   bench/registry.sh [PATH-TO-uwsgi-apps]   (default: target/release/uwsgi-apps,
#                                             built with cargo build --release)
#
# 1. One enable plus one disable from a shell loop: uwsgi-enapp/uwsgi-disapp
#    against a2ensite/a2dissite (Debian's apache2 package), and the floor of
#    the same loop running `ln -s` + `rm` (two process starts that do the
#    bare system calls).
# 2. `uwsgi-apps list` over 10,000 available apps (half of them enabled,
#    with markers): wall time (hyperfine) and peak memory (/usr/bin/time -v).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/uwsgi-apps}
[ -x "$bin" ] || { echo "no binary at $bin: run cargo build --release" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
ROUNDS=${ROUNDS:-300}
APACHE_ROUNDS=${APACHE_ROUNDS:-50}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

mkdir -p "$work/bin"
for applet in uwsgi-apps uwsgi-enapp uwsgi-disapp uwsgi-query; do
    ln -s "$bin" "$work/bin/$applet"
done

now_ns() { date +%s%N; }

# Average milliseconds per iteration of "$@" run $1 times.
per_round() {
    rounds=$1; shift
    start=$(now_ns)
    i=0
    while [ "$i" -lt "$rounds" ]; do
        "$@"
        i=$((i + 1))
    done
    end=$(now_ns)
    echo "$start $end $rounds" | awk '{ printf "%.3f", ($2 - $1) / $3 / 1e6 }'
}

# --- 1. enable + disable ------------------------------------------------
root=$work/uwsgi
mkdir -p "$root/etc/uwsgi/apps-available" "$root/etc/uwsgi/apps-enabled"
echo '[uwsgi]' > "$root/etc/uwsgi/apps-available/hello.ini"
export UWSGI_APPS_ROOT="$root"

ours() { "$work/bin/uwsgi-enapp" -q hello; "$work/bin/uwsgi-disapp" -q hello; }

apache=$work/apache
mkdir -p "$apache/etc/apache2/sites-available" "$apache/etc/apache2/sites-enabled"
echo '# site' > "$apache/etc/apache2/sites-available/hello.conf"
theirs() {
    APACHE_CONFDIR=$apache/etc/apache2 APACHE_STATE_DIRECTORY=$apache/var/lib/apache2 \
        a2ensite -q hello >/dev/null
    APACHE_CONFDIR=$apache/etc/apache2 APACHE_STATE_DIRECTORY=$apache/var/lib/apache2 \
        a2dissite -q hello >/dev/null
}

floor() {
    ln -s ../apps-available/hello.ini "$root/etc/uwsgi/apps-enabled/hello.ini"
    rm "$root/etc/uwsgi/apps-enabled/hello.ini"
}

# Warm up the page cache and check that each really works.
ours; theirs; floor
ours_ms=$(per_round "$ROUNDS" ours)
floor_ms=$(per_round "$ROUNDS" floor)
if command -v a2ensite >/dev/null 2>&1; then
    theirs_ms=$(per_round "$APACHE_ROUNDS" theirs)
else
    theirs_ms=
fi

echo "enable + disable, one pair per loop iteration (ms per pair):"
echo "  uwsgi-enapp + uwsgi-disapp : $ours_ms  ($ROUNDS rounds)"
if [ -n "$theirs_ms" ]; then
    echo "  a2ensite + a2dissite       : $theirs_ms  ($APACHE_ROUNDS rounds)"
    echo "$theirs_ms $ours_ms" | awk '{ printf "  speed-up                   : %.1fx (target >= 15x)\n", $1 / $2 }'
else
    echo "  a2ensite + a2dissite       : not installed (apt-get install apache2)"
fi
echo "  ln -s + rm (floor)         : $floor_ms  ($ROUNDS rounds)"
echo "$ours_ms $floor_ms" | awk '{ printf "  ours / floor               : %.2fx\n", $1 / $2 }'

# --- 2. list over 10,000 apps -------------------------------------------
big=$work/big
N=${N:-10000}
mkdir -p "$big/etc/uwsgi/apps-available" "$big/etc/uwsgi/apps-enabled" \
    "$big/var/lib/uwsgi/app/enabled_by_admin" "$big/var/lib/uwsgi/app/disabled_by_maint"
(
    cd "$big/etc/uwsgi"
    i=0
    while [ "$i" -lt "$N" ]; do
        echo '[uwsgi]' > "apps-available/app$i.ini"
        if [ $((i % 2)) -eq 0 ]; then
            ln -s "../apps-available/app$i.ini" "apps-enabled/app$i.ini"
            : > "$big/var/lib/uwsgi/app/enabled_by_admin/app$i"
        else
            : > "$big/var/lib/uwsgi/app/disabled_by_maint/app$i"
        fi
        i=$((i + 1))
    done
)
export UWSGI_APPS_ROOT="$big"
lines=$("$work/bin/uwsgi-apps" list | wc -l)
echo
echo "uwsgi-apps list over $N available apps ($lines lines):"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 3 --runs 30 --style basic \
        "$work/bin/uwsgi-apps list" "$work/bin/uwsgi-apps list --json" 2>&1 |
        grep -E 'Benchmark|Time \(mean'
fi
for args in "list" "list --json"; do
    # shellcheck disable=SC2086
    /usr/bin/time -v "$work/bin/uwsgi-apps" $args 2>"$work/time.txt" >/dev/null
    awk -v what="$args" -F': ' '/Maximum resident set size/ { printf "  peak memory (%s): %.1f MB (target < 16 MB)\n", what, $2 / 1024 }' "$work/time.txt"
done
