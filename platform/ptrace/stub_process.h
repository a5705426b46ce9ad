// Stub processes: the host processes that run guest code, as both platforms
// make and drive them.
//
// A stub process is created by a manager thread of the sentry (one per
// address space), which traces its first thread (the "syscall thread") with
// ptrace. The sentry changes the stub's address space by injecting system
// calls into a traced stub thread: it sets every register itself, resumes
// the thread at a `syscall` on the stub page, and takes it back at the
// `int3` that follows, so no guest code runs in between.
//
// Stubs share the sentry's fd table (CLONE_FILES), so an injected mmap can
// name any sentry fd directly.
//
// Lock order: StubProcess::mu_ and StubProcess::threads_mu_ are leaves.

#ifndef PLATFORM_PTRACE_STUB_PROCESS_H_
#define PLATFORM_PTRACE_STUB_PROCESS_H_

#include <linux/filter.h>
#include <sys/ptrace.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "platform/platform.h"
#include "sentry/base/host_fd.h"
#include "sentry/base/sys_result.h"

namespace platform::ptrace {

inline constexpr long kPtraceOptions =
    PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD;

// The kernel's struct sigaction for rt_sigaction(2).
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

struct StubHandler {
  int sig;
  KernelSigaction action;
};

// What a new stub process is made of. Everything must outlive the stub's
// creation (a platform owns it).
struct StubConfig {
  int memfd = -1;                      // the sealed stub page
  const sock_fprog* filter = nullptr;  // installed before the stub runs
  // Signal dispositions other than the default (SIGCHLD is ignored).
  const StubHandler* handlers = nullptr;
  size_t num_handlers = 0;
};

// The calling host thread's tid.
pid_t CurrentTid();

long Ptrace(int request, pid_t tid, uint64_t addr, uint64_t data);

// Waits for a state change of `tid`, one of the calling thread's own tracees
// (or children). __WNOTHREAD keeps sibling sentry threads' tracees out.
sentry::SysResult<int> WaitFor(pid_t tid);

// Runs system call `nr` on stub thread `tid`, which is stopped and traced by
// the calling thread, at stub address `ip`, with the registers of `tmpl`
// except rip, rax and the arguments. Returns the raw result (a negative
// errno on failure) or an error if the stub thread died. For SYS_exit the
// thread is gone afterwards and 0 is returned. EFAULT if the code at `ip`
// faulted on guest memory.
sentry::SysResult<int64_t> Inject(pid_t tid, const Registers& tmpl, uint64_t ip,
                                  long nr,
                                  std::initializer_list<uint64_t> args);

// Puts every FPU, SSE, AVX and AVX-512 register of stopped tracee `tid` in
// its initial state.
sentry::SysResult<void> ResetExtendedState(pid_t tid);

// The stub page: the stub code (uks_stub_begin..end) in a page of int3s,
// for the caller to add to (systrap puts its guest filter there).
std::string StubPageImage();

// A sealed memfd holding `page` (the stub page every stub maps read+exec),
// or an error message in `error`.
sentry::SysResult<sentry::HostFd> SealedStubMemfd(const std::string& page,
                                                  std::string* error);

// Copies between a stub's memory and the sentry's (process_vm_readv/
// writev). Returns the bytes copied, which may be short at an inaccessible
// page; EFAULT if none could be.
sentry::SysResult<size_t> ReadStubMemory(pid_t pid, uint64_t addr, void* dst,
                                         size_t len);
sentry::SysResult<size_t> WriteStubMemory(pid_t pid, uint64_t addr,
                                          const void* src, size_t len);

// Builds a seccomp filter for a stub process: system calls from the stub
// page whose numbers are in `allowed` pass; any other from the stub page
// gets `stub_other_action`; any from elsewhere traps with SIGSYS (guest
// code, and the vsyscall page, which the kernel emulates). System calls of
// another architecture (int 0x80, sysenter) get `foreign_arch_action`.
std::vector<sock_filter> BuildStubPageFilter(const uint32_t* allowed,
                                             size_t num_allowed,
                                             uint32_t stub_other_action,
                                             uint32_t foreign_arch_action);

// The memory operations of an address space whose stub the sentry changes
// by injecting mmap, munmap, mprotect, mremap and madvise. Requests are
// checked against [kMinUserAddress, limit) first: the memory manager has
// checked guest requests already, so this guards the stub's own pages
// against the sentry's mistakes.
class InjectingAddressSpace : public AddressSpace {
 public:
  explicit InjectingAddressSpace(uint64_t limit) : limit_(limit) {}

  sentry::SysResult<void> Map(uint64_t addr, uint64_t len, int prot,
                              const MapSource& source) final;
  sentry::SysResult<void> Unmap(uint64_t addr, uint64_t len) final;
  sentry::SysResult<void> Protect(uint64_t addr, uint64_t len, int prot) final;
  sentry::SysResult<void> Remap(uint64_t old_addr, uint64_t old_len,
                                uint64_t new_addr, uint64_t new_len) final;
  sentry::SysResult<void> Advise(uint64_t addr, uint64_t len, int advice) final;
  // One pread64 injected into the calling sentry thread's own traced stub
  // thread: it shares the sentry's fd table and the guest's memory, and
  // never runs guest code, so the guest never holds the fd.
  sentry::SysResult<size_t> PreadToGuest(int host_fd, uint64_t offset,
                                         uint64_t addr, size_t len) override;

