#!/bin/sh
# End to end: a real Postfix (a private instance on loopback, started and
# stopped by this script) with smtpd_milters pointing at mtasts-milter, mail
# submitted with swaks, recipients' domains served by the local test world
# (tests/world/world.sh: nsd for "test.", nginx with a test CA).
#
# Guards RFC 8461 as the milter applies it at RCPT time (mtasts-milter.conf(5),
# include/mtasts/verdict.h):
#   section 4.1  MX host validation: an enforce policy refuses (451 4.7.0) a
#                recipient whose MX hosts do not match, accepts one that does;
#                routes through a relay ({rcpt_host} as Postfix reports it
#                from transport_maps) judged against TrustedRelays and the
#                policy's patterns
#   section 5    policy application: testing and none policies and domains
#                without a policy are never refused; only the failing
#                recipients of a message are refused, the message is queued
#                for the others; audit mode refuses nothing and writes the
#                AuditHeader field (checked in the queued message, postcat,
#                against the grammar of include/mtasts/audit_header.h), a
#                forged field of the same name is removed
#   LookupDeadline / OnDiscoveryTimeout: a cold lookup of a domain whose
#                policy host never answers is answered within the deadline
#                and follows OnDiscoveryTimeout (tempfail 451 4.4.3, accept)
# and the operational side: SIGHUP reload (a good one switches modes, a bad
# one keeps the running configuration), the milter stopped (Postfix applies
# milter_default_action = tempfail), restarted (the SQLite store keeps the
# policies it learnt), privileges dropped to the postfix user.
#
# Usage (from the build directory, as root):
#   srcdir=SRCDIR MTASTS_MILTER=milter/mtasts-milter sh SRCDIR/tests/e2e/postfix.sh
# Environment:
#   srcdir         the source tree (tests/world/world.sh, tests/e2e/); default .
#   MTASTS_MILTER  the mtasts-milter binary; default milter/mtasts-milter
#                  (relative to the current directory, i.e. the build tree)
#   E2E_KEEP=1     keep the scratch directory (Postfix config, queue, logs)
#   WORLD_KEEP=1   keep the world's directory (see tests/world/world.sh)
# Needs: root, postfix (postfix, postcat), swaks, perl, and the world's
# programs (tests/world/packages.txt); the packages are listed in
# tests/e2e/packages.txt.  Prints "1..0 # SKIP ..." without them.
#
# Nothing touches /etc/postfix: the instance runs from its own
# config_directory and queue_directory in a scratch directory, listens on
# $WORLD_NET.60:25 (an address of this script's world slot), logs to a file
# (maillog_file, postlogd), never looks up DNS (smtp_dns_support_level =
# disabled, smtpd_peername_lookup = no) and never delivers (defer_transports
# = smtp: accepted mail stays in the queue, where postcat reads it).

# shellcheck disable=SC2153 # WORLD_* come from world.sh
# shellcheck disable=SC2317 # helpers called through wait_until and traps
# shellcheck disable=SC2015 # "A && B || fail": fail when either is false
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
# shellcheck source=tests/e2e/postfix_lib.sh
. "$srcdir/tests/e2e/postfix_lib.sh"
pf_need postcat swaks perl setsid runuser pgrep timeout
[ -f "$E2E_DIR/audit_header.awk" ] || bail "cannot find $E2E_DIR (set srcdir)"
pf_prepare
PF_LOGS="$mlog $maillog"
mconf=$mdir/milter.conf
msock=$mdir/milter.sock
world_up

# ---- the milter ----
NET=$WORLD_NET
PFX_ADDR=$NET.60          # Postfix's smtpd listens here, port 25 (.30-.45: world_start_mx)
TRUSTED=$NET.99           # a relay listed in TrustedRelays (nothing listens)
UNTRUSTED=$NET.98         # a relay that is not
mkdir -p "$mdir" && chown postfix: "$mdir" || pf_bail "cannot prepare $mdir"
# The milter reads the CA at each fetch, after it became the postfix user.
cp "$WORLD_CA" "$mdir/ca.pem" && chmod 644 "$mdir/ca.pem" || pf_bail "cannot copy the CA"

# The MX-name tests run without STARTTLS probes (their MX hosts are
# addresses where nothing listens); the route verification block at the
# end turns them on.
tls_checks=no

