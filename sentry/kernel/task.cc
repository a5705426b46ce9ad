#include "sentry/kernel/task.h"

#include <fcntl.h>
#include <sys/prctl.h>

#include <cstring>

#include "glog/logging.h"
#include "sentry/loader/loader.h"
#include "sentry/vfs/resolve.h"

namespace sentry::kernel {

namespace {

// User-mode segment selectors of x86-64 Linux.
constexpr uint64_t kUserCS = 0x33;
constexpr uint64_t kUserSS = 0x2b;
constexpr uint64_t kInitialFlags = 0x202;  // IF and the always-one bit

// The loader's view of the task doing an execve.
class TaskExecEnvironment final : public loader::ExecEnvironment {
 public:
  explicit TaskExecEnvironment(Task& t) : t_(t) {}

  SysResult<std::shared_ptr<vfs::FileDescription>> OpenExecutable(
      const std::string& path) override {
    SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, t_.PathContextAt(AT_FDCWD));
    vfs::Resolver r(t_, *pc.ns, pc.root, pc.start);
    SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, r.Resolve(path));
    const std::shared_ptr<vfs::Inode>& inode = vd.dentry->inode();
    if (inode->IsDir()) return Errno(EACCES);
    if (!inode->IsRegular()) return Errno(EACCES);
    SENTRY_RETURN_IF_ERROR(vfs::CheckAccess(t_, vd, auth::kMayExec));
    // Execute permission suffices to load a binary, so open it as the
    // kernel does, without the read check.
    return inode->Open(t_, vd, O_RDONLY);
  }

  vfs::CallContext& ctx() override { return t_; }

  std::string PathOf(const vfs::FileDescription& file) override {
    return t_.PathOf(file.vd());
  }

 private:
  Task& t_;
};

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Task::Task(Kernel* kernel, int tid, Shared shared, auth::Credentials creds)
    : kernel_(kernel),
      tid_(tid),
      shared_(std::move(shared)),
      creds_(std::move(creds)) {}

Task::~Task() = default;

SysResult<size_t> Task::CopyIn(GuestAddr addr, void* dst, size_t len) {
  if (!has_mm()) return Errno(EFAULT);
  return mm().CopyIn(addr, dst, len);
}

SysResult<size_t> Task::CopyOut(GuestAddr addr, const void* src, size_t len) {
  if (!has_mm()) return Errno(EFAULT);
  return mm().CopyOut(addr, src, len);
}

SysResult<std::string> Task::CopyInString(GuestAddr addr, size_t max) {
  if (!has_mm()) return Errno(EFAULT);
  return mm().CopyInString(addr, max);
}

SysResult<std::string> Task::CopyInPath(GuestAddr addr) {
  SENTRY_ASSIGN_OR_RETURN(std::string path,
                          CopyInString(addr, vfs::kMaxPath - 1));
  return path;
}

SysResult<std::vector<std::string>> Task::CopyInStringArray(GuestAddr addr,
                                                            uint64_t* budget) {
  std::vector<std::string> out;
  if (addr.IsNull()) return out;
  for (uint64_t i = 0;; i++) {
    uint64_t ptr;
    SENTRY_RETURN_IF_ERROR(CopyInObj(GuestAddr(addr.value() + i * 8), &ptr));
    if (ptr == 0) break;
    // Each entry costs its pointer and its bytes against execve's limit,
    // checked before copying so a long array of empty strings is cheap to
    // refuse.
    if (*budget < 8 + 1) return Errno(E2BIG);
    *budget -= 8;
    SysResult<std::string> s = CopyInString(
        GuestAddr(ptr),
        std::min<uint64_t>(*budget - 1, loader::kMaxArgStrlen - 1));
    if (!s.ok()) return s.err() == ENAMETOOLONG ? Errno(E2BIG) : s.error();
    *budget -= s->size() + 1;
    out.push_back(std::move(s).value());
  }
  return out;
}

uint64_t Task::ExecArgBudget() const {
  // Linux's bprm_stack_limits(): a quarter of the stack limit, at most
  // 3/4 of _STK_LIM (6 MiB), at least ARG_MAX (128 KiB).
  uint64_t limit = std::min<uint64_t>(RlimitCur(RLIMIT_STACK) / 4, 6 << 20);
  return std::max<uint64_t>(limit, 128 << 10);
}

