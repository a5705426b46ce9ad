#include "sentry/kernel/kernel.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "sentry/kernel/job_control.h"
#include "sentry/kernel/task.h"

namespace sentry::kernel {

namespace {

// Linux's defaults for a fresh init process.
void DefaultRlimits(struct rlimit* lim) {
  for (int i = 0; i < RLIM_NLIMITS; i++)
    lim[i] = {RLIM_INFINITY, RLIM_INFINITY};
  lim[RLIMIT_STACK] = {8 << 20, RLIM_INFINITY};
  lim[RLIMIT_CORE] = {0, RLIM_INFINITY};
  lim[RLIMIT_NOFILE] = {1024, 1 << 20};
  lim[RLIMIT_NPROC] = {63476, 63476};
  lim[RLIMIT_MEMLOCK] = {8 << 20, 8 << 20};
  lim[RLIMIT_SIGPENDING] = {63476, 63476};
  lim[RLIMIT_MSGQUEUE] = {819200, 819200};
  lim[RLIMIT_NICE] = {0, 0};
  lim[RLIMIT_RTPRIO] = {0, 0};
}

// Pids wrap here, as with Linux's default pid_max on small machines.
constexpr int kPidMax = 32768;

// How often CPU-time timers are checked while any is armed.
constexpr absl::Duration kCpuTick = absl::Milliseconds(10);

// Each task's host thread: small stacks, since a sandbox may hold
// thousands.
constexpr size_t kTaskThreadStack = 1 << 20;

bool IsCpuClock(clockid_t clk) {
  return clk < 0 || clk == CLOCK_PROCESS_CPUTIME_ID ||
         clk == CLOCK_THREAD_CPUTIME_ID;
}

int64_t ClockTicks(absl::Duration d) {
  return absl::ToInt64Milliseconds(d) / 10;  // USER_HZ = 100
}

}  // namespace

int ExitStatus::SigChldCode() const {
  if (signal == 0) return CLD_EXITED;
  return core ? CLD_DUMPED : CLD_KILLED;
}

std::shared_ptr<FsContext> FsContext::Copy() const {
  auto c = std::make_shared<FsContext>();
  absl::MutexLock l(&mu);
  absl::MutexLock l2(&c->mu);
  c->root = root;
  c->cwd = cwd;
  c->umask = umask;
  return c;
}

ThreadGroup::ThreadGroup(Kernel* kernel, int tgid)
    : kernel_(kernel), tgid_(tgid), start_time_(absl::Now()) {
  DefaultRlimits(rlimits_);
}

bool ThreadGroup::HasCpuTimers() const {
  if (itimer_virtual.armed || itimer_prof.armed) return true;
  if (next_xcpu != absl::InfiniteDuration()) return true;
  for (const auto& [id, pt] : posix_timers) {
    if (pt.armed && IsCpuClock(pt.clock)) return true;
  }
  return false;
}

struct rlimit ThreadGroup::GetRlimit(int resource) const {
  absl::MutexLock l(&mu_);
  return rlimits_[resource];
}

void ThreadGroup::SetRlimit(int resource, struct rlimit lim) {
  absl::MutexLock l(&mu_);
  rlimits_[resource] = lim;
}

void ThreadGroup::CopyRlimitsFrom(const ThreadGroup& other) {
  struct rlimit copy[RLIM_NLIMITS];
  {
    absl::MutexLock l(&other.mu_);
    memcpy(copy, other.rlimits_, sizeof(copy));
  }
  absl::MutexLock l(&mu_);
  memcpy(rlimits_, copy, sizeof(copy));
}

std::shared_ptr<vfs::FileDescription> ThreadGroup::executable() const {
  absl::MutexLock l(&mu_);
  return executable_;
}

void ThreadGroup::set_executable(std::shared_ptr<vfs::FileDescription> f) {
  absl::MutexLock l(&mu_);
  executable_ = std::move(f);
}

ThreadGroup::ArgRange ThreadGroup::args() const {
  absl::MutexLock l(&mu_);
  return args_;
}

void ThreadGroup::set_args(ArgRange r) {
  absl::MutexLock l(&mu_);
  args_ = r;
}

std::vector<uint64_t> ThreadGroup::auxv() const {
  absl::MutexLock l(&mu_);
  return auxv_;
}

void ThreadGroup::set_auxv(std::vector<uint64_t> auxv) {
  absl::MutexLock l(&mu_);
  auxv_ = std::move(auxv);
}

namespace {

absl::Time HostBootTime() {
  struct timespec ts = {};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return absl::Now() - absl::DurationFromTimespec(ts);
}

}  // namespace

Kernel::Kernel(KernelOptions options)
    : options_(std::move(options)),
      boot_time_(HostBootTime()),
      observer_(options_.observer) {}

// Task threads may still be running when the sandbox exits; the process's
// exit ends them. The kernel is never destroyed while guests run.
Kernel::~Kernel() = default;

bool Kernel::PidInUseLocked(int pid) const {
  if (tasks_.count(pid) != 0 || groups_.count(pid) != 0) return true;
  for (const auto& [id, g] : groups_) {
    if (g->pgid == pid || g->sid == pid) return true;
  }
  return false;
}

int Kernel::AllocatePidLocked() {
  for (int i = 0; i < kPidMax; i++) {
    int pid = last_pid_ + 1;
    if (pid >= kPidMax) pid = 2;  // 1 is init's for good
    last_pid_ = pid;
    if (!PidInUseLocked(pid)) return pid;
  }
  return 0;
}

void Kernel::ReportUnimplemented(uint64_t nr) {
  {
    absl::MutexLock l(&mu_);
    if (!reported_.insert(nr).second) return;
  }
  const char* name = syscalls().Name(nr);
  LOG(WARNING) << "unimplemented system call " << (name[0] != '\0' ? name : "?")
               << " (" << nr << "): returning ENOSYS";
}

std::shared_ptr<Task> Kernel::FindTask(int tid) const {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second;
}

Task* Kernel::FindTaskLocked(int tid) const {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

std::shared_ptr<ThreadGroup> Kernel::FindThreadGroup(int tgid) const {
  absl::MutexLock l(&mu_);
  auto it = groups_.find(tgid);
  return it == groups_.end() ? nullptr : it->second;
}

ThreadGroup* Kernel::FindThreadGroupLocked(int tgid) const {
  auto it = groups_.find(tgid);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::vector<int> Kernel::ThreadGroupIds() const {
  absl::MutexLock l(&mu_);
  std::vector<int> ids;
  for (const auto& [tgid, g] : groups_) ids.push_back(tgid);
  return ids;
}

std::vector<Task*> Kernel::AllTasksLocked() const {
  std::vector<Task*> out;
  for (const auto& [tid, t] : tasks_) out.push_back(t.get());
  return out;
}

size_t Kernel::TaskCount() const {
  absl::MutexLock l(&mu_);
  return tasks_.size();
}

Kernel::ProcessInfo Kernel::Info(const ThreadGroup& tg) const {
  absl::MutexLock l(&mu_);
  ProcessInfo i;
  i.ppid = tg.parent != nullptr ? tg.parent->tgid() : 0;
  i.pgid = tg.pgid;
  i.sid = tg.sid;
  i.threads = static_cast<int>(tg.tasks.size());
  i.zombie = tg.zombie;
  i.stopped = tg.stopped;
  return i;
}

std::vector<Kernel::ProcessSummary> Kernel::Processes() const {
  std::vector<ProcessSummary> out;
  std::vector<std::shared_ptr<Task>> any;  // a live thread of each
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, g] : groups_) {
      ProcessSummary p;
      p.pid = id;
      p.ppid = g->parent != nullptr ? g->parent->tgid() : 0;
      p.state = g->zombie ? 'Z' : g->stopped ? 'T' : 'S';
      p.cpu = GroupUsageLocked(g.get()).user + GroupUsageLocked(g.get()).sys;
      p.start = g->start_time();
      p.uid = g->exit_uid;
      std::shared_ptr<Task> t;
      if (!g->tasks.empty()) {
        auto it = tasks_.find(g->tasks.front()->tid());
        if (it != tasks_.end()) t = it->second;
      }
      out.push_back(p);
      any.push_back(std::move(t));
    }
  }
  // Outside the task lock: credentials, names and address spaces have
  // locks of their own.
  for (size_t i = 0; i < out.size(); i++) {
    const std::shared_ptr<Task>& t = any[i];
    if (t == nullptr) continue;
    out[i].uid = t->GetCreds().ruid;
    out[i].comm = t->comm();
    std::shared_ptr<mm::MemoryManager> mm = t->GetMM();
    if (mm) out[i].stub_pid = mm->as().StubPid();
  }
  return out;
}

