// flock(2) and fcntl(2) record locks (F_GETLK, F_SETLK, F_SETLKW and the
// open-file-description forms): conflicts between processes, conversion,
// splitting and merging, release on close, blocking and deadlock.

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "test/util/process_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"

namespace {

using testing_util::CheckedWaitStatus;
using testing_util::ExitedWith;
using testing_util::RunInChild;

using LockTest = testing_util::FileTest;

struct flock Range(short type, off_t start, off_t len) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

TEST_F(LockTest, FlockExcludesOtherDescriptionsNotDups) {
  int other = open(path_.c_str(), O_RDWR);
  ASSERT_GE(other, 0);
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_ERRNO(flock(other, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  EXPECT_ERRNO(flock(other, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  // A dup shares the description, and so the lock.
  int dup_fd = dup(fd_);
  EXPECT_EQ(flock(dup_fd, LOCK_EX | LOCK_NB), 0);
  // Conversion to shared lets other shared lockers in.
  ASSERT_EQ(flock(fd_, LOCK_SH), 0);
  EXPECT_EQ(flock(other, LOCK_SH | LOCK_NB), 0);
  ASSERT_EQ(flock(other, LOCK_UN), 0);
  // Closing one dup keeps the lock; closing the last releases it.
  close(dup_fd);
  EXPECT_ERRNO(flock(other, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(fd_);
  fd_ = -1;
  EXPECT_EQ(flock(other, LOCK_EX | LOCK_NB), 0);
  close(other);
}

TEST_F(LockTest, FlockBadArguments) {
  EXPECT_ERRNO(flock(fd_, 0), EINVAL);
  EXPECT_ERRNO(flock(fd_, LOCK_SH | LOCK_EX), EINVAL);
  EXPECT_ERRNO(flock(9999, LOCK_SH), EBADF);
}

TEST_F(LockTest, FlockBlocksUntilReleased) {
  testing_util::Watchdog watchdog;
  int other = open(path_.c_str(), O_RDWR);
  ASSERT_GE(other, 0);
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  std::thread t = testing_util::RunLater(50, [&] { flock(fd_, LOCK_UN); });
  EXPECT_EQ(flock(other, LOCK_EX), 0);  // blocks until the unlock
  t.join();
  close(other);
}

TEST_F(LockTest, FlockInheritedAcrossFork) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  int status = RunInChild([&] {
    int other = open(path_.c_str(), O_RDWR);
    CHILD_CHECK(other >= 0);
    CHILD_CHECK(flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK);
    // The inherited fd shares the description and its lock.
    CHILD_CHECK(flock(fd_, LOCK_UN) == 0);
    CHILD_CHECK(flock(other, LOCK_EX | LOCK_NB) == 0);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

TEST_F(LockTest, RecordLocksConflictBetweenProcesses) {
  struct flock w = Range(F_WRLCK, 10, 10);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &w), 0);
  pid_t parent = getpid();
  int status = RunInChild([&] {
    struct flock probe = Range(F_RDLCK, 15, 1);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &probe) == 0);
    CHILD_CHECK(probe.l_type == F_WRLCK);
    CHILD_CHECK(probe.l_start == 10 && probe.l_len == 10);
    CHILD_CHECK(probe.l_pid == parent);
    struct flock r = Range(F_RDLCK, 0, 10);  // bytes 0-9: free
    CHILD_CHECK(fcntl(fd_, F_SETLK, &r) == 0);
    struct flock clash = Range(F_RDLCK, 19, 5);
    CHILD_CHECK(fcntl(fd_, F_SETLK, &clash) == -1 &&
                (errno == EAGAIN || errno == EACCES));
    struct flock free_probe = Range(F_WRLCK, 20, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &free_probe) == 0);
    CHILD_CHECK(free_probe.l_type == F_UNLCK);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

TEST_F(LockTest, OwnLocksSplitAndMerge) {
  // Read-lock 0-99, write-lock the middle: the child sees three ranges.
  struct flock r = Range(F_RDLCK, 0, 100);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &r), 0);
  struct flock w = Range(F_WRLCK, 40, 20);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &w), 0);
  int status = RunInChild([&] {
    struct flock p = Range(F_WRLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &p) == 0);
    CHILD_CHECK(p.l_type == F_RDLCK && p.l_start == 0 && p.l_len == 40);
    p = Range(F_RDLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &p) == 0);
    CHILD_CHECK(p.l_type == F_WRLCK && p.l_start == 40 && p.l_len == 20);
    p = Range(F_WRLCK, 60, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &p) == 0);
    CHILD_CHECK(p.l_type == F_RDLCK && p.l_start == 60 && p.l_len == 40);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
  // Back to read over the middle: one merged range again.
  struct flock r2 = Range(F_RDLCK, 40, 20);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &r2), 0);
  status = RunInChild([&] {
    struct flock p = Range(F_WRLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &p) == 0);
    CHILD_CHECK(p.l_type == F_RDLCK && p.l_start == 0 && p.l_len == 100);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

TEST_F(LockTest, ClosingAnyFdReleasesTheProcesssLocks) {
  struct flock w = Range(F_WRLCK, 0, 0);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &w), 0);
  // Another descriptor of the same file, closed: POSIX drops the lock.
  int other = open(path_.c_str(), O_RDONLY);
  ASSERT_GE(other, 0);
  close(other);
  int status = RunInChild([&] {
    struct flock p = Range(F_WRLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &p) == 0);
    CHILD_CHECK(p.l_type == F_UNLCK);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

TEST_F(LockTest, LocksAreNotInheritedAndDieWithTheProcess) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = testing_util::ForkChild([&] {
    struct flock w = Range(F_WRLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_SETLK, &w) == 0);
    CHILD_CHECK(write(ready[1], "x", 1) == 1);
    pause();
  });
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  struct flock p = Range(F_WRLCK, 0, 0);
  ASSERT_EQ(fcntl(fd_, F_GETLK, &p), 0);
  EXPECT_EQ(p.l_type, F_WRLCK);
  EXPECT_EQ(p.l_pid, child);
  testing_util::KillAndReap(child);
  p = Range(F_WRLCK, 0, 0);
  ASSERT_EQ(fcntl(fd_, F_GETLK, &p), 0);
  EXPECT_EQ(p.l_type, F_UNLCK);
  close(ready[0]);
  close(ready[1]);
}

