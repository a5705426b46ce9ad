// A guest-side system call fuzzer for the task model: processes and
// threads, exec, wait, signals and signal frames, futexes and robust lists,
// timers, eventfd, timerfd and signalfd, scheduling, credentials, resource
// limits, pidfds, arch_prctl and memory mappings. Whatever a guest passes, the
// kernel under it must not crash, hang or leak;
// test/security/syscall_fuzz_test.sh runs this in the sandbox and checks.
//
//   syscall_fuzz SEED ITERATIONS [FIRST]
//
// runs iterations FIRST .. FIRST+ITERATIONS-1. Iteration i forks a child
// that makes SYSCALL_FUZZ_CALLS (default 200) random calls from a generator
// seeded by (SEED, i), so a finding reruns with `syscall_fuzz SEED 1 i`.
// Arguments mix 0, -1, small and boundary integers, random 64-bit values,
// pointers to a scratch buffer of random bytes, pointers that straddle the
// end of a mapping into a PROT_NONE page, into unmapped memory and into the
// kernel half. rt_sigreturn gets forged frames (registers, flags, segment
// selectors, XSAVE images with bad magic, sizes, headers and MXCSR), and the
// signal handler mutates real frames before returning through them.
//
// New threads and processes never run the fuzzer's code: they make at most
// one call (a short sleep, a futex wait, rarely exec or exit_group) and
// exit, so they are alive while exec, exit_group, waits and signals deal
// with them, but no flags can make them multiply.
//
// Any exit status of a child, or its death by any signal, is fine. Calls
// that may block run with a periodic "wake" timer signal that ends them;
// a child stopped by a stop signal is continued; and each child has
// watchdogs (alarm(2) at 2 s, which it may cancel, and a SIGKILL timer at
// 3 s). A child still alive 10 s after it started is a HANG: the parent
// prints the seed, iteration, call in progress and the child's state,
// kills it and fails. A process that cannot be reaped after an iteration,
// or any left at the end, is a LEAK.
//
// Environment:
//   SYSCALL_FUZZ_TRACE=1     print each call (and its result) to stderr
//   SYSCALL_FUZZ_PROGRESS=1  print each iteration as it starts, how each
//                            child ended and which took long
//   SYSCALL_FUZZ_CALLS=N     calls per child (default 200)
//   SYSCALL_FUZZ_HOLD=S      print "syscall_fuzz: holding" and sleep S
//                            seconds before the first and after the last
//                            iteration (the test inspects the host then)
//
// Safety: children send signals to pid -1, change credentials and limits.
// The fuzzer therefore refuses to run unless it is pid 1 of its own pid
// namespace (the sandbox's init, or `unshare -Urpf --mount-proc` natively),
// where kill(-1, ...) reaches nothing outside and descendants cannot signal
// it; and it starts a session of its own, since process groups (kill(0),
// kill(-pgrp)) are not confined by pid namespaces. It never passes its own
// pid to calls that change another process (prlimit64, sched_set*,
// setpriority), never maps more than it can afford with MAP_POPULATE or
// MAP_LOCKED, and keeps core dumps off.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

// x86-64 system call numbers, spelled out: the C library's headers may
// predate the newer ones.
enum {
  NR_read = 0,
  NR_write = 1,
  NR_close = 3,
  NR_poll = 7,
  NR_mmap = 9,
  NR_mprotect = 10,
  NR_munmap = 11,
  NR_rt_sigaction = 13,
  NR_rt_sigprocmask = 14,
  NR_rt_sigreturn = 15,
  NR_mremap = 25,
  NR_madvise = 28,
  NR_sched_yield = 24,
  NR_pause = 34,
  NR_nanosleep = 35,
  NR_getitimer = 36,
  NR_alarm = 37,
  NR_setitimer = 38,
  NR_getpid = 39,
  NR_clone = 56,
  NR_fork = 57,
  NR_vfork = 58,
  NR_execve = 59,
  NR_exit = 60,
  NR_wait4 = 61,
  NR_kill = 62,
  NR_getrlimit = 97,
  NR_getrusage = 98,
  NR_times = 100,
  NR_setuid = 105,
  NR_setgid = 106,
  NR_setpgid = 109,
  NR_getppid = 110,
  NR_getpgrp = 111,
  NR_setsid = 112,
  NR_setreuid = 113,
  NR_setregid = 114,
  NR_getgroups = 115,
  NR_setgroups = 116,
  NR_setresuid = 117,
  NR_getresuid = 118,
  NR_setresgid = 119,
  NR_getresgid = 120,
  NR_getpgid = 121,
  NR_setfsuid = 122,
  NR_setfsgid = 123,
  NR_getsid = 124,
  NR_capget = 125,
  NR_capset = 126,
  NR_rt_sigpending = 127,
  NR_rt_sigtimedwait = 128,
  NR_rt_sigqueueinfo = 129,
  NR_rt_sigsuspend = 130,
  NR_sigaltstack = 131,
  NR_getpriority = 140,
  NR_setpriority = 141,
  NR_sched_setparam = 142,
  NR_sched_getparam = 143,
  NR_sched_setscheduler = 144,
  NR_sched_getscheduler = 145,
  NR_sched_get_priority_max = 146,
  NR_sched_get_priority_min = 147,
  NR_sched_rr_get_interval = 148,
  NR_prctl = 157,
  NR_arch_prctl = 158,
  NR_setrlimit = 160,
  NR_gettid = 186,
  NR_tkill = 200,
  NR_futex = 202,
  NR_sched_setaffinity = 203,
  NR_sched_getaffinity = 204,
  NR_set_tid_address = 218,
  NR_restart_syscall = 219,
  NR_timer_create = 222,
  NR_timer_settime = 223,
  NR_timer_gettime = 224,
  NR_timer_getoverrun = 225,
  NR_timer_delete = 226,
  NR_clock_gettime = 228,
  NR_clock_getres = 229,
  NR_clock_nanosleep = 230,
  NR_exit_group = 231,
  NR_tgkill = 234,
  NR_waitid = 247,
  NR_set_robust_list = 273,
  NR_get_robust_list = 274,
  NR_rt_tgsigqueueinfo = 297,
  NR_prlimit64 = 302,
  NR_getcpu = 309,
  NR_sched_setattr = 314,
  NR_sched_getattr = 315,
  NR_execveat = 322,
  NR_signalfd = 282,
  NR_timerfd_create = 283,
  NR_eventfd = 284,
  NR_timerfd_settime = 286,
  NR_timerfd_gettime = 287,
  NR_signalfd4 = 289,
  NR_eventfd2 = 290,
  NR_rseq = 334,
  NR_pidfd_send_signal = 424,
  NR_pidfd_open = 434,
  NR_clone3 = 435,
  NR_pidfd_getfd = 438,
  NR_futex_waitv = 449,
};

// ---- Kernel structures, as the x86-64 ABI lays them out ----

struct ksigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

struct ksigcontext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved1[8];
};

struct kstack {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};

struct kucontext {
  uint64_t flags;
  uint64_t link;
  struct kstack stack;
  struct ksigcontext mc;
  uint64_t sigmask;
};

struct kframe {
  uint64_t pretcode;
  struct kucontext uc;
  uint8_t info[128];
};

_Static_assert(sizeof(struct ksigcontext) == 256, "sigcontext");
_Static_assert(sizeof(struct kucontext) == 304, "ucontext");
_Static_assert(sizeof(struct kframe) == 440, "rt_sigframe");

// Offsets in the XSAVE image a signal frame points at.
enum {
  kFxMxcsr = 24,
  kFxMxcsrMask = 28,
  kFxSwBytes = 464,  // _fpx_sw_bytes
  kFxsaveSize = 512,
  kXstateBv = 512,
  kXcompBv = 520,
  kXsaveHeaderEnd = 576,
};
#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U

struct fpx_sw_bytes {
  uint32_t magic1;
  uint32_t extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};

// The status a child leaves for its parent, in memory they share: where it
// is, should it never come back.
struct status {
  volatile uint64_t iter;
  volatile uint64_t call;
  volatile int64_t nr;
  char name[32];
};

// ---- Random numbers (xoshiro256**, seeded by splitmix64) ----

struct rng {
  uint64_t s[4];
};