std::vector<Kernel::TaskActivity> Kernel::Activities() const {
  std::vector<TaskActivity> out;
  std::vector<std::shared_ptr<Task>> tasks;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [tid, t] : tasks_) {
      if (t->exited_locked()) continue;
      TaskActivity a;
      a.tid = tid;
      a.tgid = t->tgid();
      a.stopped = t->group_stopped;
      out.push_back(a);
      tasks.push_back(t);
    }
  }
  for (size_t i = 0; i < out.size(); i++) {  // comm has a lock of its own
    out[i].comm = tasks[i]->comm();
    Task::Activity a = tasks[i]->activity();
    out[i].syscall = a.syscall;
    out[i].ip = a.ip;
    out[i].sp = a.sp;
    out[i].blocked_since_ns = a.blocked_since_ns;
  }
  return out;
}

std::vector<ThreadGroup*> Kernel::ProcessGroupLocked(int pgid) const {
  std::vector<ThreadGroup*> out;
  for (const auto& [id, g] : groups_) {
    if (g->pgid == pgid && !g->zombie) out.push_back(g.get());
  }
  return out;
}

bool Kernel::ProcessGroupExistsInSessionLocked(int pgid, int sid) const {
  for (const auto& [id, g] : groups_) {
    if (g->pgid == pgid && g->sid == sid) return true;
  }
  return false;
}

bool Kernel::OrphanedProcessGroupLocked(int pgid) const {
  for (const auto& [id, g] : groups_) {
    if (g->pgid != pgid || g->zombie) continue;
    ThreadGroup* p = g->parent;
    if (p != nullptr && p->pgid != pgid && p->sid == g->sid) return false;
  }
  return true;
}

void Kernel::StartTaskThread(std::shared_ptr<Task> t,
                             std::function<void(Task&)> start) {
  {
    absl::MutexLock l(&mu_);
    host_threads_++;
  }
  struct Start {
    std::shared_ptr<Task> task;
    std::function<void(Task&)> fn;
  };
  auto* arg = new Start{std::move(t), std::move(start)};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kTaskThreadStack);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int rc = pthread_create(
      &thread, &attr,
      [](void* p) -> void* {
        std::unique_ptr<Start> s(static_cast<Start*>(p));
        Kernel& k = s->task->kernel();
        s->task->Run(std::move(s->fn));
        s.reset();  // the task may be freed here
        absl::MutexLock l(&k.mu_);
        k.host_threads_--;
        return nullptr;
      },
      arg);
  pthread_attr_destroy(&attr);
  // Clone checks the task limit first; a host that cannot make a thread
  // then is out of resources altogether.
  CHECK_EQ(rc, 0) << "pthread_create: " << strerror(rc);
}

