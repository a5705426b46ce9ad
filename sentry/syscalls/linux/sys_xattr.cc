// Implements the extended attribute calls (getxattr(2) and friends) for
// filesystems without xattr support, which is every sentry filesystem until
// #4: after the path or fd checks, get/set/remove fail with EOPNOTSUPP and
// list returns an empty list, as Linux does for such filesystems.

#include <fcntl.h>
#include <sys/xattr.h>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

constexpr size_t kXattrNameMax = 255;
constexpr size_t kXattrSizeMax = 65536;

SysResult<void> CheckName(Task& t, GuestAddr name_addr) {
  SysResult<std::string> name = t.CopyInString(name_addr, kXattrNameMax);
  if (!name.ok())
    return name.err() == ENAMETOOLONG ? Errno(ERANGE) : name.error();
  if (name->empty()) return Errno(ERANGE);
  return Ok();
}

SysResult<void> Target(Task& t, const SyscallArgs& a, int kind) {
  // kind 0: path, 1: lpath (no follow), 2: fd
  if (kind == 2) {
    SENTRY_RETURN_IF_ERROR(t.GetFile(a.Int(0)));
    return Ok();
  }
  SENTRY_RETURN_IF_ERROR(ResolveAt(t, AT_FDCWD, a.Addr(0), kind == 0, false));
  return Ok();
}

SysResult<uint64_t> Get(Task& t, const SyscallArgs& a, int kind) {
  SENTRY_RETURN_IF_ERROR(Target(t, a, kind));
  SENTRY_RETURN_IF_ERROR(CheckName(t, a.Addr(1)));
  return Errno(EOPNOTSUPP);
}

SysResult<uint64_t> Set(Task& t, const SyscallArgs& a, int kind) {
  if (a.U64(3) > kXattrSizeMax) return Errno(E2BIG);
  int flags = a.Int(4);
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(Target(t, a, kind));
  SENTRY_RETURN_IF_ERROR(CheckName(t, a.Addr(1)));
  return Errno(EOPNOTSUPP);
}

SysResult<uint64_t> List(Task& t, const SyscallArgs& a, int kind) {
  SENTRY_RETURN_IF_ERROR(Target(t, a, kind));
  return 0;
}

SysResult<uint64_t> Remove(Task& t, const SyscallArgs& a, int kind) {
  SENTRY_RETURN_IF_ERROR(Target(t, a, kind));
  SENTRY_RETURN_IF_ERROR(CheckName(t, a.Addr(1)));
  return Errno(EOPNOTSUPP);
}

}  // namespace

// Implements Linux syscall getxattr(2).
SENTRY_SYSCALL(SysGetxattr) { return Get(t, a, 0); }
// Implements Linux syscall lgetxattr(2).
SENTRY_SYSCALL(SysLgetxattr) { return Get(t, a, 1); }
// Implements Linux syscall fgetxattr(2).
SENTRY_SYSCALL(SysFgetxattr) { return Get(t, a, 2); }
// Implements Linux syscall setxattr(2).
SENTRY_SYSCALL(SysSetxattr) { return Set(t, a, 0); }
// Implements Linux syscall lsetxattr(2).
SENTRY_SYSCALL(SysLsetxattr) { return Set(t, a, 1); }
// Implements Linux syscall fsetxattr(2).
SENTRY_SYSCALL(SysFsetxattr) { return Set(t, a, 2); }
// Implements Linux syscall listxattr(2).
SENTRY_SYSCALL(SysListxattr) { return List(t, a, 0); }
// Implements Linux syscall llistxattr(2).
SENTRY_SYSCALL(SysLlistxattr) { return List(t, a, 1); }
// Implements Linux syscall flistxattr(2).
SENTRY_SYSCALL(SysFlistxattr) { return List(t, a, 2); }
// Implements Linux syscall removexattr(2).
SENTRY_SYSCALL(SysRemovexattr) { return Remove(t, a, 0); }
// Implements Linux syscall lremovexattr(2).
SENTRY_SYSCALL(SysLremovexattr) { return Remove(t, a, 1); }
// Implements Linux syscall fremovexattr(2).
SENTRY_SYSCALL(SysFremovexattr) { return Remove(t, a, 2); }

}  // namespace sentry::syscalls
