// timerfd: a timer whose expirations are read as a count, as
// timerfd_create(2) makes it.
//
// The timer keeps its next expiry on the sentry's own timeline
// (absl::Now); absolute settings on another clock are converted when set
// (the guest cannot set any clock, so the clocks never jump apart). As in
// Linux, a single service timer is pending only while the count is 0:
// once an expiry has made the file readable, later expiries of an
// interval timer are counted when the count is next looked at (a read,
// poll, or timerfd_gettime), not each by a wakeup of its own.
//
// TFD_TIMER_CANCEL_ON_SET is accepted and recorded, but never cancels: the
// realtime clock of a sandbox is never set (clock_settime and
// settimeofday fail with EPERM), which is the event it waits for.
//
// Lock order: TimerFD::State::mu before the queue's lock and before the
// timer service's lock. Service callbacks take State::mu themselves.

#ifndef SENTRY_FS_TIMERFD_TIMERFD_H_
#define SENTRY_FS_TIMERFD_TIMERFD_H_

#include <time.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/waiter.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/kernel/timers.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::timerfd {

// A setting as timerfd_settime and timerfd_gettime see it: time to the
// next expiry (zero when disarmed) and the interval (zero for one-shot).
struct Setting {
  absl::Duration value;
  absl::Duration interval;
};

class TimerFD final : public vfs::StreamFD, public anon::RecordReads {
 public:
  // `service` runs the expiries; it must outlive the file.
  TimerFD(vfs::VirtualDentry vd, int flags, clockid_t clock,
          kernel::TimerService* service);
  ~TimerFD() override;

  clockid_t clock() const { return clock_; }

  // timerfd_settime(2): arms the timer for `value` from now, or at
  // `value` on the clock with `absolute` (disarms it if `value` is zero),
  // forgets unread expirations, and returns the previous setting.
  Setting Set(absl::Duration value, absl::Duration interval, bool absolute,
              bool cancel_on_set);
  // timerfd_gettime(2).
  Setting Get();
  // TFD_IOC_SET_TICKS: makes `ticks` (> 0) expirations readable.
  void SetTicks(uint64_t ticks);

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  // Linux's noop_llseek: any seek "succeeds" and reports position 0.
  SysResult<int64_t> Seek(int64_t, int, int64_t* pos) override { return *pos; }
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override { return queue_; }
  std::string AnonName() const override { return "anon_inode:[timerfd]"; }

 private:
  // What the service callback reaches, weakly: it may fire after the file
  // is gone.
  struct State {
    absl::Mutex mu;
    bool armed ABSL_GUARDED_BY(mu) = false;
    absl::Time next ABSL_GUARDED_BY(mu);  // the next expiry, when armed
    absl::Duration interval ABSL_GUARDED_BY(mu);
    uint64_t ticks ABSL_GUARDED_BY(mu) = 0;  // expirations not yet read
    bool cancel_on_set ABSL_GUARDED_BY(mu) = false;
    kernel::TimerService::Id service_id ABSL_GUARDED_BY(mu) = 0;
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  };

  // Counts the expirations due by `now`; notifies readers when the count
  // leaves 0.
  void AdvanceLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu);
  // Makes the service timer match the state: pending at `next` while
  // armed and nothing is left to read, else none.
  void RescheduleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu);
  Setting GetLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu);
  static void Fire(const std::weak_ptr<TimerFD>& self, uint64_t generation);

  const clockid_t clock_;
  kernel::TimerService* const service_;
  const std::shared_ptr<WaitQueue> queue_;
  const std::unique_ptr<State> state_;
};

// Whether timerfd_create(2) takes `clock` (the *_ALARM clocks included).
bool ValidClock(clockid_t clock);

// timerfd_create(2): a new disarmed timerfd on `clock`, with `flags`
// O_NONBLOCK or not.
std::shared_ptr<TimerFD> NewTimerFD(clockid_t clock, int flags,
                                    kernel::TimerService* service);

}  // namespace sentry::fs::timerfd

#endif  // SENTRY_FS_TIMERFD_TIMERFD_H_
