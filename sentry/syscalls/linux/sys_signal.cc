// Implements the signal system calls: rt_sigaction(2), rt_sigprocmask(2),
// rt_sigpending(2), rt_sigsuspend(2), pause(2), rt_sigtimedwait(2),
// sigaltstack(2), rt_sigreturn(2), restart_syscall(2), kill(2), tkill(2),
// tgkill(2), rt_sigqueueinfo(2), rt_tgsigqueueinfo(2), pidfd_open(2) and
// pidfd_send_signal(2).

#include <signal.h>
#include <sys/syscall.h>

#include "absl/time/clock.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

using kernel::kMaxSignal;
using kernel::kUnblockable;
using kernel::SigBit;
using kernel::SigSet;
using kernel::ThreadGroup;

namespace {

// <signal.h> lacks these Linux values.
constexpr int kSsAutodisarm = 1 << 31;
constexpr size_t kMinSigStkSz = 2048;
constexpr unsigned kPidfdNonblock = O_NONBLOCK;

// The flags rt_sigaction keeps (x86-64's UAPI_SA_FLAGS); others read back
// as clear, so programs can probe for support.
constexpr uint64_t kUapiSaFlags =
    SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART |
    SA_NODEFER | SA_RESETHAND | kernel::kSaRestorer | kernel::kSaExposeTagbits;

// Linux's kill_ok_by_cred: the sender's real or effective uid is the
// target's real or saved uid, or the sender has CAP_KILL.
bool MayKill(const auth::Credentials& from, const auth::Credentials& to) {
  if (from.HasCapability(auth::Capability::kKill)) return true;
  return from.euid == to.suid || from.euid == to.ruid || from.ruid == to.suid ||
         from.ruid == to.ruid;
}

// Whether `sender` may signal process `g` with `sig`.
bool MaySignalLocked(Task& sender, ThreadGroup* g, int sig)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(sender.kernel().mu()) {
  if (g->tasks.empty()) return true;  // a zombie: nothing to protect
  if (sig == SIGCONT && g->sid == sender.tg().sid) return true;
  return MayKill(sender.creds(), g->tasks.front()->GetCreds());
}

siginfo_t UserInfo(Task& t, int sig, int code) {
  return kernel::MakeSigInfo(sig, code, t.tgid(), t.creds().ruid);
}

// Sends `info` to process `g`, as kill(2) does. sig 0 only checks.
SysResult<void> SendToProcessLocked(Task& t, ThreadGroup* g,
                                    const siginfo_t& info)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  int sig = info.si_signo;
  if (!MaySignalLocked(t, g, sig)) return Errno(EPERM);
  if (sig == 0 || g->zombie) return Ok();
  return t.kernel().SendGroupSignalLocked(g, info);
}

// Sends `info` to thread `target` (tkill, tgkill).
SysResult<void> SendToThreadLocked(Task& t, Task* target, const siginfo_t& info)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  int sig = info.si_signo;
  ThreadGroup* g = &target->tg();
  if (!MaySignalLocked(t, g, sig)) return Errno(EPERM);
  if (sig == 0) return Ok();
  return t.kernel().SendTaskSignalLocked(target, info);
}

SysResult<SigSet> CopyInSigset(Task& t, GuestAddr addr) {
  SigSet set;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &set));
  return set;
}

}  // namespace

// Implements Linux syscall rt_sigaction(2).
SENTRY_SYSCALL(SysRtSigaction) {
  int sig = a.Int(0);
  if (a.U64(3) != 8) return Errno(EINVAL);
  if (sig < 1 || sig > kMaxSignal) return Errno(EINVAL);
  kernel::SigAction act{};
  bool set = !a.Addr(1).IsNull();
  if (set) {
    if (sig == SIGKILL || sig == SIGSTOP) return Errno(EINVAL);
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &act));
    act.mask &= ~kUnblockable;
    act.flags &= kUapiSaFlags;
  }
  kernel::SigAction old;
  {
    absl::MutexLock l(&t.kernel().mu());
    old = t.sighand().actions[sig - 1];
    if (set) {
      t.sighand().actions[sig - 1] = act;
      // POSIX: setting a signal to be ignored discards what is pending.
      if (kernel::IgnoredByDisposition(sig, act)) {
        t.tg().pending.Discard(SigBit(sig));
        for (Task* x : t.tg().tasks) {
          x->DiscardPendingLocked(SigBit(sig));
        }
      }
    }
  }
  old.flags &= kUapiSaFlags;
  if (!a.Addr(2).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), old));
  return 0;
}

