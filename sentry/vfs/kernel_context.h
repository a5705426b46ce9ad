// A CallContext for the kernel acting on its own behalf (setting up mounts
// at boot) and for tests: given credentials, and no guest memory.

#ifndef SENTRY_VFS_KERNEL_CONTEXT_H_
#define SENTRY_VFS_KERNEL_CONTEXT_H_

#include "sentry/vfs/vfs.h"

namespace sentry::vfs {

class KernelContext final : public CallContext {
 public:
  explicit KernelContext(
      auth::Credentials creds = auth::Credentials::ForUser(0, 0))
      : creds_(std::move(creds)) {}

  const auth::Credentials& creds() const override { return creds_; }
  void set_creds(auth::Credentials c) { creds_ = std::move(c); }

  // There is no guest memory to copy from or to.
  SysResult<size_t> CopyIn(GuestAddr, void*, size_t) override {
    return Errno(EFAULT);
  }
  SysResult<size_t> CopyOut(GuestAddr, const void*, size_t) override {
    return Errno(EFAULT);
  }

 private:
  auth::Credentials creds_;
};

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_KERNEL_CONTEXT_H_
