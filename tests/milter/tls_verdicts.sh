#!/bin/sh
# tls_verdicts.sh - route verification at RCPT time (mtasts-milter(8),
# VERDICT rule 20 and ROUTE VERIFICATION), at the milter protocol level,
# against the test world's real SMTP servers (world_start_mx) and its
# DNSSEC-signed zones (world_start_dnssec):
#   RFC 8461 §4.2  an enforce domain's permitted MX must offer STARTTLS with
#                  TLS 1.2+ and a valid, trusted certificate naming it;
#                  each RFC 8460 result type fails the recipient with it as
#                  the reason (451 4.7.4 / 4.7.5)
#   RFC 7672 / RFC 8461 §2  DANE first: a DANE-valid MX passes with a
#                  certificate from an unknown CA, a DANE-failing MX fails
#                  although WebPKI-valid and listed by the policy; bogus MX
#                  or TLSA answers fail dnssec-invalid; a "dane" override
#                  without TLSA fails dane-required
#   the RCPT path never waits on a probe beyond LookupDeadline (an MX that
#   accepts TCP and never speaks), OnTLSUnknown, audit tagging (tls=),
#   and that a probe never sends mail (the MX's own log).
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
world_up world_start_mx world_start_dnssec
dir=$tmp

sock=$dir/milter.sock
log=$dir/milter.log
cat >"$dir/overrides" <<EOF
# the site demands DANE for these (RFC 8460 dane-required without TLSA)
notlsa.dane.test dane
good.dane.test dane
EOF
write_config() { # write_config MODE ON-TLS-UNKNOWN
    cat >"$dir/milter.conf" <<EOF
Socket unix:$sock
Mode $1
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
TrustAnchorFile $WORLD_TA
CAFile $WORLD_CA
AllowPrivateTargets yes
LookupDeadline 1s
ProbeTimeout 3s
HeloName client.test
OnTLSUnknown $2
OverridesFile $dir/overrides
Syslog no
LogFile $log
LogLevel debug
EOF
}
write_config enforce accept

milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
    sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
    bail "the milter did not open $sock"
}

rcpt() { # rcpt DOMAIN: a recipient routed directly to DOMAIN's MX hosts
    printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=%s\nrcpt <u@%s>\n' "$1" "$1"
}

# --- the deadline: a cold probe of an MX that accepts TCP and never speaks.
# The policy is discovered first (its own cold path), then the RCPT that
# starts the probe must come back within LookupDeadline (1 s).
{ head_script; rcpt mxsilent.test; echo abort; } | session silent0
t0=$(now_ms)
{ head_script; rcpt mxsilent.test; echo abort; } | session silent1
t1=$(now_ms)
ms=$((t1 - t0))
check "an MX that never speaks: RCPT answered in $ms ms, want < 1800 (LookupDeadline 1s)" \
    [ "$ms" -lt 1800 ]
check "probe still running: OnTLSUnknown accept -> continue, reason tls-pending" \
    logged 'rcpt=<u@mxsilent.test> .*verdict=pass would_fail=no reason=tls-pending'

# --- warm every scenario, then let the probes finish (ProbeTimeout 3s)
domains="mxgood.test mxwild.test mxwrongname.test mxexpired.test mxselfsigned.test
mxnotls.test mxoldtls.test good.dane.test ta.dane.test badtlsa.dane.test
tlsabogus.dane.test notlsa.dane.test bogus.test"
{ head_script; for d in $domains; do rcpt "$d"; done; echo abort; } | session warm
# probed: every MX host of the warmed domains (bogus.test's MX RRset is
# bogus: nothing to probe) and the silent one has its probe's result line.
probed() {
    for _d in $domains mxsilent.test; do
        [ "$_d" = bogus.test ] || grep -q "probe host=mx1\.$_d addr=" "$log" || return 1
    done
}
wait_until 10 probed || diag "not every probe finished within 10 s"

