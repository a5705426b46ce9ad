// Implements the file system calls that work on paths and descriptors:
// open(2) family, close(2), dup(2) family, fcntl(2), ioctl(2), access(2)
// family, getcwd(2), chdir(2), mkdir(2), rmdir(2), unlink(2), symlink(2),
// readlink(2), umask(2), truncate(2), fsync(2), fadvise64(2), getdents64(2).

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "sentry/fs/host/host_file.h"
#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/kernel/job_control.h"
#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/inotify.h"
#include "sentry/vfs/ops.h"
#include "sentry/vfs/resolve.h"

namespace sentry::syscalls {

namespace {

// Flags open(2) passes on; the rest are ignored by Linux too (O_TMPFILE is
// taken apart first).
constexpr int kOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC |
                           O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC |
                           O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW |
                           O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH;

SysResult<uint64_t> DoOpen(Task& t, int dirfd, GuestAddr path_addr, int flags,
                           uint32_t mode, unsigned resolve = 0) {
  bool tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
  // O_TMPFILE is __O_TMPFILE with O_DIRECTORY; half of it is invalid.
  if (tmpfile && (flags & O_DIRECTORY) == 0) return Errno(EINVAL);
  flags &= kOpenFlags;
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(path_addr));
  if (path.empty()) return Errno(ENOENT);
  // RESOLVE_BENEATH and RESOLVE_IN_ROOT are relative to dirfd even for an
  // absolute path (which the first refuses and the second roots there).
  bool anchored = (resolve & (vfs::kResolveBeneath | vfs::kResolveInRoot)) != 0;
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, anchored
                                                   ? t.PathContextAt(dirfd)
                                                   : PathAt(t, dirfd, path));
  if (anchored && !pc.start.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  uint32_t create_mode = mode & ~t.umask() & 07777;
  if (tmpfile) {
    SENTRY_ASSIGN_OR_RETURN(
        auto f,
        vfs::OpenTmpfile(t, pc, path, flags & ~O_DIRECTORY, create_mode));
    SENTRY_ASSIGN_OR_RETURN(int fd,
                            t.NewFd(std::move(f), (flags & O_CLOEXEC) != 0));
    return static_cast<uint64_t>(fd);
  }
  SENTRY_ASSIGN_OR_RETURN(
      auto f, vfs::OpenAt(t, pc, path, flags, create_mode, resolve));
  if ((flags & O_PATH) == 0) vfs::NotifyFile(f->vd(), IN_OPEN);
  SENTRY_ASSIGN_OR_RETURN(int fd,
                          t.NewFd(std::move(f), (flags & O_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

}  // namespace

// Implements Linux syscall open(2).
SENTRY_SYSCALL(SysOpen) {
  return DoOpen(t, AT_FDCWD, a.Addr(0), a.Int(1), a.U32(2));
}

// Implements Linux syscall openat(2).
SENTRY_SYSCALL(SysOpenat) {
  return DoOpen(t, a.Int(0), a.Addr(1), a.Int(2), a.U32(3));
}

// Implements Linux syscall openat2(2).
SENTRY_SYSCALL(SysOpenat2) {
  // struct open_how { u64 flags; u64 mode; u64 resolve; }, extensible: a
  // larger struct is accepted if the tail is zero.
  constexpr size_t kOpenHowSize = 24;
  uint64_t size = a.U64(3);
  if (size < kOpenHowSize) return Errno(EINVAL);
  if (size > 4096) return Errno(E2BIG);
  std::vector<uint8_t> raw(size);
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(a.Addr(2), raw.data(), raw.size()));
  for (size_t i = kOpenHowSize; i < raw.size(); i++) {
    if (raw[i] != 0) return Errno(E2BIG);
  }
  uint64_t how[3];
  memcpy(how, raw.data(), sizeof(how));
  uint64_t flags = how[0], mode = how[1], resolve = how[2];
  // Unlike open(2), unknown flags are refused.
  constexpr uint64_t kKnown = kOpenFlags | __O_TMPFILE;
  if ((flags & ~kKnown) != 0) return Errno(EINVAL);
  bool creates = (flags & O_CREAT) != 0 || (flags & __O_TMPFILE) == __O_TMPFILE;
  if (mode > 07777 || (!creates && mode != 0)) return Errno(EINVAL);
  constexpr uint64_t kResolveAll =
      vfs::kResolveNoXdev | vfs::kResolveNoMagiclinks |
      vfs::kResolveNoSymlinks | vfs::kResolveBeneath | vfs::kResolveInRoot |
      vfs::kResolveCached;
  if ((resolve & ~kResolveAll) != 0) return Errno(EINVAL);
  if ((resolve & vfs::kResolveBeneath) != 0 &&
      (resolve & vfs::kResolveInRoot) != 0) {
    return Errno(EINVAL);
  }
  // RESOLVE_CACHED asks to fail rather than wait on a filesystem; the
  // caller retries without it, which Linux allows us to make it do.
  if ((resolve & vfs::kResolveCached) != 0) return Errno(EAGAIN);
  return DoOpen(t, a.Int(0), a.Addr(1), static_cast<int>(flags),
                static_cast<uint32_t>(mode), static_cast<unsigned>(resolve));
}

// Implements Linux syscall creat(2).
SENTRY_SYSCALL(SysCreat) {
  return DoOpen(t, AT_FDCWD, a.Addr(0), O_CREAT | O_WRONLY | O_TRUNC, a.U32(1));
}

// Implements Linux syscall close(2).
SENTRY_SYSCALL(SysClose) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.fds().Remove(a.Int(0)));
  f.reset();  // The last reference closes the file, outside the table lock.
  return 0;
}

// Implements Linux syscall close_range(2).
SENTRY_SYSCALL(SysCloseRange) {
  uint32_t first = a.U32(0), last = a.U32(1);
  uint32_t flags = a.U32(2);
  if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0 ||
      first > last) {
    return Errno(EINVAL);
  }
  // CLOSE_RANGE_UNSHARE: the table is not shared with anyone until clone
  // exists (#3), so there is nothing to unshare.
  std::vector<int> fds;
  t.fds().ForEach([&](int fd, const auto&) {
    if (static_cast<uint32_t>(fd) >= first && static_cast<uint32_t>(fd) <= last)
      fds.push_back(fd);
  });
  for (int fd : fds) {
    if ((flags & CLOSE_RANGE_CLOEXEC) != 0) {
      (void)t.fds().SetCloexec(fd, true);
    } else {
      (void)t.fds().Remove(fd);
    }
  }
  return 0;
}

