// poll(2), ppoll(2), select(2) and pselect6(2) on pipes and regular files:
// readiness (POLLIN with data, POLLOUT with room, POLLHUP once the writers
// have closed, POLLERR on the write end once the readers have closed, both
// reported even when not asked for; select's read/write sets for the same
// states), timeouts (zero returns at once, a positive one returns 0 no
// sooner than asked, select/pselect6/ppoll write back the time left),
// POLLNVAL for a closed fd, negative fds ignored, nfds over RLIMIT_NOFILE
// (EINVAL), select's EBADF and EINVAL cases and its normalisation of
// tv_usec, fds at or above select's nfds ignored, ppoll/pselect6 with a
// temporary sigmask that lets a pending signal in (EINTR after the handler,
// the old mask back afterwards), blocking polls and selects woken by a write
// from another thread, and regular files always ready.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::kKernelSigsetSize;
using testing_util::kMs;
using testing_util::NowNs;
using testing_util::RunLater;
using testing_util::TempPath;
using testing_util::Watchdog;
using testing_util::WriteFile;

class PollTest : public testing_util::PipeFixture {
 protected:
  void Fill() {
    ASSERT_OK(fcntl(w(), F_SETFL, O_NONBLOCK));
    std::vector<char> buf(65536, 'f');
    while (write(w(), buf.data(), buf.size()) > 0) {
    }
    ASSERT_EQ(errno, EAGAIN);
  }
  // Polls the read end for POLLIN without a timeout while another thread
  // runs `wake` 50 ms later; expects poll to return 1 and returns revents.
  short BlockingPollAfter(std::function<void()> wake) {
    Watchdog watchdog;
    std::thread waker = RunLater(50, std::move(wake));
    struct pollfd pfd = {r(), POLLIN, 0};
    EXPECT_EQ(poll(&pfd, 1, -1), 1);
    waker.join();
    return pfd.revents;
  }
  // Polls one fd with a zero timeout and returns its revents (or -1 if poll
  // did not return 0 or 1 consistently with revents).
  int Revents(int fd, short events) {
    struct pollfd pfd = {fd, events, static_cast<short>(0x5a5a)};
    int n = poll(&pfd, 1, 0);
    if (n != (pfd.revents != 0 ? 1 : 0)) return -1;
    return pfd.revents;
  }
};

// ------------------------------------------------------------------ poll

TEST_F(PollTest, AnEmptyPipeIsWritableButNotReadable) {
  struct pollfd pfds[2] = {{r(), POLLIN, 0}, {w(), POLLOUT, 0}};
  EXPECT_EQ(poll(pfds, 2, 0), 1);
  EXPECT_EQ(pfds[0].revents, 0);
  EXPECT_EQ(pfds[1].revents, POLLOUT);
  // Only what was asked for (plus POLLERR/POLLHUP/POLLNVAL) is reported.
  EXPECT_EQ(Revents(w(), POLLOUT | POLLWRNORM), POLLOUT | POLLWRNORM);
  EXPECT_EQ(Revents(w(), POLLIN), 0);
  EXPECT_EQ(Revents(w(), 0), 0);
}

TEST_F(PollTest, DataMakesTheReadEndReadable) {
  ASSERT_EQ(write(w(), "x", 1), 1);
  EXPECT_EQ(Revents(r(), POLLIN), POLLIN);
  EXPECT_EQ(Revents(r(), POLLIN | POLLRDNORM | POLLPRI), POLLIN | POLLRDNORM);
  EXPECT_EQ(Revents(r(), POLLOUT), 0);  // the read end is never writable
}

TEST_F(PollTest, AFullPipeIsNotWritable) {
  Fill();
  EXPECT_EQ(Revents(w(), POLLOUT), 0);
  EXPECT_EQ(Revents(r(), POLLIN), POLLIN);
}

TEST_F(PollTest, WritersGoneIsPOLLHUPEvenUnasked) {
  CloseWrite();
  EXPECT_EQ(Revents(r(), POLLIN), POLLHUP);
  EXPECT_EQ(Revents(r(), 0), POLLHUP);
}

