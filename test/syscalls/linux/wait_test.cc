// wait4(2), waitpid(2), waitid(2) and the life cycle they observe: exit codes
// (only the low 8 bits), deaths by signal, stops and continues (WUNTRACED,
// WCONTINUED, CLD_STOPPED/CLD_CONTINUED), the exact raw wait statuses and
// waitid siginfo fields, WNOHANG, WNOWAIT, ECHILD, selecting by pid, by -1,
// by the caller's process group (0) and by -pgid, the P_PID/P_ALL/P_PGID/
// P_PIDFD id types, __WCLONE/__WALL for children whose exit signal is not
// SIGCHLD, __WNOTHREAD, option and id validation, rusage from wait4, zombies
// (alive to kill(pid, 0), state Z in /proc until reaped), SIGCHLD's siginfo,
// auto-reaping under SIG_IGN and SA_NOCLDWAIT, orphans adopted by a child
// subreaper (PR_SET/GET_CHILD_SUBREAPER), PR_SET_PDEATHSIG (including its
// firing when the parent *thread* exits), and pidfds: pidfd_open,
// pidfd_send_signal and poll.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::ForkPauser;
using testing_util::InForkedChild;
using testing_util::kChildWatchdogSeconds;
using testing_util::Pipe;
using testing_util::ProcState;
using testing_util::ReadFile;
using testing_util::Receive;
using testing_util::Send;
using testing_util::WaitStatus;

// Forks a child that exits with `code` at once.
pid_t ForkExiter(int code) {
  pid_t pid = fork();
  if (pid == 0) _exit(code);
  return pid;
}

// Blocks until `pid` has exited, without reaping it.
void AwaitZombie(pid_t pid, int options = 0) {
  siginfo_t info = {};
  int rc;
  do {
    rc = waitid(P_PID, static_cast<id_t>(pid), &info,
                WEXITED | WNOWAIT | options);
  } while (rc == -1 && errno == EINTR);
  ASSERT_EQ(rc, 0) << strerror(errno);
}

// waitid(P_PID, pid, info, options) with *info first filled with 0x5a
// bytes, so that a field it should have written but did not shows.
int WaitidPoisoned(pid_t pid, int options, siginfo_t* info) {
  memset(info, 0x5a, sizeof(*info));
  return waitid(P_PID, static_cast<id_t>(pid), info, options);
}

int PidfdOpen(pid_t pid, unsigned flags = 0) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}

int PidfdSendSignal(int pidfd, int sig, unsigned flags = 0) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, flags));
}

// Makes the test process a child subreaper for one test, so that orphaned
// grandchildren come back to it (natively; inside the sandbox the test is
// its pid namespace's init and gets them anyway).
class SubreaperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
  }
  void TearDown() override { prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); }
};

// ----------------------------------------------------------- exit statuses

TEST(WaitTest, ExitCodesAreTheLowEightBits) {
  const int codes[] = {0, 1, 2, 42, 127, 128, 200, 255, 256, 256 + 3, -1};
  for (int code : codes) {
    pid_t pid = ForkExiter(code);
    ASSERT_GT(pid, 0);
    int status = WaitStatus(pid);
    EXPECT_EQ(status, (code & 0xff) << 8) << "exit(" << code << ")";
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), code & 0xff);
  }
}

TEST(WaitTest, ExitStatusOfAllExitCodes) {
  for (int code = 0; code < 256; code += 17) {
    pid_t pid = ForkExiter(code);
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitStatus(pid), code << 8);
  }
}

TEST(WaitTest, KilledBySignalReportsTheSignal) {
  const int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGHUP, SIGALRM};
  for (int sig : sigs) {
    pid_t pid = ForkPauser();
    ASSERT_GT(pid, 0);
    ASSERT_OK(kill(pid, sig));
    int status = WaitStatus(pid);
    // No core dump for these: the status is the bare signal number.
    EXPECT_EQ(status, sig) << strsignal(sig);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), sig);
    EXPECT_FALSE(WIFEXITED(status));
  }
}