// Implements Linux syscall rt_sigprocmask(2).
SENTRY_SYSCALL(SysRtSigprocmask) {
  int how = a.Int(0);
  if (a.U64(3) != 8) return Errno(EINVAL);
  SigSet old = t.signal_mask();
  if (!a.Addr(1).IsNull()) {
    SENTRY_ASSIGN_OR_RETURN(SigSet set, CopyInSigset(t, a.Addr(1)));
    SigSet mask;
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
    t.SetSignalMask(mask);
  }
  if (!a.Addr(2).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), old));
  return 0;
}

// Implements Linux syscall rt_sigpending(2): pending signals that are
// blocked.
SENTRY_SYSCALL(SysRtSigpending) {
  uint64_t size = a.U64(1);
  if (size > 8) return Errno(EINVAL);
  SigSet pending = t.PendingSignals() & t.signal_mask();
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(0), &pending, size));
  return 0;
}

// Implements Linux syscall rt_sigsuspend(2).
SENTRY_SYSCALL(SysRtSigsuspend) {
  if (a.U64(1) != 8) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(SigSet mask, CopyInSigset(t, a.Addr(0)));
  t.SetTemporaryMask(mask);
  for (;;) {
    SysResult<void> r = t.Block(std::nullopt);
    if (!r.ok() && r.err() == kERESTARTSYS) break;
  }
  // Always EINTR once a handler ran; restarted if nothing was delivered.
  return Errno(kERESTARTNOHAND);
}

// Implements Linux syscall pause(2).
SENTRY_SYSCALL(SysPause) {
  for (;;) {
    SysResult<void> r = t.Block(std::nullopt);
    if (!r.ok() && r.err() == kERESTARTSYS) break;
  }
  return Errno(kERESTARTNOHAND);
}

// Implements Linux syscall rt_sigtimedwait(2).
SENTRY_SYSCALL(SysRtSigtimedwait) {
  if (a.U64(3) != 8) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(SigSet set, CopyInSigset(t, a.Addr(0)));
  set &= ~kUnblockable;
  std::optional<absl::Time> deadline;
  if (!a.Addr(2).IsNull()) {
    struct timespec ts;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &ts));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
      return Errno(EINVAL);
    }
    deadline = absl::Now() + absl::DurationFromTimespec(ts);
  }
  auto deliver = [&](const siginfo_t& info) -> SysResult<uint64_t> {
    if (!a.Addr(1).IsNull()) {
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), info));
    }
    return static_cast<uint64_t>(info.si_signo);
  };
  siginfo_t info;
  if (t.DequeueSignalIn(set, &info)) return deliver(info);
  if (deadline && *deadline <= absl::Now()) return Errno(EAGAIN);
  // Wait with the awaited signals unblocked, so their arrival wakes us;
  // we take them ourselves before any handler could.
  SigSet old = t.signal_mask();
  t.SetRealBlocked(old);
  t.SetSignalMask(old & ~set);
  SysResult<uint64_t> result = Errno(EINTR);
  for (;;) {
    SysResult<void> r = t.Block(deadline);
    if (t.DequeueSignalIn(set, &info)) {
      result = deliver(info);
      break;
    }
    if (!r.ok()) {
      result = Errno(r.err() == ETIMEDOUT ? EAGAIN : EINTR);
      break;
    }
  }
  t.SetSignalMask(old);
  t.SetRealBlocked(0);
  return result;
}

