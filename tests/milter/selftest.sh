#!/bin/sh
# Self-test of the milter protocol client (tests/milter/miltc) against the
# no-op libmilter filter (tests/milter/noop_filter) and against a fake
# filter that misbehaves on purpose.  Guards the protocol as Postfix 3.7
# speaks it (src/milter/milter8.c) and libmilter 8.17 answers it:
# negotiation (SMFIC_OPTNEG version 6, SMFIP_NO*/SMFIP_NR_* honoured), every
# stage, macros, reply codes, the eom modification requests, abort,
# quit/quit_nc, SMFIR_SKIP/ACCEPT session states, and that malformed,
# oversized, truncated or silent replies end in exit 1 with a reason,
# never a crash or a hang.
#
# Usage: sh tests/milter/selftest.sh   (from the build directory)
# Env:   MILTC (default tests/milter/miltc), NOOP_FILTER (default
#        tests/milter/noop_filter); PYTHON for the fake filter (default
#        /usr/bin/python3, else python3; its tests are skipped without one).
# Builds nothing; starts its filters on sockets in a mktemp directory and
# stops them by PID.

# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MILTC tests/milter/miltc
need_bin NOOP_FILTER tests/milter/noop_filter
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3 || true); fi
fi

# has DESC FILE PATTERN: pass when FILE has a line with the fixed string PATTERN.
has() {
    grep -qF -- "$3" "$2" || {
        fail "no line with: $3" "in $2:"
        sed 's/^/  /' "$2" >>"$TAP_WHY"
    }
    ok "$1"
}
# same DESC WANTFILE GOTFILE
same() {
    diff "$2" "$3" >"$tmp/diff" 2>&1 || {
        fail "diff want got:"
        sed 's/^/  /' "$tmp/diff" >>"$TAP_WHY"
    }
    ok "$1"
}
# run NAME SOCKET [MILTC-ARGS...] < script: output in $tmp/NAME.out/.err, status in $rc
run() {
    _name=$1 _sock=$2
    shift 2
    "$MILTC" -s "$_sock" "$@" >"$tmp/$_name.out" 2>"$tmp/$_name.err"
    rc=$?
}
# wait_ready SPEC: until a milter session on SPEC succeeds, 10 s at most.
session_ok() { echo quit | "$MILTC" -s "$1" -t 500 >/dev/null 2>&1; }
wait_ready() { wait_until 10 session_ok "$1"; }
# start_filter NAME ARGS...: noop_filter on unix:$tmp/NAME.sock; PID in $pid
start_filter() {
    _name=$1
    shift
    "$NOOP_FILTER" -p "unix:$tmp/$_name.sock" "$@" >"$tmp/$_name.log" 2>&1 &
    pid=$!
    track "$pid"
    wait_ready "unix:$tmp/$_name.sock"
}

plan 63

# ---- the filters
start_filter a -H -e -T
ready_a=$?
pid_a=$pid
start_filter m -m
ready_m=$?
start_filter nr -P df080 -S
ready_nr=$?
start_filter no -P 100023 -H
ready_no=$?
check_eq "four noop filters accept on their sockets" "0 0 0 0" "$ready_a $ready_m $ready_nr $ready_no"
A=unix:$tmp/a.sock

# ---- negotiation and every stage, with macros
cat >"$tmp/full.script" <<'EOF'
# one message through every stage, Postfix-style macros
macro C j=mx.test {daemon_name}=smtpd
connect mta.example.net 192.0.2.1 4711
helo mta.example.net
macro M i=ABC123
mail <a@sender.test> SIZE=100
macro R {rcpt_mailer}=smtp {rcpt_host}=example.com {rcpt_addr}=b@example.com
rcpt <b@example.com>
data
header Subject hello world
header From: "<a@sender.test>"
eoh
body Hello there
eom
quit
EOF
run full "$A" "$tmp/full.script"
check_eq "full session exits 0" 0 "$rc"
grep -v 'X-Noop-Trace' "$tmp/full.out" >"$tmp/full.got"
cat >"$tmp/full.want" <<'EOF'
negotiate -> version 6 actions 0x00000001 protocol 0x00000000
connect mta.example.net 192.0.2.1 4711 -> continue
helo mta.example.net -> continue
mail <a@sender.test> SIZE=100 -> continue
rcpt <b@example.com> -> continue
data -> continue
header Subject hello world -> continue
header From: "<a@sender.test>" -> continue
eoh -> continue
body Hello there -> continue
eom addheader X-Noop: 1
eom -> continue
EOF
same "negotiation (libmilter 8.17: version 6, SMFIF_ADDHDRS, no protocol bits) and every stage" \
    "$tmp/full.want" "$tmp/full.got"
