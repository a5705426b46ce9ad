#include "sentry/kernel/futex.h"

namespace sentry::kernel {

SysResult<void> FutexTable::Wait(
    Key key, uint32_t bitset, std::optional<absl::Time> deadline,
    const std::function<SysResult<bool>()>& check) {
  Waiter w{bitset};
  absl::MutexLock l(&mu_);
  // Checking the word under the lock that Wake takes closes the race with a
  // waker that changed it just before (the futex contract).
  SENTRY_ASSIGN_OR_RETURN(bool equal, check());
  if (!equal) return Errno(EAGAIN);
  auto& q = queues_[key];
  auto it = q.insert(q.end(), &w);
  auto woken = [&w] { return w.woken; };
  bool ok = deadline ? mu_.AwaitWithDeadline(absl::Condition(&woken), *deadline)
                     : (mu_.Await(absl::Condition(&woken)), true);
  if (!w.woken) {
    auto& queue = queues_[key];
    queue.erase(it);
    if (queue.empty()) queues_.erase(key);
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

}  // namespace sentry::kernel
