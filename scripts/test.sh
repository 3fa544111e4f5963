#!/bin/sh
# Set up and run every test: the README's second quick-start command, and
# what CI runs (.ci/run). Needs root (the tests chown run directories to
# www-data and start real uWSGI instances as www-data, all under temporary
# --root trees; the package test installs and purges the real .deb).
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh   # apt-get install of uwsgi-core, uwsgi-plugin-python3, …

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked 2>&1

# The package as an administrator meets it: build the .deb, lintian it,
# install it with apt-get on this machine, run it end to end with the real
# uWSGI, then purge it and everything the test made (tests/package/e2e.sh).
echo "== Debian package"
deb="$(./scripts/build-deb)"
./tests/package/e2e.sh "$deb"
