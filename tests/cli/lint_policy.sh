#!/bin/sh
# Guards the `mtasts lint policy [--json] FILE` contract of mtasts(1):
# exit 0 and one exact "valid: ..." line (or one exact JSON object) for a
# valid RFC 8461 section 3.2 policy, mx normalised (lower case, no trailing
# dot, A-labels) and in file order; exit 1, empty stdout and one
# "mtasts: FILE: REASON" line for an invalid or unreadable file, with the
# whole-body reasons the man page fixes; FILE "-" reads stdin; the
# 65536-byte body cap (STS_POLICY_BODY_MAX) at its boundary.
#
# Usage: MTASTS=build/milter/mtasts srcdir=. sh tests/cli/lint_policy.sh

# shellcheck disable=SC2317 # not every script uses every helper of the prelude

# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"

w=$tmp/work

# --- valid policies: exact stdout ---------------------------------------

printf 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n' >"$w/rfc.txt"
run lint policy rfc.txt
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=604800 mx=mail.example.com,*.example.net,backupmx.example.com"
want_empty err
ok "RFC 8461 section 3.2 example (CRLF) is valid, mx in file order"

printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 604800\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=604800 mx=mx1.example.com,*.example.net"
want_empty err
ok "valid policy: the contract's example line"

run lint policy --json p.txt
want_rc 0
want_out '{"version":"STSv1","mode":"enforce","max_age":604800,"mx":["mx1.example.com","*.example.net"]}'
want_empty err
ok "--json: the contract's exact JSON object"

run -i "$w/p.txt" lint policy -
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=604800 mx=mx1.example.com,*.example.net"
want_empty err
ok "FILE - reads the policy from stdin"

run -i "$w/p.txt" lint policy --json -
want_rc 0
want_out '{"version":"STSv1","mode":"enforce","max_age":604800,"mx":["mx1.example.com","*.example.net"]}'
want_empty err
ok "--json with FILE - reads stdin"

printf 'version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 86400' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=testing max_age=86400 mx=mx1.example.com"
want_empty err
ok "mode testing, last line without a line ending"

printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=none max_age=86400 mx="
want_empty err
ok "mode none without mx: valid, empty mx="

run lint policy --json p.txt
want_rc 0
want_out '{"version":"STSv1","mode":"none","max_age":86400,"mx":[]}'
want_empty err
ok "--json mode none without mx: empty array"

printf 'version: STSv1\nmode: none\nmx: MX.example.com\nmax_age: 0\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=none max_age=0 mx=mx.example.com"
want_empty err
ok "mode none keeps its mx lines; max_age 0 is valid"

printf 'version: STSv1\nmode: enforce\nmx: MX1.Example.COM.\nmx: XN--bcher-kva.example\nmx: *.xn--BCHER-kva.example.\nmax_age: 0000604800\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=604800 mx=mx1.example.com,xn--bcher-kva.example,*.xn--bcher-kva.example"
want_empty err
ok "mx lower-cased, trailing dot dropped, A-labels kept; max_age leading zeros"

run lint policy --json p.txt
want_rc 0
want_out '{"version":"STSv1","mode":"enforce","max_age":604800,"mx":["mx1.example.com","xn--bcher-kva.example","*.xn--bcher-kva.example"]}'
want_empty err
ok "--json shows the normalised mx and max_age as a number"

printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 31557600\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=31557600 mx=mx1.example.com"
ok "max_age 31557600 (the maximum) is valid"

printf 'version: STSv1\nmode: testing\nmode: enforce\nmax_age: 86400\nmax_age: 1\nmx: mx1.example.com\nversion: STSv2\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=testing max_age=86400 mx=mx1.example.com"
ok "repeated version/mode/max_age: the first counts"

printf 'version: STSv1\n  \n\t\nMode: none\nmode: enforce\nfoo: bar baz\nnote: a  b\nmx: mx1.example.com\n\nmax_age: 86400\n\n' >"$w/p.txt"
run lint policy p.txt
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=86400 mx=mx1.example.com"
ok "inner blank lines skipped, unknown keys (Mode, foo, note) ignored"

# RFC 8461 section 3.2 ABNF (issue 13 item 7): no leading blank line, an
# extension value of 1+ characters without HTAB, A-labels only in mx.
printf '\nversion: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err 'mtasts: p.txt: line 1: a policy may not begin with a blank line'
ok "a leading blank line is an error"

printf 'version: STSv1\nmode: enforce\nnote:\nmx: mx1.example.com\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_err 'mtasts: p.txt: line 3: field "note" has an empty value'
ok "an empty extension value is an error"

