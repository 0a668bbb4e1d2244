#!/bin/sh
# config_docs.sh - the configuration documentation keeps up with the key
# table: every key of the table in milter/core/config.c is described in
# mtasts-milter.conf(5) with its default and its reloadability, and listed
# in contrib/mtasts-milter.conf as "#Name default" (marked "(reload)" when
# reloadable); neither document names a key the table does not have; the
# man page renders without groff warnings.  Adding a key without its
# documentation fails here.
#
# The key list is read from the source: each row of the table starts with
# a line '    {.name = "Name", .type = ..., .def = "default",' and is
# reloadable when one of its lines says '.reloadable = true' (config.c
# keeps that layout under "clang-format off").
set -u
: "${srcdir:?}"
src="$srcdir/milter/core/config.c"
man="$srcdir/docs/mtasts-milter.conf.5"
sample="$srcdir/contrib/mtasts-milter.conf"
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else nok "$2"; fi; }

# "Name|default|reloadable" (or "restart"), one line per key, in table order;
# "|" and not a tab, which read would merge when a default is empty.
table=$(awk '
    /^ *\{\.name = "/ {
        if (name != "") print name "|" def "|" rel
        line = $0
        sub(/^ *\{\.name = "/, "", line)
        name = line; sub(/".*/, "", name)
        def = ""
        if (match(line, /\.def = "[^"]*"/)) def = substr(line, RSTART + 8, RLENGTH - 9)
        rel = "restart"
    }
    /\.reloadable = true/ { rel = "reloadable" }
    END { if (name != "") print name "|" def "|" rel }
' "$src")
nkeys=$(printf '%s\n' "$table" | grep -c .)
nrows=$(grep -c '\.offset_ = OFF(' "$src")
if [ "$nkeys" -gt 0 ] && [ "$nkeys" = "$nrows" ]; then
    ok "the key table of milter/core/config.c reads as $nkeys keys"
else
    nok "the key table of milter/core/config.c reads as $nkeys keys, want $nrows (one per .offset_)"
fi

# The KEYS section with roff's escapes made plain.
keys_section=$(sed -n '/^\.SH KEYS/,/^\.SH [^K]/p' "$man" |
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g')
# The paragraph (comment lines since the last blank line) of each "#Name" line.
sample_keys=$(awk '
    /^$/ { para = ""; next }
    /^#[A-Z][A-Za-z0-9]*( |$)/ {
        key = substr($0, 2); sub(/ .*/, "", key)
        print key "\t" (index(para, "(reload)") ? "reloadable" : "restart")
        para = ""; next
    }
    { para = para $0 "\n" }
' "$sample")

tab=$(printf '\t')
while IFS='|' read -r name def rel; do
    # mtasts-milter.conf(5): ".TP", ".B Name", then "Type; default X; reloadable."
    entry=$(printf '%s\n' "$keys_section" | grep -A2 '^\.TP$' | grep -A1 "^\.B $name\$")
    [ -n "$entry" ]
    check $? "mtasts-milter.conf(5) documents $name"
    want=${def:-empty}
    summary=$(printf '%s\n' "$entry" | sed -n 2p)
    case "$summary" in
    *"; default $want; $rel.") ok "mtasts-milter.conf(5) gives $name default \"$def\", $rel" ;;
    *)
        nok "mtasts-milter.conf(5) gives $name default \"$def\", $rel"
        echo "# got: $summary"
        ;;
    esac
    # contrib/mtasts-milter.conf: "#Name default" (or "#Name" when empty).
    line="#$name${def:+ $def}"
    grep -qxF "$line" "$sample"
    check $? "the sample config lists \"$line\""
    got_rel=$(printf '%s\n' "$sample_keys" | awk -F "$tab" -v k="$name" '$1 == k { print $2 }')
    [ "$got_rel" = "$rel" ]
    check $? "the sample config marks $name $rel"
done <<EOF
$table
EOF

# Neither document names a key the table lacks.
names=$(printf '%s\n' "$table" | cut -d'|' -f1)
stale=""
for k in $(printf '%s\n' "$keys_section" | grep -A1 '^\.TP$' |
    sed -n 's/^\.B \([A-Z][A-Za-z0-9]*\)$/\1/p'); do
    printf '%s\n' "$names" | grep -qxF "$k" || stale="$stale $k"
done
[ -z "$stale" ]
check $? "mtasts-milter.conf(5) documents no key outside the table${stale:+ (got$stale)}"
stale=""
for k in $(printf '%s\n' "$sample_keys" | cut -f1); do
    printf '%s\n' "$names" | grep -qxF "$k" || stale="$stale $k"
done
[ -z "$stale" ]
check $? "the sample config lists no key outside the table${stale:+ (got$stale)}"

if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
    if [ -z "$warnings" ]; then ok "mtasts-milter.conf(5) renders without warnings"; else
        nok "mtasts-milter.conf(5) renders without warnings"
        echo "$warnings" | sed 's/^/# /'
    fi
else
    ok "mtasts-milter.conf(5) renders without warnings # SKIP groff not installed"
fi
echo "1..$n"
exit $failed
