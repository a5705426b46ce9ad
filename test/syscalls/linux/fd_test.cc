// close(2), dup(2), dup2(2), dup3(2), fcntl(2) (F_DUPFD, F_DUPFD_CLOEXEC,
// F_GETFD, F_SETFD, F_GETFL, F_SETFL), ioctl(2) FIOCLEX/FIONCLEX,
// close_range(2), and the descriptor table's allocation rules under
// RLIMIT_NOFILE (getrlimit(2)/setrlimit(2)), a limit of 0 included.

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "test/util/test_util.h"

namespace {

using testing_util::TempPath;
using testing_util::WriteFile;

int CloseRange(unsigned first, unsigned last, unsigned flags) {
  return static_cast<int>(syscall(SYS_close_range, first, last, flags));
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

// A directory with a 10-byte file, opened read-write.
using FdTest = testing_util::FileTest;

TEST_F(FdTest, CloseOfABadDescriptorIsEBADF) {
  EXPECT_ERRNO(close(-1), EBADF);
  EXPECT_ERRNO(close(1 << 20), EBADF);
  int fd = dup(fd_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(close(fd), 0);
  EXPECT_ERRNO(close(fd), EBADF);  // already closed
}

TEST_F(FdTest, DupSharesTheFileButNotTheDescriptorFlags) {
  int fd = dup(fd_);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_NE(fd, fd_);
  // The new descriptor never inherits FD_CLOEXEC.
  EXPECT_EQ(fcntl(fd_, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  // Both refer to one open file description: one offset.
  ASSERT_EQ(lseek(fd_, 4, SEEK_SET), 4);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 4);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, '4');
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), 5);
  close(fd);
  EXPECT_ERRNO(dup(-1), EBADF);
  EXPECT_ERRNO(dup(fd), EBADF);
}

TEST_F(FdTest, DupReturnsTheLowestFreeDescriptor) {
  int a = dup(fd_);
  int b = dup(fd_);
  int c = dup(fd_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_GE(c, 0);
  close(b);
  close(a);
  EXPECT_EQ(dup(fd_), a);
  EXPECT_EQ(dup(fd_), b);
  close(a);
  close(b);
  close(c);
}

TEST_F(FdTest, Dup2OntoItselfReturnsTheDescriptor) {
  EXPECT_EQ(dup2(fd_, fd_), fd_);
  // The descriptor is untouched, flags included.
  EXPECT_EQ(fcntl(fd_, F_GETFD), FD_CLOEXEC);
  // ...but a closed one is still EBADF.
  int fd = dup(fd_);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_ERRNO(dup2(fd, fd), EBADF);
}

TEST_F(FdTest, Dup2ReplacesTheTarget) {
  std::string other = dir_ / "other";
  WriteFile(other, "abc");
  int target = open(other.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(target, 0);
  EXPECT_EQ(dup2(fd_, target), target);
  // The target now reads from fd_'s file, and has no FD_CLOEXEC.
  char c;
  ASSERT_EQ(lseek(fd_, 0, SEEK_SET), 0);
  EXPECT_EQ(read(target, &c, 1), 1);
  EXPECT_EQ(c, '0');
  EXPECT_EQ(fcntl(target, F_GETFD), 0);
  close(target);
  EXPECT_ERRNO(dup2(-1, target), EBADF);
  EXPECT_ERRNO(dup2(fd_, -1), EBADF);
  struct rlimit rl = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
  EXPECT_ERRNO(dup2(fd_, static_cast<int>(rl.rlim_cur)), EBADF);
}

TEST_F(FdTest, Dup2ToAFreeSlotOpensIt) {
  int target = fcntl(fd_, F_DUPFD, 200);
  ASSERT_GE(target, 200);
  close(target);
  ASSERT_FALSE(IsOpen(target));
  EXPECT_EQ(dup2(fd_, target), target);
  EXPECT_TRUE(IsOpen(target));
  close(target);
}

TEST_F(FdTest, Dup3Flags) {
  // Unlike dup2, dup3 refuses to duplicate onto itself.
  EXPECT_ERRNO(dup3(fd_, fd_, 0), EINVAL);
  EXPECT_ERRNO(dup3(fd_, fd_, O_CLOEXEC), EINVAL);
  int target = dup(fd_);
  ASSERT_GE(target, 0);
  // O_CLOEXEC is the only flag.
  EXPECT_ERRNO(dup3(fd_, target, O_NONBLOCK), EINVAL);
  EXPECT_ERRNO(dup3(fd_, target, 1), EINVAL);
  EXPECT_EQ(dup3(fd_, target, O_CLOEXEC), target);
  EXPECT_EQ(fcntl(target, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(dup3(fd_, target, 0), target);
  EXPECT_EQ(fcntl(target, F_GETFD), 0);
  close(target);
  EXPECT_ERRNO(dup3(-1, target, 0), EBADF);
}

TEST_F(FdTest, FcntlDupfdReturnsTheLowestFreeAtOrAboveTheArgument) {
  int a = fcntl(fd_, F_DUPFD, 100);
  ASSERT_GE(a, 100);
  int b = fcntl(fd_, F_DUPFD, a);
  EXPECT_GT(b, a);
  EXPECT_EQ(fcntl(b, F_GETFD), 0);
  close(a);
  // a is free again and is the lowest at or above itself.
  EXPECT_EQ(fcntl(fd_, F_DUPFD, a), a);
  // An argument below every free slot still finds a low free one.
  int low = fcntl(fd_, F_DUPFD, 0);
  EXPECT_GE(low, 0);
  EXPECT_LT(low, a);
  close(low);
  close(a);
  close(b);
  EXPECT_ERRNO(fcntl(fd_, F_DUPFD, -1), EINVAL);
  struct rlimit rl = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
  EXPECT_ERRNO(fcntl(fd_, F_DUPFD, static_cast<int>(rl.rlim_cur)), EINVAL);
  EXPECT_ERRNO(fcntl(-1, F_DUPFD, 0), EBADF);
}

TEST_F(FdTest, FcntlDupfdCloexecSetsTheFlag) {
  int fd = fcntl(fd_, F_DUPFD_CLOEXEC, 50);
  ASSERT_GE(fd, 50);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST_F(FdTest, DescriptorFlagsRoundTrip) {
  EXPECT_EQ(fcntl(fd_, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd_, F_SETFD, 0), 0);
  EXPECT_EQ(fcntl(fd_, F_GETFD), 0);
  EXPECT_EQ(fcntl(fd_, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_EQ(fcntl(fd_, F_GETFD), FD_CLOEXEC);
  // Descriptor flags belong to the descriptor, not to the shared file.
  int fd = dup(fd_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
  EXPECT_ERRNO(fcntl(-1, F_GETFD), EBADF);
  EXPECT_ERRNO(fcntl(-1, F_SETFD, 0), EBADF);
}

TEST_F(FdTest, StatusFlagsSettableAndShared) {
  EXPECT_EQ(fcntl(fd_, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK), O_RDWR);
  int fd = dup(fd_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd_, F_SETFL, O_APPEND | O_NONBLOCK), 0);
  EXPECT_EQ(fcntl(fd_, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK),
            O_RDWR | O_APPEND | O_NONBLOCK);
  // Status flags live in the open file description, which fd shares.
  EXPECT_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK),
            O_RDWR | O_APPEND | O_NONBLOCK);
  // O_APPEND now takes effect on writes.
  ASSERT_EQ(lseek(fd_, 0, SEEK_SET), 0);
  EXPECT_EQ(write(fd_, "X", 1), 1);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), 11);
  EXPECT_EQ(fcntl(fd_, F_SETFL, 0), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK), O_RDWR);
  close(fd);
}

TEST_F(FdTest, StatusFlagsCannotChangeTheAccessMode) {
  int ro = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ro, 0);
  // The access mode bits and creation flags are silently ignored.
  EXPECT_EQ(fcntl(ro, F_SETFL, O_RDWR | O_APPEND), 0);
  EXPECT_EQ(fcntl(ro, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDONLY | O_APPEND);
  EXPECT_ERRNO(write(ro, "x", 1), EBADF);
  EXPECT_EQ(fcntl(ro, F_SETFL, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL), 0);
  EXPECT_EQ(
      fcntl(ro, F_GETFL) & (O_ACCMODE | O_CREAT | O_TRUNC | O_EXCL | O_APPEND),
      O_RDONLY);
  close(ro);
  EXPECT_EQ(testing_util::ReadFile(path_), "0123456789");
  EXPECT_ERRNO(fcntl(-1, F_GETFL), EBADF);
}

TEST_F(FdTest, IoctlSetsAndClearsCloseOnExec) {
  int fd = dup(fd_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ioctl(fd, FIOCLEX), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(ioctl(fd, FIONCLEX), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
  EXPECT_ERRNO(ioctl(fd, FIOCLEX), EBADF);
}

// Returns three consecutive free descriptors starting at the result, each a
// duplicate of fd, far above what the test harness has open.
int DupThreeInARow(int fd) {
  for (int base = 400; base < 900; base += 10) {
    int a = fcntl(fd, F_DUPFD, base);
    if (a < 0) return -1;
    if (!IsOpen(a + 1) && !IsOpen(a + 2)) {
      if (dup2(fd, a + 1) != a + 1 || dup2(fd, a + 2) != a + 2) return -1;
      return a;
    }
    close(a);
  }
  return -1;
}

TEST_F(FdTest, CloseRangeClosesEveryDescriptorInTheRange) {
  int a = DupThreeInARow(fd_);
  ASSERT_GE(a, 0);
  // A range may include descriptors that are not open.
  EXPECT_EQ(CloseRange(a, a + 1, 0), 0);
  EXPECT_FALSE(IsOpen(a));
  EXPECT_FALSE(IsOpen(a + 1));
  EXPECT_TRUE(IsOpen(a + 2));
  EXPECT_EQ(CloseRange(a + 2, a + 2, 0), 0);
  EXPECT_FALSE(IsOpen(a + 2));
  EXPECT_TRUE(IsOpen(fd_));
}

TEST_F(FdTest, CloseRangeToTheTopEndOfTheTable) {
  int a = DupThreeInARow(fd_);
  ASSERT_GE(a, 0);
  // ~0U means every descriptor from `first` on.
  EXPECT_EQ(CloseRange(a, ~0U, 0), 0);
  EXPECT_FALSE(IsOpen(a));
  EXPECT_FALSE(IsOpen(a + 2));
  EXPECT_TRUE(IsOpen(fd_));
}

TEST_F(FdTest, CloseRangeCloexecMarksInsteadOfClosing) {
  int a = DupThreeInARow(fd_);
  ASSERT_GE(a, 0);
  ASSERT_EQ(fcntl(a, F_GETFD), 0);
  EXPECT_EQ(CloseRange(a, a + 1, CLOSE_RANGE_CLOEXEC), 0);
  EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(a + 1, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(a + 2, F_GETFD), 0);
  EXPECT_EQ(CloseRange(a, a + 2, 0), 0);
}

TEST_F(FdTest, CloseRangeRejectsBadArguments) {
  EXPECT_ERRNO(CloseRange(10, 9, 0), EINVAL);         // first > last
  EXPECT_ERRNO(CloseRange(1000, 1001, 0x8), EINVAL);  // unknown flag
}

TEST_F(FdTest, TheLowestFreeDescriptorIsReused) {
  int a = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  int b = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  int c = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_EQ(b, a + 1);
  ASSERT_EQ(c, a + 2);
  close(b);
  EXPECT_EQ(open(path_.c_str(), O_RDONLY | O_CLOEXEC), b);
  EXPECT_EQ(dup(fd_), c + 1);
  close(a);
  close(b);
  close(c);
  close(c + 1);
}

TEST_F(FdTest, TheSoftNofileLimitCapsDescriptorNumbers) {
  struct rlimit old = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
  int lowest_free = dup(fd_);
  ASSERT_GE(lowest_free, 0);
  close(lowest_free);
  // With the limit at the lowest free descriptor number, no new descriptor
  // can be allocated (the ones already open stay usable).
  struct rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
  errno = 0;
  int open_rc = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  int open_errno = errno;
  errno = 0;
  int dup_rc = dup(fd_);
  int dup_errno = errno;
  errno = 0;
  int dupfd_rc = fcntl(fd_, F_DUPFD, 0);
  int dupfd_errno = errno;
  errno = 0;
  int dup2_rc = dup2(fd_, lowest_free);
  int dup2_errno = errno;
  char c;
  ssize_t read_rc = pread(fd_, &c, 1, 0);
  ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
  EXPECT_EQ(open_rc, -1);
  EXPECT_EQ(open_errno, EMFILE);
  EXPECT_EQ(dup_rc, -1);
  EXPECT_EQ(dup_errno, EMFILE);
  EXPECT_EQ(dupfd_rc, -1);
  EXPECT_EQ(dupfd_errno, EMFILE);
  // dup2 to a number at or above the limit is EBADF, not EMFILE.
  EXPECT_EQ(dup2_rc, -1);
  EXPECT_EQ(dup2_errno, EBADF);
  EXPECT_EQ(read_rc, 1);
  // Restored: allocation works again.
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(fd, lowest_free);
  if (fd >= 0) close(fd);
}

TEST_F(FdTest, ANofileLimitOfZeroIsEmfileButFDupfdIsEinval) {
  struct rlimit old = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
  struct rlimit zero = old;
  zero.rlim_cur = 0;
  ASSERT_OK(setrlimit(RLIMIT_NOFILE, &zero));
  errno = 0;
  int open_rc = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  int open_errno = errno;
  int p[2];
  errno = 0;
  int pipe_rc = pipe(p);
  int pipe_errno = errno;
  errno = 0;
  int dup_rc = dup(fd_);
  int dup_errno = errno;
  errno = 0;
  int dupfd_rc = fcntl(fd_, F_DUPFD, 0);
  int dupfd_errno = errno;
  ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
  EXPECT_EQ(open_rc, -1);
  EXPECT_EQ(open_errno, EMFILE);
  EXPECT_EQ(pipe_rc, -1);
  EXPECT_EQ(pipe_errno, EMFILE);
  EXPECT_EQ(dup_rc, -1);
  EXPECT_EQ(dup_errno, EMFILE);
  // F_DUPFD's start is checked against the limit first.
  EXPECT_EQ(dupfd_rc, -1);
  EXPECT_EQ(dupfd_errno, EINVAL);
}

}  // namespace
