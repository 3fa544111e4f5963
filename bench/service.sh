#!/bin/bash
# Benchmark of the init.d front end (SPEC §4, §7) against Debian's own
# /etc/init.d/uwsgi (package `uwsgi`), on the same machine in the same run.
# Not a test: it prints numbers. See bench/README.md for what it measures.
#
#   bench/service.sh [PATH-TO-uwsgi-apps]   (default: target/release/uwsgi-apps,
#                                            built with cargo build --release)
#
# Environment:
#   N=50                 instances started and stopped by each front end
#   BIG=1000             enabled apps (none running) for `status` and `stop`
#   WORKERS=2            uWSGI workers per instance (Debian's default.ini says 2)
#   RUNS=10              runs of each `status`/`stop` over BIG apps (median shown)
#   FLOOR_RUNS=5         runs of the floor (uWSGI alone stopping one; median)
#   SETTLE=1             seconds every instance runs before it is stopped (see
#                        settle below)
#   SKIP_DEBIAN_STOP=1   skip Debian's stop of N (~2.8 s per instance); its
#                        instances are then killed before ours start
#   DIE_ON_TERM=1        give every app `die-on-term = true` (Debian's SIGQUIT
#                        then reloads the app instead of stopping it: expect
#                        Debian's stop to take 30+5 s per instance)
#   DEBIAN_ONLY=1        measure only Debian's side (no uwsgi-apps needed)
#   KEEP=1               keep the work directory (logs) for inspection
#   SCALE="50 100 200 500"  N of the start at scale (section d; empty: skip
#                        it); an N without memory for it is skipped
#   SCALE_RUNS=3         runs of each start at scale (median shown)
#   SCALE_WORKERS=1      uWSGI workers per instance at scale
#   SCALE_DEBIAN_N=50    the N at which Debian's script starts too
#   SCALE_ONLY=1         only the start at scale (sections a-c skipped)
#   SCALE_CMD="initd start"  our command at scale (say, "start --jobs 500")
#   QUIET_BUSY=25        before each start at scale, wait until the CPUs were
#   QUIET_WAIT=120         at most this % busy for a second (at most this
#                          many seconds; then the figure is marked `!`)
#   SCALE_NOISE=50       a start at scale during which other work took more
#   SCALE_TRIES=2          than this % of the CPUs is done again, this many
#                          times at most (the least disturbed one counts)
#
# Needs, as root: uwsgi-core, uwsgi-plugin-python3, dpkg (start-stop-daemon),
# sysvinit-utils (/lib/lsb/init-functions, /lib/init/vars.sh), time
# (/usr/bin/time), and apt-get able to download the `uwsgi` package.
#
# How Debian's script is run without touching the real /etc and /run: the
# script and its three sourced files are extracted from the `uwsgi` .deb and
# these strings, and only these, are rewritten with sed to point into the
# benchmark's root $DEB (see rewrite_debian below); the check after it fails
# if the package grows a hard-coded path that was not rewritten:
#   /etc/uwsgi                 -> $DEB/etc/uwsgi            (UWSGI_CONFDIR)
#   /run/uwsgi                 -> $DEB/run/uwsgi            (UWSGI_RUNDIR)
#   /etc/default/${NAME}       -> $DEB/etc/default/${NAME}  (settings file)
#   /usr/share/uwsgi/          -> $DEB/usr/share/uwsgi/     (init snippets,
#                                   INHERITED_CONFIG in the settings file)
#   /var/log/uwsgi/            -> $DEB/var/log/uwsgi/       (--daemonize log)
# Left as they are: DAEMON=/usr/bin/uwsgi, PATH, /lib/init/vars.sh,
# /lib/lsb/init-functions, /usr/bin/sqlite3 (read only, or not reached),
# SCRIPTNAME=/etc/init.d/${NAME} (only printed in the usage message).
# Nothing else in its logic changes.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME must use '.' as its decimal point
unset UWSGI_APPS_ROOT UWSGI_APPS_DAEMON NOTIFY_SOCKET

N=${N:-50}
BIG=${BIG:-1000}
WORKERS=${WORKERS:-2}
RUNS=${RUNS:-10}
FLOOR_RUNS=${FLOOR_RUNS:-5}
SKIP_DEBIAN_STOP=${SKIP_DEBIAN_STOP:-0}
SETTLE=${SETTLE:-1}
DIE_ON_TERM=${DIE_ON_TERM:-0}
DEBIAN_ONLY=${DEBIAN_ONLY:-0}
KEEP=${KEEP:-0}
SCALE=${SCALE-50 100 200 500}
SCALE_RUNS=${SCALE_RUNS:-3}
SCALE_WORKERS=${SCALE_WORKERS:-1}
SCALE_DEBIAN_N=${SCALE_DEBIAN_N:-50}
SCALE_ONLY=${SCALE_ONLY:-0}
SCALE_CMD=${SCALE_CMD:-initd start}
QUIET_BUSY=${QUIET_BUSY:-25}
QUIET_WAIT=${QUIET_WAIT:-120}
SCALE_NOISE=${SCALE_NOISE:-50}
SCALE_TRIES=${SCALE_TRIES:-2}
hz=$(getconf CLK_TCK) # the unit of /proc/stat and /proc/PID/stat
scale_user=www-data # what Debian's default.ini says

die() {
    echo "bench/service.sh: $*" >&2
    exit 1
}
note() { echo "# $*" >&2; }

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/uwsgi-apps}
if [ "$DEBIAN_ONLY" != 1 ]; then
    [ -x "$bin" ] || die "no binary at $bin: run cargo build --release"
    bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
fi

[ "$(id -u)" = 0 ] || die "run as root (Debian's script and start-stop-daemon need it)"
daemon=/usr/bin/uwsgi
[ -x "$daemon" ] || die "no $daemon: apt-get install uwsgi-core uwsgi-plugin-python3"
uwsgi_exe=$(readlink -f "$daemon")
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || die "no python3 plugin: apt-get install uwsgi-plugin-python3"
command -v start-stop-daemon >/dev/null || die "no start-stop-daemon (package dpkg)"
if [ ! -r /lib/lsb/init-functions ] || [ ! -r /lib/init/vars.sh ]; then
    die "no /lib/lsb/init-functions or /lib/init/vars.sh: apt-get install sysvinit-utils"
fi
[ -x /usr/bin/time ] || die "no /usr/bin/time: apt-get install time"
for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || die "no $tool"
done

# A short path: unix sockets live under it and must fit in 108 bytes, and
# the sed rewrite below needs a path free of sed's special characters.
work=$(mktemp -d /tmp/uwsgi-bench.XXXXXX)
case $work in *[!A-Za-z0-9_./-]*) die "unexpected characters in $work" ;; esac
chmod 755 "$work" # apt's sandbox user writes the download here

