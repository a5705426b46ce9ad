// Implements the extended attribute calls: getxattr(2), setxattr(2),
// listxattr(2), removexattr(2) and their l- and f- forms. The VFS applies
// Linux's namespace and permission rules (vfs::GetXattr and friends); tmpfs
// and the overlay's upper layer hold the attributes; the host's files
// behind the gofer show none.

#include <fcntl.h>
#include <sys/xattr.h>

#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/ops.h"

namespace sentry::syscalls {

namespace {

constexpr size_t kXattrNameMax = 255;
constexpr size_t kXattrSizeMax = 65536;
constexpr size_t kXattrListMax = 65536;

enum class Kind { kPath, kLinkPath, kFd };

SysResult<std::string> CopyInName(Task& t, GuestAddr name_addr) {
  SysResult<std::string> name = t.CopyInString(name_addr, kXattrNameMax);
  if (!name.ok()) {
    return name.err() == ENAMETOOLONG ? Errno(ERANGE) : name.error();
  }
  if (name->empty()) return Errno(ERANGE);
  return name;
}

SysResult<vfs::VirtualDentry> Target(Task& t, const SyscallArgs& a, Kind kind) {
  if (kind == Kind::kFd) {
    // O_PATH descriptors are refused, as Linux's fdget for these calls.
    SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
    return f->vd();
  }
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, AT_FDCWD, a.Addr(0), kind == Kind::kPath, false));
  return target.vd;
}

SysResult<uint64_t> Get(Task& t, const SyscallArgs& a, Kind kind) {
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, Target(t, a, kind));
  SENTRY_ASSIGN_OR_RETURN(std::string name, CopyInName(t, a.Addr(1)));
  SENTRY_ASSIGN_OR_RETURN(std::string value, vfs::GetXattr(t, vd, name));
  uint64_t size = a.U64(3);
  if (size == 0) return value.size();  // the size a buffer needs
  if (size < value.size()) return Errno(ERANGE);
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(2), value.data(), value.size()));
  return value.size();
}

SysResult<uint64_t> Set(Task& t, const SyscallArgs& a, Kind kind) {
  int flags = a.Int(4);
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, Target(t, a, kind));
  SENTRY_ASSIGN_OR_RETURN(std::string name, CopyInName(t, a.Addr(1)));
  uint64_t size = a.U64(3);
  if (size > kXattrSizeMax) return Errno(E2BIG);
  std::string value(size, '\0');
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(a.Addr(2), value.data(), size));
  SENTRY_RETURN_IF_ERROR(vfs::SetXattr(t, vd, name, value, flags));
  return 0;
}

SysResult<uint64_t> List(Task& t, const SyscallArgs& a, Kind kind) {
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, Target(t, a, kind));
  SENTRY_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          vfs::ListXattr(t, vd));
  std::string out;
  for (const std::string& n : names) {
    out += n;
    out += '\0';
  }
  uint64_t size = a.U64(2);
  if (size == 0) return out.size();
  if (out.size() > kXattrListMax) return Errno(E2BIG);
  if (size < out.size()) return Errno(ERANGE);
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(1), out.data(), out.size()));
  return out.size();
}

SysResult<uint64_t> Remove(Task& t, const SyscallArgs& a, Kind kind) {
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, Target(t, a, kind));
  SENTRY_ASSIGN_OR_RETURN(std::string name, CopyInName(t, a.Addr(1)));
  SENTRY_RETURN_IF_ERROR(vfs::RemoveXattr(t, vd, name));
  return 0;
}

}  // namespace

// Implements Linux syscall getxattr(2).
SENTRY_SYSCALL(SysGetxattr) { return Get(t, a, Kind::kPath); }
// Implements Linux syscall lgetxattr(2).
SENTRY_SYSCALL(SysLgetxattr) { return Get(t, a, Kind::kLinkPath); }
// Implements Linux syscall fgetxattr(2).
SENTRY_SYSCALL(SysFgetxattr) { return Get(t, a, Kind::kFd); }
// Implements Linux syscall setxattr(2).
SENTRY_SYSCALL(SysSetxattr) { return Set(t, a, Kind::kPath); }
// Implements Linux syscall lsetxattr(2).
SENTRY_SYSCALL(SysLsetxattr) { return Set(t, a, Kind::kLinkPath); }
// Implements Linux syscall fsetxattr(2).
SENTRY_SYSCALL(SysFsetxattr) { return Set(t, a, Kind::kFd); }
// Implements Linux syscall listxattr(2).
SENTRY_SYSCALL(SysListxattr) { return List(t, a, Kind::kPath); }
// Implements Linux syscall llistxattr(2).
SENTRY_SYSCALL(SysLlistxattr) { return List(t, a, Kind::kLinkPath); }
// Implements Linux syscall flistxattr(2).
SENTRY_SYSCALL(SysFlistxattr) { return List(t, a, Kind::kFd); }
// Implements Linux syscall removexattr(2).
SENTRY_SYSCALL(SysRemovexattr) { return Remove(t, a, Kind::kPath); }
// Implements Linux syscall lremovexattr(2).
SENTRY_SYSCALL(SysLremovexattr) { return Remove(t, a, Kind::kLinkPath); }
// Implements Linux syscall fremovexattr(2).
SENTRY_SYSCALL(SysFremovexattr) { return Remove(t, a, Kind::kFd); }

}  // namespace sentry::syscalls