TEST_F(LockTest, SetlkwWaitsForTheHolder) {
  testing_util::Watchdog watchdog;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = testing_util::ForkChild([&] {
    struct flock w = Range(F_WRLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_SETLK, &w) == 0);
    CHILD_CHECK(write(ready[1], "x", 1) == 1);
    usleep(100 * 1000);
    _exit(0);  // exiting releases the lock
  });
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  struct flock w = Range(F_WRLCK, 0, 0);
  EXPECT_EQ(fcntl(fd_, F_SETLKW, &w), 0);
  EXPECT_TRUE(ExitedWith(CheckedWaitStatus(child), 0));
  close(ready[0]);
  close(ready[1]);
}

TEST_F(LockTest, DeadlockIsDetected) {
  testing_util::Watchdog watchdog;
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  struct flock mine = Range(F_WRLCK, 0, 1);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &mine), 0);
  pid_t child = testing_util::ForkChild([&] {
    struct flock theirs = Range(F_WRLCK, 1, 1);
    CHILD_CHECK(fcntl(fd_, F_SETLK, &theirs) == 0);
    CHILD_CHECK(write(ready[1], "x", 1) == 1);
    // Waits for byte 0, held by the parent.
    struct flock want = Range(F_WRLCK, 0, 1);
    CHILD_CHECK(fcntl(fd_, F_SETLKW, &want) == 0);
    _exit(0);
  });
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  // Wait until the child blocks (its state is 'S'), then close the cycle.
  for (int i = 0; i < 2000 && testing_util::ProcState(child) != 'S'; i++) {
    usleep(1000);
  }
  usleep(20 * 1000);
  struct flock want = Range(F_WRLCK, 1, 1);
  EXPECT_ERRNO(fcntl(fd_, F_SETLKW, &want), EDEADLK);
  struct flock un = Range(F_UNLCK, 0, 0);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &un), 0);
  EXPECT_TRUE(ExitedWith(CheckedWaitStatus(child), 0));
  close(ready[0]);
  close(ready[1]);
  close(go[0]);
  close(go[1]);
}

