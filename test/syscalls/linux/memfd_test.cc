// memfd_create(2), seals (F_ADD_SEALS, F_GET_SEALS) and fallocate(2).

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "test/util/test_util.h"

namespace {

using testing_util::Readlink;

TEST(MemfdTest, IsAnAnonymousRegularFile) {
  int fd = memfd_create("hello", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(fd)),
            "/memfd:hello (deleted)");
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  ASSERT_EQ(write(fd, "abcdef", 6), 6);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 6);
  // Reads, writes and a shared mapping see the same bytes.
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_EQ(memcmp(m, "abcdef", 6), 0);
  static_cast<char*>(m)[0] = 'X';
  char buf[6];
  ASSERT_EQ(pread(fd, buf, 6, 0), 6);
  EXPECT_EQ(memcmp(buf, "Xbcdef", 6), 0);
  munmap(m, 4096);
  close(fd);
}

TEST(MemfdTest, BadArguments) {
  EXPECT_ERRNO(memfd_create("x", 0x1000), EINVAL);
  std::string longname(250, 'n');
  EXPECT_ERRNO(memfd_create(longname.c_str(), 0), EINVAL);
  std::string okname(249, 'n');
  int fd = memfd_create(okname.c_str(), 0);
  EXPECT_GE(fd, 0);
  close(fd);
  EXPECT_ERRNO(memfd_create(nullptr, 0), EFAULT);
}

TEST(MemfdTest, SealsNeedAllowSealing) {
  int fd = memfd_create("noseal", 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
  EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  close(fd);
}

TEST(MemfdTest, SealsAreEnforced) {
  int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
  ASSERT_EQ(write(fd, "1234", 4), 4);
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_ERRNO(ftruncate(fd, 2), EPERM);
  EXPECT_ERRNO(ftruncate(fd, 100), EPERM);
  EXPECT_EQ(pwrite(fd, "ab", 2, 0), 2);  // within the size: fine
  EXPECT_ERRNO(pwrite(fd, "ab", 2, 4), EPERM);
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL), 0);
  EXPECT_ERRNO(pwrite(fd, "ab", 2, 0), EPERM);
  EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
            MAP_FAILED);
  close(fd);
}

TEST(MemfdTest, SealsOnOtherFilesAreEinval) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_ERRNO(fcntl(p[0], F_GET_SEALS), EINVAL);
  close(p[0]);
  close(p[1]);
}

TEST(FallocateTest, GrowsAndPunches) {
  int fd = memfd_create("falloc", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fallocate(fd, 0, 0, 8192), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 8192);
  EXPECT_GE(st.st_blocks, 16);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 4096), 0);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 8192);
  ASSERT_EQ(pwrite(fd, "zzzz", 4, 4096), 4);
  ASSERT_EQ(
      fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096), 0);
  char buf[4] = {1, 1, 1, 1};
  ASSERT_EQ(pread(fd, buf, 4, 4096), 4);
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
  EXPECT_ERRNO(fallocate(fd, 0, -1, 10), EINVAL);
  EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
  close(fd);
}

TEST(FallocateTest, NeedsAWritableRegularFile) {
  int fd = memfd_create("ro", 0);
  ASSERT_GE(fd, 0);
  int ro = open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_ERRNO(fallocate(ro, 0, 0, 10), EBADF);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_ERRNO(fallocate(p[1], 0, 0, 10), ESPIPE);
  close(p[0]);
  close(p[1]);
  close(ro);
  close(fd);
}

}  // namespace
