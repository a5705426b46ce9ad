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

namespace {

uint64_t TimerKey(int timer_id, int sig) {
  return static_cast<uint64_t>(static_cast<uint32_t>(timer_id)) << 8 |
         static_cast<uint64_t>(sig);
}

}  // namespace

PendingSignals::Result PendingSignals::Enqueue(const siginfo_t& info,
                                               bool has_room, Origin origin) {
  int sig = info.si_signo;
  std::deque<Entry>& q = queue_[sig - 1];
  if (origin == Origin::kTimer) {
    q.push_back(Entry{info, false, info.si_timerid});
    timer_entries_[TimerKey(info.si_timerid, sig)]++;
    pending_ |= SigBit(sig);
    return Result::kQueued;
  }
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

bool PendingSignals::HasTimerEntry(int sig, int timer_id) const {
  return timer_entries_.contains(TimerKey(timer_id, sig));
}

void PendingSignals::Removed(int sig, const Entry& e) {
  if (e.counted) queued_--;
  if (e.timer_id < 0) return;
  auto it = timer_entries_.find(TimerKey(e.timer_id, sig));
  if (it != timer_entries_.end() && --it->second == 0) {
    timer_entries_.erase(it);
  }
}

bool PendingSignals::DequeueSignal(int sig, siginfo_t* info) {
  std::deque<Entry>& q = queue_[sig - 1];
  if (q.empty()) return false;
  *info = q.front().info;
  Removed(sig, q.front());
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
    for (const Entry& e : queue_[sig - 1]) Removed(sig, e);
    queue_[sig - 1].clear();
    pending_ &= ~SigBit(sig);
  }
}

}  // namespace sentry::kernel
