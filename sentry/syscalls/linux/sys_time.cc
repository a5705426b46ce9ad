// Implements the time system calls: clock_gettime(2), clock_getres(2),
// clock_settime(2), gettimeofday(2), settimeofday(2), time(2),
// nanosleep(2), clock_nanosleep(2), getitimer(2), setitimer(2), alarm(2),
// timer_create(2), timer_settime(2), timer_gettime(2),
// timer_getoverrun(2), timer_delete(2), times(2) and getrusage(2).

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>

#include "absl/time/clock.h"
#include "glog/logging.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

using kernel::ThreadGroup;
using kernel::Usage;

namespace {

constexpr int64_t kNsPerSec = 1000000000;

bool ValidTimespec(const struct timespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec;
}

bool ValidTimeval(const struct timeval& tv) {
  return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000;
}

// A CPU-time clock id: (~pid << 3) | thread bit (4) | which (0 prof,
// 1 virt, 2 sched); which 3 is a clock fd (unsupported).
struct CpuClock {
  int pid = 0;
  bool thread = false;
  int which = 2;
};

std::optional<CpuClock> DecodeCpuClock(clockid_t clk) {
  if (clk == CLOCK_PROCESS_CPUTIME_ID) return CpuClock{0, false, 2};
  if (clk == CLOCK_THREAD_CPUTIME_ID) return CpuClock{0, true, 2};
  if (clk >= 0) return std::nullopt;
  CpuClock c;
  c.pid = ~(clk >> 3);
  c.thread = (clk & 4) != 0;
  c.which = clk & 3;
  return c;
}

bool IsWallClock(clockid_t clk) {
  switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
      return true;
    default:
      return false;
  }
}

// The CPU time a CPU clock measures, or EINVAL for a clock the caller may
// not read (a thread of another process, a pid that is not a process).
SysResult<absl::Duration> ReadCpuClock(Task& t, const CpuClock& c) {
  auto pick = [&](const Usage& u) {
    return c.which == 1 ? u.user : u.user + u.sys;
  };
  if (c.thread) {
    if (c.pid == 0) return pick(t.usage());
    std::shared_ptr<Task> x = t.kernel().FindTask(c.pid);
    if (x == nullptr || x->tgid() != t.tgid()) return Errno(EINVAL);
    return pick(x->usage());
  }
  std::shared_ptr<ThreadGroup> g =
      c.pid == 0 ? t.tg_ptr() : t.kernel().FindThreadGroup(c.pid);
  if (g == nullptr) return Errno(EINVAL);
  absl::MutexLock l(&t.kernel().mu());
  return pick(t.kernel().GroupUsageLocked(g.get()));
}

// A clock's reading, as a duration since its epoch.
SysResult<absl::Duration> ReadClock(Task& t, clockid_t clk) {
  if (IsWallClock(clk)) {
    clockid_t host = clk;
    if (clk == CLOCK_REALTIME_ALARM) host = CLOCK_REALTIME;
    if (clk == CLOCK_BOOTTIME_ALARM) host = CLOCK_BOOTTIME;
    struct timespec ts;
    if (clock_gettime(host, &ts) != 0) return Errno::FromHost();
    return absl::DurationFromTimespec(ts);
  }
  std::optional<CpuClock> c = DecodeCpuClock(clk);
  if (!c || c->which == 3) return Errno(EINVAL);
  return ReadCpuClock(t, *c);
}

// When `clk` will read `at`, on the sentry's own timeline (absl::Now).
absl::Time WallDeadline(Task& t, clockid_t clk, absl::Duration at) {
  SysResult<absl::Duration> now = ReadClock(t, clk);
  return absl::Now() + (at - (now.ok() ? *now : at));
}

// Sleeps until `deadline`: Ok at the deadline, kERESTARTSYS if a signal
// came first.
SysResult<void> SleepUntil(Task& t, absl::Time deadline) {
  for (;;) {
    SysResult<void> r = t.Block(deadline);
    if (!r.ok()) {
      if (r.err() == ETIMEDOUT) return Ok();
      return r;
    }
    if (absl::Now() >= deadline) return Ok();
  }
}

