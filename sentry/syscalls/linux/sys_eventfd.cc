// Implements eventfd(2) and eventfd2(2).

#include <sys/eventfd.h>

#include "sentry/fs/eventfd/eventfd.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

SysResult<uint64_t> DoEventfd(Task& t, uint32_t initial, int flags) {
  if ((flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) != 0) {
    return Errno(EINVAL);
  }
  auto f = fs::eventfd::NewEventFD(initial, flags);
  SENTRY_ASSIGN_OR_RETURN(int fd, t.NewFd(f, (flags & EFD_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

}  // namespace

// Implements Linux syscall eventfd(2).
SENTRY_SYSCALL(SysEventfd) { return DoEventfd(t, a.U32(0), 0); }

// Implements Linux syscall eventfd2(2).
SENTRY_SYSCALL(SysEventfd2) { return DoEventfd(t, a.U32(0), a.Int(1)); }

}  // namespace sentry::syscalls
