// The kernel: processes (ThreadGroup), threads (Task), the tree they form,
// sessions and process groups, and signals between them.
//
// Ownership: the Kernel owns every ThreadGroup (from fork until its parent
// reaps it) and every live Task (until its host thread finishes). A Task
// holds its ThreadGroup, and shares its mm, fd table, fs context and signal
// handlers by shared_ptr, as CLONE_VM/FILES/FS/SIGHAND share them. Parent
// and child links between ThreadGroups are raw pointers, valid under
// Kernel::mu_: a group is unlinked from its parent and children before the
// kernel drops it. Each Task runs on a host thread of its own, which owns
// its platform Context.
//
// Lock order: Kernel::mu_ (the task lock) before the FutexTable's, a
// ThreadGroup's leaf locks (rlimits, exec info), FsContext::mu, the timer
// service's and WaitQueue locks. Kernel::mu_ guards the task tree, pids,
// sessions and process groups, controlling terminals (ThreadGroup::tty and
// each Terminal's session and foreground group; terminal.h), and every
// piece of signal state (pending
// signals, masks, dispositions, group stop and exit): one lock, because a
// signal changes several processes at once (a child's exit signals its
// parent; SIGCONT reports to the parent). It is never held across a
// platform Switch, a blocking wait, guest memory access or a filesystem
// call.

#ifndef SENTRY_KERNEL_KERNEL_H_
#define SENTRY_KERNEL_KERNEL_H_

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "platform/platform.h"
#include "sentry/auth/credentials.h"
#include "sentry/base/waiter.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/syscall_table.h"
#include "sentry/kernel/terminal.h"
#include "sentry/kernel/timers.h"
#include "sentry/loader/loader.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fd_table.h"
#include "sentry/vfs/vfs.h"

namespace sentry::kernel {

class Kernel;
class Task;
class ThreadGroup;

// Root, working directory and umask (shared with CLONE_FS).
struct FsContext {
  mutable absl::Mutex mu;
  vfs::VirtualDentry root ABSL_GUARDED_BY(mu);
  vfs::VirtualDentry cwd ABSL_GUARDED_BY(mu);
  uint32_t umask ABSL_GUARDED_BY(mu) = 022;

  std::shared_ptr<FsContext> Copy() const;
};

// Signal dispositions (shared with CLONE_SIGHAND). Guarded by Kernel::mu_.
struct SignalHandlers {
  SigAction actions[kMaxSignal];
};

// How a process ended, as wait(2) encodes it.
struct ExitStatus {
  int code = 0;    // exit code when signal == 0
  int signal = 0;  // terminating signal, or 0
  bool core = false;

  int WaitStatus() const {
    return signal != 0 ? (signal | (core ? 0x80 : 0)) : (code & 0xff) << 8;
  }
  // What a shell reports: the code, or 128 + signal.
  int ShellStatus() const { return signal != 0 ? 128 + signal : code & 0xff; }
  // si_code and si_status of the SIGCHLD (and waitid) that reports it.
  int SigChldCode() const;
  int SigChldStatus() const { return signal != 0 ? signal : code & 0xff; }
};

// CPU time used, as getrusage(2) and times(2) report it.
struct Usage {
  absl::Duration user;
  absl::Duration sys;
  uint64_t maxrss_kb = 0;  // a peak, not a sum
  void Add(const Usage& o) {
    user += o.user;
    sys += o.sys;
    maxrss_kb = std::max(maxrss_kb, o.maxrss_kb);
  }
};

// A real-time interval timer of a process: ITIMER_REAL and alarm(2).
// Guarded by Kernel::mu_.
struct RealTimer {
  TimerService::Id id = 0;  // 0 when disarmed
  absl::Time deadline;
  absl::Duration interval;
};

// A CPU-time interval timer of a process: ITIMER_VIRTUAL (user time) and
// ITIMER_PROF (user + system time). Guarded by Kernel::mu_.
struct CpuTimer {
  bool armed = false;
  absl::Duration expires;  // process CPU time at which it fires
  absl::Duration interval;
};

// A POSIX timer (timer_create(2)). Guarded by Kernel::mu_.
struct PosixTimer {
  int id = 0;
  clockid_t clock = CLOCK_MONOTONIC;
  int notify = SIGEV_SIGNAL;  // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID
  int signo = SIGALRM;
  uint64_t value = 0;  // sigev_value
  int target_tid = 0;  // SIGEV_THREAD_ID
  bool armed = false;
  // For clock-time timers, the absolute deadline in the clock's own
  // terms, as an absl::Time on the host's matching clock; for CPU-time
  // clocks, `cpu_expires`.
  absl::Time deadline;
  absl::Duration cpu_expires;
  absl::Duration interval;
  TimerService::Id service_id = 0;
  // Expirations while the last signal was still queued (timer_getoverrun).
  int overrun = 0;
  int last_overrun = 0;
  bool signal_queued = false;
};

class ThreadGroup {
 public:
  ThreadGroup(Kernel* kernel, int tgid);
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;

