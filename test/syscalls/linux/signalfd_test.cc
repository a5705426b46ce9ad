// signalfd(2) and signalfd4(2): flags (SFD_CLOEXEC, SFD_NONBLOCK; anything
// else EINVAL), the mask size (EINVAL unless 8), SIGKILL and SIGSTOP
// silently left out of the mask, updating the mask of an existing signalfd
// (and EINVAL for another kind of fd, EBADF for a bad one), reads that
// dequeue pending signals of the mask as struct signalfd_siginfo (one per
// 128 bytes, the lowest signal first; buffers under 128 bytes EINVAL),
// the fields for tgkill, sigqueue (value), real-time signals (queued, not
// coalesced), SIGCHLD (status) and POSIX timers (timer id, overrun),
// signals outside the mask left pending, process-directed signals seen by
// every thread but thread-directed ones only by their thread, EAGAIN when
// non-blocking, blocking reads woken by a signal from another thread,
// signals that are not in the mask interrupting a blocked read (EINTR),
// poll/select/epoll readiness and wakeups, fork (the child reads its own
// signals, not its parent's), exec (the fd and the pending signal survive),
// and the /proc/self/fd link "anon_inode:[signalfd]".
//
// Every test blocks the signals it reads, as signalfd users must.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::ChangeMask;
using testing_util::Drain;
using testing_util::Gettid;
using testing_util::PendingMask;
using testing_util::RaiseToSelf;
using testing_util::Readlink;
using testing_util::ScopedMask;
using testing_util::SigBit;
using testing_util::Watchdog;

constexpr char kHelperEnv[] = "SIGNALFD_TEST_FD";

// ------------------------------------------------------- the exec'd side

// After an exec: reads the signal pending across it from the inherited
// signalfd named by the environment, and exits with its number.
__attribute__((constructor)) void MaybeRunAsHelper(int, char**, char** envp) {
  const char* fd_str = nullptr;
  size_t len = strlen(kHelperEnv);
  for (char** e = envp; e != nullptr && *e != nullptr; e++) {
    if (strncmp(*e, kHelperEnv, len) == 0 && (*e)[len] == '=') {
      fd_str = *e + len + 1;
    }
  }
  if (fd_str == nullptr) return;
  int fd = atoi(fd_str);
  char link[64] = {};
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
  if (n < 0 || strcmp(link, "anon_inode:[signalfd]") != 0) _exit(100);
  struct signalfd_siginfo si = {};
  if (read(fd, &si, sizeof(si)) != sizeof(si)) _exit(101);
  _exit(static_cast<int>(si.ssi_signo));
}

// ------------------------------------------------------- the test's side

sigset_t Set(std::initializer_list<int> sigs) {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : sigs) sigaddset(&s, sig);
  return s;
}

class Sfd {
 public:
  explicit Sfd(std::initializer_list<int> sigs,
               int flags = SFD_CLOEXEC | SFD_NONBLOCK) {
    sigset_t s = Set(sigs);
    fd_ = signalfd(-1, &s, flags);
    EXPECT_GE(fd_, 0) << strerror(errno);
  }
  ~Sfd() {
    if (fd_ >= 0) close(fd_);
  }
  Sfd(const Sfd&) = delete;
  Sfd& operator=(const Sfd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// A test that blocks SIGUSR1, SIGUSR2, SIGRTMIN and SIGCHLD for its
// duration and discards what it leaves pending.
class SignalfdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &blocked_, &old_), 0);
  }
  void TearDown() override {
    Drain({SIGUSR1, SIGUSR2, SIGRTMIN, SIGCHLD});
    sigprocmask(SIG_SETMASK, &old_, nullptr);
  }

  sigset_t blocked_ = Set({SIGUSR1, SIGUSR2, SIGRTMIN, SIGCHLD});
  sigset_t old_;
};

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  EXPECT_GE(poll(&p, 1, 0), 0);
  EXPECT_EQ(p.revents & ~POLLIN, 0);
  return (p.revents & POLLIN) != 0;
}

// Reads one siginfo; ssi_signo 0 (and errno) if the read failed.
struct signalfd_siginfo ReadOne(int fd) {
  struct signalfd_siginfo si = {};
  ssize_t n = read(fd, &si, sizeof(si));
  if (n != sizeof(si)) {
    int err = errno;
    memset(&si, 0, sizeof(si));
    errno = err;
  }
  return si;
}

