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

// ---- A read-write server ----

class WritableServerTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    old_umask_ = umask(0);  // as RunGofer sets it
    MakeServer(false);
    // Under a user namespace (Bazel's sandbox) most ids cannot be given.
    std::string probe = dir_ + "/probe";
    WriteFile(probe, "");
    can_chown_ = chown(probe.c_str(), 1234, 5678) == 0;
    unlink(probe.c_str());
  }
  void TearDown() override {
    umask(old_umask_);
    ServerTest::TearDown();
  }

  struct stat HostStat(const std::string& rel) {
    struct stat st = {};
    EXPECT_EQ(lstat((dir_ + "/root/" + rel).c_str(), &st), 0) << rel;
    return st;
  }
  bool HostExists(const std::string& rel) {
    struct stat st;
    return lstat((dir_ + "/root/" + rel).c_str(), &st) == 0;
  }
  uint64_t Handle(uint64_t root, const std::string& name) {
    auto w = Walk(root, {name});
    EXPECT_TRUE(w.ok()) << name;
    return w.ok() ? w->nodes[0].handle : 0;
  }

  mode_t old_umask_ = 0;
  bool can_chown_ = false;
};

TEST_F(WritableServerTest, CreateDonatesAnOpenFileWithModeAndOwner) {
  uint64_t root = Root();
  HostFd fd;
  auto n = Call<proto::Node>(
      MsgType::kCreate,
      proto::CreateRequest{root, "new", O_RDWR, 0640, 1234, 5678}, &fd);
  ASSERT_TRUE(n.ok()) << strerror(n.err());
  ASSERT_TRUE(fd.valid());
  EXPECT_TRUE(S_ISREG(n->attr.mode));
  EXPECT_EQ(n->attr.mode & 07777, 0640u);
  if (can_chown_) {
    EXPECT_EQ(n->attr.uid, 1234u);
    EXPECT_EQ(n->attr.gid, 5678u);
    EXPECT_EQ(HostStat("new").st_uid, 1234u);
  }
  ASSERT_EQ(write(fd.get(), "hello", 5), 5);
  struct stat st = HostStat("new");
  EXPECT_EQ(st.st_size, 5);
  // The handle names the new file.
  auto a =
      Call<proto::Attr>(MsgType::kGetAttr, proto::HandleRequest{n->handle});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size, 5u);
  // O_EXCL: an existing name, or a symlink (even a dangling one), is EEXIST.
  EXPECT_EQ(Call<proto::Node>(MsgType::kCreate,
                              proto::CreateRequest{root, "new", O_RDWR, 0644})
                .err(),
            EEXIST);
  ASSERT_EQ(
      symlink("/nonexistent-gofer-target", (dir_ + "/root/dangling").c_str()),
      0);
  EXPECT_EQ(
      Call<proto::Node>(MsgType::kCreate,
                        proto::CreateRequest{root, "dangling", O_RDWR, 0644})
          .err(),
      EEXIST);
  EXPECT_FALSE(HostExists("../../nonexistent-gofer-target"));
  struct stat outside;
  EXPECT_NE(stat("/nonexistent-gofer-target", &outside), 0);
  // Flags that are not an open's, and mode bits beyond 07777.
  EXPECT_EQ(Call<proto::Node>(
                MsgType::kCreate,
                proto::CreateRequest{root, "x", O_RDWR | O_DIRECTORY, 0644})
                .err(),
            EINVAL);
  EXPECT_EQ(Call<proto::Node>(MsgType::kCreate,
                              proto::CreateRequest{root, "x", O_RDWR, 0170644})
                .err(),
            EINVAL);
  EXPECT_FALSE(HostExists("x"));
}

