// Pseudo-terminals (/dev/ptmx and /dev/pts): allocating a pair
// (posix_openpt, grantpt, unlockpt, ptsname, TIOCGPTN, TIOCGPTPEER), the
// line discipline between master and slave (canonical lines, echo, the
// editing characters, VEOF, input and output translation, non-canonical
// VMIN/VTIME), signals the terminal sends (ISIG characters to the
// foreground process group, SIGWINCH, SIGHUP when the master closes), the
// controlling terminal of a session (acquired on open, TIOCSCTTY,
// TIOCNOTTY, /dev/tty), job control (SIGTTIN, SIGTTOU with TOSTOP and on
// settings changes) and readiness (poll, O_NONBLOCK, FIONREAD).
//
// Linux's line discipline runs asynchronously (bytes written to the master
// reach the slave from a work queue), so every read waits with poll for
// what it expects instead of assuming it is there at once.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::ForkChild;
using testing_util::InForkedChild;
using testing_util::KillAndReap;
using testing_util::Pipe;
using testing_util::WaitStatus;

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

constexpr int kTimeoutMs = 5000;

// A master and its slave, opened without making either a controlling
// terminal unless asked.
struct Pty {
  int master = -1;
  int slave = -1;
  ~Pty() {
    if (master >= 0) close(master);
    if (slave >= 0) close(slave);
  }
};

// Opens a new pair; the slave is opened with `slave_flags` added.
void OpenPty(Pty* p, int slave_flags = O_NOCTTY) {
  p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(p->master, 0) << strerror(errno);
  ASSERT_OK(grantpt(p->master));
  ASSERT_OK(unlockpt(p->master));
  const char* name = ptsname(p->master);
  ASSERT_NE(name, nullptr);
  p->slave = open(name, O_RDWR | O_CLOEXEC | slave_flags);
  ASSERT_GE(p->slave, 0) << name << ": " << strerror(errno);
}

// Whether `fd` has any of `events` within `ms`.
short PollFor(int fd, short events, int ms = kTimeoutMs) {
  struct pollfd p = {fd, events, 0};
  int r = poll(&p, 1, ms);
  return r > 0 ? p.revents : 0;
}

