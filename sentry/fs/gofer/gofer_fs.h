// The filesystem of files served by the gofer. Each inode holds a gofer
// handle; opening a file gets a host fd donated by the gofer, and reads and
// writes then go to that fd directly.
//
// If the gofer dies, every call fails with EIO and the sandbox stays up.
//
// Lock order: GoferClient::mu_ is a leaf; GoferInode::mu_ is never held
// across a call to the gofer.

#ifndef SENTRY_FS_GOFER_GOFER_FS_H_
#define SENTRY_FS_GOFER_GOFER_FS_H_

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

 private:
  explicit GoferFilesystem(HostFd sock)
      : Filesystem("9p"), client_(std::move(sock)) {}

  GoferClient client_;
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

  uint64_t handle() const { return handle_; }

 private:
  // Weak: an inode may outlive its filesystem in the dentry cache's
  // recency list; calls then fail with EIO.
  SysResult<std::shared_ptr<GoferFilesystem>> Fs() const;
  const std::weak_ptr<GoferFilesystem> fs_;
  const uint64_t dev_;
  const uint64_t handle_;
  absl::Mutex mu_;
  vfs::Attr attr_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> link_
      ABSL_GUARDED_BY(mu_);  // cached symlink target
};

// Converts a gofer attribute, reporting `dev` as the device.
vfs::Attr AttrFromProto(const proto::Attr& a, uint64_t dev);

}  // namespace sentry::fs::gofer

#endif  // SENTRY_FS_GOFER_GOFER_FS_H_
