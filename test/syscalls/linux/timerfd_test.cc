// timerfd_create(2), timerfd_settime(2) and timerfd_gettime(2): the clocks
// (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME; the *_ALARM clocks need
// CAP_WAKE_ALARM, so EPERM for an unprivileged user; other clocks EINVAL),
// flags (TFD_CLOEXEC, TFD_NONBLOCK; anything else EINVAL), disarmed
// timers, one-shot and interval timers with their expiration counts,
// TFD_TIMER_ABSTIME deadlines in the past (expired at once, with every
// missed interval counted), settime's old value and its reset of the count,
// disarming, gettime's remaining time, invalid itimerspecs and flags
// (EINVAL), non-timerfd and bad fds (EINVAL, EBADF), reads shorter than 8
// bytes (EINVAL), writes (EINVAL), TFD_IOC_SET_TICKS, blocking reads woken
// by the expiry, poll/select/epoll readiness and wakeups, signals
// interrupting a blocked read (EINTR), sharing across fork, and the
// /proc/self/fd link "anon_inode:[timerfd]".
//
// No test depends on timing beyond lower bounds: an expiry is waited for,
// and counts are checked against the time that has certainly passed.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

namespace {

using testing_util::FromNs;
using testing_util::Interrupter;
using testing_util::kMs;
using testing_util::kSec;
using testing_util::NowNs;
using testing_util::Readlink;
using testing_util::ToNs;
using testing_util::Watchdog;

class Tfd {
 public:
  explicit Tfd(clockid_t clock = CLOCK_MONOTONIC, int flags = TFD_CLOEXEC)
      : fd_(timerfd_create(clock, flags)) {
    EXPECT_GE(fd_, 0) << strerror(errno);
  }
  ~Tfd() {
    if (fd_ >= 0) close(fd_);
  }
  Tfd(const Tfd&) = delete;
  Tfd& operator=(const Tfd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct itimerspec Spec(int64_t value_ns, int64_t interval_ns = 0) {
  struct itimerspec s = {};
  s.it_value = FromNs(value_ns);
  s.it_interval = FromNs(interval_ns);
  return s;
}

int64_t ReadTicks(int fd) {
  uint64_t v = 0;
  ssize_t n = read(fd, &v, sizeof(v));
  if (n < 0) return -1;
  EXPECT_EQ(n, 8);
  return static_cast<int64_t>(v);
}

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  EXPECT_GE(poll(&p, 1, 0), 0);
  EXPECT_EQ(p.revents & ~POLLIN, 0);
  return (p.revents & POLLIN) != 0;
}

// ---------------------------------------------------------------- creation

TEST(TimerfdTest, TheClocksItAccepts) {
  for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    int fd = timerfd_create(c, TFD_CLOEXEC);
    EXPECT_GE(fd, 0) << "clock " << c << ": " << strerror(errno);
    if (fd >= 0) close(fd);
  }
  for (clockid_t c :
       {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
        CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_TAI, 100, -1}) {
    SCOPED_TRACE(c);
    EXPECT_ERRNO(timerfd_create(c, TFD_CLOEXEC), EINVAL);
  }
}

TEST(TimerfdTest, AlarmClocksNeedCapWakeAlarm) {
  testing_util::InForkedChild([] {
    testing_util::BecomeUser(65534, 65534);
    EXPECT_ERRNO(timerfd_create(CLOCK_REALTIME_ALARM, 0), EPERM);
    EXPECT_ERRNO(timerfd_create(CLOCK_BOOTTIME_ALARM, 0), EPERM);
    // Flags are checked first.
    EXPECT_ERRNO(timerfd_create(CLOCK_REALTIME_ALARM, 1), EINVAL);
  });
}

TEST(TimerfdTest, Flags) {
  Tfd plain(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(fcntl(plain.get(), F_GETFD), 0);
  EXPECT_EQ(fcntl(plain.get(), F_GETFL), O_RDWR);
  Tfd both(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  EXPECT_EQ(fcntl(both.get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(both.get(), F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
  EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, O_APPEND), EINVAL);
}

TEST(TimerfdTest, ProcFdLink) {
  Tfd t;
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(t.get())),
            "anon_inode:[timerfd]");
}

// ---------------------------------------------------------------- disarmed

TEST(TimerfdTest, ADisarmedTimerNeverExpires) {
  Tfd t(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec cur;
  memset(&cur, 0xff, sizeof(cur));
  ASSERT_OK(timerfd_gettime(t.get(), &cur));
  EXPECT_EQ(ToNs(cur.it_value), 0);
  EXPECT_EQ(ToNs(cur.it_interval), 0);
  EXPECT_ERRNO(ReadTicks(t.get()), EAGAIN);
  EXPECT_FALSE(Readable(t.get()));
}

TEST(TimerfdTest, ReadsShorterThanEightBytesAndWritesAreEINVAL) {
  Tfd t(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  char buf[8] = {};
  EXPECT_ERRNO(read(t.get(), buf, 7), EINVAL);
  EXPECT_ERRNO(read(t.get(), buf, 0), EINVAL);
  EXPECT_ERRNO(write(t.get(), buf, 8), EINVAL);
  EXPECT_ERRNO(fsync(t.get()), EINVAL);
  EXPECT_EQ(lseek(t.get(), 10, SEEK_SET), 0);
}

// ---------------------------------------------------------------- one-shot

TEST(TimerfdTest, AOneShotTimerExpiresOnce) {
  Watchdog watchdog;
  for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME}) {
    Tfd t(c);
    struct itimerspec s = Spec(10 * kMs);
    int64_t start = NowNs();
    ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
    EXPECT_EQ(ReadTicks(t.get()), 1);  // blocks until the expiry
    EXPECT_GE(NowNs() - start, 10 * kMs);
    struct itimerspec cur;
    ASSERT_OK(timerfd_gettime(t.get(), &cur));
    EXPECT_EQ(ToNs(cur.it_value), 0);
    EXPECT_EQ(ToNs(cur.it_interval), 0);
    EXPECT_FALSE(Readable(t.get()));
  }
}

TEST(TimerfdTest, GettimeReportsTheTimeLeft) {
  Tfd t;
  struct itimerspec s = Spec(100 * kSec, 7 * kSec);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  struct itimerspec cur;
  ASSERT_OK(timerfd_gettime(t.get(), &cur));
  EXPECT_GT(ToNs(cur.it_value), 90 * kSec);
  EXPECT_LE(ToNs(cur.it_value), 100 * kSec);
  EXPECT_EQ(ToNs(cur.it_interval), 7 * kSec);
  EXPECT_FALSE(Readable(t.get()));
}

TEST(TimerfdTest, SettimeReturnsTheOldValueAndDisarms) {
  Tfd t(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec s = Spec(100 * kSec, 3 * kSec);
  struct itimerspec old;
  memset(&old, 0xff, sizeof(old));
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, &old));
  EXPECT_EQ(ToNs(old.it_value), 0);
  EXPECT_EQ(ToNs(old.it_interval), 0);
  struct itimerspec zero = Spec(0, 0);
  ASSERT_OK(timerfd_settime(t.get(), 0, &zero, &old));
  EXPECT_GT(ToNs(old.it_value), 90 * kSec);
  EXPECT_EQ(ToNs(old.it_interval), 3 * kSec);
  struct itimerspec cur;
  ASSERT_OK(timerfd_gettime(t.get(), &cur));
  EXPECT_EQ(ToNs(cur.it_value), 0);
  EXPECT_ERRNO(ReadTicks(t.get()), EAGAIN);
}

TEST(TimerfdTest, ADisarmedTimerKeepsItsInterval) {
  Tfd t;
  struct itimerspec s = Spec(0, 5 * kSec);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  struct itimerspec cur;
  ASSERT_OK(timerfd_gettime(t.get(), &cur));
  EXPECT_EQ(ToNs(cur.it_value), 0);
  EXPECT_EQ(ToNs(cur.it_interval), 5 * kSec);
}

TEST(TimerfdTest, SettimeForgetsExpirationsNotYetRead) {
  Watchdog watchdog;
  Tfd t(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec s = Spec(1 * kMs);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  ASSERT_TRUE(testing_util::WaitFor([&] { return Readable(t.get()); }));
  struct itimerspec later = Spec(100 * kSec);
  ASSERT_OK(timerfd_settime(t.get(), 0, &later, nullptr));
  EXPECT_FALSE(Readable(t.get()));
  EXPECT_ERRNO(ReadTicks(t.get()), EAGAIN);
}

// ---------------------------------------------------------------- interval

TEST(TimerfdTest, AnIntervalTimerCountsEveryExpiration) {
  Watchdog watchdog;
  Tfd t;
  struct itimerspec s = Spec(1 * kMs, 1 * kMs);
  int64_t start = NowNs();
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  testing_util::SleepMs(30);
  int64_t ticks = ReadTicks(t.get());
  int64_t elapsed = NowNs() - start;
  // At least 30 ms have passed: the expiries at 1, 2, ..., 30 ms.
  EXPECT_GE(ticks, 30);
  EXPECT_LE(ticks, elapsed / kMs + 1);
  // The count restarts after a read, and the timer keeps going.
  int64_t more = ReadTicks(t.get());
  EXPECT_GE(more, 1);
  struct itimerspec cur;
  ASSERT_OK(timerfd_gettime(t.get(), &cur));
  EXPECT_GT(ToNs(cur.it_value), 0);
  EXPECT_LE(ToNs(cur.it_value), 1 * kMs);
  EXPECT_EQ(ToNs(cur.it_interval), 1 * kMs);
}

// ---------------------------------------------------------------- absolute

TEST(TimerfdTest, AnAbsoluteDeadlineInThePastExpiresAtOnce) {
  for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME}) {
    Tfd t(c, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec s = Spec(NowNs(c) - 1 * kSec);
    ASSERT_OK(timerfd_settime(t.get(), TFD_TIMER_ABSTIME, &s, nullptr));
    EXPECT_TRUE(Readable(t.get())) << "clock " << c;
    EXPECT_EQ(ReadTicks(t.get()), 1) << "clock " << c;
  }
}

TEST(TimerfdTest, AnAbsoluteDeadlineCountsTheMissedIntervals) {
  Tfd t(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int64_t start = NowNs();
  struct itimerspec s = Spec(start - 1 * kSec, 100 * kMs);
  ASSERT_OK(timerfd_settime(t.get(), TFD_TIMER_ABSTIME, &s, nullptr));
  int64_t ticks = ReadTicks(t.get());
  int64_t elapsed = NowNs() - start;
  // The deadline and the ten intervals since, give or take one.
  EXPECT_GE(ticks, 10);
  EXPECT_LE(ticks, 12 + elapsed / (100 * kMs));
}

TEST(TimerfdTest, AnAbsoluteDeadlineInTheFuture) {
  Watchdog watchdog;
  for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME}) {
    Tfd t(c);
    int64_t deadline = NowNs(c) + 20 * kMs;
    struct itimerspec s = Spec(deadline);
    ASSERT_OK(timerfd_settime(t.get(), TFD_TIMER_ABSTIME, &s, nullptr));
    struct itimerspec cur;
    ASSERT_OK(timerfd_gettime(t.get(), &cur));
    EXPECT_GT(ToNs(cur.it_value), 0);
    EXPECT_LE(ToNs(cur.it_value), 20 * kMs);
    EXPECT_EQ(ReadTicks(t.get()), 1);
    EXPECT_GE(NowNs(c), deadline) << "clock " << c;
  }
}

