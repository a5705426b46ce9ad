// Measures the floor under any sandbox platform: the raw cost of handing one
// system call to another process and getting the answer back, with no
// emulation work at all on the other side. The other side answers every
// trapped getpid with a fixed value, which the caller checks, so a figure is
// never that of a call that went to the host kernel by mistake.
//
//   floor [SCALE] [VARIANT...]
//
// Prints one line per variant, "NAME NS_PER_CALL" (all variants when none is
// named; SCALE multiplies the loop counts, default 1). Variants:
//   getpid         native getpid(2), for comparison
//   sigsys_futex   the caller's getpid hits a seccomp SECCOMP_RET_TRAP filter;
//                  its SIGSYS handler puts the request in shared memory,
//                  FUTEX_WAKEs the other process, FUTEX_WAITs for the answer
//                  (the systrap platform's hot path)
//   sigsys_futex_2cpu
//                  the same with the two processes on different CPUs, so
//                  that every hand-off wakes the other CPU
//   sigsys_spin    the same, but both sides spin on the shared memory instead
//                  of sleeping, each on its own CPU (systrap's best case,
//                  when a core is free to wait for the guest)
//   ptrace_sysemu  the caller is traced; the tracer does PTRACE_SYSEMU,
//                  waitpid, PTRACE_GETREGS, PTRACE_SETREGS (the ptrace
//                  platform's hot path)
//   seccomp_notif  the caller's getpid hits SECCOMP_RET_USER_NOTIF; the other
//                  process answers with SECCOMP_IOCTL_NOTIF_RECV and _SEND
//
// Both processes of a variant that sleeps between hand-offs are pinned to one
// CPU unless its name says 2cpu: a hand-off is then a plain context switch.
// Left to the scheduler they land on one CPU or two from run to run, and on a
// VM waking an idle virtual CPU costs as much as the rest of the round trip,
// so unpinned figures swing by half; the floor is the one-CPU figure, and
// sigsys_futex_2cpu shows what a cross-CPU wake-up adds.
//
// A variant that cannot run prints "NAME error: WHY" on stderr and makes the
// exit status 1; the others still run.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

// What the other side answers to every trapped getpid: not a pid, so that
// a call that reached the host kernel is caught.
enum { kAnswer = 0x5eed };

// Round trips made before the clock starts, so that page faults, the first
// scheduling of the other process and cold caches are not counted.
enum { kWarmup = 200 };

// The page shared by the trapped process and the one that answers, mapped
// MAP_SHARED before fork. The futex words are process-shared (not
// FUTEX_PRIVATE) because they are waited on from two processes.
struct Shared {
  _Atomic int state;   // one of the kState* values below
  int spin;            // nonzero: spin instead of FUTEX_WAIT
  long nr;             // the trapped system call's number
  long ret;            // its answer
  double ns_per_call;  // the caller's result
  int failed;          // the caller saw a wrong answer
};

enum { kStateIdle = 0, kStateRequest = 1, kStateAnswer = 2 };

static struct Shared* shared;

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long Futex(_Atomic int* word, int op, int value) {
  return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

// Waits until *word holds `want`, spinning or sleeping on the futex.
static void WaitFor(_Atomic int* word, int want, int spin) {
  for (;;) {
    int v = atomic_load_explicit(word, memory_order_acquire);
    if (v == want) return;
    if (spin) {
      __builtin_ia32_pause();
    } else {
      Futex(word, FUTEX_WAIT, v);  // EAGAIN and EINTR just retry
    }
  }
}

static void Post(_Atomic int* word, int value, int spin) {
  atomic_store_explicit(word, value, memory_order_release);
  if (!spin) Futex(word, FUTEX_WAKE, 1);
}

// A seccomp filter that applies `action` to getpid and allows the rest.
static int InstallFilter(unsigned int action, unsigned int flags) {
  struct sock_filter insns[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, action),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof(insns) / sizeof(insns[0]), insns};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

// The caller's side of every variant: n + kWarmup getpid calls, timed after
// the warm-up, with the result left in shared memory.
static void CallerLoop(long n) {
  for (long i = 0; i < kWarmup; i++) {
    if (syscall(SYS_getpid) != kAnswer) shared->failed = 1;
  }
  double t0 = NowNs();
  for (long i = 0; i < n; i++) {
    if (syscall(SYS_getpid) != kAnswer) shared->failed = 1;
  }
  shared->ns_per_call = (NowNs() - t0) / n;
}

static void SigsysHandler(int sig, siginfo_t* info, void* context) {
  (void)sig;
  ucontext_t* uc = context;
  int spin = shared->spin;
  shared->nr = info->si_syscall;
  Post(&shared->state, kStateRequest, spin);
  WaitFor(&shared->state, kStateAnswer, spin);
  uc->uc_mcontext.gregs[REG_RAX] = shared->ret;
  atomic_store_explicit(&shared->state, kStateIdle, memory_order_relaxed);
}

// The CPUs the variants run on: the caller on cpus[0], the other process on
// cpus[1] in the variants that use two CPUs and on cpus[0] in the others.
static int cpus[2];
static int num_cpus;
static int two_cpus;  // the running variant uses two CPUs

static int PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set);
}

