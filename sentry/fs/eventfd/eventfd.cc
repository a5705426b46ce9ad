#include "sentry/fs/eventfd/eventfd.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <cstring>
#include <optional>

#include "sentry/fs/anon/anon.h"

namespace sentry::fs::eventfd {

EventFD::EventFD(vfs::VirtualDentry vd, int flags, uint64_t initial,
                 bool semaphore)
    : StreamFD(std::move(vd), flags),
      semaphore_(semaphore),
      queue_(std::make_shared<WaitQueue>()),
      count_(initial) {}

SysResult<size_t> EventFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                                int64_t*) {
  if (len < sizeof(uint64_t)) return Errno(EINVAL);
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (count_ > 0) {
        uint64_t v = semaphore_ ? 1 : count_;
        count_ -= v;
        memcpy(buf, &v, sizeof(v));
        queue_->Notify(kEventOut);
        return sizeof(v);
      }
      if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(queue_.get(), ctx.waiter(), kEventIn);
      continue;  // re-check now that no wake can be missed
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<size_t> EventFD::Write(vfs::CallContext& ctx, const char* buf,
                                 size_t len, int64_t*) {
  // Linux 6.x takes exactly one value per write (earlier kernels took the
  // first 8 bytes of a longer buffer).
  if (len != sizeof(uint64_t)) return Errno(EINVAL);
  uint64_t v;
  memcpy(&v, buf, sizeof(v));
  if (v == ~0ULL) return Errno(EINVAL);
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (kMaxCount - count_ >= v) {
        count_ += v;
        if (count_ > 0) queue_->Notify(kEventIn);
        return sizeof(v);
      }
      if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(queue_.get(), ctx.waiter(), kEventOut);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

uint32_t EventFD::Readiness(uint32_t mask) {
  absl::MutexLock l(&mu_);
  uint32_t r = 0;
  if (count_ > 0) r |= POLLIN | POLLRDNORM;
  if (count_ < kMaxCount) r |= POLLOUT | POLLWRNORM;
  return r & mask;
}

uint64_t EventFD::count() {
  absl::MutexLock l(&mu_);
  return count_;
}

std::shared_ptr<EventFD> NewEventFD(uint64_t initial, int flags) {
  // Every anon_inode file of Linux is the one inode of anon_inodefs: mode
  // 0600 with no file type, owned by root.
  vfs::VirtualDentry vd = anon::NewAnonFile("anon_inodefs", 0600, 0, 0);
  return std::make_shared<EventFD>(std::move(vd), O_RDWR | (flags & O_NONBLOCK),
                                   initial, (flags & EFD_SEMAPHORE) != 0);
}

}  // namespace sentry::fs::eventfd