TEST_F(WritableServerTest, NamesAreCheckedForEveryChange) {
  uint64_t root = Root();
  uint64_t file = Handle(root, "file");
  const std::vector<std::string> bad_names = {"..",
                                              ".",
                                              "",
                                              "sub/inner",
                                              "/etc",
                                              std::string("a\0b", 3),
                                              std::string(256, 'a')};
  for (const std::string& bad : bad_names) {
    EXPECT_EQ(Call<proto::Node>(MsgType::kCreate,
                                proto::CreateRequest{root, bad, O_RDWR, 0644})
                  .err(),
              EINVAL);
    EXPECT_EQ(
        Call<proto::Node>(MsgType::kMkdir, proto::MkdirRequest{root, bad, 0755})
            .err(),
        EINVAL);
    EXPECT_EQ(Call<proto::Node>(MsgType::kMknod,
                                proto::MkdirRequest{root, bad, S_IFIFO | 0644})
                  .err(),
              EINVAL);
    EXPECT_EQ(Call<proto::Node>(MsgType::kSymlink,
                                proto::SymlinkRequest{root, bad, "t"})
                  .err(),
              EINVAL);
    EXPECT_EQ(
        Call<proto::Empty>(MsgType::kLink, proto::LinkRequest{root, bad, file})
            .err(),
        EINVAL);
    EXPECT_EQ(
        Call<proto::Empty>(MsgType::kUnlink, proto::UnlinkRequest{root, bad, 0})
            .err(),
        EINVAL);
    EXPECT_EQ(Call<proto::Empty>(MsgType::kRename,
                                 proto::RenameRequest{root, bad, root, "y", 0})
                  .err(),
              EINVAL);
    EXPECT_EQ(
        Call<proto::Empty>(MsgType::kRename,
                           proto::RenameRequest{root, "file", root, bad, 0})
            .err(),
        EINVAL);
  }
  EXPECT_TRUE(HostExists("file"));
  EXPECT_TRUE(HostExists("sub/inner"));
  // A file is not a directory to make things in.
  EXPECT_EQ(
      Call<proto::Node>(MsgType::kMkdir, proto::MkdirRequest{file, "x", 0755})
          .err(),
      ENOTDIR);
}

TEST_F(WritableServerTest, MkdirMknodSymlinkLinkUnlink) {
  uint64_t root = Root();
  auto d = Call<proto::Node>(MsgType::kMkdir,
                             proto::MkdirRequest{root, "d", 0750, 42, 43});
  ASSERT_TRUE(d.ok()) << strerror(d.err());
  EXPECT_TRUE(S_ISDIR(d->attr.mode));
  EXPECT_EQ(HostStat("d").st_mode, S_IFDIR | 0750u);
  if (can_chown_) {
    EXPECT_EQ(HostStat("d").st_uid, 42u);
  }
  auto f = Call<proto::Node>(
      MsgType::kMknod, proto::MkdirRequest{d->handle, "fifo", S_IFIFO | 0600});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(S_ISFIFO(HostStat("d/fifo").st_mode));
  auto r = Call<proto::Node>(
      MsgType::kMknod, proto::MkdirRequest{d->handle, "reg", S_IFREG | 0600});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(S_ISREG(HostStat("d/reg").st_mode));
  for (uint32_t type : {S_IFCHR, S_IFBLK, S_IFSOCK, S_IFDIR, S_IFLNK}) {
    EXPECT_EQ(
        Call<proto::Node>(MsgType::kMknod,
                          proto::MkdirRequest{d->handle, "dev", type | 0600})
            .err(),
        EPERM);
  }
  EXPECT_FALSE(HostExists("d/dev"));
  auto l = Call<proto::Node>(
      MsgType::kSymlink,
      proto::SymlinkRequest{d->handle, "l", "/etc/passwd", 7, 8});
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(S_ISLNK(l->attr.mode));
  if (can_chown_) {
    EXPECT_EQ(HostStat("d/l").st_uid, 7u);
  }
  // The symlink's own owner changed; /etc/passwd's did not.
  struct stat passwd;
  ASSERT_EQ(stat("/etc/passwd", &passwd), 0);
  EXPECT_NE(passwd.st_uid, 7u);
  // Hard links: a file yes, a directory no, a symlink as itself.
  uint64_t file = Handle(root, "file");
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kLink,
                                 proto::LinkRequest{d->handle, "hard", file})
                  .ok());
  EXPECT_EQ(HostStat("d/hard").st_ino, HostStat("file").st_ino);
  EXPECT_EQ(HostStat("file").st_nlink, 2u);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kLink,
                               proto::LinkRequest{root, "dirlink", d->handle})
                .err(),
            EPERM);
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kLink,
                                 proto::LinkRequest{root, "l2", l->handle})
                  .ok());
  EXPECT_TRUE(S_ISLNK(HostStat("l2").st_mode));
  // Unlink and rmdir.
  EXPECT_EQ(Call<proto::Empty>(MsgType::kUnlink,
                               proto::UnlinkRequest{root, "d", AT_REMOVEDIR})
                .err(),
            ENOTEMPTY);
  EXPECT_EQ(
      Call<proto::Empty>(MsgType::kUnlink, proto::UnlinkRequest{root, "d", 0})
          .err(),
      EISDIR);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kUnlink,
                               proto::UnlinkRequest{root, "file", 0x1234})
                .err(),
            EINVAL);
  for (const char* name : {"fifo", "reg", "l", "hard"}) {
    ASSERT_TRUE(Call<proto::Empty>(MsgType::kUnlink,
                                   proto::UnlinkRequest{d->handle, name, 0})
                    .ok())
        << name;
  }
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kUnlink,
                                 proto::UnlinkRequest{root, "d", AT_REMOVEDIR})
                  .ok());
  EXPECT_FALSE(HostExists("d"));
  // Unlinking a symlink removes the symlink, never its target.
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kUnlink,
                                 proto::UnlinkRequest{root, "escape", 0})
                  .ok());
  struct stat secret;
  EXPECT_EQ(stat((dir_ + "/secret").c_str(), &secret), 0);
}

