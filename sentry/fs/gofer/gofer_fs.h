// The filesystem of files served by the gofer. Each inode holds a gofer
// handle; opening a file gets a host fd donated by the gofer, and reads and
// writes then go to that fd directly.
//
// If the gofer dies, every call fails with EIO and the sandbox stays up.
//
// Attributes are cached per inode and refreshed after any change the sandbox
// makes to the filesystem (a directory change, a setattr, a write through a
// donated fd bumps the filesystem's generation); changes the host makes
// behind the sandbox's back are not seen until then, as with gVisor's
// exclusive cache policy.
//
// Lock order: GoferClient::mu_ is a leaf; GoferInode::mu_ is never held
// across a call to the gofer.

#ifndef SENTRY_FS_GOFER_GOFER_FS_H_
#define SENTRY_FS_GOFER_GOFER_FS_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "gofer/protocol/messages.h"
#include "sentry/base/host_fd.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::gofer {

namespace proto = ::gofer::proto;

// Synchronous calls over the gofer socket, one at a time.
class GoferClient final {
 public:
  explicit GoferClient(HostFd sock);

  // Sends `req` as a `type` request and decodes the reply; `fd` receives a
  // donated fd if the reply carries one.
  template <typename Reply, typename Req>
  SysResult<Reply> Call(proto::MsgType type, const Req& req,
                        HostFd* fd = nullptr);

  bool dead() const;

 private:
  SysResult<std::vector<uint8_t>> RoundTrip(const std::vector<uint8_t>& packet,
                                            HostFd* fd, bool* fds_lost);

  mutable absl::Mutex mu_;
  HostFd sock_ ABSL_GUARDED_BY(mu_);
  uint32_t next_tag_ ABSL_GUARDED_BY(mu_) = 1;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
};

class GoferFilesystem final : public vfs::Filesystem {
 public:
  // Attaches to the gofer on `sock`; fails if the gofer does not answer.
  static SysResult<std::shared_ptr<GoferFilesystem>> Create(HostFd sock);

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }
  GoferClient& client() { return client_; }

  // Bumped by every change the sandbox makes; an inode's cached attributes
  // from an older generation are fetched again.
  const std::shared_ptr<std::atomic<uint64_t>>& generation() const {
    return generation_;
  }
  uint64_t Changed() { return generation_->fetch_add(1) + 1; }

 private:
  explicit GoferFilesystem(HostFd sock)
      : Filesystem("9p"), client_(std::move(sock)) {}

  GoferClient client_;
  const std::shared_ptr<std::atomic<uint64_t>> generation_ =
      std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<vfs::Dentry> root_;
  uint64_t root_handle_ = 0;
};

class GoferInode final : public vfs::Inode {
 public:
  GoferInode(const std::shared_ptr<GoferFilesystem>& fs,
             const proto::Node& node);
  ~GoferInode() override;

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
  // Through a setattr of the size.
  SysResult<void> Truncate(uint64_t size) override;
  // fallocate(2) on a host fd the gofer opens for writing.
  SysResult<void> Allocate(int mode, uint64_t offset, uint64_t len) override;

  uint64_t handle() const { return handle_; }

 private:
  // The owner of a new file made by `ctx` in this directory: its fsuid,
  // and its fsgid unless this directory is set-group-ID.
  void NewOwner(vfs::CallContext& ctx, uint32_t* uid, uint32_t* gid);
  // Finishes a change that made `node`: an inode for it, the generation
  // bumped.
  SysResult<std::shared_ptr<vfs::Inode>> Made(
      const std::shared_ptr<GoferFilesystem>& fs, const proto::Node& node);

  // Weak: an inode may outlive its filesystem in the dentry cache's
  // recency list; calls then fail with EIO.
  SysResult<std::shared_ptr<GoferFilesystem>> Fs() const;
  const std::weak_ptr<GoferFilesystem> fs_;
  const uint64_t dev_;
  const uint64_t handle_;
  absl::Mutex mu_;
  vfs::Attr attr_ ABSL_GUARDED_BY(mu_);
  // The filesystem generation attr_ was fetched at.
  uint64_t attr_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The file a Create just made, open read-write, for the Open that
  // follows it (so a new file with mode 0 opens as asked, and in one
  // round trip).
  HostFd created_fd_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> link_
      ABSL_GUARDED_BY(mu_);  // cached symlink target
};

// Converts a gofer attribute, reporting `dev` as the device.
vfs::Attr AttrFromProto(const proto::Attr& a, uint64_t dev);

}  // namespace sentry::fs::gofer

#endif  // SENTRY_FS_GOFER_GOFER_FS_H_
