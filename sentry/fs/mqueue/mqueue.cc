#include "sentry/fs/mqueue/mqueue.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sentry/auth/credentials.h"
#include "sentry/base/host_memory.h"

namespace sentry::fs::mqueue {

namespace {

constexpr uint64_t kMqueueMagic = 0x19800202;
// What stat reports as every queue's size: the status line's length.
constexpr uint64_t kFilentSize = 80;

// Linux's charge for a queue against RLIMIT_MSGQUEUE: the messages'
// bytes and, per message, a struct msg_msg and a priority tree node (48
// bytes each on x86-64).
uint64_t Charge(const QueueAttr& a) {
  uint64_t n = static_cast<uint64_t>(a.maxmsg);
  return n * 48 + std::min<uint64_t>(n, kPrioMax) * 48 +
         n * static_cast<uint64_t>(a.msgsize);
}

struct timespec Now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

// Bytes charged per uid and queues alive (named or still open), shared by
// the filesystem and its queues, which may outlive it.
struct Accounts {
  absl::Mutex mu;
  std::map<uint32_t, uint64_t> bytes ABSL_GUARDED_BY(mu);
  int queues ABSL_GUARDED_BY(mu) = 0;
  // Message bytes queued in every queue, each message's bookkeeping
  // (kMessageOverhead) included: they live in the sentry's heap.
  std::atomic<uint64_t> queued{0};
};

// What one queued message costs the sentry beyond its bytes: its string,
// its slot in a deque and a share of the priority map's nodes. Charged so
// that empty messages are not free.
constexpr uint64_t kMessageOverhead = 64;

// The most message bytes all queues may hold at once, as tmpfs's default
// size: half the host's RAM. RLIMIT_MSGQUEUE bounds each uid far below
// it, but a guest with CAP_SYS_RESOURCE may raise its limit; past this a
// send fails with ENOMEM, as Linux's does when it cannot allocate.
uint64_t QueuedBytesLimit() {
  static const uint64_t limit = [] {
    uint64_t half = HostRamShare(50);
    return half > 0 ? half : uint64_t{1} << 30;
  }();
  return limit;
}

}  // namespace

class Queue {
 public:
  Queue(QueueAttr attr, uint32_t uid, std::shared_ptr<Accounts> accounts)
      : attr_(attr),
        uid_(uid),
        accounts_(std::move(accounts)),
        wq_(std::make_shared<WaitQueue>()) {}
  ~Queue() {
    if (notify_ && notify_->removed) notify_->removed();
    accounts_->queued -=
        bytes_ + static_cast<uint64_t>(count_) * kMessageOverhead;
    absl::MutexLock l(&accounts_->mu);
    accounts_->bytes[uid_] -= Charge(attr_);
    accounts_->queues--;
  }

  const QueueAttr attr_;
  const uint32_t uid_;
  const std::shared_ptr<Accounts> accounts_;
  const std::shared_ptr<WaitQueue> wq_;

  absl::Mutex mu_;
  // Highest priority first; oldest first within one.
  std::map<uint32_t, std::deque<std::string>, std::greater<uint32_t>> msgs_
      ABSL_GUARDED_BY(mu_);
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;  // QSIZE
  int receivers_ ABSL_GUARDED_BY(mu_) = 0;   // blocked in Receive
  std::optional<Notification> notify_ ABSL_GUARDED_BY(mu_);
};

namespace {

class QueueInode final : public vfs::Inode {
 public:
  QueueInode(const vfs::Filesystem& fs, uint64_t ino, uint32_t mode,
             uint32_t uid, uint32_t gid, std::shared_ptr<Queue> queue)
      : Inode(S_IFREG), ino_(ino), queue_(std::move(queue)) {
    attr_.ino = ino;
    attr_.dev = fs.dev();
    attr_.mode = S_IFREG | (mode & 07777);
    attr_.uid = uid;
    attr_.gid = gid;
    attr_.size = kFilentSize;
    attr_.atime = attr_.mtime = attr_.ctime = Now();
  }

