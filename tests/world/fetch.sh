#!/bin/sh
# Guards RFC 8461 section 3.3 (the HTTPS policy fetch: certificate valid for
# mta-sts.<domain>, no redirects, only 200, text/plain, a deadline and a size
# cap) and the SSRF guard in front of it, against the local test world: real
# DNS (nsd) and real HTTPS (nginx, certificates from a CA made at test time).
# The TAP comes from tests/world/test_fetch (one plan for the whole run);
# this script starts and stops the world around it.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/fetch.sh
#   TEST_FETCH  the test_fetch binary (default tests/world/test_fetch)
#   WORLD_KEEP=1 keeps the world's scratch directory for a post-mortem.

LC_ALL=C
export LC_ALL

: "${srcdir:=.}"
TEST_FETCH=${TEST_FETCH:-tests/world/test_fetch}
case $TEST_FETCH in /*) ;; *) TEST_FETCH=$(pwd)/$TEST_FETCH ;; esac

if [ ! -x "$TEST_FETCH" ]; then
    echo "Bail out! $TEST_FETCH is not an executable (make check builds it)"
    exit 99
fi
if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP the test world needs root"
    exit 0
fi
for tool in nginx nsd openssl dig /usr/bin/python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool is not installed (contrib/install-deps.sh)"
        exit 0
    fi
done

WORLD_SH=$srcdir/tests/world/world.sh
case $WORLD_SH in /*) ;; *) WORLD_SH=$(pwd)/$WORLD_SH ;; esac
export WORLD_SH
# shellcheck source=tests/world/world.sh
. "$WORLD_SH"

log=$(mktemp "${TMPDIR:-/tmp}/fetch-world.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'world_stop >/dev/null 2>&1; rm -f "$log"' EXIT
trap 'exit 130' INT TERM HUP
# world_start's chatter stays out of the TAP stream.
world_start >"$log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
    echo "1..0 # SKIP $(tail -n 1 "$log")"
    exit 0
elif [ $rc -ne 0 ]; then
    echo "Bail out! world_start failed:"
    sed 's/^/# /' "$log"
    exit 99
fi
export WORLD_DIR WORLD_DNS WORLD_CA WORLD_HTTPS_PORT WORLD_NGINX_LOG

# Every scenario has its own deadline (at most 10 s each, the timeouts 2 s);
# the outer limit only catches a hang.
if command -v timeout >/dev/null 2>&1; then
    timeout 300 "$TEST_FETCH" "$WORLD_DNS" "$WORLD_CA"
else
    "$TEST_FETCH" "$WORLD_DNS" "$WORLD_CA"
fi
rc=$?
[ $rc -eq 124 ] && echo "Bail out! test_fetch did not finish within 300 s"
exit $rc