// Implements Linux syscall dup(2).
SENTRY_SYSCALL(SysDup) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0), true));
  SENTRY_ASSIGN_OR_RETURN(int fd, t.NewFd(std::move(f), false));
  return static_cast<uint64_t>(fd);
}

namespace {
SysResult<uint64_t> DoDup3(Task& t, int oldfd, int newfd, int flags) {
  if ((flags & ~O_CLOEXEC) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(oldfd, true));
  SENTRY_ASSIGN_OR_RETURN(
      auto old, t.fds().Set(newfd, std::move(f), (flags & O_CLOEXEC) != 0,
                            t.RlimitCur(RLIMIT_NOFILE)));
  old.reset();
  return static_cast<uint64_t>(newfd);
}
}  // namespace

// Implements Linux syscall dup2(2).
SENTRY_SYSCALL(SysDup2) {
  if (a.Int(0) == a.Int(1)) {
    SENTRY_RETURN_IF_ERROR(t.GetFile(a.Int(0), true));
    return static_cast<uint64_t>(a.Int(1));
  }
  return DoDup3(t, a.Int(0), a.Int(1), 0);
}

// Implements Linux syscall dup3(2).
SENTRY_SYSCALL(SysDup3) {
  if (a.Int(0) == a.Int(1)) return Errno(EINVAL);
  return DoDup3(t, a.Int(0), a.Int(1), a.Int(2));
}

