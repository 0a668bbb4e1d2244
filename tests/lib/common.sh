# shellcheck shell=sh
# shellcheck disable=SC2317,SC2034 # not every script uses every helper or variable
# common.sh - the one helper library of the shell tests (every tier).
#
#   . "${srcdir:-.}/tests/lib/common.sh"
#
# Sourcing it sets LC_ALL=C, makes $srcdir (the source tree; automake sets
# it, default .) absolute, creates a scratch directory $tmp and installs an
# EXIT trap (INT, TERM and HUP exit 130, so the trap runs on a signal too)
# that runs the at_exit commands, stops every PID given to track, stops the
# test world if world_up started it, and removes $tmp (unless TEST_KEEP=1).
# A script must not set its own EXIT trap: it registers with at_exit.
# tests/README says how to write a test with it.
#
# TAP (one test point per ok, nok, check, check_eq, okif, skip):
#   plan N                 print the plan now (else finish prints it last)
#   fail WHY...            a reason the pending point fails; collected
#                          until the next ok (in the file $TAP_WHY)
#   want_eq WHAT WANT GOT  fail "WHAT: got 'GOT', want 'WANT'" unless equal
#   ok DESC [TODO]         close the pending point: "ok" unless a reason was
#                          collected, else "not ok" with the reasons, then
#                          the file $TAP_CONTEXT, then the output of the
#                          function named by $TAP_ON_FAIL, as comments;
#                          a non-empty TODO marks the point "# TODO TODO"
#   nok DESC [WHY...]      a failing point, WHY as comments
#   check DESC CMD...      a point that passes when CMD succeeds
#   okif DESC WHY CMD...   the same, with WHY shown when it fails
#   check_eq DESC WANT GOT a point that passes when GOT is exactly WANT
#   skip DESC WHY          a point skipped ("ok N - DESC # SKIP WHY")
#   skip_all WHY           "1..0 # SKIP WHY" and exit 0 (before any point)
#   diag MSG...            "# MSG" lines now
#   check_man PAGE         a point: groff renders the man page PAGE (e.g.
#                          docs/mtasts.1) without warnings; skipped
#                          without groff
#   tap_import FILE        the points of another program's TAP in FILE,
#                          renumbered into ours (its plan dropped)
#   finish                 the plan (unless plan gave it) and the exit
#                          status: 0 when every point passed, else 1
#   bail WHY               the pending reasons and context, then
#                          "Bail out! WHY", exit 99
#   Variables: tap_n (points so far), tap_failed (0 or 1).
#
# What a test needs (each prints "1..0 # SKIP ..." and exits 0 without it):
#   need_root              running as root (the skip says $NEED_ROOT_WHY,
#                          default "the test world needs root")
#   need_tools TOOL...     programs on PATH (or absolute paths)
#   need_bin VAR DEFAULT   a built program: VAR (default DEFAULT, relative to
#                          the build directory) made absolute and exported;
#                          "Bail out!" when it is not executable
#
# Time and processes:
#   now_ms                 milliseconds since the epoch
#   wait_until SECONDS CMD...  run CMD every 50 ms until it succeeds; fails
#                          once SECONDS (an integer or N.NNN) have passed.
#                          The only way a test waits: never a fixed sleep.
#   alive PID              the process exists and is not a zombie
#   track PID...           stop these at exit: SIGTERM, 10 s, then SIGKILL
#   untrack PID...         forget them (a test that stopped and reaped them)
#   at_exit CMD            eval CMD at exit, in the order registered, before
#                          the daemon (milter_start), the tracked PIDs and
#                          the world are stopped
#
# The test world (tests/world/world.sh, its header documents it):
#   world_up [STEP...]     source world.sh (exported as WORLD_SH for the C
#                          drivers), run world_start (unless it ran) and
#                          then each STEP
#                          (world_start_mx, world_start_dnssec,
#                          world_start_resolver) in this shell, their
#                          chatter in $tmp/world.log: skip_all when one
#                          returns 77 (not root, a program missing), "Bail
#                          out!" with the log when one fails.  Set
#                          WORLD_SLOW_SECONDS and the like before it.
#
# The daemon (mtasts-milter, $MTASTS_MILTER; the milter and e2e tiers):
#   milter_start CONF SOCKET ERRFILE  start "mtasts-milter -f -c CONF" in
#                          the background (stdout and stderr appended to
#                          ERRFILE), PID in milter_pid; waits until SOCKET
#                          exists, 10 s at most; fails if it does not or
#                          the daemon died
#   milter_stop [SIGNAL]   signal it (TERM), wait 15 s for it to exit (then
#                          SIGKILL), reap it: its exit status in milter_status
#
# Environment the tests get from Makefile.am (AM_TESTS_ENVIRONMENT): srcdir,
# MTASTS, MTASTS_MILTER, MILTC, NOOP_FILTER; see tests/README.

