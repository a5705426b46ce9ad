#include "sentry/vfs/inotify.h"

#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace sentry::vfs {

namespace {

std::atomic<uint32_t> next_cookie{1};

// Watches alive in the whole sentry: with none, every read, write and
// close skips inotify at the cost of one load.
std::atomic<int64_t> live_watches{0};

// Events a watch's mask selects (the IN_* flags that are not events are
// left out, and these always reach a watch).
constexpr uint32_t kAlwaysDelivered = IN_IGNORED | IN_UNMOUNT | IN_Q_OVERFLOW;

bool Wants(uint32_t watch_mask, uint32_t event) {
  return ((event & ~IN_ISDIR) & (watch_mask | kAlwaysDelivered)) != 0;
}

void Deliver(InodeWatches* watches, uint32_t mask, uint32_t cookie,
             const std::string& name, bool for_child) {
  if (watches == nullptr || watches->empty()) return;
  for (const InodeWatches::Entry& e : watches->Snapshot()) {
    if (!Wants(e.mask, mask)) continue;
    // A directory's watch hears of its children only for events on them,
    // not of the children's own IN_*_SELF events.
    if (for_child && (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) continue;
    std::shared_ptr<InotifyInstance> inst = e.instance.lock();
    if (inst == nullptr) continue;
    inst->Queue(e.wd, mask & (e.mask | kAlwaysDelivered | IN_ISDIR), cookie,
                name);
    // A file that is gone ends its watches (IN_IGNORED follows).
    if ((e.mask & IN_ONESHOT) != 0 || (mask & IN_DELETE_SELF) != 0) {
      inst->Drop(e.wd);
    }
  }
}

}  // namespace

// ---- InodeWatches ----

void InodeWatches::Add(const Entry& e) {
  absl::MutexLock l(&mu_);
  entries_.push_back(e);
  live_watches.fetch_add(1, std::memory_order_relaxed);
}

void InodeWatches::Remove(const InotifyInstance* instance, int wd) {
  absl::MutexLock l(&mu_);
  size_t before = entries_.size();
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) {
                                  return e.wd == wd && e.owner == instance;
                                }),
                 entries_.end());
  live_watches.fetch_sub(static_cast<int64_t>(before - entries_.size()),
                         std::memory_order_relaxed);
}

void InodeWatches::Update(const InotifyInstance* instance, int wd,
                          uint32_t mask) {
  absl::MutexLock l(&mu_);
  for (Entry& e : entries_) {
    if (e.wd == wd && e.owner == instance) e.mask = mask;
  }
}

std::vector<InodeWatches::Entry> InodeWatches::Snapshot() const {
  absl::MutexLock l(&mu_);
  return entries_;
}

bool InodeWatches::empty() const {
  absl::MutexLock l(&mu_);
  return entries_.empty();
}

// ---- InotifyInstance ----

size_t InotifyInstance::Event::Size() const {
  // The name is NUL-padded to a multiple of the event header's alignment.
  size_t len = name.empty() ? 0 : (name.size() + 1 + 15) & ~size_t{15};
  return sizeof(struct inotify_event) + len;
}

InotifyInstance::~InotifyInstance() {
  for (auto& [wd, w] : watches_) {
    w.dentry->inode()->watches().Remove(this, wd);
  }
}

SysResult<int> InotifyInstance::AddWatch(const VirtualDentry& vd,
                                         uint32_t mask) {
  absl::MutexLock l(&mu_);
  InodeWatches& iw = vd.dentry->inode()->watches();
  for (auto& [wd, w] : watches_) {
    if (w.dentry->inode() != vd.dentry->inode()) continue;
    if ((mask & IN_MASK_CREATE) != 0) return Errno(EEXIST);
    uint32_t m = mask & ~(IN_MASK_ADD | IN_MASK_CREATE);
    if ((mask & IN_MASK_ADD) != 0) m |= w.mask;
    w.mask = m;
    iw.Update(this, wd, m);
    return wd;
  }
  if (watches_.size() >= kMaxWatches) return Errno(ENOSPC);
  int wd = next_wd_++;
  uint32_t m = mask & ~(IN_MASK_ADD | IN_MASK_CREATE);
  watches_[wd] = Watch{vd.dentry, m};
  iw.Add(InodeWatches::Entry{weak_from_this(), this, wd, m});
  return wd;
}

SysResult<void> InotifyInstance::RemoveWatch(int wd) {
  std::shared_ptr<Dentry> pinned;  // released outside the lock
  {
    absl::MutexLock l(&mu_);
    auto it = watches_.find(wd);
    if (it == watches_.end()) return Errno(EINVAL);
    pinned = std::move(it->second.dentry);
    watches_.erase(it);
    pinned->inode()->watches().Remove(this, wd);
    QueueLocked(wd, IN_IGNORED, 0, "");
  }
  queue_->Notify(kEventIn);
  return Ok();
}

void InotifyInstance::Drop(int wd) {
  std::shared_ptr<Dentry> pinned;
  {
    absl::MutexLock l(&mu_);
    auto it = watches_.find(wd);
    if (it == watches_.end()) return;
    pinned = std::move(it->second.dentry);
    watches_.erase(it);
    pinned->inode()->watches().Remove(this, wd);
    QueueLocked(wd, IN_IGNORED, 0, "");
  }
  queue_->Notify(kEventIn);
}

