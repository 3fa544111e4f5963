#!/bin/sh
# End-to-end test of the Debian package, on this machine, as an
# administrator and a dependent package would use it:
#
#   tests/package/e2e.sh [PATH/TO/uwsgi-apps_VERSION_ARCH.deb]
#
# Without a .deb it builds one (scripts/build-deb). Then: lintian, install
# with apt-get (which pulls uwsgi-core), install uwsgi-plugin-python3, drop an
# app into /etc/uwsgi/apps-available, enable, start, answer HTTP, status,
# reload, stop, disable; check that the package's postinst restarts the
# enabled apps on upgrade and that a broken app does not fail it; build a
# fake package that depends on "uwsgi" and uses the maintainer-script helper,
# and install, remove, reinstall and purge it, with the administrator's
# disable respected across a reinstall; purge uwsgi-apps.
#
# Runs as root on a disposable CI machine. It refuses to run where uwsgi,
# uwsgi-apps or any enabled app is already installed, and it restores the
# machine at the end, also when a step fails: instances stopped, both
# packages purged, every file it made removed, policy-rc.d put back, and the
# Debian packages it pulled in purged again.
#
# policy-rc.d: a container's /usr/sbin/policy-rc.d usually forbids starting
# services, and without a runlevel invoke-rc.d would not start them either,
# so that maintainer scripts would never start anything here. For the
# duration of the test it is replaced by one that allows every action, as on
# a booted machine.
set -eu
cd "$(dirname "$0")/../.."

PORT="${E2E_PORT:-18731}"
DEMO_PORT=$((PORT + 1))
FAKE_PKG=uwsgi-apps-e2e-demo
AVAILABLE=/etc/uwsgi/apps-available
ENABLED=/etc/uwsgi/apps-enabled
SRV=/srv/uwsgi-apps-e2e
export DEBIAN_FRONTEND=noninteractive

say() { printf '\n== %s\n' "$*"; }
pass() { printf 'ok - %s\n' "$*"; }
fail() {
    printf 'e2e: FAIL: %s\n' "$*" >&2
    exit 1
}
# expect_status CODE DESCRIPTION COMMAND...: run COMMAND, demand exit CODE.
expect_status() {
    want=$1
    what=$2
    shift 2
    got=0
    "$@" || got=$?
    [ "$got" -eq "$want" ] || fail "$what: '$*' exited $got, expected $want"
    pass "$what"
}
installed() {
    [ "$(dpkg-query -f '${db:Status-Status}' -W "$1" 2>/dev/null)" = installed ]
}
# The pid of an instance's master, if it runs (the front end's pidfile, and
# a live uWSGI process behind it).
instance_pid() {
    pidfile="/run/uwsgi/app/$1/pid"
    [ -r "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
        */uwsgi-core | */uwsgi) echo "$pid" ;;
        *) return 1 ;;
    esac
}
http_get() {
    curl -fsS --max-time 5 "http://127.0.0.1:$1/"
}
# wait_http PORT TEXT: uWSGI's reload is asynchronous; poll until the app
# answers with TEXT again, for at most 20 s.
wait_http() {
    i=0
    while [ "$i" -lt 100 ]; do
        if http_get "$1" 2>/dev/null | grep -q "$2"; then
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
# link_of NAME: where apps-enabled/NAME.ini points, or nothing.
link_of() {
    readlink "$ENABLED/$1.ini" 2>/dev/null || true
}

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs and purges packages)"
for p in uwsgi uwsgi-apps "$FAKE_PKG"; do
    if installed "$p"; then
        fail "package $p is installed: this test would purge it; run it on a disposable machine"
    fi
done
for entry in "$ENABLED"/* "$ENABLED"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    [ "${entry##*/}" = README ] && continue
    fail "$ENABLED is not empty: this test would interfere with real apps"
done
for f in hello.ini broken.ini e2e-demo.ini; do
    [ ! -e "$AVAILABLE/$f" ] || fail "$AVAILABLE/$f exists already"
done

WORK="$(mktemp -d /tmp/uwsgi-apps-e2e.XXXXXX)"
# Whatever apt-get pulls in (uwsgi-core, uwsgi-plugin-python3, logrotate and
# their dependencies, when they were not there) is purged at the end.
installed_packages() {
    dpkg-query -W -f '${db:Status-Status} ${Package}\n' | sed -n 's/^installed //p' | LC_ALL=C sort
}
installed_packages >"$WORK/packages.before"
POLICY=/usr/sbin/policy-rc.d

