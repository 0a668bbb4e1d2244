#!/bin/sh
# End to end, delivery side: a real Postfix configured with
#   smtp_tls_policy_maps = socketmap:inet:ADDR:PORT:postfix
# pointing at mtasts-milter's socketmap policy server (SocketMap), delivering
# to the test world's real MX hosts (tests/world/world.sh: world_start_mx,
# world_start_dnssec, world_start_resolver).
#
# Guards (issue: "a real Postfix configured with smtp_tls_policy_maps =
# socketmap:... delivering to the test world's MX hosts"):
#   RFC 8461 section 4.2 / 5  an enforce policy becomes "OK secure match=..."
#                 and Postfix delivers only over TLS with a certificate that
#                 chains to its CAfile and names a permitted MX host:
#                 mxgood.test is delivered ("Verified TLS connection"),
#                 mxwrongname.test (certificate for another name) deferred
#   RFC 8461 section 2 / RFC 7672  where DANE applies (secure MX, secure
#                 TLSA) the socketmap answers "OK dane-only" and Postfix
#                 authenticates with TLSA instead: good.dane.test, whose
#                 certificate comes from a CA nobody trusts, is delivered
# and a domain without a policy (nopolicy.test's MX is not listening: only
# the answer is checked) gets "NOTFOUND".
#   issue 13      the site's forced-TLS levels (OverridesFile), each passing
#                 and failing under Postfix as under the milter
#                 (tests/milter/agreement.sh): encrypt -> "OK encrypt
#                 protocols=>=TLSv1.2" (a self-signed certificate is sent,
#                 a host without STARTTLS deferred), verify -> "OK verify
#                 match=hostname" (a wildcard certificate sent, an expired
#                 one deferred), secure PATTERN -> "OK secure match=..."
#                 (the named host sent, another host deferred), dane ->
#                 "OK dane-only" (DANE-TA sent, a host without TLSA
#                 deferred); DANE-only destinations without MTA-STS
#                 (RFC 7672 section 2.2): DANE-EE sent, TLSA on a host
#                 without STARTTLS deferred; a bogus MX RRset "TEMP".
#
# The sending Postfix is a private instance (own config_directory,
# queue_directory, maillog_file; never /etc/postfix) that runs inside a
# private mount namespace (unshare -m) where /etc/resolv.conf is a bind
# mount naming only $WORLD_RESOLVER (the world's validating unbound) with
# "options trust-ad", so its MX, A and TLSA lookups see the AD bit
# (smtp_dns_support_level = dnssec).  No service is chrooted.  It accepts
# mail on $WORLD_NET.50:25 from loopback and relays it to the MX hosts.
#
# Usage (from the build directory, as root):
#   srcdir=SRCDIR MTASTS_MILTER=milter/mtasts-milter MTASTS=milter/mtasts \
#     sh SRCDIR/tests/e2e/delivery.sh
# Environment: E2E_KEEP=1 keeps the scratch directory, WORLD_KEEP=1 the
# world's.  Needs root, postfix, unshare, mount, the world's programs
# (tests/world/packages.txt) and tests/e2e/packages.txt; skips without them.

# shellcheck disable=SC2153 # WORLD_* come from world.sh
# shellcheck disable=SC2317 # helpers called through wait_until and traps
# shellcheck disable=SC2015 # "A && B || fail": fail when either is false
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1, $2
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
# shellcheck source=tests/e2e/postfix_lib.sh
. "$srcdir/tests/e2e/postfix_lib.sh"
need_bin MTASTS "$(dirname "$MTASTS_MILTER")/mtasts"
MXTOOL=$srcdir/tests/world/mxtool.py
pf_need postconf unshare nsenter mount pgrep timeout setsid runuser /usr/bin/python3
unshare -m true 2>/dev/null || skip_all "unshare -m does not work here"
pf_prepare

t0=$(now_ms)
world_up
t1=$(now_ms)
world_up world_start_mx
t2=$(now_ms)
world_up world_start_resolver
t3=$(now_ms)
echo "# world_start $((t1 - t0)) ms, world_start_mx $((t2 - t1)) ms," \
    "world_start_resolver (with world_start_dnssec) $((t3 - t2)) ms"

# timed DESC [TODO]: ok, then how long the point took as a comment.
timed() {
    ok "$@"
    _now=$(now_ms)
    diag "took $((_now - ${ok_t:-_now})) ms"
    ok_t=$_now
}

NET=$WORLD_NET
PFX_ADDR=$NET.50          # the sending Postfix's smtpd (submission from the test)
SMAP_ADDR=$NET.50         # the daemon's socketmap server
SMAP_PORT=10026

