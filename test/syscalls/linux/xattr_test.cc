// Extended attributes: getxattr(2), setxattr(2), listxattr(2),
// removexattr(2) and their l- and f- forms, on the test's temporary
// directory (a tmpfs in the sandbox, as on most Linux systems).

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using XattrTest = testing_util::FileTest;

TEST_F(XattrTest, SetGetListRemove) {
  const char* p = path_.c_str();
  if (setxattr(p, "user.probe", "v", 1, 0) != 0 && errno == EOPNOTSUPP) {
    GTEST_SKIP() << "the temporary directory's filesystem has no user xattrs";
  }
  ASSERT_EQ(setxattr(p, "user.color", "blue", 4, 0), 0);
  char buf[64] = {};
  EXPECT_EQ(getxattr(p, "user.color", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "blue");
  EXPECT_EQ(getxattr(p, "user.color", nullptr, 0), 4);  // size query
  EXPECT_ERRNO(getxattr(p, "user.color", buf, 2), ERANGE);
  EXPECT_ERRNO(getxattr(p, "user.missing", buf, sizeof(buf)), ENODATA);
  ssize_t n = listxattr(p, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  std::string names(buf, static_cast<size_t>(n));
  EXPECT_NE(names.find(std::string("user.color\0", 11)), std::string::npos);
  EXPECT_EQ(listxattr(p, nullptr, 0), n);
  EXPECT_ERRNO(listxattr(p, buf, 3), ERANGE);
  EXPECT_ERRNO(setxattr(p, "user.color", "red", 3, XATTR_CREATE), EEXIST);
  EXPECT_ERRNO(setxattr(p, "user.new", "x", 1, XATTR_REPLACE), ENODATA);
  ASSERT_EQ(setxattr(p, "user.color", "red", 3, XATTR_REPLACE), 0);
  EXPECT_EQ(fgetxattr(fd_, "user.color", buf, sizeof(buf)), 3);
  ASSERT_EQ(fremovexattr(fd_, "user.color"), 0);
  EXPECT_ERRNO(removexattr(p, "user.color"), ENODATA);
  // An empty value is a value.
  ASSERT_EQ(fsetxattr(fd_, "user.empty", "", 0, 0), 0);
  EXPECT_EQ(getxattr(p, "user.empty", buf, sizeof(buf)), 0);
}

TEST_F(XattrTest, NamesAndArguments) {
  const char* p = path_.c_str();
  if (setxattr(p, "user.probe", "v", 1, 0) != 0 && errno == EOPNOTSUPP) {
    GTEST_SKIP() << "the temporary directory's filesystem has no user xattrs";
  }
  char buf[8];
  EXPECT_ERRNO(setxattr(p, "nonamespace", "v", 1, 0), EOPNOTSUPP);
  EXPECT_ERRNO(getxattr(p, "bogus.name", buf, sizeof(buf)), EOPNOTSUPP);
  EXPECT_ERRNO(setxattr(p, "", "v", 1, 0), ERANGE);
  std::string longname = "user." + std::string(300, 'n');
  EXPECT_ERRNO(setxattr(p, longname.c_str(), "v", 1, 0), ERANGE);
  EXPECT_ERRNO(setxattr(p, "user.x", "v", 1, 0x10), EINVAL);
  std::string huge(65537, 'v');
  EXPECT_ERRNO(setxattr(p, "user.big", huge.data(), huge.size(), 0), E2BIG);
  EXPECT_ERRNO(getxattr((dir_ / "missing").c_str(), "user.x", buf, 8), ENOENT);
}

TEST_F(XattrTest, SymlinksAndFifosRefuseUserAttributes) {
  std::string link = dir_ / "link";
  ASSERT_EQ(symlink(path_.c_str(), link.c_str()), 0);
  if (setxattr(path_.c_str(), "user.probe", "v", 1, 0) != 0 &&
      errno == EOPNOTSUPP) {
    GTEST_SKIP() << "the temporary directory's filesystem has no user xattrs";
  }
  EXPECT_ERRNO(lsetxattr(link.c_str(), "user.x", "v", 1, 0), EPERM);
  char buf[8];
  EXPECT_ERRNO(lgetxattr(link.c_str(), "user.x", buf, sizeof(buf)), ENODATA);
  // Through the link: the file's.
  EXPECT_EQ(getxattr(link.c_str(), "user.probe", buf, sizeof(buf)), 1);
  std::string fifo = dir_ / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_ERRNO(setxattr(fifo.c_str(), "user.x", "v", 1, 0), EPERM);
}

TEST_F(XattrTest, PermissionsAndPrivilegedNamespaces) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  const char* p = path_.c_str();
  if (setxattr(p, "user.probe", "v", 1, 0) != 0 && errno == EOPNOTSUPP) {
    GTEST_SKIP() << "the temporary directory's filesystem has no user xattrs";
  }
  ASSERT_EQ(setxattr(p, "trusted.t", "secret", 6, 0), 0);
  ASSERT_EQ(chmod(p, 0644), 0);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  testing_util::InForkedChild([&] {
    testing_util::BecomeUser(65534, 65534);
    char buf[64];
    EXPECT_EQ(getxattr(p, "user.probe", buf, sizeof(buf)), 1);  // readable
    EXPECT_ERRNO(setxattr(p, "user.probe", "w", 1, 0), EACCES);
    EXPECT_ERRNO(getxattr(p, "trusted.t", buf, sizeof(buf)), ENODATA);
    EXPECT_ERRNO(setxattr(p, "trusted.t", "x", 1, 0), EPERM);
    // trusted.* is not listed to the unprivileged.
    ssize_t n = listxattr(p, buf, sizeof(buf));
    ASSERT_GE(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).find("trusted."),
              std::string::npos);
  });
}

}  // namespace
