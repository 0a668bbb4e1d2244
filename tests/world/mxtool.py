#!/usr/bin/python3
"""SMTP helpers of the local test world (tests/world/mx.sh).

  mxtool.py silent --addr A --port 25 --ready FILE
      The mxsilent.test MX host: accepts TCP connections and never sends a
      byte; each connection is held until the peer closes it (reads are
      drained and dropped).  FILE is written once the socket listens.
      A sender must time out the SMTP greeting (RFC 5321 section 4.5.3.2.1,
      "Initial 220 Message: 5 Minutes"; MTAs use much less).

  mxtool.py greet --deadline SECONDS ADDR[:PORT]...
      Exits 0 once every ADDR answers "220 " on connect (then sends QUIT),
      1 if one does not before the deadline (polled every 50 ms).  Used by
      world_start_mx as its readiness check.

  mxtool.py ehlo ADDR[:PORT]
      Prints the EHLO reply (one keyword a line, the greeting line first)
      without STARTTLS; exits 1 if there is no 220 greeting within 5 s.

  mxtool.py send ADDR[:PORT] FROM TO
      Sends one small message over plain SMTP; prints the reply to the end
      of DATA ("250 ...") and exits 0 on a 2xx, 1 otherwise.

Only the Python standard library: run it with Debian's /usr/bin/python3.
Lifetime: world_stop kills the "timeout" wrapper this runs under, which
forwards SIGTERM; the wrapper also caps its life.
"""

import argparse
import os
import selectors
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def silent(args):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.addr, args.port))
    srv.listen(128)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, args.ready)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    conn, peer = srv.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, peer)
                print("accept %s:%d" % peer, flush=True)
                continue
            conn = key.fileobj
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data:
                print("close %s:%d" % key.data, flush=True)
                sel.unregister(conn)
                conn.close()


def greets(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=1) as s:
            s.settimeout(1)
            line = b""
            while not line.endswith(b"\n") and len(line) < 1000:
                chunk = s.recv(1000)
                if not chunk:
                    break
                line += chunk
            # A multi-line greeting ("220-") is fine: the last line is "220 ".
            ok = line.startswith(b"220")
            try:
                s.sendall(b"QUIT\r\n")
            except OSError:
                pass
            return ok
    except OSError:
        return False


def greet(args):
    end = time.monotonic() + args.deadline
    left = []
    for a in args.hosts:
        host, _, port = a.partition(":")
        left.append((host, int(port or 25)))
    while left:
        # In parallel: each address's first connection makes the master
        # start an smtpd, which loads its certificate.
        with ThreadPoolExecutor(max_workers=len(left)) as pool:
            oks = list(pool.map(lambda hp: greets(*hp), left))
        left = [hp for hp, ok in zip(left, oks) if not ok]
        if not left:
            return 0
        if time.monotonic() >= end:
            print("no 220 greeting from: %s" % " ".join("%s:%d" % hp for hp in left),
                  file=sys.stderr)
            return 1
        time.sleep(0.05)
    return 0


def hostport(a):
    host, _, port = a.partition(":")
    return host, int(port or 25)


def ehlo(args):
    import smtplib
    try:
        s = smtplib.SMTP(timeout=5)
        code, msg = s.connect(*hostport(args.host))
        print("%d %s" % (code, msg.decode(errors="replace")))
        code, msg = s.ehlo("selftest.world.test")
        for line in msg.decode(errors="replace").splitlines():
            print("%d %s" % (code, line))
        s.quit()
    except (OSError, smtplib.SMTPException) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


def send(args):
    import smtplib
    body = ("From: <%s>\r\nTo: <%s>\r\nSubject: test world\r\n\r\nhello\r\n"
            % (args.sender, args.rcpt))
    try:
        s = smtplib.SMTP(timeout=10)
        s.connect(*hostport(args.host))
        s.ehlo("selftest.world.test")
        s.mail(args.sender)
        code, msg = s.rcpt(args.rcpt)
        if code // 100 != 2:
            print("%d %s" % (code, msg.decode(errors="replace")))
            return 1
        code, msg = s.data(body.encode())
        print("%d %s" % (code, msg.decode(errors="replace")))
        s.quit()
    except (OSError, smtplib.SMTPException) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0 if code // 100 == 2 else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("silent")
    s.add_argument("--addr", required=True)
    s.add_argument("--port", type=int, default=25)
    s.add_argument("--ready", required=True)
    g = sub.add_parser("greet")
    g.add_argument("--deadline", type=float, default=10)
    g.add_argument("hosts", nargs="+")
    e = sub.add_parser("ehlo")
    e.add_argument("host")
    d = sub.add_parser("send")
    d.add_argument("host")
    d.add_argument("sender")
    d.add_argument("rcpt")
    args = p.parse_args()
    return {"silent": silent, "greet": greet, "ehlo": ehlo, "send": send}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