void InotifyInstance::QueueLocked(int wd, uint32_t mask, uint32_t cookie,
                                  const std::string& name) {
  if (!events_.empty()) {
    const Event& last = events_.back();
    if (last.wd == wd && last.mask == mask && last.cookie == cookie &&
        last.name == name) {
      return;  // coalesced, as Linux merges a repeat of the last event
    }
  }
  if (events_.size() >= kMaxQueuedEvents) {
    if (!overflowed_) {
      events_.push_back(Event{-1, IN_Q_OVERFLOW, 0, ""});
      overflowed_ = true;
    }
    return;
  }
  events_.push_back(Event{wd, mask, cookie, name});
}

void InotifyInstance::Queue(int wd, uint32_t mask, uint32_t cookie,
                            const std::string& name) {
  {
    absl::MutexLock l(&mu_);
    if (watches_.count(wd) == 0) return;  // removed meanwhile
    QueueLocked(wd, mask, cookie, name);
  }
  queue_->Notify(kEventIn);
}

SysResult<size_t> InotifyInstance::Read(char* buf, size_t len) {
  absl::MutexLock l(&mu_);
  if (events_.empty()) return Errno(EAGAIN);
  size_t done = 0;
  while (!events_.empty()) {
    const Event& e = events_.front();
    size_t size = e.Size();
    if (done + size > len) {
      if (done == 0) return Errno(EINVAL);
      break;
    }
    struct inotify_event hdr = {};
    hdr.wd = e.wd;
    hdr.mask = e.mask;
    hdr.cookie = e.cookie;
    hdr.len = static_cast<uint32_t>(size - sizeof(hdr));
    memcpy(buf + done, &hdr, sizeof(hdr));
    memset(buf + done + sizeof(hdr), 0, hdr.len);
    memcpy(buf + done + sizeof(hdr), e.name.data(), e.name.size());
    done += size;
    if (e.mask == IN_Q_OVERFLOW) overflowed_ = false;
    events_.pop_front();
  }
  return done;
}

size_t InotifyInstance::PendingBytes() const {
  absl::MutexLock l(&mu_);
  size_t n = 0;
  for (const Event& e : events_) n += e.Size();
  return n;
}

bool InotifyInstance::HasEvents() const {
  absl::MutexLock l(&mu_);
  return !events_.empty();
}

// ---- InotifyFD ----

InotifyFD::InotifyFD(VirtualDentry vd, int flags)
    : StreamFD(std::move(vd), flags) {}

SysResult<size_t> InotifyFD::Read(CallContext& ctx, char* buf, size_t len,
                                  int64_t*) {
  // A buffer too small for the first event is EINVAL once there is one.
  ScopedWait w(instance_->queue().get(), ctx.waiter(), kEventIn);
  for (;;) {
    SysResult<size_t> r = instance_->Read(buf, len);
    if (r.ok() || r.err() != EAGAIN) return r;
    if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<int64_t> InotifyFD::Ioctl(CallContext& ctx, uint32_t cmd,
                                    uint64_t arg) {
  if (cmd != FIONREAD) return Errno(ENOTTY);
  int n = static_cast<int>(instance_->PendingBytes());
  SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
  return 0;
}

uint32_t InotifyFD::Readiness(uint32_t mask) {
  uint32_t r = 0;
  if (instance_->HasEvents()) r |= POLLIN | POLLRDNORM;
  return r & mask;
}

// ---- notification ----

void NotifyInode(Inode& inode, uint32_t mask, uint32_t cookie) {
  Deliver(inode.watches_if_any(), mask, cookie, "", /*for_child=*/false);
}

void NotifyDirEntry(const Dentry& dir, const std::string& name, uint32_t mask,
                    uint32_t cookie) {
  Deliver(dir.inode()->watches_if_any(), mask, cookie, name,
          /*for_child=*/true);
}

void NotifyChild(Dentry* parent, const std::string& name, Inode& child,
                 uint32_t mask, uint32_t cookie) {
  NotifyInode(child, mask, cookie);
  if (parent != nullptr) {
    Deliver(parent->inode()->watches_if_any(), mask, cookie, name,
            /*for_child=*/true);
  }
}

void NotifyFile(const VirtualDentry& vd, uint32_t mask) {
  if (live_watches.load(std::memory_order_relaxed) == 0) return;
  if (vd.dentry == nullptr) return;
  Inode& inode = *vd.dentry->inode();
  std::shared_ptr<Dentry> parent = vd.dentry->parent();
  if (inode.watches_if_any() == nullptr &&
      (parent == nullptr || parent->inode()->watches_if_any() == nullptr)) {
    return;  // the common case: nobody watches
  }
  if (inode.IsDir()) mask |= IN_ISDIR;
  // A mount's root has no name in its parent directory here.
  if (parent == nullptr || vd.dentry == vd.mount->root()) {
    NotifyInode(inode, mask);
    return;
  }
  NotifyChild(parent.get(), vd.dentry->name(), inode, mask);
}

uint32_t NextMoveCookie() { return next_cookie.fetch_add(1); }

}  // namespace sentry::vfs
