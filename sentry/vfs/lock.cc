#include "sentry/vfs/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "sentry/vfs/vfs.h"

namespace sentry::vfs {

namespace {

bool Overlaps(const RecordLock& a, const RecordLock& b) {
  return a.start <= b.end && b.start <= a.end;
}

// Who each blocked traditional lock owner waits for, to refuse the wait
// that would close a cycle (Linux's posix_locks_deadlock). Linux gives up
// after 10 hops; so do we.
class DeadlockGraph {
 public:
  static constexpr int kMaxHops = 10;

  // Records that `waiter` waits for `holder`, unless that closes a cycle.
  bool Wait(const void* waiter, const void* holder) {
    absl::MutexLock l(&mu_);
    const void* cur = holder;
    for (int i = 0; i < kMaxHops; i++) {
      if (cur == waiter) return false;
      auto it = waits_for_.find(cur);
      if (it == waits_for_.end()) break;
      cur = it->second;
    }
    waits_for_[waiter] = holder;
    return true;
  }

  void Done(const void* waiter) {
    absl::MutexLock l(&mu_);
    waits_for_.erase(waiter);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const void*, const void*> waits_for_ ABSL_GUARDED_BY(mu_);
};

DeadlockGraph& Deadlocks() {
  static auto* graph = new DeadlockGraph();
  return *graph;
}

}  // namespace

bool FileLocks::FlockConflicts(const void* owner, bool exclusive) const {
  for (const FlockEntry& e : flocks_) {
    if (e.owner != owner && (exclusive || e.exclusive)) return true;
  }
  return false;
}

SysResult<void> FileLocks::Flock(CallContext& ctx, const void* owner, int type,
                                 ShouldBlock block) {
  bool exclusive = type == LOCK_EX;
  {
    absl::MutexLock l(&mu_);
    auto it =
        std::find_if(flocks_.begin(), flocks_.end(),
                     [&](const FlockEntry& e) { return e.owner == owner; });
    if (it != flocks_.end()) {
      if (type != LOCK_UN && it->exclusive == exclusive) return Ok();
      flocks_.erase(it);
      queue_.Notify(kEventAll);
    }
    if (type == LOCK_UN) return Ok();
  }
  ScopedWait w(&queue_, ctx.waiter(), kEventAll);
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (!FlockConflicts(owner, exclusive)) {
        flocks_.push_back(FlockEntry{owner, exclusive});
        return Ok();
      }
    }
    if (block == ShouldBlock::kNo || ctx.waiter() == nullptr) {
      return Errno(EWOULDBLOCK);
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

const RecordLock* FileLocks::RecordConflict(const RecordLock& want) const {
  for (const RecordLock& l : records_) {
    if (l.owner == want.owner || !Overlaps(l, want)) continue;
    if (l.type == F_WRLCK || want.type == F_WRLCK) return &l;
  }
  return nullptr;
}

std::optional<RecordLock> FileLocks::TestRecord(const RecordLock& want) {
  absl::MutexLock l(&mu_);
  const RecordLock* c = RecordConflict(want);
  if (c == nullptr) return std::nullopt;
  return *c;
}

void FileLocks::ApplyRecord(const RecordLock& want) {
  std::vector<RecordLock> out;
  out.reserve(records_.size() + 2);
  for (const RecordLock& l : records_) {
    if (l.owner != want.owner || !Overlaps(l, want)) {
      out.push_back(l);
      continue;
    }
    // The owner's lock loses the range: what sticks out on either side
    // stays, with its own type.
    if (l.start < want.start) {
      RecordLock left = l;
      left.end = want.start - 1;
      out.push_back(left);
    }
    if (l.end > want.end) {
      RecordLock right = l;
      right.start = want.end + 1;
      out.push_back(right);
    }
  }
  if (want.type != F_UNLCK) {
    // Coalesce with the owner's adjacent locks of the same type, as Linux
    // does, so F_GETLK reports one range.
    RecordLock n = want;
    for (auto it = out.begin(); it != out.end();) {
      bool adjacent = (it->end != kLockEof && it->end + 1 == n.start) ||
                      (n.end != kLockEof && n.end + 1 == it->start);
      if (it->owner == n.owner && it->type == n.type && adjacent) {
        n.start = std::min(n.start, it->start);
        n.end = std::max(n.end, it->end);
        it = out.erase(it);
      } else {
        ++it;
      }
    }
    out.push_back(n);
  }
  records_ = std::move(out);
}

SysResult<void> FileLocks::SetRecord(CallContext& ctx, const RecordLock& want,
                                     ShouldBlock block) {
  if (want.type == F_UNLCK) {
    absl::MutexLock l(&mu_);
    // Unlocking the middle of a range splits it in two.
    if (records_.size() + 1 > kMaxRecords) return Errno(ENOLCK);
    ApplyRecord(want);
    queue_.Notify(kEventAll);
    return Ok();
  }
  ScopedWait w(&queue_, ctx.waiter(), kEventAll);
  for (;;) {
    const void* holder;
    bool holder_ofd;
    {
      absl::MutexLock l(&mu_);
      const RecordLock* c = RecordConflict(want);
      if (c == nullptr) {
        // A lock may split one of the owner's in two, and add itself.
        if (records_.size() + 2 > kMaxRecords) return Errno(ENOLCK);
        // Changing a lock's type or range may free bytes others wait for.
        ApplyRecord(want);
        queue_.Notify(kEventAll);
        return Ok();
      }
      holder = c->owner;
      holder_ofd = c->ofd;
    }
    if (block == ShouldBlock::kNo || ctx.waiter() == nullptr) {
      return Errno(EAGAIN);
    }
    // Only traditional locks take part in deadlock detection, as on Linux.
    bool track = !want.ofd && !holder_ofd;
    if (track && !Deadlocks().Wait(want.owner, holder)) return Errno(EDEADLK);
    SysResult<void> r = ctx.Block(std::nullopt);
    if (track) Deadlocks().Done(want.owner);
    SENTRY_RETURN_IF_ERROR(r);
  }
}

void FileLocks::ReleaseOwner(const void* owner) {
  absl::MutexLock l(&mu_);
  size_t before = flocks_.size() + records_.size();
  flocks_.erase(
      std::remove_if(flocks_.begin(), flocks_.end(),
                     [&](const FlockEntry& e) { return e.owner == owner; }),
      flocks_.end());
  records_.erase(
      std::remove_if(records_.begin(), records_.end(),
                     [&](const RecordLock& r) { return r.owner == owner; }),
      records_.end());
  if (flocks_.size() + records_.size() != before) queue_.Notify(kEventAll);
}

}  // namespace sentry::vfs
