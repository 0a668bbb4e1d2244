#!/bin/sh
# metrics.sh - the Metrics listener of the real daemon (issue 16 item 1;
# mtasts-milter.conf(5) Metrics, mtasts-milter(8) METRICS): a scrape of
# /metrics passes the Prometheus text-format parser of
# python3-prometheus-client (Prometheus exposition format 0.0.4), a
# scripted milter session and socketmap queries move the counters by
# exactly what they did, counters never reset on read, a SIGHUP counts a
# reload, `mtasts stats` prints the same figures, and the HTTP/1.0
# responder refuses what is not GET/HEAD /metrics (405, 404, 400, 505,
# 431) and closes slow and silent clients at its 5 s deadline, with at
# most 16 connections at once.
#
# Runs from the build directory with srcdir set (automake does both).
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
# shellcheck source=tests/milter/session.sh
. "$srcdir/tests/milter/session.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin MILTC tests/milter/miltc
need_bin MTASTS milter/mtasts
need_tools curl
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
    skip_all "no python3-prometheus-client (tests/world/packages.txt)"
world_up
dir=$tmp
py=$srcdir/tests/milter/metrics_check.py

sock=$dir/milter.sock
log=$dir/milter.log
mhost=$WORLD_NET.200
mport=9465
url=http://$mhost:$mport/metrics
cat >"$dir/milter.conf" <<EOF
Socket unix:$sock
Mode enforce
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
LookupDeadline 3s
TLSChecks no
SocketMap unix:$dir/socketmap.sock
Metrics inet:$mport@$mhost
Syslog no
LogFile $log
LogLevel debug
EOF

milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
    sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
    bail "the milter did not open $sock"
}
scrape() { curl -sf -m 5 -o "$dir/$1.prom" "$url"; }
wait_until 5 scrape first || bail "no answer on $url"

