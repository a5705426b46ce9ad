// The sentry's gofer filesystem against a real gofer server on a socketpair.

#include "sentry/fs/gofer/gofer_fs.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "gofer/server.h"
#include "gtest/gtest.h"
#include "sentry/vfs/kernel_context.h"
#include "sentry/vfs/ops.h"

namespace sentry::fs::gofer {
namespace {

class GoferFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/goferfs.XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    ASSERT_EQ(mkdir((dir_ + "/d").c_str(), 0755), 0);
    int fd = open((dir_ + "/d/f").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_EQ(write(fd, "contents", 8), 8);
    close(fd);
    ASSERT_EQ(symlink("d/f", (dir_ + "/link").c_str()), 0);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    server_sock_ = sv[0];
    // As the gofer process does at start: a handle is a host fd.
    struct rlimit nofile;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
    nofile.rlim_cur = nofile.rlim_max;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &nofile), 0);
    for (int i = 0; i < kManyFiles; i++) {
      int f = open((dir_ + "/d/many" + std::to_string(i)).c_str(),
                   O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      ASSERT_GE(f, 0);
      close(f);
    }
    server_obj_ = std::make_unique<::gofer::Server>(
        HostFd(open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
        HostFd(open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)),
        ::gofer::ServerOptions{});
    server_ = std::thread([this] {
      (void)server_obj_->Serve(server_sock_);
      close(server_sock_);
    });
    auto fs = GoferFilesystem::Create(HostFd(sv[1]));
    ASSERT_TRUE(fs.ok());
    fs_ = *fs;
    ns_ = std::make_unique<vfs::MountNamespace>(std::make_shared<vfs::Mount>(
        fs_, fs_->root(), vfs::kMountReadOnly, "host"));
  }

  void TearDown() override {
    ns_.reset();
    fs_.reset();  // closes the client socket; the server sees EOF
    if (server_.joinable()) server_.join();
    system(("rm -rf " + dir_).c_str());
  }

  vfs::PathContext Pc() {
    return vfs::PathContext{ns_.get(), ns_->Root(), ns_->Root()};
  }

  vfs::KernelContext ctx_;
  std::string dir_;
  // More files than the dentry cache keeps (RecentDentries::kCapacity).
  static constexpr int kManyFiles = 20000;
  int server_sock_ = -1;
  std::unique_ptr<::gofer::Server> server_obj_;
  std::thread server_;
  std::shared_ptr<GoferFilesystem> fs_;
  std::unique_ptr<vfs::MountNamespace> ns_;
};

TEST_F(GoferFsTest, WalkOpenReadThroughSymlink) {
  auto f = vfs::OpenAt(ctx_, Pc(), "/link", O_RDONLY, 0);
  ASSERT_TRUE(f.ok()) << f.err();
  char buf[16];
  int64_t off = 0;
  auto n = (*f)->Read(ctx_, buf, sizeof(buf), &off);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "contents");
  EXPECT_EQ((*f)->Stat()->size, 8u);
  EXPECT_EQ((*f)->Stat()->dev, fs_->dev());
}

TEST_F(GoferFsTest, ReadOnlyMountAndMissingFiles) {
  EXPECT_EQ(vfs::OpenAt(ctx_, Pc(), "/d/f", O_WRONLY, 0).err(), EROFS);
  EXPECT_EQ(vfs::OpenAt(ctx_, Pc(), "/d/new", O_CREAT | O_WRONLY, 0644).err(),
            EROFS);
  EXPECT_EQ(vfs::OpenAt(ctx_, Pc(), "/nope", O_RDONLY, 0).err(), ENOENT);
  EXPECT_EQ(vfs::OpenAt(ctx_, Pc(), "/d/f/x", O_RDONLY, 0).err(), ENOTDIR);
}

TEST_F(GoferFsTest, ReaddirAndReadlink) {
  auto d = vfs::OpenAt(ctx_, Pc(), "/", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_TRUE(d.ok());
  std::vector<std::string> names;
  ASSERT_TRUE((*d)->IterDirents(ctx_,
                                [&](const vfs::Dirent& e, int64_t) {
                                  names.push_back(e.name);
                                  return true;
                                })
                  .ok());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "d", "link"}));
  vfs::Resolver r(ctx_, *ns_, ns_->Root(), ns_->Root());
  vfs::ResolveOptions nofollow;
  nofollow.follow_final = false;
  auto link = r.Resolve("/link", nofollow);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(*link->dentry->inode()->ReadLink(ctx_), "d/f");
}

TEST_F(GoferFsTest, AWalkOverManyFilesDoesNotPinAHandleEach) {
  vfs::Resolver r(ctx_, *ns_, ns_->Root(), ns_->Root());
  for (int i = 0; i < kManyFiles; i++) {
    auto vd = r.Resolve("/d/many" + std::to_string(i));
    ASSERT_TRUE(vd.ok()) << i << ": " << strerror(vd.err());
  }
  // One more round trip: every Close the walk caused has been served.
  ASSERT_TRUE(fs_->GetStatFs().ok());
  size_t held = server_obj_->handle_count();
  EXPECT_GT(held, 100u);
  EXPECT_LT(held, 17000u) << "the dentry cache keeps a gofer handle per file";
}

TEST_F(GoferFsTest, DeadGoferMeansEIO) {
  vfs::Resolver r(ctx_, *ns_, ns_->Root(), ns_->Root());
  auto d = r.Resolve("/d");
  ASSERT_TRUE(d.ok());
  shutdown(server_sock_, SHUT_RDWR);  // the gofer goes away
  server_.join();
  EXPECT_EQ(r.Resolve("/d/f").err(), EIO);
  EXPECT_EQ(fs_->GetStatFs().err(), EIO);
}

}  // namespace
}  // namespace sentry::fs::gofer
