// tmpfs: an in-memory filesystem whose regular files are memfds, so the
// guest's shared mappings and its reads and writes see the same pages.
//
// Lock order: the filesystem's tree_mu_ (every directory's entries) before
// an inode's attribute lock.

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

// The bytes a tmpfs's files hold (the pages their memfds allocated) and
// its bound (mount -o size=). Shared by the filesystem and its files, which
// may outlive it.
struct TmpfsSpace {
  std::atomic<int64_t> used{0};
  std::atomic<uint64_t> limit{0};
};

class TmpfsFilesystem final
    : public vfs::Filesystem,
      public std::enable_shared_from_this<TmpfsFilesystem> {
 public:
  // A new tmpfs whose root directory has `root_mode` and the given owner.
  // `type` is what /proc/mounts calls it (devfs is a "devtmpfs").
  static std::shared_ptr<TmpfsFilesystem> Create(uint32_t root_mode,
                                                 uint32_t uid, uint32_t gid,
                                                 std::string type = "tmpfs");

  // A new tmpfs from mount(2) data: mode=, uid=, gid= and size= are
  // applied (size=0 means no bound, as on Linux; k/m/g/t suffixes and %
  // of the RAM as tmpfs(5) spells them); nr_inodes= and the rest tmpfs
  // knows are accepted and not enforced; anything else is EINVAL, as tmpfs
  // says.
  static SysResult<std::shared_ptr<TmpfsFilesystem>> FromOptions(
      const std::string& data);

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }
  uint64_t NextIno() { return next_ino_.fetch_add(1); }

  // Guards the entries of every directory of this filesystem, so a rename
  // between two directories changes both atomically.
  absl::Mutex& tree_mu() ABSL_LOCK_RETURNED(tree_mu_) { return tree_mu_; }

  // The size bound in bytes; Create sets Linux's default, half the RAM.
  // Writes and fallocate past it fail with ENOSPC. Pages a guest touches
  // through a shared mapping count at the file's next write or size change.
  void set_size_limit(uint64_t bytes) { space_->limit.store(bytes); }
  const std::shared_ptr<TmpfsSpace>& space() const { return space_; }

 private:
  absl::Mutex tree_mu_;
  const std::shared_ptr<TmpfsSpace> space_ = std::make_shared<TmpfsSpace>();
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

  SysResult<std::string> GetXattr(vfs::CallContext& ctx,
                                  const std::string& name) override;
  SysResult<void> SetXattr(vfs::CallContext& ctx, const std::string& name,
                           const std::string& value, int flags) override;
  SysResult<std::vector<std::string>> ListXattr(vfs::CallContext& ctx) override;
  SysResult<void> RemoveXattr(vfs::CallContext& ctx,
                              const std::string& name) override;

  // The most bytes of names and values one inode may hold.
  static constexpr size_t kMaxXattrBytes = 64 << 10;

  void AdjustLinks(int delta);
  uint32_t links() const;
  void Touch(bool modify);
  TmpfsFilesystem* fs() const { return fs_; }

  // For an overlay's upper layer: the inode number of the lower file this
  // one was copied up from (0 if none), which the overlay keeps reporting.
  std::atomic<uint64_t> overlay_origin{0};

 protected:
  // The last link went (called with no lock held).
  virtual void OnUnlinked() {}

  mutable absl::Mutex attr_mu_;

 private:
  TmpfsFilesystem* const fs_;  // outlives its inodes: every mount holds it
  vfs::Attr attr_ ABSL_GUARDED_BY(attr_mu_);
  std::map<std::string, std::string> xattrs_ ABSL_GUARDED_BY(attr_mu_);
  size_t xattr_bytes_ ABSL_GUARDED_BY(attr_mu_) = 0;
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
  SysResult<std::shared_ptr<vfs::Inode>> CreateTmpfile(vfs::CallContext& ctx,
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
  SysResult<void> Rename(vfs::CallContext& ctx, const std::string& old_name,
                         vfs::Inode& moved, vfs::Inode& new_dir,
                         const std::string& new_name, vfs::Inode* replaced,
                         unsigned flags) override;

  // Adds a child made elsewhere (devfs populating itself).
  SysResult<void> AddChild(const std::string& name,
                           std::shared_ptr<TmpfsInode> child);

  // For an overlay's upper layer: a whiteout hides the lower file `name`
  // (EEXIST if the name is taken); DropWhiteouts empties a directory of
  // them before it is removed. An opaque directory hides the lower one.
  SysResult<void> AddWhiteout(const std::string& name);
  void DropWhiteouts();
  std::atomic<bool> opaque{false};

 private:
  SysResult<std::shared_ptr<vfs::Inode>> AddNew(
      const std::string& name, std::shared_ptr<TmpfsInode> child);

  // Guarded by fs()->tree_mu().
  std::map<std::string, std::shared_ptr<TmpfsInode>> children_;
};

