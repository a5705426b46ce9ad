#!/bin/bash
# Runs one syscall test program natively or in a sandbox, and names the
# platform and the failing test cases when it fails.
#   run_syscall_test.sh PLATFORM RUNSC BINARY [gtest flags...]
set -u
platform=$1
runsc=$2
binary=$3
shift 3

# Bazel's per-test output files live outside the sandbox's writable
# layer; the test program must not try to write them from inside.
unset XML_OUTPUT_FILE GTEST_OUTPUT TEST_PREMATURE_EXIT_FILE TEST_SHARD_STATUS_FILE \
      TEST_UNDECLARED_OUTPUTS_DIR TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR TEST_INFRASTRUCTURE_FAILURE_FILE

log=$(mktemp)
if [ "$platform" = native ]; then
  # /tmp, as in the sandbox: Bazel's own temporary directory lies under
  # root-only directories that tests running as another uid cannot search.
  TEST_TMPDIR=/tmp "$binary" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
else
  # A shell stands in for init: natively the test is an ordinary process
  # whose orphans go elsewhere, and so it is here. (As the sandbox's pid 1
  # it would adopt every orphan, and its signals would follow init's
  # rules; test/e2e covers init.)
  "$runsc" do --platform="$platform" --env=TEST_TMPDIR=/tmp -- \
    /bin/sh -c '"$@"; exit $?' sh "$binary" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
fi
if [ "$rc" -ne 0 ]; then
  echo
  echo "=== $(basename "$binary") failed on platform $platform (exit $rc)"
  failed=$(grep -E '^\[  FAILED  \] [A-Za-z0-9_/.]+(, where|$| \()' "$log" | sed -E 's/^\[  FAILED  \] ([^ ,]+).*/\1/' | sort -u)
  if [ -n "$failed" ]; then
    for t in $failed; do echo "FAILED [$platform] $t"; done
  else
    echo "FAILED [$platform] the program did not finish (crash or kill: exit $rc)"
  fi
fi
rm -f "$log"
exit "$rc"
