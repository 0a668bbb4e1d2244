#!/usr/bin/python3
"""Pathological HTTP upstream of the local test world (tests/world/world.sh).

nginx terminates TLS for mta-sts.{slow,stall,chunked}.test and proxies the
requests here over plain HTTP on loopback (proxy_buffering off).  The scenario
is chosen by the Host header:

  mta-sts.slow.test     200 text/plain, the policy file from --root, but only
                        after --slow seconds (RFC 8461 section 3.3: senders
                        must time out a slow policy fetch)
  mta-sts.stall.test    never answers; holds the connection until the client
                        (nginx) goes away
  mta-sts.chunked.test  200 text/plain, Transfer-Encoding: chunked, 1 KiB
                        chunks forever (a sender must cap the body it reads)
  anything else         404

Lifetime: the process exits when its parent goes away (world_stop kills the
"timeout" wrapper it runs under, which forwards SIGTERM here), and the
wrapper caps its life anyway.  Only the Python standard library is used:
run it with Debian's /usr/bin/python3.
"""

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "world-upstream"
    sys_version = ""

    def log_message(self, fmt, *args):
        headers = getattr(self, "headers", None)
        host = headers.get("Host", "-") if headers else "-"
        sys.stderr.write("upstream: host=%s %s\n" % (host, fmt % args))
        sys.stderr.flush()

    def _host(self):
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            return host
        return host.split(":", 1)[0].rstrip(".")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        host = self._host()
        try:
            if host == "mta-sts.slow.test":
                self._slow(host)
            elif host == "mta-sts.stall.test":
                self._stall()
            elif host == "mta-sts.chunked.test":
                self._chunked(host)
            else:
                self._send(404, b"not found\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _send(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _policy(self, host):
        path = os.path.join(self.server.root, host, ".well-known", "mta-sts.txt")
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def _slow(self, host):
        time.sleep(self.server.slow)
        body = self._policy(host)
        if body is None:
            self._send(404, b"not found\n")
        else:
            self._send(200, body)

    def _stall(self):
        # Read until the peer closes; never write a byte.
        self.close_connection = True
        while self.rfile.read1(4096):
            pass

    def _chunked(self, host):
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        first = self._policy(host) or b""
        pad = b"x-pad: " + b"a" * (CHUNK - 8) + b"\n"
        if first:
            self._chunk(first)
        while True:
            self._chunk(pad)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def watch_parent(ppid):
    """Exit as soon as the process that started us is gone."""
    while True:
        if os.getppid() != ppid:
            os._exit(0)
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True, help="directory of <host>/.well-known/mta-sts.txt")
    ap.add_argument("--slow", type=float, default=20.0, help="seconds mta-sts.slow.test waits")
    ap.add_argument("--ready", required=True, help="file written once the socket listens")
    args = ap.parse_args()

    srv = Server((args.addr, args.port), Handler)
    srv.root = args.root
    srv.slow = args.slow
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, args.ready)
    srv.serve_forever()


if __name__ == "__main__":
    main()
