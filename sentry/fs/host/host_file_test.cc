// Inherited host fds: terminal ioctls move exactly the kernel's structs.

#include "sentry/fs/host/host_file.h"

#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace sentry::fs {
namespace {

// Guest memory of one page at kBase, filled with a canary.
class PageContext : public vfs::CallContext {
 public:
  static constexpr uint64_t kBase = 0x10000;
  PageContext() : mem_(4096, '\xaa') {}
  const auth::Credentials& creds() const override { return creds_; }
  SysResult<size_t> CopyIn(GuestAddr a, void* dst, size_t len) override {
    if (a.value() < kBase || a.value() + len > kBase + mem_.size())
      return Errno(EFAULT);
    memcpy(dst, mem_.data() + (a.value() - kBase), len);
    return len;
  }
  SysResult<size_t> CopyOut(GuestAddr a, const void* src, size_t len) override {
    if (a.value() < kBase || a.value() + len > kBase + mem_.size())
      return Errno(EFAULT);
    memcpy(mem_.data() + (a.value() - kBase), src, len);
    return len;
  }
  std::vector<char> mem_;

 private:
  auth::Credentials creds_ = auth::Credentials::ForUser(0, 0);
};

TEST(HostFileTest, TerminalIoctlsMoveTheKernelStructsExactly) {
  int master, slave;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  auto f = ImportHostFd(HostFd(slave), "/dev/pts/x");
  ASSERT_TRUE(f.ok());
  PageContext ctx;
  ASSERT_TRUE((*f)->Ioctl(ctx, TCGETS, PageContext::kBase).ok());
  // The kernel's struct termios is 36 bytes; glibc's is 60. Nothing past
  // 36 bytes may be written (the guest's buffer may end there).
  for (size_t i = 36; i < 64; i++)
    EXPECT_EQ(ctx.mem_[i], '\xaa') << "byte " << i;
  // A buffer ending right after 36 bytes suffices both ways.
  uint64_t tight = PageContext::kBase + 4096 - 36;
  EXPECT_TRUE((*f)->Ioctl(ctx, TCGETS, tight).ok());
  EXPECT_TRUE((*f)->Ioctl(ctx, TCSETS, tight).ok());
  struct winsize ws = {};
  ws.ws_row = 33;
  ws.ws_col = 77;
  memcpy(ctx.mem_.data(), &ws, sizeof(ws));
  ASSERT_TRUE((*f)->Ioctl(ctx, TIOCSWINSZ, PageContext::kBase).ok());
  struct winsize host = {};
  ASSERT_EQ(ioctl(master, TIOCGWINSZ, &host), 0);
  EXPECT_EQ(host.ws_row, 33);
  EXPECT_EQ(host.ws_col, 77);
  EXPECT_EQ((*f)->Ioctl(ctx, TIOCSTI, PageContext::kBase).err(), ENOTTY);
  EXPECT_EQ((*f)->AnonName(), "/dev/pts/x");
  close(master);
}

}  // namespace
}  // namespace sentry::fs