// Sleeps until the process's CPU clock reaches `target`, checking at the
// CPU-timer tick.
SysResult<void> SleepUntilCpu(Task& t, const CpuClock& c,
                              absl::Duration target) {
  for (;;) {
    SENTRY_ASSIGN_OR_RETURN(absl::Duration now, ReadCpuClock(t, c));
    if (now >= target) return Ok();
    SysResult<void> r = t.Block(absl::Now() + absl::Milliseconds(10));
    if (!r.ok() && r.err() != ETIMEDOUT) return r;
  }
}

struct timespec ClampedTimespec(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  return absl::ToTimespec(d);
}

struct timeval ClampedTimeval(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  return absl::ToTimeval(d);
}

}  // namespace

// Implements Linux syscall clock_gettime(2).
SENTRY_SYSCALL(SysClockGettime) {
  SENTRY_ASSIGN_OR_RETURN(absl::Duration d, ReadClock(t, a.Int(0)));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), absl::ToTimespec(d)));
  return 0;
}

// Implements Linux syscall clock_getres(2).
SENTRY_SYSCALL(SysClockGetres) {
  clockid_t clk = a.Int(0);
  struct timespec ts = {0, 1};
  if (IsWallClock(clk)) {
    clockid_t host = clk == CLOCK_REALTIME_ALARM   ? CLOCK_REALTIME
                     : clk == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME
                                                   : clk;
    if (clock_getres(host, &ts) != 0) return Errno::FromHost();
  } else {
    SENTRY_RETURN_IF_ERROR(ReadClock(t, clk).status());
    // The profiling and virtual CPU clocks count in scheduler ticks
    // (Linux: one jiffy, at HZ=250 here); the scheduler clock in ns.
    std::optional<CpuClock> c = DecodeCpuClock(clk);
    if (c && c->which != 2) ts = {0, 4000000};
  }
  if (!a.Addr(1).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), ts));
  return 0;
}

// Implements Linux syscall clock_settime(2): setting a clock needs
// CAP_SYS_TIME, which no guest has.
SENTRY_SYSCALL(SysClockSettime) {
  clockid_t clk = a.Int(0);
  struct timespec ts;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &ts));
  if (clk != CLOCK_REALTIME) {
    SENTRY_RETURN_IF_ERROR(ReadClock(t, clk).status());
    return Errno(EINVAL);
  }
  if (!ValidTimespec(ts)) return Errno(EINVAL);
  return Errno(EPERM);
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

// Implements Linux syscall settimeofday(2): needs CAP_SYS_TIME.
SENTRY_SYSCALL(SysSettimeofday) {
  if (!a.Addr(0).IsNull()) {
    struct timeval tv;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(0), &tv));
    if (!ValidTimeval(tv)) return Errno(EINVAL);
  }
  return Errno(EPERM);
}

// Implements Linux syscall time(2).
SENTRY_SYSCALL(SysTime) {
  int64_t now = absl::ToUnixSeconds(absl::Now());
  if (!a.Addr(0).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), now));
  return static_cast<uint64_t>(now);
}

namespace {

// A relative sleep until `deadline`, which a handler interrupts with EINTR
// and the time left in `rem`, and which otherwise resumes through
// restart_syscall (ERESTART_RESTARTBLOCK), keeping its deadline.
SysResult<uint64_t> RelativeSleep(Task& t, absl::Time deadline, GuestAddr rem) {
  SysResult<void> r = SleepUntil(t, deadline);
  if (r.ok()) return 0;
  if (!rem.IsNull()) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutObj(rem, ClampedTimespec(deadline - absl::Now())));
  }
  t.SetRestart([deadline, rem](Task& t2) -> SysResult<uint64_t> {
    return RelativeSleep(t2, deadline, rem);
  });
  return Errno(kERESTART_RESTARTBLOCK);
}

}  // namespace

// Implements Linux syscall nanosleep(2).
SENTRY_SYSCALL(SysNanosleep) {
  struct timespec req;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(0), &req));
  if (!ValidTimespec(req)) return Errno(EINVAL);
  return RelativeSleep(t, absl::Now() + absl::DurationFromTimespec(req),
                       a.Addr(1));
}