// Called by the answering side right after fork (the caller has inherited
// the pin to cpus[0]).
static void PlaceAnswerer(void) {
  if (two_cpus) PinTo(cpus[1]);
}

// Waits for the child and turns its fate into an error message (NULL if it
// exited 0 and saw only right answers).
static const char* Reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "waitpid failed";
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "the trapped process failed";
  if (shared->failed) return "a trapped getpid got a wrong answer";
  return NULL;
}

static const char* Sigsys(long n, int spin, double* ns) {
  memset(shared, 0, sizeof(*shared));
  shared->spin = spin;
  pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = SigsysHandler;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, NULL) != 0) _exit(1);
    if (InstallFilter(SECCOMP_RET_TRAP, 0) != 0) _exit(1);
    CallerLoop(n);
    _exit(0);
  }
  PlaceAnswerer();
  for (long i = 0; i < n + kWarmup; i++) {
    WaitFor(&shared->state, kStateRequest, spin);
    shared->ret = shared->nr == SYS_getpid ? kAnswer : -ENOSYS;
    Post(&shared->state, kStateAnswer, spin);
  }
  const char* err = Reap(pid);
  *ns = shared->ns_per_call;
  return err;
}

static const char* SigsysFutex(long n, double* ns) { return Sigsys(n, 0, ns); }
static const char* SigsysSpin(long n, double* ns) { return Sigsys(n, 1, ns); }

static const char* PtraceSysemu(long n, double* ns) {
  memset(shared, 0, sizeof(*shared));
  pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) _exit(1);
    raise(SIGSTOP);
    // Under PTRACE_SYSEMU no system call of ours runs, not even exit: the
    // tracer kills us when it is done.
    for (;;) {
      if (syscall(SYS_getpid) != kAnswer) shared->failed = 1;
    }
  }
  PlaceAnswerer();
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
    kill(pid, SIGKILL);
    Reap(pid);
    return "the traced process did not stop";
  }
  ptrace(PTRACE_SETOPTIONS, pid, NULL, (void*)PTRACE_O_EXITKILL);
  const char* err = NULL;
  double t0 = 0;
  for (long i = 0; i < n + kWarmup && err == NULL; i++) {
    if (i == kWarmup) t0 = NowNs();
    struct user_regs_struct regs;
    if (ptrace(PTRACE_SYSEMU, pid, NULL, NULL) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
        ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
      err = "PTRACE_SYSEMU round trip failed";
      break;
    }
    regs.rax = regs.orig_rax == SYS_getpid ? kAnswer : (unsigned long)-ENOSYS;
    if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) != 0)
      err = "PTRACE_SETREGS failed";
  }
  *ns = (NowNs() - t0) / n;
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (err == NULL && shared->failed)
    err = "a trapped getpid got a wrong answer";
  return err;
}

