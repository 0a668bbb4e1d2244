#!/bin/sh
# notify.sh - the daemon's systemd notifications (Type=notify, issue 16
# item 2; sd_notify(3) protocol) and the LogFile reopen on SIGHUP: with
# $NOTIFY_SOCKET set, READY=1 arrives once the milter socket accepts (not
# before), a SIGHUP sends RELOADING=1 with MONOTONIC_USEC and then READY=1,
# and reopens LogFile after a rotation; SIGTERM sends STOPPING=1; without
# $NOTIFY_SOCKET the daemon starts as before.  Needs no test world and no
# root; skips without /usr/bin/python3 (the stand-in for systemd).
set -u
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin MILTC tests/milter/miltc
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 is missing"
unset NOTIFY_SOCKET # our own below, never a real manager's
sock=$tmp/milter.sock
log=$tmp/milter.log
cat >"$tmp/milter.conf" <<CONF
Socket unix:$sock
Store sqlite:$tmp/cache.db
Syslog no
LogFile $log
CONF

# the stand-in for systemd's notification socket
/usr/bin/python3 "$srcdir/tests/lib/notify_sink.py" "$tmp/notify" "$tmp/notes" >"$tmp/sink.out" 2>&1 &
track $!
wait_until 10 grep -q listening "$tmp/sink.out" || bail "notify_sink.py did not start"
note() { grep -q -x -- "$1" "$tmp/notes" 2>/dev/null; }
count() { grep -c -x -- "$1" "$tmp/notes" 2>/dev/null || :; }
session_ok() { echo quit | "$MILTC" -s "unix:$sock" -t 2000 >/dev/null 2>&1; }

NOTIFY_SOCKET=$tmp/notify "$MTASTS_MILTER" -f -c "$tmp/milter.conf" </dev/null \
    >"$tmp/milter.stderr" 2>&1 &
milter_pid=$!
okif "READY=1 arrives" "$(cat "$tmp/milter.stderr" "$log" 2>/dev/null)" wait_until 10 note READY=1
check "by READY=1 the milter socket accepts a session" session_ok
check "READY=1 carries a STATUS= naming the socket" note "STATUS=running, milter on unix:$sock"

# --- SIGHUP: RELOADING=1 + MONOTONIC_USEC, READY=1 again, LogFile reopened
mv "$log" "$log.1"
kill -HUP "$milter_pid"
okif "SIGHUP: RELOADING=1" "$(cat "$tmp/notes")" wait_until 10 note RELOADING=1
check "RELOADING=1 comes with MONOTONIC_USEC" grep -q '^MONOTONIC_USEC=[0-9][0-9]*$' "$tmp/notes"
okif "after the reload: READY=1 again" "$(cat "$tmp/notes")" \
    wait_until 10 eval '[ "$(count READY=1)" -ge 2 ]'
check "the reload says so in STATUS=" note "STATUS=running, configuration reloaded"
okif "SIGHUP reopened LogFile: the reload's line is in a new file" \
    "$(ls -l "$tmp")" wait_until 10 grep -q 'event=reload status=ok' "$log"
check "the rotated file kept the lines before it" grep -q 'event=start status=ok' "$log.1"

# --- SIGTERM: STOPPING=1
milter_stop
check "SIGTERM: STOPPING=1" note STOPPING=1
check_eq "the daemon exits 0" 0 "$milter_status"

# --- no NOTIFY_SOCKET: starts and runs as before, sends nothing
: >"$tmp/notes"
milter_start "$tmp/milter.conf" "$sock" "$tmp/milter.stderr"
check "without NOTIFY_SOCKET the daemon starts" session_ok
milter_stop
check_eq "and sends nothing" "" "$(cat "$tmp/notes")"
finish
