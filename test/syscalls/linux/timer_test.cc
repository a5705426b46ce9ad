// Clocks, sleeps and timers: clock_gettime(2) and clock_getres(2) on every
// clock id, including the CPU clocks and the dynamic ids of
// clock_getcpuclockid(3) and pthread_getcpuclockid(3) (a spinning thread's
// clock advances, a sleeping one's does not; a process's clock covers its
// threads; another process's clock can be read), the order of the clocks,
// gettimeofday(2) and time(2); clock_nanosleep(2) on each clock, relative and
// absolute, and its errors; setitimer(2), getitimer(2) and alarm(2)
// (ITIMER_REAL one-shot and interval, the countdown, the old value, alarm's
// rounding, ITIMER_VIRTUAL and ITIMER_PROF counting only CPU time); POSIX
// timers: timer_create(2) with SIGEV_SIGNAL (SI_TIMER, si_value, si_timerid),
// the default sigevent, SIGEV_THREAD_ID, SIGEV_NONE, CPU-time clocks,
// timer_settime(2) relative and absolute with the old value, overruns, the
// timer's own queue entry (beyond RLIMIT_SIGPENDING, beside a pending
// standard signal, and free again once its signal is ignored or discarded),
// and errors; timers across fork(2); times(2) and getrusage(2) for the process,
// a thread and waited-for children. Timing assertions are lower bounds
// (with generous upper bounds only where an absent bound would hide a bug).

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <thread>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::ChangeMask;
using testing_util::CheckedWaitStatus;
using testing_util::Drain;
using testing_util::ExitedWith;
using testing_util::ForkPauser;
using testing_util::FromNs;
using testing_util::Gettid;
using testing_util::IdleThread;
using testing_util::kMs;
using testing_util::kSec;
using testing_util::kUs;
using testing_util::PendingMask;
using testing_util::RtSigtimedwait;
using testing_util::ScopedMask;
using testing_util::SigBit;
using testing_util::ToNs;

// Clock ids without a glibc name.
constexpr clockid_t kClockSgiCycle = 10;  // removed from Linux
constexpr clockid_t kClockTai = 11;

// The encoding of CPU clock ids (include/linux/posix-timers.h).
constexpr int kCpuclockProf = 0;
constexpr int kCpuclockVirt = 1;
constexpr int kCpuclockSched = 2;
clockid_t ProcessCpuClock(pid_t pid, int which) {
  return static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | which);
}
clockid_t ThreadCpuClock(pid_t tid, int which) {
  return static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | which | 4);
}

struct timeval TvFromNs(int64_t ns) {
  struct timeval tv;
  tv.tv_sec = static_cast<time_t>(ns / kSec);
  tv.tv_usec = static_cast<suseconds_t>((ns % kSec) / kUs);
  return tv;
}

// Reads `clock` with the raw syscall; -1 on error.
int64_t ClockNs(clockid_t clock) {
  struct timespec ts = {};
  if (syscall(SYS_clock_gettime, clock, &ts) != 0) return -1;
  return ToNs(ts);
}
// CLOCK_MONOTONIC through the syscall too (testing_util::NowNs would read
// it through the vDSO).
int64_t NowNs() { return ClockNs(CLOCK_MONOTONIC); }

// Burns about 100 us of user-mode CPU time.
void UserWork() {
  volatile uint64_t x = 1;
  for (int i = 0; i < 100000; i++) x = x * 3 + 1;
}

// Spins in user mode until `clock` (a CPU clock of the caller) has advanced
// by `ns`; false if that takes more than 20 s of wall time.
bool SpinFor(clockid_t clock, int64_t ns) {
  int64_t start = ClockNs(clock);
  int64_t deadline = NowNs() + 20 * kSec;
  while (ClockNs(clock) - start < ns) {
    if (NowNs() > deadline) return false;
    UserWork();
  }
  return true;
}

// Blocks `sigs` for the calling thread; at the end discards whatever of
// them is pending (a timer declared later is gone by then, but may have
// fired once more) and restores the mask.
class ScopedBlock {
 public:
  explicit ScopedBlock(std::initializer_list<int> sigs)
      : mask_(SIG_BLOCK, sigs) {
    for (int s : sigs) set_ |= SigBit(s);
  }
  ~ScopedBlock() {
    struct timespec zero = {0, 0};
    while (RtSigtimedwait(set_, nullptr, &zero) > 0) {
    }
  }
  ScopedBlock(const ScopedBlock&) = delete;
  ScopedBlock& operator=(const ScopedBlock&) = delete;

 private:
  ScopedMask mask_;  // restored after the destructor's body has drained
  uint64_t set_ = 0;
};

// Waits up to `timeout_ns` for one of `sigs` (which must be blocked);
// returns the signal or -1.
int WaitSignal(std::initializer_list<int> sigs, int64_t timeout_ns,
               siginfo_t* info = nullptr) {
  uint64_t set = 0;
  for (int s : sigs) set |= SigBit(s);
  struct timespec ts = FromNs(timeout_ns);
  return static_cast<int>(RtSigtimedwait(set, info, &ts));
}

// Disarms an interval timer when the test ends.
class ScopedItimer {
 public:
  explicit ScopedItimer(int which) : which_(which) {}
  ~ScopedItimer() {
    struct itimerval zero = {};
    setitimer(static_cast<__itimer_which>(which_), &zero, nullptr);
  }
  ScopedItimer(const ScopedItimer&) = delete;
  ScopedItimer& operator=(const ScopedItimer&) = delete;

 private:
  int which_;
};

