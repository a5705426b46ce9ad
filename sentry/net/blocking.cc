#include "sentry/net/blocking.h"

namespace sentry::net {

std::optional<absl::Time> TimeoutDeadline(int64_t ns) {
  if (ns <= 0) return std::nullopt;
  return absl::Now() + absl::Nanoseconds(ns);
}

SysResult<void> BlockOn(vfs::CallContext& ctx,
                        std::optional<absl::Time> deadline,
                        std::vector<struct pollfd>* host) {
  SysResult<void> r = ctx.Block(deadline, host);
  if (r.ok()) return r;
  if (r.err() == ETIMEDOUT) return Errno(EAGAIN);
  if (deadline && r.err() == kERESTARTSYS) return Errno(EINTR);
  return r;
}

}  // namespace sentry::net
