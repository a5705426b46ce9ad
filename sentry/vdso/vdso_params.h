/* The parameter page ("vvar") that the sentry writes and the vDSO reads.
 *
 * One 4096-byte page, mapped read-only (MAP_SHARED, from the sentry's memfd)
 * immediately before the vDSO's first page in every guest, so the vDSO finds
 * it at its own load address minus 4096 without any relocation. Plain C so
 * that both the freestanding vDSO and the C++ sentry include it.
 *
 * Protocol (a seqlock): the sentry makes `seq` odd, writes the fields, then
 * makes `seq` even again. A reader copies the fields between two reads of
 * `seq` and retries while it is odd or has changed. The clock is
 *
 *   monotonic_ns = monotonic_base_ns + ((tsc - tsc_base) * mult) >> shift
 *   realtime_ns  = monotonic_ns + realtime_offset_ns
 *   boottime_ns  = monotonic_ns + boottime_offset_ns
 *
 * with a 128-bit product, and tsc < tsc_base counted as tsc == tsc_base. While
 * `ready` is 0 (before the first calibration, or on a host whose TSC is not
 * invariant) readers make the real system call instead.
 */

#ifndef SENTRY_VDSO_VDSO_PARAMS_H_
#define SENTRY_VDSO_VDSO_PARAMS_H_

#include <stddef.h>
#include <stdint.h>

#define VDSO_PARAMS_SIZE 4096

struct vdso_params {
  uint32_t seq;   /* odd while the sentry writes */
  uint32_t ready; /* 1 once calibrated; 0 means "make the system call" */
  uint64_t tsc_base;
  uint64_t mult; /* ns per TSC tick, scaled by 2^shift */
  uint32_t shift;
  uint32_t pad0;
  int64_t monotonic_base_ns; /* CLOCK_MONOTONIC at tsc_base */
  int64_t realtime_offset_ns;
  int64_t boottime_offset_ns;
  /* The rest of the page stays zero (room for later fields). */
  uint8_t reserved[VDSO_PARAMS_SIZE - 56];
};

/* The layout is ABI between two separately built programs: pin it. */
#ifdef __cplusplus
#define VDSO_STATIC_ASSERT static_assert
#else
#define VDSO_STATIC_ASSERT _Static_assert
#endif
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, seq) == 0, "seq");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, ready) == 4, "ready");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, tsc_base) == 8, "tsc_base");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, mult) == 16, "mult");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, shift) == 24, "shift");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, monotonic_base_ns) == 32,
                   "monotonic_base_ns");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, realtime_offset_ns) == 40,
                   "realtime_offset_ns");
VDSO_STATIC_ASSERT(offsetof(struct vdso_params, boottime_offset_ns) == 48,
                   "boottime_offset_ns");
VDSO_STATIC_ASSERT(sizeof(struct vdso_params) == VDSO_PARAMS_SIZE, "size");
#undef VDSO_STATIC_ASSERT

#endif /* SENTRY_VDSO_VDSO_PARAMS_H_ */
