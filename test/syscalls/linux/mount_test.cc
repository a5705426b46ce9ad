// mount(2) and umount2(2) by a privileged process: a tmpfs, a bind mount,
// a remount read-only, busy and lazy unmounts, and the errors.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::ReadFile;
using testing_util::TempPath;
using testing_util::WriteFile;

constexpr long kTmpfsMagic = 0x01021994;

bool Mounted(const std::string& path) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + path + " ") != std::string::npos) return true;
  }
  return false;
}

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mount(2) needs CAP_SYS_ADMIN";
    mnt_ = dir_ / "mnt";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
  }
  void TearDown() override {
    if (!mnt_.empty()) umount2(mnt_.c_str(), MNT_DETACH);
  }

  TempPath dir_;
  std::string mnt_;
};

TEST_F(MountTest, TmpfsMountAndUnmount) {
  WriteFile(mnt_ + "/under", "hidden");
  ASSERT_EQ(mount("mytmp", mnt_.c_str(), "tmpfs", 0, "mode=0700"), 0);
  EXPECT_TRUE(Mounted(mnt_));
  struct statfs sf;
  ASSERT_EQ(statfs(mnt_.c_str(), &sf), 0);
  EXPECT_EQ(sf.f_type, kTmpfsMagic);
  struct stat st;
  ASSERT_EQ(stat(mnt_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_ERRNO(stat((mnt_ + "/under").c_str(), &st), ENOENT);
  WriteFile(mnt_ + "/inside", "x");
  EXPECT_EQ(ReadFile(mnt_ + "/inside"), "x");
  ASSERT_EQ(umount2(mnt_.c_str(), 0), 0);
  EXPECT_FALSE(Mounted(mnt_));
  EXPECT_EQ(ReadFile(mnt_ + "/under"), "hidden");
  EXPECT_ERRNO(stat((mnt_ + "/inside").c_str(), &st), ENOENT);
}

TEST_F(MountTest, TmpfsSizeLimitGivesEnospc) {
  ASSERT_EQ(mount("none", mnt_.c_str(), "tmpfs", 0, "size=1m"), 0);
  struct statfs sf;
  ASSERT_EQ(statfs(mnt_.c_str(), &sf), 0);
  EXPECT_EQ(static_cast<uint64_t>(sf.f_blocks) * sf.f_bsize, 1u << 20);
  std::string path = mnt_ + "/big";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  std::string chunk(64 << 10, 'x');
  size_t total = 0;
  ssize_t n;
  while ((n = write(fd, chunk.data(), chunk.size())) > 0) {
    total += static_cast<size_t>(n);
    ASSERT_LE(total, 2u << 20) << "the size bound is not enforced";
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_GE(total, 900u << 10);
  EXPECT_LE(total, 1u << 20);
  ASSERT_EQ(statfs(mnt_.c_str(), &sf), 0);
  EXPECT_LT(sf.f_bfree, 16u);
  // fallocate past the bound fails too; overwriting in place does not.
  EXPECT_ERRNO(fallocate(fd, 0, 0, 4 << 20), ENOSPC);
  EXPECT_EQ(pwrite(fd, "y", 1, 0), 1);
  // A sparse file costs nothing until written.
  int sparse = open((mnt_ + "/sparse").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(sparse, 0);
  EXPECT_EQ(ftruncate(sparse, 100 << 20), 0);
  close(sparse);
  close(fd);
  // Removing the file gives the space back.
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(statfs(mnt_.c_str(), &sf), 0);
  EXPECT_GT(static_cast<uint64_t>(sf.f_bfree) * sf.f_bsize, 900u << 10);
  fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, chunk.data(), chunk.size()),
            static_cast<ssize_t>(chunk.size()));
  close(fd);
  ASSERT_EQ(umount2(mnt_.c_str(), 0), 0);
}

TEST_F(MountTest, BusyAndLazyUnmount) {
  ASSERT_EQ(mount("none", mnt_.c_str(), "tmpfs", 0, nullptr), 0);
  WriteFile(mnt_ + "/f", "data");
  int fd = open((mnt_ + "/f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(umount2(mnt_.c_str(), 0), EBUSY);
  ASSERT_EQ(umount2(mnt_.c_str(), MNT_DETACH), 0);
  EXPECT_FALSE(Mounted(mnt_));
  // The open file still works after the lazy unmount.
  char buf[4] = {};
  EXPECT_EQ(read(fd, buf, 4), 4);
  EXPECT_EQ(std::string(buf, 4), "data");
  close(fd);
}

TEST_F(MountTest, BindMountAndRemountReadOnly) {
  std::string src = dir_ / "src";
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  WriteFile(src + "/f", "bound");
  ASSERT_EQ(mount(src.c_str(), mnt_.c_str(), nullptr, MS_BIND, nullptr), 0);
  EXPECT_EQ(ReadFile(mnt_ + "/f"), "bound");
  WriteFile(mnt_ + "/g", "through");
  EXPECT_EQ(ReadFile(src + "/g"), "through");
  ASSERT_EQ(mount(nullptr, mnt_.c_str(), nullptr,
                  MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
            0);
  EXPECT_ERRNO(open((mnt_ + "/h").c_str(), O_CREAT | O_WRONLY, 0644), EROFS);
  // The source stays writable.
  WriteFile(src + "/h", "ok");
  ASSERT_EQ(umount2(mnt_.c_str(), 0), 0);
}

// A file bound over a file (what runc does for maskedPaths with
// /dev/null): opens and stats reach the source; the covered file cannot be
// unlinked while mounted; types must match.
TEST_F(MountTest, BindMountOfAFile) {
  std::string src = dir_ / "src", dst = dir_ / "dst";
  WriteFile(src, "bound");
  WriteFile(dst, "covered");
  ASSERT_EQ(mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr), 0);
  EXPECT_EQ(ReadFile(dst), "bound");
  WriteFile(dst, "through");
  EXPECT_EQ(ReadFile(src), "through");
  EXPECT_ERRNO(unlink(dst.c_str()), EBUSY);
  EXPECT_ERRNO(mount(src.c_str(), mnt_.c_str(), nullptr, MS_BIND, nullptr),
               ENOTDIR);
  EXPECT_ERRNO(mount(mnt_.c_str(), src.c_str(), nullptr, MS_BIND, nullptr),
               ENOTDIR);
  ASSERT_EQ(umount2(dst.c_str(), 0), 0);
  EXPECT_EQ(ReadFile(dst), "covered");
  ASSERT_EQ(mount("/dev/null", dst.c_str(), nullptr, MS_BIND, nullptr), 0);
  EXPECT_EQ(ReadFile(dst), "");
  ASSERT_EQ(umount2(dst.c_str(), 0), 0);
}

TEST_F(MountTest, PropagationChangesAreAccepted) {
  ASSERT_EQ(mount("none", mnt_.c_str(), "tmpfs", 0, nullptr), 0);
  EXPECT_EQ(mount(nullptr, mnt_.c_str(), nullptr, MS_PRIVATE, nullptr), 0);
  EXPECT_ERRNO(
      mount(nullptr, mnt_.c_str(), nullptr, MS_PRIVATE | MS_SHARED, nullptr),
      EINVAL);
  ASSERT_EQ(umount2(mnt_.c_str(), 0), 0);
}

TEST_F(MountTest, Errors) {
  EXPECT_ERRNO(mount("none", mnt_.c_str(), "no-such-fs", 0, nullptr), ENODEV);
  EXPECT_ERRNO(mount("none", (dir_ / "missing").c_str(), "tmpfs", 0, nullptr),
               ENOENT);
  EXPECT_ERRNO(mount("none", mnt_.c_str(), "tmpfs", 0, "bogus=1"), EINVAL);
  EXPECT_ERRNO(umount2(mnt_.c_str(), 0), EINVAL);  // not a mount point
  EXPECT_ERRNO(umount2(mnt_.c_str(), 0x100), EINVAL);
  EXPECT_ERRNO(umount2((dir_ / "missing").c_str(), 0), ENOENT);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  testing_util::InForkedChild([&] {
    testing_util::BecomeUser(65534, 65534);
    EXPECT_ERRNO(mount("none", mnt_.c_str(), "tmpfs", 0, nullptr), EPERM);
    EXPECT_ERRNO(umount2("/proc", 0), EPERM);
  });
}

}  // namespace
