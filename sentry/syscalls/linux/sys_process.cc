// Implements the process system calls: clone(2), fork(2), vfork(2),
// clone3(2), execve(2), execveat(2), exit(2), exit_group(2), wait4(2),
// waitid(2), the pid getters, sessions and process groups (setsid(2),
// setpgid(2), getpgid(2), getsid(2)), set_tid_address(2), robust lists,
// arch_prctl(2), prctl(2), uname(2), sysinfo(2), getrandom(2), the rlimit
// calls, the scheduler calls and getpriority(2)/setpriority(2).

#include <asm/prctl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/time/clock.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

using kernel::ExitStatus;
using kernel::ThreadGroup;

// Implements Linux syscall exit(2).
SENTRY_SYSCALL(SysExit) {
  t.ExitThread(a.Int(0) & 0xff);
  return 0;
}

// Implements Linux syscall exit_group(2).
SENTRY_SYSCALL(SysExitGroup) {
  t.ExitGroup(ExitStatus{a.Int(0) & 0xff, 0, false});
  return 0;
}

// Implements Linux syscall getpid(2).
SENTRY_SYSCALL(SysGetpid) { return static_cast<uint64_t>(t.tgid()); }

// Implements Linux syscall gettid(2).
SENTRY_SYSCALL(SysGettid) { return static_cast<uint64_t>(t.tid()); }

// Implements Linux syscall getppid(2). The sandbox's init has no parent
// inside its pid namespace, so 0, as Linux reports there.
SENTRY_SYSCALL(SysGetppid) {
  return static_cast<uint64_t>(t.kernel().Info(t.tg()).ppid);
}

// ---- Sessions and process groups ----

namespace {

// The process `pid` names (0: the caller's), or ESRCH.
SysResult<ThreadGroup*> ProcessLocked(Task& t, int pid)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  if (pid == 0) return &t.tg();
  if (pid < 0) return Errno(ESRCH);
  ThreadGroup* g = t.kernel().FindThreadGroupLocked(pid);
  if (g == nullptr) return Errno(ESRCH);
  return g;
}

}  // namespace

// Implements Linux syscall getpgrp(2).
SENTRY_SYSCALL(SysGetpgrp) {
  return static_cast<uint64_t>(t.kernel().Info(t.tg()).pgid);
}

// Implements Linux syscall getpgid(2).
SENTRY_SYSCALL(SysGetpgid) {
  absl::MutexLock l(&t.kernel().mu());
  SENTRY_ASSIGN_OR_RETURN(ThreadGroup * g, ProcessLocked(t, a.Int(0)));
  return static_cast<uint64_t>(g->pgid);
}

// Implements Linux syscall getsid(2).
SENTRY_SYSCALL(SysGetsid) {
  absl::MutexLock l(&t.kernel().mu());
  SENTRY_ASSIGN_OR_RETURN(ThreadGroup * g, ProcessLocked(t, a.Int(0)));
  return static_cast<uint64_t>(g->sid);
}

// Implements Linux syscall setpgid(2).
SENTRY_SYSCALL(SysSetpgid) {
  int pid = a.Int(0), pgid = a.Int(1);
  if (pgid < 0) return Errno(EINVAL);
  absl::MutexLock l(&t.kernel().mu());
  ThreadGroup& self = t.tg();
  ThreadGroup* target = &self;
  if (pid != 0 && pid != self.tgid()) {
    target = t.kernel().FindThreadGroupLocked(pid);
    // Only the caller and its own children.
    if (target == nullptr || target->parent != &self || target->zombie) {
      return Errno(ESRCH);
    }
    if (target->sid != self.sid) return Errno(EPERM);
    if (target->did_exec) return Errno(EACCES);
  }
  if (pgid == 0) pgid = target->tgid();
  // A session leader stays in its group.
  if (target->sid == target->tgid()) return Errno(EPERM);
  if (pgid != target->tgid() &&
      !t.kernel().ProcessGroupExistsInSessionLocked(pgid, self.sid)) {
    return Errno(EPERM);
  }
  target->pgid = pgid;
  return 0;
}

// Implements Linux syscall setsid(2).
SENTRY_SYSCALL(SysSetsid) {
  absl::MutexLock l(&t.kernel().mu());
  ThreadGroup& self = t.tg();
  // Fails if any process uses the caller's pid as its group.
  if (!t.kernel().ProcessGroupLocked(self.tgid()).empty()) {
    return Errno(EPERM);
  }
  self.sid = self.pgid = self.tgid();
  // A new session has no controlling terminal.
  self.tty = nullptr;
  return static_cast<uint64_t>(self.sid);
}

// ---- clone and friends ----

namespace {

constexpr uint64_t kCsignal = 0xff;

SysResult<uint64_t> DoClone(Task& t, kernel::CloneArgs args) {
  SENTRY_ASSIGN_OR_RETURN(int tid, t.Clone(args));
  return static_cast<uint64_t>(tid);
}

}  // namespace

// Implements Linux syscall clone(2). x86-64 argument order: flags, stack,
// parent_tid, child_tid, tls.
SENTRY_SYSCALL(SysClone) {
  uint64_t flags = a.U64(0);
  kernel::CloneArgs args;
  args.flags = flags & ~kCsignal;
  args.exit_signal = static_cast<int>(flags & kCsignal);
  args.stack = a.U64(1);
  args.parent_tid = a.U64(2);
  args.child_tid = a.U64(3);
  args.tls = a.U64(4);
  if ((args.flags & CLONE_PIDFD) != 0) {
    // clone() returns the pidfd where parent_tid points, so the two
    // cannot be combined; nor can CLONE_DETACHED.
    if ((args.flags & (CLONE_PARENT_SETTID | CLONE_DETACHED)) != 0) {
      return Errno(EINVAL);
    }
    args.pidfd = args.parent_tid;
  }
  // CLONE_DETACHED is ignored by clone(), as in Linux.
  args.flags &= ~static_cast<uint64_t>(CLONE_DETACHED);
  return DoClone(t, args);
}