TEST(WaitTest, WnohangWithARunningChildReturnsZero) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  int status = 12345;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);
  EXPECT_EQ(waitpid(-1, &status, WNOHANG), 0);
  EXPECT_EQ(status, 12345);  // untouched
  siginfo_t info;
  EXPECT_EQ(WaitidPoisoned(pid, WEXITED | WNOHANG, &info), 0);
  // waitid zeroes the fields it reports when nothing was waitable.
  EXPECT_EQ(info.si_signo, 0);
  EXPECT_EQ(info.si_pid, 0);
  EXPECT_EQ(info.si_code, 0);
  EXPECT_EQ(info.si_status, 0);
  ASSERT_OK(kill(pid, SIGKILL));
  EXPECT_EQ(WaitStatus(pid), SIGKILL);
}

TEST(WaitTest, NoChildrenIsECHILD) {
  InForkedChild([] {
    int status;
    EXPECT_ERRNO(wait(&status), ECHILD);
    EXPECT_ERRNO(waitpid(-1, &status, 0), ECHILD);
    EXPECT_ERRNO(waitpid(-1, &status, WNOHANG), ECHILD);
    EXPECT_ERRNO(waitpid(0, &status, 0), ECHILD);
    EXPECT_ERRNO(waitpid(getppid() > 0 ? getppid() : 1, &status, 0), ECHILD);
    EXPECT_ERRNO(wait4(-1, &status, __WALL, nullptr), ECHILD);
    siginfo_t info;
    EXPECT_ERRNO(waitid(P_ALL, 0, &info, WEXITED), ECHILD);
    EXPECT_ERRNO(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), ECHILD);
  });
}

TEST(WaitTest, IntMinPidIsESRCH) {
  int status;
  EXPECT_ERRNO(waitpid(INT_MIN, &status, WNOHANG), ESRCH);
}

// ------------------------------------------------------------- selection

TEST(WaitTest, ASpecificPidIsWaitedForAndOthersAreLeft) {
  pid_t first = ForkExiter(1);
  pid_t second = ForkExiter(2);
  ASSERT_GT(first, 0);
  ASSERT_GT(second, 0);
  AwaitZombie(first);
  EXPECT_EQ(WaitStatus(second), 2 << 8);
  // The first is still there for -1.
  int status = 0;
  EXPECT_EQ(waitpid(-1, &status, 0), first);
  EXPECT_EQ(status, 1 << 8);
}

TEST(WaitTest, MinusOneWaitsForAnyChild) {
  pid_t a = ForkExiter(3);
  pid_t b = ForkExiter(4);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  int got = 0;
  for (int i = 0; i < 2; i++) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid == a) {
      EXPECT_EQ(status, 3 << 8);
      got |= 1;
    } else if (pid == b) {
      EXPECT_EQ(status, 4 << 8);
      got |= 2;
    } else {
      ADD_FAILURE() << "waitpid returned " << pid;
    }
  }
  EXPECT_EQ(got, 3);
}

TEST(WaitTest, ZeroWaitsForTheCallersProcessGroupOnly) {
  // `other` moves to a process group of its own before it exits.
  pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    setpgid(0, 0);
    _exit(5);
  }
  setpgid(other, other);  // either this or the child's call makes it so
  AwaitZombie(other);
  ASSERT_EQ(getpgid(other), other);
  pid_t same = ForkExiter(6);
  ASSERT_GT(same, 0);
  int status = 0;
  EXPECT_EQ(waitpid(0, &status, 0), same);
  EXPECT_EQ(status, 6 << 8);
  // `other` matches no child in our group: ECHILD, not 0.
  EXPECT_ERRNO(waitpid(0, &status, WNOHANG), ECHILD);
  // -pgid selects it.
  EXPECT_EQ(waitpid(-other, &status, 0), other);
  EXPECT_EQ(status, 5 << 8);
}