TEST_F(PollTest, WritersGoneWithDataLeftIsPOLLINAndPOLLHUP) {
  ASSERT_EQ(write(w(), "x", 1), 1);
  CloseWrite();
  EXPECT_EQ(Revents(r(), POLLIN), POLLIN | POLLHUP);
}

TEST_F(PollTest, ReadersGoneIsPOLLERROnTheWriteEnd) {
  CloseRead();
  EXPECT_EQ(Revents(w(), POLLOUT), POLLOUT | POLLERR);
  EXPECT_EQ(Revents(w(), 0), POLLERR);
}

TEST_F(PollTest, ZeroTimeoutReturnsAtOnce) {
  struct pollfd pfd = {r(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  EXPECT_EQ(poll(nullptr, 0, 0), 0);
}

TEST_F(PollTest, APositiveTimeoutExpires) {
  struct pollfd pfd = {r(), POLLIN, 0};
  int64_t start = NowNs();
  EXPECT_EQ(poll(&pfd, 1, 50), 0);
  EXPECT_GE(NowNs() - start, 50 * kMs);
  EXPECT_EQ(pfd.revents, 0);
  // No fds at all: a plain sleep.
  start = NowNs();
  EXPECT_EQ(poll(nullptr, 0, 20), 0);
  EXPECT_GE(NowNs() - start, 20 * kMs);
}

TEST_F(PollTest, AClosedFdIsPOLLNVALAndCounted) {
  int fd = dup(r());
  ASSERT_GE(fd, 0);
  close(fd);
  struct pollfd pfds[2] = {{fd, POLLIN, 0}, {w(), POLLOUT, 0}};
  EXPECT_EQ(poll(pfds, 2, 0), 2);
  EXPECT_EQ(pfds[0].revents, POLLNVAL);
  EXPECT_EQ(pfds[1].revents, POLLOUT);
  // Even with no events asked for.
  pfds[0].events = 0;
  EXPECT_EQ(poll(pfds, 1, 0), 1);
  EXPECT_EQ(pfds[0].revents, POLLNVAL);
}

TEST_F(PollTest, NegativeFdsAreIgnored) {
  struct pollfd pfds[3] = {{-1, POLLIN, 0x77}, {w(), POLLOUT, 0}, {-5, -1, 0}};
  EXPECT_EQ(poll(pfds, 3, 0), 1);
  EXPECT_EQ(pfds[0].revents, 0);
  EXPECT_EQ(pfds[1].revents, POLLOUT);
  EXPECT_EQ(pfds[2].revents, 0);
  // Only ignored entries: a timeout.
  EXPECT_EQ(poll(pfds, 1, 10), 0);
}

TEST_F(PollTest, NfdsAboveRlimitNofileIsEINVAL) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct rlimit rl = {};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(10);
    std::vector<struct pollfd> pfds(65, {-1, 0, 0});
    if (poll(pfds.data(), 64, 0) != 0) _exit(11);
    if (poll(pfds.data(), 65, 0) != -1 || errno != EINVAL) _exit(12);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
}

TEST_F(PollTest, ABadArrayIsEFAULT) {
  EXPECT_ERRNO(syscall(SYS_poll, 8, 1, 0), EFAULT);
}

TEST_F(PollTest, ABlockingPollIsWokenByAWriteFromAnotherThread) {
  EXPECT_EQ(BlockingPollAfter([this] { write(w(), "x", 1); }), POLLIN);
}

TEST_F(PollTest, ABlockingPollIsWokenByTheLastWriterClosing) {
  EXPECT_EQ(BlockingPollAfter([this] { CloseWrite(); }), POLLHUP);
}

TEST(PollFileTest, ARegularFileIsAlwaysReadableAndWritable) {
  TempPath dir;
  WriteFile(dir / "f", "");
  int fd = open((dir / "f").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct pollfd pfd = {fd, POLLIN | POLLOUT, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  // Even empty, and at EOF.
  EXPECT_EQ(pfd.revents, POLLIN | POLLOUT);
  pfd.events = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLPRI;
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  EXPECT_EQ(pfd.revents, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
  close(fd);
}

// ----------------------------------------------------------------- ppoll

int handled = 0;
void CountSignal(int) { handled++; }

// Blocks SIGUSR1 with a counting handler, and restores both.
class SignalMaskTest : public PollTest {
 protected:
  void SetUp() override {
    PollTest::SetUp();
    struct sigaction act = {};
    act.sa_handler = CountSignal;
    ASSERT_OK(sigaction(SIGUSR1, &act, &old_act_));
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_OK(sigprocmask(SIG_BLOCK, &usr1, &old_mask_));
    ASSERT_OK(sigprocmask(SIG_BLOCK, nullptr, &blocked_));
    unblocked_ = blocked_;
    sigdelset(&unblocked_, SIGUSR1);
    handled = 0;
  }
  void TearDown() override {
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGUSR1, &old_act_, nullptr);
    PollTest::TearDown();
  }
  bool Usr1Blocked() {
    sigset_t now;
    sigprocmask(SIG_BLOCK, nullptr, &now);
    return sigismember(&now, SIGUSR1) == 1;
  }
  struct sigaction old_act_ = {};
  sigset_t old_mask_, blocked_, unblocked_;
};

TEST_F(SignalMaskTest, PpollLetsAPendingSignalInAndIsEINTR) {
  Watchdog watchdog;
  ASSERT_OK(kill(getpid(), SIGUSR1));
  EXPECT_EQ(handled, 0);
  struct pollfd pfd = {r(), POLLIN, 0};
  EXPECT_ERRNO(ppoll(&pfd, 1, nullptr, &unblocked_), EINTR);
  EXPECT_EQ(handled, 1);
  EXPECT_TRUE(Usr1Blocked());  // the old mask is back
}

TEST_F(SignalMaskTest, PpollWithTheSignalStillBlockedTimesOut) {
  ASSERT_OK(kill(getpid(), SIGUSR1));
  struct pollfd pfd = {r(), POLLIN, 0};
  struct timespec ts = {0, 10 * kMs};
  EXPECT_EQ(ppoll(&pfd, 1, &ts, &blocked_), 0);
  EXPECT_EQ(handled, 0);
  // Consume it with the mask lifted.
  sigprocmask(SIG_SETMASK, &unblocked_, nullptr);
  EXPECT_EQ(handled, 1);
}

TEST_F(SignalMaskTest, Pselect6LetsAPendingSignalInAndIsEINTR) {
  Watchdog watchdog;
  ASSERT_OK(kill(getpid(), SIGUSR1));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(r(), &rd);
  EXPECT_ERRNO(pselect(r() + 1, &rd, nullptr, nullptr, nullptr, &unblocked_),
               EINTR);
  EXPECT_EQ(handled, 1);
  EXPECT_TRUE(Usr1Blocked());
}

TEST_F(PollTest, RawPpollWritesBackTheTimeLeft) {
  struct pollfd pfd = {r(), POLLIN, 0};
  struct timespec ts = {0, 20 * kMs};
  EXPECT_EQ(syscall(SYS_ppoll, &pfd, 1, &ts, nullptr, kKernelSigsetSize), 0);
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  // Ready at once: most of the time is left.
  ASSERT_EQ(write(w(), "x", 1), 1);
  ts = {10, 0};
  EXPECT_EQ(syscall(SYS_ppoll, &pfd, 1, &ts, nullptr, kKernelSigsetSize), 1);
  EXPECT_LE(ts.tv_sec * 1000000000LL + ts.tv_nsec, 10 * 1000000000LL);
  EXPECT_GT(ts.tv_sec * 1000000000LL + ts.tv_nsec, 0);
}

TEST_F(PollTest, PpollArgumentErrors) {
  struct pollfd pfd = {r(), POLLIN, 0};
  struct timespec bad = {0, 1000000000};
  EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &bad, nullptr, kKernelSigsetSize),
               EINVAL);
  bad = {-1, 0};
  EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &bad, nullptr, kKernelSigsetSize),
               EINVAL);
  struct timespec zero = {0, 0};
  uint64_t mask = 0;
  EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &zero, &mask, 4), EINVAL);
  EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &zero, &mask, 16), EINVAL);
}

