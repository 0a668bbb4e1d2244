#!/bin/sh
# Guards the resolver module (milter/engine/dns.c) against a real authoritative
# server: RFC 8461 sections 3.1 and 5 need NXDOMAIN, NODATA, SERVFAIL and a
# timeout told apart and a TXT RRset returned whole; RFC 1035 section 3.3
# (TXT character-strings, MX names) and RFC 7505 (null MX) fix the parsing;
# every query has a deadline, 64 threads may query at once, and freeing the
# resolver with queries pending wakes their callers.  The TAP comes from
# tests/world/test_dns (one plan for the whole run): its edge cases use
# DNS servers of its own on 127.0.0.1, the rest the world's nsd, which this
# script starts and stops around it.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/dns.sh
#   TEST_DNS     the test_dns binary (default tests/world/test_dns)
#   WORLD_KEEP=1 keeps the world's scratch directory for a post-mortem.
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_DNS tests/world/test_dns
world_up

# Every query has its own deadline (at most 3 s); the outer limit only
# catches a hang.  libunbound logs to stderr; that stays out of the TAP.
timeout 120 "$TEST_DNS" "$WORLD_DNS" 2>"$tmp/stderr"
rc=$?
if [ $rc -ne 0 ]; then
    # sanitizer reports and libunbound's errors, as TAP comments
    tail -40 "$tmp/stderr" | sed 's/^/# stderr: /'
    if [ $rc -eq 124 ]; then
        echo "Bail out! test_dns did not finish within 120 s"
    elif [ $rc -gt 1 ]; then
        echo "Bail out! test_dns died (exit status $rc)"
    fi
fi
exit $rc