TEST(WaitTest, MinusPgidWaitsForEveryMemberOfTheGroup) {
  pid_t leader = ForkPauser();
  ASSERT_GT(leader, 0);
  ASSERT_OK(setpgid(leader, leader));
  pid_t member = fork();
  ASSERT_GE(member, 0);
  if (member == 0) {
    setpgid(0, leader);
    _exit(8);
  }
  setpgid(member, leader);
  int status = 0;
  EXPECT_EQ(waitpid(-leader, &status, 0), member);
  EXPECT_EQ(status, 8 << 8);
  EXPECT_EQ(waitpid(-leader, &status, WNOHANG), 0);  // the leader runs on
  ASSERT_OK(kill(leader, SIGKILL));
  EXPECT_EQ(waitpid(-leader, &status, 0), leader);
  EXPECT_EQ(status, SIGKILL);
}

// ----------------------------------------------------------------- zombies

TEST(WaitTest, AZombieStaysUntilReaped) {
  pid_t pid = ForkExiter(9);
  ASSERT_GT(pid, 0);
  AwaitZombie(pid);
  std::string proc = "/proc/" + std::to_string(pid);
  // Still a process: it can be signalled (to no effect) and seen in /proc.
  EXPECT_EQ(kill(pid, 0), 0);
  EXPECT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(ProcState(pid), 'Z');
  EXPECT_NE(ReadFile(proc + "/status").find("\nState:\tZ (zombie)\n"),
            std::string::npos);
  EXPECT_EQ(getpgid(pid), getpgrp());
  // WNOWAIT looked without reaping; the exit status is the original one.
  EXPECT_EQ(WaitStatus(pid), 9 << 8);
  EXPECT_ERRNO(kill(pid, 0), ESRCH);
  EXPECT_ERRNO(access(proc.c_str(), F_OK), ENOENT);
}

// ----------------------------------------------------- stops and continues

TEST(WaitTest, StopAndContinueAreReportedOnceEach) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  ASSERT_OK(kill(pid, SIGSTOP));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  EXPECT_EQ(status, (SIGSTOP << 8) | 0x7f);
  EXPECT_TRUE(WIFSTOPPED(status));
  EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
  EXPECT_EQ(ProcState(pid), 'T');
  // Consumed: not reported again, and never without WUNTRACED.
  EXPECT_EQ(waitpid(pid, &status, WUNTRACED | WNOHANG), 0);
  ASSERT_OK(kill(pid, SIGCONT));
  ASSERT_EQ(waitpid(pid, &status, WCONTINUED), pid);
  EXPECT_EQ(status, 0xffff);
  EXPECT_TRUE(WIFCONTINUED(status));
  EXPECT_EQ(waitpid(pid, &status, WCONTINUED | WUNTRACED | WNOHANG), 0);
  ASSERT_OK(kill(pid, SIGKILL));
  EXPECT_EQ(WaitStatus(pid), SIGKILL);
}

TEST(WaitTest, AStopIsNotReportedWithoutWuntraced) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  ASSERT_OK(kill(pid, SIGSTOP));
  siginfo_t info = {};
  // Wait for the stop through waitid with WNOWAIT, leaving it reportable.
  ASSERT_OK(waitid(P_PID, static_cast<id_t>(pid), &info, WSTOPPED | WNOWAIT));
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);
  EXPECT_EQ(waitpid(pid, &status, WUNTRACED | WNOHANG), pid);
  EXPECT_EQ(status, (SIGSTOP << 8) | 0x7f);
  // A stopped child dies of SIGKILL without being continued.
  ASSERT_OK(kill(pid, SIGKILL));
  EXPECT_EQ(WaitStatus(pid), SIGKILL);
}

TEST(WaitidTest, SiginfoForStopAndContinue) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  ASSERT_OK(kill(pid, SIGSTOP));
  siginfo_t info;
  ASSERT_OK(WaitidPoisoned(pid, WSTOPPED, &info));
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_errno, 0);
  EXPECT_EQ(info.si_code, CLD_STOPPED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(info.si_status, SIGSTOP);
  ASSERT_OK(kill(pid, SIGCONT));
  ASSERT_OK(WaitidPoisoned(pid, WCONTINUED, &info));
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_CONTINUED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, SIGCONT);
  ASSERT_OK(kill(pid, SIGKILL));
  ASSERT_OK(WaitidPoisoned(pid, WEXITED, &info));
  EXPECT_EQ(info.si_code, CLD_KILLED);
  EXPECT_EQ(info.si_status, SIGKILL);
  EXPECT_EQ(info.si_pid, pid);
}

