#include "gofer/protocol/wire.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gofer/protocol/messages.h"
#include "gofer/protocol/transport.h"
#include "gtest/gtest.h"

namespace gofer::proto {
namespace {

TEST(WireTest, RoundTripsEveryFieldKind) {
  WalkReply in;
  in.nodes.resize(2);
  in.nodes[0].handle = 0x0102030405060708ULL;
  in.nodes[0].attr.mode = 040755;
  in.nodes[0].attr.mtime = {-5, 999999999};
  in.nodes[1].handle = 9;
  in.error = -7;
  std::vector<uint8_t> bytes =
      Encode(static_cast<uint16_t>(MsgType::kWalk) | kReplyBit, 42, in);
  auto out =
      DecodeReply<WalkReply>(bytes.data(), bytes.size(), MsgType::kWalk, 42);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->nodes.size(), 2u);
  EXPECT_EQ(out->nodes[0].handle, in.nodes[0].handle);
  EXPECT_EQ(out->nodes[0].attr.mode, 040755u);
  EXPECT_EQ(out->nodes[0].attr.mtime.sec, -5);
  EXPECT_EQ(out->nodes[0].attr.mtime.nsec, 999999999u);
  EXPECT_EQ(out->error, -7);
}

TEST(WireTest, LittleEndianOnTheWire) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w(uint32_t{0x11223344});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], 0x44);
  EXPECT_EQ(out[3], 0x11);
}

TEST(WireTest, ShortAndOversizedInputsFail) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w(std::string("hello"));
  for (size_t cut = 0; cut < out.size(); cut++) {
    Reader r(out.data(), cut);
    std::string s;
    r(s);
    EXPECT_FALSE(r.ok()) << cut;
  }
  std::vector<uint8_t> big = {0x01, 0x10, 0x00, 0x00};  // 4097 bytes claimed
  big.resize(4 + 4097, 'a');
  Reader r(big.data(), big.size());
  std::string s;
  r(s);
  EXPECT_FALSE(r.ok());
}

TEST(WireTest, RepliesWithWrongTagOrTypeAreEIO) {
  std::vector<uint8_t> bytes =
      Encode(static_cast<uint16_t>(MsgType::kGetAttr) | kReplyBit, 1, Attr{});
  EXPECT_EQ(
      DecodeReply<Attr>(bytes.data(), bytes.size(), MsgType::kGetAttr, 2).err(),
      EIO);
  EXPECT_EQ(
      DecodeReply<Attr>(bytes.data(), bytes.size(), MsgType::kStatFs, 1).err(),
      EIO);
  // An error reply with a nonsense errno is itself malformed.
  bytes = Encode(static_cast<uint16_t>(MsgType::kError) | kReplyBit, 1,
                 ErrorReply{-3});
  EXPECT_EQ(
      DecodeReply<Attr>(bytes.data(), bytes.size(), MsgType::kGetAttr, 1).err(),
      EIO);
  bytes = Encode(static_cast<uint16_t>(MsgType::kError) | kReplyBit, 1,
                 ErrorReply{ENOENT});
  EXPECT_EQ(
      DecodeReply<Attr>(bytes.data(), bytes.size(), MsgType::kGetAttr, 1).err(),
      ENOENT);
}

TEST(TransportTest, ExtraFdsAreClosedNotLeaked) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  // Send a packet carrying three fds by hand.
  int fds[3] = {dup(0), dup(0), dup(0)};
  char data[] = "x";
  struct iovec iov = {data, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(fds))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(fds));
  memcpy(CMSG_DATA(c), fds, sizeof(fds));
  ASSERT_EQ(sendmsg(sv[0], &msg, 0), 1);
  for (int fd : fds) close(fd);
  std::vector<uint8_t> buf;
  sentry::HostFd kept;
  ASSERT_EQ(RecvPacket(sv[1], &buf, &kept), 0);
  EXPECT_TRUE(kept.valid());
  int probe = dup(0);  // Lowest free fd: the closed extras were reused.
  EXPECT_LT(probe, kept.get() + 3);
  close(probe);
  close(sv[0]);
  EXPECT_EQ(RecvPacket(sv[1], &buf, nullptr), ECONNRESET);
  close(sv[1]);
}

}  // namespace
}  // namespace gofer::proto
