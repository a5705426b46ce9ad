// Implements the calls that set a file's access and modification times:
// utime(2), utimes(2), futimesat(2) and utimensat(2).

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <utime.h>

#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/ops.h"

namespace sentry::syscalls {

namespace {

SysResult<uint64_t> SetTimesAt(Task& t, int dirfd, GuestAddr path, int flags,
                               const struct timespec* times) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) == 0,
                (flags & AT_EMPTY_PATH) != 0));
  SENTRY_RETURN_IF_ERROR(vfs::SetTimes(t, target.vd, times));
  return 0;
}

// utimes(2) and futimesat(2): microseconds, NULL for "now".
SysResult<uint64_t> DoUtimes(Task& t, int dirfd, GuestAddr path,
                             GuestAddr tv_addr) {
  if (tv_addr.IsNull()) return SetTimesAt(t, dirfd, path, 0, nullptr);
  struct timeval tv[2];
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(tv_addr, &tv));
  struct timespec ts[2];
  for (int i = 0; i < 2; i++) {
    if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return Errno(EINVAL);
    ts[i] = {tv[i].tv_sec, tv[i].tv_usec * 1000};
  }
  return SetTimesAt(t, dirfd, path, 0, ts);
}

}  // namespace

// Implements Linux syscall utimensat(2).
SENTRY_SYSCALL(SysUtimensat) {
  int dirfd = a.Int(0);
  GuestAddr path = a.Addr(1);
  int flags = a.Int(3);
  struct timespec ts[2];
  const struct timespec* times = nullptr;
  if (!a.Addr(2).IsNull()) {
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &ts));
    // Nothing to do: Linux does not even look at the path.
    if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT) return 0;
    times = ts;
  }
  // A NULL path names dirfd itself (what futimens(3) uses).
  if (path.IsNull() && dirfd != AT_FDCWD) {
    if (flags != 0) return Errno(EINVAL);
    SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(dirfd, /*allow_path=*/false));
    SENTRY_RETURN_IF_ERROR(vfs::SetTimes(t, f->vd(), times));
    return 0;
  }
  return SetTimesAt(t, dirfd, path, flags, times);
}

// Implements Linux syscall utimes(2).
SENTRY_SYSCALL(SysUtimes) {
  return DoUtimes(t, AT_FDCWD, a.Addr(0), a.Addr(1));
}

// Implements Linux syscall futimesat(2).
SENTRY_SYSCALL(SysFutimesat) {
  return DoUtimes(t, a.Int(0), a.Addr(1), a.Addr(2));
}

// Implements Linux syscall utime(2): whole seconds, NULL for "now".
SENTRY_SYSCALL(SysUtime) {
  if (a.Addr(1).IsNull()) return SetTimesAt(t, AT_FDCWD, a.Addr(0), 0, nullptr);
  struct utimbuf buf;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &buf));
  struct timespec ts[2] = {{buf.actime, 0}, {buf.modtime, 0}};
  return SetTimesAt(t, AT_FDCWD, a.Addr(0), 0, ts);
}

}  // namespace sentry::syscalls
