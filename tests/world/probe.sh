#!/bin/sh
# Guards the STARTTLS probe (milter/engine/probe.c) against real MX hosts of the
# test world (a private Postfix per scenario address, tests/world/mx.sh):
# RFC 8461 §4.2 (STARTTLS, TLS 1.2 or later, a certificate chaining to a
# trusted root, valid now, naming the MX host, a wildcard only as the whole
# leftmost label), RFC 7672 §3.1 (DANE-EE: the key alone, no names, no
# CA; DANE-TA: the chain to the anchor and the name), the RFC 8460 §4.3
# result types (starttls-not-supported, certificate-host-mismatch,
# certificate-expired, certificate-not-trusted, validation-failure,
# tlsa-invalid), the deadline on a server that never speaks, and that a
# probe never sends mail and ends with QUIT (the MX Postfix's own log).
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/world/probe.sh
#   TEST_PROBE  the test_probe driver (default tests/world/test_probe)
#   WORLD_KEEP=1 keeps the world's scratch directory for a post-mortem.
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin TEST_PROBE tests/world/test_probe
world_up world_start_mx world_start_dnssec
scratch=$tmp
N=$WORLD_NET
CA=$WORLD_MX_CA

# probe NAME HOST ADDR [ARGS...]: run the driver, output in $scratch/NAME.
probe() {
    _name=$1
    shift
    _t0=$(now_ms)
    timeout 30 "$TEST_PROBE" "$@" >"$scratch/$_name" 2>"$scratch/$_name.err"
    _prc=$?
    _t1=$(now_ms)
    echo "wall=$((_t1 - _t0))" >>"$scratch/$_name"
    echo "# $_name: $(grep -E '^(result|detail|tls_version|ms)=' "$scratch/$_name" | tr '\n' ' ')"
    if [ $_prc -ne 0 ]; then
        nok "$_name: the driver exited with status $_prc" "$(cat "$scratch/$_name.err")"
    fi
}

# field NAME KEY: the value of KEY in the output of probe NAME.
field() { sed -n "s/^$2=//p" "$scratch/$1" | head -n 1; }

# expect NAME KEY=VALUE...: one test point; every pair must hold.
expect() {
    _name=$1
    shift
    for _kv in "$@"; do
        want_eq "${_kv%%=*}" "${_kv#*=}" "$(field "$_name" "${_kv%%=*}")"
    done
    ok "$_name: $*"
}

# probe_check NAME DESCRIPTION COMMAND...: one test point from a shell test.
probe_check() {
    _d="$1: $2"
    shift 2
    check "$_d" "$@"
}

now=$(date +%s)
contains() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
in_future() { [ "$(field "$1" cert_not_after)" -gt "$now" ]; }
in_past() { _na=$(field "$1" cert_not_after); [ "$_na" -gt 0 ] && [ "$_na" -lt "$now" ]; }
modern_tls() { case $(field "$1" tls_version) in TLSv1.2 | TLSv1.3) return 0 ;; esac; return 1; }
within() { [ "$(field "$1" wall)" -le "$2" ]; }

# --- WebPKI (MTA-STS) scenarios
probe mxgood mx1.mxgood.test "$N.30" --ca "$CA" --timeout 5000
expect mxgood result=pass detail=ok smtp_code=220 starttls_offered=1 handshake_done=1 \
    have_cert=1 chain_trusted=1 name_match=1 dane_used=0 dane_usage=-1 failure=0
probe_check mxgood "TLSv1.2 or later, modern cipher" modern_tls mxgood
probe_check mxgood "cipher on the modern list" [ "$(field mxgood cipher_modern)" = 1 ]
probe_check mxgood "SAN and subject name mx1.mxgood.test" \
    contains "$(field mxgood cert_sans),$(field mxgood cert_subject)" "mx1.mxgood.test"
probe_check mxgood "notAfter in the future" in_future mxgood
probe_check mxgood "issuer is the world CA" [ -n "$(field mxgood cert_issuer)" ]

# The same server with the helo name and trailing dot of a real MX name.
probe mxgood-dot mx1.mxgood.test. "$N.30" --ca "$CA" --helo probe.example --timeout 5000
expect mxgood-dot result=pass name_match=1

# Without the world CA (the system store only) the chain is unknown.
probe mxgood-noca mx1.mxgood.test "$N.30" --ca /etc/ssl/certs/ca-certificates.crt --timeout 5000
expect mxgood-noca result=certificate-not-trusted chain_trusted=0 name_match=1