TEST_F(LockTest, AccessModeAndArgumentChecks) {
  int ro = open(path_.c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  struct flock w = Range(F_WRLCK, 0, 0);
  EXPECT_ERRNO(fcntl(ro, F_SETLK, &w), EBADF);
  struct flock bad = Range(17, 0, 0);
  EXPECT_ERRNO(fcntl(fd_, F_SETLK, &bad), EINVAL);
  struct flock neg = Range(F_RDLCK, -1, 0);
  EXPECT_ERRNO(fcntl(fd_, F_SETLK, &neg), EINVAL);
  struct flock back = Range(F_RDLCK, 5, -10);
  EXPECT_ERRNO(fcntl(fd_, F_SETLK, &back), EINVAL);
  struct flock whence = Range(F_RDLCK, 0, 0);
  whence.l_whence = 7;
  EXPECT_ERRNO(fcntl(fd_, F_SETLK, &whence), EINVAL);
  struct flock un = Range(F_UNLCK, 0, 0);
  EXPECT_ERRNO(fcntl(fd_, F_GETLK, &un), EINVAL);
  struct flock ofd = Range(F_RDLCK, 0, 0);
  ofd.l_pid = 1;
  EXPECT_ERRNO(fcntl(fd_, F_OFD_SETLK, &ofd), EINVAL);
  close(ro);
}

TEST_F(LockTest, NegativeLengthAndSeekEnd) {
  // l_len < 0 covers [start+len, start).
  struct flock w = Range(F_WRLCK, 10, -4);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &w), 0);
  // SEEK_END: the file holds 10 bytes; lock the last 2.
  struct flock e = {};
  e.l_type = F_WRLCK;
  e.l_whence = SEEK_END;
  e.l_start = -2;
  e.l_len = 2;
  ASSERT_EQ(fcntl(fd_, F_SETLK, &e), 0);
  int status = RunInChild([&] {
    struct flock p = Range(F_RDLCK, 0, 0);
    CHILD_CHECK(fcntl(fd_, F_GETLK, &p) == 0);
    CHILD_CHECK(p.l_type == F_WRLCK && p.l_start == 6 && p.l_len == 4);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

TEST_F(LockTest, OfdLocksBelongToTheDescription) {
  int other = open(path_.c_str(), O_RDWR);
  ASSERT_GE(other, 0);
  struct flock w = Range(F_WRLCK, 0, 10);
  ASSERT_EQ(fcntl(fd_, F_OFD_SETLK, &w), 0);
  // Same process, another description: a conflict, unlike POSIX locks.
  struct flock w2 = Range(F_WRLCK, 5, 1);
  EXPECT_ERRNO(fcntl(other, F_OFD_SETLK, &w2), EAGAIN);
  struct flock p = Range(F_WRLCK, 0, 0);
  ASSERT_EQ(fcntl(other, F_OFD_GETLK, &p), 0);
  EXPECT_EQ(p.l_type, F_WRLCK);
  EXPECT_EQ(p.l_pid, -1);
  // And OFD locks conflict with the process's own POSIX locks.
  EXPECT_ERRNO(fcntl(other, F_SETLK, &w2), EAGAIN);
  // Closing another fd of the file does not drop an OFD lock.
  close(other);
  int third = open(path_.c_str(), O_RDWR);
  ASSERT_GE(third, 0);
  EXPECT_ERRNO(fcntl(third, F_OFD_SETLK, &w2), EAGAIN);
  // Closing the description does.
  close(fd_);
  fd_ = -1;
  EXPECT_EQ(fcntl(third, F_OFD_SETLK, &w2), 0);
  close(third);
}

TEST_F(LockTest, FlockAndRecordLocksAreIndependent) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  int status = RunInChild([&] {
    int other = open(path_.c_str(), O_RDWR);
    CHILD_CHECK(other >= 0);
    struct flock w = Range(F_WRLCK, 0, 0);
    CHILD_CHECK(fcntl(other, F_SETLK, &w) == 0);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

}  // namespace