printf 'version: STSv1\nmode: enforce\nnote: a\tb\nmx: mx1.example.com\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_err 'mtasts: p.txt: line 3: tab in the value of field "note" (only spaces may separate words)'
ok "a tab inside an extension value is an error"

printf 'version: STSv1\nmode: enforce\nmx: *.B\303\234CHER.example.\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err 'mtasts: p.txt: line 3: invalid mx pattern "*.B\xc3\x9cCHER.example.": U-labels are not allowed (RFC 8461 section 3.2 takes A-labels); write "*.xn--bcher-kva.example"'
ok "a U-label mx is an error naming the A-label"

# --- invalid policies: exit 1, nothing on stdout, one stderr line --------

printf 'version: STSv1\nmx: mx1.example.com\nmax_age: 86400\n' >"$w/nomode.txt"
run lint policy nomode.txt
want_rc 1
want_empty out
want_err 'mtasts: nomode.txt: missing "mode" field'
ok "missing mode: exact message"

run lint policy --json nomode.txt
want_rc 1
want_empty out
want_err 'mtasts: nomode.txt: missing "mode" field'
ok "--json on an invalid policy: nothing on stdout, same message"

run -i "$w/nomode.txt" lint policy -
want_rc 1
want_empty out
want_err_line 'mtasts: *: missing "mode" field'
ok "invalid policy on stdin"

printf 'mode: enforce\nmx: mx1.example.com\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err 'mtasts: p.txt: missing "version" field'
ok "missing version: exact message"

printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err 'mtasts: p.txt: missing "max_age" field'
ok "missing max_age: exact message"

printf 'version: STSv1\nmode: testing\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err 'mtasts: p.txt: no "mx" field (required unless mode is none)'
ok "missing mx with mode testing: exact message"

printf 'version: STSv1\r\n mode: enforce\r\nmx: mx1.example.com\r\nmax_age: 86400\r\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err_line 'mtasts: p.txt: line 2: *'
ok "space before a key: error on line 2 (CRLF)"

printf 'version: STSv1\n\r\n\nmode: enforce\nmx: mx1.example.com\nmax_age: 31557601\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err_line 'mtasts: p.txt: line 6: *'
ok "max_age over 31557600: line number counts skipped blank lines"

printf 'version: STSv1\nmode: enforce\nmx: mail*.example.com\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err_line 'mtasts: p.txt: line 3: *'
ok "bad mx pattern: error on its line"

printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\000\nmax_age: 86400\n' >"$w/p.txt"
run lint policy p.txt
want_rc 1
want_empty out
want_err_line 'mtasts: p.txt: line 3: *'
ok "NUL byte in line 3"

: >"$w/empty.txt"
run lint policy empty.txt
want_rc 1
want_empty out
want_err_line 'mtasts: empty.txt: ?*'
ok "empty file is invalid"

# --- the 65536-byte body cap ---------------------------------------------

printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n' >"$w/cap.txt"
_pad=$(printf '%058d' 0 | tr 0 x)
_left=$((65536 - $(wc -c <"$w/cap.txt")))
yes "pad: $_pad" | head -n $((_left / 64)) >>"$w/cap.txt"
_r=$((_left % 64))
while [ "$_r" -gt 0 ]; do echo >>"$w/cap.txt"; _r=$((_r - 1)); done
_size=$(wc -c <"$w/cap.txt")
run lint policy cap.txt
want_rc 0
want_out "valid: version=STSv1 mode=enforce max_age=86400 mx=mx1.example.com"
[ "$_size" -eq 65536 ] || fail "test setup: cap.txt is $_size bytes, want 65536"
ok "a body of exactly 65536 bytes is accepted"

echo >>"$w/cap.txt"
run lint policy cap.txt
want_rc 1
want_empty out
want_err_line 'mtasts: cap.txt: ?*'
ok "a body of 65537 bytes is refused"

run -i "$w/cap.txt" lint policy -
want_rc 1
want_empty out
want_err_line 'mtasts: ?*'
ok "a body of 65537 bytes on stdin is refused"

# --- unreadable files -----------------------------------------------------

run lint policy does-not-exist.txt
want_rc 1
want_empty out
want_err 'mtasts: does-not-exist.txt: No such file or directory'
ok "missing file: strerror message"

run lint policy --json does-not-exist.txt
want_rc 1
want_empty out
want_err 'mtasts: does-not-exist.txt: No such file or directory'
ok "--json with a missing file: same message, nothing on stdout"

mkdir "$w/adir"
run lint policy adir
want_rc 1
want_empty out
want_err_line 'mtasts: adir: ?*'
ok "a directory is not a policy file"

finish