floor_pid=
sampled_pid=
declare -A h_pid=() h_in=() h_out=() # the helpers of section (d)
declare -A mounted=()                 # tmpfs mounts of section (d), undone on exit
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Every uWSGI process this run started names $work/ on its command line (the
# inherited config's path), masters and workers alike: kill exactly those.
# Shell builtins only: with 1,000 uWSGI processes running, a fork or two per
# process would take seconds.
our_uwsgi_pids() {
    local p args
    for p in /proc/[0-9]*; do
        is_live "${p#/proc/}" || continue
        mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
        [[ "${args[*]}" == *"$work/"* ]] || continue
        echo "${p#/proc/}"
    done
}

kill_ours() {
    local pids i=0
    pids=$(our_uwsgi_pids)
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    while [ -n "$(our_uwsgi_pids)" ]; do
        i=$((i + 1))
        [ "$i" -gt 200 ] && { echo "bench/service.sh: some uWSGI processes under $work survive" >&2; break; }
        sleep 0.05
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in $floor_pid $sampled_pid "${h_pid[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    kill_ours
    for dir in "${!mounted[@]}"; do unmount "$dir" || echo "bench/service.sh: cannot unmount $dir" >&2; done
    if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
        echo "work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Alive, the uWSGI program, and not a zombie (PID 1 may not reap here). A
# zombie has no /proc/PID/exe to follow; the state is checked too, for one
# caught in the middle of its exit. Builtins only (see our_uwsgi_pids).
is_live() {
    local stat
    [ "/proc/$1/exe" -ef "$uwsgi_exe" ] || return 1
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# PIDs of the masters named by the pidfiles under root $1.
masters() {
    local f
    for f in "$1"/run/uwsgi/*/*/pid; do
        [ -f "$f" ] && cat "$f" && echo
    done | grep -E '^[0-9]+$' || true
}

count_live() {
    local n=0 p
    for p in $1; do is_live "$p" && n=$((n + 1)); done
    echo "$n"
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# Wait until every one of the $2 logs under root $1 shows its last worker
# spawned (the moment uWSGI would send READY=1). Fails after 120 s.
wait_all_ready() {
    local logs=$1/var/log/uwsgi/app want=$2 got i=0
    while :; do
        got=$({ grep -lF "spawned uWSGI worker $WORKERS (" "$logs"/*.log 2>/dev/null || true; } | wc -l)
        [ "$got" -ge "$want" ] && return 0
        i=$((i + 1))
        [ "$i" -gt 6000 ] && die "only $got of $want instances under $1 became ready"
        sleep 0.02
    done
}

# uWSGI has a race: a worker that gets the master's SIGINT in its first
# moments (a few ms after the master logs "spawned uWSGI worker") does not
# die, and the master waits out its 60 s worker mercy before killing it.
# Whoever stops the instances, Debian or us, would then measure that, not
# itself; so every instance runs SETTLE seconds before it is stopped.
settle() { sleep "$SETTLE"; }

# timed LABEL CMD...: run CMD under /usr/bin/time; sets $us (wall time in
# microseconds), $rss (peak RSS in kB) and $rc. Output goes to $work/LABEL.out.
timed() {
    local label=$1 t0 t1
    shift
    t0=$(now_us)
    set +e
    /usr/bin/time -f %M -o "$work/$label.rss" "$@" >"$work/$label.out" 2>&1
    rc=$?
    set -e
    t1=$(now_us)
    us=$((t1 - t0))
    rss=$(tail -1 "$work/$label.rss")
}

# sampled LABEL CMD...: run CMD in the background and read its VmHWM (the
# kernel's high-water mark of its resident set) until it exits; sets $hwm
# (kB) and $rc. Unlike /usr/bin/time's %M, which also counts the children it
# reaps (the uWSGI launchers `start` spawns), this is the program alone. A
# sample every 10 ms; memory reached only in the last few ms may be missed.
sampled() {
    local label=$1 pid k v _
    shift
    # Job control on, so that the command does not start with SIGINT and
    # SIGQUIT ignored, as a non-interactive shell's background jobs do.
    set -m
    "$@" >"$work/$label.out" 2>&1 &
    pid=$!
    set +m
    sampled_pid=$pid
    hwm=0
    while :; do
        v=
        # shellcheck disable=SC2034
        while read -r k v _; do
            [ "$k" = VmHWM: ] && break
            v=
        done 2>/dev/null <"/proc/$pid/status" || true
        [ -z "$v" ] && break # exited (a zombie has no VmHWM)
        hwm=$v
        sleep 0.01
    done
    set +e
    wait "$pid"
    rc=$?
    set -e
    sampled_pid=
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# --- the app, the inherited config, the apps ---------------------------------
cat >"$work/app.py" <<'EOF'
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'hello\n']
EOF

# make_root ROOT COUNT: Debian's layout under ROOT with COUNT enabled apps.
# The inherited config is Debian's default.ini with its paths under ROOT,
# minus uid/gid/chown-socket (everything runs as root here, so neither side
# pays for user look-ups the other skips).
make_root() {
    local r=$1 count=$2 i name
    mkdir -p "$r/etc/uwsgi/apps-available" "$r/etc/uwsgi/apps-enabled" \
        "$r/etc/default" "$r/usr/share/uwsgi/conf" "$r/run/uwsgi" "$r/var/log/uwsgi/app"
    cat >"$r/usr/share/uwsgi/conf/default.ini" <<EOF
[uwsgi]
declare-option = deb-confnamespace=\$1
declare-option = deb-confname=\$1
master = true
workers = $WORKERS
no-orphans = true
pidfile = $r/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/pid
socket = $r/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/socket
chmod-socket = 660
log-date = true
EOF
    i=0
    while [ "$i" -lt "$count" ]; do
        name=$(printf 'app%04d' "$i")
        {
            echo '[uwsgi]'
            echo 'plugins = python3'
            echo "wsgi-file = $work/app.py"
            echo 'need-app = true'
            if [ "$DIE_ON_TERM" = 1 ]; then echo 'die-on-term = true'; fi
        } >"$r/etc/uwsgi/apps-available/$name.ini"
        ln -s "../apps-available/$name.ini" "$r/etc/uwsgi/apps-enabled/$name.ini"
        i=$((i + 1))
    done
}

# --- Debian's script, from the package, rewritten into $DEB -----------------
note "downloading Debian's uwsgi package"
(cd "$work" && apt-get download -q uwsgi >"$work/apt.log" 2>&1) ||
    die "apt-get download uwsgi failed (apt-get update first?): $(tail -3 "$work/apt.log")"
deb_file=$(ls "$work"/uwsgi_*.deb)
deb_version=$(dpkg-deb -f "$deb_file" Version)
dpkg-deb -x "$deb_file" "$work/pkg"

DEB=$work/debian
OURS=$work/ours
make_root "$DEB" "$N"

# rewrite_debian ROOT SRC DST: one of Debian's files with its paths under ROOT.
rewrite_debian() {
    local root=$1 src=$2 dst=$3
    sed -e "s|/etc/uwsgi|$root/etc/uwsgi|g" \
        -e "s|/run/uwsgi|$root/run/uwsgi|g" \
        -e "s|/etc/default/\${NAME}|$root/etc/default/\${NAME}|g" \
        -e "s|/usr/share/uwsgi/|$root/usr/share/uwsgi/|g" \
        -e "s|/var/log/uwsgi/|$root/var/log/uwsgi/|g" \
        "$src" >"$dst"
    # Every absolute path left outside comments must be one we chose to keep.
    # shellcheck disable=SC2016 # ${NAME} is meant literally
    if sed -e 's/^[[:space:]]*#.*//' -e "s|$root/||g" "$dst" |
        grep -oE '/(etc|run|var|usr|lib)/[^ "'\'';)]*' |
        grep -vxF -e /usr/bin/uwsgi -e /lib/init/vars.sh -e /lib/lsb/init-functions \
            -e /usr/bin/sqlite3 -e /usr/sbin:/bin:/usr/bin -e '/etc/init.d/${NAME}' |
        grep -q .; then
        die "Debian's $src has a hard-coded path this benchmark does not rewrite"
    fi
}

# install_debian ROOT: Debian's init script, the files it sources and its
# settings file, rewritten into ROOT; the script is ROOT/etc/init.d/uwsgi.
install_debian() {
    local root=$1 f
    mkdir -p "$root/etc/init.d" "$root/etc/default" "$root/usr/share/uwsgi/init"
    rewrite_debian "$root" "$work/pkg/etc/init.d/uwsgi" "$root/etc/init.d/uwsgi"
    chmod 755 "$root/etc/init.d/uwsgi"
    for f in snippets do_command specific_daemon; do
        rewrite_debian "$root" "$work/pkg/usr/share/uwsgi/init/$f" "$root/usr/share/uwsgi/init/$f"
    done
    rewrite_debian "$root" "$work/pkg/etc/default/uwsgi" "$root/etc/default/uwsgi"
}
install_debian "$DEB"
debian_initd=$DEB/etc/init.d/uwsgi

# --- what the table prints ---------------------------------------------------
declare -A T R # T[key]: microseconds; R[key]: peak RSS in kB

# --- (a)-(c): the front ends at N, the floor of a stop, BIG idle apps ------
# (sets T and R; skipped with SCALE_ONLY=1)
measure_small() {
    # --- (a) Debian: start N, stop N ---------------------------------------------
    note "Debian: start $N"
    timed deb_start "$debian_initd" start
    [ "$rc" = 0 ] || die "Debian's start failed (exit $rc): $(cat "$work/deb_start.out")"
    T[deb_start]=$us
    t0=$(now_us)
    wait_all_ready "$DEB" "$N"
    T[deb_start_ready]=$((T[deb_start] + $(now_us) - t0))
    settle
    deb_pids=$(masters "$DEB")
    [ "$(count_live "$deb_pids")" = "$N" ] || die "Debian's start left $(count_live "$deb_pids") of $N running"

    if [ "$SKIP_DEBIAN_STOP" = 1 ]; then
        note "Debian: stop skipped (SKIP_DEBIAN_STOP=1); killing its instances"
        kill_ours
    else
        note "Debian: stop $N (about 3 s per instance, 31 s with die-on-term; SKIP_DEBIAN_STOP=1 skips it)"
        timed deb_stop "$debian_initd" stop
        [ "$rc" = 0 ] || die "Debian's stop failed (exit $rc): $(cat "$work/deb_stop.out")"
        T[deb_stop]=$us
        [ "$(count_live "$deb_pids")" = 0 ] || die "Debian's stop left $(count_live "$deb_pids") running"
    fi

    note "Debian: status of one (not running)"
    timed deb_status "$debian_initd" status app0000
    T[deb_status1]=$us

    # --- (b) the floor: uWSGI alone stopping one instance ------------------------
    # The same command line as an init script's instance, in the foreground as a
    # child of this shell, so that `wait` sees the exact moment the master exits.
    note "floor: uWSGI alone, SIGINT to exit of one master ($FLOOR_RUNS runs)"
    mkdir -p "$DEB/run/uwsgi/app/floor"
    floors=()
    for _ in $(seq "$FLOOR_RUNS"); do
        : >"$work/floor.log"
        UWSGI_DEB_CONFNAMESPACE=app UWSGI_DEB_CONFNAME=floor "$daemon" \
            --ini "$DEB/usr/share/uwsgi/conf/default.ini" \
            --ini "$DEB/etc/uwsgi/apps-enabled/app0000.ini" \
            --logto "$work/floor.log" 2>>"$work/floor.err" &
        floor_pid=$!
        i=0
        until grep -qF "spawned uWSGI worker $WORKERS (" "$work/floor.log"; do
            i=$((i + 1))
            [ "$i" -gt 3000 ] && die "the floor instance never became ready: $(tail -5 "$work/floor.log")"
            sleep 0.02
        done
        settle
        t0=$(now_us)
        kill -INT "$floor_pid"
        wait "$floor_pid" || true
        t1=$(now_us)
        floor_pid=
        floors+=($((t1 - t0)))
    done
    T[floor]=$(printf '%s\n' "${floors[@]}" | median)

    # --- (a) ours: start N, stop N, stop 1 ---------------------------------------
    if [ "$DEBIAN_ONLY" != 1 ]; then
        make_root "$OURS" "$N"
        cp "$work/pkg/etc/default/uwsgi" "$OURS/etc/default/uwsgi" # ours moves its paths under --root
        ours() { "$bin" --root "$OURS" "$@"; }

        note "ours: start $N"
        timed ours_start "$bin" --root "$OURS" initd start
        [ "$rc" = 0 ] || die "our start failed (exit $rc): $(cat "$work/ours_start.out")"
        T[ours_start]=$us
        R[ours_start]=$rss
        t0=$(now_us)
        wait_all_ready "$OURS" "$N" # at once: ours returns after READY=1
        T[ours_start_ready]=$((T[ours_start] + $(now_us) - t0))
        settle
        ours_pids=$(masters "$OURS")
        [ "$(count_live "$ours_pids")" = "$N" ] || die "our start left $(count_live "$ours_pids") of $N running"

        note "ours: stop $N"
        timed ours_stop "$bin" --root "$OURS" initd stop
        [ "$rc" = 0 ] || die "our stop failed (exit $rc): $(cat "$work/ours_stop.out")"
        T[ours_stop]=$us
        R[ours_stop]=$rss
        [ "$(count_live "$ours_pids")" = 0 ] || die "our stop left $(count_live "$ours_pids") running"

        note "ours: start $N and stop $N again, reading the peak RSS of uwsgi-apps alone"
        sampled ours_start_hwm "$bin" --root "$OURS" initd start
        [ "$rc" = 0 ] || die "our second start failed (exit $rc): $(cat "$work/ours_start_hwm.out")"
        R[ours_start_hwm]=$hwm
        settle
        sampled ours_stop_hwm "$bin" --root "$OURS" initd stop
        [ "$rc" = 0 ] || die "our second stop failed (exit $rc): $(cat "$work/ours_stop_hwm.out")"
        R[ours_stop_hwm]=$hwm

        note "ours: start 1, stop 1"
        ours initd start app0000 >"$work/ours_start1.out" 2>&1 || die "our start of one failed: $(cat "$work/ours_start1.out")"
        settle
        timed ours_stop1 "$bin" --root "$OURS" initd stop app0000
        [ "$rc" = 0 ] || die "our stop of one failed (exit $rc): $(cat "$work/ours_stop1.out")"
        T[ours_stop1]=$us

        # --- (c) status and stop over BIG enabled apps, none running -------------
        note "ours: status and stop over $BIG enabled apps, none running ($RUNS runs each)"
        BIGR=$work/big
        make_root "$BIGR" "$BIG"
        cp "$work/pkg/etc/default/uwsgi" "$BIGR/etc/default/uwsgi"
        for cmd in "initd status" "initd stop" "status" "stop"; do
            key=big_${cmd// /_}
            times=()
            peak=0
            for _ in $(seq "$RUNS"); do
                # shellcheck disable=SC2086
                timed "$key" "$bin" --root "$BIGR" $cmd
                # status: 3 = none running (LSB); stop: 0
                case "$cmd:$rc" in *status:3 | *stop:0) ;; *) die "$cmd over $BIG apps: exit $rc: $(tail -3 "$work/$key.out")" ;; esac
                times+=("$us")
                [ "$rss" -gt "$peak" ] && peak=$rss
            done
            T[$key]=$(printf '%s\n' "${times[@]}" | median)
            R[$key]=$peak
        done
    fi
}

# --- (d) start at scale: ours against the floor, N in SCALE -----------------
# N trivial apps (the app above, `workers = SCALE_WORKERS`) inheriting
# Debian's own default.ini (uid, gid and chown-socket www-data), its paths
# moved under the root. Three sides, each started from nothing (no uWSGI of
# this run alive, run dirs and logs wiped) and timed to the same end point:
# every one of the N instances has answered a real request on its socket.
#   ours:   `uwsgi-apps --root R initd start` (SCALE_CMD), under /usr/bin/time;
#   floor:  the very command lines and environments that ours gave its
#           masters (read from /proc/PID/cmdline and environ after our run,
#           minus NOTIFY_SOCKET), spawned at once by a bare loop
#           ($work/launch.py: posix_spawn with setsid, stdin /dev/null,
#           stdout and stderr appended to the log, cwd /, umask 0, as ours
#           does), the run dirs made beforehand. setsid matters: with the
#           kernel's autogroup scheduling (on here) each session is one
#           scheduling group, so instances sharing one session would get
#           one share of the CPUs against other work where ours get one each;
#   Debian: its init script, at N = SCALE_DEBIAN_N, under /usr/bin/time.
# The prober ($work/probe.py) and the launcher are started and ready before
# the clock starts. The prober waits for each socket to appear with inotify
# (a poll of N paths every few ms cost the slower side more: measured
# 0.35 s of CPU against 0.08 s at N = 100), connects (retrying every 5 ms
# while nobody listens yet), sends a uwsgi-protocol GET and counts the
# instance when `200` and `hello` come back; a connection queued before any
# worker runs is answered when the first worker accepts it.
#
# Other work on the machine: before each start the CPUs must have been at
# most QUIET_BUSY % busy for a second; during it, the CPU time of the front
# end (/usr/bin/time, or the launcher's own), of this run's uWSGI processes
# (/proc/PID/stat) and of the prober is subtracted from what /proc/stat says
# all CPUs did: the rest is others' work, and a start where it exceeds
# SCALE_NOISE % of the CPUs' time is done again (SCALE_TRIES times at most;
# the least disturbed one counts).

cat >"$work/probe.py" <<'EOF'
import ctypes, os, resource, selectors, socket, struct, sys, time

IN_CREATE, IN_MOVED_TO, IN_Q_OVERFLOW = 0x100, 0x80, 0x4000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
libc = ctypes.CDLL(None, use_errno=True)


def request():
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.0", "SERVER_NAME": "bench", "SERVER_PORT": "0"}
    body = b"".join(struct.pack("<H", len(k)) + k.encode() + struct.pack("<H", len(v)) + v.encode()
                    for k, v in env.items())
    return struct.pack("<BHB", 0, len(body), 0) + body


class Prober:
    """Waits for each socket path to appear (inotify on the deepest existing
    directory on its way, so that nothing is polled), connects, sends one
    request and counts the instance once its answer is complete."""

    def __init__(self, paths):
        self.paths = paths
        self.req = request()
        self.sel = selectors.DefaultSelector()
        self.ifd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.ifd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.sel.register(self.ifd, selectors.EVENT_READ, None)
        self.wd_dir = {}      # watch descriptor -> directory
        self.dir_wd = {}
        self.waiting = {}     # (directory, entry) -> indices of paths below it
        self.refused = set()  # exist, but nobody listens yet: retried
        self.answers = {}
        self.served, self.last = 0, 0.0

    def watch(self, d):
        if d not in self.dir_wd:
            wd = libc.inotify_add_watch(self.ifd, d.encode(), IN_CREATE | IN_MOVED_TO)
            if wd < 0:
                return False
            self.wd_dir[wd], self.dir_wd[d] = d, wd
        return True

    def place(self, i):
        """Connect to path i if it exists, else wait for the next missing
        component of it to appear."""
        path = self.paths[i]
        self.refused.discard(i)
        if os.path.exists(path):
            self.connect(i)
            return
        parts = path.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            d = "/".join(parts[:depth]) or "/"
            if os.path.isdir(d) and self.watch(d):
                self.waiting.setdefault((d, parts[depth]), set()).add(i)
                # Made between the check and the watch: no event for it.
                if os.path.exists(os.path.join(d, parts[depth])):
                    self.wake(d, parts[depth])
                return
        self.refused.add(i)  # no directory at all yet: retried

    def wake(self, d, name):
        for i in self.waiting.pop((d, name), ()):
            self.place(i)

    def connect(self, i):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.paths[i])
            s.sendall(self.req)
        except OSError:
            s.close()
            self.refused.add(i)
            return
        self.refused.discard(i)
        self.answers[i] = b""
        self.sel.register(s, selectors.EVENT_READ, i)

    def events(self):
        try:
            buf = os.read(self.ifd, 65536)
        except BlockingIOError:
            return
        at = 0
        while at + 16 <= len(buf):
            wd, mask, _, n = struct.unpack_from("iIII", buf, at)
            name = buf[at + 16:at + 16 + n].rstrip(b"\0").decode()
            at += 16 + n
            if mask & IN_Q_OVERFLOW:
                for key in list(self.waiting):
                    self.wake(*key)
            elif wd in self.wd_dir:
                self.wake(self.wd_dir[wd], name)

    def run(self, timeout):
        start = time.time()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        for i in range(len(self.paths)):
            self.place(i)
        while self.served < len(self.paths):
            if time.time() - start > timeout:
                return "timeout: %d of %d answered" % (self.served, len(self.paths))
            for key, _ in self.sel.select(0.005 if self.refused else 1.0):
                if key.data is None:
                    self.events()
                    continue
                i = key.data
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if data:
                    self.answers[i] += data
                    continue
                self.sel.unregister(key.fileobj)
                key.fileobj.close()
                if b" 200 " in self.answers[i] and b"hello" in self.answers[i]:
                    self.served, self.last = self.served + 1, time.time()
                else:
                    self.refused.add(i)  # closed without an answer: again
            for i in list(self.refused):
                self.place(i)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
        return "%d %d" % (self.last * 1e6, cpu * 1e6)


def main(listing, timeout):
    paths = [line.rstrip("\n") for line in open(listing)]
    prober = Prober(paths)
    print("ready", flush=True)
    sys.stdin.readline()
    print(prober.run(timeout), flush=True)


main(sys.argv[1], float(sys.argv[2]))
EOF

cat >"$work/launch.py" <<'EOF'
import json, os, resource, sys


def capture(out, pidfiles):
    """What our masters run: program, arguments, environment, log."""
    found = []
    for pidfile in pidfiles:
        pid = int(open(pidfile).read().split()[0])
        args = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")[:-1]
        env = [e for e in open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
               if e and not e.startswith(b"NOTIFY_SOCKET=")]
        log = args[args.index(b"--logto") + 1]
        found.append([[os.fsdecode(a) for a in args], [os.fsdecode(e) for e in env], os.fsdecode(log)])
    with open(out, "w") as f:
        json.dump(found, f)


def launch(listing):
    with open(listing) as f:
        found = json.load(f)
    os.chdir("/")
    os.umask(0)
    jobs = []
    for args, env, log in found:
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        jobs.append((args[0], args, dict(e.split("=", 1) for e in env), actions))
    print("ready", flush=True)
    sys.stdin.readline()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    for path, args, env, actions in jobs:
        os.posix_spawn(path, args, env, file_actions=actions, setsid=True)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(int((ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime) * 1e6), flush=True)


if sys.argv[1] == "capture":
    capture(sys.argv[2], sys.argv[3:])
else:
    launch(sys.argv[2])
EOF

# Helper processes (the prober, the launcher) talk over two fifos each: they
# print `ready`, wait for a line, work, and print one line before exiting.

# helper_start NAME CMD...: run CMD and wait until it is ready.
helper_start() {
    local name=$1 fd_in fd_out line
    shift
    rm -f "$work/$name.in" "$work/$name.out"
    mkfifo "$work/$name.in" "$work/$name.out"
    "$@" <"$work/$name.in" >"$work/$name.out" 2>"$work/$name.err" &
    h_pid[$name]=$!
    exec {fd_in}>"$work/$name.in" {fd_out}<"$work/$name.out"
    h_in[$name]=$fd_in
    h_out[$name]=$fd_out
    read -r line <&"$fd_out" || true
    [ "$line" = ready ] || die "the $name helper did not start: $(cat "$work/$name.err")"
}

helper_go() { echo go >&"${h_in[$1]}"; }

# helper_end NAME: wait for its line (in $heard) and its exit.
helper_end() {
    local fd_in=${h_in[$1]} fd_out=${h_out[$1]}
    heard=
    read -r heard <&"$fd_out" || true
    wait "${h_pid[$1]}" || true
    unset "h_pid[$1]"
    exec {fd_in}>&- {fd_out}<&-
}

# The CPUs' time so far (/proc/stat, in ticks): "BUSY ALL".
cpu_ticks() {
    local _ u n s i w q sq st
    read -r _ u n s i w q sq st _ </proc/stat
    echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# busy_share "BUSY ALL" "BUSY ALL": the busy share of all CPUs between two
# cpu_ticks, in percent.
busy_share() {
    local b0 a0 b1 a1
    read -r b0 a0 <<<"$1"
    read -r b1 a1 <<<"$2"
    echo $((100 * (b1 - b0) / (a1 - a0 > 0 ? a1 - a0 : 1)))
}

# Busy share of all CPUs over one second, in percent.
cpu_busy() {
    local before
    before=$(cpu_ticks)
    sleep 1
    busy_share "$before" "$(cpu_ticks)"
}

# Wait (at most QUIET_WAIT seconds) until the CPUs are at most QUIET_BUSY
# percent busy; sets $busy to the last figure, marked with `!` when the
# machine never became quiet.
wait_quiet() {
    local waited=0
    while :; do
        busy=$(cpu_busy)
        [ "$busy" -le "$QUIET_BUSY" ] && return 0
        waited=$((waited + 1))
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            note "the machine stays ${busy}% busy; measuring anyway"
            busy="$busy!"
            return 0
        fi
    done
}

mem_available_kb() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }

# The memory this run's uWSGI processes take (the sum of their Pss), in kB.
our_pss_kb() {
    our_uwsgi_pids | sed 's|.*|/proc/&/smaps_rollup|' | xargs -r cat 2>/dev/null |
        awk '$1 == "Pss:" { kb += $2 } END { print kb + 0 }'
}

# CPU time (ticks) of this run's live uWSGI processes so far. Builtins only.
uwsgi_cpu_ticks() {
    local p stat f t=0
    for p in $(our_uwsgi_pids); do
        read -r stat 2>/dev/null <"/proc/$p/stat" || continue
        read -r -a f <<<"${stat##*) }"
        t=$((t + f[11] + f[12])) # utime and stime (fields 14 and 15)
    done
    echo "$t"
}

# make_scale_root ROOT COUNT: COUNT apps (none enabled) under ROOT, with
# Debian's default.ini rewritten into ROOT and our settings file.
make_scale_root() {
    local r=$1 count=$2 i=0
    mkdir -p "$r/etc/uwsgi/apps-available" "$r/etc/uwsgi/apps-enabled" \
        "$r/etc/default" "$r/usr/share/uwsgi/conf" "$r/run" "$r/var/log/uwsgi/app"
    rewrite_debian "$r" "$work/pkg/usr/share/uwsgi/conf/default.ini" "$r/usr/share/uwsgi/conf/default.ini"
    sed -i "s/^workers = .*/workers = $SCALE_WORKERS/" "$r/usr/share/uwsgi/conf/default.ini"
    grep -qx "workers = $SCALE_WORKERS" "$r/usr/share/uwsgi/conf/default.ini" ||
        die "Debian's default.ini has no 'workers =' line to set"
    grep -qx "uid = $scale_user" "$r/usr/share/uwsgi/conf/default.ini" ||
        die "Debian's default.ini no longer says 'uid = $scale_user'"
    cp "$work/pkg/etc/default/uwsgi" "$r/etc/default/uwsgi" # ours moves its paths under --root
    while [ "$i" -lt "$count" ]; do
        printf '[uwsgi]\nplugins = python3\nwsgi-file = %s\nneed-app = true\n' "$work/app.py" \
            >"$r/etc/uwsgi/apps-available/$(printf 'app%04d' "$i").ini"
        i=$((i + 1))
    done
}

# unmount DIR: a killed uWSGI may hold its socket on DIR for a moment
# after it stopped counting as live: wait, then detach it lazily.
unmount() {
    local i=0
    while ! umount "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt 50 ] && { umount -l "$1"; return; }
        sleep 0.1
    done
}

# fresh_run ROOT: an empty ROOT/run, on a tmpfs of its own as /run is on
# Debian (here / holds /run: on ext4, making files in a directory just
# emptied costs several times more, and ours makes its run dirs while
# timed, the floor beforehand); a plain directory if mounting fails.
fresh_run() {
    local d=$1/run
    if [ -n "${mounted[$d]:-}" ]; then
        unmount "$d" || die "cannot unmount $d"
        unset "mounted[$d]"
    fi
    rm -rf "$d"
    mkdir -p "$d"
    if mount -t tmpfs -o mode=755,size=256m bench-run "$d" 2>/dev/null; then
        mounted[$d]=1
    elif [ -z "${S[tmpfs]:-}" ]; then
        note "cannot mount a tmpfs on $d: the run dirs stay on $(findmnt -no FSTYPE -T "$d")"
        S[tmpfs]=no
    fi
}

# scale_reset ROOT N: nothing of this run's uWSGI alive, ROOT's run dirs
# and logs gone, exactly the first N apps enabled; writes ROOT/sockets.
scale_reset() {
    local r=$1 n=$2 i=0 name
    kill_ours
    rm -rf "$r"/var/log/uwsgi/app/*.log "$r"/etc/uwsgi/apps-enabled/*.ini
    fresh_run "$r"
    : >"$r/sockets"
    while [ "$i" -lt "$n" ]; do
        name=$(printf 'app%04d' "$i")
        ln -s "../apps-available/$name.ini" "$r/etc/uwsgi/apps-enabled/$name.ini"
        echo "$r/run/uwsgi/app/$name/socket" >>"$r/sockets"
        i=$((i + 1))
    done
}

# Every instance under ROOT runs: N live masters named by the pidfiles.
check_all_run() {
    local r=$1 n=$2 side=$3 live
    live=$(count_live "$(masters "$r")")
    [ "$live" = "$n" ] || die "$side: $live of $n masters run after the start"
}

# floor_capture ROOT N: what our N masters under ROOT run now, for the floor.
floor_capture() {
    local r=$1 n=$2 i=0 pidfiles=()
    while [ "$i" -lt "$n" ]; do
        pidfiles+=("$r/run/uwsgi/app/$(printf 'app%04d' "$i")/pid")
        i=$((i + 1))
    done
    /usr/bin/python3 "$work/launch.py" capture "$r/floor.json" "${pidfiles[@]}" ||
        die "cannot read our masters' command lines"
}

# scale_run SIDE ROOT N: one start of N by SIDE (ours, floor or debian) from
# nothing. Sets, in microseconds since the clock started: $wall (until the
# command returned) and $serving (until every instance answered); in
# microseconds of CPU: $fe (the front end: ours, the launcher, Debian's
# script with what it reaps), $uw (this run's uWSGI processes), $pr (the
# prober); in % of all CPUs: $busy (the second before), $used (during) and
# $others (others' work during).
scale_run() {
    local side=$1 r=$2 n=$3 i=0 t0 t1 u s c0 c1 b0 a0 b1 a1 ticks busy_us cap_us
    scale_reset "$r" "$n"
    if [ "$side" = floor ]; then
        while [ "$i" -lt "$n" ]; do
            mkdir -p "$r/run/uwsgi/app/$(printf 'app%04d' "$i")"
            i=$((i + 1))
        done
    fi
    wait_quiet
    helper_start probe /usr/bin/python3 "$work/probe.py" "$r/sockets" 300
    if [ "$side" = floor ]; then
        helper_start launch /usr/bin/python3 "$work/launch.py" launch "$r/floor.json"
    fi
    c0=$(cpu_ticks)
    t0=$(now_us)
    helper_go probe
    fe=0
    set +e
    # shellcheck disable=SC2086 # SCALE_CMD is words
    case $side in
    ours) /usr/bin/time -f '%U %S' -o "$work/scale.time" "$bin" --root "$r" $SCALE_CMD >"$work/scale.out" 2>&1 ;;
    floor) helper_go launch && helper_end launch && fe=$heard ;;
    debian) /usr/bin/time -f '%U %S' -o "$work/scale.time" "$r/etc/init.d/uwsgi" start >"$work/scale.out" 2>&1 ;;
    esac
    rc=$?
    set -e
    t1=$(now_us)
    [ "$rc" = 0 ] || die "$side: the start of $n failed (exit $rc): $(tail -5 "$work/scale.out" 2>/dev/null)"
    helper_end probe
    case $heard in [0-9]*) ;; *) die "$side: not every instance answered: ${heard:-the prober failed}" ;; esac
    c1=$(cpu_ticks)
    ticks=$(uwsgi_cpu_ticks)
    check_all_run "$r" "$n" "$side"
    read -r served_at pr <<<"$heard"
    wall=$((t1 - t0))
    serving=$((served_at - t0))
    [ "$serving" -lt "$wall" ] && serving=$wall
    if [ "$side" != floor ]; then
        read -r u s <"$work/scale.time"
        fe=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1e6 }')
    fi
    uw=$((ticks * 1000000 / hz))
    used=$(busy_share "$c0" "$c1")
    read -r b0 a0 <<<"$c0"
    read -r b1 a1 <<<"$c1"
    busy_us=$(((b1 - b0) * 1000000 / hz))
    cap_us=$(((a1 - a0) * 1000000 / hz))
    others=$((busy_us - fe - uw - pr))
    [ "$others" -lt 0 ] && others=0
    others=$((100 * others / (cap_us > 0 ? cap_us : 1)))
}

# scale_try SIDE ROOT N RUN: scale_run until others' work stays within
# SCALE_NOISE % (SCALE_TRIES at most); keeps the least disturbed start in
# S[N.SIDE.RUN] = "wall serving fe uw busy used others".
scale_try() {
    local side=$1 r=$2 n=$3 run=$4 try=1 best=
    while :; do
        note "start at scale: $n, run $run of $SCALE_RUNS: $side${best:+ (again)}"
        scale_run "$side" "$r" "$n"
        note "  returned after $(s "$wall"), all serving after $(s "$serving"); CPU: front end $(s "$fe")," \
            "uWSGI $(s "$uw"), prober $(s "$pr"); CPUs ${busy}% busy before, ${used}% during, others ${others}%"
        if [ -z "$best" ] || [ "$others" -lt "${best##* }" ]; then
            best="$wall $serving $fe $uw $busy $used $others"
        fi
        [ "$others" -le "$SCALE_NOISE" ] && break
        [ "$try" -ge "$SCALE_TRIES" ] && { note "  others' work stayed above $SCALE_NOISE%; the least disturbed start counts"; break; }
        try=$((try + 1))
    done
    S[$n.$side.$run]=$best
}

measure_scale() {
    local SR=$work/scale SD=$work/scale-debian n max=0 r per=0 avail need
    for n in $SCALE; do [ "$n" -gt "$max" ] && max=$n; done
    make_scale_root "$SR" "$max"
    make_scale_root "$SD" "$SCALE_DEBIAN_N"
    install_debian "$SD"
    for n in $SCALE; do
        # Memory: from the first N, what one instance takes (Pss); a larger
        # N runs only with room for it and 2 GB to spare.
        kill_ours
        avail=$(mem_available_kb)
        need=$((per * n + 2 * 1024 * 1024))
        if [ "$per" -gt 0 ] && [ "$need" -gt "$avail" ]; then
            note "start of $n skipped: it needs about $((need / 1024)) MB, $((avail / 1024)) MB available"
            S[$n.skip]="skipped: needs about $((per * n / 1024)) MB + 2 GB spare, $((avail / 1024)) MB available"
            continue
        fi
        for r in $(seq "$SCALE_RUNS"); do
            # Ours first in odd runs, the floor first in even ones (with the
            # command lines of our previous run): neither side always
            # follows the other's clean-up.
            if [ $((r % 2)) = 0 ]; then scale_try floor "$SR" "$n" "$r"; fi
            scale_try ours "$SR" "$n" "$r"
            [ "$per" = 0 ] && per=$(($(our_pss_kb) / n))
            floor_capture "$SR" "$n"
            if [ $((r % 2)) = 1 ]; then scale_try floor "$SR" "$n" "$r"; fi
            if [ "$n" = "$SCALE_DEBIAN_N" ]; then scale_try debian "$SD" "$n" "$r"; fi
        done
    done
    kill_ours
    S[per_instance_kb]=$per
}

# scale_field N SIDE FIELD: the median over the runs of field FIELD of
# S[N.SIDE.*] (1 wall, 2 serving, 3 front end, 4 uWSGI, 5 busy before,
# 6 busy during, 7 others).
scale_field() {
    local n=$1 side=$2 field=$3 r
    for r in $(seq "$SCALE_RUNS"); do
        if [ -n "${S[$n.$side.$r]:-}" ]; then echo "${S[$n.$side.$r]}" | cut -d' ' -f"$field"; fi
    done | median
}

# The largest field FIELD over all runs of all sides at N.
scale_max() {
    local n=$1 field=$2 r side
    for r in $(seq "$SCALE_RUNS"); do
        for side in ours floor debian; do
            if [ -n "${S[$n.$side.$r]:-}" ]; then echo "${S[$n.$side.$r]}" | cut -d' ' -f"$field"; fi
        done
    done | sort -n | tail -1
}

# Every run of SIDE at N: seconds until all served (others' share).
scale_runs() {
    local n=$1 side=$2 r
    for r in $(seq "$SCALE_RUNS"); do
        [ -n "${S[$n.$side.$r]:-}" ] || continue
        echo "${S[$n.$side.$r]}" | awk '{ printf " %.2f (%d%%)", $2 / 1e6, $7 }'
    done
}

print_scale() {
    local n ours_wall ours_serving floor deb cpu
    cat <<EOF

start of N apps at once: ours against the floor (the same uWSGI command lines spawned at once by a bare
loop) and Debian's script; trivial apps (python3 wsgi-file), Debian's default.ini with workers = $SCALE_WORKERS,
uid/gid/chown-socket $scale_user; $([ "${S[tmpfs]:-}" = no ] && echo "run dirs on disk" || echo "run dirs on a tmpfs (as /run)"), logs on disk;
each start from nothing, timed until every instance has answered a request on its socket; median of $SCALE_RUNS runs, each after the CPUs were at most $QUIET_BUSY% busy for a second,
done again (up to $SCALE_TRIES times) when others' work took more than $SCALE_NOISE% of the CPUs meanwhile

EOF
    printf '%5s %13s %13s %13s %11s %15s %9s %10s %8s\n' N "ours returns" "ours serving" "floor" "ours/floor" \
        "Debian serving" "our CPU" "CPU share" "others"
    for n in $SCALE; do
        if [ -n "${S[$n.skip]:-}" ]; then
            printf '%5s  %s\n' "$n" "${S[$n.skip]}"
            continue
        fi
        ours_wall=$(scale_field "$n" ours 1)
        ours_serving=$(scale_field "$n" ours 2)
        floor=$(scale_field "$n" floor 2)
        cpu=$(scale_field "$n" ours 3)
        deb=
        [ "$n" = "$SCALE_DEBIAN_N" ] && deb=$(s "$(scale_field "$n" debian 2)")
        printf '%5s %13s %13s %13s %11s %15s %9s %10s %8s\n' "$n" "$(s "$ours_wall")" "$(s "$ours_serving")" \
            "$(s "$floor")" "$(awk -v a="$ours_serving" -v b="$floor" 'BEGIN { printf "%.2fx", a / b }')" \
            "$deb" "$(s "$cpu")" \
            "$(awk -v c="$cpu" -v w="$ours_wall" -v k="$(nproc)" 'BEGIN { printf "%.1f%%", 100 * c / (w * k) }')" \
            "<= $(scale_max "$n" 7)%"
    done
    echo "targets: ours/floor <= 1.3x at every N, and flat as N grows; our CPU <= 10% of wall x $(nproc) CPUs"
    echo "(CPU share: our user+sys CPU / (ours returns x CPUs); others: the largest share of the CPUs that"
    echo " other work took during any start counted at that N)"
    echo
    echo "where the CPU went (medians, seconds): the front end, and the uWSGI processes it started"
    printf '%5s %11s %13s %15s %13s\n' N "our CPU" "uWSGI (ours)" "launcher CPU" "uWSGI (floor)"
    for n in $SCALE; do
        [ -n "${S[$n.skip]:-}" ] && continue
        printf '%5s %11s %13s %15s %13s\n' "$n" "$(s "$(scale_field "$n" ours 3)")" "$(s "$(scale_field "$n" ours 4)")" \
            "$(s "$(scale_field "$n" floor 3)")" "$(s "$(scale_field "$n" floor 4)")"
    done
    echo
    echo "every run: seconds until every instance answered (others' share of the CPUs meanwhile):"
    for n in $SCALE; do
        [ -n "${S[$n.skip]:-}" ] && continue
        printf '  %5s  ours:%s  floor:%s' "$n" "$(scale_runs "$n" ours)" "$(scale_runs "$n" floor)"
        [ "$n" = "$SCALE_DEBIAN_N" ] && printf '  Debian:%s' "$(scale_runs "$n" debian)"
        echo
    done
    [ "${S[per_instance_kb]:-0}" -gt 0 ] &&
        echo "memory: about $((S[per_instance_kb] / 1024)) MB per instance (the Pss of its processes, at the first N)"
    return 0
}

# --- printing ----------------------------------------------------------------
s() { awk -v u="$1" 'BEGIN { printf "%.2f s", u / 1e6 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1e3 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
row() { printf '%-44s %12s %12s %10s  %s\n' "$@"; }
have() { [ -n "${T[$1]:-}" ]; }

print_small() {
    cat <<EOF

uwsgi-apps init.d front end vs Debian's /etc/init.d/uwsgi (uwsgi $deb_version)
$(uwsgi --version) uWSGI, python3 plugin; $N instances, master + $WORKERS workers each,$([ "$DIE_ON_TERM" = 1 ] && echo ' die-on-term,' || echo ' no die-on-term,') unix sockets, as root;
every instance runs ${SETTLE} s before it is stopped (uWSGI's race with young workers: see the script)

EOF
    row "what" "Debian" "ours" "ratio" "target"
    row "start $N (command returns)" "$(s "${T[deb_start]}")" "$(have ours_start && s "${T[ours_start]}")" \
        "$(have ours_start && ratio "${T[deb_start]}" "${T[ours_start]}")" ">= 3x faster (Debian/ours)"
    row "start $N (until every instance is ready)" "$(s "${T[deb_start_ready]}")" "$(have ours_start && s "${T[ours_start_ready]}")" \
        "$(have ours_start && ratio "${T[deb_start_ready]}" "${T[ours_start_ready]}")" "(Debian returns before its apps are loaded)"
    if have deb_stop; then deb_stop=$(s "${T[deb_stop]}"); else deb_stop="skipped"; fi
    row "stop $N" "$deb_stop" "$(have ours_stop && s "${T[ours_stop]}")" \
        "$(have deb_stop && have ours_stop && ratio "${T[deb_stop]}" "${T[ours_stop]}")" "(Debian/ours)"
    row "floor: uWSGI alone stops one (SIGINT->exit)" "" "$(s "${T[floor]}")" "" "median of $FLOOR_RUNS"
    if have ours_stop; then
        row "our stop of 1" "" "$(s "${T[ours_stop1]}")" "$(ratio "${T[ours_stop1]}" "${T[floor]}")" "(ours/floor)"
        row "our stop of $N / floor" "" "" "$(ratio "${T[ours_stop]}" "${T[floor]}")" "<= 1.5x"
    fi
    row "status of one, not running" "$(ms "${T[deb_status1]}")" "" "" "(Debian, for reference)"
    if [ "$DEBIAN_ONLY" != 1 ]; then
        for cmd in "initd status" "initd stop" "status" "stop"; do
            key=big_${cmd// /_}
            row "$cmd over $BIG enabled, none running" "" "$(ms "${T[$key]}")" "" "< 100 ms (median of $RUNS)"
        done
        echo
        echo "peak RSS, target < 16 MB:"
        printf '  %-44s %s\n' "initd start $N (/usr/bin/time %M)" "$(mb "${R[ours_start]}")  (with any child it reaps)" \
            "initd start $N (VmHWM of uwsgi-apps alone)" "$(mb "${R[ours_start_hwm]}")  (sampled every 10 ms)" \
            "initd stop $N (/usr/bin/time %M)" "$(mb "${R[ours_stop]}")" \
            "initd stop $N (VmHWM of uwsgi-apps alone)" "$(mb "${R[ours_stop_hwm]}")"
        for cmd in "initd status" "initd stop" "status" "stop"; do
            key=big_${cmd// /_}
            printf '  %-44s %s\n' "$cmd over $BIG (/usr/bin/time %M)" "$(mb "${R[$key]}")"
        done
    fi
}

# --- the run -----------------------------------------------------------------
declare -A S # S[N.SIDE.RUN]: one start at scale (see scale_try); S[tmpfs]
[ "$SCALE_ONLY" = 1 ] || measure_small
[ -z "$SCALE" ] || [ "$DEBIAN_ONLY" = 1 ] || measure_scale

echo
echo "machine: $(nproc) CPUs, load average $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date -u +%Y-%m-%dT%H:%MZ)"
[ "$SCALE_ONLY" = 1 ] || print_small
[ -z "$SCALE" ] || [ "$DEBIAN_ONLY" = 1 ] || print_scale
echo
echo "reproduce: $(printf '%q ' N="$N" BIG="$BIG" WORKERS="$WORKERS" SETTLE="$SETTLE" SKIP_DEBIAN_STOP="$SKIP_DEBIAN_STOP" \
    DIE_ON_TERM="$DIE_ON_TERM" SCALE="$SCALE" SCALE_RUNS="$SCALE_RUNS" SCALE_WORKERS="$SCALE_WORKERS" \
    SCALE_DEBIAN_N="$SCALE_DEBIAN_N" SCALE_CMD="$SCALE_CMD" QUIET_BUSY="$QUIET_BUSY" SCALE_NOISE="$SCALE_NOISE" SCALE_TRIES="$SCALE_TRIES")bench/service.sh"