  int tgid() const { return tgid_; }
  Kernel& kernel() const { return *kernel_; }
  absl::Time start_time() const { return start_time_; }

  struct rlimit GetRlimit(int resource) const;
  void SetRlimit(int resource, struct rlimit lim);
  void CopyRlimitsFrom(const ThreadGroup& other);

  // For /proc/PID/exe.
  std::shared_ptr<vfs::FileDescription> executable() const;
  void set_executable(std::shared_ptr<vfs::FileDescription> f);

  // Start of the argument/environment strings in guest memory, for
  // /proc/PID/cmdline and environ.
  struct ArgRange {
    uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  };
  ArgRange args() const;
  void set_args(ArgRange r);

  std::vector<uint64_t> auxv() const;
  void set_auxv(std::vector<uint64_t> auxv);

  // Notified when a child changes state (exits, stops, continues): wait(2)
  // blocks here.
  WaitQueue& child_events() { return child_events_; }
  // Notified when this process exits (pidfd readiness).
  WaitQueue& exit_events() { return exit_events_; }
  // Notified when a signal is queued to this process or one of its
  // threads, blocked or not, and when a signalfd's mask changes: signalfd
  // readers and pollers wait here (Linux's sighand->signalfd_wqh). Shared,
  // so that an epoll watching a signalfd may outlive the process.
  const std::shared_ptr<WaitQueue>& signal_events() const {
    return signal_events_;
  }

  // ---- Guarded by Kernel::mu_. ----
  ThreadGroup* parent = nullptr;         // null for the sandbox's init
  std::map<int, ThreadGroup*> children;  // by tgid
  std::vector<Task*> tasks;              // live threads
  int pgid = 0;
  int sid = 0;
  // The controlling terminal (job_control.h): inherited by fork, dropped
  // by setsid, or null.
  std::shared_ptr<Terminal> tty;
  int exit_signal = SIGCHLD;  // sent to the parent at exit (0: none)
  bool subreaper = false;     // PR_SET_CHILD_SUBREAPER
  // Group exit: exit_group(2), a fatal signal, or execve killing the other
  // threads. Once set, every thread leaves at its next chance.
  bool exiting = false;
  ExitStatus group_exit_status;
  bool group_exit_status_set = false;
  // The leader thread's own exit code (exit(2) of the last thread does not
  // decide the process's status; the leader's does, as in Linux).
  ExitStatus leader_exit_status;
  // Every thread has exited; the parent may reap.
  bool zombie = false;
  ExitStatus exit_status;
  PendingSignals pending;
  // Group stop (SIGSTOP and friends): threads still to stop, and whether
  // the group is stopped. The reports wait(2) owes the parent.
  bool stop_pending = false;
  int stop_signal = 0;
  int stop_waiting = 0;
  bool stopped = false;
  int stop_report = 0;           // WUNTRACED: the signal that stopped us, or 0
  bool continue_report = false;  // WCONTINUED
  // A thread in execve waiting for the others to exit.
  Task* execer = nullptr;
  bool did_exec = false;  // since fork: setpgid on it then fails (EACCES)
  // Odd while an execve replaces the image, the credentials and
  // dumpable; each exec adds 2. A seqlock for what checks access to the
  // process and then uses its memory (process_vm_readv: Linux holds
  // exec_update_lock), and the exec generation mq_notify registers at.
  std::atomic<uint64_t> exec_seq{0};
  // The sandbox's init: signals with their default action do not reach
  // it (as a pid namespace's init), until a fault forces one.
  bool unkillable = false;
  // Fatal signals runsc forwarded from outside while init had them
  // blocked: they kill init when it unblocks them with the default
  // action still in place, as they would any other process.
  SigSet external_fatal = 0;
  // The thread of `parent` that created this process: it owns the child
  // for __WNOTHREAD waits and PR_SET_PDEATHSIG.
  int parent_tid = 0;
  // Peak resident memory of the process's address space, in KiB, known
  // once it is gone.
  uint64_t maxrss_kb = 0;
  std::atomic<bool> dumpable{true};  // PR_SET_DUMPABLE
  uint32_t exit_uid = 0;  // real uid at exit, for the parent's siginfo
  Usage exited_usage;     // threads that have exited
  Usage children_usage;   // reaped children and their reaped descendants
  RealTimer itimer_real;
  CpuTimer itimer_virtual;
  CpuTimer itimer_prof;
  // RLIMIT_CPU: the next whole second at which SIGXCPU is due.
  absl::Duration next_xcpu = absl::InfiniteDuration();
  std::map<int, PosixTimer> posix_timers;
  int next_timer_id = 0;
  bool HasCpuTimers() const;
  // Whether any CPU-time timer or limit is armed: threads then check them
  // after every Switch. Written under Kernel::mu_.
  std::atomic<bool> cpu_timers_armed{false};