// ------------------------------------------------------------------ waitid

TEST(WaitidTest, SiginfoForAnExit) {
  pid_t pid = ForkExiter(77);
  ASSERT_GT(pid, 0);
  siginfo_t info;
  ASSERT_OK(WaitidPoisoned(pid, WEXITED, &info));
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_errno, 0);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(info.si_status, 77);
  EXPECT_ERRNO(kill(pid, 0), ESRCH);  // reaped
}

TEST(WaitidTest, WnowaitLeavesTheChildWaitable) {
  pid_t pid = ForkExiter(11);
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 2; i++) {
    siginfo_t info = {};
    ASSERT_OK(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT));
    EXPECT_EQ(info.si_pid, pid);
    EXPECT_EQ(info.si_status, 11);
  }
  siginfo_t info = {};
  ASSERT_OK(waitid(P_ALL, 0, &info, WEXITED | WNOWAIT));
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(WaitStatus(pid), 11 << 8);
}

TEST(WaitidTest, SelectByPgid) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    _exit(12);
  }
  setpgid(pid, pid);
  AwaitZombie(pid);
  siginfo_t info = {};
  // 0 means the caller's own group (Linux 5.4+), which `pid` left.
  EXPECT_ERRNO(waitid(P_PGID, 0, &info, WEXITED | WNOHANG), ECHILD);
  ASSERT_OK(waitid(P_PGID, static_cast<id_t>(pid), &info, WEXITED));
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 12);
  pid_t same = ForkExiter(13);
  ASSERT_GT(same, 0);
  ASSERT_OK(waitid(P_PGID, 0, &info, WEXITED));
  EXPECT_EQ(info.si_pid, same);
  EXPECT_EQ(info.si_status, 13);
}

TEST(WaitidTest, SelectByPidfd) {
  pid_t pid = ForkExiter(14);
  ASSERT_GT(pid, 0);
  int pidfd = PidfdOpen(pid);
  ASSERT_GE(pidfd, 0) << strerror(errno);
  siginfo_t info = {};
  ASSERT_OK(waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED));
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 14);
  // Reaped: the pidfd now names nothing waitable.
  EXPECT_ERRNO(waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED),
               ECHILD);
  close(pidfd);
}

TEST(WaitidTest, APidfdOfANonChildIsECHILD) {
  int self = PidfdOpen(getpid());
  ASSERT_GE(self, 0) << strerror(errno);
  siginfo_t info = {};
  EXPECT_ERRNO(
      waitid(P_PIDFD, static_cast<id_t>(self), &info, WEXITED | WNOHANG),
      ECHILD);
  close(self);
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(waitid(P_PIDFD, static_cast<id_t>(fd), &info, WEXITED), EBADF);
  close(fd);
  EXPECT_ERRNO(waitid(P_PIDFD, 100000, &info, WEXITED), EBADF);
}

TEST(WaitidTest, InvalidArgumentsAreEINVAL) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  siginfo_t info = {};
  id_t id = static_cast<id_t>(pid);
  // One of WEXITED, WSTOPPED or WCONTINUED is required.
  EXPECT_ERRNO(waitid(P_PID, id, &info, WNOHANG), EINVAL);
  EXPECT_ERRNO(waitid(P_PID, id, &info, 0), EINVAL);
  EXPECT_ERRNO(waitid(P_PID, id, &info, WEXITED | 0x10000), EINVAL);
  EXPECT_ERRNO(waitid(static_cast<idtype_t>(4), id, &info, WEXITED), EINVAL);
  EXPECT_ERRNO(waitid(static_cast<idtype_t>(-1), id, &info, WEXITED), EINVAL);
  // Ids that can name no process.
  EXPECT_ERRNO(waitid(P_PID, 0, &info, WEXITED | WNOHANG), EINVAL);
  EXPECT_ERRNO(waitid(P_PID, static_cast<id_t>(-5), &info, WEXITED | WNOHANG),
               EINVAL);
  EXPECT_ERRNO(waitid(P_PGID, static_cast<id_t>(-5), &info, WEXITED | WNOHANG),
               EINVAL);
  // waitid may be given no siginfo at all.
  ASSERT_OK(kill(pid, SIGKILL));
  EXPECT_EQ(syscall(SYS_waitid, P_PID, pid, nullptr, WEXITED, nullptr), 0);
  EXPECT_ERRNO(kill(pid, 0), ESRCH);
}

