#!/bin/sh
# daemon_check.sh - "mtasts-milter -n" refuses what start-up would refuse,
# with the same reason and EX_CONFIG (78), and the daemon opens what -n
# accepts.  Guards issue 18 ("config check gaps") and issue 12 item 6:
#   - -p with a unix path over libmilter's 106 bytes exited 1 at start
#     where the same value in the file got 78 from -n; now both are 78
#     with "socket path over 106 bytes", and 106 bytes still pass;
#   - a relative Store passed -n and the daemon then exited 1;
#   - "SocketMap Unix:/path" passed -n and the socketmap then refused to
#     start: one socket spec parser reads the scheme in any case;
#   - an unknown UserID, and a TLSRPTSocket path the kernel cannot bind,
#     are refused by -n, not only at start;
#   - (root) a local: socket is handed to UserID like a unix: one, and
#     the store's files too (the store names them, not the daemon).
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/cli/daemon_check.sh
#   MTASTS_MILTER  the daemon (default milter/mtasts-milter)
set -u
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS_MILTER milter/mtasts-milter

x10=xxxxxxxxxx
x100=$x10$x10$x10$x10$x10$x10$x10$x10$x10$x10
# Paths of exactly 106 and 107 bytes: $tmp + "/" + padding.
pad() { _n=$(($1 - ${#tmp} - 1)) && printf '%s/%s' "$tmp" "$(printf '%s' "$x100$x100" | cut -c1-"$_n")"; }
p106=$(pad 106)
p107=$(pad 107)
[ ${#p106} -eq 106 ] && [ ${#p107} -eq 107 ] || bail "cannot make the test paths (tmp is $tmp)"

# run_n NAME [ARGS...]: mtasts-milter -n -c $tmp/NAME.conf ARGS, status in rc
run_n() {
    _f=$1
    shift
    "$MTASTS_MILTER" -n -c "$tmp/$_f.conf" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cp "$tmp/err" "$TAP_CONTEXT"
}
conf() {
    _f=$1
    shift
    printf '%s\n' "Store sqlite:$tmp/cache.db" "$@" >"$tmp/$_f.conf"
}
reason() { sed 's/.*": //' "$tmp/err"; }

conf empty
conf long "Socket unix:$p107"
run_n long
check_eq "Socket with a 107-byte path in the file: -n exits 78" 78 "$rc"
file_reason=$(reason)
check_eq "the file's reason" "socket path over 106 bytes" "$file_reason"

"$MTASTS_MILTER" -f -c "$tmp/empty.conf" -p "unix:$p107" >"$tmp/out" 2>"$tmp/err"
rc=$?
cp "$tmp/err" "$TAP_CONTEXT"
check_eq "-p with the same path: the daemon exits 78 before it starts" 78 "$rc"
check_eq "-p gives the file's reason" "$file_reason" "$(reason)"
run_n empty -p "unix:$p107"
check_eq "-n -p with the same path exits 78" 78 "$rc"
run_n empty -p "unix:$p106"
check_eq "-n -p with a 106-byte path exits 0" 0 "$rc"
conf ok106 "Socket local:$p106"
run_n ok106
check_eq "Socket local: with a 106-byte path: -n exits 0" 0 "$rc"
run_n empty -p "tcp:8891"
check_eq "-n -p tcp:8891 exits 78" 78 "$rc"
check "-n -p tcp:8891 says why" grep -q 'unknown socket type' "$tmp/err"

for store in rel.db sqlite:rel.db; do
    printf 'Store %s\n' "$store" >"$tmp/rel.conf"
    run_n rel
    check_eq "Store $store: -n exits 78" 78 "$rc"
    check "Store $store: -n says it must be absolute" grep -q 'Store: .*must be an absolute path' "$tmp/err"
done

# TLSRPTSocket is our own datagram socket: the kernel's 107 bytes.
conf dgram "TLSRPTSocket $p107/x"
run_n dgram
check_eq "TLSRPTSocket over 107 bytes: -n exits 78" 78 "$rc"
check "TLSRPTSocket over 107 bytes: -n says why" grep -q 'TLSRPTSocket: socket path over 107 bytes' "$tmp/err"

conf nouser "UserID no-such-user-mtasts"
run_n nouser
check_eq "UserID of an unknown user: -n exits 78" 78 "$rc"
check "UserID of an unknown user: -n says why" grep -q 'UserID: unknown user no-such-user-mtasts' "$tmp/err"

# The scheme in capitals: -n accepts it and the socketmap opens it.
conf caps "Socket Unix:$tmp/m.sock" "SocketMap Unix:$tmp/s.sock" "Syslog no" "LogFile -"
run_n caps
check_eq "SocketMap Unix:PATH: -n exits 0" 0 "$rc"
if milter_start "$tmp/caps.conf" "$tmp/s.sock" "$tmp/caps.log"; then
    ok "SocketMap Unix:PATH: the daemon starts and the socketmap listens"
    check "the milter socket Unix:PATH exists" [ -S "$tmp/m.sock" ]
    milter_stop
else
    cp "$tmp/caps.log" "$TAP_CONTEXT"
    nok "SocketMap Unix:PATH: the daemon starts and the socketmap listens"
fi

# As root: local: sockets and the store's files go to UserID.
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
    skip "local: sockets and the store are handed to UserID" "needs root and user nobody"
else
    chmod 755 "$tmp"
    conf owner "Socket local:$tmp/o.sock" "SocketMap local:$tmp/os.sock" "UserID nobody" \
        "Syslog no" "LogFile -"
    sed -i "s|^Store .*|Store sqlite:$tmp/owned.db|" "$tmp/owner.conf"
    if milter_start "$tmp/owner.conf" "$tmp/os.sock" "$tmp/owner.log" &&
        wait_until 10 grep -q 'event=start status=ok' "$tmp/owner.log"; then
        owners=$(stat -c '%U' "$tmp/o.sock" "$tmp/os.sock" "$tmp/owned.db" | tr '\n' ' ')
        check_eq "local: milter socket, local: socketmap, store: owned by nobody" \
            "nobody nobody nobody " "$owners"
        milter_stop
    else
        cp "$tmp/owner.log" "$TAP_CONTEXT"
        nok "the daemon starts with local: sockets and UserID nobody"
    fi
fi
finish
