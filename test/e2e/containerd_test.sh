#!/bin/bash
# containerd drives runsc through its runc shim (containerd-shim-runc-v2),
# as `ctr run --runc-binary` and Kubernetes-style clients do: run with an
# exit status, run -t, run -d, exec (status, stdio, -t), kill, delete; and the errors
# the shim relays from runsc's --log. A private containerd, with an image
# made from Debian's busybox-static.
#   containerd_test.sh RUNSC
set -u
source "$(dirname "$0")/private_run.sh"
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
  bad "containerd is not installed (tools/install_deps.sh installs it)"
  summary
  exit
fi
# Socket paths must fit in 108 bytes: not under bazel's $TMP.
RUNDIR=$(mktemp -d /tmp/rsd.XXXXXX)
cat >"$TMP/config.toml" <<EOF2
version = 2
root = "$TMP/ctrd"
state = "$RUNDIR/s"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUNDIR/c.sock"
EOF2
containerd --config "$TMP/config.toml" >"$TMP/containerd.log" 2>&1 &
CPID=$!
trap 'kill $CPID 2>/dev/null; wait $CPID 2>/dev/null; rm -rf "$TMP" "$RUNDIR"' EXIT
for _ in $(seq 100); do [ -S "$RUNDIR/c.sock" ] && break; sleep 0.1; done
C=(ctr --address "$RUNDIR/c.sock")
# runsc's state and ctr's fifos under $RUNDIR (the defaults, under /run,
# may be read-only here); the native snapshotter needs no overlayfs.
RUN=(--runc-binary "$RUNSC" --runc-root "$RUNDIR/runsc" --snapshotter native
  --fifo-dir "$RUNDIR/fifo")

B="$TMP/rootfs"
busybox_rootfs "$B"
python3 "$HERE/oci_image.py" "$B" localhost/runsc-bb:latest "$TMP/image.tar"
out=$("${C[@]}" images import --snapshotter native "$TMP/image.tar" 2>&1)
[[ "$out" == *"localhost/runsc-bb:latest"*done* ]] && ok "ctr images import" ||
  bad "import: $out $(tail -5 "$TMP/containerd.log")"
IMG=localhost/runsc-bb:latest

out=$(timeout 60 "${C[@]}" run --rm "${RUN[@]}" "$IMG" r$$ sh -c 'echo hi; id; grep -c " /run tmpfs" /proc/mounts; exit 3' 2>&1)
rc=$?
[ $rc == 3 ] && [ "$out" == "hi
uid=0(root) gid=0(root) groups=0(root)
1" ] && ok "ctr run: output, the spec's tmpfs /run, exit status" || bad "ctr run: rc=$rc $out"

# ctr run -t: the container's terminal is ctr's (the shim's pty, from
# the console socket), in raw mode, typed into and sized from it.
DRIVE="$HERE/terminal_drive.py"
out=$(timeout 60 python3 "$DRIVE" 30 90 $'abc\r' "${C[@]}" run --rm -t "${RUN[@]}" "$IMG" t$$ sh -c 'read x; echo got:$x; tty; stty size; exit 4')
[ "$(head -1 <<<"$out")" == 4 ] && [[ "$out" == *"got:abc"*"/dev/pts/0"*"30 90"* ]] &&
  ok "ctr run -t: a terminal inside, typed into and sized" || bad "ctr run -t: $out"

timeout 60 "${C[@]}" run -d "${RUN[@]}" "$IMG" d$$ sh -c 'trap "exit 6" TERM; while :; do sleep 0.1; done' >/dev/null
out=$(echo typed | timeout 30 "${C[@]}" task exec --fifo-dir "$RUNDIR/fifo" --exec-id e1 d$$ sh -c 'cat; echo exec; exit 5' 2>&1)
rc=$?
[ $rc == 5 ] && [ "$out" == "typed
exec" ] && ok "ctr task exec: stdio and exit status" || bad "ctr exec: rc=$rc $out"
out=$(timeout 60 python3 "$DRIVE" 30 90 $'xyz\r' "${C[@]}" task exec -t --fifo-dir "$RUNDIR/fifo" --exec-id e3 d$$ sh -c 'read x; echo got:$x; tty; exit 2')
[ "$(head -1 <<<"$out")" == 2 ] && [[ "$out" == *"got:xyz"*"/dev/pts/"* ]] &&
  ok "ctr task exec -t: a terminal inside" || bad "ctr task exec -t: $out"
out=$(timeout 30 "${C[@]}" task exec --fifo-dir "$RUNDIR/fifo" --exec-id e2 d$$ nosuch 2>&1)
[ $? != 0 ] && [[ "$out" == *'exec: "nosuch": executable file not found in $PATH'* ]] &&
  ok "ctr task exec of a missing program: runsc's error through the shim" ||
  bad "ctr exec nosuch: $out"
"${C[@]}" task kill d$$
for _ in $(seq 50); do
  [[ "$("${C[@]}" task ls)" == *"d$$"*STOPPED* ]] && break
  sleep 0.1
done
out=$("${C[@]}" task ls)
[[ "$out" == *"d$$"*STOPPED* ]] && ok "ctr task kill: SIGTERM to init's handler stops it" ||
  bad "ctr kill: $out"
out=$("${C[@]}" task delete d$$ 2>&1)
[[ "$out" == *"d$$"*6* ]] && ok "ctr task delete reports init's status (6)" ||
  bad "ctr task delete: $out"
"${C[@]}" container delete d$$

out=$(timeout 60 "${C[@]}" run --rm "${RUN[@]}" "$IMG" n$$ /nosuch 2>&1)
rc=$?
# The create fails, in runc's words, as the sandbox finds the program
# missing before it waits for start.
[ $rc != 0 ] && [[ "$out" == *'unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory'* ]] &&
  ok "ctr run of a missing program: create fails with runc's error" || bad "ctr run /nosuch: rc=$rc $out"
"${C[@]}" container delete n$$ >/dev/null 2>&1

# Nothing of runsc's is left: no state, no sandbox, no gofer.
[ -z "$(ls "$RUNDIR/runsc/default" 2>/dev/null)" ] && [ -z "$(pgrep -f "runsc-gofer.*$TMP")" ] &&
  ok "no state or process of these containers is left" ||
  bad "left over: $(ls "$RUNDIR/runsc/default") $(pgrep -af "runsc-gofer.*$TMP")"
summary