TEST_F(WritableServerTest, Rename) {
  uint64_t root = Root();
  uint64_t sub = Handle(root, "sub");
  uint64_t file = Handle(root, "file");
  ASSERT_TRUE(
      Call<proto::Empty>(MsgType::kRename,
                         proto::RenameRequest{root, "file", sub, "moved", 0})
          .ok());
  EXPECT_FALSE(HostExists("file"));
  EXPECT_TRUE(HostExists("sub/moved"));
  // The handle follows the file.
  auto a = Call<proto::Attr>(MsgType::kGetAttr, proto::HandleRequest{file});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size, 13u);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kRename,
                               proto::RenameRequest{sub, "moved", sub, "inner",
                                                    RENAME_NOREPLACE})
                .err(),
            EEXIST);
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kRename,
                                 proto::RenameRequest{sub, "moved", root, "abs",
                                                      RENAME_EXCHANGE})
                  .ok());
  EXPECT_TRUE(S_ISREG(HostStat("abs").st_mode));
  EXPECT_TRUE(S_ISLNK(HostStat("sub/moved").st_mode));
  EXPECT_EQ(Call<proto::Empty>(
                MsgType::kRename,
                proto::RenameRequest{root, "sub", root, "x",
                                     RENAME_EXCHANGE | RENAME_NOREPLACE})
                .err(),
            EINVAL);
  EXPECT_EQ(
      Call<proto::Empty>(MsgType::kRename,
                         proto::RenameRequest{root, "sub", root, "x", 0x80})
          .err(),
      EINVAL);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kRename,
                               proto::RenameRequest{file, "a", root, "x", 0})
                .err(),
            ENOTDIR);
}

TEST_F(WritableServerTest, SetAttr) {
  uint64_t root = Root();
  uint64_t file = Handle(root, "file");
  proto::SetAttrRequest req;
  req.handle = file;
  req.valid = proto::kSetAttrMode | proto::kSetAttrUid | proto::kSetAttrSize |
              proto::kSetAttrMtime;
  req.mode = 04711;
  req.uid = can_chown_ ? 99 : getuid();
  req.size = 4;
  req.mtime = {1000000000, 5};
  req.atime = {7, 7};  // not in `valid`: left alone
  struct stat before = HostStat("file");
  auto a = Call<proto::Attr>(MsgType::kSetAttr, req);
  ASSERT_TRUE(a.ok()) << strerror(a.err());
  struct stat st = HostStat("file");
  EXPECT_EQ(st.st_mode & 07777, 04711u);
  EXPECT_EQ(st.st_uid, can_chown_ ? 99u : getuid());
  EXPECT_EQ(st.st_gid, before.st_gid);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 5);
  EXPECT_EQ(st.st_atim.tv_sec, before.st_atim.tv_sec);
  EXPECT_EQ(a->size, 4u);
  EXPECT_EQ(a->mode & 07777, 04711u);
  // Only atime, with UTIME_OMIT's meaning for mtime.
  req.valid = proto::kSetAttrAtime;
  req.atime = {12345, 0};
  ASSERT_TRUE(Call<proto::Attr>(MsgType::kSetAttr, req).ok());
  st = HostStat("file");
  EXPECT_EQ(st.st_atim.tv_sec, 12345);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  // Bad requests.
  req.valid = 64;
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EINVAL);
  req.valid = proto::kSetAttrMode;
  req.mode = 0170000;
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EINVAL);
  req.valid = proto::kSetAttrAtime;
  req.atime = {0, 2000000000};
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EINVAL);
  // Fields are checked even when `valid` leaves them out.
  req.valid = proto::kSetAttrSize;
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EINVAL);
  req.atime = {};
  req.mode = 0;
  req.handle = Handle(root, "sub");
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EISDIR);
  // A symlink's mode and times stay: the target outside is never touched.
  struct stat secret_before;
  ASSERT_EQ(stat((dir_ + "/secret").c_str(), &secret_before), 0);
  req.handle = Handle(root, "escape");
  req.valid = proto::kSetAttrMode | proto::kSetAttrMtime | proto::kSetAttrSize;
  req.mode = 0777;
  req.atime = {};
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EOPNOTSUPP);
  struct stat secret_after;
  ASSERT_EQ(stat((dir_ + "/secret").c_str(), &secret_after), 0);
  EXPECT_EQ(secret_after.st_mode, secret_before.st_mode);
  EXPECT_EQ(secret_after.st_size, secret_before.st_size);
  EXPECT_EQ(secret_after.st_mtim.tv_sec, secret_before.st_mtim.tv_sec);
}