static uint64_t splitmix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void rng_seed(struct rng* r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rng_next(struct rng* r) {
  uint64_t* s = r->s;
  uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return result;
}

// The call sequence's generator, and a separate one for signal handlers,
// which run when timers say: they must not perturb the sequence.
static struct rng main_rng, handler_rng;

static uint64_t rnd(void) { return rng_next(&main_rng); }
static uint64_t rnd_below(uint64_t n) { return n == 0 ? 0 : rnd() % n; }
static int one_in(uint64_t n) { return rnd_below(n) == 0; }
static uint64_t hrnd(void) { return rng_next(&handler_rng); }

#define PICK(arr) ((arr)[rnd_below(ARRAY_SIZE(arr))])

// ---- Raw system calls and the few that need assembly ----

static long raw_syscall(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                        uint64_t e, uint64_t f) {
  register uint64_t r10 __asm__("r10") = d;
  register uint64_t r8 __asm__("r8") = e;
  register uint64_t r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

#define SYS0(nr) raw_syscall((nr), 0, 0, 0, 0, 0, 0)
#define SYS1(nr, a) raw_syscall((nr), (uint64_t)(a), 0, 0, 0, 0, 0)
#define SYS2(nr, a, b) \
  raw_syscall((nr), (uint64_t)(a), (uint64_t)(b), 0, 0, 0, 0)
#define SYS3(nr, a, b, c) \
  raw_syscall((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0, 0)
#define SYS4(nr, a, b, c, d)                                     \
  raw_syscall((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), \
              (uint64_t)(d), 0, 0)

// Read by the assembly below.
uint64_t fz_child_robust_head, fz_child_robust_len;
uint64_t fz_child_call[5];  // nr (0: none) and four arguments
uint64_t fz_saved_rsp;
uint32_t fz_mxcsr = 0x1f80;
uint64_t fz_fs_base, fz_gs_base;

// fz_clone(nr, a1..a5): clone, clone3, fork or vfork. The new task never
// returns into C: using registers only (it may share the caller's stack),
// it sets fz_child_robust_head as its robust list if that is nonzero, makes
// the one call fz_child_call names (a short sleep, a futex wait, an exec),
// then exits, so no flags can make it run on or multiply.
long fz_clone(long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
              uint64_t a5);
// fz_sigreturn(rsp): rt_sigreturn with the stack pointer at `rsp` (the
// frame starts at rsp - 8). A frame that restores rip to
// fz_sigreturn_landing, or a failed call, comes back here.
void fz_sigreturn(uint64_t rsp);
void fz_sigreturn_landing(void);
// fz_arch_prctl(code, addr), then puts back the fs and gs bases the C
// code relies on.
long fz_arch_prctl(uint64_t code, uint64_t addr);
// The restorer every handler the fuzzer installs returns through.
void fz_restorer(void);

__asm__(
    ".text\n"
    ".globl fz_clone\n"
    ".type fz_clone,@function\n"
    "fz_clone:\n"
    "  push %r12\n"
    "  push %r13\n"
    "  mov fz_child_robust_head(%rip), %r12\n"
    "  mov fz_child_robust_len(%rip), %r13\n"
    "  mov %rdi, %rax\n"
    "  mov %rsi, %rdi\n"
    "  mov %rdx, %rsi\n"
    "  mov %rcx, %rdx\n"
    "  mov %r8, %r10\n"
    "  mov %r9, %r8\n"
    "  xor %r9d, %r9d\n"
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  test %r12, %r12\n"
    "  jz 2f\n"
    "  mov $273, %eax\n"
    "  mov %r12, %rdi\n"
    "  mov %r13, %rsi\n"
    "  syscall\n"
    "2:\n"
    "  mov fz_child_call(%rip), %rax\n"
    "  test %rax, %rax\n"
    "  jz 3f\n"
    "  mov fz_child_call+8(%rip), %rdi\n"
    "  mov fz_child_call+16(%rip), %rsi\n"
    "  mov fz_child_call+24(%rip), %rdx\n"
    "  mov fz_child_call+32(%rip), %r10\n"
    "  syscall\n"
    "3:\n"
    "  mov $60, %eax\n"
    "  xor %edi, %edi\n"
    "  syscall\n"
    "  ud2\n"
    "1:\n"
    "  pop %r13\n"
    "  pop %r12\n"
    "  ret\n"
    ".size fz_clone, .-fz_clone\n"
    "\n"
    ".globl fz_sigreturn\n"
    ".type fz_sigreturn,@function\n"
    "fz_sigreturn:\n"
    "  push %rbx\n"
    "  push %rbp\n"
    "  push %r12\n"
    "  push %r13\n"
    "  push %r14\n"
    "  push %r15\n"
    "  mov %rsp, fz_saved_rsp(%rip)\n"
    "  mov %rdi, %rsp\n"
    "  mov $15, %eax\n"
    "  syscall\n"
    ".globl fz_sigreturn_landing\n"
    "fz_sigreturn_landing:\n"
    "  mov fz_saved_rsp(%rip), %rsp\n"
    "  cld\n"
    "  pushfq\n"
    "  andq $-262145, (%rsp)\n"  // clear AC
    "  popfq\n"
    "  ldmxcsr fz_mxcsr(%rip)\n"
    "  fninit\n"
    "  pop %r15\n"
    "  pop %r14\n"
    "  pop %r13\n"
    "  pop %r12\n"
    "  pop %rbp\n"
    "  pop %rbx\n"
    "  ret\n"
    ".size fz_sigreturn, .-fz_sigreturn\n"
    "\n"
    ".globl fz_arch_prctl\n"
    ".type fz_arch_prctl,@function\n"
    "fz_arch_prctl:\n"
    "  mov $158, %eax\n"
    "  syscall\n"
    "  mov %rax, %r8\n"
    "  mov $158, %eax\n"
    "  mov $0x1002, %edi\n"
    "  mov fz_fs_base(%rip), %rsi\n"
    "  syscall\n"
    "  mov $158, %eax\n"
    "  mov $0x1001, %edi\n"
    "  mov fz_gs_base(%rip), %rsi\n"
    "  syscall\n"
    "  mov %r8, %rax\n"
    "  ret\n"
    ".size fz_arch_prctl, .-fz_arch_prctl\n"
    "\n"
    ".globl fz_restorer\n"
    ".type fz_restorer,@function\n"
    "fz_restorer:\n"
    "  mov $15, %eax\n"
    "  syscall\n"
    "  ud2\n"
    ".size fz_restorer, .-fz_restorer\n");

// ---- State ----

#define SCRATCH_SIZE (32 * PAGE)
#define ARENA_PAGES 64
#define MAX_KIDS 16
#define MAX_IDS 16

// A signal no fuzzed call is expected to keep away for long: the wake
// timer's, which ends any blocking call the fuzzer makes.
#define SIGWAKE 63
#define SA_RESTORER_FLAG 0x04000000UL

static struct {
  // Set up by the parent, inherited.
  uint64_t seed;
  int trace;
  int calls;
  struct status* status;
  uint8_t* scratch;      // SCRATCH_SIZE bytes, read-write
  uint8_t* guard;        // a read-write page, a PROT_NONE page, a hole
  uint8_t* arena;        // ARENA_PAGES pages for the memory calls
  uint8_t* shared;       // a MAP_SHARED page (shared futexes)
  uint8_t* child_stack;  // 4 pages for clone children
  uint8_t* alt_stack;    // 16 pages for sigaltstack
  uint8_t* sr_stack;     // 16 pages: forged frames return onto it
  char self_exe[512];
  uint8_t fp_template[16384] __attribute__((aligned(64)));
  size_t fp_size;  // bytes of the template, with magic2
  uint64_t template_eflags;

  // The child's.
  uint64_t iter;
  uint8_t* scratch_cur;
  pid_t pid, tid;
  pid_t kids[MAX_KIDS];
  int nkids;
  int pidfds[MAX_IDS];
  pid_t pidfd_target[MAX_IDS];
  int npidfds;
  int timers[MAX_IDS];
  int ntimers;
  int watchdog_timer, wake_timer;
  uint64_t maps[MAX_IDS];
  uint64_t map_lens[MAX_IDS];
  int nmaps;
  int fault_loops;
  // Between a forged rt_sigreturn and its landing pad (where the handler
  // may send a thread stuck in the vsyscall page).
  volatile int in_forged_sigreturn;
} g;

// ---- Output without stdio (children may be in any state) ----

static void out(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof(buf)) n = sizeof(buf) - 1;
  (void)!write(2, buf, (size_t)n);
}

// ---- Arguments ----

// Scratch memory for one call's structures, refilled with random bytes.
static void* salloc(size_t n, size_t align) {
  uintptr_t p =
      ((uintptr_t)g.scratch_cur + align - 1) & ~(uintptr_t)(align - 1);
  if (p + n > (uintptr_t)g.scratch + SCRATCH_SIZE) {
    p = ((uintptr_t)g.scratch + align - 1) & ~(uintptr_t)(align - 1);
  }
  g.scratch_cur = (uint8_t*)(p + n);
  return (void*)p;
}

static void fill_random(void* p, size_t n) {
  uint8_t* b = p;
  while (n >= 8) {
    uint64_t v = rnd();
    memcpy(b, &v, 8);
    b += 8;
    n -= 8;
  }
  while (n-- > 0) *b++ = (uint8_t)rnd();
}

static void* srandom_buf(size_t n) {
  void* p = salloc(n, 16);
  fill_random(p, n);
  return p;
}

static uint64_t guard_end(void) { return (uint64_t)g.guard + PAGE; }

// Whether [p, p+n) is memory of the fuzzer's that the kernel can read
// (scratch, or the read-write page before the PROT_NONE one).
static int own_memory(uint64_t p, size_t n) {
  uint64_t s = (uint64_t)g.scratch;
  uint64_t gp = (uint64_t)g.guard;
  return (p >= s && p + n <= s + SCRATCH_SIZE) ||
         (p >= gp && p + n <= gp + PAGE);
}

static uint64_t kernel_addr(void) {
  static const uint64_t addrs[] = {
      0xffffffffffffffffULL, 0xffff800000000000ULL, 0xffffffffff600000ULL,
      0xffffffff81000000ULL, 0xfffffffffffff000ULL, 0x8000000000000000ULL,
  };
  if (one_in(3)) return rnd() | 0xffff800000000000ULL;
  return PICK(addrs);
}

static uint64_t boundary_int(void) {
  static const uint64_t v[] = {
      0,
      1,
      2,
      3,
      4,
      7,
      8,
      16,
      31,
      32,
      63,
      64,
      65,
      127,
      128,
      255,
      256,
      1023,
      4095,
      4096,
      65535,
      65536,
      0x7fffffff,
      0x80000000,
      0xffffffff,
      0x100000000ULL,
      0x7fffffffffffffffULL,
      0x8000000000000000ULL,
      (uint64_t)-1,
      (uint64_t)-2,
      (uint64_t)-4096,
  };
  return PICK(v);
}

// A pointer the kernel reads or writes `n` bytes at.
static uint64_t rand_ptr(size_t n) {
  size_t edge = n == 0 ? 1 : (n < 64 ? n : 64);
  switch (rnd_below(24)) {
    case 0:
      return 0;
    case 1:  // straddles into the PROT_NONE page
      return guard_end() - 1 - rnd_below(edge);
    case 2:
      return guard_end() + rnd_below(PAGE);  // PROT_NONE
    case 3:
      return guard_end() + PAGE + rnd_below(PAGE);  // unmapped
    case 4:
      return kernel_addr();
    case 5:
      return rnd();
    case 6:
      return rnd_below(65536);
    case 7:  // unaligned
      return (uint64_t)srandom_buf(n + 8) + 1 + rnd_below(7);
    case 8:  // the top of the user half
      return 0x800000000000ULL - 1 - rnd_below(edge);
    default:
      return (uint64_t)srandom_buf(n == 0 ? 8 : n);
  }
}

// Any argument at all.
static uint64_t rand_arg(void) {
  switch (rnd_below(8)) {
    case 0:
      return 0;
    case 1:
      return (uint64_t)-1;
    case 2:
      return rnd_below(64);
    case 3:
    case 4:
      return boundary_int();
    case 5:
      return rnd();
    default:
      return rand_ptr(64);
  }
}

// A pointer to a `T` filled in by the caller, or sometimes anything else.
static void* struct_or_bad(size_t n, uint64_t* bad) {
  if (one_in(6)) {
    *bad = rand_ptr(n);
    return NULL;
  }
  void* p = srandom_buf(n);
  *bad = (uint64_t)p;
  return p;
}

static pid_t rand_pid(void) {
  switch (rnd_below(14)) {
    case 0:
      return 0;
    case 1:
      return -1;
    case 2:
    case 3:
      return g.pid;
    case 4:
      return g.tid;
    case 5:
    case 6:
      return g.nkids > 0 ? g.kids[rnd_below(g.nkids)] : g.pid;
    case 7:
      return -g.pid;
    case 8:
      return 1;
    case 9:
      return (pid_t)(2 + rnd_below(64));
    case 10:
      return (pid_t)0x7fffffff;
    case 11:
      return (pid_t)0x80000000U;
    case 12:
      return -(pid_t)(1 + rnd_below(64));
    default:
      return (pid_t)rnd();
  }
}

// A pid for a call that changes the process it names: never the parent.
static pid_t rand_pid_not_parent(void) {
  pid_t p = rand_pid();
  return p == 1 ? 0 : p;
}

static int rand_sig(void) {
  static const int benign[] = {SIGUSR1, SIGUSR2, SIGCHLD, SIGURG,  SIGWINCH,
                               SIGCONT, SIGHUP,  SIGPIPE, SIGIO,   SIGPROF,
                               SIGTTIN, SIGTTOU, SIGTSTP, SIGXCPU, SIGVTALRM};
  switch (rnd_below(12)) {
    case 0:
      return 0;
    case 1:
    case 2:
      return 34 + (int)rnd_below(31);  // real-time
    case 3:
      return (int)rnd_below(66);  // anything, up to one past the last
    case 4:
      return (int)boundary_int();
    default:
      return PICK(benign);
  }
}

// Stopping or killing itself ends (or idles) a child early: rare.
static int tame_sig_for_self(int sig) {
  if ((sig == SIGSTOP || sig == SIGKILL || sig == SIGSEGV || sig == SIGABRT ||
       sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
       sig == SIGSYS || sig == SIGQUIT || sig == SIGALRM || sig == SIGTERM ||
       sig == SIGINT) &&
      !one_in(16)) {
    return SIGCONT;
  }
  if (sig == SIGSTOP) return SIGCONT;  // nobody would continue it
  return sig;
}

static int targets_self(pid_t pid) {
  return pid == 0 || pid == -1 || pid == g.pid || pid == g.tid || pid == -g.pid;
}

static int rand_clockid(void) {
  switch (rnd_below(8)) {
    case 0:
    case 1:
    case 2:
      return (int)rnd_below(12);  // REALTIME .. TAI
    case 3: {  // a CPU clock: ~pid << 3 | which, perhaps per-thread (4)
      pid_t pid = one_in(2) ? 0 : rand_pid();
      return (int)((~(uint32_t)pid << 3) | (uint32_t)rnd_below(8));
    }
    case 4:
      return -1;
    case 5:
      return (int)boundary_int();
    default:
      return one_in(2) ? 1 : 0;
  }
}

// A timespec the call will wait for: short, unless `allow_long`.
static uint64_t rand_timespec(int allow_long) {
  uint64_t bad;
  int64_t* ts = struct_or_bad(16, &bad);
  if (ts == NULL) return bad;
  switch (rnd_below(10)) {
    case 0:
      ts[0] = 0, ts[1] = 0;
      break;
    case 1:
      ts[0] = -1, ts[1] = 0;
      break;
    case 2:
      ts[0] = 0, ts[1] = 1000000000;
      break;
    case 3:
      ts[0] = 0, ts[1] = -1;
      break;
    case 4:
      if (allow_long) {
        ts[0] = (int64_t)rnd();
        ts[1] = (int64_t)rnd_below(1000000000);
        break;
      }
      // fall through
    default:
      ts[0] = 0, ts[1] = (int64_t)rnd_below(1000000);  // under 1 ms
      break;
  }
  return (uint64_t)ts;
}

static uint64_t rand_sigset(void) {
  uint64_t bad;
  uint64_t* set = struct_or_bad(8, &bad);
  if (set == NULL) return bad;
  switch (rnd_below(4)) {
    case 0:
      *set = 0;
      break;
    case 1:
      *set = ~0ULL;
      break;
    default:
      *set = rnd();
  }
  return (uint64_t)set;
}

static uint64_t rand_sigsetsize(void) { return one_in(8) ? boundary_int() : 8; }

static uint64_t rand_id(void) {
  static const uint64_t ids[] = {
      0, 1, 2, 100, 1000, 65534, 65535, (uint32_t)-1, 0x7fffffff};
  return one_in(6) ? rnd() : PICK(ids);
}

static void note_kid(long r) {
  if (r <= 0) return;
  if (g.nkids < MAX_KIDS) {
    g.kids[g.nkids++] = (pid_t)r;
  } else {
    g.kids[rnd_below(MAX_KIDS)] = (pid_t)r;
  }
}

// ---- Making the calls ----

static long fz_result(long r) {
  if (g.trace) out("    = %ld\n", r);
  return r;
}

static void fz_record(const char* name, long nr, const uint64_t* a, int n) {
  g.status->nr = nr;
  g.status->call++;
  size_t len = strlen(name);
  if (len >= sizeof(g.status->name)) len = sizeof(g.status->name) - 1;
  memcpy(g.status->name, name, len);
  g.status->name[len] = 0;
  if (!g.trace) return;
  char buf[512];
  int o = snprintf(buf, sizeof(buf), "[seed %llu iter %llu call %llu] %s(",
                   (unsigned long long)g.seed, (unsigned long long)g.iter,
                   (unsigned long long)g.status->call, name);
  for (int i = 0; i < n && o > 0 && (size_t)o < sizeof(buf); i++) {
    o += snprintf(buf + o, sizeof(buf) - o, "%s0x%llx", i ? ", " : "",
                  (unsigned long long)a[i]);
  }
  out("%s)\n", buf);
}

static long fz(const char* name, long nr, int n, uint64_t a0, uint64_t a1,
               uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  uint64_t a[6] = {a0, a1, a2, a3, a4, a5};
  fz_record(name, nr, a, n);
  return fz_result(raw_syscall(nr, a0, a1, a2, a3, a4, a5));
}

#define FZ0(nr) fz(#nr + 3, (nr), 0, 0, 0, 0, 0, 0, 0)
#define FZ1(nr, a) fz(#nr + 3, (nr), 1, (uint64_t)(a), 0, 0, 0, 0, 0)
#define FZ2(nr, a, b) \
  fz(#nr + 3, (nr), 2, (uint64_t)(a), (uint64_t)(b), 0, 0, 0, 0)
#define FZ3(nr, a, b, c) \
  fz(#nr + 3, (nr), 3, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0, 0)
#define FZ4(nr, a, b, c, d)                                         \
  fz(#nr + 3, (nr), 4, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), \
     (uint64_t)(d), 0, 0)
#define FZ5(nr, a, b, c, d, e)                                      \
  fz(#nr + 3, (nr), 5, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), \
     (uint64_t)(d), (uint64_t)(e), 0)
#define FZ6(nr, a, b, c, d, e, f)                                   \
  fz(#nr + 3, (nr), 6, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), \
     (uint64_t)(d), (uint64_t)(e), (uint64_t)(f))

static void wake_handler(int sig) { (void)sig; }

// Before a call that may block: the wake signal has its handler (no
// SA_RESTART, so the call ends with EINTR), is unblocked, and its timer
// fires in a millisecond or two, and every 2 ms after until disarmed.
static void wake_arm(void) {
  struct ksigaction act = {(uint64_t)wake_handler, SA_RESTORER_FLAG,
                           (uint64_t)fz_restorer, 0};
  SYS4(NR_rt_sigaction, SIGWAKE, &act, 0, 8);
  uint64_t set = 1ULL << (SIGWAKE - 1);
  SYS4(NR_rt_sigprocmask, SIG_UNBLOCK, &set, 0, 8);
  // Periodic: a first signal that comes before the call blocks is
  // followed by another.
  struct itimerspec its = {{0, 2000000},
                           {0, 1000000 + (long)rnd_below(1000000)}};
  SYS4(NR_timer_settime, g.wake_timer, 0, &its, 0);
}

static void wake_disarm(void) {
  struct itimerspec its = {{0, 0}, {0, 0}};
  SYS4(NR_timer_settime, g.wake_timer, 0, &its, 0);
}

// A timer id for the fuzzed timer calls: never the watchdog's or the
// wake timer's.
static int rand_timer_id(void) {
  int id;
  if (g.ntimers > 0 && !one_in(4)) {
    id = g.timers[rnd_below(g.ntimers)];
  } else {
    id = one_in(2) ? (int)rnd_below(8) : (int)boundary_int();
  }
  if (id == g.watchdog_timer || id == g.wake_timer) id = 0x7fffffff;
  return id;
}

// ---- Signal frames ----

static size_t xsave_extended_size(const uint8_t* fp) {
  struct fpx_sw_bytes sw;
  memcpy(&sw, fp + kFxSwBytes, sizeof(sw));
  if (sw.magic1 == FP_XSTATE_MAGIC1 && sw.extended_size >= kXsaveHeaderEnd &&
      sw.extended_size <= sizeof(g.fp_template)) {
    return sw.extended_size;
  }
  return kFxsaveSize;
}

// Damages an XSAVE image of `size` bytes (magic2 included) in one of the
// ways sigreturn must check for. `live`: the image holds the registers of
// code a signal interrupted, which keeps values in them: random flips stay
// out of the registers themselves.
static void mutate_xsave(uint8_t* fp, size_t size, int live,
                         uint64_t (*r)(void)) {
  uint64_t v = r();
  uint32_t v32 = (uint32_t)v;
  switch (r() % 12) {
    case 0:
      if (live && size >= kXsaveHeaderEnd) {
        fp[kFxSwBytes + r() % (kXsaveHeaderEnd - kFxSwBytes)] ^=
            (uint8_t)(1 + v % 255);
      } else {
        fp[r() % size] ^= (uint8_t)(1 + v % 255);
      }
      break;
    case 1:
      memcpy(fp + kFxSwBytes + offsetof(struct fpx_sw_bytes, magic1), &v32, 4);
      break;
    case 2: {
      static const uint32_t sizes[] = {0,   1,    511,        512,
                                       576, 4096, 0x7fffffff, 0xffffffff};
      uint32_t s = (v & 1) ? sizes[(v >> 1) % ARRAY_SIZE(sizes)]
                           : (uint32_t)(size + (int)(v % 9) - 4);
      memcpy(fp + kFxSwBytes + offsetof(struct fpx_sw_bytes, extended_size), &s,
             4);
      break;
    }
    case 3: {
      uint32_t s = (v & 1) ? v32 : (uint32_t)(size - 4 + (int)(v % 9) - 4);
      memcpy(fp + kFxSwBytes + offsetof(struct fpx_sw_bytes, xstate_size), &s,
             4);
      break;
    }
    case 4:
      memcpy(fp + kFxSwBytes + offsetof(struct fpx_sw_bytes, xfeatures), &v, 8);
      break;
    case 5:
      if (size >= kXsaveHeaderEnd + 4) memcpy(fp + size - 4, &v32, 4);
      break;
    case 6:
      if (size >= kXsaveHeaderEnd) memcpy(fp + kXstateBv, &v, 8);
      break;
    case 7:
      if (size >= kXsaveHeaderEnd) {
        v |= 1ULL << 63;  // the compacted format
        memcpy(fp + kXcompBv, &v, 8);
      }
      break;
    case 8:
      if (size >= kXsaveHeaderEnd) memcpy(fp + kXcompBv + 8 + v % 40, &v, 8);
      break;
    case 9:
      memcpy(fp + kFxMxcsr, &v32, 4);
      break;
    case 10:
      memcpy(fp + kFxMxcsrMask, &v32, 4);
      break;
    default:
      memcpy(fp, &v, 8);  // fcw, fsw, ftw, fop
      break;
  }
}

// An fpstate pointer for a forged frame.
static uint64_t forged_fpstate(void) {
  size_t size = g.fp_size;
  switch (rnd_below(12)) {
    case 0:
      return 0;
    case 1: {  // the extended part runs into the PROT_NONE page
      uint8_t* fp =
          (uint8_t*)((guard_end() - kXsaveHeaderEnd - 64 * rnd_below(4)) &
                     ~63ULL);
      memcpy(fp, g.fp_template, guard_end() - (uint64_t)fp);
      return (uint64_t)fp;
    }
    case 2: {  // not 64-byte aligned
      uint8_t* fp = (uint8_t*)salloc(size + 64, 64) + 1 + rnd_below(63);
      memcpy(fp, g.fp_template, size);
      return (uint64_t)fp;
    }
    case 3:
      return rand_ptr(kFxsaveSize);
    case 4:
      return kernel_addr();
    default: {
      uint8_t* fp = salloc(size, 64);
      memcpy(fp, g.fp_template, size);
      int n = (int)rnd_below(4);  // 0: a valid image
      for (int i = 0; i < n; i++) mutate_xsave(fp, size, 0, rnd);
      return (uint64_t)fp;
    }
  }
}

// Fault signals: a mask that blocks them makes the SIGSEGV of a bad
// frame fatal.
#define FAULT_SIGNALS                                                          \
  ((1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)) | (1ULL << (SIGILL - 1)) | \
   (1ULL << (SIGFPE - 1)) | (1ULL << (SIGTRAP - 1)) | (1ULL << (SIGSYS - 1)))

// Where a forged frame sends the thread: the landing pad, with a stack on
// which a `ret` (the vsyscall page's) also lands there.
static uint64_t sr_stack_top(void) {
  uint64_t* sp = (uint64_t*)(g.sr_stack + 16 * PAGE - 256);
  sp[0] = (uint64_t)fz_sigreturn_landing;
  return (uint64_t)sp;
}

static void fam_sigreturn(void) {
  struct kframe* f;
  // A frame that is sure to kill (garbage, a wild rip or rsp, a mask that
  // blocks the SIGSEGV a bad frame brings) now and then; frames the child
  // survives otherwise, so that it gets on to the next call.
  int deadly = one_in(150);
  int garbage = deadly && one_in(3);
  if (one_in(30)) {  // partly readable
    f = (struct kframe*)(guard_end() - 8 - rnd_below(sizeof(*f) / 8) * 8);
    memset(f, 0, guard_end() - (uint64_t)f);
  } else {
    // Room below for the handler of the SIGSEGV a rejected frame brings,
    // which runs where the stack pointer still is.
    (void)salloc(8192, 16);
    f = salloc(sizeof(*f), 16);
    memset(f, 0, sizeof(*f));
  }
  uint64_t frame_rsp = (uint64_t)f + 8;
  if (garbage) {
    fill_random(f, guard_end() - (uint64_t)f < sizeof(*f)
                       ? guard_end() - (uint64_t)f
                       : sizeof(*f));
    if (one_in(2)) frame_rsp = rand_ptr(sizeof(*f)) + 8;
  } else {
    struct kframe k;
    memset(&k, 0, sizeof(k));
    k.pretcode = rnd();
    k.uc.flags = one_in(4) ? rnd() : 7;  // FP_XSTATE|SIGCONTEXT_SS|STRICT
    if (one_in(5)) {
      k.uc.stack.sp = one_in(2) ? (uint64_t)g.alt_stack : rand_ptr(0);
      k.uc.stack.flags = (int32_t)(one_in(2) ? rnd_below(4) : rnd());
      k.uc.stack.size = one_in(2) ? 16 * PAGE : rnd();
    } else {
      k.uc.stack.flags = SS_DISABLE;
    }
    struct ksigcontext* mc = &k.uc.mc;
    fill_random(mc, offsetof(struct ksigcontext, rsp));  // r8 .. rcx
    if (one_in(2)) mc->rdi = rand_arg();
    if (one_in(2)) mc->rsi = rand_arg();
    if (one_in(2)) mc->rax = rand_arg();
    mc->rsp = sr_stack_top();
    mc->rip = (uint64_t)fz_sigreturn_landing;
    switch (deadly ? rnd_below(3) : 2 + rnd_below(48)) {
      case 0:
        mc->rip = rnd();
        break;
      case 1:
        mc->rsp = rand_ptr(64);
        break;
      case 2:
      case 3: {  // through the vsyscall page, which returns to [rsp]
        static const uint64_t entries[] = {0xffffffffff600000ULL,
                                           0xffffffffff600400ULL,
                                           0xffffffffff600800ULL};
        mc->rip =
            one_in(4) ? 0xffffffffff600000ULL + rnd_below(PAGE) : PICK(entries);
        mc->rdi = one_in(4) ? rand_ptr(16) : (uint64_t)srandom_buf(16);
        mc->rsi = one_in(4) ? rand_ptr(16) : (uint64_t)srandom_buf(16);
        mc->rdx = one_in(4) ? rand_ptr(16) : (uint64_t)srandom_buf(16);
        break;
      }
      default:
        break;
    }
    uint64_t flip = rnd() & (one_in(3) ? ~0ULL : 0x40cd5ULL);
    if (!one_in(16)) flip &= ~0x100ULL;  // TF: a trap at the landing pad
    mc->eflags = g.template_eflags ^ flip;
    mc->cs = one_in(16) ? (uint16_t)rnd() : 0x33;
    mc->ss = one_in(16) ? (uint16_t)rnd() : 0x2b;
    mc->fs = (uint16_t)rnd();
    mc->gs = (uint16_t)rnd();
    mc->err = rnd();
    mc->trapno = rnd();
    mc->oldmask = rnd();
    mc->cr2 = rnd();
    mc->fpstate = forged_fpstate();
    if (one_in(4)) fill_random(mc->reserved1, sizeof(mc->reserved1));
    // The mask applies before the rest is checked: one that blocks the
    // SIGSEGV a bad frame brings makes it fatal, so mostly not.
    switch (rnd_below(10)) {
      case 0:
        k.uc.sigmask = one_in(4) ? ~0ULL : rnd();
        if (!deadly) k.uc.sigmask &= ~FAULT_SIGNALS;
        break;
      case 1:
      case 2:
      case 3:
        k.uc.sigmask = rnd() & ~FAULT_SIGNALS;
        break;
      default:
        k.uc.sigmask = 0;
    }
    fill_random(k.info, sizeof(k.info));
    size_t room = sizeof(k);
    if ((uint64_t)f >= (uint64_t)g.guard && (uint64_t)f < guard_end() &&
        guard_end() - (uint64_t)f < room) {
      room = guard_end() - (uint64_t)f;
    }
    memcpy(f, &k, room);
  }
  uint64_t a[6] = {frame_rsp, 0, 0, 0, 0, 0};
  int partial = (uint64_t)f >= (uint64_t)g.guard && (uint64_t)f < guard_end();
  if (!garbage && !partial) {
    a[1] = f->uc.mc.fpstate;
    a[2] = f->uc.mc.rip;
    a[3] = f->uc.mc.eflags;
    a[4] = (uint64_t)f->uc.mc.cs << 16 | f->uc.mc.ss;
    a[5] = f->uc.sigmask;
  }
  fz_record("rt_sigreturn(rsp, fpstate, rip, eflags, cs:ss, mask)",
            NR_rt_sigreturn, a, 6);
  g.in_forged_sigreturn = 1;
  fz_sigreturn(frame_rsp);
  g.in_forged_sigreturn = 0;
  if (g.trace) out("    (back)\n");
}

static int is_fault_signal(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
         sig == SIGTRAP || sig == SIGSYS;
}

// Every handler the fuzzer installs. Sometimes damages the frame it will
// return through, as a forged one would be.
static void fuzz_handler(int sig, siginfo_t* info, void* ucv) {
  // A handler runs with the interrupted code's alignment-check flag, which
  // a forged frame may have set; the C code here must not fault on it (the
  // frame keeps it for the return).
  __asm__ volatile("pushfq\n andq $-262145, (%%rsp)\n popfq" ::
                       : "memory", "cc");
  if (ucv == NULL) return;
  struct kucontext* uc = ucv;
  if (g.trace) {
    // Without stdio: a handler may run on a small alternate stack.
    char buf[128];
    size_t n = 0;
    const char* parts[] = {"    (signal ", " code ",  " rip ",
                           " rsp ",        " cs:ss ", ")\n"};
    uint64_t vals[] = {(uint64_t)sig, (uint64_t)(uint32_t)info->si_code,
                       uc->mc.rip, uc->mc.rsp,
                       (uint64_t)uc->mc.cs << 16 | uc->mc.ss};
    for (int p = 0; p < 6; p++) {
      for (const char* c = parts[p]; *c; c++) buf[n++] = *c;
      if (p == 5) break;
      buf[n++] = '0';
      buf[n++] = 'x';
      for (int shift = 60; shift >= 0; shift -= 4) {
        int d = (int)(vals[p] >> shift) & 15;
        if (d == 0 && shift > 0 && buf[n - 1] == 'x') continue;
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
      }
    }
    (void)!write(2, buf, n);
  }
  if (is_fault_signal(sig)) {
    // A fault the handler cannot fix is retried forever: give up.
    if (++g.fault_loops > 16) SYS1(NR_exit_group, 0);
    // A trap flag or an alignment check a forged frame set: cleared, so
    // the child goes on.
    if (sig == SIGTRAP) uc->mc.eflags &= ~0x100ULL;
    if (sig == SIGBUS) uc->mc.eflags &= ~0x40000ULL;
    // Bad selectors from a forged frame (Linux restores them) fault on the
    // way back; a vsyscall with bad pointers faults again when retried.
    uc->mc.cs = 0x33;
    uc->mc.ss = 0x2b;
    if (g.in_forged_sigreturn && uc->mc.rip >= 0xffffffffff600000ULL &&
        uc->mc.rip < 0xffffffffff601000ULL) {
      uc->mc.rip = (uint64_t)fz_sigreturn_landing;
    }
  }
  if (hrnd() % 4 != 0) return;
  int n = 1 + (int)(hrnd() % 3);
  for (int i = 0; i < n; i++) {
    switch (hrnd() % 10) {
      case 0:
        uc->sigmask = hrnd();
        if (hrnd() % 32 != 0) uc->sigmask &= ~FAULT_SIGNALS;
        break;
      case 1: {
        uint64_t flip = hrnd() & 0x40cd5ULL;
        if (hrnd() % 16 != 0) flip &= ~0x100ULL;
        uc->mc.eflags ^= flip;
        break;
      }
      case 2:
        uc->mc.fpstate = hrnd() % 2 ? 0 : hrnd();
        break;
      case 3:
      case 4:
      case 5:
        if (uc->mc.fpstate != 0) {
          uint8_t* fp = (uint8_t*)uc->mc.fpstate;
          mutate_xsave(fp, xsave_extended_size(fp), 1, hrnd);
        }
        break;
      case 6:
        uc->stack.sp = hrnd() % 2 ? (uint64_t)g.alt_stack : hrnd();
        uc->stack.flags = (int32_t)(hrnd() % 2 ? hrnd() % 4 : hrnd());
        uc->stack.size = hrnd() % 2 ? 16 * PAGE : hrnd();
        break;
      case 7:
        uc->mc.cs = (uint16_t)hrnd();
        uc->mc.ss = (uint16_t)hrnd();
        break;
      case 8:
        uc->flags = hrnd();
        break;
      default:
        if (hrnd() % 32 == 0) uc->mc.rip = hrnd();
        break;
    }
  }
}

// ---- Families ----

static uint64_t build_robust_list(pid_t owner);

static uint64_t rand_clone_flags(void) {
  static const uint64_t bits[] = {
      0x100,     0x200,     0x400,      0x800,      0x1000,     0x2000,
      0x4000,    0x8000,    0x10000,    0x20000,    0x40000,    0x80000,
      0x100000,  0x200000,  0x400000,   0x800000,   0x1000000,  0x2000000,
      0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000, 0x80000000,
  };
  // A thread as pthread_create makes one; a vfork; anything.
  const uint64_t thread = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 |
                          0x80000 | 0x100000 | 0x200000;
  uint64_t f;
  switch (rnd_below(8)) {
    case 0:
    case 1:
      f = thread;
      break;
    case 2:
      f = 0x100 | 0x4000;
      break;
    case 3:
      f = 0;
      break;
    case 4:
      f = rnd();
      break;
    default:
      f = 0;
      for (int n = (int)rnd_below(5); n > 0; n--) f |= PICK(bits);
  }
  if (one_in(3)) f ^= PICK(bits);
  return f;
}

// A vfork parent waits for its child: whose wait must end by itself.
static void vfork_child_must_end(struct timespec* nap) {
  if (fz_child_call[0] == NR_futex && fz_child_call[4] == 0) {
    fz_child_call[4] = (uint64_t)nap;
  }
}

static void fam_clone(void) {
  int clone3 = one_in(3);
  int fork_nr = 0;
  if (one_in(6)) fork_nr = one_in(2) ? NR_fork : NR_vfork;
  uint64_t stack_top = (uint64_t)g.child_stack + 4 * PAGE;
  fz_child_robust_head = 0;
  fz_child_robust_len = 24;
  // What the new task does before it exits: it lives on for a moment
  // (while exec, exit_group, signals and waits deal with it), or execs or
  // ends its whole thread group itself.
  static struct timespec nap;
  static char true_path[] = "/bin/true";
  memset(fz_child_call, 0, sizeof(fz_child_call));
  switch (rnd_below(12)) {
    case 0:
    case 1:
    case 2:
      nap.tv_sec = 0;
      nap.tv_nsec = (long)rnd_below(3000000);
      fz_child_call[0] = NR_nanosleep;
      fz_child_call[1] = (uint64_t)&nap;
      break;
    case 3: {  // a futex wait that only its end (or a wake) ends
      uint32_t* w = (uint32_t*)(g.shared + 4 * rnd_below(16));
      fz_child_call[0] = NR_futex;
      fz_child_call[1] = (uint64_t)w;
      fz_child_call[2] = one_in(2) ? 0 : 128;  // FUTEX_WAIT, maybe private
      fz_child_call[3] = *w;
      nap.tv_sec = 0;
      nap.tv_nsec = (long)rnd_below(3000000);
      fz_child_call[4] = one_in(3) ? 0 : (uint64_t)&nap;
      break;
    }
    case 4:
      fz_child_call[0] = NR_sched_yield;
      break;
    case 5:
      if (one_in(8)) {
        fz_child_call[0] = one_in(2) ? NR_exit_group : NR_execve;
        fz_child_call[1] = (uint64_t)true_path;
      }
      break;
    default:
      break;
  }
  if (one_in(4)) {
    fz_child_robust_head =
        one_in(2) ? build_robust_list(rand_pid()) : rand_ptr(24);
    if (one_in(8)) fz_child_robust_len = rand_arg();
  }
  // Blocked signals keep a handler from running on a stack the child
  // shares.
  uint64_t all = ~0ULL, old = 0;
  int block = !one_in(10);
  if (block) SYS4(NR_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
  long r;
  if (fork_nr != 0) {
    uint64_t a[1] = {0};
    if (fork_nr == NR_vfork) vfork_child_must_end(&nap);
    fz_record(fork_nr == NR_fork ? "fork" : "vfork", fork_nr, a, 0);
    r = fz_clone(fork_nr, 0, 0, 0, 0, 0);
  } else if (clone3) {
    uint64_t* ca = srandom_buf(128);
    uint64_t flags = rand_clone_flags() & ~0xffULL;
    if (one_in(8)) flags |= rnd() & 0x700000000ULL;  // CLEAR_SIGHAND, ...
    ca[0] = flags;
    ca[1] = rand_ptr(4);  // pidfd
    ca[2] = rand_ptr(4);  // child_tid
    ca[3] = rand_ptr(4);  // parent_tid
    ca[4] = one_in(4) ? rand_arg() : SIGCHLD;
    ca[5] = one_in(4) ? rand_ptr(0) : (uint64_t)g.child_stack;
    ca[6] = one_in(4) ? rand_arg() : 4 * PAGE;
    ca[7] = one_in(2) ? 0 : rand_arg();  // tls
    if (one_in(4)) {
      int32_t* tids = srandom_buf(64 * 4);
      for (int i = 0; i < 64; i++) tids[i] = rand_pid();
      ca[8] = (uint64_t)tids;
      ca[9] = one_in(2) ? rnd_below(4) : rand_arg();
    } else {
      ca[8] = 0;
      ca[9] = 0;
    }
    ca[10] = one_in(4) ? rand_arg() : 0;  // cgroup
    for (int i = 11; i < 16; i++) ca[i] = one_in(4) ? rnd() : 0;
    static const uint64_t sizes[] = {64, 80, 88, 88, 88, 96, 128, 0, 63};
    uint64_t size = one_in(8) ? rand_arg() : PICK(sizes);
    uint64_t argp = one_in(10) ? rand_ptr(88) : (uint64_t)ca;
    if (argp != (uint64_t)ca || (flags & 0x4000) != 0) {
      vfork_child_must_end(&nap);
    }
    uint64_t a[2] = {argp, size};
    fz_record("clone3", NR_clone3, a, 2);
    r = fz_clone(NR_clone3, argp, size, 0, 0, 0);
  } else {
    uint64_t flags = rand_clone_flags();
    if (!one_in(4)) flags = (flags & ~0xffULL) | SIGCHLD;
    uint64_t stack = one_in(3) ? 0 : (one_in(4) ? rand_ptr(0) : stack_top);
    if ((flags & 0x4000) != 0) vfork_child_must_end(&nap);
    uint64_t a[5] = {flags, stack, rand_ptr(4), rand_ptr(4),
                     one_in(2) ? 0 : rand_arg()};
    fz_record("clone", NR_clone, a, 5);
    r = fz_clone(NR_clone, a[0], a[1], a[2], a[3], a[4]);
  }
  if (block) SYS4(NR_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
  fz_result(r);
  note_kid(r);
}

static uint64_t rand_string(void) {
  static const char* const paths[] = {
      "/proc/self/exe", "/nonexistent",    "",     "/", "/dev/null",
      "/bin/true",      "/proc/self/fd/0", "/tmp", "."};
  switch (rnd_below(6)) {
    case 0:
      return rand_ptr(16);
    case 1: {  // unterminated, up to the PROT_NONE page
      size_t n = 1 + rnd_below(64);
      uint8_t* s = (uint8_t*)guard_end() - n;
      for (size_t i = 0; i < n; i++) s[i] = (uint8_t)(1 + rnd_below(255));
      return (uint64_t)s;
    }
    case 2:
      return (uint64_t)g.self_exe;
    default: {
      const char* p = PICK(paths);
      char* s = salloc(strlen(p) + 1, 1);
      memcpy(s, p, strlen(p) + 1);
      return (uint64_t)s;
    }
  }
}

static uint64_t rand_string_array(void) {
  switch (rnd_below(6)) {
    case 0:
      return 0;
    case 1:
      return rand_ptr(64);
    case 2: {  // no terminating NULL before the PROT_NONE page
      uint64_t* v = (uint64_t*)(guard_end() - 8 * (1 + rnd_below(8)));
      for (uint64_t* p = v; (uint64_t)p < guard_end(); p++) {
        *p = (uint64_t)g.self_exe;
      }
      return (uint64_t)v;
    }
    default: {
      int n = (int)rnd_below(6);
      uint64_t* v = salloc(8 * (n + 1), 8);
      for (int i = 0; i < n; i++) {
        if (i == 1 && one_in(2)) {
          char* s = salloc(16, 1);
          memcpy(s, "--exec-child", 13);
          v[i] = (uint64_t)s;
        } else {
          v[i] = one_in(4) ? rand_ptr(8) : rand_string();
        }
      }
      v[n] = 0;
      return (uint64_t)v;
    }
  }
}

static void fam_exec(void) {
  uint64_t path = rand_string();
  uint64_t argv = rand_string_array();
  uint64_t envp = rand_string_array();
  if (one_in(2)) {
    FZ3(NR_execve, path, argv, envp);
    return;
  }
  static const uint64_t flags[] = {0, 0x1000, 0x100, 0x1100, 0x800, 0x10000};
  int dirfd = -100;  // AT_FDCWD
  switch (rnd_below(4)) {
    case 0:
      dirfd = (int)rand_arg();
      break;
    case 1:
      if (g.npidfds > 0) dirfd = g.pidfds[rnd_below(g.npidfds)];
      break;
    case 2:
      dirfd = (int)rnd_below(4);
      break;
  }
  FZ5(NR_execveat, dirfd, path, argv, envp,
      one_in(6) ? rand_arg() : PICK(flags));
}

static uint64_t rand_wait_options(void) {
  static const uint64_t bits[] = {
      1, 2, 4, 8, 0x01000000, 0x20000000, 0x40000000, 0x80000000};
  uint64_t o = 0;
  for (int n = (int)rnd_below(4); n > 0; n--) o |= PICK(bits);
  if (one_in(10)) o = rnd();
  return o;
}

static void fam_wait(void) {
  uint64_t options = rand_wait_options();
  if (one_in(2)) {
    wake_arm();
    FZ4(NR_wait4, rand_pid(), rand_ptr(4), options, rand_ptr(144));
    wake_disarm();
    return;
  }
  static const uint64_t idtypes[] = {0, 1, 2, 3};
  uint64_t idtype = one_in(8) ? rand_arg() : PICK(idtypes);
  uint64_t id = (uint64_t)rand_pid();
  if (idtype == 3) {  // P_PIDFD
    id = g.npidfds > 0 && !one_in(4) ? (uint64_t)g.pidfds[rnd_below(g.npidfds)]
                                     : rand_arg();
  }
  if (!one_in(4)) options |= 4;  // WEXITED
  wake_arm();
  FZ5(NR_waitid, idtype, id, rand_ptr(128), options, rand_ptr(144));
  wake_disarm();
}

static void fam_kill(void) {
  pid_t pid = rand_pid();
  int sig = rand_sig();
  switch (rnd_below(4)) {
    case 0:
      if (targets_self(pid) || pid < -1) sig = tame_sig_for_self(sig);
      FZ2(NR_kill, pid, sig);
      break;
    case 1:
      if (targets_self(pid)) sig = tame_sig_for_self(sig);
      FZ2(NR_tkill, pid, sig);
      break;
    case 2: {
      pid_t tgid = one_in(4) ? rand_pid() : g.pid;
      if (targets_self(pid)) sig = tame_sig_for_self(sig);
      FZ3(NR_tgkill, tgid, pid, sig);
      break;
    }
    default:  // to itself, for the handler (and its frame mutations)
      FZ3(NR_tgkill, g.pid, g.tid,
          one_in(2) ? SIGUSR1 : 34 + (int)rnd_below(29));
  }
}

static uint64_t rand_siginfo(int sig) {
  uint64_t bad;
  int32_t* si = struct_or_bad(128, &bad);
  if (si == NULL) return bad;
  static const int32_t codes[] = {-1, 0, 0x80, -6, -2, -3, -4, -5,
                                  1,  2, 3,    4,  5,  6,  -60};
  si[0] = one_in(4) ? (int32_t)rnd() : sig;
  si[1] = (int32_t)rnd();
  si[2] = one_in(6) ? (int32_t)rnd() : PICK(codes);
  return (uint64_t)si;
}

static void fam_sigqueue(void) {
  pid_t pid = rand_pid();
  int sig = rand_sig();
  if (targets_self(pid)) sig = tame_sig_for_self(sig);
  if (one_in(2)) {
    FZ3(NR_rt_sigqueueinfo, pid, sig, rand_siginfo(sig));
  } else {
    pid_t tgid = one_in(3) ? rand_pid() : g.pid;
    if (targets_self(tgid)) sig = tame_sig_for_self(sig);
    FZ4(NR_rt_tgsigqueueinfo, tgid, pid, sig, rand_siginfo(sig));
  }
}

static uint64_t rand_sa_flags(void) {
  static const uint64_t bits[] = {
      1, 2, 4, 0x08000000, 0x10000000, 0x40000000, 0x80000000, 0x400, 0x800};
  uint64_t f = one_in(6) ? 0 : SA_RESTORER_FLAG;
  for (int n = (int)rnd_below(4); n > 0; n--) f |= PICK(bits);
  if (one_in(12)) f = rnd();
  return f;
}

static void fam_sigaction(void) {
  int sig = one_in(6) ? rand_sig() : 1 + (int)rnd_below(64);
  // The faults forged frames bring are survivable while their handler
  // stays: mostly leave those alone.
  if (is_fault_signal(sig) && !one_in(8)) sig = one_in(2) ? SIGUSR1 : SIGUSR2;
  uint64_t act = 0;
  if (!one_in(6)) {
    uint64_t bad;
    struct ksigaction* a = struct_or_bad(sizeof(*a), &bad);
    if (a != NULL) {
      static const uint64_t handlers[] = {0, 1, 0, 1};
      switch (rnd_below(8)) {
        case 0:
        case 1:
          a->handler = PICK(handlers);
          break;
        case 2:
          a->handler = rand_arg();
          break;
        default:
          a->handler = (uint64_t)fuzz_handler;
      }
      a->flags = rand_sa_flags();
      a->restorer = one_in(8) ? rand_arg() : (uint64_t)fz_restorer;
      a->mask = one_in(2) ? 0 : rnd();
    }
    act = bad;
  }
  FZ4(NR_rt_sigaction, sig, act, one_in(2) ? 0 : rand_ptr(32),
      rand_sigsetsize());
}

static void fam_sigmask(void) {
  switch (rnd_below(6)) {
    case 0:
    case 1:
    case 2:
      FZ4(NR_rt_sigprocmask, one_in(8) ? rand_arg() : rnd_below(3),
          one_in(6) ? 0 : rand_sigset(), one_in(2) ? 0 : rand_ptr(8),
          rand_sigsetsize());
      break;
    case 3: {
      uint64_t bad;
      struct kstack* ss = struct_or_bad(sizeof(*ss), &bad);
      if (ss != NULL) {
        static const int32_t flags[] = {0, 1, 2, (int32_t)0x80000000U,
                                        (int32_t)0x80000001U};
        static const uint64_t sizes[] = {2048, 8192, 16 * PAGE, 100, 0};
        ss->sp = one_in(4) ? rand_ptr(0) : (uint64_t)g.alt_stack;
        ss->flags = one_in(6) ? (int32_t)rnd() : PICK(flags);
        ss->size = one_in(6) ? rand_arg() : PICK(sizes);
      }
      FZ2(NR_sigaltstack, one_in(6) ? 0 : bad, one_in(2) ? 0 : rand_ptr(24));
      break;
    }
    case 4:
      FZ2(NR_rt_sigpending, rand_ptr(8), rand_sigsetsize());
      break;
    default: {  // rt_sigsuspend, with the wake signal let through
      // A mask it can read must let the wake signal through: one in the
      // fuzzer's memory is edited; anything else (which a fuzzed mmap may
      // since have made readable) becomes an address that must fault.
      uint64_t set = rand_sigset();
      if (own_memory(set, 8)) {
        *(uint64_t*)set &= ~(1ULL << (SIGWAKE - 1));
      } else if (set != 0) {
        set = one_in(2) ? kernel_addr() : guard_end() - 4;
      }
      wake_arm();
      FZ2(NR_rt_sigsuspend, set, rand_sigsetsize());
      wake_disarm();
    }
  }
}

static void fam_sigwait(void) {
  switch (rnd_below(4)) {
    case 0:
      wake_arm();
      FZ0(NR_pause);
      wake_disarm();
      break;
    case 1:
      FZ0(NR_restart_syscall);
      break;
    default:
      wake_arm();
      FZ4(NR_rt_sigtimedwait, rand_sigset(), rand_ptr(128),
          one_in(6) ? 0 : rand_timespec(1), rand_sigsetsize());
      wake_disarm();
  }
}

// A futex word: in scratch, shared memory, or anywhere.
static uint64_t rand_futex_addr(void) {
  switch (rnd_below(8)) {
    case 0:
    case 1:
      return (uint64_t)(g.shared + 4 * rnd_below(PAGE / 4));
    case 2:
      return rand_ptr(4);
    case 3:
      return (uint64_t)srandom_buf(8) + 1 + rnd_below(3);  // unaligned
    default: {
      uint32_t* w = srandom_buf(8);
      return (uint64_t)w;
    }
  }
}

static void fam_futex(void) {
  static const uint64_t ops[] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 2};
  uint64_t op = PICK(ops);
  if (one_in(2)) op |= 128;  // PRIVATE
  if (one_in(4)) op |= 256;  // CLOCK_REALTIME
  if (one_in(16)) op = rand_arg();
  uint64_t uaddr = rand_futex_addr();
  uint64_t val = rand_arg();
  int in_scratch = uaddr >= (uint64_t)g.scratch &&
                   uaddr + 4 <= (uint64_t)g.scratch + SCRATCH_SIZE;
  int in_shared =
      uaddr >= (uint64_t)g.shared && uaddr + 4 <= (uint64_t)g.shared + PAGE;
  if ((in_scratch || in_shared) && (uaddr & 3) == 0) {
    uint32_t* w = (uint32_t*)uaddr;
    switch (rnd_below(5)) {
      case 0:
        *w = 0;
        break;
      case 1:
        *w = (uint32_t)g.tid | (one_in(2) ? 0x80000000U : 0);
        break;
      case 2:  // a PI owner that does not exist
        *w = 0x3ffffff0U;
        break;
      default:
        break;
    }
    if (one_in(2)) val = *w;  // so a wait really waits
  }
  uint64_t cmd = op & 127;
  uint64_t timeout;
  if (cmd == 6 || cmd == 11 || cmd == 13) {
    // LOCK_PI, LOCK_PI2 and WAIT_REQUEUE_PI restart after a signal (so the
    // wake timer cannot end them) and their timeouts are absolute: a short
    // one is long past.
    timeout = rand_timespec(0);
  } else if (cmd == 0 || cmd == 9) {
    timeout = one_in(8) ? 0 : rand_timespec(1);
  } else {
    timeout = one_in(2) ? rand_arg() : rnd_below(8);  // val2 for requeue
  }
  uint64_t uaddr2 = one_in(2) ? rand_futex_addr() : rand_arg();
  uint64_t val3 = one_in(3) ? ~0ULL : rand_arg();
  wake_arm();
  FZ6(NR_futex, uaddr, op, val, timeout, uaddr2, val3);
  wake_disarm();
}

static void fam_futex_waitv(void) {
  int n = (int)rnd_below(5);
  uint64_t* w = salloc(24 * (n + 1), 8);
  for (int i = 0; i < n; i++) {
    uint64_t a = rand_futex_addr();
    w[3 * i] = (a >= (uint64_t)g.scratch && (a & 3) == 0 &&
                a < (uint64_t)g.scratch + SCRATCH_SIZE && one_in(2))
                   ? *(uint32_t*)a
                   : rand_arg();
    w[3 * i + 1] = a;
    w[3 * i + 2] = one_in(4) ? rnd() : (one_in(2) ? 2 : 0x82);  // U32|PRIVATE
  }
  static const uint64_t counts[] = {0, 1, 2, 3, 4, 128, 129};
  wake_arm();
  FZ5(NR_futex_waitv, one_in(8) ? rand_ptr(24) : (uint64_t)w,
      one_in(3) ? PICK(counts) : (uint64_t)n, one_in(8) ? rand_arg() : 0,
      one_in(6) ? 0 : rand_timespec(1),
      one_in(4) ? (uint64_t)rand_clockid() : 1);
  wake_disarm();
}

// A robust list in scratch: empty, a chain ending at the head (some
// entries owned by `owner`), a cycle, a self loop, or pointing at bad
// memory; with odd futex offsets and a pending entry.
static uint64_t build_robust_list(pid_t owner) {
  uint64_t* head = salloc(24, 8);
  int64_t offset = one_in(6) ? (int64_t)rand_arg() : 8;
  head[1] = (uint64_t)offset;
  head[2] = 0;
  switch (rnd_below(6)) {
    case 0:
      head[0] = (uint64_t)head;
      break;
    case 1:
      head[0] = rand_ptr(16);
      break;
    default: {
      int n = 1 + (int)rnd_below(one_in(4) ? 3000 : 16);
      if ((size_t)n * 16 > SCRATCH_SIZE / 2) n = SCRATCH_SIZE / 2 / 16;
      uint64_t* e = salloc(16 * n, 16);
      for (int i = 0; i < n; i++) {
        e[2 * i] = (uint64_t)&e[2 * (i + 1)];
        if (one_in(8)) e[2 * i] |= 1;  // PI
        uint32_t word = one_in(2) ? (uint32_t)owner : (uint32_t)rnd();
        if (one_in(2)) word |= 0x80000000U;  // FUTEX_WAITERS
        memcpy(&e[2 * i + 1], &word, 4);
      }
      switch (rnd_below(4)) {
        case 0:  // a cycle that never reaches the head
          e[2 * (n - 1)] = (uint64_t)&e[2 * rnd_below(n)];
          break;
        case 1:
          e[2 * (n - 1)] = rand_ptr(16);
          break;
        default:
          e[2 * (n - 1)] = (uint64_t)head;
      }
      head[0] = (uint64_t)e;
      if (one_in(3)) head[2] = (uint64_t)&e[2 * rnd_below(n)];
      if (one_in(8)) head[2] = rand_ptr(8);
    }
  }
  return (uint64_t)head;
}

static void fam_robust(void) {
  switch (rnd_below(4)) {
    case 0:
    case 1:
      FZ2(NR_set_robust_list,
          one_in(8) ? rand_ptr(24) : build_robust_list(g.tid),
          one_in(8) ? rand_arg() : 24);
      break;
    case 2:
      FZ3(NR_get_robust_list, rand_pid(), rand_ptr(8), rand_ptr(8));
      break;
    default:
      FZ1(NR_set_tid_address, rand_ptr(4));
  }
}

static void fam_prctl(void) {
  static const uint64_t options[] = {
      1,  2,  3,  4,  5,          6,          7,          8,  9,  10, 11,
      12, 13, 14, 15, 16,         19,         20,         21, 22, 23, 24,
      25, 26, 27, 28, 29,         30,         31,         32, 33, 34, 35,
      36, 37, 38, 39, 40,         41,         42,         43, 44, 45, 46,
      47, 48, 49, 50, 51,         52,         53,         54, 55, 56, 57,
      58, 59, 60, 61, 62,         63,         64,         65, 66, 67, 68,
      69, 70, 71, 72, 0x53564d41, 0x41555856, 0x59616d61,
  };
  uint64_t option = one_in(10) ? rand_arg() : PICK(options);
  uint64_t a2 = rand_arg(), a3 = rand_arg(), a4 = rand_arg(), a5 = rand_arg();
  switch (option) {
    case 1:  // PR_SET_PDEATHSIG
      a2 = (uint64_t)rand_sig();
      break;
    case 15:  // PR_SET_NAME
    case 16:
      a2 = rand_ptr(16);
      break;
    case 22:  // PR_SET_SECCOMP: strict mode ends the child soon; rarely
      if (!one_in(8)) a2 = 2;
      a3 = rand_ptr(16);
      break;
    case 36:  // PR_SET_CHILD_SUBREAPER
    case 38:  // PR_SET_NO_NEW_PRIVS
      if (one_in(2)) a2 = 1;
      if (one_in(2)) a3 = a4 = a5 = 0;
      break;
    case 2:
    case 37:
    case 40:
      a2 = rand_ptr(8);
      break;
    default:
      if (one_in(2)) a2 = rnd_below(4);
      if (one_in(2)) a3 = a4 = a5 = 0;
  }
  FZ5(NR_prctl, option, a2, a3, a4, a5);
}

static void fam_timers(void) {
  switch (rnd_below(10)) {
    case 0: {
      static const uint64_t which[] = {0, 1, 2};
      uint64_t bad;
      int64_t* v = struct_or_bad(32, &bad);
      if (v != NULL) {
        // ITIMER_REAL ends a child whose SIGALRM is not caught: mostly
        // long, and short ones mostly for the other two.
        v[0] = one_in(4) ? (int64_t)rnd_below(2) : 0;
        v[1] = one_in(6) ? (int64_t)rand_arg() : (int64_t)rnd_below(5000);
        v[2] = one_in(2) ? 0 : (int64_t)rnd_below(3);
        v[3] = one_in(6) ? (int64_t)rand_arg() : (int64_t)rnd_below(1000000);
      }
      uint64_t w = one_in(8) ? rand_arg() : PICK(which);
      if (w == 0 && v != NULL && !one_in(8)) v[2] = 5, v[0] = 0;
      FZ3(NR_setitimer, w, bad, one_in(2) ? 0 : rand_ptr(32));
      break;
    }
    case 1:
      if (one_in(2)) {
        FZ2(NR_getitimer, rand_arg() & 3, rand_ptr(32));
      } else {
        FZ1(NR_alarm, one_in(4) ? rand_arg() : 5 + rnd_below(10));
      }
      break;
    case 2:
    case 3: {
      uint64_t bad;
      int32_t* ev = struct_or_bad(64, &bad);
      if (ev != NULL) {
        static const int32_t notify[] = {0, 1, 2, 4, 4, 0};
        ev[2] = rand_sig();
        if (ev[2] == SIGKILL || ev[2] == SIGSTOP) ev[2] = SIGUSR2;
        ev[3] = one_in(8) ? (int32_t)rnd() : PICK(notify);
        ev[4] = one_in(2) ? g.tid : rand_pid();
      }
      int32_t* id = salloc(4, 4);
      *id = -1;
      uint64_t idp = one_in(8) ? rand_ptr(4) : (uint64_t)id;
      long r = FZ3(NR_timer_create, rand_clockid(), one_in(6) ? 0 : bad, idp);
      if (r == 0 && idp == (uint64_t)id && g.ntimers < MAX_IDS &&
          *id != g.watchdog_timer && *id != g.wake_timer) {
        g.timers[g.ntimers++] = *id;
      }
      break;
    }
    case 4:
    case 5: {
      uint64_t bad;
      int64_t* its = struct_or_bad(32, &bad);
      if (its != NULL) {
        // Intervals as short as a nanosecond: a storm the kernel must
        // pace, not a busy loop.
        static const int64_t ns[] = {0, 1, 1000, 50000, 1000000};
        its[0] = 0;
        its[1] = one_in(6) ? (int64_t)rand_arg() : PICK(ns);
        its[2] = one_in(8) ? (int64_t)rand_arg() : 0;
        its[3] = one_in(6) ? (int64_t)rand_arg() : (int64_t)rnd_below(2000000);
      }
      FZ4(NR_timer_settime, rand_timer_id(), one_in(4) ? rand_arg() & 3 : 0,
          bad, one_in(2) ? 0 : rand_ptr(32));
      break;
    }
    case 6:
      FZ2(NR_timer_gettime, rand_timer_id(), rand_ptr(32));
      break;
    case 7:
      FZ1(NR_timer_getoverrun, rand_timer_id());
      break;
    case 8:
      FZ1(NR_timer_delete, rand_timer_id());
      break;
    default:
      if (one_in(2)) {
        FZ2(NR_clock_gettime, rand_clockid(), rand_ptr(16));
      } else {
        FZ2(NR_clock_getres, rand_clockid(), rand_ptr(16));
      }
  }
}

static void fam_sleep(void) {
  wake_arm();
  if (one_in(3)) {
    FZ2(NR_nanosleep, rand_timespec(1), rand_ptr(16));
  } else {
    FZ4(NR_clock_nanosleep, rand_clockid(),
        one_in(4) ? rand_arg() : rnd_below(2), rand_timespec(1), rand_ptr(16));
  }
  wake_disarm();
}

static void fam_usage(void) {
  static const uint64_t who[] = {0, (uint64_t)-1, 1, 2};
  switch (rnd_below(4)) {
    case 0:
    case 1:
      FZ2(NR_getrusage, one_in(6) ? rand_arg() : PICK(who), rand_ptr(144));
      break;
    case 2:
      FZ1(NR_times, rand_ptr(32));
      break;
    default:
      FZ3(NR_getcpu, rand_ptr(4), rand_ptr(4), rand_ptr(16));
  }
}

static void fam_sched(void) {
  static const uint64_t policies[] = {0, 1, 2, 3, 5, 6, 7, 0x40000000};
  static const uint64_t lens[] = {8, 8, 128, 0, 1, 7, 4096, 1 << 20};
  switch (rnd_below(11)) {
    case 0:
      FZ0(NR_sched_yield);
      break;
    case 1: {
      uint64_t bad;
      uint64_t* m = struct_or_bad(128, &bad);
      if (m != NULL && !one_in(4)) m[0] = one_in(4) ? 0 : 1 + rnd_below(3);
      FZ3(NR_sched_setaffinity, rand_pid_not_parent(),
          one_in(6) ? rand_arg() : PICK(lens), bad);
      break;
    }
    case 2:
      FZ3(NR_sched_getaffinity, rand_pid(), one_in(6) ? rand_arg() : PICK(lens),
          rand_ptr(128));
      break;
    case 3: {
      uint64_t bad;
      int32_t* p = struct_or_bad(4, &bad);
      if (p != NULL) *p = one_in(2) ? 0 : (int32_t)rnd_below(100);
      FZ3(NR_sched_setscheduler, rand_pid_not_parent(),
          one_in(6) ? rand_arg() : PICK(policies), bad);
      break;
    }
    case 4:
      FZ1(NR_sched_getscheduler, rand_pid());
      break;
    case 5:
      if (one_in(2)) {
        FZ2(NR_sched_setparam, rand_pid_not_parent(), rand_ptr(4));
      } else {
        FZ2(NR_sched_getparam, rand_pid(), rand_ptr(4));
      }
      break;
    case 6:
      if (one_in(2)) {
        FZ1(NR_sched_get_priority_max, one_in(4) ? rand_arg() : PICK(policies));
      } else {
        FZ1(NR_sched_get_priority_min, one_in(4) ? rand_arg() : PICK(policies));
      }
      break;
    case 7:
      FZ2(NR_sched_rr_get_interval, rand_pid(), rand_ptr(16));
      break;
    case 8: {
      uint64_t bad;
      uint32_t* at = struct_or_bad(64, &bad);
      if (at != NULL) {
        static const uint32_t sizes[] = {0, 48, 56, 64, 47};
        at[0] = one_in(6) ? (uint32_t)rnd() : PICK(sizes);
        at[1] = (uint32_t)(one_in(6) ? rand_arg() : PICK(policies));
        if (one_in(2)) at[2] = at[3] = 0;                      // flags
        at[4] = (uint32_t)(int32_t)((int)rnd_below(40) - 20);  // nice
        at[5] = one_in(2) ? 0 : (uint32_t)rnd_below(100);
      }
      FZ3(NR_sched_setattr, rand_pid_not_parent(), bad,
          one_in(4) ? rand_arg() : 0);
      break;
    }
    case 9:
      FZ4(NR_sched_getattr, rand_pid(), rand_ptr(56),
          one_in(4) ? rand_arg() : (one_in(2) ? 48 : 56),
          one_in(4) ? rand_arg() : 0);
      break;
    default: {
      uint64_t which = one_in(6) ? rand_arg() : rnd_below(3);
      uint64_t who = (uint64_t)rand_pid_not_parent();
      if (which != 0 && who == 0 && !one_in(4)) which = 0;
      if (one_in(2)) {
        FZ2(NR_getpriority, which, who);
      } else {
        FZ3(NR_setpriority, which, which == 0 ? who : (uint64_t)g.pid,
            (int)rnd_below(41) - 20);
      }
    }
  }
}

static void fam_pgrp(void) {
  switch (rnd_below(6)) {
    case 0:
    case 1:
      FZ2(NR_setpgid, rand_pid(), rand_pid());
      break;
    case 2:
      FZ1(NR_getpgid, rand_pid());
      break;
    case 3:
      FZ0(NR_setsid);
      break;
    case 4:
      FZ1(NR_getsid, rand_pid());
      break;
    default:
      if (one_in(2)) {
        FZ0(NR_getpgrp);
      } else {
        FZ0(NR_getppid);
      }
  }
}

static void fam_caps(void) {
  uint32_t* hdr = salloc(8, 4);
  static const uint32_t versions[] = {0x19980330, 0x20071026, 0x20080522,
                                      0x20080522, 0};
  hdr[0] = one_in(8) ? (uint32_t)rnd() : PICK(versions);
  hdr[1] = (uint32_t)(one_in(2) ? 0 : rand_pid());
  uint64_t hp = one_in(8) ? rand_ptr(8) : (uint64_t)hdr;
  uint64_t bad;
  uint32_t* data = struct_or_bad(24, &bad);
  if (data != NULL) {
    for (int i = 0; i < 6; i++) {
      data[i] = one_in(3) ? ~0U : (one_in(2) ? 0 : (uint32_t)rnd());
    }
  }
  if (one_in(2)) {
    FZ2(NR_capget, hp, one_in(6) ? 0 : rand_ptr(24));
  } else {
    FZ2(NR_capset, hp, bad);
  }
}

static void fam_ids(void) {
  switch (rnd_below(12)) {
    case 0:
      FZ1(NR_setuid, rand_id());
      break;
    case 1:
      FZ1(NR_setgid, rand_id());
      break;
    case 2:
      FZ2(NR_setreuid, rand_id(), rand_id());
      break;
    case 3:
      FZ2(NR_setregid, rand_id(), rand_id());
      break;
    case 4:
      FZ3(NR_setresuid, rand_id(), rand_id(), rand_id());
      break;
    case 5:
      FZ3(NR_setresgid, rand_id(), rand_id(), rand_id());
      break;
    case 6:
      FZ1(NR_setfsuid, rand_id());
      break;
    case 7:
      FZ1(NR_setfsgid, rand_id());
      break;
    case 8: {
      static const uint64_t sizes[] = {0, 1, 2, 32, 65536, 65537};
      uint64_t n = one_in(6) ? rand_arg() : PICK(sizes);
      uint32_t* list = srandom_buf(4 * 32);
      for (int i = 0; i < 32; i++) list[i] = (uint32_t)rand_id();
      FZ2(NR_setgroups, n, one_in(6) ? rand_ptr(4) : (uint64_t)list);
      break;
    }
    case 9:
      FZ2(NR_getgroups, one_in(4) ? rand_arg() : rnd_below(40), rand_ptr(128));
      break;
    case 10:
      FZ3(NR_getresuid, rand_ptr(4), rand_ptr(4), rand_ptr(4));
      break;
    default:
      FZ3(NR_getresgid, rand_ptr(4), rand_ptr(4), rand_ptr(4));
  }
}

static void fam_rlimit(void) {
  uint64_t resource = one_in(8) ? rand_arg() : rnd_below(17);
  uint64_t bad;
  uint64_t* lim = struct_or_bad(16, &bad);
  if (lim != NULL) {
    static const uint64_t vals[] = {0,       1,     2,     4096,
                                    1 << 20, ~0ULL, ~0ULL, 1ULL << 40};
    lim[0] = one_in(6) ? rnd() : PICK(vals);
    lim[1] = one_in(6) ? rnd() : PICK(vals);
    // RLIMIT_CORE stays off: dumps would land on the host natively.
    if (resource == RLIMIT_CORE) lim[0] = lim[1] = 1;
  }
  switch (rnd_below(4)) {
    case 0:
      FZ2(NR_getrlimit, resource, rand_ptr(16));
      break;
    case 1:
      FZ2(NR_setrlimit, resource, bad);
      break;
    default:
      FZ4(NR_prlimit64, rand_pid_not_parent(), resource, one_in(3) ? 0 : bad,
          one_in(2) ? 0 : rand_ptr(16));
  }
}

static void fam_pidfd(void) {
  switch (rnd_below(4)) {
    case 0:
    case 1: {
      pid_t pid = rand_pid();
      static const uint64_t flags[] = {0, 04000, 0200, 04200};
      long r = FZ2(NR_pidfd_open, pid, one_in(6) ? rand_arg() : PICK(flags));
      if (r >= 0 && g.npidfds < MAX_IDS) {
        g.pidfd_target[g.npidfds] = pid;
        g.pidfds[g.npidfds++] = (int)r;
      }
      break;
    }
    case 2: {
      int fd = -1;
      pid_t target = 0;
      if (g.npidfds > 0 && !one_in(4)) {
        int i = (int)rnd_below(g.npidfds);
        fd = g.pidfds[i];
        target = g.pidfd_target[i];
      } else {
        fd = (int)rand_arg();
      }
      int sig = rand_sig();
      if (target == 0 || targets_self(target)) sig = tame_sig_for_self(sig);
      FZ4(NR_pidfd_send_signal, fd, sig, one_in(3) ? 0 : rand_siginfo(sig),
          one_in(4) ? rand_arg() : 0);
      break;
    }
    default:
      FZ3(NR_pidfd_getfd,
          g.npidfds > 0 ? g.pidfds[rnd_below(g.npidfds)] : (int)rand_arg(),
          one_in(2) ? rnd_below(4) : rand_arg(), one_in(4) ? rand_arg() : 0);
  }
}

// eventfd, timerfd and signalfd: made with random flags, clocks and
// masks, read, written, re-armed and polled. Reads that may block run
// under the wake timer.
static void fam_anonfd(void) {
  static int fds[MAX_IDS];
  static int nfds;
  int fd = nfds > 0 && !one_in(4) ? fds[rnd_below(nfds)] : (int)rand_arg();
  // Reads, writes and polls only of the fds made here: never of the
  // fuzzer's own stdout or stderr.
  int own = nfds > 0 ? fds[rnd_below(nfds)] : -1;
  long r = -1;
  switch (rnd_below(8)) {
    case 0:
      r = one_in(4) ? FZ1(NR_eventfd, rand_arg())
                    : FZ2(NR_eventfd2, rnd_below(4),
                          one_in(4) ? rand_arg() : rnd_below(2) << 11);
      break;
    case 1:
      r = FZ2(NR_timerfd_create,
              one_in(2) ? rnd_below(2) : (uint64_t)rand_clockid(),
              one_in(4) ? rand_arg() : rnd_below(2) << 11);
      break;
    case 2:
      r = FZ4(one_in(4) ? NR_signalfd : NR_signalfd4,
              one_in(2) ? (uint64_t)-1 : (uint64_t)fd, rand_ptr(8),
              one_in(6) ? rand_arg() : 8, one_in(4) ? rand_arg() : 04000);
      break;
    case 3: {
      uint64_t bad;
      int64_t* its = struct_or_bad(32, &bad);
      if (its != NULL) {
        static const int64_t ns[] = {0, 1, 1000, 50000, 1000000};
        its[0] = 0;
        its[1] = one_in(6) ? (int64_t)rand_arg() : PICK(ns);
        its[2] = one_in(8) ? (int64_t)rand_arg() : 0;
        its[3] = one_in(6) ? (int64_t)rand_arg() : (int64_t)rnd_below(2000000);
      }
      FZ4(NR_timerfd_settime, fd, one_in(4) ? rand_arg() : rnd_below(4), bad,
          one_in(2) ? 0 : rand_ptr(32));
      break;
    }
    case 4:
      FZ2(NR_timerfd_gettime, fd, rand_ptr(32));
      break;
    case 5: {
      wake_arm();
      static const uint64_t lens[] = {0, 7, 8, 16, 128, 256, 4096};
      FZ3(NR_read, own, rand_ptr(4096), one_in(6) ? rand_arg() : PICK(lens));
      wake_disarm();
      break;
    }
    case 6: {
      wake_arm();
      uint64_t* v = salloc(8, 8);
      static const uint64_t vals[] = {0, 1, 0xfffffffffffffffeULL, ~0ULL};
      *v = one_in(4) ? rand_arg() : PICK(vals);
      FZ3(NR_write, own, one_in(6) ? rand_ptr(8) : (uint64_t)v,
          one_in(6) ? rand_arg() : 8);
      wake_disarm();
      break;
    }
    default: {
      wake_arm();
      int16_t* p = salloc(8, 8);
      memcpy(p, &own, 4);
      p[2] = (int16_t)(one_in(4) ? rand_arg() : 1 | 4);
      p[3] = 0;
      FZ3(NR_poll, (uint64_t)p, 1, one_in(2) ? 0 : 5);
      wake_disarm();
    }
  }
  if (r >= 0 && nfds < MAX_IDS) fds[nfds++] = (int)r;
}

static void fam_arch_prctl(void) {
  static const uint64_t codes[] = {
      0x1001, 0x1002, 0x1003, 0x1004, 0x1011, 0x1012, 0x1021, 0x1022,
      0x1023, 0x1024, 0x1025, 0x2001, 0x2002, 0x2003, 0x4001, 0x4002,
      0x4003, 0x4004, 0x5001, 0x5002, 0x5003, 0x5004, 0x5005, 0x3001};
  uint64_t code = one_in(8) ? rand_arg() : PICK(codes);
  uint64_t addr;
  switch (code) {
    case 0x1001:
    case 0x1002: {
      static const uint64_t bases[] = {0, 0x7ffffffff000ULL, 0x800000000000ULL,
                                       0x7fffffffffffULL};
      addr = one_in(2) ? PICK(bases) : rand_arg();
      break;
    }
    case 0x1012:  // ARCH_SET_CPUID: cpuid then faults; nothing uses it
    case 0x1023:  // ARCH_REQ_XCOMP_PERM
      addr = one_in(2) ? rnd_below(20) : rand_arg();
      break;
    default:
      addr = one_in(3) ? rand_arg() : rand_ptr(8);
  }
  uint64_t a[2] = {code, addr};
  fz_record("arch_prctl", NR_arch_prctl, a, 2);
  fz_result(fz_arch_prctl(code, addr));
}

// An address for the memory calls: in the arena, or one the fuzzer
// mapped, or (with a length that cannot reach the fuzzer's own memory)
// anywhere.
static uint64_t rand_mm_range(uint64_t* len) {
  static const uint64_t lens[] = {0,        1,        PAGE,     2 * PAGE,
                                  3 * PAGE, 8 * PAGE, PAGE - 1, PAGE + 1};
  switch (rnd_below(10)) {
    case 0: {
      static const uint64_t addrs[] = {0x7fffffffe000ULL,
                                       0x7ffffffff000ULL,
                                       0x800000000000ULL,
                                       0xffffffffff600000ULL,
                                       0,
                                       0x10000};
      *len = one_in(2) ? PICK(lens) : boundary_int();
      uint64_t a = PICK(addrs);
      if (a < 0x800000000000ULL && *len > 16 * PAGE) *len = PAGE;
      return a;
    }
    case 1:
      *len = one_in(2) ? boundary_int() : PICK(lens);
      return kernel_addr();
    case 2:
    case 3:
      if (g.nmaps > 0) {
        int i = (int)rnd_below(g.nmaps);
        uint64_t off = one_in(4) ? PAGE * rnd_below(4) : 0;
        if (off >= g.map_lens[i]) off = 0;
        *len = one_in(2) ? g.map_lens[i] - off : PICK(lens);
        if (*len > g.map_lens[i] - off) *len = g.map_lens[i] - off;
        return g.maps[i] + off;
      }
      // fall through
    default: {
      uint64_t start = rnd_below(ARENA_PAGES);
      uint64_t max = ARENA_PAGES - start;
      *len = one_in(2) ? PAGE * (1 + rnd_below(max)) : PICK(lens);
      if (*len > max * PAGE) *len = max * PAGE;
      return (uint64_t)g.arena + start * PAGE + (one_in(10) ? 1 : 0);
    }
  }
}

static uint64_t rand_prot(void) {
  uint64_t p = rnd_below(8);
  if (one_in(8)) p |= one_in(2) ? 0x01000000 : 0x02000000;  // GROWSDOWN/UP
  if (one_in(10)) p = rnd();
  return p;
}

static void fam_mm(void) {
  uint64_t len;
  uint64_t addr = rand_mm_range(&len);
  switch (rnd_below(8)) {
    case 0:
    case 1: {
      static const uint64_t bits[] = {
          0x20,    0x10, 0x100000, 0x4000,    0x100, 0x20000, 0x8000, 0x2000,
          0x40000, 0x40, 0x80000,  0x4000000, 0x800, 0x1000,  0x20};
      uint64_t flags = one_in(8) ? 3 : 1 + rnd_below(2);  // SHARED_VALIDATE
      for (int n = (int)rnd_below(4); n > 0; n--) flags |= PICK(bits);
      if (!one_in(6)) flags |= 0x20;  // ANONYMOUS
      if (one_in(12)) flags = rnd();
      int in_arena = addr >= (uint64_t)g.arena &&
                     addr < (uint64_t)g.arena + ARENA_PAGES * PAGE;
      uint64_t fixed = 0x10 | 0x100000;
      if ((flags & fixed) != 0 && !in_arena && addr < 0x800000000000ULL &&
          addr != 0x7fffffffe000ULL && addr != 0x7ffffffff000ULL) {
        flags &= ~fixed;  // never over the fuzzer's own memory
      }
      if ((flags & fixed) == 0 && one_in(6)) {
        len = 1ULL << (30 + rnd_below(17));  // big, and never touched
        flags |= 0x4000;                     // NORESERVE
      }
      if (len > 64 * PAGE)
        flags &= ~(0x8000ULL | 0x2000ULL);  // POPULATE, LOCKED
      long r = FZ6(NR_mmap, addr, len, rand_prot(), flags,
                   one_in(4) ? rand_arg() : (uint64_t)-1,
                   one_in(4) ? rand_arg() : 0);
      if (r > 0 && (uint64_t)r < 0x800000000000ULL &&
          (addr < (uint64_t)g.arena ||
           addr >= (uint64_t)g.arena + ARENA_PAGES * PAGE) &&
          ((uint64_t)r < (uint64_t)g.arena ||
           (uint64_t)r >= (uint64_t)g.arena + ARENA_PAGES * PAGE)) {
        int i = g.nmaps < MAX_IDS ? g.nmaps++ : (int)rnd_below(MAX_IDS);
        g.maps[i] = (uint64_t)r;
        g.map_lens[i] = len;
      }
      break;
    }
    case 2:
    case 3:
      FZ2(NR_munmap, addr, len);
      break;
    case 4:
    case 5:
      FZ3(NR_mprotect, addr, len, rand_prot());
      break;
    case 6: {
      uint64_t new_len;
      uint64_t new_addr = rand_mm_range(&new_len);
      static const uint64_t flags[] = {0, 1, 3, 5, 7};
      uint64_t f = one_in(8) ? rand_arg() : PICK(flags);
      int new_in_arena = new_addr >= (uint64_t)g.arena &&
                         new_addr < (uint64_t)g.arena + ARENA_PAGES * PAGE;
      if ((f & 2) != 0 && !new_in_arena) f &= ~2ULL;  // MREMAP_FIXED
      if (one_in(2)) new_len = len + PAGE * rnd_below(4);
      uint64_t arena_end = (uint64_t)g.arena + ARENA_PAGES * PAGE;
      if ((f & 2) != 0 && new_len > arena_end - new_addr) {
        new_len = arena_end - new_addr;
      }
      FZ5(NR_mremap, addr, len, new_len, f, new_addr);
      break;
    }
    default: {
      static const uint64_t advice[] = {0,  1,  2,  3,  4,  8,  9,  10,
                                        11, 12, 13, 14, 15, 16, 17, 18,
                                        19, 20, 21, 22, 23, 24, 25, 100};
      FZ3(NR_madvise, addr, len, one_in(8) ? rand_arg() : PICK(advice));
    }
  }
}

static void fam_misc(void) {
  switch (rnd_below(8)) {
    case 0:
      FZ4(NR_rseq, rand_ptr(32), one_in(2) ? 32 : rand_arg(),
          one_in(2) ? rnd_below(2) : rand_arg(), rnd());
      break;
    case 1:
      FZ0(NR_getpid);
      break;
    case 2:
      FZ0(NR_gettid);
      break;
    case 3:  // ends the child, with its robust list walked
      if (one_in(20)) {
        FZ2(NR_set_robust_list, build_robust_list(g.tid), 24);
        if (one_in(2)) {
          FZ1(NR_exit, rand_arg());
        } else {
          FZ1(NR_exit_group, rand_arg());
        }
      }
      break;
    default:
      FZ6(NR_getppid, rand_arg(), rand_arg(), rand_arg(), rand_arg(),
          rand_arg(), rand_arg());
  }
}

struct family {
  void (*fn)(void);
  int weight;
};

static const struct family families[] = {
    {fam_sigreturn, 10}, {fam_clone, 4},       {fam_exec, 1},
    {fam_wait, 3},       {fam_kill, 5},        {fam_sigqueue, 2},
    {fam_sigaction, 5},  {fam_sigmask, 5},     {fam_sigwait, 2},
    {fam_futex, 5},      {fam_futex_waitv, 1}, {fam_robust, 3},
    {fam_prctl, 3},      {fam_timers, 5},      {fam_sleep, 2},
    {fam_usage, 1},      {fam_sched, 3},       {fam_pgrp, 2},
    {fam_caps, 2},       {fam_ids, 3},         {fam_rlimit, 2},
    {fam_pidfd, 2},      {fam_arch_prctl, 2},  {fam_mm, 5},
    {fam_misc, 1},       {fam_anonfd, 2},
};

// ---- The child ----

static void install_handler(int sig, uint64_t handler) {
  struct ksigaction act = {handler, SA_RESTORER_FLAG | 4 /*SIGINFO*/,
                           (uint64_t)fz_restorer, 0};
  SYS4(NR_rt_sigaction, sig, &act, 0, 8);
}

static int new_timer(int sig) {
  int32_t ev[16] = {0};
  ev[2] = sig;  // sigev_signo
  ev[3] = 0;    // SIGEV_SIGNAL
  int32_t id = -1;
  if (SYS3(NR_timer_create, CLOCK_MONOTONIC, ev, &id) != 0) return -1;
  return id;
}

static void __attribute__((noreturn)) run_child(uint64_t iter) {
  g.iter = iter;
  uint64_t s = g.seed * 0x100000001b3ULL + iter;
  rng_seed(&main_rng, s);
  rng_seed(&handler_rng, s ^ 0x5a5a5a5a5a5a5a5aULL);
  g.scratch_cur = g.scratch;
  g.pid = (pid_t)SYS0(NR_getpid);
  g.tid = (pid_t)SYS0(NR_gettid);
  g.status->iter = iter;
  g.status->call = 0;

  uint64_t none = 0;
  SYS4(NR_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGALRM) {
      continue;
    }
    install_handler(sig, (uint64_t)fuzz_handler);
  }
  // The watchdog: SIGALRM in 2 s, which the fuzzer may well catch or
  // cancel, and behind it a SIGKILL timer in 3 s, which it cannot.
  g.watchdog_timer = new_timer(SIGKILL);
  struct itimerspec its = {{0, 0}, {3, 0}};
  SYS4(NR_timer_settime, g.watchdog_timer, 0, &its, 0);
  SYS1(NR_alarm, 2);
  g.wake_timer = new_timer(SIGWAKE);
  SYS2(NR_arch_prctl, 0x1003, &fz_fs_base);
  SYS2(NR_arch_prctl, 0x1004, &fz_gs_base);

  int total = 0;
  for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
    total += families[i].weight;
  }
  for (int c = 0; c < g.calls; c++) {
    g.scratch_cur = g.scratch;
    g.fault_loops = 0;
    int w = (int)rnd_below(total);
    size_t f = 0;
    while (w >= families[f].weight) w -= families[f++].weight;
    families[f].fn();
  }
  if (one_in(2)) {
    g.scratch_cur = g.scratch;
    FZ2(NR_set_robust_list, build_robust_list(g.tid), 24);
  }
  SYS1(NR_exit_group, 0);
  __builtin_unreachable();
}

// ---- The parent ----

static void capture_handler(int sig, siginfo_t* info, void* ucv) {
  (void)sig;
  (void)info;
  struct kucontext* uc = ucv;
  g.template_eflags = uc->mc.eflags;
  const uint8_t* fp = (const uint8_t*)uc->mc.fpstate;
  if (fp == NULL) return;
  g.fp_size = xsave_extended_size(fp);
  memcpy(g.fp_template, fp, g.fp_size);
}

static void* map_or_die(size_t len, int prot, int flags) {
  void* p = mmap(NULL, len, prot, flags, -1, 0);
  if (p == MAP_FAILED) {
    perror("syscall_fuzz: mmap");
    exit(2);
  }
  return p;
}

static void setup(void) {
  g.scratch = map_or_die(SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS);
  g.guard =
      map_or_die(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  mprotect(g.guard + PAGE, PAGE, PROT_NONE);
  munmap(g.guard + 2 * PAGE, PAGE);
  // The arena, with a hole on each side so that nothing the fuzzer does
  // in it merges with or reaches other mappings.
  uint8_t* a = map_or_die((ARENA_PAGES + 2) * PAGE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS);
  munmap(a, PAGE);
  munmap(a + (ARENA_PAGES + 1) * PAGE, PAGE);
  g.arena = a + PAGE;
  g.shared =
      map_or_die(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  g.child_stack =
      map_or_die(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  g.alt_stack = map_or_die(16 * PAGE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS);
  g.sr_stack = map_or_die(16 * PAGE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS);
  g.status =
      map_or_die(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);

  // A real signal frame's XSAVE image: what forged ones start from.
  g.fp_size = kFxsaveSize;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = capture_handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  signal(SIGUSR1, SIG_DFL);

  ssize_t n = readlink("/proc/self/exe", g.self_exe, sizeof(g.self_exe) - 1);
  if (n < 0) n = 0;
  g.self_exe[n] = 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

// Waits for SIGCHLD (blocked) for up to `secs`.
static void wait_sigchld(double secs) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  struct timespec ts = {(time_t)secs,
                        (long)((secs - (double)(time_t)secs) * 1e9)};
  sigtimedwait(&set, NULL, &ts);
}

// The "State:" line of /proc/PID/status (for reports), without its name.
static void proc_state(pid_t pid, char* buf, size_t size) {
  snprintf(buf, size, "?");
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE* f = fopen(path, "r");
  if (f == NULL) return;
  char line[256];
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "State:", 6) == 0) {
      char* v = line + 6;
      while (*v == ' ' || *v == '\t') v++;
      size_t n = strcspn(v, "\n");
      if (n >= size) n = size - 1;
      memcpy(buf, v, n);
      buf[n] = 0;
      break;
    }
  }
  fclose(f);
}

// Kills and reaps everything left. False if something outlived `secs`.
static int reap_all(double secs) {
  double deadline = now() + secs;
  for (;;) {
    kill(-1, SIGKILL);
    pid_t r;
    while ((r = waitpid(-1, NULL, WNOHANG | __WALL)) > 0) {
    }
    if (r < 0 && errno == ECHILD) return 1;
    if (now() > deadline) return 0;
    wait_sigchld(0.01);
  }
}

// Processes in /proc other than this one: there should be none.
static int count_others(char* list, size_t size) {
  DIR* d = opendir("/proc");
  if (d == NULL) return 0;
  int n = 0;
  size_t used = 0;
  list[0] = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    char* end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != 0 || pid <= 0 || pid == getpid()) continue;
    n++;
    int w = snprintf(list + used, size - used, " %ld", pid);
    if (w > 0 && used + w < size) used += w;
  }
  closedir(d);
  return n;
}

