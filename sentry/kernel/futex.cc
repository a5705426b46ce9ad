#include "sentry/kernel/futex.h"

#include <algorithm>

namespace sentry::kernel {

SysResult<void> FutexTable::Wait(
    Key key, uint32_t bitset, std::optional<absl::Time> deadline,
    const std::function<SysResult<bool>()>& check) {
  Waiter w{key, bitset};
  absl::MutexLock l(&mu_);
  // Checking the word under the lock that Wake takes closes the race with a
  // waker that changed it just before (the futex contract).
  SENTRY_ASSIGN_OR_RETURN(bool equal, check());
  if (!equal) return Errno(EAGAIN);
  queues_[key].push_back(&w);
  auto woken = [&w] { return w.woken; };
  bool ok = true;
  if (deadline) {
    ok = mu_.AwaitWithDeadline(absl::Condition(&woken), *deadline);
  } else {
    mu_.Await(absl::Condition(&woken));
  }
  if (!w.woken) {
    // Timed out: leave whichever queue a requeue may have moved us to.
    auto qit = queues_.find(w.key);
    if (qit != queues_.end()) {
      qit->second.remove(&w);
      if (qit->second.empty()) queues_.erase(qit);
    }
  }
  if (!ok && !w.woken) return Errno(ETIMEDOUT);
  return Ok();
}

int FutexTable::Wake(Key key, uint32_t bitset, int n) {
  absl::MutexLock l(&mu_);
  auto qit = queues_.find(key);
  if (qit == queues_.end()) return 0;
  int woken = 0;
  auto& q = qit->second;
  for (auto it = q.begin(); it != q.end() && woken < n;) {
    if (((*it)->bitset & bitset) != 0) {
      (*it)->woken = true;
      it = q.erase(it);
      woken++;
    } else {
      ++it;
    }
  }
  if (q.empty()) queues_.erase(qit);
  return woken;
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
      woken++;
    } else if (moved < requeue && !(from == to)) {
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

}  // namespace sentry::kernel
