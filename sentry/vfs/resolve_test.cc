// Path walk and VFS operations, over tmpfs.

#include "sentry/vfs/resolve.h"

#include <fcntl.h>

#include <cstring>

#include "gtest/gtest.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/kernel_context.h"
#include "sentry/vfs/ops.h"

namespace sentry::vfs {
namespace {

using fs::tmpfs::TmpfsFilesystem;

class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_fs_ = TmpfsFilesystem::Create(0755, 0, 0);
    ns_ = std::make_unique<MountNamespace>(
        std::make_shared<Mount>(root_fs_, root_fs_->root(), 0, "root"));
    ASSERT_TRUE(Mkdir("/a"));
    ASSERT_TRUE(Mkdir("/a/b"));
    ASSERT_TRUE(Mkdir("/mnt"));
    ASSERT_TRUE(Create("/a/b/file"));
    ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "b/file", "/a/rel").ok());
    ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "/a/b", "/abs").ok());
    ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "loop2", "/loop1").ok());
    ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "loop1", "/loop2").ok());
    ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "/nowhere", "/dangling").ok());
  }

  PathContext Pc(VirtualDentry start = {}) {
    if (!start.valid()) start = ns_->Root();
    return PathContext{ns_.get(), ns_->Root(), start};
  }
  bool Mkdir(const char* p) { return MkdirAt(ctx_, Pc(), p, 0755).ok(); }
  bool Create(const char* p) {
    return OpenAt(ctx_, Pc(), p, O_CREAT | O_WRONLY, 0644).ok();
  }
  SysResult<VirtualDentry> Resolve(std::string_view p, ResolveOptions o = {},
                                   VirtualDentry start = {}) {
    PathContext pc = Pc(start);
    Resolver r(ctx_, *pc.ns, pc.root, pc.start);
    return r.Resolve(p, o);
  }
  std::string Path(const VirtualDentry& vd) {
    return ns_->PathOf(vd, ns_->Root());
  }

  KernelContext ctx_;
  std::shared_ptr<TmpfsFilesystem> root_fs_;
  std::unique_ptr<MountNamespace> ns_;
};

TEST_F(VfsTest, DotDotAndDotNormalize) {
  auto vd = Resolve("/a/./b/../b/file");
  ASSERT_TRUE(vd.ok());
  EXPECT_EQ(Path(*vd), "/a/b/file");
  // ".." at the root stays at the root.
  EXPECT_EQ(Path(*Resolve("/../../a/..")), "/");
  EXPECT_EQ(Path(*Resolve("////a//b///")), "/a/b");
}

TEST_F(VfsTest, SymlinksRelativeAndAbsolute) {
  EXPECT_EQ(Path(*Resolve("/a/rel")), "/a/b/file");
  EXPECT_EQ(Path(*Resolve("/abs/file")), "/a/b/file");
  ResolveOptions nofollow;
  nofollow.follow_final = false;
  auto link = Resolve("/a/rel", nofollow);
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(link->dentry->inode()->IsSymlink());
  // A trailing slash follows even when the final link would not be.
  EXPECT_EQ(Path(*Resolve("/abs/", nofollow)), "/a/b");
}

TEST_F(VfsTest, SymlinkLoopsAreELOOPAndDanglingENOENT) {
  EXPECT_EQ(Resolve("/loop1").err(), ELOOP);
  EXPECT_EQ(Resolve("/dangling").err(), ENOENT);
  // A chain of exactly 40 links resolves; 41 does not.
  ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "/a", "/c0").ok());
  for (int i = 1; i <= 41; i++) {
    std::string from = "/c" + std::to_string(i);
    ASSERT_TRUE(SymlinkAt(ctx_, Pc(), "/c" + std::to_string(i - 1), from).ok());
  }
  EXPECT_TRUE(Resolve("/c39").ok());        // 40 traversals: c39 ... c0
  EXPECT_EQ(Resolve("/c40").err(), ELOOP);  // 41
}

TEST_F(VfsTest, NotADirectory) {
  EXPECT_EQ(Resolve("/a/b/file/x").err(), ENOTDIR);
  EXPECT_EQ(Resolve("/a/b/file/").err(), ENOTDIR);
  ResolveOptions dir;
  dir.must_be_dir = true;
  EXPECT_EQ(Resolve("/a/b/file", dir).err(), ENOTDIR);
  EXPECT_EQ(Resolve("/missing/x").err(), ENOENT);
  EXPECT_EQ(Resolve("").err(), ENOENT);
  EXPECT_EQ(Resolve("/" + std::string(256, 'n')).err(), ENAMETOOLONG);
  EXPECT_EQ(Resolve(std::string(4096, '/')).err(), ENAMETOOLONG);
}

