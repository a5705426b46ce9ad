#include "gofer/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gofer/protocol/messages.h"
#include "gtest/gtest.h"

namespace gofer {
namespace {

using proto::MsgType;
using sentry::HostFd;
using sentry::SysResult;
using ::testing::UnorderedElementsAre;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string base = tmp != nullptr ? tmp : "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/gofer_test.XXXXXX", base.c_str());
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkdir((dir_ + "/root").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/root/sub").c_str(), 0755), 0);
    WriteFile(dir_ + "/root/file", "file contents");
    WriteFile(dir_ + "/root/sub/inner", "inner");
    WriteFile(dir_ + "/secret", "outside the root");
    ASSERT_EQ(symlink("../secret", (dir_ + "/root/escape").c_str()), 0);
    ASSERT_EQ(symlink("/etc/passwd", (dir_ + "/root/abs").c_str()), 0);
    ASSERT_EQ(mkfifo((dir_ + "/root/fifo").c_str(), 0644), 0);
    MakeServer(true);
  }

  void TearDown() override { system(("rm -rf " + dir_).c_str()); }

  void MakeServer(bool read_only) {
    HostFd root(
        open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    HostFd proc(open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root.valid() && proc.valid());
    ServerOptions options;
    options.read_only = read_only;
    options.max_handles = 64;
    server_ =
        std::make_unique<Server>(std::move(root), std::move(proc), options);
  }

  static void WriteFile(const std::string& path, const std::string& data) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    close(fd);
  }

  template <typename Reply, typename Req>
  SysResult<Reply> Call(MsgType type, const Req& req,
                        HostFd* donated = nullptr) {
    uint32_t tag = ++tag_;
    std::vector<uint8_t> packet =
        proto::Encode(static_cast<uint16_t>(type), tag, req);
    HostFd fd;
    std::vector<uint8_t> reply =
        server_->Handle(packet.data(), packet.size(), &fd);
    if (donated != nullptr) *donated = std::move(fd);
    return proto::DecodeReply<Reply>(reply.data(), reply.size(), type, tag);
  }

  uint64_t Root() {
    auto r = Call<proto::AttachReply>(MsgType::kAttach, proto::Empty{});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->root.handle : 0;
  }

  SysResult<proto::WalkReply> Walk(uint64_t dir,
                                   std::vector<std::string> names) {
    return Call<proto::WalkReply>(MsgType::kWalk,
                                  proto::WalkRequest{dir, std::move(names)});
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
  uint32_t tag_ = 0;
};

TEST_F(ServerTest, AttachWalkOpenRead) {
  uint64_t root = Root();
  auto w = Walk(root, {"file"});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->nodes.size(), 1u);
  EXPECT_TRUE(S_ISREG(w->nodes[0].attr.mode));
  EXPECT_EQ(w->nodes[0].attr.size, 13u);
  HostFd fd;
  auto o = Call<proto::Empty>(
      MsgType::kOpen, proto::OpenRequest{w->nodes[0].handle, O_RDONLY}, &fd);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(fd.valid());
  char buf[64];
  ssize_t n = pread(fd.get(), buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "file contents");
}

TEST_F(ServerTest, MultiComponentWalkStopsAtFirstFailure) {
  uint64_t root = Root();
  auto w = Walk(root, {"sub", "inner"});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->nodes.size(), 2u);
  EXPECT_EQ(w->error, 0);
  w = Walk(root, {"sub", "missing", "x"});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->nodes.size(), 1u);
  EXPECT_EQ(w->error, ENOENT);
  EXPECT_EQ(Walk(root, {"missing"}).err(), ENOENT);
  EXPECT_EQ(Walk(root, {"file", "x"})->error, ENOTDIR);
}

TEST_F(ServerTest, RefusesNamesThatAreNotOneComponent) {
  uint64_t root = Root();
  const std::vector<std::string> bad_names = {"..",
                                              ".",
                                              "",
                                              "sub/inner",
                                              "/etc",
                                              std::string("a\0b", 3),
                                              std::string(256, 'a')};
  for (const std::string& bad : bad_names) {
    EXPECT_EQ(Walk(root, {bad}).err(), EINVAL) << "name: " << bad;
  }
}