# milter_conf MODE [KEY VALUE]...: write the milter's configuration.
milter_conf() {
    _mode=$1
    shift
    {
        echo "# written by tests/e2e/postfix.sh"
        echo "Socket              unix:$msock"
        echo "Mode                $_mode"
        echo "UserID              postfix"
        echo "PidFile             $mdir/milter.pid"
        echo "Store               sqlite:$mdir/cache.db"
        echo "Resolver            $WORLD_DNS"
        echo "CAFile              $mdir/ca.pem"
        echo "AllowPrivateTargets yes"
        echo "DNSTimeout          2s"
        echo "FetchConnectTimeout 2s"
        echo "FetchTimeout        3s"
        echo "RefreshInterval     0"
        echo "TLSChecks           $tls_checks"
        echo "TrustedRelays       [$TRUSTED]:2525"
        echo "LogFile             $mlog"
        echo "LogLevel            debug"
        while [ $# -ge 2 ]; do
            printf '%-19s %s\n' "$1" "$2"
            shift 2
        done
    } >"$mconf.new" && chmod 644 "$mconf.new" && mv "$mconf.new" "$mconf"
}

log_lines() { [ -f "$mlog" ] && wc -l <"$mlog" || echo 0; }
# log_since MARK: the milter's log lines after line MARK.
log_since() { [ -f "$mlog" ] && tail -n "+$(($1 + 1))" "$mlog"; }
log_has() { log_since "$1" | grep -Eq -- "$2"; }

# milter_up: start the milter; ready when its socket exists and it logged
# its start.  Diagnostics in $TAP_CONTEXT when it does not come up.
milter_up() {
    _mark=$(log_lines)
    if ! milter_start "$mconf" "$msock" "$mdir/milter.out" ||
        ! wait_until 10 log_has "$_mark" 'event=start status=ok'; then
        alive "$milter_pid" || echo "the milter exited" >>"$TAP_CONTEXT"
        milter_stop KILL
        echo "exit status $milter_status; its stdout and stderr:" >>"$TAP_CONTEXT"
        cat "$mdir/milter.out" >>"$TAP_CONTEXT"
        return 1
    fi
}

# milter_reload: SIGHUP, then wait for the outcome; sets reload_line.
milter_reload() {
    _mark=$(log_lines)
    kill -HUP "$milter_pid"
    wait_until 10 log_has "$_mark" 'event=reload status=' || return 1
    reload_line=$(log_since "$_mark" | grep 'event=reload status=' | tail -n 1)
}

# ---- Postfix ----
postfix_conf() {
    pf_dirs || return 1
    # transport_maps: per-recipient routes (transport(5) looks up the full
    # address first), so that one domain can be reached directly and
    # through relays: {rcpt_host} is then the bracketed next hop.
    pf_main_cf "tests/e2e/postfix.sh: the MTA whose smtpd runs the milter" mta.e2e.test e2e.test \
        >"$pfc/main.cf" || return 1
    cat >>"$pfc/main.cf" <<EOF
smtp_dns_support_level = disabled
smtp_host_lookup = native
defer_transports = smtp
smtpd_delay_open_until_valid_rcpt = no
transport_maps = texthash:$pfc/transport
smtpd_milters = unix:$msock
milter_default_action = tempfail
milter_protocol = 6
milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}
milter_connect_timeout = 10s
milter_command_timeout = 30s
EOF
    cat >"$pfc/transport" <<EOF
relayok@mismatch.test   smtp:[$TRUSTED]:2525
relaybad@mismatch.test  smtp:[$UNTRUSTED]:2525
viamx@good.test         smtp:[mx1.good.test]
EOF
    pf_master_cf "$PFX_ADDR" >"$pfc/master.cf" && pf_backdate
}

# smtp_greets: Postfix answers 220 on its address (perl: swaks needs it).
smtp_greets() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => 2) or exit 1;
        $s->timeout(2);
        my $l = <$s>; print $s "QUIT\r\n"; exit(defined $l && $l =~ /^220 / ? 0 : 1)' \
        "$PFX_ADDR:25" 2>/dev/null
}