// Implements Linux syscall clock_nanosleep(2).
SENTRY_SYSCALL(SysClockNanosleep) {
  clockid_t clk = a.Int(0);
  int flags = a.Int(1);
  std::optional<CpuClock> cpu;
  if (clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM) {
    return Errno(EPERM);  // needs CAP_WAKE_ALARM
  }
  if (clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_REALTIME_COARSE ||
      clk == CLOCK_MONOTONIC_COARSE) {
    return Errno(EOPNOTSUPP);  // clocks with no timers
  }
  if (!IsWallClock(clk)) {
    cpu = DecodeCpuClock(clk);
    if (!cpu || cpu->which == 3) return Errno(EINVAL);
    // Nothing can sleep on a thread's CPU clock: the calling thread's has
    // no sleep at all (EOPNOTSUPP), another's is refused (EINVAL).
    if (clk == CLOCK_THREAD_CPUTIME_ID) return Errno(EOPNOTSUPP);
    if (cpu->thread) return Errno(EINVAL);
    SENTRY_RETURN_IF_ERROR(ReadCpuClock(t, *cpu).status());
  }
  struct timespec req;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &req));
  if (!ValidTimespec(req)) return Errno(EINVAL);
  absl::Duration want = absl::DurationFromTimespec(req);
  bool abs = (flags & TIMER_ABSTIME) != 0;
  if (cpu) {
    absl::Duration target = want;
    if (!abs) {
      SENTRY_ASSIGN_OR_RETURN(absl::Duration now, ReadCpuClock(t, *cpu));
      target += now;
    }
    SysResult<void> r = SleepUntilCpu(t, *cpu, target);
    if (r.ok()) return 0;
    return Errno(abs ? kERESTARTNOHAND : EINTR);
  }
  if (abs) {
    // An absolute sleep restarts with the same arguments.
    SysResult<void> r = SleepUntil(t, WallDeadline(t, clk, want));
    if (r.ok()) return 0;
    return Errno(kERESTARTNOHAND);
  }
  return RelativeSleep(t, absl::Now() + want, a.Addr(3));
}

// ---- Interval timers ----

namespace {

struct ItimerVal {
  struct timeval interval;
  struct timeval value;
};

ItimerVal GetItimerLocked(Task& t, int which)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  ThreadGroup& g = t.tg();
  ItimerVal v{};
  if (which == ITIMER_REAL) {
    if (g.itimer_real.id != 0) {
      absl::Duration left = g.itimer_real.deadline - absl::Now();
      // An armed timer never reads as zero: that means disarmed.
      if (left <= absl::ZeroDuration()) left = absl::Microseconds(1);
      v.value = ClampedTimeval(left);
      v.interval = ClampedTimeval(g.itimer_real.interval);
    }
    return v;
  }
  kernel::CpuTimer& ct =
      which == ITIMER_VIRTUAL ? g.itimer_virtual : g.itimer_prof;
  if (ct.armed) {
    Usage u = t.kernel().GroupUsageLocked(&g);
    absl::Duration now = which == ITIMER_VIRTUAL ? u.user : u.user + u.sys;
    absl::Duration left = ct.expires - now;
    if (left <= absl::ZeroDuration()) left = absl::Microseconds(1);
    v.value = ClampedTimeval(left);
    v.interval = ClampedTimeval(ct.interval);
  }
  return v;
}

void SetItimerLocked(Task& t, int which, const ItimerVal& v)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  ThreadGroup& g = t.tg();
  absl::Duration value = absl::DurationFromTimeval(v.value);
  absl::Duration interval = absl::DurationFromTimeval(v.interval);
  if (which == ITIMER_REAL) {
    g.itimer_real.interval = interval;
    g.itimer_real.deadline = value == absl::ZeroDuration()
                                 ? absl::InfinitePast()
                                 : absl::Now() + value;
    t.kernel().ArmRealTimerLocked(&g);
    return;
  }
  kernel::CpuTimer& ct =
      which == ITIMER_VIRTUAL ? g.itimer_virtual : g.itimer_prof;
  Usage u = t.kernel().GroupUsageLocked(&g);
  absl::Duration now = which == ITIMER_VIRTUAL ? u.user : u.user + u.sys;
  ct.armed = value != absl::ZeroDuration();
  ct.expires = now + value;
  ct.interval = interval;
  t.kernel().EnsureCpuTickLocked();
}

}  // namespace

