#include "platform/ptrace/stub_process.h"

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

using sentry::Errno;
using sentry::SysResult;

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

namespace {

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

// Runs in the child of clone(CLONE_FILES) from a manager thread: a copy of a
// multithreaded process, so only raw system calls. Never returns.
[[noreturn]] void StubChild(pid_t parent, const StubConfig& config) {
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
    // A platform's own handlers live on the stub page (mapped below); the
    // kernel only records their addresses here.
    for (size_t i = 0; i < config.num_handlers; i++) {
      if (config.handlers[i].sig == sig) act = config.handlers[i].action;
    }
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
  // Sleeps with a timeout (systrap's naps) end on time, not up to the
  // default 50 us late. The stub's only timers are those; the guest's are
  // the sentry's. Inherited by its threads and forks. Best effort.
  syscall(SYS_prctl, PR_SET_TIMERSLACK, 1, 0, 0, 0);
  if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    syscall(SYS_exit_group, kFailNoNewPrivs);
  }
  long addr = syscall(SYS_mmap, kStubStart, kStubSize, PROT_READ | PROT_EXEC,
                      MAP_SHARED | MAP_FIXED, config.memfd, 0);
  if (addr != static_cast<long>(kStubStart)) {
    syscall(SYS_exit_group, kFailMapStub);
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, config.filter) != 0) {
    syscall(SYS_exit_group, kFailSeccomp);
  }
  // From here on only the stub page may issue system calls.
  auto init = reinterpret_cast<void (*)(uint64_t, uint64_t, uint64_t)>(
      StubAddr(uks_stub_init));
  init(kStubStart, kStubEnd, kUserTop);
  __builtin_unreachable();
}

}  // namespace

StubProcess::~StubProcess() {
  {
    absl::MutexLock l(&threads_mu_);
    for (const auto& [tracer, stub_tid] : traced_) {
      LOG(ERROR) << "stub process " << pid_ << " ends while sentry thread "
                 << tracer << " still traces its thread " << stub_tid;
    }
  }
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

SysResult<void> StubProcess::Start(std::string* error, pid_t adopt) {
  thread_ = std::thread([this, adopt] { Run(adopt); });
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(
      +[](StubProcess* m) { return m->ready_ || m->failed_; }, this));
  if (failed_) {
    *error = error_;
    return Errno(EAGAIN);
  }
  return sentry::Ok();
}

SysResult<pid_t> StubProcess::NewThread() {
  constexpr uint64_t kFlags = CLONE_VM | CLONE_FS | CLONE_FILES |
                              CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  SysResult<int64_t> result = InjectOnManager(StubAddr(uks_stub_clone),
                                              SYS_clone, {kFlags, 0, 0, 0, 0});
  if (!result.ok()) return result.error();
  if (*result < 0) return Errno(static_cast<int>(-*result));
  return static_cast<pid_t>(*result);
}

SysResult<int64_t> StubProcess::InjectOnManager(
    uint64_t ip, long nr, std::initializer_list<uint64_t> args,
    const Registers* tmpl) {
  SysResult<int64_t> result = Errno(EIO);
  RunOnManager([&] {
    result = Inject(pid_, tmpl != nullptr ? *tmpl : template_, ip, nr, args);
  });
  return result;
}

void StubProcess::RunOnManager(const std::function<void()>& fn) {
  bool done = false;
  absl::MutexLock l(&mu_);
  queue_.push_back([&] {
    fn();
    absl::MutexLock l2(&mu_);
    done = true;
  });
  mu_.Await(absl::Condition(&done));
}

void StubProcess::Fail(const std::string& message) {
  absl::MutexLock l(&mu_);
  error_ = message;
  failed_ = true;
}