TEST_F(ServerTest, SymlinksAreNeverFollowed) {
  uint64_t root = Root();
  for (const char* name : {"escape", "abs"}) {
    auto w = Walk(root, {name, "x"});
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->nodes.size(), 1u);
    EXPECT_TRUE(S_ISLNK(w->nodes[0].attr.mode));
    EXPECT_EQ(w->error, ENOTDIR);  // Walking through it would follow it.
    uint64_t h = w->nodes[0].handle;
    EXPECT_EQ(
        Call<proto::Empty>(MsgType::kOpen, proto::OpenRequest{h, O_RDONLY})
            .err(),
        ELOOP);
  }
  auto w = Walk(root, {"escape"});
  auto link = Call<proto::ReadLinkReply>(
      MsgType::kReadLink, proto::HandleRequest{w->nodes[0].handle});
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->target, "../secret");
}

TEST_F(ServerTest, ReadOnlyRefusesWrites) {
  uint64_t root = Root();
  uint64_t file = Walk(root, {"file"})->nodes[0].handle;
  EXPECT_EQ(
      Call<proto::Empty>(MsgType::kOpen, proto::OpenRequest{file, O_WRONLY})
          .err(),
      EROFS);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kOpen,
                               proto::OpenRequest{file, O_RDONLY | O_TRUNC})
                .err(),
            EROFS);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kOpen, proto::OpenRequest{root, O_RDWR})
                .err(),
            EISDIR);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kOpen,
                               proto::OpenRequest{file, O_RDONLY | O_CREAT})
                .err(),
            EINVAL);
  EXPECT_EQ(
      Call<proto::Empty>(MsgType::kOpen, proto::OpenRequest{file, O_ACCMODE})
          .err(),
      EINVAL);
}

TEST_F(ServerTest, RefusesSpecialFiles) {
  uint64_t root = Root();
  uint64_t fifo = Walk(root, {"fifo"})->nodes[0].handle;
  EXPECT_EQ(
      Call<proto::Empty>(MsgType::kOpen, proto::OpenRequest{fifo, O_RDONLY})
          .err(),
      EPERM);
}

TEST_F(ServerTest, ReadDirListsEveryEntryOnceAcrossBatches) {
  uint64_t root = Root();
  std::vector<std::string> names;
  uint64_t offset = 0;
  for (int i = 0; i < 100; i++) {
    auto r = Call<proto::ReadDirReply>(MsgType::kReadDir,
                                       proto::ReadDirRequest{root, offset, 2});
    ASSERT_TRUE(r.ok());
    if (r->entries.empty()) break;
    EXPECT_LE(r->entries.size(), 2u);
    for (const auto& e : r->entries) names.push_back(e.name);
    offset = r->entries.back().next_offset;
  }
  EXPECT_THAT(names,
              UnorderedElementsAre("sub", "file", "escape", "abs", "fifo"));
  uint64_t file = Walk(root, {"file"})->nodes[0].handle;
  EXPECT_EQ(Call<proto::ReadDirReply>(MsgType::kReadDir,
                                      proto::ReadDirRequest{file, 0, 8})
                .err(),
            ENOTDIR);
}

TEST(PseudoFilesystemTest, ProcIsOpaque) {
  // A server rooted at the host's "/": /proc can be stat'ed (the sentry
  // mounts its own over it) but nothing inside can be reached.
  ServerOptions options;
  Server server(HostFd(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)),
                HostFd(open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)),
                options);
  uint32_t tag = 0;
  auto call = [&](MsgType type, const auto& req, HostFd* fd) {
    std::vector<uint8_t> p =
        proto::Encode(static_cast<uint16_t>(type), ++tag, req);
    return server.Handle(p.data(), p.size(), fd);
  };
  HostFd fd;
  std::vector<uint8_t> r = call(MsgType::kAttach, proto::Empty{}, &fd);
  auto root = proto::DecodeReply<proto::AttachReply>(r.data(), r.size(),
                                                     MsgType::kAttach, tag);
  ASSERT_TRUE(root.ok());
  r = call(MsgType::kWalk, proto::WalkRequest{root->root.handle, {"proc"}},
           &fd);
  auto proc = proto::DecodeReply<proto::WalkReply>(r.data(), r.size(),
                                                   MsgType::kWalk, tag);
  ASSERT_TRUE(proc.ok());
  ASSERT_EQ(proc->nodes.size(), 1u);
  uint64_t h = proc->nodes[0].handle;
  EXPECT_TRUE(S_ISDIR(proc->nodes[0].attr.mode));
  r = call(MsgType::kWalk, proto::WalkRequest{h, {"self"}}, &fd);
  EXPECT_EQ(proto::DecodeReply<proto::WalkReply>(r.data(), r.size(),
                                                 MsgType::kWalk, tag)
                .err(),
            EACCES);
  r = call(MsgType::kWalk,
           proto::WalkRequest{root->root.handle, {"proc", "1", "mem"}}, &fd);
  auto deep = proto::DecodeReply<proto::WalkReply>(r.data(), r.size(),
                                                   MsgType::kWalk, tag);
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->nodes.size(), 1u);
  EXPECT_EQ(deep->error, EACCES);
  r = call(MsgType::kReadDir, proto::ReadDirRequest{h, 0, 16}, &fd);
  EXPECT_EQ(proto::DecodeReply<proto::ReadDirReply>(r.data(), r.size(),
                                                    MsgType::kReadDir, tag)
                .err(),
            EACCES);
  r = call(MsgType::kOpen, proto::OpenRequest{h, O_RDONLY | O_DIRECTORY}, &fd);
  EXPECT_EQ(
      proto::DecodeReply<proto::Empty>(r.data(), r.size(), MsgType::kOpen, tag)
          .err(),
      EACCES);
  EXPECT_FALSE(fd.valid());
  r = call(MsgType::kGetAttr, proto::HandleRequest{h}, &fd);
  EXPECT_TRUE(proto::DecodeReply<proto::Attr>(r.data(), r.size(),
                                              MsgType::kGetAttr, tag)
                  .ok());
}

