#!/bin/sh
# Guards issue 6 (delivery-time enforcement): the socketmap policy server
# answers Postfix smtp_tls_policy_maps / Sendmail sts map lookups per
# socketmap_table(5), byte for byte, from the policy cache of RFC 8461
# section 5: enforce -> "OK secure match=...", testing/none/no policy and
# non-domain keys -> "NOTFOUND ", DNS failure -> "TEMP", discovery past the
# deadline -> "TEMP", bad framing -> "PERM" and close; pipelining, the
# 100000-byte cap and the idle timeout.  The TAP comes from
# tests/world/test_socketmap, run against the local test world.
LC_ALL=C
export LC_ALL
: "${srcdir:=.}"
TEST_SOCKETMAP=${TEST_SOCKETMAP:-tests/world/test_socketmap}
case $TEST_SOCKETMAP in /*) ;; *) TEST_SOCKETMAP=$(pwd)/$TEST_SOCKETMAP ;; esac
[ -x "$TEST_SOCKETMAP" ] || { echo "Bail out! $TEST_SOCKETMAP is not built"; exit 99; }
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
# slow.test must outlast the 200 ms deadline but not hold shutdown long.
WORLD_SLOW_SECONDS=3
export WORLD_SLOW_SECONDS
# shellcheck source=tests/world/world.sh
. "$WORLD_SH"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/socketmap-world.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'world_stop >/dev/null 2>&1; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM HUP
if ! world_start >"$scratch/world.log" 2>&1; then
    echo "Bail out! world_start failed:"
    sed 's/^/# /' "$scratch/world.log"
    exit 99
fi
export WORLD_DIR WORLD_DNS WORLD_CA WORLD_HTTPS_PORT WORLD_NGINX_LOG
"$TEST_SOCKETMAP" "$WORLD_DNS" "$WORLD_CA" "$scratch"
