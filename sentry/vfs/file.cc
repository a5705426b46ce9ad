#include "sentry/vfs/file.h"

#include <dirent.h>
#include <unistd.h>

#include "sentry/vfs/inotify.h"

namespace sentry::vfs {

namespace {
// Flags that only matter at open time and are not reported by F_GETFL.
constexpr int kOpenOnlyFlags =
    O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC;
constexpr int kSettableFlags =
    O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
}  // namespace

FileDescription::FileDescription(VirtualDentry vd, int flags)
    : vd_(std::move(vd)), flags_(flags & ~kOpenOnlyFlags) {}

void FileDescription::SetStatusFlags(int flags) {
  int old = flags_.load();
  while (!flags_.compare_exchange_weak(
      old, (old & ~kSettableFlags) | (flags & kSettableFlags))) {
  }
}

SysResult<size_t> FileDescription::Read(CallContext&, char*, size_t, int64_t*) {
  return Errno(EINVAL);
}

SysResult<size_t> FileDescription::Write(CallContext&, const char*, size_t,
                                         int64_t*) {
  return Errno(EINVAL);
}

SysResult<Attr> FileDescription::Stat() { return inode()->GetAttr(); }

SysResult<int64_t> FileDescription::Seek(int64_t offset, int whence,
                                         int64_t* pos) {
  if (!seekable()) return Errno(ESPIPE);
  int64_t base;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = *pos;
      break;
    case SEEK_END:
    case SEEK_DATA:
    case SEEK_HOLE: {
      SENTRY_ASSIGN_OR_RETURN(Attr a, Stat());
      int64_t size = static_cast<int64_t>(a.size);
      if (whence == SEEK_END) {
        base = size;
        break;
      }
      // Without hole tracking the whole file is data, ending in one hole.
      if (offset < 0 || offset >= size) return Errno(ENXIO);
      *pos = whence == SEEK_DATA ? offset : size;
      return *pos;
    }
    default:
      return Errno(EINVAL);
  }
  int64_t result;
  if (__builtin_add_overflow(base, offset, &result)) return Errno(EOVERFLOW);
  if (result < 0) return Errno(EINVAL);
  *pos = result;
  return result;
}

SysResult<int64_t> FileDescription::Ioctl(CallContext&, uint32_t, uint64_t) {
  return Errno(ENOTTY);
}

SysResult<void> FileDescription::IterDirents(CallContext&, const DirentSink&) {
  return Errno(ENOTDIR);
}

FileDescription::~FileDescription() {
  if (vd_.dentry == nullptr) return;
  if (!is_path()) {
    NotifyFile(vd_, writable() ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
  }
  if (FileLocks* locks = vd_.dentry->inode()->locks_if_any()) {
    locks->ReleaseOwner(this);
  }
}

SysResult<MmapTarget> FileDescription::GetMmapTarget() { return Errno(ENODEV); }

SysResult<void> FileDescription::Sync() {
  if (!seekable()) return Errno(EINVAL);
  return Ok();
}

SysResult<void> DirectoryFD::IterDirents(CallContext& ctx,
                                         const DirentSink& emit) {
  absl::MutexLock pl(&pos_mu);
  absl::MutexLock l(&mu_);
  if (pos == 0 || !have_snapshot_) {
    SENTRY_ASSIGN_OR_RETURN(std::vector<Dirent> entries, inode()->ReadDir(ctx));
    SENTRY_ASSIGN_OR_RETURN(Attr self, inode()->GetAttr());
    uint64_t parent_ino = self.ino;
    if (const auto& parent = vd().dentry->parent()) {
      SysResult<Attr> pa = parent->inode()->GetAttr();
      if (pa.ok()) parent_ino = pa->ino;
    }
    snapshot_.clear();
    snapshot_.push_back(Dirent{".", self.ino, DT_DIR});
    snapshot_.push_back(Dirent{"..", parent_ino, DT_DIR});
    for (Dirent& d : entries) snapshot_.push_back(std::move(d));
    have_snapshot_ = true;
  }
  while (pos >= 0 && static_cast<size_t>(pos) < snapshot_.size()) {
    if (!emit(snapshot_[static_cast<size_t>(pos)], pos + 1)) break;
    pos++;
  }
  return Ok();
}

SysResult<int64_t> DirectoryFD::Seek(int64_t offset, int whence, int64_t* p) {
  if (whence != SEEK_SET && whence != SEEK_CUR) return Errno(EINVAL);
  int64_t target = offset;
  if (whence == SEEK_CUR && __builtin_add_overflow(*p, offset, &target)) {
    return Errno(EOVERFLOW);
  }
  if (target < 0) return Errno(EINVAL);

  *p = target;
  return target;
}

}  // namespace sentry::vfs
