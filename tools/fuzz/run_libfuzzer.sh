#!/bin/sh
# Coverage-guided fuzzing of one target with clang's libFuzzer and ASan:
#   tools/fuzz/run_libfuzzer.sh gofer/server_fuzz.cc [libFuzzer flags...]
# Builds outside Bazel (clang, Debian's system libraries) into /tmp.
set -eu
target=$1
shift
cd "$(dirname "$0")/../.."
out=/tmp/uks-fuzz-$(basename "$target" .cc)
srcs="$target"
case "$target" in
  gofer/server_fuzz.cc) srcs="$srcs gofer/server.cc gofer/protocol/transport.cc" ;;
  sentry/loader/elf_fuzz.cc) srcs="$srcs sentry/loader/elf.cc" ;;
  sentry/net/host/broker_fuzz.cc)
    srcs="$srcs sentry/net/host/policy.cc sentry/net/host/protocol.cc" ;;
  runsc/oci/spec_fuzz.cc) srcs="$srcs runsc/oci/json.cc runsc/oci/spec.cc" ;;
esac
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. $srcs -o "$out" \
  -labsl_strings -labsl_str_format_internal -labsl_raw_hash_set -labsl_hash \
  -labsl_city -labsl_low_level_hash -labsl_status -labsl_statusor -labsl_throw_delegate \
  -lglog -lgflags
mkdir -p "$out.corpus"
exec "$out" "$out.corpus" "$@"
