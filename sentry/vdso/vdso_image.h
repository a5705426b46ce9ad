// The sandbox's vDSO image (vdso.so, built from vdso.c), embedded in the
// sentry by embed.sh.
//
// The loader places it in every guest right after the parameter page of a
// VdsoClock (its params_fd(), mapped read-only and shared): the image's one
// PT_LOAD segment (read + execute) at the page after, and AT_SYSINFO_EHDR
// pointing at it. The image has no relocations: it runs wherever it lands.

#ifndef SENTRY_VDSO_VDSO_IMAGE_H_
#define SENTRY_VDSO_VDSO_IMAGE_H_

#include <cstddef>

namespace sentry::vdso {

// The ELF shared object, byte for byte.
extern const unsigned char kVdsoImage[];
extern const size_t kVdsoImageSize;

}  // namespace sentry::vdso

#endif  // SENTRY_VDSO_VDSO_IMAGE_H_
