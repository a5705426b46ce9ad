// Implements clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
// nanosleep(2), clock_nanosleep(2).

#include <sys/time.h>
#include <time.h>

#include "absl/time/clock.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

// The clocks a guest may read. Host clocks serve the wall and monotonic
// ones; the CPU clocks are approximated by the sentry thread's CPU time
// until per-task accounting lands (#3).
SysResult<clockid_t> HostClock(clockid_t clk) {
  switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
      return clk;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      return CLOCK_THREAD_CPUTIME_ID;
    default:
      return Errno(EINVAL);
  }
}

bool ValidTimespec(const struct timespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000;
}

// Sleeps until `deadline` on `clk`. Nothing can interrupt a sleep before
// signal delivery exists (#3).
void SleepUntil(clockid_t clk, const struct timespec& deadline) {
  while (clock_nanosleep(clk, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

}  // namespace

// Implements Linux syscall clock_gettime(2).
SENTRY_SYSCALL(SysClockGettime) {
  SENTRY_ASSIGN_OR_RETURN(clockid_t clk, HostClock(a.Int(0)));
  struct timespec ts;
  if (clock_gettime(clk, &ts) != 0) return Errno::FromHost();
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), ts));
  return 0;
}

// Implements Linux syscall clock_getres(2).
SENTRY_SYSCALL(SysClockGetres) {
  SENTRY_ASSIGN_OR_RETURN(clockid_t clk, HostClock(a.Int(0)));
  struct timespec ts;
  if (clock_getres(clk, &ts) != 0) return Errno::FromHost();
  if (!a.Addr(1).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), ts));
  return 0;
}

// Implements Linux syscall gettimeofday(2). The timezone is always UTC.
SENTRY_SYSCALL(SysGettimeofday) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  if (!a.Addr(0).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), tv));
  if (!a.Addr(1).IsNull()) {
    struct timezone tz = {0, 0};
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), tz));
  }
  return 0;
}

// Implements Linux syscall time(2).
SENTRY_SYSCALL(SysTime) {
  int64_t now = absl::ToUnixSeconds(absl::Now());
  if (!a.Addr(0).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), now));
  return static_cast<uint64_t>(now);
}

// Implements Linux syscall nanosleep(2).
SENTRY_SYSCALL(SysNanosleep) {
  struct timespec req;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(0), &req));
  if (!ValidTimespec(req)) return Errno(EINVAL);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  absl::Duration d =
      absl::DurationFromTimespec(now) + absl::DurationFromTimespec(req);
  SleepUntil(CLOCK_MONOTONIC, absl::ToTimespec(d));
  return 0;
}

// Implements Linux syscall clock_nanosleep(2).
SENTRY_SYSCALL(SysClockNanosleep) {
  clockid_t clk = a.Int(0);
  int flags = a.Int(1);
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC &&
      clk != CLOCK_BOOTTIME && clk != CLOCK_TAI) {
    // Linux cannot sleep on the calling thread's own CPU clock
    // (EOPNOTSUPP) and knows no other ids (EINVAL). Sleeping on the process
    // CPU clock needs per-task CPU accounting (#3): refused the same way.
    if (clk == CLOCK_THREAD_CPUTIME_ID || clk == CLOCK_PROCESS_CPUTIME_ID) {
      return Errno(EOPNOTSUPP);
    }
    return Errno(EINVAL);
  }
  struct timespec req;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &req));
  if (!ValidTimespec(req)) return Errno(EINVAL);
  if ((flags & TIMER_ABSTIME) != 0) {
    SleepUntil(clk, req);
    return 0;
  }
  struct timespec now;
  clock_gettime(clk, &now);
  SleepUntil(clk, absl::ToTimespec(absl::DurationFromTimespec(now) +
                                   absl::DurationFromTimespec(req)));
  return 0;
}

}  // namespace sentry::syscalls
