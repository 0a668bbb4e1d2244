#!/bin/sh
# Guards RFC 8461 section 5 (policy caching: use of an unexpired policy,
# re-checking the TXT id, fetch on a new id, keeping the cached policy on
# fetch failure and when the TXT record vanishes, a 5-minute back-off,
# "mode: none" replacing at once) and section 3.3 (fetch failures treated
# as no policy), plus single flight, the lookup deadline, negative caching,
# persistence in SQLite, the background refresher and (issue 18) a store
# that cannot be read getting OnStoreError, against the local
# test world.  The TAP comes from tests/world/test_cache.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/cache.sh
#   TEST_CACHE  the driver (default tests/world/test_cache)
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_CACHE tests/world/test_cache
# The slow scenario must answer before the fetch's 10 s low-speed cut-off.
WORLD_SLOW_SECONDS=5
export WORLD_SLOW_SECONDS
world_up
"$TEST_CACHE" "$WORLD_DNS" "$WORLD_CA" "$tmp"
