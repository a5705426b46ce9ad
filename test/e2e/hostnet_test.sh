#!/bin/bash
# End-to-end tests of `runsc do --network=host`: with --net-allow, curl in
# the sandbox reaches a host HTTP server on an allowed port and is refused
# (EACCES inside, a denial line on runsc's stderr) on another port that a
# host client reaches; UDP goes the same way; --net-listen lets a host
# client reach a server in the sandbox. With the default --network=none
# nothing outside is reachable at all. --dns* and --add-host replace the
# host's resolv.conf and hosts inside only, and a resolver in the sandbox
# reaches an allowed host DNS server. Bad flags are refused by name.
#   hostnet_test.sh RUNSC
set -u
RUNSC=$(realpath "$1")
PY=/usr/bin/python3
# Each platform's run of this test gets a network namespace of its own,
# with only loopback: the two run at once, hold host ports and listen on
# them, and must not see each other's (nor any other test's) sockets.
if [ -z "${HOSTNET_TEST_OWN_NETNS:-}" ]; then
  exec env HOSTNET_TEST_OWN_NETNS=1 unshare --net -- "$0" "$@"
fi
"$PY" -c "
import fcntl, socket, struct
s = socket.socket()
ifr = fcntl.ioctl(s, 0x8913, struct.pack('16sH', b'lo', 0))  # SIOCGIFFLAGS
flags = struct.unpack('16sH', ifr[:18])[1]
fcntl.ioctl(s, 0x8914, struct.pack('16sH', b'lo', flags | 1))  # SIOCSIFFLAGS
" || { echo "cannot bring up loopback in a new network namespace"; exit 1; }
source "$(dirname "$0")/lib.sh"

# Host servers: two HTTP servers (one port allowed, one not) and two UDP
# echo servers, on ports the kernel picks. Each prints its port first.
mkdir -p "$TMP/www"
echo "served by the host" > "$TMP/www/index.txt"
cat > "$TMP/servers.py" <<'PYEOF'
import http.server, socket, socketserver, sys, threading, functools
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=sys.argv[1])
http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
ports = []
for _ in range(2):
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    ports.append(srv.server_address[1])
    threading.Thread(target=srv.serve_forever, daemon=True).start()
def echo(s):
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(b"echo:" + data, peer)
for _ in range(2):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    ports.append(u.getsockname()[1])
    threading.Thread(target=echo, args=(u,), daemon=True).start()
print(*ports, flush=True)
threading.Event().wait()
PYEOF
coproc SERVERS { exec "$PY" "$TMP/servers.py" "$TMP/www"; }
read -r -t 10 PA PB PU PV <&"${SERVERS[0]}"
trap 'kill $SERVERS_PID 2>/dev/null; rm -rf "$TMP"' EXIT
if [ -z "${PV:-}" ]; then
  bad "the host servers did not start"
  summary
  exit
fi

HOSTNET=(--network=host "--net-allow=127.0.0.1:$PA" "--net-allow=127.0.0.1:$PU")

# ---- Allowed: curl reaches the host's server.
out=$("$RUNSC" do "${HOSTNET[@]}" -- curl -sS "http://127.0.0.1:$PA/index.txt" 2>"$TMP/err")
rc=$?
[ $rc == 0 ] && [ "$out" == "served by the host" ] && ok "curl reaches an allowed host port" ||
  bad "curl to the allowed port (rc=$rc: $out $(cat "$TMP/err"))"

# ---- Refused: another port that a host client does reach.
native=$(curl -sS "http://127.0.0.1:$PB/index.txt" 2>&1)
[ "$native" == "served by the host" ] && ok "the other port serves natively" ||
  bad "the other host server: $native"
out=$("$RUNSC" do "${HOSTNET[@]}" -- curl -sS "http://127.0.0.1:$PB/index.txt" 2>"$TMP/err")
rc=$?
[ $rc == 7 ] && ok "curl to a port outside the allowlist fails (exit 7)" ||
  bad "curl to a refused port: rc=$rc $out"
deny="runsc: network: denied connect to 127.0.0.1:$PB tcp by pid [0-9]+ \(curl\) in sandbox do-[0-9]+: not in --net-allow"
grep -Eq "$deny" "$TMP/err" && ok "runsc logs the denial" ||
  bad "no denial line: $(cat "$TMP/err")"
out=$("$RUNSC" do "${HOSTNET[@]}" -- curl -v "http://127.0.0.1:$PB/" 2>&1)
[[ "$out" == *"Permission denied"* ]] && ok "curl -v says Permission denied" ||
  bad "curl -v: ${out:0:300}"
