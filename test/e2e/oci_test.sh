#!/bin/bash
# End-to-end tests of runsc as an OCI runtime: the runc verbs on a bundle
# made from Debian's busybox-static (spec, create, start, state, kill,
# delete, run, list, wait), runc's errors, hostile config.json refused
# before anything starts, hooks, bind mounts, exec (stdio, --detach with
# its pid file, a terminal); then podman driving runsc (run, exit status,
# run -d, exec, -it, stop, a volume).
#   oci_test.sh RUNSC
set -u
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
ROOT="$TMP/state"
rs() { "$RUNSC" --root "$ROOT" "$@"; }
# A pid that has exited: gone, or a zombie its new parent has not reaped.
# Gone: no /proc entry, or a zombie (its reaper may take it any moment, so
# one read decides).
gone() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  [ "${s%% *}" == Z ]
}

# ---- A bundle: busybox and its applets, runc's default spec, no tty.
B="$TMP/bundle"
busybox_rootfs "$B/rootfs"
(cd "$B" && rs spec) && [ -s "$B/config.json" ] && ok "spec writes config.json" ||
  bad "runsc spec"
cp "$B/config.json" "$TMP/default.json"
out=$(cd "$B" && rs spec 2>&1)
[ $? != 0 ] && [[ "$out" == *"File config.json exists"* ]] &&
  ok "spec refuses to overwrite" || bad "spec twice: $out"
# runc's spec has a cgroup namespace only where cgroups are v2 alone.
want=0
[ "$(stat -f -c %T /sys/fs/cgroup)" == cgroup2fs ] && want=1
[ "$(grep -c '"type": "cgroup"' "$B/config.json")" == $want ] &&
  ok "spec: a cgroup namespace as runc's ($want)" || bad "spec namespaces: $(grep -A3 namespaces "$B/config.json")"
# Help and version, as runc's command line gives them.
out=$(rs --help) && [[ "$out" == "NAME:"* ]] && out=$(rs kill -h) &&
  [[ "$(sed -n 2p <<<"$out")" == *"runsc kill - "* ]] &&
  ok "--help and VERB -h: on stdout, status 0" || bad "help: $out"
out=$(rs foo -h 2>&1)
[ $? == 3 ] && [ "$out" == "No help topic for 'foo'" ] && ok "help for no verb: runc's error" ||
  bad "foo -h: $out"
out=$(rs -v)
[[ "$out" =~ ^runsc\ version\ [0-9]+\.[0-9]+\.[0-9]+$'\n'commit:\ .*$'\n'spec:\ [0-9.]+$ ]] &&
  ok "-v: version, commit and spec lines" || bad "-v: $out"
# setcfg ARGS_JSON [PYTHON]: the default spec with process.args (and more).
setcfg() {
  python3 - "$B/config.json" "$1" "${2:-}" "$TMP/default.json" <<'PYEOF'
import json, sys
path, args, extra, default = sys.argv[1:5]
c = json.load(open(default))
c["process"]["terminal"] = False
c["process"]["args"] = json.loads(args)
c["root"]["readonly"] = False
exec(extra)
json.dump(c, open(path, "w"))
PYEOF
}

