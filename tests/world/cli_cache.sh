#!/bin/sh
# Guards "mtasts cache list|show|purge|prewarm" of mtasts(1) against the
# local test world: prewarm runs RFC 8461 section 3 discovery through the
# cache module into a throw-away SQLite store (domains without an indicator
# count as "without", a failed fetch as "failed", section 5), list and show
# read back what was stored (the canonical policy of section 3.2), purge
# removes one domain or all of them, and the exit statuses the man page
# fixes: 1 for a domain not cached or a failed prewarm, 2 for usage errors.
#
# Usage (from the build directory): MTASTS=milter/mtasts srcdir=SRCDIR \
#   sh SRCDIR/tests/world/cli_cache.sh      (WORLD_KEEP=1 keeps the world)

# shellcheck disable=SC2317 # not every helper is used by every script
# shellcheck disable=SC2153 # WORLD_* come from world.sh

GUARD_SECONDS=60
# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"
world_up

NET="--resolver=$WORLD_DNS --ca-file=$WORLD_CA --timeout=5 --allow-private"
STORE="--store=sqlite:$tmp/cache.db"
# The environment must not leak a store into the test.
unset MTASTS_STORE

cat >"$tmp/work/domains.txt" <<'EOF'
# domains mail goes to
good.test
testing.test   # a comment after the name

nopolicy.test
  NOSUCH.test.
EOF

# --- prewarm
# shellcheck disable=SC2086
run cache prewarm "$STORE" $NET domains.txt
want_rc 0
want_line '^good\.test: policy id=[A-Za-z0-9]+ mode=enforce$'
want_line '^testing\.test: policy id=[A-Za-z0-9]+ mode=testing$'
want_line '^nopolicy\.test: no policy \(no-indicator\)$'
want_line '^nosuch\.test: no policy '
[ "$(tail -n 1 "$tmp/out")" = "4 domains: 2 with policy, 2 without, 0 failed" ] ||
    fail "last line: want '4 domains: 2 with policy, 2 without, 0 failed'"
ok "cache prewarm FILE: comments and blank lines skipped, names normalised, summary"

# From standard input, a domain whose fetch fails.
printf 'wrongname.test\n' >"$tmp/work/bad.txt"
# shellcheck disable=SC2086
run -i "$tmp/work/bad.txt" cache prewarm "$STORE" $NET -
want_rc 1
want_line '^wrongname\.test: failed \(fetch-failed:tls\)$'
[ "$(tail -n 1 "$tmp/out")" = "1 domain: 0 with policy, 0 without, 1 failed" ] ||
    fail "last line: want '1 domain: 0 with policy, 0 without, 1 failed'"
ok "cache prewarm - (stdin): a failed fetch makes exit 1"

printf 'good.test\nnosuch.test\n' >"$tmp/work/two.txt"
# shellcheck disable=SC2086
run cache prewarm "$STORE" $NET --json two.txt
want_rc 0
want_json 'd["domains"] == 2' 'd["policy"] == 1' 'd["no_policy"] == 1' 'd["failed"] == 0' \
    '[r["domain"] for r in d["results"]] == ["good.test", "nosuch.test"]' \
    'd["results"][0]["result"] == "policy" and d["results"][0]["mode"] == "enforce"' \
    'd["results"][1]["result"] == "no-policy" and d["results"][1]["id"] is None'
ok "cache prewarm --json (again: served from the store)"

# --- list
run cache list "$STORE"
want_rc 0
want_line '^good\.test id=[A-Za-z0-9]+ mode=enforce max_age=86400 expires-in=[0-9dhms]+ last-used=[0-9dhms]+-ago$'
want_line '^testing\.test id=[A-Za-z0-9]+ mode=testing '
no_line '^nopolicy\.test'
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "stdout: want 2 lines"
ok "cache list: one line per cached policy"
good_id=$(sed -n 's/^good\.test id=\([A-Za-z0-9]*\) .*/\1/p' "$tmp/out")

run cache list "$STORE" --json
want_rc 0
want_json '[e["domain"] for e in d] == ["good.test", "testing.test"]' \
    "d[0]['id'] == '$good_id'" 'd[0]["mode"] == "enforce" and d[0]["max_age"] == 86400' \
    'd[0]["expires_in"] > 0 and d[0]["expires_at"] > d[0]["fetched_at"] > 0'