// Reads from `fd` until `n` bytes came, or nothing more arrives within the
// timeout; returns what was read.
std::string ReadN(int fd, size_t n, int ms = kTimeoutMs) {
  std::string out;
  while (out.size() < n) {
    if ((PollFor(fd, POLLIN, ms) & POLLIN) == 0) break;
    char buf[256];
    ssize_t r = read(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// One read(2) of up to `len` bytes once `fd` is readable.
std::string ReadOnce(int fd, size_t len = 256) {
  if ((PollFor(fd, POLLIN) & POLLIN) == 0) return "<timeout>";
  std::string buf(len, '\0');
  ssize_t r = read(fd, buf.data(), len);
  if (r < 0) return std::string("<") + strerror(errno) + ">";
  buf.resize(static_cast<size_t>(r));
  return buf;
}

void WriteAll(int fd, const std::string& s) {
  ASSERT_EQ(write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()))
      << strerror(errno);
}

// Whether nothing arrives on `fd` for a short while.
bool Quiet(int fd) { return (PollFor(fd, POLLIN, 100) & POLLIN) == 0; }

// The flags a fresh terminal has (stty sane).
void SetSane(int fd) {
  struct termios t;
  ASSERT_OK(tcgetattr(fd, &t));
  t.c_iflag = ICRNL | IXON | BRKINT | IMAXBEL | IUTF8;
  t.c_oflag = OPOST | ONLCR;
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  t.c_cc[VINTR] = 003;
  t.c_cc[VQUIT] = 034;
  t.c_cc[VERASE] = 0177;
  t.c_cc[VKILL] = 025;
  t.c_cc[VEOF] = 004;
  t.c_cc[VSUSP] = 032;
  t.c_cc[VWERASE] = 027;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  ASSERT_OK(tcsetattr(fd, TCSANOW, &t));
}

void ChangeFlags(int fd, tcflag_t termios::*field, tcflag_t set,
                 tcflag_t clear) {
  struct termios t;
  ASSERT_OK(tcgetattr(fd, &t));
  t.*field = (t.*field | set) & ~clear;
  ASSERT_OK(tcsetattr(fd, TCSANOW, &t));
}

// ------------------------------------------------------------- allocation

TEST(PtyTest, OpenGrantUnlockAndName) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0) << strerror(errno);
  EXPECT_TRUE(isatty(master));
  unsigned int n = 1000;
  ASSERT_OK(ioctl(master, TIOCGPTN, &n));
  ASSERT_OK(grantpt(master));
  const char* name = ptsname(master);
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(std::string(name), "/dev/pts/" + std::to_string(n));
  std::string path = name;
  // Locked until unlockpt.
  EXPECT_ERRNO(open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC), EIO);
  int lock = 0;
  ASSERT_OK(ioctl(master, TIOCGPTLCK, &lock));
  EXPECT_EQ(lock, 1);
  ASSERT_OK(unlockpt(master));
  ASSERT_OK(ioctl(master, TIOCGPTLCK, &lock));
  EXPECT_EQ(lock, 0);
  int slave = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0) << strerror(errno);
  EXPECT_TRUE(isatty(slave));
  struct stat st;
  ASSERT_OK(fstat(slave, &st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  struct stat by_path;
  ASSERT_OK(stat(path.c_str(), &by_path));
  EXPECT_EQ(by_path.st_rdev, st.st_rdev);
  // The slave has no number of its own to report.
  EXPECT_ERRNO(ioctl(slave, TIOCGPTN, &n), ENOTTY);
  // The directory lists it.
  std::set<std::string> entries = testing_util::ListDir("/dev/pts");
  EXPECT_EQ(entries.count(std::to_string(n)), 1u);
  close(slave);
  close(master);
}

TEST(PtyTest, EveryMasterHasItsOwnNumber) {
  Pty a, b;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&a));
  ASSERT_NO_FATAL_FAILURE(OpenPty(&b));
  unsigned int na, nb;
  ASSERT_OK(ioctl(a.master, TIOCGPTN, &na));
  ASSERT_OK(ioctl(b.master, TIOCGPTN, &nb));
  EXPECT_NE(na, nb);
}

TEST(PtyTest, PeerOpensTheSlave) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_OK(unlockpt(master));
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0) << strerror(errno);
  EXPECT_TRUE(isatty(slave));
  ASSERT_NO_FATAL_FAILURE(WriteAll(master, "peer\n"));
  EXPECT_EQ(ReadOnce(slave), "peer\n");
  close(slave);
  close(master);
}

TEST(PtyTest, PtmxUnderDevPts) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 && errno == EACCES) GTEST_SKIP() << "mode 000 on this host";
  ASSERT_GE(master, 0) << strerror(errno);
  unsigned int n;
  ASSERT_OK(ioctl(master, TIOCGPTN, &n));
  close(master);
}

// -------------------------------------------------------- line discipline

TEST(PtyTest, CanonicalReadsReturnWholeLines) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "hello\nworld\npart"));
  EXPECT_EQ(ReadOnce(p.slave), "hello\n");
  EXPECT_EQ(ReadOnce(p.slave), "world\n");
  // An unfinished line is not readable.
  EXPECT_TRUE(Quiet(p.slave));
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "ial\n"));
  // A short buffer takes the line in pieces.
  EXPECT_EQ(ReadOnce(p.slave, 3), "par");
  EXPECT_EQ(ReadOnce(p.slave), "tial\n");
}

TEST(PtyTest, EchoGoesBackToTheMaster) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "hi\n"));
  // The newline is echoed through ONLCR.
  EXPECT_EQ(ReadN(p.master, 4), "hi\r\n");
  EXPECT_EQ(ReadOnce(p.slave), "hi\n");
  // Control characters echo as ^X with ECHOCTL.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "\x01\n"));
  EXPECT_EQ(ReadN(p.master, 4), "^A\r\n");
  EXPECT_EQ(ReadOnce(p.slave), "\x01\n");
  // Without ECHO nothing comes back, but ECHONL still echoes newlines.
  ChangeFlags(p.slave, &termios::c_lflag, ECHONL, ECHO);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "quiet\n"));
  EXPECT_EQ(ReadOnce(p.slave), "quiet\n");
  EXPECT_EQ(ReadN(p.master, 2), "\r\n");
  EXPECT_TRUE(Quiet(p.master));
}

