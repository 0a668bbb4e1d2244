#!/bin/sh
# tlsrpt_mail.sh - the RFC 8460 §5.3 report mail and its DKIM signature,
# checked by implementations that are not ours: python3's email parser,
# python3's gzip and gzip(1), python3-dkim (dkimpy) with tlsrpt='strict'.
#
# For every mail fixture (tests/unit/tlsrpt_fixtures.c), the message
# $TLSRPT_TOOL builds:
#   - equals tests/unit/fixtures/tlsrpt_mail/NAME.eml;
#   - parses without defects; CRLF line ends, ASCII, no line over 998;
#   - has the §5.3 Subject ("Report Domain: D Submitter: S Report-ID:
#     <id>", unfolded), TLS-Report-Domain = D, TLS-Report-Submitter = S,
#     TLS-Required: No (RFC 8689), Auto-Submitted: auto-generated
#     (RFC 3834), MIME-Version, a Message-ID, a Date;
#   - is multipart/report; report-type=tlsrpt (RFC 6522) of a text/plain
#     us-ascii part and an application/tlsrpt+gzip attachment named
#     S!D!begin!end!n.json.gz (§5.1; end - begin = 86399), base64 in lines
#     of at most 76, which gunzips (python and gzip(1)) to the report, whose
#     report-id is the Subject's and whose contact-info domain is S.
# DKIM (RFC 6376; RFC 8460 §3 makes it a MUST, without l=): signed with a
# key openssl(1) makes here, d= the submitter, s=tlsrpt, the public key
# given to dkimpy through its dnsfunc (no DNS) as "v=DKIM1; k=rsa;
# s=tlsrpt; p=...": verifies; a changed Subject, a changed attachment and
# an added TLS-Report-Domain (over-signing) do not.  Keys openssl makes
# that are too weak (512 bits) or not RSA are refused, 1024 bits is taken.
. "$(dirname "$0")/prelude.sh"

: "${srcdir:=$(dirname "$0")/../..}"
golden=$srcdir/tests/unit/fixtures/tlsrpt_mail
PY=/usr/bin/python3
[ -n "${TLSRPT_TOOL-}" ] && [ -x "$TLSRPT_TOOL" ] || { echo "Bail out! TLSRPT_TOOL is not set"; exit 99; }
GUARD_SECONDS=60
setup() {
    printf 'ran: %s\n' "$*" >"$tmp/cmd"
    : >"$tmp/out"
    : >"$tmp/err"
}

setup "python3 -c 'import dkim'"
$PY -c 'import dkim' 2>"$tmp/err" || fail "python3-dkim is missing (contrib/install-deps.sh installs it)"
command -v openssl >/dev/null 2>&1 || fail "openssl(1) is missing"
ok "python3-dkim and openssl are available"

# check_mail EML REPORT-JSON: the shape above; prints "DOMAIN SUBMITTER".
check_mail() {
    $PY - "$1" "$2" <<'PYEOF'
import email, email.policy, email.utils, gzip, json, re, sys
raw = open(sys.argv[1], "rb").read()
want = json.load(open(sys.argv[2]))
def die(why):
    print(why, file=sys.stderr)
    sys.exit(1)
for n, line in enumerate(raw.split(b"\r\n")[:-1], 1):
    if b"\n" in line or b"\r" in line:
        die("line %d: bare CR or LF" % n)
    if len(line) > 998:
        die("line %d: %d octets" % (n, len(line)))
    if any(c > 127 for c in line):
        die("line %d: not ASCII" % n)
if not raw.endswith(b"\r\n"):
    die("no final CRLF")
m = email.message_from_bytes(raw, policy=email.policy.default)
if m.defects:
    die("defects: %r" % m.defects)
subj = re.fullmatch(r"Report Domain: (\S+) Submitter: (\S+) Report-ID: <([^<>@\s]+@[^<>@\s]+)>",
                    str(m["Subject"]))
if not subj:
    die("Subject: %r" % str(m["Subject"]))
dom, sub, rid = subj.groups()
checks = {
    "TLS-Report-Domain": dom, "TLS-Report-Submitter": sub, "TLS-Required": "No",
    "Auto-Submitted": "auto-generated", "MIME-Version": "1.0",
}
for k, v in checks.items():
    if len(m.get_all(k, [])) != 1 or str(m[k]) != v:
        die("%s: got %r, want %r" % (k, m.get_all(k), v))
for k in ("From", "To", "Date", "Message-ID"):
    if len(m.get_all(k, [])) != 1:
        die("%s: want exactly one" % k)
if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(m["Message-ID"])):
    die("Message-ID: %r" % str(m["Message-ID"]))
