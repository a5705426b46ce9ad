// A process's file descriptor table. Shared between threads (and between
// processes created with CLONE_FILES) by shared_ptr.
//
// The table owns its traditional POSIX record locks, as Linux's
// files_struct does: closing any fd of a file (close, dup2 over it,
// close-on-exec, the table's end) drops every lock the table holds on it.

#ifndef SENTRY_VFS_FD_TABLE_H_
#define SENTRY_VFS_FD_TABLE_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "sentry/base/sys_result.h"
#include "sentry/vfs/file.h"

namespace sentry::vfs {

class FdTable final {
 public:
  FdTable() = default;
  ~FdTable();
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // Installs `file` at the lowest free fd >= min_fd below `limit`
  // (RLIMIT_NOFILE): EMFILE when none is free (as when min_fd >= limit,
  // a limit of 0 included), EINVAL when min_fd is negative. F_DUPFD's
  // EINVAL for a start at or past the limit is its caller's.
  SysResult<int> Add(std::shared_ptr<FileDescription> file, bool cloexec,
                     int min_fd, uint64_t limit);

  // Installs `file` at exactly `fd` (dup2/dup3), returning what was there
  // so the caller can drop it outside the lock. EBADF if fd >= limit.
  SysResult<std::shared_ptr<FileDescription>> Set(
      int fd, std::shared_ptr<FileDescription> file, bool cloexec,
      uint64_t limit);

  SysResult<std::shared_ptr<FileDescription>> Get(
      int fd, bool* cloexec = nullptr) const;

  // Removes fd; the caller drops the returned description outside the lock
  // (closing a file may block).
  SysResult<std::shared_ptr<FileDescription>> Remove(int fd);

  SysResult<void> SetCloexec(int fd, bool cloexec);

  // Removes every close-on-exec fd (execve) and returns them.
  std::vector<std::shared_ptr<FileDescription>> RemoveCloexec();

  // A copy sharing the same descriptions (fork without CLONE_FILES).
  std::shared_ptr<FdTable> Fork() const;

  // Calls fn(fd, file) for each open fd in order.
  void ForEach(
      const std::function<void(int, const std::shared_ptr<FileDescription>&)>&
          fn) const;

  size_t Count() const;

 private:
  // Drops this table's record locks on `file`'s inode (after an fd of it
  // left the table), and tells the file (FdClosed).
  void ReleaseLocks(const FileDescription* file) const;

  struct Entry {
    std::shared_ptr<FileDescription> file;
    bool cloexec = false;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_FD_TABLE_H_
