// Blocking system calls interrupted by signals. Every blocking call is
// interrupted with EINTR by a handler installed without SA_RESTART. With
// SA_RESTART, the calls Linux restarts (read(2) and write(2) on a pipe,
// wait4(2), futex(2) FUTEX_WAIT without a timeout) carry on and complete,
// and the ones it never restarts after a handler (pause(2), rt_sigsuspend(2),
// nanosleep(2), clock_nanosleep(2), poll(2), ppoll(2), select(2),
// pselect6(2), epoll_wait(2), rt_sigtimedwait(2), a timed FUTEX_WAIT) still
// fail with EINTR. A signal that runs no handler (a stop and continue)
// interrupts almost nothing: the calls, timed ones included, carry on to
// their normal result, the sleeps through restart_syscall(2) -- except
// epoll_wait(2) and rt_sigtimedwait(2), which fail with EINTR. Also: the
// remaining time nanosleep(2) and clock_nanosleep(2) report, and
// restart_syscall(2) with nothing to restart.

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::ExitedWith;
using testing_util::FromNs;
using testing_util::Gettid;
using testing_util::Interrupter;
using testing_util::kChildWatchdogSeconds;
using testing_util::kKernelSigsetSize;
using testing_util::kMs;
using testing_util::kSec;
using testing_util::NowNs;
using testing_util::Pipe;
using testing_util::ProcState;
using testing_util::SigBit;
using testing_util::ToNs;

// Generous bound on the timer slack Linux adds to sleeps (50 us).
constexpr int64_t kSlack = 1 * kMs;

std::atomic<int> g_handled{0};
void CountHandler(int) { g_handled++; }

// Installs CountHandler for `sig` with `flags` and restores the old action.
class ScopedHandler {
 public:
  ScopedHandler(int sig, int flags) : sig_(sig) {
    g_handled = 0;
    struct sigaction act = {};
    act.sa_handler = CountHandler;
    act.sa_flags = flags;
    sigemptyset(&act.sa_mask);
    EXPECT_EQ(sigaction(sig, &act, &old_), 0);
    uint64_t set = SigBit(sig);
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &set, &old_mask_,
            kKernelSigsetSize);
  }
  ~ScopedHandler() {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_mask_, nullptr,
            kKernelSigsetSize);
    sigaction(sig_, &old_, nullptr);
  }
  ScopedHandler(const ScopedHandler&) = delete;
  ScopedHandler& operator=(const ScopedHandler&) = delete;

 private:
  int sig_;
  struct sigaction old_ = {};
  uint64_t old_mask_ = 0;
};

// ---------------------------------------------------------------------------
// A table of blocking calls.

// Owns what one blocking call needs. Call() blocks until Complete() runs
// (or a signal interrupts it), or, for a timed call, until kTimeout.
class Blocker {
 public:
  static constexpr int64_t kTimeout = 300 * kMs;
  virtual ~Blocker() = default;
  // The call; its result, with errno describing a -1.
  virtual long Call() = 0;
  // Makes a pending Call() return; may wait for `done` (set when Call()
  // returned). Timed calls need nothing.
  virtual void Complete(const std::atomic<bool>& /*done*/) {}
  // What Call() returns once completed (or timed out), and its errno.
  virtual long Result() const { return 0; }
  virtual int ResultErrno() const { return 0; }
};

class PipeReadBlocker : public Blocker {
 public:
  long Call() override {
    char c;
    return read(pipe_.r, &c, 1);
  }
  void Complete(const std::atomic<bool>&) override {
    EXPECT_EQ(write(pipe_.w, "x", 1), 1);
  }
  long Result() const override { return 1; }

 private:
  Pipe pipe_;
};

class PipeWriteBlocker : public Blocker {
 public:
  PipeWriteBlocker() {
    // Fill the pipe, then make it blocking again.
    int flags = fcntl(pipe_.w, F_GETFL);
    fcntl(pipe_.w, F_SETFL, flags | O_NONBLOCK);
    char buf[4096] = {};
    while (write(pipe_.w, buf, sizeof(buf)) > 0) {
    }
    while (write(pipe_.w, buf, 1) > 0) {
    }
    fcntl(pipe_.w, F_SETFL, flags);
  }
  long Call() override { return write(pipe_.w, "y", 1); }
  void Complete(const std::atomic<bool>&) override {
    std::vector<char> buf(1 << 20);
    EXPECT_GT(read(pipe_.r, buf.data(), buf.size()), 0);
  }
  long Result() const override { return 1; }

 private:
  Pipe pipe_;
};