// A POSIX timer made with the raw syscalls (the kernel's timer id, not
// glibc's timer_t), deleted when the test ends.
class Timer {
 public:
  Timer(clockid_t clock, struct sigevent* sev) {
    errno = 0;
    if (syscall(SYS_timer_create, clock, sev, &id_) != 0) {
      errno_ = errno;
      id_ = -1;
    }
  }
  ~Timer() {
    if (id_ >= 0) syscall(SYS_timer_delete, id_);
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  int id() const { return id_; }
  int create_errno() const { return errno_; }
  long Set(int flags, int64_t value_ns, int64_t interval_ns,
           struct itimerspec* old = nullptr) {
    struct itimerspec its;
    its.it_value = FromNs(value_ns);
    its.it_interval = FromNs(interval_ns);
    return syscall(SYS_timer_settime, id_, flags, &its, old);
  }
  struct itimerspec Get() {
    struct itimerspec its = {};
    EXPECT_EQ(syscall(SYS_timer_gettime, id_, &its), 0) << strerror(errno);
    return its;
  }
  long Overrun() { return syscall(SYS_timer_getoverrun, id_); }
  // Deletes it now (for tests of what a deleted id does).
  long Delete() {
    long rc = syscall(SYS_timer_delete, id_);
    id_ = -1;
    return rc;
  }

 private:
  int id_ = -1;
  int errno_ = 0;
};

struct sigevent SignalEvent(int sig, int value) {
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  return sev;
}

// ---------------------------------------------------------------------------
// clock_gettime(2) and clock_getres(2).

TEST(ClockTest, EveryClockIdCanBeReadAndHasItsResolution) {
  // CLOCK_REALTIME_ALARM and CLOCK_BOOTTIME_ALARM are left out: Linux
  // answers EINVAL for them on machines without an RTC.
  struct Case {
    clockid_t clock;
    bool coarse;
  };
  const Case cases[] = {
      {CLOCK_REALTIME, false},
      {CLOCK_MONOTONIC, false},
      {CLOCK_PROCESS_CPUTIME_ID, false},
      {CLOCK_THREAD_CPUTIME_ID, false},
      {CLOCK_MONOTONIC_RAW, false},
      {CLOCK_REALTIME_COARSE, true},
      {CLOCK_MONOTONIC_COARSE, true},
      {CLOCK_BOOTTIME, false},
      {kClockTai, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.clock);
    struct timespec ts = {-1, -1}, res = {-1, -1};
    EXPECT_EQ(syscall(SYS_clock_gettime, c.clock, &ts), 0) << strerror(errno);
    EXPECT_GE(ts.tv_sec, 0);
    EXPECT_GE(ts.tv_nsec, 0);
    EXPECT_LT(ts.tv_nsec, 1000000000);
    EXPECT_EQ(syscall(SYS_clock_getres, c.clock, &res), 0) << strerror(errno);
    EXPECT_EQ(res.tv_sec, 0);
    if (c.coarse) {
      // One tick: HZ is between 100 and 1000.
      EXPECT_GE(res.tv_nsec, 1 * kMs);
      EXPECT_LE(res.tv_nsec, 10 * kMs);
    } else {
      EXPECT_EQ(res.tv_nsec, 1);  // high-resolution timers
    }
    // A NULL result is allowed for clock_getres (it validates the clock).
    EXPECT_EQ(syscall(SYS_clock_getres, c.clock, nullptr), 0);
  }
}

TEST(ClockTest, UnknownClockIdsAreEINVAL) {
  struct timespec ts = {};
  for (clockid_t clock : {kClockSgiCycle, 12, 16, 100, -1}) {
    SCOPED_TRACE(clock);
    EXPECT_ERRNO(syscall(SYS_clock_gettime, clock, &ts), EINVAL);
    EXPECT_ERRNO(syscall(SYS_clock_getres, clock, &ts), EINVAL);
  }
  // A CPU clock id of an unused type (3) is EINVAL too.
  EXPECT_ERRNO(syscall(SYS_clock_gettime, ProcessCpuClock(getpid(), 3), &ts),
               EINVAL);
}

TEST(ClockTest, ClocksAreOrderedAsLinuxDefinesThem) {
  int64_t mono = ClockNs(CLOCK_MONOTONIC);
  int64_t boot = ClockNs(CLOCK_BOOTTIME);
  // BOOTTIME is MONOTONIC plus the time spent suspended.
  EXPECT_GE(boot, mono);
  // TAI is REALTIME plus a non-negative offset (0 until NTP sets it).
  int64_t real = ClockNs(CLOCK_REALTIME);
  int64_t tai = ClockNs(kClockTai);
  EXPECT_GE(tai, real);
  EXPECT_LT(tai - real, 100 * kSec);
  // A coarse clock is the fine clock at the last tick: not ahead of a later
  // fine reading, and not far behind an earlier one.
  for (auto [fine, coarse] :
       {std::pair<clockid_t, clockid_t>{CLOCK_REALTIME, CLOCK_REALTIME_COARSE},
        {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE}}) {
    int64_t before = ClockNs(fine);
    int64_t c = ClockNs(coarse);
    int64_t after = ClockNs(fine);
    EXPECT_LE(c, after);
    EXPECT_GE(c, before - 100 * kMs);
  }
  // The raw clock advances with the others.
  int64_t raw = ClockNs(CLOCK_MONOTONIC_RAW);
  usleep(20 * 1000);
  EXPECT_GE(ClockNs(CLOCK_MONOTONIC_RAW) - raw, 19 * kMs);
}

TEST(ClockTest, GettimeofdayAndTimeAgreeWithRealtime) {
  for (int i = 0; i < 100; i++) {
    int64_t before = ClockNs(CLOCK_REALTIME);
    struct timeval tv = {};
    ASSERT_EQ(syscall(SYS_gettimeofday, &tv, nullptr), 0);
    time_t t = static_cast<time_t>(syscall(SYS_time, nullptr));
    int64_t after = ClockNs(CLOCK_REALTIME);
    // gettimeofday truncates to microseconds.
    ASSERT_LE(before / kUs * kUs, ToNs(tv));
    ASSERT_LE(ToNs(tv), after);
    ASSERT_GE(tv.tv_usec, 0);
    ASSERT_LT(tv.tv_usec, 1000000);
    // time() is the coarse clock's seconds: at most a tick behind.
    ASSERT_LE(t, after / kSec);
    ASSERT_GE(t, before / kSec - 1);
  }
  time_t t2 = 0;
  EXPECT_EQ(syscall(SYS_time, &t2), t2);
  EXPECT_ERRNO(syscall(SYS_gettimeofday, reinterpret_cast<void*>(8), nullptr),
               EFAULT);
}

// ---------------------------------------------------------------------------
// CPU clocks.

TEST(CpuClockTest, GlibcClockIdsUseTheKernelEncoding) {
  clockid_t process = 0;
  ASSERT_EQ(clock_getcpuclockid(getpid(), &process), 0);
  EXPECT_EQ(process, ProcessCpuClock(getpid(), kCpuclockSched));
  clockid_t thread = 0;
  ASSERT_EQ(pthread_getcpuclockid(pthread_self(), &thread), 0);
  EXPECT_EQ(thread, ThreadCpuClock(Gettid(), kCpuclockSched));
  // pid 0 and tid 0 mean the caller.
  for (int which : {kCpuclockProf, kCpuclockVirt, kCpuclockSched}) {
    SCOPED_TRACE(which);
    for (clockid_t clock :
         {ProcessCpuClock(getpid(), which), ProcessCpuClock(0, which),
          ThreadCpuClock(Gettid(), which), ThreadCpuClock(0, which)}) {
      struct timespec ts = {-1, -1}, res = {-1, -1};
      EXPECT_EQ(syscall(SYS_clock_gettime, clock, &ts), 0) << clock;
      EXPECT_GE(ts.tv_sec, 0);
      EXPECT_EQ(syscall(SYS_clock_getres, clock, &res), 0) << clock;
      // The scheduler clock has nanosecond resolution; the sampled user and
      // user+system clocks count in ticks.
      if (which == kCpuclockSched) {
        EXPECT_EQ(ToNs(res), 1);
      } else {
        EXPECT_GE(ToNs(res), 1 * kMs);
        EXPECT_LE(ToNs(res), 10 * kMs);
      }
    }
  }
}

TEST(CpuClockTest, ThreadClockAdvancesWhileSpinningAndNotWhileSleeping) {
  std::atomic<int> phase{0};
  clockid_t spinner_clock = 0, sleeper_clock = 0;
  int64_t spinner_wall = 0, spinner_cpu = 0;
  bool spun = false;
  std::thread spinner([&] {
    int64_t wall = NowNs();
    int64_t cpu = ClockNs(CLOCK_THREAD_CPUTIME_ID);
    spun = SpinFor(CLOCK_THREAD_CPUTIME_ID, 50 * kMs);
    spinner_cpu = ClockNs(CLOCK_THREAD_CPUTIME_ID) - cpu;
    spinner_wall = NowNs() - wall;
    phase++;
    while (phase < 3) usleep(1000);
  });
  std::thread sleeper([&] {
    phase++;
    while (phase < 3) usleep(10 * 1000);
  });
  ASSERT_EQ(pthread_getcpuclockid(spinner.native_handle(), &spinner_clock), 0);
  ASSERT_EQ(pthread_getcpuclockid(sleeper.native_handle(), &sleeper_clock), 0);
  int64_t sleeper_before = ClockNs(sleeper_clock);
  while (phase < 2) usleep(1000);
  usleep(50 * 1000);
  int64_t spinner_now = ClockNs(spinner_clock);
  int64_t sleeper_after = ClockNs(sleeper_clock);
  int64_t self = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  int64_t process = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  phase = 3;
  spinner.join();
  sleeper.join();

  EXPECT_TRUE(spun);
  EXPECT_GE(spinner_cpu, 50 * kMs);
  // One thread cannot run for longer than the time that passed.
  EXPECT_GE(spinner_wall, spinner_cpu);
  // Read from this thread, the spinner's clock shows at least its spin.
  EXPECT_GE(spinner_now, spinner_cpu);
  // A thread that mostly sleeps uses less CPU time than one that spun
  // for 50 ms meanwhile. (Not much less: the sandbox counts a thread's
  // time in the sentry and in guest code by the wall clock, which on a
  // loaded machine includes waits for a CPU; CI saw 32 ms for this
  // sleeper's dozen wake-ups. Linux counts near nothing.)
  ASSERT_GE(sleeper_before, 0);
  EXPECT_LT(sleeper_after - sleeper_before, 50 * kMs);
  // The process clock covers its threads.
  EXPECT_GE(process, spinner_now + self);
}

TEST(CpuClockTest, OtherThreadsAndProcessesClocks) {
  // Another process's CPU clock can be read; a thread clock only for this
  // process's threads, and a process clock only for a process (thread
  // group leader).
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = ForkPauser([&] {
    SpinFor(CLOCK_PROCESS_CPUTIME_ID, 50 * kMs);
    if (write(fds[1], "x", 1) != 1) _exit(1);
  });
  ASSERT_GT(pid, 0);
  char c;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  clockid_t child_clock = 0;
  ASSERT_EQ(clock_getcpuclockid(pid, &child_clock), 0);
  EXPECT_GE(ClockNs(child_clock), 50 * kMs);
  struct timespec ts = {};
  EXPECT_ERRNO(
      syscall(SYS_clock_gettime, ThreadCpuClock(pid, kCpuclockSched), &ts),
      EINVAL);
  kill(pid, SIGKILL);
  CheckedWaitStatus(pid);
  close(fds[0]);
  close(fds[1]);
  // Once reaped, the process has no clock.
  EXPECT_ERRNO(syscall(SYS_clock_gettime, child_clock, &ts), EINVAL);
  EXPECT_EQ(clock_getcpuclockid(pid, &child_clock), ESRCH);

  IdleThread t;
  while (t.tid() == 0) usleep(1000);
  EXPECT_EQ(
      syscall(SYS_clock_gettime, ThreadCpuClock(t.tid(), kCpuclockSched), &ts),
      0);
  EXPECT_ERRNO(
      syscall(SYS_clock_gettime, ProcessCpuClock(t.tid(), kCpuclockSched), &ts),
      EINVAL);
}

// ---------------------------------------------------------------------------
// clock_nanosleep(2).

long ClockNanosleep(clockid_t clock, int flags, const struct timespec* req,
                    struct timespec* rem = nullptr) {
  return syscall(SYS_clock_nanosleep, clock, flags, req, rem);
}

TEST(ClockNanosleepTest, RelativeAndAbsoluteOnEachClock) {
  for (clockid_t clock :
       {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, kClockTai}) {
    SCOPED_TRACE(clock);
    struct timespec req = FromNs(20 * kMs);
    int64_t start = ClockNs(clock);
    EXPECT_EQ(ClockNanosleep(clock, 0, &req), 0) << strerror(errno);
    EXPECT_GE(ClockNs(clock) - start, 20 * kMs);

    int64_t deadline = ClockNs(clock) + 20 * kMs;
    struct timespec abs = FromNs(deadline);
    EXPECT_EQ(ClockNanosleep(clock, TIMER_ABSTIME, &abs), 0) << strerror(errno);
    EXPECT_GE(ClockNs(clock), deadline);

    // A deadline in the past returns at once.
    struct timespec past = FromNs(ClockNs(clock) - 1 * kSec);
    EXPECT_EQ(ClockNanosleep(clock, TIMER_ABSTIME, &past), 0);
  }
}

TEST(ClockNanosleepTest, Errors) {
  struct timespec ok = {0, 1};
  for (struct timespec bad :
       {timespec{0, 1000000000}, timespec{0, -1}, timespec{-1, 0}}) {
    EXPECT_ERRNO(ClockNanosleep(CLOCK_MONOTONIC, 0, &bad), EINVAL);
    EXPECT_ERRNO(ClockNanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &bad), EINVAL);
  }
  EXPECT_ERRNO(ClockNanosleep(100, 0, &ok), EINVAL);
  EXPECT_ERRNO(ClockNanosleep(kClockSgiCycle, 0, &ok), EINVAL);
  // Clocks that exist but cannot be slept on.
  for (clockid_t clock : {CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                          CLOCK_MONOTONIC_COARSE, CLOCK_THREAD_CPUTIME_ID}) {
    SCOPED_TRACE(clock);
    EXPECT_ERRNO(ClockNanosleep(clock, 0, &ok), EOPNOTSUPP);
  }
  // The caller's own thread CPU clock through its dynamic id is EINVAL.
  EXPECT_ERRNO(ClockNanosleep(ThreadCpuClock(Gettid(), kCpuclockSched), 0, &ok),
               EINVAL);
  EXPECT_ERRNO(
      ClockNanosleep(CLOCK_MONOTONIC, 0, reinterpret_cast<struct timespec*>(8)),
      EFAULT);
  // glibc returns the error instead of setting errno, and refuses the
  // thread CPU clock itself.
  struct timespec bad = {0, 1000000000};
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, nullptr), EINVAL);
  EXPECT_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ok, nullptr), EINVAL);
}

