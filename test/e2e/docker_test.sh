#!/bin/bash
# Docker drives runsc (dockerd --add-runtime, through its containerd and
# runc shim): run with an exit status and the libnetwork prestart hook
# Docker adds, run -d, exec, stop, run -it. A private dockerd, with an
# image made from Debian's busybox-static.
#   docker_test.sh RUNSC
set -u
source "$(dirname "$0")/private_run.sh"
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
if ! command -v dockerd >/dev/null; then
  bad "docker.io is not installed (tools/install_deps.sh installs it)"
  summary
  exit
fi
# Socket paths must fit in 108 bytes: not under bazel's $TMP.
RUNDIR=$(mktemp -d /tmp/rsk.XXXXXX)
# No bridge, no iptables: containers use --network none (the sandbox has
# its own network). vfs needs no overlayfs. --group= keeps the socket
# root's: the docker group may have no id in bazel's user namespace.
# A config of its own: not the host's daemon.json, and its identity key
# (20.10 makes one on first start) not in /etc/docker, read-only here and
# without one where no init system has started Docker yet.
echo "{\"deprecated-key-path\": \"$RUNDIR/key.json\"}" >"$RUNDIR/daemon.json"
dockerd --config-file "$RUNDIR/daemon.json" \
  -H "unix://$RUNDIR/d.sock" --exec-root "$RUNDIR/x" --data-root "$TMP/docker" \
  --pidfile "$RUNDIR/d.pid" --iptables=false --ip6tables=false --ip-masq=false \
  --bridge=none --storage-driver vfs --add-runtime "runsc=$RUNSC" --group= \
  >"$TMP/dockerd.log" 2>&1 &
DPID=$!
trap 'kill $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -rf "$TMP" "$RUNDIR"' EXIT
for _ in $(seq 200); do [ -S "$RUNDIR/d.sock" ] && break; sleep 0.1; done
# Debian's client: another docker on PATH may be a different version.
D=(/usr/bin/docker -H "unix://$RUNDIR/d.sock")
RT=(--runtime runsc --network none)

busybox_rootfs "$TMP/rootfs"
python3 "$HERE/oci_image.py" "$TMP/rootfs" localhost/runsc-bb:latest "$TMP/image.tar"
out=$("${D[@]}" load -i "$TMP/image.tar" 2>&1)
[[ "$out" == *"Loaded image: localhost/runsc-bb:latest"* ]] && ok "docker load" ||
  bad "docker load: $out $(tail -5 "$TMP/dockerd.log")"
IMG=localhost/runsc-bb:latest

out=$(timeout 60 "${D[@]}" run --rm "${RT[@]}" "$IMG" sh -c 'echo hi; id; cat /etc/hostname; exit 3' 2>&1)
rc=$?
[ $rc == 3 ] && [[ "$out" == "hi
uid=0(root) gid=0(root) groups=0(root)
"* ]] && ok "docker run: output, exit status (after Docker's prestart hook)" ||
  bad "docker run: rc=$rc $out"
"${D[@]}" run -d --name "d$$" "${RT[@]}" "$IMG" sleep 1000 >/dev/null
[ "$("${D[@]}" inspect -f '{{.State.Status}}' "d$$")" == running ] &&
  ok "docker run -d: running" || bad "docker run -d: $("${D[@]}" ps -a)"
out=$(echo typed | timeout 30 "${D[@]}" exec -i "d$$" sh -c 'cat; pidof sleep; exit 4' 2>&1)
rc=$?
[ $rc == 4 ] && [ "$out" == "typed
1" ] && ok "docker exec -i: stdin, beside init, exit status" || bad "docker exec: rc=$rc $out"
out=$(script -qec "${D[*]} exec -it d$$ sh -c 'tty; exit 2'" /dev/null </dev/null 2>&1)
rc=$?
[ $rc == 2 ] && [[ "$out" == *"/dev/pts/0"* ]] && ok "docker exec -it: a terminal inside" ||
  bad "docker exec -it: rc=$rc $out"
"${D[@]}" stop -t 1 "d$$" >/dev/null
[ "$("${D[@]}" inspect -f '{{.State.ExitCode}}' "d$$")" == 137 ] &&
  ok "docker stop: SIGTERM ignored by sleep, then SIGKILL (137)" ||
  bad "docker stop: $("${D[@]}" inspect -f '{{.State}}' "d$$")"
"${D[@]}" rm "d$$" >/dev/null
out=$(script -qec "stty cols 90 rows 30; ${D[*]} run -it --rm ${RT[*]} $IMG sh -c 'tty; sleep 1; stty size; exit 5'" /dev/null </dev/null 2>&1)
rc=$?
[ $rc == 5 ] && [[ "$out" == *"/dev/pts/0"*"30 90"* ]] &&
  ok "docker run -it: a terminal inside, sized by docker once it has started" || bad "docker run -it: rc=$rc $out"
[ -z "$(pgrep -f "runsc-gofer.*$TMP")" ] &&
  ok "no gofer of these containers is left" ||
  bad "gofers left: $(pgrep -af "runsc-gofer.*$TMP")"
summary