class Wait4Blocker : public Blocker {
 public:
  Wait4Blocker() {
    pid_ = fork();
    if (pid_ == 0) {
      alarm(kChildWatchdogSeconds);
      char c;
      _exit(read(pipe_.r, &c, 1) == 1 ? 0 : 1);
    }
    EXPECT_GT(pid_, 0);
  }
  ~Wait4Blocker() override {
    if (!reaped_) {
      Release();
      waitpid(pid_, nullptr, 0);
    }
  }
  long Call() override {
    int status = 0;
    long rc = wait4(pid_, &status, 0, nullptr);
    if (rc == pid_) reaped_ = true;
    return rc;
  }
  void Complete(const std::atomic<bool>&) override { Release(); }
  long Result() const override { return pid_; }

 private:
  void Release() {
    if (released_) return;
    released_ = true;
    EXPECT_EQ(write(pipe_.w, "x", 1), 1);
  }
  Pipe pipe_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool released_ = false;
};

class FutexBlocker : public Blocker {
 public:
  explicit FutexBlocker(bool timed) : timed_(timed) {}
  long Call() override {
    struct timespec timeout = FromNs(timed_ ? kTimeout : 0);
    return syscall(SYS_futex, &word_, FUTEX_WAIT_PRIVATE, 0,
                   timed_ ? &timeout : nullptr, nullptr, 0);
  }
  void Complete(const std::atomic<bool>& done) override {
    // The word stays 0 (a restarted wait would otherwise see it changed),
    // so wake until the waiter is gone.
    while (!done) {
      syscall(SYS_futex, &word_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
      usleep(1000);
    }
  }
  long Result() const override { return timed_ ? -1 : 0; }
  int ResultErrno() const override { return timed_ ? ETIMEDOUT : 0; }

 private:
  bool timed_;
  uint32_t word_ = 0;
};

class PauseBlocker : public Blocker {
 public:
  long Call() override { return pause(); }
};

class SigsuspendBlocker : public Blocker {
 public:
  long Call() override {
    uint64_t mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &mask, kKernelSigsetSize);
    return syscall(SYS_rt_sigsuspend, &mask, kKernelSigsetSize);
  }
};

class NanosleepBlocker : public Blocker {
 public:
  long Call() override {
    struct timespec ts = FromNs(kTimeout);
    return syscall(SYS_nanosleep, &ts, nullptr);
  }
};

class ClockNanosleepBlocker : public Blocker {
 public:
  explicit ClockNanosleepBlocker(bool absolute) : absolute_(absolute) {}
  long Call() override {
    struct timespec ts =
        FromNs(absolute_ ? NowNs(CLOCK_MONOTONIC) + kTimeout : kTimeout);
    long rc = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC,
                      absolute_ ? TIMER_ABSTIME : 0, &ts, nullptr);
    return rc;
  }

 private:
  bool absolute_;
};

class PollBlocker : public Blocker {
 public:
  explicit PollBlocker(bool ppoll) : ppoll_(ppoll) {}
  long Call() override {
    struct pollfd pfd = {pipe_.r, POLLIN, 0};
    if (ppoll_) {
      struct timespec ts = FromNs(kTimeout);
      return syscall(SYS_ppoll, &pfd, 1, &ts, nullptr, kKernelSigsetSize);
    }
    return poll(&pfd, 1, static_cast<int>(kTimeout / kMs));
  }

 private:
  bool ppoll_;
  Pipe pipe_;
};

class SelectBlocker : public Blocker {
 public:
  explicit SelectBlocker(bool pselect) : pselect_(pselect) {}
  long Call() override {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(pipe_.r, &fds);
    if (pselect_) {
      struct timespec ts = FromNs(kTimeout);
      return syscall(SYS_pselect6, pipe_.r + 1, &fds, nullptr, nullptr, &ts,
                     nullptr);
    }
    struct timeval tv = {0, static_cast<suseconds_t>(kTimeout / 1000)};
    return select(pipe_.r + 1, &fds, nullptr, nullptr, &tv);
  }

 private:
  bool pselect_;
  Pipe pipe_;
};

class EpollWaitBlocker : public Blocker {
 public:
  EpollWaitBlocker() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    EXPECT_GE(epfd_, 0);
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    EXPECT_EQ(epoll_ctl(epfd_, EPOLL_CTL_ADD, pipe_.r, &ev), 0);
  }
  ~EpollWaitBlocker() override { close(epfd_); }
  long Call() override {
    struct epoll_event ev;
    return epoll_wait(epfd_, &ev, 1, static_cast<int>(kTimeout / kMs));
  }

 private:
  Pipe pipe_;
  int epfd_ = -1;
};

class SigtimedwaitBlocker : public Blocker {
 public:
  SigtimedwaitBlocker() {
    uint64_t set = SigBit(SIGUSR2);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old_mask_, kKernelSigsetSize);
  }
  ~SigtimedwaitBlocker() override {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_mask_, nullptr,
            kKernelSigsetSize);
  }
  long Call() override {
    uint64_t set = SigBit(SIGUSR2);
    struct timespec ts = FromNs(kTimeout);
    return syscall(SYS_rt_sigtimedwait, &set, nullptr, &ts, kKernelSigsetSize);
  }
  long Result() const override { return -1; }
  int ResultErrno() const override { return EAGAIN; }

 private:
  uint64_t old_mask_ = 0;
};

