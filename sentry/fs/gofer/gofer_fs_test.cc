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
  virtual bool writable() const { return false; }

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
        ::gofer::ServerOptions{.read_only = !writable()});
    server_ = std::thread([this] {
      (void)server_obj_->Serve(server_sock_);
      close(server_sock_);
    });
    auto fs = GoferFilesystem::Create(HostFd(sv[1]));
    ASSERT_TRUE(fs.ok());
    fs_ = *fs;
    ns_ = std::make_unique<vfs::MountNamespace>(std::make_shared<vfs::Mount>(
        fs_, fs_->root(), writable() ? 0 : vfs::kMountReadOnly, "host"));
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

class GoferFsWritableTest : public GoferFsTest {
 protected:
  bool writable() const override { return true; }
  void SetUp() override {
    old_umask_ = umask(0);  // as the gofer process runs
    GoferFsTest::SetUp();
  }
  void TearDown() override {
    GoferFsTest::TearDown();
    umask(old_umask_);
  }
  struct stat HostStat(const std::string& rel) {
    struct stat st = {};
    EXPECT_EQ(lstat((dir_ + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }
  bool HostExists(const std::string& rel) {
    struct stat st;
    return lstat((dir_ + "/" + rel).c_str(), &st) == 0;
  }
  std::string HostRead(const std::string& rel) {
    std::string out;
    int fd = open((dir_ + "/" + rel).c_str(), O_RDONLY | O_CLOEXEC);
    char buf[256];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
    if (fd >= 0) close(fd);
    return out;
  }
  vfs::Attr PathStat(const std::string& path) {
    vfs::Resolver r(ctx_, *ns_, ns_->Root(), ns_->Root());
    vfs::ResolveOptions nofollow;
    nofollow.follow_final = false;
    auto vd = r.Resolve(path, nofollow);
    EXPECT_TRUE(vd.ok()) << path;
    if (!vd.ok()) return {};
    auto a = vd->dentry->inode()->GetAttr();
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : vfs::Attr{};
  }
  vfs::VirtualDentry At(const std::string& path) {
    vfs::Resolver r(ctx_, *ns_, ns_->Root(), ns_->Root());
    auto vd = r.Resolve(path);
    EXPECT_TRUE(vd.ok()) << path;
    return vd.ok() ? *vd : vfs::VirtualDentry{};
  }

  mode_t old_umask_ = 0;
};

TEST_F(GoferFsWritableTest, CreateWriteAndStatSeesTheNewSize) {
  auto f = vfs::OpenAt(ctx_, Pc(), "/new", O_CREAT | O_EXCL | O_WRONLY, 0600);
  ASSERT_TRUE(f.ok()) << strerror(f.err());
  EXPECT_EQ(HostStat("new").st_mode, S_IFREG | 0600u);
  EXPECT_EQ(PathStat("/new").size, 0u);
  int64_t off = 0;
  ASSERT_EQ(*(*f)->Write(ctx_, "hello", 5, &off), 5u);
  // The path's stat, not only the fd's, sees the write.
  EXPECT_EQ(PathStat("/new").size, 5u);
  EXPECT_EQ((*f)->Stat()->size, 5u);
  EXPECT_EQ(HostRead("new"), "hello");
  // A new file opens as asked even if its mode forbids it (0 here).
  auto g = vfs::OpenAt(ctx_, Pc(), "/zero", O_CREAT | O_RDWR, 0);
  ASSERT_TRUE(g.ok());
  off = 0;
  ASSERT_EQ(*(*g)->Write(ctx_, "xy", 2, &off), 2u);
  EXPECT_EQ(HostRead("zero"), "xy");
  // Reopen, append, truncate.
  auto a = vfs::OpenAt(ctx_, Pc(), "/new", O_WRONLY | O_APPEND, 0);
  ASSERT_TRUE(a.ok());
  off = 0;
  ASSERT_EQ(*(*a)->Write(ctx_, "!!", 2, &off), 2u);
  EXPECT_EQ(HostRead("new"), "hello!!");
  ASSERT_TRUE(At("/new").dentry->inode()->Truncate(3).ok());
  EXPECT_EQ(HostRead("new"), "hel");
  EXPECT_EQ(PathStat("/new").size, 3u);
  auto t = vfs::OpenAt(ctx_, Pc(), "/new", O_WRONLY | O_TRUNC, 0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(PathStat("/new").size, 0u);
  ASSERT_TRUE(At("/new").dentry->inode()->Allocate(0, 0, 8192).ok());
  EXPECT_EQ(PathStat("/new").size, 8192u);
  EXPECT_EQ(
      vfs::OpenAt(ctx_, Pc(), "/new", O_CREAT | O_EXCL | O_RDWR, 0644).err(),
      EEXIST);
}

TEST_F(GoferFsWritableTest, DirectoryChangesReachTheHost) {
  ASSERT_TRUE(vfs::MkdirAt(ctx_, Pc(), "/m", 0750).ok());
  EXPECT_EQ(HostStat("m").st_mode, S_IFDIR | 0750u);
  uint32_t nlink = PathStat("/").nlink;
  ASSERT_TRUE(vfs::MkdirAt(ctx_, Pc(), "/m2", 0700).ok());
  EXPECT_EQ(PathStat("/").nlink, nlink + 1);
  ASSERT_TRUE(vfs::SymlinkAt(ctx_, Pc(), "d/f", "/m/sym").ok());
  char target[64];
  ssize_t n = readlink((dir_ + "/m/sym").c_str(), target, sizeof(target));
  EXPECT_EQ(std::string(target, n > 0 ? n : 0), "d/f");
  ASSERT_TRUE(vfs::MknodAt(ctx_, Pc(), "/m/fifo", S_IFIFO | 0600).ok());
  EXPECT_TRUE(S_ISFIFO(HostStat("m/fifo").st_mode));
  EXPECT_EQ(vfs::MknodAt(ctx_, Pc(), "/m/chr", S_IFCHR | 0600).err(), EPERM);
  ASSERT_TRUE(vfs::LinkAt(ctx_, At("/d/f"), Pc(), "/m/hard").ok());
  EXPECT_EQ(HostStat("m/hard").st_ino, HostStat("d/f").st_ino);
  EXPECT_EQ(PathStat("/d/f").nlink, 2u);
  ASSERT_TRUE(vfs::RenameAt(ctx_, Pc(), "/m/hard", Pc(), "/renamed", 0).ok());
  EXPECT_FALSE(HostExists("m/hard"));
  EXPECT_EQ(HostRead("renamed"), "contents");
  ASSERT_TRUE(vfs::Chmod(ctx_, At("/renamed"), 0604).ok());
  EXPECT_EQ(HostStat("d/f").st_mode & 07777, 0604u);
  EXPECT_EQ(PathStat("/d/f").mode & 07777, 0604u);
  struct timespec times[2] = {{1000, 0}, {2000, 0}};
  ASSERT_TRUE(vfs::SetTimes(ctx_, At("/renamed"), times).ok());
  EXPECT_EQ(HostStat("renamed").st_mtim.tv_sec, 2000);
  EXPECT_EQ(PathStat("/renamed").atime.tv_sec, 1000);
  struct timespec omit[2] = {{5, UTIME_OMIT}, {3000, 0}};
  ASSERT_TRUE(vfs::SetTimes(ctx_, At("/renamed"), omit).ok());
  EXPECT_EQ(HostStat("renamed").st_atim.tv_sec, 1000);
  EXPECT_EQ(HostStat("renamed").st_mtim.tv_sec, 3000);
  EXPECT_EQ(vfs::UnlinkAt(ctx_, Pc(), "/m", true).err(), ENOTEMPTY);
  ASSERT_TRUE(vfs::UnlinkAt(ctx_, Pc(), "/m/sym", false).ok());
  ASSERT_TRUE(vfs::UnlinkAt(ctx_, Pc(), "/m/fifo", false).ok());
  ASSERT_TRUE(vfs::UnlinkAt(ctx_, Pc(), "/m", true).ok());
  EXPECT_FALSE(HostExists("m"));
  EXPECT_EQ(vfs::OpenAt(ctx_, Pc(), "/m", O_RDONLY, 0).err(), ENOENT);
}

TEST_F(GoferFsWritableTest, DeadGoferMeansEIOForChanges) {
  ASSERT_TRUE(At("/d").valid());
  shutdown(server_sock_, SHUT_RDWR);
  server_.join();
  EXPECT_EQ(vfs::MkdirAt(ctx_, Pc(), "/d/x", 0755).err(), EIO);
  EXPECT_EQ(vfs::OpenAt(ctx_, Pc(), "/d/y", O_CREAT | O_RDWR, 0644).err(), EIO);
}

}  // namespace
}  // namespace sentry::fs::gofer