TEST(PtyTest, EraseKillAndWordErase) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master,
                                   "abx\x7f"
                                   "c\n"));
  EXPECT_EQ(ReadOnce(p.slave), "abc\n");
  // ECHOE rubs the erased character out.
  EXPECT_EQ(ReadN(p.master, 9), "abx\b \bc\r\n");
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "junk\x15ok\n"));
  EXPECT_EQ(ReadOnce(p.slave), "ok\n");
  // ECHOKE erases the killed line character by character.
  EXPECT_EQ(ReadN(p.master, 20), "junk\b \b\b \b\b \b\b \bok\r\n");
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "one two\x17three\n"));
  EXPECT_EQ(ReadOnce(p.slave), "one three\n");
  ReadN(p.master, 100, 200);
  // Erasing at the start of a line does nothing.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "\x7f\x7fz\n"));
  EXPECT_EQ(ReadOnce(p.slave), "z\n");
  ReadN(p.master, 100, 200);
  // Without ECHOKE, ECHOK echoes the kill character and a newline.
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHOKE);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "xy\x15"));
  EXPECT_EQ(ReadN(p.master, 6), "xy^U\r\n");
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "\n"));
  EXPECT_EQ(ReadOnce(p.slave), "\n");
}

TEST(PtyTest, EofEndsALineOrTheInput) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "abc\x04"));
  EXPECT_EQ(ReadOnce(p.slave), "abc");
  // On an empty line, VEOF makes read return 0 (end of file) once.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master,
                                   "\x04"
                                   "after\n"));
  EXPECT_EQ(ReadOnce(p.slave), "");
  EXPECT_EQ(ReadOnce(p.slave), "after\n");
}

TEST(PtyTest, InputTranslation) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
  // ICRNL: a carriage return ends the line as a newline.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "cr\r"));
  EXPECT_EQ(ReadOnce(p.slave), "cr\n");
  // IGNCR drops it.
  ChangeFlags(p.slave, &termios::c_iflag, IGNCR, 0);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "a\rb\n"));
  EXPECT_EQ(ReadOnce(p.slave), "ab\n");
  // INLCR turns newlines into carriage returns, which then end no line.
  ChangeFlags(p.slave, &termios::c_iflag, INLCR, IGNCR | ICRNL);
  ChangeFlags(p.slave, &termios::c_lflag, 0, ICANON);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "x\n"));
  EXPECT_EQ(ReadN(p.slave, 2), "x\r");
}

TEST(PtyTest, OutputTranslation) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.slave, "a\nb"));
  EXPECT_EQ(ReadN(p.master, 4), "a\r\nb");
  ChangeFlags(p.slave, &termios::c_oflag, 0, OPOST);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.slave, "c\nd"));
  EXPECT_EQ(ReadN(p.master, 3), "c\nd");
}

TEST(PtyTest, NonCanonicalMinAndTime) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  struct termios t;
  ASSERT_OK(tcgetattr(p.slave, &t));
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  ASSERT_OK(tcsetattr(p.slave, TCSANOW, &t));
  // VMIN=1: a read returns what is there, no line needed.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "ab"));
  EXPECT_EQ(ReadN(p.slave, 2), "ab");
  // Raw mode: no echo, no translation, no signals.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "\r\x03"));
  EXPECT_EQ(ReadN(p.slave, 2), "\r\x03");
  EXPECT_TRUE(Quiet(p.master));
  // VMIN=0, VTIME=0: a read never waits.
  t.c_cc[VMIN] = 0;
  ASSERT_OK(tcsetattr(p.slave, TCSANOW, &t));
  char c;
  EXPECT_EQ(read(p.slave, &c, 1), 0);
  // VMIN=0, VTIME=1: waits a tenth of a second for a byte, then returns 0.
  t.c_cc[VTIME] = 1;
  ASSERT_OK(tcsetattr(p.slave, TCSANOW, &t));
  EXPECT_EQ(read(p.slave, &c, 1), 0);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "z"));
  ASSERT_EQ(PollFor(p.slave, POLLIN) & POLLIN, POLLIN);
  EXPECT_EQ(read(p.slave, &c, 1), 1);
  EXPECT_EQ(c, 'z');
}