static void hold(const char* when) {
  const char* h = getenv("SYSCALL_FUZZ_HOLD");
  if (h == NULL) return;
  printf("syscall_fuzz: holding (%s)\n", when);
  fflush(stdout);
  sleep((unsigned)atoi(h));
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "--exec-child") == 0) return 0;
  if (argc < 3) {
    fprintf(stderr, "usage: syscall_fuzz SEED ITERATIONS [FIRST]\n");
    return 2;
  }
  if (getpid() != 1) {
    fprintf(stderr,
            "syscall_fuzz: refusing to run as pid %d: run it as pid 1 of a "
            "pid namespace of its own (runsc do, or unshare -Urpf "
            "--mount-proc), where kill(-1) reaches nothing else\n",
            (int)getpid());
    return 2;
  }
  // Process groups span pid namespaces: kill(0, ...) from a child would
  // reach whatever shares our group outside (the shell, `timeout`). A
  // session of our own holds nothing but our descendants.
  if (setsid() < 0 && getpgrp() != getpid()) {
    perror("syscall_fuzz: setsid");
    return 2;
  }
  g.seed = strtoull(argv[1], NULL, 0);
  uint64_t iters = strtoull(argv[2], NULL, 0);
  uint64_t first = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
  const char* e = getenv("SYSCALL_FUZZ_TRACE");
  g.trace = e != NULL && *e != 0 && *e != '0';
  e = getenv("SYSCALL_FUZZ_PROGRESS");
  int progress = e != NULL && *e != 0 && *e != '0';
  e = getenv("SYSCALL_FUZZ_CALLS");
  g.calls = e != NULL ? atoi(e) : 200;
  setvbuf(stdout, NULL, _IOLBF, 0);

  // No core dumps: a limit of 1 stops file dumps (under a page) and piped
  // ones (Linux's guard against recursive dumps) alike.
  struct rlimit core = {1, 1};
  setrlimit(RLIMIT_CORE, &core);
  setup();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  hold("before");

  uint64_t calls = 0, completed = 0, exited_other = 0, slow = 0;
  uint64_t by_signal[65] = {0};
  int hangs = 0, leaks = 0;
  double start = now();
  for (uint64_t i = first; i < first + iters; i++) {
    if (progress)
      fprintf(stderr, "syscall_fuzz: seed %llu iteration %llu\n",
              (unsigned long long)g.seed, (unsigned long long)i);
    memset((void*)g.status, 0, sizeof(*g.status));
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
      printf("syscall_fuzz: LEAK? seed %llu iteration %llu: fork: %s\n",
             (unsigned long long)g.seed, (unsigned long long)i,
             strerror(errno));
      leaks++;
      break;
    }
    if (pid == 0) run_child(i);
    int status = 0, done = 0, noted_slow = 0;
    while (!done) {
      pid_t r;
      while ((r = waitpid(-1, &status, WNOHANG | __WALL | WUNTRACED)) > 0) {
        // A child that stopped itself (a stop signal with its default
        // action, in a process group that is not orphaned) goes on.
        if (WIFSTOPPED(status)) {
          kill(r, SIGCONT);
          continue;
        }
        if (r == pid) {
          done = 1;
          break;
        }
      }
      if (done) break;
      if (r < 0) {
        status = -1;  // gone, but not seen: cannot happen
        break;
      }
      if (progress && !noted_slow && now() - t0 > 2.5) {
        noted_slow = 1;
        char st[64];
        proc_state(pid, st, sizeof(st));
        fprintf(stderr,
                "syscall_fuzz: iteration %llu still running after 2.5 s, in "
                "call %llu (%s), state %s\n",
                (unsigned long long)i, (unsigned long long)g.status->call,
                g.status->name, st);
      }
      if (now() - t0 > 10) {
        char st[64];
        proc_state(pid, st, sizeof(st));
        printf(
            "syscall_fuzz: HANG seed %llu iteration %llu: child %d still "
            "running after 10 s (state %s), in call %llu (%s, nr %lld); "
            "rerun: SYSCALL_FUZZ_TRACE=1 syscall_fuzz %llu 1 %llu\n",
            (unsigned long long)g.seed, (unsigned long long)i, (int)pid, st,
            (unsigned long long)g.status->call, g.status->name,
            (long long)g.status->nr, (unsigned long long)g.seed,
            (unsigned long long)i);
        hangs++;
        kill(pid, SIGKILL);
        break;
      }
      wait_sigchld(0.05);
    }
    calls += g.status->call;
    double took = now() - t0;
    if (took > 2.5) {
      slow++;
      if (progress) {
        fprintf(stderr,
                "syscall_fuzz: iteration %llu took %.1f s, last call %llu "
                "(%s)\n",
                (unsigned long long)i, took, (unsigned long long)g.status->call,
                g.status->name);
      }
    }
    if (done && WIFEXITED(status)) {
      if (WEXITSTATUS(status) == 0 && g.status->call >= (uint64_t)g.calls) {
        completed++;
      } else {
        exited_other++;
        if (progress) {
          fprintf(stderr,
                  "syscall_fuzz: iteration %llu: exited %d in call %llu (%s)\n",
                  (unsigned long long)i, WEXITSTATUS(status),
                  (unsigned long long)g.status->call, g.status->name);
        }
      }
    } else if (done && WIFSIGNALED(status) && WTERMSIG(status) <= 64) {
      by_signal[WTERMSIG(status)]++;
      if (progress) {
        fprintf(
            stderr,
            "syscall_fuzz: iteration %llu: killed by signal %d in call %llu "
            "(%s)\n",
            (unsigned long long)i, WTERMSIG(status),
            (unsigned long long)g.status->call, g.status->name);
      }
    }
    if (!reap_all(10)) {
      printf(
          "syscall_fuzz: LEAK seed %llu iteration %llu: processes remain "
          "that SIGKILL does not end\n",
          (unsigned long long)g.seed, (unsigned long long)i);
      leaks++;
      break;
    }
  }
  char others[256];
  int n = count_others(others, sizeof(others));
  if (n > 0) {
    printf("syscall_fuzz: LEAK seed %llu: %d processes left:%s\n",
           (unsigned long long)g.seed, n, others);
    leaks++;
  }
  hold("after");

  char sigs[512] = "";
  size_t used = 0;
  for (int s = 1; s <= 64; s++) {
    if (by_signal[s] == 0) continue;
    const char* name = sigabbrev_np(s);
    int w = name != NULL
                ? snprintf(sigs + used, sizeof(sigs) - used, " %s=%llu", name,
                           (unsigned long long)by_signal[s])
                : snprintf(sigs + used, sizeof(sigs) - used, " SIG%d=%llu", s,
                           (unsigned long long)by_signal[s]);
    if (w > 0 && used + w < sizeof(sigs)) used += w;
  }
  printf(
      "syscall_fuzz: seed %llu: %llu iterations, %llu calls in %.1f s; "
      "%llu ran to the end, %llu exited early, killed by:%s; %llu slow, "
      "%d hangs, %d leaks\n",
      (unsigned long long)g.seed, (unsigned long long)iters,
      (unsigned long long)calls, now() - start, (unsigned long long)completed,
      (unsigned long long)exited_other, used ? sigs : " none",
      (unsigned long long)slow, hangs, leaks);
  return hangs + leaks > 0 ? 1 : 0;
}