// Implements Linux syscall fcntl(2). Leases and owner signals are not
// implemented yet (see the table note).
SENTRY_SYSCALL(SysFcntl) {
  int fd = a.Int(0);
  int cmd = a.Int(1);
  bool cloexec = false;
  SENTRY_ASSIGN_OR_RETURN(auto f, t.fds().Get(fd, &cloexec));
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int min = a.Int(2);
      if (min < 0 || static_cast<uint64_t>(min) >= t.RlimitCur(RLIMIT_NOFILE)) {
        return Errno(EINVAL);
      }
      SENTRY_ASSIGN_OR_RETURN(
          int nfd, t.NewFd(std::move(f), cmd == F_DUPFD_CLOEXEC, min));
      return static_cast<uint64_t>(nfd);
    }
    case F_GETFD:
      return cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
      SENTRY_RETURN_IF_ERROR(
          t.fds().SetCloexec(fd, (a.Int(2) & FD_CLOEXEC) != 0));
      return 0;
    case F_GETFL:
      // open(2) adds O_LARGEFILE on 64-bit; pipe(2) does not.
      if (dynamic_cast<fs::pipe::PipeFD*>(f.get()) != nullptr) {
        return static_cast<uint64_t>(f->flags());
      }
      return static_cast<uint64_t>(f->flags() | O_LARGEFILE);
    case F_GETPIPE_SZ: {
      auto* p = dynamic_cast<fs::pipe::PipeFD*>(f.get());
      if (p == nullptr) return Errno(EBADF);
      return p->pipe().capacity();
    }
    case F_SETPIPE_SZ: {
      auto* p = dynamic_cast<fs::pipe::PipeFD*>(f.get());
      if (p == nullptr) return Errno(EBADF);
      uint64_t size = a.U32(2);
      if (size > INT32_MAX) return Errno(EINVAL);
      if (size > fs::pipe::kMaxUnprivilegedCapacity &&
          !t.creds().HasCapability(auth::Capability::kSysResource)) {
        return Errno(EPERM);
      }
      // Privileged callers may exceed pipe-max-size; a bound still holds.
      if (size > (64u << 20)) return Errno(ENOMEM);
      SENTRY_ASSIGN_OR_RETURN(size_t n, p->pipe().SetCapacity(size));
      return n;
    }
    case F_SETFL:
      if (f->is_path()) return Errno(EBADF);
      f->SetStatusFlags(a.Int(2));
      return 0;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return FcntlLock(t, f, cmd, a.Addr(2));
    case F_ADD_SEALS:
    case F_GET_SEALS: {
      // Seals live on the host memfd behind a memfd_create(2) file, which
      // enforces them on writes and mappings alike; other files have none.
      auto* h = dynamic_cast<fs::HostFileFD*>(f.get());
      if (h == nullptr || f->is_path() ||
          f->vd().mount->fs()->type() != "tmpfs") {
        return Errno(EINVAL);
      }
      if (cmd == F_ADD_SEALS && !f->writable()) return Errno(EPERM);
      int r = fcntl(h->host_fd(), cmd, a.U32(2));
      if (r < 0) return Errno::FromHost();
      return static_cast<uint64_t>(r);
    }
    default:
      return Errno(EINVAL);
  }
}

// Implements Linux syscall ioctl(2): the generic requests here, the rest
// by the file.
SENTRY_SYSCALL(SysIoctl) {
  int fd = a.Int(0);
  uint32_t cmd = a.U32(1);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(fd));
  switch (cmd) {
    case FIOCLEX:
      SENTRY_RETURN_IF_ERROR(t.fds().SetCloexec(fd, true));
      return 0;
    case FIONCLEX:
      SENTRY_RETURN_IF_ERROR(t.fds().SetCloexec(fd, false));
      return 0;
    case FIONBIO: {
      int on;
      SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &on));
      int flags = f->flags();
      f->SetStatusFlags(on != 0 ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
      return 0;
    }
    case TIOCGPGRP:
    case TIOCGSID:
    case TIOCSPGRP:
    case TIOCSCTTY:
    case TIOCNOTTY: {
      // Job control lives in the kernel, per terminal; a host terminal
      // never sees it.
      auto* tf = dynamic_cast<kernel::TerminalFile*>(f.get());
      if (tf == nullptr) return Errno(ENOTTY);
      SENTRY_ASSIGN_OR_RETURN(int64_t r,
                              kernel::JobControlIoctl(t, *tf, cmd, a.Addr(2)));
      return static_cast<uint64_t>(r);
    }
    default: {
      // Changing a terminal's settings from a background process group
      // raises SIGTTOU (Linux's tty_check_change).
      if (kernel::IsSettingsChange(cmd)) {
        auto* tf = dynamic_cast<kernel::TerminalFile*>(f.get());
        if (tf != nullptr && !tf->is_pty_master() && tf->terminal()) {
          SENTRY_RETURN_IF_ERROR(
              kernel::CheckBackground(t, *tf->terminal(), SIGTTOU));
        }
      }
      SENTRY_ASSIGN_OR_RETURN(int64_t r, f->Ioctl(t, cmd, a.U64(2)));
      return static_cast<uint64_t>(r);
    }
  }
}

