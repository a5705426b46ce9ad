// open(2) with O_TMPFILE: an unnamed file in a directory, which linkat(2)
// may name unless it was opened with O_EXCL.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "test/util/test_util.h"

namespace {

using testing_util::ListDir;
using testing_util::ReadFile;
using testing_util::Readlink;
using testing_util::TempPath;

int OpenTmpfile(const std::string& dir, int flags) {
  return open(dir.c_str(), O_TMPFILE | flags, 0640);
}

TEST(TmpfileTest, IsUnnamedUntilLinked) {
  TempPath d;
  int fd = OpenTmpfile(d.path(), O_RDWR);
  if (fd < 0 && errno == EOPNOTSUPP) {
    GTEST_SKIP() << "the temporary directory's filesystem has no O_TMPFILE";
  }
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(ListDir(d.path()).empty());
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_mode & 0777, 0640u & ~static_cast<unsigned>(umask(022)));
  umask(022);
  std::string link = Readlink("/proc/self/fd/" + std::to_string(fd));
  EXPECT_EQ(link.rfind(d.path() + "/#", 0), 0u) << link;
  EXPECT_NE(link.find(" (deleted)"), std::string::npos) << link;
  ASSERT_EQ(write(fd, "tmp", 3), 3);
  // Named through /proc/self/fd, as unprivileged programs do it.
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_EQ(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (d / "named").c_str(),
                   AT_SYMLINK_FOLLOW),
            0);
  EXPECT_EQ(ReadFile(d / "named"), "tmp");
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  close(fd);
}

TEST(TmpfileTest, ExclForbidsLinking) {
  TempPath d;
  int fd = OpenTmpfile(d.path(), O_RDWR | O_EXCL);
  if (fd < 0 && errno == EOPNOTSUPP) {
    GTEST_SKIP() << "the temporary directory's filesystem has no O_TMPFILE";
  }
  ASSERT_GE(fd, 0);
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_ERRNO(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (d / "named").c_str(),
                      AT_SYMLINK_FOLLOW),
               ENOENT);
  close(fd);
}

TEST(TmpfileTest, Errors) {
  TempPath d;
  // Read-only is not allowed, nor a file as the directory.
  EXPECT_ERRNO(OpenTmpfile(d.path(), O_RDONLY), EINVAL);
  std::string file = d / "file";
  int f = open(file.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(f, 0);
  close(f);
  EXPECT_ERRNO(OpenTmpfile(file, O_RDWR), ENOTDIR);
  EXPECT_ERRNO(OpenTmpfile(d / "missing", O_RDWR), ENOENT);
}

}  // namespace
