# shellcheck shell=sh
# shellcheck disable=SC2317 # not every script uses every helper
# prelude.sh - the mtasts command layer on tests/lib/common.sh, for the
# scripts that run the CLI and judge its output (tests/cli, and the world
# scripts tests/world/cli_*.sh, which call world_up after it).  Not a test
# itself (it is not in TESTS).
#
#   . "${srcdir:-.}/tests/cli/prelude.sh"
#   run lint policy p.txt     # mtasts in $tmp/work: rc, $tmp/out, $tmp/err
#   want_rc 0                 # each want_* collects a reason (fail) ...
#   want_out "valid: ..."
#   ok "what the point shows" # ... and ok closes the point
#   finish
#
# A failing point shows its reasons, then the command and its stdout and
# stderr.  GUARD_SECONDS (default 10) bounds one run of mtasts.
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS milter/mtasts
mkdir "$tmp/work" || bail "mkdir $tmp/work"
: >"$tmp/cmd"
TAP_ON_FAIL=_cli_show_run

# run [-i STDINFILE] ARG...: run mtasts in $tmp/work; sets rc, $tmp/out, $tmp/err.
run() {
    _in=/dev/null
    if [ "$1" = -i ]; then _in=$2; shift 2; fi
    (cd "$tmp/work" && timeout "${GUARD_SECONDS:-10}" "$MTASTS" "$@") <"$_in" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    printf '%s' "ran: mtasts" >"$tmp/cmd"
    for _a in "$@"; do printf " '%s'" "$_a" >>"$tmp/cmd"; done
    echo >>"$tmp/cmd"
}
_cli_show_run() {
    cat "$tmp/cmd"
    echo "stdout:"
    cat "$tmp/out" 2>/dev/null
    echo "stderr:"
    cat "$tmp/err" 2>/dev/null
}
want_rc() { [ "$rc" = "$1" ] || fail "exit status: want $1, got $rc"; }
# want_line ERE: some line of stdout matches the extended regular expression.
want_line() { grep -Eq -- "$1" "$tmp/out" || fail "stdout: want a line matching: $1"; }
# no_line ERE: no line of stdout matches.
no_line() { grep -Eq -- "$1" "$tmp/out" && fail "stdout: want no line matching: $1"; }
# want_last LINE: the last line of stdout is exactly LINE.
want_last() {
    _l=$(tail -n 1 "$tmp/out")
    [ "$_l" = "$1" ] || fail "last line: want '$1'" "last line: got  '$_l'"
}
# want_json PYEXPR...: stdout is one line of JSON and each Python expression
# over it (as d) is true.
want_json() {
    [ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "stdout: want one line of JSON"
    for _e in "$@"; do
        /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$_e" 2>>"$TAP_WHY" || fail "json: want $_e"
    done
}
# want_file WHICH TEXT: the stream is exactly TEXT plus one newline.
want_file() {
    printf '%s\n' "$2" >"$tmp/want"
    if ! diff "$tmp/want" "$tmp/$1" >/dev/null 2>&1; then
        fail "$1: want exactly:" "  $2" "$1: got:"
        sed 's/^/  /' "$tmp/$1" >>"$TAP_WHY"
    fi
}
want_out() { want_file out "$1"; }
want_err() { want_file err "$1"; }
want_empty() { [ -s "$tmp/$1" ] && { fail "$1: want empty, got:"; sed 's/^/  /' "$tmp/$1" >>"$TAP_WHY"; }; }
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
# want_usage NAME ARG...: one point: mtasts ARG... is a usage error (exit 2,
# nothing on stdout, a usage line on stderr).
want_usage() {
    _name=$1
    shift
    run "$@"
    want_rc 2
    want_empty out
    grep -q '[Uu]sage' "$tmp/err" || fail "stderr: want a usage line"
    ok "usage error: $_name"
}
