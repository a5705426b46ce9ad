// POSIX message queues (mq_overview(7)) and the mqueue filesystem that
// shows them (/dev/mqueue).
//
// The sandbox has one IPC namespace, so one set of queues: every mqueue
// mount shows the same filesystem (Instance()), and mq_open(2) names its
// queues whether or not it is mounted anywhere.
//
// A queue holds at most maxmsg messages of at most msgsize bytes, taken
// highest priority first and in order within a priority. Senders wait
// while it is full, receivers while it is empty. One process may ask to be
// told (mq_notify) when a message arrives on an empty queue that no
// receiver is waiting on; the telling is a callback the system call layer
// gives (it sends the signal), run once, outside the queue's lock.
//
// Limits, as Linux's defaults for an IPC namespace: queues_max 256 queues
// (ENOSPC beyond it without CAP_SYS_RESOURCE), msg_max 10 and msgsize_max
// 8192 for attributes asked for without CAP_SYS_RESOURCE, hard limits of
// 65536 messages and 16 MiB, and each queue's bytes charged to its
// creator's uid against RLIMIT_MSGQUEUE (EMFILE), until the queue is gone
// (unlinked and closed). Messages live in the sentry's heap: all queues
// together hold at most half the host's RAM (ENOMEM beyond).
//
// Lock order: Root's mu_ before a QueueInode's and a Queue's mu_; a Queue's mu_
// before its wait queue's lock (Notify under mu_) and before what a
// Notification's `removed` takes (a netlink socket's lock). Waits happen with
// mu_ released; `fire` runs with no lock held (it takes the kernel's).

#ifndef SENTRY_FS_MQUEUE_MQUEUE_H_
#define SENTRY_FS_MQUEUE_MQUEUE_H_

#include <signal.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/waiter.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::mqueue {

inline constexpr uint32_t kPrioMax = 32768;  // MQ_PRIO_MAX
inline constexpr int64_t kMsgMax = 10;       // /proc/sys/fs/mqueue/msg_max
inline constexpr int64_t kMsgsizeMax = 8192;
inline constexpr int64_t kHardMsgMax = 65536;
inline constexpr int64_t kHardMsgsizeMax = 16 * 1024 * 1024;
inline constexpr int kQueuesMax = 256;
// Beyond CAP_SYS_RESOURCE too: each queue is sentry memory.
inline constexpr int kHardQueuesMax = 65536;

struct QueueAttr {
  int64_t maxmsg = kMsgMax;
  int64_t msgsize = kMsgsizeMax;
};

// Who asked to be told of arrivals (mq_notify): the process, what it asked
// for (SIGEV_NONE or SIGEV_SIGNAL) and the callback that tells it.
struct Notification {
  int tgid = 0;
  int notify = SIGEV_NONE;
  int signo = 0;
  // Runs once, with the sender's tgid and real uid, when a message
  // arrives on the empty queue; the registration is then gone.
  std::function<void(int sender_tgid, uint32_t sender_uid)> fire;
  // Whether the task closing a descriptor of the queue belongs to the
  // registered process, whose closing any of them drops the registration
  // (Linux's mqueue_flush_file; the process's exit closes them all).
  std::function<bool()> closer_is_owner;
  // Runs when the registration goes without firing (mq_notify(NULL), the
  // owner's close, the queue's end): SIGEV_THREAD tells glibc's helper.
  std::function<void()> removed;
};

class Queue;

// An open queue: mq_open(2)'s descriptor, or open(2) of /dev/mqueue/NAME.
// read(2) gives the queue's status line; poll says whether a message can
// be received (POLLIN) or sent (POLLOUT).
class MqueueFD final : public vfs::FileDescription {
 public:
  MqueueFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Queue> queue);

  // mq_timedsend: EAGAIN when full and non-blocking, ETIMEDOUT at
  // `deadline` (CLOCK_REALTIME), a restart code when interrupted.
  SysResult<void> Send(vfs::CallContext& ctx, std::string msg, uint32_t prio,
                       std::optional<absl::Time> deadline, int sender_tgid,
                       uint32_t sender_uid);
  // mq_timedreceive: the highest-priority oldest message and its priority.
  SysResult<std::pair<std::string, uint32_t>> Receive(
      vfs::CallContext& ctx, std::optional<absl::Time> deadline);
  // mq_notify: registers `n` (EBUSY if any process is registered), or
  // with none removes `tgid`'s registration.
  SysResult<void> SetNotification(int tgid, std::optional<Notification> n);
  // The queue's attributes (fixed at its creation), and how many
  // messages it holds now.
  const QueueAttr& attr() const;
  int64_t curmsgs();
  const std::shared_ptr<Queue>& queue() const { return queue_; }

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EINVAL);
  }
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override;
  bool Pollable() const override { return true; }
  void FdClosed() const override;

 private:
  const std::shared_ptr<Queue> queue_;
};

class MqueueFilesystem final : public vfs::Filesystem {
 public:
  // The sandbox's queues.
  static const std::shared_ptr<MqueueFilesystem>& Instance();

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }

  // mq_open(2) of `name` (no leading slash). `mode` has the umask applied;
  // `attr` is what the caller asked for with O_CREAT (null: defaults).
  // `rlimit_msgqueue` is the caller's RLIMIT_MSGQUEUE.
  SysResult<std::shared_ptr<MqueueFD>> Open(
      vfs::CallContext& ctx, const std::string& name, int oflag, uint32_t mode,
      const std::optional<QueueAttr>& attr, bool cap_sys_resource,
      uint64_t rlimit_msgqueue, bool* made = nullptr);
  // mq_unlink(2): the name goes; open descriptors keep the queue.
  SysResult<void> Unlink(vfs::CallContext& ctx, const std::string& name,
                         bool cap_fowner);

 private:
  MqueueFilesystem();
  std::shared_ptr<vfs::Dentry> root_;
  std::shared_ptr<vfs::Mount> mount_;  // for descriptors mq_open makes
};

}  // namespace sentry::fs::mqueue

#endif  // SENTRY_FS_MQUEUE_MQUEUE_H_
