// What a task's seccomp mode and filters do to each of its system calls
// (Linux's __secure_computing).

#include <linux/audit.h>
#include <signal.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>

#include "sentry/kernel/task.h"

namespace sentry::kernel {

namespace {

// Linux ends a thread that seccomp kills, and with it the process when it
// is the last thread (or `whole`), which then dies of `sig`.
void KillForSeccomp(Task& t, int sig, bool whole) {
  bool last;
  {
    absl::MutexLock l(&t.kernel().mu());
    last = t.tg().tasks.size() <= 1;
  }
  if (whole || last) {
    t.ExitGroup(ExitStatus{0, sig, false});
  } else {
    t.ExitThread(0);
  }
}

}  // namespace

bool Task::SeccompAllows(uint64_t nr, const SyscallArgs& args,
                         int64_t* result) {
  // A call that does not run leaves rax as it was on entry (Linux rolls
  // the registers back), unless an action says otherwise.
  *result = static_cast<int64_t>(nr);
  if (seccomp_mode() == SECCOMP_MODE_STRICT) {
    if (nr == SYS_read || nr == SYS_write || nr == SYS_exit ||
        nr == SYS_rt_sigreturn) {
      return true;
    }
    KillForSeccomp(*this, SIGKILL, false);
    return false;
  }
  std::shared_ptr<const SeccompFilter> filter = seccomp_filter();
  if (filter == nullptr) return true;
  struct seccomp_data d;
  memset(&d, 0, sizeof(d));
  d.nr = static_cast<int>(nr);
  d.arch = AUDIT_ARCH_X86_64;
  d.instruction_pointer = regs_.rip;
  for (int i = 0; i < 6; i++) d.args[i] = args.raw[i];
  uint32_t ret = filter->Evaluate(d);
  uint32_t data = ret & SECCOMP_RET_DATA;
  switch (ret & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_ALLOW:
    case SECCOMP_RET_LOG:
      return true;
    case SECCOMP_RET_ERRNO:
      *result = -static_cast<int64_t>(std::min<uint32_t>(data, 4095));
      return false;
    case SECCOMP_RET_TRACE:
    case SECCOMP_RET_USER_NOTIF:
      // No tracer asked for seccomp stops, no listener: as Linux then.
      *result = -ENOSYS;
      return false;
    case SECCOMP_RET_TRAP: {
      siginfo_t info;
      memset(&info, 0, sizeof(info));
      info.si_signo = SIGSYS;
      info.si_code = 1;  // SYS_SECCOMP (not in glibc's signal.h)
      info.si_errno = static_cast<int>(data);
      info.si_call_addr = reinterpret_cast<void*>(regs_.rip);
      info.si_syscall = static_cast<int>(nr);
      info.si_arch = AUDIT_ARCH_X86_64;
      ForceSignal(info);
      return false;
    }
    case SECCOMP_RET_KILL_THREAD:
      KillForSeccomp(*this, SIGSYS, false);
      return false;
    default:  // SECCOMP_RET_KILL_PROCESS, and actions Linux does not know
      KillForSeccomp(*this, SIGSYS, true);
      return false;
  }
}

}  // namespace sentry::kernel