has "connect carries host, address and port" "$tmp/full.out" "connect=mta.example.net/192.0.2.1:4711"
has "C macros reach the filter" "$tmp/full.out" "j=mx.test daemon=smtpd"
has "R macros reach the filter" "$tmp/full.out" "rcpt=<b@example.com>/smtp/example.com/b@example.com"
has "M macro i reaches eom" "$tmp/full.out" "i=ABC123"
has "mail ESMTP args, headers and body counted" "$tmp/full.out" \
    "mail=<a@sender.test>,SIZE=100 rcpt=<b@example.com>/smtp/example.com/b@example.com data hdrs=2 eoh body=13"

# ---- recipients and reply codes
cat >"$tmp/rcpts.script" <<'EOF'
connect mta.example.net 192.0.2.1
helo mta.example.net
mail <a@sender.test>
rcpt <b@example.com>
rcpt <c@example.com>
rcpt <d@example.org>
rcpt <tempfail@example.com>
rcpt <multiline@example.com>
rcpt <replyreject@example.com>
rcpt <reject@example.com>
data
eoh
eom
EOF
run rcpts "$A" "$tmp/rcpts.script"
check_eq "recipient session exits 0" 0 "$rc"
check_eq "three recipients continue" 3 "$(grep -c '^rcpt <[bcd]@example\.[a-z]*> -> continue$' "$tmp/rcpts.out")"
has "all recipients reach the filter" "$tmp/rcpts.out" \
    "rcpt=<b@example.com>/-/-/- rcpt=<c@example.com>/-/-/- rcpt=<d@example.org>/-/-/-"
has "SMFIR_REPLYCODE 4xx is a tempfail with its text" "$tmp/rcpts.out" \
    "rcpt <tempfail@example.com> -> tempfail 451 4.7.5 noop tempfail"
has "multi-line reply code, CRLF escaped" "$tmp/rcpts.out" \
    'rcpt <multiline@example.com> -> tempfail 451-4.7.5 noop line one\r\n451 4.7.5 noop line two'
has "SMFIR_REPLYCODE 5xx is a reject with its text" "$tmp/rcpts.out" \
    "rcpt <replyreject@example.com> -> reject 550 5.7.1 noop reject"
has "plain SMFIR_REJECT" "$tmp/rcpts.out" "rcpt <reject@example.com> -> reject"
has "implicit quit after the last line; eom still answered" "$tmp/rcpts.out" "eom -> continue"

# ---- abort, accept, session reject, skip, quit_nc, close
cat >"$tmp/states.script" <<'EOF'
connect mta.example.net 192.0.2.1
helo mta.example.net
mail <first@sender.test>
rcpt <aborted@example.com>
abort
mail <second@sender.test>
rcpt <b@example.com>
data
eoh
eom
mail <third@sender.test>
rcpt <accept@example.com>
rcpt <after-accept@example.com>
data
eom
mail <fourth@sender.test>
rcpt <b@example.com>
data
eoh
body skip the rest
body more
eom
quit_nc
connect second.example.net /run/client.sock
helo reject.example
mail <x@y.test>
eom
quit
EOF
run states "$A" "$tmp/states.script"
check_eq "state session exits 0" 0 "$rc"
has "abort mid-transaction resets the filter's message state" "$tmp/states.out" \
    "helo=mta.example.net mail=<second@sender.test> rcpt=<b@example.com>/-/-/- data hdrs=0"