// ---------------------------------------------------------------- select

TEST_F(PollTest, SelectReportsPipeReadiness) {
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(r(), &rd);
  FD_SET(w(), &wr);
  struct timeval tv = {0, 0};
  int nfds = std::max(r(), w()) + 1;
  EXPECT_EQ(select(nfds, &rd, &wr, nullptr, &tv), 1);
  EXPECT_FALSE(FD_ISSET(r(), &rd));
  EXPECT_TRUE(FD_ISSET(w(), &wr));
  ASSERT_EQ(write(w(), "x", 1), 1);
  FD_SET(r(), &rd);
  FD_SET(w(), &wr);
  // Each set bit counts: two here.
  EXPECT_EQ(select(nfds, &rd, &wr, nullptr, &tv), 2);
  EXPECT_TRUE(FD_ISSET(r(), &rd));
  EXPECT_TRUE(FD_ISSET(w(), &wr));
}

TEST_F(PollTest, SelectCountsAnFdOnceForEachSet) {
  fd_set wr, ex;
  FD_ZERO(&wr);
  FD_ZERO(&ex);
  FD_SET(w(), &wr);
  FD_SET(w(), &ex);
  struct timeval tv = {0, 0};
  EXPECT_EQ(select(w() + 1, nullptr, &wr, &ex, &tv), 1);
  EXPECT_TRUE(FD_ISSET(w(), &wr));
  EXPECT_FALSE(FD_ISSET(w(), &ex));  // pipes have no exceptional state
}

