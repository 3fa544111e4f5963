#!/bin/sh
# The Ansible collection uwsgi_apps.uwsgi for real: ansible-playbook against
# localhost (connection: local) drives the given uwsgi-apps binary under a
# temporary --root, which runs the real uWSGI (daemon engine), serving on
# free ports of 127.0.0.1. The playbooks in playbooks/ assert what each task
# returned; this script checks what they cannot see from inside: the play
# recaps, HTTP answers (curl), the tree on disk, the processes.
#
#   sh ansible/tests/run.sh /path/to/uwsgi-apps
#
# tests/ansible.rs runs it with the binary cargo built. Needs root (uWSGI
# drops to www-data, the run dirs are root's). Installs Debian's
# ansible-core if ansible-playbook is missing. Every process it starts is
# stopped, and the temporary tree removed, however it ends.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 UWSGI_APPS_BINARY" >&2
  exit 2
fi
binary=$(realpath -- "$1")
here=$(cd "$(dirname "$0")" && pwd)
# The directory that holds ansible_collections/uwsgi_apps/uwsgi.
collections=$(cd "$here/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "$0: needs root (uWSGI drops privileges to www-data)" >&2
  exit 1
fi
if ! command -v ansible-playbook >/dev/null 2>&1; then
  echo "== installing ansible-core (Debian's package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ansible-core \
    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends ansible-core; }
fi

tmp=$(mktemp -d)
root="$tmp/root"
uwsgi=$(realpath /usr/bin/uwsgi)

# Every live uWSGI process whose command line names the root (masters,
# workers): proven to be uWSGI by /proc/PID/exe before anything else.
root_processes() {
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$(readlink "$dir/exe" 2>/dev/null)" = "$uwsgi" ] || continue
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "$dir/status" 2>/dev/null)
    [ "$state" != Z ] || continue   # PID 1 here reaps no orphans: a zombie is dead
    if tr '\0' '\n' < "$dir/cmdline" 2>/dev/null | grep -qF -- "$root"; then
      echo "$pid"
    fi
  done
}

cleanup() {
  status=$?
  "$binary" stop --root "$root" >/dev/null 2>&1 || true
  for pid in $(root_processes); do
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# --- the tree, laid out as tests/common/live.rs does ---------------------

chmod 755 "$tmp"
mkdir -p "$root/etc/uwsgi/apps-available" "$root/etc/uwsgi/apps-enabled" \
  "$root/etc/uwsgi/extras-available" "$root/etc/uwsgi/extras-enabled" \
  "$root/etc/default" "$root/usr/share/uwsgi/conf" "$root/srv"
chmod -R 755 "$root"

# Four ports of 127.0.0.1 that were free a moment ago (held together, so
# they differ).
# shellcheck disable=SC2046
set -- $(python3 -c '
import socket
held = [socket.socket() for _ in range(4)]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))
')
port_hello=$1 port_other=$2 port_fresh=$3 port_side=$4

# The WSGI app: GREETING (from the app's config) and the app's name.
cat > "$root/srv/app.py" <<'EOF'
import os

def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    greeting = os.environ.get('GREETING', 'hello')
    return [(greeting + ' ' + os.environ.get('UWSGI_DEB_CONFNAME', '?')).encode()]
EOF

# Debian's default.ini, with its paths in the root and one worker.
run="$root/run/uwsgi"
cat > "$root/usr/share/uwsgi/conf/default.ini" <<EOF
[uwsgi]
declare-option = deb-confnamespace=\$1
declare-option = deb-confname=\$1
master = true
processes = 1
no-orphans = true
pidfile = $run/%(deb-confnamespace)/%(deb-confname)/pid
socket = $run/%(deb-confnamespace)/%(deb-confname)/socket
chown-socket = www-data
chmod-socket = 660
log-date = true
uid = www-data
gid = www-data
EOF
printf 'INHERITED_CONFIG=/usr/share/uwsgi/conf/default.ini\n' > "$root/etc/default/uwsgi"

# app CONFIG_DIR NAME PORT [WSGI_FILE]: an available (not enabled) app.
app() {
  cat > "$root/etc/uwsgi/$1/$2.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$3
wsgi-file = ${4:-$root/srv/app.py}
need-app = true
EOF
  chmod 644 "$root/etc/uwsgi/$1/$2.ini"
}
app apps-available other "$port_other"
app apps-available fresh "$port_fresh"
app apps-available broken "$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" "$root/srv/missing.py"
app apps-available unsafe "$port_other"
chmod 666 "$root/etc/uwsgi/apps-available/unsafe.ini"
app extras-available side "$port_side"
# hello's config is the playbook's (converge.yml), as a template would be.

# Whether uwsgi-apps is installed where the modules look when binary= is
# not given: only then can "not found" be tested.
installed=false
for dir in $(echo "$PATH" | tr ':' ' ') /usr/sbin /usr/local/sbin /sbin; do
  [ -x "$dir/uwsgi-apps" ] && installed=true
done

cat > "$tmp/vars.json" <<EOF
{"root": "$root", "binary": "$binary", "wsgi_file": "$root/srv/app.py", "port_hello": $port_hello,
 "port_other": $port_other, "port_fresh": $port_fresh, "port_side": $port_side,
 "installed": $installed}
EOF

# --- running playbooks ---------------------------------------------------

export ANSIBLE_CONFIG="$here/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$collections"
export ANSIBLE_LOCAL_TEMP="$tmp/ansible-local"
export ANSIBLE_REMOTE_TEMP="$tmp/ansible-remote"
export ANSIBLE_NOCOLOR=1

