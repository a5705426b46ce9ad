// eventfd(2) and eventfd2(2): the initial value, flags (EFD_CLOEXEC,
// EFD_NONBLOCK, EFD_SEMAPHORE; anything else EINVAL), reads that return and
// reset the counter (or, in semaphore mode, return 1 and decrement it),
// writes that add to it, the 8-byte rules (reads of fewer than 8 bytes
// EINVAL, longer reads move 8 bytes; writes of anything but 8 bytes EINVAL,
// as Linux 6.x; writing 0xffffffffffffffff EINVAL), the
// 0xfffffffffffffffe limit (EAGAIN, or a blocking write that waits for a
// read), EAGAIN on an empty non-blocking eventfd, blocking reads woken by
// another thread, poll/select/epoll readiness and wakeups, signals
// interrupting a blocked read (EINTR, or a transparent restart with
// SA_RESTART), sharing across fork, lseek (a no-op returning 0), fsync
// (EINVAL), and the /proc/self/fd link "anon_inode:[eventfd]".

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::Interrupter;
using testing_util::Readlink;
using testing_util::RunLater;
using testing_util::WaitFor;
using testing_util::Watchdog;

constexpr uint64_t kMax = 0xfffffffffffffffeULL;

// An eventfd that closes itself.
class Efd {
 public:
  explicit Efd(unsigned int init = 0, int flags = EFD_CLOEXEC)
      : fd_(eventfd(init, flags)) {
    EXPECT_GE(fd_, 0) << strerror(errno);
  }
  ~Efd() {
    if (fd_ >= 0) close(fd_);
  }
  Efd(const Efd&) = delete;
  Efd& operator=(const Efd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads the counter; -1 (with errno) on failure.
int64_t ReadValue(int fd) {
  uint64_t v = 0;
  ssize_t n = read(fd, &v, sizeof(v));
  if (n < 0) return -1;
  EXPECT_EQ(n, 8);
  return static_cast<int64_t>(v);
}

ssize_t WriteValue(int fd, uint64_t v) { return write(fd, &v, sizeof(v)); }

short PollNow(int fd, short events = POLLIN | POLLOUT) {
  struct pollfd p = {fd, events, 0};
  EXPECT_GE(poll(&p, 1, 0), 0);
  return p.revents;
}

// ---------------------------------------------------------------- creation

TEST(EventfdTest, StartsWithTheInitialValue) {
  Efd e(5, EFD_CLOEXEC | EFD_NONBLOCK);
  EXPECT_EQ(ReadValue(e.get()), 5);
  EXPECT_ERRNO(ReadValue(e.get()), EAGAIN);
}

TEST(EventfdTest, TheOldSyscallTakesNoFlags) {
  int fd = static_cast<int>(syscall(SYS_eventfd, 7));
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(ReadValue(fd), 7);
  close(fd);
}

TEST(EventfdTest, FlagsAreCloexecNonblockAndSemaphore) {
  Efd plain(0, 0);
  EXPECT_EQ(fcntl(plain.get(), F_GETFD), 0);
  EXPECT_EQ(fcntl(plain.get(), F_GETFL), O_RDWR);
  Efd both(0, EFD_CLOEXEC | EFD_NONBLOCK);
  EXPECT_EQ(fcntl(both.get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(both.get(), F_GETFL), O_RDWR | O_NONBLOCK);
  Efd sem(0, EFD_SEMAPHORE | EFD_CLOEXEC);
  EXPECT_EQ(fcntl(sem.get(), F_GETFL), O_RDWR);
}

TEST(EventfdTest, UnknownFlagsAreEINVAL) {
  EXPECT_ERRNO(syscall(SYS_eventfd2, 0, 2), EINVAL);
  EXPECT_ERRNO(syscall(SYS_eventfd2, 0, O_RDWR | EFD_CLOEXEC), EINVAL);
  EXPECT_ERRNO(syscall(SYS_eventfd2, 0, O_APPEND), EINVAL);
}

TEST(EventfdTest, FstatAndProcFdLink) {
  Efd e;
  struct stat st = {};
  ASSERT_OK(fstat(e.get(), &st));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(S_ISFIFO(st.st_mode) || S_ISDIR(st.st_mode) ||
               S_ISSOCK(st.st_mode));
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(e.get())),
            "anon_inode:[eventfd]");
}

TEST(EventfdTest, LseekIsANoOpAndFsyncFails) {
  Efd e(3);
  EXPECT_EQ(lseek(e.get(), 100, SEEK_SET), 0);
  EXPECT_EQ(lseek(e.get(), 0, SEEK_CUR), 0);
  EXPECT_ERRNO(pread(e.get(), nullptr, 8, 0), ESPIPE);
  EXPECT_ERRNO(fsync(e.get()), EINVAL);
  EXPECT_EQ(ReadValue(e.get()), 3);
}

// ---------------------------------------------------------- reads, writes

TEST(EventfdTest, WritesAddUpAndAReadResets) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  EXPECT_EQ(WriteValue(e.get(), 1), 8);
  EXPECT_EQ(WriteValue(e.get(), 2), 8);
  EXPECT_EQ(WriteValue(e.get(), 39), 8);
  EXPECT_EQ(ReadValue(e.get()), 42);
  EXPECT_ERRNO(ReadValue(e.get()), EAGAIN);
}

