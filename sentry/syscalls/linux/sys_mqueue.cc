// POSIX message queues: mq_open(2), mq_unlink(2), mq_timedsend(2),
// mq_timedreceive(2), mq_notify(2), mq_getsetattr(2). The queues are
// sentry/fs/mqueue's; this file decodes the calls and, for mq_notify,
// sends the signal.

#include <limits.h>
#include <signal.h>

#include "sentry/fs/mqueue/mqueue.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal.h"
#include "sentry/net/netlink/netlink.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

using fs::mqueue::MqueueFD;
using fs::mqueue::MqueueFilesystem;
using fs::mqueue::QueueAttr;

namespace {

// struct mq_attr.
struct GuestMqAttr {
  int64_t flags, maxmsg, msgsize, curmsgs;
  int64_t reserved[4];
};
static_assert(sizeof(GuestMqAttr) == 64);

// struct sigevent as the kernel reads it.
struct GuestSigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t pad[12];
};
static_assert(sizeof(GuestSigevent) == 64);

// A queue's name as getname(9) copies it: EFAULT, ENAMETOOLONG at
// PATH_MAX, ENOENT when empty.
SysResult<std::string> QueueName(Task& t, GuestAddr addr) {
  SENTRY_ASSIGN_OR_RETURN(std::string name, t.CopyInString(addr, PATH_MAX - 1));
  if (name.empty()) return Errno(ENOENT);
  return name;
}

// The absolute CLOCK_REALTIME deadline of the timed calls, checked before
// anything else as Linux's prepare_timeout does.
SysResult<std::optional<absl::Time>> Deadline(Task& t, GuestAddr addr) {
  if (addr.IsNull()) return std::optional<absl::Time>();
  struct timespec ts;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &ts));
  if (ts.tv_sec < 0 || static_cast<uint64_t>(ts.tv_nsec) >= 1000000000)
    return Errno(EINVAL);
  return std::optional<absl::Time>(absl::TimeFromTimespec(ts));
}

// Whether the descriptor was opened for `mode` (O_RDONLY or O_WRONLY). An
// access mode of 3, which mq_open takes when it creates, is neither, as
// Linux's OPEN_FMODE makes it.
bool OpenFor(const MqueueFD& q, int mode) {
  int acc = q.flags() & O_ACCMODE;
  return acc == mode || acc == O_RDWR;
}

// The queue behind `fd`, EBADF for any other file.
SysResult<std::shared_ptr<MqueueFD>> QueueFile(Task& t, int fd) {
  return GetFileOf<MqueueFD>(t, fd, EBADF);
}

}  // namespace

// Implements Linux syscall mq_open(2).
SENTRY_SYSCALL(SysMqOpen) {
  SENTRY_ASSIGN_OR_RETURN(std::string name, QueueName(t, a.Addr(0)));
  int oflag = a.Int(1);
  std::optional<QueueAttr> attr;
  if (!a.Addr(3).IsNull()) {  // read (EFAULT) even without O_CREAT
    GuestMqAttr ga;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(3), &ga));
    if ((oflag & O_CREAT) != 0) attr = QueueAttr{ga.maxmsg, ga.msgsize};
  }
  uint32_t mode = a.U32(2) & 07777 & ~t.umask();
  bool made = false;
  SENTRY_ASSIGN_OR_RETURN(
      std::shared_ptr<MqueueFD> q,
      MqueueFilesystem::Instance()->Open(
          t, name, oflag, mode, attr,
          t.creds().HasCapability(auth::Capability::kSysResource),
          t.RlimitCur(RLIMIT_MSGQUEUE), &made));
  // Always close-on-exec, whatever O_CLOEXEC says, as Linux's.
  SysResult<int> fd = t.NewFd(q, true);
  if (!fd.ok()) {
    // Linux finds no fd (EMFILE) before it makes the queue: leave none.
    if (made) (void)MqueueFilesystem::Instance()->Unlink(t, name, true);
    return fd.error();
  }
  return static_cast<uint64_t>(*fd);
}

// Implements Linux syscall mq_unlink(2).
SENTRY_SYSCALL(SysMqUnlink) {
  SENTRY_ASSIGN_OR_RETURN(std::string name, QueueName(t, a.Addr(0)));
  SENTRY_RETURN_IF_ERROR(MqueueFilesystem::Instance()->Unlink(
      t, name, t.creds().HasCapability(auth::Capability::kFowner)));
  return 0;
}

// Implements Linux syscall mq_timedsend(2).
SENTRY_SYSCALL(SysMqTimedsend) {
  SENTRY_ASSIGN_OR_RETURN(std::optional<absl::Time> deadline,
                          Deadline(t, a.Addr(4)));
  uint32_t prio = a.U32(3);
  if (prio >= fs::mqueue::kPrioMax) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<MqueueFD> q, QueueFile(t, a.Int(0)));
  if (!OpenFor(*q, O_WRONLY)) return Errno(EBADF);
  uint64_t len = a.U64(2);
  if (len > static_cast<uint64_t>(q->attr().msgsize)) return Errno(EMSGSIZE);
  std::string msg(len, '\0');
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(a.Addr(1), msg.data(), len));
  SENTRY_RETURN_IF_ERROR(
      q->Send(t, std::move(msg), prio, deadline, t.tgid(), t.creds().ruid));
  return 0;
}