cleanup() {
    status=$?
    set +e
    say "cleaning up"
    for name in hello broken e2e-demo; do
        if [ -x /usr/sbin/uwsgi-apps ]; then
            /usr/sbin/uwsgi-apps stop "$name" >/dev/null 2>&1
        fi
        # Whatever the front end could not stop: its pidfile names the master.
        if pid=$(instance_pid "$name"); then
            kill -INT "$pid" 2>/dev/null
            i=0
            while [ "$i" -lt 50 ] && kill -0 "$pid" 2>/dev/null; do
                sleep 0.2
                i=$((i + 1))
            done
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    if installed "$FAKE_PKG" || dpkg-query -W "$FAKE_PKG" >/dev/null 2>&1; then
        dpkg --purge "$FAKE_PKG" >/dev/null 2>&1
    fi
    rm -f "$AVAILABLE/hello.ini" "$AVAILABLE/broken.ini" \
        "$ENABLED/hello.ini" "$ENABLED/broken.ini" "$ENABLED/e2e-demo.ini"
    if dpkg-query -W uwsgi-apps >/dev/null 2>&1; then
        dpkg --purge uwsgi-apps >/dev/null 2>&1
    fi
    for name in hello broken e2e-demo; do
        rm -f /var/log/uwsgi/app/"$name".log*
        rm -rf "/run/uwsgi/app/$name"
        for kind in enabled_by_admin enabled_by_maint disabled_by_admin disabled_by_maint; do
            rm -f "/var/lib/uwsgi/app/$kind/$name"
        done
    done
    for d in /var/log/uwsgi/app /var/log/uwsgi /run/uwsgi/app /run/uwsgi \
        /var/lib/uwsgi/app/enabled_by_admin /var/lib/uwsgi/app/enabled_by_maint \
        /var/lib/uwsgi/app/disabled_by_admin /var/lib/uwsgi/app/disabled_by_maint \
        /var/lib/uwsgi/app /var/lib/uwsgi "$ENABLED" "$AVAILABLE" /etc/uwsgi; do
        rmdir "$d" 2>/dev/null
    done
    rm -rf "$SRV"
    if [ -e "$WORK/policy-rc.d.saved" ]; then
        mv -f "$WORK/policy-rc.d.saved" "$POLICY"
    elif [ -e "$WORK/policy-rc.d.ours" ]; then
        rm -f "$POLICY"
    fi
    installed_packages >"$WORK/packages.after"
    pulled=$(LC_ALL=C comm -13 "$WORK/packages.before" "$WORK/packages.after" | tr '\n' ' ')
    if [ -n "$pulled" ]; then
        echo "purging what the test installed: $pulled"
        # shellcheck disable=SC2086 # a list of package names
        apt-get purge -y -q $pulled >/dev/null 2>&1
    fi
    rm -rf "$WORK"
    if [ "$status" -eq 0 ]; then
        echo "e2e: all passed"
    else
        echo "e2e: FAILED (exit $status)" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Allow maintainer scripts to start services (see the header).
if [ -e "$POLICY" ]; then
    cp -p "$POLICY" "$WORK/policy-rc.d.saved"
else
    : >"$WORK/policy-rc.d.ours"
fi
printf '#!/bin/sh\n# uwsgi-apps e2e test: allow every action (restored afterwards)\nexit 0\n' >"$POLICY"
chmod 0755 "$POLICY"

say "the package"
DEB="${1:-}"
if [ -z "$DEB" ]; then
    DEB="$(sh scripts/build-deb)"
fi
DEB="$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")"
[ -f "$DEB" ] || fail "no package at $DEB"
echo "$DEB"
expect_status 0 "lintian reports no error and no warning" \
    lintian --fail-on error,warning "$DEB"

say "install it with apt-get (pulls uwsgi-core)"
apt-get install -y -q "$DEB"
installed uwsgi-apps || fail "uwsgi-apps is not installed"
installed uwsgi-core || fail "uwsgi-core was not pulled in"
for f in /usr/sbin/uwsgi-apps /etc/init.d/uwsgi; do
    [ -x "$f" ] || fail "$f is missing or not executable"
done
for applet in uwsgi-enapp uwsgi-disapp uwsgi-query; do
    [ "$(readlink "/usr/sbin/$applet")" = uwsgi-apps ] || fail "/usr/sbin/$applet is not a link to uwsgi-apps"
done
for f in /etc/default/uwsgi /usr/share/uwsgi/conf/default.ini /etc/logrotate.d/uwsgi \
    "$AVAILABLE/README" "$ENABLED/README" \
    /usr/share/uwsgi-apps/uwsgi-apps-maintscript-helper \
    /usr/share/man/man8/uwsgi-enapp.8.gz \
    /usr/share/bash-completion/completions/uwsgi-enapp \
    /usr/share/zsh/vendor-completions/_uwsgi-apps \
    /usr/share/fish/vendor_completions.d/uwsgi-disapp.fish \
    /usr/share/fish/vendor_functions.d/__uwsgi_apps_names.fish; do
    [ -e "$f" ] || fail "$f is missing"
