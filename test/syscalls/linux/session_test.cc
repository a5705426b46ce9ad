// Sessions and process groups: setsid(2) (EPERM for a group leader; a new
// session and group named after the caller, with no controlling terminal),
// setpgid(2) (to itself, a child's group set by its parent before and
// EACCES after the child's exec, ESRCH for a non-child, EPERM for a session
// leader or across sessions, EINVAL for a negative pgid), getpgid(2) and
// getsid(2) of other processes (including other sessions) and of missing
// ones, kill(2) to -pgid (every member, nobody else) and to 0 (the caller's
// group, the caller included), and the terminal calls: tcgetpgrp/tcsetpgrp
// on a non-tty (ENOTTY), on /dev/tty when a controlling terminal exists, and
// on a pseudo-terminal that a new session acquires as its controlling
// terminal (skipped where there is no /dev/ptmx).
//
// Every test that changes groups or sessions does it in children: the test
// process itself may be a group or session leader (it is pid 1 of its pid
// namespace in the sandbox), and its group may include the test runner.

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::ForkChild;
using testing_util::ForkPauser;
using testing_util::InForkedChild;
using testing_util::KillAndReap;
using testing_util::Pipe;
using testing_util::Receive;
using testing_util::Send;
using testing_util::UnusedPid;
using testing_util::WaitStatus;

// ----------------------------------------------------------------- setsid

TEST(SetsidTest, AGroupLeaderCannotStartASession) {
  InForkedChild([] {
    ASSERT_OK(setpgid(0, 0));
    EXPECT_EQ(getpgrp(), getpid());
    pid_t sid = getsid(0);
    EXPECT_ERRNO(setsid(), EPERM);
    EXPECT_EQ(getsid(0), sid);
  });
}

TEST(SetsidTest, AForkedChildStartsASessionAndGroupOfItsOwn) {
  pid_t parent_sid = getsid(0);
  InForkedChild([parent_sid] {
    ASSERT_NE(getpgrp(), getpid());  // a fresh child leads nothing
    EXPECT_EQ(setsid(), getpid());
    EXPECT_EQ(getsid(0), getpid());
    EXPECT_EQ(getpgid(0), getpid());
    EXPECT_EQ(getpgrp(), getpid());
    EXPECT_NE(getsid(0), parent_sid);
    // A new session has no controlling terminal.
    EXPECT_ERRNO(open("/dev/tty", O_RDWR | O_CLOEXEC), ENXIO);
    // Now it leads a group: a second setsid fails.
    EXPECT_ERRNO(setsid(), EPERM);
  });
}

TEST(SetsidTest, ASessionLeaderCannotChangeItsGroup) {
  InForkedChild([] {
    ASSERT_EQ(setsid(), getpid());
    // Even to the group it already has.
    EXPECT_ERRNO(setpgid(0, 0), EPERM);
    EXPECT_ERRNO(setpgid(0, getpid()), EPERM);
  });
}

// ---------------------------------------------------------------- setpgid

TEST(SetpgidTest, ToItself) {
  InForkedChild([] {
    pid_t old = getpgrp();
    ASSERT_OK(setpgid(0, 0));
    EXPECT_EQ(getpgrp(), getpid());
    EXPECT_EQ(getpgid(0), getpid());
    EXPECT_EQ(getpgid(getpid()), getpid());
    ASSERT_OK(setpgid(getpid(), getpid()));  // idempotent
    // Back into the old group of the same session.
    ASSERT_OK(setpgid(0, old));
    EXPECT_EQ(getpgrp(), old);
  });
}

TEST(SetpgidTest, AParentSetsItsChildsGroup) {
  Pipe go, report;
  pid_t child = ForkChild([&] {
    char c;
    read(go.r, &c, 1);
    pid_t pgrp = getpgrp();
    write(report.w, &pgrp, sizeof(pgrp));
  });
  ASSERT_GE(child, 0);
  ASSERT_OK(setpgid(child, 0));  // 0: the child's own pid
  EXPECT_EQ(getpgid(child), child);
  Send(go.w, 'g');
  EXPECT_EQ(Receive<pid_t>(report.r), child);
  EXPECT_EQ(WaitStatus(child), 0);
}

TEST(SetpgidTest, AChildThatHasExecedIsEACCES) {
  Pipe exec_done, stdin_pipe;
  pid_t child = ForkChild([&] {
    dup2(stdin_pipe.r, 0);
    execl("/bin/sh", "sh", "-c", "read x", static_cast<char*>(nullptr));
    _exit(127);
  });
  ASSERT_GE(child, 0);
  // The close-on-exec write end closes when the child execs.
  exec_done.CloseW();
  char c;
  ASSERT_EQ(read(exec_done.r, &c, 1), 0);
  EXPECT_ERRNO(setpgid(child, child), EACCES);
  EXPECT_EQ(getpgid(child), getpgrp());
  ASSERT_EQ(write(stdin_pipe.w, "\n", 1), 1);
  EXPECT_EQ(WaitStatus(child), 0);
}

