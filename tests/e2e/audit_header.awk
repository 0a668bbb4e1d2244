# audit_header.awk - read the audit header of a message as Postfix queued it
# (the output of "postcat -h"), check its value against the grammar of
# include/mtasts/audit_header.h, and print it in a form a test can compare.
#
# Usage: awk -v name=MTA-STS-Audit -f audit_header.awk HEADERS-FILE
#
# Output, one line each:
#   count=N                  header fields called NAME (any case)
#   maxline=N                the longest line of the first such field,
#                            name included, in octets
#   entry=DOMAIN k=v k=v ... one per entry of the first such field, keys in
#                            the order written (pct-escapes left as written)
#   omitted=N                when the value ends with it
#   error=REASON             the value breaks the grammar (exit status 1)
# A field is its "Name:" line and the lines after it that start with a space
# or a tab (RFC 5322 2.2.3 folding); unfolding joins them.
function trim(s) {
    gsub(/^[ \t\r]+|[ \t\r]+$/, "", s)
    return s
}
function fail(why) {
    print "error=" why
    bad = 1
}
BEGIN {
    lname = tolower(name)
    tchars = "^([][A-Za-z0-9._:-]|%[0-9A-F][0-9A-F])+$"
}
# A new field ends the one being read.
/^[^ \t]/ { infield = 0 }
infield {
    value[count] = value[count] " " $0
    if (count == 1 && length($0) > maxline)
        maxline = length($0)
    next
}
{
    i = index($0, ":")
    if (i > 1 && tolower(substr($0, 1, i - 1)) == lname) {
        count++
        value[count] = substr($0, i + 1)
        infield = 1
        if (count == 1)
            maxline = length($0)
    }
}
END {
    print "count=" count + 0
    if (count > 0)
        print "maxline=" maxline
    if (count == 0)
        exit 0
    v = trim(value[1])
    if (v == "") {
        fail("empty value")
        exit 1
    }
    n = split(v, ent, ",")
    for (e = 1; e <= n && !bad; e++) {
        item = trim(ent[e])
        if (item ~ /^omitted=[0-9]+$/) {
            if (e != n || e == 1)
                fail("omitted= must follow the entries, last")
            else
                print item
            continue
        }
        m = split(item, p, ";")
        nm = trim(p[1])
        if (nm !~ tchars) {
            fail("entry " e ": bad name '" nm "'")
            break
        }
        out = nm
        split("", seen)
        for (j = 2; j <= m; j++) {
            kv = trim(p[j])
            eq = index(kv, "=")
            k = substr(kv, 1, eq - 1)
            val = substr(kv, eq + 1)
            if (eq < 2 || k !~ /^[a-z0-9-]+$/ || val !~ tchars) {
                fail("entry " e ": bad parameter '" kv "'")
                break
            }
            if (k in seen) {
                fail("entry " e ": key '" k "' repeated")
                break
            }
            seen[k] = 1
            out = out " " kv
        }
        if (bad)
            break
        if (!("verdict" in seen) || !("reason" in seen)) {
            fail("entry " e ": verdict= and reason= are required")
            break
        }
        print "entry=" out
    }
    exit bad
}
