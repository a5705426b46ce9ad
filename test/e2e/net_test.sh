#!/bin/bash
# End-to-end tests of the sandbox's network (issue #6's "done means"), each
# with server and client in the same sandbox: `python3 -m http.server`
# serves a directory made inside the sandbox to urllib (status 200, the
# file's content); Debian's redis-server answers redis-cli's SET/GET and
# every test of redis-benchmark, plain and pipelined, then shuts down
# cleanly; `ip addr`, `ip link` and `ip route` show lo with 127.0.0.1/8
# and ::1/128; `ss` lists the http.server's TCP listener and a UDP
# socket, with their processes (from /proc/net/* and /proc/PID/fd: the
# sentry has no NETLINK_SOCK_DIAG, and ss falls back to those files as it
# does on Linux without it).
#   net_test.sh RUNSC
# Needs Debian's redis-server, redis-tools and iproute2 (from
# tools/install_deps.sh).
set -u
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"

for p in /usr/bin/redis-server /usr/bin/redis-cli /usr/bin/redis-benchmark /bin/ss /bin/ip; do
  if [ ! -x "$p" ]; then
    echo "$p is missing (tools/install_deps.sh installs it)"
    exit 1
  fi
done

# The sandbox has its own network: no port here can collide with the host's.
HTTP_PORT=38080
UDP_PORT=38081
REDIS_PORT=36379
TOKEN="served from the sandbox $$.$RANDOM"

# guest SCRIPT: runs the sh script in a new sandbox (bounded, so a hung
# server fails the test instead of hanging it), with the ports and the token
# in its environment. Sets out (stdout), err (stderr) and rc.
guest() {
  timeout 60 "$RUNSC" do --env=HTTP_PORT=$HTTP_PORT --env=UDP_PORT=$UDP_PORT \
    --env=REDIS_PORT=$REDIS_PORT --env="TOKEN=$TOKEN" -- /bin/sh -c "$1" \
    >"$TMP/out" 2>"$TMP/err"
  rc=$?
  out=$(cat "$TMP/out")
  err=$(cat "$TMP/err")
}

# section NAME: what the guest printed after its line "== NAME", up to
# the next such line.
section() { awk -v m="== $1" '$0 == m { on = 1; next } /^== / { on = 0 } on' <<<"$out"; }

# has DESCRIPTION SECTION REGEX: a line of the section matches (grep -E).
has() {
  if section "$2" | grep -Eq -- "$3"; then
    ok "$1"
  else
    bad "$1: no line matching /$3/ in:"
    section "$2" | head -20 | sed 's/^/    /'
  fi
}

# lacks DESCRIPTION SECTION REGEX: no line of the section matches.
lacks() {
  if section "$2" | grep -Eq -- "$3"; then
    bad "$1: a line matches /$3/:"
    section "$2" | head -20 | sed 's/^/    /'
  else
    ok "$1"
  fi
}

# Guest-side polling (never a fixed sleep): wait_until CMD... retries CMD
# every 50 ms for up to 10 s.
POLL='wait_until() {
  i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -ge 200 ] && return 1
    sleep 0.05
  done
}'

