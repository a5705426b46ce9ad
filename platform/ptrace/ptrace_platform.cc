#include "platform/ptrace/ptrace_platform.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"
#include "platform/ptrace/stub.h"
#include "platform/ptrace/stub_process.h"
#include "sentry/base/guest_addr.h"

namespace platform::ptrace {
namespace {

using sentry::Errno;
using sentry::SysResult;

// Sent to a stub thread to make its tracer's wait return (Context::Interrupt).
// Stubs ignore it when untraced, and a traced thread reports it even so.
constexpr int kInterruptSignal = SIGCHLD;

// si_code of a SIGSYS raised by a seccomp filter.
constexpr int kSysSeccomp = 1;

std::atomic<uint64_t> next_address_space_id{1};

class PtraceAddressSpace final : public InjectingAddressSpace {
 public:
  static SysResult<std::unique_ptr<AddressSpace>> Create(
      const PtracePlatform& platform, pid_t adopt = -1) {
    auto as =
        std::unique_ptr<PtraceAddressSpace>(new PtraceAddressSpace(platform));
    std::string error;
    SysResult<void> r = as->manager_.Start(&error, adopt);
    if (!r.ok()) {
      LOG(ERROR) << "ptrace platform: " << error;
      return r.error();
    }
    return std::unique_ptr<AddressSpace>(std::move(as));
  }

  ~PtraceAddressSpace() override {
    // The calling thread may still hold a stub thread here (a task dropping
    // its last address space); release it so the process can be reaped.
    ReleaseCaller();
  }

  uint64_t id() const { return id_; }
  pid_t pid() const { return manager_.pid(); }
  int StubPid() const override { return pid(); }

  SysResult<std::unique_ptr<AddressSpace>> Fork() override {
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, ThreadForCaller());
    // The child shares the sentry's fd table like every stub, and idles in
    // the stub's pause loop until its own manager seizes it. Only the
    // calling thread is copied, with the guest's memory.
    SENTRY_ASSIGN_OR_RETURN(
        int64_t child,
        Inject(tid, manager_.regs_template(), StubAddr(uks_stub_clone),
               SYS_clone, {CLONE_FILES | SIGCHLD, 0, 0, 0, 0}));
    if (child < 0) return Errno(static_cast<int>(-child));
    return Create(platform_, static_cast<pid_t>(child));
  }

  SysResult<uint64_t> MaxRssKb() override {
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, ThreadForCaller());
    SENTRY_ASSIGN_OR_RETURN(
        int64_t rc,
        Inject(tid, manager_.regs_template(), StubAddr(uks_stub_syscall),
               SYS_getrusage,
               {static_cast<uint64_t>(RUSAGE_SELF), kScratchStart}));
    if (rc != 0) return Errno(static_cast<int>(-rc));
    struct rusage ru;
    struct iovec local = {&ru, sizeof(ru)};
    struct iovec remote = {reinterpret_cast<void*>(kScratchStart), sizeof(ru)};
    if (process_vm_readv(pid(), &local, 1, &remote, 1, 0) !=
        static_cast<ssize_t>(sizeof(ru))) {
      return Errno(EFAULT);
    }
    return static_cast<uint64_t>(ru.ru_maxrss);
  }

  SysResult<uint32_t> Atomic32(uint64_t addr, AtomicOp op, uint32_t operand,
                               uint32_t expected) override {
    if (addr % 4 != 0 || addr < kMinUserAddress || addr + 4 > kScratchStart) {
      return Errno(EFAULT);
    }
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, ThreadForCaller());
    Registers r = manager_.regs_template();
    r.rdi = addr;
    r.rsi = operand;
    r.rdx = expected;
    r.rcx = static_cast<uint64_t>(op);
    // Inject runs code at the given address with these registers; the
    // "system call number" slot is rax, which the code overwrites.
    SENTRY_ASSIGN_OR_RETURN(int64_t old,
                            Inject(tid, r, StubAddr(uks_stub_atomic), 0,
                                   {addr, operand, expected}));
    return static_cast<uint32_t>(old);
  }

  SysResult<size_t> Read(uint64_t addr, void* dst, size_t len) override {
    return ReadStubMemory(pid(), addr, dst, len);
  }

  SysResult<size_t> Write(uint64_t addr, const void* src, size_t len) override {
    return WriteStubMemory(pid(), addr, src, len);
  }

  // Returns the stub thread the calling sentry thread runs on (see
  // StubProcess::TracedThreadForCaller).
  SysResult<pid_t> ThreadForCaller() {
    return manager_.TracedThreadForCaller();
  }

  // Ends the calling thread's use of this address space.
  void ReleaseCaller() { manager_.ReleaseTracedThreadOfCaller(); }

  const Registers& regs_template() const { return manager_.regs_template(); }

  void SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink) override {
    manager_.SetMaxRssSink(std::move(sink));
  }

 private:
  explicit PtraceAddressSpace(const PtracePlatform& platform)
      : InjectingAddressSpace(kScratchStart),
        id_(next_address_space_id.fetch_add(1)),
        platform_(platform),
        manager_(platform.stub_config()) {}

  SysResult<int64_t> InjectRaw(long nr,
                               std::initializer_list<uint64_t> args) override {
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, ThreadForCaller());
    return Inject(tid, manager_.regs_template(), StubAddr(uks_stub_syscall), nr,
                  args);
  }

  const uint64_t id_;
  const PtracePlatform& platform_;
  StubProcess manager_;
};

