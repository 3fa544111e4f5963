#!/bin/sh
# Make a runnable copy of Debian's /etc/init.d/uwsgi (package `uwsgi`)
# whose every path points under ROOT, so that it can be compared with
# `uwsgi-apps --root ROOT initd` on the same tree without touching the real
# /etc, /run or /var.
#
# usage: bench/debian-initd.sh ROOT OUTDIR [EXTRACTED_DEB]
#   EXTRACTED_DEB: where the `uwsgi` .deb is unpacked (dpkg-deb -x); when not
#   given, it is downloaded with `apt-get download uwsgi` into OUTDIR.
# prints the path of the init script to run.
set -eu
root=$1
out=$2
deb=${3:-}
mkdir -p "$out"
if [ -z "$deb" ]; then
    deb=$out/deb
    if [ ! -f "$deb/etc/init.d/uwsgi" ]; then
        (cd "$out" && apt-get download uwsgi >/dev/null 2>&1) || {
            echo "cannot download the uwsgi package (apt-get download uwsgi)" >&2
            exit 1
        }
        dpkg-deb -x "$out"/uwsgi_*.deb "$deb"
    fi
fi
mkdir -p "$out/init"
for f in snippets specific_daemon do_command; do
    sed -e "s:/usr/share/uwsgi/init/:$out/init/:g" \
        -e "s:/var/log/uwsgi/:$root/var/log/uwsgi/:g" \
        "$deb/usr/share/uwsgi/init/$f" >"$out/init/$f"
done
# Debian's script takes INHERITED_CONFIG as a real path, uwsgi-apps takes it
# inside the root: give Debian's copy its own settings file with the root
# prefixed.
settings=$root/etc/default/uwsgi
: >"$out/default"
if [ -f "$settings" ]; then
    sed -e "s:^\(export \)\{0,1\}INHERITED_CONFIG=\([\"']\{0,1\}\)/:INHERITED_CONFIG=\2$root/:" \
        "$settings" >"$out/default"
fi
grep -q '^INHERITED_CONFIG=' "$out/default" ||
    echo "INHERITED_CONFIG=$root/usr/share/uwsgi/conf/default.ini" >>"$out/default"
sed -e "s:^UWSGI_CONFDIR=\"/etc/uwsgi\":UWSGI_CONFDIR=\"$root/etc/uwsgi\":" \
    -e "s:^UWSGI_RUNDIR=\"/run/uwsgi\":UWSGI_RUNDIR=\"$root/run/uwsgi\":" \
    -e "s:/usr/share/uwsgi/init/:$out/init/:g" \
    -e "s:\"/etc/default/\${NAME}\":\"$out/default\":g" \
    "$deb/etc/init.d/uwsgi" >"$out/uwsgi"
chmod +x "$out/uwsgi"
echo "$out/uwsgi"
