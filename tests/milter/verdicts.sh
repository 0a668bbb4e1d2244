#!/bin/sh
# verdicts.sh - mtasts-milter at the milter protocol level, against the
# local test world: every verdict row and action of mtasts-milter(8)
# (RFC 8461 §4.1 MX matching, §5 policy application; RFC 3463 reply codes),
# audit tagging, forged-header removal, the lookup deadline, SIGHUP reload
# (good and bad files) and a clean SIGTERM.
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
cat >"$dir/overrides" <<EOF
# mismatch.test is broken on purpose: let its mail through
mismatch.test skip
# force TLS to nopolicy.test's MX although it publishes no policy
nopolicy.test enforce *.elsewhere.test
EOF
write_config() { # write_config MODE DEADLINE ON-TIMEOUT [OVERRIDES-FILE]
    cat >"$dir/milter.conf" <<EOF
${4:+OverridesFile $4}
Socket unix:$sock
Mode $1
Store sqlite:$dir/cache.db
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
LookupDeadline $2
OnDiscoveryTimeout $3
TLSChecks no
TrustedRelays [relay.trusted.test]
SocketMap unix:$dir/socketmap.sock
Syslog no
LogFile $log
LogLevel debug
EOF
}
write_config enforce 3s accept

milter_start "$dir/milter.conf" "$sock" "$dir/milter.stderr" || {
    sed 's/^/# /' "$dir/milter.stderr" "$log" 2>/dev/null
    bail "the milter did not open $sock"
}

rcpt() { # rcpt ADDR MAILER HOST
    printf 'macro R {rcpt_mailer}=%s {rcpt_host}=%s\nrcpt <%s>\n' "$2" "$3" "$1"
}

# Warm the cache first so the verdict tests do not depend on cold timing.
{ head_script
  for d in good testing none mismatch nomx; do rcpt "u@$d.test" smtp "$d.test"; done
  echo abort; } | session warm

# --- the socketmap policy server started by the daemon (socketmap_table(5))
smap() { # smap KEY: one request, prints the reply netstring
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
q = ("postfix " + sys.argv[2]).encode()
s.sendall(str(len(q)).encode() + b":" + q + b",")
print(s.recv(4096).decode())' "$dir/socketmap.sock" "$1"
}
r=$(smap good.test)
check_eq "the daemon's socketmap answers an enforce domain" \
    "49:OK secure match=mx1.good.test servername=hostname," "$r"
check_eq "the daemon's socketmap: testing -> NOTFOUND" "9:NOTFOUND ," "$(smap testing.test)"

# --- enforce mode, direct delivery (RFC 8461 §4.1)
{ head_script; rcpt u@good.test smtp good.test; echo abort; } | session good
check "enforce: MX matches the policy -> continue" has good 'rcpt <u@good.test> -> continue'
check "enforce: log line says pass/mx-match" logged 'rcpt=<u@good.test> domain=good.test mode=enforce policy=enforce .*verdict=pass would_fail=no reason=mx-match'

{ head_script; rcpt u@MisMatch.Test smtp mismatch.test; echo abort; } | session mismatch
check "enforce: no MX matches the policy -> 451 4.7.0 naming the domain" \
    has mismatch 'rcpt <u@MisMatch.Test> -> tempfail 451 4.7.0 .*mismatch.test'
check "mx-mismatch is logged" logged 'domain=mismatch.test .*verdict=tempfail would_fail=yes reason=mx-mismatch'

{ head_script; rcpt u@nomx.test smtp nomx.test; echo abort; } | session nomx
# RFC 5321 section 5.1: no MX record and no address record: nowhere to
# deliver, so an enforce policy cannot be met.
check "enforce policy, no MX and no address record -> 451 4.4.4" \
    has nomx 'rcpt <u@nomx.test> -> tempfail 451 4.4.4 .*nomx.test'
check "no-mx is logged" logged 'domain=nomx.test .*reason=no-mx'

{ head_script; rcpt u@testing.test smtp testing.test; rcpt u@none.test smtp none.test
  rcpt u@nopolicy.test smtp nopolicy.test; echo abort; } | session modes
check "policy testing never fails" has modes 'rcpt <u@testing.test> -> continue'
check "policy testing is logged with would_fail" logged 'domain=testing.test .*policy=testing'
check "policy none passes" has modes 'rcpt <u@none.test> -> continue'
check "no policy passes" has modes 'rcpt <u@nopolicy.test> -> continue'

# --- local overrides, loaded by a SIGHUP reload
write_config enforce 3s accept "$dir/overrides"
kill -HUP "$milter_pid"
wait_until 5 reloads ok 1
check "SIGHUP reloads the configuration and the overrides" logged 'event=reload status=ok .*overrides=2'
{ head_script; rcpt u@mismatch.test smtp mismatch.test; rcpt u@nopolicy.test smtp nopolicy.test
  echo abort; } | session overrides