# One shared context, 16 probes at once (probe.h: thread-safe).
probe mxgood-threads mx1.mxgood.test "$N.30" --ca "$CA" --threads 16 --timeout 5000
expect mxgood-threads result=pass threads_agree=1
probe mxwrongname-threads mx1.mxwrongname.test "$N.32" --ca "$CA" --threads 8 --timeout 5000
expect mxwrongname-threads result=certificate-host-mismatch threads_agree=1

probe mxwild mx1.mxwild.test "$N.31" --ca "$CA" --timeout 5000
expect mxwild result=pass chain_trusted=1 name_match=1 cert_sans='*.mxwild.test'
# One label only: a name two labels below the wildcard does not match.
probe mxwild-deep a.mx1.mxwild.test "$N.31" --ca "$CA" --timeout 5000
expect mxwild-deep result=certificate-host-mismatch name_match=0 chain_trusted=1

probe mxwrongname mx1.mxwrongname.test "$N.32" --ca "$CA" --timeout 5000
expect mxwrongname result=certificate-host-mismatch chain_trusted=1 name_match=0 \
    handshake_done=1 failure=1
probe_check mxwrongname "detail names the mismatch" contains "$(field mxwrongname detail)" "mismatch"

probe mxexpired mx1.mxexpired.test "$N.33" --ca "$CA" --timeout 5000
expect mxexpired result=certificate-expired chain_trusted=1 name_match=1 failure=1
probe_check mxexpired "notAfter in the past" in_past mxexpired
probe_check mxexpired "detail says expired" contains "$(field mxexpired detail)" "expired"

probe mxselfsigned mx1.mxselfsigned.test "$N.34" --ca "$CA" --timeout 5000
expect mxselfsigned result=certificate-not-trusted chain_trusted=0 name_match=1 have_cert=1
probe_check mxselfsigned "subject = issuer (self-signed)" \
    [ "$(field mxselfsigned cert_subject)" = "$(field mxselfsigned cert_issuer)" ]

probe mxnotls mx1.mxnotls.test "$N.35" --ca "$CA" --timeout 5000
expect mxnotls result=starttls-not-supported starttls_offered=0 handshake_done=0 \
    smtp_code=250 tls_version= failure=1

probe mxoldtls mx1.mxoldtls.test "$N.36" --ca "$CA" --timeout 5000
expect mxoldtls result=validation-failure starttls_offered=1 handshake_done=0 failure=1
probe_check mxoldtls "detail says the server has no TLS 1.2" \
    contains "$(field mxoldtls detail)" "no TLS 1.2 or later"
probe mxoldtls-1.1 mx1.mxoldtls.test "$N.36" --ca "$CA" --version 1.1 --timeout 5000
expect mxoldtls-1.1 result=pass handshake_done=1 tls_version=TLSv1.1 chain_trusted=1 \
    name_match=1 cipher_modern=0
probe mxoldtls-1.2 mx1.mxoldtls.test "$N.36" --ca "$CA" --version 1.2 --timeout 5000
expect mxoldtls-1.2 result=validation-failure handshake_done=0
# mxgood speaks 1.3 when asked for exactly that (the checker's scan).
probe mxgood-1.3 mx1.mxgood.test "$N.30" --ca "$CA" --version 1.3 --timeout 5000
expect mxgood-1.3 result=pass tls_version=TLSv1.3
probe mxgood-1.2 mx1.mxgood.test "$N.30" --ca "$CA" --version 1.2 --timeout 5000
expect mxgood-1.2 result=pass tls_version=TLSv1.2 cipher_modern=1

probe mxsilent mx1.mxsilent.test "$N.37" --ca "$CA" --timeout 2000
expect mxsilent result=unreachable smtp_code=0 failure=0 handshake_done=0
# The probe's own clock (ms) against the deadline; the process as a whole
# (start-up, sanitizers) gets more slack.
probe_ms() { _pm=$(field "$1" ms); [ "${_pm%.*}" -le "$2" ] && [ "${_pm%.*}" -ge "$3" ]; }
probe_check mxsilent "gave up within timeout + 0.5 s (probe $(field mxsilent ms) ms)" \
    probe_ms mxsilent 2500 1950
probe_check mxsilent "process done within timeout + 2 s ($(field mxsilent wall) ms)" within mxsilent 4000

probe nothing mx1.nothing.test "$WORLD_MX_ADDR" --ca "$CA" --timeout 2000
expect nothing result=unreachable smtp_code=0 failure=0
probe_check nothing "connection refused, quickly" contains "$(field nothing detail)" "refused"
probe_check nothing "within 1 s" within nothing 1000