// Implements Linux syscall fork(2).
SENTRY_SYSCALL(SysFork) {
  kernel::CloneArgs args;
  args.exit_signal = SIGCHLD;
  return DoClone(t, args);
}

// Implements Linux syscall vfork(2).
SENTRY_SYSCALL(SysVfork) {
  kernel::CloneArgs args;
  args.flags = CLONE_VM | CLONE_VFORK;
  args.exit_signal = SIGCHLD;
  return DoClone(t, args);
}

// Implements Linux syscall clone3(2).
SENTRY_SYSCALL(SysClone3) {
  struct CloneArgs3 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls, set_tid, set_tid_size, cgroup;
  };
  constexpr size_t kVer0 = 64;  // CLONE_ARGS_SIZE_VER0
  uint64_t size = a.U64(1);
  if (size < kVer0) return Errno(EINVAL);
  if (size > 4096) return Errno(E2BIG);
  CloneArgs3 c{};
  std::vector<uint8_t> buf(size);
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(a.Addr(0), buf.data(), size));
  memcpy(&c, buf.data(), std::min<size_t>(size, sizeof(c)));
  // Fields this kernel does not know must be zero.
  for (size_t i = sizeof(c); i < size; i++) {
    if (buf[i] != 0) return Errno(E2BIG);
  }
  constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;
  constexpr uint64_t kCloneClearSighand = 0x100000000ULL;
  if ((c.flags & ~(0xffffffffULL | kCloneIntoCgroup | kCloneClearSighand)) !=
      0) {
    return Errno(EINVAL);
  }
  // The exit signal has a field of its own; CLONE_DETACHED is refused.
  if ((c.flags & (kCsignal | CLONE_DETACHED)) != 0) return Errno(EINVAL);
  if ((c.exit_signal & ~kCsignal) != 0 || c.exit_signal > kernel::kMaxSignal) {
    return Errno(EINVAL);
  }
  if ((c.flags & (CLONE_THREAD | CLONE_PARENT)) != 0 && c.exit_signal != 0) {
    return Errno(EINVAL);
  }
  if ((c.stack == 0) != (c.stack_size == 0)) return Errno(EINVAL);
  constexpr uint64_t kMaxPidNsLevel = 32;
  if ((c.set_tid == 0) != (c.set_tid_size == 0) ||
      c.set_tid_size > kMaxPidNsLevel) {
    return Errno(EINVAL);
  }
  if (c.set_tid != 0) {
    // Choosing pids needs CAP_SYS_ADMIN over the pid namespace, which the
    // sandbox's own namespace does not grant; not supported.
    return Errno(EPERM);
  }
  if ((c.flags & kCloneIntoCgroup) != 0) return Errno(EINVAL);
  if ((c.flags & kCloneClearSighand) != 0 && (c.flags & CLONE_SIGHAND) != 0) {
    return Errno(EINVAL);
  }
  kernel::CloneArgs args;
  args.flags = c.flags;
  args.exit_signal = static_cast<int>(c.exit_signal);
  args.stack = c.stack != 0 ? c.stack + c.stack_size : 0;
  args.parent_tid = c.parent_tid;
  args.child_tid = c.child_tid;
  args.tls = c.tls;
  args.pidfd = c.pidfd;
  return DoClone(t, args);
}

// ---- execve ----

namespace {

SysResult<uint64_t> DoExecve(Task& t, const std::string& path, GuestAddr argv,
                             GuestAddr envp, const Task::ExecTarget& target) {
  uint64_t budget = t.ExecArgBudget();
  SENTRY_ASSIGN_OR_RETURN(std::vector<std::string> args,
                          t.CopyInStringArray(argv, &budget));
  SENTRY_ASSIGN_OR_RETURN(std::vector<std::string> env,
                          t.CopyInStringArray(envp, &budget));
  if (path.empty()) return Errno(ENOENT);
  SENTRY_RETURN_IF_ERROR(
      t.Execve(path, std::move(args), std::move(env), target));
  return 0;
}

}  // namespace

// Implements Linux syscall execve(2).
SENTRY_SYSCALL(SysExecve) {
  SENTRY_ASSIGN_OR_RETURN(std::string path, t.CopyInPath(a.Addr(0)));
  return DoExecve(t, path, a.Addr(1), a.Addr(2), Task::ExecTarget());
}