TEST(EventfdTest, SemaphoreReadsTakeOneAtATime) {
  Efd e(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
  EXPECT_EQ(WriteValue(e.get(), 1), 8);
  EXPECT_EQ(ReadValue(e.get()), 1);
  EXPECT_EQ(ReadValue(e.get()), 1);
  EXPECT_EQ(ReadValue(e.get()), 1);
  EXPECT_ERRNO(ReadValue(e.get()), EAGAIN);
}

TEST(EventfdTest, BuffersShorterThanEightBytesAreEINVAL) {
  Efd e(1, EFD_NONBLOCK | EFD_CLOEXEC);
  char buf[16] = {};
  EXPECT_ERRNO(read(e.get(), buf, 7), EINVAL);
  EXPECT_ERRNO(read(e.get(), buf, 0), EINVAL);
  EXPECT_ERRNO(write(e.get(), buf, 7), EINVAL);
  EXPECT_ERRNO(write(e.get(), buf, 0), EINVAL);
  // The counter was not touched.
  EXPECT_EQ(ReadValue(e.get()), 1);
}

TEST(EventfdTest, ReadsOfMoreThanEightBytesMoveEightButWritesMustBeEight) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  uint64_t in[2] = {5, 1000};
  // Linux 6.x takes exactly 8 bytes per write.
  EXPECT_ERRNO(write(e.get(), in, sizeof(in)), EINVAL);
  EXPECT_ERRNO(write(e.get(), in, 9), EINVAL);
  EXPECT_EQ(write(e.get(), in, 8), 8);
  uint64_t out[2] = {0, 77};
  EXPECT_EQ(read(e.get(), out, sizeof(out)), 8);
  EXPECT_EQ(out[0], 5u);
  EXPECT_EQ(out[1], 77u);
}

TEST(EventfdTest, AWritevSplitInPiecesIsEINVAL) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  uint32_t lo = 1, hi = 0;
  struct iovec iov[2] = {{&lo, 4}, {&hi, 4}};
  EXPECT_ERRNO(writev(e.get(), iov, 2), EINVAL);
  EXPECT_ERRNO(ReadValue(e.get()), EAGAIN);
}

TEST(EventfdTest, WritingAllOnesIsEINVAL) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  EXPECT_ERRNO(WriteValue(e.get(), ~0ULL), EINVAL);
  EXPECT_ERRNO(ReadValue(e.get()), EAGAIN);
}

TEST(EventfdTest, WritingZeroSucceedsButDoesNotMakeItReadable) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  EXPECT_EQ(WriteValue(e.get(), 0), 8);
  EXPECT_EQ(PollNow(e.get()), POLLOUT);
  EXPECT_ERRNO(ReadValue(e.get()), EAGAIN);
}

