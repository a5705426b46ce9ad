// Implements rt_sigaction(2), rt_sigprocmask(2), sigaltstack(2), and kill(2),
// tkill(2), tgkill(2) for the default actions. Signal delivery to guest
// handlers is the task-model issue's (#3); until then handlers are recorded
// but not run.

#include <signal.h>

#include "glog/logging.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

// <signal.h> lacks these Linux values.
constexpr int kSsAutodisarm = 1 << 31;
constexpr size_t kMinSigStkSz = 2048;

constexpr uint64_t SigBit(int sig) { return 1ULL << (sig - 1); }
constexpr uint64_t kUnblockable = SigBit(SIGKILL) | SigBit(SIGSTOP);

bool DefaultIgnores(int sig) {
  return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

bool DefaultStops(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

bool DefaultDumpsCore(int sig) {
  switch (sig) {
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
      return true;
    default:
      return false;
  }
}

// Sends `sig` to the calling process itself.
SysResult<uint64_t> SignalSelf(Task& t, int sig) {
  if (sig == 0) return 0;
  if (sig == SIGKILL) {
    t.ExitGroup(kernel::ExitStatus{0, SIGKILL, false});
    return 0;
  }
  uint64_t handler;
  {
    absl::MutexLock l(&t.sighand().mu);
    handler = t.sighand().actions[sig - 1].handler;
  }
  if (handler == reinterpret_cast<uint64_t>(SIG_IGN)) return 0;
  if (handler == reinterpret_cast<uint64_t>(SIG_DFL) && DefaultIgnores(sig))
    return 0;
  if ((t.signal_mask() & SigBit(sig)) != 0 || handler > 1 ||
      DefaultStops(sig)) {
    // Queuing, handlers and job control are #3. Refuse rather than pretend
    // the signal was delivered.
    LOG(WARNING) << "signal " << sig
                 << " to self needs signal delivery (not implemented yet)";
    return Errno(ENOSYS);
  }
  t.ExitGroup(kernel::ExitStatus{0, sig, DefaultDumpsCore(sig)});
  return 0;
}

}  // namespace

// Implements Linux syscall rt_sigaction(2).
SENTRY_SYSCALL(SysRtSigaction) {
  int sig = a.Int(0);
  if (a.U64(3) != 8) return Errno(EINVAL);
  if (sig < 1 || sig > 64) return Errno(EINVAL);
  kernel::SigAction act{};
  bool set = !a.Addr(1).IsNull();
  if (set) {
    if (sig == SIGKILL || sig == SIGSTOP) return Errno(EINVAL);
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &act));
    act.mask &= ~kUnblockable;
  }
  kernel::SigAction old;
  {
    absl::MutexLock l(&t.sighand().mu);
    old = t.sighand().actions[sig - 1];
    if (set) t.sighand().actions[sig - 1] = act;
  }
  if (!a.Addr(2).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), old));
  return 0;
}

// Implements Linux syscall rt_sigprocmask(2).
SENTRY_SYSCALL(SysRtSigprocmask) {
  int how = a.Int(0);
  if (a.U64(3) != 8) return Errno(EINVAL);
  uint64_t old = t.signal_mask();
  if (!a.Addr(1).IsNull()) {
    uint64_t set;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &set));
    uint64_t mask;
    switch (how) {
      case SIG_BLOCK:
        mask = old | set;
        break;
      case SIG_UNBLOCK:
        mask = old & ~set;
        break;
      case SIG_SETMASK:
        mask = set;
        break;
      default:
        return Errno(EINVAL);
    }
    t.set_signal_mask(mask & ~kUnblockable);
  }
  if (!a.Addr(2).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), old));
  return 0;
}

// Implements Linux syscall sigaltstack(2).
SENTRY_SYSCALL(SysSigaltstack) {
  stack_t old = t.alt_stack;
  if (!a.Addr(0).IsNull()) {
    stack_t ss;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(0), &ss));
    int mode = ss.ss_flags & ~kSsAutodisarm;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
      return Errno(EINVAL);
    if (mode == SS_DISABLE) {
      ss.ss_sp = nullptr;
      ss.ss_size = 0;
    } else if (ss.ss_size < kMinSigStkSz) {
      return Errno(ENOMEM);
    }
    t.alt_stack = ss;
  }
  if (!a.Addr(1).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), old));
  return 0;
}

// Implements Linux syscall kill(2) for signals to the calling process.
SENTRY_SYSCALL(SysKill) {
  int pid = a.Int(0), sig = a.Int(1);
  if (sig < 0 || sig > 64) return Errno(EINVAL);
  if (pid == t.tgid() || pid == 0 || pid == -1 || pid == -t.tgid())
    return SignalSelf(t, sig);
  return Errno(ESRCH);
}

// Implements Linux syscall tgkill(2) for the calling thread.
SENTRY_SYSCALL(SysTgkill) {
  int tgid = a.Int(0), tid = a.Int(1), sig = a.Int(2);
  if (tgid <= 0 || tid <= 0 || sig < 0 || sig > 64) return Errno(EINVAL);
  if (tgid != t.tgid() || tid != t.tid()) return Errno(ESRCH);
  return SignalSelf(t, sig);
}

// Implements Linux syscall tkill(2) for the calling thread.
SENTRY_SYSCALL(SysTkill) {
  int tid = a.Int(0), sig = a.Int(1);
  if (tid <= 0 || sig < 0 || sig > 64) return Errno(EINVAL);
  if (tid != t.tid()) return Errno(ESRCH);
  return SignalSelf(t, sig);
}

}  // namespace sentry::syscalls