// Implements Linux syscall execveat(2): a path relative to dirfd, or with
// AT_EMPTY_PATH the file dirfd itself (through /proc/self/fd, as fexecve
// does).
SENTRY_SYSCALL(SysExecveat) {
  int dirfd = a.Int(0);
  int flags = a.Int(4);
  if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) != 0) {
    return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(std::string path,
                          t.CopyInString(a.Addr(1), vfs::kMaxPath - 1));
  Task::ExecTarget target;
  if (path.empty()) {
    if ((flags & AT_EMPTY_PATH) == 0) return Errno(ENOENT);
    bool cloexec = false;
    SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                            t.fds().Get(dirfd, &cloexec));
    // The program's own name is "/dev/fd/N", as Linux passes to a script's
    // interpreter; comm is the file's name.
    path = "/dev/fd/" + std::to_string(dirfd);
    target.file = f->vd();
    target.script_inaccessible = cloexec;
    target.comm = f->vd().dentry->name();
  } else if (path[0] != '/' && dirfd != AT_FDCWD) {
    SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> dir,
                            t.GetFile(dirfd, /*allow_path=*/true));
    if (!dir->inode()->IsDir()) return Errno(ENOTDIR);
    path = t.PathOf(dir->vd()) + "/" + path;
  }
  if ((flags & AT_SYMLINK_NOFOLLOW) != 0 && !target.file) {
    SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, t.PathContextAt(AT_FDCWD));
    vfs::Resolver r(t, *pc.ns, pc.root, pc.start);
    vfs::ResolveOptions opts;
    opts.follow_final = false;
    SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, r.Resolve(path, opts));
    if (vd.dentry->inode()->IsSymlink()) return Errno(ELOOP);
  }
  return DoExecve(t, path, a.Addr(2), a.Addr(3), target);
}

// ---- wait ----

namespace {

struct WaitRequest {
  idtype_t which = P_ALL;
  int id = 0;
  int options = 0;
  std::shared_ptr<ThreadGroup> pidfd_target;
};

struct WaitResult {
  int pid = 0;
  int status = 0;        // as wait4 encodes it
  int code = 0;          // CLD_*
  int child_status = 0;  // si_status
  uint32_t uid = 0;
  kernel::Usage usage;
};

struct rusage ToRusage(const kernel::Usage& u) {
  struct rusage r = {};
  r.ru_utime = absl::ToTimeval(absl::UnixEpoch() + u.user);
  r.ru_stime = absl::ToTimeval(absl::UnixEpoch() + u.sys);
  r.ru_maxrss = static_cast<long>(u.maxrss_kb);
  return r;
}

bool Selects(const WaitRequest& r,
             const ThreadGroup* c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  switch (r.which) {
    case P_PID:
      if (c->tgid() != r.id) return false;
      break;
    case P_PGID:
      if (c->pgid != r.id) return false;
      break;
    case P_PIDFD:
      if (c != r.pidfd_target.get()) return false;
      break;
    default:
      break;
  }
  if ((r.options & __WALL) != 0) return true;
  // A child whose exit signal is not SIGCHLD is a "clone" child.
  bool clone_child = c->exit_signal != SIGCHLD;
  return ((r.options & __WCLONE) != 0) == clone_child;
}

// Finds a child whose state change the request accepts. Returns nullopt
// with WNOHANG when none has one yet; ECHILD when none could ever.
SysResult<std::optional<WaitResult>> DoWait(Task& t, const WaitRequest& r) {
  ScopedWait w(&t.tg().child_events(), t.waiter(), kEventAll);
  for (;;) {
    {
      absl::MutexLock l(&t.kernel().mu());
      ThreadGroup& self = t.tg();
      bool any = false;
      for (auto& [id, c] : self.children) {
        if (!Selects(r, c)) continue;
        // __WNOTHREAD: only children this very thread created.
        if ((r.options & __WNOTHREAD) != 0 && c->parent_tid != t.tid())
          continue;
        any = true;
        bool keep = (r.options & WNOWAIT) != 0;
        if (c->zombie && (r.options & WEXITED) != 0) {
          WaitResult res;
          res.pid = c->tgid();
          res.status = c->exit_status.WaitStatus();
          res.code = c->exit_status.SigChldCode();
          res.child_status = c->exit_status.SigChldStatus();
          res.uid = c->exit_uid;
          res.usage = c->exited_usage;
          res.usage.Add(c->children_usage);
          if (!keep) {
            self.children_usage.Add(res.usage);
            t.kernel().ReapLocked(c);
          }
          return std::optional<WaitResult>(res);
        }
        if (c->zombie) continue;
        if (c->stop_report != 0 && (r.options & WUNTRACED) != 0) {
          WaitResult res;
          res.pid = c->tgid();
          res.status = (c->stop_report << 8) | 0x7f;
          res.code = CLD_STOPPED;
          res.child_status = c->stop_report;
          res.uid = c->tasks.empty() ? 0 : c->tasks.front()->GetCreds().ruid;
          res.usage = t.kernel().GroupUsageLocked(c);
          if (!keep) c->stop_report = 0;
          return std::optional<WaitResult>(res);
        }
        if (c->continue_report && (r.options & WCONTINUED) != 0) {
          WaitResult res;
          res.pid = c->tgid();
          res.status = 0xffff;
          res.code = CLD_CONTINUED;
          res.child_status = SIGCONT;
          res.uid = c->tasks.empty() ? 0 : c->tasks.front()->GetCreds().ruid;
          res.usage = t.kernel().GroupUsageLocked(c);
          if (!keep) c->continue_report = false;
          return std::optional<WaitResult>(res);
        }
      }
      if (!any) return Errno(ECHILD);
      if ((r.options & WNOHANG) != 0) return std::optional<WaitResult>();
    }
    SysResult<void> b = t.Block(std::nullopt);
    if (!b.ok() && b.err() != ETIMEDOUT) return b.error();
  }
}

}  // namespace

