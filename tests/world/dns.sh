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

LC_ALL=C
export LC_ALL

: "${srcdir:=.}"
TEST_DNS=${TEST_DNS:-tests/world/test_dns}
case $TEST_DNS in /*) ;; *) TEST_DNS=$(pwd)/$TEST_DNS ;; esac

if [ ! -x "$TEST_DNS" ]; then
    echo "Bail out! $TEST_DNS is not an executable (make check builds it)"
    exit 99
fi

WORLD_SH=$srcdir/tests/world/world.sh
case $WORLD_SH in /*) ;; *) WORLD_SH=$(pwd)/$WORLD_SH ;; esac
export WORLD_SH
# shellcheck source=tests/world/world.sh
. "$WORLD_SH"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dns-world.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'world_stop >/dev/null 2>&1; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM HUP

# world_start's chatter stays out of the TAP stream; 77 means "cannot run
# here" (not root, nsd or nginx missing).
world_start >"$scratch/world.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
    echo "1..0 # SKIP $(tail -1 "$scratch/world.log")"
    exit 0
elif [ $rc -ne 0 ]; then
    echo "Bail out! world_start failed:"
    sed 's/^/# /' "$scratch/world.log"
    exit 99
fi

# Every query has its own deadline (at most 3 s); the outer limit only
# catches a hang.  libunbound logs to stderr; that stays out of the TAP.
if command -v timeout >/dev/null 2>&1; then
    timeout 120 "$TEST_DNS" "$WORLD_DNS" 2>"$scratch/stderr"
else
    "$TEST_DNS" "$WORLD_DNS" 2>"$scratch/stderr"
fi
rc=$?
if [ $rc -ne 0 ]; then
    # sanitizer reports and libunbound's errors, as TAP comments
    tail -40 "$scratch/stderr" | sed 's/^/# stderr: /'
    if [ $rc -eq 124 ]; then
        echo "Bail out! test_dns did not finish within 120 s"
    elif [ $rc -gt 1 ]; then
        echo "Bail out! test_dns died (exit status $rc)"
    fi
fi
exit $rc
