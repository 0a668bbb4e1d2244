# shellcheck shell=sh
# shellcheck disable=SC2154,SC2034 # dir, srcdir, ROUNDS, ... are run.sh's; it reads world_up, bw_up
# peer_part.sh - issue 7 parts 3 and 4, sourced by tests/bench/run.sh:
# mtasts-milter's SocketMap server against Debian's postfix-mta-sts-resolver
# (mta-sts-daemon), both serving the generated domains of
# tests/bench/bench_world.sh, driven by the same client (smapload).
#
# Part 4, cold discovery: for each N in BENCH_COLD_SIZES, a fresh daemon of
# each kind with an empty cache looks up b1.test..bN.test once each through
# BENCH_COLD_CONNS (16) socketmap connections, one request at a time (the
# bound on concurrency); wall time, answers, HTTPS fetches (nginx's access
# log) and DNS queries (nsd's counters) for each.
# Part 3, warm lookups: after the largest cold run, with both caches warm,
# BENCH_SMAP_KEYS (1000) of those domains are looked up for BENCH_SECONDS
# through BENCH_SMAP_CONNS (32) connections of BENCH_SMAP_PIPELINE (8)
# pipelined requests each, alternating ours and the peer's, BENCH_ROUNDS
# rounds; the medians and their ratio.
#
# The peer is confined: it runs in a private mount namespace (unshare -m)
# where /etc/resolv.conf names only the bench world's nsd on 127.53.K.10 (which
# answers only for "test.") and SSL_CERT_FILE the bench CA, with every
# proxy variable removed; so every name it can resolve is a loopback
# address of the slot, and nothing it does leaves 127.0.0.0/8.
# Its configuration: internal cache of 2N entries, cache_grace 3600 s (so a
# warm lookup is a cache hit, as ours is), default zone, timeout 4 s.

