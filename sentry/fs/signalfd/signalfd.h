// signalfd: reads the caller's pending signals as struct signalfd_siginfo,
// as signalfd(2) makes it.
//
// Like Linux's, a signalfd holds only a mask: what it reads, and when it
// is readable, depend on who reads or polls it. A read dequeues signals
// of the mask pending for the calling thread or its process; poll, select
// and epoll report POLLIN when one is pending for the polling thread, and
// wait on its process's signal queue (ThreadGroup::signal_events, Linux's
// sighand->signalfd_wqh). So after fork the child reads its own signals,
// and after exec the inherited fd keeps working.
//
// Lock order: Kernel::mu_ (taken by the task to dequeue and to read its
// pending set) is taken with no signalfd lock held; the mask is atomic.

#ifndef SENTRY_FS_SIGNALFD_SIGNALFD_H_
#define SENTRY_FS_SIGNALFD_SIGNALFD_H_

#include <signal.h>
#include <sys/signalfd.h>

#include <atomic>
#include <memory>
#include <string>

#include "sentry/base/waiter.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/kernel/signal.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::signalfd {

static_assert(sizeof(struct signalfd_siginfo) == 128);

class SignalFD final : public vfs::StreamFD, public anon::RecordReads {
 public:
  SignalFD(vfs::VirtualDentry vd, int flags, kernel::SigSet mask);

  // The signals it reads; SIGKILL and SIGSTOP are always left out.
  kernel::SigSet mask() const { return mask_.load(); }
  // signalfd(2) on an existing signalfd. Wakes the caller's process's
  // pollers, whose readiness may have changed.
  void SetMask(kernel::SigSet mask);

  // Reads as many pending signals as whole siginfos fit in `len`, waiting
  // (unless O_NONBLOCK) for the first. The caller must be a task.
  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  // Linux's noop_llseek: any seek "succeeds" and reports position 0.
  SysResult<int64_t> Seek(int64_t, int, int64_t* pos) override { return *pos; }
  // The calling task's view (Task::Current()): nothing off a task thread.
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override;
  std::string AnonName() const override { return "anon_inode:[signalfd]"; }

 private:
  std::atomic<kernel::SigSet> mask_;
};

// The struct signalfd_siginfo for a dequeued signal: the fields of
// `info`'s layout, as Linux's signalfd_copyinfo fills them.
struct signalfd_siginfo ToSignalfdSiginfo(const siginfo_t& info);

// signalfd4(2): a new signalfd for `mask`, with `flags` O_NONBLOCK or not.
std::shared_ptr<SignalFD> NewSignalFD(kernel::SigSet mask, int flags);

}  // namespace sentry::fs::signalfd

#endif  // SENTRY_FS_SIGNALFD_SIGNALFD_H_