// Implements Linux syscall wait4(2).
SENTRY_SYSCALL(SysWait4) {
  int pid = a.Int(0);
  int options = a.Int(2);
  if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL |
                   __WCLONE)) != 0) {
    return Errno(EINVAL);
  }
  WaitRequest r;
  r.options = options | WEXITED;
  if (pid < -1) {
    if (pid == INT32_MIN) return Errno(ESRCH);
    r.which = P_PGID;
    r.id = -pid;
  } else if (pid == -1) {
    r.which = P_ALL;
  } else if (pid == 0) {
    r.which = P_PGID;
    r.id = t.kernel().Info(t.tg()).pgid;
  } else {
    r.which = P_PID;
    r.id = pid;
  }
  SENTRY_ASSIGN_OR_RETURN(std::optional<WaitResult> res, DoWait(t, r));
  if (!res) return 0;
  if (!a.Addr(1).IsNull()) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutObj(a.Addr(1), static_cast<int32_t>(res->status)));
  }
  if (!a.Addr(3).IsNull()) {
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(3), ToRusage(res->usage)));
  }
  return static_cast<uint64_t>(res->pid);
}

// Implements Linux syscall waitid(2).
SENTRY_SYSCALL(SysWaitid) {
  int which = a.Int(0);
  int id = a.Int(1);
  int options = a.Int(3);
  if ((options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED |
                   __WNOTHREAD | __WCLONE | __WALL)) != 0) {
    return Errno(EINVAL);
  }
  if ((options & (WEXITED | WSTOPPED | WCONTINUED)) == 0) return Errno(EINVAL);
  WaitRequest r;
  r.options = options;
  switch (which) {
    case P_ALL:
      r.which = P_ALL;
      break;
    case P_PID:
      if (id <= 0) return Errno(EINVAL);
      r.which = P_PID;
      r.id = id;
      break;
    case P_PGID:
      if (id < 0) return Errno(EINVAL);
      r.which = P_PGID;
      r.id = id == 0 ? t.kernel().Info(t.tg()).pgid : id;
      break;
    case P_PIDFD: {
      if (id < 0) return Errno(EINVAL);
      SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                              t.GetFile(id));
      auto* pf = dynamic_cast<kernel::PidFD*>(f.get());
      if (pf == nullptr) return Errno(EBADF);
      r.which = P_PIDFD;
      r.pidfd_target = pf->tg();
      break;
    }
    default:
      return Errno(EINVAL);
  }
  SENTRY_ASSIGN_OR_RETURN(std::optional<WaitResult> res, DoWait(t, r));
  if (!a.Addr(2).IsNull()) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (res) {
      info.si_signo = SIGCHLD;
      info.si_code = res->code;
      info.si_pid = res->pid;
      info.si_uid = res->uid;
      info.si_status = res->child_status;
    }
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), info));
  }
  if (!a.Addr(4).IsNull()) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutObj(a.Addr(4), ToRusage(res ? res->usage : kernel::Usage{})));
  }
  return 0;
}

// ---- Thread bookkeeping ----

// Implements Linux syscall set_tid_address(2).
SENTRY_SYSCALL(SysSetTidAddress) {
  t.clear_child_tid = a.U64(0);
  return static_cast<uint64_t>(t.tid());
}

// Implements Linux syscall set_robust_list(2).
SENTRY_SYSCALL(SysSetRobustList) {
  if (a.U64(1) != 24) return Errno(EINVAL);  // sizeof(struct robust_list_head)
  t.robust_list_head = a.U64(0);
  return 0;
}

// Implements Linux syscall get_robust_list(2).
SENTRY_SYSCALL(SysGetRobustList) {
  int pid = a.Int(0);
  // The length is always sizeof(struct robust_list_head), set or not.
  uint64_t head = t.robust_list_head, len = 24;
  if (pid != 0 && pid != t.tid()) {
    std::shared_ptr<Task> other = t.kernel().FindTask(pid);
    if (other == nullptr) return Errno(ESRCH);
    // Another process's list needs the right to trace it.
    SENTRY_RETURN_IF_ERROR(CheckPtraceAccess(t, *other));
    head = other->robust_list_head;
  }
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), head));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), len));
  return 0;
}

// Implements Linux syscall arch_prctl(2).
SENTRY_SYSCALL(SysArchPrctl) {
  // TASK_SIZE_MAX: Linux refuses any base at or above it.
  constexpr uint64_t kCanonicalLimit = 0x7ffffffff000;
  uint64_t addr = a.U64(1);
  switch (a.Int(0)) {
    case ARCH_SET_FS:
      if (addr >= kCanonicalLimit) return Errno(EPERM);
      t.regs().fs_base = addr;
      return 0;
    case ARCH_SET_GS:
      if (addr >= kCanonicalLimit) return Errno(EPERM);
      t.regs().gs_base = addr;
      return 0;
    case ARCH_GET_FS:
      SENTRY_RETURN_IF_ERROR(
          t.CopyOutObj(a.Addr(1), static_cast<uint64_t>(t.regs().fs_base)));
      return 0;
    case ARCH_GET_GS:
      SENTRY_RETURN_IF_ERROR(
          t.CopyOutObj(a.Addr(1), static_cast<uint64_t>(t.regs().gs_base)));
      return 0;
    case ARCH_GET_CPUID:
      return 1;  // CPUID is not faulting
    case ARCH_SET_CPUID:
      return Errno(ENODEV);  // as on CPUs without CPUID faulting
    default:
      return Errno(EINVAL);
  }
}

