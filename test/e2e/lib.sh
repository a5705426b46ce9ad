# Shared by the end-to-end tests: counting checks, and comparing a command
# in the sandbox with the same command run natively. The sourcing script
# sets RUNSC first.

pass=0
fail=0
# Not under /tmp: inside the sandbox /tmp is the sandbox's own tmpfs.
TMP=$(mktemp -d -p "${TEST_TMPDIR:-/var/tmp}")
trap 'rm -rf "$TMP"' EXIT

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
# skip WHAT WHY: a check this machine cannot make, and why not.
skipped=0
skip() { skipped=$((skipped + 1)); echo "skip - $1: $2"; }

# same DESCRIPTION CMD...: stdout and exit status match native.
same() {
  local desc=$1
  shift
  local nat_out sb_out nat_rc sb_rc
  nat_out=$("$@" 2>/dev/null)
  nat_rc=$?
  sb_out=$("$RUNSC" do -- "$@" 2>/dev/null)
  sb_rc=$?
  if [ "$nat_out" == "$sb_out" ] && [ "$nat_rc" == "$sb_rc" ]; then
    ok "$desc"
  else
    bad "$desc (native rc=$nat_rc, sandbox rc=$sb_rc)"
    diff <(echo "$nat_out") <(echo "$sb_out") | head -20
  fi
}

# expect DESCRIPTION RC STDERR_REGEX CMD...: runsc do exits RC, stderr matches.
expect() {
  local desc=$1 want_rc=$2 want_err=$3
  shift 3
  local err rc
  err=$("$RUNSC" do -- "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" == "$want_rc" ] && [[ "$err" =~ $want_err ]]; then
    ok "$desc"
  else
    bad "$desc (rc=$rc want $want_rc; stderr: ${err:0:200})"
  fi
}

# summary: the closing line, and the script's status.
summary() {
  echo
  echo "$pass passed, $fail failed, $skipped skipped"
  [ "$fail" == 0 ]
}

# busybox_rootfs DIR: a container root of Debian's busybox-static, its
# applets, and a root user, for the OCI tests' bundles and images.
busybox_rootfs() {
  mkdir -p "$1/bin" "$1/etc" "$1/tmp"
  cp /bin/busybox "$1/bin/busybox"
  chroot "$1" /bin/busybox --install -s /bin
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
  echo 'root:x:0:' >"$1/etc/group"
}