TEST(ClockNanosleepTest, ProcessCpuClockSleepsUntilTheProcessUsedTheTime) {
  std::atomic<bool> stop{false};
  std::thread spinner([&] {
    int64_t deadline = NowNs() + 20 * kSec;
    while (!stop && NowNs() < deadline) {
    }
  });
  int64_t start = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  struct timespec req = FromNs(30 * kMs);
  EXPECT_EQ(ClockNanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &req), 0)
      << strerror(errno);
  int64_t used = ClockNs(CLOCK_PROCESS_CPUTIME_ID) - start;
  stop = true;
  spinner.join();
  EXPECT_GE(used, 30 * kMs);
}

// ---------------------------------------------------------------------------
// setitimer(2), getitimer(2), alarm(2).

TEST(ItimerTest, RealFiresSigalrmOnceFromTheKernel) {
  ScopedBlock block({SIGALRM});
  ScopedItimer cleanup(ITIMER_REAL);
  Drain({SIGALRM});
  struct itimerval it = {};
  it.it_value = TvFromNs(50 * kMs);
  int64_t start = NowNs();
  ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
  siginfo_t info = {};
  ASSERT_EQ(WaitSignal({SIGALRM}, 10 * kSec, &info), SIGALRM);
  EXPECT_GE(NowNs() - start, 50 * kMs);
  EXPECT_EQ(info.si_code, SI_KERNEL);
  EXPECT_EQ(info.si_pid, 0);
  // One-shot: disarmed now, and no second signal.
  struct itimerval now = {};
  ASSERT_EQ(getitimer(ITIMER_REAL, &now), 0);
  EXPECT_EQ(ToNs(now.it_value), 0);
  EXPECT_EQ(ToNs(now.it_interval), 0);
  EXPECT_EQ(WaitSignal({SIGALRM}, 100 * kMs), -1);
}

