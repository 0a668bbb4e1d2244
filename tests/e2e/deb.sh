#!/bin/sh
# deb.sh - the Debian package from end to end (issue 16 item 4): build
# mtasts-milter_*.deb from a copy of the tree with dpkg-buildpackage
# (debhelper compat 13, Debian's hardening flags), lintian
# --fail-on=error,warning, "apt-get install ./mtasts-milter_*.deb" on this
# machine, then assert what a postmaster gets:
#   - the _mtasts system user and group, its state directory 0750, the
#     socket directory (tmpfiles.d), the conffile, the unit enabled,
#     the sysusers.d file, binaries with PIE/relro/bindnow/fortify;
#   - "mtasts-milter -n" passes as _mtasts with the packaged config;
#   - the installed daemon, started by hand as _mtasts with a test
#     $NOTIFY_SOCKET (abstract; tests/lib/notify_sink.py stands in for
#     systemd, which is not PID 1 here), sends READY=1, listens on the
#     package's socket path, and judges recipients through the milter
#     protocol (tests/milter/miltc) against the test world: an enforce
#     domain whose MX matches passes, one whose MX does not is refused
#     451 4.7.0 (RFC 8461 section 4.1); STOPPING=1 on SIGTERM;
#   - "apt-get purge" leaves no file, directory, unit link, user or group
#     behind (a snapshot of every *mtasts* path before and after).
# Root only; skips without dpkg-buildpackage, lintian or apt-get, or when
# the package or a _mtasts user is already on the machine (it would be
# replaced, then purged).  DEB_JOBS (default: nproc) build jobs; the
# package's own unit/CLI tests are skipped (nocheck): the suite runs them.
# DEB_FILE=PATH installs that .deb instead (the build and lintian points
# are skipped), for working on the later points.
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
NEED_ROOT_WHY="installs and purges a package" need_root
need_tools dpkg-buildpackage dh lintian apt-get dpkg-query setpriv
need_bin MILTC tests/milter/miltc
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 is missing"
if dpkg-query -W -f='${Status}' mtasts-milter 2>/dev/null | grep -q 'installed\|config-files'; then
    skip_all "mtasts-milter is already installed here (dpkg -l mtasts-milter)"
fi
getent passwd _mtasts >/dev/null && skip_all "a _mtasts user exists already"
getent group _mtasts >/dev/null && skip_all "a _mtasts group exists already"
export DEBIAN_FRONTEND=noninteractive
started=$(now_ms)

# every path with a name the package uses (other tests' scratch
# directories, /run/mtasts-e2e-*, come and go meanwhile; the Sendmail
# download cache /var/cache/mtasts-milter is contrib/install-deps.sh's)
snapshot() {
    find /etc /lib /usr /var /run -xdev \( -name '*mtasts-milter*' -o -name mtasts \
        -o -name 'mtasts.1*' -o -name '*_mtasts*' \) 2>/dev/null |
        grep -v -e '^/var/cache/mtasts-milter' | sort
}
snapshot >"$tmp/before"

# --- build from a copy of the tree (the tracked and new files of a git
# tree, else everything but build directories)
src=$tmp/src/mtasts-milter
mkdir -p "$src"
if git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf -) | tar -C "$src" -xf -
else
    (cd "$srcdir" && tar --exclude=./build --exclude='./build-*' --exclude=./autom4te.cache \
        -cf - .) | tar -C "$src" -xf -
fi
[ -f "$src/debian/rules" ] || bail "no debian/rules in the copy of $srcdir"
if [ -n "${DEB_FILE-}" ]; then
    deb=$DEB_FILE
    skip "dpkg-buildpackage" "DEB_FILE=$DEB_FILE"
    skip "Debian's hardening flags" "DEB_FILE=$DEB_FILE"
    skip "lintian" "DEB_FILE=$DEB_FILE"
else
jobs=${DEB_JOBS:-$(nproc 2>/dev/null || echo 2)}
t0=$(now_ms)
# built as Debian builds it: its compiler and flags, not the test build's
# (a sanitizer build exports CC=clang, whose DWARF 5 Debian 12's dwz refuses)
(cd "$src" && env -u CC -u CFLAGS -u CPPFLAGS -u LDFLAGS \
    DEB_BUILD_OPTIONS="nocheck noddebs parallel=$jobs" \
    dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1)
