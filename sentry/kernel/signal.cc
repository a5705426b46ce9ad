#include "sentry/kernel/signal.h"

#include <cstring>

namespace sentry::kernel {

DefaultAction DefaultActionOf(int sig) {
  switch (sig) {
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
      return DefaultAction::kIgnore;
    case SIGCONT:
      return DefaultAction::kContinue;
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return DefaultAction::kStop;
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
      return DefaultAction::kCore;
    default:
      return DefaultAction::kTerminate;
  }
}

bool IgnoredByDisposition(int sig, const SigAction& act) {
  if (act.handler == kSigIgn) return sig != SIGKILL && sig != SIGSTOP;
  if (act.handler == kSigDfl) {
    return DefaultActionOf(sig) == DefaultAction::kIgnore;
  }
  return false;
}

siginfo_t MakeSigInfo(int sig, int code, int pid, uint32_t uid) {
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  info.si_signo = sig;
  info.si_code = code;
  info.si_pid = pid;
  info.si_uid = uid;
  return info;
}

bool PendingSignals::Enqueue(const siginfo_t& info, uint64_t rt_limit) {
  int sig = info.si_signo;
  std::deque<siginfo_t>& q = queue_[sig - 1];
  if (sig < kSigRtMin) {
    if ((pending_ & SigBit(sig)) != 0) return false;
  } else {
    if (rt_queued_ >= rt_limit) return false;
    rt_queued_++;
  }
  q.push_back(info);
  pending_ |= SigBit(sig);
  return true;
}

bool PendingSignals::DequeueSignal(int sig, siginfo_t* info) {
  std::deque<siginfo_t>& q = queue_[sig - 1];
  if (q.empty()) return false;
  *info = q.front();
  q.pop_front();
  if (sig >= kSigRtMin) rt_queued_--;
  if (q.empty()) pending_ &= ~SigBit(sig);
  return true;
}

bool PendingSignals::Dequeue(SigSet blocked, siginfo_t* info) {
  SigSet ready = pending_ & ~blocked;
  if (ready == 0) return false;
  SigSet sync = ready & kSynchronous;
  if (sync != 0) ready = sync;
  int sig = __builtin_ctzll(ready) + 1;
  return DequeueSignal(sig, info);
}

void PendingSignals::Discard(SigSet set) {
  for (int sig = 1; sig <= kMaxSignal; sig++) {
    if ((set & pending_ & SigBit(sig)) == 0) continue;
    if (sig >= kSigRtMin) rt_queued_ -= queue_[sig - 1].size();
    queue_[sig - 1].clear();
    pending_ &= ~SigBit(sig);
  }
}

}  // namespace sentry::kernel