namespace {

// seccomp(2)'s operations, shared with prctl(PR_SET_SECCOMP).
SysResult<uint64_t> Seccomp(Task& t, uint64_t op, uint64_t flags,
                            GuestAddr uargs) {
  constexpr uint64_t kFilterFlags = SECCOMP_FILTER_FLAG_TSYNC |
                                    SECCOMP_FILTER_FLAG_LOG |
                                    SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  switch (op) {
    case SECCOMP_SET_MODE_STRICT:
      if (flags != 0 || uargs.value() != 0) return Errno(EINVAL);
      if (t.seccomp_mode() == SECCOMP_MODE_FILTER) return Errno(EINVAL);
      t.SetSeccomp(SECCOMP_MODE_STRICT, nullptr);
      return 0;
    case SECCOMP_SET_MODE_FILTER: {
      // NEW_LISTENER (user notification) and the rest are not carried
      // out: refused as a kernel without them refuses them.
      if ((flags & ~kFilterFlags) != 0) return Errno(EINVAL);
      struct sock_fprog fprog;
      SENTRY_RETURN_IF_ERROR(t.CopyInObj(uargs, &fprog));
      // Linux's order of checks, and so of errors.
      if (fprog.len == 0 || fprog.len > BPF_MAXINSNS) return Errno(EINVAL);
      // A filter could trick a set-user-ID program: only with
      // no_new_privs or CAP_SYS_ADMIN.
      if (!t.no_new_privs &&
          !t.creds().HasCapability(auth::Capability::kSysAdmin)) {
        return Errno(EACCES);
      }
      if (fprog.filter == nullptr) return Errno(EINVAL);
      std::vector<struct sock_filter> prog(fprog.len);
      SENTRY_RETURN_IF_ERROR(
          t.CopyInFull(GuestAddr(reinterpret_cast<uint64_t>(fprog.filter)),
                       prog.data(), prog.size() * sizeof(prog[0])));
      if (t.seccomp_mode() == SECCOMP_MODE_STRICT) return Errno(EINVAL);
      SENTRY_ASSIGN_OR_RETURN(
          std::shared_ptr<const kernel::SeccompFilter> filter,
          kernel::SeccompFilter::Load(std::move(prog), t.seccomp_filter()));
      if ((flags & SECCOMP_FILTER_FLAG_TSYNC) == 0) {
        t.SetSeccomp(SECCOMP_MODE_FILTER, std::move(filter));
        return 0;
      }
      // Every thread of the process gets it, if each one's filters are
      // the caller's or older; else the first that is not is named.
      absl::MutexLock l(&t.kernel().mu());
      for (kernel::Task* o : t.tg().tasks) {
        if (o != &t && (o->seccomp_mode() == SECCOMP_MODE_STRICT ||
                        !filter->Extends(o->seccomp_filter().get()))) {
          return static_cast<uint64_t>(o->tid());
        }
      }
      for (kernel::Task* o : t.tg().tasks) {
        o->SetSeccomp(SECCOMP_MODE_FILTER, filter);
        if (t.no_new_privs) o->no_new_privs = true;
      }
      return 0;
    }
    case SECCOMP_GET_ACTION_AVAIL: {
      if (flags != 0) return Errno(EINVAL);
      uint32_t action;
      SENTRY_RETURN_IF_ERROR(t.CopyInObj(uargs, &action));
      if (!kernel::SeccompActionAvailable(action)) return Errno(EOPNOTSUPP);
      return 0;
    }
    case SECCOMP_GET_NOTIF_SIZES: {
      if (flags != 0) return Errno(EINVAL);
      struct seccomp_notif_sizes sizes = {sizeof(struct seccomp_notif),
                                          sizeof(struct seccomp_notif_resp),
                                          sizeof(struct seccomp_data)};
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(uargs, sizes));
      return 0;
    }
    default:
      return Errno(EINVAL);
  }
}

}  // namespace

// Implements Linux syscall seccomp(2).
SENTRY_SYSCALL(SysSeccomp) { return Seccomp(t, a.U64(0), a.U64(1), a.Addr(2)); }

// Implements Linux syscall prctl(2): the options listed in the table note.
SENTRY_SYSCALL(SysPrctl) {
  switch (a.Int(0)) {
    case PR_SET_NAME: {
      char name[16] = {};
      SENTRY_ASSIGN_OR_RETURN(size_t n,
                              t.CopyIn(a.Addr(1), name, sizeof(name) - 1));
      t.set_comm(std::string(name, strnlen(name, n)));
      return 0;
    }
    case PR_GET_NAME: {
      char name[16] = {};
      std::string comm = t.comm();
      memcpy(name, comm.data(), std::min(comm.size(), sizeof(name) - 1));
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), name));
      return 0;
    }
    case PR_GET_DUMPABLE: {
      absl::MutexLock l(&t.kernel().mu());
      return t.tg().dumpable ? 1 : 0;
    }
    case PR_SET_DUMPABLE: {
      if (a.U64(1) > 1) return Errno(EINVAL);
      absl::MutexLock l(&t.kernel().mu());
      t.tg().dumpable = a.U64(1) == 1;
      return 0;
    }
    case PR_SET_NO_NEW_PRIVS:
      if (a.U64(1) != 1 || a.U64(2) != 0 || a.U64(3) != 0 || a.U64(4) != 0)
        return Errno(EINVAL);
      // Recorded and inherited across fork and exec. Nothing in the
      // sandbox grants privileges on exec (set-user-ID bits are not
      // honoured) for it to withhold.
      t.no_new_privs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (a.U64(1) != 0 || a.U64(2) != 0 || a.U64(3) != 0 || a.U64(4) != 0)
        return Errno(EINVAL);
      return t.no_new_privs ? 1 : 0;
    case PR_SET_PDEATHSIG: {
      int sig = a.Int(1);
      if (sig < 0 || sig > kernel::kMaxSignal) return Errno(EINVAL);
      absl::MutexLock l(&t.kernel().mu());
      t.pdeath_signal = sig;
      return 0;
    }
    case PR_GET_PDEATHSIG: {
      int32_t sig;
      {
        absl::MutexLock l(&t.kernel().mu());
        sig = t.pdeath_signal;
      }
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), sig));
      return 0;
    }
    case PR_SET_CHILD_SUBREAPER: {
      absl::MutexLock l(&t.kernel().mu());
      t.tg().subreaper = a.U64(1) != 0;
      return 0;
    }
    case PR_GET_CHILD_SUBREAPER: {
      int32_t v;
      {
        absl::MutexLock l(&t.kernel().mu());
        v = t.tg().subreaper ? 1 : 0;
      }
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), v));
      return 0;
    }
    case PR_SET_KEEPCAPS:
      if (a.U64(1) > 1) return Errno(EINVAL);
      t.keep_caps = a.U64(1) == 1;
      return 0;
    case PR_GET_KEEPCAPS:
      return t.keep_caps ? 1 : 0;
    case PR_GET_SECCOMP:
      return static_cast<uint64_t>(t.seccomp_mode());
    case PR_SET_SECCOMP:
      if (a.U64(1) == SECCOMP_MODE_STRICT)
        return Seccomp(t, SECCOMP_SET_MODE_STRICT, 0, GuestAddr(0));
      if (a.U64(1) == SECCOMP_MODE_FILTER)
        return Seccomp(t, SECCOMP_SET_MODE_FILTER, 0, a.Addr(2));
      return Errno(EINVAL);
    case PR_CAPBSET_READ:
      if (a.U64(1) > CAP_LAST_CAP) return Errno(EINVAL);
      return (t.creds().cap_bounding >> a.U64(1)) & 1;
    case PR_CAPBSET_DROP: {
      if (a.U64(1) > CAP_LAST_CAP) return Errno(EINVAL);
      if (((t.creds().cap_effective >> CAP_SETPCAP) & 1) == 0) {
        return Errno(EPERM);
      }
      auth::Credentials c = t.creds();
      c.cap_bounding &= ~(1ULL << a.U64(1));
      t.set_creds(std::move(c));
      return 0;
    }
    default:
      return Errno(EINVAL);
  }
}