TEST(ItimerTest, RealIntervalRepeats) {
  ScopedBlock block({SIGALRM});
  ScopedItimer cleanup(ITIMER_REAL);
  Drain({SIGALRM});
  struct itimerval it = {};
  it.it_value = TvFromNs(10 * kMs);
  it.it_interval = TvFromNs(20 * kMs);
  int64_t start = NowNs();
  ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(WaitSignal({SIGALRM}, 10 * kSec), SIGALRM) << i;
  }
  EXPECT_GE(NowNs() - start, 50 * kMs);
  struct itimerval now = {};
  ASSERT_EQ(getitimer(ITIMER_REAL, &now), 0);
  EXPECT_EQ(ToNs(now.it_interval), 20 * kMs);
  EXPECT_GT(ToNs(now.it_value), 0);
  EXPECT_LE(ToNs(now.it_value), 20 * kMs);
}

TEST(ItimerTest, GetitimerCountsDownAndSetitimerReturnsTheOldValue) {
  ScopedItimer cleanup(ITIMER_REAL);
  struct itimerval it = {}, now = {}, later = {}, old = {};
  it.it_value = {10, 0};
  it.it_interval = {3, 500000};
  ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
  ASSERT_EQ(getitimer(ITIMER_REAL, &now), 0);
  EXPECT_LE(ToNs(now.it_value), 10 * kSec);
  EXPECT_GT(ToNs(now.it_value), 9 * kSec);
  EXPECT_EQ(ToNs(now.it_interval), 3500 * kMs);
  usleep(30 * 1000);
  ASSERT_EQ(getitimer(ITIMER_REAL, &later), 0);
  EXPECT_LE(ToNs(later.it_value), ToNs(now.it_value) - 30 * kMs);
  struct itimerval zero = {};
  ASSERT_EQ(setitimer(ITIMER_REAL, &zero, &old), 0);
  EXPECT_LE(ToNs(old.it_value), ToNs(later.it_value));
  EXPECT_GT(ToNs(old.it_value), 5 * kSec);
  EXPECT_EQ(ToNs(old.it_interval), 3500 * kMs);
  ASSERT_EQ(getitimer(ITIMER_REAL, &now), 0);
  EXPECT_EQ(ToNs(now.it_value), 0);
  EXPECT_EQ(ToNs(now.it_interval), 0);
}

TEST(ItimerTest, Errors) {
  struct itimerval it = {}, got = {};
  it.it_value = {1, 1000000};
  EXPECT_ERRNO(setitimer(ITIMER_REAL, &it, nullptr), EINVAL);
  it.it_value = {1, -1};
  EXPECT_ERRNO(setitimer(ITIMER_REAL, &it, nullptr), EINVAL);
  it.it_value = {1, 0};
  it.it_interval = {0, 1000000};
  EXPECT_ERRNO(setitimer(ITIMER_REAL, &it, nullptr), EINVAL);
  EXPECT_ERRNO(syscall(SYS_setitimer, 3, &it, nullptr), EINVAL);
  EXPECT_ERRNO(syscall(SYS_getitimer, 3, &got), EINVAL);
  EXPECT_ERRNO(syscall(SYS_getitimer, ITIMER_REAL, reinterpret_cast<void*>(8)),
               EFAULT);
  ASSERT_EQ(getitimer(ITIMER_REAL, &got), 0);
  EXPECT_EQ(ToNs(got.it_value), 0);  // nothing was armed
}

