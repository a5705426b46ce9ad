#!/bin/bash
# Runs the task-model syscall fuzzer (syscall_fuzz.c) in the sandbox for a
# few fixed seeds and fails on anything the sandbox must never do with
# hostile input: crash (runsc exits 125, a CHECK or a refused host system
# call on stderr), hang (the fuzzer reports a HANG, or the whole run
# outlives its timeout), or leak (processes the fuzzer cannot reap, or
# sentry threads, fds or stub processes that outlive the guest's children).
# Then runs it once natively as the Linux reference.
#   syscall_fuzz_test.sh RUNSC SYSCALL_FUZZ
#
# A failing seed reruns with SYSCALL_FUZZ_TRACE=1 (every call printed) and
# SYSCALL_FUZZ_PROGRESS=1; see syscall_fuzz.c.
set -u
RUNSC=$(realpath "$1")
FUZZ=$(realpath "$2")
SEEDS=(1 2 3 4)
ITERATIONS=60
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() {  # check DESCRIPTION CONDITION...: counts, reports, returns it
  local desc=$1
  shift
  if "$@"; then
    pass=$((pass + 1))
    echo "ok   - $desc"
  else
    fail=$((fail + 1))
    echo "FAIL - $desc"
    return 1
  fi
}
# What only a broken sandbox prints: a sentry CHECK or fatal log, a host
# system call its seccomp filter refused, runsc's own errors, a C++ abort.
BAD='Check failed|^F[0-9]{4} |FATAL|seccomp filter refused|^runsc: |terminate called|Segmentation fault|[Ss]anitizer'

run_seed() {  # run_seed SEED: runs it, checks it, shows a failure's context
  local seed=$1 out=$work/out.$1 err=$work/err.$1 rc
  timeout 60 "$RUNSC" do -- "$FUZZ" "$seed" "$ITERATIONS" >"$out" 2>"$err"
  rc=$?
  local ok=1
  check "seed $seed: the sandbox finished in time (rc=$rc)" test $rc -ne 124 || ok=0
  check "seed $seed: runsc did not fail itself (rc=$rc)" test $rc -ne 125 || ok=0
  check "seed $seed: no crash, fatal log or refused syscall on stderr" \
    eval '! grep -Eq "$BAD" "$err"' || ok=0
  check "seed $seed: no HANG or LEAK reported, summary printed" \
    eval 'test $rc -eq 0 && grep -q "^syscall_fuzz: seed $seed: .* 0 hangs, 0 leaks" "$out"' || ok=0
  sed 's/^/    /' "$out" | tail -3
  if [ $ok -eq 0 ]; then
    echo "    stderr:"
    grep -E "$BAD" "$err" | head -20 | sed 's/^/    /'
    grep -E "HANG|LEAK" "$out" | head -5 | sed 's/^/    /'
  fi
}

for seed in "${SEEDS[@]}"; do run_seed "$seed"; done

# Leaks on the host side: after the guest's children are gone, the sentry
# holds what it held before they ran. The fuzzer pauses before the first
# and after the last iteration (SYSCALL_FUZZ_HOLD) for a look from outside.
out=$work/hold.out
SYSCALL_FUZZ_HOLD=2 timeout 90 "$RUNSC" do -- "$FUZZ" 5 150 >"$out" 2>"$work/hold.err" &
runsc_pid=$!
snapshot() {  # threads fds stubs rss_kb of our sandbox process
  local runsc sb
  runsc=$(pgrep -P "$runsc_pid" | head -1)  # under `timeout`
  sb=$(pgrep -f 'runsc-sandbox boot' -P "$runsc" | head -1)
  echo "$(ls /proc/"$sb"/task | wc -l) $(ls /proc/"$sb"/fd | wc -l)" \
    "$(pgrep -P "$sb" | wc -l) $(awk '/VmRSS/ {print $2}' /proc/"$sb"/status)"
}
wait_for() {  # wait_for PATTERN: up to 60 s for the fuzzer to print it
  for _ in $(seq 600); do grep -q "$1" "$out" && return 0; sleep 0.1; done
  return 1
}
if wait_for 'holding (before)'; then
  read -r t0 f0 s0 m0 <<<"$(snapshot)"
  if wait_for 'holding (after)'; then
    read -r t1 f1 s1 m1 <<<"$(snapshot)"
    echo "    sentry before: $t0 threads, $f0 fds, $s0 stubs, $m0 kB; after: $t1, $f1, $s1, $m1 kB"
    check "the sentry's fds are back to where they were ($f0 -> $f1)" test "$f1" -eq "$f0"
    check "the stub processes are back to where they were ($s0 -> $s1)" test "$s1" -eq "$s0"
    # A service thread or two starts on first use.
    check "the sentry's threads are back to where they were ($t0 -> $t1)" test "$t1" -le $((t0 + 2))
    # The allocator keeps some memory; a leak per call grows without bound.
    check "the sentry's memory grew by less than 64 MB ($m0 -> $m1 kB)" test $((m1 - m0)) -lt 65536
  else
    check "the leak-check run got to its end" false
  fi
else
  check "the leak-check run started" false
fi
wait $runsc_pid
rc=$?
check "the leak-check run ended cleanly (rc=$rc)" eval 'test $rc -eq 0 && ! grep -Eq "$BAD" "$work/hold.err"'
tail -1 "$out" | sed 's/^/    /'

# The Linux reference, in a throwaway user and pid namespace: the fuzzer
# sends signals to -1 and its own process group, changes credentials and
# limits, and refuses to run unless it is pid 1 of its own pid namespace (it
# starts its own session, too). Never run it natively outside one.
if unshare -Urpf --mount-proc true 2>/dev/null; then
  (cd "$work" && timeout 60 unshare -Urpf --mount-proc "$FUZZ" 1 40 >"$work/native.out" 2>&1)
  rc=$?
  check "natively (Linux) the fuzzer runs clean too (rc=$rc)" \
    grep -q "^syscall_fuzz: seed 1: .* 0 hangs, 0 leaks" "$work/native.out"
  tail -1 "$work/native.out" | sed 's/^/    /'
else
  echo "skip - native run: cannot make a user and pid namespace here ($(unshare -Urpf --mount-proc true 2>&1 | head -1))"
fi

echo
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