TEST(TimerfdTest, CancelOnSetIsAcceptedForRealtimeDeadlines) {
  // Nothing sets the clock here, so the timer just expires.
  Watchdog watchdog;
  Tfd t(CLOCK_REALTIME);
  struct itimerspec s = Spec(NowNs(CLOCK_REALTIME) + 5 * kMs);
  ASSERT_OK(timerfd_settime(
      t.get(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, nullptr));
  EXPECT_EQ(ReadTicks(t.get()), 1);
  // Without TFD_TIMER_ABSTIME the flag is ignored.
  struct itimerspec rel = Spec(1 * kMs);
  ASSERT_OK(timerfd_settime(t.get(), TFD_TIMER_CANCEL_ON_SET, &rel, nullptr));
  EXPECT_EQ(ReadTicks(t.get()), 1);
}

// ------------------------------------------------------------------ errors

TEST(TimerfdTest, InvalidSettingsAreEINVAL) {
  Tfd t;
  struct itimerspec s = Spec(1 * kSec);
  EXPECT_ERRNO(timerfd_settime(t.get(), 4, &s, nullptr), EINVAL);
  s.it_value.tv_nsec = 1000000000;
  EXPECT_ERRNO(timerfd_settime(t.get(), 0, &s, nullptr), EINVAL);
  s = Spec(1 * kSec);
  s.it_interval.tv_nsec = -1;
  EXPECT_ERRNO(timerfd_settime(t.get(), 0, &s, nullptr), EINVAL);
  s = Spec(1 * kSec);
  s.it_value.tv_sec = -1;
  EXPECT_ERRNO(timerfd_settime(t.get(), 0, &s, nullptr), EINVAL);
  s = Spec(1 * kSec);
  EXPECT_ERRNO(syscall(SYS_timerfd_settime, t.get(), 0, nullptr, nullptr),
               EFAULT);
  EXPECT_ERRNO(syscall(SYS_timerfd_gettime, t.get(), nullptr), EFAULT);
}

TEST(TimerfdTest, OtherFilesAreEINVALAndBadFdsEBADF) {
  int efd = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  struct itimerspec s = Spec(1 * kSec);
  struct itimerspec cur;
  EXPECT_ERRNO(timerfd_settime(efd, 0, &s, nullptr), EINVAL);
  EXPECT_ERRNO(timerfd_gettime(efd, &cur), EINVAL);
  close(efd);
  EXPECT_ERRNO(timerfd_settime(efd, 0, &s, nullptr), EBADF);
  EXPECT_ERRNO(timerfd_gettime(efd, &cur), EBADF);
  EXPECT_ERRNO(timerfd_gettime(-1, &cur), EBADF);
}

TEST(TimerfdTest, SetTicksIoctl) {
  Tfd t(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  uint64_t ticks = 5;
  int rc = ioctl(t.get(), TFD_IOC_SET_TICKS, &ticks);
  if (rc != 0) {
    // A kernel built without CONFIG_CHECKPOINT_RESTORE.
    EXPECT_EQ(errno, ENOTTY);
    return;
  }
  EXPECT_TRUE(Readable(t.get()));
  EXPECT_EQ(ReadTicks(t.get()), 5);
  ticks = 0;
  EXPECT_ERRNO(ioctl(t.get(), TFD_IOC_SET_TICKS, &ticks), EINVAL);
  EXPECT_ERRNO(ioctl(t.get(), TFD_IOC_SET_TICKS, nullptr), EFAULT);
  EXPECT_ERRNO(ioctl(t.get(), _IOW('T', 1, uint64_t), &ticks), ENOTTY);
}

// --------------------------------------------------------------- blocking

int g_handled = 0;
void CountSignal(int, siginfo_t*, void*) { g_handled++; }

TEST(TimerfdTest, ASignalInterruptsABlockedReadWithEINTR) {
  Watchdog watchdog;
  testing_util::ScopedAction action(SIGUSR1, CountSignal, 0);
  Tfd t;
  uint64_t v;
  ssize_t n;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    n = read(t.get(), &v, sizeof(v));
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR);
}

TEST(TimerfdTest, WithSaRestartABlockedReadWaitsForTheExpiry) {
  Watchdog watchdog;
  testing_util::ScopedAction action(SIGUSR1, CountSignal, SA_RESTART);
  Tfd t;
  g_handled = 0;
  struct itimerspec s = Spec(60 * kMs);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  int64_t ticks;
  {
    Interrupter interrupter(SIGUSR1);
    ticks = ReadTicks(t.get());
  }
  EXPECT_EQ(ticks, 1);
}

TEST(TimerfdTest, PollSelectAndEpollWaitForTheExpiry) {
  Watchdog watchdog;
  Tfd t;
  struct itimerspec s = Spec(10 * kMs);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  struct pollfd p = {t.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, -1), 1);
  EXPECT_EQ(p.revents, POLLIN);
  EXPECT_EQ(ReadTicks(t.get()), 1);

  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  fd_set r;
  FD_ZERO(&r);
  FD_SET(t.get(), &r);
  EXPECT_EQ(select(t.get() + 1, &r, nullptr, nullptr, nullptr), 1);
  EXPECT_TRUE(FD_ISSET(t.get(), &r));
  EXPECT_EQ(ReadTicks(t.get()), 1);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 5;
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, t.get(), &ev));
  struct epoll_event out = {};
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  EXPECT_EQ(epoll_wait(ep, &out, 1, -1), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out.data.u64, 5u);
  EXPECT_EQ(ReadTicks(t.get()), 1);
  close(ep);
}