  SysResult<vfs::Attr> GetAttr() override {
    absl::MutexLock l(&mu_);
    return attr_;
  }
  SysResult<void> SetAttr(vfs::CallContext&, const AttrChange& c) override {
    absl::MutexLock l(&mu_);
    if (c.mode) attr_.mode = S_IFREG | (*c.mode & 07777);
    if (c.uid) attr_.uid = *c.uid;
    if (c.gid) attr_.gid = *c.gid;
    if (c.atime) attr_.atime = *c.atime;
    if (c.mtime) attr_.mtime = *c.mtime;
    attr_.ctime = Now();
    return Ok();
  }
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) override {
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<MqueueFD>(vd, flags, queue_));
  }
  const std::shared_ptr<Queue>& queue() const { return queue_; }
  uint64_t ino() const { return ino_; }

 private:
  const uint64_t ino_;
  const std::shared_ptr<Queue> queue_;
  absl::Mutex mu_;
  vfs::Attr attr_ ABSL_GUARDED_BY(mu_);
};

// The filesystem's one directory, mode 01777 as Linux's: anyone may make a
// queue, only its owner (or CAP_FOWNER) remove it.
class RootInode final : public vfs::Inode {
 public:
  RootInode(const vfs::Filesystem& fs, std::shared_ptr<Accounts> accounts)
      : Inode(S_IFDIR), fs_(fs), accounts_(std::move(accounts)) {
    attr_.ino = 1;
    attr_.dev = fs.dev();
    attr_.mode = S_IFDIR | 01777;
    attr_.nlink = 2;
    attr_.atime = attr_.mtime = attr_.ctime = Now();
  }

  SysResult<vfs::Attr> GetAttr() override {
    absl::MutexLock l(&mu_);
    return attr_;
  }
  // mq_open and mq_unlink change the directory without the VFS.
  bool CacheChildren() const override { return false; }

