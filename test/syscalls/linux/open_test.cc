// open(2), openat(2), creat(2): creation and access flags, the creation
// mode under umask(2), and the errors of path lookup, natively and sandboxed.

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "test/util/test_util.h"

namespace {

using testing_util::ReadFile;
using testing_util::TempPath;
using testing_util::WriteFile;

// Sets the umask for the lifetime of the object.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }

 private:
  mode_t old_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st = {};
  if (lstat(path.c_str(), &st) != 0) return static_cast<mode_t>(-1);
  return st.st_mode;
}

// A directory with a 10-byte file, opened read-write.
using OpenTest = testing_util::FileTest;

TEST_F(OpenTest, CreatMakesARegularFileWithTheModeLessTheUmask) {
  ScopedUmask mask(022);
  std::string p = dir_ / "new";
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0777);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(ModeOf(p), static_cast<mode_t>(S_IFREG | 0755));

  umask(077);
  std::string q = dir_ / "private";
  fd = open(q.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(ModeOf(q), static_cast<mode_t>(S_IFREG | 0600));
}

TEST_F(OpenTest, UmaskReturnsThePreviousMask) {
  mode_t saved = umask(0123);
  EXPECT_EQ(umask(0777 | 07000), 0123u);  // only the permission bits are kept
  EXPECT_EQ(umask(saved), 0777u);
}

TEST_F(OpenTest, CreatOfAnExistingFileKeepsItsModeAndContent) {
  ScopedUmask mask(0);
  int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(ModeOf(path_), static_cast<mode_t>(S_IFREG | 0644));
  EXPECT_EQ(ReadFile(path_), "0123456789");
}

TEST_F(OpenTest, ExclusiveCreateFailsIfTheNameExists) {
  EXPECT_ERRNO(
      open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
      EEXIST);
  EXPECT_ERRNO(
      open(dir_.path().c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
      EEXIST);
  // O_EXCL does not follow a final symlink, even a dangling one.
  std::string link = dir_ / "dangling";
  ASSERT_OK(symlink("nowhere", link.c_str()));
  EXPECT_ERRNO(
      open(link.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
      EEXIST);
  EXPECT_ERRNO(access((dir_ / "nowhere").c_str(), F_OK), ENOENT);

  std::string p = dir_ / "fresh";
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_ERRNO(open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
               EEXIST);
}

TEST_F(OpenTest, CreatThroughADanglingSymlinkCreatesTheTarget) {
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("target", link.c_str()));
  int fd = open(link.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "hi", 2), 2);
  close(fd);
  EXPECT_EQ(ReadFile(dir_ / "target"), "hi");
  EXPECT_TRUE(S_ISLNK(ModeOf(link)));
}

