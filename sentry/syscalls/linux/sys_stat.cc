// Implements stat(2), lstat(2), fstat(2), newfstatat(2), statx(2),
// statfs(2), fstatfs(2).

#include <fcntl.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

SysResult<uint64_t> CopyOutStat(Task& t, GuestAddr addr,
                                const vfs::Attr& attr) {
  struct stat st = vfs::ToStat(attr);
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(addr, st));
  return 0;
}

SysResult<uint64_t> DoFstatat(Task& t, int dirfd, GuestAddr path, GuestAddr buf,
                              int flags) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) != 0) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) == 0,
                (flags & AT_EMPTY_PATH) != 0, /*null_is_empty=*/true));
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, StatOf(target));
  return CopyOutStat(t, buf, attr);
}

struct statx_timestamp ToStatx(const struct timespec& ts) {
  struct statx_timestamp x = {};
  x.tv_sec = ts.tv_sec;
  x.tv_nsec = static_cast<uint32_t>(ts.tv_nsec);
  return x;
}

SysResult<uint64_t> CopyOutStatfs(Task& t, GuestAddr addr, const vfs::StatFs& s,
                                  int mflags) {
  struct statfs out = {};
  out.f_type = static_cast<__fsword_t>(s.type);
  out.f_bsize = static_cast<__fsword_t>(s.bsize);
  out.f_blocks = s.blocks;
  out.f_bfree = s.bfree;
  out.f_bavail = s.bavail;
  out.f_files = s.files;
  out.f_ffree = s.ffree;
  out.f_namelen = static_cast<__fsword_t>(s.namelen);
  out.f_frsize = static_cast<__fsword_t>(s.frsize);
  out.f_flags = static_cast<__fsword_t>(s.flags | 0x0020);  // ST_VALID
  if ((mflags & vfs::kMountReadOnly) != 0) out.f_flags |= ST_RDONLY;
  if ((mflags & vfs::kMountNoSuid) != 0) out.f_flags |= ST_NOSUID;
  if ((mflags & vfs::kMountNoDev) != 0) out.f_flags |= ST_NODEV;
  if ((mflags & vfs::kMountNoExec) != 0) out.f_flags |= ST_NOEXEC;
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(addr, out));
  return 0;
}

}  // namespace

// Implements Linux syscall stat(2).
SENTRY_SYSCALL(SysStat) {
  return DoFstatat(t, AT_FDCWD, a.Addr(0), a.Addr(1), 0);
}

// Implements Linux syscall lstat(2).
SENTRY_SYSCALL(SysLstat) {
  return DoFstatat(t, AT_FDCWD, a.Addr(0), a.Addr(1), AT_SYMLINK_NOFOLLOW);
}

// Implements Linux syscall fstat(2).
SENTRY_SYSCALL(SysFstat) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0), true));
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, f->Stat());
  return CopyOutStat(t, a.Addr(1), attr);
}

// Implements Linux syscall newfstatat(2).
SENTRY_SYSCALL(SysNewfstatat) {
  return DoFstatat(t, a.Int(0), a.Addr(1), a.Addr(2), a.Int(3));
}

// Implements Linux syscall statx(2). Reports STATX_BASIC_STATS and the mount
// id; birth time is not tracked.
SENTRY_SYSCALL(SysStatx) {
  int flags = a.Int(2);
  constexpr int kKnown = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT |
                         AT_STATX_SYNC_TYPE;
  if ((flags & ~kKnown) != 0 ||
      (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) {
    return Errno(EINVAL);
  }
  if ((a.U32(3) & STATX__RESERVED) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, a.Int(0), a.Addr(1), (flags & AT_SYMLINK_NOFOLLOW) == 0,
                (flags & AT_EMPTY_PATH) != 0, /*null_is_empty=*/true));
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, StatOf(target));
  struct statx x = {};
  x.stx_mask = STATX_BASIC_STATS | STATX_MNT_ID;
  x.stx_blksize = attr.blksize;
  x.stx_nlink = attr.nlink;
  x.stx_uid = attr.uid;
  x.stx_gid = attr.gid;
  x.stx_mode = static_cast<uint16_t>(attr.mode);
  x.stx_ino = attr.ino;
  x.stx_size = attr.size;
  x.stx_blocks = attr.blocks;
  x.stx_atime = ToStatx(attr.atime);
  x.stx_mtime = ToStatx(attr.mtime);
  x.stx_ctime = ToStatx(attr.ctime);
  x.stx_rdev_major = major(attr.rdev);
  x.stx_rdev_minor = minor(attr.rdev);
  x.stx_dev_major = major(attr.dev);
  x.stx_dev_minor = minor(attr.dev);
  x.stx_mnt_id = target.vd.mount->id();
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(4), x));
  return 0;
}

// Implements Linux syscall statfs(2).
SENTRY_SYSCALL(SysStatfs) {
  SENTRY_ASSIGN_OR_RETURN(AtTarget target,
                          ResolveAt(t, AT_FDCWD, a.Addr(0), true, false));
  SENTRY_ASSIGN_OR_RETURN(vfs::StatFs s, target.vd.mount->fs()->GetStatFs());
  return CopyOutStatfs(t, a.Addr(1), s, target.vd.mount->flags());
}

// Implements Linux syscall fstatfs(2).
SENTRY_SYSCALL(SysFstatfs) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0), true));
  SENTRY_ASSIGN_OR_RETURN(vfs::StatFs s, f->vd().mount->fs()->GetStatFs());
  return CopyOutStatfs(t, a.Addr(1), s, f->vd().mount->flags());
}

}  // namespace sentry::syscalls
