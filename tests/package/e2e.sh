#!/bin/sh
# End-to-end test of the Debian package, on this machine, as an
# administrator and a dependent package would use it:
#
#   tests/package/e2e.sh [PATH/TO/uwsgi-apps_VERSION_ARCH.deb]
#
# Without a .deb it builds one (scripts/build-deb). Then: lintian; install
# Debian's own uwsgi package, and install ours over it with apt-get (which
# removes Debian's, and pulls uwsgi-core): the init script must stay
# executable and registered (Debian's postrm clears its executable bits,
# and dpkg keeps a conffile's mode); install uwsgi-plugin-python3, drop an
# app into /etc/uwsgi/apps-available, enable, start, answer HTTP, status,
# reload, stop, disable; check that the package's postinst starts the
# enabled apps on reinstall and on upgrade (to a copy of the package with a
# higher version), that a broken app does not fail it, and that an
# administrator's chmod -x of the script survives both; rotate the logs of
# two namespaces; build a fake package that depends on "uwsgi" and uses
# the maintainer-script helper, and install, remove, reinstall and purge it,
# with the administrator's disable respected across a reinstall and a start
# that policy-rc.d forbids said to be forbidden; purge uwsgi-apps; install
# Debian's uwsgi again and purge it; then switch between the two packages
# every way apt-get and dpkg do it, the script executable every time.
#
# Runs as root on a disposable CI machine. It refuses to run where uwsgi,
# uwsgi-apps or any enabled app is installed (or uwsgi's configuration is
# left from a removal), and it restores the machine at the end, also when a
# step fails: instances stopped, both packages purged, every file it made
# removed, policy-rc.d put back, and the Debian packages it pulled in purged
# again.
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
# A second namespace's logs, for logrotate (no instance runs there).
LOG_NS_DIR=/var/log/uwsgi/e2e-ns
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
# known PACKAGE: dpkg has any trace of it (installed, or configuration left).
known() {
    case "$(dpkg-query -f '${db:Status-Status}' -W "$1" 2>/dev/null)" in
        "" | not-installed) return 1 ;;
        *) return 0 ;;
    esac
}
mode_of() {
    stat -c %a "$1"
}
# ours_is_the_init_script WHEN: /etc/init.d/uwsgi is our script, 0755, and
# works: it runs uwsgi-apps (whose output starts with Debian's wording),
# and it is registered for boot.
ours_is_the_init_script() {
    grep -qF 'exec /usr/sbin/uwsgi-apps initd' /etc/init.d/uwsgi ||
        fail "$1: /etc/init.d/uwsgi is not uwsgi-apps' script"
    [ "$(mode_of /etc/init.d/uwsgi)" = 755 ] ||
        fail "$1: /etc/init.d/uwsgi is mode $(mode_of /etc/init.d/uwsgi), not 755"
    out=$(service uwsgi status 2>&1) || true
    case "$out" in
        *"unrecognized service"*) fail "$1: service uwsgi status: $out" ;;
    esac
    ls /etc/rc2.d/S??uwsgi >/dev/null 2>&1 || fail "$1: /etc/init.d/uwsgi is not linked into rc2.d"
    pass "$1: /etc/init.d/uwsgi is ours, 0755, runs and starts at boot"
}
# debians_is_the_init_script WHEN: the same for Debian's uwsgi package.
debians_is_the_init_script() {
    if grep -qF 'uwsgi-apps' /etc/init.d/uwsgi; then
        fail "$1: /etc/init.d/uwsgi is still uwsgi-apps' script"
    fi
    [ "$(mode_of /etc/init.d/uwsgi)" = 755 ] ||
        fail "$1: /etc/init.d/uwsgi is mode $(mode_of /etc/init.d/uwsgi), not 755"
    out=$(service uwsgi start 2>&1) || fail "$1: service uwsgi start failed: $out"
    case "$out" in
        *"Starting app server(s): uwsgi"*) ;;
        *) fail "$1: service uwsgi start said: $out" ;;
    esac
    ls /etc/rc2.d/S??uwsgi >/dev/null 2>&1 || fail "$1: /etc/init.d/uwsgi is not linked into rc2.d"
    pass "$1: /etc/init.d/uwsgi is Debian's, 0755, runs and starts at boot"
}
# machine_is_clean WHEN: nothing of either package is left.
machine_is_clean() {
    for p in uwsgi uwsgi-apps; do
        if known "$p"; then fail "$1: dpkg still knows $p"; fi
    done
    for f in /etc/init.d/uwsgi /etc/default/uwsgi /etc/logrotate.d/uwsgi /etc/uwsgi \
        /usr/sbin/uwsgi-apps /var/lib/uwsgi /var/lib/uwsgi-apps; do
        [ ! -e "$f" ] || fail "$1: $f is left"
    done
    if ls /etc/rc?.d/[SK]??uwsgi >/dev/null 2>&1; then fail "$1: boot links of uwsgi are left"; fi
    pass "$1: nothing of uwsgi or uwsgi-apps is left"
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
    if known "$p"; then
        fail "package $p is installed (or its configuration is left): this test would purge it; run it on a disposable machine"
    fi
done
[ ! -e /etc/init.d/uwsgi ] || fail "/etc/init.d/uwsgi exists: this test would replace it"
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
    for p in uwsgi-apps uwsgi; do
        if known "$p"; then
            dpkg --purge "$p" >/dev/null 2>&1
        fi
    done
    rm -rf "$LOG_NS_DIR"
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
# The same package with a higher version, for an upgrade: only the version
# in its control file differs, which is all dpkg looks at.
version=$(dpkg-deb -f "$DEB" Version)
UPGRADE_DEB="$WORK/uwsgi-apps_${version}+e2e1.deb"
dpkg-deb -R "$DEB" "$WORK/upgrade"
sed -i "s/^Version: .*/Version: ${version}+e2e1/" "$WORK/upgrade/DEBIAN/control"
dpkg-deb --build "$WORK/upgrade" "$UPGRADE_DEB" >/dev/null
rm -rf "$WORK/upgrade"

say "Debian's uwsgi package first, then ours over it with apt-get"
apt-get install -y -q uwsgi
debians_is_the_init_script "Debian's uwsgi installed"
apt-get install -y -q "$DEB"
installed uwsgi-apps || fail "uwsgi-apps is not installed"
installed uwsgi-core || fail "uwsgi-core was not pulled in"
[ "$(dpkg-query -f '${db:Status-Status}' -W uwsgi)" = config-files ] ||
    fail "apt-get did not remove Debian's uwsgi"
ours_is_the_init_script "installed over Debian's uwsgi"
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
for f in /lib/systemd/system/uwsgi.service /lib/systemd/system/uwsgi@.service; do
    [ -f "$f" ] || fail "$f is missing"
done
# Enabled for boot (on this host without systemd, as the link it will use).
[ -L /etc/systemd/system/multi-user.target.wants/uwsgi.service ] || fail "uwsgi.service is not enabled"
[ "$(readlink -f /usr/lib/uwsgi-apps/uwsgi-apps-vassal)" = "$(readlink -f /usr/sbin/uwsgi-apps)" ] \
    || fail "/usr/lib/uwsgi-apps/uwsgi-apps-vassal is not uwsgi-apps"
pass "installed: the program, its links, the init script, the units, settings, defaults, completions, man pages"

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

say "configure starts the enabled apps that do not run and leaves running ones alone; a broken one does not fail dpkg --configure"
cat >"$AVAILABLE/broken.ini" <<INI
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$DEMO_PORT
wsgi-file = $SRV/does-not-exist.py
need-app = true
INI
uwsgi-enapp -q hello broken
expect_status 0 "apt-get install --reinstall (configure with an old version)" \
    apt-get install -y -q --reinstall "$DEB"
instance_pid hello >/dev/null || fail "the postinst did not start hello"
instance_pid broken >/dev/null && fail "broken runs although its app cannot load"
expect_status 0 "hello runs after the reinstall" service uwsgi status hello
http_get "$PORT" | grep -q "Hello from" || fail "hello does not answer after the reinstall"
ours_is_the_init_script "reinstalled"
pid=$(instance_pid hello)
expect_status 0 "apt-get install a higher version (upgrade)" \
    apt-get install -y -q "$UPGRADE_DEB"
[ "$(dpkg-query -f '${Version}' -W uwsgi-apps)" = "${version}+e2e1" ] || fail "the upgrade did not happen"
new_pid=$(instance_pid hello) || fail "hello does not run after the upgrade"
# A new uwsgi-apps does not change uWSGI: the app keeps serving.
[ "$new_pid" = "$pid" ] || fail "the upgrade restarted hello ($pid, now $new_pid)"
http_get "$PORT" | grep -q "Hello from" || fail "hello does not answer after the upgrade"
pass "the upgrade left hello running"
ours_is_the_init_script "upgraded"
service uwsgi stop hello broken >/dev/null || true
uwsgi-disapp -q hello broken
rm -f "$AVAILABLE/broken.ini"

say "an administrator's chmod -x of the init script survives a reinstall"
chmod -x /etc/init.d/uwsgi
expect_status 0 "apt-get install --reinstall" apt-get install -y -q --reinstall "$UPGRADE_DEB"
[ "$(mode_of /etc/init.d/uwsgi)" = 644 ] || fail "the reinstall made /etc/init.d/uwsgi executable against the administrator's chmod -x"
pass "still 0644"
chmod +x /etc/init.d/uwsgi

say "logrotate rotates the logs of every namespace; hello goes on logging"
uwsgi-enapp -q hello
service uwsgi start hello >/dev/null
http_get "$PORT" >/dev/null
mkdir -p "$LOG_NS_DIR"
echo "a line of another namespace" >"$LOG_NS_DIR/site.log"
log=/var/log/uwsgi/app/hello.log
inode=$(stat -c %i "$log")
old_size=$(stat -c %s "$log")
[ "$old_size" -gt 0 ] || fail "$log is empty"
expect_status 0 "logrotate -f /etc/logrotate.d/uwsgi" \
    logrotate -f -s "$WORK/logrotate.state" /etc/logrotate.d/uwsgi
[ -s "$log.1" ] || fail "$log was not rotated to $log.1"
[ -s "$LOG_NS_DIR/site.log.1" ] || fail "$LOG_NS_DIR/site.log was not rotated"
[ "$(stat -c %i "$log")" = "$inode" ] || fail "$log is a new file: copytruncate keeps the one uWSGI writes to"
grep -q "Hello from\|GET /" "$log" && fail "$log was not truncated"
http_get "$PORT" >/dev/null
wait_for_line() {
    i=0
    while [ "$i" -lt 50 ]; do
        grep -q "GET /" "$1" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
wait_for_line "$log" || fail "hello does not log into $log after the rotation"
# A file without a hole: uWSGI appends (O_APPEND) instead of writing at its
# old offset, which would make the file as big as before at once.
[ "$(stat -c %s "$log")" -lt "$old_size" ] || fail "$log grew back to its old size: uWSGI writes at its old offset"
pass "rotated in both namespaces; hello logs on into the same, truncated file"
service uwsgi stop hello >/dev/null
uwsgi-disapp -q hello
rm -rf "$LOG_NS_DIR" "$log".*

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

say "purge the package: its markers go, and nothing is stopped that is not there"
dpkg --purge "$FAKE_PKG" >"$WORK/purge.out" 2>&1 || fail "purge the package: $(cat "$WORK/purge.out")"
cat "$WORK/purge.out"
if grep -q "uwsgi ->" "$WORK/purge.out"; then
    fail "the purge ran the init script for an app whose configuration is gone"
fi
pass "purge the package, quietly"
for kind in enabled_by_admin enabled_by_maint disabled_by_admin disabled_by_maint; do
    [ ! -e "/var/lib/uwsgi/app/$kind/e2e-demo" ] || fail "marker $kind/e2e-demo is left after the purge"
done
expect_status 1 "uwsgi-query e2e-demo: unknown" uwsgi-query -q e2e-demo

say "policy-rc.d forbids starts: the helper enables the app and says it did not start it"
printf '#!/bin/sh\n# uwsgi-apps e2e test: deny every action (restored afterwards)\nexit 101\n' >"$POLICY"
dpkg --install "$WORK/$FAKE_PKG.deb" >"$WORK/install.out" 2>&1 || fail "install the package: $(cat "$WORK/install.out")"
cat "$WORK/install.out"
grep -q "not running 'start' of app e2e-demo: forbidden by the local policy" "$WORK/install.out" ||
    fail "the helper did not say that policy-rc.d forbade the start"
[ -n "$(link_of e2e-demo)" ] || fail "the helper did not enable e2e-demo"
instance_pid e2e-demo >/dev/null && fail "e2e-demo was started against policy-rc.d"
pass "enabled, not started, and said so"
printf '#!/bin/sh\n# uwsgi-apps e2e test: allow every action (restored afterwards)\nexit 0\n' >"$POLICY"
expect_status 0 "purge the package" dpkg --purge "$FAKE_PKG"

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

say "back to Debian's uwsgi after purging ours, and purging it leaves nothing"
apt-get install -y -q uwsgi
debians_is_the_init_script "Debian's uwsgi after uwsgi-apps was purged"
expect_status 0 "apt-get purge uwsgi" apt-get purge -y -q uwsgi
machine_is_clean "both purged"

say "switching between the two packages every way apt-get and dpkg do it"
apt-get install -y -q uwsgi
apt-get install -y -q "$DEB"
ours_is_the_init_script "apt-get install uwsgi-apps over uwsgi"
# apt-get removes ours (Conflicts) to install Debian's: our postrm must
# leave the script executable for Debian's package, whose new version of
# the conffile gets the mode it finds.
apt-get install -y -q uwsgi
[ "$(dpkg-query -f '${db:Status-Status}' -W uwsgi-apps)" = config-files ] ||
    fail "apt-get did not remove uwsgi-apps"
debians_is_the_init_script "apt-get install uwsgi over uwsgi-apps"
# Ours again, from its configuration-files state.
apt-get install -y -q "$DEB"
ours_is_the_init_script "apt-get install uwsgi-apps (removed before) over uwsgi"
apt-get install -y -q uwsgi
# dpkg itself removes Debian's package in favour of ours, after unpacking
# ours: its postrm runs between our preinst and postinst.
expect_status 0 "dpkg -i uwsgi-apps over uwsgi" dpkg -i "$DEB"
ours_is_the_init_script "dpkg -i uwsgi-apps over uwsgi"
expect_status 0 "apt-get purge uwsgi-apps" apt-get purge -y -q uwsgi-apps
expect_status 0 "dpkg --purge uwsgi" dpkg --purge uwsgi
machine_is_clean "all purged"