namespace {

SysResult<uint64_t> DoAccess(Task& t, int dirfd, GuestAddr path, int mode,
                             int flags) {
  if ((mode & ~(R_OK | W_OK | X_OK)) != 0) return Errno(EINVAL);
  if ((flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0)
    return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) == 0,
                (flags & AT_EMPTY_PATH) != 0));
  if (mode == F_OK) return 0;
  // access(2) checks with the real ids, and a non-root real uid loses the
  // capabilities, unless AT_EACCESS asks for the effective ids.
  auth::Credentials saved = t.creds();
  if ((flags & AT_EACCESS) == 0) {
    auth::Credentials real = saved;
    real.fsuid = real.ruid;
    real.fsgid = real.rgid;
    if (real.ruid != 0) real.cap_effective = 0;
    t.set_creds(real);
  }
  int may = ((mode & R_OK) ? auth::kMayRead : 0) |
            ((mode & W_OK) ? auth::kMayWrite : 0) |
            ((mode & X_OK) ? auth::kMayExec : 0);
  SysResult<void> r = vfs::CheckAccess(t, target.vd, may);
  t.set_creds(saved);
  SENTRY_RETURN_IF_ERROR(r);
  return 0;
}

}  // namespace

// Implements Linux syscall access(2).
SENTRY_SYSCALL(SysAccess) {
  return DoAccess(t, AT_FDCWD, a.Addr(0), a.Int(1), 0);
}

// Implements Linux syscall faccessat(2) (no flags argument).
SENTRY_SYSCALL(SysFaccessat) {
  return DoAccess(t, a.Int(0), a.Addr(1), a.Int(2), 0);
}

// Implements Linux syscall faccessat2(2).
SENTRY_SYSCALL(SysFaccessat2) {
  return DoAccess(t, a.Int(0), a.Addr(1), a.Int(2), a.Int(3));
}

// Implements Linux syscall getcwd(2).
SENTRY_SYSCALL(SysGetcwd) {
  std::string cwd = t.PathOf(t.Cwd());
  if (a.U64(1) < cwd.size() + 1) return Errno(ERANGE);
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(0), cwd.c_str(), cwd.size() + 1));
  return cwd.size() + 1;
}

namespace {
SysResult<uint64_t> SetCwd(Task& t, const vfs::VirtualDentry& vd) {
  if (!vd.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  SENTRY_RETURN_IF_ERROR(vfs::CheckAccess(t, vd, auth::kMayExec));
  absl::MutexLock l(&t.fs().mu);
  t.fs().cwd = vd;
  return 0;
}
}  // namespace

// Implements Linux syscall chdir(2).
SENTRY_SYSCALL(SysChdir) {
  SENTRY_ASSIGN_OR_RETURN(AtTarget target,
                          ResolveAt(t, AT_FDCWD, a.Addr(0), true, false));
  return SetCwd(t, target.vd);
}

// Implements Linux syscall fchdir(2).
SENTRY_SYSCALL(SysFchdir) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0), true));
  return SetCwd(t, f->vd());
}

namespace {
SysResult<uint64_t> DoMkdir(Task& t, int dirfd, GuestAddr path_addr,
                            uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(path_addr));
  if (path.empty()) return Errno(ENOENT);
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, dirfd, path));
  SENTRY_RETURN_IF_ERROR(vfs::MkdirAt(t, pc, path, mode & ~t.umask() & 01777));
  return 0;
}

SysResult<uint64_t> DoUnlink(Task& t, int dirfd, GuestAddr path_addr,
                             bool dir) {
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(path_addr));
  if (path.empty()) return Errno(ENOENT);
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, dirfd, path));
  SENTRY_RETURN_IF_ERROR(vfs::UnlinkAt(t, pc, path, dir));
  return 0;
}