ok "cache list --json"

# The environment variable names the store when --store is absent.
(MTASTS_STORE="sqlite:$tmp/cache.db" && export MTASTS_STORE && run cache list && [ "$rc" = 0 ] &&
    [ "$(wc -l <"$tmp/out")" -eq 2 ]) || fail "MTASTS_STORE: want the 2 cached policies"
ok "cache list reads MTASTS_STORE"

# --- show
run cache show "$STORE" good.test
want_rc 0
want_line "^id: $good_id\$"
want_line '^expires: [0-9T:-]+Z \(in [0-9dhms]+\)$'
want_line '^mode: enforce$'
want_line '^mx: mx1\.good\.test$'
sed '1,/^$/d' "$tmp/out" >"$tmp/policy.txt"
"$MTASTS" lint policy "$tmp/policy.txt" >/dev/null 2>&1 || fail "the policy part does not lint"
ok "cache show good.test: details, then the canonical policy"

run cache show "$STORE" --json good.test
want_rc 0
want_json 'd["domain"] == "good.test"' "d['id'] == '$good_id'" \
    'd["policy"]["mx"] == ["mx1.good.test"]'
ok "cache show --json good.test"

run cache show "$STORE" nopolicy.test
want_rc 1
want_line '^no policy: '
ok "cache show nopolicy.test: cached as having no policy, exit 1"

run cache show "$STORE" other.test
want_rc 1
want_empty out
grep -q 'not in the cache' "$tmp/err" || fail "stderr: want 'not in the cache'"
ok "cache show of a domain never looked up: exit 1"

# --- purge
run cache purge "$STORE" good.test
want_rc 0
want_line "^removed good\\.test \\(id=$good_id mode=enforce\\)\$"
ok "cache purge good.test"

run cache show "$STORE" good.test
want_rc 1
ok "cache show after purge: exit 1"

run cache purge "$STORE" good.test
want_rc 1
grep -q 'not in the cache' "$tmp/err" || fail "stderr: want 'not in the cache'"
ok "cache purge of a domain not cached: exit 1"

run cache purge "$STORE" --all
want_rc 0
want_line '^removed testing\.test$'
[ "$(tail -n 1 "$tmp/out")" = "1 policy removed" ] || fail "last line: want '1 policy removed'"
ok "cache purge --all"

run cache list "$STORE"
want_rc 0
want_empty out
ok "cache list after purge --all: empty"

run cache show "$STORE" testing.test
want_rc 1
ok "cache show after purge --all: exit 1"

# --- usage errors (exit 2, nothing on stdout)
want_usage "cache without a command" cache
want_usage "cache with an unknown command" cache frobnicate
want_usage "cache list with an argument" cache list good.test
want_usage "cache list with a network option" cache list --allow-private
want_usage "cache show without DOMAIN" cache show
want_usage "cache show with an invalid DOMAIN" cache show 'a..test'
want_usage "cache purge without DOMAIN or --all" cache purge
want_usage "cache purge with DOMAIN and --all" cache purge --all good.test
want_usage "cache purge --json" cache purge --json good.test
want_usage "cache prewarm without FILE" cache prewarm
want_usage "cache prewarm --timeout 301" cache prewarm --timeout 301 domains.txt
want_usage "cache --store without a value" cache list --store

# "mtasts query": what the socketmap server answers (socketmap_table(5)).
# shellcheck disable=SC2086 # NET is a list of options
run query "$STORE" $NET good.test
want_rc 0
want_out "OK secure match=mx1.good.test servername=hostname"
ok "query: an enforce domain gets OK secure with its MX pattern"
# shellcheck disable=SC2086
run query "$STORE" $NET testing.test
want_rc 1
want_out "NOTFOUND "
ok "query: a testing domain gets NOTFOUND"
run query "$STORE" "[mx1.good.test]:25"
want_rc 1
want_out "NOTFOUND "
ok "query: a [host]:port key gets NOTFOUND without a lookup"
run query "$STORE"
want_rc 2
ok "query without a KEY is a usage error"

finish