// Traces `pid` from this thread and stops it: PTRACE_SEIZE, then
// PTRACE_INTERRUPT takes it out of its pause loop into a ptrace stop.
bool StubProcess::Seize(pid_t pid) {
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

void StubProcess::Run(pid_t adopt) {
  if (adopt > 0) {
    pid_ = adopt;
    if (!Seize(adopt)) return;
  } else if (!CreateStub()) {
    return;
  }
  if (Ptrace(PTRACE_GETREGS, pid_, 0, reinterpret_cast<uint64_t>(&template_)) !=
      0) {
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
bool StubProcess::CreateStub() {
  // The stub shares our fd table, so injected mmaps can name sentry fds.
  const pid_t sentry_pid = getpid();
  long child =
      syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, nullptr, nullptr, 0);
  if (child == 0) StubChild(sentry_pid, config_);
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
void StubProcess::Serve() {
  {
    absl::MutexLock l(&mu_);
    ready_ = true;
  }
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](StubProcess* m) { return m->stopping_ || !m->queue_.empty(); },
          this));
      if (queue_.empty()) break;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
  // Every task thread has released its stub thread by now (see the address
  // spaces' destructors), so the group leader can be reaped once killed.
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

SysResult<pid_t> StubProcess::TracedThreadForCaller() {
  pid_t me = CurrentTid();
  {
    absl::MutexLock l(&threads_mu_);
    auto it = traced_.find(me);
    if (it != traced_.end()) return it->second;
  }
  SENTRY_ASSIGN_OR_RETURN(pid_t tid, NewThread());
  if (Ptrace(PTRACE_SEIZE, tid, 0, kPtraceOptions) != 0 ||
      Ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
    Errno e = Errno::FromHost();
    LOG(ERROR) << "cannot seize stub thread " << tid << ": "
               << strerror(e.value());
    syscall(SYS_tgkill, pid_, tid, SIGKILL);
    return e;
  }
  SENTRY_ASSIGN_OR_RETURN(int status, WaitFor(tid));
  if (!WIFSTOPPED(status)) return Errno(ESRCH);
  // The thread was cloned from one forked off a sentry thread: whatever
  // that left in the vector registers must not reach the guest.
  SENTRY_RETURN_IF_ERROR(ResetExtendedState(tid));
  absl::MutexLock l(&threads_mu_);
  traced_[me] = tid;
  return tid;
}

void StubProcess::ReleaseTracedThreadOfCaller() {
  pid_t me = CurrentTid();
  pid_t tid;
  {
    absl::MutexLock l(&threads_mu_);
    auto it = traced_.find(me);
    if (it == traced_.end()) return;
    tid = it->second;
    traced_.erase(it);
  }
  SysResult<int64_t> r =
      Inject(tid, template_, StubAddr(uks_stub_syscall), SYS_exit, {0});
  if (!r.ok()) {
    // The thread did not exit as asked (its process was killed, say): make
    // sure it is dead, then reap it, or the group leader's exit would never
    // be reported and the manager would wait forever.
    syscall(SYS_tgkill, pid_, tid, SIGKILL);
    while (waitpid(tid, nullptr, __WALL | __WNOTHREAD) < 0 && errno == EINTR) {
    }
  }
}

void StubProcess::SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink) {
  absl::MutexLock l(&mu_);
  rss_sink_ = std::move(sink);
}

StubZygote::~StubZygote() {
  if (starter_.joinable()) starter_.join();
}

void StubZygote::StartAsync() {
  starter_ = std::thread([this] {
    absl::MutexLock l(&mu_);
    if (process_ == nullptr && error_.empty()) (void)StartLocked();
  });
}

SysResult<void> StubZygote::StartLocked() {
  auto process = std::make_unique<StubProcess>(config_);
  std::string error;
  SysResult<void> r = process->Start(&error);
  if (!r.ok()) {
    LOG(ERROR) << "stub zygote: " << error;
    error_ = error;
    return r;
  }
  process_ = std::move(process);
  return sentry::Ok();
}

SysResult<pid_t> StubZygote::Fork() {
  absl::MutexLock l(&mu_);
  for (int attempt = 0;; attempt++) {
    if (process_ == nullptr) {
      // A zygote that could not start is not retried: the host refused a
      // stub, and would refuse the next one the same way.
      if (!error_.empty()) return Errno(EAGAIN);
      SENTRY_RETURN_IF_ERROR(StartLocked());
    }
    SysResult<int64_t> child =
        process_->InjectOnManager(StubAddr(uks_stub_clone), SYS_clone,
                                  {CLONE_FILES | SIGCHLD, 0, 0, 0, 0});
    if (child.ok() && *child >= 0) return static_cast<pid_t>(*child);
    if (child.ok()) {
      LOG(ERROR) << "stub zygote: fork failed: "
                 << strerror(static_cast<int>(-*child));
      return Errno(static_cast<int>(-*child));
    }
    // The zygote itself is gone (killed from outside): start another.
    LOG(ERROR) << "stub zygote " << process_->pid() << " died";
    process_.reset();
    if (attempt > 0) return child.error();
  }
}

std::string StubPageImage() {
  size_t code_size = static_cast<size_t>(uks_stub_end - uks_stub_begin);
  CHECK_LE(code_size, kStubSize);
  std::string page(kStubSize, '\xcc');  // int3 filler
  memcpy(page.data(), uks_stub_begin, code_size);
  return page;
}

