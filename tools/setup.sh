#!/bin/bash
# The README's first command: installs what is missing, builds runsc, and
# runs programs in a sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
bazel build //runsc
RUNSC=bazel-bin/runsc/runsc
echo
echo "\$ runsc do /bin/echo hello from the sandbox"
"$RUNSC" do /bin/echo hello from the sandbox
echo "\$ runsc do /bin/ls /"
"$RUNSC" do /bin/ls /
echo
echo "runsc is at $PWD/$RUNSC"
