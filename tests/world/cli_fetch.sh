#!/bin/sh
# Guards "mtasts fetch" and "mtasts check" of mtasts(1) against the local
# test world (real DNS with nsd, real HTTPS with nginx and a CA made at test
# time): RFC 8461 section 3.1 (one valid v=STSv1 TXT record, else no
# indicator or an invalid RRset), section 3.3 (certificate valid for
# mta-sts.<domain>, not expired, trusted; no redirects; only 200; text/plain),
# section 3.2 (the policy parses), section 4.1 (MX hosts against the policy's
# patterns), the SSRF guard (--allow-private), and the exit statuses the man
# page fixes: fetch 0 policy / 1 no policy / 3 failure, check 0 ok or
# warnings / 1 problems, 2 usage.
#
# Usage (from the build directory): MTASTS=milter/mtasts srcdir=SRCDIR \
#   sh SRCDIR/tests/world/cli_fetch.sh      (WORLD_KEEP=1 keeps the world)

# shellcheck disable=SC2317 # not every helper is used by every script
# shellcheck disable=SC2153 # WORLD_* come from world.sh

GUARD_SECONDS=60
# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"
world_up

# Every mta-sts.* host of the world is on loopback, which the SSRF guard
# refuses: --allow-private everywhere but where the guard is under test.
NET="--resolver=$WORLD_DNS --ca-file=$WORLD_CA --timeout=5"
PRIV="--allow-private"
# check probes MX hosts (nothing listens on this world's mx1.<d>; the TLS
# results are tests/world/cli_check_tls.sh's) and validates DNSSEC from the
# root by default, which an authoritative-only --resolver cannot prove.
CHECK="--no-tls --trust-anchor=none"

# --- fetch: a good policy
# shellcheck disable=SC2086
run fetch $NET $PRIV good.test
want_rc 0
want_empty err
want_line '^domain: good\.test$'
want_line '^id: [A-Za-z0-9]{1,32}$'
want_line '^txt: answer, dnssec (insecure|secure), [0-9]+ ms$'
want_line '^fetch: ok, HTTP 200, address 127\.[0-9.]+, [0-9]+ ms$'
want_line '^verdict: policy$'
want_line '^mode: enforce$'
want_line '^mx: mx1\.good\.test$'
ok "fetch good.test: exit 0, id, fetch ok and the policy in enforce mode"
id=$(sed -n 's/^id: //p' "$tmp/out")

# shellcheck disable=SC2086
run fetch $NET $PRIV --json good.test
want_rc 0
want_json 'd["domain"] == "good.test"' 'd["verdict"] == "policy"' \
    "d['txt']['id'] == '$id'" 'd["txt"]["result"] == "answer"' \
    'd["txt"]["dnssec"] in ("insecure", "secure")' \
    'any(r.startswith("v=STSv1") for r in d["txt"]["records"])' \
    'd["fetch"]["result"] == "ok"' 'd["fetch"]["http_status"] == 200' \
    'd["fetch"]["address"].startswith("127.")' 'd["fetch"]["seconds"] >= 0' \
    'd["policy"]["version"] == "STSv1"' 'd["policy"]["mode"] == "enforce"' \
    'd["policy"]["mx"] == ["mx1.good.test"]' 'd["policy"]["max_age"] == 86400' \
    'isinstance(d["reason"], str)'
ok "fetch --json good.test: one JSON object with txt, fetch, policy, verdict"

# Upper case and a trailing dot are normalised away.
# shellcheck disable=SC2086
run fetch $NET $PRIV GOOD.Test.
want_rc 0
want_line '^domain: good\.test$'
ok "fetch normalises the domain name"

# --- no indicator: exit 1
# shellcheck disable=SC2086
run fetch $NET $PRIV nopolicy.test
want_rc 1
want_line '^verdict: no-policy$'
no_line '^fetch:'
ok "fetch nopolicy.test (no TXT record): exit 1, no-policy, nothing fetched"

# shellcheck disable=SC2086
run fetch $NET $PRIV --json nosuch.test
want_rc 1
want_json 'd["verdict"] == "no-policy"' 'd["txt"]["result"] == "nxdomain"' \
    'd["fetch"] is None' 'd["policy"] is None' 'd["txt"]["id"] is None'
ok "fetch nosuch.test (NXDOMAIN): exit 1, no-policy"

# --- failures: exit 3, with the fetch result word and words for a human
# check_fail DOMAIN RESULT-WORD REASON-ERE
check_fail() {
    # shellcheck disable=SC2086
    run fetch $NET $PRIV "$1"
    want_rc 3
    want_line "^fetch: $2(,|$)"
    want_line '^verdict: failure$'
    want_line "^reason: .*$3"
    no_line '^mode:'
    ok "fetch $1: exit 3, fetch $2"
}
check_fail wrongname.test tls 'not valid for mta-sts\.wrongname\.test'
check_fail expired.test tls 'expired'
check_fail selfsigned.test tls 'not trusted'
check_fail redirect.test http 'redirect'
check_fail notfound.test http '404'
check_fail mediatype.test media-type 'media type'
check_fail invalid.test ok 'policy file is invalid'