SysResult<uint64_t> DoSymlink(Task& t, GuestAddr target_addr, int dirfd,
                              GuestAddr path_addr) {
  SENTRY_ASSIGN_OR_RETURN(std::string target, t.CopyInPath(target_addr));
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(path_addr));
  if (path.empty() || target.empty()) return Errno(ENOENT);
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, dirfd, path));
  SENTRY_RETURN_IF_ERROR(vfs::SymlinkAt(t, pc, target, path));
  return 0;
}

SysResult<uint64_t> DoReadlink(Task& t, int dirfd, GuestAddr path,
                               GuestAddr buf, int64_t size) {
  if (size <= 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(AtTarget target,
                          ResolveAt(t, dirfd, path, false, true));
  if (!target.vd.dentry->inode()->IsSymlink()) {
    return Errno(target.file != nullptr ? ENOENT : EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(std::string link,
                          target.vd.dentry->inode()->ReadLink(t));
  size_t n = std::min<size_t>(link.size(), static_cast<size_t>(size));
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(buf, link.data(), n));
  return n;
}
}  // namespace

// Implements Linux syscall mkdir(2).
SENTRY_SYSCALL(SysMkdir) { return DoMkdir(t, AT_FDCWD, a.Addr(0), a.U32(1)); }

// Implements Linux syscall mkdirat(2).
SENTRY_SYSCALL(SysMkdirat) { return DoMkdir(t, a.Int(0), a.Addr(1), a.U32(2)); }

// Implements Linux syscall rmdir(2).
SENTRY_SYSCALL(SysRmdir) { return DoUnlink(t, AT_FDCWD, a.Addr(0), true); }

// Implements Linux syscall unlink(2).
SENTRY_SYSCALL(SysUnlink) { return DoUnlink(t, AT_FDCWD, a.Addr(0), false); }

// Implements Linux syscall unlinkat(2).
SENTRY_SYSCALL(SysUnlinkat) {
  int flags = a.Int(2);
  if ((flags & ~AT_REMOVEDIR) != 0) return Errno(EINVAL);
  return DoUnlink(t, a.Int(0), a.Addr(1), (flags & AT_REMOVEDIR) != 0);
}

namespace {

SysResult<uint64_t> DoLink(Task& t, int olddirfd, GuestAddr oldpath,
                           int newdirfd, GuestAddr newpath, int flags) {
  if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) != 0) {
    return Errno(EINVAL);
  }
  // Linking an fd by AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH.
  bool empty_ok = (flags & AT_EMPTY_PATH) != 0 &&
                  t.creds().HasCapability(auth::Capability::kDacReadSearch);
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget old, ResolveAt(t, olddirfd, oldpath,
                              (flags & AT_SYMLINK_FOLLOW) != 0, empty_ok));
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(newpath));
  if (path.empty()) return Errno(ENOENT);
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, newdirfd, path));
  SENTRY_RETURN_IF_ERROR(vfs::LinkAt(t, old.vd, pc, path));
  return 0;
}

}  // namespace

namespace {

SysResult<uint64_t> DoChmod(Task& t, int dirfd, GuestAddr path, uint32_t mode,
                            int flags) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) == 0,
                (flags & AT_EMPTY_PATH) != 0));
  // Symlinks have no mode of their own to change.
  if (target.vd.dentry->inode()->IsSymlink()) return Errno(EOPNOTSUPP);
  SENTRY_RETURN_IF_ERROR(vfs::Chmod(t, target.vd, mode));
  return 0;
}

SysResult<uint64_t> DoChown(Task& t, int dirfd, GuestAddr path, uint32_t uid,
                            uint32_t gid, int flags) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget target,
      ResolveAt(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) == 0,
                (flags & AT_EMPTY_PATH) != 0));
  SENTRY_RETURN_IF_ERROR(vfs::Chown(t, target.vd, uid, gid));
  return 0;
}

}  // namespace

// Implements Linux syscall chmod(2).
SENTRY_SYSCALL(SysChmod) {
  return DoChmod(t, AT_FDCWD, a.Addr(0), a.U32(1), 0);
}

// Implements Linux syscall fchmod(2).
SENTRY_SYSCALL(SysFchmod) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  SENTRY_RETURN_IF_ERROR(vfs::Chmod(t, f->vd(), a.U32(1)));
  return 0;
}

// Implements Linux syscall fchmodat(2).
SENTRY_SYSCALL(SysFchmodat) {
  return DoChmod(t, a.Int(0), a.Addr(1), a.U32(2), 0);
}