// Implements Linux syscall getitimer(2).
SENTRY_SYSCALL(SysGetitimer) {
  int which = a.Int(0);
  if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
    return Errno(EINVAL);
  ItimerVal v;
  {
    absl::MutexLock l(&t.kernel().mu());
    v = GetItimerLocked(t, which);
  }
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), v));
  return 0;
}

// Implements Linux syscall setitimer(2). A null new value disarms, as
// Linux still accepts.
SENTRY_SYSCALL(SysSetitimer) {
  int which = a.Int(0);
  if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
    return Errno(EINVAL);
  ItimerVal nv{};
  if (!a.Addr(1).IsNull()) {
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &nv));
    if (!ValidTimeval(nv.value) || !ValidTimeval(nv.interval))
      return Errno(EINVAL);
  }
  ItimerVal old;
  {
    absl::MutexLock l(&t.kernel().mu());
    old = GetItimerLocked(t, which);
    SetItimerLocked(t, which, nv);
  }
  if (!a.Addr(2).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), old));
  return 0;
}

// Implements Linux syscall alarm(2).
SENTRY_SYSCALL(SysAlarm) {
  ItimerVal nv{};
  nv.value.tv_sec = a.U32(0);
  absl::MutexLock l(&t.kernel().mu());
  ItimerVal old = GetItimerLocked(t, ITIMER_REAL);
  SetItimerLocked(t, ITIMER_REAL, nv);
  uint64_t secs = static_cast<uint64_t>(old.value.tv_sec);
  // Linux rounds to the nearest second, and never reports an armed alarm
  // as 0.
  if ((secs == 0 && old.value.tv_usec != 0) || old.value.tv_usec >= 500000)
    secs++;
  return secs;
}

// ---- POSIX timers ----

namespace {

struct GuestSigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  int32_t pad[11];
};
static_assert(sizeof(GuestSigevent) == 64);

struct ItimerSpec {
  struct timespec interval;
  struct timespec value;
};

SysResult<kernel::PosixTimer*> FindTimerLocked(Task& t, int id)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  auto it = t.tg().posix_timers.find(id);
  if (it == t.tg().posix_timers.end()) return Errno(EINVAL);
  return &it->second;
}

bool IsCpuTimer(const kernel::PosixTimer& pt) {
  return pt.clock < 0 || pt.clock == CLOCK_PROCESS_CPUTIME_ID ||
         pt.clock == CLOCK_THREAD_CPUTIME_ID;
}

// The CPU clock of a timer, with pid 0 resolved to the creator.
CpuClock TimerCpuClock(const kernel::PosixTimer& pt) {
  return *DecodeCpuClock(pt.clock);
}

ItimerSpec GetTimerLocked(Task& t, kernel::PosixTimer& pt)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  ItimerSpec v{};
  v.interval = absl::ToTimespec(pt.interval);
  if (!pt.armed) return v;
  absl::Duration left;
  if (IsCpuTimer(pt)) {
    CpuClock c = TimerCpuClock(pt);
    Usage u;
    if (c.thread) {
      Task* x = c.pid == 0 ? &t : t.kernel().FindTaskLocked(c.pid);
      if (x != nullptr) u = x->usage();
    } else {
      u = t.kernel().GroupUsageLocked(&t.tg());
    }
    left = pt.cpu_expires - (c.which == 1 ? u.user : u.user + u.sys);
  } else {
    left = pt.deadline - absl::Now();
    if (pt.notify == SIGEV_NONE && left <= absl::ZeroDuration() &&
        pt.interval > absl::ZeroDuration()) {
      // Nothing fires a SIGEV_NONE timer: step it along here.
      int64_t periods = (-left) / pt.interval + 1;
      pt.deadline += pt.interval * periods;
      left = pt.deadline - absl::Now();
    }
  }
  if (left <= absl::ZeroDuration()) {
    if (pt.notify == SIGEV_NONE && pt.interval == absl::ZeroDuration()) {
      pt.armed = false;
      return v;
    }
    left = absl::Nanoseconds(1);
  }
  v.value = absl::ToTimespec(left);
  return v;
}

}  // namespace