// ---------------------------------------------------------------- creation

TEST_F(SignalfdTest, Flags) {
  sigset_t s = Set({SIGUSR1});
  int plain = signalfd(-1, &s, 0);
  ASSERT_GE(plain, 0);
  EXPECT_EQ(fcntl(plain, F_GETFD), 0);
  EXPECT_EQ(fcntl(plain, F_GETFL), O_RDWR);
  int both = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
  ASSERT_GE(both, 0);
  EXPECT_EQ(fcntl(both, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(both, F_GETFL), O_RDWR | O_NONBLOCK);
  // The old call takes no flags.
  int old = static_cast<int>(syscall(SYS_signalfd, -1, &s, 8));
  ASSERT_GE(old, 0);
  EXPECT_EQ(fcntl(old, F_GETFD), 0);
  EXPECT_ERRNO(signalfd(-1, &s, 1), EINVAL);
  EXPECT_ERRNO(signalfd(-1, &s, O_APPEND), EINVAL);
  close(plain);
  close(both);
  close(old);
}

TEST_F(SignalfdTest, TheMaskMustBeEightBytes) {
  uint64_t mask = SigBit(SIGUSR1);
  EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL);
  EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &mask, 16, 0), EINVAL);
  EXPECT_ERRNO(syscall(SYS_signalfd, -1, &mask, 0), EINVAL);
  EXPECT_ERRNO(syscall(SYS_signalfd4, -1, nullptr, 8, 0), EFAULT);
  int fd = static_cast<int>(syscall(SYS_signalfd4, -1, &mask, 8, 0));
  ASSERT_GE(fd, 0);
  close(fd);
}

TEST_F(SignalfdTest, ProcFdLinkAndLseek) {
  Sfd s({SIGUSR1});
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(s.get())),
            "anon_inode:[signalfd]");
  EXPECT_EQ(lseek(s.get(), 5, SEEK_SET), 0);
  char buf[8] = {};
  EXPECT_ERRNO(write(s.get(), buf, sizeof(buf)), EINVAL);
}

TEST_F(SignalfdTest, UpdatingTheMaskOfAnExistingSignalfd) {
  Sfd s({SIGUSR1});
  RaiseToSelf(SIGUSR2);
  EXPECT_FALSE(Readable(s.get()));
  EXPECT_ERRNO(read(s.get(), nullptr, 128), EAGAIN);
  sigset_t m = Set({SIGUSR2});
  // The same fd comes back; flags passed now are ignored.
  EXPECT_EQ(signalfd(s.get(), &m, 0), s.get());
  EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_TRUE(Readable(s.get()));
  EXPECT_EQ(ReadOne(s.get()).ssi_signo, static_cast<uint32_t>(SIGUSR2));
}

TEST_F(SignalfdTest, OnlySignalfdsCanBeUpdated) {
  sigset_t m = Set({SIGUSR1});
  int efd = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  EXPECT_ERRNO(signalfd(efd, &m, 0), EINVAL);
  close(efd);
  EXPECT_ERRNO(signalfd(efd, &m, 0), EBADF);
  EXPECT_ERRNO(signalfd(-2, &m, 0), EBADF);
}

TEST_F(SignalfdTest, SigkillAndSigstopAreLeftOut) {
  // They can be named but are never read: they are never pending for
  // long, and the mask takes them silently.
  Sfd s({SIGKILL, SIGSTOP, SIGUSR1});
  EXPECT_FALSE(Readable(s.get()));
  RaiseToSelf(SIGUSR1);
  EXPECT_EQ(ReadOne(s.get()).ssi_signo, static_cast<uint32_t>(SIGUSR1));
}

// ------------------------------------------------------------------ reads

TEST_F(SignalfdTest, ReadDequeuesATkillWithItsSender) {
  Sfd s({SIGUSR1});
  EXPECT_FALSE(Readable(s.get()));
  RaiseToSelf(SIGUSR1);
  EXPECT_TRUE(Readable(s.get()));
  EXPECT_NE(PendingMask() & SigBit(SIGUSR1), 0u);
  struct signalfd_siginfo si = ReadOne(s.get());
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(si.ssi_code, SI_TKILL);
  EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(si.ssi_uid, getuid());
  EXPECT_EQ(si.ssi_errno, 0);
  EXPECT_EQ(si.ssi_status, 0);
  EXPECT_EQ(si.ssi_ptr, 0u);
  // It is no longer pending.
  EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), 0u);
  EXPECT_FALSE(Readable(s.get()));
  EXPECT_ERRNO(read(s.get(), &si, sizeof(si)), EAGAIN);
}

