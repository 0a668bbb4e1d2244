#!/bin/sh
# config_docs.sh - the configuration documentation keeps up with the key
# table: every key of the table (milter/core/config_keys.c) is described in
# mtasts-milter.conf(5) with its default and its reloadability, and listed
# in contrib/mtasts-milter.conf as "#Name default" (marked "(reload)" when
# reloadable); neither document names a key the table does not have; the
# man page renders without groff warnings.  Adding a key without its
# documentation fails here.
#
# The key table comes from the binary, as Postfix's
# check-postconf-undocumented asks postconf: "mtasts-milter --keys" prints
# "Name<TAB>type<TAB>reload|restart<TAB>default" per key (mtasts-milter(8)),
# and "mtasts-milter -n -v" on an empty file dumps the same keys with their
# values, a cross-check that the table printed is the table in effect.
#
# Usage (from the build directory): srcdir=SRCDIR sh SRCDIR/tests/cli/config_docs.sh
#   MTASTS_MILTER  the daemon (default milter/mtasts-milter)
set -u
# shellcheck source=tests/lib/common.sh
. "${srcdir:-.}/tests/lib/common.sh"
need_bin MTASTS_MILTER milter/mtasts-milter
# Both are made by make from their .in with configure's paths.
man="${top_builddir:-.}/docs/mtasts-milter.conf.5"
sample="${top_builddir:-.}/contrib/mtasts-milter.conf"

# "Name|default|reloadable" (or "restart"), one line per key, in table order;
# "|" and not a tab, which read would merge when a default is empty.
"$MTASTS_MILTER" --keys >"$tmp/keys" 2>&1 || fail "mtasts-milter --keys: exit $?: $(cat "$tmp/keys")"
table=$(awk -F '\t' 'NF == 4 { print $1 "|" $4 "|" ($3 == "reload" ? "reloadable" : "restart") }' "$tmp/keys")
nkeys=$(printf '%s\n' "$table" | grep -c .)
: >"$tmp/empty.conf"
"$MTASTS_MILTER" -n -v -c "$tmp/empty.conf" >"$tmp/dump" 2>&1 ||
    fail "mtasts-milter -n -v: exit $?: $(cat "$tmp/dump")"
dumped=$(sed '$d' "$tmp/dump" | sed 's/ .*//')
[ "$nkeys" -gt 0 ] && [ "$(wc -l <"$tmp/keys")" = "$nkeys" ] ||
    fail "--keys: want $(wc -l <"$tmp/keys") lines of 4 tab-separated fields, got $nkeys"
want_eq "the names -n -v dumps" "$(printf '%s\n' "$table" | cut -d'|' -f1)" "$dumped"
ok "mtasts-milter --keys lists $nkeys keys, the keys -n -v dumps, in the same order"

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
    check "mtasts-milter.conf(5) documents $name" [ -n "$entry" ]
    want=${def:-empty}
    summary=$(printf '%s\n' "$entry" | sed -n 2p)
    case "$summary" in
    *"; default $want; $rel.") ;;
    *) fail "got: $summary" ;;
    esac
    ok "mtasts-milter.conf(5) gives $name default \"$def\", $rel"
    # contrib/mtasts-milter.conf: "#Name default" (or "#Name" when empty).
    line="#$name${def:+ $def}"
    check "the sample config lists \"$line\"" grep -qxF "$line" "$sample"
    got_rel=$(printf '%s\n' "$sample_keys" | awk -F "$tab" -v k="$name" '$1 == k { print $2 }')
    check "the sample config marks $name $rel" [ "$got_rel" = "$rel" ]
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
check "mtasts-milter.conf(5) documents no key outside the table${stale:+ (got$stale)}" [ -z "$stale" ]
stale=""
for k in $(printf '%s\n' "$sample_keys" | cut -f1); do
    printf '%s\n' "$names" | grep -qxF "$k" || stale="$stale $k"
done
check "the sample config lists no key outside the table${stale:+ (got$stale)}" [ -z "$stale" ]

check_man "$man"
finish
