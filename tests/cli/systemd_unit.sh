#!/bin/sh
# systemd_unit.sh - the systemd files made from contrib/systemd/*.in
# (issue 16 item 2): the unit has configure's paths, the readiness and
# ordering the issue asks for (Type=notify, Before=postfix.service
# sendmail.service), a _mtasts user, UMask 0007 and the hardening set;
# "systemd-analyze verify" finds nothing to warn about (with the
# Postfix-chroot drop-in too) and "systemd-analyze security --offline"
# rates it at most $UNIT_MAX_EXPOSURE (default 2.0; 1.4 when written);
# the sysusers.d file makes the user and the tmpfiles.d file its socket
# directory (systemd-sysusers/systemd-tmpfiles --root, as root).
# Skips without systemd-analyze (Debian: systemd).
set -u
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
need_tools systemd-analyze
gen=${SYSTEMD_GEN_DIR:-${top_builddir:-.}/contrib/systemd}
unit=$gen/mtasts-milter.service
[ -f "$unit" ] || bail "$unit is missing (make builds it)"
gen=$(cd "$gen" && pwd)
unit=$gen/mtasts-milter.service
max=${UNIT_MAX_EXPOSURE:-2.0}
# --threshold counts tenths (systemd 252: an integer; "1.4" prints as 1.4
# and passes --threshold=14)
max_tenths=$(awk -v m="$max" 'BEGIN { printf "%d", m * 10 + 0.5 }')

# --- configure's paths went in, nothing was left unsubstituted
left=$(grep -l '@[a-z]*@' "$gen"/mtasts-milter.service "$gen"/mtasts-milter.sysusers \
    "$gen"/mtasts-milter.tmpfiles "$gen"/postfix-chroot.conf 2>&1)
check_eq "every @dir@ of contrib/systemd/*.in is substituted" "" "$left"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
case $exec_start in
/*/sbin/mtasts-milter) ok "ExecStart is configure's sbindir: $exec_start" ;;
*) nok "ExecStart is configure's sbindir" "got '$exec_start'" ;;
esac
check "ExecStart names the configuration under sysconfdir" \
    grep -q '^ExecStart=.* -f -c /.*/mtasts-milter/mtasts-milter\.conf$' "$unit"

# --- the directives the issue asks for, each as written
for d in Type=notify 'Before=postfix.service sendmail.service' User=_mtasts Group=_mtasts \
    UMask=0007 RuntimeDirectory=mtasts-milter StateDirectory=mtasts-milter \
    ProtectSystem=strict CapabilityBoundingSet= NoNewPrivileges=yes \
    SystemCallFilter=@system-service PrivateTmp=yes ProtectHome=yes \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'ExecReload=/bin/kill -HUP $MAINPID'; do
    check "the unit has $d" grep -qxF -- "$d" "$unit"
done

# --- systemd-analyze verify on a copy that starts the built binary
# (verify fails on a missing ExecStart program) and finds the man pages
# of Documentation= (made from docs/*.in by make).
mkdir -p "$tmp/units/mtasts-milter.service.d" "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
docs=${top_builddir:-.}/docs
cp "$docs/mtasts.1" "$tmp/man/man1/" && cp "$docs/mtasts-milter.conf.5" "$tmp/man/man5/" &&
    cp "$docs/mtasts-milter.8" "$tmp/man/man8/" || bail "the man pages are not made (make)"
sed "s|^ExecStart=$exec_start |ExecStart=$MTASTS_MILTER |" "$unit" >"$tmp/units/mtasts-milter.service"
man_opt=--man=yes
command -v man >/dev/null 2>&1 || man_opt=--man=no
verify() { # verify: the unit in $tmp/units, output in $tmp/verify.out
    MANPATH=$tmp/man systemd-analyze verify "$man_opt" "$tmp/units/mtasts-milter.service" \
        >"$tmp/verify.out" 2>&1
    _rc=$?
    [ "$_rc" = 0 ] || fail "systemd-analyze verify: status $_rc"
    [ ! -s "$tmp/verify.out" ] || fail "systemd-analyze verify says:" "$(cat "$tmp/verify.out")"
}
verify
ok "systemd-analyze verify: no warning, status 0"
sed "s|^ExecStart=$exec_start |ExecStart=$MTASTS_MILTER |" "$gen/postfix-chroot.conf" \
    >"$tmp/units/mtasts-milter.service.d/postfix-chroot.conf"
verify
ok "systemd-analyze verify with the Postfix-chroot drop-in: no warning"
rm -r "$tmp/units/mtasts-milter.service.d"
# a failure the check must catch: an unknown key
sed 's/^UMask=0007/UMaks=0007/' "$unit" | sed "s|^ExecStart=$exec_start |ExecStart=$MTASTS_MILTER |" \
    >"$tmp/units/mtasts-milter.service"
MANPATH=$tmp/man systemd-analyze verify "$man_opt" "$tmp/units/mtasts-milter.service" \
    >"$tmp/verify.out" 2>&1
okif "systemd-analyze verify does flag a misspelt key (the check can fail)" \
    "$(cat "$tmp/verify.out")" grep -q UMaks "$tmp/verify.out"
sed "s|^ExecStart=$exec_start |ExecStart=$MTASTS_MILTER |" "$unit" >"$tmp/units/mtasts-milter.service"

# --- systemd-analyze security, offline, under the threshold
systemd-analyze security --offline=yes --threshold="$max_tenths" "$tmp/units/mtasts-milter.service" \
    >"$tmp/security.out" 2>&1
rc=$?
level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/security.out")
diag "exposure level $level (threshold $max)"
[ "$rc" = 0 ] || fail "systemd-analyze security: status $rc (level $level above $max?)" \
    "$(grep '^- ' "$tmp/security.out")"
ok "systemd-analyze security --offline: exposure $level <= $max"

# --- sysusers.d and tmpfiles.d, applied to a scratch root (root only:
# systemd-tmpfiles chowns)
if [ "$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null 2>&1; then
    root=$tmp/root
    mkdir -p "$root/etc" "$root/run"
    : >"$root/etc/passwd"
    : >"$root/etc/group"
    systemd-sysusers --root="$root" "$gen/mtasts-milter.sysusers" >"$tmp/sysusers.out" 2>&1
    okif "systemd-sysusers makes _mtasts from the sysusers.d file" "$(cat "$tmp/sysusers.out")" \
        grep -q '^_mtasts:x:[0-9]*:[0-9]*:MTA-STS milter:/.*/lib/mtasts-milter:' "$root/etc/passwd"
    uid=$(sed -n 's/^_mtasts:x:\([0-9]*\):.*/\1/p' "$root/etc/passwd")
    systemd-tmpfiles --root="$root" --create "$gen/mtasts-milter.tmpfiles" >"$tmp/tmpfiles.out" 2>&1
    rundir=$(sed -n 's/^d \([^ ]*\) .*/\1/p' "$gen/mtasts-milter.tmpfiles")
    got=$(stat -c '%a %u' "$root$rundir" 2>&1)
    check_eq "systemd-tmpfiles makes $rundir 0750, owned by _mtasts" "750 $uid" "$got"
else
    skip "systemd-sysusers makes _mtasts" "needs root and systemd-sysusers"
    skip "systemd-tmpfiles makes the socket directory" "needs root and systemd-tmpfiles"
fi
finish
