// pidfds (pidfd_open(2), CLONE_PIDFD): file descriptions that name a
// process. They keep the ThreadGroup object alive, not its pid: once the
// process is reaped, signals through the pidfd fail with ESRCH even if the
// number is reused.

#ifndef SENTRY_KERNEL_PIDFD_H_
#define SENTRY_KERNEL_PIDFD_H_

#include <memory>

#include "sentry/kernel/kernel.h"
#include "sentry/vfs/file.h"

namespace sentry::kernel {

class PidFD final : public vfs::StreamFD {
 public:
  PidFD(vfs::VirtualDentry vd, std::shared_ptr<ThreadGroup> tg, int flags);

  const std::shared_ptr<ThreadGroup>& tg() const { return tg_; }

  SysResult<size_t> Read(vfs::CallContext&, char*, size_t, int64_t*) override {
    return Errno(EINVAL);
  }
  SysResult<size_t> Write(vfs::CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EINVAL);
  }
  // Readable once the process has exited.
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return std::shared_ptr<WaitQueue>(tg_, &tg_->exit_events());
  }
  std::string AnonName() const override { return "anon_inode:[pidfd]"; }

 private:
  const std::shared_ptr<ThreadGroup> tg_;
};

std::shared_ptr<vfs::FileDescription> NewPidFD(std::shared_ptr<ThreadGroup> tg,
                                               int flags = O_RDWR);

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_PIDFD_H_
