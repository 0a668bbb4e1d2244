#!/bin/sh
# leaks.sh - mtasts-milter under valgrind: many sessions (several
# recipients, headers, eom with an audit header, aborts) then SIGTERM, and
# valgrind must report no leaked memory and no errors.  Guards the
# per-connection and per-message cleanup of mlfi.c (close, eom, abort).
LC_ALL=C
export LC_ALL
: "${srcdir:=.}"
MTASTS_MILTER=${MTASTS_MILTER:-milter/mtasts-milter}
MILTC=${MILTC:-tests/milter/miltc}
SESSIONS=${LEAK_SESSIONS:-200}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP the test world needs root"; exit 0; fi
for tool in valgrind nginx nsd; do
    command -v "$tool" >/dev/null 2>&1 || { echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
# A sanitizer build cannot run under valgrind.
if nm "$MTASTS_MILTER" 2>/dev/null | grep -q __asan_init; then
    echo "1..0 # SKIP sanitizer build"; exit 0
fi
WORLD_SH=$srcdir/tests/world/world.sh
case $WORLD_SH in /*) ;; *) WORLD_SH=$(pwd)/$WORLD_SH ;; esac
# shellcheck source=tests/world/world.sh
. "$WORLD_SH"
dir=$(mktemp -d "${TMPDIR:-/tmp}/leaks.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; world_stop >/dev/null 2>&1; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP
world_start >"$dir/world.log" 2>&1 || { echo "Bail out! world_start failed"; sed 's/^/# /' "$dir/world.log"; exit 99; }
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
i=0
while [ ! -S "$dir/milter.sock" ]; do
    i=$((i + 1))
    [ $i -le 300 ] && kill -0 "$pid" 2>/dev/null || { echo "Bail out! no milter socket"; exit 99; }
    sleep 0.1
done
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
n=0
n=$((n + 1))
if [ $rc = 0 ] && grep -q "sessions=$SESSIONS ok=$SESSIONS failed=0" "$dir/miltc.out"; then
    echo "ok $n - $SESSIONS sessions under valgrind"
else
    echo "not ok $n - $SESSIONS sessions under valgrind"; sed 's/^/# /' "$dir/miltc.out"
fi
kill -TERM "$pid"
wait "$pid"
vrc=$?
pid=
n=$((n + 1))
if [ $vrc = 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$dir/valgrind.log"; then
    echo "ok $n - valgrind: no leaks, no errors, clean exit"
else
    echo "not ok $n - valgrind: no leaks, no errors, clean exit (status $vrc)"
    grep -E "definitely|indirectly|ERROR SUMMARY|Invalid|uninitialised" "$dir/valgrind.log" | head -20 | sed 's/^/# /'
fi
echo "1..$n"
