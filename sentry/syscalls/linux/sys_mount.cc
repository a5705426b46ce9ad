// Implements mount(2) and umount2(2) inside the sandbox, for a guest with
// CAP_SYS_ADMIN (in the sandbox; the host never sees these mounts): new
// tmpfs instances, more mounts of the sandbox's proc and sysfs, bind
// mounts, remounts that change the mount flags, and propagation changes
// (which change nothing: the sandbox has one mount namespace).

#include <sys/mount.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "sentry/fs/mqueue/mqueue.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/ops.h"

namespace sentry::syscalls {

namespace {

constexpr size_t kMaxMountData = 4096;  // one page, as Linux copies

// The kMount* flags an MS_* set asks for.
int MountFlags(uint64_t ms) {
  int f = 0;
  if ((ms & MS_RDONLY) != 0) f |= vfs::kMountReadOnly;
  if ((ms & MS_NOSUID) != 0) f |= vfs::kMountNoSuid;
  if ((ms & MS_NODEV) != 0) f |= vfs::kMountNoDev;
  if ((ms & MS_NOEXEC) != 0) f |= vfs::kMountNoExec;
  return f;
}

// The mount of filesystem type `type` already in the namespace, for
// another mount of the same instance (proc, sysfs, devpts: the sandbox
// has one of each).
std::shared_ptr<vfs::Mount> FindMountOfType(Task& t, const std::string& type) {
  for (const auto& m : t.kernel().mount_ns().Mounts()) {
    if (m->fs()->type() == type) return m;
  }
  return nullptr;
}

}  // namespace

// Implements Linux syscall mount(2).
SENTRY_SYSCALL(SysMount) {
  uint64_t flags = a.U64(3);
  // The magic number of old mount(8)s, ignored as Linux does.
  if ((flags & MS_MGC_MSK) == MS_MGC_VAL) flags &= ~MS_MGC_MSK;
  // The target is looked up before the privilege check, as Linux does.
  SENTRY_ASSIGN_OR_RETURN(AtTarget at,
                          ResolveAt(t, AT_FDCWD, a.Addr(1), true, false));
  const vfs::VirtualDentry& target = at.vd;
  if (!t.creds().HasCapability(auth::Capability::kSysAdmin)) {
    return Errno(EPERM);
  }
  constexpr uint64_t kPropagation =
      MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
  if ((flags & kPropagation) != 0) {
    // One mount namespace: propagation has nothing to propagate to.
    uint64_t kind = flags & kPropagation;
    if ((kind & (kind - 1)) != 0) return Errno(EINVAL);
    return 0;
  }
  if ((flags & MS_REMOUNT) != 0) {
    if (target.dentry != target.mount->root()) return Errno(EINVAL);
    target.mount->set_flags(MountFlags(flags));
    return 0;
  }
  if ((flags & MS_MOVE) != 0) return Errno(EINVAL);  // TODO(#4): MS_MOVE
  if (!target.dentry->inode()->IsDir()) {
    if ((flags & MS_BIND) == 0) return Errno(ENOTDIR);
  }
  std::shared_ptr<vfs::Mount> mount;
  if ((flags & MS_BIND) != 0) {
    SENTRY_ASSIGN_OR_RETURN(AtTarget from,
                            ResolveAt(t, AT_FDCWD, a.Addr(0), true, false));
    const vfs::VirtualDentry& source = from.vd;
    if (source.dentry->inode()->IsDir() != target.dentry->inode()->IsDir()) {
      return Errno(ENOTDIR);  // either way, as Linux
    }
    // Without MS_REC only the source mount is bound, as Linux does; its
    // submounts are not visible there.
    mount =
        std::make_shared<vfs::Mount>(source.mount->fs(), source.dentry,
                                     MountFlags(flags), source.mount->source());
  } else {
    SENTRY_ASSIGN_OR_RETURN(std::string type, t.CopyInString(a.Addr(2), 255));
    std::string data;
    if (!a.Addr(4).IsNull()) {
      SysResult<std::string> d = t.CopyInString(a.Addr(4), kMaxMountData - 1);
      if (!d.ok() && d.err() != ENAMETOOLONG) return d.error();
      if (d.ok()) data = std::move(*d);
    }
    std::string source;
    if (!a.Addr(0).IsNull()) {
      SENTRY_ASSIGN_OR_RETURN(source, t.CopyInString(a.Addr(0), 4095));
    }
    if (type == "tmpfs") {
      SENTRY_ASSIGN_OR_RETURN(auto fs,
                              fs::tmpfs::TmpfsFilesystem::FromOptions(data));
      mount = std::make_shared<vfs::Mount>(fs, fs->root(), MountFlags(flags),
                                           source.empty() ? "none" : source);
    } else if (type == "mqueue") {
      // The sandbox's one IPC namespace has one set of queues.
      const auto& mq = fs::mqueue::MqueueFilesystem::Instance();
      mount = std::make_shared<vfs::Mount>(mq, mq->root(), MountFlags(flags),
                                           source.empty() ? "mqueue" : source);
    } else if (type == "proc" || type == "sysfs" || type == "devpts") {
      std::shared_ptr<vfs::Mount> existing = FindMountOfType(t, type);
      if (existing == nullptr) return Errno(ENODEV);
      mount = std::make_shared<vfs::Mount>(existing->fs(), existing->root(),
                                           MountFlags(flags),
                                           source.empty() ? type : source);
    } else {
      return Errno(ENODEV);  // a filesystem type the sandbox does not have
    }
  }
  SENTRY_RETURN_IF_ERROR(t.kernel().mount_ns().Attach(target, mount));
  return 0;
}

// Implements Linux syscall umount2(2).
SENTRY_SYSCALL(SysUmount2) {
  int flags = a.Int(1);
  if ((flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) != 0) {
    return Errno(EINVAL);
  }
  if ((flags & MNT_EXPIRE) != 0 && (flags & (MNT_FORCE | MNT_DETACH)) != 0) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(
      AtTarget at,
      ResolveAt(t, AT_FDCWD, a.Addr(0), (flags & UMOUNT_NOFOLLOW) == 0, false));
  const vfs::VirtualDentry& target = at.vd;
  if (!t.creds().HasCapability(auth::Capability::kSysAdmin)) {
    return Errno(EPERM);
  }
  if (target.dentry != target.mount->root()) return Errno(EINVAL);
  if ((flags & MNT_EXPIRE) != 0) return Errno(EAGAIN);  // never marked yet
  bool lazy = (flags & MNT_DETACH) != 0;
  // In use: someone's open file, working directory or root holds the
  // mount besides the namespace's two tables and `target` here.
  constexpr long kNamespaceAndUs = 3;
  if (!lazy && target.mount.use_count() > kNamespaceAndUs) {
    return Errno(EBUSY);
  }
  SENTRY_RETURN_IF_ERROR(t.kernel().mount_ns().Detach(target.mount, lazy));
  return 0;
}

}  // namespace sentry::syscalls