// Sends fd over the unix socket sock.
static int SendFd(int sock, int fd) {
  char byte = 0;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int ReceiveFd(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  if (recvmsg(sock, &msg, 0) != 1) return -1;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  return fd;
}

static const char* SeccompNotif(long n, double* ns) {
  memset(shared, 0, sizeof(*shared));
  int socks[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) != 0)
    return "socketpair failed";
  pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(socks[0]);
    int listener =
        InstallFilter(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (listener < 0 || SendFd(socks[1], listener) != 0) _exit(1);
    close(listener);
    CallerLoop(n);
    _exit(0);
  }
  PlaceAnswerer();
  close(socks[1]);
  int listener = ReceiveFd(socks[0]);
  close(socks[0]);
  if (listener < 0) {
    Reap(pid);
    return "no seccomp listener (SECCOMP_FILTER_FLAG_NEW_LISTENER failed)";
  }
  const char* err = NULL;
  for (long i = 0; i < n + kWarmup; i++) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof(req));  // the kernel insists
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR) {
        i--;
        continue;
      }
      err = "SECCOMP_IOCTL_NOTIF_RECV failed";
      break;
    }
    memset(&resp, 0, sizeof(resp));
    resp.id = req.id;
    resp.val = req.data.nr == SYS_getpid ? kAnswer : 0;
    resp.error = req.data.nr == SYS_getpid ? 0 : -ENOSYS;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
      err = "SECCOMP_IOCTL_NOTIF_SEND failed";
      break;
    }
  }
  if (err != NULL) kill(pid, SIGKILL);
  close(listener);
  const char* reaped = Reap(pid);
  *ns = shared->ns_per_call;
  return err != NULL ? err : reaped;
}

static const char* NativeGetpid(long n, double* ns) {
  for (long i = 0; i < kWarmup; i++) syscall(SYS_getpid);
  double t0 = NowNs();
  for (long i = 0; i < n; i++) syscall(SYS_getpid);
  *ns = (NowNs() - t0) / n;
  return NULL;
}

// Loop counts give each variant about 0.2-0.4 s on the 2-core development
// VM (getpid ~1 us, a SIGSYS round trip ~4-25 us, PTRACE_SYSEMU ~16 us).
static const struct {
  const char* name;
  const char* (*run)(long n, double* ns);
  long n;
  int two_cpus;
} kVariants[] = {
    {"getpid", NativeGetpid, 300000, 0},
    {"sigsys_futex", SigsysFutex, 20000, 0},
    {"sigsys_futex_2cpu", SigsysFutex, 15000, 1},
    {"sigsys_spin", SigsysSpin, 50000, 1},
    {"ptrace_sysemu", PtraceSysemu, 20000, 0},
    {"seccomp_notif", SeccompNotif, 20000, 0},
};
enum { kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]) };

int main(int argc, char** argv) {
  double scale = argc > 1 ? strtod(argv[1], NULL) : 1;
  if (!(scale > 0)) {
    fprintf(stderr, "usage: floor [SCALE] [VARIANT...]\n");
    return 2;
  }
  shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    perror("floor: mmap");
    return 1;
  }
  cpu_set_t original;
  if (sched_getaffinity(0, sizeof(original), &original) != 0) {
    perror("floor: sched_getaffinity");
    return 1;
  }
  for (int c = 0; c < CPU_SETSIZE && num_cpus < 2; c++) {
    if (CPU_ISSET(c, &original)) cpus[num_cpus++] = c;
  }
  int chosen[kNumVariants] = {0};
  for (int a = 2; a < argc; a++) {
    int found = 0;
    for (int v = 0; v < kNumVariants; v++) {
      if (strcmp(argv[a], kVariants[v].name) == 0) chosen[v] = found = 1;
    }
    if (!found) {
      fprintf(stderr, "floor: unknown variant %s\n", argv[a]);
      return 2;
    }
  }
  int status = 0;
  for (int v = 0; v < kNumVariants; v++) {
    if (argc > 2 && !chosen[v]) continue;
    const char* err = NULL;
    double ns = 0;
    two_cpus = kVariants[v].two_cpus;
    if (two_cpus && num_cpus < 2) {
      err = "needs two CPUs";
    } else if (PinTo(cpus[0]) != 0) {
      err = "sched_setaffinity failed";
    } else {
      long n = (long)(kVariants[v].n * scale);
      err = kVariants[v].run(n < 1 ? 1 : n, &ns);
      sched_setaffinity(0, sizeof(original), &original);
    }
    if (err != NULL) {
      fprintf(stderr, "%s error: %s\n", kVariants[v].name, err);
      status = 1;
      continue;
    }
    printf("%s %.1f\n", kVariants[v].name, ns);
    fflush(stdout);
  }
  return status;
}