TEST(WaitTest, Wait4InvalidOptionsAreEINVAL) {
  pid_t pid = ForkExiter(0);
  ASSERT_GT(pid, 0);
  AwaitZombie(pid);
  int status;
  // waitid's own options are not wait4's.
  EXPECT_ERRNO(wait4(pid, &status, WNOWAIT, nullptr), EINVAL);
  EXPECT_ERRNO(wait4(pid, &status, WEXITED, nullptr), EINVAL);
  EXPECT_ERRNO(wait4(pid, &status, WSTOPPED | WEXITED, nullptr), EINVAL);
  EXPECT_ERRNO(wait4(pid, &status, 0x10000, nullptr), EINVAL);
  EXPECT_ERRNO(waitpid(pid, &status, 0x40), EINVAL);
  // Nothing was reaped on the way.
  EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(WaitTest, BadStatusPointerIsEFAULTAndTheChildIsNotLost) {
  pid_t pid = ForkExiter(15);
  ASSERT_GT(pid, 0);
  AwaitZombie(pid);
  EXPECT_ERRNO(syscall(SYS_wait4, pid, reinterpret_cast<int*>(8), 0, nullptr),
               EFAULT);
  // Linux reaps the child before copying the status out; it is gone.
  EXPECT_ERRNO(waitpid(pid, nullptr, WNOHANG), ECHILD);
}

// ----------------------------------------------------- __WCLONE and __WALL

TEST(WaitTest, ACloneChildNeedsWcloneOrWall) {
  // A child whose exit signal is 0 (no signal at all), through raw clone.
  auto clone_child = [](int code) -> pid_t {
    long rc = syscall(SYS_clone, 0 /* exit signal 0 */, nullptr, nullptr,
                      nullptr, nullptr);
    if (rc == 0) syscall(SYS_exit_group, code);
    return static_cast<pid_t>(rc);
  };
  pid_t a = clone_child(16);
  ASSERT_GT(a, 0) << strerror(errno);
  AwaitZombie(a, __WCLONE);
  int status;
  EXPECT_ERRNO(waitpid(a, &status, 0), ECHILD);
  EXPECT_ERRNO(waitpid(-1, &status, WNOHANG), ECHILD);
  EXPECT_EQ(WaitStatus(a, __WCLONE), 16 << 8);
  pid_t b = clone_child(17);
  ASSERT_GT(b, 0);
  EXPECT_EQ(WaitStatus(b, __WALL), 17 << 8);
  // And __WCLONE does not see an ordinary child.
  pid_t c = ForkExiter(18);
  ASSERT_GT(c, 0);
  EXPECT_ERRNO(waitpid(c, &status, __WCLONE), ECHILD);
  EXPECT_EQ(WaitStatus(c, __WALL), 18 << 8);
}

struct ForkedByThread {
  pid_t pid = -1;
  int forked_w = -1;
  int exit_r = -1;
};

void* ForkFromThread(void* arg) {
  auto* f = static_cast<ForkedByThread*>(arg);
  f->pid = fork();
  if (f->pid == 0) _exit(19);
  char c = 'f';
  write(f->forked_w, &c, 1);
  read(f->exit_r, &c, 1);  // stay alive until told to go
  return nullptr;
}

TEST(WaitTest, WnothreadIgnoresChildrenOfOtherLiveThreads) {
  Pipe forked, exit;
  ForkedByThread f;
  f.forked_w = forked.w;
  f.exit_r = exit.r;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, ForkFromThread, &f), 0);
  Receive<char>(forked.r);
  ASSERT_GT(f.pid, 0);
  AwaitZombie(f.pid);  // any thread may wait for any thread's child...
  int status;
  // ...except with __WNOTHREAD, which limits it to the caller's own.
  EXPECT_ERRNO(waitpid(f.pid, &status, __WNOTHREAD | WNOHANG), ECHILD);
  // When the forking thread exits, its children pass to a live thread of
  // the group (here the only one left: this one).
  Send(exit.w, 'x');
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  EXPECT_EQ(WaitStatus(f.pid, __WNOTHREAD), 19 << 8);
}