LC_ALL=C
export LC_ALL
: "${srcdir:=.}"
case $srcdir in /*) ;; *) srcdir=$(cd "$srcdir" 2>/dev/null && pwd) || srcdir=$(pwd)/$srcdir ;; esac
export srcdir

_lib_name=$(basename "$0" .sh)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-$_lib_name.XXXXXX") || {
    echo "Bail out! mktemp failed"
    exit 99
}
mkdir "$tmp/.tap" || {
    echo "Bail out! mkdir $tmp/.tap failed"
    exit 99
}
TAP_WHY=$tmp/.tap/why
TAP_CONTEXT=$tmp/.tap/context
TAP_ON_FAIL=
: >"$TAP_WHY"
: >"$TAP_CONTEXT"
tap_n=0
tap_failed=0
_tap_planned=
_lib_exit_cmds=
_lib_pids=
_lib_world=

# ---- TAP

plan() {
    _tap_planned=$1
    echo "1..$1"
}

fail() { printf '%s\n' "$@" >>"$TAP_WHY"; }

want_eq() { [ "$3" = "$2" ] || fail "$1: got '$3', want '$2'"; }

ok() {
    tap_n=$((tap_n + 1))
    _tap_todo=${2:+ # TODO $2}
    if [ -s "$TAP_WHY" ]; then
        echo "not ok $tap_n - $1$_tap_todo"
        {
            cat "$TAP_WHY" "$TAP_CONTEXT"
            [ -z "$TAP_ON_FAIL" ] || "$TAP_ON_FAIL"
        } | sed 's/^/# /'
        [ -n "$_tap_todo" ] || tap_failed=1
    else
        echo "ok $tap_n - $1$_tap_todo"
    fi
    : >"$TAP_WHY"
    : >"$TAP_CONTEXT"
}

nok() {
    _tap_d=$1
    shift
    [ $# -gt 0 ] || set -- "(no reason given)"
    fail "$@"
    ok "$_tap_d"
}

check() {
    _tap_d=$1
    shift
    "$@" || fail "failed (exit $?): $*"
    ok "$_tap_d"
}

okif() {
    _tap_d=$1 _tap_y=$2
    shift 2
    "$@" || fail "$_tap_y"
    ok "$_tap_d"
}

check_eq() {
    [ "$3" = "$2" ] || fail "got '$3'" "want '$2'"
    ok "$1"
}

skip() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
    : >"$TAP_WHY"
    : >"$TAP_CONTEXT"
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

check_man() {
    _lib_d="$(basename "$1" | sed 's/\.\([0-9]\)$/(\1)/') renders without warnings"
    if command -v groff >/dev/null 2>&1; then
        _lib_w=$(groff -man -Tutf8 -ww -z "$1" 2>&1)
        [ -z "$_lib_w" ] || fail "$_lib_w"
        ok "$_lib_d"
    else
        skip "$_lib_d" "groff not installed"
    fi
}

tap_import() {
    while IFS= read -r _tap_l; do
        case $_tap_l in
        "ok "* | "not ok "*)
            _tap_ok=${_tap_l%%ok *}ok
            _tap_rest=${_tap_l#"$_tap_ok" }
            _tap_rest=${_tap_rest#"${_tap_rest%%[!0-9]*}"}
            tap_n=$((tap_n + 1))
            [ "$_tap_ok" = ok ] || case $_tap_rest in *"# TODO"*) ;; *) tap_failed=1 ;; esac
            echo "$_tap_ok $tap_n$_tap_rest"
            ;;
        1..*) ;;
        *) printf '%s\n' "$_tap_l" ;;
        esac
    done <"$1"
}

finish() {
    [ -n "$_tap_planned" ] || echo "1..$tap_n"
    exit "$tap_failed"
}

bail() {
    cat "$TAP_WHY" "$TAP_CONTEXT" | sed 's/^/# /'
    echo "Bail out! $*"
    exit 99
}

# ---- what a test needs

need_root() {
    [ "$(id -u)" = 0 ] || skip_all "${NEED_ROOT_WHY:-the test world needs root}"
}

need_tools() {
    for _lib_t in "$@"; do
        command -v "$_lib_t" >/dev/null 2>&1 ||
            skip_all "$_lib_t is not installed (contrib/install-deps.sh)"
    done
}

need_bin() {
    eval "_lib_b=\${$1:-\$2}"
    case $_lib_b in
    /*) ;;
    */*) _lib_b=$(pwd)/$_lib_b ;;
    *) _lib_b=$(command -v "$_lib_b") || _lib_b=$2 ;;
    esac
    [ -f "$_lib_b" ] && [ -x "$_lib_b" ] || bail "$1=$_lib_b is not an executable (make check builds it)"
    eval "$1=\$_lib_b"
    export "${1?}"
}