struct BlockingCall {
  const char* name;
  std::function<std::unique_ptr<Blocker>()> make;
  // Restarted after a SA_RESTART handler (rather than failing with EINTR).
  bool restarted_by_sa_restart;
  // Returns on its own after Blocker::kTimeout.
  bool timed;
  // Fails with EINTR when the process is stopped and continued, although no
  // handler runs (epoll_wait and rt_sigtimedwait return EINTR themselves
  // rather than asking for a restart).
  bool eintr_after_stop;
};

void PrintTo(const BlockingCall& c, std::ostream* os) { *os << c.name; }

template <typename T, typename... Args>
std::function<std::unique_ptr<Blocker>()> Make(Args... args) {
  return [=] { return std::unique_ptr<Blocker>(new T(args...)); };
}

const BlockingCall kCalls[] = {
    {"PipeRead", Make<PipeReadBlocker>(), true, false, false},
    {"PipeWrite", Make<PipeWriteBlocker>(), true, false, false},
    {"Wait4", Make<Wait4Blocker>(), true, false, false},
    {"FutexWait", Make<FutexBlocker>(false), true, false, false},
    {"FutexWaitTimed", Make<FutexBlocker>(true), false, true, false},
    {"Pause", Make<PauseBlocker>(), false, false, false},
    {"Sigsuspend", Make<SigsuspendBlocker>(), false, false, false},
    {"Nanosleep", Make<NanosleepBlocker>(), false, true, false},
    {"ClockNanosleep", Make<ClockNanosleepBlocker>(false), false, true, false},
    {"ClockNanosleepAbs", Make<ClockNanosleepBlocker>(true), false, true,
     false},
    {"Poll", Make<PollBlocker>(false), false, true, false},
    {"Ppoll", Make<PollBlocker>(true), false, true, false},
    {"Select", Make<SelectBlocker>(false), false, true, false},
    {"Pselect6", Make<SelectBlocker>(true), false, true, false},
    {"EpollWait", Make<EpollWaitBlocker>(), false, true, true},
    {"Sigtimedwait", Make<SigtimedwaitBlocker>(), false, true, true},
};

struct Outcome {
  long rc;
  int err;
};

// Runs `blocker`'s call while SIGUSR1 (handled with `flags`) keeps
// arriving. With `complete`, the signals stop after 20 and the call is
// then completed; otherwise they keep coming until the call returns.
Outcome RunInterrupted(Blocker* blocker, int flags, bool complete) {
  ScopedHandler handler(SIGUSR1, flags);
  std::atomic<bool> done{false};
  pid_t tid = Gettid();
  std::thread t([&] {
    for (int sent = 0; !done; sent++) {
      if (complete && sent == 20) {
        blocker->Complete(done);
        break;
      }
      syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
      usleep(5000);
    }
  });
  errno = 0;
  long rc = blocker->Call();
  int err = errno;
  done = true;
  t.join();
  EXPECT_GE(g_handled.load(), 1);
  return {rc, err};
}

class InterruptTest : public ::testing::TestWithParam<BlockingCall> {};

TEST_P(InterruptTest, HandlerWithoutSaRestartInterruptsWithEINTR) {
  auto blocker = GetParam().make();
  // Timed calls would return on their own after a while; untimed ones block
  // until a signal arrives.
  alarm(30);
  Outcome o = RunInterrupted(blocker.get(), 0, false);
  alarm(0);
  EXPECT_EQ(o.rc, -1);
  EXPECT_EQ(o.err, EINTR) << strerror(o.err);
}

TEST_P(InterruptTest, HandlerWithSaRestart) {
  const BlockingCall& c = GetParam();
  auto blocker = c.make();
  alarm(30);
  Outcome o =
      RunInterrupted(blocker.get(), SA_RESTART, c.restarted_by_sa_restart);
  alarm(0);
  if (c.restarted_by_sa_restart) {
    // Restarted, then completed by the other thread.
    EXPECT_EQ(o.rc, blocker->Result());
    EXPECT_EQ(o.err, blocker->ResultErrno()) << strerror(o.err);
  } else {
    EXPECT_EQ(o.rc, -1);
    EXPECT_EQ(o.err, EINTR) << strerror(o.err);
  }
}