  SysResult<std::shared_ptr<vfs::Inode>> Lookup(
      vfs::CallContext&, const std::string& name) override {
    absl::MutexLock l(&mu_);
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    return std::shared_ptr<vfs::Inode>(it->second);
  }
  SysResult<std::vector<vfs::Dirent>> ReadDir(vfs::CallContext&) override {
    absl::MutexLock l(&mu_);
    std::vector<vfs::Dirent> out;
    for (const auto& [name, inode] : children_)
      out.push_back(vfs::Dirent{name, inode->ino(), DT_REG});
    return out;
  }
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) override {
    if ((flags & O_ACCMODE) != O_RDONLY) return Errno(EISDIR);
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<vfs::DirectoryFD>(vd, flags));
  }
  // open(2) with O_CREAT here: a queue with the default attributes.
  SysResult<std::shared_ptr<vfs::Inode>> Create(vfs::CallContext& ctx,
                                                const std::string& name,
                                                uint32_t mode) override {
    absl::MutexLock l(&mu_);
    if (children_.count(name) > 0) return Errno(EEXIST);
    SENTRY_ASSIGN_OR_RETURN(
        std::shared_ptr<QueueInode> q,
        MakeLocked(ctx, name, mode, std::nullopt,
                   ctx.creds().HasCapability(auth::Capability::kSysResource),
                   ctx.RlimitCur(RLIMIT_MSGQUEUE)));
    return std::shared_ptr<vfs::Inode>(q);
  }
  // The VFS checked the sticky bit (unlink(2) of /dev/mqueue/NAME).
  SysResult<void> Unlink(vfs::CallContext&, const std::string& name) override {
    absl::MutexLock l(&mu_);
    if (children_.erase(name) == 0) return Errno(ENOENT);
    attr_.mtime = attr_.ctime = Now();
    return Ok();
  }

  // mq_open's lookup and creation, under one lock so that O_EXCL holds.
  SysResult<std::shared_ptr<QueueInode>> OpenOrMake(
      vfs::CallContext& ctx, const std::string& name, int oflag, uint32_t mode,
      const std::optional<QueueAttr>& attr, bool cap_sys_resource,
      uint64_t rlimit, bool* made) {
    absl::MutexLock l(&mu_);
    auto it = children_.find(name);
    *made = false;
    if (it == children_.end()) {
      if ((oflag & O_CREAT) == 0) return Errno(ENOENT);
      *made = true;
      return MakeLocked(ctx, name, mode, attr, cap_sys_resource, rlimit);
    }
    if ((oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
      return Errno(EEXIST);
    return it->second;
  }

  // mq_unlink: the sticky directory's rule (only the queue's owner, the
  // directory's, or CAP_FOWNER) checked on the queue it removes, under
  // one lock, so a queue made anew under the name meanwhile is not
  // removed on the old one's permission. The queue is destroyed by the
  // caller, outside the lock.
  SysResult<std::shared_ptr<QueueInode>> Remove(const std::string& name,
                                                uint32_t fsuid,
                                                bool cap_fowner) {
    absl::MutexLock l(&mu_);
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, it->second->GetAttr());
    if (fsuid != a.uid && fsuid != attr_.uid && !cap_fowner)
      return Errno(EPERM);
    std::shared_ptr<QueueInode> q = it->second;
    children_.erase(it);
    attr_.mtime = attr_.ctime = Now();
    return q;
  }

 private:
  // Linux's mq_attr_ok, the queues_max and RLIMIT_MSGQUEUE checks, then
  // the queue (owned by the caller's fsuid and fsgid).
  SysResult<std::shared_ptr<QueueInode>> MakeLocked(
      vfs::CallContext& ctx, const std::string& name, uint32_t mode,
      const std::optional<QueueAttr>& asked, bool cap_sys_resource,
      uint64_t rlimit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    QueueAttr a;
    if (asked) {
      a = *asked;
      if (a.maxmsg <= 0 || a.msgsize <= 0) return Errno(EINVAL);
      int64_t max_msgs = cap_sys_resource ? kHardMsgMax : kMsgMax;
      int64_t max_size = cap_sys_resource ? kHardMsgsizeMax : kMsgsizeMax;
      if (a.maxmsg > max_msgs || a.msgsize > max_size) return Errno(EINVAL);
    }
    const auth::Credentials& c = ctx.creds();
    uint64_t charge = Charge(a);
    {
      absl::MutexLock al(&accounts_->mu);
      if ((accounts_->queues >= kQueuesMax && !cap_sys_resource) ||
          accounts_->queues >= kHardQueuesMax) {
        return Errno(ENOSPC);
      }
      uint64_t& used = accounts_->bytes[c.ruid];
      if (used + charge < used || used + charge > rlimit) return Errno(EMFILE);
      used += charge;
      accounts_->queues++;
    }
    auto queue = std::make_shared<Queue>(a, c.ruid, accounts_);
    auto inode = std::make_shared<QueueInode>(fs_, next_ino_++, mode, c.fsuid,
                                              c.fsgid, std::move(queue));
    children_[name] = inode;
    attr_.mtime = attr_.ctime = Now();
    return inode;
  }

  const vfs::Filesystem& fs_;
  const std::shared_ptr<Accounts> accounts_;
  absl::Mutex mu_;
  vfs::Attr attr_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<QueueInode>> children_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_ino_ ABSL_GUARDED_BY(mu_) = 2;
};

// Linux's lookup_one_len rules for a queue's name.
SysResult<void> CheckName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return Errno(EACCES);
  if (name.find('/') != std::string::npos) return Errno(EACCES);
  if (name.size() > NAME_MAX) return Errno(ENAMETOOLONG);
  return Ok();
}

}  // namespace

// ---- MqueueFD ----

MqueueFD::MqueueFD(vfs::VirtualDentry vd, int flags,
                   std::shared_ptr<Queue> queue)
    : FileDescription(std::move(vd), flags), queue_(std::move(queue)) {}

SysResult<void> MqueueFD::Send(vfs::CallContext& ctx, std::string msg,
                               uint32_t prio,
                               std::optional<absl::Time> deadline,
                               int sender_tgid, uint32_t sender_uid) {
  Queue& q = *queue_;
  std::optional<ScopedWait> wait;
  std::function<void(int, uint32_t)> fire;
  for (;;) {
    {
      absl::MutexLock l(&q.mu_);
      if (q.count_ < q.attr_.maxmsg) {
        uint64_t cost = msg.size() + kMessageOverhead;
        uint64_t before = q.accounts_->queued.fetch_add(cost);
        if (before + cost > QueuedBytesLimit()) {
          q.accounts_->queued -= cost;
          return Errno(ENOMEM);
        }
        bool was_empty = q.count_ == 0;
        q.bytes_ += msg.size();
        q.count_++;
        q.msgs_[prio].push_back(std::move(msg));
        // Told only of a message no waiting receiver takes (Linux hands
        // it to the receiver directly then).
        if (was_empty && q.receivers_ == 0 && q.notify_) {
          fire = std::move(q.notify_->fire);
          q.notify_.reset();
        }
        q.wq_->Notify(kEventIn);
        break;
      }
      if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
      if (deadline && absl::Now() >= *deadline) return Errno(ETIMEDOUT);
      if (!wait) {
        if (ctx.waiter() == nullptr) return Errno(EAGAIN);
        wait.emplace(q.wq_.get(), ctx.waiter(), kEventOut);
        continue;  // re-check now that no wake can be missed
      }
    }
    SysResult<void> r = ctx.Block(deadline);
    if (!r.ok() && r.err() != ETIMEDOUT) return Errno(r.err());
  }
  // Outside the lock: telling sends a signal, which takes the kernel's.
  if (fire) fire(sender_tgid, sender_uid);
  return Ok();
}

