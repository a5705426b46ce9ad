#!/bin/bash
# Escape attempts that must fail, and the confinement of every process of a
# running sandbox, checked from outside.
#   escape_test.sh RUNSC ESCAPE_BINARY
set -u
RUNSC=$(realpath "$1")
ESCAPE=$(realpath "$2")
pass=0
fail=0
check() {  # check DESCRIPTION CONDITION...
  local desc=$1
  shift
  if "$@"; then pass=$((pass + 1)); echo "ok   - $desc"; else fail=$((fail + 1)); echo "FAIL - $desc"; fi
}

out=$("$RUNSC" do -- "$ESCAPE" int80 2>&1); rc=$?
check "int 0x80 is refused with SIGSEGV, not run (rc=$rc)" test $rc -eq 139
"$RUNSC" do -- "$ESCAPE" stub-syscall >/dev/null 2>&1; rc=$?
check "a syscall instruction in the stub page is still emulated (rc=$rc)" test $rc -eq 42
out=$("$RUNSC" do -- "$ESCAPE" stub-pread 2>/dev/null)
check "pread64 from the stub page is emulated, never the host's (got: $out)" \
  test "$out" == "host preads from the stub page: 0"
out=$("$RUNSC" do -- "$ESCAPE" stub-map 2>/dev/null); rc=$?
check "the stub page cannot be mapped over (got: $(echo "$out" | head -1))" \
  test "$(echo "$out" | sed -n 1p)" == "mmap Cannot allocate memory"
check "the stub page cannot be unmapped" test "$(echo "$out" | sed -n 2p)" == "munmap Invalid argument"
check "the stub page cannot be reprotected" \
  test "$(echo "$out" | sed -n 3p)" == "mprotect Cannot allocate memory"
check "writing the stub page faults (rc=$rc)" test $rc -eq 139
out=$("$RUNSC" do -- "$ESCAPE" vsyscall 2>&1)
check "the vsyscall page is emulated by the sentry ($out)" test "$out" == "vsyscall time agrees"
out=$("$RUNSC" do -- "$ESCAPE" pid 2>&1)
check "the guest sees its sandbox pid, 1 ($out)" test "$out" == "1"

# A running sandbox, inspected from outside.
"$RUNSC" do -- /bin/sleep 3 &
runsc_pid=$!
sleep 1
sandbox=$(pgrep -f 'runsc-sandbox boot' -P "$runsc_pid" | head -1)
gofer=$(pgrep -f 'runsc-gofer gofer' -P "$runsc_pid" | head -1)
field() { grep "^$2:" "/proc/$1/status" | awk '{print $2}'; }
check "the sentry has no capabilities" test "$(field "$sandbox" CapEff)" == 0000000000000000
check "the sentry's bounding set is empty" test "$(field "$sandbox" CapBnd)" == 0000000000000000
check "the sentry runs under seccomp" test "$(field "$sandbox" Seccomp)" == 2
check "the sentry has no_new_privs" test "$(field "$sandbox" NoNewPrivs)" == 1
check "the gofer runs under seccomp" test "$(field "$gofer" Seccomp)" == 2
check "the sentry has its own mount namespace" \
  test "$(readlink /proc/"$sandbox"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"
for stub in $(pgrep -P "$sandbox"); do
  check "stub $stub runs under seccomp with no_new_privs" \
    test "$(field "$stub" Seccomp)/$(field "$stub" NoNewPrivs)" == 2/1
  # Guest memory: the program and its libraries, anonymous memory, and the
  # sandbox's own vDSO (its image and the read-only clock page); on systrap
  # also the guest threads' slots (their shared page and signal stack).
  extra=$(grep -vE '/usr/bin/sleep|/usr/lib/|/memfd:uks-stub|/memfd:uks-systrap-slots|/memfd:\[vdso\]|/memfd:vdso_params|\[vsyscall\]| 00:00 0 *$' "/proc/$stub/maps")
  check "stub $stub maps only guest memory, the vDSO and the stub page" test -z "$extra"
  # Stubs share the sentry's fd table (see platform/ptrace/README.md); what
  # keeps those fds out of a guest's reach is the stub filter, which admits
  # only memory calls from the stub page.
  check "stub $stub has exactly one seccomp filter of its own on top" \
    test "$(field "$stub" Seccomp_filters)" == 2

done
wait "$runsc_pid"

echo
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
