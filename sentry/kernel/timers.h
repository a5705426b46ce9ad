// A timer service: runs callbacks at given times on one host thread.
//
// Callbacks run without the service's lock held and may take Kernel::mu_;
// they must tolerate running after a racing Cancel (check that what they
// fire for is still armed, under the lock that guards it).
//
// Lock order: TimerService::mu_ is a leaf.

#ifndef SENTRY_KERNEL_TIMERS_H_
#define SENTRY_KERNEL_TIMERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sentry::kernel {

class TimerService final {
 public:
  using Id = uint64_t;  // never 0

  TimerService() = default;
  ~TimerService();
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Runs `fn` at `when` (or at once if that has passed).
  Id Schedule(absl::Time when, std::function<void()> fn);
  // Forgets a timer that has not fired yet. Harmless if it has.
  void Cancel(Id id);

 private:
  void Loop();

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::multimap<absl::Time, Id> queue_ ABSL_GUARDED_BY(mu_);
  std::map<Id, std::pair<absl::Time, std::function<void()>>> timers_
      ABSL_GUARDED_BY(mu_);
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_TIMERS_H_
