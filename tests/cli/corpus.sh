#!/bin/sh
# Golden corpus (test tier 2): guards the verdicts and messages of
# `mtasts lint policy` (RFC 8461 section 3.2), `mtasts lint txt`
# (RFC 8461 section 3.1) and `mtasts lint tlsrpt` (RFC 8460 section 3), as
# documented in mtasts(1) under POLICY RULES.
#
# For every tests/corpus/policy/NAME.txt it runs, from that directory,
#     mtasts lint policy NAME.txt
# for every tests/corpus/txt/NAME.args it runs
#     mtasts lint txt LINE1 LINE2 ...
# and for every tests/corpus/tlsrpt/NAME.args
#     mtasts lint tlsrpt LINE1 LINE2 ...
# (each line of the file is one TXT record, passed as one argument), and
# compares exit status, stdout and stderr with NAME.expect beside it:
#     exit=N
#     --stdout--
#     ...
#     --stderr--
#     ...
# Independently of the .expect file, the name prefix states the verdict the
# rules require: "valid-" exits 0 with an empty stderr; "invalid-" and
# "none-" (no v=STSv1 record) exit 1 with an empty stdout and a stderr
# starting "mtasts: " ("none-" means no v=STSv1, resp. v=TLSRPTv1,
# record).  So --update cannot bless a wrong verdict.
#
# Usage: MTASTS=build/milter/mtasts srcdir=. sh tests/cli/corpus.sh [--update]
# With --update the .expect files are (re)written from the binary's output:
# review the diff before committing it.

update=no
if [ "${1-}" = "--update" ]; then
    update=yes
    shift
fi

# shellcheck source=tests/lib/common.sh
. "${srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
need_bin MTASTS milter/mtasts

policydir=$srcdir/tests/corpus/policy
txtdir=$srcdir/tests/corpus/txt
tlsrptdir=$srcdir/tests/corpus/tlsrpt

run_policy() {
    (cd "$policydir" && timeout 10 "$MTASTS" lint policy "$1") \
        <"/dev/null" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# run_records KIND FILE: mtasts lint KIND with one argument per line of FILE.
run_records() {
    _kind=$1
    _file=$2
    set --
    while IFS= read -r _line || [ -n "$_line" ]; do
        set -- "$@" "$_line"
    done <"$_file"
    timeout 10 "$MTASTS" lint "$_kind" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# judge NAME EXPECTFILE: compare the last run with its .expect and prefix.
judge() {
    name=$1
    expect=$2
    base=${name##*/}
    {
        printf 'exit=%s\n--stdout--\n' "$rc"
        cat "$tmp/out"
        printf '%s\n' '--stderr--'
        cat "$tmp/err"
    } >"$tmp/got"

    case $base in
    valid-*)
        [ "$rc" = 0 ] || echo "verdict: want exit 0 (valid), got exit $rc" >>"$TAP_WHY"
        [ -s "$tmp/err" ] && echo "verdict: want empty stderr for a valid input" >>"$TAP_WHY"
        ;;
    invalid-* | none-*)
        [ "$rc" = 1 ] || echo "verdict: want exit 1 (not valid), got exit $rc" >>"$TAP_WHY"
        [ -s "$tmp/out" ] && echo "verdict: want empty stdout for an invalid input" >>"$TAP_WHY"
        case $(head -c 8 "$tmp/err") in
        "mtasts: ") ;;
        *) echo "verdict: want stderr starting \"mtasts: \"" >>"$TAP_WHY" ;;
        esac
        ;;
    *)
        echo "corpus file name must start with valid-, invalid- or none-" >>"$TAP_WHY"
        ;;
    esac

    if [ "$update" = yes ]; then
        cp "$tmp/got" "$expect" || echo "cannot write $expect" >>"$TAP_WHY"
        ok "$name (expect written)"
        return
    fi
    if [ ! -f "$expect" ]; then
        {
            echo "missing ${expect#"$srcdir"/}: run sh tests/cli/corpus.sh --update"
            echo "got:"
            cat "$tmp/got"
        } >>"$TAP_WHY"
    elif ! diff -u "$expect" "$tmp/got" >"$tmp/diff" 2>&1; then
        {
            echo "output differs from ${expect#"$srcdir"/} (- expected, + got):"
            cat "$tmp/diff"
        } >>"$TAP_WHY"
    fi
    ok "$name"
}

total=0
for f in "$policydir"/*.txt "$txtdir"/*.args "$tlsrptdir"/*.args; do
    [ -f "$f" ] && total=$((total + 1))
done
if [ "$total" = 0 ]; then
    echo "Bail out! no corpus files under $srcdir/tests/corpus"
    exit 99
fi
plan "$total"

for f in "$policydir"/*.txt; do
    [ -f "$f" ] || continue
    base=${f##*/}
    run_policy "$base"
    judge "policy/$base" "${f%.txt}.expect"
done
for f in "$txtdir"/*.args; do
    [ -f "$f" ] || continue
    run_records txt "$f"
    judge "txt/${f##*/}" "${f%.args}.expect"
done
for f in "$tlsrptdir"/*.args; do
    [ -f "$f" ] || continue
    run_records tlsrpt "$f"
    judge "tlsrpt/${f##*/}" "${f%.args}.expect"
done

finish
