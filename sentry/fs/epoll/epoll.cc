#include "sentry/fs/epoll/epoll.h"

#include <poll.h>

#include "sentry/fs/anon/anon.h"

namespace sentry::fs::epoll {

namespace {

// Flags that are not events.
constexpr uint32_t kControlFlags =
    EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;
// Nesting Linux allows (EP_MAX_NESTS).
constexpr int kMaxNests = 4;

}  // namespace

void EpollFD::Item::Notify(uint32_t events) {
  if ((events & (ev.events | EPOLLERR | EPOLLHUP)) == 0) return;
  signaled.store(true);
  ep->queue_->Notify(kEventIn);
}

EpollFD::EpollFD(vfs::VirtualDentry vd, int flags)
    : StreamFD(std::move(vd), flags), queue_(std::make_shared<WaitQueue>()) {}

EpollFD::~EpollFD() {
  absl::MutexLock l(&mu_);
  for (auto& [key, item] : items_) {
    if (item->queue) item->queue->Remove(item.get());
  }
}

void EpollFD::PruneLocked() {
  for (auto it = items_.begin(); it != items_.end();) {
    if (it->second->file.expired()) {
      if (it->second->queue) it->second->queue->Remove(it->second.get());
      it = items_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<vfs::FileDescription> EpollFD::Target(int fd, uint64_t toff) {
  // Items of one fd sit together, ordered by file as in Linux's tree.
  std::shared_ptr<vfs::FileDescription> f;
  {
    absl::MutexLock l(&mu_);
    for (auto it = items_.lower_bound(Key{fd, nullptr});
         it != items_.end() && it->first.first == fd; ++it) {
      if (toff-- == 0) {
        f = it->second->file.lock();
        break;
      }
    }
  }
  // Destroyed outside mu_: a file gone meanwhile may take its epoll items.
  return f;
}

bool EpollFD::Reaches(const EpollFD* other, int depth) {
  if (this == other) return true;
  if (depth <= 0) return true;  // too deep counts as a loop
  std::vector<std::shared_ptr<vfs::FileDescription>> nested;
  {
    absl::MutexLock l(&mu_);
    for (auto& [key, item] : items_) {
      std::shared_ptr<vfs::FileDescription> f = item->file.lock();
      if (dynamic_cast<EpollFD*>(f.get()) != nullptr) nested.push_back(f);
    }
  }
  for (auto& f : nested) {
    if (static_cast<EpollFD*>(f.get())->Reaches(other, depth - 1)) return true;
  }
  return false;
}

SysResult<void> EpollFD::Ctl(int op, int fd,
                             const std::shared_ptr<vfs::FileDescription>& file,
                             const GuestEpollEvent& ev) {
  Key key{fd, file.get()};
  if (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) {
    if ((ev.events & EPOLLEXCLUSIVE) != 0 &&
        (op == EPOLL_CTL_MOD ||
         (ev.events & ~(EPOLLEXCLUSIVE | EPOLLIN | EPOLLOUT | EPOLLERR |
                        EPOLLHUP | EPOLLWAKEUP | EPOLLET)) != 0)) {
      return Errno(EINVAL);
    }
  }
  if (op == EPOLL_CTL_ADD) {
    if (auto* nested = dynamic_cast<EpollFD*>(file.get())) {
      if (nested->Reaches(this, kMaxNests)) return Errno(ELOOP);
    }
  }
  absl::MutexLock l(&mu_);
  PruneLocked();
  auto it = items_.find(key);
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (it != items_.end()) return Errno(EEXIST);
      auto item = std::make_unique<Item>();
      item->ep = this;
      item->fd = fd;
      item->file = file;
      item->ev = ev;
      item->ev.events &= ~static_cast<uint32_t>(EPOLLWAKEUP);
      item->queue = file->EventQueue();
      if (item->queue) item->queue->Add(item.get(), kEventAll);
      items_.emplace(key, std::move(item));
      break;
    }
    case EPOLL_CTL_MOD:
      if (it == items_.end()) return Errno(ENOENT);
      if ((it->second->ev.events & EPOLLEXCLUSIVE) != 0) return Errno(EINVAL);
      it->second->ev = ev;
      it->second->ev.events &= ~static_cast<uint32_t>(EPOLLWAKEUP);
      it->second->disabled = false;
      it->second->signaled.store(true);
      break;
    case EPOLL_CTL_DEL:
      if (it == items_.end()) return Errno(ENOENT);
      if (it->second->queue) it->second->queue->Remove(it->second.get());
      items_.erase(it);
      break;
    default:
      return Errno(EINVAL);
  }
  queue_->Notify(kEventIn);
  return Ok();
}

std::vector<GuestEpollEvent> EpollFD::Collect(int max) {
  std::vector<GuestEpollEvent> out;
  absl::MutexLock l(&mu_);
  PruneLocked();
  for (auto& [key, item] : items_) {
    if (static_cast<int>(out.size()) >= max) break;
    if (item->disabled) continue;
    std::shared_ptr<vfs::FileDescription> f = item->file.lock();
    if (f == nullptr) continue;
    bool edge = (item->ev.events & EPOLLET) != 0;
    // An edge-triggered item reports only news, but the file's readiness
    // is checked either way (the news may be stale).
    if (edge && !item->signaled.exchange(false)) continue;
    uint32_t want = item->ev.events & ~kControlFlags;
    uint32_t ready =
        f->Readiness(want | EPOLLERR | EPOLLHUP) & (want | EPOLLERR | EPOLLHUP);
    if (ready == 0) continue;
    out.push_back({ready, item->ev.data});
    if ((item->ev.events & EPOLLONESHOT) != 0) item->disabled = true;
  }
  return out;
}

void EpollFD::HostPollFds(uint32_t, std::vector<struct pollfd>* out) {
  std::vector<std::pair<std::shared_ptr<vfs::FileDescription>, uint32_t>> fs;
  {
    absl::MutexLock l(&mu_);
    for (auto& [key, item] : items_) {
      if (item->disabled) continue;
      uint32_t events = item->ev.events;
      if (auto f = item->file.lock()) fs.emplace_back(f, events);
    }
  }
  for (auto& [f, events] : fs) f->HostPollFds(events, out);
}

uint32_t EpollFD::Readiness(uint32_t mask) {
  // Readable when some item would be reported; checked without consuming
  // edge-triggered news.
  absl::MutexLock l(&mu_);
  for (auto& [key, item] : items_) {
    if (item->disabled) continue;
    std::shared_ptr<vfs::FileDescription> f = item->file.lock();
    if (f == nullptr) continue;
    if ((item->ev.events & EPOLLET) != 0 && !item->signaled.load()) continue;
    uint32_t want = item->ev.events & ~kControlFlags;
    if ((f->Readiness(want | EPOLLERR | EPOLLHUP) &
         (want | EPOLLERR | EPOLLHUP)) != 0) {
      return mask & (POLLIN | POLLRDNORM);
    }
  }
  return 0;
}

std::shared_ptr<EpollFD> NewEpoll(int flags) {
  vfs::VirtualDentry vd = anon::NewAnonFile("anon_inodefs", 0600, 0, 0);
  return std::make_shared<EpollFD>(std::move(vd), O_RDWR | flags);
}

}  // namespace sentry::fs::epoll
