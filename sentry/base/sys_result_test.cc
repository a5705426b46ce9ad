#include "sentry/base/sys_result.h"

#include <fcntl.h>

#include <string>

#include "gtest/gtest.h"
#include "sentry/base/guest_addr.h"
#include "sentry/base/host_fd.h"

namespace sentry {
namespace {

SysResult<int> Half(int v) {
  if (v % 2 != 0) return Errno(EINVAL);
  return v / 2;
}

SysResult<int> Quarter(int v) {
  SENTRY_ASSIGN_OR_RETURN(int h, Half(v));
  SENTRY_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

SysResult<void> CheckEven(int v) {
  SENTRY_RETURN_IF_ERROR(Half(v));
  return Ok();
}

TEST(SysResultTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).err(), EINVAL);
  EXPECT_EQ(Quarter(7).error(), Errno(EINVAL));
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).err(), EINVAL);
}

TEST(SysResultTest, MoveOnlyValues) {
  SysResult<std::unique_ptr<std::string>> r =
      std::make_unique<std::string>("x");
  ASSERT_TRUE(r.ok());
  std::unique_ptr<std::string> s = std::move(r).value();
  EXPECT_EQ(*s, "x");
}

TEST(HostFdTest, ClosesOnDestructionAndMove) {
  int raw = open("/dev/null", O_RDONLY);
  ASSERT_GE(raw, 0);
  {
    HostFd a(raw);
    HostFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(GuestAddrTest, OverflowIsCaught) {
  GuestAddr a(~0ULL - 10);
  EXPECT_FALSE(a.Add(11).has_value());
  EXPECT_EQ(a.Add(10)->value(), ~0ULL);
  EXPECT_FALSE(PageRoundUp(~0ULL - 5).has_value());
  EXPECT_EQ(*PageRoundUp(4097), 8192u);
  EXPECT_TRUE(GuestAddr(8192).PageAligned());
}

}  // namespace
}  // namespace sentry