// Implements Linux syscall uname(2).
SENTRY_SYSCALL(SysUname) {
  struct utsname host;
  uname(&host);
  struct utsname u = {};
  strncpy(u.sysname, "Linux", sizeof(u.sysname) - 1);
  strncpy(u.nodename, t.kernel().hostname().c_str(), sizeof(u.nodename) - 1);
  // The release of the host: programs size their feature checks by it, and
  // the sentry implements the same ABI.
  memcpy(u.release, host.release, sizeof(u.release));
  strncpy(u.version, "#1 SMP uksandbox", sizeof(u.version) - 1);
  strncpy(u.machine, "x86_64", sizeof(u.machine) - 1);
  strncpy(u.domainname, "(none)", sizeof(u.domainname) - 1);
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), u));
  return 0;
}

// Implements Linux syscall sysinfo(2).
SENTRY_SYSCALL(SysSysinfo) {
  struct sysinfo host;
  if (sysinfo(&host) != 0) return Errno::FromHost();
  struct sysinfo s = {};
  s.uptime = static_cast<long>(
      absl::ToInt64Seconds(absl::Now() - t.kernel().boot_time()));
  s.totalram = host.totalram;
  s.freeram = host.freeram;
  s.sharedram = host.sharedram;
  s.bufferram = host.bufferram;
  s.mem_unit = host.mem_unit;
  s.procs = static_cast<unsigned short>(t.kernel().TaskCount());
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), s));
  return 0;
}

// Implements Linux syscall getrandom(2).
SENTRY_SYSCALL(SysGetrandom) {
  unsigned int flags = a.U32(2);
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) != 0 ||
      (flags & (GRND_RANDOM | GRND_INSECURE)) ==
          (GRND_RANDOM | GRND_INSECURE)) {
    return Errno(EINVAL);
  }
  size_t len = std::min<uint64_t>(a.U64(1), 33554431);  // Linux's cap per call
  if (!RangeOk(t, a.Addr(0), len)) return Errno(EFAULT);
  char buf[4096];
  size_t done = 0;
  while (done < len) {
    size_t n = std::min(len - done, sizeof(buf));
    if (getrandom(buf, n, 0) != static_cast<ssize_t>(n))
      return Errno::FromHost();
    SysResult<size_t> c = t.CopyOut(GuestAddr(a.U64(0) + done), buf, n);
    if (!c.ok() || *c == 0) {
      if (done > 0) break;
      return Errno(EFAULT);
    }
    done += *c;
    if (*c < n) break;
  }
  return done;
}

// ---- Resource limits ----

