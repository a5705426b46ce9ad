#include "sentry/kernel/futex.h"

#include <algorithm>

namespace sentry::kernel {

FutexTable::Key FutexTable::KeyFor(mm::MemoryManager& mm, uint64_t addr,
                                   bool private_op) {
  if (!private_op) {
    std::optional<mm::MemoryManager::SharedKey> k = mm.SharedKeyFor(addr);
    if (k) return Key{k->object, k->offset};
    // A shared operation on private memory: Linux marks its key
    // (FUT_OFF_MMSHARED) so that it never meets a private one. Futex
    // words are 4-aligned, so the low bit is free.
    return Key{&mm, addr | 1};
  }
  return Key{&mm, addr};
}

SysResult<void> FutexTable::Wait(
    vfs::CallContext& ctx, Key key, uint32_t bitset,
    std::optional<absl::Time> deadline,
    const std::function<SysResult<bool>()>& check) {
  sentry::Waiter* w = ctx.waiter();
  if (w == nullptr) return Errno(EAGAIN);
  Waiter e{key, bitset, w};
  {
    absl::MutexLock l(&mu_);
    // Checking the word under the lock that Wake takes closes the race
    // with a waker that changed it just before (the futex contract).
    SENTRY_ASSIGN_OR_RETURN(bool equal, check());
    if (!equal) return Errno(EAGAIN);
    queues_[key].push_back(&e);
  }
  for (;;) {
    SysResult<void> r = ctx.Block(deadline);
    absl::MutexLock l(&mu_);
    if (e.woken) return Ok();
    if (r.ok()) continue;  // a wake for something else
    // Timed out or interrupted: leave whichever queue a requeue may have
    // moved us to.
    auto qit = queues_.find(e.key);
    if (qit != queues_.end()) {
      qit->second.remove(&e);
      if (qit->second.empty()) queues_.erase(qit);
    }
    return r;
  }
}

int FutexTable::WakeLocked(Key key, uint32_t bitset, int n) {
  // Linux counts a waiter before comparing with the limit: a wake of 0
  // wakes one.
  n = std::max(n, 1);
  auto qit = queues_.find(key);
  if (qit == queues_.end()) return 0;
  int woken = 0;
  auto& q = qit->second;
  for (auto it = q.begin(); it != q.end() && woken < n;) {
    if (((*it)->bitset & bitset) != 0) {
      (*it)->woken = true;
      (*it)->waiter->Notify();
      it = q.erase(it);
      woken++;
    } else {
      ++it;
    }
  }
  if (q.empty()) queues_.erase(qit);
  return woken;
}

int FutexTable::Wake(Key key, uint32_t bitset, int n) {
  absl::MutexLock l(&mu_);
  return WakeLocked(key, bitset, n);
}

SysResult<int> FutexTable::Requeue(
    Key from, Key to, int wake, int requeue,
    const std::function<SysResult<bool>()>& check) {
  absl::MutexLock l(&mu_);
  if (check) {
    SENTRY_ASSIGN_OR_RETURN(bool equal, check());
    if (!equal) return Errno(EAGAIN);
  }
  auto qit = queues_.find(from);
  if (qit == queues_.end()) return 0;
  std::list<Waiter*> waiters = std::move(qit->second);
  queues_.erase(qit);
  int done = 0;
  int woken = 0, moved = 0;
  for (Waiter* w : waiters) {
    if (woken < wake) {
      w->woken = true;
      w->waiter->Notify();
      woken++;
    } else if (moved < requeue) {  // onto itself too: Linux counts them
      w->key = to;
      queues_[to].push_back(w);
      moved++;
    } else {
      queues_[from].push_back(w);
      continue;
    }
    done++;
  }
  return done;
}

SysResult<int> FutexTable::WakeOp(Key key1, Key key2, int wake1, int wake2,
                                  const std::function<SysResult<bool>()>& op) {
  absl::MutexLock l(&mu_);
  SENTRY_ASSIGN_OR_RETURN(bool passed, op());
  int n = WakeLocked(key1, 0xffffffffu, wake1);
  if (passed) n += WakeLocked(key2, 0xffffffffu, wake2);
  return n;
}

}  // namespace sentry::kernel
