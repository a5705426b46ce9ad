// Implements the process system calls of a single-threaded process: exit(2),
// exit_group(2), the pid getters, execve(2), wait4(2), set_tid_address(2),
// robust lists, arch_prctl(2), prctl(2), uname(2), sysinfo(2), getrandom(2),
// the rlimit calls, and the scheduler queries.

#include <asm/prctl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

using kernel::ExitStatus;

// Implements Linux syscall exit(2).
SENTRY_SYSCALL(SysExit) {
  t.ExitThread(a.Int(0) & 0xff);
  return 0;
}

// Implements Linux syscall exit_group(2).
SENTRY_SYSCALL(SysExitGroup) {
  t.ExitGroup(ExitStatus{a.Int(0) & 0xff, 0, false});
  return 0;
}

// Implements Linux syscall getpid(2).
SENTRY_SYSCALL(SysGetpid) { return static_cast<uint64_t>(t.tgid()); }

// Implements Linux syscall gettid(2).
SENTRY_SYSCALL(SysGettid) { return static_cast<uint64_t>(t.tid()); }

// Implements Linux syscall getppid(2). The sandbox's init has no parent
// inside its pid namespace, so 0, as Linux reports there.
SENTRY_SYSCALL(SysGetppid) { return static_cast<uint64_t>(t.tg().ppid()); }

namespace {
// Until sessions and process groups exist (#3), every process is the leader
// of its own session and group, as the sandbox's init is.
SysResult<uint64_t> SelfLeader(Task& t, int pid) {
  if (pid != 0 && pid != t.tgid()) {
    if (t.kernel().FindTask(pid) == nullptr) return Errno(ESRCH);
  }
  return static_cast<uint64_t>(pid == 0 ? t.tgid() : pid);
}
}  // namespace

// Implements Linux syscall getpgrp(2).
SENTRY_SYSCALL(SysGetpgrp) { return static_cast<uint64_t>(t.tgid()); }

// Implements Linux syscall getpgid(2).
SENTRY_SYSCALL(SysGetpgid) { return SelfLeader(t, a.Int(0)); }

// Implements Linux syscall getsid(2).
SENTRY_SYSCALL(SysGetsid) { return SelfLeader(t, a.Int(0)); }

// Implements Linux syscall execve(2).
SENTRY_SYSCALL(SysExecve) {
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(a.Addr(0)));
  uint64_t budget = t.ExecArgBudget();
  SENTRY_ASSIGN_OR_RETURN(std::vector<std::string> argv,

                          t.CopyInStringArray(a.Addr(1), &budget));
  SENTRY_ASSIGN_OR_RETURN(std::vector<std::string> envp,
                          t.CopyInStringArray(a.Addr(2), &budget));
  if (path.empty()) return Errno(ENOENT);
  SENTRY_RETURN_IF_ERROR(t.Execve(path, std::move(argv), std::move(envp)));
  return 0;
}

// Implements Linux syscall wait4(2). With no way to create children yet
// (#3) every wait finds none.
SENTRY_SYSCALL(SysWait4) {
  int options = a.Int(2);
  if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL |
                   __WCLONE)) != 0) {
    return Errno(EINVAL);
  }
  return Errno(ECHILD);
}

// Implements Linux syscall set_tid_address(2).
SENTRY_SYSCALL(SysSetTidAddress) {
  t.clear_child_tid = a.U64(0);
  return static_cast<uint64_t>(t.tid());
}

// Implements Linux syscall set_robust_list(2).
SENTRY_SYSCALL(SysSetRobustList) {
  if (a.U64(1) != 24) return Errno(EINVAL);  // sizeof(struct robust_list_head)
  t.robust_list_head = a.U64(0);
  t.robust_list_len = a.U64(1);
  return 0;
}

// Implements Linux syscall get_robust_list(2).
SENTRY_SYSCALL(SysGetRobustList) {
  int pid = a.Int(0);
  if (pid != 0 && pid != t.tid()) {
    return Errno(t.kernel().FindTask(pid) != nullptr ? EPERM : ESRCH);
  }
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), t.robust_list_head));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), t.robust_list_len));
  return 0;
}