// ------------------------------------------------------------------ rusage

TEST(WaitTest, Wait4FillsRusage) {
  constexpr int64_t kCpuNs = 100 * 1000 * 1000;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Burn 100 ms of CPU time, measured by the child's own CPU clock.
    struct timespec ts = {};
    do {
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec * 1000000000LL + ts.tv_nsec < kCpuNs);
    _exit(0);
  }
  struct rusage before = {};
  ASSERT_OK(getrusage(RUSAGE_CHILDREN, &before));
  struct rusage ru = {};
  int status = 0;
  ASSERT_EQ(wait4(pid, &status, 0, &ru), pid);
  EXPECT_EQ(status, 0);
  auto us = [](const struct timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
  };
  // User plus system time adds up to the CPU time (to the microsecond).
  EXPECT_GE(us(ru.ru_utime) + us(ru.ru_stime), kCpuNs / 1000 - 2);
  EXPECT_GT(ru.ru_maxrss, 0);
  // The reaped child's time is added to RUSAGE_CHILDREN.
  struct rusage after = {};
  ASSERT_OK(getrusage(RUSAGE_CHILDREN, &after));
  EXPECT_GE(us(after.ru_utime) + us(after.ru_stime) -
                (us(before.ru_utime) + us(before.ru_stime)),
            kCpuNs / 1000 - 2);
}

TEST(WaitidTest, RawWaitidFillsRusage) {
  pid_t pid = ForkExiter(0);
  ASSERT_GT(pid, 0);
  struct rusage ru;
  memset(&ru, 0xff, sizeof(ru));
  siginfo_t info = {};
  ASSERT_OK(syscall(SYS_waitid, P_PID, pid, &info, WEXITED, &ru));
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_GE(ru.ru_utime.tv_sec, 0);
  EXPECT_LT(ru.ru_utime.tv_usec, 1000000);
  EXPECT_GT(ru.ru_maxrss, 0);
}

// ----------------------------------------------------------------- SIGCHLD

TEST(SigchldTest, TheParentIsSentSigchldWithTheExitInSiginfo) {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &chld, &old));
  pid_t pid = ForkExiter(21);
  ASSERT_GT(pid, 0);
  siginfo_t info = {};
  struct timespec timeout = {10, 0};
  EXPECT_EQ(sigtimedwait(&chld, &info, &timeout), SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(info.si_status, 21);
  EXPECT_EQ(WaitStatus(pid), 21 << 8);
  ASSERT_OK(sigprocmask(SIG_SETMASK, &old, nullptr));
}

TEST(SigchldTest, IgnoredSigchldAutoReapsAndWaitBlocksThenFailsECHILD) {
  InForkedChild([] {
    signal(SIGCHLD, SIG_IGN);
    Pipe go;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      char c;
      read(go.r, &c, 1);
      _exit(3);
    }
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0);  // running: still there
    Send(go.w, 'g');
    // Blocks until the child is gone, then reports that there is none.
    int status;
    EXPECT_ERRNO(waitpid(pid, &status, 0), ECHILD);
    EXPECT_ERRNO(kill(pid, 0), ESRCH);
  });
}

int nocldwait_signals = 0;
void CountSigchld(int) { nocldwait_signals++; }

