/* The sandbox's vDSO: clock_gettime, gettimeofday, time and getcpu without a
 * trap into the sentry.
 *
 * Built freestanding into a position-independent shared object (see
 * BUILD.bazel and vdso.lds) and mapped into every guest right after the
 * sentry's parameter page (vdso_params.h). Clocks are computed from the TSC
 * and that page; whatever it cannot answer goes to the real system call, which
 * in the sandbox traps into the sentry and natively reaches the host kernel.
 * Return values follow the vDSO convention: 0 or -errno, as the raw system
 * call returns them (glibc's wrappers turn them into errno).
 *
 * Nothing here may write memory of its own or need a relocation: the image
 * is one read-only, executable segment.
 */

#include <stdint.h>

/* Same-directory include, so the genrule needs no include path. */
#include "vdso_params.h"

/* The Linux x86-64 ABI, spelled out rather than taken from libc headers: the
 * vDSO is freestanding and must match the kernel's layout, not a libc's. */
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_getcpu 309

/* Linux's __CPUNODE_SEG: a GDT entry whose limit is cpu | node << 12. */
#define CPUNODE_SEG 0x7b
#define CPUNODE_BITS 12
#define CPUNODE_MASK 0xfff

struct kernel_timespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

struct kernel_timeval {
  int64_t tv_sec;
  int64_t tv_usec;
};

struct kernel_timezone {
  int tz_minuteswest;
  int tz_dsttime;
};

#define NSEC_PER_SEC 1000000000LL

/* Defined by the linker at our own ELF header, i.e. our load address; hidden,
 * so it is reached PC-relatively without a relocation. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));

static inline const volatile struct vdso_params* params(void) {
  /* Integer arithmetic: the page lies outside every object the compiler
   * knows about. */
  return (const volatile struct vdso_params*)((uintptr_t)__ehdr_start -
                                              VDSO_PARAMS_SIZE);
}

static inline void barrier(void) { __asm__ __volatile__("" ::: "memory"); }

static inline long raw_syscall2(long nr, long a0, long a1) {
  long ret;
  __asm__ __volatile__("syscall"
                       : "=a"(ret)
                       : "0"(nr), "D"(a0), "S"(a1)
                       : "rcx", "r11", "memory");
  return ret;
}

static inline long raw_syscall3(long nr, long a0, long a1, long a2) {
  long ret;
  __asm__ __volatile__("syscall"
                       : "=a"(ret)
                       : "0"(nr), "D"(a0), "S"(a1), "d"(a2)
                       : "rcx", "r11", "memory");
  return ret;
}

/* The lfence keeps the TSC read after the first load of `seq`: a reader that
 * saw new parameters reads a TSC no older than the update's. */
static inline uint64_t rdtsc_ordered(void) {
  uint32_t lo, hi;
  __asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
  return ((uint64_t)hi << 32) | lo;
}

/* The address of `seq`, made to depend on `tsc` (the CPU cannot know the
 * added value is zero; AND with 0 is no dependency-breaking idiom): the
 * second load of `seq` cannot execute before the TSC was read. So a reader
 * that validated old parameters read a TSC older than the update's.
 * Together with rdtsc_ordered this makes the clock monotonic across an
 * update (see VdsoClock::Publish), for about a cycle where a second lfence
 * costs ~4 ns. */
static inline const volatile uint32_t* seq_after(
    const volatile struct vdso_params* p, uint64_t tsc) {
  uint64_t zero = tsc;
  __asm__("and $0, %0" : "+r"(zero));
  return (const volatile uint32_t*)((uintptr_t)&p->seq + zero);
}

enum base_clock { BASE_MONOTONIC, BASE_REALTIME, BASE_BOOTTIME };

/* CLOCK_MONOTONIC (plus an offset) from the parameter page. Returns 0, or
 * -1 if the page is not ready and the caller must make the system call. */