TEST(PtyTest, SwitchingToRawKeepsTheUnfinishedLine) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "pending"));
  EXPECT_TRUE(Quiet(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ICANON);
  EXPECT_EQ(ReadN(p.slave, 7), "pending");
}

// -------------------------------------------------------------- readiness

TEST(PtyTest, NonBlockingReadsAndPoll) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p, O_NOCTTY | O_NONBLOCK));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
  ASSERT_OK(fcntl(p.master, F_SETFL, O_NONBLOCK));
  char buf[16];
  EXPECT_ERRNO(read(p.slave, buf, sizeof(buf)), EAGAIN);
  EXPECT_ERRNO(read(p.master, buf, sizeof(buf)), EAGAIN);
  EXPECT_EQ(PollFor(p.slave, POLLIN | POLLOUT, 0), POLLOUT);
  EXPECT_EQ(PollFor(p.master, POLLIN | POLLOUT, 0), POLLOUT);
  // A partial line does not make the slave readable; a whole one does.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "ab"));
  EXPECT_EQ(PollFor(p.slave, POLLIN, 100), 0);
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "c\n"));
  EXPECT_EQ(PollFor(p.slave, POLLIN), POLLIN);
  int n = -1;
  ASSERT_OK(ioctl(p.slave, FIONREAD, &n));
  EXPECT_EQ(n, 4);
  ASSERT_OK(ioctl(p.slave, TIOCINQ, &n));
  EXPECT_EQ(n, 4);
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 4);
  // The other way.
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.slave, "out"));
  EXPECT_EQ(PollFor(p.master, POLLIN), POLLIN);
  ASSERT_OK(ioctl(p.master, FIONREAD, &n));
  EXPECT_EQ(n, 3);
  ASSERT_OK(ioctl(p.slave, TIOCOUTQ, &n));
  EXPECT_GE(n, 0);
  EXPECT_EQ(ReadN(p.master, 3), "out");
}

TEST(PtyTest, ABlockedReadWakesForALine) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
  ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
  pid_t writer = ForkChild([&] {
    usleep(100 * 1000);
    write(p.master, "late\n", 5);
  });
  ASSERT_GT(writer, 0);
  char buf[16];
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 5);
  EXPECT_EQ(WaitStatus(writer), 0);
}

// ----------------------------------------------------- hang-up and close

TEST(PtyTest, ClosingTheSlaveHangsUpTheMaster) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  ASSERT_NO_FATAL_FAILURE(WriteAll(p.slave, "bye"));
  close(p.slave);
  p.slave = -1;
  // What was written can still be read; then EIO.
  EXPECT_EQ(ReadN(p.master, 3), "bye");
  EXPECT_NE(PollFor(p.master, POLLIN) & POLLHUP, 0);
  char c;
  EXPECT_ERRNO(read(p.master, &c, 1), EIO);
}

TEST(PtyTest, ClosingTheMasterHangsUpTheSlave) {
  Pty p;
  ASSERT_NO_FATAL_FAILURE(OpenPty(&p));
  unsigned int n;
  ASSERT_OK(ioctl(p.master, TIOCGPTN, &n));
  close(p.master);
  p.master = -1;
  EXPECT_NE(PollFor(p.slave, POLLIN) & POLLHUP, 0);
  char c;
  ssize_t r = read(p.slave, &c, 1);
  EXPECT_TRUE(r == 0 || (r == -1 && errno == EIO)) << r << " " << errno;
  EXPECT_ERRNO(write(p.slave, "x", 1), EIO);
  // The slave is gone from /dev/pts.
  std::string path = "/dev/pts/" + std::to_string(n);
  EXPECT_EQ(testing_util::ListDir("/dev/pts").count(std::to_string(n)), 0u);
  int again = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  EXPECT_EQ(again, -1);
  if (again >= 0) close(again);
}

// --------------------------------------------- the controlling terminal