SysResult<std::pair<std::string, uint32_t>> MqueueFD::Receive(
    vfs::CallContext& ctx, std::optional<absl::Time> deadline) {
  Queue& q = *queue_;
  // Read once, as Linux reads f_flags before it sleeps.
  const bool nonblock = (flags() & O_NONBLOCK) != 0;
  std::optional<ScopedWait> wait;
  // Whether this receiver is counted in receivers_ (a send then notifies
  // nobody: Linux hands the message to the waiting receiver). Every
  // return below that follows the count undoes it, under q.mu_.
  bool counted = false;
  auto take = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(q.mu_) {
    auto it = q.msgs_.begin();
    std::pair<std::string, uint32_t> out{std::move(it->second.front()),
                                         it->first};
    it->second.pop_front();
    if (it->second.empty()) q.msgs_.erase(it);
    q.count_--;
    q.bytes_ -= out.first.size();
    q.accounts_->queued -= out.first.size() + kMessageOverhead;
    q.wq_->Notify(kEventOut);
    return out;
  };
  for (;;) {
    SysResult<void> r = Ok();
    {
      absl::MutexLock l(&q.mu_);
      if (q.count_ > 0) {
        if (counted) q.receivers_--;
        return take();
      }
      if (nonblock || (deadline && absl::Now() >= *deadline)) {
        if (counted) q.receivers_--;
        return Errno(nonblock ? EAGAIN : ETIMEDOUT);
      }
      if (!wait) {
        if (ctx.waiter() == nullptr) return Errno(EAGAIN);
        wait.emplace(q.wq_.get(), ctx.waiter(), kEventIn);
        q.receivers_++;
        counted = true;
        continue;  // re-check now that no wake can be missed
      }
    }
    r = ctx.Block(deadline);
    if (!r.ok() && r.err() != ETIMEDOUT) {
      // A message sent meanwhile was meant for this waiting receiver
      // (nobody was notified of it): take it rather than the signal, as
      // Linux's wq_sleep returns a message that came before the signal.
      absl::MutexLock l(&q.mu_);
      q.receivers_--;
      if (q.count_ > 0) return take();
      return Errno(r.err());
    }
  }
}

SysResult<void> MqueueFD::SetNotification(int tgid,
                                          std::optional<Notification> n) {
  Queue& q = *queue_;
  absl::MutexLock l(&q.mu_);
  if (!n) {
    if (q.notify_ && q.notify_->tgid == tgid) {
      if (q.notify_->removed) q.notify_->removed();
      q.notify_.reset();
    }
    return Ok();
  }
  if (q.notify_) return Errno(EBUSY);
  q.notify_ = std::move(*n);
  return Ok();
}

const QueueAttr& MqueueFD::attr() const { return queue_->attr_; }

int64_t MqueueFD::curmsgs() {
  absl::MutexLock l(&queue_->mu_);
  return queue_->count_;
}

