#!/bin/sh
# Install what building and testing mtasts-milter needs on Debian 12.
# Run as root (or through sudo).  Safe to run again: apt-get skips what is
# already there.
set -eu

BUILD="build-essential autoconf automake libtool pkg-config clang libclang-rt-14-dev clang-format"
LIBS="libmilter-dev libssl-dev libunbound-dev libevent-dev libcurl4-openssl-dev libsqlite3-dev
      libidn2-dev libjson-c-dev check"
TOOLS="groff-base man-db"

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $BUILD $LIBS $TOOLS
