# Sourced first by the tests of engines (containerd, Docker) whose
# containerd 1.6 puts shim sockets in /run/containerd/s whatever its
# config says, where /run may be read-only (bazel's sandbox) or the
# host's: re-executes the test in a mount namespace of its own with a
# tmpfs on /run.
if [ -z "${RUNSC_TEST_MOUNT_NS:-}" ]; then
  exec unshare --mount --propagation private \
    env RUNSC_TEST_MOUNT_NS=1 "$0" "$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run || { echo "FAIL - a tmpfs on /run"; exit 1; }