bool IsSynchronousFault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP || sig == SIGSYS;
}

constexpr uint64_t kVsyscallStart = 0xffffffffff600000ULL;
constexpr uint64_t kVsyscallEnd = 0xffffffffff601000ULL;

class PtraceContext final : public Context {
 public:
  PtraceContext() = default;
  ~PtraceContext() override = default;

  SwitchResult Switch(AddressSpace& as, Registers& regs) override {
    auto& pas = static_cast<PtraceAddressSpace&>(as);
    SwitchResult result;
    SysResult<pid_t> tid_or = pas.ThreadForCaller();
    if (!tid_or.ok()) {
      result.reason = StopReason::kDied;
      return result;
    }
    pid_t tid = *tid_or;
    {
      absl::MutexLock l(&mu_);
      tgid_ = pas.pid();
      tid_ = tid;
    }
    if (interrupt_pending_.exchange(false)) {
      result.reason = StopReason::kInterrupted;
      return result;
    }
    BindToCurrentCpu(tid);
    if (Ptrace(PTRACE_SETREGS, tid, 0, reinterpret_cast<uint64_t>(&regs)) !=
        0) {
      // The guest set a register the host refuses (say a bad segment):
      // Linux would fault on return to user mode.
      LOG(WARNING) << "PTRACE_SETREGS: " << strerror(errno);
      result.reason = StopReason::kFault;
      result.siginfo.si_signo = SIGSEGV;
      result.siginfo.si_code = SI_KERNEL;
      return result;
    }
    if (Ptrace(PTRACE_SYSEMU, tid, 0, 0) != 0) {
      result.reason = StopReason::kDied;
      return result;
    }
    for (;;) {
      SysResult<int> status_or = WaitFor(tid);
      if (!status_or.ok()) {
        result.reason = StopReason::kDied;
        return result;
      }
      int status = *status_or;
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        result.reason = StopReason::kDied;
        return result;
      }
      if (!WIFSTOPPED(status)) continue;
      int sig = WSTOPSIG(status);
      if ((status >> 16) == PTRACE_EVENT_STOP) {
        // A job-control stop reached the stub; the guest's job control is the
        // sentry's business, so keep running.
        if (Ptrace(PTRACE_SYSEMU, tid, 0, 0) != 0) {
          result.reason = StopReason::kDied;
          return result;
        }
        continue;
      }
      if (Ptrace(PTRACE_GETREGS, tid, 0, reinterpret_cast<uint64_t>(&regs)) !=
          0) {
        result.reason = StopReason::kDied;
        return result;
      }
      if (sig == (SIGTRAP | 0x80)) return SyscallStop(regs);
      if (IsSynchronousFault(sig)) {
        siginfo_t si{};
        if (Ptrace(PTRACE_GETSIGINFO, tid, 0,
                   reinterpret_cast<uint64_t>(&si)) != 0) {
          result.reason = StopReason::kDied;
          return result;
        }
        if (sig == SIGSYS && si.si_code == kSysSeccomp) {
          return SeccompStop(si, regs);
        }
        if (si.si_code > 0) {  // Raised by the CPU, not sent by someone.
          result.reason = StopReason::kFault;
          result.siginfo = si;
          return result;
        }
      }
      // The interrupt signal, or a signal some host process sent the stub:
      // neither is the guest's. Resuming with signal 0 discards it.
      result.reason = StopReason::kInterrupted;
      return result;
    }
  }

  void Interrupt() override {
    interrupt_pending_.store(true);
    absl::MutexLock l(&mu_);
    if (tid_ > 0) syscall(SYS_tgkill, tgid_, tid_, kInterruptSignal);
  }

  SysResult<void> ResetFPState(AddressSpace& as) override {
    auto& pas = static_cast<PtraceAddressSpace&>(as);
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, pas.ThreadForCaller());
    return ResetExtendedState(tid);
  }

  SysResult<std::vector<uint8_t>> GetFPState(AddressSpace& as) override {
    auto& pas = static_cast<PtraceAddressSpace&>(as);
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, pas.ThreadForCaller());
    std::vector<uint8_t> buf(16384);
    struct iovec iov = {buf.data(), buf.size()};
    if (Ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE,
               reinterpret_cast<uint64_t>(&iov)) != 0) {
      return Errno::FromHost();
    }
    buf.resize(iov.iov_len);
    return buf;
  }

  SysResult<void> SetFPState(AddressSpace& as,
                             const std::vector<uint8_t>& xsave) override {
    auto& pas = static_cast<PtraceAddressSpace&>(as);
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, pas.ThreadForCaller());
    std::vector<uint8_t> copy = xsave;
    struct iovec iov = {copy.data(), copy.size()};
    if (Ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE,
               reinterpret_cast<uint64_t>(&iov)) != 0) {
      return Errno(EINVAL);  // the host refused the image: malformed
    }
    return sentry::Ok();
  }

  void Release(AddressSpace& as) override {
    auto& pas = static_cast<PtraceAddressSpace&>(as);
    {
      absl::MutexLock l(&mu_);
      if (tgid_ == pas.pid()) tgid_ = tid_ = -1;
    }
    pas.ReleaseCaller();
  }

 private:
  static SwitchResult SyscallStop(const Registers& regs) {
    SwitchResult result;
    // int 0x80 and sysenter also stop here, with 32-bit numbering. The
    // sentry implements only the 64-bit ABI; Linux without IA-32 emulation
    // answers int 0x80 with SIGSEGV, and so do we. The `syscall`
    // instruction itself saves rip in rcx and rflags in r11, and the kernel
    // builds the saved registers from them, so the pair identifies it
    // without another ptrace call per stop. A guest that forges the pair
    // before int 0x80 only has its 32-bit call read as a 64-bit one, which
    // the sentry emulates like any other.
    if (regs.rcx != regs.rip || regs.r11 != regs.eflags ||
        (regs.orig_rax & 0x40000000) != 0) {
      result.reason = StopReason::kFault;
      result.siginfo.si_signo = SIGSEGV;
      result.siginfo.si_code = SI_KERNEL;
      return result;
    }
    result.reason = StopReason::kSyscall;
    return result;
  }

  // A SIGSYS from the stub's seccomp filter: the guest called into the
  // vsyscall page, which the kernel emulates without a ptrace stop. The
  // kernel has already done the vsyscall's "ret"; the sentry only has to run
  // the system call, so report it as one.
  static SwitchResult SeccompStop(const siginfo_t& si, Registers& regs) {
    SwitchResult result;
    uint64_t call_addr = reinterpret_cast<uint64_t>(si.si_call_addr);
    if (call_addr >= kVsyscallStart && call_addr < kVsyscallEnd &&
        si.si_arch == AUDIT_ARCH_X86_64) {
      regs.orig_rax = static_cast<uint64_t>(si.si_syscall);
      result.reason = StopReason::kSyscall;
      return result;
    }
    // Nothing else can trip the filter; refuse loudly.
    LOG(ERROR) << "unexpected seccomp trap in stub at 0x" << std::hex
               << call_addr;
    result.reason = StopReason::kFault;
    result.siginfo.si_signo = SIGSEGV;
    result.siginfo.si_code = SI_KERNEL;
    return result;
  }

  // Keeps the stub thread on the CPU its tracer (this thread) runs on, so
  // every stop is a direct switch between the two rather than a wakeup on
  // another CPU. Rebinds when the tracer migrates. (gVisor's ptrace
  // platform does the same.)
  void BindToCurrentCpu(pid_t tid) {
    int cpu = sched_getcpu();
    if (cpu < 0 || (cpu == bound_cpu_ && tid == bound_tid_)) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(tid, sizeof(set), &set) == 0) {
      bound_cpu_ = cpu;
      bound_tid_ = tid;
    }
  }

  int bound_cpu_ = -1;
  pid_t bound_tid_ = -1;
  std::atomic<bool> interrupt_pending_{false};

  absl::Mutex mu_;
  pid_t tgid_ ABSL_GUARDED_BY(mu_) = -1;
  pid_t tid_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace

std::vector<sock_filter> BuildStubFilter() {
  static constexpr uint32_t kAllowed[] = {
      SYS_mmap,
      SYS_munmap,
      SYS_mprotect,
      SYS_madvise,
      SYS_mremap,
      SYS_clone,
      SYS_pause,
      SYS_gettid,
      SYS_tkill,
      SYS_exit,
      SYS_getrusage,
      // Large file reads straight into guest memory (PreadToGuest).
      SYS_pread64,
  };
  return BuildStubPageFilter(kAllowed, std::size(kAllowed),
                             SECCOMP_RET_KILL_PROCESS,
                             SECCOMP_RET_KILL_PROCESS);
}

SysResult<std::unique_ptr<Platform>> PtracePlatform::Create(
    std::string* error) {
  auto p = std::unique_ptr<PtracePlatform>(new PtracePlatform());
  SENTRY_ASSIGN_OR_RETURN(p->stub_memfd_,
                          SealedStubMemfd(StubPageImage(), error));
  p->filter_ = BuildStubFilter();
  p->filter_prog_.len = static_cast<unsigned short>(p->filter_.size());
  p->filter_prog_.filter = p->filter_.data();
  p->stub_config_.memfd = p->stub_memfd_.get();
  p->stub_config_.filter = &p->filter_prog_;
  return std::unique_ptr<Platform>(std::move(p));
}

uint64_t PtracePlatform::MaxUserAddress() const { return kScratchStart; }

SysResult<std::unique_ptr<AddressSpace>> PtracePlatform::NewAddressSpace() {
  SENTRY_ASSIGN_OR_RETURN(pid_t child, zygote_->Fork());
  return PtraceAddressSpace::Create(*this, child);
}

std::unique_ptr<Context> PtracePlatform::NewContext() {
  return std::make_unique<PtraceContext>();
}

}  // namespace platform::ptrace
