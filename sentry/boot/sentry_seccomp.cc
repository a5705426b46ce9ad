#include "sentry/boot/sentry_seccomp.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace sentry::boot {

namespace {

// Writes a number without allocating (in a signal handler).
void WriteNumber(long v) {
  char buf[24];
  int i = sizeof(buf);
  bool neg = v < 0;
  unsigned long u =
      neg ? -static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do {
    buf[--i] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0 && i > 1);
  if (neg) buf[--i] = '-';
  (void)!write(STDERR_FILENO, buf + i, sizeof(buf) - i);
}

// A system call outside the allowlist: name it and stop the sandbox. The
// guest cannot cause this (its calls never reach the host); it is a sentry
// bug, and a loud one is better than a silent kill.
void OnSigsys(int, siginfo_t* si, void*) {
  static const char kMsg[] =
      "runsc: the sentry's seccomp filter refused system call ";
  (void)!write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
  WriteNumber(si->si_syscall);
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(125);
}

}  // namespace

absl::Status DropCapabilities() {
  // The bounding set first (that needs CAP_SETPCAP, about to go), so no exec
  // could ever regain anything; then every set of this process.
  for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return absl::InternalError(
          absl::StrCat("PR_CAPBSET_DROP(", cap, "): ", strerror(errno)));
    }
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0) {
    return absl::InternalError(absl::StrCat("capset: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status InstallSentryFilter(bool host_network, int control_fd) {
  struct sigaction sa = {};
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &sa, nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("sigaction(SIGSYS): ", strerror(errno)));
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  auto fail = [&](const char* what, int rc) {
    seccomp_release(ctx);
    return absl::InternalError(
        absl::StrCat("sentry seccomp: ", what, ": ", strerror(-rc)));
  };
  // Everything the sentry does after boot, grouped by why. Opening files is
  // not among them: every file comes from the gofer.
  const int allowed[] = {
      // Memory, for the sentry and (injected) for stubs.
      SCMP_SYS(mmap),
      SCMP_SYS(munmap),
      SCMP_SYS(mprotect),
      SCMP_SYS(mremap),
      SCMP_SYS(madvise),
      SCMP_SYS(brk),
      SCMP_SYS(memfd_create),
      SCMP_SYS(ftruncate),
      SCMP_SYS(fallocate),  // tmpfs files are memfds
      // Threads, locks and time.
      SCMP_SYS(futex),
      SCMP_SYS(set_robust_list),
      SCMP_SYS(rseq),
      SCMP_SYS(sched_yield),
      SCMP_SYS(sched_getaffinity),
      SCMP_SYS(sched_setaffinity),
      // glibc's pthread_create with attributes reads the scheduling
      // parameters to copy them.
      SCMP_SYS(sched_getparam),
      SCMP_SYS(sched_getscheduler),

      SCMP_SYS(getcpu),
      SCMP_SYS(gettid),
      SCMP_SYS(getpid),
      SCMP_SYS(getppid),
      SCMP_SYS(exit),
      SCMP_SYS(exit_group),
      SCMP_SYS(clock_gettime),
      SCMP_SYS(clock_getres),
      SCMP_SYS(clock_nanosleep),
      SCMP_SYS(nanosleep),
      SCMP_SYS(gettimeofday),
      SCMP_SYS(time),
      SCMP_SYS(restart_syscall),
      SCMP_SYS(rt_sigaction),
      SCMP_SYS(rt_sigprocmask),
      SCMP_SYS(rt_sigreturn),
      SCMP_SYS(rt_sigtimedwait),
      SCMP_SYS(eventfd2),
      SCMP_SYS(sigaltstack),
      SCMP_SYS(tgkill),
      SCMP_SYS(tkill),
      SCMP_SYS(kill),
      SCMP_SYS(getrandom),
      SCMP_SYS(sysinfo),
      SCMP_SYS(uname),
      SCMP_SYS(prlimit64),
      SCMP_SYS(getrlimit),
      SCMP_SYS(setrlimit),
      // Running guests: tracing stubs and reaching their memory. A stub
      // child also runs these until it installs its own, narrower filter.
      SCMP_SYS(ptrace),
      SCMP_SYS(wait4),
      SCMP_SYS(process_vm_readv),
      SCMP_SYS(process_vm_writev),
      SCMP_SYS(getrusage),  // injected into stubs: a guest's ru_maxrss
      SCMP_SYS(pause),
      SCMP_SYS(prctl),
      SCMP_SYS(seccomp),
      // I/O on fds the sentry holds: gofer-donated files, memfds, stdio.
      SCMP_SYS(read),
      SCMP_SYS(write),
      SCMP_SYS(pread64),
      SCMP_SYS(pwrite64),
      SCMP_SYS(readv),
      SCMP_SYS(writev),
      SCMP_SYS(lseek),
      SCMP_SYS(close),
      SCMP_SYS(fcntl),
      SCMP_SYS(fstat),
      SCMP_SYS(newfstatat),
      SCMP_SYS(fsync),
      SCMP_SYS(fdatasync),
      // A read's conversion into a direct buffer (sentry/mm): file to pipe
      // to memfd, all the sentry's own fds.
      SCMP_SYS(pipe2),
      SCMP_SYS(splice),
      SCMP_SYS(recvmsg),
      SCMP_SYS(poll),
      SCMP_SYS(ppoll),
  };
  for (int nr : allowed) {
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) return fail("seccomp_rule_add", rc);
  }
  // clone: threads and stub processes, never new namespaces. clone3 passes
  // its flags in memory, out of a filter's reach, so it is refused and
  // glibc falls back to clone.
  constexpr uint64_t kNamespaces = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID |
                                   CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                                   CLONE_NEWCGROUP;
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaces, 0));
  if (rc != 0) return fail("clone rule", rc);
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return fail("clone3 rule", rc);
  // systrap: a new guest thread sheds the sentry's fd table, and the stub's
  // handler sets a guest thread's fs/gs base; stubs inherit this filter.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close_range), 0);
  if (rc != 0) return fail("close_range rule", rc);
  for (scmp_datum_t code :
       {0x1001 /* ARCH_SET_GS */, 0x1002 /* ARCH_SET_FS */}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(arch_prctl), 1,
                          SCMP_A0(SCMP_CMP_EQ, code));
    if (rc != 0) return fail("arch_prctl rule", rc);
  }
  // Another ABI (int 0x80) traps rather than kills, so that a systrap
  // guest's 32-bit call reaches the sentry, which answers it with SIGSEGV.
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
  if (rc != 0) return fail("bad-arch action", rc);
  // Host terminal ioctls the guest's terminal passes through; nothing else.
  for (unsigned long cmd :
       {TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_EQ, cmd));
    if (rc != 0) return fail("ioctl rule", rc);
  }
  // send(2): sendto without an address. No sendmsg, whose address the
  // filter cannot see: a donated host socket is connected, and without an
  // address (or connect(2), also refused) nothing sent can go elsewhere.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1,
                        SCMP_A4(SCMP_CMP_EQ, 0));
  if (rc != 0) return fail("sendto rule", rc);
  // The OCI control socket: accept(2) on it alone (the connections are
  // then read and written like any fd).
  if (control_fd >= 0 && !host_network) {
    rc = seccomp_rule_add(
        ctx, SCMP_ACT_ALLOW, SCMP_SYS(accept4), 1,
        SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(control_fd)));
    if (rc != 0) return fail("control socket rule", rc);
  }
  if (host_network) {
    for (int nr :
         {SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
          SCMP_SYS(getpeername), SCMP_SYS(accept4)}) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
      if (rc != 0) return fail("host network rule", rc);
    }
    // Options of the levels a program's TCP and UDP options belong to.
    for (scmp_datum_t level :
         {SOL_SOCKET, int{IPPROTO_TCP}, int{IPPROTO_IP}, int{IPPROTO_IPV6}}) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 1,
                            SCMP_A1(SCMP_CMP_EQ, level));
      if (rc != 0) return fail("setsockopt rule", rc);
    }
    for (unsigned long cmd : {SIOCINQ, SIOCOUTQ}) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                            SCMP_A1(SCMP_CMP_EQ, cmd));
      if (rc != 0) return fail("ioctl rule", rc);
    }
  }
  // futimens(2) on a memfd (tmpfs times): utimensat with no path only.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(utimensat), 1,
                        SCMP_A1(SCMP_CMP_EQ, 0));
  if (rc != 0) return fail("utimensat rule", rc);
  // Opening by path is refused with EPERM rather than trapped: libraries
  // may probe files (locale data, time zones), and refusing is correct.
  for (int nr : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2)}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc != 0) return fail("open rule", rc);
  }
  // Every thread of the sentry, present and future.
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc != 0) return fail("TSYNC", rc);
  rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0)
    return absl::InternalError(absl::StrCat("seccomp_load: ", strerror(-rc)));
  return absl::OkStatus();
}

}  // namespace sentry::boot