TEST_P(InterruptTest, StopAndContinue) {
  // SIGSTOP and SIGCONT run no handler: most calls resume as if nothing had
  // happened (the sleeps through restart_syscall, to the same deadline).
  const BlockingCall& c = GetParam();
  if (!c.timed && !c.restarted_by_sa_restart) {
    GTEST_SKIP() << "returns only for a handled signal";
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  int64_t start = NowNs();
  pid_t pid = fork();
  if (pid == 0) {
    alarm(kChildWatchdogSeconds);
    auto blocker = c.make();
    std::atomic<bool> done{false};
    std::thread completer;
    if (!c.timed) {
      completer = std::thread([&] {
        // Complete the call well after the stop and continue.
        usleep(300 * 1000);
        blocker->Complete(done);
      });
    }
    if (write(ready[1], "x", 1) != 1) _exit(10);
    int64_t begin = NowNs();
    errno = 0;
    long rc = blocker->Call();
    int err = errno;
    int64_t elapsed = NowNs() - begin;
    done = true;
    if (completer.joinable()) completer.join();
    long want = c.eintr_after_stop ? -1 : blocker->Result();
    int want_errno = c.eintr_after_stop ? EINTR : blocker->ResultErrno();
    if (rc != want || (rc == -1 && err != want_errno)) {
      fprintf(stderr, "%s: got %ld (%s)\n", c.name, rc, strerror(err));
      _exit(11);
    }
    if (c.timed && !c.eintr_after_stop && elapsed < Blocker::kTimeout)
      _exit(12);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  char x;
  ASSERT_EQ(read(ready[0], &x, 1), 1);
  close(ready[0]);
  close(ready[1]);
  // Stop it once it sleeps in the call (if /proc tells; 2 s at most).
  for (int i = 0; i < 200 && ProcState(pid) != 'S'; i++) usleep(10 * 1000);
  usleep(50 * 1000);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  EXPECT_TRUE(WIFSTOPPED(status)) << status;
  usleep(20 * 1000);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(ExitedWith(status, 0));
  EXPECT_GE(NowNs() - start, 50 * kMs);
}

INSTANTIATE_TEST_SUITE_P(
    Calls, InterruptTest, ::testing::ValuesIn(kCalls),
    [](const ::testing::TestParamInfo<BlockingCall>& info) {
      return std::string(info.param.name);
    });

// ---------------------------------------------------------------------------
// What the sleeps report.

TEST(SleepInterruptTest, NanosleepReportsTheRemainingTime) {
  ScopedHandler handler(SIGUSR1, 0);
  struct timespec req = {10, 0}, rem = {-1, -1};
  int64_t start = NowNs();
  long rc;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    rc = syscall(SYS_nanosleep, &req, &rem);
    err = errno;
  }
  int64_t elapsed = NowNs() - start;
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINTR);
  EXPECT_LT(rem.tv_nsec, 1000000000);
  // What was left when it was interrupted, counted to the timer's hard
  // expiry: Linux adds the thread's timer slack (50 us by default) to a
  // sleep, so `rem` can exceed `req` when the signal comes at once.
  EXPECT_GT(ToNs(rem), 0);
  EXPECT_LE(ToNs(rem), ToNs(req) + kSlack);
  EXPECT_GE(ToNs(rem), ToNs(req) - elapsed);
}

TEST(SleepInterruptTest, ClockNanosleepReportsTheRemainingTimeOnlyIfRelative) {
  ScopedHandler handler(SIGUSR1, SA_RESTART);
  struct timespec req = {10, 0}, rem = {-1, -1};
  long rc;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    rc = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, &rem);
    err = errno;
  }
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINTR);
  EXPECT_GT(ToNs(rem), 0);
  EXPECT_LE(ToNs(rem), ToNs(req) + kSlack);

  // An absolute sleep leaves `rem` alone.
  struct timespec deadline = FromNs(NowNs(CLOCK_MONOTONIC) + 10 * kSec);
  rem = {-1, -1};
  {
    Interrupter interrupter(SIGUSR1);
    rc = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline,
                 &rem);
    err = errno;
  }
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINTR);
  EXPECT_EQ(rem.tv_sec, -1);
  EXPECT_EQ(rem.tv_nsec, -1);
  // glibc's clock_nanosleep returns the error rather than setting errno.
  {
    Interrupter interrupter(SIGUSR1);
    EXPECT_EQ(
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr),
        EINTR);
  }
}

TEST(SleepInterruptTest, IgnoredSignalDoesNotInterrupt) {
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGUSR1, &ign, &old), 0);
  struct timespec req = FromNs(100 * kMs);
  int64_t start = NowNs();
  long rc;
  {
    Interrupter interrupter(SIGUSR1);
    rc = syscall(SYS_nanosleep, &req, nullptr);
  }
  EXPECT_EQ(rc, 0);
  EXPECT_GE(NowNs() - start, 100 * kMs);
  sigaction(SIGUSR1, &old, nullptr);
}

TEST(RestartSyscallTest, WithNothingToRestartIsEINTR) {
  EXPECT_ERRNO(syscall(SYS_restart_syscall), EINTR);
}

}  // namespace
