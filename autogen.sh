#!/bin/sh
# Generate configure and the Makefile templates.  automake does not copy
# its TAP driver on its own, so take the one matching the installed
# automake (it stays out of git, like the rest of build-aux/).
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
autoreconf -fi
