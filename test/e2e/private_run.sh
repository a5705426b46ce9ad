# Sourced first by the tests of engines (containerd, Docker). Re-executes
# the test in mount and network namespaces of its own: containerd 1.6 puts
# shim sockets in /run/containerd/s whatever its config says, where /run
# may be read-only (bazel's sandbox) or the host's, so /run is a tmpfs
# here; and an engine's daemon changes network settings (sysctls,
# interfaces) of the namespaces it is given, which must never be the
# host's.
if [ -z "${RUNSC_TEST_MOUNT_NS:-}" ]; then
  exec unshare --mount --net --propagation private \
    env RUNSC_TEST_MOUNT_NS=1 "$0" "$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run || { echo "FAIL - a tmpfs on /run"; exit 1; }
ip link set lo up 2>/dev/null
