#!/bin/sh
# Self-test of the test world's MX hosts, signed zones and validating
# resolver (world_start_mx, world_start_dnssec, world_start_resolver in
# tests/world/world.sh, code in tests/world/mx.sh), checked with tools that
# share no code with mtasts-milter: openssl s_client, dig, Python's smtplib.
#
# Guards the scenarios the delivery-time tests rely on:
#   RFC 8461 section 4.2  an MTA-STS sender requires a PKIX-valid certificate
#                         naming the MX host (wildcards allowed) and STARTTLS:
#                         mxgood/mxwild pass; mxwrongname, mxexpired,
#                         mxselfsigned fail with OpenSSL's matching error;
#                         mxnotls offers no STARTTLS; mxoldtls speaks TLS 1.0
#                         and 1.1 only; mxsilent never greets
#   RFC 7672 sections 2.2, 3.1  DANE: the TLSA answers are DNSSEC-secure (ad)
#                         through the resolver, bogus where tampered
#                         (SERVFAIL), secure NODATA where absent; DANE-EE
#                         (good.dane.test) and DANE-TA (ta.dane.test)
#                         authenticate certificates PKIX rejects, a TLSA of
#                         another key (badtlsa) fails although PKIX passes
# and that world_stop stops every process these start.  Prints how long
# each start-up step takes.
#
# Usage: srcdir=/path/to/source sh tests/world/world_mx_selftest.sh   (as root)

# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
if [ ! -f "$srcdir/tests/world/world.sh" ]; then
    echo "Bail out! srcdir ($srcdir) has no tests/world/world.sh"
    exit 99
fi
need_root
need_tools nginx nsd openssl dig /usr/bin/python3 postfix unbound ldns-signzone ldns-keygen
MXTOOL=$srcdir/tests/world/mxtool.py

# ---- start, timed
t0=$(now_ms)
world_up
t1=$(now_ms)
start_step() {
    _t=$(now_ms)
    "$1" >"$tmp/$1.log" 2>&1
    _rc=$?
    _ms=$(($(now_ms) - _t))
    if [ $_rc -ne 0 ]; then
        nok "$1 (exit $_rc)" "$(cat "$tmp/$1.log")"
        bail "$1 failed"
    fi
    ok "$1 starts (${_ms} ms)"
    echo "# $1 took ${_ms} ms"
}
echo "# world_start took $((t1 - t0)) ms (slot $WORLD_NET.0/24)"
start_step world_start_mx
start_step world_start_dnssec
start_step world_start_resolver
_t=$(now_ms)
world_start_mx && world_start_dnssec && world_start_resolver
rc=$?
okif "a second call of each is a no-op (exit $rc, $(($(now_ms) - _t)) ms)" "want 0 in under 1 s" \
    test $rc = 0 -a $(($(now_ms) - _t)) -lt 1000
check_eq "WORLD_MX_CA is the world CA" "$WORLD_CA" "$WORLD_MX_CA"
check_eq "WORLD_RESOLVER" "$WORLD_NET.4" "$WORLD_RESOLVER"
okif "WORLD_TA holds two DS records, algorithm 13, digest type 2" "$(cat "$WORLD_TA")" \
    test "$(awk '$4 == "DS" && $6 == 13 && $7 == 2 { print $1 }' "$WORLD_TA" | sort | tr '\n' ' ')" = \
    "bogus.test. dane.test. "

NET=$WORLD_NET
CA=$WORLD_CA

# ---- DNS of the MX scenarios (test. zone, nsd directly) and their policies
addr_of() { echo "$NET.$(echo "$1" | cut -d: -f2)"; }
for s in mxgood:30 mxwild:31 mxwrongname:32 mxexpired:33 mxselfsigned:34 mxnotls:35 mxoldtls:36 mxsilent:37; do
    d=${s%%:*}.test
    got="$(world_dig "$d" MX) $(world_dig "mx1.$d" A) $(world_dig "_mta-sts.$d" TXT)"
    check_eq "$d: MX, A, TXT" "10 mx1.$d. $(addr_of "$s") \"v=STSv1; id=${s%%:*}1\"" "$got"
    got=$(world_curl "mta-sts.$d" /.well-known/mta-sts.txt --max-time 5 | tr '\n' ' ')
    check_eq "$d: enforce policy on nginx" \
        "version: STSv1 mode: enforce mx: mx1.$d max_age: 86400 " "$got"