TEST(SetpgidTest, ANonChildIsESRCH) {
  InForkedChild([] {
    Pipe report, go;
    pid_t child = ForkChild([&] {
      pid_t grandchild = ForkPauser();
      write(report.w, &grandchild, sizeof(grandchild));
      char c;
      read(go.r, &c, 1);
      KillAndReap(grandchild);
    });
    ASSERT_GE(child, 0);
    pid_t grandchild = Receive<pid_t>(report.r);
    EXPECT_ERRNO(setpgid(grandchild, grandchild), ESRCH);
    EXPECT_ERRNO(setpgid(grandchild, 0), ESRCH);
    EXPECT_ERRNO(setpgid(UnusedPid(), 0), ESRCH);
    Send(go.w, 'g');
    EXPECT_EQ(WaitStatus(child), 0);
  });
}

TEST(SetpgidTest, AcrossSessionsIsEPERM) {
  InForkedChild([] {
    Pipe ready;
    pid_t leader = ForkPauser([&] {
      setsid();
      write(ready.w, "r", 1);
    });
    ASSERT_GT(leader, 0);
    char c;
    ASSERT_EQ(read(ready.r, &c, 1), 1);
    ASSERT_EQ(getsid(leader), leader);
    // Our child, but in another session.
    EXPECT_ERRNO(setpgid(leader, leader), EPERM);
    EXPECT_ERRNO(setpgid(leader, getpgrp()), EPERM);
    // Moving into a group of another session.
    pid_t other = ForkPauser();
    ASSERT_GT(other, 0);
    EXPECT_ERRNO(setpgid(other, leader), EPERM);
    EXPECT_ERRNO(setpgid(0, leader), EPERM);
    // Or into a group that does not exist.
    EXPECT_ERRNO(setpgid(0, UnusedPid()), EPERM);
    EXPECT_ERRNO(setpgid(0, -1), EINVAL);
    KillAndReap(leader);
    KillAndReap(other);
  });
}

// ------------------------------------------------------- getpgid, getsid

TEST(GetpgidTest, OfOtherProcesses) {
  EXPECT_EQ(getpgid(0), getpgrp());
  EXPECT_EQ(getsid(0), getsid(getpid()));
  Pipe ready;
  pid_t grouped = ForkPauser([&] {
    setpgid(0, 0);
    write(ready.w, "1", 1);
  });
  ASSERT_GT(grouped, 0);
  pid_t session = ForkPauser([&] {
    setsid();
    write(ready.w, "2", 1);
  });
  ASSERT_GT(session, 0);
  char c[2];
  ASSERT_EQ(read(ready.r, &c[0], 1), 1);
  ASSERT_EQ(read(ready.r, &c[1], 1), 1);
  EXPECT_EQ(getpgid(grouped), grouped);
  EXPECT_EQ(getsid(grouped), getsid(0));
  // A process in another session can be asked about too.
  EXPECT_EQ(getpgid(session), session);
  EXPECT_EQ(getsid(session), session);
  KillAndReap(grouped);
  KillAndReap(session);
  pid_t gone = UnusedPid();
  EXPECT_ERRNO(getpgid(gone), ESRCH);
  EXPECT_ERRNO(getsid(gone), ESRCH);
}

// ---------------------------------------------------------- group signals

TEST(KillGroupTest, MinusPgidReachesEveryMemberAndNobodyElse) {
  pid_t leader = ForkPauser([] { setpgid(0, 0); });
  ASSERT_GT(leader, 0);
  ASSERT_OK(setpgid(leader, leader));
  pid_t members[2];
  for (pid_t& m : members) {
    m = ForkPauser([leader] { setpgid(0, leader); });
    ASSERT_GT(m, 0);
    ASSERT_OK(setpgid(m, leader));
  }
  pid_t bystander = ForkPauser();
  ASSERT_GT(bystander, 0);
  ASSERT_OK(kill(-leader, SIGUSR1));
  EXPECT_EQ(WaitStatus(leader), SIGUSR1);
  for (pid_t m : members) EXPECT_EQ(WaitStatus(m), SIGUSR1);
  EXPECT_EQ(waitpid(bystander, nullptr, WNOHANG), 0);  // still running
  KillAndReap(bystander);
  // The group is empty now.
  EXPECT_ERRNO(kill(-leader, SIGUSR1), ESRCH);
  EXPECT_ERRNO(killpg(leader, 0), ESRCH);
}

