// Implements timerfd_create(2), timerfd_settime(2) and timerfd_gettime(2).

#include <sys/timerfd.h>

#include "sentry/fs/timerfd/timerfd.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

using fs::timerfd::Setting;
using fs::timerfd::TimerFD;

struct GuestItimerspec {
  struct timespec interval;
  struct timespec value;
};

bool Valid(const struct timespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000;
}

GuestItimerspec ToGuest(const Setting& s) {
  return GuestItimerspec{absl::ToTimespec(s.interval),
                         absl::ToTimespec(s.value)};
}

// The timerfd at `fd`: EBADF if there is no file, EINVAL if it is another
// kind.
SysResult<std::shared_ptr<TimerFD>> GetTimerFD(Task& t, int fd) {
  return GetFileOf<TimerFD>(t, fd, EINVAL);
}

}  // namespace

// Implements Linux syscall timerfd_create(2).
SENTRY_SYSCALL(SysTimerfdCreate) {
  clockid_t clock = a.Int(0);
  int flags = a.Int(1);
  if ((flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) != 0 ||
      !fs::timerfd::ValidClock(clock)) {
    return Errno(EINVAL);
  }
  // No guest has CAP_WAKE_ALARM (the sandbox cannot wake the host).
  if (clock == CLOCK_REALTIME_ALARM || clock == CLOCK_BOOTTIME_ALARM) {
    return Errno(EPERM);
  }
  auto f = fs::timerfd::NewTimerFD(clock, flags, &t.kernel().timers());
  SENTRY_ASSIGN_OR_RETURN(int fd, t.NewFd(f, (flags & TFD_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

// Implements Linux syscall timerfd_settime(2).
SENTRY_SYSCALL(SysTimerfdSettime) {
  int flags = a.Int(1);
  if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) != 0) {
    return Errno(EINVAL);
  }
  GuestItimerspec nv;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &nv));
  if (!Valid(nv.value) || !Valid(nv.interval)) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<TimerFD> tf, GetTimerFD(t, a.Int(0)));
  bool absolute = (flags & TFD_TIMER_ABSTIME) != 0;
  // Linux honours TFD_TIMER_CANCEL_ON_SET only for absolute realtime
  // timers. It never fires here: guests cannot set the clock.
  bool cancel_on_set =
      absolute && (flags & TFD_TIMER_CANCEL_ON_SET) != 0 &&
      (tf->clock() == CLOCK_REALTIME || tf->clock() == CLOCK_REALTIME_ALARM);
  Setting old =
      tf->Set(absl::DurationFromTimespec(nv.value),
              absl::DurationFromTimespec(nv.interval), absolute, cancel_on_set);
  if (!a.Addr(3).IsNull()) {
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(3), ToGuest(old)));
  }
  return 0;
}

// Implements Linux syscall timerfd_gettime(2).
SENTRY_SYSCALL(SysTimerfdGettime) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<TimerFD> tf, GetTimerFD(t, a.Int(0)));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), ToGuest(tf->Get())));
  return 0;
}

}  // namespace sentry::syscalls