 private:
  Kernel* const kernel_;
  const int tgid_;
  const absl::Time start_time_;
  WaitQueue child_events_;
  WaitQueue exit_events_;
  const std::shared_ptr<WaitQueue> signal_events_ =
      std::make_shared<WaitQueue>();
  mutable absl::Mutex mu_;  // leaf: the fields below
  struct rlimit rlimits_[RLIM_NLIMITS] ABSL_GUARDED_BY(mu_);
  std::shared_ptr<vfs::FileDescription> executable_ ABSL_GUARDED_BY(mu_);
  ArgRange args_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> auxv_ ABSL_GUARDED_BY(mu_);
};

// What the sandbox's first process runs.
struct InitProcess {
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string cwd = "/";
  auth::Credentials creds;
  // The guest's stdin, stdout and stderr.
  std::vector<std::shared_ptr<vfs::FileDescription>> stdio;
  // Init's controlling terminal (the host terminal the sandbox runs on, or
  // the pty of `runsc do -t`), with init's group in the foreground; or
  // null.
  std::shared_ptr<Terminal> tty;
  // Processes started from outside (`runsc exec`): called once on the new
  // process's thread, with 0 once its program runs, or with an errno and a
  // message if it could not start (it then exits 127 or 126). Null: the
  // message goes to the sandbox's stderr.
  std::function<void(int err, const std::string& message)> started;
  // OCI process.rlimits and noNewPrivileges (capabilities and groups are
  // in `creds`).
  std::vector<std::pair<int, struct rlimit>> rlimits;
  bool no_new_privs = false;
  std::optional<uint32_t> umask;  // OCI process.user.umask; else 0022
};

class SeccompFilter;

struct KernelOptions {
  platform::Platform* platform = nullptr;
  // OCI linux.seccomp: every process started from outside (init, each
  // exec) begins under this filter, as runc installs the profile just
  // before the program runs. Null: none.
  std::shared_ptr<const SeccompFilter> seccomp;
  std::shared_ptr<vfs::MountNamespace> mount_ns;
  const SyscallTable* syscalls = nullptr;
  SyscallObserver* observer = nullptr;  // --strace, or null
  std::string hostname = "sandbox";
  bool randomize = true;  // ASLR for guests
  // CPUs the sandbox may use; counted at boot, since glibc's sysconf reads
  // /sys, which the sentry no longer sees once locked down.
  int ncpus = 1;
  // The most tasks (threads) the sandbox may hold at once: clone and fork
  // beyond it fail with EAGAIN, so a fork bomb stays inside.
  int max_tasks = 4096;
  // What max_tasks becomes when a pids limit is lifted (SetMaxTasks(0)).
  int max_tasks_unlimited = 4096;
  // The vDSO mapped into every guest, or null for none.
  const loader::VdsoSource* vdso = nullptr;
};

class Kernel {
 public:
  explicit Kernel(KernelOptions options);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // Starts the init process on its own thread. Errors finding or loading
  // the program are reported by WaitForExit (127 not found, 126 otherwise),
  // with a message on stderr.
  void StartInit(InitProcess init);

