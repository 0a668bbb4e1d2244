#!/bin/sh
# pure_headers.sh - the pure core stays pure: every public header of a
# module under milter/core/ compiles on its own (the header alone in a
# translation unit) with ONLY the other core headers on the include path,
# so no core header can reach a header of the engine, the daemon or an
# external library (the architecture review found verdict.h pulling in
# cache.h and the OpenSSL probe's header).  A header is core when its
# module's .c lives in milter/core/.
set -u
: "${srcdir:?}"
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-hdr.XXXXXX") || { echo "Bail out! mktemp"; exit 99; }
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mtasts"

names=""
for c in "$srcdir"/milter/core/*.c; do
    name=$(basename "$c" .c)
    h="$srcdir/include/mtasts/$name.h"
    [ -f "$h" ] || continue
    cp "$h" "$tmp/mtasts/"
    names="$names $name"
done

n=0
failed=0
for name in $names; do
    n=$((n + 1))
    printf '#include "mtasts/%s.h"\n' "$name" >"$tmp/one.c"
    if $cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fsyntax-only \
        -I"$tmp" "$tmp/one.c" >"$tmp/err" 2>&1; then
        echo "ok $n - mtasts/$name.h compiles alone with only core headers"
    else
        failed=1
        echo "not ok $n - mtasts/$name.h compiles alone with only core headers"
        sed 's/^/# /' "$tmp/err" | head -20
    fi
done
echo "1..$n"
[ "$n" -gt 10 ] || { echo "Bail out! only $n core headers found under $srcdir"; exit 99; }
exit $failed