TEST(PtyTest, ASessionLeaderAcquiresItsTerminalOnOpen) {
  InForkedChild([] {
    ASSERT_EQ(setsid(), getpid());
    // Closing the master at the end hangs the session up.
    signal(SIGHUP, SIG_IGN);
    EXPECT_ERRNO(open("/dev/tty", O_RDWR | O_CLOEXEC), ENXIO);
    Pty p;
    ASSERT_NO_FATAL_FAILURE(OpenPty(&p, 0));
    EXPECT_EQ(tcgetsid(p.slave), getpid());
    EXPECT_EQ(tcgetpgrp(p.slave), getpgrp());
    // /dev/tty is the same terminal.
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    ASSERT_GE(tty, 0) << strerror(errno);
    EXPECT_TRUE(isatty(tty));
    ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
    ASSERT_NO_FATAL_FAILURE(WriteAll(tty, "via tty\n"));
    EXPECT_EQ(ReadN(p.master, 9), "via tty\r\n");
    ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
    ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "in\n"));
    EXPECT_EQ(ReadOnce(tty), "in\n");
    close(tty);
  });
}

TEST(PtyTest, OpeningWithNoCttyOrOutsideALeaderAcquiresNothing) {
  InForkedChild([] {
    ASSERT_EQ(setsid(), getpid());
    Pty p;
    ASSERT_NO_FATAL_FAILURE(OpenPty(&p, O_NOCTTY));
    EXPECT_ERRNO(tcgetsid(p.slave), ENOTTY);
    EXPECT_ERRNO(open("/dev/tty", O_RDWR | O_CLOEXEC), ENXIO);
    // A member that leads no session cannot acquire it either.
    pid_t child = ForkChild([&] {
      int s = open(ptsname(p.master), O_RDWR | O_CLOEXEC);
      CHILD_CHECK(s >= 0);
      CHILD_CHECK(open("/dev/tty", O_RDWR | O_CLOEXEC) == -1);
      CHILD_CHECK(ioctl(s, TIOCSCTTY, 0) == -1 && errno == EPERM);
      _exit(0);
    });
    EXPECT_EQ(WaitStatus(child), 0);
  });
}

TEST(PtyTest, TiocscttyAndTiocnotty) {
  InForkedChild([] {
    ASSERT_EQ(setsid(), getpid());
    Pty p;
    ASSERT_NO_FATAL_FAILURE(OpenPty(&p, O_NOCTTY));
    ASSERT_OK(ioctl(p.slave, TIOCSCTTY, 0));
    EXPECT_EQ(tcgetsid(p.slave), getpid());
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    EXPECT_GE(tty, 0) << strerror(errno);
    if (tty >= 0) close(tty);
    // A second terminal cannot be taken while we have one.
    Pty q;
    ASSERT_NO_FATAL_FAILURE(OpenPty(&q, O_NOCTTY));
    EXPECT_ERRNO(ioctl(q.slave, TIOCSCTTY, 0), EPERM);
    // Another session cannot take ours without privilege... nor with
    // TIOCSCTTY's argument 0.
    pid_t other = ForkChild([&] {
      CHILD_CHECK(setsid() == getpid());
      CHILD_CHECK(ioctl(p.slave, TIOCSCTTY, 0) == -1 && errno == EPERM);
      _exit(0);
    });
    EXPECT_EQ(WaitStatus(other), 0);
    // Giving it up (the leader does: the session loses it).
    signal(SIGHUP, SIG_IGN);
    signal(SIGCONT, SIG_IGN);
    ASSERT_OK(ioctl(p.slave, TIOCNOTTY));
    EXPECT_ERRNO(open("/dev/tty", O_RDWR | O_CLOEXEC), ENXIO);
    EXPECT_ERRNO(tcgetsid(p.slave), ENOTTY);
    EXPECT_ERRNO(ioctl(p.slave, TIOCNOTTY), ENOTTY);
  });
}

// Runs `fn` in a child that leads a new session whose controlling terminal
// is the slave of `p` (opened there).
void InSessionWithTerminal(const std::function<void(Pty& p)>& fn) {
  InForkedChild([&] {
    ASSERT_EQ(setsid(), getpid());
    // Closing the master at the end hangs the session up.
    signal(SIGHUP, SIG_IGN);
    Pty p;
    ASSERT_NO_FATAL_FAILURE(OpenPty(&p, 0));
    ASSERT_EQ(tcgetsid(p.slave), getpid());
    ASSERT_NO_FATAL_FAILURE(SetSane(p.slave));
    fn(p);
  });
}