class TmpfsFile final : public TmpfsInode {
 public:
  TmpfsFile(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid, uint32_t gid,
            std::shared_ptr<HostFd> memfd);
  // `allow_sealing` leaves the memfd open to F_ADD_SEALS (memfd_create's
  // MFD_ALLOW_SEALING); otherwise it is sealed against sealing.
  static SysResult<std::shared_ptr<TmpfsFile>> New(TmpfsFilesystem* fs,
                                                   uint32_t mode, uint32_t uid,
                                                   uint32_t gid,
                                                   bool allow_sealing = false);

  SysResult<vfs::Attr> GetAttr() override;
  SysResult<void> SetAttr(vfs::CallContext& ctx,
                          const AttrChange& change) override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;
  SysResult<void> Truncate(uint64_t size) override;
  SysResult<void> Allocate(int mode, uint64_t offset, uint64_t len) override;
  // The memfd holding the bytes (an overlay copies a file up into it).
  const std::shared_ptr<HostFd>& memfd() const { return memfd_; }

  ~TmpfsFile() override;
  // How many of `len` bytes written at `offset` (-1: at the end) fit in
  // the filesystem's bound: all of them, or a prefix, or ENOSPC.
  SysResult<size_t> Room(int64_t offset, size_t len);
  // Charges the filesystem for what the memfd holds now (after a write, a
  // size change, or a copy into memfd()).
  void Remeasure();
  // Copies all of `src` (open for reading) into this new, empty file (an
  // overlay's copy-up, an OCI tmpcopyup).
  SysResult<void> FillFrom(vfs::CallContext& ctx, vfs::FileDescription& src);
  // Open descriptions (mappings hold theirs): an unlinked file's pages are
  // freed when the last one closes.
  void Opened();
  void Closed();

 private:
  void OnUnlinked() override;
  void Release();
  std::atomic<int> opens_{0};
  const std::shared_ptr<HostFd> memfd_;
  const std::shared_ptr<TmpfsSpace> space_;
  std::atomic<int64_t> charged_{0};  // bytes this file counts in space_
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

// An overlay whiteout: a character device 0/0, as overlayfs marks one.
// Only the overlay sees it; it cannot be opened.
class TmpfsWhiteout final : public TmpfsInode {
 public:
  explicit TmpfsWhiteout(TmpfsFilesystem* fs) : TmpfsInode(fs, S_IFCHR, 0, 0) {}
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry&, int) override {
    return Errno(ENXIO);
  }
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

// A socket file (bind(2) of a path, or mknod(2)): sockets find each other
// by its device and inode number (sentry/net/af_unix); it cannot be opened.
class TmpfsSocketNode final : public TmpfsInode {
 public:
  TmpfsSocketNode(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid,
                  uint32_t gid);
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;
};

// memfd_create(2): a file of the sandbox's internal memfd filesystem with
// no name in any directory; /proc/PID/fd shows it as "/memfd:NAME
// (deleted)", as Linux does.
SysResult<vfs::VirtualDentry> NewMemfd(const std::string& name, uint32_t uid,
                                       uint32_t gid, bool allow_sealing);

}  // namespace sentry::fs::tmpfs

#endif  // SENTRY_FS_TMPFS_TMPFS_H_