COLD_SIZES=${BENCH_COLD_SIZES-1000 10000}
COLD_CONNS=${BENCH_COLD_CONNS:-16}
SMAP_KEYS=${BENCH_SMAP_KEYS:-1000}
SMAP_CONNS=${BENCH_SMAP_CONNS:-32}
SMAP_PIPELINE=${BENCH_SMAP_PIPELINE:-8}
SMAPLOAD=${SMAPLOAD:-tests/bench/smapload}
case $SMAPLOAD in /*) ;; *) SMAPLOAD=$(pwd)/$SMAPLOAD ;; esac
ours_pid=
peer_pid=

ours_start() { # ours_start TAG
    cat >"$dir/ours.$1.conf" <<EOF
Socket unix:$dir/ours.$1.sock
SocketMap inet:8461@$WORLD_NET.21
SocketMapDeadline 9s
Mode enforce
Store sqlite:$dir/ours.$1.db
Resolver $BW_DNS
CAFile $BW_CA
AllowPrivateTargets yes
Syslog no
LogFile $dir/ours.$1.log
LogLevel warning
EOF
    "$MTASTS_MILTER" -f -c "$dir/ours.$1.conf" 2>"$dir/ours.$1.stderr" &
    ours_pid=$!
    wait_port "$WORLD_NET.21" 8461 "$ours_pid" "ours.$1"
}

peer_start() { # peer_start TAG N
    printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$BW_NS_ADDR" >"$dir/peer.resolv.conf"
    cat >"$dir/peer.$1.yml" <<EOF
host: $WORLD_NET.20
port: 8461
reuse_port: true
shutdown_timeout: 2
cache_grace: 3600
cache:
  type: internal
  options:
    cache_size: $(($2 * 2 + 1000))
default_zone:
  strict_testing: false
  timeout: 4
EOF
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout "${WORLD_LIFETIME:-1800}" unshare -m sh -c '
        mount --bind "$1" /etc/resolv.conf || exit 1
        exec env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy \
            -u ALL_PROXY -u no_proxy -u NO_PROXY SSL_CERT_FILE="$2" SSL_CERT_DIR=/nonexistent \
            mta-sts-daemon -v warn -c "$3"' sh "$dir/peer.resolv.conf" "$BW_CA" \
        "$dir/peer.$1.yml" </dev/null >"$dir/peer.$1.stderr" 2>&1 &
    peer_pid=$!
    wait_port "$WORLD_NET.20" 8461 "$peer_pid" "peer.$1"
}

wait_port() { # wait_port ADDR PORT PID NAME: up to 20 s
    i=0
    until bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$3" 2>/dev/null; then
            say "bench: $4 did not listen on $1:$2"
            tail -20 "$dir/$4.stderr" "$dir/$4.log" 2>/dev/null | sed 's/^/  /'
            return 1
        fi
        sleep 0.1
    done
}

# cold_run WHO N: one cold warm-up; prints "WHO N secs ok other fetches distinct queries"
cold_run() {
    head -n "$2" "$BW_DIR/domains" >"$dir/keys.$2"
    q0=$(bench_world_dns_queries)
    f0=$(bench_world_fetches)
    addr=$WORLD_NET.21
    [ "$1" = ours ] || addr=$WORLD_NET.20
    "$SMAPLOAD" -s "inet:$addr:8461" -1 -c "$COLD_CONNS" -K "$dir/keys.$2" -t 30000 \
        -l "cold.$1.$2" >"$dir/cold.$1.$2.out" 2>&1
    # nginx logs a request when it ends; the answers are all in by now
    q1=$(bench_world_dns_queries)
    f1=$(bench_world_fetches)
    distinct=$(tail -n "+$((f0 + 1))" "$BW_DIR/nginx/access.log" | awk '$2 == 200 {print $1}' |
        sort -u | wc -l)
    r=$dir/cold.$1.$2.out
    printf '%s %s %s %s %s %s %s %s\n' "$1" "$2" "$(field "$r" seconds)" "$(field "$r" ok)" \
        "$(($(field "$r" requests) - $(field "$r" ok)))" "$((f1 - f0))" "$distinct" \
        "$((q1 - q0))" >>"$dir/cold"
    grep 'first error' "$r" | sed 's/^/  note: /'
}

smap_rounds() {
    head -n "$SMAP_KEYS" "$BW_DIR/domains" >"$dir/smap.keys"
    # one pass each so both caches hold every key in memory
    for a in "$WORLD_NET.21" "$WORLD_NET.20"; do
        "$SMAPLOAD" -s "inet:$a:8461" -1 -c 4 -K "$dir/smap.keys" >/dev/null 2>&1
    done
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for who in ours peer; do
            a=$WORLD_NET.21
            [ $who = ours ] || a=$WORLD_NET.20
            "$SMAPLOAD" -s "inet:$a:8461" -c "$SMAP_CONNS" -p "$SMAP_PIPELINE" -K "$dir/smap.keys" \
                -d "$SECS" -w "$WARM" -l "smap.$who.$r" >"$dir/smap.$who.$r.out" 2>&1
            grep '^RESULT' "$dir/smap.$who.$r.out" >>"$dir/smap.results"
            grep 'first error' "$dir/smap.$who.$r.out" | sed "s/^/  note: $who round $r: /"
        done
        r=$((r + 1))
    done
}

peer_part() {
    [ -n "$COLD_SIZES" ] || return 0
    for tool in nginx nsd nsd-control openssl dig curl unshare mount mta-sts-daemon; do
        command -v "$tool" >/dev/null 2>&1 || {
            say ""
            say "bench: policy-map parts (3, 4) skipped: $tool is not installed" \
                "(tests/bench/packages.txt)"
            return 0
        }
    done
    for b in "$SMAPLOAD" "$MTASTS_MILTER"; do
        [ -x "$b" ] || { say "bench: policy-map parts skipped: $b is not built"; return 0; }
    done
    [ "$(id -u)" = 0 ] || { say "bench: policy-map parts skipped: needs root"; return 0; }
    # shellcheck source=tests/world/world.sh
    . "$srcdir/tests/world/world.sh"
    # shellcheck source=tests/bench/bench_world.sh
    . "$srcdir/tests/bench/bench_world.sh"
    world_start >"$dir/world2.log" 2>&1 || { say "bench: world_start failed"; return 1; }
    world_up=1
    nmax=0
    for n in $COLD_SIZES; do [ "$n" -gt "$nmax" ] && nmax=$n; done
    [ "$nmax" -ge "$SMAP_KEYS" ] || nmax=$SMAP_KEYS
    t0=$(date +%s)
    bench_world_start "$dir/bw" "$nmax" || return 1
    bw_up=1
    say ""
    say "Bench world: $nmax generated domains (nsd $BW_DNS, nginx $BW_HTTPS_ADDR:443," \
        "$(find "$BW_DIR/certs" -name 'c[0-9]*.pem' | wc -l) SAN certificates)," \
        "ready in $(($(date +%s) - t0)) s"
    : >"$dir/cold"
    : >"$dir/smap.results"
    for n in $COLD_SIZES; do
        ours_start "c$n" || return 1
        cold_run ours "$n"
        peer_start "c$n" "$n" || return 1
        cold_run peer "$n"
        if [ "$n" = "$nmax" ] || [ "$n" = "$(echo "$COLD_SIZES" | awk '{print $NF}')" ]; then
            smap_rounds
            smap_done=1
        fi
        bench_stop ours_pid
        bench_stop peer_pid
    done

    say ""
    say "Cold discovery (part 4): N domains from an empty cache, $COLD_CONNS concurrent"
    say "socketmap lookups (one request per connection at a time), same client for both"
    awk '
        { key = $2; w[$1, key] = $3; ok[$1, key] = $4; bad[$1, key] = $5; f[$1, key] = $6
          d[$1, key] = $7; q[$1, key] = $8; if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
        END {
            printf "%-7s %-5s %8s %8s %7s %8s %9s %8s %-22s\n", "N", "who", "wall s", "dom/s",
                "answers", "fetches", "distinct", "DNS q", "1 fetch/domain"
            for (i = 1; i <= n; i++) {
                k = order[i]
                split("ours peer", who, " ")
                for (j = 1; j <= 2; j++) {
                    u = who[j]
                    if (!((u, k) in w)) continue
                    exact = (f[u, k] == k && d[u, k] == k) ? "yes" : "no"
                    printf "%-7s %-5s %8.2f %8.0f %3d ok/%-3d %8d %9d %8d %-22s\n", k, u, w[u, k],
                        (w[u, k] > 0 ? k / w[u, k] : 0), ok[u, k], bad[u, k], f[u, k], d[u, k],
                        q[u, k], exact
                }
                if ((("ours", k) in w) && (("peer", k) in w) && w["ours", k] > 0) {
                    ratio = w["peer", k] / w["ours", k]
                    printf "%-7s ratio peer/ours wall time %.2fx  (target >= 5x at 10000: %s)\n", k,
                        ratio, (k == 10000 ? (ratio >= 5 ? "met" : "NOT met") : "n/a")
                }
            }
        }' "$dir/cold"

    if [ -n "${smap_done-}" ]; then
        say ""
        say "Policy map (part 3): warm socketmap lookups of $SMAP_KEYS domains, $SMAP_CONNS" \
            "connections x $SMAP_PIPELINE pipelined, $ROUNDS A/B rounds of ${SECS}s, medians"
        for who in ours peer; do
            for k in rps p50_us p99_us; do
                v=$(grep "label=smap\\.$who\\." "$dir/smap.results" |
                    sed -n "s/.* $k=\\([^ ]*\\).*/\\1/p" | median)
                eval "smap_${who}_$k=\$v"
            done
            nok=$(grep "label=smap\\.$who\\." "$dir/smap.results" | sed -n 's/.* ok=\([0-9]*\).*/\1/p' |
                awk '{s += $1} END {print s + 0}')
            nall=$(grep "label=smap\\.$who\\." "$dir/smap.results" |
                sed -n 's/.* requests=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
            eval "smap_${who}_okfrac=\"$nok/$nall\""
        done
        # shellcheck disable=SC2154 # set by the eval above
        awk -v o="$smap_ours_rps" -v p="$smap_peer_rps" -v o50="$smap_ours_p50_us" \
            -v p50="$smap_peer_p50_us" -v o99="$smap_ours_p99_us" -v p99="$smap_peer_p99_us" \
            -v ook="$smap_ours_okfrac" -v pok="$smap_peer_okfrac" 'BEGIN {
            printf "%-5s %10s %10s %10s %s\n", "who", "lookups/s", "p50 us", "p99 us", "OK answers"
            printf "%-5s %10.0f %10d %10d %s\n", "ours", o, o50, o99, ook
            printf "%-5s %10.0f %10d %10d %s\n", "peer", p, p50, p99, pok
            r = p > 0 ? o / p : 0
            printf "ratio ours/peer %.2fx  (target >= 2.5x: %s)\n", r, (r >= 2.5 ? "met" : "NOT met")
        }'
    fi
    bench_world_stop
    bw_up=
    world_stop >/dev/null 2>&1
    world_up=
}
