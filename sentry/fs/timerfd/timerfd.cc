#include "sentry/fs/timerfd/timerfd.h"

#include <poll.h>
#include <sys/ioctl.h>

#include <cstring>
#include <optional>

#include "absl/time/clock.h"
#include "sentry/fs/anon/anon.h"

namespace sentry::fs::timerfd {

namespace {

// TFD_IOC_SET_TICKS: _IOW('T', 0, u64). <sys/timerfd.h> has it only in
// recent glibc.
constexpr uint32_t kSetTicks = _IOW('T', 0, uint64_t);

// When `clock` reads `at`, on the sentry's timeline.
absl::Time ToSentryTime(clockid_t clock, absl::Duration at) {
  clockid_t host = clock;
  if (clock == CLOCK_REALTIME_ALARM) host = CLOCK_REALTIME;
  if (clock == CLOCK_BOOTTIME_ALARM) host = CLOCK_BOOTTIME;
  absl::Time now = absl::Now();
  struct timespec ts;
  if (clock_gettime(host, &ts) != 0) return now + at;
  return now + (at - absl::DurationFromTimespec(ts));
}

}  // namespace

TimerFD::TimerFD(vfs::VirtualDentry vd, int flags, clockid_t clock,
                 kernel::TimerService* service)
    : StreamFD(std::move(vd), flags),
      clock_(clock),
      service_(service),
      queue_(std::make_shared<WaitQueue>()),
      state_(std::make_unique<State>()) {}

TimerFD::~TimerFD() {
  absl::MutexLock l(&state_->mu);
  if (state_->service_id != 0) service_->Cancel(state_->service_id);
}

void TimerFD::AdvanceLocked(absl::Time now) {
  State& s = *state_;
  if (!s.armed || now < s.next) return;
  uint64_t before = s.ticks;
  if (s.interval > absl::ZeroDuration()) {
    // This expiry and every interval since.
    absl::Duration rem;
    int64_t missed = absl::IDivDuration(now - s.next, s.interval, &rem);
    uint64_t n = static_cast<uint64_t>(missed) + 1;
    s.ticks += n;
    s.next += s.interval * static_cast<int64_t>(n);
  } else {
    s.ticks++;
    s.armed = false;
  }
  if (before == 0) queue_->Notify(kEventIn);
}

void TimerFD::RescheduleLocked() {
  State& s = *state_;
  if (s.service_id != 0) {
    service_->Cancel(s.service_id);
    s.service_id = 0;
  }
  s.generation++;
  if (!s.armed || s.ticks > 0) return;
  std::weak_ptr<TimerFD> self =
      std::static_pointer_cast<TimerFD>(shared_from_this());
  uint64_t gen = s.generation;
  s.service_id = service_->Schedule(s.next, [self, gen] { Fire(self, gen); });
}

void TimerFD::Fire(const std::weak_ptr<TimerFD>& self, uint64_t generation) {
  std::shared_ptr<TimerFD> t = self.lock();
  if (t == nullptr) return;
  absl::MutexLock l(&t->state_->mu);
  State& s = *t->state_;
  // A later Set or read replaced this timer.
  if (s.generation != generation) return;
  s.service_id = 0;
  t->AdvanceLocked(absl::Now());
  // Early by the clock's rounding: wait again.
  if (s.armed && s.ticks == 0) t->RescheduleLocked();
}

Setting TimerFD::GetLocked(absl::Time now) {
  State& s = *state_;
  AdvanceLocked(now);
  Setting v{absl::ZeroDuration(), s.interval};
  if (s.armed) {
    v.value = s.next - now;
    // Due now but not yet counted reads as the smallest time left, never
    // as "disarmed".
    if (v.value <= absl::ZeroDuration()) v.value = absl::Nanoseconds(1);
  }
  return v;
}

Setting TimerFD::Set(absl::Duration value, absl::Duration interval,
                     bool absolute, bool cancel_on_set) {
  absl::MutexLock l(&state_->mu);
  State& s = *state_;
  absl::Time now = absl::Now();
  Setting old = GetLocked(now);
  s.ticks = 0;
  s.interval = interval;
  s.cancel_on_set = cancel_on_set;
  s.armed = value != absl::ZeroDuration();
  if (s.armed) s.next = absolute ? ToSentryTime(clock_, value) : now + value;
  // An absolute deadline already passed expires at once.
  AdvanceLocked(now);
  RescheduleLocked();
  return old;
}

Setting TimerFD::Get() {
  absl::MutexLock l(&state_->mu);
  return GetLocked(absl::Now());
}

void TimerFD::SetTicks(uint64_t ticks) {
  absl::MutexLock l(&state_->mu);
  State& s = *state_;
  uint64_t before = s.ticks;
  s.ticks = ticks;
  if (before == 0) queue_->Notify(kEventIn);
  RescheduleLocked();
}

SysResult<size_t> TimerFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                                int64_t*) {
  if (len < sizeof(uint64_t)) return Errno(EINVAL);
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&state_->mu);
      State& s = *state_;
      AdvanceLocked(absl::Now());
      if (s.ticks > 0) {
        uint64_t v = s.ticks;
        s.ticks = 0;
        memcpy(buf, &v, sizeof(v));
        RescheduleLocked();  // an interval timer waits for its next expiry
        return sizeof(v);
      }
      if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(queue_.get(), ctx.waiter(), kEventIn);
      continue;  // re-check now that no wake can be missed
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<int64_t> TimerFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                  uint64_t arg) {
  if (cmd != kSetTicks) return FileDescription::Ioctl(ctx, cmd, arg);
  uint64_t ticks;
  SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(GuestAddr(arg), &ticks));
  if (ticks == 0) return Errno(EINVAL);
  SetTicks(ticks);
  return 0;
}

uint32_t TimerFD::Readiness(uint32_t mask) {
  absl::MutexLock l(&state_->mu);
  AdvanceLocked(absl::Now());
  return state_->ticks > 0 ? mask & (POLLIN | POLLRDNORM) : 0;
}

bool ValidClock(clockid_t clock) {
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
      return true;
    default:
      return false;
  }
}

std::shared_ptr<TimerFD> NewTimerFD(clockid_t clock, int flags,
                                    kernel::TimerService* service) {
  vfs::VirtualDentry vd = anon::NewAnonFile("anon_inodefs", 0600, 0, 0);
  return std::make_shared<TimerFD>(std::move(vd), O_RDWR | (flags & O_NONBLOCK),
                                   clock, service);
}

}  // namespace sentry::fs::timerfd
