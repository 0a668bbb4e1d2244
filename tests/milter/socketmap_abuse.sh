#!/bin/sh
# socketmap_abuse.sh - hostile socketmap clients against the real daemon
# (issue 18 item 0: the socketmap lockout at the connection cap by slow
# senders, and the unbounded reply queue of a client that pipelines without
# reading; item 3: malformed netstrings, NUL and control bytes in keys, a
# 1 MB key, pipelining then close).  The TAP comes from tests/milter/smap_abuse
# (its header lists what each part guards), run against mtasts-milter
# started here with the test world behind it.
#
# Runs from the build directory with srcdir set (automake does both):
#   MTASTS_MILTER  the daemon (default milter/mtasts-milter)
#   SMAP_ABUSE     the client (default tests/milter/smap_abuse)
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin SMAP_ABUSE tests/milter/smap_abuse
world_up
dir=$tmp
sock=$dir/milter.sock
log=$dir/milter.log
cat >"$dir/milter.conf" <<CONF
Socket unix:$sock
Mode enforce
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
TLSChecks no
SocketMap unix:$dir/socketmap.sock
SocketMapDeadline 1s
Syslog no
LogFile $log
LogLevel info
CONF
milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
    sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
    bail "the milter did not open $sock"
}
wait_until 10 test -S "$dir/socketmap.sock" || bail "no socketmap socket"
# Warm good.test so a normal lookup is a cache hit (cold, it may take the
# whole deadline and answer TEMP).
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
for _ in range(30):
    s.sendall(b"17:postfix good.test,")
    if b"OK secure" in s.recv(4096): break
' "$dir/socketmap.sock" || diag "warming good.test failed"
# The RSS a pipelining client may add: the previous code grew 5.5 MB in 30 s
# (and 314 MB for 1M requests under ASan, whose quarantine keeps freed
# memory: give a sanitizer build more room).
rss_kb=2048
grep -q -a __asan_init "$MTASTS_MILTER" && rss_kb=32768
"$SMAP_ABUSE" "$dir/socketmap.sock" "$milter_pid" "$rss_kb"
rc=$?
sed -n "s/.*\(socketmap event=[a-z-]*\).*/\1/p" "$log" | sort | uniq -c | sed "s/^/# /"
exit $rc