check_eq "SMFIR_ACCEPT at rcpt: rest of the message unsent" \
    "rcpt <accept@example.com> -> accept|rcpt <after-accept@example.com> -> unsent accepted|data -> unsent accepted|eom -> unsent accepted" \
    "$(sed -n '/accept@/,/^eom/p' "$tmp/states.out" | paste -sd '|' -)"
has "next transaction after accept is sent" "$tmp/states.out" "mail <fourth@sender.test> -> continue"
check_eq "SMFIR_SKIP stops further body chunks" "body skip the rest -> skip|body more -> unsent skip" \
    "$(grep '^body' "$tmp/states.out" | paste -sd '|' -)"
has "after SMFIR_SKIP, eom is sent again" "$tmp/states.out" "body=15 i=-"
has "quit_nc: a new connect on the same socket (unix family)" "$tmp/states.out" \
    "connect second.example.net /run/client.sock -> continue"
check_eq "reject at HELO ends the filter's part in the session" \
    "helo reject.example -> reject|mail <x@y.test> -> unsent rejected|eom -> unsent rejected" \
    "$(sed -n '/^helo reject/,$p' "$tmp/states.out" | paste -sd '|' -)"
printf 'connect h 192.0.2.9\nhelo accept.example\nmail <a@b.test>\nclose\nrcpt <never@b.test>\n' >"$tmp/close.script"
run close "$A" "$tmp/close.script"
check_eq "accept at HELO, then close drops the session" \
    "0|helo accept.example -> accept|mail <a@b.test> -> unsent accepted|" \
    "$rc|$(sed -n '3,$p' "$tmp/close.out" | paste -sd '|' -)|$(grep -c never "$tmp/close.out" | sed 's/^0$//')"

# ---- many sessions
printf 'connect h 192.0.2.1\nhelo h\nmail <a@b.test>\nrcpt <c@d.test>\ndata\nheader Subject x\neoh\nbody x\neom\nquit\n' \
    >"$tmp/short.script"
run many "$A" -n 100 "$tmp/short.script"
check_eq "100 sequential sessions (-n 100) exit 0" 0 "$rc"
check_eq "100 eom replies" 100 "$(grep -c '^eom -> continue$' "$tmp/many.out")"
run quiet "$A" -q -n 100 "$tmp/short.script"
check_eq "-q prints one summary line" "0|sessions=100 ok=100 failed=0" \
    "$rc|$(sed 's/ elapsed_ms=[0-9]*$//' "$tmp/quiet.out")"

# ---- every modification request (filter -m)
run mods "unix:$tmp/m.sock" <<'EOF'
connect mta.example.net 2001:db8::25 25
helo mta.example.net
mail <a@sender.test>
rcpt <b@example.com>
data
header Subject hi
header X-Drop gone
eoh
body "abc\r\n"
eom
EOF
cat >"$tmp/mods.want" <<'EOF'
negotiate -> version 6 actions 0x000000ff protocol 0x00000000
connect mta.example.net 2001:db8::25 25 -> continue
helo mta.example.net -> continue
mail <a@sender.test> -> continue
rcpt <b@example.com> -> continue
data -> continue
header Subject hi -> continue
header X-Drop gone -> continue
eoh -> continue
body "abc\r\n" -> continue
eom insheader 0 X-Noop-Ins: first
eom chgheader 1 Subject: changed by noop
eom delheader 1 X-Drop
eom addrcpt <added@example.org>
eom addrcpt_par <added-par@example.org> NOTIFY=NEVER
eom delrcpt <b@example.com>
eom chgfrom <new@sender.test>
eom replbody 10 new body\r\n
eom quarantine noop quarantine
eom -> continue
EOF
check_eq "modification session exits 0" 0 "$rc"
same "every SMFIR_* modification request is collected in order" "$tmp/mods.want" "$tmp/mods.out"