done
[ -d /var/log/uwsgi/app ] || fail "/var/log/uwsgi/app is missing"
ls /etc/rc2.d/S??uwsgi >/dev/null 2>&1 || fail "update-rc.d did not link /etc/init.d/uwsgi into rc2.d"
pass "installed: the program, its links, the init script, settings, defaults, completions, man pages"

say "install uwsgi-plugin-python3"
apt-get install -y -q uwsgi-plugin-python3

say "an administrator drops an app into $AVAILABLE"
mkdir -p "$SRV"
cat >"$SRV/hello.py" <<'PY'
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello from the uwsgi-apps package\n"]
PY
cat >"$AVAILABLE/hello.ini" <<INI
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$PORT
wsgi-file = $SRV/hello.py
need-app = true
INI

expect_status 0 "uwsgi-enapp hello" uwsgi-enapp hello
[ "$(link_of hello)" = ../apps-available/hello.ini ] || fail "apps-enabled/hello.ini is not a relative link to ../apps-available/hello.ini"
pass "the link is relative"
expect_status 0 "uwsgi-query hello: enabled" uwsgi-query -q hello
uwsgi-query hello | grep -q "enabled by site administrator" || fail "uwsgi-query does not say who enabled hello"

expect_status 0 "service uwsgi start hello" service uwsgi start hello
http_get "$PORT" | grep -q "Hello from the uwsgi-apps package" || fail "hello does not answer HTTP on port $PORT"
pass "hello answers HTTP"
pid=$(instance_pid hello) || fail "no running master behind /run/uwsgi/app/hello/pid"
[ "$(ps -o user= -p "$(pgrep -P "$pid" | head -n 1)")" = www-data ] || fail "hello's workers do not run as www-data (default.ini)"
[ -S /run/uwsgi/app/hello/socket ] || fail "default.ini did not put the socket at /run/uwsgi/app/hello/socket"
[ "$(stat -c '%a %U' /run/uwsgi/app/hello/socket)" = "660 www-data" ] || fail "the socket is not mode 660 owned by www-data"
pass "default.ini: workers as www-data, socket 660 www-data in /run/uwsgi/app/hello/"
expect_status 0 "service uwsgi status hello" service uwsgi status hello

expect_status 0 "service uwsgi reload hello" service uwsgi reload hello
wait_http "$PORT" "Hello from" || fail "hello does not answer after its reload"
[ "$(instance_pid hello)" = "$pid" ] || fail "the master changed on a graceful reload"
pass "hello answers again after the reload, same master"

expect_status 0 "service uwsgi stop hello" service uwsgi stop hello
kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ] && fail "hello's master $pid still runs"
expect_status 3 "service uwsgi status hello: not running" service uwsgi status hello
if http_get "$PORT" >/dev/null 2>&1; then fail "something still answers on port $PORT"; fi

expect_status 0 "uwsgi-disapp hello" uwsgi-disapp hello
[ -z "$(link_of hello)" ] || fail "apps-enabled/hello.ini is still there"
expect_status 32 "uwsgi-query hello: disabled by the administrator" uwsgi-query -q hello

say "an upgrade restarts the enabled apps; a broken one does not fail dpkg --configure"
cat >"$AVAILABLE/broken.ini" <<INI
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$DEMO_PORT
wsgi-file = $SRV/does-not-exist.py
need-app = true
INI
uwsgi-enapp -q hello broken
expect_status 0 "apt-get install --reinstall (configure with an old version: restart)" \
    apt-get install -y -q --reinstall "$DEB"
instance_pid hello >/dev/null || fail "the postinst did not start hello"
instance_pid broken >/dev/null && fail "broken runs although its app cannot load"
expect_status 0 "hello runs after the upgrade" service uwsgi status hello
http_get "$PORT" | grep -q "Hello from" || fail "hello does not answer after the upgrade"
service uwsgi stop hello broken >/dev/null || true
uwsgi-disapp -q hello broken
rm -f "$AVAILABLE/broken.ini"

say "a package that depends on uwsgi and enables its app with the helper"
fake="$WORK/fake"
mkdir -p "$fake/DEBIAN" "$fake/etc/uwsgi/apps-available" "$fake/usr/share/$FAKE_PKG"
cat >"$fake/DEBIAN/control" <<EOF
Package: $FAKE_PKG
Version: 1.0
Architecture: all
Maintainer: uwsgi-apps developers <dev@uwsgi-apps.invalid>
Depends: uwsgi
Description: uwsgi-apps end-to-end test: an app shipped by a package
 Built and purged by tests/package/e2e.sh.
