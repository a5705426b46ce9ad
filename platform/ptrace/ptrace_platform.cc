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

constexpr long kPtraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD;

pid_t CurrentTid() {
  thread_local const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  return tid;
}

long Ptrace(int request, pid_t tid, uint64_t addr, uint64_t data) {
  return ::ptrace(static_cast<__ptrace_request>(request), tid,
                  reinterpret_cast<void*>(addr), reinterpret_cast<void*>(data));
}

// Waits for a state change of `tid`, one of the calling thread's own tracees
// (or children). __WNOTHREAD keeps sibling sentry threads' tracees out.
SysResult<int> WaitFor(pid_t tid) {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(tid, &status, __WALL | __WNOTHREAD);
    if (r == tid) return status;
    if (r < 0 && errno == EINTR) continue;
    return Errno::FromHost();
  }
}

// Runs system call `nr` on stub thread `tid`, which is stopped and traced by
// the calling thread, at stub address `ip`. Returns the raw result (a negative
// errno on failure) or an error if the stub thread died. For SYS_exit the
// thread is gone afterwards and 0 is returned.
SysResult<int64_t> Inject(pid_t tid, const Registers& tmpl, uint64_t ip,
                          long nr, std::initializer_list<uint64_t> args) {
  Registers r = tmpl;
  r.rip = ip;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = static_cast<uint64_t>(-1);
  unsigned long long* slots[] = {&r.rdi, &r.rsi, &r.rdx, &r.r10, &r.r8, &r.r9};
  size_t i = 0;
  for (uint64_t a : args) *slots[i++] = a;
  if (Ptrace(PTRACE_SETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) != 0) {
    return Errno::FromHost();
  }
  if (Ptrace(PTRACE_CONT, tid, 0, 0) != 0) return Errno::FromHost();
  for (;;) {
    SENTRY_ASSIGN_OR_RETURN(int status, WaitFor(tid));
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (nr == SYS_exit) return 0;
      LOG(ERROR) << "stub thread " << tid << " died during injected syscall "
                 << nr << " (status " << status << ")";
      return Errno(ESRCH);
    }
    if (!WIFSTOPPED(status)) continue;
    if (WSTOPSIG(status) == SIGTRAP && (status >> 16) == 0) break;
    if ((WSTOPSIG(status) == SIGSEGV || WSTOPSIG(status) == SIGBUS) &&
        (status >> 16) == 0) {
      // Injected code touched guest memory the guest may not (an atomic
      // operation on a bad address). The next injection or Switch sets
      // every register again, so the thread can stay where it stopped.
      siginfo_t si{};
      if (Ptrace(PTRACE_GETSIGINFO, tid, 0, reinterpret_cast<uint64_t>(&si)) ==
              0 &&
          si.si_code > 0) {
        return Errno(EFAULT);
      }
    }
    // Another stop (an interrupt signal, a job-control stop): suppress it.
    // Interrupts are also recorded in the Context, so nothing is lost.
    if (Ptrace(PTRACE_CONT, tid, 0, 0) != 0) return Errno::FromHost();
  }
  if (Ptrace(PTRACE_GETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) != 0) {
    return Errno::FromHost();
  }
  return static_cast<int64_t>(r.rax);
}

// Puts every FPU, SSE, AVX and AVX-512 register of stopped tracee `tid`
// in its initial state: an XSAVE image whose header marks no component in
// use, with the x87 control word and MXCSR of a fresh process. Resetting
// only the legacy area (PTRACE_SETFPREGS) would leave ymm/zmm upper halves,
// zmm16-31 and opmasks holding whatever the sentry put there.
SysResult<void> ResetExtendedState(pid_t tid) {
  alignas(64) static thread_local uint8_t buf[16384];
  struct iovec iov = {buf, sizeof(buf)};
  if (Ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE,
             reinterpret_cast<uint64_t>(&iov)) != 0) {
    return Errno::FromHost();
  }
  uint32_t mxcsr_mask;
  memcpy(&mxcsr_mask, buf + 28, sizeof(mxcsr_mask));
  memset(buf, 0, iov.iov_len);
  const uint16_t fcw = 0x37f;  // x87: all exceptions masked, 64-bit precision
  const uint32_t mxcsr =
      0x1f80;  // SSE: all exceptions masked, round to nearest
  memcpy(buf + 0, &fcw, sizeof(fcw));
  memcpy(buf + 24, &mxcsr, sizeof(mxcsr));
  memcpy(buf + 28, &mxcsr_mask, sizeof(mxcsr_mask));
  // Bytes 512..575 are the XSAVE header: all zero means every component is
  // in its init state.
  if (Ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE,
             reinterpret_cast<uint64_t>(&iov)) != 0) {
    return Errno::FromHost();
  }
  return sentry::Ok();
}