void Kernel::StartInit(InitProcess init) {
  CHECK(Start(std::move(init), true).ok());
}

SysResult<std::shared_ptr<ThreadGroup>> Kernel::StartProcess(InitProcess spec) {
  return Start(std::move(spec), false);
}

std::optional<ExitStatus> Kernel::WaitProcess(ThreadGroup& tg,
                                              absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&tg.zombie), timeout)) {
    return std::nullopt;
  }
  return tg.exit_status;
}

SysResult<std::shared_ptr<ThreadGroup>> Kernel::Start(InitProcess init,
                                                      bool is_init) {
  Task::Shared shared;
  std::shared_ptr<Task> task;
  {
    absl::MutexLock l(&mu_);
    if (!is_init) {
      // After init has gone the sandbox is ending; and a process from
      // outside counts against the task limit as a fork would.
      if (init_ == nullptr || init_->zombie || init_->exiting)
        return Errno(ESRCH);
      if (tasks_.size() >= static_cast<size_t>(options_.max_tasks))
        return Errno(EAGAIN);
    }
    int tid = AllocatePidLocked();
    if (tid == 0) return Errno(EAGAIN);
    shared.tg = std::make_shared<ThreadGroup>(this, tid);
    // A session of its own. A process that enters the sandbox from
    // outside has no parent here (ppid 0, as for one that enters a pid
    // namespace): when it ends, nobody inside reaps it.
    shared.tg->pgid = shared.tg->sid = tid;
    shared.fds = std::make_shared<vfs::FdTable>();
    shared.fs = std::make_shared<FsContext>();
    shared.sighand = std::make_shared<SignalHandlers>();
    task = std::make_shared<Task>(this, tid, shared, init.creds);
    for (const auto& [resource, lim] : init.rlimits)
      shared.tg->SetRlimit(resource, lim);
    task->no_new_privs = init.no_new_privs;
    if (options_.seccomp != nullptr)
      task->SetSeccomp(SECCOMP_MODE_FILTER, options_.seccomp);
    if (init.umask) {
      absl::MutexLock fl(&shared.fs->mu);
      shared.fs->umask = *init.umask & 0777;
    }
    if (is_init) {
      init_ = shared.tg.get();
      init_->unkillable = true;
    }
    if (init.tty) {
      shared.tg->tty = init.tty;
      init.tty->sid = init.tty->fg_pgrp = tid;
    }
    groups_[tid] = shared.tg;
    tasks_[tid] = task;
    shared.tg->tasks.push_back(task.get());
    forks_++;
  }
  for (size_t i = 0; i < init.stdio.size(); i++) {
    if (init.stdio[i]) {
      CHECK(shared.fds->Set(static_cast<int>(i), init.stdio[i], false, 1 << 20)
                .ok());
    }
  }
  {
    absl::MutexLock l(&shared.fs->mu);
    shared.fs->root = shared.fs->cwd = mount_ns().Root();
  }
  auto start = [init = std::move(init)](Task& t) mutable {
    // Runs on the new task's thread: the path walk and the load need the
    // task's credentials, and the ptrace platform needs its thread.
    auto report = [&init](int err, const std::string& message) {
      if (init.started) {
        init.started(err, message);
      } else {
        fprintf(stderr, "runsc: %s\n", message.c_str());
      }
    };
    auto fail = [&](int code, const std::string& what, int err) {
      report(err, absl::StrCat(what, ": ", strerror(err)));
      t.ExitGroup(ExitStatus{code, 0, false});
    };
    if (init.argv.empty()) return fail(127, "(no command)", ENOENT);
    std::string cwd = init.cwd.empty() ? "/" : init.cwd;
    {
      SysResult<vfs::PathContext> pc = t.PathContextAt(AT_FDCWD);
      vfs::Resolver r(t, *pc->ns, pc->root, pc->start);
      vfs::ResolveOptions dir;
      dir.must_be_dir = true;
      SysResult<vfs::VirtualDentry> vd = r.Resolve(cwd, dir);
      if (!vd.ok() && init.started) {
        // runc refuses to exec in a missing directory; in its words.
        report(vd.err(), absl::StrCat("chdir to cwd (\"", cwd,
                                      "\") set in config.json failed: ",
                                      strerror(vd.err())));
        t.ExitGroup(ExitStatus{127, 0, false});
        return;
      }
      if (!vd.ok()) {
        // Linux would fail the chdir; a shell then stays in "/".
        LOG(WARNING) << "working directory " << cwd << ": "
                     << strerror(vd.err());
      } else {
        absl::MutexLock l(&t.fs().mu);
        t.fs().cwd = *vd;
      }
    }
    // Find the program as execvp(3) would.
    std::string name = init.argv[0];
    std::vector<std::string> candidates;
    if (name.find('/') != std::string::npos) {
      candidates.push_back(name);
    } else {
      std::string path_env =
          "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
      for (const std::string& e : init.envp) {
        if (e.rfind("PATH=", 0) == 0) path_env = e.substr(5);
      }
      size_t pos = 0;
      while (pos <= path_env.size()) {
        size_t colon = path_env.find(':', pos);
        if (colon == std::string::npos) colon = path_env.size();
        std::string dir = path_env.substr(pos, colon - pos);
        if (dir.empty()) dir = ".";
        candidates.push_back(dir + "/" + name);
        pos = colon + 1;
      }
    }
    int first_err = ENOENT;
    for (const std::string& c : candidates) {
      SysResult<void> r = t.Execve(c, init.argv, init.envp);
      if (r.ok()) {
        if (init.started) init.started(0, "");
        return;
      }
      // Keep looking past files that are missing; remember the first
      // other failure (a file that exists but cannot run) as execvp does.
      if (r.err() != ENOENT && r.err() != ENOTDIR && first_err == ENOENT)
        first_err = r.err();
      if (name.find('/') != std::string::npos) first_err = r.err();
    }
    if (first_err == ENOENT && name.find('/') == std::string::npos) {
      report(ENOENT, absl::StrCat(name, ": command not found"));
      t.ExitGroup(ExitStatus{127, 0, false});
      return;
    }
    fail(first_err == ENOENT ? 127 : 126, name, first_err);
  };
  std::shared_ptr<ThreadGroup> tg = shared.tg;
  StartTaskThread(task, std::move(start));
  return tg;
}

