#include "sentry/kernel/pidfd.h"

#include <poll.h>

#include "sentry/fs/anon/anon.h"

namespace sentry::kernel {

PidFD::PidFD(vfs::VirtualDentry vd, std::shared_ptr<ThreadGroup> tg, int flags)
    : StreamFD(std::move(vd), flags), tg_(std::move(tg)) {}

uint32_t PidFD::Readiness(uint32_t mask) {
  absl::MutexLock l(&tg_->kernel().mu());
  // Reaped: hung up as well.
  if (tg_->kernel().FindThreadGroupLocked(tg_->tgid()) != tg_.get()) {
    return (mask & (POLLIN | POLLRDNORM)) | POLLHUP;
  }
  if (tg_->zombie || tg_->tasks.empty()) return mask & (POLLIN | POLLRDNORM);
  return 0;
}

std::shared_ptr<vfs::FileDescription> NewPidFD(std::shared_ptr<ThreadGroup> tg,
                                               int flags) {
  vfs::VirtualDentry vd = fs::anon::NewAnonFile("anon_inodefs", 0600, 0, 0);
  return std::make_shared<PidFD>(std::move(vd), std::move(tg), flags);
}

}  // namespace sentry::kernel
