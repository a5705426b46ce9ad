#include "sentry/fs/signalfd/signalfd.h"

#include <poll.h>

#include <cstring>
#include <optional>

#include "sentry/fs/anon/anon.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::signalfd {

namespace {

using kernel::SigBit;
using kernel::SigSet;

constexpr SigSet kNeverRead = SigBit(SIGKILL) | SigBit(SIGSTOP);

// Linux's siginfo layouts (enum siginfo_layout), which say which fields of
// a siginfo mean something.
enum class Layout { kKill, kTimer, kPoll, kFault, kFaultMce, kChld, kRt, kSys };

// Linux's siginfo_layout() for x86-64.
Layout LayoutOf(int sig, int code) {
  if (code > SI_USER && code < SI_KERNEL) {
    // The kernel's codes for signals that have their own (NSIG* of
    // <asm-generic/siginfo.h>).
    int limit = 0;
    Layout layout = Layout::kKill;
    switch (sig) {
      case SIGILL:
        limit = 11;
        layout = Layout::kFault;
        break;
      case SIGFPE:
        limit = 15;
        layout = Layout::kFault;
        break;
      case SIGSEGV:
        limit = 10;
        layout = Layout::kFault;
        break;
      case SIGBUS:
        limit = 5;
        layout = Layout::kFault;
        break;
      case SIGTRAP:
        limit = 6;
        layout = Layout::kFault;
        break;
      case SIGCHLD:
        limit = 6;
        layout = Layout::kChld;
        break;
      case SIGPOLL:
        limit = 6;
        layout = Layout::kPoll;
        break;
      case SIGSYS:
        limit = 2;
        layout = Layout::kSys;
        break;
      default:
        break;
    }
    if (limit != 0 && code <= limit) {
      if (sig == SIGBUS && (code == BUS_MCEERR_AR || code == BUS_MCEERR_AO)) {
        return Layout::kFaultMce;
      }
      return layout;
    }
    if (code <= 6) return Layout::kPoll;  // NSIGPOLL
    return Layout::kKill;
  }
  if (code == SI_TIMER) return Layout::kTimer;
  if (code == SI_SIGIO) return Layout::kPoll;
  if (code < 0) return Layout::kRt;
  return Layout::kKill;
}

}  // namespace

struct signalfd_siginfo ToSignalfdSiginfo(const siginfo_t& info) {
  struct signalfd_siginfo s;
  memset(&s, 0, sizeof(s));
  s.ssi_signo = static_cast<uint32_t>(info.si_signo);
  s.ssi_errno = info.si_errno;
  s.ssi_code = info.si_code;
  switch (LayoutOf(info.si_signo, info.si_code)) {
    case Layout::kKill:
      s.ssi_pid = static_cast<uint32_t>(info.si_pid);
      s.ssi_uid = info.si_uid;
      break;
    case Layout::kTimer:
      s.ssi_tid = static_cast<uint32_t>(info.si_timerid);
      s.ssi_overrun = static_cast<uint32_t>(info.si_overrun);
      s.ssi_ptr = reinterpret_cast<uint64_t>(info.si_ptr);
      s.ssi_int = info.si_int;
      break;
    case Layout::kPoll:
      s.ssi_band = static_cast<uint32_t>(info.si_band);
      s.ssi_fd = info.si_fd;
      break;
    case Layout::kFault:
      s.ssi_addr = reinterpret_cast<uint64_t>(info.si_addr);
      break;
    case Layout::kFaultMce:
      s.ssi_addr = reinterpret_cast<uint64_t>(info.si_addr);
      s.ssi_addr_lsb = static_cast<uint16_t>(info.si_addr_lsb);
      break;
    case Layout::kChld:
      s.ssi_pid = static_cast<uint32_t>(info.si_pid);
      s.ssi_uid = info.si_uid;
      s.ssi_status = info.si_status;
      s.ssi_utime = static_cast<uint64_t>(info.si_utime);
      s.ssi_stime = static_cast<uint64_t>(info.si_stime);
      break;
    case Layout::kRt:
      // Also what sigqueue(3) sends.
      s.ssi_pid = static_cast<uint32_t>(info.si_pid);
      s.ssi_uid = info.si_uid;
      s.ssi_ptr = reinterpret_cast<uint64_t>(info.si_ptr);
      s.ssi_int = info.si_int;
      break;
    case Layout::kSys:
      s.ssi_call_addr = reinterpret_cast<uint64_t>(info.si_call_addr);
      s.ssi_syscall = info.si_syscall;
      s.ssi_arch = info.si_arch;
      break;
  }
  return s;
}

SignalFD::SignalFD(vfs::VirtualDentry vd, int flags, SigSet mask)
    : StreamFD(std::move(vd), flags), mask_(mask & ~kNeverRead) {}

void SignalFD::SetMask(SigSet mask) {
  mask_.store(mask & ~kNeverRead);
  if (kernel::Task* t = kernel::Task::Current()) {
    t->tg().signal_events()->Notify(kEventIn);
  }
}

SysResult<size_t> SignalFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                                 int64_t*) {
  size_t count = len / sizeof(struct signalfd_siginfo);
  if (count == 0) return Errno(EINVAL);
  auto* t = dynamic_cast<kernel::Task*>(&ctx);
  if (t == nullptr) return Errno(EINVAL);
  size_t done = 0;
  std::optional<ScopedWait> wait;
  // Only the first signal is waited for.
  while (done < count) {
    siginfo_t info;
    if (t->DequeueSignalIn(mask(), &info)) {
      struct signalfd_siginfo s = ToSignalfdSiginfo(info);
      memcpy(buf + done * sizeof(s), &s, sizeof(s));
      done++;
      continue;
    }
    if (done > 0) break;
    if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
    if (!wait) {
      wait.emplace(t->tg().signal_events().get(), t->waiter(), kEventIn);
      continue;  // re-check now that no wake can be missed
    }
    SENTRY_RETURN_IF_ERROR(t->Block(std::nullopt));
  }
  return done * sizeof(struct signalfd_siginfo);
}

uint32_t SignalFD::Readiness(uint32_t mask) {
  kernel::Task* t = kernel::Task::Current();
  if (t == nullptr) return 0;
  if ((t->PendingSignals() & this->mask()) == 0) return 0;
  return mask & (POLLIN | POLLRDNORM);
}

std::shared_ptr<WaitQueue> SignalFD::EventQueue() {
  kernel::Task* t = kernel::Task::Current();
  if (t == nullptr) return nullptr;
  return t->tg().signal_events();
}

std::shared_ptr<SignalFD> NewSignalFD(SigSet mask, int flags) {
  vfs::VirtualDentry vd = anon::NewAnonFile("anon_inodefs", 0600, 0, 0);
  return std::make_shared<SignalFD>(std::move(vd),
                                    O_RDWR | (flags & O_NONBLOCK), mask);
}

}  // namespace sentry::fs::signalfd