SysResult<vfs::PathContext> Task::PathContextAt(int dirfd) {
  vfs::PathContext pc;
  pc.ns = &kernel_->mount_ns();
  {
    absl::MutexLock l(&fs().mu);
    pc.root = fs().root;
    pc.start = fs().cwd;
  }
  if (dirfd != AT_FDCWD) {
    SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                            GetFile(dirfd, true));
    pc.start = f->vd();
  }
  return pc;
}

vfs::VirtualDentry Task::Root() const {
  absl::MutexLock l(&fs().mu);
  return fs().root;
}

vfs::VirtualDentry Task::Cwd() const {
  absl::MutexLock l(&fs().mu);
  return fs().cwd;
}

std::string Task::PathOf(const vfs::VirtualDentry& vd) const {
  return kernel_->mount_ns().PathOf(vd, Root());
}

uint32_t Task::umask() const {
  absl::MutexLock l(&fs().mu);
  return fs().umask;
}

SysResult<std::shared_ptr<vfs::FileDescription>> Task::GetFile(
    int fd, bool allow_path) const {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                          fds().Get(fd));
  if (!allow_path && f->is_path()) return Errno(EBADF);
  return f;
}

SysResult<int> Task::NewFd(std::shared_ptr<vfs::FileDescription> f,
                           bool cloexec, int min_fd) {
  return fds().Add(std::move(f), cloexec, min_fd, RlimitCur(RLIMIT_NOFILE));
}

std::string Task::comm() const {
  absl::MutexLock l(&comm_mu_);
  return comm_;
}

void Task::set_comm(std::string name) {
  if (name.size() > 15) name.resize(15);  // TASK_COMM_LEN - 1
  absl::MutexLock l(&comm_mu_);
  comm_ = std::move(name);
}

void Task::ExitThread(int code) {
  // With one thread per process (until #3), a thread exit ends the process.
  if (tg().live_tasks.load() <= 1) tg().BeginExit(ExitStatus{code, 0, false});
  exiting_.store(true);
}

void Task::ExitGroup(ExitStatus status) {
  tg().BeginExit(status);
  exiting_.store(true);
}

SysResult<void> Task::Execve(const std::string& filename,
                             std::vector<std::string> argv,
                             std::vector<std::string> envp) {
  if (filename.empty()) return Errno(ENOENT);
  platform::Platform& p = kernel_->platform();
  SENTRY_ASSIGN_OR_RETURN(std::unique_ptr<platform::AddressSpace> as,
                          p.NewAddressSpace());
  auto new_mm =
      std::make_shared<mm::MemoryManager>(std::move(as), p.MaxUserAddress());
  struct rlimit stack = tg().GetRlimit(RLIMIT_STACK);
  new_mm->ChooseLayout(stack.rlim_cur, kernel_->randomize());

  loader::ExecRequest req;
  req.filename = filename;
  req.argv = std::move(argv);
  req.envp = std::move(envp);
  req.stack_rlimit = stack.rlim_cur;
  req.randomize = kernel_->randomize();
  req.uid = creds_.ruid;
  req.euid = creds_.euid;
  req.gid = creds_.rgid;
  req.egid = creds_.egid;
  TaskExecEnvironment env(*this);
  // Load through a task whose mm is the new one, so the loader's copies
  // reach the new image.
  std::shared_ptr<mm::MemoryManager> old_mm = shared_.mm;
  std::atomic_store(&shared_.mm, new_mm);
  SysResult<loader::LoadedImage> image =
      loader::Load(env, *new_mm, std::move(req));
  if (!image.ok()) {
    std::atomic_store(&shared_.mm, old_mm);
    if (ctx_) ctx_->Release(new_mm->as());
    return image.error();
  }
  // The point of no return: the new image replaces the old.
  if (old_mm && ctx_) ctx_->Release(old_mm->as());
  old_mm.reset();
  for (auto& f : fds().RemoveCloexec()) f.reset();
  {
    // Caught signals revert to their default; ignored ones stay ignored.
    absl::MutexLock l(&sighand().mu);
    for (SigAction& a : sighand().actions) {
      if (a.handler > 1) a = SigAction{};
    }
  }
  alt_stack = stack_t{nullptr, SS_DISABLE, 0};
  clear_child_tid = 0;
  robust_list_head = robust_list_len = 0;
  tg().set_executable(image->executable);
  tg().set_args(
      {image->arg_start, image->arg_end, image->env_start, image->env_end});
  tg().set_auxv(image->auxv);
  set_comm(Basename(filename));
  regs_ = platform::Registers{};
  regs_.rip = image->entry;
  regs_.rsp = image->stack_pointer;
  regs_.cs = kUserCS;
  regs_.ss = kUserSS;
  regs_.eflags = kInitialFlags;
  if (ctx_) {
    SysResult<void> fp = ctx_->ResetFPState(new_mm->as());
    if (!fp.ok()) LOG(WARNING) << "resetting FP state: " << strerror(fp.err());
  }
  MarkRegsReplaced();
  return Ok();
}