TEST(EventfdTest, TheCounterStopsAtTheLimit) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  EXPECT_EQ(WriteValue(e.get(), kMax), 8);
  EXPECT_EQ(PollNow(e.get()), POLLIN);
  EXPECT_ERRNO(WriteValue(e.get(), 1), EAGAIN);
  // Writing 0 never overflows.
  EXPECT_EQ(WriteValue(e.get(), 0), 8);
  EXPECT_EQ(static_cast<uint64_t>(ReadValue(e.get())), kMax);
  EXPECT_EQ(PollNow(e.get()), POLLOUT);
  EXPECT_EQ(WriteValue(e.get(), kMax - 1), 8);
  EXPECT_EQ(PollNow(e.get()), POLLIN | POLLOUT);
  EXPECT_ERRNO(WriteValue(e.get(), 2), EAGAIN);
  EXPECT_EQ(WriteValue(e.get(), 1), 8);
  EXPECT_EQ(static_cast<uint64_t>(ReadValue(e.get())), kMax);
}

TEST(EventfdTest, ReadvAndWritevWork) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  uint64_t v = 9;
  struct iovec iov = {&v, sizeof(v)};
  EXPECT_EQ(writev(e.get(), &iov, 1), 8);
  v = 0;
  EXPECT_EQ(readv(e.get(), &iov, 1), 8);
  EXPECT_EQ(v, 9u);
}

// --------------------------------------------------------------- blocking

TEST(EventfdTest, ABlockingReadIsWokenByAWriteFromAnotherThread) {
  Watchdog watchdog;
  Efd e;
  std::thread writer = RunLater(30, [&] { WriteValue(e.get(), 3); });
  EXPECT_EQ(ReadValue(e.get()), 3);
  writer.join();
}

TEST(EventfdTest, ASemaphoreWakesOneReaderPerUnit) {
  Watchdog watchdog;
  Efd e(0, EFD_SEMAPHORE | EFD_CLOEXEC);
  std::atomic<int> got{0};
  std::thread a([&] { got += static_cast<int>(ReadValue(e.get())); });
  std::thread b([&] { got += static_cast<int>(ReadValue(e.get())); });
  EXPECT_EQ(WriteValue(e.get(), 2), 8);
  a.join();
  b.join();
  EXPECT_EQ(got.load(), 2);
  EXPECT_ERRNO(read(e.get(), nullptr, 0), EINVAL);
}

TEST(EventfdTest, AWriteThatWouldOverflowBlocksUntilARead) {
  Watchdog watchdog;
  Efd e(0, EFD_CLOEXEC);
  ASSERT_EQ(WriteValue(e.get(), kMax), 8);
  std::atomic<bool> written{false};
  std::thread writer([&] {
    EXPECT_EQ(WriteValue(e.get(), 5), 8);
    written = true;
  });
  // The writer cannot finish before the read: the counter is full.
  EXPECT_EQ(static_cast<uint64_t>(ReadValue(e.get())), kMax);
  writer.join();
  EXPECT_TRUE(written.load());
  EXPECT_EQ(ReadValue(e.get()), 5);
}

TEST(EventfdTest, ABlockedWriteIsNotDoneBeforeTheRead) {
  Watchdog watchdog;
  Efd e(0, EFD_CLOEXEC);
  ASSERT_EQ(WriteValue(e.get(), kMax - 1), 8);
  std::atomic<bool> written{false};
  std::thread writer([&] {
    EXPECT_EQ(WriteValue(e.get(), 2), 8);
    written = true;
  });
  testing_util::SleepMs(20);
  EXPECT_FALSE(written.load());
  EXPECT_EQ(static_cast<uint64_t>(ReadValue(e.get())), kMax - 1);
  writer.join();
  EXPECT_EQ(ReadValue(e.get()), 2);
}

int g_handled = 0;
void CountSignal(int, siginfo_t*, void*) { g_handled++; }

TEST(EventfdTest, ASignalInterruptsABlockedReadWithEINTR) {
  Watchdog watchdog;
  testing_util::ScopedAction action(SIGUSR1, CountSignal, 0);
  Efd e;
  uint64_t v;
  ssize_t n;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    n = read(e.get(), &v, sizeof(v));
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR);
}

TEST(EventfdTest, WithSaRestartABlockedReadResumes) {
  Watchdog watchdog;
  testing_util::ScopedAction action(SIGUSR1, CountSignal, SA_RESTART);
  Efd e;
  g_handled = 0;
  std::thread writer;
  int64_t v;
  {
    Interrupter interrupter(SIGUSR1);
    writer = std::thread([&] {
      WaitFor([] { return g_handled >= 3; });
      WriteValue(e.get(), 11);
    });
    v = ReadValue(e.get());
  }
  writer.join();
  EXPECT_EQ(v, 11);
  EXPECT_GE(g_handled, 3);
}

