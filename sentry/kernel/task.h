// A guest thread and the host thread that runs it.
//
// A task runs the loop Switch → handle the system call or fault → deliver
// pending signals, on its own host thread. Other threads reach it only to
// send it signals (under Kernel::mu_, then Interrupt) and to read what
// /proc shows.

#ifndef SENTRY_KERNEL_TASK_H_
#define SENTRY_KERNEL_TASK_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "platform/platform.h"
#include "sentry/base/waiter.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/seccomp.h"
#include "sentry/vfs/fd_table.h"
#include "sentry/vfs/ops.h"

namespace sentry::kernel {

// A one-shot event (vfork's "the child released the memory").
class Completion final {
 public:
  void Complete();
  bool done() const { return done_.load(); }
  WaitQueue& queue() { return queue_; }

 private:
  std::atomic<bool> done_{false};
  WaitQueue queue_;
};

// What clone(2) and clone3(2) ask for.
struct CloneArgs {
  uint64_t flags = 0;  // CLONE_*, without the exit signal
  int exit_signal = 0;
  uint64_t stack = 0;  // new stack pointer, 0 to keep the parent's
  uint64_t tls = 0;
  uint64_t parent_tid = 0;  // CLONE_PARENT_SETTID
  uint64_t child_tid = 0;   // CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID
  uint64_t pidfd = 0;       // CLONE_PIDFD: where the fd number goes
};

// How a wait may end early.
enum class Interruptible {
  kYes,       // any signal the task would handle interrupts it
  kKillOnly,  // only the death of the task (vfork, exec's wait)
};

class Task final : public vfs::CallContext,
                   public std::enable_shared_from_this<Task> {
 public:
  struct Shared {
    std::shared_ptr<ThreadGroup> tg;
    std::shared_ptr<mm::MemoryManager> mm;  // null until the first exec
    std::shared_ptr<vfs::FdTable> fds;
    std::shared_ptr<FsContext> fs;
    std::shared_ptr<SignalHandlers> sighand;
  };

  Task(Kernel* kernel, int tid, Shared shared, auth::Credentials creds);
  ~Task() override;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  // vfs::CallContext
  const auth::Credentials& creds() const override { return creds_; }
  int32_t Tgid() const override { return tgid(); }
  std::string Comm() const override { return comm(); }
  SysResult<size_t> CopyIn(GuestAddr addr, void* dst, size_t len) override;
  SysResult<size_t> CopyOut(GuestAddr addr, const void* src,
                            size_t len) override;
  Waiter* waiter() override { return &waiter_; }
  SysResult<void> Block(std::optional<absl::Time> deadline,
                        std::vector<struct pollfd>* host = nullptr) override;

  // Block with a choice of what may interrupt it.
  SysResult<void> BlockWith(Interruptible mode,
                            std::optional<absl::Time> deadline,
                            std::vector<struct pollfd>* host = nullptr);

  // Reads `len` bytes at `offset` of a host file straight into this task's
  // memory at `addr`: by the sentry where that memory is a live
  // mm::DirectBuffer, else (if `may_inject`) by the guest's own thread
  // (platform::AddressSpace::PreadToGuest). ENOSYS where neither can, or
  // off the task's own thread; the caller copies then.
  // `ends_call`: the read ends the system call, so the platform may start
  // waking the guest thread before it does (Context::ResumeSoon).
  SysResult<size_t> PreadToGuest(int host_fd, int64_t offset, GuestAddr addr,
                                 size_t len, bool may_inject, bool ends_call);
  // Calls `write` with the sentry's own view of this task's memory at
  // [addr, addr+len) where that is a live mm::DirectBuffer (see
  // mm::MemoryManager::WriteDirect); ENOSYS where it is not, or off the
  // task's own thread: the caller copies then.
  SysResult<size_t> WriteFromDirect(
      GuestAddr addr, size_t len,
      absl::FunctionRef<SysResult<size_t>(const char*)> write);
  // Whether the task is being killed (its process exits, or another
  // thread's execve ends it): long copies stop early, as Linux's do at a
  // fatal signal.
  bool Killed() const { return killed_.load(); }

  SysResult<std::string> CopyInString(GuestAddr addr, size_t max);
  // A path argument: ENAMETOOLONG beyond PATH_MAX, ENOENT if empty.
  SysResult<std::string> CopyInPath(GuestAddr addr);
  // A NULL-terminated array of strings (argv, envp), charging each entry's
  // pointer and bytes to `budget`: E2BIG when it runs out (or a string is
  // longer than MAX_ARG_STRLEN), as execve(2).
  SysResult<std::vector<std::string>> CopyInStringArray(GuestAddr addr,
                                                        uint64_t* budget);
  // What execve's argument and environment strings may take in all.
  uint64_t ExecArgBudget() const;

  Kernel& kernel() const { return *kernel_; }
  ThreadGroup& tg() const { return *shared_.tg; }
  const std::shared_ptr<ThreadGroup>& tg_ptr() const { return shared_.tg; }
  int tid() const { return tid_.load(); }
  int tgid() const { return shared_.tg->tgid(); }
  mm::MemoryManager& mm() const { return *shared_.mm; }
  bool has_mm() const { return shared_.mm != nullptr; }
  // The address space, safe to call from other tasks' threads (/proc).
  std::shared_ptr<mm::MemoryManager> GetMM() const {
    return std::atomic_load(&shared_.mm);
  }
  std::shared_ptr<vfs::FdTable> GetFdTable() const {
    return std::atomic_load(&shared_.fds);
  }
  std::shared_ptr<FsContext> GetFsContext() const { return shared_.fs; }
  vfs::FdTable& fds() const { return *shared_.fds; }
  FsContext& fs() const { return *shared_.fs; }
  // Dispositions; guarded by Kernel::mu_.
  SignalHandlers& sighand() const { return *shared_.sighand; }
  // Which dispositions the task shares (kcmp); under Kernel::mu_, as
  // execve replaces them.
  const void* SighandIdLocked() const { return shared_.sighand.get(); }
  platform::Registers& regs() { return regs_; }

  // Credentials, read by other threads (kill permission, /proc).
  auth::Credentials GetCreds() const;
  void set_creds(auth::Credentials c);

  // Where a *at() call resolves: dirfd (or AT_FDCWD) as the start.
  SysResult<vfs::PathContext> PathContextAt(int dirfd);
  vfs::VirtualDentry Root() const;
  vfs::VirtualDentry Cwd() const;
  std::string PathOf(const vfs::VirtualDentry& vd) const;
  uint32_t umask() const;

  uint64_t RlimitCur(int resource) const override {
    return tg().GetRlimit(resource).rlim_cur;
  }

  // The file at fd; EBADF if none. O_PATH descriptions are refused with
  // EBADF unless `allow_path`.
  SysResult<std::shared_ptr<vfs::FileDescription>> GetFile(
      int fd, bool allow_path = false) const;
  SysResult<int> NewFd(std::shared_ptr<vfs::FileDescription> f, bool cloexec,
                       int min_fd = 0);

  // ---- Lifecycle ----

  // clone(2), fork(2), vfork(2), clone3(2): creates the new task and
  // starts it. Returns its tid as the caller sees it.
  SysResult<int> Clone(const CloneArgs& args);

  // Ends this thread (exit(2)).
  void ExitThread(int code);
  // Ends the whole process (exit_group(2)).
  void ExitGroup(ExitStatus status);
  // Whether the loop should stop running the guest: the thread exited or
  // its process is being torn down.
  bool ShouldExit() const;

  // How execveat named the program, when not by a plain path.
  struct ExecTarget {
    // The file itself (AT_EMPTY_PATH): opened instead of resolving the
    // filename, which is then "/dev/fd/N" as Linux passes it on.
    std::optional<vfs::VirtualDentry> file;
    bool script_inaccessible = false;  // the fd was close-on-exec
    std::string comm;                  // the name, if not the basename
  };

  // execve(2): loads `filename` into a new address space and, on success,
  // replaces this process image (ending every other thread). On failure
  // nothing has changed.
  SysResult<void> Execve(const std::string& filename,
                         std::vector<std::string> argv,
                         std::vector<std::string> envp,
                         const ExecTarget& target);
  SysResult<void> Execve(const std::string& filename,
                         std::vector<std::string> argv,
                         std::vector<std::string> envp);

  // Handlers that set the registers themselves (execve, rt_sigreturn) call
  // this so the result is not written to rax.
  void MarkRegsReplaced() { regs_replaced_ = true; }

  // ---- Signals ----

  // The blocked mask; changes go through SetSignalMask.
  SigSet signal_mask() const { return mask_.load(); }
  // Sets the mask (unblockable signals removed) and looks for signals the
  // change made deliverable.
  void SetSignalMask(SigSet mask);
  // sigsuspend, ppoll and pselect: a temporary mask until the call
  // returns, restored after any handler it lets run.
  void SetTemporaryMask(SigSet mask);
  // Pending signals of this thread and its process.
  SigSet PendingSignals() const;
  // Takes a pending signal in `set` (rt_sigtimedwait). False if none.
  bool DequeueSignalIn(SigSet set, siginfo_t* info);
  // rt_sigtimedwait: the signals it waits for stay "blocked" for the
  // purpose of discarding ignored ones while it runs with them unblocked.
  void SetRealBlocked(SigSet set) { real_blocked_.store(set); }
  // Sends `info` to this thread (tgkill, faults) / its process.
  void SendSignal(const siginfo_t& info);
  // A fault: delivered even if blocked or ignored (the default action
  // then applies), as Linux forces synchronous signals.
  void ForceSignal(const siginfo_t& info);

  // rt_sigreturn(2).
  SysResult<void> SigReturn();

  // restart_syscall(2) continues what this was set to (nanosleep).
  using RestartFn = std::function<SysResult<uint64_t>(Task&)>;
  void SetRestart(RestartFn fn) { restart_fn_ = std::move(fn); }
  SysResult<uint64_t> RunRestart();

  stack_t alt_stack{nullptr, SS_DISABLE, 0};
  // Whether `sp` lies on the alternate signal stack in use (never with
  // SS_AUTODISARM), and whether it lies within its bounds at all.
  bool OnAltStack(uint64_t sp) const;
  bool WithinAltStack(uint64_t sp) const;

  uint64_t clear_child_tid = 0;
  uint64_t robust_list_head = 0;
  // PR_SET_NO_NEW_PRIVS; survives execve. Atomic: another thread's TSYNC
  // seccomp(2) sets it, /proc reads it.
  std::atomic<bool> no_new_privs{false};

  // seccomp(2): SECCOMP_MODE_DISABLED, _STRICT or _FILTER, and the newest
  // filter. Inherited by clone, kept across execve. Set by the task itself,
  // or by a thread of its process (TSYNC, under Kernel::mu_); read on each
  // system call by the task itself, without a lock while disabled.
  int seccomp_mode() const { return seccomp_mode_.load(); }
  std::shared_ptr<const SeccompFilter> seccomp_filter() const {
    absl::MutexLock l(&seccomp_mu_);
    return seccomp_filter_;
  }
  void SetSeccomp(int mode, std::shared_ptr<const SeccompFilter> filter) {
    absl::MutexLock l(&seccomp_mu_);
    seccomp_filter_ = std::move(filter);
    seccomp_mode_.store(mode);
  }
  int pdeath_signal = 0;   // PR_SET_PDEATHSIG; guarded by Kernel::mu_
  bool keep_caps = false;  // PR_SET_KEEPCAPS
  // sched_setaffinity's CPU set and setpriority's nice value: recorded and
  // reported; the host schedules the sandbox's threads.
  // Applies a new CPU set: the task's host thread (and so the stub thread
  // bound to it) moves there at its next run.
  void SetAffinity(uint64_t set) {
    affinity.store(set);
    affinity_dirty_.store(true);
  }
  std::atomic<uint64_t> affinity{~0ULL};
  std::atomic<int> nice{0};
  std::atomic<int> sched_policy{SCHED_OTHER};

  std::string comm() const;
  void set_comm(std::string name);

  // CPU time this thread has used.
  Usage usage() const;

  // Runs the task: `start` first (the init process's exec, a clone child's
  // setup), then the guest until the task exits. Called on the task's own
  // host thread.
  void Run(std::function<void(Task&)> start);

  // The task whose host thread calls this, or null on any other thread
  // (the timer service, runsc's). For what depends on the caller but gets
  // no context: a signalfd's readiness is its poller's pending signals.
  static Task* Current();

  // What the task is doing, for `runsc debug --stacks`: written by the
  // task's own thread, read by any.
  struct Activity {
    int64_t syscall = -1;          // the system call it is in, or -1
    uint64_t ip = 0, sp = 0;       // the guest's, at its last system call
    int64_t blocked_since_ns = 0;  // when its current wait began (unix ns)
  };
  Activity activity() const {
    return Activity{act_syscall_.load(std::memory_order_relaxed),
                    act_ip_.load(std::memory_order_relaxed),
                    act_sp_.load(std::memory_order_relaxed),
                    act_blocked_since_ns_.load(std::memory_order_relaxed)};
  }

  // Wakes the task from a wait or from running guest code, to look at its
  // signals. Any thread.
  void Interrupt();
  // Stops guest code briefly (CPU timer ticks) without waking a wait.
  void InterruptGuestOnly();

  // ---- State for the kernel, guarded by Kernel::mu_ ----
  SigSet pending_mask_locked() const { return pending_.pending(); }
  void DiscardPendingLocked(SigSet set) { pending_.Discard(set); }
  bool exited_locked() const { return exited_; }
  // Whether this thread has answered a group stop.
  bool group_stopped = false;

 private:
  friend class Kernel;

  void HandleSyscall();
  // Whether seccomp lets system call `nr` run; if not, `*result` is what
  // the guest sees instead (and the task may be on its way out).
  bool SeccompAllows(uint64_t nr, const SyscallArgs& args, int64_t* result);
  void HandleFault(const siginfo_t& si);
  // Moves this task's host thread to its CPU set.
  void ApplyAffinity();

 public:
  // sched_setaffinity on oneself: move now (called on the task's thread).
  void ApplyAffinityNow() {
    affinity_dirty_.store(false);
    ApplyAffinity();
  }

 private:
  // Keeps the trap number, error code and address of a fault for the
  // signal frame.
  void RecordFault(const siginfo_t& si);
  // Delivers what is pending: runs default actions, builds handler frames,
  // applies the restart rules to an interrupted system call, takes part
  // in group stops.
  void HandleSignals();
  // Builds the rt_sigframe for `info` and points the registers at the
  // handler. False if the frame could not be written.
  bool SetupFrame(const siginfo_t& info, const SigAction& act, SigSet old_mask);
  // Recomputes whether a signal may be waiting for this thread.
  void RecalcPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(kernel_->mu_);
  bool DeliverableLocked() const ABSL_SHARED_LOCKS_REQUIRED(kernel_->mu_);
  // Waits out a group stop. Returns when continued or killed.
  void DoGroupStop();
  // The end: robust futexes, clear_child_tid, the mm, the tasklist.
  void Finish();
  void ExitRobustList();
  // Accounting of the wall time of one Switch as user time: see
  // user_pending_ns_.
  void AccountUser(absl::Duration d);

  Kernel* const kernel_;
  std::atomic<int> tid_;
  Shared shared_;
  mutable absl::Mutex creds_mu_;  // leaf; writes by this task only
  auth::Credentials creds_;
  platform::Registers regs_{};
  Waiter waiter_;
  absl::Mutex ctx_mu_;  // leaf: ctx_ against Interrupt from other threads
  std::unique_ptr<platform::Context> ctx_;
  bool regs_replaced_ = false;
  // A restart code the last system call returned, for HandleSignals.
  int restart_code_ = 0;
  RestartFn restart_fn_;
  std::optional<SigSet> saved_mask_;  // SetTemporaryMask's original mask

  // Guarded by Kernel::mu_ (written), readable without it.
  std::atomic<SigSet> mask_{0};
  // rt_sigtimedwait's original mask while it waits with its set unblocked:
  // those signals still count as blocked for discarding (Linux's
  // real_blocked).
  std::atomic<SigSet> real_blocked_{0};
  // The last hardware fault, as the signal frame reports it (trap number,
  // error code, fault address), kept like Linux's thread.trap_nr.
  uint64_t fault_trapno_ = 0;
  uint64_t fault_err_ = 0;
  uint64_t fault_cr2_ = 0;
  // Set when a signal, a stop or a kill may be waiting: checked without
  // the lock at every return to the guest and by every wait.
  std::atomic<bool> signal_hint_{false};
  std::atomic<bool> thread_exit_{false};  // leave the loop: exit(2), killed
  std::atomic<bool> affinity_dirty_{false};
  std::atomic<int> seccomp_mode_{0};
  mutable absl::Mutex seccomp_mu_;
  std::shared_ptr<const SeccompFilter> seccomp_filter_
      ABSL_GUARDED_BY(seccomp_mu_);
  // The process is exiting, or another thread's execve ends this one:
  // set under Kernel::mu_, read by waits that only a kill may end.
  std::atomic<bool> killed_{false};
  // Guarded by Kernel::mu_.
  kernel::PendingSignals pending_;
  bool exited_ = false;
  int exit_code_ = 0;
  std::shared_ptr<Completion> vfork_done_;

  // CPU time, in nanoseconds, as read by clocks: never decreases.
  std::atomic<int64_t> utime_ns_{0};
  // User time is the wall time of each Switch (two vDSO reads), checked
  // against the host's CPU clock of the stub process once
  // kUserRecheckNs of it has gathered (task.cc): on a loaded host a Switch's
  // wall time also holds the waits of the stub and the sentry for a CPU, which
  // Linux would not count. `user_committed_ns_` is the checked part,
  // `user_pending_ns_` the wall time since; the stub's clock as last read and
  // whose it was, and the stub's time its tasks had claimed by then
  // (mm::MemoryManager::user_ns_claimed) apart from this task's own. Only
  // the task's own thread touches these.
  int64_t user_committed_ns_ = 0;
  int64_t user_pending_ns_ = 0;
  int64_t stub_cpu_ns_ = 0;
  int64_t stub_claimed_ns_ = 0;
  int stub_pid_ = -1;
  std::atomic<int64_t> stime_ns_{0};
  // Wall time spent in BlockWith; only the task's own thread touches it.
  int64_t blocked_ns_ = 0;
  // activity(): relaxed, as a snapshot for people need not be exact.
  std::atomic<int64_t> act_syscall_{-1};
  std::atomic<uint64_t> act_ip_{0}, act_sp_{0};
  std::atomic<int64_t> act_blocked_since_ns_{0};

  mutable absl::Mutex comm_mu_;
  std::string comm_ ABSL_GUARDED_BY(comm_mu_);
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_TASK_H_