  // `runsc pause`: every task stops before it next runs guest code (those
  // running it are interrupted); returns once none runs any. Tasks blocked
  // in a system call stay blocked, and stop when it returns. A killed task
  // is not held. False if some task still ran guest code after 5 s (the
  // caller resumes). `runsc resume`: they go on.
  bool Pause();
  void Resume();
  bool paused() const { return paused_.load(); }
  // Called by a task's thread before it runs guest code: waits while the
  // sandbox is paused (unless the task is being killed).
  void WaitWhilePaused(Task& t);

  // Starts a process from outside the sandbox (`runsc exec`): like init,
  // but killable, with no parent inside (ppid 0) and a session of its own;
  // `spec.tty`, if set, is its controlling terminal. ESRCH once init has
  // exited; EAGAIN at the task limit.
  SysResult<std::shared_ptr<ThreadGroup>> StartProcess(InitProcess spec);
  // Waits up to `timeout` for `tg` (from StartProcess) to exit; its status,
  // or nullopt if it is still running.
  std::optional<ExitStatus> WaitProcess(ThreadGroup& tg,
                                        absl::Duration timeout);

  // Blocks until the init process has exited; returns how. By then every
  // other process of the sandbox has been killed.
  ExitStatus WaitForExit();

  // Sends `sig` from outside the sandbox (runsc forwarding a terminal's
  // SIGINT) to the foreground process group of init's controlling
  // terminal (init's own group if it has none).
  void SendExternalSignal(int sig);
  // Sends `sig` from the container runtime (`runsc kill`) to init, or with
  // `all` to every process, as a signal from an ancestor pid namespace:
  // init gets only SIGKILL and the signals it handles, as under runc.
  // Returns false if init has already exited.
  bool SendRuntimeSignal(int sig, bool all);
  // The same to one process (one started by StartProcess, held by its
  // ThreadGroup so that a recycled pid is never hit); false once it has
  // exited.
  bool SendRuntimeSignal(ThreadGroup& tg, int sig);
  // Sends `sig` from outside the sandbox to process group `pgid` (init's
  // if the group is empty). Init is not shielded from it: a fatal signal
  // with its default action ends it, as it would end the program outside
  // a sandbox.
  void SendExternalSignalToGroupLocked(int pgid, int sig)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  platform::Platform& platform() { return *options_.platform; }
  // Changes KernelOptions::max_tasks (`runsc update --pids-limit`); n <= 0
  // (no limit) sets max_tasks_unlimited. Tasks already
  // beyond it stay; clone fails until they are fewer.
  void SetMaxTasks(int n);
  vfs::MountNamespace& mount_ns() { return *options_.mount_ns; }
  const SyscallTable& syscalls() const { return *options_.syscalls; }
  SyscallObserver* observer() const {
    return observer_.load(std::memory_order_acquire);
  }
  // `runsc debug --strace=on|off`: from each task's next system call on.
  // The observer must outlive the kernel (a call in flight may still use
  // the old one).
  void set_observer(SyscallObserver* o) {
    observer_.store(o, std::memory_order_release);
  }
  const std::string& hostname() const { return options_.hostname; }
  bool randomize() const { return options_.randomize; }
  int ncpus() const { return options_.ncpus; }
  const loader::VdsoSource* vdso() const { return options_.vdso; }
  // When the host booted, on the realtime clock. Guests read
  // CLOCK_BOOTTIME and CLOCK_MONOTONIC from the host, so uptime counts from
  // the same origin (sysinfo, /proc/uptime, starttime, btime): programs
  // compare them with it (a process's age is CLOCK_BOOTTIME minus its
  // starttime). Taken once, so that starttime, which tools pair with the
  // pid to identify a process, never jitters.
  absl::Time boot_time() const { return boot_time_; }

