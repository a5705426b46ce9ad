// stat(2), lstat(2), fstat(2), newfstatat(2), statx(2), access(2),
// faccessat(2), readlink(2), readlinkat(2), getdents64(2), getcwd(2),
// chdir(2), fchdir(2), mkdir(2), mkdirat(2), rmdir(2), unlink(2),
// unlinkat(2), symlink(2), symlinkat(2), statfs(2), fstatfs(2),
// truncate(2), ftruncate(2): file metadata and the directory tree.

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "test/util/test_util.h"

namespace {

using testing_util::ReadFile;
using testing_util::TempPath;
using testing_util::WriteFile;

// A directory with a 10-byte file, opened read-write.
using StatTest = testing_util::FileTest;

TEST_F(StatTest, RegularFileSizeAndType) {
  struct stat st = {};
  ASSERT_OK(stat(path_.c_str(), &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 10);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_GT(st.st_blksize, 0);
  EXPECT_NE(st.st_ino, 0u);
  EXPECT_EQ(st.st_uid, geteuid());
  // WriteFile creates the file 0644; the umask can only remove bits.
  EXPECT_EQ(st.st_mode & 0022 & ~0644, 0u);
  EXPECT_EQ(st.st_mode & 0400, 0400u);
}

TEST_F(StatTest, FstatAgreesWithStat) {
  struct stat a = {}, b = {};
  ASSERT_OK(stat(path_.c_str(), &a));
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_OK(fstat(fd, &b));
  close(fd);
  EXPECT_EQ(a.st_dev, b.st_dev);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode, b.st_mode);
  EXPECT_EQ(a.st_size, b.st_size);
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
  EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
  EXPECT_ERRNO(fstat(-1, &b), EBADF);
}

TEST_F(StatTest, FileTypesInStMode) {
  struct stat st = {};
  ASSERT_OK(stat(dir_.path().c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_OK(stat("/dev/null", &st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("file", link.c_str()));
  // stat follows the link, lstat does not.
  ASSERT_OK(stat(link.c_str(), &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 10);
  ASSERT_OK(lstat(link.c_str(), &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(StatTest, SymlinkSizeIsTheTargetLength) {
  std::string target = "some/relative/target/that/need/not/exist";
  std::string link = dir_ / "link";
  ASSERT_OK(symlink(target.c_str(), link.c_str()));
  struct stat st = {};
  ASSERT_OK(lstat(link.c_str(), &st));
  EXPECT_EQ(st.st_size, static_cast<off_t>(target.size()));
  // A dangling link cannot be stat'ed through.
  EXPECT_ERRNO(stat(link.c_str(), &st), ENOENT);
}

TEST_F(StatTest, StatErrors) {
  struct stat st = {};
  EXPECT_ERRNO(stat((dir_ / "missing").c_str(), &st), ENOENT);
  EXPECT_ERRNO(stat((path_ + "/x").c_str(), &st), ENOTDIR);
  EXPECT_ERRNO(stat("", &st), ENOENT);
  EXPECT_ERRNO(stat(path_.c_str(), reinterpret_cast<struct stat*>(8)), EFAULT);
  EXPECT_ERRNO(stat(reinterpret_cast<const char*>(8), &st), EFAULT);
}

TEST_F(StatTest, DirectoryLinkCountIsTwoPlusSubdirectories) {
  std::string d = dir_ / "d";
  ASSERT_OK(mkdir(d.c_str(), 0755));
  struct stat st = {};
  ASSERT_OK(stat(d.c_str(), &st));
  EXPECT_EQ(st.st_nlink, 2u);
  // Each subdirectory's ".." is a link to d; files do not count.
  ASSERT_OK(mkdir((d + "/a").c_str(), 0755));
  ASSERT_OK(mkdir((d + "/b").c_str(), 0755));
  ASSERT_OK(mkdir((d + "/c").c_str(), 0755));
  WriteFile(d + "/f", "x");
  ASSERT_OK(stat(d.c_str(), &st));
  EXPECT_EQ(st.st_nlink, 5u);
  ASSERT_OK(rmdir((d + "/b").c_str()));
  ASSERT_OK(stat(d.c_str(), &st));
  EXPECT_EQ(st.st_nlink, 4u);
}

TEST_F(StatTest, FstatatFlags) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("file", link.c_str()));
  struct stat st = {};
  ASSERT_OK(fstatat(dfd, "file", &st, 0));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 10);
  ASSERT_OK(fstatat(dfd, "link", &st, 0));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_OK(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  // AT_EMPTY_PATH stats the dirfd itself.
  ASSERT_OK(fstatat(dfd, "", &st, AT_EMPTY_PATH));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_ERRNO(fstatat(dfd, "", &st, 0), ENOENT);
  // Flags that do not belong to fstatat.
  EXPECT_ERRNO(fstatat(dfd, "file", &st, AT_REMOVEDIR), EINVAL);
  EXPECT_ERRNO(fstatat(dfd, "file", &st, 0x40000000), EINVAL);
  // A regular file's fd works with AT_EMPTY_PATH, but not as a directory.
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_OK(fstatat(fd, "", &st, AT_EMPTY_PATH));
  EXPECT_EQ(st.st_size, 10);
  EXPECT_ERRNO(fstatat(fd, "x", &st, 0), ENOTDIR);
  close(fd);
  EXPECT_ERRNO(fstatat(-1, "file", &st, 0), EBADF);
  close(dfd);
}

TEST_F(StatTest, RawNewfstatatAgreesWithStat) {
  struct stat a = {}, b = {};
  ASSERT_OK(stat(path_.c_str(), &a));
  ASSERT_OK(syscall(SYS_newfstatat, AT_FDCWD, path_.c_str(), &b, 0));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_size, b.st_size);
  EXPECT_ERRNO(
      syscall(SYS_newfstatat, AT_FDCWD, path_.c_str(), &b, AT_REMOVEDIR),
      EINVAL);
}

TEST_F(StatTest, StatxBasicFieldsAgreeWithStat) {
  struct stat st = {};
  ASSERT_OK(stat(path_.c_str(), &st));
  struct statx sx = {};
  ASSERT_OK(statx(AT_FDCWD, path_.c_str(), 0, STATX_BASIC_STATS, &sx));
  EXPECT_EQ(sx.stx_mask & STATX_BASIC_STATS,
            static_cast<unsigned>(STATX_BASIC_STATS));
  EXPECT_EQ(sx.stx_mode, st.st_mode);
  EXPECT_EQ(sx.stx_size, static_cast<uint64_t>(st.st_size));
  EXPECT_EQ(sx.stx_ino, st.st_ino);
  EXPECT_EQ(sx.stx_nlink, st.st_nlink);
  EXPECT_EQ(sx.stx_uid, st.st_uid);
  EXPECT_EQ(sx.stx_gid, st.st_gid);
  EXPECT_EQ(sx.stx_blocks, static_cast<uint64_t>(st.st_blocks));
  EXPECT_EQ(sx.stx_blksize, static_cast<uint32_t>(st.st_blksize));
  EXPECT_EQ(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
  EXPECT_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(static_cast<long>(sx.stx_mtime.tv_nsec), st.st_mtim.tv_nsec);
  EXPECT_EQ(sx.stx_ctime.tv_sec, st.st_ctim.tv_sec);
}

TEST_F(StatTest, StatxFlags) {
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("file", link.c_str()));
  struct statx sx = {};
  ASSERT_OK(statx(AT_FDCWD, link.c_str(), AT_SYMLINK_NOFOLLOW,
                  STATX_BASIC_STATS, &sx));
  EXPECT_TRUE(S_ISLNK(sx.stx_mode));
  EXPECT_EQ(sx.stx_size, 4u);
  ASSERT_OK(statx(AT_FDCWD, link.c_str(), 0, STATX_BASIC_STATS, &sx));
  EXPECT_TRUE(S_ISREG(sx.stx_mode));
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
  EXPECT_EQ(sx.stx_size, 10u);
  close(fd);
  // The reserved mask bit and contradictory sync flags are invalid.
  EXPECT_ERRNO(statx(AT_FDCWD, path_.c_str(), 0, STATX__RESERVED, &sx), EINVAL);
  EXPECT_ERRNO(
      statx(AT_FDCWD, path_.c_str(), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
            STATX_BASIC_STATS, &sx),
      EINVAL);
  EXPECT_ERRNO(
      statx(AT_FDCWD, path_.c_str(), AT_REMOVEDIR, STATX_BASIC_STATS, &sx),
      EINVAL);
  EXPECT_ERRNO(
      statx(AT_FDCWD, (dir_ / "missing").c_str(), 0, STATX_BASIC_STATS, &sx),
      ENOENT);
}

TEST_F(StatTest, AccessModes) {
  EXPECT_EQ(access(path_.c_str(), F_OK), 0);
  EXPECT_EQ(access(path_.c_str(), R_OK), 0);
  EXPECT_EQ(access(path_.c_str(), W_OK), 0);
  EXPECT_EQ(access(path_.c_str(), R_OK | W_OK), 0);
  // Nobody, not even root, may execute a file without an execute bit.
  EXPECT_ERRNO(access(path_.c_str(), X_OK), EACCES);
  EXPECT_EQ(access(dir_.path().c_str(), X_OK), 0);  // search permission
  EXPECT_ERRNO(access((dir_ / "missing").c_str(), F_OK), ENOENT);
  EXPECT_ERRNO(access((path_ + "/x").c_str(), F_OK), ENOTDIR);
  EXPECT_ERRNO(access(path_.c_str(), 8), EINVAL);
  EXPECT_ERRNO(access(path_.c_str(), -1), EINVAL);
}

TEST_F(StatTest, FaccessatRelativeAndFlags) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  EXPECT_EQ(faccessat(dfd, "file", R_OK, 0), 0);
  EXPECT_ERRNO(faccessat(dfd, "missing", F_OK, 0), ENOENT);
  EXPECT_ERRNO(faccessat(dfd, "file", X_OK, 0), EACCES);
  EXPECT_ERRNO(faccessat(dfd, "file", 8, 0), EINVAL);
  // The raw syscall (no flags argument) rejects a bad mode as well.
  EXPECT_ERRNO(syscall(SYS_faccessat, dfd, "file", 8), EINVAL);
  EXPECT_ERRNO(syscall(SYS_faccessat, -1, "file", F_OK), EBADF);
  // With AT_SYMLINK_NOFOLLOW, a dangling link itself exists.
  ASSERT_OK(symlink("nowhere", (dir_ / "dangling").c_str()));
  EXPECT_ERRNO(faccessat(dfd, "dangling", F_OK, 0), ENOENT);
  EXPECT_EQ(faccessat(dfd, "dangling", F_OK, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_ERRNO(faccessat(dfd, "file", F_OK, 0x40000000), EINVAL);
  close(dfd);
}

TEST_F(StatTest, ReadlinkReturnsTheTargetWithoutANul) {
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("the/target", link.c_str()));
  char buf[64];
  memset(buf, 'X', sizeof(buf));
  EXPECT_EQ(readlink(link.c_str(), buf, sizeof(buf)), 10);
  EXPECT_EQ(std::string(buf, 10), "the/target");
  EXPECT_EQ(buf[10], 'X');  // no NUL is written
  // A short buffer truncates silently.
  memset(buf, 'X', sizeof(buf));
  EXPECT_EQ(readlink(link.c_str(), buf, 4), 4);
  EXPECT_EQ(std::string(buf, 5), "the/X");
  EXPECT_ERRNO(readlink(link.c_str(), buf, 0), EINVAL);
  EXPECT_ERRNO(readlink(link.c_str(), buf, -1), EINVAL);
}

TEST_F(StatTest, ReadlinkErrors) {
  char buf[64];
  EXPECT_ERRNO(readlink(path_.c_str(), buf, sizeof(buf)), EINVAL);
  EXPECT_ERRNO(readlink(dir_.path().c_str(), buf, sizeof(buf)), EINVAL);
  EXPECT_ERRNO(readlink((dir_ / "missing").c_str(), buf, sizeof(buf)), ENOENT);
  EXPECT_ERRNO(readlink((path_ + "/x").c_str(), buf, sizeof(buf)), ENOTDIR);
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("file", link.c_str()));
  EXPECT_ERRNO(readlink(link.c_str(), reinterpret_cast<char*>(8), 64), EFAULT);
}

TEST_F(StatTest, ReadlinkatRelativeAndEmptyPath) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  ASSERT_OK(symlinkat("file", dfd, "link"));
  char buf[64] = {};
  EXPECT_EQ(readlinkat(dfd, "link", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "file");
  EXPECT_ERRNO(readlinkat(dfd, "file", buf, sizeof(buf)), EINVAL);
  // An O_PATH|O_NOFOLLOW descriptor of the link with an empty path reads
  // the link itself.
  int lfd = openat(dfd, "link", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(lfd, 0) << strerror(errno);
  memset(buf, 0, sizeof(buf));
  EXPECT_EQ(readlinkat(lfd, "", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "file");
  close(lfd);
  close(dfd);
}

std::map<std::string, unsigned char> ListDirectory(const std::string& path) {
  std::map<std::string, unsigned char> out;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) out[e->d_name] = e->d_type;
  closedir(d);
  return out;
}

TEST_F(StatTest, ReaddirListsExactlyTheEntries) {
  ASSERT_OK(mkdir((dir_ / "sub").c_str(), 0755));
  ASSERT_OK(symlink("file", (dir_ / "link").c_str()));
  WriteFile(dir_ / "other", "");
  auto entries = ListDirectory(dir_.path());
  std::map<std::string, unsigned char> want = {
      {".", DT_DIR},     {"..", DT_DIR},  {"file", DT_REG},
      {"other", DT_REG}, {"sub", DT_DIR}, {"link", DT_LNK}};
  EXPECT_EQ(entries, want);
  // Removed entries disappear.
  ASSERT_OK(unlink((dir_ / "other").c_str()));
  entries = ListDirectory(dir_.path());
  want.erase("other");
  EXPECT_EQ(entries, want);
}

TEST_F(StatTest, RewinddirSeesEntriesAddedSinceOpening) {
  DIR* d = opendir(dir_.path().c_str());
  ASSERT_NE(d, nullptr);
  std::set<std::string> first;
  while (struct dirent* e = readdir(d)) first.insert(e->d_name);
  EXPECT_EQ(first, (std::set<std::string>{".", "..", "file"}));
  WriteFile(dir_ / "late", "");
  rewinddir(d);  // lseek(fd, 0, SEEK_SET) on the directory
  std::set<std::string> second;
  while (struct dirent* e = readdir(d)) second.insert(e->d_name);
  closedir(d);
  EXPECT_EQ(second, (std::set<std::string>{".", "..", "file", "late"}));
}

TEST_F(StatTest, ManyEntriesNeedSeveralGetdentsCalls) {
  std::set<std::string> want = {".", ".."};
  for (int i = 0; i < 300; i++) {
    std::string name = "entry_with_a_fairly_long_name_" + std::to_string(i);
    WriteFile(dir_ / name, "");
    want.insert(name);
  }
  WriteFile(dir_ / "x", "");
  want.insert("file");
  want.insert("x");
  std::set<std::string> got;
  for (const auto& e : ListDirectory(dir_.path())) got.insert(e.first);
  EXPECT_EQ(got, want);
}

TEST_F(StatTest, RawGetdents64Errors) {
  alignas(8) char buf[4096];
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(syscall(SYS_getdents64, fd, buf, sizeof(buf)), ENOTDIR);
  close(fd);
  EXPECT_ERRNO(syscall(SYS_getdents64, -1, buf, sizeof(buf)), EBADF);
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  // Too small for even one entry.
  EXPECT_ERRNO(syscall(SYS_getdents64, dfd, buf, 4), EINVAL);
  // Reads all entries, then 0 at the end.
  long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
  EXPECT_GT(n, 0);
  EXPECT_EQ(syscall(SYS_getdents64, dfd, buf, sizeof(buf)), 0);
  close(dfd);
}

// Restores the working directory when the test ends.
class CwdTest : public StatTest {
 protected:
  void SetUp() override {
    StatTest::SetUp();
    char buf[PATH_MAX];
    ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
    saved_ = buf;
    char* real = realpath(dir_.path().c_str(), nullptr);
    ASSERT_NE(real, nullptr);
    real_dir_ = real;
    free(real);
  }
  void TearDown() override { ASSERT_OK(chdir(saved_.c_str())); }

  std::string saved_;
  std::string real_dir_;  // dir_ with symlinks resolved, as getcwd reports it
};

TEST_F(CwdTest, ChdirChangesGetcwd) {
  ASSERT_OK(chdir(dir_.path().c_str()));
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  EXPECT_EQ(std::string(buf), real_dir_);
  // Relative paths now resolve from here.
  EXPECT_EQ(ReadFile("file"), "0123456789");
  ASSERT_OK(mkdir("sub", 0755));
  ASSERT_OK(chdir("sub"));
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  EXPECT_EQ(std::string(buf), real_dir_ + "/sub");
  ASSERT_OK(chdir(".."));
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  EXPECT_EQ(std::string(buf), real_dir_);
}

TEST_F(CwdTest, GetcwdBufferTooSmallIsERANGE) {
  ASSERT_OK(chdir(dir_.path().c_str()));
  char buf[PATH_MAX];
  // The raw syscall returns the length including the NUL.
  long n = syscall(SYS_getcwd, buf, sizeof(buf));
  EXPECT_EQ(n, static_cast<long>(real_dir_.size() + 1));
  EXPECT_EQ(std::string(buf), real_dir_);
  EXPECT_ERRNO(syscall(SYS_getcwd, buf, real_dir_.size()),
               ERANGE);  // no room for NUL
  EXPECT_ERRNO(syscall(SYS_getcwd, buf, 1), ERANGE);
  errno = 0;
  EXPECT_EQ(getcwd(buf, 1), nullptr);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_ERRNO(syscall(SYS_getcwd, reinterpret_cast<char*>(8), sizeof(buf)),
               EFAULT);
}

TEST_F(CwdTest, FchdirFollowsTheDescriptor) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  ASSERT_OK(fchdir(dfd));
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  EXPECT_EQ(std::string(buf), real_dir_);
  close(dfd);
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(fchdir(fd), ENOTDIR);
  close(fd);
  EXPECT_ERRNO(fchdir(-1), EBADF);
  EXPECT_ERRNO(fchdir(fd), EBADF);  // closed
}

TEST_F(CwdTest, ChdirErrors) {
  EXPECT_ERRNO(chdir(path_.c_str()), ENOTDIR);
  EXPECT_ERRNO(chdir((dir_ / "missing").c_str()), ENOENT);
  EXPECT_ERRNO(chdir((path_ + "/x").c_str()), ENOTDIR);
  EXPECT_ERRNO(chdir(""), ENOENT);
  EXPECT_ERRNO(chdir(reinterpret_cast<const char*>(8)), EFAULT);
  // A failed chdir leaves the working directory alone.
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  EXPECT_EQ(std::string(buf), saved_);
}

TEST_F(StatTest, MkdirAppliesTheUmask) {
  mode_t old = umask(027);
  int rc = mkdir((dir_ / "d").c_str(), 0777);
  umask(old);
  ASSERT_EQ(rc, 0) << strerror(errno);
  struct stat st = {};
  ASSERT_OK(stat((dir_ / "d").c_str(), &st));
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFDIR | 0750));
}

TEST_F(StatTest, MkdirErrors) {
  EXPECT_ERRNO(mkdir(path_.c_str(), 0755), EEXIST);
  EXPECT_ERRNO(mkdir(dir_.path().c_str(), 0755), EEXIST);
  EXPECT_ERRNO(mkdir((dir_ / "a/b").c_str(), 0755), ENOENT);
  EXPECT_ERRNO(mkdir((path_ + "/d").c_str(), 0755), ENOTDIR);
  // A dangling symlink is not followed: the name is taken.
  ASSERT_OK(symlink("nowhere", (dir_ / "dangling").c_str()));
  EXPECT_ERRNO(mkdir((dir_ / "dangling").c_str(), 0755), EEXIST);
  EXPECT_ERRNO(mkdir((dir_ / std::string(NAME_MAX + 1, 'd')).c_str(), 0755),
               ENAMETOOLONG);
}

TEST_F(StatTest, MkdiratAndSymlinkatAreRelativeToTheDirfd) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  ASSERT_OK(mkdirat(dfd, "sub", 0755));
  struct stat st = {};
  ASSERT_OK(stat((dir_ / "sub").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_ERRNO(mkdirat(dfd, "sub", 0755), EEXIST);
  ASSERT_OK(symlinkat("sub", dfd, "sublink"));
  ASSERT_OK(stat((dir_ / "sublink").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(mkdirat(fd, "x", 0755), ENOTDIR);
  EXPECT_ERRNO(symlinkat("t", fd, "x"), ENOTDIR);
  close(fd);
  EXPECT_ERRNO(mkdirat(-1, "x", 0755), EBADF);
  close(dfd);
}

TEST_F(StatTest, RmdirErrors) {
  std::string d = dir_ / "d";
  ASSERT_OK(mkdir(d.c_str(), 0755));
  WriteFile(d + "/f", "");
  EXPECT_ERRNO(rmdir(d.c_str()), ENOTEMPTY);
  EXPECT_ERRNO(rmdir(path_.c_str()), ENOTDIR);
  EXPECT_ERRNO(rmdir((dir_ / "missing").c_str()), ENOENT);
  // "." as the last component is EINVAL; ".." is ENOTEMPTY.
  EXPECT_ERRNO(rmdir((d + "/.").c_str()), EINVAL);
  EXPECT_ERRNO(rmdir((d + "/..").c_str()), ENOTEMPTY);
  // rmdir does not follow a final symlink, even one to a directory.
  std::string link = dir_ / "dlink";
  ASSERT_OK(symlink("d", link.c_str()));
  EXPECT_ERRNO(rmdir(link.c_str()), ENOTDIR);
  ASSERT_OK(unlink((d + "/f").c_str()));
  EXPECT_EQ(rmdir(d.c_str()), 0);
  EXPECT_ERRNO(access(d.c_str(), F_OK), ENOENT);
}

TEST_F(StatTest, UnlinkErrors) {
  std::string d = dir_ / "d";
  ASSERT_OK(mkdir(d.c_str(), 0755));
  EXPECT_ERRNO(unlink(d.c_str()), EISDIR);
  EXPECT_ERRNO(unlink((dir_ / "missing").c_str()), ENOENT);
  EXPECT_ERRNO(unlink((path_ + "/x").c_str()), ENOTDIR);
  // unlink of a symlink removes the link, not its target.
  std::string link = dir_ / "link";
  ASSERT_OK(symlink("file", link.c_str()));
  ASSERT_OK(unlink(link.c_str()));
  EXPECT_EQ(access(path_.c_str(), F_OK), 0);
  ASSERT_OK(unlink(path_.c_str()));
  EXPECT_ERRNO(access(path_.c_str(), F_OK), ENOENT);
}

TEST_F(StatTest, UnlinkatFlags) {
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  ASSERT_OK(mkdirat(dfd, "d", 0755));
  EXPECT_ERRNO(unlinkat(dfd, "d", 0), EISDIR);
  EXPECT_ERRNO(unlinkat(dfd, "file", AT_REMOVEDIR), ENOTDIR);
  EXPECT_ERRNO(unlinkat(dfd, "file", AT_SYMLINK_NOFOLLOW), EINVAL);
  EXPECT_ERRNO(unlinkat(dfd, "file", 0x40000000), EINVAL);
  EXPECT_EQ(unlinkat(dfd, "d", AT_REMOVEDIR), 0);
  EXPECT_EQ(unlinkat(dfd, "file", 0), 0);
  EXPECT_ERRNO(unlinkat(dfd, "file", 0), ENOENT);
  EXPECT_ERRNO(unlinkat(-1, "file", 0), EBADF);
  close(dfd);
}

TEST_F(StatTest, SymlinkErrors) {
  EXPECT_ERRNO(symlink("x", path_.c_str()), EEXIST);
  EXPECT_ERRNO(symlink("x", dir_.path().c_str()), EEXIST);
  EXPECT_ERRNO(symlink("x", (dir_ / "missing/l").c_str()), ENOENT);
  EXPECT_ERRNO(symlink("x", (path_ + "/l").c_str()), ENOTDIR);
  EXPECT_ERRNO(symlink("", (dir_ / "empty").c_str()), ENOENT);
  ASSERT_OK(symlink("x", (dir_ / "l").c_str()));
  EXPECT_ERRNO(symlink("y", (dir_ / "l").c_str()), EEXIST);
}

TEST_F(StatTest, StatfsDescribesTheFilesystem) {
  struct statfs a = {}, b = {};
  ASSERT_OK(statfs(dir_.path().c_str(), &a));
  EXPECT_GT(a.f_bsize, 0);
  EXPECT_GT(a.f_namelen, 0);
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_OK(fstatfs(fd, &b));
  close(fd);
  EXPECT_GT(b.f_bsize, 0);
  // Same filesystem, same type.
  EXPECT_EQ(a.f_type, b.f_type);
  EXPECT_ERRNO(statfs((dir_ / "missing").c_str(), &a), ENOENT);
  EXPECT_ERRNO(fstatfs(-1, &a), EBADF);
  EXPECT_ERRNO(statfs(dir_.path().c_str(), reinterpret_cast<struct statfs*>(8)),
               EFAULT);
}

TEST_F(StatTest, TruncateChangesTheSize) {
  ASSERT_OK(truncate(path_.c_str(), 4));
  EXPECT_EQ(ReadFile(path_), "0123");
  // Growing fills with zeros.
  ASSERT_OK(truncate(path_.c_str(), 6));
  EXPECT_EQ(ReadFile(path_), std::string("0123\0\0", 6));
  int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_OK(ftruncate(fd, 2));
  struct stat st = {};
  ASSERT_OK(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 2);
  // The offset does not move with the size.
  ASSERT_EQ(lseek(fd, 5, SEEK_SET), 5);
  ASSERT_OK(ftruncate(fd, 100));
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
  ASSERT_OK(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 100);
  ASSERT_OK(ftruncate(fd, 0));
  close(fd);
  EXPECT_EQ(ReadFile(path_), "");
}

TEST_F(StatTest, TruncateErrors) {
  EXPECT_ERRNO(truncate(path_.c_str(), -1), EINVAL);
  EXPECT_ERRNO(truncate(dir_.path().c_str(), 0), EISDIR);
  EXPECT_ERRNO(truncate((dir_ / "missing").c_str(), 0), ENOENT);
  int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
  close(fd);
  // A descriptor not open for writing is EINVAL, not EBADF.
  fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(ftruncate(fd, 0), EINVAL);
  close(fd);
  EXPECT_ERRNO(ftruncate(-1, 0), EBADF);
  EXPECT_EQ(ReadFile(path_), "0123456789");
}

TEST(ReadlinkTest, ANullPathIsEFAULT) {
  char buf[16];
  EXPECT_ERRNO(syscall(SYS_readlink, nullptr, buf, sizeof(buf)), EFAULT);
  EXPECT_ERRNO(syscall(SYS_readlinkat, AT_FDCWD, nullptr, buf, sizeof(buf)),
               EFAULT);
}

}  // namespace
