// inotify(7): watches on inodes and the instances that queue their events.
//
// A watch pins the watched file's dentry, so the dentry cache keeps the
// inode (and the filesystem's handle) for as long as the watch lives and
// every later lookup of the file reaches the same watched inode, as Linux's
// watch pins the inode. Events on a directory's children are reported to
// the directory's watches too, with the child's name.
//
// Lock order: InotifyInstance::mu_ before InodeWatches::mu_ (adding and
// removing watches); events are delivered with no watch lock held, taking
// each instance's mu_ alone.

#ifndef SENTRY_VFS_INOTIFY_H_
#define SENTRY_VFS_INOTIFY_H_

#include <sys/inotify.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

namespace sentry::vfs {

class InotifyInstance;

// The watches on one inode (Inode::watches()).
class InodeWatches final {
 public:
  struct Entry {
    std::weak_ptr<InotifyInstance> instance;
    // The same instance, for matching: the weak pointer no longer locks
    // while the instance is being destroyed.
    const InotifyInstance* owner;
    int wd;
    uint32_t mask;
  };

  void Add(const Entry& e);
  void Remove(const InotifyInstance* instance, int wd);
  void Update(const InotifyInstance* instance, int wd, uint32_t mask);
  std::vector<Entry> Snapshot() const;
  bool empty() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// The queue behind one inotify fd.
class InotifyInstance final
    : public std::enable_shared_from_this<InotifyInstance> {
 public:
  // Linux's /proc/sys/fs/inotify defaults.
  static constexpr size_t kMaxQueuedEvents = 16384;
  static constexpr size_t kMaxWatches = 8192;

  InotifyInstance() = default;
  ~InotifyInstance();

  // inotify_add_watch(2) on the file at `vd`; returns the watch descriptor.
  SysResult<int> AddWatch(const VirtualDentry& vd, uint32_t mask);
  // inotify_rm_watch(2).
  SysResult<void> RemoveWatch(int wd);

  // Queues an event for watch `wd` (merging it into an identical last
  // event, as Linux does).
  void Queue(int wd, uint32_t mask, uint32_t cookie, const std::string& name);
  // The watch `wd` ended on its own (the file is gone, or IN_ONESHOT):
  // drops it and queues IN_IGNORED.
  void Drop(int wd);

  // read(2): whole events into `buf`; EINVAL if the first does not fit,
  // EAGAIN if there is none.
  SysResult<size_t> Read(char* buf, size_t len);
  size_t PendingBytes() const;
  bool HasEvents() const;
  const std::shared_ptr<WaitQueue>& queue() const { return queue_; }

 private:
  struct Event {
    int wd;
    uint32_t mask;
    uint32_t cookie;
    std::string name;
    size_t Size() const;
  };
  struct Watch {
    std::shared_ptr<Dentry> dentry;  // pins the inode
    uint32_t mask;
  };

  void QueueLocked(int wd, uint32_t mask, uint32_t cookie,
                   const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<int, Watch> watches_ ABSL_GUARDED_BY(mu_);
  int next_wd_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
  const std::shared_ptr<WaitQueue> queue_ = std::make_shared<WaitQueue>();
};

class InotifyFD final : public StreamFD {
 public:
  InotifyFD(VirtualDentry vd, int flags);
  const std::shared_ptr<InotifyInstance>& instance() const { return instance_; }

  SysResult<size_t> Read(CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EINVAL);
  }
  SysResult<int64_t> Ioctl(CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return instance_->queue();
  }
  std::string AnonName() const override { return "anon_inode:inotify"; }

 private:
  const std::shared_ptr<InotifyInstance> instance_ =
      std::make_shared<InotifyInstance>();
};

// Reports `mask` on `inode` (its own watches, no name) and, when `parent`
// is given, on the parent directory's watches with `name` (IN_ISDIR added
// for directories by the caller). A no-op for files nobody watches.
void NotifyInode(Inode& inode, uint32_t mask, uint32_t cookie = 0);
// Reports `mask` for the entry `name` to the watches of directory `dir`
// only (IN_CREATE, IN_DELETE, IN_MOVED_FROM/TO).
void NotifyDirEntry(const Dentry& dir, const std::string& name, uint32_t mask,
                    uint32_t cookie = 0);
void NotifyChild(Dentry* parent, const std::string& name, Inode& child,
                 uint32_t mask, uint32_t cookie = 0);
// For a file reached through `vd`: its own watches and its parent's.
void NotifyFile(const VirtualDentry& vd, uint32_t mask);
// A fresh cookie tying IN_MOVED_FROM to IN_MOVED_TO.
uint32_t NextMoveCookie();

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_INOTIFY_H_
