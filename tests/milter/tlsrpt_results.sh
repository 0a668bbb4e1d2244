#!/bin/sh
# tlsrpt_results.sh - TLS-RPT results counted by the milter (issue 14
# item 2, mtasts-milter.conf(5) TLS REPORTING), against the test world's
# real DNS, HTTPS policy hosts and STARTTLS MX servers:
#   RFC 8460 §4.3.3  a transaction whose policy discovery failed counts one
#                    failed session of that domain (sts-policy-fetch-error
#                    for an HTTP 404, sts-webpki-invalid for an expired
#                    policy-host certificate), once however many of its
#                    recipients the transaction has;
#   RFC 8460 §4.3    each STARTTLS probe is one session of the policy it
#                    checked: sts (pass; certificate-expired with the MX
#                    host and address), tlsa (a DANE pass);
#   no reports about reports: a transaction from TLSRPTSender counts nothing;
#   the counts reach the store (flushed at stop), add up across restarts,
#   and `mtasts report show|build` reads them: build writes the RFC 8460
#   §5.1 file names, the gzip holds the same report, and the JSON passes
#   our RFC 8460 §4 schema (python3-jsonschema).
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
# shellcheck source=tests/milter/session.sh
. "$srcdir/tests/milter/session.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin MILTC tests/milter/miltc
need_bin MTASTS milter/mtasts
need_tools python3
world_up world_start_mx world_start_dnssec
dir=$tmp
sock=$dir/milter.sock
log=$dir/milter.log
cat >"$dir/milter.conf" <<EOF
Socket unix:$sock
Mode enforce
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
TrustAnchorFile $WORLD_TA
CAFile $WORLD_CA
AllowPrivateTargets yes
LookupDeadline 5s
ProbeTimeout 3s
HeloName client.test
Syslog no
LogFile $log
LogLevel debug
TLSRPT yes
TLSRPTSender tlsrpt-noreply@example.net
TLSRPTOrganization Example Net Mail
TLSRPTContact tlsrpt@example.net
EOF