postfix_start() {
    postfix_up=1
    postfix -c "$pfc" start >"$tmp/postfix-start.out" 2>&1 || return 1
    wait_until 10 smtp_greets
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
    timeout 60 swaks --server "$PFX_ADDR:25" --from "$SENDER" --to "$_to" \
        --helo client.e2e.test --timeout 40 --show-time-lapse "$@" >"$tmp/swaks.out" 2>&1
    swaks_rc=$?
    elapsed_ms=$(($(now_ms) - _t0))
    {
        echo "swaks --to $_to $* (exit $swaks_rc, ${elapsed_ms} ms):"
        grep -E '^( ->|<-|<\*\*|\*\*\*) ' "$tmp/swaks.out" | grep -Ev '^ -> ([A-Z][A-Za-z-]*: |This is|$)'
        echo "milter log:"
        log_since "$mark"
    } >"$TAP_CONTEXT"
}

# reply_to RCPT: the reply swaks got to "RCPT TO:<RCPT>" (one line).
reply_to() {
    awk -v r="RCPT TO:<$1>" '
        $0 == " -> " r { want = 1; next }
        want && /^(<-|<\*\*) / { sub(/^(<-|<\*\*) +/, ""); print; exit }' "$tmp/swaks.out"
}
# rcpt_ms RCPT: milliseconds swaks waited for the reply to RCPT TO:<RCPT>
# (--show-time-lapse: "=== response in 1.002s" before each reply).
rcpt_ms() {
    awk -v r="RCPT TO:<$1>" '
        $0 == " -> " r { want = 1; next }
        want && /^=== response in [0-9.]+s$/ {
            s = $4; sub(/s$/, "", s); printf "%d\n", s * 1000 + 0.5; exit
        }' "$tmp/swaks.out"
}
# want_reply RCPT ERE: the RCPT reply matches ^ERE.
want_reply() {
    _r=$(reply_to "$1")
    printf '%s\n' "$_r" | grep -Eq -- "^$2" || fail "RCPT TO:<$1>: want reply /^$2/, got '$_r'"
}
# queued_id: the queue id of the message, from "250 ... queued as ID".
queued_id() { sed -n 's/^<-  250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$tmp/swaks.out" | tail -n 1; }

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

# postcat_q ID [OPTION]: the queued message (any queue); retried briefly,
# since qmgr moves the file between queues.
postcat_q() {
    wait_until 2 postcat_once "$@" && return 0
    fail "postcat -q $1: $(cat "$tmp/postcat.err")"
    return 1
}
postcat_once() { postcat -c "$pfc" "$2" -q "$1" >"$tmp/postcat.out" 2>"$tmp/postcat.err"; }
# recipients ID: the envelope recipients of a queued message, sorted.
recipients() {
    postcat_q "$1" -e || return 1
    sed -n 's/^recipient: //p' "$tmp/postcat.out" | sort
}
# audit ID: the message's audit header, parsed (audit_header.awk) into
# $tmp/audit.
audit() {
    postcat_q "$1" -h || return 1
    cp "$tmp/postcat.out" "$tmp/headers"
    awk -v name="$AUDIT_HEADER" -f "$E2E_DIR/audit_header.awk" "$tmp/headers" >"$tmp/audit" ||
        fail "$AUDIT_HEADER does not parse: $(grep '^error=' "$tmp/audit")"
    {
        echo "headers of $1:"
        cat "$tmp/headers"
        echo "parsed:"
        cat "$tmp/audit"
    } >>"$TAP_CONTEXT"
}
# want_entry ERE: an entry of the parsed audit header matches ^entry=ERE$.
want_entry() { grep -Eq -- "^entry=$1\$" "$tmp/audit" || fail "$AUDIT_HEADER: want an entry /$1/"; }
no_entry() { grep -Eq -- "^entry=$1" "$tmp/audit" && fail "$AUDIT_HEADER: want no entry /$1/"; }
# want_folded: every line of the field within RFC 5322's 78 octets (its
# elements here are short enough to allow it).
want_folded() {
    _l=$(sed -n 's/^maxline=//p' "$tmp/audit")
    [ -n "$_l" ] && [ "$_l" -le 78 ] || fail "$AUDIT_HEADER: want lines of at most 78 octets, longest is '$_l'"
}
want_count() {
    grep -qx "count=$1" "$tmp/audit" || fail "$AUDIT_HEADER: want $1 field(s), got $(sed -n 's/^count=//p' "$tmp/audit")"
}
AUDIT_HEADER=MTA-STS-Audit

# Policy ids as the world serves them (TXT "v=STSv1; id=<label>1").
txt_id() { world_dig "_mta-sts.$1" TXT | sed -n 's/.*id=\([A-Za-z0-9]*\).*/\1/p' | head -n 1; }
GOOD_ID=$(txt_id good.test)
MISMATCH_ID=$(txt_id mismatch.test)
[ -n "$GOOD_ID" ] && [ -n "$MISMATCH_ID" ] || pf_bail "cannot read the policy ids from the world"

# ==== start: the milter (enforce), then Postfix ====
milter_conf enforce LookupDeadline 3s OnDiscoveryTimeout tempfail || pf_bail "cannot write $mconf"
if ! milter_up; then
    pf_bail "the milter did not start within 10 s"
fi
[ "$(stat -c %U "$msock")" = postfix ] || fail "socket owner: want postfix, got $(stat -c %U "$msock")"
log_has 0 'event=start user=postfix ' || fail "milter log: want 'event=start user=postfix'"
mpid_user=$(ps -o user= -p "$milter_pid" | tr -d ' ')
[ "$mpid_user" = postfix ] || fail "the milter runs as '$mpid_user', want postfix"
ok "milter starts in the foreground, socket ready, runs as the postfix user"

postfix_conf || pf_bail "cannot write the Postfix configuration"
# A watchdog stops Postfix and the milter if this script dies uncleanly.
pf_watchdog
if ! postfix_start; then
    cat "$tmp/postfix-start.out" >>"$TAP_CONTEXT"
    pf_bail "Postfix did not start or answer on $PFX_ADDR:25 within 10 s"
fi
ok "private Postfix instance answers on $PFX_ADDR:25"

# ==== enforce mode, one recipient a session ====
send a@good.test
want_reply a@good.test '250 '
want_log a@good.test domain=good.test mode=enforce policy=enforce "id=$GOOD_ID" route=direct \
    hop=good.test verdict=pass would_fail=no reason=mx-match mx=mx1.good.test
qid=$(queued_id)
[ -n "$qid" ] || fail "want the message queued"
verdict_line a@good.test | grep -q " $qid: rcpt=" || [ -z "$qid" ] ||
    fail "milter log: want the queue id $qid ({i} in milter_rcpt_macros)"
ok "enforce policy, MX matches (RFC 8461 4.1): 250, verdict=pass reason=mx-match"

send t@testing.test
want_reply t@testing.test '250 '
want_log t@testing.test policy=testing verdict=pass would_fail=no reason=mx-match
ok "testing policy: 250, verdict=pass"

# RFC 8461 section 5: a testing policy that the route fails is reported,
# never enforced.  charset.test (not looked up before) serves one.
printf 'version: STSv1\nmode: testing\nmx: *.elsewhere.test\nmax_age: 86400\n' >"$tmp/testing-policy"
world_set_policy charset.test "$tmp/testing-policy" || pf_bail "world_set_policy charset.test failed"
send tm@charset.test
want_reply tm@charset.test '250 '
want_log tm@charset.test policy=testing verdict=pass would_fail=yes reason=mx-mismatch
ok "testing policy, MX mismatch (RFC 8461 5): 250, verdict=pass would_fail=yes reason=mx-mismatch"

send n@none.test
want_reply n@none.test '250 '
want_log n@none.test policy=none verdict=pass would_fail=no reason=policy-none
ok "none policy: 250, verdict=pass reason=policy-none"

send p@nopolicy.test
want_reply p@nopolicy.test '250 '
want_log p@nopolicy.test verdict=pass would_fail=no reason=no-policy
[ "$(world_fetch_count nopolicy.test)" = 0 ] || fail "want no policy fetch for nopolicy.test (no TXT)"
ok "domain without _mta-sts TXT: 250, reason=no-policy, no HTTPS fetch"

send x@nosuch.test
want_reply x@nosuch.test '250 '
want_log x@nosuch.test verdict=pass reason=no-policy
ok "domain that does not exist (NXDOMAIN): 250, reason=no-policy"

send m@mismatch.test
want_reply m@mismatch.test '451 4\.7\.0 MTA-STS: .*mismatch\.test'
want_log m@mismatch.test mode=enforce policy=enforce "id=$MISMATCH_ID" route=direct \
    verdict=tempfail would_fail=yes reason=mx-mismatch mx=mx1.mismatch.test
[ -z "$(queued_id)" ] || fail "want nothing queued (the only recipient was refused)"
ok "enforce policy, MX mismatch (RFC 8461 4.1): 451 4.7.0, verdict=tempfail reason=mx-mismatch"

# nomx.test has an enforce policy, no MX and no address record: nowhere
# to deliver, "no MX host at all" in verdict.h (RFC 5321 5.1: the implicit
# MX is the domain only when it has an address record).
send z@nomx.test
want_reply z@nomx.test '451 4\.4\.4 MTA-STS: '
want_log z@nomx.test verdict=tempfail would_fail=yes reason=no-mx
ok "enforce policy, no MX and no address record: 451 4.4.4, reason=no-mx"

# ==== relay routes (transport_maps) ====
send relayok@mismatch.test
want_reply relayok@mismatch.test '250 '
want_log relayok@mismatch.test route=relay "hop=\\[$TRUSTED\\]:2525" verdict=pass reason=trusted-relay
ok "relay in TrustedRelays: 250 despite the MX mismatch, reason=trusted-relay"

send relaybad@mismatch.test
want_reply relaybad@mismatch.test '451 4\.7\.0 MTA-STS: '
want_log relaybad@mismatch.test route=relay "hop=\\[$UNTRUSTED\\]:2525" verdict=tempfail \
    would_fail=yes reason=untrusted-relay
ok "relay not trusted, enforce policy: 451 4.7.0, reason=untrusted-relay"

send viamx@good.test
want_reply viamx@good.test '250 '
want_log viamx@good.test route=relay 'hop=\[mx1\.good\.test\]' verdict=pass reason=relay-mx-match
ok "relay [mx1.good.test], a host the policy permits: 250, reason=relay-mx-match"

# ==== several domains in one message ====
send b@good.test,m2@mismatch.test,q@nopolicy.test,relayok@mismatch.test,u@testing.test
want_reply b@good.test '250 '
want_reply m2@mismatch.test '451 4\.7\.0 '
want_reply q@nopolicy.test '250 '
want_reply relayok@mismatch.test '250 '
want_reply u@testing.test '250 '
want_log m2@mismatch.test verdict=tempfail reason=mx-mismatch
qid=$(queued_id)
if [ -z "$qid" ]; then
    fail "want the message queued for the accepted recipients"
else
    got=$(recipients "$qid" | tr '\n' ' ')
    want="b@good.test q@nopolicy.test relayok@mismatch.test u@testing.test "
    [ "$got" = "$want" ] || fail "queued recipients: want '$want', got '$got'"
    # HeaderInEnforce (default yes): the accepted recipients' verdicts.
    audit "$qid"
    want_count 1
    want_folded
    want_entry "good\\.test mode=enforce id=$GOOD_ID verdict=pass reason=mx-match mx=mx1\\.good\\.test"
    want_entry "nopolicy\\.test mode=none verdict=pass reason=no-policy"
    want_entry "mismatch\\.test mode=enforce id=$MISMATCH_ID verdict=pass reason=trusted-relay relay=\\[$TRUSTED\\]:2525"
    want_entry "testing\\.test mode=testing id=[A-Za-z0-9]+ verdict=pass reason=mx-match mx=mx1\\.testing\\.test"
    no_entry '.* reason=mx-mismatch'
fi
ok "one message, five recipients in four domains: only the failing one refused, queued for the rest"

# ==== audit mode, through SIGHUP ====
# AuditHeader is reloadable too: the field gets another name from now on.
AUDIT_HEADER=MTA-STS-E2E-Audit
milter_conf audit LookupDeadline 3s OnDiscoveryTimeout tempfail AuditHeader "$AUDIT_HEADER"
milter_reload || pf_bail "no reload line in the milter log 10 s after SIGHUP"
printf '%s\n' "$reload_line" | grep -q 'event=reload status=ok' || fail "reload: want status=ok, got: $reload_line"
send ma@mismatch.test,ga@good.test \
    --add-header "$AUDIT_HEADER: forged.test; mode=none; verdict=pass; reason=no-policy"
want_reply ma@mismatch.test '250 '
want_reply ga@good.test '250 '
want_log ma@mismatch.test mode=audit policy=enforce verdict=pass would_fail=yes reason=mx-mismatch
want_log ga@good.test mode=audit verdict=pass would_fail=no reason=mx-match
qid=$(queued_id)
if [ -z "$qid" ]; then
    fail "want the message queued"
else
    audit "$qid"
    want_count 1
    want_folded
    want_entry "mismatch\\.test mode=enforce id=$MISMATCH_ID verdict=fail reason=mx-mismatch mx=mx1\\.mismatch\\.test"
    want_entry "good\\.test mode=enforce id=$GOOD_ID verdict=pass reason=mx-match mx=mx1\\.good\\.test"
    no_entry 'forged\.test'
    [ "$(grep -c '^entry=' "$tmp/audit")" = 2 ] || fail "$AUDIT_HEADER: want exactly 2 entries"
    awk -v name=MTA-STS-Audit -f "$E2E_DIR/audit_header.awk" "$tmp/headers" | grep -qx count=0 ||
        fail "want no MTA-STS-Audit field once AuditHeader names another"
fi
ok "SIGHUP to audit mode, AuditHeader renamed: nothing refused, the field in the queued message, a forged one removed"

# A bad configuration: the reload fails and the running one (audit) stays.
cp "$mconf" "$tmp/audit.conf"
milter_conf enforce LookupDeadline 10s
milter_reload || pf_bail "no reload line in the milter log 10 s after SIGHUP"
printf '%s\n' "$reload_line" | grep -q 'event=reload status=failed action=keep-old' ||
    fail "reload: want status=failed action=keep-old, got: $reload_line"
send mb@mismatch.test
want_reply mb@mismatch.test '250 '
want_log mb@mismatch.test mode=audit would_fail=yes reason=mx-mismatch
ok "SIGHUP with an invalid configuration: logged, the milter keeps running in audit mode"
cp "$tmp/audit.conf" "$mconf"

# ==== the milter stopped: Postfix applies milter_default_action ====
mmark=$(wc -l <"$maillog")
milter_stop TERM
[ "$milter_status" = 0 ] || fail "milter exit status on SIGTERM: want 0, got $milter_status"
[ ! -e "$mdir/milter.pid" ] || fail "want the pid file removed at exit"
send d@good.test
# Postfix 3.7 cannot connect to its milter at CONNECT and from then on
# answers every command of the session (EHLO, HELO, MAIL) with its
# tempfail: the mail never reaches RCPT.
got=$(awk '/^ -> MAIL FROM:/ { want = 1; next }
    want && /^(<-|<\*\*) / { sub(/^(<-|<\*\*) +/, ""); print; exit }' "$tmp/swaks.out")
[ "$got" = "451 4.7.1 Service unavailable - try again later" ] ||
    fail "MAIL FROM: want Postfix's '451 4.7.1 Service unavailable - try again later', got '$got'"
case $(reply_to d@good.test) in 2*) fail "RCPT TO:<d@good.test>: want it not accepted" ;; esac
[ -z "$(queued_id)" ] || fail "want nothing queued while the milter is down"
maillog_milter() { tail -n "+$((mmark + 1))" "$maillog" | grep -q "warning: connect to Milter service unix:$msock"; }
wait_until 5 maillog_milter || fail "maillog: want Postfix's 'connect to Milter service' warning"
ok "milter stopped: Postfix answers 451 4.7.1 (milter_default_action = tempfail), queues nothing"

# ==== restart: enforce, short deadline; the store kept the policies ====
milter_conf enforce LookupDeadline 1s OnDiscoveryTimeout tempfail
if ! milter_up; then
    pf_bail "the milter did not restart within 10 s"
fi
send c@good.test,m3@mismatch.test
want_reply c@good.test '250 '
want_reply m3@mismatch.test '451 4\.7\.0 '
want_log c@good.test mode=enforce source=store reason=mx-match
want_log m3@mismatch.test source=store reason=mx-mismatch
ok "milter restarted: enforce again, policies come from the SQLite store"

# ==== a cold lookup that hits LookupDeadline ====
# mta-sts.stall.test accepts TLS and never answers: discovery cannot finish.
send s@stall.test
want_reply s@stall.test '451 4\.4\.3 MTA-STS: '
want_log s@stall.test verdict=tempfail would_fail=yes reason=discovery-timeout
ms=$(verdict_line s@stall.test | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
[ -n "$ms" ] && [ "$ms" -ge 900 ] && [ "$ms" -le 2000 ] ||
    fail "milter log: want ms= about the deadline (900..2000), got '$ms'"
lapse=$(rcpt_ms s@stall.test)
[ -n "$lapse" ] && [ "$lapse" -le 2000 ] ||
    fail "RCPT answered in '$lapse' ms: want at most the 1 s deadline + 1 s"
ok "cold lookup past LookupDeadline 1s: 451 4.4.3 (OnDiscoveryTimeout tempfail) after ${lapse:-?} ms"

milter_conf enforce LookupDeadline 1s OnDiscoveryTimeout accept
milter_reload || pf_bail "no reload line in the milter log 10 s after SIGHUP"
# slow.test answers after 20 s: cold again, past the deadline.
send w@slow.test
want_reply w@slow.test '250 '
want_log w@slow.test verdict=pass would_fail=no reason=discovery-timeout
lapse=$(rcpt_ms w@slow.test)
[ -n "$lapse" ] && [ "$lapse" -le 2000 ] ||
    fail "RCPT answered in '$lapse' ms: want at most the 1 s deadline + 1 s"
ok "cold lookup past LookupDeadline, OnDiscoveryTimeout accept (reloaded): 250 after ${lapse:-?} ms"

# ==== route verification (RFC 8461 4.2): the world's real STARTTLS MX hosts ====
world_start_mx >"$tmp/mx.log" 2>&1 || pf_bail "world_start_mx failed: $(tail -n 3 "$tmp/mx.log")"
tls_checks=yes
milter_conf enforce LookupDeadline 3s
milter_reload || pf_bail "no reload line in the milter log 10 s after SIGHUP"
send x@mxexpired.test,g@mxgood.test
want_reply x@mxexpired.test '451 4\.7\.5 MTA-STS: mxexpired\.test: MX host mx1\.mxexpired\.test failed the TLS check .*certificate-expired'
want_reply g@mxgood.test '250 '
want_log x@mxexpired.test verdict=tempfail would_fail=yes reason=certificate-expired 'tls=mx1\.mxexpired\.test\[certificate-expired\]'
want_log g@mxgood.test verdict=pass reason=mx-match 'tls=mx1\.mxgood\.test\[pass\]'
ok "enforce: the only permitted MX has an expired certificate: 451 4.7.5 certificate-expired; a good MX passes"

milter_conf audit LookupDeadline 3s
milter_reload || pf_bail "no reload line in the milter log 10 s after SIGHUP"
send y@mxexpired.test
want_reply y@mxexpired.test '250 '
want_log y@mxexpired.test mode=audit verdict=pass would_fail=yes reason=certificate-expired
qid=$(queued_id)
if [ -z "$qid" ]; then
    fail "want the message queued"
else
    AUDIT_HEADER=MTA-STS-Audit
    audit "$qid"
    want_entry "mxexpired\\.test mode=enforce id=mxexpired1 verdict=fail reason=certificate-expired mx=mx1\\.mxexpired\\.test tls=mx1\\.mxexpired\\.test\\[certificate-expired\\]"
fi
ok "audit: the expired MX certificate is accepted and the header says certificate-expired"

# ==== stop ====
milter_stop TERM
[ "$milter_status" = 0 ] || fail "milter exit status on SIGTERM: want 0, got $milter_status"
_m=$(master_pid)
if [ -z "$_m" ]; then
    fail "no running Postfix master before the stop"
else
    postfix_stop || fail "Postfix did not stop within 10 s of SIGTERM to its master"
    group_gone "$_m" || fail "Postfix (master $_m or a child) still running"
fi
ok "the milter and Postfix stop"

finish
