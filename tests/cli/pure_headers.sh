#!/bin/sh
# pure_headers.sh - the pure core stays pure: every public header of a
# module under milter/core/ compiles on its own (the header alone in a
# translation unit) with ONLY the other core headers on the include path,
# so no core header can reach a header of the engine, the daemon or an
# external library (the architecture review found verdict.h pulling in
# cache.h and the OpenSSL probe's header).  A header is core when its
# module's .c lives in milter/core/.
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
cc=${CC:-cc}
mkdir -p "$tmp/inc/mtasts"

names=""
for c in "$srcdir"/milter/core/*.c; do
    name=$(basename "$c" .c)
    h="$srcdir/include/mtasts/$name.h"
    [ -f "$h" ] || continue
    cp "$h" "$tmp/inc/mtasts/"
    names="$names $name"
done
count=$(echo "$names" | wc -w)
[ "$count" -gt 10 ] || bail "only $count core headers found under $srcdir"

for name in $names; do
    printf '#include "mtasts/%s.h"\n' "$name" >"$tmp/one.c"
    # shellcheck disable=SC2086 # CC may carry flags
    if ! $cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fsyntax-only \
        -I"$tmp/inc" "$tmp/one.c" >"$tmp/err" 2>&1; then
        fail "does not compile alone:"
        head -20 "$tmp/err" | sed 's/^/  /' >>"$TAP_WHY"
    fi
    ok "mtasts/$name.h compiles alone with only core headers"
done
finish
