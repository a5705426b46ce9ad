// tmpfs: an in-memory filesystem whose regular files are memfds, so the
// guest's shared mappings and its reads and writes see the same pages.
//
// Lock order: a directory's mu_ before a child's attribute lock.

#ifndef SENTRY_FS_TMPFS_TMPFS_H_
#define SENTRY_FS_TMPFS_TMPFS_H_

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "sentry/base/host_fd.h"
#include "sentry/fs/pipe/pipe.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::tmpfs {

class TmpfsFilesystem final
    : public vfs::Filesystem,
      public std::enable_shared_from_this<TmpfsFilesystem> {
 public:
  // A new tmpfs whose root directory has `root_mode` and the given owner.
  // `type` is what /proc/mounts calls it (devfs is a "devtmpfs").
  static std::shared_ptr<TmpfsFilesystem> Create(uint32_t root_mode,
                                                 uint32_t uid, uint32_t gid,
                                                 std::string type = "tmpfs");

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }
  uint64_t NextIno() { return next_ino_.fetch_add(1); }

 private:
  explicit TmpfsFilesystem(std::string type) : Filesystem(std::move(type)) {}
  std::shared_ptr<vfs::Dentry> root_;
  std::atomic<uint64_t> next_ino_{1};
};

// Attributes every tmpfs inode keeps.
class TmpfsInode : public vfs::Inode {
 public:
  TmpfsInode(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid, uint32_t gid);
  SysResult<vfs::Attr> GetAttr() override;

  SysResult<void> SetAttr(vfs::CallContext& ctx,
                          const AttrChange& change) override;

  void AdjustLinks(int delta);
  void Touch(bool modify);
  TmpfsFilesystem* fs() const { return fs_; }

 protected:
  mutable absl::Mutex attr_mu_;

 private:
  TmpfsFilesystem* const fs_;  // outlives its inodes: every mount holds it
  vfs::Attr attr_ ABSL_GUARDED_BY(attr_mu_);
};

class TmpfsDir final : public TmpfsInode {
 public:
  using TmpfsInode::TmpfsInode;

  SysResult<std::shared_ptr<vfs::Inode>> Lookup(
      vfs::CallContext& ctx, const std::string& name) override;
  SysResult<std::vector<vfs::Dirent>> ReadDir(vfs::CallContext& ctx) override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;
  SysResult<std::shared_ptr<vfs::Inode>> Create(vfs::CallContext& ctx,
                                                const std::string& name,
                                                uint32_t mode) override;
  SysResult<std::shared_ptr<vfs::Inode>> Mkdir(vfs::CallContext& ctx,
                                               const std::string& name,
                                               uint32_t mode) override;
  SysResult<std::shared_ptr<vfs::Inode>> Symlink(
      vfs::CallContext& ctx, const std::string& name,
      const std::string& target) override;
  SysResult<std::shared_ptr<vfs::Inode>> Mknod(vfs::CallContext& ctx,
                                               const std::string& name,
                                               uint32_t mode) override;
  SysResult<void> Unlink(vfs::CallContext& ctx,
                         const std::string& name) override;
  SysResult<void> Rmdir(vfs::CallContext& ctx,
                        const std::string& name) override;
  SysResult<void> Link(vfs::CallContext& ctx, const std::string& name,
                       const std::shared_ptr<vfs::Inode>& target) override;

  // Adds a child made elsewhere (devfs populating itself).
  SysResult<void> AddChild(const std::string& name,
                           std::shared_ptr<TmpfsInode> child);

 private:
  SysResult<std::shared_ptr<vfs::Inode>> AddNew(
      const std::string& name, std::shared_ptr<TmpfsInode> child);

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<TmpfsInode>> children_
      ABSL_GUARDED_BY(mu_);
};

class TmpfsFile final : public TmpfsInode {
 public:
  TmpfsFile(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid, uint32_t gid,
            std::shared_ptr<HostFd> memfd);
  static SysResult<std::shared_ptr<TmpfsFile>> New(TmpfsFilesystem* fs,
                                                   uint32_t mode, uint32_t uid,
                                                   uint32_t gid);

  SysResult<vfs::Attr> GetAttr() override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;
  SysResult<void> Truncate(uint64_t size) override;

 private:
  const std::shared_ptr<HostFd> memfd_;
};

class TmpfsSymlink final : public TmpfsInode {
 public:
  TmpfsSymlink(TmpfsFilesystem* fs, uint32_t uid, uint32_t gid,
               std::string target);
  SysResult<std::string> ReadLink(vfs::CallContext& ctx) override;
  SysResult<vfs::Attr> GetAttr() override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  const std::string target_;
};

// A named pipe: every open shares one pipe.
class TmpfsFifo final : public TmpfsInode {
 public:
  TmpfsFifo(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid, uint32_t gid);
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  const std::shared_ptr<pipe::Pipe> pipe_;
};

}  // namespace sentry::fs::tmpfs

#endif  // SENTRY_FS_TMPFS_TMPFS_H_