email.utils.parsedate_to_datetime(str(m["Date"]))
if m.get_content_type() != "multipart/report" or m.get_param("report-type") != "tlsrpt":
    die("Content-Type: %r" % m["Content-Type"])
parts = list(m.iter_parts())
if len(parts) != 2:
    die("%d parts, want 2" % len(parts))
text, att = parts
if text.get_content_type() != "text/plain" or text.get_content_charset() != "us-ascii":
    die("part 1: %r" % text["Content-Type"])
if att.get_content_type() != "application/tlsrpt+gzip" or att.get_content_disposition() != "attachment":
    die("part 2: %r / %r" % (att["Content-Type"], att["Content-Disposition"]))
if att.defects or text.defects:
    die("part defects: %r %r" % (text.defects, att.defects))
fname = att.get_filename()
if att.get_param("name") != fname:
    die("name=%r, filename=%r" % (att.get_param("name"), fname))
fm = re.fullmatch(re.escape(sub) + "!" + re.escape(dom) + r"!(\d+)!(\d+)!(\d+)\.json\.gz", fname)
if not fm or int(fm.group(2)) - int(fm.group(1)) != 86399:
    die("file name %r" % fname)
if att["Content-Transfer-Encoding"] != "base64":
    die("Content-Transfer-Encoding: %r" % att["Content-Transfer-Encoding"])
body = raw.split(b"filename=", 1)[1].split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
for line in body.split(b"\r\n"):
    if len(line) > 76:
        die("base64 line of %d" % len(line))
gz = att.get_content()
open(sys.argv[1] + ".gz", "wb").write(gz)
rep = json.loads(gzip.decompress(gz))
if rep != want:
    die("the attachment is not the report")
if rep["report-id"] != rid:
    die("report-id %r, Subject %r" % (rep["report-id"], rid))
if rep["contact-info"].rsplit("@", 1)[1].lower() != sub:
    die("contact-info %r, submitter %r" % (rep["contact-info"], sub))
print(dom, sub)
PYEOF
}

# verify SIGNED-EML RECORD: dkimpy's verdict (exit 0 = valid), and the
# tags RFC 8460 asks for.
verify() {
    $PY - "$1" "$2" <<'PYEOF'
import dkim, re, sys
msg = open(sys.argv[1], "rb").read()
record = open(sys.argv[2], "rb").read().strip()
asked = []
def dnsfunc(name, timeout=5):
    asked.append(name)
    return record if name == b"tlsrpt._domainkey." + want_d + b"." else None
sub = re.search(rb"^TLS-Report-Submitter: (\S+)\r$", msg, re.M).group(1)
want_d = sub
sig = msg.split(b"\r\n\r\n", 1)[0]
sig = re.sub(rb"\r\n[ \t]+", b" ", sig).split(b"\r\n")[0]
if not sig.startswith(b"DKIM-Signature:"):
    sys.exit("no DKIM-Signature first")
tags = dict(t.strip().split(b"=", 1) for t in sig.split(b":", 1)[1].split(b";") if t.strip())
if tags.get(b"d") != sub or b"l" in tags or tags.get(b"a") != b"rsa-sha256":
    sys.exit("tags: %r" % tags)
h = [x.strip().lower() for x in tags[b"h"].split(b":")]
for need in (b"from", b"subject", b"tls-report-domain", b"tls-report-submitter"):
    if h.count(need) != 2:
        sys.exit("h= lacks %s twice (over-signing): %r" % (need, h))
ok = dkim.verify(msg, dnsfunc=dnsfunc, tlsrpt="strict")
sys.exit(0 if ok else 3)
PYEOF
}

setup "openssl genrsa"
openssl genrsa -out "$tmp/key2048.pem" 2048 >/dev/null 2>"$tmp/err" || fail "openssl genrsa 2048"
openssl genrsa -out "$tmp/key1024.pem" 1024 >/dev/null 2>>"$tmp/err" || fail "openssl genrsa 1024"
openssl genrsa -out "$tmp/key512.pem" 512 >/dev/null 2>>"$tmp/err" || fail "openssl genrsa 512"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.pem" 2>>"$tmp/err" ||
    fail "openssl genpkey EC"
"$TLSRPT_TOOL" record "$tmp/key2048.pem" >"$tmp/record" 2>>"$tmp/err" || fail "tlsrpt_tool record"
grep -q '^v=DKIM1; k=rsa; s=tlsrpt; p=MII' "$tmp/record" || fail "record: $(cat "$tmp/record")"
ok "test keys made with openssl; the public record is v=DKIM1; k=rsa; s=tlsrpt; p=..."

"$TLSRPT_TOOL" list | while read -r name kind; do [ "$kind" = mail ] && echo "$name"; done \
    >"$tmp/mails"
