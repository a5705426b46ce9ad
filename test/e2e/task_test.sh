#!/bin/bash
# End-to-end tests of the task model: shells, pipelines, thread and process
# pools, a parallel build, signals from outside and a fork bomb, each
# compared with what Linux does.
#   task_test.sh RUNSC THREADS_MUSL GOROUTINES
set -u
RUNSC=$(realpath "$1")
THREADS_MUSL=$(realpath "$2")
GOROUTINES=$(realpath "$3")
source "$(dirname "$0")/lib.sh"

# A shell pipeline with a background job.
same "sh pipeline, subshell and wait" /bin/sh -c \
  'echo a | tr a b; ls /usr | wc -l; (sleep 0.2; echo bg) & wait; echo done'

# Python: a thread pool contending on a queue, subprocess, fork+waitpid,
# alarm with a handler and a process pool.
cat > "$TMP/pools.py" <<'PY'
import multiprocessing, os, queue, signal, subprocess, threading, time

q = queue.Queue()
total = [0]
lock = threading.Lock()
def worker():
    for i in range(1000):
        q.put(i)
        q.get()
        with lock:
            total[0] += 1
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", total[0])
r = subprocess.run(["echo", "x"], capture_output=True, text=True)
print("subprocess", r.stdout.strip(), r.returncode)
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
got = []
signal.signal(signal.SIGALRM, lambda s, f: got.append(s))
signal.alarm(1)
time.sleep(3)
print("alarm", got)
def square(x): return x * x
with multiprocessing.Pool(2) as p:
    print("pool", p.map(square, range(10)))
PY
same "python3 threads, subprocess, fork, alarm, Pool(2)" /usr/bin/python3 "$TMP/pools.py"

# The same through musl's threads, signals, fork+exec and vfork.
same "musl threads, signal, fork+exec, vfork" "$THREADS_MUSL"

# Go's runtime: goroutines on 4 threads, GC, SIGURG preemption (without
# which the program would spin forever: timeout), os/exec,
# signal.Notify and a timer.
same "go goroutines, preemption, exec, signal, timer" timeout 60 "$GOROUTINES"

# Java (Bazel's own JDK): a thread pool, the garbage collector, a child
# process, and a NullPointerException, which the JVM takes as SIGSEGV.
cat > "$TMP/Pools.java" <<'JAVA'
import java.util.*;
import java.util.concurrent.*;
public class Pools {
  public static void main(String[] args) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Long>> parts = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      final int n = i;
      parts.add(pool.submit(() -> {
        long s = 0;
        for (int j = 0; j < 100000; j++) s += new int[16].length + j % (n + 1);
        return s;
      }));
    }
    long total = 0;
    for (Future<Long> f : parts) total += f.get();
    pool.shutdown();
    System.gc();
    Process p = new ProcessBuilder("echo", "child").inheritIO().start();
    System.out.println("sum " + total + " child " + p.waitFor());
    Object o = null;
    try {
      o.hashCode();
    } catch (NullPointerException e) {
      System.out.println("NullPointerException");
    }
  }
}
JAVA
jdk=$(dirname "$(readlink -f "$(command -v javac)")")
if "$jdk/javac" -d "$TMP/classes" "$TMP/Pools.java"; then
  # No hsperfdata file: it needs flock (issue #4).
  same "java thread pool, GC, subprocess, NullPointerException" \
    "$jdk/java" -XX:-UsePerfData -cp "$TMP/classes" Pools
else
  bad "javac from $jdk failed"
fi

# make -j2 of a small C project: make, gcc, cc1, as, collect2 and ld all run
# as processes of the sandbox, in its own /tmp.
cat > "$TMP/build.sh" <<'SH'
set -e
mkdir -p "$1" && cd "$1"
echo 'int twice(int x) { return 2 * x; }' > a.c
printf 'int twice(int);\nint thrice(int x) { return 3 * x + twice(0); }\n' > b.c
printf '#include <stdio.h>\nint twice(int); int thrice(int);\n' > main.c
printf 'int main(void) { printf("%%d %%d\\n", twice(21), thrice(14)); }\n' >> main.c
printf 'prog: a.o b.o main.o\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' > Makefile
make -j2 -s
./prog
SH
native=$(/bin/sh "$TMP/build.sh" "$TMP/native-build" 2>&1)
inside=$("$RUNSC" do -- /bin/sh "$TMP/build.sh" /tmp/build 2>&1)
rc=$?
if [ "$native" == "42 42" ] && [ "$inside" == "42 42" ] && [ $rc == 0 ]; then
  ok "make -j2 of a C project in /tmp"
else
  bad "make -j2 (native: $native; sandbox rc=$rc: ${inside:0:400})"
fi
[ ! -e /tmp/build ] && ok "the build stayed in the sandbox's /tmp" || bad "the build reached the host's /tmp"

# Death by a fault: SIGSEGV, 139 as a shell reports it.
same "NULL dereference is SIGSEGV" /usr/bin/python3 -c 'import ctypes; ctypes.string_at(0)'