# shellcheck disable=SC2086
run fetch $NET $PRIV --json wrongname.test
want_rc 3
want_json 'd["verdict"] == "failure"' 'd["fetch"]["result"] == "tls"' \
    'd["policy"] is None' 'd["txt"]["id"] is not None' '"certificate" in d["reason"]'
ok "fetch --json wrongname.test: verdict failure, fetch result tls"

# shellcheck disable=SC2086
run fetch $NET $PRIV --json redirect.test
want_rc 3
want_json 'd["fetch"]["result"] == "http"' '300 <= d["fetch"]["http_status"] < 400'
ok "fetch --json redirect.test: a 3xx is not followed"

# An invalid TXT RRset is a failure, and nothing is fetched.
# shellcheck disable=SC2086
run fetch $NET $PRIV twotxt.test
want_rc 3
want_line '^verdict: failure$'
want_line '^reason: .*2 v=STSv1 records'
no_line '^fetch:'
ok "fetch twotxt.test (two v=STSv1 records): exit 3"

# shellcheck disable=SC2086
run fetch $NET $PRIV --json badtxt.test
want_rc 3
want_json 'd["verdict"] == "failure"' 'd["txt"]["result"] == "answer"' \
    'd["txt"]["id"] is None' 'd["fetch"] is None' 'len(d["txt"]["records"]) == 1'
ok "fetch badtxt.test (invalid v=STSv1 record): exit 3"

# --- the SSRF guard
# shellcheck disable=SC2086
run fetch $NET loopback.test
want_rc 3
want_line '^fetch: refused, address 127\.'
want_line '^reason: .*loopback'
ok "fetch loopback.test without --allow-private: refused (exit 3)"

# shellcheck disable=SC2086
run fetch $NET $PRIV loopback.test
want_rc 0
want_line '^verdict: policy$'
ok "fetch loopback.test with --allow-private: exit 0"

# --- check
want_last_match() { tail -n 1 "$tmp/out" | grep -Eq -- "$1" || fail "last line: want /$1/"; }
# shellcheck disable=SC2086
run check $CHECK $NET $PRIV good.test
want_rc 0
want_line '^OK   txt: '
want_line '^OK   policy fetch: '
want_line '^OK   policy: valid: mode enforce'
want_line '^OK   mx: mx1\.good\.test \(preference 10\) matches the policy$'
no_line '^(WARN|FAIL) '
want_last "verdict: PASS: enforce policy id=$id, 1/1 MX hosts permitted (TLS not checked: --no-tls)"
ok "check good.test: every line OK, verdict PASS, exit 0"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV --json good.test
want_rc 0
want_json 'd["verdict"] == "ok"' 'd["domain"] == "good.test"' \
    'all(c["status"] == "ok" for c in d["checks"])' \
    '{c["check"] for c in d["checks"]} >= {"txt", "policy fetch", "policy", "mx"}' \
    'd["mx"] == [{"host": "mx1.good.test", "preference": 10, "covered": True}]' \
    'd["policy"]["mode"] == "enforce"'
ok "check --json good.test"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV mismatch.test
want_rc 1
want_line '^FAIL mx: mx1\.mismatch\.test \(preference 10\) is NOT covered by the policy'
want_last_match '^verdict: FAIL: '
ok "check mismatch.test: the MX not covered is a FAIL, exit 1"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV nomx.test
want_line '^(WARN|FAIL) mx: nomx\.test has no MX records'
ok "check nomx.test: reports no MX records"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV testing.test
want_rc 0
want_line '^WARN mode: testing'
no_line '^FAIL '
want_last_match '^verdict: PASS: testing policy id=.*; 1 warning$'
ok "check testing.test: PASS with a warning, exit 0"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV wrongname.test
want_rc 1
want_line '^FAIL policy fetch: .*certificate.*not valid for mta-sts\.wrongname\.test'
want_last_match '^verdict: FAIL: '
ok "check wrongname.test: a certificate problem in words, exit 1"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV twotxt.test
want_rc 1
want_line '^FAIL txt: .*2 v=STSv1 records'
ok "check twotxt.test: the TXT RRset is a problem"

# shellcheck disable=SC2086
run check $CHECK $NET $PRIV nosuch.test
want_rc 1
want_line '^FAIL txt: _mta-sts\.nosuch\.test does not exist'
no_line '^(OK|WARN|FAIL) policy'
ok "check nosuch.test: no TXT record, nothing else to say"

# --- usage errors (exit 2, nothing on stdout)
want_usage "fetch without DOMAIN" fetch
want_usage "fetch with two DOMAINs" fetch good.test nosuch.test
want_usage "fetch with an unknown option" fetch --frobnicate good.test
want_usage "fetch --timeout 0" fetch --timeout 0 good.test
want_usage "fetch --timeout not a number" fetch --timeout=ten good.test
want_usage "fetch --resolver without a value" fetch good.test --resolver
want_usage "fetch --store (a cache option)" fetch --store /nonexistent good.test
want_usage "fetch an invalid domain" fetch 'bad..test'
want_usage "check without DOMAIN" check --json
want_usage "check --allow-private=yes" check --allow-private=yes good.test

finish
