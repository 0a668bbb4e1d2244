# shellcheck shell=sh
# shellcheck disable=SC2317,SC2034,SC2154 # helpers and variables shared with tests/lib/common.sh
# postfix_lib.sh - a private Postfix instance and the daemon beside it, for
# the end-to-end tests (tests/e2e/postfix.sh, tests/e2e/delivery.sh).  Not a
# test itself; sourced after tests/lib/common.sh, in the script's shell.
#
#   pf_need TOOL...       skip_all unless root, the postfix user and TOOLs
#   pf_prepare            make $tmp reachable by the postfix user (bail if
#                         it cannot be) and set the paths below; registers
#                         the cleanup (watchdog, Postfix, the daemon);
#                         E2E_KEEP=1 keeps $tmp
#     pfc      config_directory ($tmp/postfix)  pfq  queue_directory
#     mdir     the daemon's files ($tmp/milter)  mlog  its LogFile
#     maillog  Postfix's maillog_file
#   pf_main_cf ROLE HOSTNAME DOMAIN  the main.cf lines every private
#                         instance shares (tests/world/postfix-main.cf.in),
#                         for this one; the caller appends its own lines
#   pf_master_cf ADDR     master.cf: smtpd on ADDR:25, the usual services
#                         (tests/world/postfix-services.cf), no chroot
#   pf_dirs               make $pfc, $pfq and the data directory
#   pf_backdate           date main.cf and master.cf back a minute: Postfix
#                         programs wait (300 ms naps) until main.cf is a
#                         second old, lest they read a file being written
#   pf_watchdog           start tests/e2e/watchdog.sh (under setsid): it
#                         stops Postfix and the daemon if this script dies
#   master_pid            the running master's PID (from its pid file)
#   group_gone PID        PID and every process of its group are gone
#   postfix_stop          SIGTERM to the master, 10 s for its group to go
#                         (then SIGKILL); fails if it had to kill
#   pf_bail WHY           bail, with the tails of $PF_LOGS as context
# The daemon itself: milter_start and milter_stop of tests/lib/common.sh.

E2E_DIR=$srcdir/tests/e2e
need_bin MTASTS_MILTER milter/mtasts-milter

pf_need() {
    NEED_ROOT_WHY="needs root (Postfix and the test world)"
    need_root
    for _pf_t in postfix "$@"; do
        command -v "$_pf_t" >/dev/null 2>&1 || skip_all "$_pf_t is missing (see tests/e2e/packages.txt)"
    done
    id postfix >/dev/null 2>&1 || skip_all "no postfix user (install the postfix package)"
    [ -f "$E2E_DIR/watchdog.sh" ] || bail "cannot find $E2E_DIR (set srcdir)"
}

pf_prepare() {
    # Postfix's daemons (user postfix) walk into the queue and the milter's
    # directory: the scratch directory must be searchable.
    chmod 755 "$tmp"
    runuser -u postfix -- test -x "$tmp" ||
        bail "the postfix user cannot reach $tmp: set TMPDIR to a directory it can"
    [ "${E2E_KEEP-}" = 1 ] && TEST_KEEP=1
    pfc=$tmp/postfix
    pfq=$tmp/queue
    mdir=$tmp/milter
    mlog=$mdir/milter.log
    maillog=$tmp/maillog
    postfix_up=''
    watchdog_pid=''
    PF_LOGS="$mlog $mdir/milter.out $maillog $tmp/postfix-start.out"
    at_exit pf_cleanup
}

pf_cleanup() {
    [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
    postfix_stop
    # shellcheck disable=SC2119 # the default signal
    milter_stop
}

pf_dirs() { mkdir -p "$pfc" "$pfq" "$tmp/data" && chown postfix "$tmp/data"; }

pf_backdate() { touch -d '1 minute ago' "$pfc/main.cf" "$pfc/master.cf"; }

pf_main_cf() {
    sed -e "s|@ROLE@|$1|" -e "s|@QUEUE@|$pfq|" -e "s|@DATA@|$tmp/data|" \
        -e "s|@MAILLOG@|$maillog|" -e "s|@PREFIXES@|$tmp|" \
        -e "s|@HOSTNAME@|$2|" -e "s|@DOMAIN@|$3|" "$srcdir/tests/world/postfix-main.cf.in"
}

pf_master_cf() {
    echo "# written by tests/e2e/$(basename "$0"); no chroot"
    echo "$1:25 inet n - n - - smtpd"
    cat "$srcdir/tests/world/postfix-services.cf"
}

pf_watchdog() {
    setsid sh "$E2E_DIR/watchdog.sh" $$ 600 "$pfq/pid/master.pid" "$mdir/milter.pid" \
        "$tmp" "${E2E_KEEP:-0}" </dev/null >/dev/null 2>&1 &
    watchdog_pid=$!
}

master_pid() {
    _pf_p=$(sed -n '1{s/[^0-9]//g;p;}' "$pfq/pid/master.pid" 2>/dev/null)
    [ -n "$_pf_p" ] && [ "$(cat "/proc/$_pf_p/comm" 2>/dev/null)" = master ] && echo "$_pf_p"
}

# Children of the master (smtpd, qmgr, ...) are in its process group.
group_gone() { ! alive "$1" && ! pgrep -g "$1" >/dev/null 2>&1; }

postfix_stop() {
    [ -n "$postfix_up" ] || return 0
    postfix_up=''
    _pf_m=$(master_pid)
    [ -n "$_pf_m" ] || return 0
    # The master stops its children on SIGTERM (what "postfix stop" does,
    # without its one-second polling); it leads its own process group.
    kill -TERM "$_pf_m" 2>/dev/null
    if ! wait_until 10 group_gone "$_pf_m"; then
        echo "# postfix master $_pf_m did not stop in 10 s: killing its process group"
        kill -KILL -- "-$_pf_m" 2>/dev/null
        kill -KILL "$_pf_m" 2>/dev/null
        return 1
    fi
}

pf_bail() {
    for _pf_f in $PF_LOGS; do
        [ -s "$_pf_f" ] || continue
        echo "--- tail of $_pf_f"
        tail -n 20 "$_pf_f" | sed 's/^/  /'
    done >>"$TAP_CONTEXT"
    bail "$1"
}