TEST_F(OpenTest, DirectoryFlagHoldsForOPathAndTruncIsAWrite) {
  EXPECT_ERRNO(open(path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), ENOTDIR);
  int fd = open(dir_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  close(fd);
  // O_TRUNC asks to change the file: a directory refuses with EISDIR.
  EXPECT_ERRNO(open(dir_.path().c_str(), O_RDONLY | O_TRUNC | O_CLOEXEC),
               EISDIR);
}

TEST_F(OpenTest, TruncateEmptiesTheFile) {
  int fd = open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st = {};
  ASSERT_OK(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(write(fd, "ab", 2), 2);
  close(fd);
  EXPECT_EQ(ReadFile(path_), "ab");
}

TEST_F(OpenTest, CreatSyscallTruncatesAndOpensWriteOnly) {
  int fd = creat(path_.c_str(), 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
  char c;
  EXPECT_ERRNO(read(fd, &c, 1), EBADF);
  close(fd);
  EXPECT_EQ(ReadFile(path_), "");

  ScopedUmask mask(027);
  std::string p = dir_ / "made_by_creat";
  fd = creat(p.c_str(), 0777);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(ModeOf(p), static_cast<mode_t>(S_IFREG | 0750));
}

TEST_F(OpenTest, AppendWritesAtTheEndWhateverTheOffset) {
  int fd = open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
  // Opening with O_APPEND does not move the initial offset to the end...
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, '0');
  // ...but every write goes there.
  EXPECT_EQ(write(fd, "AB", 2), 2);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 12);
  close(fd);
  EXPECT_EQ(ReadFile(path_), "0123456789AB");
}

TEST_F(OpenTest, DirectoryFlagAcceptsOnlyDirectories) {
  int fd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st = {};
  ASSERT_OK(fstat(fd, &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  close(fd);
  EXPECT_ERRNO(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
               ENOTDIR);
  // A symlink to a directory is followed before the check.
  std::string link = dir_ / "dirlink";
  ASSERT_OK(symlink(dir_.path().c_str(), link.c_str()));
  fd = open(link.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
}

TEST_F(OpenTest, NoFollowRefusesAFinalSymlink) {
  std::string link = dir_ / "link";
  ASSERT_OK(symlink(path_.c_str(), link.c_str()));
  EXPECT_ERRNO(open(link.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ELOOP);
  // Only the last component is affected: symlinks earlier in the path are
  // still followed.
  std::string sub = dir_ / "sub";
  ASSERT_OK(mkdir(sub.c_str(), 0755));
  WriteFile(sub + "/f", "x");
  std::string sublink = dir_ / "sublink";
  ASSERT_OK(symlink("sub", sublink.c_str()));
  int fd = open((sublink + "/f").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
  // A regular file opens as usual.
  fd = open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
}

TEST_F(OpenTest, PathWithNoFollowOpensTheSymlinkItself) {
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("file", link.c_str()));
  int fd = open(link.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st = {};
  ASSERT_OK(fstat(fd, &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 4);  // strlen("file")
  close(fd);
}

TEST_F(OpenTest, PathDescriptorsAllowNoIo) {
  int fd = open(path_.c_str(), O_PATH | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_NE(fcntl(fd, F_GETFL) & O_PATH, 0);
  char c;
  EXPECT_ERRNO(read(fd, &c, 1), EBADF);
  EXPECT_ERRNO(write(fd, "x", 1), EBADF);
  // fstat works on an O_PATH descriptor.
  struct stat st = {};
  ASSERT_OK(fstat(fd, &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 10);
  close(fd);
  EXPECT_EQ(ReadFile(path_), "0123456789");
}

TEST_F(OpenTest, PathDescriptorOfADirectoryServesAsADirfd) {
  int dfd = open(dir_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0) << strerror(errno);
  int fd = openat(dfd, "file", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[4] = {};
  EXPECT_EQ(read(fd, buf, 4), 4);
  EXPECT_EQ(std::string(buf, 4), "0123");
  close(fd);
  close(dfd);
}

TEST_F(OpenTest, CloexecSetsTheDescriptorFlag) {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  // O_CLOEXEC is a descriptor flag, not a file status flag.
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_CLOEXEC, 0);
  close(fd);
  fd = open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST_F(OpenTest, MissingNamesAreENOENT) {
  EXPECT_ERRNO(open((dir_ / "missing").c_str(), O_RDONLY | O_CLOEXEC), ENOENT);
  // A missing directory in the middle, even with O_CREAT.
  EXPECT_ERRNO(
      open((dir_ / "nodir/x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644),
      ENOENT);
  EXPECT_ERRNO(open("", O_RDONLY | O_CLOEXEC), ENOENT);
  // A dangling symlink without O_CREAT.
  std::string link = dir_ / "dangling";
  ASSERT_OK(symlink("nowhere", link.c_str()));
  EXPECT_ERRNO(open(link.c_str(), O_RDONLY | O_CLOEXEC), ENOENT);
}

TEST_F(OpenTest, AFileUsedAsADirectoryIsENOTDIR) {
  EXPECT_ERRNO(open((path_ + "/x").c_str(), O_RDONLY | O_CLOEXEC), ENOTDIR);
  EXPECT_ERRNO(
      open((path_ + "/x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644),
      ENOTDIR);
  // A trailing slash demands a directory.
  EXPECT_ERRNO(open((path_ + "/").c_str(), O_RDONLY | O_CLOEXEC), ENOTDIR);
}

TEST_F(OpenTest, DirectoriesCannotBeOpenedForWriting) {
  EXPECT_ERRNO(open(dir_.path().c_str(), O_WRONLY | O_CLOEXEC), EISDIR);
  EXPECT_ERRNO(open(dir_.path().c_str(), O_RDWR | O_CLOEXEC), EISDIR);
  // O_CREAT on an existing directory, and creating a name that ends in a
  // slash, are EISDIR too.
  EXPECT_ERRNO(open(dir_.path().c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644),
               EISDIR);
  EXPECT_ERRNO(
      open((dir_ / "newdir/").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644),
      EISDIR);
  EXPECT_ERRNO(access((dir_ / "newdir").c_str(), F_OK), ENOENT);
  int fd = open(dir_.path().c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
}

TEST_F(OpenTest, SymlinkLoopsAreELOOP) {
  std::string a = dir_ / "a", b = dir_ / "b", self = dir_ / "self";
  ASSERT_OK(symlink("b", a.c_str()));
  ASSERT_OK(symlink("a", b.c_str()));
  ASSERT_OK(symlink("self", self.c_str()));
  EXPECT_ERRNO(open(a.c_str(), O_RDONLY | O_CLOEXEC), ELOOP);
  EXPECT_ERRNO(open(self.c_str(), O_RDONLY | O_CLOEXEC), ELOOP);
  EXPECT_ERRNO(open((self + "/x").c_str(), O_RDONLY | O_CLOEXEC), ELOOP);
  EXPECT_ERRNO(open(a.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), ELOOP);
}

TEST_F(OpenTest, OverlongNamesAreENAMETOOLONG) {
  // One component longer than NAME_MAX (255).
  std::string longname = dir_ / std::string(NAME_MAX + 1, 'n');
  EXPECT_ERRNO(open(longname.c_str(), O_RDONLY | O_CLOEXEC), ENAMETOOLONG);
  EXPECT_ERRNO(open(longname.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644),
               ENAMETOOLONG);
  // A whole path of PATH_MAX bytes or more, made of short components.
  std::string longpath = dir_.path();
  while (longpath.size() <= PATH_MAX) longpath += "/./";
  EXPECT_ERRNO(open(longpath.c_str(), O_RDONLY | O_CLOEXEC), ENAMETOOLONG);
}

TEST_F(OpenTest, BadPathPointersAreEFAULT) {
  EXPECT_ERRNO(open(reinterpret_cast<const char*>(8), O_RDONLY | O_CLOEXEC),
               EFAULT);
  EXPECT_ERRNO(open(nullptr, O_RDONLY | O_CLOEXEC), EFAULT);
  EXPECT_ERRNO(
      openat(AT_FDCWD, reinterpret_cast<const char*>(8), O_RDONLY | O_CLOEXEC),
      EFAULT);
  EXPECT_ERRNO(syscall(SYS_creat, reinterpret_cast<const char*>(8), 0644),
               EFAULT);
}

TEST_F(OpenTest, OpenatResolvesRelativeToTheDirfd) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0) << strerror(errno);
  int fd = openat(dfd, "file", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[3] = {};
  EXPECT_EQ(read(fd, buf, 3), 3);
  EXPECT_EQ(std::string(buf, 3), "012");
  close(fd);
  fd = openat(dfd, "created", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(access((dir_ / "created").c_str(), F_OK), 0);
  EXPECT_ERRNO(openat(dfd, "missing", O_RDONLY | O_CLOEXEC), ENOENT);
  close(dfd);
}

TEST_F(OpenTest, OpenatWithAFileAsDirfdIsENOTDIR) {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_ERRNO(openat(fd, "x", O_RDONLY | O_CLOEXEC), ENOTDIR);
  // An absolute path ignores the dirfd altogether.
  int fd2 = openat(fd, path_.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd2, 0) << strerror(errno);
  if (fd2 >= 0) close(fd2);
  close(fd);
}

TEST_F(OpenTest, OpenatWithABadDirfdIsEBADF) {
  EXPECT_ERRNO(openat(-5, "file", O_RDONLY | O_CLOEXEC), EBADF);
  EXPECT_ERRNO(openat(12345, "file", O_RDONLY | O_CLOEXEC), EBADF);
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_ERRNO(openat(fd, "file", O_RDONLY | O_CLOEXEC), EBADF);
  // Absolute paths and AT_FDCWD do not look at the dirfd.
  fd = openat(12345, path_.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
}

TEST_F(OpenTest, OpenReturnsTheLowestFreeDescriptor) {
  int a = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  int b = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  close(a);
  int c = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(c, a);
  close(b);
  close(c);
}

}  // namespace
