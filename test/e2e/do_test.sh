#!/bin/bash
# End-to-end tests of `runsc do`: real programs print the same as natively,
# exit statuses and error messages follow shells' conventions, and nothing a
# guest does (even a corrupt executable) crashes the sentry.
#   do_test.sh RUNSC FIXTURE_DIR
set -u
RUNSC=$(realpath "$1")
FIXTURES=$(realpath "$2")
source "$(dirname "$0")/lib.sh"

# The commands of issue #2's "done means".
same "echo" /bin/echo hello
same "cat /etc/os-release" /bin/cat /etc/os-release
same "ls -la /usr/bin" /bin/ls -la /usr/bin
same "python3 json/os/sys" /usr/bin/python3 -c \
  'import json,os,sys; print(json.dumps(sorted(os.listdir("/etc"))[:5]), sys.version_info[:2])'
same "sh -c 'exit 7'" /bin/sh -c 'exit 7'

# Every ELF flavour the loader handles.
for f in hello_static hello_static_pie hello_pie hello_nopie; do
  out=$("$RUNSC" do -- "$FIXTURES/$f" a "b c" 2>&1)
  rc=$?
  want="hello from $FIXTURES/$f with 3 args
arg 1: a
arg 2: b c"
  if [ $rc == 0 ] && [ "$out" == "$want" ]; then ok "runs $f"; else bad "runs $f (rc=$rc: $out)"; fi
  "$RUNSC" do -- "$FIXTURES/$f" fail >/dev/null 2>&1
  rc=$?
  if [ $rc == 3 ]; then ok "$f exit status"; else bad "$f exit status: $rc"; fi
done

# Programs found on PATH, the environment and the working directory.
same "PATH lookup" echo found
out=$("$RUNSC" do --env=GREETING=hi -- /bin/sh -c 'echo $GREETING')
[ "$out" == hi ] && ok "--env" || bad "--env: $out"
out=$("$RUNSC" do --cwd=/usr/share -- /bin/pwd)
[ "$out" == /usr/share ] && ok "--cwd" || bad "--cwd: $out"
out=$(cd /etc && "$RUNSC" do -- /bin/pwd)
[ "$out" == /etc ] && ok "inherits the cwd" || bad "inherits the cwd: $out"

# Shell conventions for programs that cannot run.
expect "missing program" 127 "command not found" no-such-program-anywhere
expect "missing path" 127 "No such file or directory" /no/such/file
expect "directory" 126 "Permission denied" /usr
printf 'not a program' > "$TMP/data" && chmod 0644 "$TMP/data"
expect "not executable" 126 "Permission denied" "$TMP/data"
chmod 0755 "$TMP/data"
expect "garbage executable" 126 "Exec format error" "$TMP/data"
printf '#!/no/such/interpreter\n' > "$TMP/script" && chmod 0755 "$TMP/script"
expect "script with a missing interpreter" 127 "No such file or directory" "$TMP/script"
printf '#!/bin/sh\necho script ran with "$0" "$1"\n' > "$TMP/ok.sh" && chmod 0755 "$TMP/ok.sh"
out=$("$RUNSC" do -- "$TMP/ok.sh" arg)
[ "$out" == "script ran with $TMP/ok.sh arg" ] && ok "#! script" || bad "#! script: $out"

# Death by signal is 128 + N, as a shell reports it.
out=$("$RUNSC" do -- /bin/sh -c '/usr/bin/python3 -c "import os; os.abort()"; echo $?' 2>/dev/null)
[ "$out" == 134 ] && ok "abort() in a child is 134" || bad "abort() in a child gave $out"
# The program itself is the pid namespace's init, which signals with their
# default action do not reach (abort's SIGABRT included): glibc's abort()
# then faults, exactly as under `unshare --pid --fork`.
"$RUNSC" do -- /usr/bin/python3 -c 'import os; os.abort()' 2>/dev/null
rc=$?
[ $rc == 139 ] && ok "abort() as pid 1 ends in SIGSEGV, as Linux's init" || bad "abort() as pid 1 gave $rc"

# The root is the host's under the sandbox's overlay: a write succeeds
# inside and never reaches the host. With --overlay=false it is read-only.
# /tmp and /dev/shm are the sandbox's.
prog='
import errno, os
try:
    open("/etc/uks-should-not-exist", "w").write("x")
    print("written")
except OSError as e:
    print(errno.errorcode[e.errno])