TEST_F(WritableServerTest, OpenForWriting) {
  uint64_t root = Root();
  uint64_t file = Handle(root, "file");
  HostFd fd;
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kOpen,
                                 proto::OpenRequest{file, O_WRONLY | O_TRUNC},
                                 &fd)
                  .ok());
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(HostStat("file").st_size, 0);
  ASSERT_EQ(write(fd.get(), "ab", 2), 2);
  ASSERT_TRUE(Call<proto::Empty>(MsgType::kOpen,
                                 proto::OpenRequest{file, O_WRONLY | O_APPEND},
                                 &fd)
                  .ok());
  ASSERT_EQ(write(fd.get(), "cd", 2), 2);
  char buf[8];
  HostFd r(open((dir_ + "/root/file").c_str(), O_RDONLY));
  ASSERT_EQ(read(r.get(), buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "abcd");
  EXPECT_EQ(Call<proto::Empty>(MsgType::kOpen, proto::OpenRequest{root, O_RDWR})
                .err(),
            EISDIR);
}

TEST_F(ServerTest, ReadOnlyRefusesEveryChange) {
  uint64_t root = Root();
  uint64_t file = Walk(root, {"file"})->nodes[0].handle;
  HostFd fd;
  EXPECT_EQ(
      Call<proto::Node>(MsgType::kCreate,
                        proto::CreateRequest{root, "n", O_RDWR, 0644}, &fd)
          .err(),
      EROFS);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(
      Call<proto::Node>(MsgType::kMkdir, proto::MkdirRequest{root, "n", 0755})
          .err(),
      EROFS);
  EXPECT_EQ(Call<proto::Node>(MsgType::kMknod,
                              proto::MkdirRequest{root, "n", S_IFIFO | 0644})
                .err(),
            EROFS);
  EXPECT_EQ(Call<proto::Node>(MsgType::kSymlink,
                              proto::SymlinkRequest{root, "n", "t"})
                .err(),
            EROFS);
  EXPECT_EQ(
      Call<proto::Empty>(MsgType::kLink, proto::LinkRequest{root, "n", file})
          .err(),
      EROFS);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kUnlink,
                               proto::UnlinkRequest{root, "file", 0})
                .err(),
            EROFS);
  EXPECT_EQ(Call<proto::Empty>(MsgType::kRename,
                               proto::RenameRequest{root, "file", root, "n", 0})
                .err(),
            EROFS);
  proto::SetAttrRequest req;
  req.handle = file;
  req.valid = proto::kSetAttrMode;
  req.mode = 0777;
  EXPECT_EQ(Call<proto::Attr>(MsgType::kSetAttr, req).err(), EROFS);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/root/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_NE(stat((dir_ + "/root/n").c_str(), &st), 0);
}