rcpt() { printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=%s\nrcpt <u@%s>\n' "$1" "$1"; }
smap() { # smap KEY: one socketmap request, prints the reply netstring
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
q = ("postfix " + sys.argv[2]).encode()
s.sendall(str(len(q)).encode() + b":" + q + b",")
print(s.recv(4096).decode())' "$dir/socketmap.sock" "$1"
}
val() { # val FILE NAME [LABEL=VALUE...]
    f=$1
    shift
    /usr/bin/python3 "$py" value "$dir/$f.prom" "$@"
}
delta() { echo $(($(val after "$@") - $(val before "$@"))); }

# Warm the cache (discovery, fetches, store writes) before counting.
{ head_script; for d in good mismatch nopolicy testing; do rcpt "$d.test"; done
  echo abort; } | session warm
scrape before || bail "scrape before failed"
out=$(/usr/bin/python3 "$py" validate "$dir/before.prom" 2>&1)
check "a scrape passes the Prometheus text-format parser ($out)" [ $? -eq 0 ]

# --- a scripted session: 4 recipients, 3 socketmap requests
{ head_script; rcpt good.test; rcpt good.test; rcpt mismatch.test; rcpt nopolicy.test
  echo abort; } | session counted
check "the session ran" has counted 'rcpt <u@mismatch.test> -> tempfail 451 4.7.0'
check_eq "socketmap: good.test" "49:OK secure match=mx1.good.test servername=hostname," \
    "$(smap good.test)"
check_eq "socketmap: testing.test" "9:NOTFOUND ," "$(smap testing.test)"
check_eq "socketmap: an IP literal is not looked up" "9:NOTFOUND ," "$(smap '[192.0.2.1]')"
scrape after || bail "scrape after failed"
out=$(/usr/bin/python3 "$py" validate "$dir/after.prom" 2>&1)
check "the second scrape passes the parser too ($out)" [ $? -eq 0 ]
out=$(/usr/bin/python3 "$py" monotonic "$dir/before.prom" "$dir/after.prom" 2>&1)
check "no counter went down between two scrapes ($out)" [ $? -eq 0 ]

V=mtasts_rcpt_verdicts_total
check_eq "verdicts: enforce pass mx-match +2" 2 \
    "$(delta $V mode=enforce action=pass would_fail=no reason=mx-match)"
check_eq "verdicts: enforce tempfail mx-mismatch +1" 1 \
    "$(delta $V mode=enforce action=tempfail would_fail=yes reason=mx-mismatch)"
check_eq "verdicts: no-policy +1" 1 "$(delta $V reason=no-policy)"
check_eq "verdicts: 4 in all" 4 "$(delta $V)"
check_eq "RCPT latency histogram: _count +4" 4 "$(delta mtasts_rcpt_duration_seconds_count)"
check_eq "RCPT latency: all 4 within 0.1 s (warm front)" 4 \
    "$(delta mtasts_rcpt_duration_seconds_bucket le=0.1)"
check_eq "policy lookups: 4 RCPT + 2 socketmap, all from the front" 6 \
    "$(delta mtasts_policy_lookups_total source=front)"
check_eq "policy lookups: nothing else" 6 "$(delta mtasts_policy_lookups_total)"
check_eq "socketmap answers: policy +2" 2 "$(delta mtasts_socketmap_requests_total answer=policy)"
check_eq "socketmap answers: notfound +1" 1 \
    "$(delta mtasts_socketmap_requests_total answer=notfound)"
check_eq "socketmap latency histogram: _count +3" 3 \
    "$(delta mtasts_socketmap_duration_seconds_count)"
check_eq "no fetch for cached domains" 0 "$(delta mtasts_policy_fetches_total)"
n=$(val after mtasts_policy_fetches_total result=ok)
check "the warm-up fetched policies ($n ok)" [ "$n" -ge 2 ]
n=$(val after mtasts_policy_fetch_duration_seconds_count)
check "every fetch is in the fetch histogram ($n)" [ "$n" = "$(val after mtasts_policy_fetches_total)" ]
n=$(val after mtasts_dns_queries_total type=txt result=ok)
check "DNS: TXT answers counted ($n)" [ "$n" -ge 2 ]
n=$(val after mtasts_dns_queries_total type=mx result=ok)
check "DNS: MX answers counted ($n)" [ "$n" -ge 2 ]
n=$(val after mtasts_store_ops_total op=put result=ok)
check "store: puts counted ($n)" [ "$n" -ge 2 ]
n=$(val after mtasts_front_entries cache=policy)
check "front: the policy front holds the 4 domains ($n)" [ "$n" -ge 4 ]
n=$(val after mtasts_front_entries cache=mx)
check "front: the MX memo holds entries ($n)" [ "$n" -ge 3 ]
check_eq "build info" 1 "$(val after mtasts_build_info)"
grep -q '^mtasts_build_info{version="[^"]*"} 1$' "$dir/after.prom"
check "build info names the version" [ $? -eq 0 ]
if grep -E '(good|mismatch|nopolicy|testing)\.test|127\.53' "$dir/after.prom" >/dev/null; then
    fail "a domain or an address in the metrics"
fi
ok "no domain and no address in any label"

# --- the formats: HEAD, JSON, mtasts stats
r=$(/usr/bin/python3 "$py" http "$mhost" $mport head)
check_eq "HEAD /metrics: 200, no body" "HTTP/1.0 200 OK|0" "${r%%|*}|${r##*|}"
hdr=$(curl -s -m 5 -D - -o /dev/null "$url" | tr -d '\r')
echo "$hdr" | grep -qi '^content-type: text/plain; version=0.0.4'
check "Content-Type text/plain; version=0.0.4" [ $? -eq 0 ]
curl -sf -m 5 -H 'Accept: application/json' "$url" >"$dir/m.json"
j=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(s["value"] for s in d["mtasts_rcpt_verdicts_total"]["samples"]))' "$dir/m.json" 2>&1)
check_eq "JSON: the same verdict total as the text" "$(val after $V)" "$j"
"$MTASTS" stats -c "$dir/milter.conf" >"$dir/stats.out" 2>&1
check "mtasts stats exits 0" [ $? -eq 0 ]
line='mtasts_rcpt_verdicts_total{mode="enforce",action="pass",would_fail="no",reason="mx-match"}'
want=$(val after $V mode=enforce action=pass would_fail=no reason=mx-match)
check "mtasts stats prints the verdict counter ($want)" grep -qxF "$line $want" "$dir/stats.out"
check "mtasts stats leaves out zero values" sh -c "! grep -q ' 0\$' '$dir/stats.out'"
"$MTASTS" stats --json -c "$dir/milter.conf" | /usr/bin/python3 -m json.tool >/dev/null
check "mtasts stats --json is JSON" [ $? -eq 0 ]
"$MTASTS" stats -c "$dir/milter.conf" "inet:1@$mhost" >/dev/null 2>&1
check_eq "mtasts stats on a dead socket: exit 3" 3 $?

