#!/bin/sh
# Lint the Ansible collection with Ansible's own tools (scripts/test.sh, and
# so CI, runs this):
#
#  * ansible-lint (Debian's package), on the collection (production
#    profile) and on the test playbooks;
#  * ansible-test sanity, every test, on a copy of the collection laid out
#    as ansible-test needs it (ansible_collections/uwsgi_apps/uwsgi), so that
#    nothing of a checkout (git's file list, tests/output) leaks in.
#
# ansible-test installs its own pinned linters (pylint, pycodestyle,
# yamllint, voluptuous, ...) from PyPI into virtual environments under
# ~/.ansible/test. It puts pip into each with a get-pip script that it
# downloads from Ansible's CI file server, which this machine cannot reach;
# as its own error message suggests, the script is put in its cache
# beforehand: here a stand-in that runs pip from pip's wheel, which comes
# from PyPI like everything else. The first run takes a couple of minutes
# (downloads); later ones reuse the environments.
#
#   sh ansible/tests/lint.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
collection="$here/../ansible_collections/uwsgi_apps/uwsgi"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== ansible-lint: the collection"
(cd "$collection" && ansible-lint --nocolor)

echo "== ansible-lint: the test playbooks"
(cd "$here" && ANSIBLE_CONFIG="$here/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$here/.." \
  ansible-lint --nocolor playbooks/*.yml)

# The pip that ansible-test 2.14 (Debian 12's ansible-core) bootstraps.
pip_version=21.3.1
cache="$HOME/.ansible/test/cache"
stand_in="$cache/get_pip_$(echo "$pip_version" | tr . _).py"
if [ ! -f "$stand_in" ]; then
  mkdir -p "$cache/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache/wheels" \
    "pip==$pip_version"
  cat > "$stand_in.new" <<EOF
# Stand-in for pypa's get-pip.py $pip_version (written by uwsgi-apps'
# ansible/tests/lint.sh): pip, run from its wheel, installs what the
# command line names, as get-pip.py does.
import sys
sys.path.insert(0, '$cache/wheels/pip-$pip_version-py3-none-any.whl')
from pip._internal.cli.main import main
sys.exit(main(['install', '--upgrade', '--force-reinstall'] + sys.argv[1:]))
EOF
  mv "$stand_in.new" "$stand_in"
fi

echo "== ansible-test sanity"
mkdir -p "$tmp/ansible_collections/uwsgi_apps/uwsgi"
(cd "$collection" && tar --exclude=./tests/output -cf - .) \
  | (cd "$tmp/ansible_collections/uwsgi_apps/uwsgi" && tar -xf -)
# Debian's Python, the one ansible-test itself runs on.
version=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
(cd "$tmp/ansible_collections/uwsgi_apps/uwsgi" \
  && ansible-test sanity --color no --python "$version" --python-interpreter /usr/bin/python3)

echo "ansible-lint and ansible-test sanity: clean"