TEST_F(ServerTest, TruncatedChangeRequestsAreEINVAL) {
  // Every new message, cut short at each byte: an EINVAL reply, nothing
  // made on the host.
  MakeServer(false);
  uint64_t root = Root();
  std::vector<std::vector<uint8_t>> packets = {
      proto::Encode(static_cast<uint16_t>(MsgType::kCreate), 1,
                    proto::CreateRequest{root, "n1", O_RDWR, 0644}),
      proto::Encode(static_cast<uint16_t>(MsgType::kMkdir), 1,
                    proto::MkdirRequest{root, "n2", 0755}),
      proto::Encode(static_cast<uint16_t>(MsgType::kMknod), 1,
                    proto::MkdirRequest{root, "n3", S_IFIFO | 0644}),
      proto::Encode(static_cast<uint16_t>(MsgType::kSymlink), 1,
                    proto::SymlinkRequest{root, "n4", "t"}),
      proto::Encode(static_cast<uint16_t>(MsgType::kLink), 1,
                    proto::LinkRequest{root, "n5", root}),
      proto::Encode(static_cast<uint16_t>(MsgType::kUnlink), 1,
                    proto::UnlinkRequest{root, "file", 0}),
      proto::Encode(static_cast<uint16_t>(MsgType::kRename), 1,
                    proto::RenameRequest{root, "file", root, "n6", 0}),
      proto::Encode(static_cast<uint16_t>(MsgType::kSetAttr), 1,
                    proto::SetAttrRequest{root, proto::kSetAttrMode, 0700}),
  };
  for (const auto& full : packets) {
    for (size_t len = proto::kHeaderSize; len < full.size(); len++) {
      std::vector<uint8_t> p(full.begin(), full.begin() + len);
      p[0] = static_cast<uint8_t>(len);
      HostFd fd;
      std::vector<uint8_t> reply = server_->Handle(p.data(), p.size(), &fd);
      auto parsed = proto::ParsePacket(reply.data(), reply.size());
      ASSERT_TRUE(parsed.has_value());
      EXPECT_EQ(parsed->header.type,
                static_cast<uint16_t>(MsgType::kError) | proto::kReplyBit);
      EXPECT_FALSE(fd.valid());
    }
  }
  for (const char* n : {"n1", "n2", "n3", "n4", "n5", "n6"}) {
    struct stat st;
    EXPECT_NE(lstat((dir_ + "/root/" + n).c_str(), &st), 0) << n;
  }
  struct stat st;
  EXPECT_EQ(stat((dir_ + "/root/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(PseudoFilesystemTest, NoChangesInsideProc) {
  // A read-write server at "/": nothing can be made, removed or changed
  // inside /proc.
  ServerOptions options;
  options.read_only = false;
  Server server(HostFd(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)),
                HostFd(open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)),
                options);
  uint32_t tag = 0;
  auto call = [&](MsgType type, const auto& req, HostFd* fd) {
    std::vector<uint8_t> p =
        proto::Encode(static_cast<uint16_t>(type), ++tag, req);
    std::vector<uint8_t> r = server.Handle(p.data(), p.size(), fd);
    return proto::DecodeReply<proto::Empty>(r.data(), r.size(), type, tag)
        .err();
  };
  HostFd fd;
  std::vector<uint8_t> p = proto::Encode(
      static_cast<uint16_t>(MsgType::kAttach), ++tag, proto::Empty{});
  std::vector<uint8_t> r = server.Handle(p.data(), p.size(), &fd);
  auto root = proto::DecodeReply<proto::AttachReply>(r.data(), r.size(),
                                                     MsgType::kAttach, tag);
  ASSERT_TRUE(root.ok());
  p = proto::Encode(static_cast<uint16_t>(MsgType::kWalk), ++tag,
                    proto::WalkRequest{root->root.handle, {"proc"}});
  r = server.Handle(p.data(), p.size(), &fd);
  auto proc = proto::DecodeReply<proto::WalkReply>(r.data(), r.size(),
                                                   MsgType::kWalk, tag);
  ASSERT_TRUE(proc.ok());
  uint64_t h = proc->nodes[0].handle;
  EXPECT_EQ(
      call(MsgType::kCreate, proto::CreateRequest{h, "x", O_RDWR, 0644}, &fd),
      EACCES);
  EXPECT_EQ(call(MsgType::kMkdir, proto::MkdirRequest{h, "x", 0755}, &fd),
            EACCES);
  EXPECT_EQ(call(MsgType::kUnlink, proto::UnlinkRequest{h, "self", 0}, &fd),
            EACCES);
  EXPECT_EQ(call(MsgType::kSymlink, proto::SymlinkRequest{h, "x", "y"}, &fd),
            EACCES);
  EXPECT_EQ(
      call(MsgType::kRename, proto::RenameRequest{h, "self", h, "x", 0}, &fd),
      EACCES);
  EXPECT_EQ(call(MsgType::kSetAttr,
                 proto::SetAttrRequest{h, proto::kSetAttrMode, 0777}, &fd),
            EACCES);
  EXPECT_FALSE(fd.valid());
}

}  // namespace
}  // namespace gofer