rc=$?
diag "dpkg-buildpackage: $(($(now_ms) - t0)) ms"
deb=$(ls "$tmp"/src/mtasts-milter_*_*.deb 2>/dev/null | head -n 1)
[ "$rc" = 0 ] && [ -n "$deb" ] || {
    tail -n 40 "$tmp/build.log" | sed 's/^/# /'
    bail "dpkg-buildpackage failed (status $rc)"
}
ok "dpkg-buildpackage -us -uc -b builds $(basename "$deb")"
check "the build used Debian's hardening flags (-D_FORTIFY_SOURCE=2, -z relro -z now)" \
    grep -q -e '-D_FORTIFY_SOURCE=2' "$tmp/build.log"

t0=$(now_ms)
lintian --fail-on=error,warning "$deb" >"$tmp/lintian.out" 2>&1
rc=$?
diag "lintian: $(($(now_ms) - t0)) ms"
[ "$rc" = 0 ] || fail "lintian: status $rc" "$(grep -v 'root privileges' "$tmp/lintian.out")"
ok "lintian --fail-on=error,warning: clean"
fi

# --- install it as a postmaster would; no service may start
# shellcheck disable=SC2034 # read by the at_exit command below
blocker=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    # shellcheck disable=SC2034 # read by the at_exit command below
    blocker=/usr/sbin/policy-rc.d
fi
at_exit '[ -z "$blocker" ] || rm -f "$blocker"'
at_exit 'dpkg-query -W mtasts-milter >/dev/null 2>&1 && apt-get purge -y -q mtasts-milter >/dev/null 2>&1'
t0=$(now_ms)
apt-get install -y -q --no-install-recommends "$deb" >"$tmp/install.log" 2>&1
rc=$?
diag "apt-get install: $(($(now_ms) - t0)) ms"
[ "$rc" = 0 ] || bail "apt-get install ./$(basename "$deb") failed: $(tail -n 20 "$tmp/install.log")"
ok "apt-get install ./$(basename "$deb")"

pw=$(getent passwd _mtasts)
okif "postinst made the system user _mtasts" "passwd: '$pw'" \
    sh -c 'uid=$(echo "$1" | cut -d: -f3); [ -n "$uid" ] && [ "$uid" -lt 1000 ]' sh "$pw"
check_eq "its home is the state directory, its shell nologin" \
    "/var/lib/mtasts-milter:/usr/sbin/nologin" "$(echo "$pw" | cut -d: -f6-)"
check "and its own group _mtasts" sh -c 'getent group _mtasts >/dev/null'
check_eq "/var/lib/mtasts-milter is 0750 _mtasts:_mtasts" "750 _mtasts:_mtasts" \
    "$(stat -c '%a %U:%G' /var/lib/mtasts-milter 2>&1)"
check_eq "/run/mtasts-milter (tmpfiles.d) is 0750 _mtasts:_mtasts" "750 _mtasts:_mtasts" \
    "$(stat -c '%a %U:%G' /run/mtasts-milter 2>&1)"
check "the configuration is a conffile" sh -c \
    "dpkg-query -W -f='\${Conffiles}' mtasts-milter | grep -q ' /etc/mtasts-milter/mtasts-milter.conf '"
check "the unit is installed" test -f /lib/systemd/system/mtasts-milter.service
check "and enabled (multi-user.target.wants)" \
    test -L /etc/systemd/system/multi-user.target.wants/mtasts-milter.service
check "the sysusers.d and tmpfiles.d files are installed" \
    test -f /usr/lib/sysusers.d/mtasts-milter.conf -a -f /usr/lib/tmpfiles.d/mtasts-milter.conf
check "the man pages and the sample configuration are installed" test -f \
    /usr/share/man/man8/mtasts-milter.8.gz -a -f /usr/share/doc/mtasts-milter/examples/mtasts-milter.conf
if command -v systemd-analyze >/dev/null 2>&1; then
    # --man=no: man would leave cat pages in /var/cache/man (Documentation= is
    # tests/cli/systemd_unit.sh's)
    systemd-analyze verify --man=no /lib/systemd/system/mtasts-milter.service >"$tmp/verify.out" 2>&1
    okif "systemd-analyze verify: the installed unit, no warning" "$(cat "$tmp/verify.out")" \
        test ! -s "$tmp/verify.out"
else
    skip "systemd-analyze verify of the installed unit" "no systemd-analyze"