out=$("$RUNSC" do "${HOSTNET[@]}" -- "$PY" -c "
import errno, socket
try:
    socket.create_connection(('127.0.0.1', $PB))
except OSError as e:
    print(errno.errorcode[e.errno])
" 2>/dev/null)
[ "$out" == EACCES ] && ok "connect(2) to a refused port: EACCES" ||
  bad "connect to a refused port: $out"
# Refusals and connections alternate in one sandbox: the broker goes on.
out=$("$RUNSC" do "${HOSTNET[@]}" -- "$PY" -c "
import errno, socket
for port in ($PB, $PA, $PB, $PA):
    try:
        socket.create_connection(('127.0.0.1', port)).close()
        print('ok', end=' ')
    except OSError as e:
        print(errno.errorcode[e.errno], end=' ')
" 2>/dev/null)
[ "$out" == "EACCES ok EACCES ok " ] && ok "the broker serves on after a refusal" ||
  bad "refusals then connections: $out"

# ---- UDP: an allowed echo server answers; another port is refused.
out=$("$RUNSC" do "${HOSTNET[@]}" -- "$PY" -c "
import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'hi', ('127.0.0.1', $PU))
data, peer = s.recvfrom(100)
print(data.decode(), peer == ('127.0.0.1', $PU))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.connect(('127.0.0.1', $PU))
c.send(b'connected')
print(c.recv(100).decode())
try:
    s.sendto(b'hi', ('127.0.0.1', $PV))
except OSError as e:
    print(errno.errorcode[e.errno])
" 2>"$TMP/err")
[ "$out" == "echo:hi True
echo:connected
EACCES" ] && ok "UDP to an allowed host port, EACCES to another" ||
  bad "UDP: $out $(cat "$TMP/err")"
grep -Eq "denied connect to 127.0.0.1:$PV udp by pid [0-9]+ \(python3\)" "$TMP/err" &&
  ok "the UDP denial is logged" || bad "no UDP denial line: $(cat "$TMP/err")"

# ---- The sandbox's own loopback comes first in host mode: a server in the
# sandbox on the allowed port number answers, not the host's.
out=$("$RUNSC" do "${HOSTNET[@]}" -- "$PY" -c "
import socket
l = socket.create_server(('127.0.0.1', $PA))
c = socket.create_connection(('127.0.0.1', $PA))
a, _ = l.accept()
a.sendall(b'from the sandbox')
print(c.recv(100).decode())
" 2>&1)
[ "$out" == "from the sandbox" ] && ok "the sandbox's own listener wins" ||
  bad "in-sandbox listener in host mode: $out"

# ---- --net-listen: a host client reaches a server in the sandbox.
"$RUNSC" do --network=host --net-listen=1024-65535 -- "$PY" -c "
import socket, sys
l = socket.create_server(('127.0.0.1', 0))
print(l.getsockname()[1], flush=True)
c, peer = l.accept()
c.sendall(b'pong:' + c.recv(100))
c.close()
" >"$TMP/listen.out" 2>&1 &
sandbox=$!
for _ in $(seq 100); do [ -s "$TMP/listen.out" ] && break; sleep 0.1; done
PL=$(head -1 "$TMP/listen.out")
out=$("$PY" -c "
import socket
s = socket.create_connection(('127.0.0.1', int('$PL')), timeout=5)
s.sendall(b'ping')
print(s.recv(100).decode())
" 2>&1)
[ "$out" == "pong:ping" ] && ok "--net-listen: a host client reaches the sandbox" ||
  bad "--net-listen: $out ($(cat "$TMP/listen.out"))"
wait $sandbox
# The sandbox's stack picks a port for a bind to port 0; if the host has
# it taken, the listener moves to another rather than failing. A quarter
# of the host's ephemeral ports held, 60 listeners must all get one.
mkfifo "$TMP/hold"
"$PY" -c "
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for p in range(32768, 61000, 4):
    s = socket.socket()
    try:
        s.bind(('0.0.0.0', p)); s.listen(1); held.append(s)
    except OSError:
        s.close()
print(len(held), flush=True)
sys.stdin.read()
" <"$TMP/hold" >"$TMP/held" 2>&1 &
holder=$!
exec 7>"$TMP/hold"
for _ in $(seq 100); do [ -s "$TMP/held" ] && break; sleep 0.1; done
out=$("$RUNSC" do --network=host --net-listen=1024-65535 -- "$PY" -c "
import socket
ls, errs = [], set()
for i in range(60):
    try:
        ls.append(socket.create_server(('127.0.0.1', 0)))
    except OSError as e:
        errs.add(str(e))
print(len(ls), sorted(errs))
" 2>&1)
exec 7>&-
wait $holder
# The check means something only if the holder got most of its ports.
[ "$out" == "60 []" ] && [ "$(cat "$TMP/held")" -gt 7000 ] &&
  ok "--net-listen: a port taken on the host moves the listener (host held $(cat "$TMP/held"))" ||
  bad "--net-listen with host ports taken: $out (held $(cat "$TMP/held"))"
# Without it, a listener in the sandbox is not on the host: while it
# listens (and waits for a connection that must not come), a host client
# is refused.
: >"$TMP/listen.out"
"$RUNSC" do --network=host -- "$PY" -c "
import socket
l = socket.create_server(('127.0.0.1', 0))
l.settimeout(5)
print(l.getsockname()[1], flush=True)
try:
    l.accept()
    print('accepted')
except socket.timeout:
    print('nothing came')
" >"$TMP/listen.out" 2>&1 &
sandbox=$!
for _ in $(seq 100); do [ -s "$TMP/listen.out" ] && break; sleep 0.1; done
PL=$(head -1 "$TMP/listen.out")
native=$("$PY" -c "
import socket
try:
    socket.create_connection(('127.0.0.1', int('$PL')), timeout=5)
    print('reached')
except ConnectionRefusedError:
    print('refused')
" 2>&1)
wait $sandbox
[ "$native" == refused ] && [ "$(tail -1 "$TMP/listen.out")" == "nothing came" ] &&
  ok "without --net-listen, nothing listens on the host" ||
  bad "without --net-listen: host $native, sandbox $(cat "$TMP/listen.out")"

# ---- The default, --network=none: nothing outside is reachable, and
# there is nothing to deny.
out=$("$RUNSC" do -- curl -sS "http://127.0.0.1:$PA/index.txt" 2>"$TMP/err")
rc=$?
[ $rc == 7 ] && ! grep -q denied "$TMP/err" &&
  ok "default network: the host's server is unreachable" ||
  bad "default network: rc=$rc $out $(cat "$TMP/err")"
out=$("$RUNSC" do -- "$PY" -c "
import errno, socket
for addr in [('127.0.0.1', $PA), ('192.0.2.1', 80)]:
    try:
        socket.create_connection(addr, timeout=5)
        print('connected')
    except OSError as e:
        print(errno.errorcode[e.errno])
" 2>&1)
[ "$out" == "ECONNREFUSED
ENETUNREACH" ] && ok "default network: ECONNREFUSED on lo, ENETUNREACH beyond" ||
  bad "default network errors: $out"

# ---- DNS: the host's resolv.conf and hosts unless a flag says otherwise.
# A host DNS server on 127.0.53.1:53 knows app.test; the sandbox's
# resolver finds it through --dns, --dns-search and --net-allow. Port 53
# is fixed (resolv.conf names no port) and binding it needs
# CAP_NET_BIND_SERVICE over the network namespace, which a test run in
# bazel's user namespace lacks over the host's: so the server and these
# sandboxes get a network namespace of their own (also keeping the two
# platform variants apart).
cat > "$TMP/dns.py" <<'PYEOF'
import fcntl
import socket
import struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# A new network namespace's lo is down: SIOCGIFFLAGS, then SIOCSIFFLAGS
# with IFF_UP.
flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, struct.pack("16sh", b"lo", 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))
addr = "127.0.53.1"
s.bind((addr, 53))
print(addr, flush=True)
while True:
    q, peer = s.recvfrom(512)
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode())
        i += q[i] + 1
    qtype = int.from_bytes(q[i + 1:i + 3], "big")
    question = q[12:i + 5]
    answers, rcode = b"", 3  # NXDOMAIN
    if ".".join(labels).lower() == "app.test":
        rcode = 0
        if qtype == 1:  # A: 10.20.30.40, TTL 60, name by pointer
            answers = bytes.fromhex("c00c00010001") + (60).to_bytes(4, "big") \
                + bytes([0, 4, 10, 20, 30, 40])
    count = 1 if answers else 0
    s.sendto(q[:2] + bytes([0x81, 0x80 | rcode, 0, 1, 0, count, 0, 0, 0, 0])
             + question + answers, peer)
PYEOF
unshare --net "$PY" "$TMP/dns.py" >"$TMP/dns.out" 2>&1 &
DNS_PID=$!
trap 'kill $SERVERS_PID $DNS_PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -s "$TMP/dns.out" ] && break; sleep 0.1; done
DNS_ADDR=$(head -1 "$TMP/dns.out")
in_dns_ns() { nsenter "--net=/proc/$DNS_PID/ns/net" "$@"; }
host_resolv=$(cat /etc/resolv.conf)
host_hosts=$(cat /etc/hosts)
[ "$DNS_ADDR" == 127.0.53.1 ] || bad "the host DNS server did not start: $(cat "$TMP/dns.out")"
out=$(in_dns_ns "$RUNSC" do --network=host "--net-allow=$DNS_ADDR:53" "--dns=$DNS_ADDR" \
  --dns-search=test -- getent hosts app 2>"$TMP/err")
[ "$out" == "10.20.30.40     app.test" ] &&
  ok "--dns and --dns-search: the sandbox resolves through a host DNS server" ||
  bad "resolving app through --dns: $out $(cat "$TMP/err")"
out=$(in_dns_ns "$RUNSC" do --network=host "--dns=$DNS_ADDR" -- getent hosts app.test 2>"$TMP/err")
rc=$?
[ $rc == 2 ] && grep -Eq "denied connect to $DNS_ADDR:53 udp by pid [0-9]+ \(getent\)" "$TMP/err" &&
  ok "a DNS server outside --net-allow is refused and logged" ||
  bad "DNS to a refused server: rc=$rc $out $(cat "$TMP/err")"
out=$("$RUNSC" do --add-host=db:10.1.2.3 --add-host=localhost=10.9.9.9 \
  --dns=192.0.2.53 --dns-option=ndots:3 -- sh -c \
  'getent hosts db; getent hosts localhost | head -1; grep -v "^#" /etc/resolv.conf | grep -E "^(nameserver|options)"' 2>&1)
[ "$out" == "10.1.2.3        db
10.9.9.9        localhost
nameserver 192.0.2.53
options ndots:3" ] && ok "--add-host comes before the host's entries; --dns-option" ||
  bad "--add-host and --dns-option: $out"
out=$("$RUNSC" do -- sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts' 2>&1)
[ "$out" == "$host_resolv
---
$host_hosts" ] && ok "without flags, resolv.conf and hosts are the host's" ||
  bad "default resolv.conf/hosts differ: $out"
[ "$(cat /etc/resolv.conf)" == "$host_resolv" ] && [ "$(cat /etc/hosts)" == "$host_hosts" ] &&
  ok "the host's resolv.conf and hosts are unchanged" ||
  bad "the host's resolv.conf or hosts changed"
out=$("$RUNSC" do --dns=8.8.8.8 --overlay=false -- true 2>&1)
[ $? == 125 ] && [[ "$out" == *"--overlay=false"* ]] &&
  ok "--dns without the overlay is refused" || bad "--dns --overlay=false: $out"
named=0
while IFS='|' read -r expect args; do
  read -ra argv <<<"$args"
  out=$("$RUNSC" do "${argv[@]}" -- true 2>&1)
  rc=$?
  [ $rc == 125 ] && [[ "$out" == *"$expect"* ]] && named=$((named + 1)) ||
    bad "bad name flags $args: rc=$rc $out"
done <<'EOF2'
--dns=example.com: expected an IPv4 or IPv6 address|--dns=example.com
--dns-search=a_b;: expected a domain name|--dns-search=a_b;
--add-host=db: expected NAME:IP|--add-host=db
--add-host=db:10.0.0.1#: expected NAME:IP|--add-host=db:10.0.0.1#
4 --dns servers: resolvers use at most 3|--dns=1.1.1.1 --dns=1.0.0.1 --dns=8.8.8.8 --dns=8.8.4.4
--dns-option=: expected one resolv.conf option|--dns-option=
EOF2
[ $named == 6 ] && ok "bad --dns, --dns-search, --dns-option and --add-host values are named"

# ---- Flags are checked before anything starts.
out=$("$RUNSC" do --net-allow=127.0.0.1 -- true 2>&1)
[ $? == 125 ] && [[ "$out" == *"need --network=host"* ]] &&
  ok "--net-allow needs --network=host" || bad "--net-allow alone: $out"
out=$("$RUNSC" do --network=host --net-allow=bogus -- true 2>&1)
rc=$?
[ $rc == 125 ] && [[ "$out" == *'--net-allow=bogus: "bogus" is not an IP address'* ]] &&
  ok "a bad --net-allow is named" || bad "bad --net-allow: rc=$rc $out"
out=$("$RUNSC" do --network=host --net-allow=10.0.0.1/8 -- true 2>&1)
[ $? == 125 ] && [[ "$out" == *"bits set beyond the prefix"* ]] &&
  ok "host bits beyond the prefix are refused" || bad "10.0.0.1/8: $out"
out=$("$RUNSC" do --network=bogus -- true 2>&1)
[ $? == 125 ] && [[ "$out" == *"--network=bogus: expected none or host"* ]] &&
  ok "a bad --network is named" || bad "bad --network: $out"
out=$("$RUNSC" do --network=host --net-listen=99999 -- true 2>&1)
[ $? == 125 ] && [[ "$out" == *"--net-listen=99999"* ]] &&
  ok "a bad --net-listen is named" || bad "bad --net-listen: $out"

summary
