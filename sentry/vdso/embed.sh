#!/bin/sh
# Turns the vDSO shared object into C++: embed.sh vdso.so vdso_image.cc
# defines sentry::vdso::kVdsoImage and kVdsoImageSize (vdso_image.h).
# Only POSIX sh and od, so the genrule needs nothing beyond coreutils.
set -eu
in="$1"
out="$2"
{
  echo '// Generated from vdso.so by sentry/vdso/embed.sh. Do not edit.'
  echo ''
  echo '#include "sentry/vdso/vdso_image.h"'
  echo ''
  echo 'namespace sentry::vdso {'
  echo ''
  # Aligned for casting to ELF header structs in place.
  echo 'alignas(16) const unsigned char kVdsoImage[] = {'
  od -An -v -tx1 "$in" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/    /'
  echo '};'
  echo ''
  echo 'const size_t kVdsoImageSize = sizeof(kVdsoImage);'
  echo ''
  echo '}  // namespace sentry::vdso'
} >"$out"
