#!/bin/sh
# tlsrpt_schema.sh - the RFC 8460 §4.4 report JSON against our own JSON
# Schema (tests/corpus/tlsrpt/report.schema.json, draft 2020-12, erratum
# 6241: mx-host is an array), checked with python3-jsonschema, an
# implementation that is not ours.
#
# For every report fixture (tests/unit/tlsrpt_fixtures.c), the builder's
# JSON, pretty and compact, as $TLSRPT_TOOL writes it:
#   - equals the golden file tests/unit/fixtures/tlsrpt_report/NAME.json;
#   - is valid under the schema;
#   - has policy-domain in every policy (parsedmarc's rule, sys4
#     tlsrpt-reporter #51) and no null or "" anywhere.
# Every golden file has a fixture (none is stale).  The corpus files
# tests/corpus/tlsrpt/valid-*.json must pass and invalid-*.json must fail
# (missing policy-domain, mx-host as a string, null contact-info, a count
# as a string, ...), so the schema is known to reject what it should.
. "$(dirname "$0")/prelude.sh"

: "${srcdir:=$(dirname "$0")/../..}"
schema=$srcdir/tests/corpus/tlsrpt/report.schema.json
golden=$srcdir/tests/unit/fixtures/tlsrpt_report
PY=/usr/bin/python3
[ -n "${TLSRPT_TOOL-}" ] && [ -x "$TLSRPT_TOOL" ] || { echo "Bail out! TLSRPT_TOOL is not set"; exit 99; }
printf '%s\n' "ran: setup" >"$tmp/cmd"
: >"$tmp/out"
: >"$tmp/err"

# validate FILE: exit 0 when valid; the first error on stderr otherwise.
validate() {
    $PY - "$schema" "$1" <<'PYEOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
inst = json.load(open(sys.argv[2]))
v = jsonschema.Draft202012Validator(schema)
errs = sorted(v.iter_errors(inst), key=lambda e: list(e.path))
if errs:
    e = errs[0]
    print("%s: %s" % ("/".join(str(p) for p in e.path) or "(top)", e.message), file=sys.stderr)
    sys.exit(1)
PYEOF
}

# receiver_rules FILE: policy-domain everywhere, no null, no "".
receiver_rules() {
    $PY - "$1" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
def walk(x, path):
    if x is None or x == "":
        bad.append(path)
    elif isinstance(x, dict):
        for k, v in x.items():
            walk(v, path + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            walk(v, path + "/" + str(i))
walk(d, "")
for i, p in enumerate(d.get("policies", [])):
    if not p.get("policy", {}).get("policy-domain"):
        bad.append("/policies/%d/policy: no policy-domain" % i)
if bad:
    print("null, empty or missing: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
PYEOF
}

if ! $PY -c 'import jsonschema' 2>"$tmp/err"; then
    fail "python3-jsonschema is missing (contrib/install-deps.sh installs it)"
fi
ok "python3-jsonschema is available"

$PY -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator.check_schema(json.load(open(sys.argv[1])))' "$schema" 2>"$tmp/err" ||
    fail "the schema is not a valid draft 2020-12 schema"
ok "report.schema.json is a valid draft 2020-12 schema"

"$TLSRPT_TOOL" list >"$tmp/list" 2>"$tmp/err" || fail "tlsrpt_tool list failed"
[ -s "$tmp/list" ] || fail "no fixtures"
ok "the fixtures are listed"

while read -r name _; do
    printf '%s\n' "ran: tlsrpt_tool report $name" >"$tmp/cmd"
    "$TLSRPT_TOOL" report "$name" --pretty >"$tmp/$name.pretty.json" 2>"$tmp/err" ||
        fail "the build failed"
    "$TLSRPT_TOOL" report "$name" >"$tmp/$name.json" 2>>"$tmp/err" || fail "the compact build failed"
    cmp -s "$tmp/$name.pretty.json" "$golden/$name.json" ||
        fail "differs from the golden file $golden/$name.json"
    for f in "$tmp/$name.pretty.json" "$tmp/$name.json"; do
        validate "$f" 2>>"$tmp/why" || fail "${f##*/} is not valid under the schema"
        receiver_rules "$f" 2>>"$tmp/why" || fail "${f##*/} breaks a receiver's rule"
    done
    ok "report $name: golden, schema-valid, policy-domain everywhere, no null or empty string"
done <"$tmp/list"

printf '%s\n' "ran: golden files" >"$tmp/cmd"
for g in "$golden"/*.json; do
    b=${g##*/}
    grep -q "^${b%.json}\( \|\$\)" "$tmp/list" || fail "$b has no fixture (stale golden file)"
    validate "$g" 2>>"$tmp/why" || fail "$b is not valid under the schema"
done
ok "every golden report has its fixture and is valid"

for f in "$srcdir"/tests/corpus/tlsrpt/valid-*.json; do
    printf '%s\n' "ran: validate ${f##*/}" >"$tmp/cmd"
    validate "$f" 2>>"$tmp/why" || fail "want valid"
    ok "corpus ${f##*/} is valid"
done
for f in "$srcdir"/tests/corpus/tlsrpt/invalid-*.json; do
    printf '%s\n' "ran: validate ${f##*/}" >"$tmp/cmd"
    if validate "$f" 2>"$tmp/err"; then
        fail "want invalid, the schema accepted it"
    fi
    ok "corpus ${f##*/} is refused: $(head -c 150 "$tmp/err" | tr -d '#\n')"
done

# The same with the stock command-line validator, once per kind.
printf '%s\n' "ran: python3 -m jsonschema" >"$tmp/cmd"
$PY -m jsonschema -i "$golden/mixed.json" "$schema" >"$tmp/out" 2>"$tmp/err" ||
    fail "python3 -m jsonschema refused mixed.json"
if $PY -m jsonschema -i "$srcdir/tests/corpus/tlsrpt/invalid-mx-host-string.json" "$schema" \
    >"$tmp/out" 2>&1; then
    fail "python3 -m jsonschema accepted invalid-mx-host-string.json"
fi
: >"$tmp/out"
ok "python3 -m jsonschema agrees on a golden report and on an invalid one"
finish
