// Implements pipe(2) and pipe2(2).

#include <fcntl.h>

#include "sentry/fs/pipe/pipe.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

SysResult<uint64_t> DoPipe(Task& t, GuestAddr fds_addr, int flags) {
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) != 0) {
    return Errno(EINVAL);
  }
  auto [r, w] = fs::pipe::NewPipe(flags, t.creds().fsuid, t.creds().fsgid);
  bool cloexec = (flags & O_CLOEXEC) != 0;
  SENTRY_ASSIGN_OR_RETURN(int rfd, t.NewFd(r, cloexec));
  SysResult<int> wfd = t.NewFd(w, cloexec);
  if (!wfd.ok()) {
    (void)t.fds().Remove(rfd);
    return wfd.error();
  }
  int32_t fds[2] = {rfd, *wfd};
  SysResult<void> c = t.CopyOutObj(fds_addr, fds);
  if (!c.ok()) {
    (void)t.fds().Remove(rfd);
    (void)t.fds().Remove(*wfd);
    return c.error();
  }
  return 0;
}

}  // namespace

// Implements Linux syscall pipe(2).
SENTRY_SYSCALL(SysPipe) { return DoPipe(t, a.Addr(0), 0); }

// Implements Linux syscall pipe2(2).
SENTRY_SYSCALL(SysPipe2) { return DoPipe(t, a.Addr(0), a.Int(1)); }

}  // namespace sentry::syscalls
