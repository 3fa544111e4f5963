#!/bin/sh
# Set up and run every test: the README's second quick-start command, and
# what CI runs (.ci/run). Needs root (the tests chown run directories to
# www-data and start real uWSGI instances as www-data, all under temporary
# --root trees; the package test installs and purges the real .deb).
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh   # apt-get install of uwsgi-core, uwsgi-plugin-python3, …

log="$(mktemp)"
trap 'rm -f "$log" "$log.rc"' EXIT

# Run a command, copying its output to the log; fail with its status.
# (POSIX sh has no pipefail, so the status goes through a file.)
logged() {
  { st=0; "$@" 2>&1 || st=$?; echo "$st" > "$log.rc"; } | tee -a "$log"
  rc="$(cat "$log.rc")"
  [ "$rc" -eq 0 ] || exit "$rc"
}

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
# The Ansible collection's linters: ansible-lint, ansible-test sanity (its
# playbooks run against the real uWSGI in cargo test: tests/ansible.rs).
echo "== Ansible collection: ansible-lint, ansible-test sanity"
logged sh ansible/tests/lint.sh
echo "== cargo test"
logged cargo test --locked

# The package as an administrator meets it: build the .deb, lintian it,
# install it with apt-get on this machine, run it end to end with the real
# uWSGI, then purge it and everything the test made (tests/package/e2e.sh).
echo "== Debian package"
deb="$(./scripts/build-deb)"
logged ./tests/package/e2e.sh "$deb"

# One closing line for the whole run (cargo's test binaries and the e2e
# checks together); reached only when everything passed.
passed=$(awk '/^test result: ok\./ { n += $4 } /^ok - / { n++ } END { print n + 0 }' "$log")
echo "tests: $passed passed, 0 failed"
