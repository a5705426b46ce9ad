#!/bin/bash
# Thousands of TCP and UDP sockets opened and abandoned in every way a
# program can (closed after a full exchange, never accepted, reset, closed
# with unread data, half-closed, a non-blocking connect given up, a
# listener closed with connections queued) leave nothing behind in the
# sentry: /proc/net/sockstat's counters, which count the stack's live
# socket objects and port-table entries, come back to where they started.
#   socket_leak_test.sh RUNSC
set -u
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"

cat > "$TMP/churn.py" <<'PYEOF'
import errno, os, socket, struct, sys

def stat():
    d = {}
    for name in ('sockstat', 'sockstat6'):
        for line in open('/proc/net/' + name):
            key, rest = line.split(':', 1)
            f = rest.split()
            d[key] = dict(zip(f[::2], map(int, f[1::2])))
    return d

def counts(d):
    return (d['TCP']['alloc'], d['TCP']['inuse'], d['TCP6']['inuse'],
            d['UDP']['inuse'], d['UDP6']['inuse'], d['sockets']['used'])

base = stat()
rounds = int(sys.argv[1])
linger0 = struct.pack('ii', 1, 0)
for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    l = socket.socket(family, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, 0))
    l.listen(4096)
    addr = l.getsockname()[:2]
    # Connections nobody accepts go to a listener of their own.
    idle = socket.socket(family, socket.SOCK_STREAM)
    idle.bind((host, 0))
    idle.listen(4096)
    idle_addr = idle.getsockname()[:2]
    for i in range(rounds):
        way = i % 6
        c = socket.socket(family, socket.SOCK_STREAM)
        if way == 5:
            # A non-blocking connect, given up before it is accepted.
            c.setblocking(False)
            try:
                c.connect(idle_addr)
            except BlockingIOError:
                pass
            c.close()
            continue
        c.connect(idle_addr if way == 4 else addr)
        if way == 4:
            c.close()  # never accepted: the listener holds the server end
            continue
        a, _ = l.accept()
        c.sendall(b'x' * 1000)
        if way == 0:      # a full exchange, the client closes first
            a.recv(1000); a.sendall(b'y'); c.recv(1); c.close(); a.close()
        elif way == 1:    # a reset
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
            c.close(); a.close()
        elif way == 2:    # closed with unread data
            a.close(); c.close()
        elif way == 3:    # half-closed, then both closed
            c.shutdown(socket.SHUT_WR); a.recv(1000); a.recv(1)
            a.close(); c.close()
    # Connections still queued when the listener closes are reset.
    for _ in range(50):
        socket.create_connection(idle_addr).close()
    l.close()
    idle.close()
    # UDP: datagrams queued at sockets that are closed unread.
    r = socket.socket(family, socket.SOCK_DGRAM)
    r.bind((host, 0))
    for i in range(rounds // 2):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.sendto(b'z' * 100, r.getsockname()[:2])
        if i % 2:
            s.connect(r.getsockname()[:2])
        s.close()
    r.close()
after = stat()
print('before', counts(base), 'after', counts(after), 'tw', after['TCP']['tw'])
sys.exit(0 if counts(base) == counts(after) else 1)
PYEOF

for n in 600 3000; do
  out=$("$RUNSC" do -- /usr/bin/python3 "$TMP/churn.py" $n 2>&1)
  rc=$?
  [ $rc == 0 ] && ok "$n connections per family opened and abandoned leave nothing: $out" ||
    bad "$n connections: rc=$rc $out"
done
summary
