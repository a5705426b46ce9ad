#!/bin/bash
# docs/compatibility.md must be what the syscall table says today.
set -u
if diff -u "$3" <("$1" "$2"); then
  echo "docs/compatibility.md is up to date"
else
  echo "docs/compatibility.md is stale: run docs/gen_compatibility.sh bazel-bin/runsc/runsc > docs/compatibility.md"
  exit 1
fi
