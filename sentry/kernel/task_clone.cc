// clone(2) and its relatives: a new thread in this process, or a new
// process, each on a host thread of its own. Mirrors Linux's
// copy_process.

#include <sched.h>

#include <cstring>

#include "glog/logging.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/kernel/task.h"

namespace sentry::kernel {

namespace {

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID |
                                     CLONE_NEWNET | CLONE_NEWCGROUP;
constexpr uint64_t kCloneNewTime = 0x80;
constexpr uint64_t kCloneClearSighand = 0x100000000ULL;

}  // namespace

SysResult<int> Task::Clone(const CloneArgs& a) {
  uint64_t f = a.flags;
  // The combinations Linux refuses.
  if ((f & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS) ||
      (f & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS)) {
    return Errno(EINVAL);
  }
  if ((f & CLONE_THREAD) != 0 && (f & CLONE_SIGHAND) == 0) return Errno(EINVAL);
  if ((f & CLONE_SIGHAND) != 0 && (f & CLONE_VM) == 0) return Errno(EINVAL);
  if ((f & CLONE_PIDFD) != 0 && (f & CLONE_THREAD) != 0) return Errno(EINVAL);
  // New namespaces are not supported: refused as by a kernel built
  // without them.
  if ((f & (kNamespaceFlags | kCloneNewTime)) != 0) return Errno(EINVAL);
  if (a.exit_signal < 0 || a.exit_signal > kMaxSignal) return Errno(EINVAL);

  // What the child shares or gets a copy of.
  Shared s;
  if ((f & CLONE_VM) != 0) {
    s.mm = shared_.mm;
  } else {
    SENTRY_ASSIGN_OR_RETURN(s.mm, mm().Fork());
  }
  s.fds = (f & CLONE_FILES) != 0 ? GetFdTable() : GetFdTable()->Fork();
  s.fs = (f & CLONE_FS) != 0 ? shared_.fs : shared_.fs->Copy();
  // The child starts with this thread's FPU and vector registers.
  SysResult<std::vector<uint8_t>> fp = ctx_->GetFPState(mm().as());
  if (!fp.ok()) return fp.error();

  platform::Registers regs = regs_;
  regs.rax = 0;
  if (a.stack != 0) regs.rsp = a.stack;
  if ((f & CLONE_SETTLS) != 0) {
    // TASK_SIZE_MAX: Linux refuses any base at or above it.
    if (a.tls >= 0x7ffffffff000ULL) return Errno(EPERM);
    regs.fs_base = a.tls;
  }

  std::shared_ptr<Task> child;
  std::shared_ptr<ThreadGroup> child_tg;
  int tid;
  {
    absl::MutexLock l(&kernel_->mu_);
    ThreadGroup& g = tg();
    if (g.exiting || killed_.load()) return Errno(kERESTARTNOINTR);
    if (kernel_->tasks_.size() >=
        static_cast<size_t>(kernel_->options_.max_tasks)) {
      LOG_FIRST_N(WARNING, 1) << "the sandbox holds " << kernel_->tasks_.size()
                              << " tasks, its limit: clone fails with EAGAIN";
      return Errno(EAGAIN);
    }
    // RLIMIT_NPROC binds users without CAP_SYS_RESOURCE/CAP_SYS_ADMIN.
    struct rlimit nproc = g.GetRlimit(RLIMIT_NPROC);
    if (nproc.rlim_cur != RLIM_INFINITY &&
        !creds_.HasCapability(auth::Capability::kSysResource) &&
        !creds_.HasCapability(auth::Capability::kSysAdmin)) {
      uint64_t count = 0;
      for (const auto& [id, t] : kernel_->tasks_) {
        if (t->GetCreds().ruid == creds_.ruid) count++;
      }
      if (count >= nproc.rlim_cur) return Errno(EAGAIN);
    }
    if ((f & CLONE_PARENT) != 0 && &g == kernel_->init_) return Errno(EINVAL);
    tid = kernel_->AllocatePidLocked();
    if (tid == 0) return Errno(EAGAIN);
    if ((f & CLONE_SIGHAND) != 0) {
      s.sighand = shared_.sighand;
    } else {
      s.sighand = std::make_shared<SignalHandlers>(*shared_.sighand);
      if ((f & kCloneClearSighand) != 0) {
        // Handlers start at their defaults; ignored signals stay ignored.
        for (SigAction& act : s.sighand->actions) {
          if (act.handler != kSigIgn) act = SigAction{};
        }
      }
    }
    if ((f & CLONE_THREAD) != 0) {
      s.tg = shared_.tg;
    } else {
      child_tg = std::make_shared<ThreadGroup>(kernel_, tid);
      child_tg->CopyRlimitsFrom(g);
      child_tg->set_executable(g.executable());
      child_tg->set_args(g.args());
      child_tg->set_auxv(g.auxv());
      child_tg->pgid = g.pgid;
      child_tg->sid = g.sid;
      child_tg->tty = g.tty;
      // CLONE_PARENT makes a sibling: it gets the caller's parent, and
      // the caller's exit signal whatever was asked.
      bool sibling = (f & CLONE_PARENT) != 0;
      child_tg->exit_signal = sibling ? g.exit_signal : a.exit_signal;
      child_tg->parent_tid = sibling ? g.parent_tid : tid_.load();
      ThreadGroup* parent = sibling ? g.parent : &g;
      child_tg->parent = parent;
      if (parent != nullptr) parent->children[tid] = child_tg.get();
      kernel_->groups_[tid] = child_tg;
      kernel_->forks_++;
      s.tg = child_tg;
    }
    child = std::make_shared<Task>(kernel_, tid, s, creds_);
    child->mask_.store(mask_.load());
    child->no_new_privs = no_new_privs.load();
    child->SetSeccomp(seccomp_mode(), seccomp_filter());
    child->keep_caps = keep_caps;
    if (affinity.load() != ~0ULL) child->SetAffinity(affinity.load());
    child->nice.store(nice.load());
    child->sched_policy.store(sched_policy.load());

    child->set_comm(comm());
    // A thread sharing the memory (but not a vfork child, which borrows
    // the parent's stack) starts without the alternate stack.
    if ((f & (CLONE_VM | CLONE_VFORK)) != CLONE_VM) {
      child->alt_stack = alt_stack;
    }
    if ((f & CLONE_CHILD_CLEARTID) != 0) child->clear_child_tid = a.child_tid;
    if ((f & CLONE_VFORK) != 0) {
      child->vfork_done_ = std::make_shared<Completion>();
    }
    child->regs_ = regs;
    kernel_->tasks_[tid] = child;
    s.tg->tasks.push_back(child.get());
  }
  std::shared_ptr<Completion> vfork_done = child->vfork_done_;

  // The ids the caller asked to have written, before the child runs.
  if ((f & CLONE_PARENT_SETTID) != 0) {
    (void)CopyOutObj(GuestAddr(a.parent_tid), static_cast<int32_t>(tid));
  }
  if ((f & CLONE_CHILD_SETTID) != 0) {
    (void)s.mm->CopyOut(GuestAddr(a.child_tid), &tid, sizeof(int32_t));
  }
  if ((f & CLONE_PIDFD) != 0) {
    SysResult<int> fd = NewFd(NewPidFD(child_tg), /*cloexec=*/true);
    if (fd.ok()) {
      int32_t n = *fd;
      if (!CopyOutObj(GuestAddr(a.pidfd), n).ok()) {
        // Too late to undo the child; Linux would have failed earlier.
        (void)fds().Remove(n);
      }
    }
  }

  std::vector<uint8_t> fp_state = std::move(fp).value();
  kernel_->StartTaskThread(child, [fp_state](Task& t) {
    SysResult<void> r = t.ctx_->SetFPState(t.mm().as(), fp_state);
    if (!r.ok()) {
      LOG(WARNING) << "task " << t.tid()
                   << ": copying the parent's FP state: " << strerror(r.err());
    }
  });

  if (vfork_done != nullptr) {
    // The parent waits until the child execs or exits; only a kill ends
    // the wait early.
    ScopedWait w(&vfork_done->queue(), &waiter_, kEventAll);
    while (!vfork_done->done()) {
      if (!BlockWith(Interruptible::kKillOnly, std::nullopt).ok()) break;
    }
  }
  return tid;
}

}  // namespace sentry::kernel
