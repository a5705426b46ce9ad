// A guest thread and the host thread that runs it.

#ifndef SENTRY_KERNEL_TASK_H_
#define SENTRY_KERNEL_TASK_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "platform/platform.h"
#include "sentry/kernel/kernel.h"
#include "sentry/vfs/fd_table.h"
#include "sentry/vfs/ops.h"

namespace sentry::kernel {

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
  SysResult<size_t> CopyIn(GuestAddr addr, void* dst, size_t len) override;
  SysResult<size_t> CopyOut(GuestAddr addr, const void* src,
                            size_t len) override;

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
  int tid() const { return tid_; }
  int tgid() const { return shared_.tg->tgid(); }
  mm::MemoryManager& mm() const { return *shared_.mm; }
  bool has_mm() const { return shared_.mm != nullptr; }
  // The address space, safe to call from other tasks' threads (/proc).
  std::shared_ptr<mm::MemoryManager> GetMM() const {
    return std::atomic_load(&shared_.mm);
  }
  std::shared_ptr<vfs::FdTable> GetFdTable() const { return shared_.fds; }
  std::shared_ptr<FsContext> GetFsContext() const { return shared_.fs; }
  vfs::FdTable& fds() const { return *shared_.fds; }
  FsContext& fs() const { return *shared_.fs; }
  SignalHandlers& sighand() const { return *shared_.sighand; }
  platform::Registers& regs() { return regs_; }
  void set_creds(auth::Credentials c) { creds_ = std::move(c); }

  // Where a *at() call resolves: dirfd (or AT_FDCWD) as the start.
  SysResult<vfs::PathContext> PathContextAt(int dirfd);
  vfs::VirtualDentry Root() const;
  vfs::VirtualDentry Cwd() const;
  std::string PathOf(const vfs::VirtualDentry& vd) const;
  uint32_t umask() const;

  uint64_t RlimitCur(int resource) const {
    return tg().GetRlimit(resource).rlim_cur;
  }

  // The file at fd; EBADF if none. O_PATH descriptions are refused with
  // EBADF unless `allow_path`.
  SysResult<std::shared_ptr<vfs::FileDescription>> GetFile(
      int fd, bool allow_path = false) const;
  SysResult<int> NewFd(std::shared_ptr<vfs::FileDescription> f, bool cloexec,
                       int min_fd = 0);

  // Ends this thread (exit(2)).
  void ExitThread(int code);
  // Ends the whole process (exit_group(2), a fatal signal).
  void ExitGroup(ExitStatus status);
  bool exiting() const { return exiting_.load(); }

  // execve(2): loads `filename` into a new address space and, on success,
  // replaces this process image. On failure nothing has changed.
  SysResult<void> Execve(const std::string& filename,
                         std::vector<std::string> argv,
                         std::vector<std::string> envp);

  // Handlers that set the registers themselves (execve, rt_sigreturn) call
  // this so the result is not written to rax.
  void MarkRegsReplaced() { regs_replaced_ = true; }

  // Signal state recorded for the signal-delivery work (issue #3).
  uint64_t signal_mask() const { return signal_mask_.load(); }
  void set_signal_mask(uint64_t m) { signal_mask_.store(m); }
  stack_t alt_stack{nullptr, SS_DISABLE, 0};
  uint64_t clear_child_tid = 0;
  uint64_t robust_list_head = 0;
  uint64_t robust_list_len = 0;
  bool no_new_privs = false;  // PR_SET_NO_NEW_PRIVS; survives execve

  std::string comm() const;
  void set_comm(std::string name);

  // Runs the task: `start` first (the init process's exec), then the guest
  // until the task exits. Called on the task's own host thread.
  void Run(std::function<void(Task&)> start);

 private:
  void HandleSyscall();
  void HandleFault(const siginfo_t& si);
  void Finish();

  Kernel* const kernel_;
  const int tid_;
  Shared shared_;
  auth::Credentials creds_;
  platform::Registers regs_{};
  std::unique_ptr<platform::Context> ctx_;
  std::atomic<bool> exiting_{false};
  bool regs_replaced_ = false;
  std::atomic<uint64_t> signal_mask_{0};
  mutable absl::Mutex comm_mu_;
  std::string comm_ ABSL_GUARDED_BY(comm_mu_);
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_TASK_H_