// Exit codes of a stub child that could not finish setting itself up; the

// manager turns them into a message.
enum StubSetupFailure {
  kFailPdeathsig = 101,
  kFailParentGone,
  kFailTraceme,
  kFailSignals,
  kFailRlimit,
  kFailRseq,
  kFailNoNewPrivs,
  kFailMapStub,
  kFailSeccomp,
};

const char* StubSetupFailureName(int code) {
  switch (code) {
    case kFailPdeathsig:
      return "prctl(PR_SET_PDEATHSIG)";
    case kFailParentGone:
      return "parent exited";
    case kFailTraceme:
      return "ptrace(PTRACE_TRACEME)";
    case kFailSignals:
      return "resetting signal dispositions";
    case kFailRlimit:
      return "setrlimit(RLIMIT_CORE)";
    case kFailRseq:
      return "rseq(RSEQ_FLAG_UNREGISTER)";
    case kFailNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case kFailMapStub:
      return "mapping the stub page";
    case kFailSeccomp:
      return "installing the stub seccomp filter";
    default:
      return "unknown step";
  }
}

struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

// Runs in the child of clone(CLONE_FILES) from a manager thread: a copy of a
// multithreaded process, so only raw system calls. Never returns.
[[noreturn]] void StubChild(pid_t parent, int memfd, const sock_fprog* filter) {
  if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    syscall(SYS_exit_group, kFailPdeathsig);
  }
  if (syscall(SYS_getppid) != parent) syscall(SYS_exit_group, kFailParentGone);
  if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) != 0) {
    syscall(SYS_exit_group, kFailTraceme);
  }
  // No sentry handler may survive into the stub: its code is about to vanish.
  KernelSigaction dfl{reinterpret_cast<uint64_t>(SIG_DFL), 0, 0, 0};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction act = dfl;
    if (sig == SIGCHLD) act.handler = reinterpret_cast<uint64_t>(SIG_IGN);
    if (syscall(SYS_rt_sigaction, sig, &act, nullptr, 8) != 0) {
      syscall(SYS_exit_group, kFailSignals);
    }
  }
  uint64_t empty_mask = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, 8) != 0) {
    syscall(SYS_exit_group, kFailSignals);
  }
  // Guest memory must never land in a host core file.
  struct rlimit no_core = {0, 0};
  if (syscall(SYS_setrlimit, RLIMIT_CORE, &no_core) != 0) {
    syscall(SYS_exit_group, kFailRlimit);
  }
  // glibc registered an rseq area in this thread's TLS, which is about to be
  // unmapped; the kernel would then fail to update it and raise SIGSEGV.
  if (__rseq_size > 0) {
    void* area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
    if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) {
      syscall(SYS_exit_group, kFailRseq);
    }
  }
  if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    syscall(SYS_exit_group, kFailNoNewPrivs);
  }
  long addr = syscall(SYS_mmap, kStubStart, kStubSize, PROT_READ | PROT_EXEC,
                      MAP_SHARED | MAP_FIXED, memfd, 0);
  if (addr != static_cast<long>(kStubStart)) {
    syscall(SYS_exit_group, kFailMapStub);
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, filter) != 0) {
    syscall(SYS_exit_group, kFailSeccomp);
  }
  // From here on only the stub page may issue system calls.
  auto init = reinterpret_cast<void (*)(uint64_t, uint64_t, uint64_t)>(
      StubAddr(uks_stub_init));
  init(kStubStart, kStubEnd, kUserTop);
  __builtin_unreachable();
}

