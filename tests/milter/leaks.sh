#!/bin/sh
# leaks.sh - mtasts-milter under valgrind: many sessions (several
# recipients, headers, eom with an audit header, aborts) then SIGTERM, and
# valgrind must report no leaked memory and no errors.  Guards the
# per-connection and per-message cleanup of mlfi.c (close, eom, abort).
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_bin MILTC tests/milter/miltc
SESSIONS=${LEAK_SESSIONS:-200}
need_root
need_tools valgrind nginx nsd
# A sanitizer build cannot run under valgrind.
if nm "$MTASTS_MILTER" 2>/dev/null | grep -q __asan_init; then
    skip_all "sanitizer build"
fi
world_up
dir=$tmp
cat >"$dir/milter.conf" <<CONF
Socket unix:$dir/milter.sock
Mode audit
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
Syslog no
LogFile $dir/milter.log
CONF
valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=42 --log-file="$dir/valgrind.log" \
    "$MTASTS_MILTER" -f -c "$dir/milter.conf" &
pid=$!
track "$pid"
sock_or_dead() { [ -S "$dir/milter.sock" ] || ! alive "$pid"; }
wait_until 30 sock_or_dead
[ -S "$dir/milter.sock" ] || bail "no milter socket"
cat >"$dir/script" <<'S'
connect mx-out.example.net 127.0.0.1 42000
helo mx-out.example.net
macro M i=LEAKTEST
mail <sender@example.net>
macro R {rcpt_mailer}=smtp {rcpt_host}=good.test
rcpt <a@good.test>
macro R {rcpt_mailer}=smtp {rcpt_host}=mismatch.test
rcpt <b@mismatch.test>
macro R {rcpt_mailer}=smtp {rcpt_host}=nopolicy.test
rcpt <c@nopolicy.test>
header MTA-STS-Audit forged
header Subject leak test
eoh
eom
mail <sender2@example.net>
macro R {rcpt_mailer}=relay {rcpt_host}=[relay.example.net]
rcpt <d@good.test>
abort
quit
S
"$MILTC" -s "unix:$dir/milter.sock" -t 20000 -q -n "$SESSIONS" "$dir/script" >"$dir/miltc.out" 2>&1
rc=$?
grep -q "sessions=$SESSIONS ok=$SESSIONS failed=0" "$dir/miltc.out" || fail "$(cat "$dir/miltc.out")"
check "$SESSIONS sessions under valgrind" [ $rc = 0 ]
kill -TERM "$pid"
wait "$pid"
vrc=$?
untrack "$pid"
grep -q "ERROR SUMMARY: 0 errors" "$dir/valgrind.log" ||
    fail "$(grep -E "definitely|indirectly|ERROR SUMMARY|Invalid|uninitialised" "$dir/valgrind.log" | head -20)"
check "valgrind: no leaks, no errors, clean exit (status $vrc)" [ $vrc = 0 ]
finish
