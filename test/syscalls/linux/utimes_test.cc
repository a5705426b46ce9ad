// utimensat(2), futimens(3), utimes(2), futimesat(2), utime(2): setting
// access and modification times, UTIME_NOW and UTIME_OMIT, and who may.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::TempPath;
using testing_util::WriteFile;

using UtimesTest = testing_util::FileTest;

TEST_F(UtimesTest, SetsExplicitTimes) {
  struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), ts, 0), 0);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
  // ctime records the change itself: now.
  EXPECT_GT(st.st_ctim.tv_sec, 1200000000);
}

TEST_F(UtimesTest, OmitKeepsAndNowSets) {
  struct timespec old[2] = {{100, 0}, {200, 0}};
  ASSERT_EQ(futimens(fd_, old), 0);
  struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  time_t before = time(nullptr);
  ASSERT_EQ(futimens(fd_, ts), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 100);
  EXPECT_GE(st.st_mtim.tv_sec, before);
}

TEST_F(UtimesTest, NullTimesMeansNow) {
  struct timespec old[2] = {{100, 0}, {200, 0}};
  ASSERT_EQ(futimens(fd_, old), 0);
  time_t before = time(nullptr);
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), nullptr, 0), 0);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_GE(st.st_atim.tv_sec, before);
  EXPECT_GE(st.st_mtim.tv_sec, before);
}

TEST_F(UtimesTest, WritesAndTruncateUpdateMtime) {
  struct timespec old[2] = {{100, 0}, {200, 0}};
  ASSERT_EQ(futimens(fd_, old), 0);
  ASSERT_EQ(pwrite(fd_, "x", 1, 0), 1);
  struct stat st;
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_GT(st.st_mtim.tv_sec, 200);
  ASSERT_EQ(futimens(fd_, old), 0);
  ASSERT_EQ(ftruncate(fd_, 3), 0);
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_GT(st.st_mtim.tv_sec, 200);
}

TEST_F(UtimesTest, SymlinkNoFollowChangesTheLink) {
  std::string link = dir_ / "link";
  ASSERT_EQ(symlink(path_.c_str(), link.c_str()), 0);
  struct timespec ts[2] = {{300, 0}, {400, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, link.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  struct stat lst, st;
  ASSERT_EQ(lstat(link.c_str(), &lst), 0);
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(lst.st_mtim.tv_sec, 400);
  EXPECT_NE(st.st_mtim.tv_sec, 400);
}

TEST_F(UtimesTest, Errors) {
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  EXPECT_ERRNO(utimensat(AT_FDCWD, path_.c_str(), bad, 0), EINVAL);
  struct timespec neg[2] = {{0, -5}, {0, 0}};
  EXPECT_ERRNO(utimensat(AT_FDCWD, path_.c_str(), neg, 0), EINVAL);
  EXPECT_ERRNO(utimensat(AT_FDCWD, path_.c_str(), nullptr, 0x4000), EINVAL);
  EXPECT_ERRNO(utimensat(AT_FDCWD, (dir_ / "missing").c_str(), nullptr, 0),
               ENOENT);
  EXPECT_ERRNO(
      syscall(SYS_utimensat, fd_, nullptr, nullptr, AT_SYMLINK_NOFOLLOW),
      EINVAL);
  EXPECT_ERRNO(syscall(SYS_utimensat, AT_FDCWD, nullptr, nullptr, 0), EFAULT);
  EXPECT_ERRNO(syscall(SYS_utimensat, 9999, nullptr, nullptr, 0), EBADF);
  // Both omitted: nothing to do, not even a path lookup.
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  EXPECT_EQ(utimensat(AT_FDCWD, (dir_ / "missing").c_str(), omit, 0), 0);
  struct timeval tv[2] = {{1, 1000000}, {1, 0}};
  EXPECT_ERRNO(utimes(path_.c_str(), tv), EINVAL);
}

TEST_F(UtimesTest, EmptyPathNamesTheFd) {
  struct timespec ts[2] = {{500, 0}, {600, 0}};
  ASSERT_EQ(utimensat(fd_, "", ts, AT_EMPTY_PATH), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 600);
  EXPECT_ERRNO(utimensat(fd_, "", ts, 0), ENOENT);
}

TEST_F(UtimesTest, OldInterfaces) {
  struct timeval tv[2] = {{700, 5}, {800, 6}};
  ASSERT_EQ(utimes(path_.c_str(), tv), 0);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 700);
  EXPECT_EQ(st.st_atim.tv_nsec, 5000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 6000);
  struct utimbuf ub = {900, 1000};
  ASSERT_EQ(utime(path_.c_str(), &ub), 0);
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 900);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 0);
  int dirfd = open(dir_.path().c_str(), O_DIRECTORY | O_RDONLY);
  ASSERT_GE(dirfd, 0);
  struct timeval tv2[2] = {{1100, 0}, {1200, 0}};
  ASSERT_EQ(futimesat(dirfd, testing_util::Basename(path_).c_str(), tv2), 0);
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200);
  close(dirfd);
}

TEST_F(UtimesTest, WhoMaySetTimes) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  // World-writable but owned by root: another user may set "now", not
  // explicit times.
  ASSERT_EQ(chmod(path_.c_str(), 0666), 0);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  std::string ro = dir_ / "ro";
  WriteFile(ro, "");
  ASSERT_EQ(chmod(ro.c_str(), 0644), 0);
  testing_util::InForkedChild([&] {
    testing_util::BecomeUser(65534, 65534);
    EXPECT_EQ(utimensat(AT_FDCWD, path_.c_str(), nullptr, 0), 0);
    struct timespec now2[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    EXPECT_EQ(utimensat(AT_FDCWD, path_.c_str(), now2, 0), 0);
    struct timespec explicit_ts[2] = {{1, 0}, {2, 0}};
    EXPECT_ERRNO(utimensat(AT_FDCWD, path_.c_str(), explicit_ts, 0), EPERM);
    struct timespec half[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    EXPECT_ERRNO(utimensat(AT_FDCWD, path_.c_str(), half, 0), EPERM);
    EXPECT_ERRNO(utimensat(AT_FDCWD, ro.c_str(), nullptr, 0), EACCES);
  });
}

}  // namespace