TEST(ItimerTest, VirtualAndProfCountOnlyCpuTime) {
  for (auto [which, sig] : {std::pair<int, int>{ITIMER_VIRTUAL, SIGVTALRM},
                            {ITIMER_PROF, SIGPROF}}) {
    SCOPED_TRACE(which);
    ScopedBlock block({sig});
    ScopedItimer cleanup(which);
    Drain({sig});
    struct itimerval it = {};
    it.it_value = TvFromNs(20 * kMs);
    ASSERT_EQ(setitimer(static_cast<__itimer_which>(which), &it, nullptr), 0);
    // Sleeping uses no CPU time: no signal, and the timer barely moved.
    usleep(100 * 1000);
    EXPECT_EQ(PendingMask() & SigBit(sig), 0u);
    struct itimerval now = {};
    ASSERT_EQ(getitimer(static_cast<__itimer_which>(which), &now), 0);
    EXPECT_GT(ToNs(now.it_value), 5 * kMs);
    // Spinning fires it.
    int64_t cpu = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
    int64_t deadline = NowNs() + 20 * kSec;
    while ((PendingMask() & SigBit(sig)) == 0 && NowNs() < deadline) {
      UserWork();
    }
    siginfo_t info = {};
    ASSERT_EQ(WaitSignal({sig}, 0, &info), sig);
    EXPECT_EQ(info.si_code, SI_KERNEL);
    EXPECT_GE(ClockNs(CLOCK_PROCESS_CPUTIME_ID) - cpu, 10 * kMs);
  }
}

TEST(ItimerTest, ProfIntervalRepeatsWhileSpinning) {
  ScopedBlock block({SIGPROF});
  ScopedItimer cleanup(ITIMER_PROF);
  Drain({SIGPROF});
  struct itimerval it = {};
  it.it_value = TvFromNs(10 * kMs);
  it.it_interval = TvFromNs(10 * kMs);
  ASSERT_EQ(setitimer(ITIMER_PROF, &it, nullptr), 0);
  int got = 0;
  int64_t deadline = NowNs() + 20 * kSec;
  while (got < 3 && NowNs() < deadline) {
    UserWork();
    if (PendingMask() & SigBit(SIGPROF)) {
      ASSERT_EQ(WaitSignal({SIGPROF}, 0), SIGPROF);
      got++;
    }
  }
  EXPECT_EQ(got, 3);
}

TEST(AlarmTest, ReturnsTheRoundedRemainingSecondsAndZeroCancels) {
  ScopedItimer cleanup(ITIMER_REAL);
  EXPECT_EQ(alarm(10), 0u);
  EXPECT_EQ(alarm(20), 10u);  // 9.99... rounds to 10
  struct itimerval now = {};
  ASSERT_EQ(getitimer(ITIMER_REAL, &now), 0);
  EXPECT_GT(ToNs(now.it_value), 19 * kSec);
  EXPECT_LE(ToNs(now.it_value), 20 * kSec);
  EXPECT_EQ(ToNs(now.it_interval), 0);
  EXPECT_EQ(alarm(0), 20u);
  ASSERT_EQ(getitimer(ITIMER_REAL, &now), 0);
  EXPECT_EQ(ToNs(now.it_value), 0);
  EXPECT_EQ(alarm(0), 0u);
  // alarm() shares ITIMER_REAL: seconds are rounded to the nearest, but an
  // armed timer never reads as 0.
  struct itimerval it = {};
  for (auto [ms, want] :
       {std::pair<int, unsigned>{1300, 1}, {1700, 2}, {300, 1}}) {
    it.it_value = TvFromNs(ms * kMs);
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    EXPECT_EQ(alarm(0), want) << ms;
  }
}

TEST(AlarmTest, FiresSigalrm) {
  ScopedBlock block({SIGALRM});
  ScopedItimer cleanup(ITIMER_REAL);
  Drain({SIGALRM});
  int64_t start = NowNs();
  alarm(1);
  ASSERT_EQ(WaitSignal({SIGALRM}, 10 * kSec), SIGALRM);
  EXPECT_GE(NowNs() - start, 1 * kSec);
}

// ---------------------------------------------------------------------------
// POSIX timers.

TEST(PosixTimerTest, SigevSignalDeliversSiTimerWithValueAndId) {
  ScopedBlock block({SIGRTMIN});
  struct sigevent sev = SignalEvent(SIGRTMIN, 0x1234);
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  int64_t start = NowNs();
  ASSERT_EQ(timer.Set(0, 20 * kMs, 0), 0);
  siginfo_t info = {};
  ASSERT_EQ(WaitSignal({SIGRTMIN}, 10 * kSec, &info), SIGRTMIN);
  EXPECT_GE(NowNs() - start, 20 * kMs);
  EXPECT_EQ(info.si_signo, SIGRTMIN);
  EXPECT_EQ(info.si_code, SI_TIMER);
  EXPECT_EQ(info.si_value.sival_int, 0x1234);
  EXPECT_EQ(info.si_timerid, timer.id());
  EXPECT_EQ(info.si_overrun, 0);
  EXPECT_EQ(timer.Overrun(), 0);
  // Expired and disarmed.
  struct itimerspec its = timer.Get();
  EXPECT_EQ(ToNs(its.it_value), 0);
}

TEST(PosixTimerTest, DefaultSigeventIsSigalrmWithTheIdAsValue) {
  ScopedBlock block({SIGALRM});
  Drain({SIGALRM});
  Timer timer(CLOCK_REALTIME, nullptr);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  ASSERT_EQ(timer.Set(0, 10 * kMs, 0), 0);
  siginfo_t info = {};
  ASSERT_EQ(WaitSignal({SIGALRM}, 10 * kSec, &info), SIGALRM);
  EXPECT_EQ(info.si_code, SI_TIMER);
  EXPECT_EQ(info.si_value.sival_int, timer.id());
  EXPECT_EQ(info.si_timerid, timer.id());
}

std::atomic<pid_t> g_handler_tid{0};
std::atomic<int> g_handler_code{0};
void RecordThread(int, siginfo_t* info, void*) {
  g_handler_code = info->si_code;
  g_handler_tid = Gettid();
}

