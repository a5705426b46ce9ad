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

PendingSignals::Result PendingSignals::Enqueue(const siginfo_t& info,
                                               bool has_room) {
  int sig = info.si_signo;
  std::deque<Entry>& q = queue_[sig - 1];
  if (sig < kSigRtMin && (pending_ & SigBit(sig)) != 0) {
    return Result::kCoalesced;
  }
  Entry e{info, true};
  if (!has_room) {
    if (sig >= kSigRtMin && info.si_code != SI_USER) return Result::kOverflow;
    e.info = MakeSigInfo(sig, SI_USER);
    e.counted = false;
  }
  if (e.counted) queued_++;
  q.push_back(e);
  pending_ |= SigBit(sig);
  return Result::kQueued;
}

bool PendingSignals::DequeueSignal(int sig, siginfo_t* info) {
  std::deque<Entry>& q = queue_[sig - 1];
  if (q.empty()) return false;
  *info = q.front().info;
  if (q.front().counted) queued_--;
  q.pop_front();
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
    for (const Entry& e : queue_[sig - 1]) {
      if (e.counted) queued_--;
    }
    queue_[sig - 1].clear();
    pending_ &= ~SigBit(sig);
  }
}

}  // namespace sentry::kernel
