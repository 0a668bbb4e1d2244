#!/usr/bin/python3
# notify_sink.py - a stand-in for systemd's notification socket, for tests
# of Type=notify readiness (sd_notify(3) protocol): binds an AF_UNIX
# datagram socket at ADDRESS (a path, or "@name" for an abstract one, as
# $NOTIFY_SOCKET spells them) and appends every message received to FILE,
# its newlines kept, followed by a line "--"; runs until killed.
# A path socket is made mode 0666, so a daemon that runs as another user
# can send to it (the directory must let it in too).
#
# Usage: notify_sink.py ADDRESS FILE      (prints "listening" when bound)
import os
import socket
import sys

addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if addr.startswith("@"):
    s.bind("\0" + addr[1:])
else:
    s.bind(addr)
    os.chmod(addr, 0o666)
print("listening", flush=True)
while True:
    msg = s.recv(4096)
    with open(out, "ab") as f:
        f.write(msg + b"\n--\n")