TEST(TimerfdTest, AnIntervalTimerWakesEpollAgainAfterARead) {
  Watchdog watchdog;
  Tfd t;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, t.get(), &ev));
  struct itimerspec s = Spec(5 * kMs, 5 * kMs);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  for (int i = 0; i < 3; i++) {
    struct epoll_event out = {};
    ASSERT_EQ(epoll_wait(ep, &out, 1, -1), 1);
    EXPECT_GE(ReadTicks(t.get()), 1);
  }
  close(ep);
}

// --------------------------------------------------------------- processes

TEST(TimerfdTest, AForkedChildSharesTheTimer) {
  Watchdog watchdog;
  Tfd t;
  struct itimerspec s = Spec(100 * kSec, 50 * kSec);
  ASSERT_OK(timerfd_settime(t.get(), 0, &s, nullptr));
  int status = testing_util::RunInChild([&] {
    struct itimerspec cur;
    CHILD_CHECK(timerfd_gettime(t.get(), &cur) == 0);
    CHILD_CHECK(ToNs(cur.it_interval) == 50 * kSec);
    CHILD_CHECK(ToNs(cur.it_value) > 90 * kSec);
    // Rearm it for the parent to see.
    struct itimerspec soon = Spec(1 * kMs);
    CHILD_CHECK(timerfd_settime(t.get(), 0, &soon, nullptr) == 0);
    return 0;
  });
  EXPECT_TRUE(testing_util::ExitedWith(status, 0));
  EXPECT_EQ(ReadTicks(t.get()), 1);
}

}  // namespace
