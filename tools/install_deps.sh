#!/bin/bash
# Installs the Debian 12 packages this project needs, skipping those that
# are already there. Needs root (or sudo).
set -euo pipefail

# bazel-bootstrap is Bazel 4.2.3 (offline); clang is for libFuzzer
# (tools/fuzz); libunwind and liblzma for the static link of glog; python3
# and make (with g++'s gcc) run in the end-to-end tests, musl-tools and
# golang-go build two of their programs; tmux drives the interactive
# shell of test/e2e:pty_test; redis-server, redis-tools (redis-cli,
# redis-benchmark) and iproute2 (ip, ss) are the servers and tools
# test/e2e:net_test runs in the sandbox; curl is hostnet_test's client;
# busybox-static makes the OCI tests' bundles and images, which podman
# (oci_test), containerd (containerd_test) and Docker (docker_test) run
# through runsc.
PACKAGES=(
  bazel-bootstrap
  g++ clang clang-format
  libseccomp-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgflags-dev libgoogle-glog-dev libgtest-dev libgmock-dev libbenchmark-dev
  libunwind-dev liblzma-dev
  python3 make musl-tools golang-go tmux
  redis-server redis-tools iproute2 curl
  busybox-static podman containerd docker.io
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: everything is installed"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
