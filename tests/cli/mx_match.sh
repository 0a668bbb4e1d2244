#!/bin/sh
# Guards the `mtasts mx-match PATTERN HOSTNAME` contract of mtasts(1), i.e.
# RFC 8461 section 4.1 MX host validation: exact patterns match exactly,
# "*.rest" matches exactly one extra leftmost label, ASCII case and one
# trailing dot on either side are ignored.  Exit 0 + "match", or exit 1 +
# "no match"; an invalid pattern (a "*" that is not the whole leftmost
# label, bad LDH syntax) matches nothing and gives a "mtasts: " reason.
#
# Usage: MTASTS=build/milter/mtasts srcdir=. sh tests/cli/mx_match.sh

# shellcheck disable=SC2317 # not every script uses every helper of the prelude

LC_ALL=C
export LC_ALL

# ---- TAP prelude (the same in every tests/cli script) ----
case ${MTASTS-} in
"") echo "Bail out! MTASTS is not set (path to the mtasts binary)"; exit 99 ;;
/*) ;;
*/*) MTASTS=$(pwd)/$MTASTS ;;
esac
command -v "$MTASTS" >/dev/null 2>&1 || { echo "Bail out! $MTASTS is not an executable"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-cli.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
if command -v timeout >/dev/null 2>&1; then guard() { timeout 10 "$@"; }; else guard() { "$@"; }; fi
n=0
failed=0
: >"$tmp/tap"
: >"$tmp/why"

# run [-i STDINFILE] ARG...: run mtasts in $tmp/work; sets rc, $tmp/out, $tmp/err.
run() {
    _in=/dev/null
    if [ "$1" = -i ]; then _in=$2; shift 2; fi
    (cd "$tmp/work" && guard "$MTASTS" "$@") <"$_in" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    printf '%s' "ran: mtasts" >"$tmp/cmd"
    for _a in "$@"; do printf " '%s'" "$_a" >>"$tmp/cmd"; done
    echo >>"$tmp/cmd"
}
fail() { printf '%s\n' "$@" >>"$tmp/why"; }
want_rc() { [ "$rc" = "$1" ] || fail "exit status: want $1, got $rc"; }
# want_file WHICH TEXT: the stream is exactly TEXT plus one newline.
want_file() {
    printf '%s\n' "$2" >"$tmp/want"
    if ! diff "$tmp/want" "$tmp/$1" >/dev/null 2>&1; then
        fail "$1: want exactly:" "  $2" "$1: got:"
        sed 's/^/  /' "$tmp/$1" >>"$tmp/why"
    fi
}
want_out() { want_file out "$1"; }
want_err() { want_file err "$1"; }
want_empty() { [ -s "$tmp/$1" ] && { fail "$1: want empty, got:"; sed 's/^/  /' "$tmp/$1" >>"$tmp/why"; }; }
# want_err_line GLOB: stderr is one newline-terminated line matching GLOB.
want_err_line() {
    _l=$(wc -l <"$tmp/err")
    _c=$(wc -c <"$tmp/err")
    _e=$(cat "$tmp/err")
    # shellcheck disable=SC2254
    case $_e in
    $1)
        if [ "$_l" -ne 1 ] || [ "$_c" -ne $((${#_e} + 1)) ]; then
            fail "stderr: want exactly one line"
        fi
        ;;
    *) fail "stderr: want one line matching: $1" "stderr: got:" "  $_e" ;;
    esac
}
ok() {
    n=$((n + 1))
    if [ -s "$tmp/why" ]; then
        echo "not ok $n - $1" >>"$tmp/tap"
        sed 's/^/# /' "$tmp/cmd" "$tmp/why" >>"$tmp/tap"
        failed=1
    else
        echo "ok $n - $1" >>"$tmp/tap"
    fi
    : >"$tmp/why"
}
finish() {
    echo "1..$n"
    cat "$tmp/tap"
    exit "$failed"
}
mkdir "$tmp/work"
# ---- end of prelude ----

# want_match PATTERN HOST
want_match() {
    run mx-match "$1" "$2"
    want_rc 0
    want_out "match"
    want_empty err
    ok "'$1' matches '$2'"
}
# want_no_match PATTERN HOST: a valid pattern that does not permit HOST.
want_no_match() {
    run mx-match "$1" "$2"
    want_rc 1
    want_out "no match"
    want_empty err
    ok "'$1' does not match '$2'"
}
# want_bad_host PATTERN HOST: HOST is not a valid name; the stderr text is
# not fixed by the contract.
want_bad_host() {
    run mx-match "$1" "$2"
    want_rc 1
    want_out "no match"
    ok "'$1' does not match invalid host '$2'"
}
# want_bad_pattern PATTERN HOST: PATTERN is invalid and matches nothing.
want_bad_pattern() {
    run mx-match "$1" "$2"
    want_rc 1
    want_out "no match"
    want_err_line 'mtasts: ?*'
    ok "invalid pattern '$1' matches nothing, with a reason"
}

want_match mx.example.com mx.example.com
want_match MX.Example.COM mx.example.com
want_match mx.example.com Mx.EXAMPLE.com
want_match mx.example.com. mx.example.com
want_match mx.example.com mx.example.com.
want_match '*.example.com' mx.example.com
want_match '*.example.com' MX.EXAMPLE.COM.
want_match '*.EXAMPLE.com.' mx.example.com
want_match '*.xn--bcher-kva.example' mx1.xn--bcher-kva.example

want_no_match '*.example.com' example.com
want_no_match '*.example.com' a.b.example.com
want_no_match '*.example.com' mx.example.org
want_no_match '*.example.com' mx.notexample.com
want_no_match mx.example.com mx.example.com.evil
want_no_match mx.example.com xmx.example.com
want_no_match mx.example.com mx.example.org
want_no_match example.com mx.example.com

want_bad_host '*.example.com' .example.com
want_bad_host mx.example.com mx.example.com..
want_bad_host 'a.b' 'a..b'
want_bad_host mx.example.com ''

want_bad_pattern '*' mx.example.com
want_bad_pattern '*.' mx.example.com
want_bad_pattern 'foo.*.com' foo.x.com
want_bad_pattern '*.*.example.com' a.b.example.com
want_bad_pattern 'mail*.example.com' mail1.example.com
want_bad_pattern 'mx_1.example.com' mx_1.example.com
want_bad_pattern 'mx-.example.com' mx.example.com
want_bad_pattern 'a..b' 'a..b'
want_bad_pattern '' mx.example.com

finish
