#!/bin/sh
# End to end under Sendmail: a real Sendmail 8.17 (Debian's sendmail-bin and
# sendmail-cf, unpacked with dpkg-deb -x into this script's scratch
# directory: the packages conflict with Postfix and are never installed),
# with INPUT_MAIL_FILTER pointing at mtasts-milter, mail submitted with
# swaks, recipients' domains served by the local test world
# (tests/world/world.sh: nsd, nginx with a test CA, STARTTLS MX servers,
# DNSSEC-signed zones).  Everything is asserted from Sendmail's side: the
# SMTP reply (code, enhanced code, text) the client gets at RCPT, and the
# audit header in the message Sendmail queued (its qf file).
#
# Guards, as the milter applies them at RCPT time under Sendmail
# (mtasts-milter.conf(5), include/mtasts/verdict.h, README "Sendmail"):
#   RFC 8461 4.1  an enforce policy refuses (451 4.7.0) a recipient whose
#                 MX hosts do not match, accepts one that does
#   RFC 8461 4.2  an enforce domain whose only MX has an expired
#                 certificate is refused with 451 4.7.5 certificate-expired
#   RFC 7672      good.dane.test passes by DANE (dane-match), its
#                 certificate from a CA nobody trusts
#   RFC 8461 5    a testing policy is never refused, only tagged; audit
#                 mode refuses nothing and writes the MTA-STS-Audit field
#                 (a forged one is removed) in the queued message
#   route classification with Sendmail's own {rcpt_mailer}/{rcpt_host}
#                 (include/mtasts/route.h): esmtp to a canonified domain
#                 (Sendmail's "mxgood.test." with its trailing dot), a
#                 mailertable esmtp:[addr] route to a trusted and to an
#                 untrusted relay, relay:[mx1.charset.test] (a host the
#                 policy permits), the local mailer; a TODO point for
#                 Sendmail's cyrusv2 and procmail mailers, which the
#                 milter takes for relays (a known bug)
#   F=T           the milter down: Sendmail tempfails (451 4.3.2 at MAIL),
#                 queues nothing
#   T=R:10s       R above LookupDeadline: a discovery that never ends is
#                 answered by the milter at LookupDeadline (3s, 451 4.4.3
#                 with OnDiscoveryTimeout tempfail) and Sendmail relays
#                 that answer; the milter hung (SIGSTOP) past R: Sendmail
#                 gives up on it after 10 s and, with F=T, tempfails
#
# Usage (from the build directory, as root):
#   srcdir=SRCDIR MTASTS_MILTER=milter/mtasts-milter sh SRCDIR/tests/e2e/sendmail.sh
# Environment:
#   srcdir         the source tree (tests/world/world.sh); default .
#   MTASTS_MILTER  the mtasts-milter binary; default milter/mtasts-milter
#   NOOP_FILTER    tests/milter/noop_filter (built by make check): run
#                  with -e as a first filter, it records the macros
#                  Sendmail sends at RCPT in an X-Noop-Trace field
#   SENDMAIL_DEBS  a directory with sendmail-bin_*.deb and sendmail-cf_*.deb
#                  (contrib/install-deps.sh fills /var/cache/mtasts-milter/sendmail,
#                  the default); without them the script runs
#                  "apt-get download sendmail-bin sendmail-cf" itself
#   SENDMAIL_TMPDIR  where the scratch directory goes (default /run): every
#                  directory above Sendmail's files must be owned by root
#                  and writable by nobody else (Sendmail refuses a map or a
#                  milter socket below /tmp, "World writable directory")
#   E2E_KEEP=1     keep the scratch directory
#   WORLD_KEEP=1   keep the world's directory (see tests/world/world.sh)
# Needs: root, m4, swaks, perl, unshare and mount (util-linux), the
# libraries sendmail-bin links with (tests/e2e/packages.txt) and the
# world's programs (tests/world/packages.txt).  Prints "1..0 # SKIP ..."
# without them or when Sendmail's packages cannot be had.
#
# Nothing touches /etc/mail: the .cf is built with m4 from the unpacked
# sendmail-cf, every file it names is in the scratch directory, and the
# daemon (sendmail -bD, in the foreground) runs under "unshare -m -u" with
# its own host name (a fully qualified one: with a short name Sendmail
# sleeps 60 s trying to qualify it) and its own /etc/resolv.conf (the
# world's nsd), listening on $WORLD_NET.61:25.  DeliveryMode queueonly and
# no queue runner: accepted mail stays in the queue, where the qf file is
# read.  Sendmail logs to syslog, which these machines do not have: what it
# did is read from the SMTP transcript and its queue.  The milter, the
# trace filter and Sendmail run under "timeout $LIFETIME" (600 s), so that
# none outlives a test that dies uncleanly; they are stopped by PID.

# shellcheck disable=SC2153 # WORLD_* come from world.sh
# shellcheck disable=SC2317 # helpers called through wait_until and traps
# shellcheck disable=SC2015 # "A && B || fail": fail when either is false
LC_ALL=C
export LC_ALL