TEST(SigchldTest, NocldwaitAutoReapsButTheHandlerStillRuns) {
  InForkedChild([] {
    struct sigaction act = {};
    act.sa_handler = CountSigchld;
    act.sa_flags = SA_NOCLDWAIT;
    ASSERT_OK(sigaction(SIGCHLD, &act, nullptr));
    pid_t pid = ForkExiter(4);
    ASSERT_GT(pid, 0);
    int status;
    pid_t rc;
    do {
      rc = waitpid(pid, &status, 0);
    } while (rc == -1 && errno == EINTR);
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(errno, ECHILD);
    EXPECT_EQ(nocldwait_signals, 1);
    EXPECT_ERRNO(kill(pid, 0), ESRCH);
  });
}

TEST(SigchldTest, IgnoringSigchldLaterLeavesExistingZombies) {
  InForkedChild([] {
    pid_t pid = ForkExiter(5);
    ASSERT_GT(pid, 0);
    AwaitZombie(pid);
    signal(SIGCHLD, SIG_IGN);
    EXPECT_EQ(kill(pid, 0), 0);
    EXPECT_EQ(WaitStatus(pid), 5 << 8);
  });
}

// ------------------------------------------------ orphans and subreapers

TEST_F(SubreaperTest, GetChildSubreaperReportsTheFlag) {
  int flag = -1;
  ASSERT_OK(prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0));
  EXPECT_EQ(flag, 1);
  // Not inherited by children.
  InForkedChild([] {
    int f = -1;
    ASSERT_OK(prctl(PR_GET_CHILD_SUBREAPER, &f, 0, 0, 0));
    EXPECT_EQ(f, 0);
  });
  ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0));
  ASSERT_OK(prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0));
  EXPECT_EQ(flag, 0);
}

struct Ids {
  pid_t before;
  pid_t after;
};

TEST_F(SubreaperTest, AnOrphanedGrandchildIsAdoptedAndWaitable) {
  Pipe report, go;
  pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    Pipe started;
    pid_t grandchild = fork();
    if (grandchild == 0) {
      alarm(kChildWatchdogSeconds);
      pid_t before = getppid();
      char c = 's';
      write(started.w, &c, 1);
      read(go.r, &c, 1);  // until the middle process has exited
      Ids ids = {before, getppid()};
      write(report.w, &ids, sizeof(ids));
      _exit(23);
    }
    char c;
    read(started.r, &c, 1);
    write(report.w, &grandchild, sizeof(grandchild));
    _exit(0);
  }
  pid_t grandchild = Receive<pid_t>(report.r);
  EXPECT_EQ(WaitStatus(middle), 0);
  // The middle process is gone (reaped): the grandchild is ours now.
  Send(go.w, 'g');
  Ids ids = Receive<Ids>(report.r);
  EXPECT_EQ(ids.before, middle);
  EXPECT_EQ(ids.after, getpid());
  EXPECT_EQ(WaitStatus(grandchild), 23 << 8);
}

TEST_F(SubreaperTest, PdeathsigIsSentWhenTheParentExits) {
  Pipe report;
  pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    Pipe ready;
    pid_t grandchild = fork();
    if (grandchild == 0) {
      alarm(kChildWatchdogSeconds);
      prctl(PR_SET_PDEATHSIG, SIGUSR1);
      char c = 'r';
      write(ready.w, &c, 1);
      for (;;) pause();
    }
    char c;
    read(ready.r, &c, 1);  // the grandchild has set its death signal
    write(report.w, &grandchild, sizeof(grandchild));
    _exit(0);
  }
  pid_t grandchild = Receive<pid_t>(report.r);
  EXPECT_EQ(WaitStatus(middle), 0);
  EXPECT_EQ(WaitStatus(grandchild), SIGUSR1);
}

struct PdeathArgs {
  int ready_w = -1;
  pid_t child = -1;
};

void* ForkPdeathChild(void* arg) {
  auto* a = static_cast<PdeathArgs*>(arg);
  int ready[2];
  if (pipe(ready) != 0) return nullptr;
  a->child = fork();
  if (a->child == 0) {
    alarm(kChildWatchdogSeconds);
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    write(ready[1], "r", 1);
    for (;;) pause();
  }
  char c;
  read(ready[0], &c, 1);
  close(ready[0]);
  close(ready[1]);
  return nullptr;  // this thread now exits
}