// Implements Linux syscall mq_timedreceive(2). A message whose copy-out
// faults is lost, as on Linux.
SENTRY_SYSCALL(SysMqTimedreceive) {
  SENTRY_ASSIGN_OR_RETURN(std::optional<absl::Time> deadline,
                          Deadline(t, a.Addr(4)));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<MqueueFD> q, QueueFile(t, a.Int(0)));
  if (!OpenFor(*q, O_RDONLY)) return Errno(EBADF);
  if (a.U64(2) < static_cast<uint64_t>(q->attr().msgsize))
    return Errno(EMSGSIZE);
  SENTRY_ASSIGN_OR_RETURN(auto got, q->Receive(t, deadline));
  if (!a.Addr(3).IsNull()) {
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(3), got.second));
  }
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(a.Addr(1), got.first.data(), got.first.size()));
  return got.first.size();
}

// Linux's NOTIFY_COOKIE_LEN and the cookie's last byte, which says why
// glibc's helper thread got it.
constexpr size_t kCookieLen = 32;
constexpr char kNotifyWokenUp = 1;
constexpr char kNotifyRemoved = 2;

// Implements Linux syscall mq_notify(2). SIGEV_THREAD is glibc's
// protocol: sigev_signo names a netlink socket and sigev_value points to
// a 32-byte cookie, which arrives on that socket when a message does (or
// when the registration goes), for glibc's helper thread to act on.
SENTRY_SYSCALL(SysMqNotify) {
  std::optional<fs::mqueue::Notification> n;
  if (!a.Addr(1).IsNull()) {
    GuestSigevent se;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &se));
    if (se.notify != SIGEV_NONE && se.notify != SIGEV_SIGNAL &&
        se.notify != SIGEV_THREAD) {
      return Errno(EINVAL);
    }
    // valid_signal(): 0 included.
    if (se.notify == SIGEV_SIGNAL &&
        static_cast<uint32_t>(se.signo) > static_cast<uint32_t>(_NSIG - 1)) {
      return Errno(EINVAL);
    }
    std::shared_ptr<net::netlink::NetlinkSocket> sock;
    std::string cookie(kCookieLen, '\0');
    if (se.notify == SIGEV_THREAD) {
      SENTRY_RETURN_IF_ERROR(
          t.CopyInFull(GuestAddr(se.value), cookie.data(), kCookieLen));
      SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                              t.GetFile(se.signo));
      auto* nl = dynamic_cast<net::netlink::NetlinkSocketFD*>(f.get());
      if (nl == nullptr) return Errno(f->is_socket() ? EINVAL : ENOTSOCK);
      sock = nl->shared_socket();
    }
    int tgid = t.tgid();
    n = fs::mqueue::Notification{tgid, se.notify, se.signo, nullptr, [tgid] {
                                   kernel::Task* c = kernel::Task::Current();
                                   return c != nullptr && c->tgid() == tgid;
                                 }};
    if (se.notify == SIGEV_SIGNAL && se.signo != 0) {
      kernel::Kernel* k = &t.kernel();
      std::weak_ptr<kernel::ThreadGroup> owner = t.tg_ptr();
      int signo = se.signo;
      uint64_t value = se.value;
      // A process that has exec'd since is not told (Linux's
      // notify_self_exec_id): the new image never asked.
      uint64_t exec_seq = t.tg().exec_seq.load();
      n->fire = [k, owner, signo, value, exec_seq](int sender, uint32_t uid) {
        std::shared_ptr<kernel::ThreadGroup> g = owner.lock();
        if (g == nullptr || g->exec_seq.load() != exec_seq) return;
        siginfo_t info = kernel::MakeSigInfo(signo, SI_MESGQ, sender, uid);
        info.si_value.sival_ptr = reinterpret_cast<void*>(value);
        absl::MutexLock l(&k->mu());
        if (!g->zombie) (void)k->SendGroupSignalLocked(g.get(), info);
      };
    }
    if (sock != nullptr) {
      auto send = [sock, cookie](char why) {
        std::string c = cookie;
        c[kCookieLen - 1] = why;
        sock->Deliver(std::move(c));
      };
      n->fire = [send](int, uint32_t) { send(kNotifyWokenUp); };
      n->removed = [send] { send(kNotifyRemoved); };
    }
  }
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<MqueueFD> q, QueueFile(t, a.Int(0)));
  SENTRY_RETURN_IF_ERROR(q->SetNotification(t.tgid(), std::move(n)));
  return 0;
}

// Implements Linux syscall mq_getsetattr(2): only O_NONBLOCK changes.
SENTRY_SYSCALL(SysMqGetsetattr) {
  std::optional<GuestMqAttr> set;
  if (!a.Addr(1).IsNull()) {
    GuestMqAttr ga;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &ga));
    if ((ga.flags & ~static_cast<int64_t>(O_NONBLOCK)) != 0)
      return Errno(EINVAL);
    set = ga;
  }
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<MqueueFD> q, QueueFile(t, a.Int(0)));
  GuestMqAttr old = {};
  old.curmsgs = q->curmsgs();
  old.maxmsg = q->attr().maxmsg;
  old.msgsize = q->attr().msgsize;
  old.flags = q->flags() & O_NONBLOCK;
  if (set) {
    q->SetStatusFlags((q->flags() & ~O_NONBLOCK) |
                      static_cast<int>(set->flags & O_NONBLOCK));
  }
  if (!a.Addr(2).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), old));
  return 0;
}

}  // namespace sentry::syscalls
