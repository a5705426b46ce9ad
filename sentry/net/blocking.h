// Waiting, as every socket family waits: a socket timeout option
// (SO_RCVTIMEO, SO_SNDTIMEO) turned into a deadline, and one wait with
// Linux's socket errors.

#ifndef SENTRY_NET_BLOCKING_H_
#define SENTRY_NET_BLOCKING_H_

#include <poll.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "sentry/base/sys_result.h"
#include "sentry/vfs/vfs.h"

namespace sentry::net {

// The deadline of a socket timeout option (0: none) from now.
std::optional<absl::Time> TimeoutDeadline(int64_t ns);

// ctx.Block(deadline), where a timed-out socket call fails with EAGAIN
// and one interrupted while it had a timeout is not restarted (Linux's
// sock_intr_errno).
// `host`: host fds whose readiness also ends the wait.
SysResult<void> BlockOn(vfs::CallContext& ctx,
                        std::optional<absl::Time> deadline,
                        std::vector<struct pollfd>* host = nullptr);

}  // namespace sentry::net

#endif  // SENTRY_NET_BLOCKING_H_