// Implements Linux syscall arch_prctl(2).
SENTRY_SYSCALL(SysArchPrctl) {
  // TASK_SIZE_MAX: Linux refuses any base at or above it.
  constexpr uint64_t kCanonicalLimit = 0x7ffffffff000;
  uint64_t addr = a.U64(1);
  switch (a.Int(0)) {
    case ARCH_SET_FS:
      if (addr >= kCanonicalLimit) return Errno(EPERM);
      t.regs().fs_base = addr;
      return 0;
    case ARCH_SET_GS:
      if (addr >= kCanonicalLimit) return Errno(EPERM);
      t.regs().gs_base = addr;
      return 0;
    case ARCH_GET_FS:
      SENTRY_RETURN_IF_ERROR(
          t.CopyOutObj(a.Addr(1), static_cast<uint64_t>(t.regs().fs_base)));
      return 0;
    case ARCH_GET_GS:
      SENTRY_RETURN_IF_ERROR(
          t.CopyOutObj(a.Addr(1), static_cast<uint64_t>(t.regs().gs_base)));
      return 0;
    case ARCH_GET_CPUID:
      return 1;  // CPUID is not faulting
    case ARCH_SET_CPUID:
      return Errno(ENODEV);  // as on CPUs without CPUID faulting
    default:
      return Errno(EINVAL);
  }
}

// Implements Linux syscall prctl(2): the options listed in the table note.
SENTRY_SYSCALL(SysPrctl) {
  switch (a.Int(0)) {
    case PR_SET_NAME: {
      char name[16] = {};
      SENTRY_ASSIGN_OR_RETURN(size_t n,
                              t.CopyIn(a.Addr(1), name, sizeof(name) - 1));
      t.set_comm(std::string(name, strnlen(name, n)));
      return 0;
    }
    case PR_GET_NAME: {
      char name[16] = {};
      std::string comm = t.comm();
      memcpy(name, comm.data(), std::min(comm.size(), sizeof(name) - 1));
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), name));
      return 0;
    }
    case PR_GET_DUMPABLE:
      return 1;
    case PR_SET_DUMPABLE:
      if (a.U64(1) > 1) return Errno(EINVAL);
      return 0;
    case PR_SET_NO_NEW_PRIVS:
      if (a.U64(1) != 1 || a.U64(2) != 0 || a.U64(3) != 0 || a.U64(4) != 0)
        return Errno(EINVAL);
      // Recorded (and inherited across exec); nothing in the sandbox grants
      // privileges on exec yet for it to withhold.
      t.no_new_privs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      return t.no_new_privs ? 1 : 0;
    case PR_SET_SECCOMP:
    case PR_GET_SECCOMP:
      return Errno(EINVAL);  // No guest seccomp yet: as a kernel without it.
    case PR_CAPBSET_READ:
      if (a.U64(1) > CAP_LAST_CAP) return Errno(EINVAL);

      return (t.creds().cap_bounding >> a.U64(1)) & 1;
    default:
      return Errno(EINVAL);
  }
}

// Implements Linux syscall uname(2).
SENTRY_SYSCALL(SysUname) {
  struct utsname host;
  uname(&host);
  struct utsname u = {};
  strncpy(u.sysname, "Linux", sizeof(u.sysname) - 1);
  strncpy(u.nodename, t.kernel().hostname().c_str(), sizeof(u.nodename) - 1);
  // The release of the host: programs size their feature checks by it, and
  // the sentry implements the same ABI.
  memcpy(u.release, host.release, sizeof(u.release));
  strncpy(u.version, "#1 SMP uksandbox", sizeof(u.version) - 1);
  strncpy(u.machine, "x86_64", sizeof(u.machine) - 1);
  strncpy(u.domainname, "(none)", sizeof(u.domainname) - 1);
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), u));
  return 0;
}

// Implements Linux syscall sysinfo(2).
SENTRY_SYSCALL(SysSysinfo) {
  struct sysinfo host;
  if (sysinfo(&host) != 0) return Errno::FromHost();
  struct sysinfo s = {};
  s.uptime = static_cast<long>(
      absl::ToInt64Seconds(absl::Now() - t.kernel().boot_time()));
  s.totalram = host.totalram;
  s.freeram = host.freeram;
  s.sharedram = host.sharedram;
  s.bufferram = host.bufferram;
  s.mem_unit = host.mem_unit;
  s.procs = static_cast<unsigned short>(t.kernel().TaskCount());
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), s));
  return 0;
}