# --- a reload is counted
kill -HUP "$milter_pid"
wait_until 5 reloads ok 1
scrape reload || bail "scrape after reload failed"
check_eq "SIGHUP: mtasts_config_reloads_total{result=ok} 1" 1 \
    "$(val reload mtasts_config_reloads_total result=ok)"
check_eq "a reload resets no counter" "$(val after $V)" "$(val reload $V)"

# --- what the responder refuses
req() { /usr/bin/python3 "$py" http "$mhost" $mport "$1"; }
status() { r=$(req "$1") && echo "${r%%|*}"; }
check_eq "POST -> 405" "HTTP/1.0 405 Method Not Allowed" "$(status post)"
check_eq "another path -> 404" "HTTP/1.0 404 Not Found" "$(status notfound)"
check_eq "a TLS ClientHello -> 400" "HTTP/1.0 400 Bad Request" "$(status garbage)"
check_eq "HTTP/2.0 -> 505" "HTTP/1.0 505 HTTP Version Not Supported" "$(status http2)"
check_eq "9000 bytes of headers -> 431" "HTTP/1.0 431 Request Header Fields Too Large" \
    "$(status toolarge)"
r=$(req slow)
secs=${r#*|}
secs=${secs%%|*}
check_eq "a request line, then silence -> 408" "HTTP/1.0 408 Request Timeout" "${r%%|*}"
check "... at the 5 s deadline (${secs}s)" \
    awk -v s="$secs" 'BEGIN { exit !(s >= 4.5 && s <= 6.5) }'
/usr/bin/python3 "$py" http "$mhost" $mport hold 16 >"$dir/hold.out" &
hold_pid=$!
sleep 1 # the 16 connections are open: a scrape now waits in the backlog
curl -sf -m 1.5 -o /dev/null "$url"
check "a 17th connection is not served while 16 are open" [ $? -ne 0 ]
wait "$hold_pid"
h=$(cat "$dir/hold.out")
check "the server closed all 16 at its deadline ($h)" \
    awk -v h="$h" 'BEGIN { split(h, a, /[= ]/); exit !(a[2] == 16 && a[4] <= 6.5) }'
check "after them, a scrape is served again" scrape last
M=mtasts_metrics_requests_total
check_eq "responder: bad-method counted" 1 "$(val last $M result=bad-method)"
check_eq "responder: not-found counted" 1 "$(val last $M result=not-found)"
check_eq "responder: bad-request counted (garbage, HTTP/2.0)" 2 "$(val last $M result=bad-request)"
check_eq "responder: too-large counted" 1 "$(val last $M result=too-large)"
n=$(val last $M result=timeout)
check "responder: timeouts counted ($n)" [ "$n" -ge 17 ]
alive "$milter_pid"
check "the milter is still running" [ $? -eq 0 ]
finish
