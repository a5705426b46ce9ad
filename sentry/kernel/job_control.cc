#include "sentry/kernel/job_control.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

namespace sentry::kernel {

namespace {

// Whether `t` ignores or blocks `sig` (Linux's is_ignored in tty_jobctrl.c).
bool IgnoredOrBlocked(Task& t, int sig) {
  return (t.signal_mask() & SigBit(sig)) != 0 ||
         t.sighand().actions[sig - 1].handler == kSigIgn;
}

void SignalGroupLocked(Kernel& k, int pgid, int sig) {
  siginfo_t info = MakeSigInfo(sig, SI_KERNEL);
  for (ThreadGroup* g : k.ProcessGroupLocked(pgid)) {
    (void)k.SendGroupSignalLocked(g, info);
  }
}

// No process has `term` as its controlling terminal any more.
void DropTerminalLocked(Kernel& k, Terminal& term) {
  for (ThreadGroup* g : k.ThreadGroupsLocked()) {
    if (g->tty.get() == &term) g->tty = nullptr;
  }
  term.sid = 0;
  term.fg_pgrp = 0;
}

// Linux's disassociate_ctty(0) (TIOCNOTTY by a session leader): the
// foreground group hears SIGHUP and SIGCONT, and the session loses it.
void DisassociateLocked(Kernel& k, Terminal& term) {
  if (term.fg_pgrp != 0) {
    SignalGroupLocked(k, term.fg_pgrp, SIGHUP);
    SignalGroupLocked(k, term.fg_pgrp, SIGCONT);
  }
  DropTerminalLocked(k, term);
}

}  // namespace

std::shared_ptr<Terminal> ControllingTerminal(Task& t) {
  absl::MutexLock l(&t.kernel().mu());
  return t.tg().tty;
}

bool IsSettingsChange(uint32_t cmd) {
  switch (cmd) {
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case TCSETA:
    case TCSETAW:
    case TCSETAF:
    case TCFLSH:
    case TCXONC:
    case TCSBRK:
    case TCSBRKP:
    case TIOCSBRK:
    case TIOCCBRK:
      return true;
    default:
      return false;
  }
}

SysResult<void> CheckBackground(vfs::CallContext& ctx, Terminal& term,
                                int sig) {
  auto* t = dynamic_cast<Task*>(&ctx);
  if (t == nullptr) return Ok();  // the kernel's own I/O (runsc's bridge)
  Kernel& k = t->kernel();
  absl::MutexLock l(&k.mu());
  ThreadGroup& g = t->tg();
  if (g.tty.get() != &term) return Ok();
  if (term.fg_pgrp == 0 || g.pgid == term.fg_pgrp) return Ok();
  if (IgnoredOrBlocked(*t, sig)) {
    if (sig == SIGTTIN) return Errno(EIO);
    return Ok();
  }
  if (k.OrphanedProcessGroupLocked(g.pgid)) return Errno(EIO);
  SignalGroupLocked(k, g.pgid, sig);
  return Errno(kERESTARTSYS);
}

void AcquireOnOpen(vfs::CallContext& ctx, const std::shared_ptr<Terminal>& term,
                   int flags) {
  if ((flags & O_NOCTTY) != 0 || !term) return;
  auto* t = dynamic_cast<Task*>(&ctx);
  if (t == nullptr) return;
  Kernel& k = t->kernel();
  absl::MutexLock l(&k.mu());
  ThreadGroup& g = t->tg();
  if (g.sid != g.tgid() || g.tty || term->sid != 0) return;
  g.tty = term;
  term->sid = g.sid;
  term->fg_pgrp = g.pgid;
}

void SignalForeground(Kernel& k, Terminal& term, int sig, bool external) {
  absl::MutexLock l(&k.mu());
  if (term.fg_pgrp == 0) return;
  if (external) {
    k.SendExternalSignalToGroupLocked(term.fg_pgrp, sig);
  } else {
    SignalGroupLocked(k, term.fg_pgrp, sig);
  }
}

void HangUp(Kernel& k, Terminal& term) {
  absl::MutexLock l(&k.mu());
  if (term.sid != 0) {
    ThreadGroup* leader = k.FindThreadGroupLocked(term.sid);
    if (leader != nullptr && !leader->zombie && leader->sid == term.sid &&
        leader->tty.get() == &term) {
      (void)k.SendGroupSignalLocked(leader, MakeSigInfo(SIGHUP, SI_KERNEL));
      (void)k.SendGroupSignalLocked(leader, MakeSigInfo(SIGCONT, SI_KERNEL));
    }
  }
  DropTerminalLocked(k, term);
}

void ReleaseTerminalOnExitLocked(Kernel& k, ThreadGroup* tg) {
  std::shared_ptr<Terminal> term = std::move(tg->tty);
  tg->tty = nullptr;
  if (term && tg->sid == tg->tgid() && term->sid == tg->sid) {
    DropTerminalLocked(k, *term);
  }
}

SysResult<int64_t> JobControlIoctl(Task& t, TerminalFile& f, uint32_t cmd,
                                   GuestAddr arg) {
  std::shared_ptr<Terminal> term = f.terminal();
  if (!term) return Errno(ENOTTY);
  Kernel& k = t.kernel();
  switch (cmd) {
    case TIOCGPGRP:
    case TIOCGSID: {
      int32_t v;
      {
        absl::MutexLock l(&k.mu());
        // Through the slave, only the caller's controlling terminal
        // answers; through the master, any.
        if (!f.is_pty_master() && t.tg().tty != term) return Errno(ENOTTY);
        if (cmd == TIOCGSID && term->sid == 0) return Errno(ENOTTY);
        v = cmd == TIOCGPGRP ? term->fg_pgrp : term->sid;
      }
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(arg, v));
      return 0;
    }
    case TIOCSPGRP: {
      if (!f.is_pty_master()) {
        SysResult<void> bg = CheckBackground(t, *term, SIGTTOU);
        // An orphaned group may not: ENOTTY, as Linux's tiocspgrp says.
        if (!bg.ok()) return Errno(bg.err() == EIO ? ENOTTY : bg.err());
      }
      int32_t pgid;
      SENTRY_RETURN_IF_ERROR(t.CopyInObj(arg, &pgid));
      if (pgid < 0) return Errno(EINVAL);
      absl::MutexLock l(&k.mu());
      ThreadGroup& g = t.tg();
      if (g.tty != term || term->sid != g.sid) return Errno(ENOTTY);
      // No such group is ESRCH; one of another session, EPERM.
      if (k.ProcessGroupLocked(pgid).empty()) return Errno(ESRCH);
      if (!k.ProcessGroupExistsInSessionLocked(pgid, g.sid)) {
        return Errno(EPERM);
      }
      term->fg_pgrp = pgid;
      return 0;
    }
    case TIOCSCTTY: {
      absl::MutexLock l(&k.mu());
      ThreadGroup& g = t.tg();
      bool leader = g.sid == g.tgid();
      if (leader && term->sid == g.sid) return 0;  // already ours
      if (!leader || g.tty) return Errno(EPERM);
      if (term->sid != 0) {
        // Stealing another session's terminal takes CAP_SYS_ADMIN and
        // an argument of 1.
        if (arg.value() != 1 ||
            !t.creds().HasCapability(auth::Capability::kSysAdmin)) {
          return Errno(EPERM);
        }
        DropTerminalLocked(k, *term);
      }
      g.tty = term;
      term->sid = g.sid;
      term->fg_pgrp = g.pgid;
      return 0;
    }
    case TIOCNOTTY: {
      absl::MutexLock l(&k.mu());
      ThreadGroup& g = t.tg();
      if (f.is_pty_master() || g.tty != term) return Errno(ENOTTY);
      if (g.sid == g.tgid()) {
        DisassociateLocked(k, *term);
      } else {
        g.tty = nullptr;
      }
      return 0;
    }
    default:
      return Errno(ENOTTY);
  }
}

}  // namespace sentry::kernel