TEST_F(VfsTest, MountsAreCrossedBothWays) {
  auto other = TmpfsFilesystem::Create(01777, 0, 0);
  auto mp = Resolve("/mnt");
  ASSERT_TRUE(mp.ok());
  ASSERT_TRUE(
      ns_->Attach(*mp, std::make_shared<Mount>(other, other->root(), 0, "t"))
          .ok());
  ASSERT_TRUE(Create("/mnt/inside"));
  auto inside = Resolve("/mnt/inside");
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside->mount->fs(), other);
  EXPECT_EQ(Path(*inside), "/mnt/inside");
  // ".." from the mounted root goes to the parent of the mountpoint.
  EXPECT_EQ(Path(*Resolve("/mnt/../a")), "/a");
  EXPECT_EQ(Path(*Resolve("/mnt/..")), "/");
  // The covered directory cannot be removed while mounted on.
  EXPECT_EQ(UnlinkAt(ctx_, Pc(), "/mnt", true).err(), EBUSY);
}

TEST_F(VfsTest, ReadOnlyMountRefusesWrites) {
  auto ro = TmpfsFilesystem::Create(0755, 0, 0);
  auto mp = Resolve("/mnt");
  ASSERT_TRUE(ns_->Attach(*mp, std::make_shared<Mount>(ro, ro->root(),
                                                       kMountReadOnly, "ro"))
                  .ok());
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/mnt/new", O_CREAT | O_WRONLY, 0644).err(),
            EROFS);
  EXPECT_EQ(MkdirAt(ctx_, Pc(), "/mnt/d", 0755).err(), EROFS);
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/mnt", O_RDONLY | O_DIRECTORY, 0).ok(), true);
}

TEST_F(VfsTest, OpenFlagRules) {
  EXPECT_EQ(
      OpenAt(ctx_, Pc(), "/a/b/file", O_CREAT | O_EXCL | O_WRONLY, 0644).err(),
      EEXIST);
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/a/rel", O_RDONLY | O_NOFOLLOW, 0).err(),
            ELOOP);
  EXPECT_TRUE(OpenAt(ctx_, Pc(), "/a/rel", O_PATH | O_NOFOLLOW, 0).ok());
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/a", O_WRONLY, 0).err(), EISDIR);
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/a/b/file", O_RDONLY | O_DIRECTORY, 0).err(),
            ENOTDIR);
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/a/", O_CREAT | O_WRONLY, 0644).err(), EISDIR);
  // O_CREAT through a symlink opens the existing target.
  EXPECT_TRUE(OpenAt(ctx_, Pc(), "/a/rel", O_CREAT | O_RDONLY, 0644).ok());
}

TEST_F(VfsTest, PermissionsForUnprivilegedUsers) {
  ASSERT_TRUE(MkdirAt(ctx_, Pc(), "/private", 0700).ok());
  ASSERT_TRUE(Create("/private/f"));
  ctx_.set_creds(auth::Credentials::ForUser(1000, 1000));
  EXPECT_EQ(Resolve("/private/f").err(), EACCES);
  EXPECT_EQ(OpenAt(ctx_, Pc(), "/a/b/file", O_WRONLY, 0).err(), EACCES);
  EXPECT_TRUE(OpenAt(ctx_, Pc(), "/a/b/file", O_RDONLY, 0).ok());
  EXPECT_EQ(MkdirAt(ctx_, Pc(), "/a/x", 0755).err(), EACCES);
}

TEST_F(VfsTest, UnlinkAndRmdir) {
  EXPECT_EQ(UnlinkAt(ctx_, Pc(), "/a", false).err(), EISDIR);
  EXPECT_EQ(UnlinkAt(ctx_, Pc(), "/a/b/file", true).err(), ENOTDIR);
  EXPECT_EQ(UnlinkAt(ctx_, Pc(), "/a/b", true).err(), ENOTEMPTY);
  EXPECT_TRUE(UnlinkAt(ctx_, Pc(), "/a/b/file", false).ok());
  EXPECT_EQ(Resolve("/a/b/file").err(), ENOENT);
  EXPECT_TRUE(UnlinkAt(ctx_, Pc(), "/a/b", true).ok());
  EXPECT_EQ(UnlinkAt(ctx_, Pc(), "/a/.", true).err(), EINVAL);
  // The link counts follow: /a has only "." and its name left.
  auto a = Resolve("/a");
  EXPECT_EQ(a->dentry->inode()->GetAttr()->nlink, 2u);
}

TEST_F(VfsTest, ReaddirListsDotsAndChildren) {
  auto fd = OpenAt(ctx_, Pc(), "/a/b", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_TRUE(fd.ok());
  std::vector<std::string> names;
  ASSERT_TRUE((*fd)
                  ->IterDirents(ctx_,
                                [&](const Dirent& d, int64_t) {
                                  names.push_back(d.name);
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "file"}));
}

}  // namespace
}  // namespace sentry::vfs