# ---- the daemon: socketmap server (and its milter socket, unused here) ----
mkdir -p "$mdir" || pf_bail "cannot make $mdir"
cat >"$mdir/milter.conf" <<EOF
# written by tests/e2e/delivery.sh
Socket              unix:$mdir/milter.sock
Mode                enforce
PidFile             $mdir/milter.pid
Store               sqlite:$mdir/cache.db
Resolver            $WORLD_RESOLVER
TrustAnchorFile     $WORLD_TA
CAFile              $WORLD_CA
AllowPrivateTargets yes
DNSTimeout          2s
FetchConnectTimeout 2s
FetchTimeout        3s
ProbeTimeout        5s
RefreshInterval     0
SocketMap           inet:$SMAP_PORT@$SMAP_ADDR
SocketMapDeadline   5s
OverridesFile       $mdir/overrides
Syslog              no
LogFile             $mlog
LogLevel            debug
EOF
cat >"$mdir/overrides" <<EOF
# forced TLS levels (tests/e2e/delivery.sh), each passing and failing
mxselfsigned.test     encrypt
mxnotls.test          encrypt
mxwild.test           verify
mxexpired.test        verify
notlsa.dane.test      secure mx1.notlsa.dane.test
patternmiss.dane.test secure mx1.other.dane.test
ta.dane.test          dane
plain.dane.test       dane
EOF
t_milter=$(now_ms)
"$MTASTS_MILTER" -f -c "$mdir/milter.conf" </dev/null >"$mdir/milter.out" 2>&1 &
milter_pid=$!
smap_listens() {
    /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)' "$SMAP_ADDR" "$SMAP_PORT" \
        2>/dev/null
}
smap_ready_or_dead() { smap_listens || ! alive "$milter_pid"; }
wait_until 10 smap_ready_or_dead
smap_listens || pf_bail "the daemon's socketmap server does not listen on $SMAP_ADDR:$SMAP_PORT within 10 s"
ok_t=$t_milter
timed "mtasts-milter runs, socketmap server on $SMAP_ADDR:$SMAP_PORT"

# smap KEY: the daemon's socketmap answer to "postfix KEY" (the netstring's
# payload), as Postfix would get it.
smap() {
    /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
q = ("postfix " + sys.argv[3]).encode()
s.sendall(str(len(q)).encode() + b":" + q + b",")
r = b""
while not r.endswith(b","):
    c = s.recv(4096)
    if not c:
        break
    r += c
n, _, rest = r.partition(b":")
print(rest[:-1].decode())' "$SMAP_ADDR" "$SMAP_PORT" "$1" 2>&1
}
# query KEY: what "mtasts query" (own store, same world) says; a diagnostic.
query() {
    timeout 30 "$MTASTS" query --store "sqlite:$tmp/query.db" --resolver "$WORLD_RESOLVER" \
        --trust-anchor "$WORLD_TA" --ca-file "$WORLD_CA" --allow-private --timeout 5 "$1" 2>&1
}

# ---- the sending Postfix ----
pf_dirs || pf_bail "cannot prepare Postfix dirs"
printf 'nameserver %s\noptions trust-ad attempts:2 timeout:2\n' "$WORLD_RESOLVER" >"$tmp/resolv.conf"
pf_main_cf "tests/e2e/delivery.sh: the sending MTA, its TLS policy from the socketmap" \
    sender.delivery.test delivery.test >"$pfc/main.cf"
cat >>"$pfc/main.cf" <<EOF
smtpd_relay_restrictions = permit_mynetworks, reject
# DNS through the world's validating resolver (the bind-mounted resolv.conf)
smtp_host_lookup = dns
smtp_dns_support_level = dnssec
# Postfix checks at start that the resolver validates; the world's resolver
# answers only the world (the root is a local zone there), so probe a
# signed zone of the world instead of "ns:."
dnssec_probe = ns:dane.test
smtp_address_preference = ipv4
# TLS: opportunistic unless the socketmap says otherwise
smtp_tls_security_level = may
smtp_tls_CAfile = $WORLD_CA
smtp_tls_loglevel = 1
smtp_tls_policy_maps = socketmap:inet:$SMAP_ADDR:$SMAP_PORT:postfix
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
# one attempt per message in this test; deferred mail stays deferred
queue_run_delay = 1h
minimal_backoff_time = 1h
maximal_backoff_time = 1h
EOF
# No chroot: the bind-mounted /etc/resolv.conf must be the one the smtp
# client reads.
pf_master_cf "$PFX_ADDR" >"$pfc/master.cf"
pf_backdate
pf_watchdog
# The master and everything it starts live in a private mount namespace
# where /etc/resolv.conf is ours (unshare makes mounts private).
postfix_up=1
unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec postfix -c "$2" start' \
    sh "$tmp/resolv.conf" "$pfc" >"$tmp/postfix-start.out" 2>&1 ||
    pf_bail "the sending Postfix did not start: $(cat "$tmp/postfix-start.out")"
