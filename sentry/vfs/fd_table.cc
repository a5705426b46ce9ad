#include "sentry/vfs/fd_table.h"

namespace sentry::vfs {

FdTable::~FdTable() {
  for (const Entry& e : fds_) {
    if (e.file) ReleaseLocks(e.file.get());
  }
}

void FdTable::ReleaseLocks(const FileDescription* file) const {
  if (file == nullptr) return;
  file->FdClosed();
  if (file->vd().dentry == nullptr) return;
  if (FileLocks* locks = file->inode()->locks_if_any()) {
    locks->ReleaseOwner(this);
  }
}

SysResult<int> FdTable::Add(std::shared_ptr<FileDescription> file, bool cloexec,
                            int min_fd, uint64_t limit) {
  if (min_fd < 0) return Errno(EINVAL);
  absl::MutexLock l(&mu_);
  size_t fd = static_cast<size_t>(min_fd);
  for (; fd < fds_.size(); fd++) {
    if (!fds_[fd].file) break;
  }
  if (fd >= limit) return Errno(EMFILE);
  if (fd >= fds_.size()) fds_.resize(fd + 1);
  fds_[fd] = Entry{std::move(file), cloexec};
  return static_cast<int>(fd);
}

SysResult<std::shared_ptr<FileDescription>> FdTable::Set(
    int fd, std::shared_ptr<FileDescription> file, bool cloexec,
    uint64_t limit) {
  if (fd < 0 || static_cast<uint64_t>(fd) >= limit) return Errno(EBADF);
  std::shared_ptr<FileDescription> old;
  {
    absl::MutexLock l(&mu_);
    size_t i = static_cast<size_t>(fd);
    if (i >= fds_.size()) fds_.resize(i + 1);
    old = std::move(fds_[i].file);
    fds_[i] = Entry{std::move(file), cloexec};
  }
  ReleaseLocks(old.get());
  return old;
}

SysResult<std::shared_ptr<FileDescription>> FdTable::Get(int fd,
                                                         bool* cloexec) const {
  absl::MutexLock l(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file)
    return Errno(EBADF);
  if (cloexec != nullptr) *cloexec = fds_[fd].cloexec;
  return fds_[fd].file;
}

SysResult<std::shared_ptr<FileDescription>> FdTable::Remove(int fd) {
  std::shared_ptr<FileDescription> f;
  {
    absl::MutexLock l(&mu_);
    if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file)
      return Errno(EBADF);
    f = std::move(fds_[fd].file);
    fds_[fd] = Entry{};
    while (!fds_.empty() && !fds_.back().file) fds_.pop_back();
  }
  ReleaseLocks(f.get());
  return f;
}

SysResult<void> FdTable::SetCloexec(int fd, bool cloexec) {
  absl::MutexLock l(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file)
    return Errno(EBADF);
  fds_[fd].cloexec = cloexec;
  return Ok();
}

std::vector<std::shared_ptr<FileDescription>> FdTable::RemoveCloexec() {
  std::vector<std::shared_ptr<FileDescription>> removed;
  {
    absl::MutexLock l(&mu_);
    for (Entry& e : fds_) {
      if (e.file && e.cloexec) {
        removed.push_back(std::move(e.file));
        e = Entry{};
      }
    }
    while (!fds_.empty() && !fds_.back().file) fds_.pop_back();
  }
  for (const auto& f : removed) ReleaseLocks(f.get());
  return removed;
}

std::shared_ptr<FdTable> FdTable::Fork() const {
  auto copy = std::make_shared<FdTable>();
  absl::MutexLock l(&mu_);
  copy->fds_ = fds_;
  return copy;
}

void FdTable::ForEach(
    const std::function<void(int, const std::shared_ptr<FileDescription>&)>& fn)
    const {
  std::vector<Entry> snapshot;
  {
    absl::MutexLock l(&mu_);
    snapshot = fds_;
  }
  for (size_t i = 0; i < snapshot.size(); i++) {
    if (snapshot[i].file) fn(static_cast<int>(i), snapshot[i].file);
  }
}

size_t FdTable::Count() const {
  absl::MutexLock l(&mu_);
  size_t n = 0;
  for (const Entry& e : fds_) n += e.file != nullptr;
  return n;
}

}  // namespace sentry::vfs