// Owns one stub process: creates it, traces its first thread, creates more
// threads on request, and kills it on destruction. All ptrace calls on the
// first thread happen on the manager's own host thread.
class Manager final {
 public:
  Manager(const PtracePlatform& platform) : platform_(platform) {}
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  ~Manager() {
    {
      absl::MutexLock l(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

  // Starts the manager thread and a new stub process; or, with `adopt`,
  // takes over `adopt`, a stub process forked from another (fork(2)),
  // idling untraced in the stub's pause loop.
  SysResult<void> Start(std::string* error, pid_t adopt = -1) {
    thread_ = std::thread([this, adopt] { Run(adopt); });
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(
        +[](Manager* m) { return m->ready_ || m->failed_; }, this));
    if (failed_) {
      *error = error_;
      return Errno(EAGAIN);
    }
    return sentry::Ok();
  }

  pid_t pid() const { return pid_; }
  const Registers& regs_template() const { return template_; }

  // Creates a stub thread idling untraced in pause(); returns its tid.
  SysResult<pid_t> NewThread() {
    SysResult<int64_t> result = Errno(EIO);
    RunOnManager([&] {
      constexpr uint64_t kFlags = CLONE_VM | CLONE_FS | CLONE_FILES |
                                  CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
      result = Inject(pid_, template_, StubAddr(uks_stub_clone), SYS_clone,
                      {kFlags, 0, 0, 0, 0});
    });
    if (!result.ok()) return result.error();
    if (*result < 0) return Errno(static_cast<int>(-*result));
    return static_cast<pid_t>(*result);
  }

 private:
  void RunOnManager(const std::function<void()>& fn) {
    bool done = false;
    absl::MutexLock l(&mu_);
    queue_.push_back([&] {
      fn();
      absl::MutexLock l2(&mu_);
      done = true;
    });
    mu_.Await(absl::Condition(&done));
  }

  void Fail(const std::string& message) {
    absl::MutexLock l(&mu_);
    error_ = message;
    failed_ = true;
  }

  // Traces `pid` from this thread and stops it: PTRACE_SEIZE, then
  // PTRACE_INTERRUPT takes it out of its pause loop into a ptrace stop.
  bool Seize(pid_t pid) {
    if (Ptrace(PTRACE_SEIZE, pid, 0, kPtraceOptions) != 0 ||
        Ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) {
      Fail(std::string("seizing a forked stub failed: ") + strerror(errno));
      kill(pid, SIGKILL);
      return false;
    }
    SysResult<int> status = WaitFor(pid);
    if (!status.ok() || !WIFSTOPPED(*status)) {
      Fail("a forked stub died before it could be seized");
      return false;
    }
    return true;
  }

  void Run(pid_t adopt) {
    if (adopt > 0) {
      pid_ = adopt;
      if (!Seize(adopt)) return;
    } else if (!CreateStub()) {
      return;
    }
    if (Ptrace(PTRACE_GETREGS, pid_, 0,
               reinterpret_cast<uint64_t>(&template_)) != 0) {
      Fail(std::string("ptrace on the stub failed: ") + strerror(errno));
      kill(pid_, SIGKILL);
      static_cast<void>(WaitFor(pid_));
      return;
    }
    if (adopt <= 0) {
      // A forked stub inherits its parent's scratch page.
      SysResult<int64_t> m =
          Inject(pid_, template_, StubAddr(uks_stub_syscall), SYS_mmap,
                 {kScratchStart, 0x1000, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                  static_cast<uint64_t>(-1), 0});
      if (!m.ok() || *m != static_cast<int64_t>(kScratchStart)) {
        Fail("mapping the stub's scratch page failed");
        kill(pid_, SIGKILL);
        static_cast<void>(WaitFor(pid_));
        return;
      }
    }
    Serve();
  }

  // Makes a new stub process, traced by this thread.
  bool CreateStub() {
    // The stub shares our fd table, so injected mmaps can name sentry fds.
    const pid_t sentry_pid = getpid();
    long child =
        syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, nullptr, nullptr, 0);
    if (child == 0) {
      StubChild(sentry_pid, platform_.stub_memfd(), platform_.stub_filter());
    }
    if (child < 0) {
      Fail(std::string("clone of a stub process failed: ") + strerror(errno));
      return false;
    }
    pid_ = static_cast<pid_t>(child);
    SysResult<int> status = WaitFor(pid_);
    if (!status.ok() || !WIFSTOPPED(*status) || WSTOPSIG(*status) != SIGSTOP) {
      std::string why = "stub process did not start";
      if (status.ok() && WIFEXITED(*status)) {
        why += std::string(": failed at ") +
               StubSetupFailureName(WEXITSTATUS(*status));
      } else if (status.ok() && WIFSIGNALED(*status)) {
        why += ": killed by signal " + std::to_string(WTERMSIG(*status));
      }
      kill(pid_, SIGKILL);
      static_cast<void>(WaitFor(pid_));
      Fail(why);
      return false;
    }
    if (Ptrace(PTRACE_SETOPTIONS, pid_, 0, kPtraceOptions) != 0) {
      Fail(std::string("ptrace on the stub failed: ") + strerror(errno));
      kill(pid_, SIGKILL);
      static_cast<void>(WaitFor(pid_));
      return false;
    }
    return true;
  }

  // Serves requests until the address space goes, then kills the stub.
  void Serve() {
    {
      absl::MutexLock l(&mu_);
      ready_ = true;
    }
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock l(&mu_);
        mu_.Await(absl::Condition(
            +[](Manager* m) { return m->stopping_ || !m->queue_.empty(); },
            this));
        if (queue_.empty()) break;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
    // Every task thread has released its stub thread by now (see
    // PtraceAddressSpace::~PtraceAddressSpace), so the group leader can be
    // reaped once killed.
    kill(pid_, SIGKILL);
    for (;;) {
      int status = 0;
      struct rusage ru = {};
      pid_t r = wait4(pid_, &status, __WALL | __WNOTHREAD, &ru);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
        absl::MutexLock l(&mu_);
        if (r == pid_ && rss_sink_ != nullptr) {
          rss_sink_->store(static_cast<uint64_t>(ru.ru_maxrss));
        }
        break;
      }
    }
  }

