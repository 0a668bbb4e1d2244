#!/bin/sh
# store_faults.sh - a damaged or unwritable store is not an outage (issue
# 18, finding "A damaged store is an outage": random bytes over cache.db
# or truncating it made the daemon exit 1 at start, so did a store on a
# full or read-only filesystem, and a read-only store was opened without
# a warning).  What each case does now (mtasts-milter(8), STORE FAULTS):
#   random bytes, truncated  -> moved aside to cache.db.corrupt-TIME, a
#                               fresh store created, logged at error level
#   read-only fs, full fs    -> the daemon starts on memory alone
#                               (event=store-degraded, error level)
#   a newer schema           -> refused at start with a clear message,
#                               the file untouched (a downgrade never
#                               rewrites what a newer version wrote)
# and in every case that starts, RCPT keeps deciding (a policy domain of
# the test world is judged, not dropped).
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
# shellcheck source=tests/milter/session.sh
. "$srcdir/tests/milter/session.sh"
need_root
need_tools unshare mount sqlite3 python3
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin MILTC tests/milter/miltc
world_up
dir=$tmp
sock=$dir/milter.sock
log=$dir/milter.log

conf() { # conf STORE-DIR
    cat >"$dir/milter.conf" <<EOF
Socket unix:$sock
Mode enforce
Store sqlite:$1/cache.db
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
TLSChecks no
Syslog no
LogFile $log
LogLevel info
EOF
}

# judged: an enforce domain of the world is looked up and passes
judged() {
    {
        head_script
        printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=good.test\nrcpt <u@good.test>\n'
        echo abort
    } | session "$1"
    has "$1" 'rcpt <u@good.test> -> continue' && logged 'rcpt=<u@good.test> .*policy=enforce'
}

# start_in PREP: the milter in its own mount namespace after shell PREP
start_in() {
    rm -f "$sock"
    : >"$log"
    unshare -m sh -c "$1; exec \"\$0\" -f -c \"\$1\"" "$MTASTS_MILTER" "$dir/milter.conf" \
        </dev/null >"$dir/milter.stderr" 2>&1 &
    milter_pid=$!
    wait_until 10 sh -c "[ -S '$sock' ] || ! kill -0 $milter_pid 2>/dev/null"
    [ -S "$sock" ]
}

# --- random bytes over the store
mkdir -p "$dir/s1"
conf "$dir/s1"
head -c 65536 /dev/urandom >"$dir/s1/cache.db"
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr"
check "random bytes over cache.db: the daemon starts" [ -S "$sock" ]
check "... logs store-quarantined at error level" logged 'error: event=store-quarantined .*action=fresh-store'
check "... moved the file aside (cache.db.corrupt-*)" \
    sh -c "ls '$dir/s1' | grep -q '^cache.db.corrupt-[0-9]*$'"
check "... and RCPT is judged" judged s1
milter_stop
check "... the fresh store is a sound database" \
    sh -c "[ \"\$(sqlite3 '$dir/s1/cache.db' 'PRAGMA integrity_check')\" = ok ]"

# --- a truncated store (a real one, cut short)
mkdir -p "$dir/s2"
conf "$dir/s2"
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr"
judged s2a >/dev/null
milter_stop
# grow it past a few pages, then cut it
sqlite3 "$dir/s2/cache.db" "CREATE TABLE pad(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL
    SELECT i+1 FROM c WHERE i < 2000) INSERT INTO pad SELECT randomblob(200) FROM c;
    PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
size=$(stat -c %s "$dir/s2/cache.db")
truncate -s $((size / 3)) "$dir/s2/cache.db"
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr"
check "a truncated store ($size -> $((size / 3)) bytes): the daemon starts" [ -S "$sock" ]
check "... quarantined as truncated" logged 'event=store-quarantined .*truncated'
check "... and RCPT is judged" judged s2
milter_stop

# --- a read-only filesystem with a store on it
mkdir -p "$dir/s3"
conf "$dir/s3"
start_in "mount -t tmpfs -o size=4m tmpfs '$dir/s3' && sqlite3 '$dir/s3/cache.db' \
    'PRAGMA user_version=0;' && mount -o remount,ro '$dir/s3'" ||
    diag "$(cat "$dir/milter.stderr")"
check "a store on a read-only filesystem: the daemon starts" [ -S "$sock" ]
check "... degraded to memory, logged at error level" \
    logged 'error: event=store-degraded .*action=memory-only'
check "... and RCPT is judged" judged s3
milter_stop

# --- a full filesystem, no store yet
mkdir -p "$dir/s4"
conf "$dir/s4"
start_in "mount -t tmpfs -o size=64k tmpfs '$dir/s4' && head -c 65536 /dev/zero >'$dir/s4/fill' 2>/dev/null; true" ||
    diag "$(cat "$dir/milter.stderr")"
check "a store on a full filesystem: the daemon starts" [ -S "$sock" ]
check "... degraded to memory" logged 'event=store-degraded'
check "... and RCPT is judged" judged s4
milter_stop

# --- a store of a newer schema: refused, untouched
mkdir -p "$dir/s5"
conf "$dir/s5"
sqlite3 "$dir/s5/cache.db" 'CREATE TABLE t(x); PRAGMA user_version = 99;'
sum=$(md5sum <"$dir/s5/cache.db")
"$MTASTS_MILTER" -f -c "$dir/milter.conf" </dev/null >"$dir/s5.out" 2>&1 &
p=$!
wait_until 10 sh -c "! kill -0 $p 2>/dev/null"
wait "$p"
rc=$?
check "a store of schema version 99: refused at start (exit 1)" [ "$rc" = 1 ]
check "... saying it was written by a newer mtasts-milter" grep -q 'written by a newer' "$dir/s5.out"
check "... and the file is untouched" [ "$(md5sum <"$dir/s5/cache.db")" = "$sum" ]
finish
