#!/bin/sh
# Guards the `mtasts lint txt RECORD...` contract of mtasts(1), i.e. the
# RFC 8461 section 3.1 rules applied to a whole _mta-sts TXT RRset: records
# not starting "v=STSv1" are discarded; exactly one must remain and parse;
# exit 0 with the id alone on stdout, else exit 1, empty stdout and one
# "mtasts: REASON" line, with the exact reasons for "no record" and
# "several records".
#
# Usage: MTASTS=build/milter/mtasts srcdir=. sh tests/cli/lint_txt.sh

# shellcheck disable=SC2317 # not every script uses every helper of the prelude

# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"

TAB=$(printf '\t')

# valid RRset: want_id ID NAME RECORD...
want_id() {
    _id=$1
    _name=$2
    shift 2
    run lint txt "$@"
    want_rc 0
    want_out "$_id"
    want_empty err
    ok "$_name"
}
# RRset without a valid indicator: want_invalid NAME RECORD...
want_invalid() {
    _name=$1
    shift
    run lint txt "$@"
    want_rc 1
    want_empty out
    want_err_line 'mtasts: ?*'
    ok "$_name"
}

want_id 20160831085700Z "RFC 8461 section 3.1 example" 'v=STSv1; id=20160831085700Z;'
want_id abc "no space after ';'" 'v=STSv1;id=abc'
want_id abc "spaces around delimiters, trailing ';' and space" 'v=STSv1 ; id=abc ; '
want_id abc "tabs around delimiters" "v=STSv1${TAB};${TAB}id=abc${TAB};"
want_id abc "extension fields ignored" 'v=STSv1; ext.1_a-b=x:y/z; id=abc; foo=bar'
want_id ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 "id of 32 characters" 'v=STSv1; id=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'
want_id first "repeated id: the first counts" 'v=STSv1; id=first; id=second'
want_id abc "other records of the RRset are discarded" 'v=spf1 -all' 'google-site-verification=x' 'v=STSv1; id=abc'
want_id real "look-alike records are discarded" 'v=STSv10; id=1' 'V=STSv1; id=2' ' v=STSv1; id=3' 'v=STSv1; id=real'
want_id abc "an empty record is discarded" '' 'v=STSv1; id=abc'

run lint txt 'v=spf1 -all'
want_rc 1
want_empty out
want_err 'mtasts: no v=STSv1 record'
ok "no v=STSv1 record: exact message"

run lint txt 'v=STSv10; id=1' 'V=STSv1; id=1' ' v=STSv1; id=1' ''
want_rc 1
want_empty out
want_err 'mtasts: no v=STSv1 record'
ok "only look-alikes: no v=STSv1 record"

run lint txt 'v=STSv1; id=abc' 'v=STSv1; id=def'
want_rc 1
want_empty out
want_err 'mtasts: 2 v=STSv1 records (exactly one allowed)'
ok "two v=STSv1 records: exact message"

# RFC 8461 section 3.1: of several records, "v=STSv1" (not "v=STSv1;") is
# discarded before counting (issue 13 item 7a).
run lint txt 'v=STSv1; id=abc' 'v=spf1 -all' 'v=STSv1; id=abc' 'v=STSv1'
want_rc 1
want_empty out
want_err 'mtasts: 2 v=STSv1 records (exactly one allowed)'
ok "two identical v=STSv1 records, a bare v=STSv1 discarded: exact message"

run lint txt 'v=STSv1; id=abc' 'v=STSv1 junk' 'v=STSv1 ; id=def'
want_rc 0
want_out "abc"
want_empty err
ok "v=STSv1 junk and v=STSv1 ; id=def discarded beside a valid record"

want_invalid "v=STSv1 alone" 'v=STSv1'
want_invalid "v=STSv1; alone" 'v=STSv1;'
want_invalid "trailing space without ';'" 'v=STSv1; id=abc '
want_invalid "empty field" 'v=STSv1;; id=abc'
want_invalid "space instead of ';'" 'v=STSv1 id=abc'
want_invalid "no id" 'v=STSv1; foo=bar'
want_invalid "ID is not id" 'v=STSv1; ID=abc'
want_invalid "empty id" 'v=STSv1; id='
want_invalid "id of 33 characters" 'v=STSv1; id=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456'
want_invalid "id with a hyphen" 'v=STSv1; id=abc-def'
want_invalid "bad extension name" 'v=STSv1; id=abc; _foo=bar'
want_invalid "empty extension value" 'v=STSv1; id=abc; foo='
want_invalid "invalid record next to an SPF record" 'v=spf1 -all' 'v=STSv1; id=a b'

finish