// -------------------------------------------------- poll, select and epoll

TEST(EventfdTest, PollReportsReadableAndWritable) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  EXPECT_EQ(PollNow(e.get()), POLLOUT);
  EXPECT_EQ(PollNow(e.get(), POLLIN), 0);
  WriteValue(e.get(), 1);
  EXPECT_EQ(PollNow(e.get()), POLLIN | POLLOUT);
  ReadValue(e.get());
  EXPECT_EQ(PollNow(e.get()), POLLOUT);
}

TEST(EventfdTest, SelectSeesTheSameStates) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(e.get(), &r);
  FD_SET(e.get(), &w);
  struct timeval tv = {0, 0};
  EXPECT_EQ(select(e.get() + 1, &r, &w, nullptr, &tv), 1);
  EXPECT_FALSE(FD_ISSET(e.get(), &r));
  EXPECT_TRUE(FD_ISSET(e.get(), &w));
  WriteValue(e.get(), 1);
  FD_ZERO(&r);
  FD_SET(e.get(), &r);
  tv = {0, 0};
  EXPECT_EQ(select(e.get() + 1, &r, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(e.get(), &r));
}

TEST(EventfdTest, ABlockingPollIsWokenByAWrite) {
  Watchdog watchdog;
  Efd e;
  std::thread writer = RunLater(30, [&] { WriteValue(e.get(), 1); });
  struct pollfd p = {e.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, -1), 1);
  EXPECT_EQ(p.revents, POLLIN);
  writer.join();
}

TEST(EventfdTest, ABlockingPollForWritingIsWokenByARead) {
  Watchdog watchdog;
  Efd e;
  WriteValue(e.get(), kMax);
  std::thread reader = RunLater(30, [&] { ReadValue(e.get()); });
  struct pollfd p = {e.get(), POLLOUT, 0};
  EXPECT_EQ(poll(&p, 1, -1), 1);
  EXPECT_EQ(p.revents, POLLOUT);
  reader.join();
}

TEST(EventfdTest, EpollLevelAndEdgeTriggered) {
  Efd e(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 99;
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, e.get(), &ev));
  struct epoll_event out[2] = {};
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
  WriteValue(e.get(), 1);
  ASSERT_EQ(epoll_wait(ep, out, 2, 0), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u64, 99u);
  // Edge-triggered: nothing new until the next write.
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
  WriteValue(e.get(), 1);
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
  // Level-triggered for writing.
  ev.events = EPOLLOUT;
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_MOD, e.get(), &ev));
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLOUT));
  close(ep);
}

TEST(EventfdTest, ABlockingEpollWaitIsWokenByAWrite) {
  Watchdog watchdog;
  Efd e;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = e.get();
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, e.get(), &ev));
  std::thread writer = RunLater(30, [&] { WriteValue(e.get(), 4); });
  struct epoll_event out = {};
  EXPECT_EQ(epoll_wait(ep, &out, 1, -1), 1);
  EXPECT_EQ(out.data.fd, e.get());
  EXPECT_EQ(ReadValue(e.get()), 4);
  writer.join();
  close(ep);
}

// --------------------------------------------------------------- processes

TEST(EventfdTest, AForkedChildSharesTheCounter) {
  Efd to_parent(0, EFD_CLOEXEC);
  Efd to_child(0, EFD_CLOEXEC);
  pid_t pid = testing_util::ForkChild([&] {
    uint64_t v = 12;
    if (write(to_parent.get(), &v, sizeof(v)) != 8) _exit(2);
    if (read(to_child.get(), &v, sizeof(v)) != 8) _exit(3);
    _exit(v == 100 ? 0 : 4);
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ReadValue(to_parent.get()), 12);
  EXPECT_EQ(WriteValue(to_child.get(), 100), 8);
  EXPECT_TRUE(
      testing_util::ExitedWith(testing_util::CheckedWaitStatus(pid), 0));
}

}  // namespace