// Implements Linux syscall timer_create(2).
SENTRY_SYSCALL(SysTimerCreate) {
  clockid_t clk = a.Int(0);
  if (clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM) {
    return Errno(EPERM);  // needs CAP_WAKE_ALARM
  }
  if (clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_REALTIME_COARSE ||
      clk == CLOCK_MONOTONIC_COARSE) {
    return Errno(EOPNOTSUPP);  // clocks with no timers
  }
  if (!IsWallClock(clk)) {
    std::optional<CpuClock> c = DecodeCpuClock(clk);
    if (!c || c->which == 3) return Errno(EINVAL);
    SENTRY_RETURN_IF_ERROR(ReadCpuClock(t, *c).status());
  }
  kernel::PosixTimer pt;
  pt.clock = clk;
  bool default_event = a.Addr(1).IsNull();
  if (!default_event) {
    GuestSigevent ev;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &ev));
    switch (ev.notify) {
      case SIGEV_NONE:
        break;
      case SIGEV_SIGNAL:
      case SIGEV_SIGNAL | SIGEV_THREAD_ID:
        if (ev.signo < 1 || ev.signo > kernel::kMaxSignal) {
          return Errno(EINVAL);
        }
        break;
      default:
        return Errno(EINVAL);
    }
    pt.notify = ev.notify;
    pt.signo = ev.signo;
    pt.value = ev.value;
    pt.target_tid = ev.tid;
    if (ev.notify == (SIGEV_SIGNAL | SIGEV_THREAD_ID)) {
      std::shared_ptr<Task> target = t.kernel().FindTask(ev.tid);
      if (target == nullptr || target->tgid() != t.tgid()) {
        return Errno(EINVAL);
      }
    }
  }
  int id;
  {
    absl::MutexLock l(&t.kernel().mu());
    ThreadGroup& g = t.tg();
    if (g.posix_timers.size() >= 65536) return Errno(EAGAIN);
    while (g.posix_timers.count(g.next_timer_id) != 0) {
      g.next_timer_id = (g.next_timer_id + 1) & INT32_MAX;
    }
    id = g.next_timer_id;
    g.next_timer_id = (g.next_timer_id + 1) & INT32_MAX;
    pt.id = id;
    if (default_event) {
      pt.notify = SIGEV_SIGNAL;
      pt.signo = SIGALRM;
      pt.value = static_cast<uint64_t>(id);
    }
    g.posix_timers[id] = pt;
  }
  SysResult<void> w = t.CopyOutObj(a.Addr(2), static_cast<int32_t>(id));
  if (!w.ok()) {
    absl::MutexLock l(&t.kernel().mu());
    t.tg().posix_timers.erase(id);
    return w.error();
  }
  return 0;
}

// Implements Linux syscall timer_settime(2).
SENTRY_SYSCALL(SysTimerSettime) {
  int id = a.Int(0);
  int flags = a.Int(1);
  ItimerSpec nv;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &nv));
  if (!ValidTimespec(nv.value) || !ValidTimespec(nv.interval)) {
    return Errno(EINVAL);
  }
  ItimerSpec old;
  {
    absl::MutexLock l(&t.kernel().mu());
    SENTRY_ASSIGN_OR_RETURN(kernel::PosixTimer * pt, FindTimerLocked(t, id));
    old = GetTimerLocked(t, *pt);
    absl::Duration value = absl::DurationFromTimespec(nv.value);
    pt->interval = absl::DurationFromTimespec(nv.interval);
    pt->armed = value != absl::ZeroDuration();
    pt->overrun = 0;
    bool abs = (flags & TIMER_ABSTIME) != 0;
    if (pt->armed) {
      if (IsCpuTimer(*pt)) {
        CpuClock c = TimerCpuClock(*pt);
        Usage u;
        if (c.thread) {
          Task* x = c.pid == 0 ? &t : t.kernel().FindTaskLocked(c.pid);
          if (x != nullptr) u = x->usage();
        } else {
          u = t.kernel().GroupUsageLocked(&t.tg());
        }
        absl::Duration now = c.which == 1 ? u.user : u.user + u.sys;
        pt->cpu_expires = abs ? value : now + value;
        if (c.thread && c.pid == 0) {
          // Keep the thread the clock belongs to, as its own id.
          pt->clock = static_cast<clockid_t>((~t.tid() << 3) | 4 | 2);
        }
      } else {
        pt->deadline =
            abs ? WallDeadline(t, pt->clock, value) : absl::Now() + value;
      }
    }
    t.kernel().ArmPosixTimerLocked(&t.tg(), pt);
  }
  if (!a.Addr(3).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(3), old));
  return 0;
}