namespace {

// The process `pid` names for prlimit (0: the caller's), checking that the
// caller may change its limits.
SysResult<std::shared_ptr<ThreadGroup>> RlimitTarget(Task& t, int pid) {
  if (pid == 0 || pid == t.tgid()) return t.tg_ptr();
  std::shared_ptr<ThreadGroup> g = t.kernel().FindThreadGroup(pid);
  if (g == nullptr) return Errno(ESRCH);
  absl::MutexLock l(&t.kernel().mu());
  if (g->zombie || g->tasks.empty()) return Errno(ESRCH);
  const auth::Credentials& me = t.creds();
  auth::Credentials them = g->tasks.front()->GetCreds();
  // Linux: same real, effective and saved ids, or CAP_SYS_RESOURCE.
  if (!me.HasCapability(auth::Capability::kSysResource) &&
      !(me.ruid == them.ruid && me.ruid == them.euid && me.ruid == them.suid &&
        me.rgid == them.rgid && me.rgid == them.egid && me.rgid == them.sgid)) {
    return Errno(EPERM);
  }
  return g;
}

SysResult<void> SetRlimit(Task& t, ThreadGroup& g, int resource,
                          const struct rlimit& lim) {
  if (lim.rlim_cur > lim.rlim_max) return Errno(EINVAL);
  struct rlimit old = g.GetRlimit(resource);
  if (lim.rlim_max > old.rlim_max &&
      !t.creds().HasCapability(auth::Capability::kSysResource)) {
    return Errno(EPERM);
  }
  if (resource == RLIMIT_NOFILE && lim.rlim_max > (1u << 20))
    return Errno(EPERM);  // nr_open
  g.SetRlimit(resource, lim);
  if (resource == RLIMIT_CPU) {
    absl::MutexLock l(&t.kernel().mu());
    g.next_xcpu = lim.rlim_cur == RLIM_INFINITY
                      ? absl::InfiniteDuration()
                      : absl::Seconds(static_cast<int64_t>(lim.rlim_cur));
    t.kernel().EnsureCpuTickLocked();
  }
  if (resource == RLIMIT_AS && &g == &t.tg() && t.has_mm()) {
    t.mm().set_as_limit(lim.rlim_cur);
  }
  return Ok();
}

}  // namespace

// Implements Linux syscall prlimit64(2).
SENTRY_SYSCALL(SysPrlimit64) {
  int resource = a.Int(1);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<ThreadGroup> g,
                          RlimitTarget(t, a.Int(0)));
  struct rlimit old = g->GetRlimit(resource);
  if (!a.Addr(2).IsNull()) {
    struct rlimit lim;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &lim));
    SENTRY_RETURN_IF_ERROR(SetRlimit(t, *g, resource, lim));
  }
  if (!a.Addr(3).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(3), old));
  return 0;
}

// Implements Linux syscall getrlimit(2).
SENTRY_SYSCALL(SysGetrlimit) {
  int resource = a.Int(0);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), t.tg().GetRlimit(resource)));
  return 0;
}

// Implements Linux syscall setrlimit(2).
SENTRY_SYSCALL(SysSetrlimit) {
  int resource = a.Int(0);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  struct rlimit lim;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &lim));
  SENTRY_RETURN_IF_ERROR(SetRlimit(t, t.tg(), resource, lim));
  return 0;
}

// ---- Scheduling ----

namespace {

// A task named by a scheduler call's pid (0: the caller), or ESRCH.
// The task `pid` names (0: the caller). A negative pid is EINVAL for most
// calls and ESRCH for the affinity calls, which look it up as any other.
SysResult<std::shared_ptr<Task>> SchedTarget(Task& t, int pid,
                                             int negative = EINVAL) {
  if (pid < 0) return Errno(negative);
  if (pid == 0) return t.shared_from_this();
  std::shared_ptr<Task> other = t.kernel().FindTask(pid);
  if (other == nullptr) return Errno(ESRCH);
  return other;
}

}  // namespace

// Implements Linux syscall sched_yield(2).
SENTRY_SYSCALL(SysSchedYield) {
  sched_yield();
  return 0;
}

// Implements Linux syscall sched_getaffinity(2): every CPU the sandbox may
// use, unless the task narrowed its own set.
SENTRY_SYSCALL(SysSchedGetaffinity) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> target,
                          SchedTarget(t, a.Int(0), ESRCH));
  uint64_t size = a.U64(1);
  long ncpu = t.kernel().ncpus();
  uint64_t need = ((static_cast<uint64_t>(ncpu) + 63) / 64) * 8;
  if (size < need || size % sizeof(unsigned long) != 0) return Errno(EINVAL);
  std::vector<uint8_t> mask(need, 0);
  uint64_t allowed = target->affinity.load();
  for (long c = 0; c < ncpu && c < 64; c++) {
    if ((allowed >> c) & 1) mask[c / 8] |= static_cast<uint8_t>(1 << (c % 8));
  }
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(a.Addr(2), mask.data(), mask.size()));
  return need;
}

// Implements Linux syscall sched_setaffinity(2): the task's host thread,
// and the stub thread that runs its guest code, move to the set.
SENTRY_SYSCALL(SysSchedSetaffinity) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> target,
                          SchedTarget(t, a.Int(0), ESRCH));
  uint64_t size = std::min<uint64_t>(a.U64(1), 4096);
  std::vector<uint8_t> mask(size, 0);
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(a.Addr(2), mask.data(), size));
  uint64_t set = 0;
  long ncpu = std::min<long>(t.kernel().ncpus(), 64);
  for (long c = 0; c < ncpu && static_cast<uint64_t>(c / 8) < size; c++) {
    if ((mask[c / 8] >> (c % 8)) & 1) set |= 1ULL << c;
  }
  if (set == 0) return Errno(EINVAL);
  target->SetAffinity(set);
  // The caller's own set applies before it returns: getcpu at once
  // reports a CPU of the new set.
  if (target.get() == &t) {
    t.ApplyAffinityNow();
  }
  return 0;
}

// Implements Linux syscall sched_getparam(2): every task is SCHED_OTHER.
SENTRY_SYSCALL(SysSchedGetparam) {
  if (a.Addr(1).IsNull()) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(SchedTarget(t, a.Int(0)).status());
  struct sched_param p = {};
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), p));
  return 0;
}

// Implements Linux syscall sched_rr_get_interval(2): 0 for the policies
// the sandbox runs (no task is SCHED_RR), as Linux reports for them.
SENTRY_SYSCALL(SysSchedRrGetInterval) {
  SENTRY_RETURN_IF_ERROR(SchedTarget(t, a.Int(0)).status());
  struct timespec ts = {0, 0};
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), ts));
  return 0;
}