open("/tmp/x", "w").write("inside")
print(open("/tmp/x").read(), os.path.exists("/etc/uks-should-not-exist"))
os.mkdir("/dev/shm/d"); print(os.listdir("/dev/shm"))
'
out=$("$RUNSC" do -- /usr/bin/python3 -c "$prog")
[ "$out" == "written
inside True
['d']" ] && [ ! -e /etc/uks-should-not-exist ] &&
  ok "overlay root: writes stay inside, writable tmpfs" ||
  bad "overlay root, writable tmpfs: $out"
out=$("$RUNSC" do --overlay=false -- /usr/bin/python3 -c "$prog")
[ "$out" == "EROFS
inside False
['d']" ] && ok "--overlay=false: read-only root, writable tmpfs" ||
  bad "read-only root, writable tmpfs: $out"
[ ! -e /etc/uks-should-not-exist ] && ok "no write reached the host" || bad "a write reached the host"

# /proc and /dev.
out=$("$RUNSC" do -- /usr/bin/python3 -c '
import os
print(os.getpid(), os.readlink("/proc/self/exe"), os.readlink("/proc/self/fd/0") != "")
print(open("/dev/zero","rb").read(4), len(open("/dev/urandom","rb").read(16)))
print("[stack]" in open("/proc/self/maps").read(), "Pid:\t1" in open("/proc/self/status").read())
')
[ "$out" == "1 /usr/bin/python3.11 True
b'\x00\x00\x00\x00' 16
True True" ] && ok "/proc and /dev" || bad "/proc and /dev: $out"

# Inherited stdio: the host's names in /proc/self/fd, and O_NONBLOCK that
# does not block (nor leak onto the host's shared description). The
# writer writes only once the guest says on stderr that it has read
# nothing, however slow the machine.
mkfifo "$TMP/ready"
out=$( (read -r _ <&3; echo late; cat >/dev/null <&3) 3<"$TMP/ready" |
  "$RUNSC" do -- /usr/bin/python3 -c '
import os, fcntl, sys
print(os.readlink("/proc/self/fd/0").startswith("pipe:["))
fl = fcntl.fcntl(0, fcntl.F_GETFL)
fcntl.fcntl(0, fcntl.F_SETFL, fl | os.O_NONBLOCK)
try:
    os.read(0, 10)
    print("read did not fail")
except BlockingIOError:
    print("EAGAIN")
sys.stderr.write("ready\n")
sys.stderr.flush()
fcntl.fcntl(0, fcntl.F_SETFL, fl)
print(os.read(0, 10))
' 2>"$TMP/ready")
[ "$out" == "True
EAGAIN
b'late\n'" ] && ok "inherited stdio: names and O_NONBLOCK" || bad "inherited stdio: $out"

# --strace prints the calls in strace's format.

err=$("$RUNSC" do --strace -- /bin/echo traced 2>&1 >/dev/null)
if [[ "$err" == *'write(1, "traced\n", 7) = 7'* ]] && [[ "$err" == *'openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3'* ]]; then
  ok "--strace"
else
  bad "--strace: ${err:0:300}"
fi

# Corrupt executables never crash the sentry: whatever the guest does, runsc
# reports the guest's status (126 for a refused image, 128+N if it ran and
# died), never 125 (the sentry's own failure).
sizes=(0 4 16 52 64 100 200 500 1000 4096 20000)
crashes=0
for s in "${sizes[@]}"; do
  head -c "$s" "$FIXTURES/hello_static" > "$TMP/trunc" && chmod 0755 "$TMP/trunc"
  "$RUNSC" do -- "$TMP/trunc" >/dev/null 2>&1
  [ $? == 125 ] && crashes=$((crashes + 1)) && echo "  truncated at $s crashed the sandbox"
done
python3 - "$FIXTURES/hello_static" "$TMP" <<'PY'
import random, sys
data = bytearray(open(sys.argv[1], "rb").read())
rng = random.Random(2)
for i in range(40):
    d = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(0, 512)  # the ELF and program headers
        d[pos] = rng.randrange(256)
    open(f"{sys.argv[2]}/corrupt{i}", "wb").write(d)
PY
for i in $(seq 0 39); do
  chmod 0755 "$TMP/corrupt$i"
  timeout 20 "$RUNSC" do -- "$TMP/corrupt$i" >/dev/null 2>&1
  rc=$?
  if [ $rc == 125 ] || [ $rc == 124 ]; then
    crashes=$((crashes + 1))
    echo "  corrupt$i: rc $rc"
  fi
done
[ $crashes == 0 ] && ok "51 corrupt executables, no sentry crash" || bad "$crashes corrupt executables crashed or hung the sandbox"

summary
