#!/usr/bin/python3
# metrics_check.py - the Python side of tests/milter/metrics.sh (run it
# with /usr/bin/python3: it needs Debian's python3-prometheus-client).
#
#   metrics_check.py validate FILE
#       parse a scrape with prometheus_client's text-format parser (the one
#       Prometheus' Python client ships; it refuses what the format does
#       not allow), then check what it does not: every family has HELP and
#       TYPE, the names start with mtasts_, no label value is a domain or
#       an address (no dot but in le="..."), a histogram's buckets are
#       cumulative and its +Inf bucket equals _count.  Prints
#       "families=N samples=N"; exits 1 with the reason otherwise.
#   metrics_check.py value FILE NAME [LABEL=VALUE...]
#       the sum of the samples NAME whose labels match (0 when none).
#   metrics_check.py monotonic BEFORE AFTER
#       every counter sample of BEFORE is in AFTER, not smaller (counters
#       never reset on read); prints how many were compared.
#   metrics_check.py http HOST PORT CASE [N]
#       one raw exchange with the metrics responder; prints the status
#       line of its reply ("-" for none), the seconds until it closed and
#       the length of the body: head, post, notfound, garbage, http2, toolarge (9000 bytes of headers),
#       slow (a request line, then silence), hold N (N silent connections
#       kept open for 7 s; prints how many were closed by the server and
#       the slowest close).
import socket
import sys
import time


def families(path):
    from prometheus_client.parser import text_string_to_metric_families
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text, list(text_string_to_metric_families(text))


def validate(path):
    text, fams = families(path)
    helps = {l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")}
    types = {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")}
    nsamples = 0
    for fam in fams:
        if not fam.name.startswith("mtasts_"):
            sys.exit("family %s: not mtasts_" % fam.name)
        if fam.name not in helps and fam.name + "_total" not in helps:
            sys.exit("family %s: no HELP" % fam.name)
        if fam.name not in types and fam.name + "_total" not in types:
            sys.exit("family %s: no TYPE" % fam.name)
        buckets = []
        count = None
        for s in fam.samples:
            nsamples += 1
            for k, v in s.labels.items():
                if k != "le" and k != "version" and ("." in v or ":" in v):
                    sys.exit("%s: label %s=%s looks like a name or address" % (s.name, k, v))
            if s.name.endswith("_bucket"):
                buckets.append((s.labels["le"], s.value))
            if s.name.endswith("_count"):
                count = s.value
        if fam.type == "histogram":
            vals = [v for _, v in buckets]
            if vals != sorted(vals):
                sys.exit("%s: buckets not cumulative: %s" % (fam.name, buckets))
            if not buckets or buckets[-1][0] != "+Inf" or buckets[-1][1] != count:
                sys.exit("%s: +Inf bucket %s, _count %s" % (fam.name, buckets[-1:], count))
    print("families=%d samples=%d" % (len(fams), nsamples))


def value(path, name, want):
    _, fams = families(path)
    total = 0.0
    for fam in fams:
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in want.items()):
                total += s.value
    v = int(total) if total == int(total) else total
    print(v)


def monotonic(before, after):
    def counters(path):
        _, fams = families(path)
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for fam in fams if fam.type in ("counter", "histogram") for s in fam.samples}
    b, a = counters(before), counters(after)
    for k, v in b.items():
        if k not in a or a[k] < v:
            sys.exit("%s went from %s to %s" % (k, v, a.get(k)))
    print("compared=%d" % len(b))


def exchange(host, port, data):
    s = socket.create_connection((host, port), timeout=15)
    t0 = time.monotonic()
    try:
        s.sendall(data)
    except OSError:
        pass
    got = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        got += b
    s.close()
    line = got.split(b"\r\n", 1)[0].decode("latin-1") if got else "-"
    body = got.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in got else b""
    print("%s|%.1f|%d" % (line, time.monotonic() - t0, len(body)))


def hold(host, port, n):
    socks = [socket.create_connection((host, port), timeout=10) for _ in range(n)]
    t0 = time.monotonic()
    closed, slowest = 0, 0.0
    for s in socks:
        s.settimeout(max(0.1, 7 - (time.monotonic() - t0)))
        try:
            while s.recv(4096):
                pass
            closed += 1
            slowest = max(slowest, time.monotonic() - t0)
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    print("closed=%d slowest=%.1f" % (closed, slowest))


def main():
    cmd = sys.argv[1]
    if cmd == "validate":
        validate(sys.argv[2])
    elif cmd == "value":
        want = dict(a.split("=", 1) for a in sys.argv[4:])
        value(sys.argv[2], sys.argv[3], want)
    elif cmd == "monotonic":
        monotonic(sys.argv[2], sys.argv[3])
    elif cmd == "http":
        host, port, case = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        reqs = {
            "head": b"HEAD /metrics HTTP/1.0\r\nHost: x\r\n\r\n",
            "post": b"POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nab",
            "notfound": b"GET /admin HTTP/1.0\r\n\r\n",
            "garbage": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
            "http2": b"GET /metrics HTTP/2.0\r\n\r\n",
            "toolarge": b"GET /metrics HTTP/1.0\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n",
            "slow": b"GET /metrics HTTP/1.0\r\n",
        }
        if case == "hold":
            hold(host, port, int(sys.argv[5]))
        else:
            exchange(host, port, reqs[case])
    else:
        sys.exit("unknown command " + cmd)


main()