done

# ---- certificates (RFC 8461 4.2: PKIX with the MX host name)
# sclient ADDR NAME [ARGS]: openssl s_client STARTTLS, the world CA,
# host name checking; output in $tmp/sc.out, exit status in sc_rc.
sclient() {
    _a=$1 _h=$2
    shift 2
    timeout 10 openssl s_client -starttls smtp -connect "$_a:25" -servername "$_h" \
        -CAfile "$CA" -verify_return_error -verify_hostname "$_h" "$@" \
        </dev/null >"$tmp/sc.out" 2>&1
    sc_rc=$?
}
vcode() { sed -n 's/^ *Verify return code: \([0-9]*\) (\(.*\))$/\1 \2/p' "$tmp/sc.out" | tail -n 1; }
for s in mxgood:30 mxwild:31; do
    sclient "$(addr_of "$s")" "mx1.${s%%:*}.test"
    check_eq "${s%%:*}.test: STARTTLS, certificate verifies for mx1.${s%%:*}.test (s_client exit $sc_rc)" \
        "0 ok" "$(vcode)"
done
# The certificate the server sent (s_client prints it): one SAN, the wildcard.
san=$(openssl x509 -noout -ext subjectAltName <"$tmp/sc.out" 2>&1 | sed -n 's/^ *//;2p')
check_eq "mxwild.test: the served certificate's only SAN is the wildcard" "DNS:*.mxwild.test" "$san"
for s in "mxwrongname:32:62 hostname mismatch" "mxexpired:33:10 certificate has expired" \
    "mxselfsigned:34:18 self-signed certificate"; do
    l=${s%%:*}
    r=${s#*:}
    sclient "$NET.${r%%:*}" "mx1.$l.test"
    want=${r#*:}
    if [ "$sc_rc" != 0 ] && grep -q "^verify error:num=${want%% *}:${want#* }" "$tmp/sc.out"; then
        ok "$l.test: handshake refused, verify error ${want#* }"
    else
        nok "$l.test: want verify error num=${want%% *} (${want#* }), s_client exit $sc_rc" \
            "$(grep -E 'verify error|Verify return' "$tmp/sc.out")"
    fi
done

# ---- no STARTTLS; old TLS; silent
/usr/bin/python3 "$MXTOOL" ehlo "$NET.35" >"$tmp/ehlo.out" 2>&1
okif "mxnotls.test: EHLO answered, no STARTTLS in it" "$(cat "$tmp/ehlo.out")" \
    sh -c "grep -q '^250 mx1.mxnotls.test' '$tmp/ehlo.out' && ! grep -qi starttls '$tmp/ehlo.out'"
/usr/bin/python3 "$MXTOOL" ehlo "$NET.30" >"$tmp/ehlo.out" 2>&1
okif "mxgood.test: EHLO offers STARTTLS (the control)" "$(cat "$tmp/ehlo.out")" \
    grep -q '^250 STARTTLS' "$tmp/ehlo.out"
sclient "$NET.36" mx1.mxoldtls.test -tls1_1 -cipher DEFAULT@SECLEVEL=0
okif "mxoldtls.test: TLS 1.1 with DEFAULT@SECLEVEL=0 works, certificate verifies" \
    "s_client exit $sc_rc; $(grep -E 'Protocol|Verify return' "$tmp/sc.out")" \
    sh -c "[ $sc_rc = 0 ] && grep -q 'Protocol *: TLSv1.1' '$tmp/sc.out' && grep -q 'Verify return code: 0' '$tmp/sc.out'"
sclient "$NET.36" mx1.mxoldtls.test -tls1_2
okif "mxoldtls.test: TLS 1.2 refused (s_client exit $sc_rc)" "$(grep -E 'error|Cipher is' "$tmp/sc.out")" \
    sh -c "[ $sc_rc != 0 ] && grep -Eq 'unsupported protocol|alert protocol version|Cipher is \(NONE\)' '$tmp/sc.out'"
sclient "$NET.36" mx1.mxoldtls.test
okif "mxoldtls.test: a default client (TLS 1.2+, security level 2) fails (s_client exit $sc_rc)" \
    "$(grep -E 'error|Protocol' "$tmp/sc.out")" test "$sc_rc" != 0
_t=$(now_ms)
/usr/bin/python3 "$MXTOOL" greet --deadline 2 "$NET.37" 2>"$tmp/greet.err"
rc=$?
_el=$(($(now_ms) - _t))
okif "mxsilent.test: no 220 greeting within 2 s (exit $rc after ${_el} ms)" "$(cat "$tmp/greet.err")" \
    test "$rc" = 1 -a "$_el" -ge 2000
okif "mxsilent.test: the TCP connections were accepted (listener log)" "$(cat "$WORLD_DIR/mx/silent.log")" \
    grep -q "^accept " "$WORLD_DIR/mx/silent.log"

# ---- mail is accepted and discarded
got=$(/usr/bin/python3 "$MXTOOL" send "$NET.30" sender@selftest.test u@mxgood.test 2>&1)
okif "mxgood.test: a message is accepted ($got)" "$got" \
    sh -c "printf '%s' '$got' | grep -q '^250 '"
qid=$(printf '%s' "$got" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p')
wait_until 5 grep -q "$qid: to=<u@mxgood.test>, relay=none.*status=sent (world-mx)" "$WORLD_MX_LOG"
okif "mxgood.test: the message is discarded (WORLD_MX_LOG)" "$(tail -n 5 "$WORLD_MX_LOG")" \
    grep -q "$qid: to=<u@mxgood.test>, relay=none.*status=sent (world-mx)" "$WORLD_MX_LOG"

# ---- DNSSEC through the resolver
# rdig NAME TYPE: "STATUS flags" of dig +dnssec against the resolver
rdig() {
    dig +dnssec +time=2 +tries=1 -p 53 "@$WORLD_RESOLVER" "$1" "$2" >"$tmp/dig.out" 2>&1
    _st=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' "$tmp/dig.out")
    _ad=noad
    grep -q '^;; flags:.* ad[ ;]' "$tmp/dig.out" && _ad=ad
    _an=$(sed -n 's/.* ANSWER: \([0-9]*\),.*/\1/p' "$tmp/dig.out")
    echo "$_st $_ad answers=$_an"
}
check_eq "good.dane.test MX: secure (ad)" "NOERROR ad answers=2" "$(rdig good.dane.test MX)"
check_eq "_25._tcp.mx1.good.dane.test TLSA: secure (ad)" "NOERROR ad answers=2" \
    "$(rdig _25._tcp.mx1.good.dane.test TLSA)"
check_eq "_25._tcp.mx1.ta.dane.test TLSA: secure (ad)" "NOERROR ad answers=2" \
    "$(rdig _25._tcp.mx1.ta.dane.test TLSA)"
check_eq "_25._tcp.mx1.notlsa.dane.test TLSA: secure NODATA" "NOERROR ad answers=0" \
    "$(rdig _25._tcp.mx1.notlsa.dane.test TLSA)"
check_eq "_25._tcp.mx1.tlsabogus.dane.test TLSA: bogus (SERVFAIL)" "SERVFAIL noad answers=0" \
    "$(rdig _25._tcp.mx1.tlsabogus.dane.test TLSA)"
check_eq "tlsabogus.dane.test MX: still secure" "NOERROR ad answers=2" "$(rdig tlsabogus.dane.test MX)"
check_eq "bogus.test MX: bogus (SERVFAIL)" "SERVFAIL noad answers=0" "$(rdig bogus.test MX)"
check_eq "mx1.bogus.test A: secure" "NOERROR ad answers=2" "$(rdig mx1.bogus.test A)"
check_eq "mxgood.test MX: insecure (no trust anchor for test.)" "NOERROR noad answers=1" \
    "$(rdig mxgood.test MX)"
check_eq "a name outside the world: NXDOMAIN, answered locally" "NXDOMAIN noad answers=0" \
    "$(rdig example.com A)"
check_eq "nsd itself serves the tampered MX (10 mx1.bogus.test.)" "10 mx1.bogus.test." \
    "$(world_dig bogus.test MX)"
got=$(world_curl mta-sts.good.dane.test /.well-known/mta-sts.txt --max-time 5 | tr '\n' ' ')
check_eq "good.dane.test: enforce policy on nginx" \
    "version: STSv1 mode: enforce mx: mx1.good.dane.test max_age: 86400 " "$got"
check_eq "good.dane.test: _mta-sts TXT (through the resolver)" '"v=STSv1; id=gooddane1"' \
    "$(dig +short +time=2 +tries=1 "@$WORLD_RESOLVER" _mta-sts.good.dane.test TXT)"

# ---- DANE with openssl (RFC 7672 3.1)
# tlsa NAME: the first TLSA record of NAME as "U S M HEX" (through the resolver)
tlsa() {
    dig +short +time=2 +tries=1 "@$WORLD_RESOLVER" "$1" TLSA | head -n 1 |
        awk '{ h = ""; for (i = 4; i <= NF; i++) h = h $i; print $1, $2, $3, h }'
}
# dane ADDR HOST: s_client with the TLSA of HOST, the world CA as the only
# PKIX store (so a PKIX fallback would let badtlsa through).
dane() {
    _rr=$(tlsa "_25._tcp.$2")
    timeout 10 openssl s_client -starttls smtp -connect "$1:25" -servername "$2" -CAfile "$CA" \
        -dane_tlsa_domain "$2" -dane_tlsa_rrdata "$_rr" -verify_return_error \
        </dev/null >"$tmp/sc.out" 2>&1
    sc_rc=$?
}
dane "$NET.40" mx1.good.dane.test
okif "good.dane.test: DANE-EE 3 1 1 authenticates the server (s_client exit $sc_rc)" \
    "$(grep -E 'DANE|Verif|error' "$tmp/sc.out")" \
    sh -c "[ $sc_rc = 0 ] && grep -q 'DANE TLSA 3 1 1 .* matched EE certificate at depth 0' '$tmp/sc.out'"
sclient "$NET.40" mx1.good.dane.test
okif "good.dane.test: PKIX against the world CA fails (the second CA is unknown)" \
    "$(grep -E 'verify error|Verify return' "$tmp/sc.out")" \
    sh -c "[ $sc_rc != 0 ] && grep -q 'verify error:num=20:unable to get local issuer' '$tmp/sc.out'"
dane "$NET.41" mx1.ta.dane.test
okif "ta.dane.test: DANE-TA 2 0 1 authenticates the chain (s_client exit $sc_rc)" \
    "$(grep -E 'DANE|Verif|error' "$tmp/sc.out")" \
    sh -c "[ $sc_rc = 0 ] && grep -q 'DANE TLSA 2 0 1 .* matched TA certificate at depth 1' '$tmp/sc.out'"
dane "$NET.42" mx1.badtlsa.dane.test
okif "badtlsa.dane.test: DANE fails (no matching TLSA) although the certificate is PKIX-valid" \
    "$(grep -E 'DANE|Verif|error' "$tmp/sc.out")" \
    sh -c "[ $sc_rc != 0 ] && grep -q 'verify error:num=65:no matching DANE TLSA records' '$tmp/sc.out'"
sclient "$NET.42" mx1.badtlsa.dane.test
check_eq "badtlsa.dane.test: PKIX alone passes (the control)" "0 ok" "$(vcode)"
for s in notlsa:43 tlsabogus:44; do
    sclient "$NET.${s#*:}" "mx1.${s%%:*}.dane.test"
    check_eq "${s%%:*}.dane.test: world-CA certificate verifies" "0 ok" "$(vcode)"
done
sclient "$NET.45" mx1.bogus.test
check_eq "mx1.bogus.test: world-CA certificate verifies" "0 ok" "$(vcode)"

# ---- world_stop stops everything
pids="$_world_pids $_world_pid_watchdog"
master=$_world_mx_master
all=$(for p in $_world_pids; do pgrep -g "$p"; done; [ -n "$master" ] && pgrep -g "$master")
world_stop
left=
for p in $pids $all; do _world_alive "$p" && left="$left $p"; done
check_eq "world_stop stops the MX Postfix (master $master and children), unbound, the listener" "" "$left"
okif "nothing answers on $NET.30:25 any more" "mxgood still greets" \
    sh -c "! /usr/bin/python3 '$MXTOOL' greet --deadline 0 '$NET.30' 2>/dev/null"

finish