# ---- negotiated protocol bits: no replies (SMFIP_NR_*), macro lists
run nr "unix:$tmp/nr.sock" -t 2000 "$tmp/full.script"
cat >"$tmp/nr.want" <<'EOF'
negotiate -> version 6 actions 0x00000000 protocol 0x000df080
negotiate symlist R {rcpt_mailer} {rcpt_host}
negotiate symlist E i
connect mta.example.net 192.0.2.1 4711 -> noreply
helo mta.example.net -> noreply
mail <a@sender.test> SIZE=100 -> noreply
rcpt <b@example.com> -> noreply
data -> noreply
header Subject hello world -> noreply
header From: "<a@sender.test>" -> noreply
eoh -> noreply
body Hello there -> noreply
eom -> continue
EOF
check_eq "SMFIP_NR_* session exits 0 (no reply awaited)" 0 "$rc"
same "SMFIP_NR_* bits and smfi_setsymlist lists honoured" "$tmp/nr.want" "$tmp/nr.out"

# ---- declined events (SMFIP_NOCONNECT|NOHELO|NOHDRS) and SMFIP_HDR_LEADSPC
run no "unix:$tmp/no.sock" "$tmp/full.script"
check_eq "declined events: connect, helo, headers unsent; others sent" \
    "0|unsent declined|unsent declined|continue|unsent declined|unsent declined|continue" \
    "$rc|$(grep -E '^(connect|helo|mail|header|eoh) ' "$tmp/no.out" | sed 's/.*-> //' | paste -sd '|' -)"
has "SMFIP_HDR_LEADSPC: header printed without the added space" "$tmp/no.out" "eom addheader X-Noop:1"

# ---- inet sockets: libmilter form PORT@HOST and Postfix form HOST:PORT
ready_i=1
for _try in 1 2 3 4 5; do
    port=$(awk -v s="$$$_try" 'BEGIN { srand(s); print int(20000 + rand() * 40000) }')
    "$NOOP_FILTER" -p "inet:$port@127.0.0.1" -H >"$tmp/inet.log" 2>&1 &
    pid=$!
    track "$pid"
    if wait_ready "inet:$port@127.0.0.1"; then ready_i=0; break; fi
    kill "$pid" 2>/dev/null
done
if [ "$ready_i" = 0 ]; then
    run inet1 "inet:$port@127.0.0.1" "$tmp/short.script"
    run inet2 "inet:127.0.0.1:$port" "$tmp/short.script"
    check_eq "inet:PORT@HOST and inet:HOST:PORT sessions" "X-Noop: 1|X-Noop: 1" \
        "$(sed -n 's/^eom addheader //p' "$tmp/inet1.out")|$(sed -n 's/^eom addheader //p' "$tmp/inet2.out")"
else
    nok "inet:PORT@HOST and inet:HOST:PORT sessions" "no free port for the filter"
fi

# ---- errors: connection, usage, script
run nosock "unix:$tmp/nonexistent.sock" "$tmp/short.script"
check_eq "non-existent socket: exit 1, clear message" \
    "1|miltc: connect unix:$tmp/nonexistent.sock: No such file or directory" "$rc|$(cat "$tmp/nosock.err")"
"$MILTC" "$tmp/short.script" >/dev/null 2>"$tmp/nos.err"
check_eq "no -s: exit 2" "2|miltc: no socket (-s)" "$?|$(head -n 1 "$tmp/nos.err")"
"$MILTC" -s "$A" -t 0 "$tmp/short.script" >/dev/null 2>&1
check_eq "bad -t: exit 2" 2 "$?"
"$MILTC" -s "$A" "$tmp/missing.script" >/dev/null 2>&1
check_eq "missing script file: exit 2" 2 "$?"
# script TEXT WANT-STDERR
bad_script() {
    printf '%s\n' "$1" >"$tmp/bad.script"
    run bad "$A" "$tmp/bad.script"
    check_eq "malformed script ($(printf '%s' "$1" | tr '\n' ';')): exit 2, nothing connected" "2|miltc: $tmp/bad.script:$2|" \
        "$rc|$(cat "$tmp/bad.err")|$(cat "$tmp/bad.out")"
}
bad_script "connect h 192.0.2.1
bogus command" "2: unknown command: bogus command"
bad_script "macro X a=b" "1: macro stage must be one of C H M R T E N: macro X a=b"
bad_script "rcpt" "1: wrong number of arguments: rcpt"
bad_script "helo \"unterminated" "1: unterminated quote: helo \"unterminated"
bad_script "eom now" "1: takes no arguments: eom now"
bad_script "connect h
negotiate" "2: negotiate must be the first command: negotiate"