 public:
  void SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink) {
    absl::MutexLock l(&mu_);
    rss_sink_ = std::move(sink);
  }

 private:
  const PtracePlatform& platform_;
  std::thread thread_;
  pid_t pid_ = -1;
  Registers template_{};

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<std::atomic<uint64_t>> rss_sink_ ABSL_GUARDED_BY(mu_);
};

std::atomic<uint64_t> next_address_space_id{1};

class PtraceAddressSpace final : public AddressSpace {
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
    absl::MutexLock l(&mu_);
    for (const auto& [tracer, stub_tid] : threads_) {
      LOG(ERROR) << "address space destroyed while sentry thread " << tracer
                 << " still traces stub thread " << stub_tid;
    }
  }

  uint64_t id() const { return id_; }
  pid_t pid() const { return manager_.pid(); }

  SysResult<void> Map(uint64_t addr, uint64_t len, int prot,
                      const MapSource& source) override {
    SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
    int flags = MAP_FIXED | (source.shared ? MAP_SHARED : MAP_PRIVATE);
    if (source.host_fd < 0) flags |= MAP_ANONYMOUS;
    return InjectChecked(
        SYS_mmap,
        {addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags),
         static_cast<uint64_t>(static_cast<int64_t>(source.host_fd)),
         source.offset});
  }

  SysResult<void> Unmap(uint64_t addr, uint64_t len) override {
    SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
    return InjectChecked(SYS_munmap, {addr, len});
  }

  SysResult<void> Protect(uint64_t addr, uint64_t len, int prot) override {
    SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
    return InjectChecked(SYS_mprotect,
                         {addr, len, static_cast<uint64_t>(prot)});
  }

  SysResult<void> Remap(uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
                        uint64_t new_len) override {
    SENTRY_RETURN_IF_ERROR(CheckRange(old_addr, old_len));
    SENTRY_RETURN_IF_ERROR(CheckRange(new_addr, new_len));
    return InjectChecked(SYS_mremap, {old_addr, old_len, new_len,
                                      MREMAP_MAYMOVE | MREMAP_FIXED, new_addr});
  }

  SysResult<void> Advise(uint64_t addr, uint64_t len, int advice) override {
    SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
    return InjectChecked(SYS_madvise,
                         {addr, len, static_cast<uint64_t>(advice)});
  }

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
    if (len == 0) return size_t{0};
    struct iovec local = {dst, len};
    struct iovec remote = {reinterpret_cast<void*>(addr), len};
    ssize_t n = process_vm_readv(pid(), &local, 1, &remote, 1, 0);
    if (n <= 0) return Errno(EFAULT);
    return static_cast<size_t>(n);
  }

  SysResult<size_t> Write(uint64_t addr, const void* src, size_t len) override {
    if (len == 0) return size_t{0};
    struct iovec local = {const_cast<void*>(src), len};
    struct iovec remote = {reinterpret_cast<void*>(addr), len};
    ssize_t n = process_vm_writev(pid(), &local, 1, &remote, 1, 0);
    if (n <= 0) return Errno(EFAULT);
    return static_cast<size_t>(n);
  }

  // Returns the stub thread the calling sentry thread runs on, creating and
  // seizing one on first use. The thread is stopped on return.
  SysResult<pid_t> ThreadForCaller() {
    pid_t me = CurrentTid();
    {
      absl::MutexLock l(&mu_);
      auto it = threads_.find(me);
      if (it != threads_.end()) return it->second;
    }
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, manager_.NewThread());
    if (Ptrace(PTRACE_SEIZE, tid, 0, kPtraceOptions) != 0 ||
        Ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
      Errno e = Errno::FromHost();
      LOG(ERROR) << "cannot seize stub thread " << tid << ": "
                 << strerror(e.value());
      tgkill(pid(), tid, SIGKILL);
      return e;
    }
    SENTRY_ASSIGN_OR_RETURN(int status, WaitFor(tid));
    if (!WIFSTOPPED(status)) return Errno(ESRCH);
    // The thread was cloned from one forked off a sentry thread: whatever
    // that left in the vector registers must not reach the guest.
    SENTRY_RETURN_IF_ERROR(ResetExtendedState(tid));
    absl::MutexLock l(&mu_);
    threads_[me] = tid;
    return tid;
  }

  // Ends the calling thread's use of this address space: its stub thread
  // exits (a traced thread must be reaped by its own tracer).
  void ReleaseCaller() {
    pid_t me = CurrentTid();
    pid_t tid;
    {
      absl::MutexLock l(&mu_);
      auto it = threads_.find(me);
      if (it == threads_.end()) return;
      tid = it->second;
      threads_.erase(it);
    }
    SysResult<int64_t> r = Inject(tid, manager_.regs_template(),
                                  StubAddr(uks_stub_syscall), SYS_exit, {0});
    if (!r.ok()) {
      // The thread did not exit as asked (its process was killed, say):
      // make sure it is dead, then reap it, or the group leader's exit would
      // never be reported and the manager would wait forever.
      syscall(SYS_tgkill, pid(), tid, SIGKILL);
      while (waitpid(tid, nullptr, __WALL | __WNOTHREAD) < 0 &&
             errno == EINTR) {
      }
    }
  }

  const Registers& regs_template() const { return manager_.regs_template(); }

  void SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink) override {
    manager_.SetMaxRssSink(std::move(sink));
  }

 private:
  explicit PtraceAddressSpace(const PtracePlatform& platform)
      : id_(next_address_space_id.fetch_add(1)),
        platform_(platform),
        manager_(platform) {}

  // Guards the stub page against the sentry's own mistakes; the memory
  // manager has already checked guest requests.
  static SysResult<void> CheckRange(uint64_t addr, uint64_t len) {
    uint64_t end;
    if ((addr & (sentry::kPageSize - 1)) != 0 || len == 0 ||
        __builtin_add_overflow(addr, len, &end) || end > kScratchStart ||
        addr < kMinUserAddress) {
      return Errno(EINVAL);
    }
    return sentry::Ok();
  }

  SysResult<void> InjectChecked(long nr, std::initializer_list<uint64_t> args) {
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, ThreadForCaller());
    SENTRY_ASSIGN_OR_RETURN(int64_t rc,
                            Inject(tid, manager_.regs_template(),
                                   StubAddr(uks_stub_syscall), nr, args));
    if (rc < 0 && rc > -4096) return Errno(static_cast<int>(-rc));
    return sentry::Ok();
  }

  const uint64_t id_;
  const PtracePlatform& platform_;
  Manager manager_;
  absl::Mutex mu_;
  // Sentry thread tid -> the stub thread it traces in this process.
  absl::flat_hash_map<pid_t, pid_t> threads_ ABSL_GUARDED_BY(mu_);
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
  constexpr uint32_t kStubHi = static_cast<uint32_t>(kStubStart >> 32);
  constexpr uint32_t kStubLo = static_cast<uint32_t>(kStubStart);
  constexpr uint32_t kStubEndLo = static_cast<uint32_t>(kStubEnd - 1);
  static_assert((kStubStart >> 32) == ((kStubEnd - 1) >> 32),
                "the stub must not straddle a 4 GiB boundary");
  const uint32_t allowed[] = {
      SYS_mmap,   SYS_munmap, SYS_mprotect,  SYS_madvise,
      SYS_mremap, SYS_clone,  SYS_pause,     SYS_gettid,
      SYS_tkill,  SYS_exit,   SYS_getrusage,
  };
  std::vector<sock_filter> f;
  auto stmt = [&](uint16_t code, uint32_t k) {
    f.push_back(BPF_STMT(code, k));
  };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    f.push_back(BPF_JUMP(code, k, jt, jf));
  };
  // Only the 64-bit ABI, and never x32.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  // Outside the stub page: trap (the sentry emulates vsyscalls).
  stmt(BPF_LD | BPF_W | BPF_ABS,
       offsetof(seccomp_data, instruction_pointer) + 4);
  jump(BPF_JMP | BPF_JEQ | BPF_K, kStubHi, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, instruction_pointer));
  jump(BPF_JMP | BPF_JGE | BPF_K, kStubLo, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  jump(BPF_JMP | BPF_JGT | BPF_K, kStubEndLo, 0, 1);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  // In the stub page: only what the sentry injects.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  for (uint32_t nr : allowed) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
    stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  }
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  return f;
}

