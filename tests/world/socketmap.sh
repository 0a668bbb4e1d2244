#!/bin/sh
# Guards issue 6 (delivery-time enforcement): the socketmap policy server
# answers Postfix smtp_tls_policy_maps / Sendmail sts map lookups per
# socketmap_table(5), byte for byte, from the policy cache of RFC 8461
# section 5: enforce -> "OK secure match=...", testing/none/no policy and
# non-domain keys -> "NOTFOUND ", DNS failure -> "TEMP", discovery past the
# deadline -> "TEMP", bad framing -> "PERM" and close; pipelining, the
# 100000-byte cap and the idle timeout.  The TAP comes from
# tests/world/test_socketmap, run against the local test world.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/socketmap.sh
#   TEST_SOCKETMAP  the driver (default tests/world/test_socketmap)
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_SOCKETMAP tests/world/test_socketmap
# slow.test must outlast the 200 ms deadline but not hold shutdown long.
WORLD_SLOW_SECONDS=3
export WORLD_SLOW_SECONDS
world_up
"$TEST_SOCKETMAP" "$WORLD_DNS" "$WORLD_CA" "$tmp"