: "${srcdir:=.}"
case $srcdir in /*) ;; *) srcdir=$(pwd)/$srcdir ;; esac
: "${MTASTS_MILTER:=milter/mtasts-milter}"
case $MTASTS_MILTER in /*) ;; *) MTASTS_MILTER=$(pwd)/$MTASTS_MILTER ;; esac
: "${NOOP_FILTER:=tests/milter/noop_filter}"
case $NOOP_FILTER in /*) ;; *) NOOP_FILTER=$(pwd)/$NOOP_FILTER ;; esac
E2E_DIR=$srcdir/tests/e2e
: "${SENDMAIL_DEBS:=/var/cache/mtasts-milter/sendmail}"
: "${SENDMAIL_TMPDIR:=/run}"
LIFETIME=600 # cap, in seconds, on the milter and Sendmail (timeout(1))

skip() {
    echo "1..0 # SKIP $*"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (Sendmail and the test world)"
for prog in m4 swaks perl unshare mount hostname timeout dpkg-deb ldd; do
    command -v "$prog" >/dev/null 2>&1 || skip "$prog is missing (see tests/e2e/packages.txt)"
done
[ -x "$MTASTS_MILTER" ] || { echo "Bail out! MTASTS_MILTER=$MTASTS_MILTER is not an executable"; exit 99; }
[ -x "$NOOP_FILTER" ] || { echo "Bail out! NOOP_FILTER=$NOOP_FILTER is not an executable (make check builds it)"; exit 99; }
[ -f "$E2E_DIR/audit_header.awk" ] || { echo "Bail out! cannot find $E2E_DIR (set srcdir)"; exit 99; }

# safe_dir DIR: DIR and every directory above it owned by root and not
# writable by group or others (Sendmail's safedirpath() for maps, the .cf
# and the milter socket).
safe_dir() {
    _d=$1
    while :; do
        _s=$(stat -L -c '%u %a' "$_d" 2>/dev/null) || return 1
        [ "${_s% *}" = 0 ] || return 1
        case ${_s#* } in *[2367]? | *[2367]) return 1 ;; esac
        [ "$_d" = / ] && return 0
        _d=$(dirname "$_d")
    done
}
safe_dir "$SENDMAIL_TMPDIR" ||
    { echo "Bail out! SENDMAIL_TMPDIR=$SENDMAIL_TMPDIR: Sendmail needs a directory path owned by root and writable by root only"; exit 99; }
tmp=$(mktemp -d "$SENDMAIL_TMPDIR/mtasts-e2e-sendmail.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
chmod 755 "$tmp"

# ---- state, cleanup ----
milter_pid='' sm_pid='' trace_pid=''
smroot=$tmp/root          # the unpacked packages
smbin=$smroot/usr/libexec/sendmail/sendmail
smcf=$tmp/sendmail.cf
smq=$tmp/mqueue           # QueueDirectory
mdir=$tmp/milter          # the milter's files
mconf=$mdir/milter.conf
mlog=$mdir/milter.log
msock=$mdir/milter.sock
tsock=$tmp/trace.sock     # noop_filter -e

now_ms() { date +%s%3N; }

# alive PID: the process exists and is not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    _st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$_st" != Z ]
}
not_alive() { ! alive "$1"; }

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds; fails
# after the deadline.
wait_until() {
    _end=$(($(now_ms) + $1 * 1000))
    shift
    until "$@"; do
        [ "$(now_ms)" -lt "$_end" ] || return 1
        sleep 0.05
    done
}

# sm_procs: PIDs of processes running the unpacked sendmail binary (the
# daemon and the children it forks per SMTP session).
sm_procs() {
    for _p in /proc/[0-9]*; do
        [ "$(readlink "$_p/exe" 2>/dev/null)" = "$smbin" ] && echo "${_p#/proc/}"
    done
}
no_sm_procs() { [ -z "$(sm_procs)" ]; }

# sendmail_stop: SIGTERM to the daemon (through timeout(1), which passes
# it on), then wait until no process runs the binary; KILL by PID if one
# is left after 10 s.
sendmail_stop() {
    [ -n "$sm_pid" ] || return 0
    kill -TERM "$sm_pid" 2>/dev/null
    wait_until 10 not_alive "$sm_pid"
    wait "$sm_pid" 2>/dev/null
    sm_pid=''
    if ! wait_until 10 no_sm_procs; then
        for _p in $(sm_procs); do
            echo "# sendmail process $_p still running 10 s after SIGTERM: SIGKILL"
            kill -KILL "$_p" 2>/dev/null
        done
        return 1
    fi
}

# milter_stop [SIGNAL]: stop the milter, by PID, and reap it; its exit
# status in milter_status.
milter_stop() {
    milter_status=''
    [ -n "$milter_pid" ] || return 0
    _mp=$(milter_real_pid)
    [ -z "$_mp" ] || kill -CONT "$_mp" 2>/dev/null
    kill "-${1:-TERM}" "$milter_pid" 2>/dev/null
    if ! wait_until 15 not_alive "$milter_pid"; then
        echo "# the milter ($milter_pid) did not stop in 15 s: SIGKILL"
        kill -KILL "$milter_pid" 2>/dev/null
    fi
    wait "$milter_pid" 2>/dev/null
    milter_status=$?
    milter_pid=''
}

cleanup() {
    sendmail_stop
    milter_stop
    if [ -n "$trace_pid" ]; then
        kill -TERM "$trace_pid" 2>/dev/null
        wait "$trace_pid" 2>/dev/null
    fi
    world_stop >/dev/null 2>&1
    if [ "${E2E_KEEP-}" = 1 ]; then
        echo "# kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- Sendmail's packages ----
# deb_of PACKAGE: the newest PACKAGE_*.deb in SENDMAIL_DEBS, or in
# $tmp/debs after an apt-get download.
deb_of() {
    for _dir in "$SENDMAIL_DEBS" "$tmp/debs"; do
        # shellcheck disable=SC2012 # file names from apt: no odd characters
        _f=$(ls "$_dir/$1"_*.deb 2>/dev/null | sort -V | tail -n 1)
        [ -n "$_f" ] && { echo "$_f"; return 0; }
    done
    return 1
}
if ! deb_of sendmail-bin >/dev/null || ! deb_of sendmail-cf >/dev/null; then
    mkdir -p "$tmp/debs"
    (cd "$tmp/debs" && timeout 120 apt-get download -q sendmail-bin sendmail-cf) >"$tmp/apt.log" 2>&1
    deb_of sendmail-bin >/dev/null && deb_of sendmail-cf >/dev/null ||
        skip "cannot get Sendmail's packages: no debs in $SENDMAIL_DEBS (contrib/install-deps.sh) and apt-get download failed: $(grep -v '^W:' "$tmp/apt.log" | tail -n 1)"
fi
for _p in sendmail-bin sendmail-cf; do
    dpkg-deb -x "$(deb_of $_p)" "$smroot" || { echo "Bail out! dpkg-deb -x $(deb_of $_p) failed"; exit 99; }
done
[ -x "$smbin" ] && [ -f "$smroot/usr/share/sendmail/cf/m4/cf.m4" ] ||
    { echo "Bail out! the unpacked packages have no $smbin or cf/m4/cf.m4"; exit 99; }
missing=$(ldd "$smbin" 2>&1 | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | tr '\n' ' ')
[ -z "$missing" ] || skip "sendmail needs libraries that are not installed: $missing(see tests/e2e/packages.txt)"
SM_HOST=mta.e2e.test      # Sendmail's host name ($j), in its own UTS namespace
# sm_cmd ARG...: run the unpacked sendmail with the host name SM_HOST (in
# a UTS namespace of its own: with the machine's short name every start of
# sendmail, newaliases and makemap sleeps 60 s trying to qualify it).
sm_cmd() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare -u sh -c 'hostname "$1" && shift && exec "$@"' sh "$SM_HOST" "$@"
}
sm_version=$(sm_cmd "$smbin" -d0.1 -bt </dev/null 2>/dev/null | sed -n 's/^Version \([0-9.]*\).*/\1/p' | head -n 1)
[ -n "$sm_version" ] || { echo "Bail out! the unpacked sendmail does not run: $(sm_cmd "$smbin" -d0.1 -bt </dev/null 2>&1 | head -n 3)"; exit 99; }