SysResult<std::unique_ptr<Platform>> PtracePlatform::Create(
    std::string* error) {
  auto p = std::unique_ptr<PtracePlatform>(new PtracePlatform());
  size_t code_size = static_cast<size_t>(uks_stub_end - uks_stub_begin);
  CHECK_LE(code_size, kStubSize);
  int fd = static_cast<int>(
      syscall(SYS_memfd_create, "uks-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) {
    *error = std::string("memfd_create: ") + strerror(errno);
    return Errno::FromHost();
  }
  p->stub_memfd_.Reset(fd);
  std::string page(kStubSize, '\xcc');  // int3 filler
  memcpy(page.data(), uks_stub_begin, code_size);
  if (pwrite(fd, page.data(), page.size(), 0) !=
          static_cast<ssize_t>(page.size()) ||
      fcntl(fd, F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    *error = std::string("writing the stub memfd: ") + strerror(errno);
    return Errno::FromHost();
  }
  p->filter_ = BuildStubFilter();
  p->filter_prog_.len = static_cast<unsigned short>(p->filter_.size());
  p->filter_prog_.filter = p->filter_.data();
  return std::unique_ptr<Platform>(std::move(p));
}

uint64_t PtracePlatform::MaxUserAddress() const { return kScratchStart; }

SysResult<std::unique_ptr<AddressSpace>> PtracePlatform::NewAddressSpace() {
  return PtraceAddressSpace::Create(*this);
}

std::unique_ptr<Context> PtracePlatform::NewContext() {
  return std::make_unique<PtraceContext>();
}

}  // namespace platform::ptrace