static inline int read_clock(enum base_clock which, int64_t* out_ns) {
  const volatile struct vdso_params* p = params();
  uint32_t seq, ready, shift;
  uint64_t tsc, tsc_base, mult;
  int64_t base_ns, offset_ns;
  for (;;) {
    seq = p->seq;
    if (seq & 1) {
      /* The sentry is mid-update; it holds `seq` odd for a few dozen ns. */
      __asm__ __volatile__("pause" ::: "memory");
      continue;
    }
    /* x86 does not reorder loads with loads; only the compiler must be
     * stopped. */
    barrier();
    ready = p->ready;
    tsc_base = p->tsc_base;
    mult = p->mult;
    shift = p->shift;
    base_ns = p->monotonic_base_ns;
    offset_ns = which == BASE_REALTIME   ? p->realtime_offset_ns
                : which == BASE_BOOTTIME ? p->boottime_offset_ns
                                         : 0;
    tsc = rdtsc_ordered();
    barrier();
    if (*seq_after(p, tsc) == seq) break;
  }
  if (!ready) return -1;
  /* A TSC behind tsc_base (another CPU's counter a few cycles behind) reads
   * as tsc_base rather than wrapping into the far future. */
  uint64_t delta = (int64_t)(tsc - tsc_base) > 0 ? tsc - tsc_base : 0;
  uint64_t ns = (uint64_t)(((unsigned __int128)delta * mult) >> (shift & 127));
  *out_ns = base_ns + (int64_t)ns + offset_ns;
  return 0;
}

static inline void ns_to_timespec(int64_t ns, struct kernel_timespec* ts) {
  /* Clocks are non-negative here; realtime before 1970 would need floor
   * division, which the host cannot produce either. */
  ts->tv_sec = ns / NSEC_PER_SEC;
  ts->tv_nsec = ns % NSEC_PER_SEC;
}

int __vdso_clock_gettime(int clock, struct kernel_timespec* ts) {
  enum base_clock which;
  switch (clock) {
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
      which = BASE_MONOTONIC;
      break;
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      which = BASE_REALTIME;
      break;
    case CLOCK_BOOTTIME:
      which = BASE_BOOTTIME;
      break;
    default:
      /* MONOTONIC_RAW, TAI, CPU-time clocks and bad ids: only the kernel
       * (the sentry) knows. */
      return (int)raw_syscall2(NR_clock_gettime, clock, (long)ts);
  }
  int64_t ns;
  if (read_clock(which, &ns) != 0) {
    return (int)raw_syscall2(NR_clock_gettime, clock, (long)ts);
  }
  /* The _COARSE clocks get the precise value: it costs the same here, and
   * it keeps "coarse <= precise read later" true. */
  ns_to_timespec(ns, ts);
  return 0;
}

int __vdso_gettimeofday(struct kernel_timeval* tv, struct kernel_timezone* tz) {
  if (tv != 0) {
    int64_t ns;
    if (read_clock(BASE_REALTIME, &ns) != 0) {
      return (int)raw_syscall2(NR_gettimeofday, (long)tv, (long)tz);
    }
    tv->tv_sec = ns / NSEC_PER_SEC;
    tv->tv_usec = (ns % NSEC_PER_SEC) / 1000;
  }
  if (tz != 0) {
    /* The sandbox keeps no kernel time zone: UTC, no DST. */
    tz->tz_minuteswest = 0;
    tz->tz_dsttime = 0;
  }
  return 0;
}

int64_t __vdso_time(int64_t* t) {
  int64_t ns;
  if (read_clock(BASE_REALTIME, &ns) != 0) {
    return raw_syscall2(NR_time, (long)t, 0);
  }
  int64_t secs = ns / NSEC_PER_SEC;
  if (t != 0) *t = secs;
  return secs;
}

long __vdso_getcpu(unsigned* cpu, unsigned* node, void* unused) {
  /* As the kernel's vgetcpu: LSL on the per-CPU GDT entry reads cpu | node
   * << 12 from its limit without leaving user space. */
  unsigned int p;
  int ok;
  __asm__("lsl %[seg], %[p]"
          : [p] "=r"(p), "=@ccz"(ok)
          : [seg] "r"(CPUNODE_SEG));
  if (!ok) {
    /* No such segment (not a Linux x86-64 host): ask the kernel. */
    return raw_syscall3(NR_getcpu, (long)cpu, (long)node, (long)unused);
  }
  if (cpu != 0) *cpu = p & CPUNODE_MASK;
  if (node != 0) *node = p >> CPUNODE_BITS;
  return 0;
}

/* The unprefixed names, as the kernel's vDSO exports them. */
int clock_gettime(int, struct kernel_timespec*)
    __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct kernel_timeval*, struct kernel_timezone*)
    __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t*) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned*, unsigned*, void*)
    __attribute__((weak, alias("__vdso_getcpu")));
