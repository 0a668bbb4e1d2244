#!/bin/sh
# Guards issue 13 item 4 (learned forced TLS, LearnTLS/LearnPeriod): the
# engine's RCPT judge learns a domain without MTA-STS whose MX host passes
# verified TLS for LearnPeriod (a test clock), keeps it in the store across
# a restart, reports a later STARTTLS failure as learned-tls-downgrade
# (tempfail under LearnTLS enforce only); then "mtasts cache list", "show"
# and "purge DOMAIN" list, show and forget the learned rows.  The TAP of the
# engine part comes from tests/world/test_learn.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/learn.sh
#   TEST_LEARN  the driver (default tests/world/test_learn)
#   MTASTS      the CLI (default milter/mtasts)
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_LEARN tests/world/test_learn
need_bin MTASTS milter/mtasts
world_up world_start_mx
# Two MX domains without an MTA-STS indicator: mxgood passes verified
# TLS, mxnotls offers no STARTTLS.
world_set_txt mxgood.test || bail "world_set_txt mxgood.test"
world_set_txt mxnotls.test || bail "world_set_txt mxnotls.test"
scratch=$tmp

timeout 300 "$TEST_LEARN" "$WORLD_DNS" "$WORLD_MX_CA" "$scratch" >"$scratch/driver.tap" \
    2>"$scratch/driver.err"
drc=$?
tap_import "$scratch/driver.tap"
sed 's/^/# stderr: /' "$scratch/driver.err"
check "the driver ran to its end (exit $drc)" [ "$drc" -eq 0 -o "$drc" -eq 1 ]

# --- the CLI over the rows the driver left
store="sqlite:$scratch/learn.db"
"$MTASTS" cache list --store "$store" >"$scratch/list.txt" 2>&1
lrc=$?
sed 's/^/# /' "$scratch/list.txt"
check "cache list: exit 0" [ $lrc -eq 0 ]
check "cache list: mxgood.test learned" \
    grep -q '^mxgood\.test learned-tls=learned since=' "$scratch/list.txt"
check "cache list: mxnotls.test learned, with its failure counted" \
    grep -q '^mxnotls\.test learned-tls=learned since=.* fails=[1-9]' "$scratch/list.txt"

"$MTASTS" cache list --json --store "$store" >"$scratch/list.json" 2>&1
check "cache list --json: learned_tls objects" /usr/bin/python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
lt = {r["domain"]: r["learned_tls"] for r in rows if "learned_tls" in r}
assert lt["mxgood.test"]["learned"] is True and lt["mxgood.test"]["since"] > 0, lt
assert lt["mxnotls.test"]["fails"] >= 1, lt' "$scratch/list.json"

"$MTASTS" cache show --store "$store" mxgood.test >"$scratch/show.txt" 2>&1
src=$?
sed 's/^/# /' "$scratch/show.txt"
check "cache show mxgood.test: exit 0 (a learned row is an entry)" [ $src -eq 0 ]
check "cache show mxgood.test: learned-tls line" \
    grep -q '^learned-tls: learned since ' "$scratch/show.txt"

"$MTASTS" cache purge --store "$store" mxgood.test >"$scratch/purge.txt" 2>&1
prc=$?
sed 's/^/# /' "$scratch/purge.txt"
check "cache purge mxgood.test: exit 0" [ $prc -eq 0 ]
check "cache purge mxgood.test: says learned TLS was forgotten" \
    grep -q 'learned-tls' "$scratch/purge.txt"
"$MTASTS" cache list --store "$store" >"$scratch/list2.txt" 2>&1
check "after purge: mxgood.test gone" sh -c "! grep -q '^mxgood\\.test ' '$scratch/list2.txt'"
check "after purge: mxnotls.test kept" grep -q '^mxnotls\.test learned-tls=' "$scratch/list2.txt"
"$MTASTS" cache show --store "$store" mxgood.test >/dev/null 2>&1
check "after purge: cache show mxgood.test exits 1" [ $? -eq 1 ]

# --- mtasts check shows the learned level (issue 13 item 5), from the
# daemon's store, on the real clock: a row learned 10 days ago
cat >"$scratch/check.conf" <<EOF
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
Store sqlite:$scratch/check.db
LearnTLS enforce
LearnPeriod 30d
EOF
"$MTASTS" cache list -c "$scratch/check.conf" >/dev/null 2>&1 # creates the store
now=$(date +%s)
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 "$scratch/check.db" "INSERT INTO learned_tls VALUES ('mxgood.test',
        $((now - 40 * 86400)), $((now - 3600)), $((now - 10 * 86400)), 0, 0)"
    "$MTASTS" check -c "$scratch/check.conf" --no-tls mxgood.test >"$scratch/check.txt" 2>&1
    sed 's/^/# /' "$scratch/check.txt"
    check "check mxgood.test: the learned level (40 days, delivery asks for verify)" \
        grep -q 'learned: every MX host has passed verified TLS for 40 days.*delivery asks for verify' \
        "$scratch/check.txt"
    "$MTASTS" check -c "$scratch/check.conf" --no-tls --json mxgood.test >"$scratch/check.json" 2>&1
    check "check --json: learned_tls is \"learned\"" /usr/bin/python3 -c '
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["learned_tls"] == "learned" else 1)' "$scratch/check.json"
    "$MTASTS" check -c "$scratch/check.conf" --no-tls mxnotls.test >"$scratch/check2.txt" 2>&1
    check "check mxnotls.test: not learned" grep -q 'not learned (LearnTLS enforce)' "$scratch/check2.txt"
else
    skip "check mxgood.test: the learned level" "no sqlite3"
fi
finish