# Signals sent to runsc reach the sandbox's foreground process group. Job
# control (set -m) keeps the background runsc's SIGINT at its default, as
# it is for a program started from an interactive shell.
for sig in INT TERM HUP QUIT; do
  set -m
  "$RUNSC" do -- /bin/sleep 100 &
  pid=$!
  set +m
  sleep 1
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  want=$((128 + $(kill -l "$sig")))
  [ $rc == $want ] && ok "SIG$sig to runsc ends sleep with $want" || bad "SIG$sig to runsc: rc $rc, want $want"
done
# ... to the whole foreground group, not only to pid 1 (which here handles
# SIGINT, as Linux runs a shell's trap after the foreground job ends).
set -m
"$RUNSC" do -- /bin/sh -c 'trap "echo sh got INT" INT; /bin/sleep 100; echo "sleep ended $?"' > "$TMP/int.out" &
pid=$!
set +m
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
out=$(cat "$TMP/int.out")
[ "$out" == "sh got INT
sleep ended 130" ] && [ $rc == 0 ] && ok "SIGINT reaches the child of the shell too" || bad "SIGINT to a pipeline: rc $rc, out '$out'"

# A forwarded signal that init has blocked is fatal once unblocked, as it
# would be to any process (a shell blocks everything in its handlers).
set -m
"$RUNSC" do -- /usr/bin/python3 -c '
import signal, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
print("blocked", flush=True)
time.sleep(2)
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
print("survived")' > "$TMP/blocked.out" &
pid=$!
set +m
for _ in $(seq 200); do [ -s "$TMP/blocked.out" ] && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
[ $rc == 143 ] && [ "$(cat "$TMP/blocked.out")" == blocked ] && ok "a blocked SIGTERM ends init when unblocked" ||
  bad "blocked SIGTERM to init: rc $rc, out '$(cat "$TMP/blocked.out")'"

# A fork bomb gets EAGAIN at --max_tasks, and the sandbox recovers.
cat > "$TMP/bomb.py" <<'PY'
import errno, os, signal, time
pids = []
while True:
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    pids.append(pid)
print("fork failed with", errno.errorcode.get(err), "after", len(pids), "children")
for p in pids:
    os.kill(p, signal.SIGKILL)
for p in pids:
    os.waitpid(p, 0)
pid = os.fork()
if pid == 0:
    os._exit(3)
print("recovered", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
PY
out=$(timeout 120 "$RUNSC" do --max_tasks=100 -- /usr/bin/python3 "$TMP/bomb.py" 2>&1)
rc=$?
[ "$out" == "fork failed with EAGAIN after 99 children
recovered 3" ] && [ $rc == 0 ] && ok "a fork bomb gets EAGAIN at --max_tasks and recovers" ||
  bad "python fork bomb (rc=$rc): $out"

# A shell fork bomb, ended from outside. While it runs, the host
# sees no more processes than the limit allows (each guest process is one
# stub process, a child of the sentry); afterwards none of them is left.
set -m
# Every bomb process forks until a fork fails, and then exits (dash ends on
# a failed fork); init stays, busy. So the count churns and can even fall
# back to init alone: it is sampled over 3 s once the sandbox is up, every
# sample must be within the limit, and the largest must show the bomb ran.
"$RUNSC" do --max_tasks=64 -- /bin/sh -c 'b() { while :; do b & done; }; b & while :; do :; done' 2>/dev/null &
pid=$!
set +m
for _ in $(seq 300); do
  sandbox=$(pgrep -f 'runsc-sandbox boot' -P "$pid" | head -1)
  [ -n "$sandbox" ] && break
  sleep 0.1
done
most=0
over=0
ids=""
for _ in $(seq 30); do
  stubs=$(ps -o pid= --ppid "${sandbox:-1}")
  n=$(echo "$stubs" | wc -w)
  [ "$n" -gt "$most" ] && most=$n
  [ "$n" -gt 65 ] && over=$n
  # pid and start time, to tell a leftover from a reused pid.
  ids+=$(for s in $stubs; do
    start=$(cut -d' ' -f22 "/proc/$s/stat" 2>/dev/null) && echo "$s $start"
  done)$'\n'
  sleep 0.1
done
ids=$(echo "$ids" | sort -u)
[ -n "$sandbox" ] && [ "$most" -ge 2 ] && [ "$over" == 0 ] &&
  ok "shell fork bomb: at most $most stub processes at --max_tasks=64" ||
  bad "shell fork bomb: $most stub processes at most (over 65: ${over}) at --max_tasks=64"
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  bad "runsc did not end within 10 s of SIGTERM during a fork bomb"
  kill -KILL "$pid"
else
  ok "runsc ends on SIGTERM during a fork bomb"
fi
wait "$pid"
sleep 0.5
left=0
while read -r s start; do
  [ -n "$start" ] && [ "$(cut -d' ' -f22 "/proc/$s/stat" 2>/dev/null)" == "$start" ] && left=$((left + 1))
done <<< "$ids"
kill -0 "$sandbox" 2>/dev/null && left=$((left + 1))
[ "$left" == 0 ] && ok "no process of the sandbox is left on the host" || bad "$left processes left behind"

summary