// Implements Linux syscall chown(2).
SENTRY_SYSCALL(SysChown) {
  return DoChown(t, AT_FDCWD, a.Addr(0), a.U32(1), a.U32(2), 0);
}

// Implements Linux syscall lchown(2).
SENTRY_SYSCALL(SysLchown) {
  return DoChown(t, AT_FDCWD, a.Addr(0), a.U32(1), a.U32(2),
                 AT_SYMLINK_NOFOLLOW);
}

// Implements Linux syscall fchown(2).
SENTRY_SYSCALL(SysFchown) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  SENTRY_RETURN_IF_ERROR(vfs::Chown(t, f->vd(), a.U32(1), a.U32(2)));
  return 0;
}

// Implements Linux syscall fchownat(2).
SENTRY_SYSCALL(SysFchownat) {
  return DoChown(t, a.Int(0), a.Addr(1), a.U32(2), a.U32(3), a.Int(4));
}

namespace {

SysResult<uint64_t> DoMknod(Task& t, int dirfd, GuestAddr path_addr,
                            uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(path_addr));
  if (path.empty()) return Errno(ENOENT);
  switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
      break;
    case S_IFCHR:
    case S_IFBLK:
      // TODO(#4): device nodes.
      return Errno(EPERM);
    case S_IFDIR:
      return Errno(EPERM);
    default:
      return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, dirfd, path));
  uint32_t type = (mode & S_IFMT) == 0 ? S_IFREG : mode & S_IFMT;
  SENTRY_RETURN_IF_ERROR(
      vfs::MknodAt(t, pc, path, type | (mode & 07777 & ~t.umask())));
  return 0;
}

}  // namespace

// Implements Linux syscall mknod(2).
SENTRY_SYSCALL(SysMknod) { return DoMknod(t, AT_FDCWD, a.Addr(0), a.U32(1)); }

// Implements Linux syscall mknodat(2).
SENTRY_SYSCALL(SysMknodat) { return DoMknod(t, a.Int(0), a.Addr(1), a.U32(2)); }

// Implements Linux syscall link(2).
SENTRY_SYSCALL(SysLink) {
  return DoLink(t, AT_FDCWD, a.Addr(0), AT_FDCWD, a.Addr(1), 0);
}

// Implements Linux syscall linkat(2).
SENTRY_SYSCALL(SysLinkat) {
  return DoLink(t, a.Int(0), a.Addr(1), a.Int(2), a.Addr(3), a.Int(4));
}

// Implements Linux syscall symlink(2).
SENTRY_SYSCALL(SysSymlink) {
  return DoSymlink(t, a.Addr(0), AT_FDCWD, a.Addr(1));
}

// Implements Linux syscall symlinkat(2).
SENTRY_SYSCALL(SysSymlinkat) {
  return DoSymlink(t, a.Addr(0), a.Int(1), a.Addr(2));
}

// Implements Linux syscall readlink(2).
SENTRY_SYSCALL(SysReadlink) {
  return DoReadlink(t, AT_FDCWD, a.Addr(0), a.Addr(1), a.Int(2));
}

// Implements Linux syscall readlinkat(2).
SENTRY_SYSCALL(SysReadlinkat) {
  return DoReadlink(t, a.Int(0), a.Addr(1), a.Addr(2), a.Int(3));
}

// Implements Linux syscall umask(2).
SENTRY_SYSCALL(SysUmask) {
  absl::MutexLock l(&t.fs().mu);
  uint32_t old = t.fs().umask;
  t.fs().umask = a.U32(0) & 0777;
  return old;
}

namespace {
SysResult<uint64_t> DoTruncate(Task& t, const vfs::VirtualDentry& vd,
                               int64_t length) {
  if (length < 0) return Errno(EINVAL);
  const auto& inode = vd.dentry->inode();
  if (inode->IsDir()) return Errno(EISDIR);
  if (!inode->IsRegular()) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(inode->Truncate(static_cast<uint64_t>(length)));
  vfs::NotifyFile(vd, IN_MODIFY);
  return 0;
}
}  // namespace

// Implements Linux syscall truncate(2).
SENTRY_SYSCALL(SysTruncate) {
  SENTRY_ASSIGN_OR_RETURN(AtTarget target,
                          ResolveAt(t, AT_FDCWD, a.Addr(0), true, false));
  SENTRY_RETURN_IF_ERROR(vfs::CheckAccess(t, target.vd, auth::kMayWrite));
  return DoTruncate(t, target.vd, a.Long(1));
}

