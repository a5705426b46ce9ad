#include "sentry/kernel/timers.h"

#include "absl/time/clock.h"

namespace sentry::kernel {

TimerService::~TimerService() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

TimerService::Id TimerService::Schedule(absl::Time when,
                                        std::function<void()> fn) {
  absl::MutexLock l(&mu_);
  if (!started_) {
    started_ = true;
    thread_ = std::thread([this] { Loop(); });
  }
  Id id = next_id_++;
  timers_[id] = {when, std::move(fn)};
  queue_.emplace(when, id);
  cv_.Signal();
  return id;
}

void TimerService::Cancel(Id id) {
  absl::MutexLock l(&mu_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto range = queue_.equal_range(it->second.first);
  for (auto q = range.first; q != range.second; ++q) {
    if (q->second == id) {
      queue_.erase(q);
      break;
    }
  }
  timers_.erase(it);
}

void TimerService::Loop() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.Wait(&mu_);
      continue;
    }
    auto first = queue_.begin();
    absl::Time now = absl::Now();
    if (first->first > now) {
      cv_.WaitWithDeadline(&mu_, first->first);
      continue;
    }
    Id id = first->second;
    queue_.erase(first);
    auto it = timers_.find(id);
    std::function<void()> fn = std::move(it->second.second);
    timers_.erase(it);
    mu_.Unlock();
    fn();
    mu_.Lock();
  }
}

}  // namespace sentry::kernel