// Forks a member of a new process group that pauses until killed.
pid_t ForkGroupPauser() {
  pid_t pid = ForkChild([] {
    setpgid(0, 0);
    for (;;) pause();
  });
  if (pid > 0) setpgid(pid, pid);
  return pid;
}

TEST(PtyTest, SignalCharactersReachTheForegroundGroup) {
  InSessionWithTerminal([](Pty& p) {
    struct {
      char c;
      int sig;
    } cases[] = {{'\x03', SIGINT}, {'\x1c', SIGQUIT}};
    for (const auto& c : cases) {
      pid_t fg = ForkGroupPauser();
      ASSERT_GT(fg, 0);
      ASSERT_OK(tcsetpgrp(p.slave, fg));
      ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, std::string(1, c.c)));
      int status = WaitStatus(fg);
      EXPECT_TRUE(testing_util::KilledBySignal(status, c.sig));
      // Echoed as ^C, ^\ (ECHOCTL).
      EXPECT_EQ(ReadN(p.master, 2), std::string("^") + char(c.c ^ 0x40));
      // Back to the foreground: the session leader (we block SIGTTOU).
      signal(SIGTTOU, SIG_IGN);
      ASSERT_OK(tcsetpgrp(p.slave, getpgrp()));
      signal(SIGTTOU, SIG_DFL);
    }
    // ^Z stops the foreground group; SIGCONT resumes it.
    pid_t fg = ForkGroupPauser();
    ASSERT_GT(fg, 0);
    ASSERT_OK(tcsetpgrp(p.slave, fg));
    ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "\x1a"));
    int status = WaitStatus(fg, WUNTRACED);
    ASSERT_TRUE(WIFSTOPPED(status)) << status;
    EXPECT_EQ(WSTOPSIG(status), SIGTSTP);
    // The signal flushed the unread input.
    KillAndReap(fg);
  });
}

TEST(PtyTest, SignalCharacterFlushesInputUnlessNoflsh) {
  InSessionWithTerminal([](Pty& p) {
    signal(SIGINT, SIG_IGN);
    ChangeFlags(p.slave, &termios::c_lflag, 0, ECHO);
    ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "lost\npartial\x03kept\n"));
    EXPECT_EQ(ReadOnce(p.slave), "kept\n");
    ChangeFlags(p.slave, &termios::c_lflag, NOFLSH, 0);
    ASSERT_NO_FATAL_FAILURE(WriteAll(p.master, "stays\n\x03"));
    EXPECT_EQ(ReadOnce(p.slave), "stays\n");
  });
}

TEST(PtyTest, WindowSizeAndSigwinch) {
  InSessionWithTerminal([](Pty& p) {
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    ASSERT_OK(sigprocmask(SIG_BLOCK, &winch, nullptr));
    struct winsize ws = {};
    ws.ws_row = 40;
    ws.ws_col = 100;
    ASSERT_OK(ioctl(p.master, TIOCSWINSZ, &ws));
    struct winsize got = {};
    ASSERT_OK(ioctl(p.slave, TIOCGWINSZ, &got));
    EXPECT_EQ(got.ws_row, 40);
    EXPECT_EQ(got.ws_col, 100);
    ASSERT_OK(ioctl(p.master, TIOCGWINSZ, &got));
    EXPECT_EQ(got.ws_col, 100);
    struct timespec wait = {5, 0};
    EXPECT_EQ(sigtimedwait(&winch, nullptr, &wait), SIGWINCH);
    // The same size again signals nobody.
    ASSERT_OK(ioctl(p.slave, TIOCSWINSZ, &ws));
    struct timespec zero = {0, 0};
    EXPECT_ERRNO(sigtimedwait(&winch, nullptr, &zero), EAGAIN);
  });
}