fi
if command -v hardening-check >/dev/null 2>&1; then
    # bookworm's dpkg-buildflags has no -fcf-protection: not asked for
    okif "PIE, stack protector, fortify, relro, bindnow (hardening-check)" \
        "$(hardening-check --nocfprotection /usr/sbin/mtasts-milter /usr/bin/mtasts 2>&1)" \
        hardening-check --nocfprotection -q /usr/sbin/mtasts-milter /usr/bin/mtasts
else
    skip "hardening-check" "devscripts is not installed"
fi

# --- the packaged configuration checks out, as the daemon's user
out=$(runuser -u _mtasts -- /usr/sbin/mtasts-milter -n 2>&1)
rc=$?
okif "runuser -u _mtasts -- mtasts-milter -n: status 0" "$out" [ "$rc" = 0 ]

# --- the installed daemon, by hand, as _mtasts, with a test NOTIFY_SOCKET
world_up
pkgdir=$tmp/pkg
mkdir -p "$pkgdir"
chmod 0711 "$tmp"
cp "$WORLD_CA" "$pkgdir/ca.pem"
sock=/run/mtasts-milter/milter.sock
cat >"$pkgdir/milter.conf" <<CONF
Socket unix:$sock
Mode enforce
Resolver $WORLD_DNS
CAFile $pkgdir/ca.pem
AllowPrivateTargets yes
TLSChecks no
Syslog no
LogFile -
LogLevel debug
CONF
chmod -R a+rX "$pkgdir"
notify=@mtasts-deb-$$
/usr/bin/python3 "$srcdir/tests/lib/notify_sink.py" "$notify" "$tmp/notes" >"$tmp/sink.out" 2>&1 &
track $!
wait_until 10 grep -q listening "$tmp/sink.out" || bail "notify_sink.py did not start"
note() { grep -q -x -- "$1" "$tmp/notes" 2>/dev/null; }

NOTIFY_SOCKET=$notify setpriv --reuid=_mtasts --regid=_mtasts --init-groups -- \
    /usr/sbin/mtasts-milter -f -c "$pkgdir/milter.conf" </dev/null >"$tmp/milter.log" 2>&1 &
milter_pid=$!
okif "the installed daemon, run as _mtasts, sends READY=1" \
    "$(cat "$tmp/milter.log")" wait_until 15 note READY=1
check_eq "its socket: $sock, 0660, _mtasts" "660 _mtasts" "$(stat -c '%a %U' "$sock" 2>&1)"
check_eq "the daemon runs as _mtasts" "_mtasts" "$(ps -o user= -p "$milter_pid" 2>&1)"

dir=$tmp log=$tmp/milter.log
# shellcheck source=tests/milter/session.sh
. "$srcdir/tests/milter/session.sh"
{ head_script
  printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=good.test\nrcpt <u@good.test>\n'
  printf 'macro R {rcpt_mailer}=smtp {rcpt_host}=mismatch.test\nrcpt <u@mismatch.test>\n'
  echo abort; } | session judge
check "an enforce domain whose MX matches: continue" has judge 'rcpt <u@good.test> -> continue'
check "the verdict is logged: pass, mx-match" \
    logged 'domain=good.test mode=enforce .*verdict=pass .*reason=mx-match'
check "an enforce domain whose MX does not match: 451 4.7.0" \
    has judge 'rcpt <u@mismatch.test> -> tempfail 451 4.7.0'
check_eq "the policy cache is in the package's state directory, owned by _mtasts" "_mtasts" \
    "$(stat -c %U /var/lib/mtasts-milter/cache.db 2>&1)"
milter_stop
check "SIGTERM: STOPPING=1" note STOPPING=1
check_eq "the daemon exits 0" 0 "$milter_status"

# --- purge: nothing left behind
t0=$(now_ms)
apt-get purge -y -q mtasts-milter >"$tmp/purge.log" 2>&1
rc=$?
diag "apt-get purge: $(($(now_ms) - t0)) ms"
okif "apt-get purge mtasts-milter" "$(tail -n 20 "$tmp/purge.log")" [ "$rc" = 0 ]
check_eq "dpkg forgets the package" "" "$(dpkg-query -W -f='${Status}' mtasts-milter 2>/dev/null)"
check_eq "no _mtasts user is left" "" "$(getent passwd _mtasts)"
check_eq "no _mtasts group is left" "" "$(getent group _mtasts)"
snapshot >"$tmp/after"
check_eq "no *mtasts* path is left (state, socket, unit links, conffile)" \
    "" "$(diff "$tmp/before" "$tmp/after")"
diag "deb.sh: $(($(now_ms) - started)) ms in all"
finish
