#include "sentry/base/waiter.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "glog/logging.h"

namespace sentry {

Waiter::Waiter() : efd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  CHECK(efd_.valid()) << "eventfd: " << strerror(errno);
}

void Waiter::Notify() {
  uint64_t one = 1;
  // EAGAIN means the counter is already huge: the owner will wake anyway.
  (void)!write(efd_.get(), &one, sizeof(one));
}

bool Waiter::Wait(std::optional<absl::Time> deadline,
                  std::vector<struct pollfd>* host) {
  std::vector<struct pollfd> fds;
  fds.push_back({efd_.get(), POLLIN, 0});
  if (host != nullptr) fds.insert(fds.end(), host->begin(), host->end());
  for (;;) {
    int timeout = -1;
    if (deadline) {
      absl::Duration left = *deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      // Round up: waking a little late is fine, early would spin.
      timeout = static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(left + absl::Milliseconds(1) -
                                    absl::Nanoseconds(1)),
          INT32_MAX));
    }
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      if (deadline && absl::Now() < *deadline) continue;
      return false;
    }
    if (host != nullptr) {
      for (size_t i = 0; i < host->size(); i++)
        (*host)[i].revents = fds[i + 1].revents;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      uint64_t count;
      (void)!read(efd_.get(), &count, sizeof(count));
    }
    return true;
  }
}

void WaitQueue::Add(WaitEntry* w, uint32_t events) {
  absl::MutexLock l(&mu_);
  waiters_.emplace_back(w, events);
}

void WaitQueue::Remove(WaitEntry* w) {
  absl::MutexLock l(&mu_);
  auto it = std::find_if(waiters_.begin(), waiters_.end(),
                         [w](const auto& e) { return e.first == w; });
  if (it != waiters_.end()) waiters_.erase(it);
}

void WaitQueue::Notify(uint32_t events) {
  absl::MutexLock l(&mu_);
  for (auto& [w, mask] : waiters_) {
    if ((mask & events) != 0) w->Notify(events);
  }
}

}  // namespace sentry
