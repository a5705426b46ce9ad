// openat2(2): struct open_how checks and the RESOLVE_* restrictions.

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "test/util/test_util.h"

namespace {

using testing_util::TempPath;
using testing_util::WriteFile;

int Openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve,
            uint64_t mode = 0) {
  struct open_how how = {};
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
}

class Openat2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    // root/ { file, sub/ { inner }, up -> .., abs -> /, rel -> sub/inner,
    //         esc -> ../outside }
    ASSERT_EQ(mkdir((dir_ / "root").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ / "root/sub").c_str(), 0755), 0);
    WriteFile(dir_ / "root/file", "f");
    WriteFile(dir_ / "root/sub/inner", "i");
    WriteFile(dir_ / "outside", "o");
    ASSERT_EQ(symlink("..", (dir_ / "root/sub/up").c_str()), 0);
    ASSERT_EQ(symlink("/", (dir_ / "root/abs").c_str()), 0);
    ASSERT_EQ(symlink("sub/inner", (dir_ / "root/rel").c_str()), 0);
    ASSERT_EQ(symlink("../outside", (dir_ / "root/esc").c_str()), 0);
    root_ = open((dir_ / "root").c_str(), O_DIRECTORY | O_PATH);
    ASSERT_GE(root_, 0);
  }
  void TearDown() override { close(root_); }

  TempPath dir_;
  int root_ = -1;
};

TEST_F(Openat2Test, PlainOpenWorks) {
  int fd = Openat2(root_, "sub/inner", O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, 'i');
  close(fd);
}

TEST_F(Openat2Test, HowIsChecked) {
  struct open_how how = {};
  EXPECT_ERRNO(syscall(SYS_openat2, root_, "file", &how, 8), EINVAL);
  char big[64] = {};
  EXPECT_GE(syscall(SYS_openat2, root_, "file", big, sizeof(big)), 0);
  big[40] = 1;
  EXPECT_ERRNO(syscall(SYS_openat2, root_, "file", big, sizeof(big)), E2BIG);
  EXPECT_ERRNO(syscall(SYS_openat2, root_, "file", nullptr, sizeof(how)),
               EFAULT);
  // Unknown flags, a mode without O_CREAT, bad resolve bits.
  EXPECT_ERRNO(Openat2(root_, "file", 1ULL << 40, 0), EINVAL);
  EXPECT_ERRNO(Openat2(root_, "file", O_RDONLY, 0, 0644), EINVAL);
  EXPECT_ERRNO(Openat2(root_, "new", O_CREAT | O_WRONLY, 0, 010000), EINVAL);
  EXPECT_ERRNO(Openat2(root_, "file", O_RDONLY, 0x1000), EINVAL);
  EXPECT_ERRNO(
      Openat2(root_, "file", O_RDONLY, RESOLVE_BENEATH | RESOLVE_IN_ROOT),
      EINVAL);
}

TEST_F(Openat2Test, Beneath) {
  int fd = Openat2(root_, "sub/../file", O_RDONLY, RESOLVE_BENEATH);
  EXPECT_GE(fd, 0);
  close(fd);
  fd = Openat2(root_, "rel", O_RDONLY, RESOLVE_BENEATH);
  EXPECT_GE(fd, 0);
  close(fd);
  EXPECT_ERRNO(Openat2(root_, "..", O_RDONLY, RESOLVE_BENEATH), EXDEV);
  EXPECT_ERRNO(Openat2(root_, "sub/../../outside", O_RDONLY, RESOLVE_BENEATH),
               EXDEV);
  EXPECT_ERRNO(Openat2(root_, "/etc", O_RDONLY, RESOLVE_BENEATH), EXDEV);
  EXPECT_ERRNO(Openat2(root_, "abs", O_RDONLY, RESOLVE_BENEATH), EXDEV);
  EXPECT_ERRNO(Openat2(root_, "esc", O_RDONLY, RESOLVE_BENEATH), EXDEV);
  EXPECT_ERRNO(Openat2(root_, "sub/up/..", O_RDONLY, RESOLVE_BENEATH), EXDEV);
}

TEST_F(Openat2Test, InRootClampsAtTheStart) {
  // "/" and ".." both stay in root/: /file is root/file.
  int fd = Openat2(root_, "/file", O_RDONLY, RESOLVE_IN_ROOT);
  ASSERT_GE(fd, 0);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, 'f');
  close(fd);
  fd = Openat2(root_, "../../file", O_RDONLY, RESOLVE_IN_ROOT);
  EXPECT_GE(fd, 0);
  close(fd);
  // abs -> "/" is root/ itself.
  fd = Openat2(root_, "abs/sub/inner", O_RDONLY, RESOLVE_IN_ROOT);
  EXPECT_GE(fd, 0);
  close(fd);
  // esc -> ../outside: outside root/ does not exist within it.
  EXPECT_ERRNO(Openat2(root_, "esc", O_RDONLY, RESOLVE_IN_ROOT), ENOENT);
}

TEST_F(Openat2Test, NoSymlinks) {
  EXPECT_ERRNO(Openat2(root_, "rel", O_RDONLY, RESOLVE_NO_SYMLINKS), ELOOP);
  EXPECT_ERRNO(Openat2(root_, "sub/up/file", O_RDONLY, RESOLVE_NO_SYMLINKS),
               ELOOP);
  // The final link itself may be opened with O_PATH | O_NOFOLLOW.
  int fd = Openat2(root_, "rel", O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
  EXPECT_GE(fd, 0);
  close(fd);
  EXPECT_ERRNO(
      Openat2(root_, "rel", O_CREAT | O_WRONLY, RESOLVE_NO_SYMLINKS, 0644),
      ELOOP);
}

TEST_F(Openat2Test, NoMagiclinks) {
  int fd = Openat2(root_, "rel", O_RDONLY, RESOLVE_NO_MAGICLINKS);
  EXPECT_GE(fd, 0);  // an ordinary symlink is fine
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_ERRNO(Openat2(AT_FDCWD, self.c_str(), O_RDONLY, RESOLVE_NO_MAGICLINKS),
               ELOOP);
  int again = Openat2(AT_FDCWD, self.c_str(), O_RDONLY, 0);
  EXPECT_GE(again, 0);
  close(again);
  close(fd);
}

TEST_F(Openat2Test, NoXdev) {
  // /proc is a mount of its own.
  EXPECT_ERRNO(
      Openat2(AT_FDCWD, "/proc/self/status", O_RDONLY, RESOLVE_NO_XDEV), EXDEV);
  int proc = open("/proc", O_DIRECTORY | O_PATH);
  ASSERT_GE(proc, 0);
  int fd = Openat2(proc, "self/status", O_RDONLY, RESOLVE_NO_XDEV);
  EXPECT_GE(fd, 0);
  close(fd);
  EXPECT_ERRNO(Openat2(proc, "..", O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV),
               EXDEV);
  close(proc);
}

TEST_F(Openat2Test, CachedMayFailWithEagain) {
  int fd = Openat2(root_, "file", O_RDONLY, RESOLVE_CACHED);
  if (fd < 0) {
    EXPECT_EQ(errno, EAGAIN);
  } else {
    close(fd);
  }
  EXPECT_ERRNO(Openat2(root_, "new", O_CREAT | O_WRONLY, RESOLVE_CACHED, 0644),
               EAGAIN);
}

}  // namespace