// Implements Linux syscall getrandom(2).
SENTRY_SYSCALL(SysGetrandom) {
  unsigned int flags = a.U32(2);
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) != 0 ||
      (flags & (GRND_RANDOM | GRND_INSECURE)) ==
          (GRND_RANDOM | GRND_INSECURE)) {
    return Errno(EINVAL);
  }
  size_t len = std::min<uint64_t>(a.U64(1), 33554431);  // Linux's cap per call
  if (!RangeOk(t, a.Addr(0), len)) return Errno(EFAULT);
  char buf[4096];
  size_t done = 0;
  while (done < len) {
    size_t n = std::min(len - done, sizeof(buf));
    if (getrandom(buf, n, 0) != static_cast<ssize_t>(n))
      return Errno::FromHost();
    SysResult<size_t> c = t.CopyOut(GuestAddr(a.U64(0) + done), buf, n);
    if (!c.ok() || *c == 0) {
      if (done > 0) break;
      return Errno(EFAULT);
    }
    done += *c;
    if (*c < n) break;
  }
  return done;
}

namespace {

SysResult<void> SetRlimit(Task& t, int resource, const struct rlimit& lim) {
  if (lim.rlim_cur > lim.rlim_max) return Errno(EINVAL);
  struct rlimit old = t.tg().GetRlimit(resource);
  if (lim.rlim_max > old.rlim_max &&
      !t.creds().HasCapability(auth::Capability::kSysResource)) {
    return Errno(EPERM);
  }
  if (resource == RLIMIT_NOFILE && lim.rlim_max > (1u << 20))
    return Errno(EPERM);  // nr_open
  t.tg().SetRlimit(resource, lim);
  return Ok();
}

}  // namespace

// Implements Linux syscall prlimit64(2) for the calling process.
SENTRY_SYSCALL(SysPrlimit64) {
  int pid = a.Int(0);
  int resource = a.Int(1);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  if (pid != 0 && pid != t.tgid()) {
    // TODO(#3): other processes of the sandbox.
    return Errno(t.kernel().FindTask(pid) != nullptr ? EPERM : ESRCH);
  }
  struct rlimit old = t.tg().GetRlimit(resource);
  if (!a.Addr(2).IsNull()) {
    struct rlimit lim;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &lim));
    SENTRY_RETURN_IF_ERROR(SetRlimit(t, resource, lim));
  }
  if (!a.Addr(3).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(3), old));
  return 0;
}

// Implements Linux syscall getrlimit(2).
SENTRY_SYSCALL(SysGetrlimit) {
  int resource = a.Int(0);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), t.tg().GetRlimit(resource)));
  return 0;
}

// Implements Linux syscall setrlimit(2).
SENTRY_SYSCALL(SysSetrlimit) {
  int resource = a.Int(0);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  struct rlimit lim;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &lim));
  SENTRY_RETURN_IF_ERROR(SetRlimit(t, resource, lim));
  return 0;
}

// Implements Linux syscall sched_yield(2).
SENTRY_SYSCALL(SysSchedYield) {
  sched_yield();
  return 0;
}

// Implements Linux syscall sched_getaffinity(2): every CPU the sandbox may
// use.
SENTRY_SYSCALL(SysSchedGetaffinity) {
  int pid = a.Int(0);
  if (pid != 0 && t.kernel().FindTask(pid) == nullptr) return Errno(ESRCH);
  uint64_t size = a.U64(1);
  long ncpu = t.kernel().ncpus();
  uint64_t need = ((static_cast<uint64_t>(ncpu) + 63) / 64) * 8;
  if (size < need || size % sizeof(unsigned long) != 0) return Errno(EINVAL);
  cpu_set_t host;
  CPU_ZERO(&host);
  if (sched_getaffinity(0, sizeof(host), &host) != 0) return Errno::FromHost();
  std::vector<uint8_t> mask(need, 0);
  for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &host)) mask[c / 8] |= static_cast<uint8_t>(1 << (c % 8));
  }
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(2), mask.data(), mask.size()));
  return need;
}

// Implements Linux syscall getcpu(2).
SENTRY_SYSCALL(SysGetcpu) {
  unsigned cpu = 0, node = 0;
  if (getcpu(&cpu, &node) != 0) return Errno::FromHost();
  if (!a.Addr(0).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), cpu));
  if (!a.Addr(1).IsNull())
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), node));
  return 0;
}

}  // namespace sentry::syscalls