# expect DOMAIN ACTION-PATTERN LOG-REASON
expect() {
    { head_script; rcpt "$1"; echo abort; } | session "$1"
    check "$1: $2" has "$1" "rcpt <u@$1> -> $2"
    check "$1: logged reason=$3" logged "rcpt=<u@$1> .*reason=$3 "
}
expect mxgood.test 'continue' 'mx-match mx=mx1.mxgood.test tls=mx1.mxgood.test\[pass\]'
expect mxwild.test 'continue' 'mx-match'
expect mxwrongname.test 'tempfail 451 4.7.5 MTA-STS: mxwrongname.test: MX host mx1.mxwrongname.test failed the TLS check' \
    'certificate-host-mismatch'
expect mxexpired.test 'tempfail 451 4.7.5 .*certificate-expired' 'certificate-expired'
expect mxselfsigned.test 'tempfail 451 4.7.5 .*certificate-not-trusted' 'certificate-not-trusted'
expect mxnotls.test 'tempfail 451 4.7.4 .*starttls-not-supported' 'starttls-not-supported'
expect mxoldtls.test 'tempfail 451 4.7.5 .*validation-failure' 'validation-failure'
# DANE (RFC 7672): governs whatever the CA; wins over a WebPKI-valid certificate
expect good.dane.test 'continue' 'dane-match .*tls=mx1.good.dane.test\[dane:pass\]'
expect ta.dane.test 'continue' 'dane-match'
expect badtlsa.dane.test 'tempfail 451 4.7.5 .*failed the DANE check.*tlsa-invalid' 'tlsa-invalid'
expect tlsabogus.dane.test 'tempfail 451 4.7.5 .*dnssec-invalid' 'dnssec-invalid'
expect bogus.test 'tempfail 451 4.7.5 .*dnssec-invalid' 'dnssec-invalid'
expect notlsa.dane.test 'tempfail 451 4.7.5 .*dane-required' 'dane-required'

# the silent MX, once its probe gave up: mx-unreachable, OnTLSUnknown accept
expect mxsilent.test 'continue' 'mx-unreachable'

# --- no probe ever sends mail: the MX hosts saw EHLO/STARTTLS/QUIT only
if [ -n "${WORLD_MX_LOG:-}" ] && [ -f "$WORLD_MX_LOG" ]; then
    if grep -q 'mx-mxgood/smtpd.*disconnect from' "$WORLD_MX_LOG" &&
        ! grep -Eq 'mx-mx[a-z]+/smtpd.*(mail=|rcpt=|data=)' "$WORLD_MX_LOG"; then
        ok "probes never sent MAIL, RCPT or DATA (MX log)"
    else
        nok "probes never sent MAIL, RCPT or DATA (MX log)"
        grep 'disconnect from' "$WORLD_MX_LOG" | sed 's/^/#   /' | head -20
    fi
    check "probes say QUIT (MX log: quit=1)" grep -q 'mx-mxgood/smtpd.*disconnect from.*quit=1' "$WORLD_MX_LOG"
else
    nok "the world exports WORLD_MX_LOG"
fi

# --- OnTLSUnknown tempfail, audit mode: reload and check the tags
write_config audit accept
kill -HUP "$milter_pid"
wait_until 5 reloads ok 1
{ head_script; rcpt mxexpired.test; rcpt mxgood.test; echo 'eom'; } | session audit
check "audit: an expired MX certificate does not refuse" has audit 'rcpt <u@mxexpired.test> -> continue'
check "audit: the header says certificate-expired with the per-MX result" \
    has audit 'MTA-STS-Audit: mxexpired.test; mode=enforce; id=[^;]*; verdict=fail;.*reason=certificate-expired;.*tls=mx1.mxexpired.test\[certificate-expired\]'
check "audit: the header says pass for the good MX" \
    has audit 'mxgood.test; mode=enforce;.*verdict=pass;.*reason=mx-match;.*tls=mx1.mxgood.test\[pass\]'

write_config enforce tempfail
kill -HUP "$milter_pid"
wait_until 5 reloads ok 2
{ head_script; rcpt mxsilent.test; echo abort; } | session silent2
check "OnTLSUnknown tempfail: unreachable MX -> 451 4.4.1" \
    has silent2 'rcpt <u@mxsilent.test> -> tempfail 451 4.4.1'

# --- the probe results persist: cache probes lists them
check "one probe log line per MX (single flight): mxgood probed once" \
    test "$(grep -c 'probe host=mx1.mxgood.test ' "$log")" -eq 1

milter_stop
finish