TEST(PosixTimerTest, SigevThreadIdIsDeliveredToThatThread) {
  struct sigaction act = {}, old = {};
  act.sa_sigaction = RecordThread;
  act.sa_flags = SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGUSR1, &act, &old), 0);
  g_handler_tid = 0;
  // SIGUSR1 is not blocked in this (the main) thread either, which Linux
  // would pick first for a process-directed signal.
  IdleThread t([] { ChangeMask(SIG_UNBLOCK, {SIGUSR1}); });
  while (t.tid() == 0) usleep(1000);
  struct sigevent sev = SignalEvent(SIGUSR1, 5);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev._sigev_un._tid = t.tid();
  {
    Timer timer(CLOCK_MONOTONIC, &sev);
    ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
    ASSERT_EQ(timer.Set(0, 10 * kMs, 0), 0);
    int64_t deadline = NowNs() + 10 * kSec;
    while (g_handler_tid == 0 && NowNs() < deadline) usleep(1000);
  }
  t.Stop();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(g_handler_tid.load(), t.tid());
  EXPECT_EQ(g_handler_code.load(), SI_TIMER);
}

TEST(PosixTimerTest, SigevThreadIdMustNameAThreadOfTheProcess) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  struct sigevent sev = SignalEvent(SIGUSR1, 0);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev._sigev_un._tid = pid;  // another process
  Timer other(CLOCK_MONOTONIC, &sev);
  EXPECT_EQ(other.id(), -1);
  EXPECT_EQ(other.create_errno(), EINVAL);
  kill(pid, SIGKILL);
  CheckedWaitStatus(pid);
  sev._sigev_un._tid = pid;  // nobody
  Timer dead(CLOCK_MONOTONIC, &sev);
  EXPECT_EQ(dead.create_errno(), EINVAL);
}

TEST(PosixTimerTest, SigevNoneCountsDownWithoutASignal) {
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_NONE;
  ScopedBlock block({SIGALRM});
  Drain({SIGALRM});
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  ASSERT_EQ(timer.Set(0, 100 * kMs, 0), 0);
  struct itimerspec first = timer.Get();
  EXPECT_GT(ToNs(first.it_value), 0);
  EXPECT_LE(ToNs(first.it_value), 100 * kMs);
  usleep(20 * 1000);
  struct itimerspec second = timer.Get();
  EXPECT_LE(ToNs(second.it_value), ToNs(first.it_value) - 20 * kMs);
  usleep(120 * 1000);
  // Expired: a one-shot SIGEV_NONE timer reads 0, and nothing was sent.
  struct itimerspec done = timer.Get();
  EXPECT_EQ(ToNs(done.it_value), 0);
  EXPECT_EQ(PendingMask() & SigBit(SIGALRM), 0u);
}

TEST(PosixTimerTest, SettimeRelativeAbsoluteAndTheOldValue) {
  ScopedBlock block({SIGRTMIN});
  Drain({SIGRTMIN});
  struct sigevent sev = SignalEvent(SIGRTMIN, 1);
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  // Unarmed: the old value is zero.
  struct itimerspec old = {{-1, -1}, {-1, -1}};
  ASSERT_EQ(timer.Set(0, 10 * kSec, 2 * kSec, &old), 0);
  EXPECT_EQ(ToNs(old.it_value), 0);
  EXPECT_EQ(ToNs(old.it_interval), 0);
  // Re-arming returns what was left.
  ASSERT_EQ(timer.Set(TIMER_ABSTIME, NowNs() + 30 * kMs, 0, &old), 0);
  EXPECT_GT(ToNs(old.it_value), 9 * kSec);
  EXPECT_LE(ToNs(old.it_value), 10 * kSec);
  EXPECT_EQ(ToNs(old.it_interval), 2 * kSec);
  // The absolute deadline reads back as time remaining.
  struct itimerspec now = timer.Get();
  EXPECT_GT(ToNs(now.it_value), 0);
  EXPECT_LE(ToNs(now.it_value), 30 * kMs);
  int64_t start = NowNs();
  ASSERT_EQ(WaitSignal({SIGRTMIN}, 10 * kSec), SIGRTMIN);
  EXPECT_GE(NowNs() - start + 1 * kMs, ToNs(now.it_value));
  // An absolute deadline in the past fires at once.
  ASSERT_EQ(timer.Set(TIMER_ABSTIME, NowNs() - 1 * kSec, 0), 0);
  ASSERT_EQ(WaitSignal({SIGRTMIN}, 10 * kSec), SIGRTMIN);
  // A zero value disarms.
  ASSERT_EQ(timer.Set(0, 10 * kSec, 0), 0);
  ASSERT_EQ(timer.Set(0, 0, 5 * kSec), 0);
  now = timer.Get();
  EXPECT_EQ(ToNs(now.it_value), 0);
}

TEST(PosixTimerTest, OverrunsCountExpiriesWhileTheSignalWasPending) {
  ScopedBlock block({SIGRTMIN + 1});
  Drain({SIGRTMIN + 1});
  struct sigevent sev = SignalEvent(SIGRTMIN + 1, 0);
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  ASSERT_EQ(timer.Set(0, 5 * kMs, 5 * kMs), 0);
  usleep(100 * 1000);  // ~20 expiries, one signal
  siginfo_t info = {};
  ASSERT_EQ(WaitSignal({SIGRTMIN + 1}, 0, &info), SIGRTMIN + 1);
  int64_t dequeued = NowNs();
  struct itimerspec next = timer.Get();
  bool again = (PendingMask() & SigBit(SIGRTMIN + 1)) != 0;
  int64_t checked = NowNs() - dequeued;
  EXPECT_GE(info.si_overrun, 3);
  EXPECT_EQ(timer.Overrun(), info.si_overrun);
  // Only one signal was queued for all of them. One pending now is a
  // second only if the next expiry has not come meanwhile: on a loaded
  // host the check may come late, natively too.
  EXPECT_TRUE(!again || checked >= ToNs(next.it_value))
      << "a second signal " << checked << " ns after the first was taken, "
      << ToNs(next.it_value) << " ns before the next expiry";
  ASSERT_EQ(timer.Set(0, 0, 0), 0);
  Drain({SIGRTMIN + 1});
}