# ---- time and processes

now_ms() { date +%s%3N; }

wait_until() {
    case $1 in
    *.*) _lib_f=${1#*.}000 && _lib_f=${_lib_f%"${_lib_f#???}"} && _lib_ms=$((${1%%.*} * 1000 + 1$_lib_f - 1000)) ;;
    *) _lib_ms=$(($1 * 1000)) ;;
    esac
    shift
    _lib_end=$(($(now_ms) + _lib_ms))
    until "$@"; do
        [ "$(now_ms)" -lt "$_lib_end" ] || return 1
        sleep 0.05
    done
}

alive() {
    kill -0 "$1" 2>/dev/null || return 1
    _lib_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$_lib_st" != Z ]
}

_lib_none_alive() {
    for _lib_p in "$@"; do alive "$_lib_p" && return 1; done
    return 0
}

track() { _lib_pids="$_lib_pids $*"; }

untrack() {
    for _lib_u in "$@"; do
        _lib_pids=$(for _lib_p in $_lib_pids; do [ "$_lib_p" = "$_lib_u" ] || printf ' %s' "$_lib_p"; done)
    done
}

at_exit() {
    _lib_exit_cmds="$_lib_exit_cmds$1
"
}

_lib_cleanup() {
    _lib_rc=$?
    trap - EXIT
    _lib_cmds=$_lib_exit_cmds
    _lib_exit_cmds=
    while [ -n "$_lib_cmds" ]; do
        _lib_c=${_lib_cmds%%
*}
        _lib_cmds=${_lib_cmds#*
}
        eval "$_lib_c"
    done
    # shellcheck disable=SC2119 # the default signal
    [ -z "$milter_pid" ] || milter_stop
    if [ -n "$_lib_pids" ]; then
        # shellcheck disable=SC2086 # a list of PIDs
        kill -TERM $_lib_pids 2>/dev/null
        # shellcheck disable=SC2086
        wait_until 10 _lib_none_alive $_lib_pids || kill -KILL $_lib_pids 2>/dev/null
        for _lib_p in $_lib_pids; do wait "$_lib_p" 2>/dev/null; done
    fi
    [ -z "$_lib_world" ] || world_stop >/dev/null 2>&1
    if [ "${TEST_KEEP-}" = 1 ]; then
        echo "# kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$_lib_rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- the test world

world_up() {
    if [ -z "$_lib_world" ]; then
        WORLD_SH=$srcdir/tests/world/world.sh
        export WORLD_SH
        [ -f "$WORLD_SH" ] || bail "cannot find $WORLD_SH (set srcdir)"
        # shellcheck source=tests/world/world.sh
        . "$WORLD_SH"
        _lib_world=1
    fi
    [ -n "${_world_pids-}" ] || set -- world_start "$@"
    for _lib_s in "$@"; do
        "$_lib_s" >>"$tmp/world.log" 2>&1
        case $? in
        0) ;;
        77) skip_all "$_lib_s: $(tail -n 1 "$tmp/world.log")" ;;
        *)
            echo "Bail out! $_lib_s failed:"
            sed 's/^/# /' "$tmp/world.log"
            exit 99
            ;;
        esac
    done
}

# ---- the daemon

milter_pid=
# shellcheck disable=SC2034 # for the caller
milter_status=

_lib_milter_up() { [ -S "$1" ] || ! alive "$milter_pid"; }

milter_start() {
    rm -f "$2"
    "$MTASTS_MILTER" -f -c "$1" </dev/null >>"$3" 2>&1 &
    milter_pid=$!
    wait_until 10 _lib_milter_up "$2"
    [ -S "$2" ] && alive "$milter_pid"
}

# shellcheck disable=SC2120 # SIGNAL is optional
milter_stop() {
    milter_status=
    [ -n "$milter_pid" ] || return 0
    kill "-${1:-TERM}" "$milter_pid" 2>/dev/null
    if ! wait_until 15 _lib_none_alive "$milter_pid"; then
        echo "# the milter ($milter_pid) did not stop in 15 s: SIGKILL" >&2
        kill -KILL "$milter_pid" 2>/dev/null
    fi
    wait "$milter_pid" 2>/dev/null
    milter_status=$?
    milter_pid=
}
