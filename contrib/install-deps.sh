#!/bin/sh
# Install what building and testing mtasts-milter needs on Debian 12.
# Run as root (or through sudo).  Safe to run again: apt-get skips what is
# already there.  The test world's servers (nsd, nginx) and Postfix are
# installed with service start-up blocked, so nothing starts listening on
# this machine.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD="build-essential autoconf automake libtool pkg-config clang libclang-rt-14-dev clang-format"
LIBS="libmilter-dev libssl-dev libunbound-dev libevent-dev libcurl4-openssl-dev libsqlite3-dev
      libidn2-dev libjson-c-dev check zlib1g-dev"
# python3-jsonschema, python3-dkim: the TLS-RPT report checks (tests/cli/tlsrpt_*.sh)
# systemd: systemd.pc (configure's unit, sysusers and tmpfiles directories) and
# systemd-analyze/-sysusers/-tmpfiles for tests/cli/systemd_unit.sh (not as PID 1)
TOOLS="groff-base man-db valgrind python3-jsonschema python3-dkim systemd"
# tests/world/packages.txt (WORLD) includes python3-prometheus-client: the
# Prometheus text-format parser of tests/milter/metrics.sh
WORLD=$(grep -v '^#' "$here/tests/world/packages.txt" | tr '\n' ' ')
E2E=$(grep -v '^#' "$here/tests/e2e/packages.txt" | tr '\n' ' ')
BENCH=$(grep -v '^#' "$here/tests/bench/packages.txt" | tr '\n' ' ')

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (sudo $0)" >&2
    exit 1
fi

# Block service start-up (invoke-rc.d honours policy-rc.d) for this run only.
blocker=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    blocker=/usr/sbin/policy-rc.d
fi
trap '[ -z "$blocker" ] || rm -f "$blocker"' EXIT

export DEBIAN_FRONTEND=noninteractive
# Postfix is installed for the end-to-end tests only: leave the system's
# mail configuration alone (the tests run a private instance).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $BUILD $LIBS $TOOLS $WORLD $E2E $BENCH

# Sendmail for tests/e2e/sendmail.sh: sendmail-bin conflicts with Postfix,
# so its packages are only downloaded here (their libraries are in
# tests/e2e/packages.txt); the test unpacks them into a scratch directory.
# Owned by _apt so that apt downloads without its "unsandboxed" warning.
smdebs=/var/cache/mtasts-milter/sendmail
mkdir -p "$smdebs"
rm -f "$smdebs"/*.deb
if id _apt >/dev/null 2>&1; then chown _apt:root "$smdebs"; fi
(cd "$smdebs" && apt-get download -q sendmail-bin sendmail-cf)