// Linux allocates a timer's signal queue entry with the timer: its signal
// is queued whatever RLIMIT_SIGPENDING says, and a standard signal already
// pending does not absorb it.
TEST(PosixTimerTest, SignalIsQueuedBeyondRlimitSigpending) {
  ScopedBlock block({SIGRTMIN + 2});
  Drain({SIGRTMIN + 2});
  struct sigevent sev = SignalEvent(SIGRTMIN + 2, 7);
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  // (Only now: Linux charges the entry to the limit when the timer is
  // created.)
  struct rlimit old = {};
  ASSERT_EQ(getrlimit(RLIMIT_SIGPENDING, &old), 0);
  struct rlimit none = {0, old.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_SIGPENDING, &none), 0);
  // No room for anything else.
  siginfo_t sent = {};
  sent.si_code = SI_QUEUE;
  EXPECT_EQ(syscall(SYS_rt_sigqueueinfo, getpid(), SIGRTMIN + 2, &sent), -1);
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(timer.Set(0, 1 * kMs, 0), 0);
  siginfo_t info = {};
  int sig = WaitSignal({SIGRTMIN + 2}, 10 * kSec, &info);
  ASSERT_EQ(setrlimit(RLIMIT_SIGPENDING, &old), 0);
  ASSERT_EQ(sig, SIGRTMIN + 2);
  EXPECT_EQ(info.si_code, SI_TIMER);
  EXPECT_EQ(info.si_value.sival_int, 7);
}

TEST(PosixTimerTest, StandardSignalAlreadyPendingGetsTheTimersOwnEntry) {
  ScopedBlock block({SIGUSR2});
  Drain({SIGUSR2});
  struct sigevent sev = SignalEvent(SIGUSR2, 0);
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  ASSERT_EQ(timer.Set(0, 1 * kMs, 0), 0);
  usleep(20 * 1000);
  siginfo_t info = {};
  ASSERT_EQ(WaitSignal({SIGUSR2}, 0, &info), SIGUSR2);
  EXPECT_EQ(info.si_code, SI_USER);
  ASSERT_EQ(WaitSignal({SIGUSR2}, 10 * kSec, &info), SIGUSR2);
  EXPECT_EQ(info.si_code, SI_TIMER);
  EXPECT_EQ(WaitSignal({SIGUSR2}, 0), -1);
}

// An expiry whose signal was ignored when sent, or discarded (SIG_IGN)
// while pending, leaves no signal queued: the next expiry signals again
// rather than counting an overrun of a signal that will never come.
TEST(PosixTimerTest, IgnoredOrDiscardedSignalsDoNotSilenceTheTimer) {
  ScopedBlock block({SIGUSR2});
  Drain({SIGUSR2});
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  struct sigevent sev = SignalEvent(SIGUSR2, 0);
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());

  // Ignored (and not blocked) when the timer fires.
  ASSERT_EQ(sigaction(SIGUSR2, &ign, &old), 0);
  ChangeMask(SIG_UNBLOCK, {SIGUSR2});
  ASSERT_EQ(timer.Set(0, 1 * kMs, 0), 0);
  usleep(20 * 1000);
  ChangeMask(SIG_BLOCK, {SIGUSR2});
  ASSERT_EQ(sigaction(SIGUSR2, &old, nullptr), 0);
  ASSERT_EQ(timer.Set(0, 1 * kMs, 0), 0);
  siginfo_t info = {};
  ASSERT_EQ(WaitSignal({SIGUSR2}, 10 * kSec, &info), SIGUSR2);
  EXPECT_EQ(info.si_code, SI_TIMER);

  // Queued, then discarded by SIG_IGN.
  ASSERT_EQ(timer.Set(0, 1 * kMs, 0), 0);
  int64_t deadline = NowNs() + 10 * kSec;
  while ((PendingMask() & SigBit(SIGUSR2)) == 0 && NowNs() < deadline) {
    usleep(1000);
  }
  ASSERT_NE(PendingMask() & SigBit(SIGUSR2), 0u);
  ASSERT_EQ(sigaction(SIGUSR2, &ign, nullptr), 0);
  EXPECT_EQ(PendingMask() & SigBit(SIGUSR2), 0u);
  ASSERT_EQ(sigaction(SIGUSR2, &old, nullptr), 0);
  ASSERT_EQ(timer.Set(0, 1 * kMs, 0), 0);
  ASSERT_EQ(WaitSignal({SIGUSR2}, 10 * kSec, &info), SIGUSR2);
  EXPECT_EQ(info.si_code, SI_TIMER);
}

TEST(PosixTimerTest, DeletedAndUnknownIdsAreEINVAL) {
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_NONE;
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  int id = timer.id();
  ASSERT_EQ(timer.Delete(), 0);
  struct itimerspec its = {};
  its.it_value = {1, 0};
  for (int bad : {id, -1, 123456789}) {
    SCOPED_TRACE(bad);
    EXPECT_ERRNO(syscall(SYS_timer_settime, bad, 0, &its, nullptr), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_gettime, bad, &its), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_getoverrun, bad), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_delete, bad), EINVAL);
  }
}

TEST(PosixTimerTest, CreateAndSettimeErrors) {
  int id = -1;
  struct sigevent sev = SignalEvent(SIGRTMIN, 0);
  EXPECT_ERRNO(syscall(SYS_timer_create, 100, &sev, &id), EINVAL);
  EXPECT_ERRNO(syscall(SYS_timer_create, kClockSgiCycle, &sev, &id), EINVAL);
  // Clocks that have no timers.
  EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC_RAW, &sev, &id),
               EOPNOTSUPP);
  EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC_COARSE, &sev, &id),
               EOPNOTSUPP);
  for (int sig : {0, 65}) {
    sev = SignalEvent(sig, 0);
    EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id), EINVAL);
  }
  sev = SignalEvent(SIGRTMIN, 0);
  sev.sigev_notify = 7;
  EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id), EINVAL);
  EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC,
                       reinterpret_cast<void*>(8), &id),
               EFAULT);

  sev.sigev_notify = SIGEV_NONE;
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
  EXPECT_ERRNO(timer.Set(0, -1, 0), EINVAL);
  struct itimerspec bad = {};
  bad.it_value = {0, 1000000000};
  EXPECT_ERRNO(syscall(SYS_timer_settime, timer.id(), 0, &bad, nullptr),
               EINVAL);
  bad.it_value = {1, 0};
  bad.it_interval = {0, -1};
  EXPECT_ERRNO(syscall(SYS_timer_settime, timer.id(), 0, &bad, nullptr),
               EINVAL);
  EXPECT_ERRNO(syscall(SYS_timer_settime, timer.id(), 0,
                       reinterpret_cast<void*>(8), nullptr),
               EFAULT);
}

