#!/usr/bin/env bash
# Runs a command (default: npm test) as on a machine with Node and npm alone: openssl, wrk,
# PostgreSQL, Redis and Chromium are hidden, KEYWARD_PG_URL, KEYWARD_REDIS_URL and CI are unset.
# Every test that needs one of them must skip with one line saying why and how to enable it.
#
#   bash scripts/test-without-tools.sh                 # npm test
#   bash scripts/test-without-tools.sh npm run demo
#
# PATH is a temporary folder of links to every program on the current PATH but the hidden ones.
# The browser tests look for Chromium at KEYWARD_CHROMIUM (default /usr/bin/chromium), not on
# PATH, so KEYWARD_CHROMIUM names a file that does not exist.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/keyward-no-tools-XXXXXX")
trap 'rm -rf "$bin"' EXIT
hide='^(openssl|wrk|redis-.*|postgres|postmaster|psql|pg_.*|initdb|chromium.*|chrome|google-chrome.*)$'
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  for f in "$d"/*; do
    n=${f##*/}
    if [ -f "$f" ] && [ -x "$f" ] && [ ! -e "$bin/$n" ] && ! [[ $n =~ $hide ]]; then ln -s "$f" "$bin/$n"; fi
  done
done
for tool in openssl wrk redis-server psql chromium; do
  if PATH="$bin" command -v "$tool" >/dev/null; then echo "test-without-tools: $tool is still visible" >&2; exit 1; fi
done
[ $# -gt 0 ] || set -- npm test
echo "test-without-tools: hidden: openssl, wrk, PostgreSQL, Redis, Chromium; running: $*"
env -u CI -u KEYWARD_PG_URL -u KEYWARD_REDIS_URL KEYWARD_CHROMIUM="$bin/no-chromium" PATH="$bin" "$@"