// Implements Linux syscall sigaltstack(2).
SENTRY_SYSCALL(SysSigaltstack) {
  uint64_t sp = t.regs().rsp;
  stack_t old = t.alt_stack;
  bool on = t.OnAltStack(sp);
  // Linux reports whether the stack is in use, and the flag bits set.
  old.ss_flags = (old.ss_size == 0 ? SS_DISABLE : (on ? SS_ONSTACK : 0)) |
                 (old.ss_flags & kSsAutodisarm);
  if (!a.Addr(0).IsNull()) {
    stack_t ss;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(0), &ss));
    if (on) return Errno(EPERM);
    int mode = ss.ss_flags & ~kSsAutodisarm;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
      return Errno(EINVAL);
    if (mode == SS_DISABLE) {
      ss.ss_sp = nullptr;
      ss.ss_size = 0;
      ss.ss_flags = SS_DISABLE;
    } else {
      if (ss.ss_size < kMinSigStkSz) return Errno(ENOMEM);
    }
    t.alt_stack = ss;
  }
  if (!a.Addr(1).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), old));
  return 0;
}

// Implements Linux syscall rt_sigreturn(2).
SENTRY_SYSCALL(SysRtSigreturn) {
  (void)a;
  SENTRY_RETURN_IF_ERROR(t.SigReturn());
  return 0;
}

// Implements Linux syscall restart_syscall(2).
SENTRY_SYSCALL(SysRestartSyscall) {
  (void)a;
  return t.RunRestart();
}

// Implements Linux syscall kill(2).
SENTRY_SYSCALL(SysKill) {
  int pid = a.Int(0), sig = a.Int(1);
  if (sig < 0 || sig > kMaxSignal) return Errno(EINVAL);
  siginfo_t info = UserInfo(t, sig, SI_USER);
  absl::MutexLock l(&t.kernel().mu());
  kernel::Kernel& k = t.kernel();
  if (pid > 0) {
    ThreadGroup* g = k.FindThreadGroupLocked(pid);
    if (g == nullptr) return Errno(ESRCH);
    SENTRY_RETURN_IF_ERROR(SendToProcessLocked(t, g, info));
    return 0;
  }
  if (pid == INT32_MIN) return Errno(ESRCH);
  std::vector<ThreadGroup*> targets;
  if (pid == -1) {
    // Everyone the caller may signal but init and itself.
    for (Task* x : k.AllTasksLocked()) {
      ThreadGroup* g = &x->tg();
      if (g->tgid() == 1 || g == &t.tg()) continue;
      if (std::find(targets.begin(), targets.end(), g) == targets.end()) {
        targets.push_back(g);
      }
    }
  } else {
    int pgid = pid == 0 ? t.tg().pgid : -pid;
    targets = k.ProcessGroupLocked(pgid);
  }
  if (targets.empty()) return Errno(ESRCH);
  bool any_ok = false;
  int err = EPERM;
  for (ThreadGroup* g : targets) {
    SysResult<void> r = SendToProcessLocked(t, g, info);
    if (r.ok()) {
      any_ok = true;
    } else {
      err = r.err();
    }
  }
  if (!any_ok) return Errno(err);
  return 0;
}

// Implements Linux syscall tgkill(2).
SENTRY_SYSCALL(SysTgkill) {
  int tgid = a.Int(0), tid = a.Int(1), sig = a.Int(2);
  if (tgid <= 0 || tid <= 0 || sig < 0 || sig > kMaxSignal) {
    return Errno(EINVAL);
  }
  absl::MutexLock l(&t.kernel().mu());
  Task* target = t.kernel().FindTaskLocked(tid);
  if (target == nullptr || target->tgid() != tgid) return Errno(ESRCH);
  SENTRY_RETURN_IF_ERROR(
      SendToThreadLocked(t, target, UserInfo(t, sig, SI_TKILL)));
  return 0;
}

// Implements Linux syscall tkill(2).
SENTRY_SYSCALL(SysTkill) {
  int tid = a.Int(0), sig = a.Int(1);
  if (tid <= 0 || sig < 0 || sig > kMaxSignal) return Errno(EINVAL);
  absl::MutexLock l(&t.kernel().mu());
  Task* target = t.kernel().FindTaskLocked(tid);
  if (target == nullptr) return Errno(ESRCH);
  SENTRY_RETURN_IF_ERROR(
      SendToThreadLocked(t, target, UserInfo(t, sig, SI_TKILL)));
  return 0;
}