TEST_F(SignalfdTest, ReadsOfLessThanOneSiginfoAreEINVAL) {
  Sfd s({SIGUSR1});
  RaiseToSelf(SIGUSR1);
  char buf[256];
  EXPECT_ERRNO(read(s.get(), buf, 127), EINVAL);
  EXPECT_ERRNO(read(s.get(), buf, 0), EINVAL);
  // A buffer of 1.5 siginfos holds one.
  EXPECT_EQ(read(s.get(), buf, 192), 128);
}

TEST_F(SignalfdTest, SigqueueCarriesItsValue) {
  Sfd s({SIGUSR2});
  union sigval v;
  v.sival_ptr = reinterpret_cast<void*>(0x1234567890ULL);
  ASSERT_OK(sigqueue(getpid(), SIGUSR2, v));
  struct signalfd_siginfo si = ReadOne(s.get());
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR2));
  EXPECT_EQ(si.ssi_code, SI_QUEUE);
  EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(si.ssi_ptr, 0x1234567890ULL);
  EXPECT_EQ(si.ssi_int, 0x34567890);
}

TEST_F(SignalfdTest, OneReadTakesSeveralSignalsLowestFirst) {
  Sfd s({SIGUSR1, SIGUSR2, SIGRTMIN});
  for (int i = 0; i < 3; i++) {
    union sigval v;
    v.sival_int = 100 + i;
    ASSERT_OK(sigqueue(getpid(), SIGRTMIN, v));
  }
  RaiseToSelf(SIGUSR2);
  RaiseToSelf(SIGUSR1);
  RaiseToSelf(SIGUSR1);  // coalesced with the first
  struct signalfd_siginfo si[8] = {};
  ASSERT_EQ(read(s.get(), si, sizeof(si)), 5 * 128);
  EXPECT_EQ(si[0].ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(si[1].ssi_signo, static_cast<uint32_t>(SIGUSR2));
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(si[2 + i].ssi_signo, static_cast<uint32_t>(SIGRTMIN));
    EXPECT_EQ(si[2 + i].ssi_int, 100 + i);
  }
  EXPECT_FALSE(Readable(s.get()));
}

TEST_F(SignalfdTest, SignalsOutsideTheMaskStayPending) {
  Sfd s({SIGUSR1});
  RaiseToSelf(SIGUSR2);
  RaiseToSelf(SIGUSR1);
  EXPECT_EQ(ReadOne(s.get()).ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_ERRNO(read(s.get(), nullptr, 128), EAGAIN);
  EXPECT_NE(PendingMask() & SigBit(SIGUSR2), 0u);
}

TEST_F(SignalfdTest, SigchldReportsTheChildsStatus) {
  Sfd s({SIGCHLD}, SFD_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  ASSERT_GT(pid, 0);
  struct signalfd_siginfo si = ReadOne(s.get());  // blocks for the exit
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGCHLD));
  EXPECT_EQ(si.ssi_code, CLD_EXITED);
  EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(pid));
  EXPECT_EQ(si.ssi_status, 7);
  EXPECT_TRUE(
      testing_util::ExitedWith(testing_util::CheckedWaitStatus(pid), 7));
}

TEST_F(SignalfdTest, APosixTimersSignalNamesTheTimer) {
  Sfd s({SIGRTMIN}, SFD_CLOEXEC);
  struct sigevent ev = {};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN;
  ev.sigev_value.sival_int = 77;
  timer_t timer;
  ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &timer));
  struct itimerspec its = {};
  its.it_value.tv_nsec = 1000000;
  ASSERT_OK(timer_settime(timer, 0, &its, nullptr));
  struct signalfd_siginfo si = ReadOne(s.get());  // blocks for the expiry
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGRTMIN));
  EXPECT_EQ(si.ssi_code, SI_TIMER);
  EXPECT_EQ(si.ssi_int, 77);
  EXPECT_EQ(si.ssi_overrun, 0u);
  // glibc's timer_t of a SIGEV_SIGNAL timer is the kernel's timer id.
  EXPECT_EQ(si.ssi_tid,
            static_cast<uint32_t>(reinterpret_cast<intptr_t>(timer)));
  EXPECT_EQ(si.ssi_pid, 0u);
  timer_delete(timer);
}

