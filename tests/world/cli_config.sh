#!/bin/sh
# Guards mtasts(1) reading the daemon's configuration (architecture review,
# change 1: "tools reuse the engine", as opendkim-testkey reads
# opendkim.conf): -c FILE and $MTASTS_CONFIG name mtasts-milter.conf(5),
# whose keys (Resolver, CAFile, Store, AllowPrivateTargets,
# SocketMapTLSRPT, ...) the network and cache commands use; each option
# overrides its one key; an explicit file that cannot be read or a line it
# refuses is an error naming FILE:LINE; an option value the key refuses is
# a usage error naming the option; "none" means the key table's defaults.
#
# Usage (from the build directory): MTASTS=milter/mtasts srcdir=SRCDIR \
#   sh SRCDIR/tests/world/cli_config.sh      (WORLD_KEEP=1 keeps the world)

# shellcheck disable=SC2153 # WORLD_* come from world.sh

GUARD_SECONDS=60
# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"
world_up

unset MTASTS_STORE MTASTS_CONFIG
# err_has ERE: some line of stderr matches.
err_has() { grep -Eq -- "$1" "$tmp/err" || fail "stderr: want a line matching: $1"; }
conf=$tmp/mtasts-milter.conf
cat >"$conf" <<EOF
# the daemon's file: the world's resolver, CA and a private store
Resolver $WORLD_DNS
CAFile $WORLD_CA
AllowPrivateTargets yes
Store sqlite:$tmp/conf.db
SocketMapTLSRPT yes
EOF

# --- the file supplies what no option says
run query -c "$conf" --timeout=5 good.test
want_rc 0
want_out "OK secure match=mx1.good.test servername=hostname policy_type=sts policy_domain=good.test mx_host_pattern=mx1.good.test { policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = max_age: 86400 } { policy_string = mx: mx1.good.test }"
ok "query -c FILE: the file's Resolver, CAFile, AllowPrivateTargets and SocketMapTLSRPT apply"

run cache list -c "$conf"
want_rc 0
want_line '^good\.test '
ok "cache list -c FILE: the file's Store holds what query discovered"

(MTASTS_CONFIG=$conf && export MTASTS_CONFIG && run cache list && [ "$rc" = 0 ] &&
    grep -q '^good\.test ' "$tmp/out") || fail "MTASTS_CONFIG: want the file's store listed"
ok "MTASTS_CONFIG names the file like -c"

# --- an option replaces its one key, the rest of the file stays
run cache list -c "$conf" --store "sqlite:$tmp/other.db"
want_rc 0
want_empty out
ok "--store overrides the file's Store (an empty store lists nothing)"

run query -c "$conf" --resolver=127.0.0.1@9 --timeout=1 good.test
want_rc 0
want_line '^OK secure '
ok "--resolver overrides Resolver; the cached policy of the file's Store still answers"

run fetch -c "$conf" --timeout=5 loopback.test
want_rc 0
ok "fetch -c FILE: AllowPrivateTargets from the file reaches a loopback policy host"

# --- errors
run cache list -c "$tmp/nosuch.conf"
want_rc 3
err_has "^mtasts: cannot read the configuration $tmp/nosuch\\.conf: "
ok "-c FILE that does not exist: exit 3, saying so"

printf 'Store sqlite:%s/x.db\nFrobnicate yes\n' "$tmp" >"$tmp/bad.conf"
run cache list -c "$tmp/bad.conf"
want_rc 3
err_has "^mtasts: $tmp/bad\\.conf:2: "
ok "a line the key table refuses: exit 3, FILE:LINE named"

run query -c "$conf" --resolver=not-an-address good.test
want_rc 2
err_has '^mtasts: --resolver:1: '
ok "an option value its key refuses is a usage error naming the option"

run cache list -c none --store "sqlite:$tmp/none.db"
want_rc 0
ok "-c none: the key table's defaults, no file read"

finish
