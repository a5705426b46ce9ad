// The /proc/self files a process reads about itself (exe, cwd, fd/, status,
// stat, cmdline, comm, maps, mounts) and the character devices /dev/null,
// /dev/zero, /dev/full, /dev/urandom and /dev/fd/N, through open(2),
// read(2), write(2), readlink(2), getdents64(2) and mmap(2).

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include "test/util/test_util.h"

namespace {

using testing_util::ReadFile;
using testing_util::Readlink;
using testing_util::TempPath;
using testing_util::WriteFile;

std::string RealPath(const std::string& path) {
  char* p = realpath(path.c_str(), nullptr);
  if (p == nullptr) return "";
  std::string out = p;
  free(p);
  return out;
}

TEST(ProcSelfTest, ExeIsTheTestBinary) {
  std::string want = RealPath(program_invocation_name);
  ASSERT_NE(want, "");
  EXPECT_EQ(Readlink("/proc/self/exe"), want);
  // The link can be opened: it is the same file.
  struct stat a = {}, b = {};
  ASSERT_OK(stat("/proc/self/exe", &a));
  ASSERT_OK(stat(want.c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
}

TEST(ProcSelfTest, SelfIsALinkToThePid) {
  EXPECT_EQ(Readlink("/proc/self"), std::to_string(getpid()));
  struct stat a = {}, b = {};
  ASSERT_OK(stat("/proc/self", &a));
  ASSERT_OK(stat(("/proc/" + std::to_string(getpid())).c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_TRUE(S_ISDIR(a.st_mode));
}

TEST(ProcSelfTest, CwdMatchesGetcwd) {
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(Readlink("/proc/self/cwd"), cwd);
  // It follows chdir.
  TempPath dir;
  std::string real = RealPath(dir.path());
  ASSERT_OK(chdir(dir.path().c_str()));
  std::string after = Readlink("/proc/self/cwd");
  ASSERT_OK(chdir(cwd));
  EXPECT_EQ(after, real);
}

// The names in a directory, "." and ".." included.
std::set<std::string> ListDirWithDots(const std::string& path) {
  std::set<std::string> out;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) out.insert(e->d_name);
  closedir(d);
  return out;
}

TEST(ProcSelfTest, FdDirectoryListsOpenDescriptors) {
  TempPath dir;
  std::string path = dir / "file";
  WriteFile(path, "abc");
  int first = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(first, 0);
  // A high number, so that opendir's own descriptor cannot take it once it
  // is closed.
  int fd = fcntl(first, F_DUPFD_CLOEXEC, 300);
  close(first);
  ASSERT_GE(fd, 300);
  std::set<std::string> fds = ListDirWithDots("/proc/self/fd");
  EXPECT_EQ(fds.count(std::to_string(fd)), 1u);
  EXPECT_EQ(fds.count("."), 1u);
  EXPECT_EQ(fds.count(".."), 1u);
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(fd)), RealPath(path));
  struct stat st = {};
  ASSERT_OK(lstat(("/proc/self/fd/" + std::to_string(fd)).c_str(), &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  close(fd);
  fds = ListDirWithDots("/proc/self/fd");
  EXPECT_EQ(fds.count(std::to_string(fd)), 0u);
  char buf[8];
  EXPECT_ERRNO(readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf,
                        sizeof(buf)),
               ENOENT);
}

TEST(ProcSelfTest, FdLinkOfADirectory) {
  TempPath dir;
  int fd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(fd)),
            RealPath(dir.path()));
  close(fd);
}

TEST(ProcSelfTest, FdLinkOfADeletedFileSaysSo) {
  TempPath dir;
  std::string path = dir / "doomed";
  WriteFile(path, "x");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string real = RealPath(path);
  ASSERT_OK(unlink(path.c_str()));
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(fd)),
            real + " (deleted)");
  close(fd);
}