bool Kernel::Pause() {
  {
    absl::MutexLock l(&mu_);
    paused_.store(true);
    for (Task* t : AllTasksLocked()) t->Interrupt();
  }
  // Tasks notice at their next return from guest code; an interrupt
  // brings that about at once.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (running_.load() > 0 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(1));
  return running_.load() == 0;
}

void Kernel::Resume() {
  absl::MutexLock l(&mu_);
  paused_.store(false);
  for (Task* t : AllTasksLocked()) t->waiter_.Notify();
}

void Kernel::WaitWhilePaused(Task& t) {
  // A killed task goes on to exit: a paused container can be killed.
  while (paused_.load() && !t.killed_.load()) {
    t.waiter_.Wait(absl::Now() + absl::Milliseconds(100));
  }
}

ExitStatus Kernel::WaitForExit() {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(&init_done_));
  // Give the killed processes a moment to go, so their stubs are gone
  // before the sandbox reports; the sandbox's exit ends any that linger.
  auto all_gone = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return tasks_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&all_gone), absl::Seconds(2));
  return init_status_;
}

void Kernel::SendExternalSignal(int sig) {
  absl::MutexLock l(&mu_);
  int pgid = 0;
  if (init_ != nullptr) {
    pgid = init_->pgid;
    if (init_->tty && init_->tty->sid == init_->sid && init_->tty->fg_pgrp)
      pgid = init_->tty->fg_pgrp;
  }
  SendExternalSignalToGroupLocked(pgid, sig);
}

bool Kernel::SendRuntimeSignal(int sig, bool all) {
  absl::MutexLock l(&mu_);
  if (init_ == nullptr || init_->zombie) return false;
  std::vector<ThreadGroup*> targets = {init_};
  if (all) targets = ThreadGroupsLocked();
  for (ThreadGroup* g : targets) SendRuntimeSignalLocked(g, sig);
  return true;
}

bool Kernel::SendRuntimeSignal(ThreadGroup& tg, int sig) {
  absl::MutexLock l(&mu_);
  if (tg.zombie) return false;
  SendRuntimeSignalLocked(&tg, sig);
  return true;
}

void Kernel::SendRuntimeSignalLocked(ThreadGroup* g, int sig) {
  if (g->zombie) return;
  if (sig == SIGKILL && g->unkillable) {
    // Linux forces SIGKILL from an ancestor namespace on init.
    GroupExitLocked(g, ExitStatus{0, SIGKILL, false});
    return;
  }
  // From an ancestor namespace the sender has no pid here (si_pid 0).
  (void)SendGroupSignalLocked(g, MakeSigInfo(sig, SI_USER));
}

std::vector<ThreadGroup*> Kernel::ThreadGroupsLocked() const {
  std::vector<ThreadGroup*> out;
  for (const auto& [id, g] : groups_) out.push_back(g.get());
  return out;
}

void Kernel::SendExternalSignalToGroupLocked(int pgid, int sig) {
  siginfo_t info = MakeSigInfo(sig, SI_KERNEL);
  std::vector<ThreadGroup*> members = ProcessGroupLocked(pgid);
  if (members.empty() && init_ != nullptr && !init_->zombie) {
    members.push_back(init_);
  }
  for (ThreadGroup* g : members) {
    // From outside, the sandbox's init is not shielded: Ctrl-C on
    // `runsc do sleep 100` ends sleep, as it would outside a sandbox
    // (and as `docker run --init` arranges). Inside, init keeps the pid
    // namespace rule.
    if (g->unkillable && !g->tasks.empty()) {
      const SigAction& act = g->tasks.front()->sighand().actions[sig - 1];
      DefaultAction d = DefaultActionOf(sig);
      bool blocked = (g->tasks.front()->signal_mask() & SigBit(sig)) != 0;
      if (act.handler == kSigDfl &&
          (d == DefaultAction::kTerminate || d == DefaultAction::kCore)) {
        if (!blocked) {
          GroupExitLocked(g, ExitStatus{0, sig, false});
          continue;
        }
        // Blocked for now (a shell blocks everything while its SIGCHLD
        // handler runs): queued, and fatal when dequeued.
        g->external_fatal |= SigBit(sig);
      }
    }
    (void)SendGroupSignalLocked(g, info);
  }
}

// ---- Signals ----

Task* Kernel::PickSignalTargetLocked(ThreadGroup* tg, int sig) {
  for (Task* t : tg->tasks) {
    if (t->exited_ || t->thread_exit_.load()) continue;
    if ((t->signal_mask() & SigBit(sig)) == 0) return t;
  }
  return nullptr;
}

void Kernel::SignalWakeLocked(Task* t) {
  t->signal_hint_.store(true);
  t->Interrupt();
}