setup "tlsrpt_tool list"
[ -s "$tmp/mails" ] || fail "no mail fixtures"
ok "the mail fixtures are listed"

while read -r name; do
    eml=$tmp/$name.eml
    setup "tlsrpt_tool mail $name"
    "$TLSRPT_TOOL" mail "$name" >"$eml" 2>"$tmp/err" || fail "the build failed"
    "$TLSRPT_TOOL" report "$name" >"$tmp/$name.json" 2>>"$tmp/err" || fail "the report build failed"
    cmp -s "$eml" "$golden/$name.eml" || fail "differs from the golden file $golden/$name.eml"
    check_mail "$eml" "$tmp/$name.json" >"$tmp/ds" 2>>"$tmp/why" || fail "the message is wrong"
    ok "mail $name: golden, parses, §5.3 headers and parts, attachment is the report"

    setup "gzip -t / gzip -dc of the attachment of $name"
    gzip -t <"$eml.gz" 2>"$tmp/err" || fail "gzip -t refused the attachment"
    # (the tool ends its JSON with a newline, the attachment does not)
    { gzip -dc <"$eml.gz" && echo; } | cmp -s - "$tmp/$name.json" || fail "gzip -dc gives another text"
    gzip -c <"$tmp/$name.json" | "$TLSRPT_TOOL" gunzip | cmp -s - "$tmp/$name.json" ||
        fail "our gunzip of gzip(1)'s output differs"
    ok "mail $name: gzip(1) reads our attachment, we read gzip(1)'s output"

    read -r _ sub <"$tmp/ds"
    setup "tlsrpt_tool sign key2048.pem $sub tlsrpt 1785715200 < $name.eml"
    "$TLSRPT_TOOL" sign "$tmp/key2048.pem" "$sub" tlsrpt 1785715200 <"$eml" >"$eml.signed" \
        2>"$tmp/err" || fail "signing failed"
    verify "$eml.signed" "$tmp/record" 2>>"$tmp/why" || fail "dkimpy: the signature does not verify"
    check_mail "$eml.signed" "$tmp/$name.json" >/dev/null 2>>"$tmp/why" ||
        fail "the signed message lost its shape"
    ok "mail $name: DKIM-signed (d=$sub, s=tlsrpt), dkimpy verifies with tlsrpt=strict"

    setup "tampered copies of $name.eml.signed"
    sed 's/^Subject: Report Domain: /Subject: Report  Domain:  X/' "$eml.signed" >"$tmp/t1"
    cmp -s "$tmp/t1" "$eml.signed" && fail "the Subject edit did nothing"
    # exit 3 is dkimpy's "invalid"; anything else would be a broken check
    verify "$tmp/t1" "$tmp/record" 2>>"$tmp/err"
    [ $? = 3 ] || fail "a changed Subject: want dkimpy's invalid"
    $PY -c 'import sys
d = open(sys.argv[1], "rb").read()
i = d.index(b"H4sI")
open(sys.argv[2], "wb").write(d[:i + 10] + (b"A" if d[i + 10:i + 11] != b"A" else b"B") + d[i + 11:])' \
        "$eml.signed" "$tmp/t2"
    verify "$tmp/t2" "$tmp/record" 2>>"$tmp/err"
    [ $? = 3 ] || fail "a changed attachment: want dkimpy's invalid"
    $PY -c 'import sys
d = open(sys.argv[1], "rb").read()
i = d.index(b"\r\nTLS-Report-Domain: ")
open(sys.argv[2], "wb").write(d[:i] + b"\r\nTLS-Report-Domain: evil.example" + d[i:])' \
        "$eml.signed" "$tmp/t4"
    verify "$tmp/t4" "$tmp/record" 2>>"$tmp/err"
    [ $? = 3 ] || fail "an added TLS-Report-Domain: want dkimpy's invalid"
    ok "mail $name: a changed Subject, attachment or an added TLS-Report-Domain fails DKIM"
done <"$tmp/mails"

for k in key512:"512 bits is too weak" ec:"needs an RSA key" missing:"cannot open"; do
    file=${k%%:*}
    want=${k#*:}
    setup "tlsrpt_tool key $file.pem"
    if "$TLSRPT_TOOL" key "$tmp/$file.pem" >"$tmp/out" 2>"$tmp/err"; then
        fail "the key was accepted"
    fi
    grep -q "$want" "$tmp/err" || fail "want a reason with: $want"
    ok "key $file.pem is refused: $want"
done
setup "tlsrpt_tool key key1024.pem"
"$TLSRPT_TOOL" key "$tmp/key1024.pem" >"$tmp/out" 2>"$tmp/err" || fail "1024 bits refused"
want_out "bits 1024"
ok "an openssl 1024-bit RSA key is taken (RFC 8301's minimum)"
finish