TEST(ProcSelfTest, StatusNamesThePid) {
  std::string status = ReadFile("/proc/self/status");
  EXPECT_NE(status.find("Pid:\t" + std::to_string(getpid()) + "\n"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("PPid:\t" + std::to_string(getppid()) + "\n"),
            std::string::npos)
      << status;
  EXPECT_EQ(status.rfind("Name:\t", 0), 0u) << status;  // the first line
  EXPECT_NE(status.find("\nUid:\t" + std::to_string(getuid()) + "\t"),
            std::string::npos)
      << status;
}

TEST(ProcSelfTest, StatStartsWithPidAndComm) {
  std::string stat = ReadFile("/proc/self/stat");
  std::string comm = ReadFile("/proc/self/comm");
  ASSERT_FALSE(comm.empty());
  ASSERT_EQ(comm.back(), '\n');
  comm.pop_back();
  std::string want = std::to_string(getpid()) + " (" + comm + ") R ";
  EXPECT_EQ(stat.rfind(want, 0), 0u) << stat;
  // The fourth field is the parent's pid.
  size_t close_paren = stat.rfind(')');
  ASSERT_NE(close_paren, std::string::npos);
  EXPECT_EQ(stat.substr(close_paren)
                .rfind(") R " + std::to_string(getppid()) + " ", 0),
            0u)
      << stat;
}

TEST(ProcSelfTest, CmdlineStartsWithArgv0) {
  std::string cmdline = ReadFile("/proc/self/cmdline");
  ASSERT_FALSE(cmdline.empty());
  // NUL-separated arguments, the last one NUL-terminated too.
  EXPECT_EQ(cmdline.back(), '\0');
  std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
  EXPECT_EQ(argv0, program_invocation_name);
}

TEST(ProcSelfTest, MapsIsNonEmptyAndNamesTheBinary) {
  std::string maps = ReadFile("/proc/self/maps");
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(maps.back(), '\n');
  EXPECT_NE(maps.find(RealPath(program_invocation_name)), std::string::npos)
      << maps;
}

TEST(ProcSelfTest, MountsShowsRootAndProc) {
  std::string mounts = ReadFile("/proc/self/mounts");
  EXPECT_NE(mounts.find(" / "), std::string::npos) << mounts;
  EXPECT_NE(mounts.find("proc /proc proc "), std::string::npos) << mounts;
}

TEST(ProcSelfTest, MissingEntriesAreENOENT) {
  EXPECT_ERRNO(open("/proc/self/nonexistent", O_RDONLY | O_CLOEXEC), ENOENT);
  EXPECT_ERRNO(open("/proc/self/fd/999999", O_RDONLY | O_CLOEXEC), ENOENT);
}

TEST(DevTest, NullReadsEofAndSwallowsWrites) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char buf[16];
  EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);
  EXPECT_EQ(write(fd, "abcdef", 6), 6);
  EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);
  close(fd);
}

TEST(DevTest, ZeroReadsZeros) {
  int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char buf[8192];
  memset(buf, 0x7f, sizeof(buf));
  EXPECT_EQ(read(fd, buf, sizeof(buf)), static_cast<ssize_t>(sizeof(buf)));
  bool all_zero = true;
  for (char c : buf) all_zero = all_zero && c == 0;
  EXPECT_TRUE(all_zero);
  EXPECT_EQ(write(fd, "x", 1), 1);  // writes are discarded
  close(fd);
}

TEST(DevTest, PrivateMappingOfZeroIsZeroedWritableMemory) {
  int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const size_t len = 4 * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  char* p = static_cast<char*>(
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  close(fd);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  bool all_zero = true;
  for (size_t i = 0; i < len; i++) all_zero = all_zero && p[i] == 0;
  EXPECT_TRUE(all_zero);
  memset(p, 'w', len);
  EXPECT_EQ(p[len - 1], 'w');
  // Writing to the mapping does not change what /dev/zero reads.
  fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char c = 'x';
  EXPECT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, 0);
  close(fd);
  munmap(p, len);
}

TEST(DevTest, FullRefusesWrites) {
  int fd = open("/dev/full", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(write(fd, "x", 1), ENOSPC);
  // Reads behave like /dev/zero.
  char buf[4] = {1, 1, 1, 1};
  EXPECT_EQ(read(fd, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
  close(fd);
}

TEST(DevTest, UrandomReadsDiffer) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char a[32] = {}, b[32] = {};
  EXPECT_EQ(read(fd, a, sizeof(a)), static_cast<ssize_t>(sizeof(a)));
  EXPECT_EQ(read(fd, b, sizeof(b)), static_cast<ssize_t>(sizeof(b)));
  // 256 random bits each: a collision means no randomness.
  EXPECT_NE(memcmp(a, b, sizeof(a)), 0);
  close(fd);
}

TEST(DevTest, DevFdOpensTheSameFileAnew) {
  TempPath dir;
  std::string path = dir / "file";
  WriteFile(path, "0123456789");
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 5, SEEK_SET), 5);
  int again =
      open(("/dev/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(again, 0) << strerror(errno);
  EXPECT_NE(again, fd);
  struct stat a = {}, b = {};
  ASSERT_OK(fstat(fd, &a));
  ASSERT_OK(fstat(again, &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  // On Linux this re-opens the file: a new open file description with its
  // own offset and access mode, not a dup.
  char c = 0;
  EXPECT_EQ(read(again, &c, 1), 1);
  EXPECT_EQ(c, '0');
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
  EXPECT_ERRNO(write(again, "x", 1), EBADF);
  close(again);
  close(fd);
  EXPECT_ERRNO(
      open(("/dev/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC),
      ENOENT);
}

TEST(ProcTest, ReaddirAndStatAgreeOnInodeNumbers) {
  DIR* d = opendir("/proc");
  ASSERT_NE(d, nullptr);
  uint64_t listed = 0;
  while (struct dirent* e = readdir(d)) {
    if (std::string(e->d_name) == "self") listed = e->d_ino;
  }
  closedir(d);
  struct stat st = {};
  ASSERT_OK(lstat("/proc/self", &st));
  EXPECT_NE(listed, 0u);
  EXPECT_EQ(listed, st.st_ino);
}

}  // namespace