// ---------------------------------------------------------------- threads

TEST_F(SignalfdTest, ThreadDirectedSignalsAreOnlyForTheirThread) {
  Watchdog watchdog;
  Sfd s({SIGUSR1, SIGUSR2});
  std::atomic<pid_t> tid{0};
  std::atomic<bool> go{false};
  std::atomic<uint32_t> seen{0};
  std::thread other([&] {
    tid = Gettid();
    while (!go) usleep(1000);
    seen = ReadOne(s.get()).ssi_signo;
  });
  while (tid == 0) usleep(1000);
  ASSERT_OK(syscall(SYS_tgkill, getpid(), tid.load(), SIGUSR1));
  // Not this thread's: the main thread sees nothing.
  EXPECT_FALSE(Readable(s.get()));
  EXPECT_ERRNO(read(s.get(), nullptr, 128), EAGAIN);
  go = true;
  other.join();
  EXPECT_EQ(seen.load(), static_cast<uint32_t>(SIGUSR1));
  // A process-directed signal is readable from any thread.
  ASSERT_OK(kill(getpid(), SIGUSR2));
  EXPECT_TRUE(Readable(s.get()));
  EXPECT_EQ(ReadOne(s.get()).ssi_signo, static_cast<uint32_t>(SIGUSR2));
}

TEST_F(SignalfdTest, ABlockingReadIsWokenByASignalFromAnotherThread) {
  Watchdog watchdog;
  Sfd s({SIGUSR1}, SFD_CLOEXEC);
  pid_t me = Gettid();
  std::thread sender = testing_util::RunLater(
      30, [me] { syscall(SYS_tgkill, getpid(), me, SIGUSR1); });
  struct signalfd_siginfo si = ReadOne(s.get());
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
  sender.join();
}

TEST_F(SignalfdTest, AProcessDirectedSignalWakesABlockedRead) {
  Watchdog watchdog;
  Sfd s({SIGUSR2}, SFD_CLOEXEC);
  std::thread sender =
      testing_util::RunLater(30, [] { kill(getpid(), SIGUSR2); });
  EXPECT_EQ(ReadOne(s.get()).ssi_signo, static_cast<uint32_t>(SIGUSR2));
  sender.join();
}

int g_handled = 0;
void CountSignal(int, siginfo_t*, void*) { g_handled++; }

TEST_F(SignalfdTest, ASignalOutsideTheMaskInterruptsABlockedRead) {
  Watchdog watchdog;
  testing_util::ScopedAction action(SIGALRM, CountSignal, 0);
  ScopedMask unblock(SIG_UNBLOCK, {SIGALRM});
  Sfd s({SIGUSR1}, SFD_CLOEXEC);
  g_handled = 0;
  struct signalfd_siginfo si;
  ssize_t n;
  int err;
  {
    testing_util::Interrupter interrupter(SIGALRM);
    n = read(s.get(), &si, sizeof(si));
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR);
  EXPECT_GT(g_handled, 0);
}

TEST_F(SignalfdTest, WithSaRestartABlockedReadResumes) {
  Watchdog watchdog;
  testing_util::ScopedAction action(SIGALRM, CountSignal, SA_RESTART);
  ScopedMask unblock(SIG_UNBLOCK, {SIGALRM});
  Sfd s({SIGUSR1}, SFD_CLOEXEC);
  g_handled = 0;
  pid_t me = Gettid();
  struct signalfd_siginfo si;
  std::thread sender;
  {
    testing_util::Interrupter interrupter(SIGALRM);
    sender = std::thread([me] {
      testing_util::WaitFor([] { return g_handled >= 3; });
      syscall(SYS_tgkill, getpid(), me, SIGUSR1);
    });
    si = ReadOne(s.get());
  }
  sender.join();
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
}

// -------------------------------------------------- poll, select and epoll

