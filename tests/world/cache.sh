#!/bin/sh
# Guards RFC 8461 section 5 (policy caching: use of an unexpired policy,
# re-checking the TXT id, fetch on a new id, keeping the cached policy on
# fetch failure and when the TXT record vanishes, a 5-minute back-off,
# "mode: none" replacing at once) and section 3.3 (fetch failures treated
# as no policy), plus single flight, the lookup deadline, negative caching,
# persistence in SQLite and the background refresher, against the local
# test world.  The TAP comes from tests/world/test_cache.
LC_ALL=C
export LC_ALL
: "${srcdir:=.}"
TEST_CACHE=${TEST_CACHE:-tests/world/test_cache}
case $TEST_CACHE in /*) ;; *) TEST_CACHE=$(pwd)/$TEST_CACHE ;; esac
[ -x "$TEST_CACHE" ] || { echo "Bail out! $TEST_CACHE is not built"; exit 99; }
if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP the test world needs root"
    exit 0
fi
for tool in nginx nsd openssl dig /usr/bin/python3; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "1..0 # SKIP $tool is not installed (contrib/install-deps.sh)"; exit 0; }
done

WORLD_SH=$srcdir/tests/world/world.sh
case $WORLD_SH in /*) ;; *) WORLD_SH=$(pwd)/$WORLD_SH ;; esac
export WORLD_SH
# The slow scenario must answer before the fetch's 10 s low-speed cut-off.
WORLD_SLOW_SECONDS=5
export WORLD_SLOW_SECONDS
# shellcheck source=tests/world/world.sh
. "$WORLD_SH"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cache-world.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'world_stop >/dev/null 2>&1; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM HUP
if ! world_start >"$scratch/world.log" 2>&1; then
    echo "Bail out! world_start failed:"
    sed 's/^/# /' "$scratch/world.log"
    exit 99
fi
export WORLD_DIR WORLD_DNS WORLD_CA WORLD_HTTPS_PORT WORLD_NGINX_LOG
"$TEST_CACHE" "$WORLD_DNS" "$WORLD_CA" "$scratch"