TEST(PdeathsigTest, FiresWhenTheParentThreadExitsEvenIfTheProcessLives) {
  PdeathArgs a;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, ForkPdeathChild, &a), 0);
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  ASSERT_GT(a.child, 0);
  // The death signal tracks the thread that forked; the process (which
  // stays the parent) may still reap the child.
  EXPECT_EQ(WaitStatus(a.child), SIGUSR2);
}

TEST(PdeathsigTest, GetReturnsItAndForkClearsIt) {
  InForkedChild([] {
    int sig = -1;
    ASSERT_OK(prctl(PR_GET_PDEATHSIG, &sig));
    EXPECT_EQ(sig, 0);
    ASSERT_OK(prctl(PR_SET_PDEATHSIG, SIGTERM));
    ASSERT_OK(prctl(PR_GET_PDEATHSIG, &sig));
    EXPECT_EQ(sig, SIGTERM);
    EXPECT_ERRNO(prctl(PR_SET_PDEATHSIG, 65), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_PDEATHSIG, -1), EINVAL);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int s = -1;
      prctl(PR_GET_PDEATHSIG, &s);
      _exit(s == 0 ? 0 : 1);
    }
    EXPECT_EQ(WaitStatus(pid), 0);
    ASSERT_OK(prctl(PR_SET_PDEATHSIG, 0));
  });
}

// ------------------------------------------------------------------ pidfds

TEST(PidfdTest, OpenErrors) {
  // Find a pid that is not in use: a reaped child's.
  pid_t gone = ForkExiter(0);
  ASSERT_GT(gone, 0);
  ASSERT_EQ(WaitStatus(gone), 0);
  EXPECT_ERRNO(PidfdOpen(gone), ESRCH);
  EXPECT_ERRNO(PidfdOpen(0), EINVAL);
  EXPECT_ERRNO(PidfdOpen(-1), EINVAL);
  EXPECT_ERRNO(PidfdOpen(getpid(), 1), EINVAL);
  int fd = PidfdOpen(getpid());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(PidfdTest, SendSignalKillsAndAReapedProcessIsESRCH) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  int pidfd = PidfdOpen(pid);
  ASSERT_GE(pidfd, 0) << strerror(errno);
  EXPECT_EQ(PidfdSendSignal(pidfd, 0), 0);  // existence check
  // Unknown flags, and more than one PIDFD_SIGNAL_* scope (6.9+), are
  // EINVAL.
  EXPECT_ERRNO(PidfdSendSignal(pidfd, SIGKILL, 8), EINVAL);
  EXPECT_ERRNO(PidfdSendSignal(pidfd, SIGKILL, 3), EINVAL);
  EXPECT_ERRNO(PidfdSendSignal(pidfd, 65), EINVAL);
  ASSERT_OK(PidfdSendSignal(pidfd, SIGKILL));
  AwaitZombie(pid);
  EXPECT_EQ(PidfdSendSignal(pidfd, SIGKILL), 0);  // a zombie still exists
  EXPECT_EQ(WaitStatus(pid), SIGKILL);
  EXPECT_ERRNO(PidfdSendSignal(pidfd, SIGKILL), ESRCH);
  EXPECT_ERRNO(PidfdSendSignal(pidfd, 0), ESRCH);
  close(pidfd);
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(PidfdSendSignal(fd, 0), EBADF);
  close(fd);
}

TEST(PidfdTest, PollBecomesReadableWhenTheProcessExits) {
  Pipe go;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(kChildWatchdogSeconds);
    go.CloseW();
    char c;
    read(go.r, &c, 1);
    _exit(0);
  }
  int pidfd = PidfdOpen(pid);
  ASSERT_GE(pidfd, 0) << strerror(errno);
  struct pollfd pfd = {pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  EXPECT_EQ(pfd.revents, 0);
  go.CloseW();  // the child reads EOF and exits
  EXPECT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);  // a zombie: readable
  EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  EXPECT_EQ(pfd.revents, POLLIN | POLLHUP);  // reaped: hung up too
  close(pidfd);
}

}  // namespace