TEST_F(PollTest, SelectSeesHangupAsReadableAndErrorAsWritable) {
  CloseWrite();
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(r(), &rd);
  struct timeval tv = {0, 0};
  EXPECT_EQ(select(r() + 1, &rd, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(r(), &rd));
  int fds[2];
  ASSERT_OK(pipe2(fds, O_CLOEXEC));
  ASSERT_OK(fcntl(fds[1], F_SETFL, O_NONBLOCK));
  std::vector<char> buf(65536, 'f');
  while (write(fds[1], buf.data(), buf.size()) > 0) {
  }
  fd_set wr;
  FD_ZERO(&wr);
  FD_SET(fds[1], &wr);
  EXPECT_EQ(select(fds[1] + 1, nullptr, &wr, nullptr, &tv), 0);  // full
  close(fds[0]);
  FD_SET(fds[1], &wr);
  EXPECT_EQ(select(fds[1] + 1, nullptr, &wr, nullptr, &tv), 1);  // POLLERR
  EXPECT_TRUE(FD_ISSET(fds[1], &wr));
  close(fds[1]);
}

TEST_F(PollTest, SelectWithAClosedFdIsEBADF) {
  int fd = dup(r());
  ASSERT_GE(fd, 0);
  close(fd);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  FD_SET(r(), &rd);
  struct timeval tv = {0, 0};
  EXPECT_ERRNO(select(std::max(fd, r()) + 1, &rd, nullptr, nullptr, &tv),
               EBADF);
  // A closed fd at or above nfds is not looked at.
  FD_ZERO(&rd);
  FD_SET(w(), &rd);
  int high = std::max(w(), fd);
  fd_set wr;
  FD_ZERO(&wr);
  FD_SET(w(), &wr);
  FD_SET(high + 1, &wr);  // not open, but outside nfds
  EXPECT_EQ(select(w() + 1, nullptr, &wr, nullptr, &tv), 1);
}

TEST_F(PollTest, SelectArgumentErrors) {
  struct timeval tv = {0, 0};
  EXPECT_ERRNO(select(-1, nullptr, nullptr, nullptr, &tv), EINVAL);
  tv = {-1, 0};
  EXPECT_ERRNO(select(0, nullptr, nullptr, nullptr, &tv), EINVAL);
  tv = {0, -1};
  EXPECT_ERRNO(select(0, nullptr, nullptr, nullptr, &tv), EINVAL);
  // tv_usec of a second or more is folded into tv_sec, not rejected.
  fd_set wr;
  FD_ZERO(&wr);
  FD_SET(w(), &wr);
  tv = {0, 1500000};
  EXPECT_EQ(select(w() + 1, nullptr, &wr, nullptr, &tv), 1);
  EXPECT_ERRNO(
      select(w() + 1, reinterpret_cast<fd_set*>(8), nullptr, nullptr, nullptr),
      EFAULT);
}

TEST_F(PollTest, SelectWritesBackTheTimeLeft) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(r(), &rd);
  struct timeval tv = {0, 30000};
  int64_t start = NowNs();
  EXPECT_EQ(select(r() + 1, &rd, nullptr, nullptr, &tv), 0);
  EXPECT_GE(NowNs() - start, 30 * kMs);
  EXPECT_EQ(tv.tv_sec, 0);
  EXPECT_EQ(tv.tv_usec, 0);
  EXPECT_FALSE(FD_ISSET(r(), &rd));  // cleared: not ready
  // Ready at once: the time left is at most what was given.
  fd_set wr;
  FD_ZERO(&wr);
  FD_SET(w(), &wr);
  tv = {10, 0};
  EXPECT_EQ(select(w() + 1, nullptr, &wr, nullptr, &tv), 1);
  EXPECT_LE(tv.tv_sec * 1000000LL + tv.tv_usec, 10 * 1000000LL);
  EXPECT_GT(tv.tv_sec * 1000000LL + tv.tv_usec, 0);
}