SysResult<sentry::HostFd> SealedStubMemfd(const std::string& page,
                                          std::string* error) {
  int fd = static_cast<int>(
      syscall(SYS_memfd_create, "uks-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) {
    *error = std::string("memfd_create: ") + strerror(errno);
    return Errno::FromHost();
  }
  sentry::HostFd memfd(fd);
  if (pwrite(fd, page.data(), page.size(), 0) !=
          static_cast<ssize_t>(page.size()) ||
      fcntl(fd, F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    *error = std::string("writing the stub memfd: ") + strerror(errno);
    return Errno::FromHost();
  }
  return memfd;
}

SysResult<size_t> ReadStubMemory(pid_t pid, uint64_t addr, void* dst,
                                 size_t len) {
  if (len == 0) return size_t{0};
  struct iovec local = {dst, len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n <= 0) return Errno(EFAULT);
  return static_cast<size_t>(n);
}

SysResult<size_t> WriteStubMemory(pid_t pid, uint64_t addr, const void* src,
                                  size_t len) {
  if (len == 0) return size_t{0};
  struct iovec local = {const_cast<void*>(src), len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
  if (n <= 0) return Errno(EFAULT);
  return static_cast<size_t>(n);
}

std::vector<sock_filter> BuildStubPageFilter(const uint32_t* allowed,
                                             size_t num_allowed,
                                             uint32_t stub_other_action,
                                             uint32_t foreign_arch_action) {
  constexpr uint32_t kStubHi = static_cast<uint32_t>(kStubStart >> 32);
  constexpr uint32_t kStubLo = static_cast<uint32_t>(kStubStart);
  constexpr uint32_t kStubEndLo = static_cast<uint32_t>(kStubEnd - 1);
  static_assert((kStubStart >> 32) == ((kStubEnd - 1) >> 32),
                "the stub must not straddle a 4 GiB boundary");
  std::vector<sock_filter> f;
  auto stmt = [&](uint16_t code, uint32_t k) {
    f.push_back(BPF_STMT(code, k));
  };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    f.push_back(BPF_JUMP(code, k, jt, jf));
  };
  // Only the 64-bit ABI.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, foreign_arch_action);
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
  for (size_t i = 0; i < num_allowed; i++) {
    uint32_t nr = allowed[i];
    jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
    stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  }
  stmt(BPF_RET | BPF_K, stub_other_action);
  return f;
}

SysResult<void> InjectingAddressSpace::CheckRange(uint64_t addr,
                                                  uint64_t len) const {
  uint64_t end;
  if ((addr & (sentry::kPageSize - 1)) != 0 || len == 0 ||
      __builtin_add_overflow(addr, len, &end) || end > limit_ ||
      addr < kMinUserAddress) {
    return Errno(EINVAL);
  }
  return sentry::Ok();
}

SysResult<void> InjectingAddressSpace::InjectChecked(
    long nr, std::initializer_list<uint64_t> args) {
  SENTRY_ASSIGN_OR_RETURN(int64_t rc, InjectRaw(nr, args));
  if (rc < 0 && rc > -4096) return Errno(static_cast<int>(-rc));
  return sentry::Ok();
}

SysResult<size_t> InjectingAddressSpace::PreadToGuest(int host_fd,
                                                      uint64_t offset,
                                                      uint64_t addr,
                                                      size_t len) {
  uint64_t end;
  if (addr < kMinUserAddress || __builtin_add_overflow(addr, len, &end) ||
      end > limit_) {
    return Errno(EFAULT);
  }
  if (host_fd < 0 || static_cast<int64_t>(offset) < 0) return Errno(EINVAL);
  int64_t rc;
  do {
    SysResult<int64_t> r = InjectRaw(
        SYS_pread64, {static_cast<uint64_t>(host_fd), addr, len, offset});
    // The injection itself failed (a stub killed from outside): the
    // caller's copy gives the guest the answer it would have had.
    if (!r.ok()) return Errno(ENOSYS);
    rc = *r;
    // As HostFileFD::Read: a host file may be interrupted (FUSE, NFS).
  } while (rc == -EINTR);
  if (rc < 0) return Errno(rc > -4096 ? static_cast<int>(-rc) : EIO);
  // More than asked for is no answer pread gives.
  if (static_cast<uint64_t>(rc) > len) return Errno(EIO);
  return static_cast<size_t>(rc);
}

SysResult<void> InjectingAddressSpace::Map(uint64_t addr, uint64_t len,
                                           int prot, const MapSource& source) {
  SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
  int flags = MAP_FIXED | (source.shared ? MAP_SHARED : MAP_PRIVATE);
  if (source.host_fd < 0) flags |= MAP_ANONYMOUS;
  return InjectChecked(
      SYS_mmap,
      {addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags),
       static_cast<uint64_t>(static_cast<int64_t>(source.host_fd)),
       source.offset});
}

SysResult<void> InjectingAddressSpace::Unmap(uint64_t addr, uint64_t len) {
  SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
  return InjectChecked(SYS_munmap, {addr, len});
}

SysResult<void> InjectingAddressSpace::Protect(uint64_t addr, uint64_t len,
                                               int prot) {
  SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
  return InjectChecked(SYS_mprotect, {addr, len, static_cast<uint64_t>(prot)});
}

SysResult<void> InjectingAddressSpace::Remap(uint64_t old_addr,
                                             uint64_t old_len,
                                             uint64_t new_addr,
                                             uint64_t new_len) {
  SENTRY_RETURN_IF_ERROR(CheckRange(old_addr, old_len));
  SENTRY_RETURN_IF_ERROR(CheckRange(new_addr, new_len));
  return InjectChecked(SYS_mremap, {old_addr, old_len, new_len,
                                    MREMAP_MAYMOVE | MREMAP_FIXED, new_addr});
}

SysResult<void> InjectingAddressSpace::Advise(uint64_t addr, uint64_t len,
                                              int advice) {
  SENTRY_RETURN_IF_ERROR(CheckRange(addr, len));
  return InjectChecked(SYS_madvise, {addr, len, static_cast<uint64_t>(advice)});
}

}  // namespace platform::ptrace