// Implements Linux syscall sched_getscheduler(2).
SENTRY_SYSCALL(SysSchedGetscheduler) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> target,
                          SchedTarget(t, a.Int(0)));
  return static_cast<uint64_t>(target->sched_policy.load());
}

namespace {

SysResult<uint64_t> SetScheduler(Task& t, int pid, int policy,
                                 GuestAddr param) {
  // -1 is sched_setparam's "keep the policy"; other negatives are bad.
  if (policy != -1) {
    if (policy < 0) return Errno(EINVAL);
    policy &= ~SCHED_RESET_ON_FORK;
  }
  if (param.IsNull()) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> target, SchedTarget(t, pid));
  struct sched_param p;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(param, &p));
  if (policy == -1) policy = target->sched_policy.load();  // sched_setparam
  switch (policy) {
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
      if (p.sched_priority != 0) return Errno(EINVAL);
      target->sched_policy.store(policy);
      return 0;
    case SCHED_FIFO:
    case SCHED_RR:
      if (p.sched_priority < 1 || p.sched_priority > 99) return Errno(EINVAL);
      return Errno(EPERM);
    default:
      return Errno(EINVAL);
  }
}

}  // namespace

// Implements Linux syscall sched_setscheduler(2): SCHED_OTHER, SCHED_BATCH
// and SCHED_IDLE are accepted (priority 0) and recorded; real-time
// policies need CAP_SYS_NICE, which is never granted.
SENTRY_SYSCALL(SysSchedSetscheduler) {
  return SetScheduler(t, a.Int(0), a.Int(1), a.Addr(2));
}

// Implements Linux syscall sched_setparam(2).
SENTRY_SYSCALL(SysSchedSetparam) {
  return SetScheduler(t, a.Int(0), -1, a.Addr(1));
}

// Implements Linux syscall sched_get_priority_max(2).
SENTRY_SYSCALL(SysSchedGetPriorityMax) {
  switch (a.Int(0)) {
    case SCHED_FIFO:
    case SCHED_RR:
      return 99;
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
      return 0;
    default:
      return Errno(EINVAL);
  }
}

// Implements Linux syscall sched_get_priority_min(2).
SENTRY_SYSCALL(SysSchedGetPriorityMin) {
  switch (a.Int(0)) {
    case SCHED_FIFO:
    case SCHED_RR:
      return 1;
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
      return 0;
    default:
      return Errno(EINVAL);
  }
}

namespace {

// Calls fn on every thread getpriority/setpriority's (which, who) names:
// a thread, a process group's threads, or a user's. EINVAL for another
// `which`.
template <typename Fn>
SysResult<void> ForEachPriorityTarget(Task& t, int which, int who, Fn fn)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  switch (which) {
    case PRIO_PROCESS: {
      Task* x = who == 0 ? &t : t.kernel().FindTaskLocked(who);
      if (x != nullptr) fn(x);
      return Ok();
    }
    case PRIO_PGRP: {
      int pgid = who == 0 ? t.tg().pgid : who;
      for (ThreadGroup* g : t.kernel().ProcessGroupLocked(pgid)) {
        for (Task* x : g->tasks) fn(x);
      }
      return Ok();
    }
    case PRIO_USER: {
      uint32_t uid = who == 0 ? t.creds().ruid : static_cast<uint32_t>(who);
      for (Task* x : t.kernel().AllTasksLocked()) {
        if (x->GetCreds().ruid == uid) fn(x);
      }
      return Ok();
    }
    default:
      return Errno(EINVAL);
  }
}

}  // namespace

// Implements Linux syscall getpriority(2) for PRIO_PROCESS (a thread),
// PRIO_PGRP and PRIO_USER. Returns 20 - nice, as the raw system call does.
SENTRY_SYSCALL(SysGetpriority) {
  int best = -100;
  absl::MutexLock l(&t.kernel().mu());
  SENTRY_RETURN_IF_ERROR(ForEachPriorityTarget(
      t, a.Int(0), a.Int(1),
      [&](Task* x) { best = std::max(best, 20 - x->nice.load()); }));
  if (best == -100) return Errno(ESRCH);
  return static_cast<uint64_t>(best);
}

// Implements Linux syscall setpriority(2). Nice values are recorded and
// reported; lowering one (raising priority) needs CAP_SYS_NICE.
SENTRY_SYSCALL(SysSetpriority) {
  int nice = std::clamp(a.Int(2), -20, 19);
  bool can_raise = t.creds().euid == 0;
  bool found = false;
  int err = 0;
  absl::MutexLock l(&t.kernel().mu());
  SENTRY_RETURN_IF_ERROR(
      ForEachPriorityTarget(t, a.Int(0), a.Int(1), [&](Task* x) {
        found = true;
        auth::Credentials c = x->GetCreds();
        if (c.euid != t.creds().euid && c.ruid != t.creds().euid &&
            t.creds().euid != 0) {
          err = EPERM;
          return;
        }
        if (nice < x->nice.load() && !can_raise) {
          err = EACCES;
          return;
        }
        x->nice.store(nice);
      }));
  if (!found) return Errno(ESRCH);
  if (err != 0) return Errno(err);
  return 0;
}

// Implements Linux syscall getcpu(2).
SENTRY_SYSCALL(SysGetcpu) {
  unsigned cpu = 0, node = 0;
  if (getcpu(&cpu, &node) != 0) return Errno::FromHost();
  if (!a.Addr(0).IsNull()) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), cpu));
  if (!a.Addr(1).IsNull())
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), node));
  return 0;
}

}  // namespace sentry::syscalls