// Implements Linux syscall ftruncate(2).
SENTRY_SYSCALL(SysFtruncate) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  if (!f->writable()) return Errno(EINVAL);
  if (f->vd().mount->readonly()) return Errno(EROFS);
  return DoTruncate(t, f->vd(), a.Long(1));
}

// Implements Linux syscall fsync(2) and fdatasync(2).
SENTRY_SYSCALL(SysFsync) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  SENTRY_RETURN_IF_ERROR(f->Sync());
  return 0;
}

// Implements Linux syscall fadvise64(2). Advice changes nothing a program can
// observe, so after Linux's checks it is accepted and dropped.
SENTRY_SYSCALL(SysFadvise64) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  if (!f->seekable()) return Errno(ESPIPE);
  int advice = a.Int(3);
  if (advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE)
    return Errno(EINVAL);
  if (a.Long(2) < 0) return Errno(EINVAL);
  return 0;
}

// Implements Linux syscall getdents64(2).
SENTRY_SYSCALL(SysGetdents64) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  size_t count = std::min<uint64_t>(a.U32(2), kMaxRwCount);  // unsigned int

  if (!f->vd().dentry->inode()->IsDir()) return Errno(ENOTDIR);
  std::vector<char> buf;
  bool too_small = false;
  SENTRY_RETURN_IF_ERROR(
      f->IterDirents(t, [&](const vfs::Dirent& d, int64_t next) {
        size_t reclen =
            (offsetof(struct dirent64, d_name) + d.name.size() + 1 + 7) &
            ~size_t{7};
        if (buf.size() + reclen > count) {
          too_small = buf.empty();
          return false;
        }
        size_t at = buf.size();
        buf.resize(at + reclen, '\0');
        auto* de = reinterpret_cast<struct dirent64*>(buf.data() + at);
        de->d_ino = d.ino;
        de->d_off = next;
        de->d_reclen = static_cast<uint16_t>(reclen);
        de->d_type = d.type;
        memcpy(de->d_name, d.name.c_str(), d.name.size() + 1);
        return true;
      }));
  if (too_small) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(1), buf.data(), buf.size()));
  return buf.size();
}

namespace {

SysResult<uint64_t> DoRename(Task& t, int old_dirfd, GuestAddr old_addr,
                             int new_dirfd, GuestAddr new_addr,
                             unsigned flags) {
  SENTRY_ASSIGN_OR_RETURN(std::string old_path, t.CopyInPath(old_addr));
  SENTRY_ASSIGN_OR_RETURN(std::string new_path, t.CopyInPath(new_addr));
  if (old_path.empty() || new_path.empty()) return Errno(ENOENT);
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext old_pc,
                          PathAt(t, old_dirfd, old_path));
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext new_pc,
                          PathAt(t, new_dirfd, new_path));
  SENTRY_RETURN_IF_ERROR(
      vfs::RenameAt(t, old_pc, old_path, new_pc, new_path, flags));
  return 0;
}

}  // namespace

// Implements Linux syscall rename(2).
SENTRY_SYSCALL(SysRename) {
  return DoRename(t, AT_FDCWD, a.Addr(0), AT_FDCWD, a.Addr(1), 0);
}

// Implements Linux syscall renameat(2).
SENTRY_SYSCALL(SysRenameat) {
  return DoRename(t, a.Int(0), a.Addr(1), a.Int(2), a.Addr(3), 0);
}

// Implements Linux syscall renameat2(2).
SENTRY_SYSCALL(SysRenameat2) {
  return DoRename(t, a.Int(0), a.Addr(1), a.Int(2), a.Addr(3), a.U32(4));
}