TEST_F(PollTest, RawPselect6WritesBackTheTimeLeft) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(r(), &rd);
  struct timespec ts = {0, 20 * kMs};
  EXPECT_EQ(syscall(SYS_pselect6, r() + 1, &rd, nullptr, nullptr, &ts, nullptr),
            0);
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  ts = {0, 1000000000};
  EXPECT_ERRNO(
      syscall(SYS_pselect6, 0, nullptr, nullptr, nullptr, &ts, nullptr),
      EINVAL);
}

TEST_F(PollTest, ABlockingSelectIsWokenByAWriteFromAnotherThread) {
  Watchdog watchdog;
  std::thread writer = RunLater(50, [this] { write(w(), "x", 1); });
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(r(), &rd);
  EXPECT_EQ(select(r() + 1, &rd, nullptr, nullptr, nullptr), 1);
  EXPECT_TRUE(FD_ISSET(r(), &rd));
  writer.join();
}

TEST(SelectFileTest, ARegularFileIsAlwaysReadableAndWritable) {
  TempPath dir;
  WriteFile(dir / "f", "abc");
  int fd = open((dir / "f").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  fd_set rd, wr, ex;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_ZERO(&ex);
  FD_SET(fd, &rd);
  FD_SET(fd, &wr);
  FD_SET(fd, &ex);
  struct timeval tv = {0, 0};
  EXPECT_EQ(select(fd + 1, &rd, &wr, &ex, &tv), 2);
  EXPECT_TRUE(FD_ISSET(fd, &rd));
  EXPECT_TRUE(FD_ISSET(fd, &wr));
  EXPECT_FALSE(FD_ISSET(fd, &ex));
  close(fd);
}

// A FIFO whose reader opened before any writer: no POLLHUP yet, since no
// writer ever came and went.
TEST(PollFifoTest, AFifoReaderSeesNoHangupBeforeTheFirstWriter) {
  TempPath dir;
  std::string path = dir / "fifo";
  ASSERT_OK(mkfifo(path.c_str(), 0600));
  int rd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(rd, 0);
  struct pollfd pfd = {rd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  EXPECT_EQ(pfd.revents, 0);
  int wr = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(wr, 0);
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  close(wr);
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  EXPECT_EQ(pfd.revents, POLLHUP);
  close(rd);
}

}  // namespace
