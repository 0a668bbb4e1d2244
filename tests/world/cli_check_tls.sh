#!/bin/sh
# Guards the per-MX TLS results of "mtasts check" (issue 5, part 5) against
# real SMTP servers of the test world (a private Postfix with STARTTLS on
# loopback) and its DNSSEC-signed zones: RFC 8461 section 4.2 (STARTTLS, TLS
# 1.2 or later, a trusted certificate naming the MX host, not expired), the
# RFC 8460 section 4.3 result types (starttls-not-supported,
# certificate-host-mismatch, certificate-expired, certificate-not-trusted,
# validation-failure, tlsa-invalid, dnssec-invalid), RFC 7672 (DANE-EE and
# DANE-TA authenticate a certificate from an unknown CA; a failing DANE
# result is a failure although MTA-STS alone would pass; a bogus TLSA or MX
# RRset is dnssec-invalid; issue 13: a DANE-only domain without _mta-sts gets
# its MX, DANE and TLS sections, the _smtp._tls record parsed (RFC 8460
# section 3), the override that applies and the socketmap's answer), the version scan (each of TLS 1.0 to 1.3 tried
# with its own handshake, compared with openssl s_client), a silent MX
# costing at most the timeout, --json carrying the same fields, --no-tls,
# --port, and the exit statuses (0 pass, 1 failures, 2 usage).
#
# Usage (from the build directory): MTASTS=milter/mtasts srcdir=SRCDIR \
#   sh SRCDIR/tests/world/cli_check_tls.sh      (WORLD_KEEP=1 keeps the world)

# shellcheck disable=SC2317 # not every helper is used by every script
# shellcheck disable=SC2153 # WORLD_* come from world.sh

GUARD_SECONDS=60
# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"
world_up world_start_mx world_start_dnssec

# Our own validating resolver (libunbound) straight at the world's nsd, with
# the world's trust anchors: test. is unsigned (insecure), dane.test. and
# bogus.test. are signed.  The policies are on loopback: --allow-private.
TIMEOUT=3
NET="--resolver=$WORLD_DNS --ca-file=$WORLD_CA --trust-anchor=$WORLD_TA --allow-private"
NET="$NET --timeout=$TIMEOUT"

# field LABEL: the value of "  LABEL   value" in the last run's sections.
field() { sed -n "s/^  $1  *//p" "$tmp/out" | head -n 1; }
want_field() {
    _v=$(field "$1")
    printf '%s\n' "$_v" | grep -Eq -- "$2" || fail "field '$1': want /$2/, got '$_v'"
}

# accepts_tls ADDR HOST FLAG: does openssl s_client complete a handshake
# with exactly that version (-tls1, -tls1_1, ...)?  The independent oracle
# for the version scan; old versions need OpenSSL security level 0.
accepts_tls() {
    timeout 10 openssl s_client -starttls smtp -connect "$1:25" -servername "$2" "$3" \
        -cipher 'DEFAULT@SECLEVEL=0' </dev/null 2>/dev/null |
        grep -Eq '^ *Protocol *: *TLSv1'
}

# --- mxgood.test: everything right
# shellcheck disable=SC2086
run check $NET mxgood.test
want_rc 0
want_line '^OK   mx: mx1\.mxgood\.test \(preference 10\) matches the policy$'
want_line '^OK   tls: mx1\.mxgood\.test: pass \(TLSv1\.[23], '
want_line '^mx1\.mxgood\.test \(preference 10\)$'
want_field addresses "^$WORLD_NET\\.30 \\(DNSSEC: insecure\\)$"
want_field policy '^permitted \(mx: mx1\.mxgood\.test\)$'
want_field STARTTLS '^offered$'
want_field 'TLS 1\.2' '^accepted$'
want_field 'TLS 1\.3' '^accepted$'
want_field cipher '^TLS_[A-Z0-9_]+ with TLSv1\.3 \(modern\)$'
want_field subject 'CN=mx1\.mxgood\.test'
want_field 'DNS names' '^mx1\.mxgood\.test$'
want_field issuer 'test world CA'
want_field expires '^20[0-9-]+T[0-9:]+Z \([0-9]+ days left\)$'
want_field chain '^trusted$'
want_field 'name match' '^yes$'
want_field DANE '^not applicable'
want_field result '^pass$'
days=$(field expires | sed -n 's/.*(\([0-9]*\) days left)$/\1/p')
not_after=$(field expires | sed 's/ .*//')
[ -n "$days" ] && [ "$days" -gt 0 ] || fail "days to expiry: want > 0, got '$days'"
no_line '^FAIL '
want_line '^verdict: PASS: enforce policy id=mxgood1, 1/1 permitted MX hosts pass TLS checks'
[ "$(tail -n 1 "$tmp/out" | cut -c1-14)" = "verdict: PASS:" ] || fail "the verdict is not last"
ok "check mxgood.test: PASS, STARTTLS, TLS 1.2 and 1.3 accepted, trusted, name match, $days days left"