namespace {

// A siginfo a process queues itself (rt_sigqueueinfo and friends). Only a
// process signalling itself may claim a kernel or kill(2) origin.
SysResult<siginfo_t> CopyInQueuedInfo(Task& t, GuestAddr addr, int sig,
                                      int target_tgid) {
  siginfo_t info;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &info));
  if ((info.si_code >= 0 || info.si_code == SI_TKILL) &&
      target_tgid != t.tgid()) {
    return Errno(EPERM);
  }
  info.si_signo = sig;
  return info;
}

}  // namespace

// Implements Linux syscall rt_sigqueueinfo(2).
SENTRY_SYSCALL(SysRtSigqueueinfo) {
  int tgid = a.Int(0), sig = a.Int(1);
  if (sig < 0 || sig > kMaxSignal) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(siginfo_t info,
                          CopyInQueuedInfo(t, a.Addr(2), sig, tgid));
  absl::MutexLock l(&t.kernel().mu());
  ThreadGroup* g = t.kernel().FindThreadGroupLocked(tgid);
  if (g == nullptr) return Errno(ESRCH);
  SENTRY_RETURN_IF_ERROR(SendToProcessLocked(t, g, info));
  return 0;
}

// Implements Linux syscall rt_tgsigqueueinfo(2).
SENTRY_SYSCALL(SysRtTgsigqueueinfo) {
  int tgid = a.Int(0), tid = a.Int(1), sig = a.Int(2);
  if (tgid <= 0 || tid <= 0 || sig < 0 || sig > kMaxSignal) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(siginfo_t info,
                          CopyInQueuedInfo(t, a.Addr(3), sig, tgid));
  absl::MutexLock l(&t.kernel().mu());
  Task* target = t.kernel().FindTaskLocked(tid);
  if (target == nullptr || target->tgid() != tgid) return Errno(ESRCH);
  SENTRY_RETURN_IF_ERROR(SendToThreadLocked(t, target, info));
  return 0;
}

// Implements Linux syscall pidfd_open(2).
SENTRY_SYSCALL(SysPidfdOpen) {
  int pid = a.Int(0);
  unsigned flags = a.U32(1);
  if ((flags & ~kPidfdNonblock) != 0 || pid <= 0) return Errno(EINVAL);
  std::shared_ptr<ThreadGroup> g = t.kernel().FindThreadGroup(pid);
  if (g == nullptr) {
    // A thread that is not a process's leader.
    if (t.kernel().FindTask(pid) != nullptr) return Errno(EINVAL);
    return Errno(ESRCH);
  }
  SENTRY_ASSIGN_OR_RETURN(
      int fd,
      t.NewFd(kernel::NewPidFD(std::move(g), O_RDWR | static_cast<int>(flags)),
              /*cloexec=*/true));
  return static_cast<uint64_t>(fd);
}

// Implements Linux syscall pidfd_send_signal(2).
SENTRY_SYSCALL(SysPidfdSendSignal) {
  int sig = a.Int(1);
  if (a.U32(3) != 0) return Errno(EINVAL);
  if (sig < 0 || sig > kMaxSignal) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                          t.GetFile(a.Int(0)));
  auto* pf = dynamic_cast<kernel::PidFD*>(f.get());
  if (pf == nullptr) return Errno(EBADF);
  siginfo_t info = UserInfo(t, sig, SI_USER);
  if (!a.Addr(2).IsNull()) {
    SENTRY_ASSIGN_OR_RETURN(
        info, CopyInQueuedInfo(t, a.Addr(2), sig, pf->tg()->tgid()));
  }
  absl::MutexLock l(&t.kernel().mu());
  ThreadGroup* g = t.kernel().FindThreadGroupLocked(pf->tg()->tgid());
  // Reaped: the pid may name another process now, or none.
  if (g != pf->tg().get()) return Errno(ESRCH);
  SENTRY_RETURN_IF_ERROR(SendToProcessLocked(t, g, info));
  return 0;
}

}  // namespace sentry::syscalls