# 1 and 4: http.server and a UDP echo socket; urllib fetches a file
# (retrying until the server listens); ss lists both sockets.
guest "$POLL"'
mkdir -p /tmp/www/sub
printf "%s\n" "$TOKEN" >/tmp/www/sub/token.txt
/usr/bin/python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory /tmp/www >/tmp/http.log 2>&1 &
H=$!
/usr/bin/python3 -c "
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((\"127.0.0.1\", $UDP_PORT))
open(\"/tmp/udp.ready\", \"w\").close()
data, peer = s.recvfrom(100)
s.sendto(data.upper(), peer)
" &
U=$!
echo "== pids"
echo "$H $U"
echo "== fetch"
/usr/bin/python3 -c "
import time, urllib.request, urllib.error
deadline = time.monotonic() + 15
while True:
    try:
        r = urllib.request.urlopen(\"http://127.0.0.1:$HTTP_PORT/sub/token.txt\", timeout=5)
        break
    except (ConnectionError, urllib.error.URLError) as e:
        if time.monotonic() > deadline:
            print(\"gave up:\", e)
            raise SystemExit(1)
        time.sleep(0.05)
print(\"status\", r.status)
print(\"body\", r.read().decode().rstrip())
r = urllib.request.urlopen(\"http://127.0.0.1:$HTTP_PORT/sub/\", timeout=5)
print(\"listing\", r.status, \"token.txt\" in r.read().decode())
"
wait_until test -e /tmp/udp.ready || echo "UDP socket never bound"
for c in "ss -tln" "ss -tlnp" "ss -uln" "ss -ulnp"; do
  echo "== $c"
  /bin/$c
done
echo "== udp"
/usr/bin/python3 -c "
import socket
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(10)
c.sendto(b\"ping\", (\"127.0.0.1\", $UDP_PORT))
print(c.recvfrom(100)[0].decode())
" || kill $U
wait $U
echo "udp server exit $?"
kill $H
wait $H
st=$?
echo "== http.server"
echo "exit $st"
'
[ $rc == 0 ] && ok "http.server sandbox exits 0" || bad "http.server sandbox exited $rc: ${err:0:300}"
read -r hpid upid <<<"$(section pids)"
has "urllib gets 200 from http.server" fetch '^status 200$'
has "urllib gets the file made in the sandbox" fetch "^body $TOKEN\$"
has "http.server lists the directory" fetch '^listing 200 True$'
# Linux's ss reports a listener's backlog as Send-Q through
# NETLINK_SOCK_DIAG; from /proc/net/tcp (as here) it reports 0.
listener="^LISTEN +0 +[0-9]+ +127\.0\.0\.1:$HTTP_PORT +0\.0\.0\.0:\*"
has "ss -tln lists http.server's listener" 'ss -tln' "$listener"
lacks "ss -tln lists no UDP socket" 'ss -tln' ":$UDP_PORT "
has "ss -tlnp names http.server's process" 'ss -tlnp' \
  "$listener +users:\(\(\"python3\",pid=$hpid,fd=[0-9]+\)\)"
udp="^UNCONN +0 +0 +127\.0\.0\.1:$UDP_PORT +0\.0\.0\.0:\*"
has "ss -uln lists the UDP socket" 'ss -uln' "$udp"
lacks "ss -uln lists no TCP listener" 'ss -uln' ":$HTTP_PORT "
has "ss -ulnp names the UDP socket's process" 'ss -ulnp' \
  "$udp +users:\(\(\"python3\",pid=$upid,fd=[0-9]+\)\)"
has "UDP echo" udp '^PING$'
has "UDP server exits 0" udp '^udp server exit 0$'
has "http.server dies of the SIGTERM" http.server '^exit 143$'

# 2: redis-server, with redis-cli and redis-benchmark in the same sandbox.
tests="SET GET INCR LPUSH LPOP"
guest "$POLL"'
/usr/bin/redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
  --appendonly no --daemonize no >/tmp/redis.log 2>&1 &
R=$!
cli() { /usr/bin/redis-cli -p "$REDIS_PORT" "$@"; }
if ! wait_until sh -c "/usr/bin/redis-cli -p $REDIS_PORT ping | grep -qx PONG"; then
  echo "== redis-server never answered"
  kill $R
  cat /tmp/redis.log
  exit 99
fi
echo "== set"; cli set greeting "$TOKEN"
echo "== get"; cli get greeting
bench() {
  /usr/bin/redis-benchmark -p "$REDIS_PORT" -q -t set,get,incr,lpush,lpop "$@" | tr "\r" "\n"
}
echo "== bench"; bench -n 2000 -P 1
echo "== bench16"; bench -n 20000 -P 16
echo "== shutdown"; cli shutdown nosave; st=$?; echo "rc $st"
[ "$st" -eq 0 ] || kill $R
wait $R
rc=$?
echo "== log"; cat /tmp/redis.log
exit $rc
'
[ $rc == 0 ] && ok "redis sandbox exits 0 (redis-server's status)" ||
  bad "redis sandbox exited $rc: ${err:0:300}"
has "redis-cli SET" set '^OK$'
has "redis-cli GET returns the value SET" get "^$TOKEN\$"
for b in bench bench16; do
  for t in $tests; do
    has "redis-benchmark ($b) $t" $b "^ *$t: [0-9]+(\.[0-9]+)? requests per second"
  done
done
has "redis-cli shutdown nosave" shutdown '^rc 0$'
has "redis-server says it exits" log 'Redis is now ready to exit, bye bye'

# 3: ip over NETLINK_ROUTE.
guest '
for c in "ip addr" "ip link" "ip route" "ip -br addr" "ip route show table local" "ip -6 route show table local"; do
  echo "== $c"
  /bin/$c
  echo "rc $?"
done
'
[ $rc == 0 ] && [ -z "$err" ] && ok "ip: no errors" || bad "ip: rc $rc, stderr: ${err:0:300}"
has "ip addr lists lo" 'ip addr' '^1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 '
has "ip addr: 127.0.0.1/8" 'ip addr' '^ +inet 127\.0\.0\.1/8 scope host lo$'
has "ip addr: ::1/128" 'ip addr' '^ +inet6 ::1/128 scope host *$'
has "ip addr exits 0" 'ip addr' '^rc 0$'
has "ip link lists lo" 'ip link' '^1: lo: <LOOPBACK,UP,LOWER_UP> '
has "ip link: loopback" 'ip link' '^ +link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00$'
has "ip link exits 0" 'ip link' '^rc 0$'
has "ip route exits 0" 'ip route' '^rc 0$'
has "ip -br addr" 'ip -br addr' '^lo +UNKNOWN +127\.0\.0\.1/8 ::1/128 *$'
has "ip route: 127.0.0.0/8 is local" 'ip route show table local' \
  '^local 127\.0\.0\.0/8 dev lo proto kernel scope host src 127\.0\.0\.1 *$'
has "ip -6 route: ::1 is local" 'ip -6 route show table local' '^local ::1 dev lo '

summary
