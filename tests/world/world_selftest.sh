#!/bin/sh
# Self-test of the local test world (tests/world/world.sh): starts it and
# checks with dig, curl and openssl s_client that every scenario of the
# contract (/tmp/world-api.md) behaves as specified -- DNS records, good and
# bad certificates (RFC 8461 section 3.3: the policy host must present a
# valid PKIX certificate for mta-sts.<domain>), redirects, status codes and
# media types, the pathological bodies and delays, world_set_txt,
# world_set_policy, world_fetch_count -- and that two worlds run side by
# side and that nothing outlives a killed test.
#
# Usage: srcdir=/path/to/source sh tests/world/world_selftest.sh   (as root)

# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
if [ ! -f "$srcdir/tests/world/world.sh" ]; then
    echo "Bail out! srcdir ($srcdir) has no tests/world/world.sh"
    exit 99
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# dig status (NOERROR, NXDOMAIN, ...) of NAME TYPE
dstatus() {
    dig +norec +time=2 +tries=1 -p 53 "@$WORLD_NS_ADDR" "$1" "$2" 2>/dev/null |
        sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
# https HOST PATH [CURL-ARGS]: prints "code|content-type|exit" and leaves the
# body in $tmp/body, the headers in $tmp/hdr.
https() {
    _h=$1 _p=$2
    shift 2
    _w=$(world_curl "$_h" "$_p" --max-time 5 -D "$tmp/hdr" -o "$tmp/body" \
        -w '%{http_code}|%{content_type}' "$@" 2>"$tmp/curl.err")
    echo "$_w|$?"
}
# verify HOST: "Verify return code" number of openssl s_client against the
# world CA, with host name checking.
verify() {
    timeout 10 openssl s_client -connect "$WORLD_HTTPS_ADDR:443" -servername "$1" \
        -CAfile "$WORLD_CA" -verify_hostname "$1" </dev/null 2>/dev/null |
        sed -n 's/^ *Verify return code: \([0-9]*\).*/\1/p' | head -n 1
}
policy() { printf 'version: STSv1\nmode: %s\nmx: %s\nmax_age: 86400\n' "$1" "$2"; }

# ---- start
t0=$(now)
world_up
t1=$(now)
echo "# world_start took $(elapsed "$t0" "$t1") s (slot $WORLD_NET.0/24, $WORLD_DIR)"
check_eq "world_start takes under 5 s" 1 "$(awk -v e="$(elapsed "$t0" "$t1")" 'BEGIN { print (e < 5) }')"

why=
[ -d "$WORLD_DIR" ] || why="$why WORLD_DIR"
grep -q 'BEGIN CERTIFICATE' "$WORLD_CA" 2>/dev/null || why="$why WORLD_CA"
case $WORLD_DNS in 127.*@53) ;; *) why="$why WORLD_DNS=$WORLD_DNS" ;; esac
[ "$WORLD_HTTPS_PORT" = 443 ] || why="$why WORLD_HTTPS_PORT=$WORLD_HTTPS_PORT"
case $WORLD_NGINX_LOG in "$WORLD_DIR"/*) ;; *) why="$why WORLD_NGINX_LOG=$WORLD_NGINX_LOG" ;; esac
[ -s "$WORLD_DIR/nginx/nginx.pid" ] || why="$why nginx.pid"
[ -s "$WORLD_DIR/nsd/nsd.pid" ] || why="$why nsd.pid"
check_eq "exports WORLD_DIR, WORLD_DNS, WORLD_CA, WORLD_HTTPS_PORT, WORLD_NGINX_LOG; pid files in WORLD_DIR" "" "$why"

# ---- DNS
check_eq "good.test MX 10 mx1.good.test" "10 mx1.good.test." "$(world_dig good.test MX)"
check_eq "_mta-sts.good.test TXT" '"v=STSv1; id=good1"' "$(world_dig _mta-sts.good.test TXT)"
why=
for d in good testing none charset nopolicy twotxt badtxt wrongname expired selfsigned redirect \
    notfound mediatype slow stall chunked bigbody invalid mismatch loopback private v6mapped; do
    got=$(world_dig "$d.test" MX)
    [ "$got" = "10 mx1.$d.test." ] || why="$why $d.test:MX=[$got]"
done
for d in good testing none charset nopolicy twotxt badtxt wrongname expired selfsigned redirect \
    notfound mediatype slow stall chunked bigbody invalid mismatch loopback private v6mapped nomx; do
    got=$(world_dig "mx1.$d.test" A)
    [ "$got" = "$WORLD_MX_ADDR" ] || why="$why mx1.$d.test:A=[$got]"
done
check_eq "every scenario domain has MX 10 mx1.<d> and mx1.<d> A on loopback" "" "$why"
why=
for d in good testing none charset nopolicy twotxt badtxt wrongname expired selfsigned redirect \
    notfound mediatype slow stall chunked bigbody invalid mismatch nomx; do
    got=$(world_dig "mta-sts.$d.test" A)
    [ "$got" = "$WORLD_HTTPS_ADDR" ] || why="$why mta-sts.$d.test:A=[$got]"
done
check_eq "mta-sts.<d> A is nginx's address" "" "$why"
why=
for d in good testing none charset wrongname expired selfsigned redirect notfound mediatype \
    slow stall chunked bigbody invalid mismatch loopback private v6mapped nomx; do
    got=$(world_dig "_mta-sts.$d.test" TXT)
    [ "$got" = "\"v=STSv1; id=${d}1\"" ] || why="$why $d:[$got]"
done
check_eq "every other scenario domain has one v=STSv1 TXT" "" "$why"
check_eq "nopolicy.test: no _mta-sts TXT (NXDOMAIN), MX present" \
    "NXDOMAIN||10 mx1.nopolicy.test." \
    "$(dstatus _mta-sts.nopolicy.test TXT)|$(world_dig _mta-sts.nopolicy.test TXT)|$(world_dig nopolicy.test MX)"
check_eq "nosuch.test is NXDOMAIN" "NXDOMAIN" "$(dstatus nosuch.test MX)"
check_eq "twotxt.test has two v=STSv1 TXT records" \
    "$(printf '"v=STSv1; id=twotxt1"\n"v=STSv1; id=twotxt2"')" \
    "$(world_dig _mta-sts.twotxt.test TXT | sort)"
check_eq "badtxt.test has one invalid record" '"v=STSv1; id=bad_id!"' "$(world_dig _mta-sts.badtxt.test TXT)"
check_eq "nomx.test: no MX (NOERROR, no data)" "NOERROR|" "$(dstatus nomx.test MX)|$(world_dig nomx.test MX)"
check_eq "private.test: mta-sts A 10.255.255.1" "10.255.255.1" "$(world_dig mta-sts.private.test A)"
check_eq "v6mapped.test: mta-sts AAAA ::ffff:10.255.255.1 only" "::ffff:10.255.255.1|" \
    "$(world_dig mta-sts.v6mapped.test AAAA)|$(world_dig mta-sts.v6mapped.test A)"
la=$(world_dig mta-sts.loopback.test A)
case $la in
127.*)
    if [ "$la" != "$WORLD_HTTPS_ADDR" ]; then
        ok "loopback.test: mta-sts on a loopback address of its own ($la)"
    else
        nok "loopback.test: mta-sts on a loopback address of its own" "got: $la"
    fi
    ;;
*) nok "loopback.test: mta-sts on a loopback address" "got: $la" ;;
esac

# ---- HTTPS: policies and media types
check_eq "good.test: 200 text/plain" "200|text/plain|0" "$(https mta-sts.good.test /.well-known/mta-sts.txt)"
check_eq "good.test: the policy (enforce, mx1.good.test, max_age 86400)" \
    "$(policy enforce mx1.good.test)" "$(cat "$tmp/body")"
https mta-sts.testing.test /.well-known/mta-sts.txt >/dev/null
check_eq "testing.test: mode testing" "$(policy testing mx1.testing.test)" "$(cat "$tmp/body")"
https mta-sts.none.test /.well-known/mta-sts.txt >/dev/null
check_eq "none.test: mode none" "$(policy none mx1.none.test)" "$(cat "$tmp/body")"
check_eq "charset.test: text/plain; charset=utf-8" "200|text/plain; charset=utf-8|0" \
    "$(https mta-sts.charset.test /.well-known/mta-sts.txt)"
https mta-sts.mismatch.test /.well-known/mta-sts.txt >/dev/null
check_eq "mismatch.test: policy mx *.elsewhere.test" "$(policy enforce '*.elsewhere.test')" "$(cat "$tmp/body")"
https mta-sts.nomx.test /.well-known/mta-sts.txt >/dev/null
check_eq "nomx.test: policy enforce" "$(policy enforce mx1.nomx.test)" "$(cat "$tmp/body")"
got=$(https mta-sts.loopback.test /.well-known/mta-sts.txt)
check_eq "loopback.test: good policy on its own address" "200|text/plain|0|$(policy enforce mx1.loopback.test)" \
    "$got|$(cat "$tmp/body")"
got=$(https mta-sts.redirect.test /.well-known/mta-sts.txt)
check_eq "redirect.test: 302 to https://mta-sts.good.test/.well-known/mta-sts.txt" \
    "302|location: https://mta-sts.good.test/.well-known/mta-sts.txt" \
    "${got%%|*}|$(tr -d '\r' <"$tmp/hdr" | grep -i '^location:' | tr '[:upper:]' '[:lower:]')"
got=$(https mta-sts.notfound.test /.well-known/mta-sts.txt)
check_eq "notfound.test: 404" "404" "${got%%|*}"
check_eq "mediatype.test: 200 text/html" "200|text/html|0" "$(https mta-sts.mediatype.test /.well-known/mta-sts.txt)"
got=$(https mta-sts.invalid.test /.well-known/mta-sts.txt)
case $(head -n 1 "$tmp/body") in
"version: STSv1") nok "invalid.test: 200 text/plain, not a policy" "body starts with version: STSv1" ;;
*) check_eq "invalid.test: 200 text/plain, not a policy" "200|text/plain|0" "$got" ;;
esac
got=$(https mta-sts.bigbody.test /.well-known/mta-sts.txt)
check_eq "bigbody.test: 200 text/plain, Content-Length 100000, 100000 bytes" \
    "200|text/plain|0|content-length: 100000|100000" \
    "$got|$(tr -d '\r' <"$tmp/hdr" | grep -i '^content-length:' | tr '[:upper:]' '[:lower:]')|$(wc -c <"$tmp/body" | tr -d ' ')"

# ---- HTTPS: certificates
check_eq "good.test: certificate verifies (s_client code 0)" 0 "$(verify mta-sts.good.test)"
got=$(https mta-sts.wrongname.test /.well-known/mta-sts.txt)
check_eq "wrongname.test: curl fails verification (exit 60)" 60 "${got##*|}"
check_eq "wrongname.test: hostname mismatch (s_client code 62)" 62 "$(verify mta-sts.wrongname.test)"
subj=$(timeout 10 openssl s_client -connect "$WORLD_HTTPS_ADDR:443" -servername mta-sts.wrongname.test \
    </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName 2>/dev/null | grep DNS | tr -d ' ')
check_eq "wrongname.test: the certificate is for mta-sts.other.test" "DNS:mta-sts.other.test" "$subj"
got=$(https mta-sts.wrongname.test /.well-known/mta-sts.txt -k)
check_eq "wrongname.test: with -k the policy is there (only the name is wrong)" "200|text/plain|0" "$got"
got=$(https mta-sts.expired.test /.well-known/mta-sts.txt)
check_eq "expired.test: curl fails verification (exit 60)" 60 "${got##*|}"
check_eq "expired.test: certificate has expired (s_client code 10)" 10 "$(verify mta-sts.expired.test)"
got=$(https mta-sts.selfsigned.test /.well-known/mta-sts.txt)
check_eq "selfsigned.test: curl fails verification (exit 60)" 60 "${got##*|}"
check_eq "selfsigned.test: self-signed certificate (s_client code 18)" 18 "$(verify mta-sts.selfsigned.test)"
got=$(curl -q -s --noproxy '*' --max-time 5 --cacert "$WORLD_CA" \
    --resolve "mta-sts.nosuch.test:443:$WORLD_HTTPS_ADDR" -o /dev/null \
    https://mta-sts.nosuch.test/.well-known/mta-sts.txt)
check_eq "an unknown name (SNI) is refused in the handshake (curl exit 35)" 35 "$?"

# ---- HTTPS: pathological upstream
got=$(world_curl mta-sts.chunked.test /.well-known/mta-sts.txt --max-time 10 -D "$tmp/hdr" 2>/dev/null |
    head -c 70000 | wc -c | tr -d ' ')
check_eq "chunked.test: the body goes on past 64 KiB (read 70000 bytes)" 70000 "$got"
check_eq "chunked.test: 200 text/plain, Transfer-Encoding: chunked, no Content-Length" \
    "http/1.1 200 ok|content-type: text/plain|transfer-encoding: chunked|" \
    "$(tr -d '\r' <"$tmp/hdr" | tr '[:upper:]' '[:lower:]' | head -n 1)|$(tr -d '\r' <"$tmp/hdr" | tr '[:upper:]' '[:lower:]' |
        grep '^content-type:')|$(tr -d '\r' <"$tmp/hdr" | tr '[:upper:]' '[:lower:]' |
        grep '^transfer-encoding:')|$(grep -i '^content-length:' "$tmp/hdr")"
got=$(world_curl mta-sts.chunked.test /.well-known/mta-sts.txt --max-filesize 65536 --max-time 1 \
    -o /dev/null -w '%{size_download}' 2>/dev/null)
rc=$?
if [ "$rc" = 28 ] && [ "${got:-0}" -gt 65536 ]; then
    ok "chunked.test: curl --max-filesize 65536 does not stop it ($got bytes in 1 s, then curl exit 28)"
else
    nok "chunked.test: curl --max-filesize 65536 does not stop it" "got $got bytes, curl exit $rc"
fi
t0=$(now)
got=$(https mta-sts.slow.test /.well-known/mta-sts.txt --max-time 2)
t1=$(now)
check_eq "slow.test: no answer within 2 s (curl exit 28 after $(elapsed "$t0" "$t1") s)" "000||28" "$got"
check_eq "stall.test: TLS handshake completes (s_client code 0)" 0 "$(verify mta-sts.stall.test)"
t0=$(now)
got=$(https mta-sts.stall.test /.well-known/mta-sts.txt --max-time 2)
t1=$(now)
check_eq "stall.test: no response within 2 s (curl exit 28 after $(elapsed "$t0" "$t1") s)" "000||28|0" \
    "$got|$(wc -c <"$tmp/hdr" | tr -d ' ')"

# ---- world_set_txt
world_set_txt good.test "v=STSv1; id=changed2"
check_eq "world_set_txt: a new record is visible to dig at once" "0|\"v=STSv1; id=changed2\"" \
    "$?|$(world_dig _mta-sts.good.test TXT)"
long=$(printf '%0300d' 0 | tr 0 a)
world_set_txt good.test "v=STSv1; id=x1" "$long" 'quote " and backslash \ here'
rc=$?
got=$(world_dig _mta-sts.good.test TXT | sed 's/" "//g' | sort)
want=$(printf '"%s"\n"quote \\" and backslash \\\\ here"\n"v=STSv1; id=x1"' "$long")
check_eq "world_set_txt: several records, one over 255 bytes, quotes and backslashes" "0|$want" "$rc|$got"
world_set_txt good.test
check_eq "world_set_txt DOMAIN: deletes the RRset" "0|NXDOMAIN|" \
    "$?|$(dstatus _mta-sts.good.test TXT)|$(world_dig _mta-sts.good.test TXT)"
world_set_txt nopolicy.test "v=STSv1; id=now1"
check_eq "world_set_txt: adds a TXT where there was none" "0|\"v=STSv1; id=now1\"" \
    "$?|$(world_dig _mta-sts.nopolicy.test TXT)"
world_set_txt nopolicy.test
world_set_txt good.test "v=STSv1; id=good1"
check_eq "world_set_txt: restore" "0|\"v=STSv1; id=good1\"|" \
    "$?|$(world_dig _mta-sts.good.test TXT)|$(world_dig _mta-sts.nopolicy.test TXT)"
world_set_txt example.com "v=STSv1; id=x" 2>/dev/null
rc=$?
okif "world_set_txt: a domain outside test. is refused" "status $rc" [ $rc -ne 0 ]

# ---- world_set_policy and world_fetch_count
c0=$(world_fetch_count good.test)
ct0=$(world_fetch_count testing.test)
policy testing 'mx1.good.test' >"$tmp/p.txt"
printf 'mx: mx2.good.test\n' >>"$tmp/p.txt"
world_set_policy good.test "$tmp/p.txt"
rc=$?
https mta-sts.good.test /.well-known/mta-sts.txt >/dev/null
check_eq "world_set_policy: the new file is served at once" "0|$(cat "$tmp/p.txt")" "$rc|$(cat "$tmp/body")"
https mta-sts.good.test /.well-known/mta-sts.txt >/dev/null
https mta-sts.good.test /.well-known/mta-sts.txt >/dev/null
https mta-sts.good.test /.well-known/mta-sts.txt -I >/dev/null
https mta-sts.good.test /.well-known/other.txt >/dev/null
https mta-sts.testing.test /.well-known/mta-sts.txt >/dev/null
https mta-sts.good.test '/.well-known/mta-sts.txt?x=1' >/dev/null
c1=$(world_fetch_count good.test)
ct1=$(world_fetch_count testing.test)
check_eq "world_fetch_count: counts GETs of /.well-known/mta-sts.txt for that host only" "4|1|0" \
    "$((c1 - c0))|$((ct1 - ct0))|$(world_fetch_count nosuch.test)"
check_eq "world_fetch_count: the readiness probe is not logged" "0" "$(grep -c world-ready "$WORLD_NGINX_LOG")"
policy enforce mx1.good.test >"$tmp/p.txt"
world_set_policy GOOD.test. "$tmp/p.txt"
https mta-sts.good.test /.well-known/mta-sts.txt >/dev/null
check_eq "world_set_policy: case and trailing dot do not matter; restore" "$(policy enforce mx1.good.test)" \
    "$(cat "$tmp/body")"
world_set_policy redirect.test "$tmp/p.txt" 2>/dev/null
rc=$?
okif "world_set_policy: refused where no policy file is served (redirect.test)" "status $rc" [ $rc -ne 0 ]

# ---- a second world at the same time (parallel make check), with a short
# slow.test so that the slow answer itself can be checked.
cat >"$tmp/second.sh" <<'EOF'
. "$srcdir/tests/world/world.sh"
trap world_stop EXIT
WORLD_SLOW_SECONDS=3 world_start || exit 1
echo "net=$WORLD_NET"
echo "mx=$(world_dig good.test MX)"
t0=$(date +%s)
echo "slow=$(world_curl mta-sts.slow.test /.well-known/mta-sts.txt --max-time 10 -w '|%{http_code}' | tr '\n' ' ')"
echo "waited=$(($(date +%s) - t0))"
EOF
srcdir=$srcdir sh "$tmp/second.sh" >"$tmp/second.out" 2>"$tmp/second.err"
rc=$?
net2=$(sed -n 's/^net=//p' "$tmp/second.out")
if [ $rc -eq 0 ] && [ -n "$net2" ] && [ "$net2" != "$WORLD_NET" ]; then
    ok "a second world runs at the same time on other addresses ($net2.0/24)"
else
    nok "a second world runs at the same time on other addresses" "status $rc" \
        "$(cat "$tmp/second.out" "$tmp/second.err")"
fi
check_eq "second world: its DNS answers" "mx=10 mx1.good.test." "$(grep '^mx=' "$tmp/second.out")"
check_eq "slow.test: answers 200 with the policy after the delay (WORLD_SLOW_SECONDS=3)" \
    "slow=version: STSv1 mode: enforce mx: mx1.slow.test max_age: 86400 |200" \
    "$(grep '^slow=' "$tmp/second.out")"
w=$(sed -n 's/^waited=//p' "$tmp/second.out")
okif "slow.test: the delay was there (${w:-?} s)" "waited ${w:-?} s" [ "${w:-0}" -ge 2 ]

# ---- a test that dies without world_stop leaves nothing behind for long
cat >"$tmp/killed.sh" <<'EOF'
. "$srcdir/tests/world/world.sh"
world_start || exit 1
echo "$WORLD_DIR" >"$1/killed.dir"
echo "$_world_pids $_world_pid_watchdog" >"$1/killed.pids"
for p in $_world_pids; do pgrep -g "$p"; done >"$1/killed.all"
kill -KILL $$
EOF
srcdir=$srcdir sh "$tmp/killed.sh" "$tmp" >/dev/null 2>&1
# killed_gone: every process of the killed world gone (in $left what is
# not), its directory removed.
killed_gone() {
    left=
    # shellcheck disable=SC2013 # PIDs, separated by blanks and newlines
    for p in $(cat "$tmp/killed.pids" "$tmp/killed.all" 2>/dev/null); do
        _world_alive "$p" && left="$left $p"
    done
    [ -z "$left" ] && [ ! -d "$(cat "$tmp/killed.dir")" ]
}
t0=$(now)
wait_until 15 killed_gone
t1=$(now)
if [ -s "$tmp/killed.pids" ] && [ -z "$left" ] && [ ! -d "$(cat "$tmp/killed.dir")" ]; then
    ok "a world whose script is killed (SIGKILL) is stopped by its watchdog ($(elapsed "$t0" "$t1") s)"
else
    nok "a world whose script is killed (SIGKILL) is stopped by its watchdog" "left:$left" \
        "dir: $(cat "$tmp/killed.dir" 2>/dev/null)"
fi

# ---- world_stop
pids="$_world_pids $_world_pid_watchdog"
all=$(for p in $_world_pids; do pgrep -g "$p"; done)
dir=$WORLD_DIR
ns=$WORLD_NS_ADDR
world_stop
rc=$?
left=
for p in $pids $all; do _world_alive "$p" && left="$left $p"; done
check_eq "world_stop: every process gone, WORLD_DIR removed, DNS silent" "0|||" \
    "$rc|$left|$( [ -d "$dir" ] && echo "$dir")|$(dig +short +time=1 +tries=1 -p 53 "@$ns" good.test MX | grep -v '^;')"
world_stop
check_eq "world_stop: a second call is a no-op" 0 "$?"

finish
