#include "sentry/kernel/kernel.h"

#include <unistd.h>

#include <cstring>

#include "glog/logging.h"
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

}  // namespace

ThreadGroup::ThreadGroup(int tgid) : tgid_(tgid), start_time_(absl::Now()) {
  DefaultRlimits(rlimits_);
}

struct rlimit ThreadGroup::GetRlimit(int resource) const {
  absl::MutexLock l(&mu_);
  return rlimits_[resource];
}

void ThreadGroup::SetRlimit(int resource, struct rlimit lim) {
  absl::MutexLock l(&mu_);
  rlimits_[resource] = lim;
}

ExitStatus ThreadGroup::BeginExit(ExitStatus status) {
  absl::MutexLock l(&mu_);
  if (!exiting_.exchange(true)) exit_status_ = status;
  return exit_status_;
}

ExitStatus ThreadGroup::exit_status() const {
  absl::MutexLock l(&mu_);
  return exit_status_;
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

Kernel::Kernel(KernelOptions options)
    : options_(std::move(options)), boot_time_(absl::Now()) {}

Kernel::~Kernel() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock l(&mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
}

int Kernel::AllocateTid() {
  absl::MutexLock l(&mu_);
  return next_tid_++;
}

void Kernel::RegisterTask(const std::shared_ptr<Task>& t) {
  absl::MutexLock l(&mu_);
  tasks_[t->tid()] = t;
  t->tg().live_tasks.fetch_add(1);
}

void Kernel::TaskExited(Task* t) {
  std::shared_ptr<Task> keep;  // released outside the lock
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(t->tid());
  if (it != tasks_.end()) {
    keep = std::move(it->second);
    tasks_.erase(it);
  }
  if (t->tg().live_tasks.fetch_sub(1) == 1 && init_ != nullptr &&
      &t->tg() == init_.get()) {
    init_done_ = true;
    init_status_ = init_->exit_status();
  }
}

std::shared_ptr<Task> Kernel::FindTask(int tid) const {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second;
}

std::vector<int> Kernel::ThreadGroupIds() const {
  absl::MutexLock l(&mu_);
  std::vector<int> ids;
  for (const auto& [tid, t] : tasks_) {
    if (tid == t->tgid()) ids.push_back(tid);
  }
  return ids;
}

size_t Kernel::TaskCount() const {
  absl::MutexLock l(&mu_);
  return tasks_.size();
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

void Kernel::StartInit(InitProcess init) {
  int tid = AllocateTid();
  Task::Shared shared;
  shared.tg = std::make_shared<ThreadGroup>(tid);
  shared.fds = std::make_shared<vfs::FdTable>();
  for (size_t i = 0; i < init.stdio.size(); i++) {
    if (init.stdio[i]) {
      CHECK(shared.fds->Set(static_cast<int>(i), init.stdio[i], false, 1 << 20)
                .ok());
    }
  }
  shared.fs = std::make_shared<FsContext>();
  {
    absl::MutexLock l(&shared.fs->mu);
    shared.fs->root = shared.fs->cwd = mount_ns().Root();
  }
  shared.sighand = std::make_shared<SignalHandlers>();
  auto task = std::make_shared<Task>(this, tid, shared, init.creds);
  {
    absl::MutexLock l(&mu_);
    init_ = shared.tg;
  }
  RegisterTask(task);
  auto start = [init = std::move(init)](Task& t) mutable {
    // Runs on the init task's thread: the path walk and the load need the
    // task's credentials, and the ptrace platform needs its thread.
    auto fail = [&t](int code, const std::string& what, int err) {
      fprintf(stderr, "runsc: %s: %s\n", what.c_str(), strerror(err));
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
      if (r.ok()) return;
      // Keep looking past files that are missing; remember the first
      // other failure (a file that exists but cannot run) as execvp does.
      if (r.err() != ENOENT && r.err() != ENOTDIR && first_err == ENOENT)
        first_err = r.err();
      if (name.find('/') != std::string::npos) first_err = r.err();
    }
    if (first_err == ENOENT && name.find('/') == std::string::npos) {
      fprintf(stderr, "runsc: %s: command not found\n", name.c_str());
      t.ExitGroup(ExitStatus{127, 0, false});
      return;
    }
    fail(first_err == ENOENT ? 127 : 126, name, first_err);
  };
  absl::MutexLock l(&mu_);
  threads_.emplace_back([task, start = std::move(start)]() mutable {
    task->Run(std::move(start));
  });
}

ExitStatus Kernel::WaitForExit() {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(&init_done_));
  return init_status_;
}

}  // namespace sentry::kernel