// Implements Linux syscall timer_gettime(2).
SENTRY_SYSCALL(SysTimerGettime) {
  ItimerSpec v;
  {
    absl::MutexLock l(&t.kernel().mu());
    SENTRY_ASSIGN_OR_RETURN(kernel::PosixTimer * pt,
                            FindTimerLocked(t, a.Int(0)));
    v = GetTimerLocked(t, *pt);
  }
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), v));
  return 0;
}

// Implements Linux syscall timer_getoverrun(2).
SENTRY_SYSCALL(SysTimerGetoverrun) {
  absl::MutexLock l(&t.kernel().mu());
  SENTRY_ASSIGN_OR_RETURN(kernel::PosixTimer * pt,
                          FindTimerLocked(t, a.Int(0)));
  return static_cast<uint64_t>(pt->last_overrun);
}

// Implements Linux syscall timer_delete(2).
SENTRY_SYSCALL(SysTimerDelete) {
  absl::MutexLock l(&t.kernel().mu());
  SENTRY_ASSIGN_OR_RETURN(kernel::PosixTimer * pt,
                          FindTimerLocked(t, a.Int(0)));
  pt->armed = false;
  t.kernel().ArmPosixTimerLocked(&t.tg(), pt);
  t.tg().posix_timers.erase(a.Int(0));
  return 0;
}

// ---- Usage ----

namespace {

int64_t Ticks(absl::Duration d) { return absl::ToInt64Milliseconds(d) / 10; }

// The peak resident memory of the caller's address space so far, in KiB
// (0 if the platform cannot tell).
uint64_t LiveMaxRss(Task& t) {
  if (!t.has_mm()) return 0;
  SysResult<uint64_t> kb = t.mm().as().MaxRssKb();
  if (!kb.ok()) LOG(WARNING) << "maxrss: " << strerror(kb.err());
  return kb.ok() ? *kb : 0;
}

}  // namespace

// Implements Linux syscall times(2). Returns clock ticks since boot.
SENTRY_SYSCALL(SysTimes) {
  if (!a.Addr(0).IsNull()) {
    struct tms buf = {};
    {
      absl::MutexLock l(&t.kernel().mu());
      Usage u = t.kernel().GroupUsageLocked(&t.tg());
      buf.tms_utime = Ticks(u.user);
      buf.tms_stime = Ticks(u.sys);
      buf.tms_cutime = Ticks(t.tg().children_usage.user);
      buf.tms_cstime = Ticks(t.tg().children_usage.sys);
    }
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), buf));
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(Ticks(absl::DurationFromTimespec(now)));
}

// Implements Linux syscall getrusage(2): CPU times; the other fields are
// zero.
SENTRY_SYSCALL(SysGetrusage) {
  Usage u;
  switch (a.Int(0)) {
    case RUSAGE_SELF: {
      {
        absl::MutexLock l(&t.kernel().mu());
        u = t.kernel().GroupUsageLocked(&t.tg());
      }
      u.maxrss_kb = std::max(u.maxrss_kb, LiveMaxRss(t));
      break;
    }
    case RUSAGE_CHILDREN: {
      absl::MutexLock l(&t.kernel().mu());
      u = t.tg().children_usage;
      break;
    }
    case RUSAGE_THREAD:
      u = t.usage();
      // Memory is the address space's: the same figure as the process's.
      u.maxrss_kb = LiveMaxRss(t);
      break;
    default:
      return Errno(EINVAL);
  }
  struct rusage r = {};
  r.ru_utime = ClampedTimeval(u.user);
  r.ru_stime = ClampedTimeval(u.sys);
  r.ru_maxrss = static_cast<long>(u.maxrss_kb);
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), r));
  return 0;
}

}  // namespace sentry::syscalls
