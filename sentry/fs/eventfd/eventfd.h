// eventfd: a 64-bit counter that writes add to and reads take, as
// eventfd(2) makes it.
//
// A read returns the counter and resets it to 0 (with EFD_SEMAPHORE:
// returns 1 and decrements it), waiting while it is 0. A write adds its
// value, waiting while the sum would pass 0xfffffffffffffffe (kMaxCount).
// Readable when the counter is above 0, writable when it is below the
// limit.
//
// Lock order: EventFD::mu_ before the queue's lock (Notify under mu_);
// waits happen with mu_ released.

#ifndef SENTRY_FS_EVENTFD_EVENTFD_H_
#define SENTRY_FS_EVENTFD_EVENTFD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "sentry/base/waiter.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::eventfd {

inline constexpr uint64_t kMaxCount = 0xfffffffffffffffeULL;

class EventFD final : public vfs::StreamFD, public anon::RecordReads {
 public:
  // `flags`: O_NONBLOCK and the access mode; `semaphore` for
  // EFD_SEMAPHORE.
  EventFD(vfs::VirtualDentry vd, int flags, uint64_t initial, bool semaphore);

  // Reads and writes move exactly one 8-byte value in host byte order.
  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  // Linux's noop_llseek: any seek "succeeds" and reports position 0.
  SysResult<int64_t> Seek(int64_t, int, int64_t* pos) override { return *pos; }
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override { return queue_; }
  std::string AnonName() const override { return "anon_inode:[eventfd]"; }

  uint64_t count();

 private:
  const bool semaphore_;
  const std::shared_ptr<WaitQueue> queue_;
  absl::Mutex mu_;
  uint64_t count_ ABSL_GUARDED_BY(mu_);
};

// eventfd2(2): a new eventfd holding `initial`. `flags` are EFD_NONBLOCK
// and EFD_SEMAPHORE (EFD_CLOEXEC belongs to the fd, not the file).
std::shared_ptr<EventFD> NewEventFD(uint64_t initial, int flags);

}  // namespace sentry::fs::eventfd

#endif  // SENTRY_FS_EVENTFD_EVENTFD_H_