EOF
echo "/etc/uwsgi/apps-available/e2e-demo.ini" >"$fake/DEBIAN/conffiles"
cat >"$fake/usr/share/$FAKE_PKG/app.py" <<'PY'
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello from a packaged app\n"]
PY
cat >"$fake/etc/uwsgi/apps-available/e2e-demo.ini" <<INI
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$DEMO_PORT
wsgi-file = /usr/share/$FAKE_PKG/app.py
need-app = true
INI
for script in postinst prerm postrm; do
    case $script in
        postinst) call="uwsgi_apps_invoke enapp e2e-demo" ;;
        *) call="uwsgi_apps_invoke disapp e2e-demo" ;;
    esac
    cat >"$fake/DEBIAN/$script" <<EOF
#!/bin/sh
set -e
if [ -e /usr/share/uwsgi-apps/uwsgi-apps-maintscript-helper ]; then
    . /usr/share/uwsgi-apps/uwsgi-apps-maintscript-helper
    $call
fi
exit 0
EOF
    chmod 0755 "$fake/DEBIAN/$script"
done
dpkg-deb --root-owner-group --build "$fake" "$WORK/$FAKE_PKG.deb" >/dev/null

expect_status 0 "install the package (its Depends: uwsgi is satisfied by uwsgi-apps)" \
    apt-get install -y -q "$WORK/$FAKE_PKG.deb"
[ "$(link_of e2e-demo)" = ../apps-available/e2e-demo.ini ] || fail "the helper did not enable e2e-demo"
uwsgi-query e2e-demo | grep -q "enabled by maintainer script" || fail "e2e-demo is not marked as enabled by a maintainer script"
wait_http "$DEMO_PORT" "packaged app" || fail "the helper did not start e2e-demo"
pass "enabled and started on first install"

expect_status 0 "remove the package" dpkg --remove "$FAKE_PKG"
[ -z "$(link_of e2e-demo)" ] || fail "removing the package did not disable e2e-demo"
instance_pid e2e-demo >/dev/null && fail "removing the package did not stop e2e-demo"
expect_status 33 "uwsgi-query e2e-demo: disabled by a maintainer script" uwsgi-query -q e2e-demo

expect_status 0 "install it again" dpkg --install "$WORK/$FAKE_PKG.deb"
[ -n "$(link_of e2e-demo)" ] || fail "reinstalling did not enable e2e-demo again"
wait_http "$DEMO_PORT" "packaged app" || fail "reinstalling did not start e2e-demo"
pass "enabled again after a reinstall"

say "the administrator disables it: the choice survives a reinstall"
service uwsgi stop e2e-demo >/dev/null
expect_status 0 "uwsgi-disapp e2e-demo" uwsgi-disapp -q e2e-demo
expect_status 0 "remove the package" dpkg --remove "$FAKE_PKG"
expect_status 0 "install it again" dpkg --install "$WORK/$FAKE_PKG.deb"
[ -z "$(link_of e2e-demo)" ] || fail "the reinstall enabled e2e-demo against the administrator's choice"
instance_pid e2e-demo >/dev/null && fail "the reinstall started e2e-demo against the administrator's choice"
expect_status 32 "uwsgi-query e2e-demo: still disabled by the administrator" uwsgi-query -q e2e-demo
expect_status 0 "upgrade (configure again)" dpkg --install "$WORK/$FAKE_PKG.deb"
[ -z "$(link_of e2e-demo)" ] || fail "an upgrade enabled e2e-demo against the administrator's choice"
pass "still disabled after a reinstall and an upgrade"

say "purge the package: its markers go"
expect_status 0 "purge the package" dpkg --purge "$FAKE_PKG"
for kind in enabled_by_admin enabled_by_maint disabled_by_admin disabled_by_maint; do
    [ ! -e "/var/lib/uwsgi/app/$kind/e2e-demo" ] || fail "marker $kind/e2e-demo is left after the purge"
done
expect_status 1 "uwsgi-query e2e-demo: unknown" uwsgi-query -q e2e-demo

say "removing uwsgi-apps stops the apps; purging it removes its state"
uwsgi-enapp -q hello
service uwsgi start hello >/dev/null
pid=$(instance_pid hello) || fail "hello did not start"
expect_status 0 "apt-get remove uwsgi-apps" apt-get remove -y -q uwsgi-apps
if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; then
    fail "removing uwsgi-apps left hello running (pid $pid)"
fi
pass "the prerm stopped hello"
rm -f "$ENABLED/hello.ini" "$AVAILABLE/hello.ini"
expect_status 0 "apt-get purge uwsgi-apps" apt-get purge -y -q uwsgi-apps
[ ! -e /usr/sbin/uwsgi-apps ] || fail "/usr/sbin/uwsgi-apps is left after the purge"
[ ! -e /etc/init.d/uwsgi ] || fail "/etc/init.d/uwsgi is left after the purge"
[ ! -e /var/lib/uwsgi ] || fail "/var/lib/uwsgi (state markers) is left after the purge"
if ls /etc/rc2.d/S??uwsgi >/dev/null 2>&1; then fail "the rc links are left after the purge"; fi
pass "purged"
