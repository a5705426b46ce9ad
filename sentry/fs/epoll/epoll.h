// epoll: an interest list of (fd, file) pairs and the events each wants.
//
// Each registered file is watched through its EventQueue: an item is an
// entry on that queue, marked when the queue fires, and the epoll's own
// queue wakes whoever waits in epoll_wait (or polls the epoll fd itself,
// for nested sets). Readiness is always re-checked against the file, so
// level-triggered items report what holds now; edge-triggered ones report
// only after a notification since their last report.
//
// Items hold their file weakly, as Linux's epoll does not keep files open:
// an item whose file has been closed everywhere is dropped. They hold the
// file's queue strongly, so unregistering never touches a freed queue.
//
// Lock order: EpollFD::mu_ before a watched file's queue lock (Add,
// Remove); a queue's lock before the epoll's own queue lock (Item::Notify).

#ifndef SENTRY_FS_EPOLL_EPOLL_H_
#define SENTRY_FS_EPOLL_EPOLL_H_

#include <sys/epoll.h>

#include <atomic>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "sentry/base/waiter.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::epoll {

// The guest's struct epoll_event (packed on x86-64: 12 bytes).
struct __attribute__((packed)) GuestEpollEvent {
  uint32_t events;
  uint64_t data;
};
static_assert(sizeof(GuestEpollEvent) == 12);

class EpollFD final : public vfs::StreamFD {
 public:
  EpollFD(vfs::VirtualDentry vd, int flags);
  ~EpollFD() override;

  // epoll_ctl(2) for `fd` naming `file`.
  SysResult<void> Ctl(int op, int fd,
                      const std::shared_ptr<vfs::FileDescription>& file,
                      const GuestEpollEvent& ev);

  // The events ready now, at most `max`; edge-triggered and one-shot
  // items are consumed as Linux does.
  std::vector<GuestEpollEvent> Collect(int max);

  // Host fds of watched host-served files, for a waiter to poll.
  void HostPollFds(uint32_t events, std::vector<struct pollfd>* out) override;

  SysResult<size_t> Read(vfs::CallContext&, char*, size_t, int64_t*) override {
    return Errno(EINVAL);
  }
  SysResult<size_t> Write(vfs::CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EINVAL);
  }
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override { return queue_; }
  std::string AnonName() const override { return "anon_inode:[eventpoll]"; }

  // The file of the `toff`'th registration (from 0, in Linux's order) of
  // fd `fd`, or null (kcmp's KCMP_EPOLL_TFD).
  std::shared_ptr<vfs::FileDescription> Target(int fd, uint64_t toff);

  // Whether `other` is this set or watches it, through nested sets up to
  // `depth` deep (epoll_ctl refuses loops with ELOOP).
  bool Reaches(const EpollFD* other, int depth);

 private:
  struct Item final : public WaitEntry {
    EpollFD* ep = nullptr;
    int fd = -1;
    std::weak_ptr<vfs::FileDescription> file;
    std::shared_ptr<WaitQueue> queue;  // the file's, kept alive
    GuestEpollEvent ev{};
    std::atomic<bool> signaled{true};  // an event since the last report
    bool disabled = false;             // EPOLLONESHOT fired
    void Notify(uint32_t events) override;
  };
  using Key = std::pair<int, const vfs::FileDescription*>;

  // Unregisters and forgets items whose file is gone.
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<WaitQueue> queue_;
  absl::Mutex mu_;
  std::map<Key, std::unique_ptr<Item>> items_ ABSL_GUARDED_BY(mu_);
};

std::shared_ptr<EpollFD> NewEpoll(int flags);

}  // namespace sentry::fs::epoll

#endif  // SENTRY_FS_EPOLL_EPOLL_H_
