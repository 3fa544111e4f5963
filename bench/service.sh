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
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Every uWSGI process this run started names $work/ on its command line (the
# inherited config's path), masters and workers alike: kill exactly those.
our_uwsgi_pids() {
    local p exe
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        [ "$exe" = "$uwsgi_exe" ] || continue
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$work/" || continue
        echo "${p#/proc/}"
    done
}

kill_ours() {
    local pids
    pids=$(our_uwsgi_pids)
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    local i=0
    while [ -n "$(our_uwsgi_pids | while read -r p; do is_live "$p" && echo "$p"; done)" ]; do
        i=$((i + 1))
        [ "$i" -gt 100 ] && { echo "bench/service.sh: some uWSGI processes under $work survive" >&2; break; }
        sleep 0.05
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in $floor_pid $sampled_pid; do kill -KILL "$pid" 2>/dev/null || true; done
    kill_ours
    if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
        echo "work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Alive, the uWSGI program, and not a zombie (PID 1 may not reap here).
is_live() {
    [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$uwsgi_exe" ] || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
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

rewrite_debian() {
    local src=$1 dst=$2
    sed -e "s|/etc/uwsgi|$DEB/etc/uwsgi|g" \
        -e "s|/run/uwsgi|$DEB/run/uwsgi|g" \
        -e "s|/etc/default/\${NAME}|$DEB/etc/default/\${NAME}|g" \
        -e "s|/usr/share/uwsgi/|$DEB/usr/share/uwsgi/|g" \
        -e "s|/var/log/uwsgi/|$DEB/var/log/uwsgi/|g" \
        "$src" >"$dst"
    # Every absolute path left outside comments must be one we chose to keep.
    # shellcheck disable=SC2016 # ${NAME} is meant literally
    if sed -e 's/^[[:space:]]*#.*//' -e "s|$DEB/||g" "$dst" |
        grep -oE '/(etc|run|var|usr|lib)/[^ "'\'';)]*' |
        grep -vxF -e /usr/bin/uwsgi -e /lib/init/vars.sh -e /lib/lsb/init-functions \
            -e /usr/bin/sqlite3 -e /usr/sbin:/bin:/usr/bin -e '/etc/init.d/${NAME}' |
        grep -q .; then
        die "Debian's $src has a hard-coded path this benchmark does not rewrite"
    fi
}
mkdir -p "$DEB/etc/init.d" "$DEB/usr/share/uwsgi/init"
rewrite_debian "$work/pkg/etc/init.d/uwsgi" "$DEB/etc/init.d/uwsgi"
chmod 755 "$DEB/etc/init.d/uwsgi"
for f in snippets do_command specific_daemon; do
    rewrite_debian "$work/pkg/usr/share/uwsgi/init/$f" "$DEB/usr/share/uwsgi/init/$f"
done
rewrite_debian "$work/pkg/etc/default/uwsgi" "$DEB/etc/default/uwsgi"
debian_initd=$DEB/etc/init.d/uwsgi

# --- what the table prints ---------------------------------------------------
declare -A T R # T[key]: microseconds; R[key]: peak RSS in kB

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

# --- the table ---------------------------------------------------------------
s() { awk -v u="$1" 'BEGIN { printf "%.2f s", u / 1e6 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1e3 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
row() { printf '%-44s %12s %12s %10s  %s\n' "$@"; }
have() { [ -n "${T[$1]:-}" ]; }

cat <<EOF

uwsgi-apps init.d front end vs Debian's /etc/init.d/uwsgi (uwsgi $deb_version)
$(uwsgi --version) uWSGI, python3 plugin; $N instances, master + $WORKERS workers each,$([ "$DIE_ON_TERM" = 1 ] && echo ' die-on-term,' || echo ' no die-on-term,') unix sockets, as root;
every instance runs ${SETTLE} s before it is stopped (uWSGI's race with young workers: see the script)
machine: $(nproc) CPUs, load average $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date -u +%Y-%m-%dT%H:%MZ)

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
    printf '  %-44s %s\n' "initd start $N (/usr/bin/time %M)" "$(mb "${R[ours_start]}")  (includes the uWSGI launchers it spawns and reaps)" \
        "initd start $N (VmHWM of uwsgi-apps alone)" "$(mb "${R[ours_start_hwm]}")  (sampled every 10 ms)" \
        "initd stop $N (/usr/bin/time %M)" "$(mb "${R[ours_stop]}")" \
        "initd stop $N (VmHWM of uwsgi-apps alone)" "$(mb "${R[ours_stop_hwm]}")"
    for cmd in "initd status" "initd stop" "status" "stop"; do
        key=big_${cmd// /_}
        printf '  %-44s %s\n' "$cmd over $BIG (/usr/bin/time %M)" "$(mb "${R[$key]}")"
    done
fi
echo
echo "reproduce: $(printf '%q ' N="$N" BIG="$BIG" WORKERS="$WORKERS" SETTLE="$SETTLE" SKIP_DEBIAN_STOP="$SKIP_DEBIAN_STOP" DIE_ON_TERM="$DIE_ON_TERM")bench/service.sh"
