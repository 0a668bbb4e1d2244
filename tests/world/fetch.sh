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
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_FETCH tests/world/test_fetch
world_up

# Every scenario has its own deadline (at most 10 s each, the timeouts 2 s);
# the outer limit only catches a hang.
timeout 300 "$TEST_FETCH" "$WORLD_DNS" "$WORLD_CA"
rc=$?
[ $rc -eq 124 ] && echo "Bail out! test_fetch did not finish within 300 s"
exit $rc