start() {
    milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
        sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
        bail "the milter did not open $sock"
    }
}
rcpt() { printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=%s\nrcpt <%s@%s>\n' "$1" "${2:-u}" "$1"; }
from() { # from SENDER: a transaction head with that envelope sender
    printf '%s\n' 'connect mx-out.example.net 127.0.0.1 42000' 'helo mx-out.example.net' \
        'macro M i=QID1' "mail <$1>"
}
probed() { grep -q "probe host=mx1\.$1 addr=" "$log"; }

start
# one transaction: two recipients of a 404 domain, an expired policy host,
# a passing and a failing MX, a DANE MX
{
    from sender@example.net
    rcpt notfound.test a
    rcpt notfound.test b
    rcpt expired.test
    rcpt mxgood.test
    rcpt mxexpired.test
    rcpt good.dane.test
    echo abort
} | session one
wait_until 15 sh -c "grep -q 'probe host=mx1.mxgood.test addr=' '$log' &&
    grep -q 'probe host=mx1.mxexpired.test addr=' '$log' &&
    grep -q 'probe host=mx1.good.dane.test addr=' '$log'" ||
    diag "not every probe finished within 15 s"
# our own report mail: counts nothing
{ from tlsrpt-noreply@example.net; rcpt notfound.test; echo abort; } | session report
# a second transaction of the 404 domain
{ from sender@example.net; rcpt notfound.test; echo abort; } | session two
milter_stop
check "the milter stopped cleanly (status 0)" [ "$milter_status" = 0 ]

export MTASTS_CONFIG="$dir/milter.conf"
day=$(date -u +%F)
"$MTASTS" report show --json >"$dir/show.json" 2>"$dir/show.err"
check "report show --json: exit 0" [ $? = 0 ]

# want TYPE DOMAIN FIELD VALUE [RESULT]: the one row of DOMAIN (its policy
# row, or the detail row of RESULT) has FIELD = VALUE
want() {
    python3 - "$dir/show.json" "$@" <<'PYEOF'
import json, sys
rows = json.load(open(sys.argv[1]))
ptype, domain, field, value = sys.argv[2:6]
result = sys.argv[6] if len(sys.argv) > 6 else None
got = [r for r in rows if r["policy-domain"] == domain and r["policy-type"] == ptype
       and r.get("result-type") == result]
if len(got) != 1:
    sys.exit("%d rows of %s %s %s in %s" % (len(got), ptype, domain, result, json.dumps(rows)))
if str(got[0].get(field)) != value:
    sys.exit("%s: %s is %r, want %r" % (domain, field, got[0].get(field), value))
PYEOF
}
check "404 policy: two transactions = two failed sessions (one per transaction, the report sender's not counted)" \
    want sts notfound.test failed 2
check "404 policy: failure detail sts-policy-fetch-error, count 2" \
    want sts notfound.test failed-session-count 2 sts-policy-fetch-error
check "expired policy-host certificate: sts-webpki-invalid, count 1" \
    want sts expired.test failed-session-count 1 sts-webpki-invalid
check "a passing MX probe: one successful sts session" want sts mxgood.test successful 1
check "a passing MX probe: no failure" want sts mxgood.test failed 0
check "an expired MX certificate: certificate-expired, count 1" \
    want sts mxexpired.test failed-session-count 1 certificate-expired
check "... with the receiving MX host name" \
    want sts mxexpired.test receiving-mx-hostname mx1.mxexpired.test certificate-expired
check "a DANE pass counts under policy-type tlsa" want tlsa good.dane.test successful 1

# counts add up across a restart: one more 404 transaction
start
{ from sender@example.net; rcpt notfound.test; echo abort; } | session three
milter_stop
"$MTASTS" report show --json >"$dir/show.json" 2>"$dir/show.err"
check "after a restart the counts add up: 3 failed sessions" want sts notfound.test failed 3

"$MTASTS" report show --domain notfound.test >"$dir/show.txt" 2>&1
check "report show (text): the policy line" \
    grep -q "^$day notfound.test policy=sts successful=0 failed=3$" "$dir/show.txt"

# build: the files of every domain of the day
mkdir "$dir/out"
"$MTASTS" report build --day "$day" --out "$dir/out" >"$dir/build.out" 2>&1
check "report build --out: exit 0" [ $? = 0 ]
gz=$(ls "$dir/out" | grep "^example.net!mxexpired.test![0-9]*![0-9]*!1.json.gz$")
check "the RFC 8460 §5.1 file name submitter!domain!begin!end!n.json.gz" [ -n "$gz" ]
check "one report per policy domain of the day (5 .json.gz)" \
    [ "$(ls "$dir/out" | grep -c '\.json\.gz$')" = 5 ]
python3 - "$dir/out/$gz" "$dir/out/${gz%.gz}" <<'PYEOF' >"$dir/gz.err" 2>&1
import gzip, json, sys
a = json.loads(gzip.open(sys.argv[1]).read())
b = json.load(open(sys.argv[2]))
assert a == b, "the gzip and the .json differ"
assert a["report-id"] == "%s.mxexpired.test.1@example.net" % a["date-range"]["start-datetime"][:10].replace("-", ""), a["report-id"]
assert a["organization-name"] == "Example Net Mail"
p = a["policies"][0]
assert p["policy"]["policy-domain"] == "mxexpired.test"
assert p["policy"]["mx-host"] == ["mx1.mxexpired.test"], p["policy"]
assert p["failure-details"][0]["receiving-mx-hostname"] == "mx1.mxexpired.test"
PYEOF
okif "the gzip holds the same report: report-id, policy-domain, mx-host array, details" \
    "$(cat "$dir/gz.err")" [ ! -s "$dir/gz.err" ]
if python3 -c 'import jsonschema' 2>/dev/null; then
    python3 - "$srcdir/tests/corpus/tlsrpt/report.schema.json" "$dir"/out/*.json \
        >"$dir/schema.err" 2>&1 <<'PYEOF'
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for f in sys.argv[2:]:
    for e in v.iter_errors(json.load(open(f))):
        print(f, e.message)
PYEOF
    okif "every built report passes the RFC 8460 §4 schema" "$(head -5 "$dir/schema.err")" \
        [ ! -s "$dir/schema.err" ]
else
    skip "every built report passes the RFC 8460 §4 schema" "no python3-jsonschema"
fi

"$MTASTS" report build --day 2001-01-01 >/dev/null 2>"$dir/none.err"
check "report build of a day without results: exit 1" [ $? = 1 ]
"$MTASTS" report build --day 2026-02-30 >/dev/null 2>&1
check "report build --day 2026-02-30 (no such day): exit 2" [ $? = 2 ]
grep -v '^TLSRPTOrganization' "$dir/milter.conf" >"$dir/noorg.conf"
"$MTASTS" report build -c "$dir/noorg.conf" --day "$day" >/dev/null 2>"$dir/noorg.err"
check "report build without TLSRPTOrganization: exit 3" [ $? = 3 ]
check "... saying which keys it needs" grep -q "TLSRPTOrganization and TLSRPTContact" "$dir/noorg.err"

# --- Postfix >= 3.10's datagrams (TLSRPTSocket): they are the MX sessions,
# probes are not counted (never both for one session); a refused datagram
# is logged and counted nothing.
dg=$dir/tlsrpt.sock
rm -f "$dir/cache.db"*
sed "s|^TLSRPT yes|TLSRPT yes\nTLSRPTSocket $dg|" "$dir/milter.conf" >"$dir/dg.conf"
cp "$dir/dg.conf" "$dir/milter.conf"
start
check "TLSRPTSocket: the datagram socket exists, mode 0660" \
    [ "$(stat -c %a "$dg" 2>/dev/null)" = 660 ]
python3 - "$dg" <<'PYEOF' >"$dir/send.err" 2>&1
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def send(obj):
    s.sendto(obj if isinstance(obj, bytes) else json.dumps(obj).encode(), sys.argv[1])
pol = {"policy-type": 2, "policy-domain": "dgram.test",
       "policy-string": ["version: STSv1", "mode: enforce", "mx: mx1.dgram.test", "max_age: 86400"],
       "mx-host": ["mx1.dgram.test"], "failure-details": [], "t": 0, "f": 0}
for _ in range(3):
    send({"dpv": "1", "d": "dgram.test", "pr": "v=TLSRPTv1; rua=mailto:r@dgram.test", "policies": [pol]})
bad = dict(pol, f=1, t=2, **{"failure-details": [
    {"c": 204, "s": "192.0.2.1", "n": "mx1.dgram.test", "r": "192.0.2.25", "f": "expired"},
    {"c": 202, "s": "192.0.2.1", "n": "mx1.dgram.test", "r": "192.0.2.25"}]})
send({"dpv": "1", "d": "dgram.test", "pr": "v=TLSRPTv1; rua=mailto:r@dgram.test", "policies": [bad]})
send(b'{"dpv":"2","d":"dgram.test"}')
send(b"not json at all")
PYEOF
okif "six datagrams sent" "$(cat "$dir/send.err")" [ ! -s "$dir/send.err" ]
wait_until 5 logged 'event=tlsrpt-datagram-refused reason=bad-version' ||
    diag "no refusal logged within 5 s"
check "a datagram of dpv 2 is refused, and logged with its reason" \
    logged 'event=tlsrpt-datagram-refused reason=bad-version'
# a probe while Postfix reports: not counted
{ from sender@example.net; rcpt mxexpired.test; echo abort; } | session dgprobe
wait_until 10 probed mxexpired.test || diag "mxexpired.test was not probed"
milter_stop
check "TLSRPTSocket: the socket is removed at stop" [ ! -e "$dg" ]
"$MTASTS" report show --json >"$dir/show.json" 2>"$dir/show.err"
check "datagrams: 3 successful sessions" want sts dgram.test successful 3
check "datagrams: the failed session counts once" want sts dgram.test failed 1
check "datagrams: each of its two details is counted (certificate-expired)" \
    want sts dgram.test failed-session-count 1 certificate-expired
check "datagrams: ... and certificate-host-mismatch" \
    want sts dgram.test failed-session-count 1 certificate-host-mismatch
check "datagrams: the failure-reason-code is Postfix's" \
    want sts dgram.test failure-reason-code expired certificate-expired
check "with TLSRPTSocket, a probe counts nothing (no mxexpired.test rows)" \
    sh -c "! grep -q mxexpired.test '$dir/show.json'"
finish
