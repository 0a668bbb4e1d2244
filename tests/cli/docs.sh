#!/bin/sh
# docs.sh - the documentation keeps up with the code: every command that
# `mtasts --help` lists is described in mtasts(1), and the man page
# renders without groff warnings.
set -u
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS milter/mtasts
man="${top_builddir:-.}/docs/mtasts.1" # made from docs/mtasts.1.in by make

# The COMMANDS section, with roff's escaped hyphens made plain.
commands=$(sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$man" | sed 's/\\-/-/g')
for cmd in $("$MTASTS" --help | sed -n 's/^ *\(usage: \)\{0,1\}mtasts \([a-z][a-z-]*\).*/\2/p' | sort -u); do
    if printf '%s\n' "$commands" | grep -A1 '^\.TP' | grep -q "^\.B[IR]* \"*$cmd[ \"]"; then
        ok "mtasts(1) documents \"$cmd\""
    else
        nok "mtasts(1) documents \"$cmd\""
    fi
done
check_man "$man"
finish
