#!/bin/sh
# store_error.sh - regression, issue 18 finding "OnStoreError is not
# applied when a store read fails": a domain with a stored enforce policy
# whose store read fails fell back to discovery, DNS failed, and the
# recipient was accepted as dns-error even with OnStoreError tempfail.
# Now the RCPT gets OnStoreError (451 4.3.0, reason=store-error).  The
# store is the daemon's real SQLite file, damaged on disk while the
# daemon has it open (every page after the first is overwritten); the
# resolver of the second run never answers.  mtasts-milter(8), FAILURE
# CLASSES, row 8.
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
world_up
dir=$tmp
sock=$dir/milter.sock
log=$dir/milter.log
write_config() { # write_config RESOLVER
    cat >"$dir/milter.conf" <<EOF
Socket unix:$sock
Mode enforce
Store sqlite:$dir/cache.db
Resolver $1
DNSTimeout 1s
CAFile $WORLD_CA
AllowPrivateTargets yes
LookupDeadline 5s
OnStoreError tempfail
TLSChecks no
Syslog no
LogFile $log
EOF
}
rcpt() { printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=%s\nrcpt <%s>\n' "$2" "$1"; }

# 1. Learn good.test's enforce policy into the store, then stop.
write_config "$WORLD_DNS"
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
    sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
    bail "the milter did not open $sock"
}
{ head_script; rcpt u@good.test good.test; echo abort; } | session learn
check "a first run accepts u@good.test under its enforce policy" \
    has learn 'rcpt <u@good.test> -> continue'
milter_stop
check_eq "the first run stops cleanly" 0 "${milter_status:-?}"

# 2. Restart with a dead resolver, damage the store under the daemon.
write_config 127.0.0.1@9
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || bail "the milter did not restart"
/usr/bin/python3 - "$dir/cache.db" <<'PY' || bail "cannot damage the store"
import sys
with open(sys.argv[1], "r+b") as f:
    head = f.read(100)
    page = int.from_bytes(head[16:18], "big") or 65536
    size = f.seek(0, 2)
    f.seek(page)
    f.write(b"\xa5" * (size - page))
print("# damaged %s: %d bytes after the first page of %d" % (sys.argv[1], size - page, page))
PY
{ head_script; rcpt u@good.test good.test; echo abort; } | session damaged
check "store unreadable, DNS dead: OnStoreError tempfail -> 451 4.3.0" \
    has damaged 'rcpt <u@good.test> -> tempfail 451 4.3.0'
check "the RCPT line says store-error, not dns-error" \
    logged 'rcpt=<u@good.test> domain=good.test .*verdict=tempfail .*reason=store-error'
check "the store failure is logged" logged 'domain=good.test event=store-error'
milter_stop
finish