greets() { /usr/bin/python3 "$MXTOOL" greet --deadline 1 "$PFX_ADDR" 2>/dev/null; }
wait_until 10 greets || pf_bail "the sending Postfix does not answer on $PFX_ADDR:25"
m=$(master_pid)
ns_in=$(readlink "/proc/$m/ns/mnt")
ns_out=$(readlink /proc/self/ns/mnt)
[ -n "$m" ] && [ "$ns_in" != "$ns_out" ] || fail "want the master in its own mount namespace ($ns_in vs $ns_out)"
got=$(nsenter -t "$m" -m cat /etc/resolv.conf 2>/dev/null | sed -n 's/^nameserver //p')
[ "$got" = "$WORLD_RESOLVER" ] || fail "resolv.conf inside: want nameserver $WORLD_RESOLVER, got '$got'"
timed "sending Postfix on $PFX_ADDR:25, in a mount namespace with resolv.conf -> $WORLD_RESOLVER"

# ---- deliveries ----
# deliver RCPT: submit one message to the sending Postfix, then wait for
# the smtp client's verdict line (status=sent|deferred|bounced) for it;
# the lines of the queue id in $tmp/lines.
deliver() {
    _r=$1
    _out=$(/usr/bin/python3 "$MXTOOL" send "$PFX_ADDR" sender@delivery.test "$_r" 2>&1)
    qid=$(printf '%s' "$_out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
    : >"$tmp/lines"
    if [ -z "$qid" ]; then
        fail "submission of <$_r> failed: $_out"
        return 1
    fi
    if ! wait_until 30 grep -Eq " $qid: to=<$_r>,.* status=(sent|deferred|bounced)" "$maillog"; then
        fail "no delivery outcome for $qid (<$_r>) within 30 s"
    fi
    # The TLS lines are logged before the queue id's status line, under the
    # smtp process's pid: take that process's lines.
    _pid=$(grep -E " $qid: to=<$_r>," "$maillog" | tail -n 1 | sed -n 's/.*smtp\[\([0-9]*\)\].*/\1/p')
    grep -E " $qid: |smtp\[${_pid:-none}\]: " "$maillog" >"$tmp/lines"
    {
        echo "maillog for $qid:"
        cat "$tmp/lines"
    } >>"$TAP_CONTEXT"
}
lines_have() { grep -Eq -- "$1" "$tmp/lines" || fail "maillog: want a line /$1/"; }
answer_is() {
    _a=$(smap "$1")
    diag "socketmap: postfix $1 -> '$_a'" "mtasts query $1: $(query "$1" | tr '\n' ' ')"
    printf '%s\n' "$_a" | grep -Eq -- "^$2" || fail "socketmap answer for $1: want /^$2/, got '$_a'"
}

# mxgood.test: enforce policy, good certificate.
answer_is mxgood.test 'OK secure match=mx1\.mxgood\.test( |$)'
deliver u@mxgood.test
lines_have "Verified TLS connection established to mx1\\.mxgood\\.test\\[$NET\\.30\\]:25"
lines_have "to=<u@mxgood\\.test>, relay=mx1\\.mxgood\\.test\\[$NET\\.30\\]:25, .*status=sent"
grep -q "to=<u@mxgood.test>, relay=none.*status=sent (world-mx)" "$WORLD_MX_LOG" ||
    fail "the MX did not receive (and discard) the message"
# The smtp client probes the resolver's DNSSEC support at its first lookup.
grep -q 'DNSSEC validation may be unavailable' "$maillog" &&
    fail "Postfix says DNSSEC validation may be unavailable: $(grep -A1 'DNSSEC validation' "$maillog")"
timed "u@mxgood.test: socketmap 'OK secure', Postfix delivers over verified TLS (status=sent)"

# mxwrongname.test: enforce policy, certificate for another name.
answer_is mxwrongname.test 'OK secure match=mx1\.mxwrongname\.test( |$)'
deliver u@mxwrongname.test
lines_have "to=<u@mxwrongname\\.test>, relay=mx1\\.mxwrongname\\.test\\[$NET\\.32\\]:25, .*status=deferred"
lines_have "server certificate verification failed for mx1\\.mxwrongname\\.test\\[$NET\\.32\\]:25: num=62:hostname mismatch"
lines_have "to=<u@mxwrongname\\.test>, .*dsn=4\\.7\\.5, status=deferred \\(Server certificate not verified\\)"
grep -Eq "Verified TLS connection established to mx1\\.mxwrongname" "$tmp/lines" &&
    fail "want no verified TLS connection to mx1.mxwrongname.test"
grep -q "to=<u@mxwrongname.test>" "$WORLD_MX_LOG" && fail "the MX must not have received the message"
timed "u@mxwrongname.test: socketmap 'OK secure', certificate names another host: deferred, not sent"

# good.dane.test: DANE-EE, certificate from the unknown second CA.
answer_is good.dane.test 'OK dane-only'
_todo=
grep -q 'OK dane-only' "$TAP_WHY" && _todo="the socketmap's 'OK dane-only' answer is not in this build yet"
deliver u@good.dane.test
lines_have "Verified TLS connection established to mx1\\.good\\.dane\\.test\\[$NET\\.40\\]:25"
lines_have "to=<u@good\\.dane\\.test>, relay=mx1\\.good\\.dane\\.test\\[$NET\\.40\\]:25, .*status=sent"
timed "u@good.dane.test: socketmap 'OK dane-only', Postfix authenticates with TLSA 3 1 1 (status=sent)" "$_todo"

# badtlsa.dane.test: the certificate is PKIX-valid (world CA, right name)
# but the secure TLSA names another key: DANE decides (RFC 8461 section 2,
# RFC 7672 section 2.2), so the mail must not go.
answer_is badtlsa.dane.test 'OK dane'
deliver u@badtlsa.dane.test
lines_have "to=<u@badtlsa\\.dane\\.test>, relay=mx1\\.badtlsa\\.dane\\.test\\[$NET\\.42\\]:25, .*status=deferred"
grep -q "to=<u@badtlsa.dane.test>" "$WORLD_MX_LOG" && fail "the MX must not have received the message"
timed "u@badtlsa.dane.test: socketmap 'OK dane...', TLSA of another key: deferred although PKIX would pass"

# No policy: NOTFOUND (Postfix then uses smtp_tls_security_level = may).
answer_is nopolicy.test 'NOTFOUND'
timed "nopolicy.test (no _mta-sts TXT): socketmap 'NOTFOUND'"

# ---- forced TLS levels (OverridesFile) and DANE-only destinations ----
# level DOMAIN ANSWER sent|deferred TLS-LINE: the socketmap's answer byte
# for byte, then Postfix's outcome and its TLS line for the message.
level() {
    _a=$(smap "$1")
    [ "$_a" = "$2" ] || fail "socketmap answer for $1: want '$2', got '$_a'"
    deliver "u@$1"
    lines_have "to=<u@$1>, relay=[^ ]*, .*status=$3"
    [ -z "$4" ] || lines_have "$4"
    if [ "$3" = sent ]; then
        grep -q "to=<u@$1>, relay=none.*status=sent (world-mx)" "$WORLD_MX_LOG" ||
            fail "the MX did not receive the message"
    else
        grep -q "to=<u@$1>" "$WORLD_MX_LOG" && fail "the MX must not have received the message"
    fi
    timed "u@$1: socketmap '$2', Postfix: $3"
}
ENC='OK encrypt protocols=>=TLSv1.2'
level mxselfsigned.test "$ENC" sent 'TLS connection established to mx1\.mxselfsigned\.test'
level mxnotls.test "$ENC" deferred 'TLS is required, but was not offered'
level mxwild.test 'OK verify match=hostname' sent \
    'Verified TLS connection established to mx1\.mxwild\.test'
level mxexpired.test 'OK verify match=hostname' deferred 'certificate verification failed'
level notlsa.dane.test 'OK secure match=mx1.notlsa.dane.test servername=hostname' sent \
    'Verified TLS connection established to mx1\.notlsa\.dane\.test'
level patternmiss.dane.test 'OK secure match=mx1.other.dane.test servername=hostname' deferred \
    'Server certificate not verified'
level ta.dane.test 'OK dane-only' sent 'Verified TLS connection established to mx1\.ta\.dane\.test'
level plain.dane.test 'OK dane-only' deferred 'status=deferred \(no TLSA records found\)'
level daneonly.dane.test 'OK dane-only' sent \
    'Verified TLS connection established to mx1\.good\.dane\.test'
level danenotls.dane.test 'OK dane-only' deferred 'TLS is required, but was not offered by host mx1\.danenotls'
_a=$(smap bogus.test)
[ "$_a" = 'TEMP dnssec-invalid' ] || fail "socketmap answer for bogus.test: want 'TEMP dnssec-invalid', got '$_a'"
timed "bogus.test (MX RRset bogus): socketmap 'TEMP dnssec-invalid'"

# ---- stop ----
milter_stop
[ "$milter_status" = 0 ] || fail "the daemon's exit status on SIGTERM: want 0, got $milter_status"
# Under --enable-sanitizers the reports land on stderr (milter.out).
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$mdir/milter.out"; then
    fail "sanitizer report in the daemon's stderr:"
    head -n 40 "$mdir/milter.out" >>"$TAP_WHY"
fi
_m=$(master_pid)
postfix_stop
[ -z "$_m" ] || group_gone "$_m" || fail "Postfix (master $_m or a child) still running"
timed "the daemon and the sending Postfix stop"

finish