TEST_F(ServerTest, WalkOfTooManyNamesIsRefused) {
  uint64_t root = Root();
  std::vector<std::string> names(proto::kMaxWalkNames + 1, "sub");
  EXPECT_EQ(Walk(root, names).err(), EINVAL);
}

TEST_F(ServerTest, StatFsAndGetAttr) {
  uint64_t root = Root();
  auto s =
      Call<proto::StatFsReply>(MsgType::kStatFs, proto::HandleRequest{root});
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->bsize, 0u);
  auto a = Call<proto::Attr>(MsgType::kGetAttr, proto::HandleRequest{root});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(S_ISDIR(a->mode));
}

TEST_F(ServerTest, UnknownAndClosedHandlesAreEBADF) {
  EXPECT_EQ(
      Call<proto::Attr>(MsgType::kGetAttr, proto::HandleRequest{12345}).err(),
      EBADF);
  uint64_t root = Root();
  uint64_t file = Walk(root, {"file"})->nodes[0].handle;
  size_t before = server_->handle_count();
  ASSERT_TRUE(
      Call<proto::Empty>(MsgType::kClose, proto::CloseRequest{{file, 999}})
          .ok());
  EXPECT_EQ(server_->handle_count(), before - 1);
  EXPECT_EQ(
      Call<proto::Attr>(MsgType::kGetAttr, proto::HandleRequest{file}).err(),
      EBADF);
}

TEST_F(ServerTest, HandleLimitIsENFILE) {
  uint64_t root = Root();
  int err = 0;
  for (int i = 0; i < 100 && err == 0; i++) {
    auto w = Walk(root, {"file"});
    if (!w.ok()) err = w.err();
  }
  EXPECT_EQ(err, ENFILE);
  EXPECT_LE(server_->handle_count(), 64u);
}

TEST_F(ServerTest, MalformedPacketsGetErrors) {
  HostFd fd;
  // Too short, bad size field, nonzero flags, trailing bytes, unknown type.
  std::vector<uint8_t> good =
      proto::Encode(static_cast<uint16_t>(MsgType::kAttach), 7, proto::Empty{});
  std::vector<std::vector<uint8_t>> bad = {{},   {1, 2, 3}, good,
                                           good, good,      good};
  bad[2][0] ^= 1;       // size mismatch
  bad[3][6] = 1;        // flags
  bad[4].push_back(0);  // trailing garbage (size updated below)
  bad[4][0] = static_cast<uint8_t>(bad[4].size());
  bad[5][4] = 0x42;  // unknown type
  for (const auto& p : bad) {
    std::vector<uint8_t> reply = server_->Handle(p.data(), p.size(), &fd);
    auto parsed = proto::ParsePacket(reply.data(), reply.size());
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->header.type,
              static_cast<uint16_t>(MsgType::kError) | proto::kReplyBit);
    EXPECT_FALSE(fd.valid());
  }
  // A vector count larger than the packet is refused before allocating.
  std::vector<uint8_t> huge =
      proto::Encode(static_cast<uint16_t>(MsgType::kClose), 1, proto::Empty{});
  for (uint8_t b : {0xff, 0xff, 0xff, 0x7f}) huge.push_back(b);
  huge[0] = static_cast<uint8_t>(huge.size());
  std::vector<uint8_t> reply = server_->Handle(huge.data(), huge.size(), &fd);
  auto r = proto::DecodeReply<proto::Empty>(reply.data(), reply.size(),
                                            MsgType::kClose, 1);
  EXPECT_EQ(r.err(), EINVAL);
}

}  // namespace
}  // namespace gofer
