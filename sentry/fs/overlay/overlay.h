// overlay: a read-only lower filesystem (the host root, through the gofer)
// under a tmpfs upper layer, as Linux's overlayfs. Writes copy a file up
// into the upper layer first; removing a lower file leaves a whiteout in
// the upper layer; a directory made where a lower one was removed is
// opaque. Nothing written ever reaches the lower layer, so the default root
// of `runsc do` is writable while the host stays untouched.
//
// All state lives in the layers: an OverlayInode is a view of (lower,
// upper) and may be made again for the same path after the dentry cache
// dropped it; copy-up adopts an upper file that another view already made.
//
// As overlayfs without redirect_dir, renaming a directory that has a lower
// part fails with EXDEV (mv(1) then copies), and a copy-up breaks hard
// links between lower files.
//
// Lock order: OverlayFilesystem::copy_mu_ (held across a copy-up and every
// change of the upper tree, so changes see a stable upper layer) before
// OverlayInode::mu_ before the upper tmpfs's locks. Calls to the lower
// filesystem may be made under copy_mu_ (a copy-up reads the lower file).

#ifndef SENTRY_FS_OVERLAY_OVERLAY_H_
#define SENTRY_FS_OVERLAY_OVERLAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::overlay {

class OverlayInode;

class OverlayFilesystem final
    : public vfs::Filesystem,
      public std::enable_shared_from_this<OverlayFilesystem> {
 public:
  // An overlay of `lower_root` (a directory dentry of the lower filesystem,
  // mounted as `lower_fs`) under `upper`, an empty tmpfs.
  static SysResult<std::shared_ptr<OverlayFilesystem>> Create(
      std::shared_ptr<vfs::Filesystem> lower_fs,
      std::shared_ptr<vfs::Dentry> lower_root,
      std::shared_ptr<tmpfs::TmpfsFilesystem> upper);

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }

 private:
  friend class OverlayInode;
  OverlayFilesystem() : Filesystem("overlay") {}

  std::shared_ptr<vfs::Filesystem> lower_fs_;
  // A detached mount of the lower filesystem: copy-up opens lower files
  // through it.
  std::shared_ptr<vfs::Mount> lower_mount_;
  std::shared_ptr<tmpfs::TmpfsFilesystem> upper_;
  std::shared_ptr<vfs::Dentry> root_;
  absl::Mutex copy_mu_;
};

class OverlayInode final : public vfs::Inode,
                           public std::enable_shared_from_this<OverlayInode> {
 public:
  // `parent` is null for the root; `lower` or `upper` may be null (not
  // both).
  OverlayInode(OverlayFilesystem* fs, std::shared_ptr<OverlayInode> parent,
               std::string name, std::shared_ptr<vfs::Inode> lower,
               std::shared_ptr<tmpfs::TmpfsInode> upper, uint32_t type);

  SysResult<vfs::Attr> GetAttr() override;
  SysResult<std::shared_ptr<vfs::Inode>> Lookup(
      vfs::CallContext& ctx, const std::string& name) override;
  SysResult<std::vector<vfs::Dirent>> ReadDir(vfs::CallContext& ctx) override;
  SysResult<std::string> ReadLink(vfs::CallContext& ctx) override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;
  SysResult<std::shared_ptr<vfs::Inode>> Create(vfs::CallContext& ctx,
                                                const std::string& name,
                                                uint32_t mode) override;
  SysResult<std::shared_ptr<vfs::Inode>> Mkdir(vfs::CallContext& ctx,
                                               const std::string& name,
                                               uint32_t mode) override;
  SysResult<std::shared_ptr<vfs::Inode>> CreateTmpfile(vfs::CallContext& ctx,
                                                       uint32_t mode) override;
  SysResult<std::shared_ptr<vfs::Inode>> Mknod(vfs::CallContext& ctx,
                                               const std::string& name,
                                               uint32_t mode) override;
  SysResult<std::shared_ptr<vfs::Inode>> Symlink(
      vfs::CallContext& ctx, const std::string& name,
      const std::string& target) override;
  SysResult<void> Unlink(vfs::CallContext& ctx,
                         const std::string& name) override;
  SysResult<void> Rmdir(vfs::CallContext& ctx,
                        const std::string& name) override;
  SysResult<void> Link(vfs::CallContext& ctx, const std::string& name,
                       const std::shared_ptr<vfs::Inode>& target) override;
  SysResult<void> Rename(vfs::CallContext& ctx, const std::string& old_name,
                         vfs::Inode& moved, vfs::Inode& new_dir,
                         const std::string& new_name, vfs::Inode* replaced,
                         unsigned flags) override;
  SysResult<void> SetAttr(vfs::CallContext& ctx,
                          const AttrChange& change) override;
  SysResult<void> Truncate(uint64_t size) override;
  SysResult<void> Allocate(int mode, uint64_t offset, uint64_t len) override;
  SysResult<std::string> GetXattr(vfs::CallContext& ctx,
                                  const std::string& name) override;
  SysResult<void> SetXattr(vfs::CallContext& ctx, const std::string& name,
                           const std::string& value, int flags) override;
  SysResult<std::vector<std::string>> ListXattr(vfs::CallContext& ctx) override;
  SysResult<void> RemoveXattr(vfs::CallContext& ctx,
                              const std::string& name) override;

 private:
  std::shared_ptr<tmpfs::TmpfsInode> upper() const;
  std::shared_ptr<vfs::Inode> lower() const;
  // The layer that answers reads: upper once it exists.
  std::shared_ptr<vfs::Inode> top() const;
  tmpfs::TmpfsDir* upper_dir() const;

  // Copies this file (and its missing ancestors) up; `data` copies a
  // regular file's bytes (not needed when it is about to be truncated).
  SysResult<void> CopyUp(vfs::CallContext& ctx, bool data = true);
  SysResult<void> CopyUpLocked(vfs::CallContext& ctx, bool data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_->copy_mu_);
  // Whether the merged directory `dir` lists nothing.
  SysResult<bool> MergedEmpty(vfs::CallContext& ctx);
  // Whether this directory's lower layer has `name` (and it shows).
  bool LowerHas(vfs::CallContext& ctx, const std::string& name);
  // Clears a whiteout at `name` in the upper directory; true if there was
  // one (the new entry must then hide the lower one: opaque if a dir).
  SysResult<bool> ClearWhiteout(vfs::CallContext& ctx, const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_->copy_mu_);
  // Wraps an upper child just made.
  std::shared_ptr<vfs::Inode> Wrap(const std::string& name,
                                   std::shared_ptr<vfs::Inode> upper_child);

  OverlayFilesystem* const fs_;  // outlives its inodes: every mount holds it
  mutable absl::Mutex mu_;
  // Where the file is; a rename moves it.
  std::shared_ptr<OverlayInode> parent_ ABSL_GUARDED_BY(mu_);
  std::string name_ ABSL_GUARDED_BY(mu_);
  const std::shared_ptr<vfs::Inode> lower_;
  std::shared_ptr<tmpfs::TmpfsInode> upper_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::fs::overlay

#endif  // SENTRY_FS_OVERLAY_OVERLAY_H_