void Kernel::ResumeGroupLocked(ThreadGroup* tg) {
  for (Task* t : tg->tasks) {
    t->group_stopped = false;
    t->waiter_.Notify();
  }
}

namespace {

// The stop and continue side effects of sending `sig` (Linux's
// prepare_signal): a stop signal cancels pending SIGCONTs, and SIGCONT
// cancels pending stop signals and resumes a stopped group.
bool PrepareStopContinue(ThreadGroup* tg, int sig) {
  if ((SigBit(sig) & kStopSignals) != 0) {
    tg->pending.Discard(SigBit(SIGCONT));
    return false;
  }
  if (sig != SIGCONT) return false;
  tg->pending.Discard(kStopSignals);
  bool was_stopped = tg->stopped;
  if (tg->stopped || tg->stop_pending) {
    tg->stopped = false;
    tg->stop_pending = false;
    tg->stop_waiting = 0;
    tg->stop_report = 0;
  }
  return was_stopped;
}

}  // namespace

bool Kernel::SigpendingRoomLocked(ThreadGroup* tg) {
  uint64_t queued = tg->pending.queued();
  for (Task* t : tg->tasks) queued += t->pending_.queued();
  return queued < tg->GetRlimit(RLIMIT_SIGPENDING).rlim_cur;
}

bool Kernel::DiscardedOnSendLocked(Task* t, int sig) {
  // Blocked signals are never discarded: the disposition may change
  // before they are unblocked. rt_sigtimedwait's signals count as
  // blocked (real_blocked).
  SigSet blocked = t->signal_mask() | t->real_blocked_.load();
  if ((blocked & SigBit(sig)) != 0) return false;
  const SigAction& act = t->sighand().actions[sig - 1];
  if (IgnoredByDisposition(sig, act)) return true;
  // A pid namespace's init only gets signals it handles.
  ThreadGroup* tg = t->shared_.tg.get();
  return tg->unkillable && act.handler == kSigDfl;
}

namespace {

// Sends a stop signal or SIGCONT's side effects to every thread's queue.
void DiscardStopContinue(ThreadGroup* tg, int sig) {
  if ((SigBit(sig) & kStopSignals) != 0) {
    for (Task* t : tg->tasks) t->DiscardPendingLocked(SigBit(SIGCONT));
  }
  if (sig == SIGCONT) {
    for (Task* t : tg->tasks) t->DiscardPendingLocked(kStopSignals);
  }
}

}  // namespace

bool Kernel::SendSideEffectsLocked(ThreadGroup* tg, int sig) {
  DiscardStopContinue(tg, sig);
  if (PrepareStopContinue(tg, sig)) {
    ResumeGroupLocked(tg);
    tg->continue_report = true;
    NotifyParentLocked(tg, CLD_CONTINUED, SIGCONT);
  } else if (sig == SIGCONT) {
    ResumeGroupLocked(tg);
  }
  if (sig != SIGKILL) return false;
  if (!tg->unkillable) GroupExitLocked(tg, ExitStatus{0, SIGKILL, false});
  return true;
}

namespace {

// Whether an Enqueue added a signal to deliver: false if it coalesced with
// a pending one, EAGAIN if there was no room for its information.
SysResult<bool> NewlyQueued(PendingSignals::Result r) {
  switch (r) {
    case PendingSignals::Result::kOverflow:
      return Errno(EAGAIN);
    case PendingSignals::Result::kCoalesced:
      return false;
    case PendingSignals::Result::kQueued:
      break;
  }
  return true;
}

}  // namespace

SysResult<void> Kernel::SendGroupSignalLocked(ThreadGroup* tg,
                                              const siginfo_t& info,
                                              PendingSignals::Origin origin) {
  int sig = info.si_signo;
  if (tg->zombie || tg->tasks.empty()) return Ok();
  if (tg->exiting) return Ok();  // it is dying anyway
  if (SendSideEffectsLocked(tg, sig)) return Ok();
  Task* leader = tg->tasks.front();
  if (DiscardedOnSendLocked(leader, sig)) return Ok();
  SENTRY_ASSIGN_OR_RETURN(
      bool queued,
      NewlyQueued(tg->pending.Enqueue(info, SigpendingRoomLocked(tg), origin)));
  if (!queued) return Ok();
  tg->signal_events()->Notify(kEventIn);
  Task* target = PickSignalTargetLocked(tg, sig);
  if (target == nullptr) return Ok();
  // A signal whose default action kills, with no handler, ends the whole
  // process at once (Linux's complete_signal), even threads in waits only
  // a kill may end. Core-dumping ones go the normal way, through delivery.
  const SigAction& act = leader->sighand().actions[sig - 1];
  if (act.handler == kSigDfl && !tg->unkillable &&
      DefaultActionOf(sig) == DefaultAction::kTerminate &&
      (target->real_blocked_.load() & SigBit(sig)) == 0) {
    tg->pending.Discard(SigBit(sig));
    GroupExitLocked(tg, ExitStatus{0, sig, false});
    return Ok();
  }
  SignalWakeLocked(target);
  return Ok();
}

