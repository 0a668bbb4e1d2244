#!/bin/sh
# agreement.sh - acceptance and delivery agree (issue 13 item 1): for every
# domain of the test world (the MX domains of tests/world/test.zone.in,
# dane.zone.in and bogus.zone.in) and every forced-TLS override, the
# daemon's socketmap instruction to the MTA (Postfix smtp_tls_policy_maps)
# and its milter verdict at RCPT (enforce) come from one destination
# decision (destination.h) and say the same:
#   "OK dane-only" / "OK dane"  <=> DANE-governed candidates (require=dane)
#   "OK secure match=..."       <=> require=secure (MTA-STS enforce, override
#                                   secure/enforce)
#   "OK verify match=hostname"  <=> require=verify (override verify)
#   "OK encrypt protocols=>=TLSv1.2" <=> require=encrypt (override encrypt)
#   "NOTFOUND "                 <=> a pass without a TLS requirement (no
#                                   policy, policy none or testing: RFC 8461
#                                   §5 reports testing, never enforces it;
#                                   override skip)
#   "TEMP ..."                  <=> tempfail without a requirement (bogus MX
#                                   RRset, RFC 7672 §2.1.1: dnssec-invalid)
# and the forced-TLS levels (mtasts-milter.conf(5) OverridesFile, named as
# Postfix names its TLS security levels) each pass and fail at RCPT against
# the world's real SMTP servers: encrypt (STARTTLS, TLS 1.2+, any
# certificate), verify (a trusted chain naming the MX host), secure
# PATTERN (verify + the MX host permitted), dane (RFC 7672 DANE-EE/TA);
# plus DANE-only destinations without MTA-STS (RFC 7672 §2.2: a host with
# secure usable TLSA must offer STARTTLS: RFC 8460 "starttls-not-supported"
# when it does not; "dane-required" is a host without TLSA the site
# requires DANE for).  Byte-exact socketmap answers
# for each level.
#
# Runs from the build directory with srcdir set (automake does both):
#   MTASTS_MILTER  the daemon (default milter/mtasts-milter)
#   MILTC          the protocol client (default tests/milter/miltc)
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
# shellcheck source=tests/milter/session.sh
. "$srcdir/tests/milter/session.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin MILTC tests/milter/miltc
need_tools /usr/bin/python3
# slow.test must not hold the walk: its policy comes within the deadline
WORLD_SLOW_SECONDS=2
export WORLD_SLOW_SECONDS
world_up world_start_mx world_start_dnssec
dir=$tmp

sock=$dir/milter.sock
log=$dir/milter.log
SMAP_ADDR=$WORLD_NET.50
SMAP_PORT=10026
cat >"$dir/overrides" <<EOF
# forced TLS, each level passing and failing (tests/milter/agreement.sh)
mxselfsigned.test   encrypt                    # self-signed: TLS is enough
mxnotls.test        encrypt                    # no STARTTLS
mxoldtls.test       encrypt                    # TLS 1.0/1.1 only
mxwild.test         verify                     # world CA, *.mxwild.test
mxexpired.test      verify                     # expired
notlsa.dane.test    secure mx1.notlsa.dane.test
mxwrongname.test    secure mx1.mxwrongname.test  # certificate for another name
patternmiss.dane.test secure mx1.other.dane.test # the MX host is not permitted
ta.dane.test        dane                       # DANE-TA
plain.dane.test     dane                       # no TLSA: dane-required
nopolicy.test       skip
EOF
cat >"$dir/milter.conf" <<EOF
Socket unix:$sock
Mode enforce
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
TrustAnchorFile $WORLD_TA
CAFile $WORLD_CA
AllowPrivateTargets yes
LookupDeadline 2s
ProbeTimeout 3s
FetchConnectTimeout 2s
FetchTimeout 4s
HeloName client.test
OnTLSUnknown accept
OverridesFile $dir/overrides
SocketMap inet:$SMAP_PORT@$SMAP_ADDR
SocketMapDeadline 5s
Syslog no
LogFile $log
LogLevel debug
EOF
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
    sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
    bail "the milter did not open $sock"
}

# smap KEY: the daemon's socketmap answer to "postfix KEY" (the payload).
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
sys.stdout.write(rest[:-1].decode() + "\n")' "$SMAP_ADDR" "$SMAP_PORT" "$1" 2>&1
}
smap_up() { smap probe.invalid >/dev/null 2>&1; }
wait_until 10 smap_up || bail "the socketmap does not answer on $SMAP_ADDR:$SMAP_PORT"

