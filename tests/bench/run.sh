#!/bin/sh
# run.sh - the benchmarks of issue 7: milter throughput and added RCPT
# latency of mtasts-milter (warm cache) against a no-op libmilter filter,
# driven by the same load generator in the same run, alternating A/B
# (parts 1, 2); the socketmap policy map and cold discovery of generated
# domains against postfix-mta-sts-resolver (parts 3, 4: peer_part.sh);
# then SQLite store growth and front-cache memory (part 5).
# Prints tables of figures, ratios and targets (goals, not assertions).
#
# Run from the build directory (make bench does), as root for the milter
# part (it starts the local test world: nsd + nginx on 127.53.N.0/24):
#   sh ../tests/bench/run.sh
# Settings (environment):
#   BENCH_ROUNDS=3        A/B rounds per scenario; the median is reported
#   BENCH_SECONDS=3       measured seconds per run (after BENCH_WARMUP=0.5)
#   BENCH_SCENARIOS="1 2 3 4"  which milter scenarios to run: the three of
#                         the issue, and 4: one session at a time, the
#                         latency a recipient pays without queueing for CPU
#   BENCH_STORE_SIZES="10000 100000 1000000"  store growth sizes ("" skips)
#   BENCH_COLD_SIZES="1000 10000"  cold discovery sizes ("" skips parts 3, 4)
#   BENCH_QUICK=1         a quick pass: 1 round of 2 s, scenarios 1 and 4,
#                         cold 1000, store 10000 and 100000
#   BENCH_PARTS="milter peer store"  which parts to run
#   NOOP_PROTOCOL=312     SMFIP_* bits the noop filter asks for (hex): by
#                         default the ones mtasts-milter asks for (NOHELO,
#                         NOBODY, NOUNKNOWN, NODATA), so both see the same
#                         events; 0 = every event
#   MILTERLOAD, STORE_GROWTH, NOOP_FILTER, MTASTS_MILTER, MTASTS: binaries
#   BENCH_KEEP=1          keep the scratch directory
# Everything started here is stopped by PID on exit; traffic stays on
# loopback (unix sockets for the milters, the world on 127.53.N.x).
LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${srcdir:=$(cd "$here/../.." && pwd)}"
if [ -n "${BENCH_QUICK:-}" ]; then
    : "${BENCH_ROUNDS:=1}" "${BENCH_SECONDS:=2}" "${BENCH_SCENARIOS:=1 4}"
    : "${BENCH_COLD_SIZES=1000}" "${BENCH_STORE_SIZES=10000 100000}"
fi
PARTS=${BENCH_PARTS:-milter peer store}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
WARM=${BENCH_WARMUP:-0.5}
SCENARIOS=${BENCH_SCENARIOS:-1 2 3 4}
STORE_SIZES=${BENCH_STORE_SIZES-10000 100000 1000000}
NOOP_PROTOCOL=${NOOP_PROTOCOL:-312}
MILTERLOAD=${MILTERLOAD:-tests/bench/milterload}
STORE_GROWTH=${STORE_GROWTH:-tests/bench/store_growth}
NOOP_FILTER=${NOOP_FILTER:-tests/milter/noop_filter}
MTASTS_MILTER=${MTASTS_MILTER:-milter/mtasts-milter}
MTASTS=${MTASTS:-milter/mtasts}
SMAPLOAD=${SMAPLOAD:-tests/bench/smapload}
# enforce, enforce, testing: the bench world's domains (bench_world.sh),
# whose one-hour TTLs let the caches work as with real ones (the test
# world's are 1 s, which libunbound reports as 0 or 1)
DOMAINS=b1.test,b2.test,t1.test
for v in MILTERLOAD STORE_GROWTH NOOP_FILTER MTASTS_MILTER MTASTS SMAPLOAD; do
    eval "p=\$$v"
    case $p in /*) ;; *) p=$(pwd)/$p ;; esac
    eval "$v=\$p"
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 1
noop_pid=
milter_pid=
world_up=
bw_up=
bench_stop() { # stop PID-VARIABLE: TERM, wait, forget
    eval "p=\$$1"
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    eval "$1="
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    bench_stop noop_pid
    bench_stop milter_pid
    bench_stop ours_pid
    bench_stop peer_pid
    [ -z "$bw_up" ] || bench_world_stop
    [ -z "$world_up" ] || world_stop >/dev/null 2>&1
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { printf '%s\n' "$*"; }
wait_socket() { # wait_socket PATH PID NAME: up to 10 s for the socket
    i=0
    while [ ! -S "$1" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$2" 2>/dev/null; then
            say "bench: $3 did not open $1"
            sed 's/^/  /' "$dir/$3.stderr" "$dir/milter.log" 2>/dev/null | tail -20
            return 1
        fi
        sleep 0.1
    done
}
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print 0}'; }
cpu_ticks() { # cpu_ticks PID: user + system clock ticks of the whole process
    awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
}
field() { # field FILE KEY: the value of KEY= on the RESULT line
    sed -n "s/^RESULT .* $2=\\([^ ]*\\).*/\\1/p" "$1"
}