# ---- the world ----
# shellcheck source=tests/world/world.sh
. "$srcdir/tests/world/world.sh"
for step in world_start world_start_mx world_start_dnssec; do
    $step >"$tmp/world.log" 2>&1
    case $? in
    0) ;;
    77) skip "$(tail -n 1 "$tmp/world.log")" ;;
    *)
        echo "Bail out! $step failed:"
        sed 's/^/# /' "$tmp/world.log"
        exit 99
        ;;
    esac
done

# ---- TAP ----
n=0
failed=0
: >"$tmp/tap"
: >"$tmp/why"
: >"$tmp/diag"
fail() { printf '%s\n' "$@" >>"$tmp/why"; }
# point DESCRIPTION [DIRECTIVE]: record a test point, "not ok" when a
# fail() was called since the last one; a failing point without a
# directive fails the script.
point() {
    n=$((n + 1))
    if [ -s "$tmp/why" ]; then
        echo "not ok $n - $1${2-}" >>"$tmp/tap"
        { cat "$tmp/why" "$tmp/diag"; } | sed 's/^/# /' >>"$tmp/tap"
        [ -n "${2-}" ] || failed=1
    else
        echo "ok $n - $1${2-}" >>"$tmp/tap"
    fi
    : >"$tmp/why"
    : >"$tmp/diag"
}
ok() { point "$1"; }
# ok_todo DESCRIPTION REASON: a point for a known bug (TAP "# TODO": its
# failure is expected, automake counts it as XFAIL).
ok_todo() { point "$1" " # TODO $2"; }
finish() {
    echo "1..$n"
    cat "$tmp/tap"
    exit "$failed"
}
# bail REASON: stop here; what ran so far is reported, then "Bail out!".
bail() {
    echo "1..$((n + 1))"
    cat "$tmp/tap"
    echo "not ok $((n + 1)) - $1"
    sed 's/^/# /' "$tmp/why" "$tmp/diag"
    for _f in "$mlog" "$tmp/sendmail.out"; do
        [ -s "$_f" ] || continue
        echo "# --- tail of $_f"
        tail -n 20 "$_f" | sed 's/^/#   /'
    done
    echo "Bail out! $1"
    exit 1
}

# ---- the milter ----
NET=$WORLD_NET
SM_ADDR=$NET.61           # Sendmail listens here, port 25 (.30-.45: world_start_mx)
TRUSTED=$NET.99           # a relay listed in TrustedRelays (nothing listens)
UNTRUSTED=$NET.98         # a relay that is not
mkdir -p "$mdir" || bail "cannot create $mdir"

