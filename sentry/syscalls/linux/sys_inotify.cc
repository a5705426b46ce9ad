// Implements inotify_init(2), inotify_init1(2), inotify_add_watch(2) and
// inotify_rm_watch(2). The events come from the VFS (sentry/vfs/inotify.h).

#include <fcntl.h>
#include <sys/inotify.h>

#include "sentry/fs/anon/anon.h"
#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/inotify.h"

namespace sentry::syscalls {

namespace {

SysResult<uint64_t> DoInotifyInit(Task& t, int flags) {
  if ((flags & ~(IN_NONBLOCK | IN_CLOEXEC)) != 0) return Errno(EINVAL);
  vfs::VirtualDentry vd = fs::anon::NewAnonFile(
      "anon_inodefs", 0600, t.creds().fsuid, t.creds().fsgid);
  auto f = std::make_shared<vfs::InotifyFD>(std::move(vd),
                                            O_RDONLY | (flags & IN_NONBLOCK));
  SENTRY_ASSIGN_OR_RETURN(int fd, t.NewFd(f, (flags & IN_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

SysResult<vfs::InotifyFD*> InotifyOf(
    const std::shared_ptr<vfs::FileDescription>& f) {
  auto* in = dynamic_cast<vfs::InotifyFD*>(f.get());
  if (in == nullptr) return Errno(EINVAL);
  return in;
}

}  // namespace

// Implements Linux syscall inotify_init(2).
SENTRY_SYSCALL(SysInotifyInit) { return DoInotifyInit(t, 0); }

// Implements Linux syscall inotify_init1(2).
SENTRY_SYSCALL(SysInotifyInit1) { return DoInotifyInit(t, a.Int(0)); }

// Implements Linux syscall inotify_add_watch(2).
SENTRY_SYSCALL(SysInotifyAddWatch) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  SENTRY_ASSIGN_OR_RETURN(vfs::InotifyFD * in, InotifyOf(f));
  uint32_t mask = a.U32(2);
  if ((mask & IN_ALL_EVENTS) == 0) return Errno(EINVAL);
  if ((mask & IN_MASK_ADD) != 0 && (mask & IN_MASK_CREATE) != 0) {
    return Errno(EINVAL);
  }
  bool follow = (mask & IN_DONT_FOLLOW) == 0;
  SENTRY_ASSIGN_OR_RETURN(AtTarget target,
                          ResolveAt(t, AT_FDCWD, a.Addr(1), follow, false));
  if ((mask & IN_ONLYDIR) != 0 && !target.vd.dentry->inode()->IsDir()) {
    return Errno(ENOTDIR);
  }
  // Watching needs read permission on the file, as Linux's
  // inode_permission(MAY_READ).
  SENTRY_RETURN_IF_ERROR(vfs::CheckAccess(t, target.vd, auth::kMayRead));
  SENTRY_ASSIGN_OR_RETURN(
      int wd,
      in->instance()->AddWatch(
          target.vd, mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK |
                             IN_MASK_ADD | IN_MASK_CREATE)));
  return static_cast<uint64_t>(wd);
}

// Implements Linux syscall inotify_rm_watch(2).
SENTRY_SYSCALL(SysInotifyRmWatch) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  SENTRY_ASSIGN_OR_RETURN(vfs::InotifyFD * in, InotifyOf(f));
  SENTRY_RETURN_IF_ERROR(in->instance()->RemoveWatch(a.Int(1)));
  return 0;
}

}  // namespace sentry::syscalls