TEST(PtyTest, MasterCloseHangsUpTheSession) {
  InSessionWithTerminal([](Pty& p) {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    signal(SIGHUP, SIG_DFL);
    ASSERT_OK(sigprocmask(SIG_BLOCK, &hup, nullptr));
    close(p.master);
    p.master = -1;
    struct timespec wait = {5, 0};
    EXPECT_EQ(sigtimedwait(&hup, nullptr, &wait), SIGHUP);
    char c;
    ssize_t r = read(p.slave, &c, 1);
    EXPECT_TRUE(r == 0 || (r == -1 && errno == EIO)) << r << " " << errno;
    // The session lost its terminal.
    EXPECT_ERRNO(open("/dev/tty", O_RDWR | O_CLOEXEC), ENXIO);
  });
}

// ---------------------------------------------------------- job control

TEST(PtyTest, BackgroundReadGetsSigttin) {
  InSessionWithTerminal([](Pty& p) {
    pid_t bg = ForkChild([&] {
      setpgid(0, 0);
      char c;
      read(p.slave, &c, 1);
      _exit(3);
    });
    ASSERT_GT(bg, 0);
    setpgid(bg, bg);
    int status = WaitStatus(bg, WUNTRACED);
    ASSERT_TRUE(WIFSTOPPED(status)) << status;
    EXPECT_EQ(WSTOPSIG(status), SIGTTIN);
    KillAndReap(bg);
    // Ignoring SIGTTIN makes the read fail with EIO instead.
    pid_t ign = ForkChild([&] {
      setpgid(0, 0);
      signal(SIGTTIN, SIG_IGN);
      char c;
      CHILD_CHECK(read(p.slave, &c, 1) == -1 && errno == EIO);
      _exit(0);
    });
    ASSERT_GT(ign, 0);
    setpgid(ign, ign);
    EXPECT_EQ(WaitStatus(ign), 0);
  });
}

TEST(PtyTest, BackgroundWritesAndSettingsGetSigttou) {
  InSessionWithTerminal([](Pty& p) {
    // Without TOSTOP, background output goes through.
    pid_t w = ForkChild([&] {
      setpgid(0, 0);
      CHILD_CHECK(write(p.slave, "bg\n", 3) == 3);
      _exit(0);
    });
    ASSERT_GT(w, 0);
    setpgid(w, w);
    EXPECT_EQ(WaitStatus(w), 0);
    EXPECT_EQ(ReadN(p.master, 4), "bg\r\n");
    // With TOSTOP it stops the writer.
    ChangeFlags(p.slave, &termios::c_lflag, TOSTOP, 0);
    pid_t stopped = ForkChild([&] {
      setpgid(0, 0);
      write(p.slave, "no\n", 3);
      _exit(3);
    });
    ASSERT_GT(stopped, 0);
    setpgid(stopped, stopped);
    int status = WaitStatus(stopped, WUNTRACED);
    ASSERT_TRUE(WIFSTOPPED(status)) << status;
    EXPECT_EQ(WSTOPSIG(status), SIGTTOU);
    KillAndReap(stopped);
    ChangeFlags(p.slave, &termios::c_lflag, 0, TOSTOP);
    // Changing the settings from the background stops too (TCSETS).
    pid_t setter = ForkChild([&] {
      setpgid(0, 0);
      struct termios t;
      tcgetattr(p.slave, &t);
      tcsetattr(p.slave, TCSANOW, &t);
      _exit(3);
    });
    ASSERT_GT(setter, 0);
    setpgid(setter, setter);
    status = WaitStatus(setter, WUNTRACED);
    ASSERT_TRUE(WIFSTOPPED(status)) << status;
    EXPECT_EQ(WSTOPSIG(status), SIGTTOU);
    KillAndReap(setter);
    // ... unless SIGTTOU is ignored.
    pid_t ign = ForkChild([&] {
      setpgid(0, 0);
      signal(SIGTTOU, SIG_IGN);
      struct termios t;
      CHILD_CHECK(tcgetattr(p.slave, &t) == 0);
      CHILD_CHECK(tcsetattr(p.slave, TCSANOW, &t) == 0);
      CHILD_CHECK(tcsetpgrp(p.slave, getpgrp()) == 0);
      _exit(0);
    });
    ASSERT_GT(ign, 0);
    setpgid(ign, ign);
    EXPECT_EQ(WaitStatus(ign), 0);
  });
}

}  // namespace