# milter_conf MODE [KEY VALUE]...: write the milter's configuration.  It
# runs as root, like the Sendmail daemon that connects to its socket.
milter_conf() {
    _mode=$1
    shift
    {
        echo "# written by tests/e2e/sendmail.sh"
        echo "Socket              unix:$msock"
        echo "Mode                $_mode"
        echo "PidFile             $mdir/milter.pid"
        echo "Store               sqlite:$mdir/cache.db"
        echo "Resolver            $WORLD_DNS"
        echo "TrustAnchorFile     $WORLD_TA"
        echo "CAFile              $WORLD_CA"
        echo "AllowPrivateTargets yes"
        echo "DNSTimeout          2s"
        echo "FetchConnectTimeout 2s"
        echo "FetchTimeout        3s"
        echo "RefreshInterval     0"
        echo "TLSChecks           yes"
        echo "ProbeTimeout        3s"
        echo "HeloName            $SM_HOST"
        echo "LookupDeadline      3s"
        echo "TrustedRelays       [$TRUSTED]"
        echo "LogFile             $mlog"
        echo "LogLevel            debug"
        while [ $# -ge 2 ]; do
            printf '%-19s %s\n' "$1" "$2"
            shift 2
        done
    } >"$mconf.new" && mv "$mconf.new" "$mconf"
}

log_lines() { [ -f "$mlog" ] && wc -l <"$mlog" || echo 0; }
# log_since MARK: the milter's log lines after line MARK.
log_since() { [ -f "$mlog" ] && tail -n "+$(($1 + 1))" "$mlog"; }
log_has() { log_since "$1" | grep -Eq -- "$2"; }

milter_start() {
    rm -f "$msock"
    _mark=$(log_lines)
    timeout "$LIFETIME" "$MTASTS_MILTER" -f -c "$mconf" </dev/null >>"$mdir/milter.out" 2>&1 &
    milter_pid=$!
    wait_until 10 milter_ready_or_dead "$_mark"
    if ! milter_ready "$_mark"; then
        alive "$milter_pid" || echo "the milter exited" >>"$tmp/diag"
        milter_stop KILL
        echo "exit status $milter_status; its stdout and stderr:" >>"$tmp/diag"
        cat "$mdir/milter.out" >>"$tmp/diag"
        return 1
    fi
}
milter_ready() {
    alive "$milter_pid" && [ -S "$msock" ] && log_has "$1" 'event=start status=ok'
}
milter_ready_or_dead() { milter_ready "$1" || ! alive "$milter_pid"; }
# milter_real_pid: the daemon's own PID (milter_pid is timeout(1)'s).
milter_real_pid() {
    _p=$(sed -n '1{s/[^0-9]//g;p;}' "$mdir/milter.pid" 2>/dev/null)
    [ -n "$_p" ] && [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = mtasts-milter ] && echo "$_p"
}

# ---- Sendmail ----
# The .mc, as a site would write it, with every path in the scratch
# directory.  Choices that matter to the milter:
#   INPUT_MAIL_FILTER  F=T: tempfail while the filter is unavailable
#                      (without F, Sendmail carries on as if there were no
#                      filter); T=S:10s;R:10s;E:5m: R (waiting for the
#                      milter's reply, at RCPT too) above LookupDeadline,
#                      which is at most 9s
#   Milter.macros.envrcpt  left at Sendmail's default, which is
#                      "{rcpt_mailer}, {rcpt_host}, {rcpt_addr}" (checked in
#                      the generated .cf)
#   canonification     on (Sendmail's default), through the world's nsd:
#                      {rcpt_host} is the canonical name with a dot
#   mailertable        the relay routes, as sites write them
# For the test only: a first filter, "trace" (noop_filter -e: it sees every
# RCPT, also those mtasts refuses, and records its macros in X-Noop-Trace),
# promiscuous_relay (loopback, no real peer),
# accept_unresolvable_domains (the sender's domain is not in the world),
# DeliveryMode queueonly (nothing is delivered), no ident lookups.
sendmail_conf() {
    mkdir -p "$smq" && chmod 700 "$smq" || return 1
    printf 'hosts\t\tdns files\naliases\t\tfiles\n' >"$tmp/service.switch"
    printf '127.0.0.1\tlocalhost\n%s\t%s\n' "$SM_ADDR" "$SM_HOST" >"$tmp/hosts"
    printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$WORLD_NS_ADDR" >"$tmp/resolv.conf"
    printf 'postmaster:\troot\nMAILER-DAEMON:\tpostmaster\n' >"$tmp/aliases"
    # mailertable(5): the recipient domain -> mailer:host
    printf '%s\t%s\n' \
        nomx.test "esmtp:[$TRUSTED]" \
        mxwild.test "esmtp:[$UNTRUSTED]" \
        charset.test "relay:[mx1.charset.test]" \
        mxselfsigned.test "cyrusv2:localhost" \
        mxnotls.test "procmail:/etc/procmailrcs/mxnotls" >"$tmp/mailertable"
    cat >"$tmp/sendmail.mc" <<EOF
divert(-1)
# written by tests/e2e/sendmail.sh: a private instance, nothing from /etc/mail
divert(0)dnl
VERSIONID(\`mtasts-milter tests/e2e/sendmail.sh')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$SM_HOST')dnl
define(\`QUEUE_DIR', \`$smq')dnl
define(\`confPID_FILE', \`$tmp/sendmail.pid')dnl
define(\`STATUS_FILE', \`$tmp/statistics')dnl
define(\`ALIAS_FILE', \`$tmp/aliases')dnl
define(\`confHOSTS_FILE', \`$tmp/hosts')dnl
define(\`confSERVICE_SWITCH_FILE', \`$tmp/service.switch')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confTO_IDENT', \`0')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`mailertable', \`hash $tmp/mailertable')dnl
DAEMON_OPTIONS(\`Port=25, Addr=$SM_ADDR, Name=MTA')dnl
INPUT_MAIL_FILTER(\`trace', \`S=unix:$tsock, F=T, T=S:10s;R:10s;E:5m')dnl
INPUT_MAIL_FILTER(\`mtasts', \`S=unix:$msock, F=T, T=S:10s;R:10s;E:5m')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MAILER(\`procmail')dnl
MAILER(\`cyrusv2')dnl
EOF
    _cfdir=$smroot/usr/share/sendmail/cf
    m4 -D_CF_DIR_="$_cfdir/" "$_cfdir/m4/cf.m4" "$tmp/sendmail.mc" >"$smcf" 2>"$tmp/m4.err" || return 1
    # shellcheck disable=SC2094 # makemap reads mailertable, writes mailertable.db
    sm_cmd "$smroot/usr/libexec/sendmail/makemap" -C "$smcf" hash "$tmp/mailertable" \
        <"$tmp/mailertable" >"$tmp/newaliases.out" 2>&1 &&
        sm_cmd "$smbin" -C "$smcf" -bi >>"$tmp/newaliases.out" 2>&1
}

# smtp_greets: Sendmail answers 220 on its address (perl: swaks needs it).
smtp_greets() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => 2) or exit 1;
        $s->timeout(2);
        my $l = <$s>; print $s "QUIT\r\n"; exit(defined $l && $l =~ /^220 / ? 0 : 1)' \
        "$SM_ADDR:25" 2>/dev/null
}

# sendmail_start: the daemon in the foreground (-bD), in its own mount
# and UTS namespaces: its host name, the world's nsd in /etc/resolv.conf.
# sm_pid is timeout(1)'s, which passes SIGTERM on to sendmail.
sendmail_start() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout "$LIFETIME" unshare -m -u sh -c '
        mount --bind "$1" /etc/resolv.conf && hostname "$2" && exec "$3" -bD -C "$4"' \
        sh "$tmp/resolv.conf" "$SM_HOST" "$smbin" "$smcf" \
        </dev/null >"$tmp/sendmail.out" 2>&1 &
    sm_pid=$!
    wait_until 15 smtp_greets
}

# ---- SMTP ----
SENDER=sender@e2e.test
# send TO [SWAKS-ARG...]: one SMTP session, TO a comma-separated list;
# transcript in $tmp/swaks.out, log mark in mark, time taken in elapsed_ms.
send() {
    _to=$1
    shift
    mark=$(log_lines)
    _t0=$(now_ms)
    timeout 60 swaks --server "$SM_ADDR:25" --from "$SENDER" --to "$_to" \
        --helo client.e2e.test --timeout 40 --show-time-lapse "$@" >"$tmp/swaks.out" 2>&1
    swaks_rc=$?
    elapsed_ms=$(($(now_ms) - _t0))
    {
        echo "swaks --to $_to $* (exit $swaks_rc, ${elapsed_ms} ms):"
        grep -E '^( ->|<-|<\*\*|\*\*\*) ' "$tmp/swaks.out" | grep -Ev '^ -> ([A-Z][A-Za-z-]*: |This is|$)'
        echo "milter log:"
        log_since "$mark"
    } >"$tmp/diag"
}

# reply_after CMD-ERE: the first reply line after the command matching
# ^ -> CMD-ERE (one line).
reply_after() {
    awk -v r="^ -> $1" '
        $0 ~ r { want = 1; next }
        want && /^(<-|<\*\*) / { sub(/^(<-|<\*\*) +/, ""); print; exit }' "$tmp/swaks.out"
}
# reply_to RCPT: the reply swaks got to "RCPT TO:<RCPT>" (one line).
reply_to() {
    awk -v r="RCPT TO:<$1>" '
        $0 == " -> " r { want = 1; next }
        want && /^(<-|<\*\*) / { sub(/^(<-|<\*\*) +/, ""); print; exit }' "$tmp/swaks.out"
}
# rcpt_ms RCPT: milliseconds swaks waited for the reply to RCPT TO:<RCPT>.
rcpt_ms() {
    awk -v r="RCPT TO:<$1>" '
        $0 == " -> " r { want = 1; next }
        want && /^=== response in [0-9.]+s$/ {
            s = $4; sub(/s$/, "", s); printf "%d\n", s * 1000 + 0.5; exit
        }' "$tmp/swaks.out"
}
# greet_ms: milliseconds swaks waited for the 220 greeting.
greet_ms() {
    awk '/^=== Connected to / { want = 1; next }
        want && /^=== response in [0-9.]+s$/ {
            s = $4; sub(/s$/, "", s); printf "%d\n", s * 1000 + 0.5; exit
        }' "$tmp/swaks.out"
}
# want_reply RCPT ERE: the RCPT reply matches ^ERE.
want_reply() {
    _r=$(reply_to "$1")
    printf '%s\n' "$_r" | grep -Eq -- "^$2" || fail "RCPT TO:<$1>: want reply /^$2/, got '$_r'"
}
# queued_id: the queue id from Sendmail's "250 2.0.0 ID Message accepted
# for delivery".
queued_id() {
    sed -n 's/^<-  250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery.*/\1/p' "$tmp/swaks.out" |
        tail -n 1
}
# qcount: how many messages are in the queue (qf files).
qcount() { find "$smq" -name 'qf*' | wc -l; }

# verdict_line RCPT: the milter's verdict line for RCPT in this session.
verdict_line() { log_since "$mark" | grep -F " rcpt=<$1> " | tail -n 1; }
# want_log RCPT KEY=VALUE...: the verdict line has these fields (VALUE an ERE).
want_log() {
    _rc=$1
    shift
    _l=$(verdict_line "$_rc")
    if [ -z "$_l" ]; then
        fail "milter log: no verdict line for rcpt=<$_rc>"
        return
    fi
    for _kv in "$@"; do
        printf '%s\n' "$_l" | grep -Eq -- " ${_kv%%=*}=${_kv#*=}( |\$)" ||
            fail "milter log for <$_rc>: want ${_kv%%=*}=${_kv#*=}"
    done
}

# qf ID: Sendmail's queue control file of message ID (headers, envelope).
qf() {
    [ -f "$smq/qf$1" ] && cp "$smq/qf$1" "$tmp/qf" && return 0
    fail "no queue file $smq/qf$1: $(find "$smq" -type f | tr '\n' ' ')"
    return 1
}
# recipients ID: the envelope recipients of a queued message, sorted
# (qf lines "R<flags>:<address>").
recipients() {
    qf "$1" || return 1
    sed -n 's/^R[^:]*://p' "$tmp/qf" | sort
}
# audit ID: the message's audit header, from the qf file's header lines
# ("H" [ "?" flags "?" ] name ": " value, continuation lines start with
# white space), parsed by audit_header.awk into $tmp/audit.
audit() {
    qf "$1" || return 1
    awk '/^H/ { sub(/^H(\?[^?]*\?)?/, ""); print; inh = 1; next }
        inh && /^[ \t]/ { print; next }
        { inh = 0 }' "$tmp/qf" >"$tmp/headers"
    awk -v name="$AUDIT_HEADER" -f "$E2E_DIR/audit_header.awk" "$tmp/headers" >"$tmp/audit" ||
        fail "$AUDIT_HEADER does not parse: $(grep '^error=' "$tmp/audit")"
    {
        echo "qf$1:"
        cat -v "$tmp/qf"
        echo "parsed:"
        cat "$tmp/audit"
    } >>"$tmp/diag"
}
# want_entry ERE: an entry of the parsed audit header matches ^entry=ERE$.
want_entry() { grep -Eq -- "^entry=$1\$" "$tmp/audit" || fail "$AUDIT_HEADER: want an entry /$1/"; }
no_entry() { grep -Eq -- "^entry=$1" "$tmp/audit" && fail "$AUDIT_HEADER: want no entry /$1/"; }
want_count() {
    grep -qx "count=$1" "$tmp/audit" || fail "$AUDIT_HEADER: want $1 field(s), got $(sed -n 's/^count=//p' "$tmp/audit")"
}
AUDIT_HEADER=MTA-STS-Audit

# Policy ids as the world serves them (TXT "v=STSv1; id=<label>1").
txt_id() { world_dig "_mta-sts.$1" TXT | sed -n 's/.*id=\([A-Za-z0-9]*\).*/\1/p' | head -n 1; }
MISMATCH_ID=$(txt_id mismatch.test)
[ -n "$MISMATCH_ID" ] || bail "cannot read the policy ids from the world"

# ==== start: the milters (mtasts in enforce, trace), then Sendmail ====
milter_conf enforce OnDiscoveryTimeout tempfail || bail "cannot write $mconf"
milter_start || bail "the milter did not start within 10 s"
timeout "$LIFETIME" "$NOOP_FILTER" -p "unix:$tsock" -e </dev/null >"$tmp/trace.out" 2>&1 &
trace_pid=$!
wait_until 10 test -S "$tsock" || bail "noop_filter did not open $tsock within 10 s: $(cat "$tmp/trace.out")"
ok "milter starts in the foreground, socket ready (and the trace filter)"

sendmail_conf || bail "cannot build $smcf: $(cat "$tmp/m4.err" "$tmp/newaliases.out" 2>/dev/null | tail -n 3)"
grep -qx "Xmtasts, S=unix:$msock, F=T, T=S:10s;R:10s;E:5m" "$smcf" ||
    fail "sendmail.cf: want the X line of INPUT_MAIL_FILTER, got: $(grep '^Xmtasts' "$smcf")"
grep -qx 'O InputMailFilters=trace, mtasts' "$smcf" ||
    fail "sendmail.cf: want O InputMailFilters=trace, mtasts, got: $(grep InputMailFilters "$smcf")"
grep -qx 'O Milter.macros.envrcpt={rcpt_mailer}, {rcpt_host}, {rcpt_addr}' "$smcf" ||
    fail "sendmail.cf: want Sendmail's default envrcpt macros, got: $(grep 'Milter.macros.envrcpt' "$smcf")"
if ! sendmail_start; then
    cat "$tmp/sendmail.out" >>"$tmp/diag"
    bail "Sendmail did not start or answer on $SM_ADDR:25 within 15 s"
fi
ok "Sendmail $sm_version (unpacked sendmail-bin, .cf from sendmail-cf's m4) answers on $SM_ADDR:25"

# ==== warm the TLS probes ====
# The first RCPT for an MX host starts its STARTTLS probe; later ones read
# the result.  Wait for the probes' log lines (ProbeTimeout 3s), so that
# the cases below do not depend on how fast a cold probe is.
# mxwrongname.test serves a testing policy from now on (RFC 8461 5: its
# failing MX is reported, never refused).
printf 'version: STSv1\nmode: testing\nmx: mx1.mxwrongname.test\nmax_age: 86400\n' >"$tmp/testing-policy"
world_set_policy mxwrongname.test "$tmp/testing-policy" || bail "world_set_policy mxwrongname.test failed"
send w@mxexpired.test,w@good.dane.test,w@mxgood.test,w@mxwrongname.test --quit-after RCPT
probed() {
    for _h in mx1.mxexpired.test mx1.good.dane.test mx1.mxgood.test mx1.mxwrongname.test; do
        grep -q "probe host=$_h addr=[^ ]* result=" "$mlog" || return 1
    done
}
wait_until 10 probed || fail "milter log: want a probe result for each MX host within 10 s"
ok "first RCPTs for the TLS domains start the STARTTLS probes, results within 10 s"

# ==== enforce mode, one recipient a session ====
# Sendmail canonifies the domain through DNS: {rcpt_mailer} esmtp,
# {rcpt_host} "mxgood.test." (trailing dot), a direct route.
send a@MXgood.Test
want_reply a@MXgood.Test '250 2\.1\.5 '
want_log a@MXgood.Test domain=mxgood.test mode=enforce policy=enforce id=mxgood1 route=direct \
    hop=mxgood.test verdict=pass would_fail=no reason=mx-match mx=mx1.mxgood.test \
    'tls=mx1\.mxgood\.test\[pass\]'
qid=$(queued_id)
[ -n "$qid" ] || fail "want the message queued"
verdict_line a@MXgood.Test | grep -q " $qid: rcpt=" || [ -z "$qid" ] ||
    fail "milter log: want the queue id $qid (Sendmail's i macro at MAIL)"
ok "enforce policy, MX matches and passes the TLS check (RFC 8461 4.1, 4.2): 250 2.1.5, route=direct"

send m@mismatch.test
want_reply m@mismatch.test '451 4\.7\.0 MTA-STS: .*mismatch\.test'
want_log m@mismatch.test mode=enforce policy=enforce "id=$MISMATCH_ID" route=direct \
    verdict=tempfail would_fail=yes reason=mx-mismatch mx=mx1.mismatch.test
[ -z "$(queued_id)" ] || fail "want nothing queued (the only recipient was refused)"
ok "enforce policy, MX mismatch (RFC 8461 4.1): Sendmail answers 451 4.7.0 with the milter's text"

send x@mxexpired.test
want_reply x@mxexpired.test '451 4\.7\.5 MTA-STS: mxexpired\.test: MX host mx1\.mxexpired\.test failed the TLS check .*certificate-expired'
want_log x@mxexpired.test verdict=tempfail would_fail=yes reason=certificate-expired \
    'tls=mx1\.mxexpired\.test\[certificate-expired\]'
ok "enforce: the only permitted MX has an expired certificate (RFC 8461 4.2): 451 4.7.5 certificate-expired"

send d@good.dane.test
want_reply d@good.dane.test '250 2\.1\.5 '
want_log d@good.dane.test route=direct verdict=pass would_fail=no reason=dane-match \
    'tls=mx1\.good\.dane\.test\[dane:pass\]'
ok "DANE (RFC 7672): good.dane.test passes by its TLSA record, certificate from an untrusted CA: 250"

send t@mxwrongname.test
want_reply t@mxwrongname.test '250 2\.1\.5 '
want_log t@mxwrongname.test mode=enforce policy=testing verdict=pass would_fail=yes \
    reason=certificate-host-mismatch
qid=$(queued_id)
if [ -z "$qid" ]; then
    fail "want the message queued"
else
    audit "$qid"
    want_count 1
    want_entry "mxwrongname\\.test mode=testing id=mxwrongname1 verdict=fail reason=certificate-host-mismatch mx=mx1\\.mxwrongname\\.test tls=mx1\\.mxwrongname\\.test\\[certificate-host-mismatch\\]"
fi
ok "testing policy, MX certificate for another name (RFC 8461 5): 250, the queued message tagged mode=testing"

# ==== Sendmail's routes: mailertable, relay mailer, local mailer ====
send r@nomx.test
want_reply r@nomx.test '250 2\.1\.5 '
want_log r@nomx.test route=relay "hop=\\[$TRUSTED\\]" verdict=pass reason=trusted-relay
ok "mailertable esmtp:[$TRUSTED] (in TrustedRelays): 250, route=relay reason=trusted-relay"

send u@mxwild.test
want_reply u@mxwild.test '451 4\.7\.0 MTA-STS: '
want_log u@mxwild.test route=relay "hop=\\[$UNTRUSTED\\]" verdict=tempfail would_fail=yes \
    reason=untrusted-relay
ok "mailertable esmtp:[$UNTRUSTED] (not trusted), enforce policy: 451 4.7.0, reason=untrusted-relay"

send v@charset.test
want_reply v@charset.test '250 2\.1\.5 '
want_log v@charset.test route=relay 'hop=\[mx1\.charset\.test\]' verdict=pass reason=relay-mx-match
ok "mailertable relay:[mx1.charset.test], a host the policy permits: 250, reason=relay-mx-match"

send root@$SM_HOST
want_reply "root@$SM_HOST" '250 2\.1\.5 '
want_log "root@$SM_HOST" route=local verdict=pass would_fail=no reason=not-outbound
ok "local mailer (root@$SM_HOST): 250, route=local, never judged"

# Delivery mailers that are not SMTP, routed by mailertable as sites route
# their own domains (inbound mail passes the same INPUT_MAIL_FILTER):
# cyrusv2 (LMTP to Cyrus; {rcpt_host} "localhost") and procmail
# ({rcpt_host} the rc file).  MTA-STS does not govern them: route.c knows
# both as local mailers (this test found them taken for relays, refusing
# the recipients of enforce domains as untrusted-relay).
send c@mxselfsigned.test,p@mxnotls.test
want_reply c@mxselfsigned.test '250 2\.1\.5 '
want_reply p@mxnotls.test '250 2\.1\.5 '
want_log c@mxselfsigned.test route=local reason=not-outbound
want_log p@mxnotls.test route=local reason=not-outbound
ok "mailertable cyrusv2:localhost and procmail:FILE (not SMTP): 250, never judged"

# ==== T=R:10s above LookupDeadline (3s) ====
# mta-sts.stall.test accepts TLS and never answers: the milter holds the
# RCPT for LookupDeadline, then answers with OnDiscoveryTimeout (tempfail).
# Sendmail's R timeout (10 s) is longer: the client gets the milter's
# answer, not Sendmail's own "451 4.3.2" for a failed filter.
send s@stall.test
want_reply s@stall.test '451 4\.4\.3 MTA-STS: '
want_log s@stall.test verdict=tempfail would_fail=yes reason=discovery-timeout
lapse=$(rcpt_ms s@stall.test)
[ -n "$lapse" ] && [ "$lapse" -ge 2800 ] && [ "$lapse" -le 5000 ] ||
    fail "RCPT answered in '$lapse' ms: want about the 3 s LookupDeadline"
ok "a discovery past LookupDeadline 3s: Sendmail waits (R:10s) and relays the milter's 451 4.4.3 after ${lapse:-?} ms"

# ==== several domains in one message ====
send b@mxgood.test,m2@mismatch.test,e@good.dane.test,q@nopolicy.test,s@mxwrongname.test,r2@nomx.test,v2@charset.test,root@$SM_HOST
want_reply b@mxgood.test '250 '
want_reply m2@mismatch.test '451 4\.7\.0 '
want_reply e@good.dane.test '250 '
want_reply q@nopolicy.test '250 '
want_reply s@mxwrongname.test '250 '
want_reply r2@nomx.test '250 '
want_reply v2@charset.test '250 '
want_reply "root@$SM_HOST" '250 '
qid=$(queued_id)
if [ -z "$qid" ]; then
    fail "want the message queued for the accepted recipients"
else
    got=$(recipients "$qid" | tr '\n' ' ')
    want="<b@mxgood.test> <e@good.dane.test> <q@nopolicy.test> <r2@nomx.test> <root@$SM_HOST> <s@mxwrongname.test> <v2@charset.test> "
    [ "$got" = "$want" ] || fail "queued recipients: want '$want', got '$got'"
    # HeaderInEnforce (default yes): the accepted recipients' verdicts.
    audit "$qid"
    want_count 1
    want_entry "mxgood\\.test mode=enforce id=mxgood1 verdict=pass reason=mx-match mx=mx1\\.mxgood\\.test tls=mx1\\.mxgood\\.test\\[pass\\]"
    want_entry "good\\.dane\\.test mode=enforce id=[A-Za-z0-9]+ verdict=pass reason=dane-match mx=mx1\\.good\\.dane\\.test tls=mx1\\.good\\.dane\\.test\\[dane:pass\\]"
    want_entry "nopolicy\\.test mode=none verdict=pass reason=no-policy"
    want_entry "nomx\\.test mode=enforce id=[A-Za-z0-9]+ verdict=pass reason=trusted-relay relay=\\[$TRUSTED\\]"
    want_entry "mxwrongname\\.test mode=testing id=mxwrongname1 verdict=fail reason=certificate-host-mismatch mx=mx1\\.mxwrongname\\.test tls=[^ ]*"
    want_entry "charset\\.test mode=enforce id=charset1 verdict=pass reason=relay-mx-match mx=mx1\\.charset\\.test relay=\\[mx1\\.charset\\.test\\]"
    want_entry "$(printf '%s' "$SM_HOST" | sed 's/\./\\./g') verdict=pass reason=not-outbound"
    no_entry 'mismatch\.test'
fi
ok "one message, eight recipients, five routes: only the failing one refused, queued for the rest, one header with their verdicts"

# What Sendmail sent at RCPT, as the trace filter saw it (rcpt=<argv[0]>/
# {rcpt_mailer}/{rcpt_host}/{rcpt_addr}): esmtp with the canonical name and
# its trailing dot, mailertable's bracketed hosts, the local mailer with
# no host.  The milter's route= and hop= above come from these.
if [ -n "$qid" ]; then
    trace=$(awk '/^X-Noop-Trace:/ { t = 1; printf "%s", $0; next }
        t && /^[ \t]/ { sub(/^[ \t]/, ""); printf "%s", $0; next } { t = 0 }' "$tmp/headers")
    printf '%s\n' "$trace" >>"$tmp/diag"
    for want in "rcpt=<b@mxgood.test>/esmtp/mxgood.test./b@mxgood.test" \
        "rcpt=<m2@mismatch.test>/esmtp/mismatch.test./m2@mismatch.test" \
        "rcpt=<r2@nomx.test>/esmtp/[$TRUSTED]/r2@nomx.test" \
        "rcpt=<v2@charset.test>/relay/[mx1.charset.test]/v2@charset.test" \
        "rcpt=<root@$SM_HOST>/local//root" "i=$qid"; do
        case $trace in *" $want "* | *" $want") ;; *) fail "X-Noop-Trace: want '$want'" ;; esac
    done
fi
ok "Sendmail's default Milter.macros.envrcpt: {rcpt_mailer} {rcpt_host} {rcpt_addr} at RCPT, as the milter reads them"

# ==== the milter stopped: F=T ====
milter_stop TERM
[ "$milter_status" = 0 ] || fail "milter exit status on SIGTERM: want 0, got $milter_status"
q0=$(qcount)
send dn@mxgood.test
# Sendmail opens the filter connection when the client connects; failing
# that, with F=T, it greets as usual and tempfails MAIL (srvrsmtp.c:
# "Milter: initialization failed, temp failing commands").
got=$(reply_after 'MAIL FROM:')
[ "$got" = '451 4.3.2 Please try again later' ] ||
    fail "MAIL FROM: want Sendmail's '451 4.3.2 Please try again later' (F=T), got '$got'"
case $(reply_to dn@mxgood.test) in 2*) fail "RCPT TO:<dn@mxgood.test>: want it not accepted" ;; esac
[ "$(qcount)" = "$q0" ] && [ -z "$(queued_id)" ] || fail "want nothing queued while the milter is down"
ok "milter stopped, F=T: Sendmail answers MAIL with 451 4.3.2, queues nothing"

# ==== audit mode: a second daemon run ====
milter_conf audit
milter_start || bail "the milter did not restart within 10 s"
send ma@mismatch.test,xa@mxexpired.test,ga@mxgood.test \
    --add-header "$AUDIT_HEADER: forged.test; mode=none; verdict=pass; reason=no-policy"
want_reply ma@mismatch.test '250 2\.1\.5 '
want_reply xa@mxexpired.test '250 2\.1\.5 '
want_reply ga@mxgood.test '250 2\.1\.5 '
want_log ma@mismatch.test mode=audit policy=enforce verdict=pass would_fail=yes reason=mx-mismatch
want_log xa@mxexpired.test mode=audit verdict=pass would_fail=yes reason=certificate-expired
want_log ga@mxgood.test mode=audit verdict=pass would_fail=no reason=mx-match
qid=$(queued_id)
if [ -z "$qid" ]; then
    fail "want the message queued"
else
    audit "$qid"
    want_count 1
    want_entry "mismatch\\.test mode=enforce id=$MISMATCH_ID verdict=fail reason=mx-mismatch mx=mx1\\.mismatch\\.test( tls=[^ ]*)?"
    want_entry "mxexpired\\.test mode=enforce id=mxexpired1 verdict=fail reason=certificate-expired mx=mx1\\.mxexpired\\.test tls=mx1\\.mxexpired\\.test\\[certificate-expired\\]"
    want_entry "mxgood\\.test mode=enforce id=mxgood1 verdict=pass reason=mx-match mx=mx1\\.mxgood\\.test tls=mx1\\.mxgood\\.test\\[pass\\]"
    no_entry 'forged\.test'
    [ "$(grep -c '^entry=' "$tmp/audit")" = 3 ] || fail "$AUDIT_HEADER: want exactly 3 entries"
fi
ok "audit mode: MX mismatch and expired certificate accepted (250), header says verdict=fail, a forged field removed"

# ==== the milter hung: T=R:10s, then F=T ====
# SIGSTOP: the socket accepts, nothing answers.  Sendmail negotiates with
# the filter before its greeting, waits R (10 s) for the answer, then
# treats the filter as failed: F=T, the same tempfail as above.
mpid=$(milter_real_pid)
[ -n "$mpid" ] || bail "no mtasts-milter process in $mdir/milter.pid"
q0=$(qcount)
kill -STOP "$mpid"
send h@mxgood.test
kill -CONT "$mpid"
got=$(reply_after 'MAIL FROM:')
[ "$got" = '451 4.3.2 Please try again later' ] ||
    fail "MAIL FROM: want Sendmail's '451 4.3.2 Please try again later' (F=T), got '$got'"
case $(reply_to h@mxgood.test) in 2*) fail "RCPT TO:<h@mxgood.test>: want it not accepted" ;; esac
lapse=$(greet_ms)
[ -n "$lapse" ] && [ "$lapse" -ge 9500 ] && [ "$lapse" -le 12000 ] ||
    fail "want the greeting after about R:10s, it came after '$lapse' ms"
[ "$(qcount)" = "$q0" ] && [ -z "$(queued_id)" ] || fail "want nothing queued while the milter hangs"
ok "milter hung: greeting after T=R:10s (${lapse:-?} ms), then 451 4.3.2 at MAIL (F=T)"

# ==== stop ====
milter_stop TERM
[ "$milter_status" = 0 ] || fail "milter exit status on SIGTERM: want 0, got $milter_status"
[ -n "$(sm_procs)" ] || fail "no sendmail process before the stop"
sendmail_stop || fail "Sendmail did not stop within 10 s of SIGTERM"
no_sm_procs || fail "a sendmail process is still running: $(sm_procs | tr '\n' ' ')"
ok "the milter and Sendmail stop, no sendmail process left"

finish
