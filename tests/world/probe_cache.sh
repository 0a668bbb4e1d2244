#!/bin/sh
# Guards the MX probe cache (milter/engine/probe_cache.c, milter/engine/mx_tls.c) against
# the test world's real MX hosts and DNSSEC-signed zones: the DANE decision
# of RFC 7672 §2.2 (DANE only through a secure MX RRset, bogus MX or TLSA
# RRsets are dnssec-invalid, §3.1 usable records decide) and the RFC 8460
# §4.3.2 result types (tlsa-invalid, dnssec-invalid, dane-required), with
# the cache's promises: one connection per result, single flight, TTLs,
# bounded waits on a silent MX, the global cap, persistence in SQLite and
# the refresher.  The TAP of those comes from tests/world/test_probe_cache;
# then "mtasts cache probes" and "mtasts cache purge --probes" read and
# clear the rows it left in the store.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/probe_cache.sh
#   TEST_PROBE_CACHE  the driver (default tests/world/test_probe_cache)
#   MTASTS            the CLI (default milter/mtasts)
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_PROBE_CACHE tests/world/test_probe_cache
need_bin MTASTS milter/mtasts
world_up world_start_mx world_start_resolver
scratch=$tmp
export WORLD_MX_LOG

# The driver's TAP, renumbered into ours so that the CLI points follow it.
timeout 300 "$TEST_PROBE_CACHE" "$WORLD_RESOLVER@53" "$WORLD_TA" "$WORLD_MX_CA" "$scratch" \
    "$WORLD_NET" >"$scratch/driver.tap" 2>"$scratch/driver.err"
drc=$?
tap_import "$scratch/driver.tap"
sed 's/^/# stderr: /' "$scratch/driver.err"
check "the driver ran to its end (exit $drc)" [ "$drc" -eq 0 -o "$drc" -eq 1 ]

# --- the CLI over the rows the driver left
store="sqlite:$scratch/probes.db"
"$MTASTS" cache probes --store "$store" >"$scratch/list.txt" 2>&1
lrc=$?
sed 's/^/# /' "$scratch/list.txt"
check "cache probes: exit 0" [ $lrc -eq 0 ]
check "cache probes: mx1.good.dane.test secure, pass, dane=yes" \
    grep -q '^mx1\.good\.dane\.test port=25 mx=secure result=pass dane=yes addr=' "$scratch/list.txt"
check "cache probes: mx1.good.dane.test insecure, certificate-not-trusted" \
    grep -q '^mx1\.good\.dane\.test port=25 mx=insecure result=certificate-not-trusted dane=no' \
    "$scratch/list.txt"
check "cache probes: tlsabogus is dnssec-invalid" \
    grep -q '^mx1\.tlsabogus\.dane\.test .* result=dnssec-invalid ' "$scratch/list.txt"
check "cache probes: dane-required is not stored (notlsa reads pass)" \
    grep -q '^mx1\.notlsa\.dane\.test .* result=pass dane=no' "$scratch/list.txt"
check "cache probes: in host order" sh -c "cut -d' ' -f1 '$scratch/list.txt' | sort -c"

"$MTASTS" cache probes --json --store "$store" >"$scratch/list.json" 2>&1
rows=$(/usr/bin/python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
good = [r for r in rows if r["host"] == "mx1.good.dane.test" and r["mx_dnssec"] == "secure"]
assert good and good[0]["result"] == "pass" and good[0]["dane"] is True, good
assert good[0]["port"] == 25 and good[0]["tls_version"].startswith("TLSv1.")
assert good[0]["expires_at"] > good[0]["checked_at"] and good[0]["last_used"] > 0
print(len(rows))' "$scratch/list.json" 2>&1)
check "cache probes --json: $rows rows, fields as documented" [ "$rows" -ge 8 ] 2>/dev/null

"$MTASTS" cache purge --probes --store "$store" mx1.good.dane.test >"$scratch/purge.txt" 2>&1
prc=$?
check "purge --probes HOST: both rows of the host ($(cat "$scratch/purge.txt"))" \
    [ $prc -eq 0 -a "$(cat "$scratch/purge.txt")" = "removed probe results of mx1.good.dane.test (2 rows)" ]
"$MTASTS" cache probes --store "$store" >"$scratch/list2.txt" 2>&1
check "purge --probes HOST: the host is gone, the others stay" \
    sh -c "! grep -q '^mx1\.good\.dane\.test ' '$scratch/list2.txt' && grep -q '^mx1\.mxgood\.test ' '$scratch/list2.txt'"
"$MTASTS" cache purge --probes --store "$store" mx1.good.dane.test >/dev/null 2>&1
check "purge --probes HOST again: exit 1" [ $? -eq 1 ]
"$MTASTS" cache purge --probes --all --store "$store" >"$scratch/purge2.txt" 2>&1
check "purge --probes --all: $(cat "$scratch/purge2.txt")" \
    sh -c "grep -q '^[1-9][0-9]* probe results removed$' '$scratch/purge2.txt'"
check "purge --probes --all: nothing is left" [ -z "$("$MTASTS" cache probes --store "$store")" ]

finish
