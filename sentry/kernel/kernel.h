// The kernel: processes (ThreadGroup), threads (Task) and what they share.
//
// Ownership: the Kernel owns every ThreadGroup through its task registry;
// a Task holds its ThreadGroup and shares its mm, fd table, fs context and
// signal handlers by shared_ptr (as CLONE_VM/FILES/FS/SIGHAND share them).
// Each Task runs on one host thread of its own, which owns its platform
// Context.
//
// Lock order: Kernel::mu_ before ThreadGroup::mu_ before FsContext::mu_ and
// SignalHandlers::mu_. None is held across a platform Switch or a blocking
// filesystem call.

#ifndef SENTRY_KERNEL_KERNEL_H_
#define SENTRY_KERNEL_KERNEL_H_

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "platform/platform.h"
#include "sentry/auth/credentials.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/syscall_table.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fd_table.h"
#include "sentry/vfs/vfs.h"

namespace sentry::kernel {

class Task;
class ThreadGroup;

// Root, working directory and umask (shared with CLONE_FS).
struct FsContext {
  mutable absl::Mutex mu;
  vfs::VirtualDentry root ABSL_GUARDED_BY(mu);
  vfs::VirtualDentry cwd ABSL_GUARDED_BY(mu);
  uint32_t umask ABSL_GUARDED_BY(mu) = 022;
};

// The guest's struct k_sigaction.
struct SigAction {
  uint64_t handler = 0;  // SIG_DFL (0), SIG_IGN (1) or a guest address
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

// Signal dispositions (shared with CLONE_SIGHAND).
struct SignalHandlers {
  absl::Mutex mu;
  SigAction actions[64] ABSL_GUARDED_BY(mu);
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
};

class ThreadGroup {
 public:
  explicit ThreadGroup(int tgid);

  int tgid() const { return tgid_; }

  // Tasks of this group still running.
  std::atomic<int> live_tasks{0};

  struct rlimit GetRlimit(int resource) const;
  void SetRlimit(int resource, struct rlimit lim);

  // Marks the group as exiting with `status` (first caller wins) and
  // returns the status that stands.
  ExitStatus BeginExit(ExitStatus status);
  bool exiting() const { return exiting_.load(); }
  ExitStatus exit_status() const;

  // Parent pid as the guest sees it (0 for the sandbox's init).
  int ppid() const { return ppid_; }
  void set_ppid(int p) { ppid_ = p; }

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

  absl::Time start_time() const { return start_time_; }

 private:
  const int tgid_;
  const absl::Time start_time_;
  std::atomic<bool> exiting_{false};
  std::atomic<int> ppid_{0};
  mutable absl::Mutex mu_;
  struct rlimit rlimits_[RLIM_NLIMITS] ABSL_GUARDED_BY(mu_);
  ExitStatus exit_status_ ABSL_GUARDED_BY(mu_);
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
};

struct KernelOptions {
  platform::Platform* platform = nullptr;
  std::shared_ptr<vfs::MountNamespace> mount_ns;
  const SyscallTable* syscalls = nullptr;
  SyscallObserver* observer = nullptr;  // --strace, or null
  std::string hostname = "sandbox";
  bool randomize = true;  // ASLR for guests
  // CPUs the sandbox may use; counted at boot, since glibc's sysconf reads
  // /sys, which the sentry no longer sees once locked down.
  int ncpus = 1;
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

  // Blocks until the init process has exited; returns how.
  ExitStatus WaitForExit();

  platform::Platform& platform() { return *options_.platform; }
  vfs::MountNamespace& mount_ns() { return *options_.mount_ns; }
  const SyscallTable& syscalls() const { return *options_.syscalls; }
  SyscallObserver* observer() const { return options_.observer; }
  const std::string& hostname() const { return options_.hostname; }
  bool randomize() const { return options_.randomize; }
  int ncpus() const { return options_.ncpus; }
  absl::Time boot_time() const { return boot_time_; }

  FutexTable& futexes() { return futexes_; }

  // Logs an unimplemented system call, once per number.
  void ReportUnimplemented(uint64_t nr);

  // A live task by thread id (for /proc), or null.
  std::shared_ptr<Task> FindTask(int tid) const;
  std::vector<int> ThreadGroupIds() const;
  size_t TaskCount() const;

 private:
  friend class Task;
  int AllocateTid();
  void RegisterTask(const std::shared_ptr<Task>& t);
  // Called by a task's thread as it finishes.
  void TaskExited(Task* t);

  KernelOptions options_;
  const absl::Time boot_time_;
  FutexTable futexes_;
  mutable absl::Mutex mu_;
  int next_tid_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int, std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> reported_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<ThreadGroup> init_ ABSL_GUARDED_BY(mu_);
  bool init_done_ ABSL_GUARDED_BY(mu_) = false;
  ExitStatus init_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_KERNEL_H_