SysResult<void> Kernel::SendTaskSignalLocked(Task* t, const siginfo_t& info,
                                             PendingSignals::Origin origin) {
  int sig = info.si_signo;
  ThreadGroup* tg = t->shared_.tg.get();
  if (tg->zombie || t->exited_ || tg->exiting) return Ok();
  if (SendSideEffectsLocked(tg, sig)) return Ok();
  if (DiscardedOnSendLocked(t, sig)) return Ok();
  SENTRY_ASSIGN_OR_RETURN(
      bool queued,
      NewlyQueued(t->pending_.Enqueue(info, SigpendingRoomLocked(tg), origin)));
  if (!queued) return Ok();
  tg->signal_events()->Notify(kEventIn);
  if (((t->signal_mask()) & SigBit(sig)) != 0) return Ok();
  const SigAction& act = t->sighand().actions[sig - 1];
  if (act.handler == kSigDfl && !tg->unkillable &&
      DefaultActionOf(sig) == DefaultAction::kTerminate &&
      (t->real_blocked_.load() & SigBit(sig)) == 0) {
    t->pending_.Discard(SigBit(sig));
    GroupExitLocked(tg, ExitStatus{0, sig, false});
    return Ok();
  }
  SignalWakeLocked(t);
  return Ok();
}

void Kernel::GroupExitLocked(ThreadGroup* tg, ExitStatus status) {
  if (!tg->group_exit_status_set) {
    tg->group_exit_status = status;
    tg->group_exit_status_set = true;
  }
  tg->exiting = true;
  tg->stop_pending = false;
  for (Task* t : tg->tasks) {
    t->killed_.store(true);
    SignalWakeLocked(t);
  }
}

void Kernel::NotifyParentLocked(ThreadGroup* tg, int code, int status) {
  ThreadGroup* p = tg->parent;
  if (p == nullptr || p->zombie || p->tasks.empty()) return;
  const SigAction& act = p->tasks.front()->sighand().actions[SIGCHLD - 1];
  bool stop_report = code == CLD_STOPPED || code == CLD_CONTINUED;
  if (!(stop_report && (act.flags & SA_NOCLDSTOP) != 0)) {
    siginfo_t info = MakeSigInfo(SIGCHLD, code, tg->tgid());
    Task* leader = tg->tasks.empty() ? nullptr : tg->tasks.front();
    info.si_uid = leader != nullptr ? leader->GetCreds().ruid : tg->exit_uid;
    info.si_status = status;
    Usage u = GroupUsageLocked(tg);
    info.si_utime = ClockTicks(u.user);
    info.si_stime = ClockTicks(u.sys);
    (void)SendGroupSignalLocked(p, info);
  }
  p->child_events().Notify(kEventAll);
}

void Kernel::ProcessExitedLocked(ThreadGroup* tg) {
  tg->zombie = true;
  ReleaseTerminalOnExitLocked(*this, tg);
  tg->exit_status = tg->group_exit_status_set ? tg->group_exit_status
                                              : tg->leader_exit_status;
  CancelTimersLocked(tg);
  tg->exit_events().Notify(kEventAll);
  bool is_init = tg == init_;
  // Orphans go to the nearest subreaper, or to init.
  ThreadGroup* reaper = is_init ? nullptr : ReaperForLocked(tg);
  std::map<int, ThreadGroup*> orphans;
  orphans.swap(tg->children);
  for (auto& [id, c] : orphans) {
    c->parent = reaper;
    if (reaper == nullptr) {
      if (c->zombie) ReleaseLocked(c);
      continue;
    }
    reaper->children[id] = c;
    c->parent_tid = reaper->tgid();
    for (Task* ct : c->tasks) {
      if (ct->pdeath_signal != 0) {
        siginfo_t info = MakeSigInfo(ct->pdeath_signal, SI_USER, tg->tgid());
        (void)SendGroupSignalLocked(c, info);
      }
    }
    if (c->zombie) {
      int sig = c->exit_signal;
      const SigAction& act =
          reaper->tasks.empty()
              ? SigAction{}
              : reaper->tasks.front()->sighand().actions[SIGCHLD - 1];
      if (sig == SIGCHLD &&
          (act.handler == kSigIgn || (act.flags & SA_NOCLDWAIT) != 0)) {
        ReleaseLocked(c);
      } else {
        NotifyParentLocked(c, c->exit_status.SigChldCode(),
                           c->exit_status.SigChldStatus());
      }
    }
  }
  if (is_init) {
    // The end of the pid namespace: everyone else goes too.
    init_done_ = true;
    init_status_ = tg->exit_status;
    for (auto& [id, g] : groups_) {
      if (!g->zombie) GroupExitLocked(g.get(), ExitStatus{0, SIGKILL, false});
    }
    return;
  }
  ThreadGroup* p = tg->parent;
  if (p == nullptr) {
    ReleaseLocked(tg);
    return;
  }
  int sig = tg->exit_signal;
  const SigAction act = p->tasks.empty()
                            ? SigAction{}
                            : p->tasks.front()->sighand().actions[SIGCHLD - 1];
  bool autoreap = false;
  if (sig == SIGCHLD &&
      (act.handler == kSigIgn || (act.flags & SA_NOCLDWAIT) != 0)) {
    autoreap = true;
    if (act.handler == kSigIgn) sig = 0;
  }
  if (sig != 0 && !p->tasks.empty()) {
    siginfo_t info = MakeSigInfo(sig, tg->exit_status.SigChldCode(), tg->tgid(),
                                 tg->exit_uid);
    info.si_status = tg->exit_status.SigChldStatus();
    Usage u = tg->exited_usage;
    info.si_utime = ClockTicks(u.user);
    info.si_stime = ClockTicks(u.sys);
    (void)SendGroupSignalLocked(p, info);
  }
  p->child_events().Notify(kEventAll);
  if (autoreap) ReleaseLocked(tg);
}

void Kernel::ReleaseLocked(ThreadGroup* tg) {
  if (tg->parent != nullptr) {
    tg->parent->children.erase(tg->tgid());
    tg->parent->child_events().Notify(kEventAll);
    tg->parent = nullptr;
  }
  groups_.erase(tg->tgid());  // may free tg
}