// Implements Linux syscall getdents(2): the old record, with the type in
// the last byte.
SENTRY_SYSCALL(SysGetdents) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  size_t count = std::min<uint64_t>(a.U32(2), kMaxRwCount);
  if (!f->vd().dentry->inode()->IsDir()) return Errno(ENOTDIR);
  // struct linux_dirent { u64 d_ino; s64 d_off; u16 d_reclen; char
  // d_name[]; then a NUL and the type byte }.
  constexpr size_t kNameOffset = 8 + 8 + 2;
  std::vector<char> buf;
  bool too_small = false;
  SENTRY_RETURN_IF_ERROR(
      f->IterDirents(t, [&](const vfs::Dirent& d, int64_t next) {
        size_t reclen = (kNameOffset + d.name.size() + 2 + 7) & ~size_t{7};
        if (buf.size() + reclen > count) {
          too_small = buf.empty();
          return false;
        }
        size_t at = buf.size();
        buf.resize(at + reclen, '\0');
        char* rec = buf.data() + at;
        uint64_t ino = d.ino;
        int64_t off = next;
        uint16_t len = static_cast<uint16_t>(reclen);
        memcpy(rec, &ino, 8);
        memcpy(rec + 8, &off, 8);
        memcpy(rec + 16, &len, 2);
        memcpy(rec + kNameOffset, d.name.data(), d.name.size());
        rec[reclen - 1] = static_cast<char>(d.type);
        return true;
      }));
  if (too_small) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(1), buf.data(), buf.size()));
  return buf.size();
}

// Implements Linux syscall fallocate(2).
SENTRY_SYSCALL(SysFallocate) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  int mode = a.Int(1);
  int64_t offset = a.Long(2), len = a.Long(3);
  if (offset < 0 || len <= 0) return Errno(EINVAL);
  if (!f->writable()) return Errno(EBADF);
  const auto& inode = f->inode();
  if (inode->IsDir()) return Errno(EISDIR);
  if (inode->type() == S_IFIFO) return Errno(ESPIPE);
  if (!inode->IsRegular()) return Errno(ENODEV);
  int64_t end;
  if (__builtin_add_overflow(offset, len, &end)) return Errno(EFBIG);
  if (f->vd().mount->readonly()) return Errno(EROFS);
  SENTRY_RETURN_IF_ERROR(inode->Allocate(mode, static_cast<uint64_t>(offset),
                                         static_cast<uint64_t>(len)));
  return 0;
}

// Implements Linux syscall sync(2). The sandbox's own filesystems are in
// memory; files written through the gofer reach the host's page cache at
// once, and fsync(2) on them reaches the disk.
SENTRY_SYSCALL(SysSync) { return 0; }

// Implements Linux syscall syncfs(2); see sync(2).
SENTRY_SYSCALL(SysSyncfs) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0), /*allow_path=*/true));
  (void)f;
  return 0;
}

// Implements Linux syscall memfd_create(2).
SENTRY_SYSCALL(SysMemfdCreate) {
  unsigned flags = a.U32(1);
  constexpr unsigned kNoexecSeal = 0x0008U;  // MFD_NOEXEC_SEAL (6.3)
  constexpr unsigned kExec = 0x0010U;        // MFD_EXEC (6.3)
  if ((flags & MFD_HUGETLB) != 0) return Errno(EINVAL);  // no huge pages
  if ((flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | kNoexecSeal | kExec)) != 0 ||
      ((flags & kNoexecSeal) != 0 && (flags & kExec) != 0)) {
    return Errno(EINVAL);
  }
  // NAME_MAX less the "memfd:" prefix.
  constexpr size_t kMaxMemfdName = 249;
  SysResult<std::string> name = t.CopyInString(a.Addr(0), kMaxMemfdName);
  if (!name.ok()) {
    return name.err() == ENAMETOOLONG ? Errno(EINVAL) : name.error();
  }
  bool sealing = (flags & (MFD_ALLOW_SEALING | kNoexecSeal)) != 0;
  SENTRY_ASSIGN_OR_RETURN(
      vfs::VirtualDentry vd,
      fs::tmpfs::NewMemfd(*name, t.creds().fsuid, t.creds().fsgid, sealing));
  if ((flags & kNoexecSeal) != 0) {
    vfs::Inode::AttrChange change;
    change.mode = 0666;
    SENTRY_RETURN_IF_ERROR(vd.dentry->inode()->SetAttr(t, change));
  }
  SENTRY_ASSIGN_OR_RETURN(auto f,
                          vfs::OpenResolved(t, vd, O_RDWR | O_LARGEFILE));
  SENTRY_ASSIGN_OR_RETURN(int fd,
                          t.NewFd(std::move(f), (flags & MFD_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

}  // namespace sentry::syscalls