# ---- a fake filter that misbehaves, one socket per fault
cat >"$tmp/fake.py" <<'EOF'
import os, random, socket, struct, sys, threading
d = sys.argv[1]
def pkt(c, data=b''): return struct.pack('>I', len(data) + 1) + c + data
def recvall(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: return None
        b += x
    return b
def readpkt(c):
    h = recvall(c, 4)
    if h is None: return None
    b = recvall(c, struct.unpack('>I', h)[0])
    return None if b is None else (b[:1], b[1:])
def optneg(ver=6, act=0, proto=0): return pkt(b'O', struct.pack('>III', ver, act, proto))
EARLY = {  # reply to SMFIC_OPTNEG
    'oversize': struct.pack('>I', 0x100000) + b'O', 'zerolen': b'\0\0\0\0',
    'wrongneg': pkt(b'c'), 'shortneg': pkt(b'O', b'\0\0\0\6\0'),
    'newver': optneg(7), 'badactions': optneg(6, 0x400),
    'truncated': struct.pack('>I', 100) + b'O123456789',
}
CONNECT = {  # reply to SMFIC_CONNECT
    'baddata': pkt(b'c', b'xx'), 'badcode': pkt(b'y', b'hello\0'),
    'modearly': pkt(b'h', b'X\0y\0'), 'progress': pkt(b'p') + pkt(b'p') + pkt(b'c'),
    'unknown': pkt(b'Z'),
}
EOM = {  # reply to SMFIC_BODYEOB
    'noaction': pkt(b'h', b'X\0y\0') + pkt(b'c'), 'badmod': pkt(b'h', b'X-No-Nul'),
}
def serve(mode, c, seed):
    rnd = random.Random(seed)
    try:
        if readpkt(c) is None: return
        if mode == 'eof': return
        if mode == 'silent' or mode in EARLY:
            c.sendall(EARLY.get(mode, b''))
            while c.recv(4096): pass
            return
        c.sendall(optneg(6, 0x1ff if mode == 'random' else 0x1 if mode == 'badmod' else 0))
        while True:
            p = readpkt(c)
            if p is None or p[0] in (b'Q', b'K'): return
            if p[0] in (b'D', b'A'): continue
            if mode == 'random':
                out = b''.join(pkt(bytes([rnd.choice(b'cahrtdyspbqime+-24fOZ')]),
                                   bytes(rnd.getrandbits(8) for _ in range(rnd.choice((0, 0, 1, 3, 9)))))
                               for _ in range(rnd.randint(1, 3)))
                if rnd.random() < 0.3:
                    out = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 12)))
                c.sendall(out)
            elif p[0] == b'C' and mode in CONNECT: c.sendall(CONNECT[mode])
            elif p[0] == b'E' and mode in EOM: c.sendall(EOM[mode])
            else: c.sendall(pkt(b'c'))
    except OSError:
        pass
    finally:
        c.close()
modes = sys.argv[2:]
socks = []
for m in modes:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(d, 'fake-%s.sock' % m)); s.listen(64); socks.append((m, s))
def accept_loop(m, s):
    k = 0
    while True:
        c, _ = s.accept(); k += 1
        threading.Thread(target=serve, args=(m, c, k), daemon=True).start()
for m, s in socks[:-1]:
    threading.Thread(target=accept_loop, args=(m, s), daemon=True).start()
