#!/bin/sh
# The main job, end to end, under a throwaway --root: enable an example app,
# start it with the real uWSGI, show it answering HTTP and its status, then
# stop and disable it. The README's first quick-start command. Needs root
# (the instance runs as www-data, as Debian's default config says).
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
cargo build --quiet
bin="$(pwd)/target/debug"
# The one binary answers to the name it is called by, like coreutils.
for applet in uwsgi-enapp uwsgi-disapp uwsgi-query; do
  ln -sf uwsgi-apps "$bin/$applet"
done

ROOT="$(mktemp -d /tmp/uwsgi-apps-demo.XXXXXX)"
chmod 0755 "$ROOT"          # www-data must reach the app and its socket
export UWSGI_APPS_ROOT="$ROOT"
PORT="${PORT:-8765}"

cleanup() {
  "$bin/uwsgi-apps" stop >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT INT TERM

# Debian's layout under the root: the inherited defaults, one app.
mkdir -p "$ROOT/etc/uwsgi/apps-available" "$ROOT/etc/uwsgi/apps-enabled" \
         "$ROOT/usr/share/uwsgi/conf" "$ROOT/etc/default" "$ROOT/srv/hello"
cat > "$ROOT/usr/share/uwsgi/conf/default.ini" <<INI
[uwsgi]
; Debian's defaults, with the runtime paths moved under the demo root.
; uWSGI turns UWSGI_DEB_CONFNAME* from the environment into these options.
declare-option = deb-confnamespace=\$1
declare-option = deb-confname=\$1
master = true
processes = 2
no-orphans = true
log-date = true
uid = www-data
gid = www-data
socket = $ROOT/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/socket
chmod-socket = 660
INI
cat > "$ROOT/srv/hello/hello.py" <<'PY'
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello from uwsgi-apps\n"]
PY
cat > "$ROOT/etc/uwsgi/apps-available/hello.ini" <<INI
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$PORT
wsgi-file = $ROOT/srv/hello/hello.py
need-app = true
INI

run() { printf '\n$ %s\n' "$*"; "$@"; }

run "$bin/uwsgi-enapp" hello
run ls -l "$ROOT/etc/uwsgi/apps-enabled"
run "$bin/uwsgi-query" hello
run "$bin/uwsgi-apps" initd start hello
run curl -sS "http://127.0.0.1:$PORT/"
run "$bin/uwsgi-apps" status hello
run "$bin/uwsgi-apps" list
run "$bin/uwsgi-apps" initd stop hello
run "$bin/uwsgi-disapp" hello
echo
echo "demo finished: the root $ROOT is removed on exit"
