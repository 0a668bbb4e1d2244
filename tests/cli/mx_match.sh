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

# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"

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
