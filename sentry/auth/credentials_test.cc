#include "sentry/auth/credentials.h"

#include <sys/stat.h>

#include "gtest/gtest.h"

namespace sentry::auth {
namespace {

TEST(PermissionTest, OwnerGroupOther) {
  Credentials u = Credentials::ForUser(1000, 1000);
  EXPECT_EQ(CheckPermission(u, S_IFREG | 0600, 1000, 5, kMayRead | kMayWrite),
            0);
  EXPECT_EQ(CheckPermission(u, S_IFREG | 0060, 1000, 1000, kMayRead),
            EACCES);  // owner bits win
  EXPECT_EQ(CheckPermission(u, S_IFREG | 0040, 7, 1000, kMayRead), 0);
  EXPECT_EQ(CheckPermission(u, S_IFREG | 0004, 7, 7, kMayRead), 0);
  EXPECT_EQ(CheckPermission(u, S_IFREG | 0004, 7, 7, kMayWrite), EACCES);
  u.groups = {42};
  EXPECT_EQ(CheckPermission(u, S_IFREG | 0020, 7, 42, kMayWrite), 0);
}

TEST(PermissionTest, RootOverridesButNeedsAnExecBit) {
  Credentials root = Credentials::ForUser(0, 0);
  EXPECT_EQ(CheckPermission(root, S_IFREG | 0000, 5, 5, kMayRead | kMayWrite),
            0);
  EXPECT_EQ(CheckPermission(root, S_IFREG | 0644, 5, 5, kMayExec), EACCES);
  EXPECT_EQ(CheckPermission(root, S_IFREG | 0001, 5, 5, kMayExec), 0);
  EXPECT_EQ(CheckPermission(root, S_IFDIR | 0000, 5, 5, kMayExec), 0);
}

}  // namespace
}  // namespace sentry::auth
