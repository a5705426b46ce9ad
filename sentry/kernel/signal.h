// Signals: sets, default actions, and queues of pending signals.
//
// Everything here is plain data; the locks that guard it belong to the
// ThreadGroup (see kernel.h).

#ifndef SENTRY_KERNEL_SIGNAL_H_
#define SENTRY_KERNEL_SIGNAL_H_

#include <signal.h>

#include <cstdint>
#include <deque>

#include "absl/container/flat_hash_map.h"

namespace sentry::kernel {

// The guest's sigset_t: one bit per signal, signal n at bit n-1.
using SigSet = uint64_t;

inline constexpr int kMaxSignal = 64;
inline constexpr int kSigRtMin = 32;  // the kernel's SIGRTMIN (glibc uses 34)

constexpr SigSet SigBit(int sig) { return 1ULL << (sig - 1); }
inline constexpr SigSet kUnblockable = SigBit(SIGKILL) | SigBit(SIGSTOP);
// Signals the CPU raises for the instruction that just ran: dequeued first,
// so a fault is handled before anything that was already pending.
inline constexpr SigSet kSynchronous = SigBit(SIGSEGV) | SigBit(SIGBUS) |
                                       SigBit(SIGILL) | SigBit(SIGTRAP) |
                                       SigBit(SIGFPE) | SigBit(SIGSYS);
inline constexpr SigSet kStopSignals =
    SigBit(SIGSTOP) | SigBit(SIGTSTP) | SigBit(SIGTTIN) | SigBit(SIGTTOU);

inline bool ValidSignal(int sig) { return sig >= 1 && sig <= kMaxSignal; }

enum class DefaultAction { kTerminate, kCore, kStop, kContinue, kIgnore };
DefaultAction DefaultActionOf(int sig);

// The guest's struct k_sigaction (rt_sigaction(2)).
struct SigAction {
  uint64_t handler = 0;  // SIG_DFL (0), SIG_IGN (1) or a guest address
  uint64_t flags = 0;
  uint64_t restorer = 0;
  SigSet mask = 0;
};
inline constexpr uint64_t kSigDfl = 0;
inline constexpr uint64_t kSigIgn = 1;
// SA_RESTORER: <signal.h> hides it from programs.
inline constexpr uint64_t kSaRestorer = 0x04000000;
// SA_UNSUPPORTED and SA_EXPOSE_TAGBITS: flag-support probing (Linux 5.11).
inline constexpr uint64_t kSaUnsupported = 0x00000400;
inline constexpr uint64_t kSaExposeTagbits = 0x00000800;

// Whether a signal with this disposition is discarded when sent (POSIX:
// an ignored signal is never made pending, unless it is blocked).
bool IgnoredByDisposition(int sig, const SigAction& act);

// siginfo_t with the fields most senders fill.
siginfo_t MakeSigInfo(int sig, int code, int pid = 0, uint32_t uid = 0);

// Pending signals of a thread, or shared by a thread group. Standard
// signals coalesce (one pending instance each); real-time signals queue.
class PendingSignals final {
 public:
  // Queues `info`. `has_room` says whether RLIMIT_SIGPENDING allows one
  // more queued siginfo. Without room, a signal is still made pending but
  // without its information (dequeued as SI_USER from pid 0) when Linux
  // would do so: standard signals, and real-time ones from kill(2);
  // otherwise it fails (sigqueue's EAGAIN).
  //
  // A POSIX timer's signal (kTimer, with info.si_timerid naming the timer)
  // is different: Linux allocates its queue entry with the timer, so it is
  // always queued, as an entry of its own even when the standard signal
  // is already pending, and counts against no limit. The timer itself
  // keeps it to one entry at a time (HasTimerEntry).
  enum class Result { kQueued, kCoalesced, kOverflow };
  enum class Origin { kSend, kTimer };
  Result Enqueue(const siginfo_t& info, bool has_room,
                 Origin origin = Origin::kSend);
  // Whether timer `timer_id`'s entry for `sig` is queued here.
  bool HasTimerEntry(int sig, int timer_id) const;

  // Removes the signal to deliver next among those not in `blocked`:
  // synchronous ones first, then the lowest number. False if none.
  bool Dequeue(SigSet blocked, siginfo_t* info);
  // Removes one instance of `sig`. False if it is not pending.
  bool DequeueSignal(int sig, siginfo_t* info);

  SigSet pending() const { return pending_; }
  // Entries that carry their siginfo (what RLIMIT_SIGPENDING counts).
  uint64_t queued() const { return queued_; }
  // Forgets every pending instance of the signals in `set`.
  void Discard(SigSet set);

 private:
  struct Entry {
    siginfo_t info;
    // Counts against RLIMIT_SIGPENDING (false: its information was lost
    // for lack of room, or it is a timer's own entry).
    bool counted;
    int timer_id = -1;  // the POSIX timer whose entry this is, if any
  };
  // Counts an entry leaving a queue, whichever way.
  void Removed(int sig, const Entry& e);

  SigSet pending_ = 0;
  std::deque<Entry> queue_[kMaxSignal];
  // Timer entries queued, by timer id << 8 | signal: HasTimerEntry must
  // not scan queues a guest can fill.
  absl::flat_hash_map<uint64_t, int> timer_entries_;
  uint64_t queued_ = 0;
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_SIGNAL_H_