TEST_F(SignalfdTest, PollSelectAndEpollReportAPendingSignal) {
  Sfd s({SIGUSR1});
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 3;
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, s.get(), &ev));
  struct epoll_event out = {};
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(s.get(), &r);
  struct timeval tv = {0, 0};
  EXPECT_EQ(select(s.get() + 1, &r, nullptr, nullptr, &tv), 0);

  RaiseToSelf(SIGUSR1);
  EXPECT_TRUE(Readable(s.get()));
  FD_ZERO(&r);
  FD_SET(s.get(), &r);
  tv = {0, 0};
  EXPECT_EQ(select(s.get() + 1, &r, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(s.get(), &r));
  ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out.data.u64, 3u);
  ReadOne(s.get());
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
  close(ep);
}

TEST_F(SignalfdTest, ABlockingPollIsWokenByASignal) {
  Watchdog watchdog;
  Sfd s({SIGUSR1});
  pid_t me = Gettid();
  std::thread sender = testing_util::RunLater(
      30, [me] { syscall(SYS_tgkill, getpid(), me, SIGUSR1); });
  struct pollfd p = {s.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, -1), 1);
  EXPECT_EQ(p.revents, POLLIN);
  sender.join();
}

TEST_F(SignalfdTest, ABlockingEpollWaitIsWokenByASignal) {
  Watchdog watchdog;
  Sfd s({SIGUSR2});
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, s.get(), &ev));
  std::thread sender =
      testing_util::RunLater(30, [] { kill(getpid(), SIGUSR2); });
  struct epoll_event out = {};
  EXPECT_EQ(epoll_wait(ep, &out, 1, -1), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(ReadOne(s.get()).ssi_signo, static_cast<uint32_t>(SIGUSR2));
  sender.join();
  close(ep);
}

TEST_F(SignalfdTest, UpdatingTheMaskWakesAPoller) {
  Watchdog watchdog;
  Sfd s({SIGUSR1});
  RaiseToSelf(SIGUSR2);
  int fd = s.get();
  std::thread updater = testing_util::RunLater(30, [fd] {
    sigset_t m = Set({SIGUSR2});
    signalfd(fd, &m, 0);
  });
  struct pollfd p = {s.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, -1), 1);
  EXPECT_EQ(p.revents, POLLIN);
  updater.join();
}

// --------------------------------------------------------- fork and exec

TEST_F(SignalfdTest, AForkedChildReadsItsOwnSignals) {
  Sfd s({SIGUSR1, SIGUSR2});
  RaiseToSelf(SIGUSR1);  // the parent's; a child does not inherit it
  int status = testing_util::RunInChild([&] {
    CHILD_CHECK(!Readable(s.get()));
    struct signalfd_siginfo si;
    CHILD_CHECK(read(s.get(), &si, sizeof(si)) == -1 && errno == EAGAIN);
    RaiseToSelf(SIGUSR2);
    CHILD_CHECK(read(s.get(), &si, sizeof(si)) == sizeof(si));
    CHILD_CHECK(si.ssi_signo == SIGUSR2);
    CHILD_CHECK(si.ssi_pid == static_cast<uint32_t>(getpid()));
    return 0;
  });
  EXPECT_TRUE(testing_util::ExitedWith(status, 0));
  // The parent's signal is still there, and the child's never was.
  struct signalfd_siginfo si[2] = {};
  EXPECT_EQ(read(s.get(), si, sizeof(si)), 128);
  EXPECT_EQ(si[0].ssi_signo, static_cast<uint32_t>(SIGUSR1));
}

TEST_F(SignalfdTest, TheFdAndAPendingSignalSurviveExec) {
  std::string exe = testing_util::SelfExe();
  ASSERT_FALSE(exe.empty());
  pid_t pid = fork();
  if (pid == 0) {
    // The mask (blocking SIGUSR1) is inherited and kept across exec.
    sigset_t m = Set({SIGUSR1});
    int fd = signalfd(-1, &m, SFD_NONBLOCK);
    if (fd < 0) _exit(102);
    RaiseToSelf(SIGUSR1);
    std::string env = std::string(kHelperEnv) + "=" + std::to_string(fd);
    char* argv[] = {const_cast<char*>(exe.c_str()), nullptr};
    char* envp[] = {const_cast<char*>(env.c_str()), nullptr};
    execve(exe.c_str(), argv, envp);
    _exit(103);
  }
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(
      testing_util::ExitedWith(testing_util::CheckedWaitStatus(pid), SIGUSR1));
}

}  // namespace