  FutexTable& futexes() { return futexes_; }
  TimerService& timers() { return timers_; }

  // Logs an unimplemented system call, once per number.
  void ReportUnimplemented(uint64_t nr);

  // Lookups by the guest's ids. Null if there is none.
  std::shared_ptr<Task> FindTask(int tid) const;
  std::shared_ptr<ThreadGroup> FindThreadGroup(int tgid) const;
  // Every process (zombies included), by tgid.
  std::vector<int> ThreadGroupIds() const;
  size_t TaskCount() const;
  // Processes ever created (/proc/stat "processes").
  uint64_t forks() const { return forks_.load(); }
  int running_tasks() const { return running_.load(); }
  // The pid allocated last (/proc/loadavg's last field).
  int last_pid() const {
    absl::MutexLock l(&mu_);
    return last_pid_;
  }

  // What /proc and getppid report about a process.
  struct ProcessInfo {
    int ppid = 0;
    int pgid = 0;
    int sid = 0;
    int threads = 0;
    bool zombie = false;
    bool stopped = false;
  };
  ProcessInfo Info(const ThreadGroup& tg) const;

  // A process as `runsc ps` shows it.
  struct ProcessSummary {
    int pid = 0, ppid = 0;
    uint32_t uid = 0;
    std::string comm;
    char state = 'S';  // S, T (stopped) or Z (a zombie)
    absl::Duration cpu;
    absl::Time start;
    int stub_pid = -1;  // the host process running its guest code
  };
  // Every process of the sandbox, zombies included, by pid.
  std::vector<ProcessSummary> Processes() const;

  // Every live task and what it is doing (`runsc debug --stacks`), by tid.
  struct TaskActivity {
    int tid = 0, tgid = 0;
    std::string comm;
    bool stopped = false;  // in a group stop
    // As Task::activity() says.
    int64_t syscall = -1;
    uint64_t ip = 0, sp = 0;
    int64_t blocked_since_ns = 0;
  };
  std::vector<TaskActivity> Activities() const;

  // The task lock (see the lock order above).
  absl::Mutex& mu() ABSL_LOCK_RETURNED(mu_) { return mu_; }