ThreadGroup* Kernel::ReaperForLocked(ThreadGroup* tg) const {
  for (ThreadGroup* p = tg->parent; p != nullptr; p = p->parent) {
    if (p->subreaper && !p->exiting && !p->zombie) return p;
  }
  if (init_ == nullptr || init_->zombie) return nullptr;
  return init_;
}

Usage Kernel::GroupUsageLocked(const ThreadGroup* tg) const {
  Usage u = tg->exited_usage;
  for (Task* t : tg->tasks) u.Add(t->usage());
  return u;
}

// ---- Timers ----

void Kernel::ArmRealTimerLocked(ThreadGroup* tg) {
  RealTimer& rt = tg->itimer_real;
  if (rt.id != 0) timers_.Cancel(rt.id);
  rt.id = 0;
  if (rt.deadline == absl::InfinitePast()) return;
  std::weak_ptr<ThreadGroup> weak = FindThreadGroupLocked(tg->tgid()) != nullptr
                                        ? groups_.at(tg->tgid())
                                        : nullptr;
  TimerService::Id id = 0;
  auto fire = [this, weak, &id]() {};
  (void)fire;
  rt.id = timers_.Schedule(rt.deadline, [this, weak]() {
    std::shared_ptr<ThreadGroup> g = weak.lock();
    if (g == nullptr) return;
    absl::MutexLock l(&mu_);
    RealTimer& r = g->itimer_real;
    if (r.id == 0 || g->zombie) return;
    // Stale if re-armed since: a newer deadline lies ahead.
    if (r.deadline > absl::Now()) {
      ArmRealTimerLocked(g.get());
      return;
    }
    (void)SendGroupSignalLocked(g.get(), MakeSigInfo(SIGALRM, SI_KERNEL));
    if (r.interval > absl::ZeroDuration()) {
      absl::Time now = absl::Now();
      r.deadline += r.interval;
      if (r.deadline <= now) {
        // Missed periods (the sandbox was busy) collapse into one.
        int64_t behind = (now - r.deadline) / r.interval;
        r.deadline += r.interval * (behind + 1);
      }
      ArmRealTimerLocked(g.get());
    } else {
      r.id = 0;
      r.deadline = absl::InfinitePast();
    }
  });
  (void)id;
}

bool Kernel::TimerSignalQueuedLocked(ThreadGroup* tg, const PosixTimer& pt) {
  if (tg->pending.HasTimerEntry(pt.signo, pt.id)) return true;
  for (Task* t : tg->tasks) {
    if (t->pending_.HasTimerEntry(pt.signo, pt.id)) return true;
  }
  return false;
}

void Kernel::FirePosixTimerLocked(ThreadGroup* tg, PosixTimer* pt,
                                  int expiries) {
  if (pt->notify == SIGEV_NONE) return;
  // Only while the last signal is really queued is an expiry an overrun:
  // one ignored when sent, or discarded since, leaves nothing to wait for
  // (Linux looks at whether the timer's entry is on a queue).
  if (pt->signal_queued && TimerSignalQueuedLocked(tg, *pt)) {
    pt->overrun += expiries;
    return;
  }
  pt->overrun += expiries - 1;
  siginfo_t info = MakeSigInfo(pt->signo, SI_TIMER);
  info.si_timerid = pt->id;
  info.si_overrun = 0;
  info.si_value.sival_ptr = reinterpret_cast<void*>(pt->value);
  constexpr PendingSignals::Origin kTimer = PendingSignals::Origin::kTimer;
  Task* t = nullptr;
  if (pt->notify == (SIGEV_SIGNAL | SIGEV_THREAD_ID)) {
    t = FindTaskLocked(pt->target_tid);
    if (t != nullptr && &t->tg() != tg) t = nullptr;
  }
  if (t != nullptr) {
    (void)SendTaskSignalLocked(t, info, kTimer);
  } else {
    (void)SendGroupSignalLocked(tg, info, kTimer);
  }
  pt->signal_queued = TimerSignalQueuedLocked(tg, *pt);
}

void Kernel::PosixTimerSignalDequeuedLocked(ThreadGroup* tg, siginfo_t* info) {
  auto it = tg->posix_timers.find(info->si_timerid);
  if (it == tg->posix_timers.end()) return;
  PosixTimer& pt = it->second;
  pt.signal_queued = false;
  // Periods that ended before now ended while this signal was queued, even
  // if the timer service, running late on a busy host, has not seen them:
  // they are overruns, and the next signal is for the period after (Linux
  // forwards the timer past now at dequeue, posix_timer_rearm).
  absl::Time now = absl::Now();
  if (pt.armed && pt.interval > absl::ZeroDuration() && pt.deadline <= now &&
      pt.clock >= 0 && pt.clock != CLOCK_PROCESS_CPUTIME_ID &&
      pt.clock != CLOCK_THREAD_CPUTIME_ID) {
    int64_t missed = (now - pt.deadline) / pt.interval + 1;
    pt.deadline += pt.interval * missed;
    pt.overrun = static_cast<int>(std::min<int64_t>(
        int64_t{pt.overrun} + missed, std::numeric_limits<int>::max()));
    ArmPosixTimerLocked(tg, &pt);
  }
  info->si_overrun = pt.overrun;
  pt.last_overrun = pt.overrun;
  pt.overrun = 0;
}

