#!/bin/sh
# Install what building and testing uwsgi-apps needs on a Debian 12 machine.
# Idempotent and quiet when everything is already there.
set -eu

# Debian packages: the real uWSGI and its Python plugin (the tests run it),
# Apache's a2ensite (the registry is compared with it), the packaging tools,
# the shells the completions are loaded in, the measuring tools, and what the
# systemd harness (tests/common/systemd.rs) boots and enters namespaces with:
# systemd itself (installed, never PID 1 of the machine), unshare/nsenter
# (util-linux) and mount; and Ansible, whose playbooks drive the collection
# in ansible/ (ansible-core), with its linters (ansible-lint; ansible-test,
# which comes with ansible-core, makes its virtual environments with
# python3-venv and gets pip's wheel with python3-pip).
PACKAGES="uwsgi-core uwsgi-plugin-python3 apache2 libsqlite3-dev pkg-config
  debhelper dpkg-dev lintian mandoc shellcheck bash-completion zsh fish
  sqlite3 curl time hyperfine procps passwd systemd util-linux mount
  ansible-core ansible-lint python3-venv python3-pip"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
    || missing="$missing $p"
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: need root to install:$missing" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
fi

# The Rust toolchain comes from the machine (rustup); Debian 12's rustc is
# older than the crates need.
if ! command -v cargo >/dev/null 2>&1; then
  echo "deps.sh: cargo not found: install a Rust toolchain (rustup) first" >&2
  exit 1
fi
