// Implements flock(2) and the record-lock commands of fcntl(2): F_GETLK,
// F_SETLK, F_SETLKW and their open-file-description forms.

#include <fcntl.h>
#include <sys/file.h>

#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/lock.h"

namespace sentry::syscalls {

// Implements Linux syscall flock(2).
SENTRY_SYSCALL(SysFlock) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  int op = a.Int(1);
  int type = op & ~LOCK_NB;
  if (type != LOCK_SH && type != LOCK_EX && type != LOCK_UN) {
    return Errno(EINVAL);
  }
  vfs::ShouldBlock block =
      (op & LOCK_NB) != 0 ? vfs::ShouldBlock::kNo : vfs::ShouldBlock::kYes;
  SENTRY_RETURN_IF_ERROR(f->inode()->locks().Flock(t, f.get(), type, block));
  return 0;
}

SysResult<uint64_t> FcntlLock(Task& t,
                              const std::shared_ptr<vfs::FileDescription>& f,
                              int cmd, GuestAddr addr) {
  if (f->is_path()) return Errno(EBADF);
  struct flock fl;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &fl));
  bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd && fl.l_pid != 0) return Errno(EINVAL);
  if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK) {
    return Errno(EINVAL);
  }
  // The range, from l_whence, l_start and l_len (negative lengths reach
  // backwards, zero reaches past the end), as Linux's flock_to_posix_lock.
  int64_t base;
  switch (fl.l_whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR: {
      absl::MutexLock l(&f->pos_mu);
      base = f->pos;
      break;
    }
    case SEEK_END: {
      SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, f->Stat());
      base = static_cast<int64_t>(attr.size);
      break;
    }
    default:
      return Errno(EINVAL);
  }
  int64_t start;
  if (__builtin_add_overflow(base, fl.l_start, &start)) return Errno(EOVERFLOW);
  if (start < 0) return Errno(EINVAL);
  vfs::RecordLock want;
  if (fl.l_len > 0) {
    int64_t end;
    if (__builtin_add_overflow(start, fl.l_len - 1, &end)) {
      return Errno(EOVERFLOW);
    }
    want.start = static_cast<uint64_t>(start);
    want.end = static_cast<uint64_t>(end);
  } else if (fl.l_len < 0) {
    int64_t first = start + fl.l_len;
    if (first < 0) return Errno(EINVAL);
    want.start = static_cast<uint64_t>(first);
    want.end = static_cast<uint64_t>(start - 1);
  } else {
    want.start = static_cast<uint64_t>(start);
    want.end = vfs::kLockEof;
  }
  want.type = fl.l_type;
  want.ofd = ofd;
  // Traditional locks belong to the fd table (Linux's files_struct), OFD
  // locks to the open file description.
  want.owner = ofd ? static_cast<const void*>(f.get())
                   : static_cast<const void*>(&t.fds());
  want.pid = ofd ? -1 : t.tg().tgid();
  vfs::FileLocks& locks = f->inode()->locks();

  if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
    if (fl.l_type == F_UNLCK) return Errno(EINVAL);
    std::optional<vfs::RecordLock> c = locks.TestRecord(want);
    if (!c) {
      fl.l_type = F_UNLCK;
    } else {
      fl.l_type = c->type;
      fl.l_whence = SEEK_SET;
      fl.l_start = static_cast<off_t>(c->start);
      fl.l_len = c->end == vfs::kLockEof
                     ? 0
                     : static_cast<off_t>(c->end - c->start + 1);
      fl.l_pid = c->pid;
    }
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(addr, fl));
    return 0;
  }
  if (fl.l_type == F_RDLCK && !f->readable()) return Errno(EBADF);
  if (fl.l_type == F_WRLCK && !f->writable()) return Errno(EBADF);
  vfs::ShouldBlock block = (cmd == F_SETLKW || cmd == F_OFD_SETLKW)
                               ? vfs::ShouldBlock::kYes
                               : vfs::ShouldBlock::kNo;
  SENTRY_RETURN_IF_ERROR(locks.SetRecord(t, want, block));
  return 0;
}

}  // namespace sentry::syscalls