check "override skip lets the broken domain through" has overrides 'rcpt <u@mismatch.test> -> continue'
check "override skip is logged" logged 'domain=mismatch.test .*reason=override-skip'
check "override enforce without MTA-STS: MX not permitted -> 451 4.7.0" \
    has overrides 'rcpt <u@nopolicy.test> -> tempfail 451 4.7.0 .*nopolicy.test'

# --- routes
{ head_script; rcpt u@good.test local good.test; rcpt u@nomx.test virtual nomx.test
  echo abort; } | session local
check "local transport is not outbound" has local 'rcpt <u@good.test> -> continue'
check "virtual transport is not outbound" has local 'rcpt <u@nomx.test> -> continue'

{ head_script; rcpt u@good.test relay '[smarthost.example.net]'
  rcpt v@good.test relay '[relay.trusted.test]'; echo abort; } | session relay
check "untrusted relay for an enforce domain -> 451 4.7.0" \
    has relay 'rcpt <u@good.test> -> tempfail 451 4.7.0'
check "trusted relay passes" has relay 'rcpt <v@good.test> -> continue'
check "untrusted relay is logged" logged 'reason=untrusted-relay'

{ head_script; echo 'rcpt <u@good.test>'; echo abort; } | session nomacros
check "no route macros for an enforce domain -> 451 4.3.5" \
    has nomacros 'rcpt <u@good.test> -> tempfail 451 4.3.5'

# --- several domains in one message: only the failing one is refused
{ head_script; rcpt a@good.test smtp good.test; rcpt b@nomx.test smtp nomx.test
  rcpt c@none.test smtp none.test; echo 'header Subject multi'; echo eoh; echo eom
  echo quit; } | session multi
check "multi: good.test accepted" has multi 'rcpt <a@good.test> -> continue'
check "multi: nomx.test refused" has multi 'rcpt <b@nomx.test> -> tempfail 451 4.4.4'
check "multi: none.test accepted" has multi 'rcpt <c@none.test> -> continue'
check "multi: the message is tagged for the accepted domains" \
    has multi 'eom insheader 0 MTA-STS-Audit: good.test; mode=enforce; id=good1; verdict=pass;.*reason=mx-match.* none.test; mode=none; id=none1;.*verdict=pass; reason=policy-none'

# --- forged audit headers are removed
{ head_script; rcpt a@good.test smtp good.test; echo 'header MTA-STS-Audit evil.test; verdict=pass'
  echo 'header Subject forged'; echo eoh; echo eom; echo quit; } | session forged
check "a forged audit header is deleted" has forged 'eom delheader 1 MTA-STS-Audit'
check "and ours is added" has forged 'eom insheader 0 MTA-STS-Audit: good.test;'

# --- audit mode, switched by SIGHUP
write_config audit 3s accept
kill -HUP "$milter_pid"
wait_until 5 reloads ok 2
check "a second SIGHUP switches to audit mode" logged 'event=reload status=ok .*overrides=0'
{ head_script; rcpt u@nomx.test smtp nomx.test; echo 'header Subject audit'; echo eoh
  echo eom; echo quit; } | session audit
check "audit: a failing recipient is accepted" has audit 'rcpt <u@nomx.test> -> continue'
check "audit: the header says what enforce would do" \
    has audit 'eom insheader 0 MTA-STS-Audit: nomx.test; mode=enforce; id=nomx1; verdict=fail;.*reason=no-mx'
check "audit: the log says would_fail=yes" logged 'domain=nomx.test mode=audit .*verdict=pass would_fail=yes reason=no-mx'

# --- a bad configuration keeps the old one
echo "NoSuchKey yes" >>"$dir/milter.conf"
kill -HUP "$milter_pid"
wait_until 5 reloads failed 1
check "a bad file on SIGHUP is refused with file:line" logged "event=reload status=failed action=keep-old reason=\".*milter.conf:[0-9]*:"
{ head_script; rcpt u@nomx.test smtp nomx.test; echo abort; } | session afterbad
check "after a bad reload the old (audit) configuration still rules" has afterbad 'rcpt <u@nomx.test> -> continue'

# --- the lookup deadline (a server that never answers)
write_config enforce 1s tempfail
kill -HUP "$milter_pid"
wait_until 5 reloads ok 3
t0=$(date +%s%N)
{ head_script; rcpt u@stall.test smtp stall.test; echo abort; } | session stall
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "cold lookup of a stalled domain -> OnDiscoveryTimeout tempfail 451 4.4.3" \
    has stall 'rcpt <u@stall.test> -> tempfail 451 4.4.3'
check "the RCPT reply came within the 1 s deadline ($ms ms in all)" [ "$ms" -lt 2500 ]

# --- SIGTERM: clean exit
milter_stop
check_eq "SIGTERM: exit status 0" 0 "${milter_status:-?}"
check "SIGTERM: logged stop" logged 'event=stop status=ok'

finish
