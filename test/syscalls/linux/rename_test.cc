// rename(2), renameat(2), renameat2(2) with RENAME_NOREPLACE and
// RENAME_EXCHANGE: the directory tree after a rename, the errors Linux
// gives, and open files and working directories following the file.

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::ListDir;
using testing_util::ReadFile;
using testing_util::Readlink;
using testing_util::TempPath;
using testing_util::WriteFile;

int Renameat2(int olddirfd, const char* oldpath, int newdirfd,
              const char* newpath, unsigned flags) {
  return static_cast<int>(
      syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags));
}

TEST(RenameTest, MovesAFileWithinADirectory) {
  TempPath d;
  WriteFile(d / "a", "alpha");
  ASSERT_EQ(rename((d / "a").c_str(), (d / "b").c_str()), 0);
  EXPECT_EQ(ListDir(d.path()), std::set<std::string>{"b"});
  EXPECT_EQ(ReadFile(d / "b"), "alpha");
}

TEST(RenameTest, ReplacesAnExistingFileAtomically) {
  TempPath d;
  WriteFile(d / "a", "new");
  WriteFile(d / "b", "old");
  struct stat before;
  ASSERT_EQ(stat((d / "a").c_str(), &before), 0);
  int old_fd = open((d / "b").c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  ASSERT_EQ(rename((d / "a").c_str(), (d / "b").c_str()), 0);
  struct stat after;
  ASSERT_EQ(stat((d / "b").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(ReadFile(d / "b"), "new");
  // The replaced file lives on for its open descriptor, unlinked.
  struct stat gone;
  ASSERT_EQ(fstat(old_fd, &gone), 0);
  EXPECT_EQ(gone.st_nlink, 0u);
  char buf[8] = {};
  EXPECT_EQ(pread(old_fd, buf, sizeof(buf), 0), 3);
  EXPECT_STREQ(buf, "old");
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(old_fd)),
            d / "b" + " (deleted)");
  close(old_fd);
}

TEST(RenameTest, MovesADirectoryWithItsContents) {
  TempPath d;
  ASSERT_EQ(mkdir((d / "x").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((d / "y").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((d / "x/sub").c_str(), 0755), 0);
  WriteFile(d / "x/sub/f", "data");
  struct stat x0, y0;
  ASSERT_EQ(stat((d / "x").c_str(), &x0), 0);
  ASSERT_EQ(stat((d / "y").c_str(), &y0), 0);
  ASSERT_EQ(rename((d / "x/sub").c_str(), (d / "y/moved").c_str()), 0);
  EXPECT_EQ(ReadFile(d / "y/moved/f"), "data");
  EXPECT_TRUE(ListDir(d / "x").empty());
  // The moved directory's ".." is now y: link counts follow.
  struct stat x1, y1;
  ASSERT_EQ(stat((d / "x").c_str(), &x1), 0);
  ASSERT_EQ(stat((d / "y").c_str(), &y1), 0);
  EXPECT_EQ(x1.st_nlink, x0.st_nlink - 1);
  EXPECT_EQ(y1.st_nlink, y0.st_nlink + 1);
  struct stat dotdot, y2;
  ASSERT_EQ(stat((d / "y/moved/..").c_str(), &dotdot), 0);
  ASSERT_EQ(stat((d / "y").c_str(), &y2), 0);
  EXPECT_EQ(dotdot.st_ino, y2.st_ino);
}

TEST(RenameTest, ReplacesOnlyAnEmptyDirectory) {
  TempPath d;
  ASSERT_EQ(mkdir((d / "src").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((d / "full").c_str(), 0755), 0);
  WriteFile(d / "full/f", "");
  ASSERT_EQ(mkdir((d / "empty").c_str(), 0755), 0);
  EXPECT_ERRNO(rename((d / "src").c_str(), (d / "full").c_str()), ENOTEMPTY);
  ASSERT_EQ(rename((d / "src").c_str(), (d / "empty").c_str()), 0);
  EXPECT_EQ(ListDir(d.path()), (std::set<std::string>{"empty", "full"}));
}

TEST(RenameTest, TypeMismatches) {
  TempPath d;
  ASSERT_EQ(mkdir((d / "dir").c_str(), 0755), 0);
  WriteFile(d / "file", "");
  EXPECT_ERRNO(rename((d / "dir").c_str(), (d / "file").c_str()), ENOTDIR);
  EXPECT_ERRNO(rename((d / "file").c_str(), (d / "dir").c_str()), EISDIR);
  EXPECT_ERRNO(rename((d / "file/").c_str(), (d / "other").c_str()), ENOTDIR);
  EXPECT_ERRNO(rename((d / "file").c_str(), (d / "other/").c_str()), ENOTDIR);
  // A directory may be named with a trailing slash.
  EXPECT_EQ(rename((d / "dir/").c_str(), (d / "dir2/").c_str()), 0);
}

TEST(RenameTest, Errors) {
  TempPath d;
  ASSERT_EQ(mkdir((d / "dir").c_str(), 0755), 0);
  EXPECT_ERRNO(rename((d / "missing").c_str(), (d / "x").c_str()), ENOENT);
  EXPECT_ERRNO(rename((d / "dir").c_str(), (d / "dir/inside").c_str()), EINVAL);
  EXPECT_ERRNO(rename((d / "dir").c_str(), (d / "nodir/x").c_str()), ENOENT);
  EXPECT_ERRNO(rename((d / "dir/.").c_str(), (d / "x").c_str()), EBUSY);
  EXPECT_ERRNO(rename((d / "dir/..").c_str(), (d / "x").c_str()), EBUSY);
  EXPECT_ERRNO(rename("", (d / "x").c_str()), ENOENT);
  // Across mounts: /proc is another filesystem.
  WriteFile(d / "f", "");
  EXPECT_ERRNO(rename((d / "f").c_str(), "/proc/f"), EXDEV);
  std::string longname(300, 'n');
  EXPECT_ERRNO(rename((d / "f").c_str(), (d / longname).c_str()), ENAMETOOLONG);
}

TEST(RenameTest, OntoItselfOrAnotherLinkDoesNothing) {
  TempPath d;
  WriteFile(d / "a", "x");
  ASSERT_EQ(link((d / "a").c_str(), (d / "b").c_str()), 0);
  EXPECT_EQ(rename((d / "a").c_str(), (d / "a").c_str()), 0);
  // POSIX: both names stay when they are links of one file.
  EXPECT_EQ(rename((d / "a").c_str(), (d / "b").c_str()), 0);
  EXPECT_EQ(ListDir(d.path()), (std::set<std::string>{"a", "b"}));
}

TEST(RenameTest, RenameatIsRelativeToDirectoryFds) {
  TempPath d;
  ASSERT_EQ(mkdir((d / "one").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((d / "two").c_str(), 0755), 0);
  WriteFile(d / "one/f", "z");
  int one = open((d / "one").c_str(), O_DIRECTORY | O_RDONLY);
  int two = open((d / "two").c_str(), O_DIRECTORY | O_PATH);
  ASSERT_GE(one, 0);
  ASSERT_GE(two, 0);
  ASSERT_EQ(renameat(one, "f", two, "g"), 0);
  EXPECT_EQ(ReadFile(d / "two/g"), "z");
  close(one);
  close(two);
}

TEST(RenameTest, NoReplace) {
  TempPath d;
  WriteFile(d / "a", "a");
  WriteFile(d / "b", "b");
  EXPECT_ERRNO(Renameat2(AT_FDCWD, (d / "a").c_str(), AT_FDCWD,
                         (d / "b").c_str(), RENAME_NOREPLACE),
               EEXIST);
  EXPECT_EQ(Renameat2(AT_FDCWD, (d / "a").c_str(), AT_FDCWD, (d / "c").c_str(),
                      RENAME_NOREPLACE),
            0);
  EXPECT_EQ(ReadFile(d / "c"), "a");
  EXPECT_EQ(ReadFile(d / "b"), "b");
}

TEST(RenameTest, Exchange) {
  TempPath d;
  WriteFile(d / "file", "f");
  ASSERT_EQ(mkdir((d / "dir").c_str(), 0755), 0);
  WriteFile(d / "dir/inner", "i");
  ASSERT_EQ(Renameat2(AT_FDCWD, (d / "file").c_str(), AT_FDCWD,
                      (d / "dir").c_str(), RENAME_EXCHANGE),
            0);
  EXPECT_EQ(ReadFile(d / "dir"), "f");
  EXPECT_EQ(ReadFile(d / "file/inner"), "i");
  EXPECT_ERRNO(Renameat2(AT_FDCWD, (d / "dir").c_str(), AT_FDCWD,
                         (d / "missing").c_str(), RENAME_EXCHANGE),
               ENOENT);
  EXPECT_ERRNO(
      Renameat2(AT_FDCWD, (d / "dir").c_str(), AT_FDCWD, (d / "file").c_str(),
                RENAME_EXCHANGE | RENAME_NOREPLACE),
      EINVAL);
  EXPECT_ERRNO(Renameat2(AT_FDCWD, (d / "dir").c_str(), AT_FDCWD,
                         (d / "file").c_str(), 0x80),
               EINVAL);
}

TEST(RenameTest, OpenFilesAndCwdFollowTheRename) {
  TempPath d;
  ASSERT_EQ(mkdir((d / "old").c_str(), 0755), 0);
  WriteFile(d / "old/f", "content");
  int fd = open((d / "old/f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir((d / "old").c_str()), 0);
  ASSERT_EQ(rename((d / "old").c_str(), (d / "new").c_str()), 0);
  char now[4096];
  ASSERT_NE(getcwd(now, sizeof(now)), nullptr);
  EXPECT_EQ(std::string(now), d / "new");
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(fd)), d / "new/f");
  EXPECT_EQ(ReadFile("f"), "content");
  ASSERT_EQ(chdir(cwd), 0);
  close(fd);
}

TEST(RenameTest, StickyDirectoryProtectsOthersFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make another user's file";
  TempPath d;
  ASSERT_EQ(chmod(d.path().c_str(), 01777), 0);
  WriteFile(d / "roots", "");
  testing_util::InForkedChild([&] {
    testing_util::BecomeUser(65534, 65534);
    EXPECT_ERRNO(rename((d / "roots").c_str(), (d / "mine").c_str()), EPERM);
    WriteFile(d / "nobody", "");
    EXPECT_EQ(rename((d / "nobody").c_str(), (d / "nobody2").c_str()), 0);
  });
}

}  // namespace