# play NAME [ARGS…]: run playbooks/NAME.yml; its output is in $tmp/NAME.out
# (and on stdout), its exit status in $rc, its recap in $recap.
play() {
  name=$1
  shift
  echo "== ansible-playbook $name.yml $*"
  started=$(date +%s.%N)
  rc=0
  ansible-playbook -i "$here/inventory" -e "@$tmp/vars.json" "$@" \
    "$here/playbooks/$name.yml" > "$tmp/$name.out" 2>&1 || rc=$?
  cat "$tmp/$name.out"
  recap=$(sed -n 's/^localhost[[:space:]]*:[[:space:]]*//p' "$tmp/$name.out" | tr -s ' ')
  echo "== $name.yml: exit $rc, $recap ($(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s)"
  if grep -q 'Traceback' "$tmp/$name.out"; then
    fail "$name.yml: a Python traceback reached the output"
  fi
}

# expect KEY=VALUE…: the last recap has these counts.
expect() {
  for pair in "$@"; do
    case " $recap " in
      *" $pair "*) ;;
      *) fail "expected $pair in the recap: $recap" ;;
    esac
  done
}

# answers PORT TEXT: the app on PORT answers HTTP with exactly TEXT.
answers() {
  body=$(curl -sS --max-time 5 "http://127.0.0.1:$1/") || fail "no HTTP answer on port $1"
  [ "$body" = "$2" ] || fail "port $1 answered '$body', not '$2'"
}

silent() {
  if curl -s --max-time 2 "http://127.0.0.1:$1/" >/dev/null; then
    fail "port $1 still answers"
  fi
}

# Everything on disk under the root but the locks uwsgi-apps takes (a
# lock is not a change): type, mode, link target, content digest.
snapshot() {
  (cd "$root" && find . -path ./run/uwsgi-apps -prune -o -printf '%p %y %m %l\n' | sort)
  (cd "$root" && find . -path ./run/uwsgi-apps -prune -o -type f -exec md5sum {} + | sort)
}

# The PIDs of the workers of the master in the pidfile of app NAME.
workers() {
  master=$(cat "$run/app/$1/pid")
  ps -o pid= --ppid "$master" | tr -d ' ' | sort | tr '\n' ' '
}

# 1. Check mode on a fresh app: "changed" reported, nothing on disk, no
#    process.
snapshot > "$tmp/before"
play check --check --diff
[ "$rc" -eq 0 ] || fail "check.yml failed"
expect changed=1 failed=0
snapshot > "$tmp/after"
diff -u "$tmp/before" "$tmp/after" || fail "check mode changed the tree"
[ -z "$(root_processes)" ] || fail "check mode started uWSGI: $(root_processes)"
grep -q '^+ *"enabled": true' "$tmp/check.out" || fail "check mode's diff does not show the enabling"

# 2. A config and an app that runs, twice: changed, then nothing changed.
play converge --diff -e greeting=hello
[ "$rc" -eq 0 ] || fail "converge.yml failed"
expect changed=4 failed=0
answers "$port_hello" "hello hello"
answers "$port_other" "hello other"
play converge --diff -e greeting=hello
[ "$rc" -eq 0 ] || fail "converge.yml failed the second time"
expect changed=0 failed=0
answers "$port_hello" "hello hello"

# 3. The config changes: the handler reloads hello (with wait), and only
#    hello: its new workers serve the new config as soon as the play ends;
#    other's worker is the one it had.
hello_master=$(cat "$run/app/hello/pid")
hello_workers=$(workers hello)
other_workers=$(workers other)
play converge --diff -e greeting=howdy
[ "$rc" -eq 0 ] || fail "converge.yml failed with a new config"
expect changed=2 failed=0
grep -q 'RUNNING HANDLER \[Reload uwsgi app\]' "$tmp/converge.out" || fail "the handler did not run"
answers "$port_hello" "howdy hello"
[ "$(cat "$run/app/hello/pid")" = "$hello_master" ] || fail "hello was restarted, not reloaded"
[ "$(workers hello)" != "$hello_workers" ] || fail "hello's workers were not reloaded"
[ "$(workers other)" = "$other_workers" ] || fail "the handler reloaded other too"

# 4. Every task's result, the errors, the info module (asserted inside).
play tasks --diff
[ "$rc" -eq 0 ] || fail "tasks.yml failed"
answers "$port_fresh" "hello fresh"
silent "$port_side"

# 5. A broken app fails the play, with its log's tail and no traceback.
play broken
[ "$rc" -eq 2 ] || fail "broken.yml: ansible-playbook exited $rc, not 2 (a failed task)"
expect failed=1
grep -q 'last lines of its log' "$tmp/broken.out" || fail "no log tail in the failure"
grep -q 'no app loaded. GAME OVER' "$tmp/broken.out" || fail "the log tail lacks uWSGI's reason"

# 6. Disabled and stopped: gone (no process, no link, no answer), and a
#    second time nothing changes.
play teardown --diff
[ "$rc" -eq 0 ] || fail "teardown.yml failed"
expect changed=1 failed=0
[ -z "$(root_processes)" ] || fail "uWSGI still runs: $(root_processes)"
[ -z "$(find "$root/etc/uwsgi/apps-enabled" "$root/etc/uwsgi/extras-enabled" -mindepth 1)" ] \
  || fail "apps are still enabled: $(find "$root/etc/uwsgi" -path '*-enabled/*')"
silent "$port_hello"
silent "$port_other"
silent "$port_fresh"

echo "ansible: 6 passed, 0 failed"