accept_loop(*socks[-1])
EOF
FAULTS="silent oversize zerolen wrongneg shortneg newver badactions truncated eof baddata badcode modearly unknown noaction badmod progress random ok"
if [ -n "$PYTHON" ] && "$PYTHON" -c 'import socket' 2>/dev/null; then
    # shellcheck disable=SC2086
    "$PYTHON" "$tmp/fake.py" "$tmp" $FAULTS >"$tmp/fake.log" 2>&1 &
    track "$!"
    if wait_ready "unix:$tmp/fake-ok.sock"; then fake=ok; else fake=""; fi
else
    fake=""
fi
printf 'connect h 192.0.2.1\nhelo h\nmail <a@b.test>\nrcpt <c@d.test>\ndata\neoh\nbody x\neom\nquit\n' \
    >"$tmp/fake.script"
# fault MODE STDERR-FRAGMENT
fault() {
    if [ -z "$fake" ]; then
        skip "fake filter '$1': exit 1 with reason" "no python3 for the fake filter"
        return
    fi
    run "fault-$1" "unix:$tmp/fake-$1.sock" -t 300 "$tmp/fake.script"
    if [ "$rc" = 1 ] && grep -qF -- "$2" "$tmp/fault-$1.err"; then
        ok "fake filter '$1': exit 1 with reason"
    else
        nok "fake filter '$1': exit 1 with reason" "want: 1 and stderr with: $2" \
            "got:  $rc $(cat "$tmp/fault-$1.err")"
    fi
}
fault silent "negotiate: timeout after 300 ms: waiting for the reply to SMFIC_OPTNEG"
fault oversize "packet length 1048576 in reply to SMFIC_OPTNEG (allowed 1..65536)"
fault zerolen "packet length 0 in reply to SMFIC_OPTNEG"
fault wrongneg "unexpected reply 'c' to SMFIC_OPTNEG"
fault shortneg "SMFIC_OPTNEG reply too short"
fault newver "filter wants protocol version 7, offered 6"
fault badactions "filter wants actions 0x400, offered 0x1ff"
fault truncated "timeout after 300 ms: waiting for the reply to SMFIC_OPTNEG"
fault eof "filter closed the connection: waiting for the reply to SMFIC_OPTNEG"
fault baddata "line 1 (connect h 192.0.2.1): reply 'c' to SMFIC_CONNECT carries 2 data bytes"
fault badcode "malformed SMFIR_REPLYCODE to SMFIC_CONNECT"
fault modearly "unexpected reply 'h' to SMFIC_CONNECT"
fault unknown "unexpected reply 'Z' to SMFIC_CONNECT"
fault noaction "SMFIR_ADDHEADER in reply to SMFIC_BODYEOB without the action negotiated"
fault badmod "malformed SMFIR_ADDHEADER in reply to SMFIC_BODYEOB"
if [ -n "$fake" ]; then
    run progress "unix:$tmp/fake-progress.sock" -t 300 "$tmp/fake.script"
    check_eq "SMFIR_PROGRESS keeps the client waiting" "0|connect h 192.0.2.1 -> continue" \
        "$rc|$(sed -n 2p "$tmp/progress.out")"
    # random replies: every run ends in 0 or 1, never a crash, hang or sanitizer report
    bad=""
    i=0
    while [ $i -lt 150 ]; do
        i=$((i + 1))
        run random "unix:$tmp/fake-random.sock" -t 100 "$tmp/fake.script"
        if [ "$rc" -gt 1 ] || grep -q 'Sanitizer\|runtime error' "$tmp/random.err"; then
            bad="run $i: exit $rc: $(head -c 300 "$tmp/random.err")"
            break
        fi
    done
    check_eq "150 sessions of random replies: exit 0 or 1, no crash" "" "$bad"
else
    skip "SMFIR_PROGRESS keeps the client waiting" "no python3 for the fake filter"
    skip "150 sessions of random replies: exit 0 or 1, no crash" "no python3 for the fake filter"
fi

# ---- the filter stops by PID
kill "$pid_a"
wait "$pid_a"
st=$?
check_eq "noop_filter stops on SIGTERM with status 0" 0 "$st"
untrack "$pid_a"

finish
