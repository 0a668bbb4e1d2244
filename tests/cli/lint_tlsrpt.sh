#!/bin/sh
# Guards the `mtasts lint tlsrpt [--json] RECORD...` contract of mtasts(1),
# i.e. the RFC 8460 section 3 rules applied to a whole _smtp._tls TXT
# RRset (records not starting "v=TLSRPTv1" are discarded; exactly one must
# remain and parse): exit 0 with one exact "valid: ..." line (or one JSON
# object with the URIs under "rua") plus "skipped:"/"dropped:" lines, exit 1
# with an empty stdout and one "mtasts: REASON" line naming the field,
# exit 2 with a usage line for usage errors (as `lint txt`).
#
# Usage: MTASTS=build/milter/mtasts srcdir=. sh tests/cli/lint_tlsrpt.sh

# shellcheck disable=SC2317 # not every script uses every helper of the prelude

LC_ALL=C
export LC_ALL

# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"

V='v=TLSRPTv1;'

# --- usage errors: exit 2, nothing on stdout, a usage line ---------------

want_usage() {
    _name=$1
    shift
    run "$@"
    want_rc 2
    want_empty out
    case $(cat "$tmp/err") in
    *"usage: mtasts lint policy"*"mtasts lint tlsrpt [--json] RECORD..."*) ;;
    *) fail "stderr: want the usage text naming lint tlsrpt, got:"; sed 's/^/  /' "$tmp/err" >>"$tmp/why" ;;
    esac
    ok "usage error: $_name"
}
want_usage "lint tlsrpt without RECORD" lint tlsrpt
want_usage "lint tlsrpt --json without RECORD" lint tlsrpt --json
want_usage "lint tlsrpt -- without RECORD" lint tlsrpt --
want_usage "lint tlsrpt with an unknown option" lint tlsrpt --frobnicate "$V rua=mailto:a@example.com"

run lint tlsrpt
_first=$(head -n 1 "$tmp/err")
[ "$_first" = "mtasts: lint tlsrpt needs at least one RECORD" ] || fail "stderr: want the exact reason first, got: $_first"
ok "lint tlsrpt without RECORD: exact reason"

run --help
want_rc 0
grep -q '^       mtasts lint tlsrpt \[--json\] RECORD\.\.\.$' "$tmp/out" || fail "--help: want the lint tlsrpt line"
ok "--help lists lint tlsrpt"

# --- valid RRsets: exact stdout ------------------------------------------

run lint tlsrpt 'v=TLSRPTv1;rua=mailto:reports@example.com'
want_rc 0
want_out "valid: version=TLSRPTv1 rua=mailto:reports@example.com"
want_empty err
ok "RFC 8460 section 3.1 example (mailto)"

run lint tlsrpt 'v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt'
want_rc 0
want_out "valid: version=TLSRPTv1 rua=https://reporting.example.com/v1/tlsrpt"
want_empty err
ok "RFC 8460 section 3.2 example (https)"

run lint tlsrpt 'v=spf1 -all' "$V rua=mailto:a@Example.COM , HTTPS://R.example.com/x%2Cy" 'v=STSv1; id=1'
want_rc 0
want_out "valid: version=TLSRPTv1 rua=mailto:a@example.com,https://r.example.com/x%2Cy"
want_empty err
ok "other records discarded; domains lower-cased; the URIs in record form"

run lint tlsrpt --json "$V rua=mailto:a@example.com%2Cb@example.net,https://r.example.com/x"
want_rc 0
want_out '{"version":"TLSRPTv1","rua":["mailto:a@example.com","mailto:b@example.net","https://r.example.com/x"],"skipped":[],"skipped_unlisted":0,"dropped":0}'
want_empty err
ok "--json: the URIs as an array under rua; %2C separates mailto addresses"

run lint tlsrpt "$V rua=ftp://x.example/,mailto:p@localhost,mailto:a@example.com"
want_rc 0
printf '%s\n' "valid: version=TLSRPTv1 rua=mailto:a@example.com" \
    "skipped: ftp://x.example/ (unsupported-scheme)" \
    "skipped: p@localhost (single-label)" >"$tmp/want"
diff "$tmp/want" "$tmp/out" >/dev/null || fail "stdout: want the valid line and two skipped lines"
want_empty err
ok "skipped destinations listed after the valid line, with their reason"

run lint tlsrpt --json "$V rua=ftp://x.example/,mailto:a@example.com"
want_rc 0
want_json 'd["skipped"] == [{"value": "ftp://x.example/", "reason": "unsupported-scheme"}]' \
    'd["rua"] == ["mailto:a@example.com"]'
ok "--json: skipped destinations with value and reason"

_rua=mailto:r0@example.com
_i=1
while [ $_i -lt 18 ]; do _rua="$_rua,mailto:r$_i@example.com"; _i=$((_i + 1)); done
run lint tlsrpt "$V rua=$_rua"
want_rc 0
want_line '^dropped: 2 \(only the first 16 destinations are kept\)$'
want_line '^valid: version=TLSRPTv1 rua=mailto:r0@example.com,.*,mailto:r15@example.com$'
ok "more than 16 destinations: the first 16 kept, the rest counted as dropped"

run lint tlsrpt --json "$V rua=$_rua"
want_rc 0
want_json 'len(d["rua"]) == 16' 'd["dropped"] == 2'
ok "--json: dropped count"

run lint tlsrpt -- "$V rua=mailto:a@example.com"
want_rc 0
want_out "valid: version=TLSRPTv1 rua=mailto:a@example.com"
ok "-- ends the options"

# --- invalid RRsets: exit 1, empty stdout, one reason line ---------------

want_reason() {
    _name=$1
    _reason=$2
    shift 2
    run lint tlsrpt "$@"
    want_rc 1
    want_empty out
    want_err "mtasts: $_reason"
    ok "$_name"
}
want_reason "no v=TLSRPTv1 record" "no v=TLSRPTv1 record" 'v=spf1 -all'
want_reason "two records" "2 v=TLSRPTv1 records (exactly one allowed)" \
    "$V rua=mailto:a@example.com" "$V rua=mailto:b@example.com"
want_reason "missing rua" "missing rua field" "$V ruf=mailto:a@example.com"
want_reason "reason names the URI" 'rua: URI 2 "mailto:a..b@example.com": empty label in the local part' \
    "$V rua=mailto:a@example.com,mailto:a..b@example.com"
want_reason "raw ! refused" "rua: URI 1 \"mailto:a!b@example.com\": '!' must be percent-encoded (RFC 8460 section 3)" \
    "$V rua=mailto:a!b@example.com"

run lint tlsrpt "$V rua=mailto:a@%5B192.0.2.1%5D"
want_rc 1
want_empty out
want_err 'mtasts: rua: no usable destination ("a@[192.0.2.1]": address-literal)'
ok "only an address literal: no usable destination"

run lint tlsrpt --json "$V rua=mailto:a@localhost"
want_rc 1
want_empty out
want_err 'mtasts: rua: no usable destination ("a@localhost": single-label)'
ok "--json: an invalid RRset prints no JSON"

finish