  // ---- Signals. All need mu_ held. ----
  // Sends `info` to the process: one of its threads that does not block
  // it takes it. Applies the stop/continue side effects at send time.
  // EAGAIN if a real-time signal's information cannot be queued
  // (RLIMIT_SIGPENDING); callers that cannot fail ignore it. A POSIX
  // timer's signal is sent as PendingSignals::Origin::kTimer.
  SysResult<void> SendGroupSignalLocked(
      ThreadGroup* tg, const siginfo_t& info,
      PendingSignals::Origin origin = PendingSignals::Origin::kSend)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What sending `sig` to `tg` does before it is queued (Linux's
  // prepare_signal): a stop signal discards pending SIGCONTs and the
  // reverse, SIGCONT resumes a stopped group; SIGKILL ends the group at
  // once, and then true is returned (nothing is left to queue).
  bool SendSideEffectsLocked(ThreadGroup* tg, int sig)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `info` to one thread.
  SysResult<void> SendTaskSignalLocked(
      Task* t, const siginfo_t& info,
      PendingSignals::Origin origin = PendingSignals::Origin::kSend)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends every thread of `tg` with `status` (exit_group, a fatal signal).
  void GroupExitLocked(ThreadGroup* tg, ExitStatus status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The thread groups of process group `pgid`.
  std::vector<ThreadGroup*> ProcessGroupLocked(int pgid) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool ProcessGroupExistsInSessionLocked(int pgid, int sid) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  ThreadGroup* FindThreadGroupLocked(int tgid) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Task* FindTaskLocked(int tid) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Every process that has not been reaped (zombies included).
  std::vector<ThreadGroup*> ThreadGroupsLocked() const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether process group `pgid` is orphaned (no member has a parent in
  // the same session but another group): stop signals from the terminal
  // are then discarded.
  bool OrphanedProcessGroupLocked(int pgid) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Every live task.
  std::vector<Task*> AllTasksLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Removes a zombie child its parent has waited for.
  void ReapLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ReleaseLocked(tg);
  }
  // Starts the tick that checks CPU-time timers, if any is armed.
  void EnsureCpuTickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Checks CPU-time limits and timers of `tg` after its CPU time grew.
  void CheckCpuTimersLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CPU time of every thread of `tg`, live and exited.
  Usage GroupUsageLocked(const ThreadGroup* tg) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Arms the real-time timers: ITIMER_REAL of `tg`, and a POSIX timer.
  void ArmRealTimerLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmPosixTimerLocked(ThreadGroup* tg, PosixTimer* pt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Delivers one expiry of POSIX timer `pt` (queues its signal, or counts an
  // overrun if the last one is still queued).
  void FirePosixTimerLocked(ThreadGroup* tg, PosixTimer* pt, int expiries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `pt`'s signal is on a queue of `tg` or of one of its threads:
  // not yet delivered, nor discarded (SIG_IGN, SIGCONT) since it was sent.
  bool TimerSignalQueuedLocked(ThreadGroup* tg, const PosixTimer& pt)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // A dequeued SI_TIMER signal: fills in its overrun count.
  void PosixTimerSignalDequeuedLocked(ThreadGroup* tg, siginfo_t* info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Disarms every timer of an exiting group.
  void CancelTimersLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

 private:
  friend class Task;

  SysResult<std::shared_ptr<ThreadGroup>> Start(InitProcess init, bool is_init);
  void SendRuntimeSignalLocked(ThreadGroup* g, int sig)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Allocates a pid not in use as a tid, tgid, pgid or sid. 0 if none.
  int AllocatePidLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PidInUseLocked(int pid) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Starts `t`'s host thread, running `start` first.
  void StartTaskThread(std::shared_ptr<Task> t,
                       std::function<void(Task&)> start);
  // Picks the thread of `tg` that takes a process-directed `sig`, or null
  // if every thread blocks it.
  Task* PickSignalTargetLocked(ThreadGroup* tg, int sig)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Wakes `t` to look at its signals.
  void SignalWakeLocked(Task* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether RLIMIT_SIGPENDING leaves room for one more queued siginfo in
  // `tg` (its own queue and its threads').
  bool SigpendingRoomLocked(ThreadGroup* tg) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether a signal sent to `t` (or, for a process, its chosen thread)
  // is discarded at once: ignored and not blocked, or a default action
  // the sandbox's init is shielded from.
  bool DiscardedOnSendLocked(Task* t, int sig) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The last thread of `tg` has exited: it becomes a zombie, its children
  // go to a reaper, its parent hears of it.
  void ProcessExitedLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells `tg`'s parent of a state change (exit, stop, continue) with
  // SIGCHLD and a wake of its wait queue.
  void NotifyParentLocked(ThreadGroup* tg, int code, int status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes a zombie for good (reaped, or auto-reaped).
  void ReleaseLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Where an orphan of `tg` goes: the nearest living subreaper ancestor,
  // else init.
  ThreadGroup* ReaperForLocked(ThreadGroup* tg) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Wakes every stopped thread of `tg` (SIGCONT, SIGKILL).
  void ResumeGroupLocked(ThreadGroup* tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ticks CPU timers while any is armed.
  void CpuTimerTick();

  KernelOptions options_;
  const absl::Time boot_time_;
  FutexTable futexes_;
  TimerService timers_;
  std::atomic<uint64_t> forks_{0};
  std::atomic<int> running_{0};  // tasks running guest code right now
  std::atomic<bool> paused_{false};
  std::atomic<SyscallObserver*> observer_;

  mutable absl::Mutex mu_;
  int last_pid_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::shared_ptr<ThreadGroup>> groups_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> reported_ ABSL_GUARDED_BY(mu_);
  ThreadGroup* init_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool init_done_ ABSL_GUARDED_BY(mu_) = false;
  ExitStatus init_status_ ABSL_GUARDED_BY(mu_);
  int host_threads_ ABSL_GUARDED_BY(mu_) = 0;
  TimerService::Id cpu_tick_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_KERNEL_H_