 protected:
  // Runs system call `nr` in the stub (in the calling sentry thread's own
  // traced thread); what it returned.
  virtual sentry::SysResult<int64_t> InjectRaw(
      long nr, std::initializer_list<uint64_t> args) = 0;
  // The same; its errno, if it failed.
  sentry::SysResult<void> InjectChecked(long nr,
                                        std::initializer_list<uint64_t> args);

 private:
  sentry::SysResult<void> CheckRange(uint64_t addr, uint64_t len) const;

  const uint64_t limit_;
};

// Owns one stub process: creates it, traces its first thread, creates more
// threads on request, and kills it on destruction. All ptrace calls on the
// first thread happen on the manager's own host thread.
class StubProcess final {
 public:
  explicit StubProcess(const StubConfig& config) : config_(config) {}
  StubProcess(const StubProcess&) = delete;
  StubProcess& operator=(const StubProcess&) = delete;
  ~StubProcess();

  // Starts the manager thread and a new stub process; or, with `adopt`,
  // takes over `adopt`, a stub process forked from another (fork(2)),
  // idling untraced in the stub's pause loop.
  sentry::SysResult<void> Start(std::string* error, pid_t adopt = -1);

  pid_t pid() const { return pid_; }
  // The syscall thread's registers when it was set up: the base of every
  // injection.
  const Registers& regs_template() const { return template_; }

  // Creates a stub thread idling untraced in pause(); returns its tid.
  sentry::SysResult<pid_t> NewThread();

  // Runs `fn` on the manager thread, which may then inject into the
  // syscall thread (pid()), and waits for it.
  void RunOnManager(const std::function<void()>& fn);

  // Injects system call `nr` into the syscall thread, from the manager,
  // with the registers of `tmpl` (default: regs_template()) otherwise.
  sentry::SysResult<int64_t> InjectOnManager(
      uint64_t ip, long nr, std::initializer_list<uint64_t> args,
      const Registers* tmpl = nullptr);

  void SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink);

  // Returns the stub thread the calling sentry thread traces in this
  // process, creating and seizing one on first use (ptrace binds a tracee
  // to one tracer thread, so each sentry thread injects into its own). The
  // thread is stopped on return, its vector registers reset.
  sentry::SysResult<pid_t> TracedThreadForCaller();

  // Ends the calling thread's use of its traced stub thread, if any: the
  // thread exits (a traced thread must be reaped by its own tracer). Must
  // run on that sentry thread before the process goes.
  void ReleaseTracedThreadOfCaller();

 private:
  void Fail(const std::string& message);
  bool Seize(pid_t pid);
  void Run(pid_t adopt);
  bool CreateStub();
  void Serve();

  const StubConfig& config_;
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

  absl::Mutex threads_mu_;
  // Sentry thread tid -> the stub thread it traces in this process.
  absl::flat_hash_map<pid_t, pid_t> traced_ ABSL_GUARDED_BY(threads_mu_);
};

// A pristine stub process that new address spaces are forked from. Making a
// stub from the sentry means forking the sentry, whose page tables the
// kernel copies only to throw them away (about 2 ms on a VM, paid by every
// guest execve); a stub holds two pages. Thread-safe; started on first use
// or by StartAsync.
//
// Lock order: StubZygote::mu_ before the zygote's StubProcess::mu_.
class StubZygote final {
 public:
  explicit StubZygote(const StubConfig& config) : config_(config) {}
  StubZygote(const StubZygote&) = delete;
  StubZygote& operator=(const StubZygote&) = delete;
  ~StubZygote();

  // Starts the zygote on a thread of its own, so that the first Fork finds
  // it ready. Call at most once. Call only once the sentry is confined: the
  // zygote copies the caller's root, namespaces, credentials and filters, and
  // so does every stub forked from it.
  void StartAsync();

  // A new stub process idling untraced in the stub's pause loop, for
  // StubProcess::Start(adopt) to seize. Its parent is the zygote, which
  // ignores SIGCHLD, so only its tracer ever sees it exit. Failures are
  // logged; a zygote that died is replaced once per call.
  sentry::SysResult<pid_t> Fork();

 private:
  sentry::SysResult<void> StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StubConfig& config_;
  std::thread starter_;  // StartAsync's, joined on destruction
  absl::Mutex mu_;
  std::unique_ptr<StubProcess> process_ ABSL_GUARDED_BY(mu_);
  std::string error_ ABSL_GUARDED_BY(mu_);  // why the zygote did not start
};

}  // namespace platform::ptrace

#endif  // PLATFORM_PTRACE_STUB_PROCESS_H_