SysResult<size_t> MqueueFD::Read(vfs::CallContext&, char* buf, size_t len,
                                 int64_t* offset) {
  char line[kFilentSize + 1];
  {
    Queue& q = *queue_;
    absl::MutexLock l(&q.mu_);
    int notify = q.notify_ ? q.notify_->notify : 0;
    int signo =
        q.notify_ && q.notify_->notify == SIGEV_SIGNAL ? q.notify_->signo : 0;
    snprintf(line, sizeof(line),
             "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n",
             static_cast<unsigned long>(q.bytes_), notify, signo,
             q.notify_ ? q.notify_->tgid : 0);
  }
  size_t size = strlen(line);
  if (*offset < 0) return Errno(EINVAL);
  if (static_cast<uint64_t>(*offset) >= size) return size_t{0};
  size_t n = std::min(len, size - static_cast<size_t>(*offset));
  memcpy(buf, line + *offset, n);
  *offset += static_cast<int64_t>(n);
  return n;
}

uint32_t MqueueFD::Readiness(uint32_t mask) {
  absl::MutexLock l(&queue_->mu_);
  uint32_t r = 0;
  if (queue_->count_ > 0) r |= POLLIN | POLLRDNORM;
  if (queue_->count_ < queue_->attr_.maxmsg) r |= POLLOUT | POLLWRNORM;
  return r & mask;
}

std::shared_ptr<WaitQueue> MqueueFD::EventQueue() { return queue_->wq_; }

void MqueueFD::FdClosed() const {
  absl::MutexLock l(&queue_->mu_);
  if (queue_->notify_ && queue_->notify_->closer_is_owner &&
      queue_->notify_->closer_is_owner()) {
    if (queue_->notify_->removed) queue_->notify_->removed();
    queue_->notify_.reset();
  }
}

// ---- MqueueFilesystem ----

MqueueFilesystem::MqueueFilesystem() : Filesystem("mqueue") {
  root_ = std::make_shared<vfs::Dentry>(
      nullptr, "",
      std::make_shared<RootInode>(*this, std::make_shared<Accounts>()));
}

const std::shared_ptr<MqueueFilesystem>& MqueueFilesystem::Instance() {
  static const auto* fs = [] {
    auto* p = new std::shared_ptr<MqueueFilesystem>(new MqueueFilesystem());
    // Never unmounted: mq_open's descriptors hang off it.
    (*p)->mount_ = std::make_shared<vfs::Mount>(*p, (*p)->root_, 0, "mqueue");
    return p;
  }();
  return *fs;
}

SysResult<vfs::StatFs> MqueueFilesystem::GetStatFs() {
  vfs::StatFs s;
  s.type = kMqueueMagic;
  s.namelen = NAME_MAX;
  return s;
}

SysResult<std::shared_ptr<MqueueFD>> MqueueFilesystem::Open(
    vfs::CallContext& ctx, const std::string& name, int oflag, uint32_t mode,
    const std::optional<QueueAttr>& attr, bool cap_sys_resource,
    uint64_t rlimit_msgqueue, bool* made_out) {
  SENTRY_RETURN_IF_ERROR(CheckName(name));
  auto& root = static_cast<RootInode&>(*root_->inode());
  bool made = false;
  SENTRY_ASSIGN_OR_RETURN(
      std::shared_ptr<QueueInode> inode,
      root.OpenOrMake(ctx, name, oflag, mode, attr, cap_sys_resource,
                      rlimit_msgqueue, &made));
  if (made_out != nullptr) *made_out = made;
  if (!made) {
    static const int kMay[3] = {auth::kMayRead, auth::kMayWrite,
                                auth::kMayRead | auth::kMayWrite};
    int acc = oflag & O_ACCMODE;
    if (acc == O_ACCMODE) return Errno(EINVAL);
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, inode->GetAttr());
    int err =
        auth::CheckPermission(ctx.creds(), a.mode, a.uid, a.gid, kMay[acc]);
    if (err != 0) return Errno(err);
  }
  auto dentry = std::make_shared<vfs::Dentry>(root_, name, inode);
  int flags = oflag & (O_ACCMODE | O_NONBLOCK);
  return std::make_shared<MqueueFD>(vfs::VirtualDentry{mount_, dentry}, flags,
                                    inode->queue());
}

SysResult<void> MqueueFilesystem::Unlink(vfs::CallContext& ctx,
                                         const std::string& name,
                                         bool cap_fowner) {
  SENTRY_RETURN_IF_ERROR(CheckName(name));
  auto& root = static_cast<RootInode&>(*root_->inode());
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<QueueInode> gone,
                          root.Remove(name, ctx.creds().fsuid, cap_fowner));
  return Ok();
}

}  // namespace sentry::fs::mqueue