# The scan against an independent client: each old version is reported as
# openssl s_client finds it (Postfix's defaults still accept TLS 1.0/1.1).
if command -v openssl >/dev/null 2>&1; then
    for v in "1.0 -tls1" "1.1 -tls1_1"; do
        label=${v% *} flag=${v#* }
        if accepts_tls "$WORLD_NET.30" mx1.mxgood.test "$flag"; then want=accepted; else want=refused; fi
        want_field "TLS ${label%.*}\\.${label#*.}" "^$want\$"
        if [ $want = accepted ]; then
            want_line '^WARN tls: mx1\.mxgood\.test also accepts TLS 1\.0 or 1\.1'
        fi
        ok "check mxgood.test: TLS $label $want, as openssl s_client $flag finds"
    done
else
    ok "TLS 1.0 scan against openssl s_client # SKIP openssl not installed"
    ok "TLS 1.1 scan against openssl s_client # SKIP openssl not installed"
fi

# days_left is floor((not_after - now) / 86400) at the moment of the run:
# derived here from the JSON's own not_after_unix and the seconds before
# and after the run, not compared with the text run's figure (the two runs
# may straddle a day boundary: 30 days minus a few seconds is 29).
t0=$(date +%s)
# shellcheck disable=SC2086
run check $NET --json mxgood.test
t1=$(date +%s)
want_rc 0
want_json 'd["result"] == "pass"' 'd["summary"].startswith("PASS: enforce policy id=mxgood1, 1/1 ")' \
    'd["tls_checked"] is True' 'd["mx_dnssec"] == "insecure"' 'len(d["mx"]) == 1' \
    'd["mx"][0]["host"] == "mx1.mxgood.test"' 'd["mx"][0]["covered"] is True' \
    'd["mx"][0]["pattern"] == "mx1.mxgood.test"' \
    "d['mx'][0]['addresses'] == ['$WORLD_NET.30']" 'd["mx"][0]["port"] == 25' \
    'd["mx"][0]["starttls"] is True' \
    'd["mx"][0]["versions"]["TLSv1.2"] == d["mx"][0]["versions"]["TLSv1.3"] == "accepted"' \
    'd["mx"][0]["versions"]["TLSv1.0"] in ("accepted", "refused")' \
    'd["mx"][0]["tls_version"] == "TLSv1.3"' 'd["mx"][0]["cipher_modern"] is True' \
    'd["mx"][0]["cipher"].startswith("TLS_")' \
    'd["mx"][0]["certificate"]["dns_names"] == ["mx1.mxgood.test"]' \
    'd["mx"][0]["certificate"]["chain_trusted"] is True' \
    'd["mx"][0]["certificate"]["name_match"] is True' \
    "d['mx'][0]['certificate']['not_after'] == '$not_after'" \
    "(d['mx'][0]['certificate']['not_after_unix'] - $t1) // 86400 <= d['mx'][0]['certificate']['days_left'] <= (d['mx'][0]['certificate']['not_after_unix'] - $t0) // 86400" \
    'd["mx"][0]["dane"]["status"] == "not-applicable"' \
    'd["mx"][0]["result"] == "pass"' 'any(c["check"] == "tls" for c in d["checks"])'
/usr/bin/python3 -m json.tool "$tmp/out" >/dev/null 2>&1 || fail "python3 -m json.tool refuses it"
ok "check --json mxgood.test: the same fields"

# --- the RFC 8460 failure types, one MX each
# tls_fail DOMAIN TYPE: exit 1, a FAIL line and the verdict naming TYPE on mx1.DOMAIN.
tls_fail() {
    # shellcheck disable=SC2086
    run check $NET "$1"
    want_rc 1
    want_line "^FAIL tls: mx1\\.$(echo "$1" | sed 's/\./\\./g'): $2: "
    want_field result "^$2: "
    want_last "verdict: FAIL: $2 on mx1.$1 (the only permitted MX)"
}

tls_fail mxexpired.test certificate-expired
want_field expires '^20[0-9-]+T[0-9:]+Z \(EXPIRED [0-9]+ days ago\)$'
ok "check mxexpired.test: certificate-expired, negative days"
# shellcheck disable=SC2086
run check $NET --json mxexpired.test
want_rc 1
want_json 'd["result"] == "fail"' 'd["mx"][0]["result"] == "certificate-expired"' \
    'd["mx"][0]["certificate"]["days_left"] < 0' \
    'd["mx"][0]["certificate"]["not_after"].startswith("2020-")' \
    'd["summary"] == "FAIL: certificate-expired on mx1.mxexpired.test (the only permitted MX)"'
ok "check --json mxexpired.test: days_left < 0"

tls_fail mxwrongname.test certificate-host-mismatch
want_field 'name match' '^NO'
want_field 'DNS names' '^mx1\.other\.test$'
ok "check mxwrongname.test: certificate-host-mismatch"
# shellcheck disable=SC2086
run check $NET --json mxwrongname.test
want_json 'd["mx"][0]["certificate"]["name_match"] is False' \
    'd["mx"][0]["certificate"]["chain_trusted"] is True' \
    'd["mx"][0]["result"] == "certificate-host-mismatch"'
ok "check --json mxwrongname.test: name_match false"

tls_fail mxselfsigned.test certificate-not-trusted
want_field chain '^NOT trusted$'
ok "check mxselfsigned.test: certificate-not-trusted"

tls_fail mxnotls.test starttls-not-supported
want_field STARTTLS '^NOT offered$'
want_field 'TLS 1\.2' '^not tested$'
no_line '^  cipher '
ok "check mxnotls.test: starttls-not-supported"
# shellcheck disable=SC2086
run check $NET --json mxnotls.test
want_json 'd["mx"][0]["starttls"] is False' 'd["mx"][0]["certificate"] is None' \
    'set(d["mx"][0]["versions"].values()) == {"untested"}' 'd["mx"][0]["cipher"] is None'
ok "check --json mxnotls.test: starttls false, nothing scanned"

tls_fail mxoldtls.test validation-failure
want_field 'TLS 1\.0' '^accepted$'
want_field 'TLS 1\.1' '^accepted$'
want_field 'TLS 1\.2' '^refused$'
want_field 'TLS 1\.3' '^refused$'
want_field subject 'CN=mx1\.mxoldtls\.test'
ok "check mxoldtls.test: TLS 1.0/1.1 accepted, 1.2/1.3 refused, validation-failure"
# shellcheck disable=SC2086
run check $NET --json mxoldtls.test
want_json 'd["mx"][0]["versions"] == {"TLSv1.0": "accepted", "TLSv1.1": "accepted", "TLSv1.2": "refused", "TLSv1.3": "refused"}' \
    'd["mx"][0]["tls_version"] is None' 'd["mx"][0]["certificate"]["seen_with"] == "TLSv1.1"'
ok "check --json mxoldtls.test: the versions object"

# --- a silent MX: unreachable, and the whole check within a bound
t0=$(date +%s)
# shellcheck disable=SC2086
run check $NET mxsilent.test
t1=$(date +%s)
want_rc 1
want_line '^WARN tls: mx1\.mxsilent\.test: unreachable: '
want_line '^FAIL tls: no permitted MX host could be reached'
want_field result '^unreachable: '
want_field 'TLS 1\.2' '^not tested$'
want_last "verdict: FAIL: unreachable: no permitted MX host could be reached"
[ $((t1 - t0)) -le $((TIMEOUT + 4)) ] ||
    fail "took $((t1 - t0)) s: want at most $((TIMEOUT + 4)) (probe timeout $TIMEOUT s)"
ok "check mxsilent.test: unreachable after the timeout, done in $((t1 - t0)) s"

# --- DANE (RFC 7672) in the signed zone dane.test.
# shellcheck disable=SC2086
run check $NET good.dane.test
want_rc 0
want_line '^OK   tls: mx1\.good\.dane\.test: pass by DANE \(DANE-EE\)'
want_field addresses '\(DNSSEC: secure\)$'
want_field chain '^NOT trusted$'
want_field DANE '^1 usable TLSA record at _25\._tcp\.mx1\.good\.dane\.test \(secure\)$'
want_field TLSA '^3 1 1 [0-9a-f]+'
want_field 'DANE probe' '^pass: matched a DANE-EE\(3\) record$'
want_field result '^pass \(DANE\)$'
want_line '^MX hosts of good\.dane\.test, by preference \(MX records: DNSSEC secure\)$'
want_line '^verdict: PASS: enforce policy id=gooddane1, 1/1 permitted MX hosts pass'
ok "check good.dane.test: DANE-EE pass although the CA is unknown"
# shellcheck disable=SC2086
run check $NET --json good.dane.test
want_rc 0
want_json 'd["mx_dnssec"] == "secure"' 'd["mx"][0]["dane"]["status"] == "usable"' \
    'd["mx"][0]["dane"]["dnssec"] == "secure"' 'd["mx"][0]["dane"]["result"] == "pass"' \
    'd["mx"][0]["dane"]["matched_usage"] == 3' \
    'd["mx"][0]["dane"]["records"][0]["usage"] == 3' \
    'len(d["mx"][0]["dane"]["records"][0]["data"]) == 64' \
    'd["mx"][0]["certificate"]["chain_trusted"] is False' 'd["mx"][0]["result"] == "pass"'
ok "check --json good.dane.test: dane usable, matched usage 3, chain not trusted"

# shellcheck disable=SC2086
run check $NET ta.dane.test
want_rc 0
want_field 'DANE probe' '^pass: matched a DANE-TA\(2\) record$'
ok "check ta.dane.test: DANE-TA pass"

# badtlsa: the certificate is WebPKI-valid and the policy lists the MX, but
# DANE governs and fails.
tls_fail badtlsa.dane.test tlsa-invalid
want_field chain '^trusted$'
want_field 'name match' '^yes$'
ok "check badtlsa.dane.test: tlsa-invalid although MTA-STS alone would pass"

# shellcheck disable=SC2086
run check $NET notlsa.dane.test
want_rc 0
want_field DANE '^none: no TLSA records at _25\._tcp\.mx1\.notlsa\.dane\.test \(secure\)$'
want_field result '^pass$'
ok "check notlsa.dane.test: no TLSA (secure NODATA), MTA-STS pass"

tls_fail tlsabogus.dane.test dnssec-invalid
want_field DANE 'DNSSEC-bogus: '
ok "check tlsabogus.dane.test: a bogus TLSA RRset is dnssec-invalid"
# shellcheck disable=SC2086
run check $NET --json tlsabogus.dane.test
want_json 'd["mx"][0]["dane"]["status"] == "bogus"' 'd["mx"][0]["result"] == "dnssec-invalid"'
ok "check --json tlsabogus.dane.test: dane bogus"

# bogus.test: the MX RRset itself is bogus.
# shellcheck disable=SC2086
run check $NET bogus.test
want_rc 1
want_line '^FAIL mx: dnssec-invalid: DNSSEC validation of bogus\.test failed'
want_last "verdict: FAIL: dnssec-invalid: the MX records of bogus.test fail DNSSEC validation"
ok "check bogus.test: dnssec-invalid"
# shellcheck disable=SC2086
run check $NET --json bogus.test
want_rc 1
want_json 'd["mx_dnssec"] == "bogus"' 'd["mx"] == []' 'd["result"] == "fail"' \
    '"dnssec-invalid" in d["summary"]'
ok "check --json bogus.test: mx_dnssec bogus"

# --- DANE-only destinations, no _mta-sts (RFC 7672; issue 13 item 5)
# shellcheck disable=SC2086
run check $NET daneonly.dane.test
want_rc 0
want_line '^WARN txt: .*DANE protects every MX host'
want_line '^OK   mx: mx1\.good\.dane\.test \(preference 10\), MX records DNSSEC secure$'
want_line '^OK   tls: mx1\.good\.dane\.test: pass by DANE \(DANE-EE\)'
want_field DANE '^1 usable TLSA record at _25\._tcp\.mx1\.good\.dane\.test \(secure\)$'
want_field 'DANE probe' '^pass: matched a DANE-EE\(3\) record$'
want_field SNI '^mx1\.good\.dane\.test \(the TLSA base name\)$'
want_field addresses "^$WORLD_NET\\.40 \\(DNSSEC: secure\\)$"
want_line '^OK   tlsrpt: _smtp\._tls\.daneonly\.dane\.test: reports go to mailto:tlsrpt@daneonly\.dane\.test, https://reports\.daneonly\.dane\.test/v1$'
want_line '^OK   delivery: .* is told "OK dane-only"$'
want_field policy '^none \(no MTA-STS policy'
want_line '^verdict: PASS: no MTA-STS policy, DANE for 1/1 MX hosts, 1/1 pass TLS checks'
ok "check daneonly.dane.test: no _mta-sts, full DANE and TLS section, TLS-RPT parsed, dane-only"
# shellcheck disable=SC2086
run check $NET --json daneonly.dane.test
want_rc 0
want_json 'd["tls_checked"] is True' 'd["mx"][0]["dane"]["status"] == "usable"' \
    'd["mx"][0]["dane"]["result"] == "pass"' 'd["policy"] is None' \
    'd["delivery"] == "OK dane-only"' 'd["mx"][0]["dane"]["sni"] == "mx1.good.dane.test"' \
    'd["tlsrpt_rua"] == "mailto:tlsrpt@daneonly.dane.test, https://reports.daneonly.dane.test/v1"' \
    'd["summary"].startswith("PASS: no MTA-STS policy, DANE for 1/1")'
ok "check --json daneonly.dane.test: the same facts"
# shellcheck disable=SC2086
run check $NET danenotls.dane.test
want_rc 1
want_line '^WARN txt: '
want_line '^FAIL tls: mx1\.danenotls\.dane\.test: starttls-not-supported: '
want_last 'verdict: FAIL: starttls-not-supported on mx1.danenotls.dane.test (the only permitted MX)'
ok "check danenotls.dane.test: secure TLSA on a host without STARTTLS fails"
# shellcheck disable=SC2086
run check $NET plain.dane.test
want_rc 1
want_line '^FAIL txt: '
want_field DANE '^none: no TLSA records at _25\._tcp\.mx1\.notlsa\.dane\.test \(secure\)$'
want_line '^OK   delivery: .* is told "NOTFOUND "$'
ok "check plain.dane.test: no MTA-STS, no DANE: said, NOTFOUND"
# the override that applies (mtasts-milter.conf OverridesFile, -c)
printf 'plain.dane.test verify\n.dane.test encrypt\n' >"$tmp/overrides"
printf 'OverridesFile %s\n' "$tmp/overrides" >"$tmp/milter.conf"
# shellcheck disable=SC2086
run check -c "$tmp/milter.conf" $NET plain.dane.test
want_line "^OK   override: $tmp/overrides line 1: plain\\.dane\\.test verify "
want_line '^OK   delivery: .* is told "OK verify match=hostname"$'
ok "check plain.dane.test with an override: the level and its socketmap answer"
# shellcheck disable=SC2086
run check -c "$tmp/milter.conf" $NET --json notlsa.dane.test
want_json 'd["override"] == "encrypt"' 'd["delivery"] == "OK encrypt protocols=>=TLSv1.2"'
ok "check --json notlsa.dane.test: the .dane.test subdomain override applies"

# Without validation there is no DANE: good.dane.test's certificate from an
# unknown CA is then just not trusted.
# shellcheck disable=SC2086
run check $NET --trust-anchor=none good.dane.test
want_rc 1
want_field DANE '^not applicable'
want_last "verdict: FAIL: certificate-not-trusted on mx1.good.dane.test (the only permitted MX)"
ok "check --trust-anchor=none good.dane.test: no DNSSEC, no DANE"

# --- --no-tls, --port
t0=$(date +%s)
# shellcheck disable=SC2086
run check $NET --no-tls mxsilent.test
t1=$(date +%s)
want_rc 0
no_line '^(OK|WARN|FAIL) +tls:'
no_line '^  result'
want_last "verdict: PASS: enforce policy id=mxsilent1, 1/1 MX hosts permitted (TLS not checked: --no-tls)"
[ $((t1 - t0)) -lt "$TIMEOUT" ] || fail "--no-tls took $((t1 - t0)) s"
ok "check --no-tls mxsilent.test: no probe, PASS"
# shellcheck disable=SC2086
run check $NET --no-tls --json mxgood.test
want_json 'd["tls_checked"] is False' \
    'd["mx"] == [{"host": "mx1.mxgood.test", "preference": 10, "covered": True}]'
ok "check --no-tls --json: the MX objects without TLS fields"

# Nothing listens on port 2526 of the MX address: unreachable, on that port.
# shellcheck disable=SC2086
run check $NET --port 2526 mxgood.test
want_rc 1
want_field probed "^$WORLD_NET\\.30 port 2526, "
want_field result '^unreachable: '
ok "check --port 2526: the probes go to that port"

want_usage "check --port 0" check --port 0 mxgood.test
want_usage "check --port 65536" check --port=65536 mxgood.test
want_usage "check --port not a number" check --port x25 mxgood.test
want_usage "check --port without a value" check mxgood.test --port
want_usage "check --no-tls=yes" check --no-tls=yes mxgood.test
want_usage "fetch --no-tls (a check option)" fetch --no-tls mxgood.test

finish