void Task::Run(std::function<void(Task&)> start) {
  ctx_ = kernel_->platform().NewContext();
  if (start) start(*this);
  while (!exiting_.load() && !tg().exiting()) {
    if (!has_mm()) {
      LOG(ERROR) << "task " << tid_ << " has no address space";
      ExitGroup(ExitStatus{0, SIGKILL, false});
      break;
    }
    platform::SwitchResult r = ctx_->Switch(mm().as(), regs_);
    switch (r.reason) {
      case platform::StopReason::kSyscall:
        HandleSyscall();
        break;
      case platform::StopReason::kFault:
        HandleFault(r.siginfo);
        break;
      case platform::StopReason::kInterrupted:
        break;
      case platform::StopReason::kDied:
        LOG(ERROR) << "task " << tid_
                   << ": the host thread running the guest died";
        ExitGroup(ExitStatus{0, SIGKILL, false});
        break;
    }
  }
  Finish();
}

void Task::Finish() {
  if (has_mm()) ctx_->Release(mm().as());
  std::atomic_store(&shared_.mm, std::shared_ptr<mm::MemoryManager>());
  ctx_.reset();
  kernel_->TaskExited(this);
}

void Task::HandleSyscall() {
  uint64_t nr = regs_.orig_rax;
  SyscallArgs args;
  args.raw[0] = regs_.rdi;
  args.raw[1] = regs_.rsi;
  args.raw[2] = regs_.rdx;
  args.raw[3] = regs_.r10;
  args.raw[4] = regs_.r8;
  args.raw[5] = regs_.r9;
  SyscallObserver* obs = kernel_->observer();
  if (obs != nullptr) obs->Enter(*this, nr, args);
  regs_replaced_ = false;
  int64_t result;
  const SyscallEntry* e = kernel_->syscalls().Lookup(nr);
  if (e == nullptr || e->fn == nullptr) {
    kernel_->ReportUnimplemented(nr);
    result = -ENOSYS;
  } else {
    SysResult<uint64_t> r = e->fn(*this, args);
    if (r.ok()) {
      result = static_cast<int64_t>(*r);
    } else {
      int err = r.err();
      // No signal can interrupt a call before signal delivery exists
      // (#3); a restart code reaching here would be a bug, so it becomes
      // EINTR rather than leak to the guest.
      if (err == kERESTARTSYS || err == kERESTARTNOINTR ||
          err == kERESTARTNOHAND || err == kERESTART_RESTARTBLOCK) {
        err = EINTR;
      }
      result = -err;
    }
  }
  if (obs != nullptr) obs->Exit(*this, nr, args, regs_replaced_ ? 0 : result);
  if (!regs_replaced_) regs_.rax = static_cast<uint64_t>(result);
}

void Task::HandleFault(const siginfo_t& si) {
  int sig = si.si_signo;
  uint64_t handler;
  {
    absl::MutexLock l(&sighand().mu);
    handler = sighand().actions[sig - 1].handler;
  }
  if (handler > 1) {
    LOG(WARNING)
        << "task " << tid_ << ": signal " << sig
        << " has a guest handler, but signal delivery is not implemented yet; "
           "the default action applies";
  }
  // A synchronous fault's default action dumps core and ends the process.
  VLOG(1) << "task " << tid_ << " killed by signal " << sig << " at rip 0x"
          << std::hex << regs_.rip << " addr " << si.si_addr;
  ExitGroup(ExitStatus{0, sig, true});
}

}  // namespace sentry::kernel