# ---- run: output and exit status.
setcfg '["sh", "-c", "echo hi; id; hostname; exit 3"]'
out=$(rs run -b "$B" "r$$" 2>&1)
rc=$?
[ $rc == 3 ] && [ "$out" == "hi
uid=0(root) gid=0(root)
runsc" ] && ok "run: output and exit status" || bad "run: rc=$rc $out"
[ -z "$(rs list -q)" ] && ok "run removes the container" || bad "after run: $(rs list)"

# runc's default spec mounts mqueue at /dev/mqueue: the sandbox's POSIX
# message queues are there; without the mount, not.
setcfg '["sh", "-c", "grep mqueue /proc/mounts; touch /dev/mqueue/q && ls -l /dev/mqueue"]'
out=$(rs run -b "$B" "m$$" 2>&1)
setcfg '["sh", "-c", "ls /dev/mqueue"]' "c['mounts'] = [m for m in c['mounts'] if m['type'] != 'mqueue']"
out2=$(rs run -b "$B" "m$$" 2>&1)
[[ "$out" == "mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec 0 0"*"-rw-r--r--"*" q" ]] &&
  [[ "$out2" == *"No such file or directory"* ]] &&
  ok "an mqueue mount shows the sandbox's message queues" || bad "mqueue: $out / $out2"

# process.oomScoreAdj: the host's OOM killer sees the sandbox process
# with it (raising needs no privilege).
setcfg '["sleep", "100"]' "c['process']['oomScoreAdj'] = 500"
rs run -d -b "$B" "o$$" </dev/null >/dev/null 2>&1
pid=$(rs state "o$$" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
adj=$(cat "/proc/$pid/oom_score_adj" 2>&1)
rs delete -f "o$$"
[ "$adj" == 500 ] && ok "process.oomScoreAdj is the sandbox's on the host" || bad "oomScoreAdj: $adj"
# process.user.umask is init's umask (runc's default otherwise: 0022).
setcfg '["grep", "^Umask", "/proc/self/status"]' "c['process']['user']['umask'] = 63"
out=$(rs run -b "$B" "u$$" 2>&1)
out2=$(setcfg '["grep", "^Umask", "/proc/self/status"]' && rs run -b "$B" "u$$" 2>&1)
[ "$out" == $'Umask:\t0077' ] && [ "$out2" == $'Umask:\t0022' ] &&
  ok "process.user.umask is init's umask" || bad "umask: $out / $out2"

# ---- A foreground run with process.terminal and no console socket: as
# runc, runsc is the console, joined to the caller's terminal (in raw
# mode) and sized from it.
DRIVE="$(dirname "$0")/terminal_drive.py"
setcfg '["sh", "-c", "read x; echo got:$x; stty size; exit 3"]' \
  "c['process']['terminal'] = True"
out=$(python3 "$DRIVE" 30 90 $'abc\r' "$RUNSC" --root "$ROOT" run -b "$B" "y$$")
[ "$(head -1 <<<"$out")" == 3 ] && [[ "$out" == *"got:abc"*"30 90"* ]] &&
  ok "run with a terminal in the foreground: the caller's terminal" ||
  bad "run -t foreground: $out"
out=$(rs run -b "$B" "y$$" 2>&1 </dev/null)
[ $? == 1 ] && [[ "$out" == *"has no terminal of its own to be the console"* ]] &&
  [ -z "$(rs list -q)" ] && ok "a foreground terminal without one: an error, nothing made" ||
  bad "run -t without a terminal: $out"
out=$(rs run -d -b "$B" "y$$" 2>&1 </dev/null)
[ $? == 1 ] && [[ "$out" == *"cannot allocate tty if runsc will detach without setting console socket"* ]] &&
  ok "run -d with a terminal and no console socket: runc's error" || bad "run -d -t: $out"
setcfg '["true"]'
out=$(rs run --console-socket /nonexistent -b "$B" "y$$" 2>&1 </dev/null)
[ $? == 1 ] && [[ "$out" == *"cannot use console socket if runsc will not detach or allocate tty"* ]] &&
  [ -z "$(rs list -q)" ] && ok "a console socket with no terminal: runc's error" ||
  bad "run --console-socket: $out"
# The terminal belongs to the process's user (group tty), as runc
# chowns the console.
setcfg '["sh", "-c", "stat -c %u:%g $(tty)"]' \
  "c['process']['terminal'] = True; c['process']['user'] = {'uid': 1000, 'gid': 100}"
out=$(python3 "$DRIVE" 30 90 "" "$RUNSC" --root "$ROOT" run -b "$B" "y$$")
[ "$(head -1 <<<"$out")" == 0 ] && [[ "$out" == *"1000:5"* ]] &&
  ok "the terminal belongs to process.user" || bad "tty owner: $out"
# Signals to a foreground runsc reach init, as runc passes them on.
setcfg '["sh", "-c", "trap \"exit 6\" TERM; touch /trapped; while :; do sleep 0.1; done"]'
rm -f "$B/rootfs/trapped"
"$RUNSC" --root "$ROOT" run -b "$B" "f$$" </dev/null &
runner=$!  # runsc's own pid: not a subshell's, as `rs ... &` would give
for _ in $(seq 100); do [ -e "$B/rootfs/trapped" ] && break; sleep 0.1; done
kill -TERM $runner
wait $runner
rc=$?
[ $rc == 6 ] && [ -z "$(rs list -q)" ] && ok "run: a signal to runsc reaches init" ||
  bad "run: SIGTERM to runsc: rc=$rc $(rs list)"
rm -f "$B/rootfs/trapped"

# ---- The lifecycle: create, start, state, kill, delete.
setcfg '["sleep", "1000"]'
rs create -b "$B" --pid-file "$TMP/pid" "c$$"
rc=$?
pid=$(cat "$TMP/pid")
state=$(rs state "c$$")
[ $rc == 0 ] && [[ "$state" == *'"status": "created"'* ]] &&
  [[ "$state" == *"\"pid\": $pid"* ]] && kill -0 "$pid" &&
  ok "create: state created, --pid-file names a live pid" ||
  bad "create: rc=$rc pid=$pid $state"
[[ "$(od -c "$TMP/pid" | tail -2 | head -1)" != *'\n'* ]] &&
  ok "the pid file has no newline (podman reads a bare number)" ||
  bad "pid file: $(od -c "$TMP/pid")"
out=$(rs create -b "$B" "c$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"container with id exists: c$$"* ]] &&
  ok "a duplicate id is refused" || bad "duplicate id: $out"
rs start "c$$" && [[ "$(rs state "c$$")" == *'"status": "running"'* ]] &&
  ok "start: running" || bad "start: $(rs state "c$$")"
out=$(rs start "c$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"cannot start a container that has already started"* ]] &&
  ok "start twice is refused" || bad "start twice: $out"
out=$(rs list --format json)
[[ "$out" == *"\"id\":\"c$$\""*'"status":"running"'* ]] && ok "list --format json" ||
  bad "list json: $out"
out=$(rs delete "c$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"cannot delete container c$$ that is not stopped: running"* ]] &&
  ok "delete of a running container needs --force" || bad "delete running: $out"
# sleep has no handler: SIGTERM from outside does not reach init, as under
# runc (an ancestor pid namespace's signal); SIGKILL does.
rs kill "c$$" TERM
sleep 0.3
[[ "$(rs state "c$$")" == *'"status": "running"'* ]] &&
  ok "SIGTERM to an init without a handler is dropped" || bad "after TERM: $(rs state "c$$")"
rs kill "c$$" 9
for _ in $(seq 50); do [[ "$(rs state "c$$")" == *stopped* ]] && break; sleep 0.1; done
state=$(rs state "c$$")
[[ "$state" == *'"status": "stopped"'* ]] && [[ "$state" == *'"pid": 0'* ]] &&
  ok "SIGKILL stops it" || bad "after KILL: $state"
[ "$(rs wait "c$$")" == 137 ] && ok "wait reports 137" || bad "wait: $(rs wait "c$$")"
out=$(rs kill "c$$" TERM 2>&1)
[ $? == 1 ] && [[ "$out" == *"container not running"* ]] &&
  ok "kill of a stopped container: container not running" || bad "kill stopped: $out"
rs delete "c$$" && [ ! -e "$ROOT/c$$" ] && gone "$pid" &&
  ok "delete removes the state and every process" || bad "delete: $(ls "$ROOT")"
out=$(rs state "c$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"container does not exist: c$$"* ]] &&
  ok "state of a deleted container" || bad "state after delete: $out"

# A handler in init gets the signal; its status is the container's.
setcfg '["sh", "-c", "trap \"exit 5\" TERM; while :; do sleep 0.1; done"]'
rs run -d -b "$B" "t$$"
sleep 0.5
rs kill "t$$" SIGTERM
[ "$(rs wait "t$$")" == 5 ] && ok "a handled SIGTERM ends init with its status" ||
  bad "trap TERM: $(rs state "t$$")"
rs delete "t$$"

# --preserve-fds: init gets the caller's fds 3, 4, ... as its own; a
# closed one is named and nothing is made.
echo from-three >"$TMP/three"
setcfg '["sh", "-c", "cat <&3; echo to-four >&4; for f in 5 6 7 8 9; do [ -e /proc/self/fd/$f ] && echo extra $f; done; echo end"]'
out=$(rs run --preserve-fds 2 -b "$B" "p$$" 3<"$TMP/three" 4>"$TMP/four" 2>&1)
[ "$out" == "from-three
end" ] && [ "$(cat "$TMP/four")" == to-four ] &&
  ok "run --preserve-fds: init's fds 3 and 4" || bad "run --preserve-fds: $out"
out=$(rs run --preserve-fds 1 -b "$B" "p$$" 3<&- 2>&1)
[ $? == 1 ] && [[ "$out" == *"--preserve-fds: fd 3 is not open"* ]] && [ ! -e "$ROOT/p$$" ] &&
  ok "run --preserve-fds with a closed fd: named, nothing made" || bad "run --preserve-fds closed: $out"

# A missing program or working directory fails the create, as runc's
# does, and leaves nothing behind.
setcfg '["nosuch"]'
out=$(rs create -b "$B" "n$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *'unable to start container process: exec: "nosuch": executable file not found in $PATH'* ]] &&
  [ ! -e "$ROOT/n$$" ] && [ -z "$(pgrep -f "runsc-gofer.*$B")" ] &&
  ok "create of a missing program: runc's error, nothing left" || bad "create nosuch: $out"
setcfg '["true"]' "c['process']['cwd'] = '/nowhere'"
out=$(rs create -b "$B" "n$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *'chdir to cwd ("/nowhere") set in config.json failed: No such file or directory'* ]] &&
  [ ! -e "$ROOT/n$$" ] && ok "create with a missing cwd: runc's error" || bad "create cwd: $out"

# A killed-before-start container goes away with delete --force.
setcfg '["true"]'
rs create -b "$B" "k$$"
pid=$(rs state "k$$" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
rs delete --force "k$$" && [ ! -e "$ROOT/k$$" ] && gone "$pid" &&
  ok "delete --force of a created container" || bad "delete -f created"

# ---- exec: new processes in the running sandbox.
HERE=$(dirname "$0")
setcfg '["sh", "-c", "while :; do sleep 0.1; done"]' "c['process']['env'].append('FROM_SPEC=1')"
rs run -d -b "$B" "x$$"
out=$(echo piped | rs exec "x$$" sh -c 'cat; echo $FROM_SPEC; echo $PPID; exit 3')
rc=$?
[ $rc == 3 ] && [ "$out" == "piped
1
0" ] && ok "exec: stdio, the container's env, ppid 0, exit status" || bad "exec: rc=$rc $out"
# runc's default spec: three capabilities, RLIMIT_NOFILE 1024,
# noNewPrivileges; the same for init (the spec) and an exec (the
# container's process).
caps=$'CapEff:\t0000000020000420\nNoNewPrivs:\t1\n1024'
out=$(rs exec "x$$" sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ulimit -n')
init=$(rs exec "x$$" sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/1/status; ulimit -n')
[ "$out" == "$caps" ] && [ "$init" == "$caps" ] &&
  ok "process.capabilities, rlimits, noNewPrivileges: init and exec" ||
  bad "capabilities: $out / $init"
out=$(rs exec --cap CAP_SYS_ADMIN "x$$" grep CapEff /proc/self/status)
[ "$out" == $'CapEff:\t0000000020200420' ] && ok "exec --cap adds a capability" ||
  bad "exec --cap: $out"
out=$(rs exec "x$$" nosuch 2>&1)
rc=$?
[ $rc == 255 ] && [[ "$out" == *'exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH'* ]] &&
  ok "exec of a missing program: runc's error and status 255 (podman's 127)" || bad "exec nosuch: rc=$rc $out"
rs exec --pid-file /nonexistent/dir/pid "x$$" true 2>/dev/null
rc=$?
rs exec "nosuch$$" true 2>/dev/null
rc2=$?
[ $rc == 255 ] && [ $rc2 == 255 ] && ok "exec's own failures: status 255, as runc's" ||
  bad "exec failure statuses: $rc $rc2"
out=$(rs exec --cwd /nope "x$$" true 2>&1)
[ $? != 0 ] && [[ "$out" == *'chdir to cwd ("/nope") set in config.json failed'* ]] &&
  ok "exec in a missing directory: runc's error" || bad "exec --cwd /nope: $out"
out=$(rs exec -u 1000:1001 -g 5 -e A=b -e FROM_SPEC=2 --cwd /tmp "x$$" sh -c 'id; echo $A; env | grep -c FROM_SPEC=; echo $FROM_SPEC; pwd' 2>&1)
[ "$out" == "uid=1000 gid=1001 groups=5
b
1
2
/tmp" ] && ok "exec --user, --additional-gids, --env, --cwd" || bad "exec flags: $out"
# --preserve-fds N: the caller's fds 3 .. N+2 are the process's, at the
# same numbers (socket activation's LISTEN_FDS).
out=$(rs exec --preserve-fds 2 "x$$" sh -c 'cat <&3; echo to-four >&4; readlink /proc/self/fd/4' \
  3<"$TMP/three" 4> >(cat >"$TMP/four") 2>&1)
sleep 0.2
[[ "$out" == "from-three"$'\n'"pipe:["* ]] && [ "$(cat "$TMP/four")" == to-four ] &&
  ok "exec --preserve-fds: a file and a pipe at 3 and 4" || bad "exec --preserve-fds: $out / $(cat "$TMP/four")"
out=$(rs exec --preserve-fds 2 "x$$" true 3</dev/null 4<&- 2>&1)
[ $? == 255 ] && [[ "$out" == *"--preserve-fds: fd 4 is not open"* ]] &&
  ok "exec --preserve-fds with a closed fd: named" || bad "exec --preserve-fds closed: $out"
cat >"$TMP/process.json" <<'EOF2'
{"args": ["sh", "-c", "echo from process.json $P; id -u"], "env": ["P=p"], "cwd": "/", "user": {"uid": 7, "gid": 7}}
EOF2
out=$(rs exec --process "$TMP/process.json" "x$$" 2>&1)
[ "$out" == "from process.json p
7" ] && ok "exec --process FILE" || bad "exec --process: $out"
echo '{"args": []}' >"$TMP/bad-process.json"
out=$(rs exec --process "$TMP/bad-process.json" "x$$" 2>&1)
[ $? == 255 ] && [[ "$out" == *"bad-process.json: process.args: no program to run"* ]] &&
  ok "exec --process with a bad file names the field" || bad "bad process.json: $out"
# --detach, as conmon and containerd's shim run it: the pid file's process
# stands for the one in the sandbox and ends as it does.
out=$(python3 "$HERE/subreaper.py" "$TMP/x.pid" "$RUNSC" --root "$ROOT" exec -d \
  --pid-file "$TMP/x.pid" "x$$" sh -c 'sleep 0.3; exit 7')
[ "$out" == "exit 7" ] && ok "exec -d: the pid file's process exits with the status" ||
  bad "exec -d: $out"
# A signal to the pid file's process is passed on: the process's TERM
# trap decides the status (without forwarding it would be "signal 15").
out=$(python3 "$HERE/subreaper.py" --signal 15 "$TMP/t.pid" "$RUNSC" --root "$ROOT" \
  exec -d --pid-file "$TMP/t.pid" "x$$" sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done')
[ "$out" == "exit 9" ] && ok "exec -d: a signal to the pid file's process reaches the process" ||
  bad "exec -d signal: $out"
rs exec -d --pid-file "$TMP/k.pid" "x$$" sleep 1000 && kill -KILL "$(cat "$TMP/k.pid")"
rc=$?
for _ in $(seq 50); do
  [[ "$(rs exec "x$$" ps -o args)" != *"sleep 1000"* ]] && break
  sleep 0.1
done
out=$(rs exec "x$$" ps -o args)
[ $rc == 0 ] && [[ "$out" == *"while :"* ]] && [[ "$out" != *"sleep 1000"* ]] &&
  ok "exec -d: killing the pid file's process kills the process" ||
  bad "exec -d kill: rc=$rc $out"
# A terminal: a pty of the sandbox's own, joined to the host pty whose
# master goes to --console-socket; the engine's size and resizes reach it.
# (A socket path must fit in 108 bytes: not under bazel's $TMP.)
SOCKS=$(mktemp -d /tmp/rsc.XXXXXX)
trap 'rm -rf "$TMP" "$SOCKS"' EXIT
python3 "$HERE/console_socket.py" "$SOCKS/console" $'tty; stty size\n' \
  $'stty size; exit 4\n' >"$TMP/console.out" 2>&1 &
for _ in $(seq 100); do [ -S "$SOCKS/console" ] && break; sleep 0.1; done
# As with runc, a console socket is for a detached process only (the
# engines' shims and conmon pass --detach).
rs exec -t -d --console-socket "$SOCKS/console" "x$$" sh
rc=$?
wait
out=$(tr -d '\r' <"$TMP/console.out")
[ $rc == 0 ] && [[ "$out" == *"
/dev/pts/0
40 100
"*"
50 120"* ]] && ok "exec -t: a terminal of its own, sized and resized by the engine" ||
  bad "exec -t: rc=$rc $out"
out=$(rs exec -t -d "x$$" true 2>&1)
[ $? == 255 ] && [[ "$out" == *"cannot allocate tty if runsc will detach without setting console socket"* ]] &&
  ok "exec -t -d without --console-socket: runc's error" || bad "exec -t -d alone: $out"
out=$(python3 "$DRIVE" 25 70 $'xyz\r' "$RUNSC" --root "$ROOT" exec -t "x$$" \
  sh -c 'read x; echo got:$x; stty size; exit 4')
[ "$(head -1 <<<"$out")" == 4 ] && [[ "$out" == *"got:xyz"*"25 70"* ]] &&
  ok "exec -t in the foreground: the caller's terminal" || bad "exec -t foreground: $out"
# ps: the sandbox's processes; --format json, as runc, host pids (of the
# processes running each one's guest code, descendants of the sandbox).
out=$(rs ps "x$$")
json=$(rs ps --format json "x$$")
sandbox=$(rs state "x$$" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
# The first is init's (the loop's sleeps come and go): a descendant of
# the sandbox process.
p=$(echo "$json" | tr -d '[]' | cut -d, -f1)
while [ -n "$p" ] && [ "$p" -gt 1 ] && [ "$p" != "$sandbox" ]; do
  p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status")
done
[[ "$out" =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$'\n'root\ +1\ +0\ .*sh ]] &&
  [[ "$json" == "["[0-9]* ]] &&
  [ "$p" == "$sandbox" ] &&
  ok "ps: ps -ef's table, and host pids under the sandbox in JSON" ||
  bad "ps: $out $json (sandbox $sandbox)"
# update: what it cannot change is refused by name, bad values named.
out=$(rs update --cpuset-cpus 1 "x$$" 2>&1)
out2=$(rs update "x$$" --memory 5X 2>&1)
out3=$(echo '{"memory": {"limit": "x"}}' | rs update -r - "x$$" 2>&1)
[[ "$out" == *"update --cpuset-cpus: not supported"* ]] && [[ "$out2" == *"update --memory 5X: not a size"* ]] &&
  [[ "$out3" == *"linux.resources.memory.limit: expected an integer"* ]] &&
  ok "update: unsupported flags and bad values named" || bad "update refusals: $out / $out2 / $out3"
out=$(rs checkpoint "x$$" 2>&1)
rc=$?
out2=$(rs restore "x$$" 2>&1)
[ $rc == 1 ] && [[ "$out" == "runsc: checkpoint: not supported"* ]] &&
  [[ "$out2" == "runsc: restore: not supported"* ]] &&
  ok "checkpoint and restore: refused by name" || bad "checkpoint: rc=$rc $out / $out2"
# update --pids-limit is also the sandbox's own limit on its tasks (here,
# with no host cgroups, the only one): init and three more fit in 4.
setcfg '["sleep", "1000"]'
rs run -d -b "$B" "l$$" </dev/null >/dev/null 2>&1
rs update --pids-limit 4 "l$$"
rc=$?
started() {
  local n=0
  for _ in 1 2 3 4 5; do
    rs exec -d "l$$" sleep 100 </dev/null >/dev/null 2>&1 && n=$((n + 1))
  done
  echo $n
}
n1=$(started)
rs update --pids-limit 0 "l$$"
n2=$(started)
rs delete -f "l$$"
[ $rc == 0 ] && [ "$n1" == 3 ] && [ "$n2" == 5 ] &&
  ok "update --pids-limit: the sandbox's task limit follows" || bad "update --pids-limit: rc=$rc $n1 $n2"
# With ps options, as runc: the host's ps, its lines for the container's
# host processes only.
out=$(rs ps "x$$" -e -o pid,comm)
[[ "$out" =~ ^\ *PID\ COMMAND$'\n' ]] && [[ "$out" == *" $sandbox "* ]] &&
  ! grep -qw "$$" <<<"$out" && ok "ps with ps options: the host's ps, the container's lines" ||
  bad "ps -e -o: $out (sandbox $sandbox)"
out=$(rs events --stats "x$$")
[[ "$out" == '{"type":"stats","id":"x'$$'","data":{'*'"pids":{"current":'[1-9]* ]] &&
  ok "events --stats: runc's stats event" || bad "events --stats: $out"
rs kill "x$$" 0 && ok "kill with signal 0: the container is there" ||
  bad "kill 0 of a running container"
rs kill "x$$" KILL
rs wait "x$$" >/dev/null
out=$(rs ps "x$$")
[ $? == 0 ] && [[ "$out" == "UID "*"CMD" ]] && ok "ps of a stopped container: nothing in it" ||
  bad "ps stopped: $out"
out=$(rs kill "x$$" 0 2>&1)
[ $? == 1 ] && [[ "$out" == *"container not running"* ]] && rs kill -a "x$$" 0 &&
  ok "kill of a stopped one: runc's error; with --all nothing left to signal, success" ||
  bad "kill 0 stopped: $out"
out=$(rs exec "x$$" true 2>&1)
[ $? == 255 ] && [[ "$out" == *"cannot exec in a stopped container"* ]] &&
  ok "exec in a stopped container: runc's error" || bad "exec stopped: $out"
rs delete "x$$"

# pause and resume: every task stops before it next runs guest code.
mkdir -p "$TMP/pause"
setcfg '["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /p/t; mv /p/t /p/n; done"]' \
  "c['mounts'].append({'destination': '/p', 'type': 'bind', 'source': '$TMP/pause', 'options': ['rbind']})"
rs run -d -b "$B" "p$$"
sleep 0.5
rs pause "p$$"
a=$(cat "$TMP/pause/n")
sleep 0.5
b=$(cat "$TMP/pause/n")
state=$(rs state "p$$")
out=$(rs exec "p$$" true 2>&1)
[ "$a" == "$b" ] && [ -n "$a" ] && [[ "$state" == *'"status": "paused"'* ]] &&
  [[ "$out" == *"cannot exec in a paused container"* ]] &&
  ok "pause: state paused, nothing runs, exec refused" || bad "pause: $a $b $state $out"
rs resume "p$$"
sleep 0.3
c=$(cat "$TMP/pause/n")
[[ "$(rs state "p$$")" == *'"status": "running"'* ]] && [ "$c" -gt "$b" ] &&
  ok "resume: running again" || bad "resume: $b $c $(rs state "p$$")"
out=$(rs resume "p$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"container not paused"* ]] &&
  ok "resume of a running container: runc's error" || bad "resume running: $out"
# The sandbox process is in a network namespace of its own (engines set up
# the container's network there; the sentry needs no host network).
pid=$(rs state "p$$" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
  [ "$(readlink "/proc/$pid/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ] &&
  ok "the sandbox has network and ipc namespaces of its own" ||
  bad "sandbox namespaces: $(ls -l "/proc/$pid/ns/")"
rs delete -f "p$$"

# debug: what each task does; the system call trace switched on and off.
setcfg '["sh", "-c", "while :; do cat /proc/self/stat >/dev/null; sleep 0.1; done"]'
rs run -d -b "$B" "g$$"
# Init is in wait4 nearly all the time, but may be caught forking: look
# a few times.
for _ in $(seq 20); do
  sleep 0.2
  out=$(rs debug --stacks "g$$")
  [[ "$out" =~ $'\n'1\ +1\ +syscall\ +wait4\ .*sh ]] && break
done
[[ "$out" == *"TID"*"COMM"* ]] && [[ "$out" =~ $'\n'1\ +1\ +syscall\ +wait4\ .*sh ]] &&
  ok "debug --stacks: init waits in wait4" || bad "debug --stacks: $out"
rs debug --strace=on "g$$" >"$TMP/trace"
sleep 0.5
rs debug --strace=off "g$$"
sleep 0.3
n=$(wc -l <"$TMP/trace")
sleep 0.5
[ "$n" -gt 5 ] && grep -q 'openat(AT_FDCWD, "/proc/self/stat"' "$TMP/trace" &&
  [ "$(wc -l <"$TMP/trace")" == "$n" ] &&
  ok "debug --strace=on traces to stdout, --strace=off stops it" ||
  bad "debug --strace: $n lines, $(head -3 "$TMP/trace")"
out=$(rs debug --strace=maybe "g$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"expected on or off"* ]] &&
  ok "debug --strace=maybe is refused" || bad "debug --strace=maybe: $out"
rs delete -f "g$$"

# cgroups from linux.resources (runsc/cgroup_test covers the writes).
setcfg '["sh", "-c", "sleep 100"]' "
c['linux']['resources'] = {'memory': {'limit': 67108864}, 'pids': {'limit': 50}}
c['linux']['cgroupsPath'] = '/runsc-test/g$$'"
# (Into a file: the created sandbox keeps its stdio open, as runc's init.)
rs create -b "$B" "g$$" >"$TMP/cg.out" 2>&1
rc=$?
out=$(cat "$TMP/cg.out")
pid=$(rs state "g$$" 2>/dev/null | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
memcg=$(awk -F: '$2 == "memory" {print $3}' "/proc/$pid/cgroup" 2>/dev/null)
if [ -w /sys/fs/cgroup/memory ] && touch /sys/fs/cgroup/memory/tasks 2>/dev/null; then
  [ $rc == 0 ] && [ "$memcg" == "/runsc-test/g$$" ] &&
    [ "$(cat "/sys/fs/cgroup/memory$memcg/memory.limit_in_bytes")" == 67108864 ] &&
    [ "$(cat "/sys/fs/cgroup/pids$memcg/pids.max")" == 50 ] &&
    ok "linux.resources: the sandbox in cgroupsPath, memory and pids limits" ||
    bad "cgroups: rc=$rc $out $memcg"
  rs delete -f "g$$"
  [ ! -e "/sys/fs/cgroup/memory/runsc-test/g$$" ] &&
    ok "delete removes the container's cgroups" || bad "cgroups left after delete"
  rmdir /sys/fs/cgroup/*/runsc-test 2>/dev/null
else
  [ $rc == 0 ] && ok "cgroupfs read-only in a user namespace: skipped, as runc's rootless mode does" ||
    bad "create with resources, read-only cgroupfs: rc=$rc $out"
  rs delete -f "g$$"
  skip "linux.resources applied as cgroups" "/sys/fs/cgroup is read-only here (bazel's sandbox)"
fi

# root.readonly: runc makes the mountpoints, then remounts the root
# read-only; so does the sandbox (its root overlay, not the host's tree).
setcfg '["sh", "-c", "ls -d /proc/self /sys/kernel >/dev/null && touch /x"]' \
  "c['root']['readonly'] = True"
rm -rf "$B/rootfs/proc" "$B/rootfs/sys"
out=$(rs run -b "$B" "r$$" 2>&1)
rc=$?
[ $rc == 1 ] && [[ "$out" == *"/x: Read-only file system"* ]] && [ ! -e "$B/rootfs/proc" ] &&
  ok "root.readonly: mountpoints made in the sandbox, then writes fail with EROFS" ||
  bad "root.readonly: rc=$rc $out"
# linux.seccomp applies to init and to each exec, as runc installs it;
# what the sandbox cannot do (user notification) is refused by name.
setcfg '["sh", "-c", "mkdir /a; echo $?; sleep 100"]' "c['linux']['seccomp'] = {
  'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64'],
  'syscalls': [{'names': ['mkdir', 'mkdirat'], 'action': 'SCMP_ACT_ERRNO'},
               {'names': ['nosuch_call'], 'action': 'SCMP_ACT_KILL'},
               {'names': ['getppid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 13,
                'args': [{'index': 0, 'value': 0, 'op': 'SCMP_CMP_EQ'}]}]}"
rs run -d -b "$B" "s$$" >"$TMP/sc.out" 2>&1
sleep 0.5
out=$(rs exec "s$$" sh -c 'mkdir /b 2>&1; grep ^Seccomp: /proc/self/status')
rs delete -f "s$$"
[[ "$(cat "$TMP/sc.out")" == *"Operation not permitted"*"1"* ]] &&
  [[ "$out" == *"mkdir: can't create directory '/b': Operation not permitted"*$'Seccomp:\t2'* ]] &&
  ok "linux.seccomp: init and exec run under the profile" ||
  bad "seccomp profile: $(cat "$TMP/sc.out") / $out"
setcfg '["true"]' "c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_NOTIFY', 'listenerPath': '/x'}"
out=$(rs run -b "$B" "s$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported"* ]] &&
  [ -z "$(rs list -q)" ] && ok "linux.seccomp: SCMP_ACT_NOTIFY refused by name" || bad "seccomp notify: $out"
setcfg '["true"]' "c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_BOGUS'}]}"
out=$(rs run -b "$B" "s$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *'linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_BOGUS"'* ]] &&
  ok "linux.seccomp: a bad action named" || bad "seccomp bad action: $out"
# An image's symlink where proc or sysfs goes is refused, as runc does.
setcfg '["true"]'
for d in proc sys; do
  ln -s /symlink "$B/rootfs/$d"
  out=$(rs run -b "$B" "m$$" 2>&1)
  rc=$?
  rm -f "$B/rootfs/$d"
  [ $rc == 1 ] && [[ "$out" == *"mount on /$d: "*" must be mounted on ordinary directory"* ]] &&
    [ -z "$(rs list -q)" ] && ok "a symlink at /$d: refused, as runc" || bad "symlink /$d: rc=$rc $out"
done

# ---- Mounts and hooks: a directory bind (read-only), a file bind, and a
# poststop hook that gets the state on stdin.
mkdir -p "$TMP/data"
echo "from the host" >"$TMP/data/f"
echo "bound file" >"$TMP/file"
cat >"$TMP/hook.sh" <<EOF2
#!/bin/sh
cat > "$TMP/hook.out"
EOF2
chmod +x "$TMP/hook.sh"
setcfg '["sh", "-c", "cat /data/f /etc/motd; echo x > /data/g; echo rc=$?"]' "
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$TMP/data', 'options': ['rbind', 'ro']})
c['mounts'].append({'destination': '/etc/motd', 'type': 'bind', 'source': '$TMP/file', 'options': ['bind']})
c['hooks'] = {'poststop': [{'path': '$TMP/hook.sh'}]}"
out=$(rs run -b "$B" "m$$" 2>&1)
[[ "$out" == "from the host
bound file"*"Read-only file system"*"rc=1" ]] && [ ! -e "$TMP/data/g" ] &&
  ok "bind mounts: a read-only directory, a file" || bad "mounts: $out"
[[ "$(cat "$TMP/hook.out" 2>/dev/null)" == *"\"id\":\"m$$\""* ]] &&
  ok "the poststop hook gets the state on stdin" || bad "hook: $(cat "$TMP/hook.out")"
# poststart runs once the process does (state "running"); one that fails
# ends the container.
cat >"$TMP/post.sh" <<EOF2
#!/bin/sh
cat > "$TMP/post.out"
exit \${1:-0}
EOF2
chmod +x "$TMP/post.sh"
setcfg '["true"]' "c['hooks'] = {'poststart': [{'path': '$TMP/post.sh'}]}"
rs run -b "$B" "h$$" && [[ "$(cat "$TMP/post.out")" == *'"status":"running"'* ]] &&
  ok "the poststart hook runs with the container running" || bad "poststart: $(cat "$TMP/post.out")"
setcfg '["sleep", "100"]' "c['hooks'] = {'poststart': [{'path': '$TMP/post.sh', 'args': ['post.sh', '3']}]}"
out=$(rs run -d -b "$B" "h$$" 2>&1 </dev/null)
[ $? == 1 ] && [[ "$out" == *"poststart hook"*"status 3"* ]] && [ -z "$(rs list -q)" ] &&
  ok "a failing poststart hook ends the container" || bad "poststart failing: $out $(rs list)"
rs delete -f "h$$" 2>/dev/null
# createContainer (at create) and startContainer (at start, before the
# process) run on the host too: the container's namespaces are the
# sandbox's.
rm -f "$TMP/post.out"
setcfg '["true"]' "c['hooks'] = {'createContainer': [{'path': '$TMP/post.sh', 'args': ['post.sh', '0']}],
  'startContainer': [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat >> $TMP/post.out']}]}"
rs create -b "$B" "h$$" </dev/null >/dev/null 2>&1
created=$(cat "$TMP/post.out")
rs start "h$$"
started=$(cat "$TMP/post.out")
rs wait "h$$" >/dev/null
rs delete "h$$"
[[ "$created" == *'"id":"h'$$'"'* ]] && [[ "$started" == *'"id":"h'$$'"'*'"id":"h'$$'"'* ]] &&
  ok "createContainer and startContainer hooks run on the host" ||
  bad "createContainer/startContainer: $created / $started"

# ---- maskedPaths and readonlyPaths (runc's default spec masks
# /proc/kcore and others; those the sandbox's proc lacks are skipped).
mkdir -p "$B/rootfs/secret/d" "$B/rootfs/ro"
echo secret >"$B/rootfs/secret/f"
echo secret >"$B/rootfs/secret/d/g"
setcfg '["sh", "-c", "cat /secret/f; echo f=$?; ls /secret/d; echo x >/secret/d/n; echo >/ro/n; echo ro=$?; ls /proc/self/fd >/dev/null && echo proc"]' "
c['linux']['maskedPaths'] += ['/secret/f', '/secret/d', '/nonexistent']
c['linux']['readonlyPaths'] += ['/ro']"
out=$(rs run -b "$B" "mp$$" 2>&1)
[[ "$out" == "f=0"*"Read-only file system"*"Read-only file system"*"ro=1
proc" ]] && ok "maskedPaths (a file, a directory, a missing path), readonlyPaths" ||
  bad "masked/readonly paths: $out"
rm -rf "$B/rootfs/secret" "$B/rootfs/ro"

# ---- A user namespace with linux.uidMappings/gidMappings: the sandbox
# and its gofers run as the container's root, which the host sees as the
# mapped id (files written to a bind mount are the host's 100000's). Under
# bazel the test's own namespace maps uid 0 alone: there the mapping is
# 0 -> 0, and the namespace itself is what is checked.
if awk '$1 <= 100000 && $1 + $3 >= 165536 {f = 1} END {exit !f}' /proc/self/uid_map &&
  awk '$1 <= 100000 && $1 + $3 >= 165536 {f = 1} END {exit !f}' /proc/self/gid_map; then
  uhost=100000 usize=65536
else
  uhost=0 usize=1
fi
mkdir -p "$TMP/udata"
chmod 777 "$TMP/udata"
setcfg '["sh", "-c", "id; echo w > /data/f; ls -ln /data/f; exec sleep 1000"]' "
c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': $uhost, 'size': $usize}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': $uhost, 'size': $usize}]
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$TMP/udata', 'options': ['rbind']})"
rs run -d -b "$B" "u$$" >"$TMP/uout" 2>&1
for _ in $(seq 100); do grep -q /data/f "$TMP/uout" && break; sleep 0.1; done
pid=$(rs state "u$$" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
umap=$(tr -s ' ' <"/proc/$pid/uid_map" 2>/dev/null)
[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] &&
  [ "$umap" == " 0 $uhost $usize" ] &&
  [ "$(stat -c %u:%g "$TMP/udata/f" 2>/dev/null)" == "$uhost:$uhost" ] &&
  [[ "$(cat "$TMP/uout")" == "uid=0(root) gid=0(root)"*" 0 "*" 0 "*"/data/f" ]] &&
  ok "user namespace: the sandbox runs as container root = host $uhost" ||
  bad "user namespace: map=$umap $(stat -c %u:%g "$TMP/udata/f") $(cat "$TMP/uout")"
out=$(rs exec "u$$" id)
[ "$out" == "uid=0(root) gid=0(root)" ] && ok "exec in a user-namespaced container" ||
  bad "exec with userns: $out"
rs delete -f "u$$"
gone "$pid" && ok "delete ends the user-namespaced sandbox" || bad "userns sandbox left: $pid"

# ---- Hostile or malformed config.json: a clear error, nothing created.
bad_cfg() {  # DESCRIPTION EXPECTED PYTHON
  setcfg '["true"]' "$3"
  out=$(rs create -b "$B" "h$$" 2>&1)
  rc=$?
  [ $rc == 1 ] && [[ "$out" == *"$2"* ]] && [ ! -e "$ROOT/h$$" ] &&
    ok "$1" || bad "$1: rc=$rc $out"
}
bad_cfg "a uid of the wrong type" 'process.user.uid: expected an integer' \
  "c['process']['user']['uid'] = 'root'"
bad_cfg "a mount destination with .." 'mounts[6].destination: "/etc/../x" is not an absolute path without ..' \
  "c['mounts'].append({'destination': '/etc/../x', 'type': 'tmpfs'})"
bad_cfg "a bind mount onto /proc" 'a bind mount on /proc/sys: only a proc mount may go at /proc' \
  "c['mounts'].append({'destination': '/proc/sys', 'type': 'bind', 'source': '/'})"
bad_cfg "a huge args array" 'process.args: 100000 entries, at most 4096' \
  "c['process']['args'] = ['x'] * 100000"
bad_cfg "no args" 'process.args: no program to run' "c['process']['args'] = []"
bad_cfg "uid mappings without a user namespace" 'but linux.namespaces has no user namespace' \
  "c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 1000, 'size': 1}]"
bad_cfg "a user namespace whose mappings leave out root" 'linux.uidMappings: id 0 is not mapped' \
  "c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 1, 'hostID': 1000, 'size': 1}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 1000, 'size': 1}]"
mkfifo "$TMP/fifo"
bad_cfg "a network namespace path that is a FIFO (opened, it would hang)" \
  "linux.namespaces: network $TMP/fifo: not a namespace file" \
  "c['linux']['namespaces'] = [{'type': 'network', 'path': '$TMP/fifo'}]"
echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"]' >"$B/config.json"
out=$(rs create -b "$B" "h$$" 2>&1)
[ $? == 1 ] && [[ "$out" == *"config.json: invalid JSON at byte"* ]] && [ ! -e "$ROOT/h$$" ] &&
  ok "truncated JSON" || bad "truncated JSON: $out"

# ---- podman drives runsc (busybox imported as an image).
# A store of its own (the host's may be read-only under bazel's sandbox,
# and two runs at once must not share one).
# podman wants a runroot under 50 characters.
PRUN=$(mktemp -d /tmp/rsp.XXXXXX)
trap 'rm -rf "$TMP" "$PRUN" "$SOCKS"' EXIT
PODMAN=(podman --root "$TMP/podman/root" --runroot "$PRUN"
  --tmpdir "$TMP/podman/tmp" --storage-driver vfs
  --cgroup-manager=cgroupfs --events-backend=file)
# No podman network: netavark cannot enter namespaces from the user
# namespace bazel runs tests in, and the sandbox has its own network.
# runsc's state under $TMP (/run may be read-only here), through a
# wrapper named runsc, as podman passes --log only to runtimes so named.
mkdir -p "$TMP/rt"
printf '#!/bin/sh\nexec "%s" --root "%s" "$@"\n' "$RUNSC" "$TMP/rtroot" >"$TMP/rt/runsc"
chmod +x "$TMP/rt/runsc"
RT=(--runtime "$TMP/rt/runsc" --network=none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
if ! command -v podman >/dev/null; then
  bad "podman is not installed (tools/install_deps.sh installs it)"
  summary
  exit
fi
IMG="localhost/runsc-test-bb"
tar -C "$B/rootfs" -c . | "${PODMAN[@]}" import - "$IMG" >/dev/null 2>&1
out=$("${PODMAN[@]}" run --rm "${RT[@]}" "$IMG" sh -c 'echo hi; id; ls /; exit 7' 2>"$TMP/perr")
rc=$?
native=$(ls "$B/rootfs" | sort)
[ $rc == 7 ] && [[ "$out" == "hi
uid=0(root) gid=0(root)"* ]] && ok "podman run: output and exit status" ||
  bad "podman run: rc=$rc $out $(cat "$TMP/perr")"
for d in bin dev etc proc sys tmp; do
  [[ "$out" == *"$d"* ]] || { bad "podman run: no /$d in $out"; break; }
done
"${PODMAN[@]}" run -d --name "p$$" "${RT[@]}" "$IMG" sleep 1000 >/dev/null
[ "$("${PODMAN[@]}" inspect -f '{{.State.Status}}' "p$$")" == running ] &&
  ok "podman run -d: running" || bad "podman run -d: $("${PODMAN[@]}" ps -a)"
out=$("${PODMAN[@]}" exec "p$$" sh -c 'echo in; pidof sleep; exit 6' 2>"$TMP/perr")
rc=$?
[ $rc == 6 ] && [ "$out" == "in
1" ] && ok "podman exec: runs beside the container's init, exit status" ||
  bad "podman exec: rc=$rc $out $(cat "$TMP/perr")"
out=$("${PODMAN[@]}" exec "p$$" nosuch 2>&1)
rc=$?
[ $rc == 127 ] && [[ "$out" == *"executable file not found"* ]] &&
  ok "podman exec of a missing program: 127, as with runc" || bad "podman exec nosuch: rc=$rc $out"
out=$("${PODMAN[@]}" run --rm "${RT[@]}" "$IMG" nosuch 2>&1)
rc=$?
[ $rc == 127 ] && [[ "$out" == *"executable file not found"* ]] &&
  ok "podman run of a missing program: 127, as with runc" || bad "podman run nosuch: rc=$rc $out"
# -it needs a terminal on podman's side: script(1) gives it one.
out=$(script -qec "${PODMAN[*]} exec -it p$$ sh -c 'tty; exit 2'" /dev/null </dev/null 2>&1)
rc=$?
[ $rc == 2 ] && [[ "$out" == *"/dev/pts/0"* ]] &&
  ok "podman exec -it: a terminal inside" || bad "podman exec -it: rc=$rc $out"
"${PODMAN[@]}" stop -t 1 "p$$" >/dev/null 2>&1
[ "$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "p$$")" == 137 ] &&
  ok "podman stop: SIGTERM ignored by sleep, then SIGKILL (137, as with runc)" ||
  bad "podman stop: $("${PODMAN[@]}" ps -a)"
"${PODMAN[@]}" rm "p$$" >/dev/null
out=$(script -qec "stty cols 90 rows 30; ${PODMAN[*]} run -it --rm ${RT[*]} $IMG sh -c 'tty; sleep 1; stty size; exit 3'" /dev/null </dev/null 2>&1)
rc=$?
[ $rc == 3 ] && [[ "$out" == *"/dev/pts/0"*"30 90"* ]] &&
  ok "podman run -it: a terminal inside, sized by podman once it has started" || bad "podman run -it: rc=$rc $out"
out=$("${PODMAN[@]}" run --rm "${RT[@]}" -v "$TMP/data:/data" "$IMG" sh -c 'cat /data/f; echo w > /data/w' 2>"$TMP/perr")
[ "$out" == "from the host" ] && [ "$(cat "$TMP/data/w")" == w ] &&
  ok "podman -v: reads and writes reach the host" || bad "podman -v: $out $(cat "$TMP/perr")"
# The gofers name the rootfs they serve (under $TMP, also podman's
# store); the sandboxes were checked gone above, by pid.
[ -z "$(pgrep -f "runsc-gofer.*$TMP")" ] &&
  ok "no gofer of this test's containers is left running" ||
  bad "gofers left running: $(pgrep -af "runsc-gofer.*$TMP")"
"${PODMAN[@]}" rmi -a -f >/dev/null 2>&1
chmod -R u+w "$TMP/podman" 2>/dev/null

summary
