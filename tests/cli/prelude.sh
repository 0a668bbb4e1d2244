# shellcheck shell=sh
# prelude.sh - the TAP helpers every tests/cli script sources: locate
# $MTASTS, a scratch directory $tmp (removed on exit), run/want_*/ok/finish.
# Not a test itself (it is not in TESTS).
# shellcheck disable=SC2317 # not every script uses every helper
case ${MTASTS-} in
"") echo "Bail out! MTASTS is not set (path to the mtasts binary)"; exit 99 ;;
/*) ;;
*/*) MTASTS=$(pwd)/$MTASTS ;;
esac
command -v "$MTASTS" >/dev/null 2>&1 || { echo "Bail out! $MTASTS is not an executable"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-cli.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
# GUARD_SECONDS: the longest one command may run (world tests need more).
if command -v timeout >/dev/null 2>&1; then
    guard() { timeout "${GUARD_SECONDS:-10}" "$@"; }
else
    guard() { "$@"; }
fi
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
# want_line ERE: some line of stdout matches the extended regular expression.
want_line() { grep -Eq -- "$1" "$tmp/out" || fail "stdout: want a line matching: $1"; }
# no_line ERE: no line of stdout matches.
no_line() { grep -Eq -- "$1" "$tmp/out" && fail "stdout: want no line matching: $1"; }
# want_json PYEXPR...: stdout is one line of JSON and each Python expression
# over it (as d) is true.
want_json() {
    [ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "stdout: want one line of JSON"
    for _e in "$@"; do
        /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$_e" 2>>"$tmp/why" || fail "json: want $_e"
    done
}
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
        {
            cat "$tmp/cmd" "$tmp/why"
            echo "stdout:"
            cat "$tmp/out" 2>/dev/null
            echo "stderr:"
            cat "$tmp/err" 2>/dev/null
        } | sed 's/^/# /' >>"$tmp/tap"
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
