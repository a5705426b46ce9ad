// Advisory file locks: flock(2) and fcntl(2) record locks, traditional
// (process-associated) and open-file-description ones, with Linux's rules.
//
// Owners are opaque pointers: a FileDescription for flock and OFD locks
// (released when the description is), an FdTable for traditional POSIX
// locks (released when that table closes any fd of the file, as Linux's
// files_struct-owned locks are). flock locks and record locks never
// conflict with each other; OFD and POSIX record locks share one space.
//
// Lock order: FileLocks::mu_ before the deadlock graph's lock; both are
// leaves otherwise (waiters are notified, never called).

#ifndef SENTRY_VFS_LOCK_H_
#define SENTRY_VFS_LOCK_H_

#include <sys/types.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"

namespace sentry::vfs {

class CallContext;

enum class ShouldBlock { kNo, kYes };

// A byte range, both ends inclusive; `end` kLockEof reaches past any size.
inline constexpr uint64_t kLockEof = std::numeric_limits<uint64_t>::max();

struct RecordLock {
  const void* owner = nullptr;
  int pid = 0;       // F_GETLK's l_pid: the process, or -1 for OFD locks
  short type = 0;    // F_RDLCK or F_WRLCK
  bool ofd = false;  // an open-file-description lock
  uint64_t start = 0;
  uint64_t end = kLockEof;
};

class FileLocks final {
 public:
  FileLocks() = default;
  FileLocks(const FileLocks&) = delete;
  FileLocks& operator=(const FileLocks&) = delete;

  // flock(2): `type` is LOCK_SH, LOCK_EX or LOCK_UN. A conversion drops
  // the old lock first, as Linux does. EWOULDBLOCK without blocking;
  // kERESTARTSYS when a signal interrupts the wait.
  SysResult<void> Flock(CallContext& ctx, const void* owner, int type,
                        ShouldBlock block);

  // F_GETLK: the first lock that would conflict with `want`, or nothing.
  std::optional<RecordLock> TestRecord(const RecordLock& want);

  // The most record locks one file holds: a guest splitting ranges cannot
  // grow the sentry without bound (ENOLCK, as Linux when it has no memory
  // for another lock).
  static constexpr size_t kMaxRecords = 1 << 16;

  // F_SETLK/F_SETLKW (F_UNLCK unlocks): replaces, splits and merges the
  // owner's own locks over the range. EAGAIN without blocking; EDEADLK when
  // waiting would close a cycle of traditional lock owners; ENOLCK past
  // kMaxRecords.
  SysResult<void> SetRecord(CallContext& ctx, const RecordLock& want,
                            ShouldBlock block);

  // Drops every lock of `owner`: its flock and OFD locks when a description
  // is released, its record locks when a table closes an fd of the file.
  void ReleaseOwner(const void* owner);

 private:
  struct FlockEntry {
    const void* owner;
    bool exclusive;
  };

  bool FlockConflicts(const void* owner, bool exclusive) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const RecordLock* RecordConflict(const RecordLock& want) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyRecord(const RecordLock& want) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::vector<FlockEntry> flocks_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordLock> records_ ABSL_GUARDED_BY(mu_);
  // Announces every release, for blocked lockers to retry.
  WaitQueue queue_;
};

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_LOCK_H_