TEST(PosixTimerTest, CpuTimeTimersFireAfterCpuTimeIsUsed) {
  for (clockid_t clock : {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}) {
    SCOPED_TRACE(clock);
    ScopedBlock block({SIGRTMIN + 2});
    Drain({SIGRTMIN + 2});
    struct sigevent sev = SignalEvent(SIGRTMIN + 2, 3);
    Timer timer(clock, &sev);
    ASSERT_GE(timer.id(), 0) << strerror(timer.create_errno());
    ASSERT_EQ(timer.Set(0, 30 * kMs, 0), 0);
    // Sleeping does not bring it closer.
    usleep(50 * 1000);
    EXPECT_EQ(PendingMask() & SigBit(SIGRTMIN + 2), 0u);
    int64_t start = ClockNs(clock);
    int64_t deadline = NowNs() + 20 * kSec;
    while ((PendingMask() & SigBit(SIGRTMIN + 2)) == 0 && NowNs() < deadline) {
      UserWork();
    }
    siginfo_t info = {};
    ASSERT_EQ(WaitSignal({SIGRTMIN + 2}, 0, &info), SIGRTMIN + 2);
    EXPECT_EQ(info.si_code, SI_TIMER);
    EXPECT_EQ(info.si_value.sival_int, 3);
    EXPECT_GE(ClockNs(clock) - start, 25 * kMs);
  }
}

TEST(PosixTimerTest, TimersAreNotInheritedByFork) {
  ScopedItimer cleanup(ITIMER_REAL);
  struct itimerval it = {};
  it.it_value = {100, 0};
  ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_NONE;
  Timer timer(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(timer.id(), 0);
  ASSERT_EQ(timer.Set(0, 100 * kSec, 0), 0);
  int id = timer.id();
  pid_t pid = fork();
  if (pid == 0) {
    struct itimerval now = {};
    if (getitimer(ITIMER_REAL, &now) != 0) _exit(1);
    if (ToNs(now.it_value) != 0) _exit(2);
    struct itimerspec its = {};
    if (syscall(SYS_timer_gettime, id, &its) != -1 || errno != EINVAL) _exit(3);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  int status = CheckedWaitStatus(pid);
  EXPECT_TRUE(ExitedWith(status, 0));
}

// ---------------------------------------------------------------------------
// times(2) and getrusage(2).

int64_t Ticks() { return sysconf(_SC_CLK_TCK); }

TEST(TimesTest, ReturnsClockTicksAndCountsCpuTime) {
  EXPECT_EQ(Ticks(), 100);
  struct tms before = {}, after = {};
  clock_t t1 = times(&before);
  usleep(100 * 1000);
  clock_t t2 = times(nullptr);
  // 100 ms is 10 ticks; allow one for rounding at either end.
  EXPECT_GE(t2 - t1, 9);
  ASSERT_TRUE(SpinFor(CLOCK_PROCESS_CPUTIME_ID, 100 * kMs));
  times(&after);
  EXPECT_GE((after.tms_utime + after.tms_stime) -
                (before.tms_utime + before.tms_stime),
            8);
  EXPECT_ERRNO(syscall(SYS_times, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(TimesTest, ChildrenCountOnceWaitedFor) {
  struct tms before = {}, after = {};
  times(&before);
  pid_t pid = fork();
  if (pid == 0) _exit(SpinFor(CLOCK_PROCESS_CPUTIME_ID, 100 * kMs) ? 0 : 1);
  ASSERT_GT(pid, 0);
  int status = CheckedWaitStatus(pid);
  EXPECT_TRUE(ExitedWith(status, 0));
  times(&after);
  EXPECT_GE((after.tms_cutime + after.tms_cstime) -
                (before.tms_cutime + before.tms_cstime),
            8);
}

int64_t UserAndSystemNs(const struct rusage& ru) {
  return ToNs(ru.ru_utime) + ToNs(ru.ru_stime);
}

TEST(GetrusageTest, SelfAndThread) {
  struct rusage self_before = {}, self_after = {};
  ASSERT_EQ(getrusage(RUSAGE_SELF, &self_before), 0);
  struct rusage spinner_ru = {}, main_before = {}, main_after = {};
  ASSERT_EQ(getrusage(RUSAGE_THREAD, &main_before), 0);
  std::thread spinner([&] {
    struct rusage start = {};
    getrusage(RUSAGE_THREAD, &start);
    SpinFor(CLOCK_THREAD_CPUTIME_ID, 100 * kMs);
    getrusage(RUSAGE_THREAD, &spinner_ru);
    spinner_ru.ru_utime.tv_sec -= start.ru_utime.tv_sec;
    spinner_ru.ru_utime.tv_usec -= start.ru_utime.tv_usec;
  });
  spinner.join();
  ASSERT_EQ(getrusage(RUSAGE_THREAD, &main_after), 0);
  ASSERT_EQ(getrusage(RUSAGE_SELF, &self_after), 0);
  // The spinning thread's user time, not this thread's.
  EXPECT_GE(ToNs(spinner_ru.ru_utime), 50 * kMs);
  EXPECT_LT(UserAndSystemNs(main_after) - UserAndSystemNs(main_before),
            50 * kMs);
  // The process's includes it.
  EXPECT_GE(ToNs(self_after.ru_utime) - ToNs(self_before.ru_utime), 50 * kMs);
  EXPECT_GT(self_after.ru_maxrss, 0);
}

TEST(GetrusageTest, ChildrenCountOnceWaitedFor) {
  struct rusage before = {}, zombie = {}, after = {};
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &before), 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    bool ok = SpinFor(CLOCK_PROCESS_CPUTIME_ID, 100 * kMs);
    _exit(ok ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  close(fds[1]);
  // The pipe's write end closes when the child exits.
  char c;
  EXPECT_EQ(read(fds[0], &c, 1), 0);
  close(fds[0]);
  // An exited child that has not been waited for does not count yet.
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &zombie), 0);
  EXPECT_LT(ToNs(zombie.ru_utime) - ToNs(before.ru_utime), 50 * kMs);
  int status = CheckedWaitStatus(pid);
  EXPECT_TRUE(ExitedWith(status, 0));
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &after), 0);
  EXPECT_GE(ToNs(after.ru_utime) - ToNs(before.ru_utime), 50 * kMs);
  EXPECT_GT(after.ru_maxrss, 0);
}

TEST(GetrusageTest, Errors) {
  struct rusage ru = {};
  EXPECT_ERRNO(syscall(SYS_getrusage, 5, &ru), EINVAL);
  EXPECT_ERRNO(syscall(SYS_getrusage, -3, &ru), EINVAL);
  EXPECT_ERRNO(syscall(SYS_getrusage, RUSAGE_SELF, reinterpret_cast<void*>(8)),
               EFAULT);
}

}  // namespace
