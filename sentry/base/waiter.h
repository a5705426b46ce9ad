// Blocking in the sentry: a Waiter per task, and WaitQueues on what tasks
// wait for (a pipe, a futex, a child's exit, a timer).
//
// The pattern: register on every queue of interest, check the condition,
// then Wait; a Notify between the check and the Wait is not lost (the
// waiter's eventfd stays readable). Callers re-check after every wake:
// wakes may be spurious.
//
// Lock order: WaitQueue::mu_ is a leaf; Notify never blocks.

#ifndef SENTRY_BASE_WAITER_H_
#define SENTRY_BASE_WAITER_H_

#include <poll.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/host_fd.h"

namespace sentry {

// Anything a WaitQueue can wake: a blocked task's Waiter, or an epoll
// instance watching the queue's file. Notify runs under the queue's lock:
// it must not block or take locks a notifier may hold.
class WaitEntry {
 public:
  virtual ~WaitEntry() = default;
  virtual void Notify(uint32_t events) = 0;
};

class Waiter final : public WaitEntry {
 public:
  Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Wakes the owner's current or next Wait. Thread-safe, async-safe in
  // effect (one write to an eventfd).
  void Notify();
  void Notify(uint32_t) override { Notify(); }

  // Blocks until notified, until one of `host` (host fds to watch, for
  // files backed by the host) is ready, or until `deadline`. Returns false
  // on timeout. Consumes the notification.
  bool Wait(std::optional<absl::Time> deadline,
            std::vector<struct pollfd>* host = nullptr);

 private:
  HostFd efd_;
};

// Event bits for WaitQueue (the poll(2) bits, plus the sentry's own).
inline constexpr uint32_t kEventIn = POLLIN;
inline constexpr uint32_t kEventOut = POLLOUT;
inline constexpr uint32_t kEventErr = POLLERR;
inline constexpr uint32_t kEventHup = POLLHUP;
inline constexpr uint32_t kEventRdHup = POLLRDHUP;
inline constexpr uint32_t kEventAll = 0xffffffff;

class WaitQueue final {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  void Add(WaitEntry* w, uint32_t events);
  void Remove(WaitEntry* w);
  // Wakes every entry whose events intersect `events`.
  void Notify(uint32_t events);

 private:
  absl::Mutex mu_;
  std::vector<std::pair<WaitEntry*, uint32_t>> waiters_ ABSL_GUARDED_BY(mu_);
};

// Registers a waiter on a queue for the scope of a wait.
class ScopedWait final {
 public:
  ScopedWait(WaitQueue* q, WaitEntry* w, uint32_t events) : q_(q), w_(w) {
    if (q_ != nullptr) q_->Add(w_, events);
  }
  ~ScopedWait() {
    if (q_ != nullptr) q_->Remove(w_);
  }
  ScopedWait(const ScopedWait&) = delete;
  ScopedWait& operator=(const ScopedWait&) = delete;

 private:
  WaitQueue* q_;
  WaitEntry* w_;
};

}  // namespace sentry

#endif  // SENTRY_BASE_WAITER_H_