rcpt() { printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=%s\nrcpt <u@%s>\n' "$1" "$1"; }

# every MX domain of the world's zones, then the override-only ones
zones=$srcdir/tests/world
domains=$(
    {
        awk '$2 == "MX" && $1 !~ /^[@;$]/ { print $1 ".test" }' "$zones/test.zone.in"
        awk '$2 == "MX" && $1 !~ /^[@;$]/ { print $1 ".dane.test" }' "$zones/dane.zone.in"
        echo bogus.test
        awk '!/^#/ && NF >= 2 { print $1 }' "$dir/overrides"
    } | sort -u
)
n=$(echo "$domains" | wc -w)
diag "walking $n domains"

# --- warm: discovery, MX and TLSA answers, the probes (twice: the second
# round finds the policies fetched and starts the probes they need)
for round in 1 2; do
    { head_script; for d in $domains; do rcpt "$d"; done; echo abort; } | session "warm$round"
    for d in $domains; do smap "$d" >/dev/null; done
done
probes_done() { ! grep -q 'reason=tls-pending' "$dir/round.log" 2>/dev/null; }
_settle() {
    { head_script; for d in $domains; do rcpt "$d"; done; echo abort; } | session settle
    grep 'rcpt=<u@' "$log" | tail -n "$n" >"$dir/round.log"
    probes_done
}
wait_until 20 _settle || diag "some probes still pending after 20 s"

# --- the walk
{ head_script; for d in $domains; do rcpt "$d"; done; echo abort; } | session walk
# class_of_answer ANSWER: what the socketmap asks the MTA to enforce
class_of_answer() {
    case $1 in
    "NOTFOUND ") echo none ;;
    "OK dane-only" | "OK dane") echo dane ;;
    "OK secure match="*) echo secure ;;
    "OK verify match=hostname") echo verify ;;
    "OK encrypt protocols=>=TLSv1.2") echo encrypt ;;
    TEMP*) echo temp ;;
    *) echo "unknown($1)" ;;
    esac
}
# class_of_line LINE: what the milter required at RCPT (require=), a
# testing policy's requirement being reported only, a tempfail without a
# requirement being a temporary failure of the facts
class_of_line() {
    _req=$(printf '%s' "$1" | sed -n 's/.* require=\([a-z]*\).*/\1/p')
    _verdict=$(printf '%s' "$1" | sed -n 's/.* verdict=\([a-z]*\) .*/\1/p')
    _policy=$(printf '%s' "$1" | sed -n 's/.* policy=\([a-z-]*\) .*/\1/p')
    if [ "$_req" = secure ] && [ "$_policy" = testing ]; then
        echo none
    elif [ -n "$_req" ] && [ "$_req" != none ]; then
        echo "$_req"
    elif [ "$_verdict" = tempfail ]; then
        echo temp
    else
        echo none
    fi
}
for d in $domains; do
    a=$(smap "$d")
    line=$(grep "rcpt=<u@$d> " "$log" | tail -n 1)
    ca=$(class_of_answer "$a")
    cl=$(class_of_line "$line")
    v=$(printf '%s' "$line" | sed -n 's/.* verdict=\([a-z]*\) .* reason=\([a-z-]*\) .*/\1 \2/p')
    if [ "$ca" = "$cl" ]; then
        ok "$d: socketmap '$a' ($ca) agrees with RCPT $v (require $cl)"
    else
        nok "$d: socketmap '$a' ($ca) agrees with RCPT $v (require $cl)"
        diag "$line"
    fi
done

# --- the forced-TLS levels at RCPT, and their byte-exact socketmap answers
# expect DOMAIN ANSWER ACTION-PATTERN LOG-REASON
expect() {
    { head_script; rcpt "$1"; echo abort; } | session "$1"
    check "$1: RCPT -> $3" has "$1" "rcpt <u@$1> -> $3"
    check "$1: logged reason=$4" logged "rcpt=<u@$1> .*reason=$4 "
    check_eq "$1: socketmap answer" "$2" "$(smap "$1")"
}
T451='tempfail 451 4.7.'
expect mxselfsigned.test 'OK encrypt protocols=>=TLSv1.2' continue override-encrypt-match
expect mxnotls.test 'OK encrypt protocols=>=TLSv1.2' "${T451}4 .*starttls-not-supported" \
    starttls-not-supported
expect mxoldtls.test 'OK encrypt protocols=>=TLSv1.2' "${T451}5 " validation-failure
expect mxwild.test 'OK verify match=hostname' continue override-verify-match
expect mxexpired.test 'OK verify match=hostname' "${T451}5 .*certificate-expired" \
    certificate-expired
expect notlsa.dane.test 'OK secure match=mx1.notlsa.dane.test servername=hostname' continue \
    override-enforce-match
expect mxwrongname.test 'OK secure match=mx1.mxwrongname.test servername=hostname' \
    "${T451}5 .*certificate-host-mismatch" certificate-host-mismatch
expect patternmiss.dane.test 'OK secure match=mx1.other.dane.test servername=hostname' \
    'tempfail 451 4.7.0 ' override-enforce-mismatch
expect ta.dane.test 'OK dane-only' continue dane-match
expect plain.dane.test 'OK dane-only' "${T451}5 .*dane-required" dane-required
expect nopolicy.test 'NOTFOUND ' continue override-skip
# DANE-only destinations (no _mta-sts, RFC 7672 §2.2)
expect daneonly.dane.test 'OK dane-only' continue dane-match
expect danenotls.dane.test 'OK dane-only' "${T451}4 .*failed the DANE check.*starttls-not-supported" \
    starttls-not-supported
expect bogus.test 'TEMP dnssec-invalid' "${T451}5 .*dnssec-invalid" dnssec-invalid

milter_stop
finish