# --- DANE (RFC 7672), records from the signed zone
tlsa() {
    dig +short +norec +time=2 +tries=1 -p 53 "@$WORLD_NS_ADDR" "_25._tcp.$1" TLSA |
        head -n 1 | awk '{ printf "%s %s %s ", $1, $2, $3; for (i = 4; i <= NF; i++) printf "%s", $i; print "" }'
}
tlsa_good=$(tlsa mx1.good.dane.test)
tlsa_ta=$(tlsa mx1.ta.dane.test)
tlsa_bad=$(tlsa mx1.badtlsa.dane.test)
probe_check dane "TLSA records from the zone (3 1 1 / 2 0 1 / 3 1 1)" \
    [ "${tlsa_good%% *}${tlsa_ta%% *}${tlsa_bad%% *}" = 323 ]
echo "# TLSA good=$tlsa_good ta=$tlsa_ta badtlsa=$tlsa_bad"

# shellcheck disable=SC2086 # the record is four words on purpose
probe dane-ee mx1.good.dane.test "$N.40" --ca "$CA" --tlsa $tlsa_good --timeout 5000
expect dane-ee result=pass dane_used=1 dane_matched=1 dane_usage=3 chain_trusted=0
probe dane-ee-webpki mx1.good.dane.test "$N.40" --ca "$CA" --timeout 5000
expect dane-ee-webpki result=certificate-not-trusted dane_used=0 chain_trusted=0
# DANE-EE: names are not checked (RFC 7672 §3.1.1).
# shellcheck disable=SC2086
probe dane-ee-othername mx1.elsewhere.test "$N.40" --ca "$CA" --tlsa $tlsa_good --timeout 5000
expect dane-ee-othername result=pass dane_matched=1 dane_usage=3 name_match=0

# shellcheck disable=SC2086
probe dane-ta mx1.ta.dane.test "$N.41" --ca "$CA" --tlsa $tlsa_ta --timeout 5000
expect dane-ta result=pass dane_used=1 dane_matched=1 dane_usage=2 name_match=1 chain_trusted=0
# DANE-TA: the name is checked (RFC 7672 §3.2.2).
# shellcheck disable=SC2086
probe dane-ta-othername mx1.elsewhere.test "$N.41" --ca "$CA" --tlsa $tlsa_ta --timeout 5000
expect dane-ta-othername result=certificate-host-mismatch dane_matched=0 name_match=0

# shellcheck disable=SC2086
probe badtlsa mx1.badtlsa.dane.test "$N.42" --ca "$CA" --tlsa $tlsa_bad --timeout 5000
expect badtlsa result=tlsa-invalid dane_used=1 dane_matched=0 dane_usage=-1 \
    chain_trusted=1 name_match=1 failure=1
probe badtlsa-webpki mx1.badtlsa.dane.test "$N.42" --ca "$CA" --timeout 5000
expect badtlsa-webpki result=pass
# Only unusable records (PKIX-EE, RFC 7672 §3.1.3): nothing to authenticate with.
probe dane-unusable mx1.good.dane.test "$N.40" --ca "$CA" --tlsa 1 1 1 "${tlsa_good##* }" \
    --timeout 5000
expect dane-unusable result=tlsa-invalid dane_matched=0

# --- no mail is ever sent: the MX Postfix's own account of every session.
# smtpd logs "disconnect from ... ehlo=1 starttls=1 quit=1 commands=3" when
# a session ends; the probes above must show quit=1 and no mail=/rcpt=.
all_disconnected() {
    for _l in mxgood mxwild mxwrongname mxexpired mxselfsigned mxnotls gooddane tadane badtlsa; do
        grep -q "mx-$_l/smtpd.*disconnect from.* ehlo=1" "$WORLD_MX_LOG" 2>/dev/null || return 1
    done
}
probe_check maillog "every session logged its disconnect" wait_until 10 all_disconnected
# (The world's own readiness checks connect and QUIT without EHLO: only
# the sessions with an EHLO are ours.)
for l in mxgood mxwild mxwrongname mxexpired mxselfsigned mxnotls gooddane tadane badtlsa; do
    lines=$(grep "mx-$l/smtpd.*disconnect from.* ehlo=1" "$WORLD_MX_LOG")
    bad=$(printf '%s\n' "$lines" | grep -v ' quit=1' | head -n 1)
    probe_check "maillog $l" "every session ended with QUIT${bad:+ (got: $bad)}" \
        [ -n "$lines" -a -z "$bad" ]
done
mail=$(grep -E ' (mail|rcpt|data)=[0-9]|from=<' "$WORLD_MX_LOG" | head -n 3)
probe_check maillog "no MAIL, RCPT or DATA in the whole log${mail:+ (got: $mail)}" [ -z "$mail" ]

finish
