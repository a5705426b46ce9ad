// Implements signalfd(2) and signalfd4(2).

#include <sys/signalfd.h>

#include "sentry/fs/signalfd/signalfd.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

SysResult<uint64_t> DoSignalfd(Task& t, int fd, GuestAddr mask_addr,
                               uint64_t size, int flags) {
  if (size != sizeof(kernel::SigSet)) return Errno(EINVAL);
  kernel::SigSet mask;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(mask_addr, &mask));
  if ((flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) != 0) return Errno(EINVAL);
  if (fd == -1) {
    auto f = fs::signalfd::NewSignalFD(mask, flags);
    SENTRY_ASSIGN_OR_RETURN(int nfd, t.NewFd(f, (flags & SFD_CLOEXEC) != 0));
    return static_cast<uint64_t>(nfd);
  }
  // An existing signalfd takes the new mask; `flags` are not applied.
  SENTRY_ASSIGN_OR_RETURN(auto sf,
                          GetFileOf<fs::signalfd::SignalFD>(t, fd, EINVAL));
  sf->SetMask(mask);
  return static_cast<uint64_t>(fd);
}

}  // namespace

// Implements Linux syscall signalfd(2).
SENTRY_SYSCALL(SysSignalfd) {
  return DoSignalfd(t, a.Int(0), a.Addr(1), a.U64(2), 0);
}

// Implements Linux syscall signalfd4(2).
SENTRY_SYSCALL(SysSignalfd4) {
  return DoSignalfd(t, a.Int(0), a.Addr(1), a.U64(2), a.Int(3));
}

}  // namespace sentry::syscalls
