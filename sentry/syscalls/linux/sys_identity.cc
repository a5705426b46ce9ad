// Implements getuid(2), geteuid(2), getgid(2), getegid(2), getresuid(2),
// getresgid(2), getgroups(2).

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

// Implements Linux syscall getuid(2).
SENTRY_SYSCALL(SysGetuid) { return t.creds().ruid; }

// Implements Linux syscall geteuid(2).
SENTRY_SYSCALL(SysGeteuid) { return t.creds().euid; }

// Implements Linux syscall getgid(2).
SENTRY_SYSCALL(SysGetgid) { return t.creds().rgid; }

// Implements Linux syscall getegid(2).
SENTRY_SYSCALL(SysGetegid) { return t.creds().egid; }

// Implements Linux syscall getresuid(2).
SENTRY_SYSCALL(SysGetresuid) {
  const auth::Credentials& c = t.creds();
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), c.ruid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), c.euid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), c.suid));
  return 0;
}

// Implements Linux syscall getresgid(2).
SENTRY_SYSCALL(SysGetresgid) {
  const auth::Credentials& c = t.creds();
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), c.rgid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), c.egid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), c.sgid));
  return 0;
}

// Implements Linux syscall getgroups(2).
SENTRY_SYSCALL(SysGetgroups) {
  int size = a.Int(0);
  const std::vector<uint32_t>& groups = t.creds().groups;
  if (size < 0) return Errno(EINVAL);
  if (size == 0) return groups.size();
  if (static_cast<size_t>(size) < groups.size()) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(a.Addr(1), groups.data(), groups.size() * 4));
  return groups.size();
}

}  // namespace sentry::syscalls