milter_part() {
    for tool in nginx nsd openssl dig /usr/bin/python3; do
        command -v "$tool" >/dev/null 2>&1 || {
            say "bench: milter part skipped: $tool is not installed (contrib/install-deps.sh)"
            return 0
        }
    done
    for b in "$MILTERLOAD" "$NOOP_FILTER" "$MTASTS_MILTER"; do
        [ -x "$b" ] || { say "bench: milter part skipped: $b is not built"; return 0; }
    done
    if [ "$(id -u)" != 0 ]; then
        say "bench: milter part skipped: the test world needs root"
        return 0
    fi
    # shellcheck source=tests/world/world.sh
    . "$srcdir/tests/world/world.sh"
    if ! world_start >"$dir/world.log" 2>&1; then
        say "bench: world_start failed:"
        sed 's/^/  /' "$dir/world.log"
        return 1
    fi
    world_up=1
    # shellcheck source=tests/bench/bench_world.sh
    . "$srcdir/tests/bench/bench_world.sh"
    bench_world_start "$dir/mbw" 100 >"$dir/bw.log" 2>&1 || {
        say "bench: bench world failed:"
        sed 's/^/  /' "$dir/bw.log"
        return 1
    }
    bw_up=1

    "$NOOP_FILTER" -p "unix:$dir/noop.sock" -P "$NOOP_PROTOCOL" 2>"$dir/noop.stderr" &
    noop_pid=$!
    wait_socket "$dir/noop.sock" "$noop_pid" noop || return 1

    cat >"$dir/milter.conf" <<EOF
Socket unix:$dir/milter.sock
Mode enforce
Store sqlite:$dir/cache.db
Resolver $BW_DNS
CAFile $BW_CA
AllowPrivateTargets yes
LookupDeadline 5s
Syslog no
LogFile $dir/milter.log
LogLevel warning
EOF
    "$MTASTS_MILTER" -f -c "$dir/milter.conf" 2>"$dir/milter.stderr" &
    milter_pid=$!
    wait_socket "$dir/milter.sock" "$milter_pid" milter || return 1

    # Warm the cache: the first recipient of each domain discovers its
    # policy (LookupDeadline 5s waits for it); then every domain must be
    # in the store, and a second pass must pass every recipient.
    "$MILTERLOAD" -s "unix:$dir/milter.sock" -D "$DOMAINS" -c 1 -r 3 -n 3 >"$dir/warm1.out" 2>&1
    "$MILTERLOAD" -s "unix:$dir/milter.sock" -D "$DOMAINS" -c 3 -r 3 -n 30 >"$dir/warm2.out" 2>&1
    "$MTASTS" cache list --store "sqlite:$dir/cache.db" >"$dir/cache.list" 2>&1
    for d in $(printf '%s' "$DOMAINS" | tr , ' '); do
        grep -q "$d" "$dir/cache.list" || {
            say "bench: warm-up failed: $d is not in the cache"
            sed 's/^/  /' "$dir/cache.list" "$dir/warm1.out" "$dir/milter.log" | tail -30
            return 1
        }
    done
    if [ "$(field "$dir/warm2.out" rcpt_other)" != 0 ] || [ "$(field "$dir/warm2.out" errors)" != 0 ]; then
        say "bench: warm-up failed: some recipients were not passed"
        sed 's/^/  /' "$dir/warm2.out" "$dir/milter.log" | tail -30
        return 1
    fi

    say ""
    say "Milter: mtasts-milter (Mode enforce, warm cache) vs noop_filter (-P $NOOP_PROTOCOL),"
    say "$ROUNDS A/B rounds of ${SECS}s each (after ${WARM}s warm-up), medians; domains $DOMAINS;"
    say "$(nproc 2>/dev/null || echo '?') CPUs shared by the load generator and the filter."
    : >"$dir/results"
    for s in $SCENARIOS; do
        case $s in
        1) args="-c 16 -m 1 -r 3" name="16 sess x 1 msg x 3 rcpt" ;;
        2) args="-c 16 -m 100 -r 3" name="16 sess x 100 msg x 3 rcpt" ;;
        3) args="-c 256 -m 1 -r 3" name="256 sess x 1 msg x 3 rcpt" ;;
        4) args="-c 1 -m 100 -r 3" name="1 sess x 100 msg (no queue)" ;;
        *) say "bench: unknown scenario $s"; continue ;;
        esac
        r=1
        while [ $r -le "$ROUNDS" ]; do
            for f in noop milter; do
                out=$dir/s$s.$f.$r.out
                pid=
                eval "pid=\$${f}_pid"
                c0=$(cpu_ticks "$pid")
                # shellcheck disable=SC2086 # args is a list of options
                "$MILTERLOAD" -s "unix:$dir/$f.sock" -D "$DOMAINS" $args -d "$SECS" -w "$WARM" \
                    -t 30000 -l "s$s.$f.$r" >"$out" 2>&1
                c1=$(cpu_ticks "$pid")
                # filter CPU per transaction, warm-up included in both terms
                cpu=$(awk -v c="$((c1 - c0))" -v t="$(field "$out" tx)" -v s="$SECS" -v w="$WARM" \
                    -v hz="$(getconf CLK_TCK)" 'BEGIN {
                        n = t * (s + w) / s; printf "%.1f", (n > 0 ? c * 1e6 / hz / n : 0) }')
                sed -n "s/^RESULT .*/& cpu_us=$cpu/p" "$out" >>"$dir/results"
                errs=$(field "$out" errors)
                other=$(field "$out" rcpt_other)
                if [ "${errs:-x}" != 0 ] || [ "${other:-x}" != 0 ]; then
                    say "  note: scenario $s $f round $r: errors=${errs:-?} rcpt_other=${other:-?}"
                    grep 'first error' "$out" | sed 's/^/  /'
                fi
            done
            r=$((r + 1))
        done
        for f in noop milter; do
            for k in tps rcpt_p99 rcpt_p50 eom_p99 cpu_us; do
                v=$(grep "label=s$s\\.$f\\." "$dir/results" |
                    sed -n "s/.* $k=\\([^ ]*\\).*/\\1/p" | median)
                eval "${f}_$k=\$v"
            done
        done
        # shellcheck disable=SC2154 # set by the eval above
        printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$name" "$noop_tps" "$milter_tps" \
            "$noop_rcpt_p50" "$milter_rcpt_p50" "$noop_rcpt_p99" "$milter_rcpt_p99" \
            "$noop_eom_p99" "$milter_eom_p99" "$noop_cpu_us" "$milter_cpu_us" >>"$dir/table"
    done
    say ""
    awk -F'|' '
        BEGIN {
            printf "%-27s %9s %9s %6s %-7s %17s %17s %9s %-7s %19s %18s\n", "scenario", "noop tx/s",
                "mts tx/s", "ratio", ">=0.90", "RCPT p50 noop/mts", "RCPT p99 noop/mts",
                "added p99", "<100us", "EOM p99 noop/mts ms", "CPU us/tx noop/mts"
        }
        {
            ratio = $2 > 0 ? $3 / $2 : 0
            added = $7 - $6
            printf "%-27s %9.0f %9.0f %6.2f %-7s %8.0f/%-8.0f %8.0f/%-8.0f %6.0f us %-7s %9.1f/%-9.1f %8.0f/%-8.0f\n",
                $1, $2, $3, ratio, (ratio >= 0.90 ? "met" : "NOT met"), $4, $5, $6, $7, added,
                (added < 100 ? "met" : "NOT met"), $8 / 1000, $9 / 1000, $10, $11
        }' "$dir/table"
    say "(latencies in us unless marked; every run: $dir/results when BENCH_KEEP=1)"
    bench_stop noop_pid
    bench_stop milter_pid
    if [ -s "$dir/milter.log" ]; then
        say "milter log (warnings and above), first lines:"
        head -5 "$dir/milter.log" | sed 's/^/  /'
    fi
    bench_world_stop
    bw_up=
    world_stop >/dev/null 2>&1
    world_up=
}

store_part() {
    [ -n "$STORE_SIZES" ] || return 0
    if [ ! -x "$STORE_GROWTH" ]; then
        say "bench: store growth skipped: $STORE_GROWTH is not built"
        return 0
    fi
    say ""
    say "Store growth: synthesised policies in SQLite, front cache filled by lookups"
    # shellcheck disable=SC2086 # a list of sizes
    "$STORE_GROWTH" -d "$dir" $STORE_SIZES
}

# shellcheck source=tests/bench/peer_part.sh
. "$srcdir/tests/bench/peer_part.sh"

say "mtasts-milter benchmarks on $(nproc 2>/dev/null || echo '?') CPUs" \
    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(date -u '+%Y-%m-%d %H:%M UTC')"
rc=0
for part in $PARTS; do
    case $part in
    milter) milter_part || rc=1 ;;
    peer) peer_part || rc=1 ;;
    store) store_part || rc=1 ;;
    *) say "bench: unknown part $part" ;;
    esac
done
exit $rc
