#!/bin/bash
# Benchmark of the init.d front end (SPEC §7), against Debian's own
# /etc/init.d/uwsgi on the same machine, in the same run, on the same tree.
# Not a test: it prints numbers and ratios.
#
#   bench/service.sh [PATH-TO-uwsgi-apps]
#       default binary: target/release/uwsgi-apps (cargo build --release)
#
# Environment:
#   N=50           instances started and stopped by both scripts
#   BIG=1000       enabled apps (none running) for the status/stop timing
#   DEB_DIR=DIR    the `uwsgi` .deb already unpacked (dpkg-deb -x); without
#                  it, `apt-get download uwsgi` fetches it into the work dir
#   SKIP_DEBIAN=1  measure only uwsgi-apps (Debian's stop of 50 takes minutes)
#
# Debian's script is run from a copy whose paths point into a temporary
# root (bench/debian-initd.sh); nothing under the real /etc, /run or /var is
# touched. Every app is Debian's default setup (master, 2 workers, a Unix
# socket in its runtime dir) serving a one-line WSGI app, as www-data.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/uwsgi-apps}
[ -x "$bin" ] || { echo "no binary at $bin: run cargo build --release" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
N=${N:-50}
BIG=${BIG:-1000}

work=$(mktemp -d /tmp/uwsgi-apps-bench.XXXXXX)
chmod 755 "$work"
root=$work/root

# Kill, by PID, every uWSGI process that was started for this root (its
# command line names the root), then remove everything.
cleanup() {
    for pid in $(pgrep -f -- "--ini $root/" || true); do
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

make_root() { # ROOT COUNT
    local r=$1 count=$2 i
    mkdir -p "$r/etc/uwsgi/apps-available" "$r/etc/uwsgi/apps-enabled" \
        "$r/usr/share/uwsgi/conf" "$r/etc/default" "$r/srv"
    chmod -R 755 "$r"
    cat >"$r/usr/share/uwsgi/conf/default.ini" <<EOF
[uwsgi]
declare-option = deb-confnamespace=\$1
declare-option = deb-confname=\$1
plugins = python3
master = true
workers = 2
no-orphans = true
pidfile = $r/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/pid
socket = $r/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/socket
chown-socket = www-data
chmod-socket = 660
log-date = true
uid = www-data
gid = www-data
EOF
    printf 'VERBOSE=yes\nPRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=no\nINHERITED_CONFIG=/usr/share/uwsgi/conf/default.ini\n' \
        >"$r/etc/default/uwsgi"
    printf 'def application(env, start_response):\n    start_response("200 OK", [])\n    return [b"hi"]\n' \
        >"$r/srv/app.py"
    chmod 644 "$r/srv/app.py" "$r/usr/share/uwsgi/conf/default.ini"
    i=1
    while [ "$i" -le "$count" ]; do
        printf '[uwsgi]\nwsgi-file = %s/srv/app.py\nneed-app = true\n' "$r" \
            >"$r/etc/uwsgi/apps-available/app$i.ini"
        ln -s "../apps-available/app$i.ini" "$r/etc/uwsgi/apps-enabled/app$i.ini"
        i=$((i + 1))
    done
}

# Seconds (3 decimals) that "$@" takes; its output is discarded.
seconds() {
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    e=$(date +%s%N)
    echo "scale=3; ($e - $s) / 1000000000" | bc
}

# Peak resident memory in KiB of "$@".
peak_kib() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

running() { # ROOT: masters alive according to their pidfiles
    local n=0 p
    for f in "$1"/run/uwsgi/app/*/pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ] && n=$((n + 1))
    done
    echo "$n"
}

ratio() { echo "scale=1; $1 / $2" | bc; }

ours() { "$bin" --root "$root" "$@"; }

echo "uwsgi-apps service benchmark: N=$N instances, BIG=$BIG enabled apps, $(nproc) CPUs"
echo "binary: $bin"
make_root "$root" "$N"

# uWSGI's own time to stop one instance: the floor for stopping many.
ours start app1 >/dev/null
one_stop=$(seconds ours stop app1)
echo "uWSGI stops one instance in:        ${one_stop} s (uwsgi-apps stop app1)"

if [ "${SKIP_DEBIAN:-0}" != 1 ]; then
    deb_script=$("$here/bench/debian-initd.sh" "$root" "$work/debian" "${DEB_DIR:-}")
    deb_start=$(seconds bash "$deb_script" start)
    deb_running=$(running "$root")
    deb_stop=$(seconds bash "$deb_script" stop)
    echo "Debian  start $N: ${deb_start} s ($deb_running running)   stop $N: ${deb_stop} s ($(running "$root") left)"
fi

our_start=$(seconds ours initd start)
our_running=$(running "$root")
our_stop=$(seconds ours initd stop)
echo "uwsgi-apps start $N: ${our_start} s ($our_running running)   stop $N: ${our_stop} s ($(running "$root") left)"

# Peak memory of a start and a stop of all N.
start_kib=$(peak_kib "$bin" --root "$root" initd start)
stop_kib=$(peak_kib "$bin" --root "$root" initd stop)

# status and stop over BIG enabled apps of which none runs.
big=$work/big
make_root "$big" "$BIG"
big_status=$(seconds "$bin" --root "$big" initd status)
big_stop=$(seconds "$bin" --root "$big" initd stop)
big_kib=$(peak_kib "$bin" --root "$big" initd status)

echo
echo "| measure | uwsgi-apps | Debian | ratio | target |"
echo "|---|---|---|---|---|"
if [ "${SKIP_DEBIAN:-0}" != 1 ]; then
    echo "| start $N | ${our_start} s | ${deb_start} s | $(ratio "$deb_start" "$our_start")x faster | >= 3x |"
    echo "| stop $N | ${our_stop} s | ${deb_stop} s | $(ratio "$deb_stop" "$our_stop")x faster | |"
fi
echo "| stop $N / stop 1 | $(ratio "$our_stop" "$one_stop") | | | <= 1.5 |"
echo "| status, $BIG enabled, none running | ${big_status} s | | | < 0.1 s |"
echo "| stop, $BIG enabled, none running | ${big_stop} s | | | < 0.1 s |"
echo "| peak memory: start $N / stop $N / status $BIG | ${start_kib} / ${stop_kib} / ${big_kib} KiB | | | < 16384 KiB |"