TEST(KillGroupTest, ZeroReachesTheCallersGroupIncludingTheCaller) {
  InForkedChild([] {
    ASSERT_OK(setpgid(0, 0));
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_OK(sigprocmask(SIG_BLOCK, &usr1, &old));
    Pipe ready;
    pid_t member = ForkPauser([&] {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      write(ready.w, "r", 1);
    });
    ASSERT_GT(member, 0);
    char c;
    ASSERT_EQ(read(ready.r, &c, 1), 1);
    ASSERT_OK(kill(0, SIGUSR1));
    EXPECT_EQ(WaitStatus(member), SIGUSR1);
    siginfo_t info = {};
    struct timespec zero = {0, 0};
    EXPECT_EQ(sigtimedwait(&usr1, &info, &zero), SIGUSR1);
    EXPECT_EQ(info.si_code, SI_USER);
    EXPECT_EQ(info.si_pid, getpid());
    EXPECT_EQ(info.si_uid, getuid());
  });
}

// -------------------------------------------------------------- terminals

TEST(TtyTest, TerminalCallsOnANonTtyAreENOTTY) {
  int fds[2];
  ASSERT_OK(pipe2(fds, O_CLOEXEC));
  EXPECT_ERRNO(tcgetpgrp(fds[0]), ENOTTY);
  EXPECT_ERRNO(tcsetpgrp(fds[0], getpgrp()), ENOTTY);
  EXPECT_ERRNO(tcgetsid(fds[0]), ENOTTY);
  pid_t sid;
  EXPECT_ERRNO(ioctl(fds[1], TIOCGSID, &sid), ENOTTY);
  close(fds[0]);
  close(fds[1]);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(null, 0);
  EXPECT_ERRNO(tcgetpgrp(null), ENOTTY);
  close(null);
  EXPECT_ERRNO(tcgetpgrp(-1), EBADF);
}

TEST(TtyTest, TheControllingTerminalNamesTheForegroundGroup) {
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0 && errno == ENXIO) GTEST_SKIP() << "no controlling terminal";
  ASSERT_GE(tty, 0) << strerror(errno);
  EXPECT_GT(tcgetpgrp(tty), 0);
  EXPECT_EQ(tcgetsid(tty), getsid(0));
  close(tty);
}

TEST(TtyTest, ANewSessionAcquiresAPseudoTerminal) {
  int probe = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (probe < 0 && (errno == ENOENT || errno == ENODEV)) {
    GTEST_SKIP() << "no /dev/ptmx";
  }
  ASSERT_GE(probe, 0) << strerror(errno);
  close(probe);
  InForkedChild([] {
    ASSERT_EQ(setsid(), getpid());
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_OK(grantpt(master));
    ASSERT_OK(unlockpt(master));
    const char* name = ptsname(master);
    ASSERT_NE(name, nullptr);
    // A session leader without a terminal acquires the first it opens
    // without O_NOCTTY.
    int slave = open(name, O_RDWR | O_CLOEXEC);
    ASSERT_GE(slave, 0) << strerror(errno);
    EXPECT_EQ(tcgetsid(slave), getpid());
    EXPECT_EQ(tcgetpgrp(slave), getpgrp());
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    EXPECT_GE(tty, 0) << strerror(errno);
    // Another group of the session can be made the foreground one.
    pid_t member = ForkPauser([] { setpgid(0, 0); });
    ASSERT_GT(member, 0);
    ASSERT_OK(setpgid(member, member));
    ASSERT_OK(tcsetpgrp(slave, member));
    EXPECT_EQ(tcgetpgrp(slave), member);
    if (tty >= 0) {
      EXPECT_EQ(tcgetpgrp(tty), member);
      close(tty);
    }
    // The master side reports the slave's foreground group too.
    EXPECT_EQ(tcgetpgrp(master), member);
    // We are in the background now. Our group is orphaned (our parent is
    // in another session), so instead of stopping us with SIGTTOU the
    // kernel refuses: EIO internally, ENOTTY to the caller.
    EXPECT_ERRNO(tcsetpgrp(slave, getpgrp()), ENOTTY);
    EXPECT_EQ(tcgetpgrp(slave), member);
    // With SIGTTOU blocked (or ignored) the call goes through.
    sigset_t ttou;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    ASSERT_OK(sigprocmask(SIG_BLOCK, &ttou, nullptr));
    EXPECT_ERRNO(tcsetpgrp(slave, UnusedPid()), ESRCH);
    EXPECT_ERRNO(tcsetpgrp(slave, -1), EINVAL);
    ASSERT_OK(tcsetpgrp(slave, getpgrp()));
    EXPECT_EQ(tcgetpgrp(slave), getpgrp());
    KillAndReap(member);
  });
}

}  // namespace