void Kernel::ArmPosixTimerLocked(ThreadGroup* tg, PosixTimer* pt) {
  if (pt->service_id != 0) timers_.Cancel(pt->service_id);
  pt->service_id = 0;
  if (!pt->armed) return;
  if (pt->clock < 0 || pt->clock == CLOCK_PROCESS_CPUTIME_ID ||
      pt->clock == CLOCK_THREAD_CPUTIME_ID) {
    EnsureCpuTickLocked();
    return;
  }
  std::weak_ptr<ThreadGroup> weak = groups_.at(tg->tgid());
  int id = pt->id;
  pt->service_id = timers_.Schedule(pt->deadline, [this, weak, id]() {
    std::shared_ptr<ThreadGroup> g = weak.lock();
    if (g == nullptr) return;
    absl::MutexLock l(&mu_);
    auto it = g->posix_timers.find(id);
    if (it == g->posix_timers.end() || !it->second.armed || g->zombie) return;
    PosixTimer& p = it->second;
    absl::Time now = absl::Now();
    if (p.deadline > now) {
      ArmPosixTimerLocked(g.get(), &p);
      return;
    }
    int expiries = 1;
    if (p.interval > absl::ZeroDuration()) {
      int64_t behind = (now - p.deadline) / p.interval;
      expiries += static_cast<int>(std::min<int64_t>(behind, INT32_MAX - 1));
      p.deadline += p.interval * (behind + 1);
    } else {
      p.armed = false;
    }
    p.service_id = 0;
    FirePosixTimerLocked(g.get(), &p, expiries);
    if (p.armed) ArmPosixTimerLocked(g.get(), &p);
  });
}

void Kernel::CancelTimersLocked(ThreadGroup* tg) {
  if (tg->itimer_real.id != 0) timers_.Cancel(tg->itimer_real.id);
  tg->itimer_real = RealTimer{};
  tg->itimer_virtual = CpuTimer{};
  tg->itimer_prof = CpuTimer{};
  tg->next_xcpu = absl::InfiniteDuration();
  for (auto& [id, pt] : tg->posix_timers) {
    if (pt.service_id != 0) timers_.Cancel(pt.service_id);
  }
  tg->posix_timers.clear();
}

void Kernel::SetMaxTasks(int n) {
  absl::MutexLock l(&mu_);
  options_.max_tasks = n > 0 ? n : options_.max_tasks_unlimited;
}

void Kernel::EnsureCpuTickLocked() {
  for (auto& [id, g] : groups_) {
    g->cpu_timers_armed.store(!g->zombie && g->HasCpuTimers());
  }
  if (cpu_tick_ != 0) return;
  cpu_tick_ =
      timers_.Schedule(absl::Now() + kCpuTick, [this] { CpuTimerTick(); });
}

void Kernel::CpuTimerTick() {
  absl::MutexLock l(&mu_);
  cpu_tick_ = 0;
  bool any = false;
  for (auto& [id, g] : groups_) {
    g->cpu_timers_armed.store(!g->zombie && g->HasCpuTimers());
    if (!g->cpu_timers_armed.load()) continue;
    any = true;

    // Stop running threads briefly so their CPU time is counted and the
    // timers checked (Task::Run does both after every Switch).
    for (Task* t : g->tasks) t->InterruptGuestOnly();
  }
  if (any) EnsureCpuTickLocked();
}

void Kernel::CheckCpuTimersLocked(ThreadGroup* tg) {
  if (tg->zombie || tg->exiting) return;
  Usage u = GroupUsageLocked(tg);
  absl::Duration total = u.user + u.sys;
  auto check = [&](CpuTimer& ct, absl::Duration now, int sig) {
    if (!ct.armed || now < ct.expires) return;
    (void)SendGroupSignalLocked(tg, MakeSigInfo(sig, SI_KERNEL));
    if (ct.interval > absl::ZeroDuration()) {
      while (ct.expires <= now) ct.expires += ct.interval;
    } else {
      ct.armed = false;
    }
  };
  check(tg->itimer_virtual, u.user, SIGVTALRM);
  check(tg->itimer_prof, total, SIGPROF);
  if (tg->next_xcpu != absl::InfiniteDuration() && total >= tg->next_xcpu) {
    struct rlimit lim = tg->GetRlimit(RLIMIT_CPU);
    if (lim.rlim_max != RLIM_INFINITY &&
        total >= absl::Seconds(static_cast<int64_t>(lim.rlim_max))) {
      GroupExitLocked(tg, ExitStatus{0, SIGKILL, false});
      return;
    }
    (void)SendGroupSignalLocked(tg, MakeSigInfo(SIGXCPU, SI_KERNEL));
    tg->next_xcpu += absl::Seconds(1);
  }
  for (auto& [id, pt] : tg->posix_timers) {
    if (!pt.armed || !IsCpuClock(pt.clock)) continue;
    // A thread's CPU clock is (~tid << 3) | 4 | which; which 1 counts
    // user time only.
    bool thread = pt.clock < 0 && (pt.clock & 4) != 0;
    bool virt = pt.clock < 0 && (pt.clock & 3) == 1;
    absl::Duration now = virt ? u.user : total;
    if (thread) {
      Task* t = FindTaskLocked(~(pt.clock >> 3));
      if (t == nullptr) continue;
      Usage tu = t->usage();
      now = virt ? tu.user : tu.user + tu.sys;
    }
    if (now < pt.cpu_expires) continue;
    int expiries = 1;
    if (pt.interval > absl::ZeroDuration()) {
      int64_t behind = (now - pt.cpu_expires) / pt.interval;
      expiries += static_cast<int>(behind);
      pt.cpu_expires += pt.interval * (behind + 1);
    } else {
      pt.armed = false;
    }
    FirePosixTimerLocked(tg, &pt, expiries);
  }
}

}  // namespace sentry::kernel
