// Implements epoll_create(2), epoll_create1(2), epoll_ctl(2),
// epoll_wait(2), epoll_pwait(2) and epoll_pwait2(2).

#include <sys/epoll.h>

#include "absl/time/clock.h"
#include "sentry/fs/epoll/epoll.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

using fs::epoll::EpollFD;
using fs::epoll::GuestEpollEvent;

SysResult<uint64_t> NewEpollFd(Task& t, int flags) {
  auto ep = fs::epoll::NewEpoll(flags & O_CLOEXEC);
  SENTRY_ASSIGN_OR_RETURN(int fd, t.NewFd(ep, (flags & O_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

SysResult<std::shared_ptr<EpollFD>> GetEpoll(Task& t, int fd) {
  return GetFileOf<EpollFD>(t, fd, EINVAL);
}

// Waits for events; never restarted (a signal makes it EINTR, as Linux).
SysResult<uint64_t> EpollWait(Task& t, int epfd, GuestAddr events, int max,
                              std::optional<absl::Time> deadline) {
  if (max <= 0 ||
      static_cast<uint64_t>(max) > INT32_MAX / sizeof(GuestEpollEvent)) {
    return Errno(EINVAL);
  }
  if (!RangeOk(t, events, static_cast<uint64_t>(max) * sizeof(GuestEpollEvent)))
    return Errno(EFAULT);
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<EpollFD> ep, GetEpoll(t, epfd));
  std::shared_ptr<WaitQueue> q = ep->EventQueue();
  ScopedWait w(q.get(), t.waiter(), kEventAll);
  bool timed_out = false;
  for (;;) {
    std::vector<GuestEpollEvent> ready = ep->Collect(max);
    if (!ready.empty()) {
      SENTRY_RETURN_IF_ERROR(t.CopyOutFull(
          events, ready.data(), ready.size() * sizeof(GuestEpollEvent)));
      return ready.size();
    }
    if (timed_out || (deadline && *deadline <= absl::Now())) return 0;
    std::vector<struct pollfd> host;
    ep->HostPollFds(kEventAll, &host);
    SysResult<void> r = t.Block(deadline, host.empty() ? nullptr : &host);
    if (!r.ok()) {
      if (r.err() == ETIMEDOUT) {
        timed_out = true;
        continue;
      }
      return Errno(EINTR);
    }
  }
}

std::optional<absl::Time> DeadlineFromMs(int timeout) {
  if (timeout < 0) return std::nullopt;
  return absl::Now() + absl::Milliseconds(timeout);
}

}  // namespace

// Implements Linux syscall epoll_create(2).
SENTRY_SYSCALL(SysEpollCreate) {
  if (a.Int(0) <= 0) return Errno(EINVAL);
  return NewEpollFd(t, 0);
}

// Implements Linux syscall epoll_create1(2).
SENTRY_SYSCALL(SysEpollCreate1) {
  int flags = a.Int(0);
  if ((flags & ~EPOLL_CLOEXEC) != 0) return Errno(EINVAL);
  return NewEpollFd(t, flags);
}

// Implements Linux syscall epoll_ctl(2).
SENTRY_SYSCALL(SysEpollCtl) {
  int epfd = a.Int(0), op = a.Int(1), fd = a.Int(2);
  GuestEpollEvent ev{};
  if (op != EPOLL_CTL_DEL) {
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(3), &ev));
  }
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> epf,
                          t.GetFile(epfd));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> file,
                          t.GetFile(fd));
  auto ep = std::dynamic_pointer_cast<EpollFD>(epf);
  if (ep == nullptr || epf == file) return Errno(EINVAL);
  // Files that are always ready cannot be watched.
  if (!file->Pollable()) return Errno(EPERM);
  SENTRY_RETURN_IF_ERROR(ep->Ctl(op, fd, file, ev));
  return 0;
}

// Implements Linux syscall epoll_wait(2).
SENTRY_SYSCALL(SysEpollWait) {
  return EpollWait(t, a.Int(0), a.Addr(1), a.Int(2), DeadlineFromMs(a.Int(3)));
}

// Implements Linux syscall epoll_pwait(2).
SENTRY_SYSCALL(SysEpollPwait) {
  SENTRY_RETURN_IF_ERROR(ApplySigmask(t, a.Addr(4), a.U64(5)));
  return EpollWait(t, a.Int(0), a.Addr(1), a.Int(2), DeadlineFromMs(a.Int(3)));
}

// Implements Linux syscall epoll_pwait2(2).
SENTRY_SYSCALL(SysEpollPwait2) {
  std::optional<absl::Time> deadline;
  if (!a.Addr(3).IsNull()) {
    struct timespec ts;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(3), &ts));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
      return Errno(EINVAL);
    }
    deadline = absl::Now() + absl::DurationFromTimespec(ts);
  }
  SENTRY_RETURN_IF_ERROR(ApplySigmask(t, a.Addr(4), a.U64(5)));
  return EpollWait(t, a.Int(0), a.Addr(1), a.Int(2), deadline);
}

}  // namespace sentry::syscalls
