#include "sentry/kernel/task.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "absl/time/clock.h"
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
  TaskExecEnvironment(Task& t, const std::string& filename,
                      const Task::ExecTarget& target)
      : t_(t), filename_(filename), target_(target) {}

  SysResult<std::shared_ptr<vfs::FileDescription>> OpenExecutable(
      const std::string& path) override {
    vfs::VirtualDentry vd;
    if (target_.file && path == filename_) {
      vd = *target_.file;
    } else {
      SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, t_.PathContextAt(AT_FDCWD));
      vfs::Resolver r(t_, *pc.ns, pc.root, pc.start);
      SENTRY_ASSIGN_OR_RETURN(vd, r.Resolve(path));
    }
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
  const std::string& filename_;
  const Task::ExecTarget& target_;
};

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void Completion::Complete() {
  done_.store(true);
  queue_.Notify(kEventAll);
}

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

auth::Credentials Task::GetCreds() const {
  absl::MutexLock l(&creds_mu_);
  return creds_;
}

void Task::set_creds(auth::Credentials c) {
  absl::MutexLock l(&creds_mu_);
  creds_ = std::move(c);
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

Usage Task::usage() const {
  Usage u;
  u.user = absl::Nanoseconds(utime_ns_.load());
  u.sys = absl::Nanoseconds(stime_ns_.load());
  return u;
}

namespace {

// Wall time of Switches gathered before it is checked against the stub
// process's CPU clock: one host clock_gettime per 200 us of guest run,
// well under 1% of it, for an error of at most that much per check.
constexpr int64_t kUserRecheckNs = 200 * 1000;

// Reads into direct buffers this large or larger are timed for
// Context::NextEventTakes: a loop of them takes about as long each time.
constexpr size_t kTimedReadMin = 256 * 1024;

// The host's CPU clock of a whole process (CPUCLOCK_SCHED), or -1.
int64_t ProcessCpuNs(int pid) {
  clockid_t clock =
      static_cast<clockid_t>((~static_cast<unsigned>(pid)) << 3) | 2;
  struct timespec ts;
  if (pid <= 0 || clock_gettime(clock, &ts) != 0) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

SysResult<size_t> Task::PreadToGuest(int host_fd, int64_t offset,
                                     GuestAddr addr, size_t len,
                                     bool may_inject, bool ends_call) {
  if (!has_mm() || offset < 0) return Errno(ENOSYS);
  // Every task using the address space holds a reference (so do readers
  // of /proc and process_vm_*, briefly: they only make this false).
  bool sole_user = Task::Current() == this && shared_.mm.use_count() == 1;
  bool timed = ends_call && Task::Current() == this && len >= kTimedReadMin;
  int64_t begin = timed ? absl::GetCurrentTimeNanos() : 0;
  SysResult<size_t> direct =
      mm().PreadDirect(host_fd, static_cast<uint64_t>(offset), addr.value(),
                       len, sole_user, [this, ends_call] {
                         if (ends_call && Task::Current() == this)
                           ctx_->ResumeSoon(mm().as());
                       });
  if (timed && direct.ok() && *direct == len) {
    ctx_->NextEventTakes(absl::GetCurrentTimeNanos() - begin);
  }
  if (direct.ok() || direct.err() != ENOSYS) return direct;
  // The platform injects into this thread's own stub thread.
  if (!may_inject || Task::Current() != this) return Errno(ENOSYS);
  // The copy runs on the stub process's CPU clock, which AccountUser takes
  // as the bound of the guest's user time: it is the guest's system time
  // (the call's wall time counts there), so the bound leaves it out.
  int pid = mm().as().StubPid();
  int64_t before = pid == stub_pid_ ? ProcessCpuNs(pid) : -1;
  SysResult<size_t> n = mm().as().PreadToGuest(
      host_fd, static_cast<uint64_t>(offset), addr.value(), len);
  if (before >= 0) {
    int64_t after = ProcessCpuNs(pid);
    if (after > before) stub_cpu_ns_ += after - before;
  }
  return n;
}

SysResult<size_t> Task::WriteFromDirect(
    GuestAddr addr, size_t len,
    absl::FunctionRef<SysResult<size_t>(const char*)> write) {
  if (!has_mm() || Task::Current() != this) return Errno(ENOSYS);
  bool sole_user = shared_.mm.use_count() == 1;
  return mm().WriteDirect(addr.value(), len, sole_user, write);
}

void Task::AccountUser(absl::Duration d) {
  user_pending_ns_ += absl::ToInt64Nanoseconds(d);
  if (user_pending_ns_ >= kUserRecheckNs) {
    // The task ran at most the wall time, and at most what the stub
    // process's CPU clock (all its threads) gained since the last check,
    // less what the address space's other tasks claimed of it meanwhile:
    // a task whose Switch waited for a CPU while a sibling spun must not
    // count the sibling's time. A new stub process (fork, execve) has its
    // clock from 0.
    int pid = has_mm() ? mm().as().StubPid() : -1;
    int64_t now = ProcessCpuNs(pid);
    int64_t used = user_pending_ns_;
    if (now >= 0) {
      std::atomic<int64_t>& claimed = mm().user_ns_claimed();
      bool same = pid == stub_pid_;
      int64_t others = claimed.load() - (same ? stub_claimed_ns_ : 0);
      int64_t since = same ? stub_cpu_ns_ : 0;
      used = std::clamp<int64_t>(now - since - others, 0, used);
      stub_claimed_ns_ = claimed.fetch_add(used) + used;
      stub_pid_ = pid;
      stub_cpu_ns_ = now;
    }
    user_committed_ns_ += used;
    user_pending_ns_ = 0;
  }
  // Clocks never go back: a check that finds less than the wall time
  // already shown holds the clock until the true time passes it.
  int64_t shown = user_committed_ns_ + user_pending_ns_;
  int64_t old = utime_ns_.load(std::memory_order_relaxed);
  if (shown > old) utime_ns_.store(shown, std::memory_order_relaxed);
}

// ---- Waiting ----

SysResult<void> Task::Block(std::optional<absl::Time> deadline,
                            std::vector<struct pollfd>* host) {
  return BlockWith(Interruptible::kYes, deadline, host);
}

SysResult<void> Task::BlockWith(Interruptible mode,
                                std::optional<absl::Time> deadline,
                                std::vector<struct pollfd>* host) {
  auto interrupted = [&] {
    return mode == Interruptible::kYes ? signal_hint_.load() : killed_.load();
  };
  if (interrupted()) return Errno(kERESTARTSYS);
  absl::Time begin = absl::Now();
  act_blocked_since_ns_.store(absl::ToUnixNanos(begin),
                              std::memory_order_relaxed);
  bool woken = waiter_.Wait(deadline, host);
  act_blocked_since_ns_.store(0, std::memory_order_relaxed);
  blocked_ns_ += absl::ToInt64Nanoseconds(absl::Now() - begin);
  if (interrupted()) return Errno(kERESTARTSYS);
  if (!woken) return Errno(ETIMEDOUT);
  return Ok();
}

void Task::Interrupt() {
  waiter_.Notify();
  InterruptGuestOnly();
}

void Task::InterruptGuestOnly() {
  absl::MutexLock l(&ctx_mu_);
  if (ctx_) ctx_->Interrupt();
}

// ---- The loop ----

namespace {
thread_local Task* current_task = nullptr;
}  // namespace

Task* Task::Current() { return current_task; }

void Task::Run(std::function<void(Task&)> start) {
  current_task = this;
  {
    absl::MutexLock l(&ctx_mu_);
    ctx_ = kernel_->platform().NewContext();
  }
  if (start) start(*this);
  while (!thread_exit_.load()) {
    if (signal_hint_.load() || restart_code_ != 0) {
      HandleSignals();
      if (thread_exit_.load()) break;
    }
    if (!has_mm()) {
      LOG(ERROR) << "task " << tid() << " has no address space";
      ExitGroup(ExitStatus{0, SIGKILL, false});
      break;
    }
    if (affinity_dirty_.exchange(false)) ApplyAffinity();
    if (kernel_->paused()) {
      kernel_->WaitWhilePaused(*this);
      continue;  // a kill or a signal may have come meanwhile
    }
    absl::Time begin = absl::Now();
    kernel_->running_.fetch_add(1);
    platform::SwitchResult r = ctx_->Switch(mm().as(), regs_);
    kernel_->running_.fetch_sub(1);
    absl::Time end = absl::Now();
    AccountUser(end - begin);
    if (tg().cpu_timers_armed.load()) {
      absl::MutexLock l(&kernel_->mu_);
      kernel_->CheckCpuTimersLocked(&tg());
    }
    switch (r.reason) {
      case platform::StopReason::kSyscall: {
        // System time is the wall time the sentry spent on the call, less
        // what it spent blocked: two vDSO reads rather than two host
        // system calls for the thread's CPU clock on every guest call.
        int64_t blocked_before = blocked_ns_;
        HandleSyscall();
        int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - end) -
                     (blocked_ns_ - blocked_before);
        stime_ns_.fetch_add(std::max<int64_t>(ns, 0));
        break;
      }
      case platform::StopReason::kFault:
        HandleFault(r.siginfo);
        break;
      case platform::StopReason::kInterrupted:
        break;
      case platform::StopReason::kDied:
        LOG(ERROR) << "task " << tid()
                   << ": the host thread running the guest died";
        ExitGroup(ExitStatus{0, SIGKILL, false});
        break;
    }
  }
  Finish();
  current_task = nullptr;
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
  act_syscall_.store(static_cast<int64_t>(nr), std::memory_order_relaxed);
  act_ip_.store(regs_.rip, std::memory_order_relaxed);
  act_sp_.store(regs_.rsp, std::memory_order_relaxed);
  // Loaded once: `runsc debug --strace` may switch it meanwhile, and Exit
  // must pair with Enter.
  SyscallObserver* obs = kernel_->observer();
  if (obs != nullptr) obs->Enter(*this, nr, args);
  regs_replaced_ = false;
  restart_code_ = 0;
  int64_t result;
  // Seccomp decides before the call runs (strace still shows it, with
  // the result seccomp gave).
  bool run = seccomp_mode_.load(std::memory_order_relaxed) == 0 ||
             SeccompAllows(nr, args, &result);
  const SyscallEntry* e = run ? kernel_->syscalls().Lookup(nr) : nullptr;
  if (!run) {
    // `result` is seccomp's.
  } else if (e == nullptr || e->fn == nullptr) {
    kernel_->ReportUnimplemented(nr);
    result = -ENOSYS;
  } else {
    SysResult<uint64_t> r = e->fn(*this, args);
    if (r.ok()) {
      result = static_cast<int64_t>(*r);
    } else {
      int err = r.err();
      if (err == kERESTARTSYS || err == kERESTARTNOINTR ||
          err == kERESTARTNOHAND || err == kERESTART_RESTARTBLOCK) {
        // HandleSignals decides between EINTR and a restart, once it
        // knows whether a handler runs.
        restart_code_ = err;
        err = EINTR;
      }
      result = -err;
    }
  }
  if (obs != nullptr) obs->Exit(*this, nr, args, regs_replaced_ ? 0 : result);
  if (!regs_replaced_) regs_.rax = static_cast<uint64_t>(result);
  act_syscall_.store(-1, std::memory_order_relaxed);
}

void Task::RecordFault(const siginfo_t& si) {
  // What the CPU reported, as Linux keeps it for the signal frame. The
  // host gives the tracer the signal and address, not the trap number or
  // error code, so those are reconstructed from the signal and the memory
  // map: exact for the cases below, except the write bit of a fault on
  // unmapped or PROT_NONE memory, which is not known (reported as a read).
  constexpr uint64_t kPfProt = 1, kPfWrite = 2, kPfUser = 4, kPfInstr = 16;
  uint64_t addr = reinterpret_cast<uint64_t>(si.si_addr);
  fault_err_ = 0;
  switch (si.si_signo) {
    case SIGSEGV:
      if (si.si_code == SI_KERNEL) {
        fault_trapno_ = 13;  // general protection
        break;
      }
      fault_trapno_ = 14;  // page fault
      fault_cr2_ = addr;
      fault_err_ = kPfUser;
      if (addr == regs_.rip) fault_err_ |= kPfInstr;
      if (addr >= 0x800000000000ULL) fault_err_ |= kPfProt;
      if (si.si_code == SEGV_ACCERR && has_mm()) {
        std::optional<mm::Vma> v = mm().FindVma(addr);
        if (v && v->prot != PROT_NONE) {
          fault_err_ |= kPfProt;
          if ((fault_err_ & kPfInstr) == 0 && (v->prot & PROT_WRITE) == 0) {
            fault_err_ |= kPfWrite;
          }
        }
      }
      break;
    case SIGBUS:
      if (si.si_code == BUS_ADRALN) {
        fault_trapno_ = 17;  // alignment check
      } else {
        fault_trapno_ = 14;
        fault_cr2_ = addr;
        fault_err_ = kPfUser;
      }
      break;
    case SIGILL:
      fault_trapno_ = 6;  // invalid opcode
      break;
    case SIGFPE:
      if (si.si_code == FPE_INTDIV || si.si_code == FPE_INTOVF) {
        fault_trapno_ = si.si_code == FPE_INTOVF ? 4 : 0;
      } else {
        // x87 errors arrive as #MF (16), SSE ones as #XM (19): an x87
        // instruction starts with an escape byte D8-DF (after prefixes).
        uint8_t code[4] = {};
        (void)CopyIn(GuestAddr(regs_.rip), code, sizeof(code));
        size_t i = 0;
        while (i < 3 && (code[i] == 0x66 || code[i] == 0x67 ||
                         (code[i] >= 0x40 && code[i] <= 0x4f))) {
          i++;
        }
        fault_trapno_ = (code[i] >= 0xd8 && code[i] <= 0xdf) ? 16 : 19;
      }
      break;
    case SIGTRAP:
      fault_trapno_ = si.si_code == SI_KERNEL ? 3 : 1;  // int3 : debug
      break;
    default:
      break;
  }
}

void Task::HandleFault(const siginfo_t& si) {
  RecordFault(si);
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  info.si_signo = si.si_signo;
  info.si_code = si.si_code;
  info.si_addr = si.si_addr;
  VLOG(1) << "task " << tid() << ": signal " << si.si_signo << " code "
          << si.si_code << " at rip 0x" << std::hex << regs_.rip << " addr "
          << si.si_addr;
  ForceSignal(info);
}

void Task::ApplyAffinity() {
  // Guest CPU numbers are the host's: the sandbox sees the CPUs it may use.
  cpu_set_t set;
  CPU_ZERO(&set);
  uint64_t mask = affinity.load();
  for (int c = 0; c < 64; c++) {
    if ((mask >> c) & 1) CPU_SET(c, &set);
  }
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    PLOG(WARNING) << "task " << tid() << ": sched_setaffinity";
  }
  if (ctx_) ctx_->AffinityChanged();
}

// ---- Exit ----

bool Task::ShouldExit() const { return thread_exit_.load(); }

void Task::ExitThread(int code) {
  absl::MutexLock l(&kernel_->mu_);
  exit_code_ = code;
  thread_exit_.store(true);
}

void Task::ExitGroup(ExitStatus status) {
  absl::MutexLock l(&kernel_->mu_);
  kernel_->GroupExitLocked(&tg(), status);
  thread_exit_.store(true);
}

void Task::ExitRobustList() {
  // struct robust_list_head { robust_list list; long futex_offset;
  // robust_list* list_op_pending; }. Each entry's futex word is at entry +
  // futex_offset; the low bit of an entry pointer marks a PI futex.
  if (robust_list_head == 0 || !has_mm()) return;
  struct Head {
    uint64_t next;
    int64_t offset;
    uint64_t pending;
  } head;
  if (!CopyInObj(GuestAddr(robust_list_head), &head).ok()) return;
  auto handle = [&](uint64_t entry, bool pending) {
    uint64_t addr = (entry & ~1ULL) + static_cast<uint64_t>(head.offset);
    if (addr % 4 != 0) return;
    for (int tries = 0; tries < 16; tries++) {
      uint32_t word;
      if (!CopyInObj(GuestAddr(addr), &word).ok()) return;
      // The lock being taken or released when the thread died, already
      // free: its owner may have died between the unlock and the wake, so
      // a waiter is woken (Linux's handle_futex_death).
      if (pending && (entry & 1) == 0 && (word & FUTEX_TID_MASK) == 0) {
        kernel_->futexes().Wake(kernel_->futexes().KeyFor(mm(), addr, false),
                                FUTEX_BITSET_MATCH_ANY, 1);
        return;
      }
      if ((word & FUTEX_TID_MASK) != static_cast<uint32_t>(tid())) return;
      uint32_t next = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
      // Compare-and-swap in guest memory, atomic against guest threads
      // taking the lock at the same time.
      SysResult<uint32_t> old = mm().Atomic32(
          GuestAddr(addr), platform::AddressSpace::AtomicOp::kCompareExchange,
          next, word);
      if (!old.ok()) return;
      if (*old != word) continue;

      if ((word & FUTEX_WAITERS) != 0) {
        kernel_->futexes().Wake(kernel_->futexes().KeyFor(mm(), addr, false),
                                FUTEX_BITSET_MATCH_ANY, 1);
      }
      return;
    }
  };
  // A bounded walk: the list is guest memory and may loop.
  uint64_t entry = head.next;
  for (int i = 0; i < 2048 && entry != robust_list_head && entry != 0; i++) {
    uint64_t next;
    if (!CopyInObj(GuestAddr(entry & ~1ULL), &next).ok()) break;
    if (entry != head.pending) handle(entry, false);
    entry = next;
  }
  if (head.pending != 0) handle(head.pending, true);
}

void Task::Finish() {
  {
    // Children this thread created now belong to another thread of the
    // process; a child that asked for PR_SET_PDEATHSIG hears of it (Linux
    // ties both to the creating thread). Done before clear_child_tid
    // wakes a joiner, which may wait for them next.
    absl::MutexLock l(&kernel_->mu_);
    ThreadGroup& g = tg();
    Task* heir = nullptr;
    for (Task* t : g.tasks) {
      if (t != this && !t->exited_) {
        heir = t;
        break;
      }
    }
    if (heir != nullptr) {
      for (auto& [id, c] : g.children) {
        if (c->parent_tid != tid()) continue;
        c->parent_tid = heir->tid();
        for (Task* ct : c->tasks) {
          if (ct->pdeath_signal != 0) {
            (void)kernel_->SendGroupSignalLocked(
                c, MakeSigInfo(ct->pdeath_signal, SI_USER, tgid()));
          }
        }
      }
    }
  }
  ExitRobustList();
  if (clear_child_tid != 0 && has_mm()) {
    uint32_t zero = 0;
    if (CopyOutObj(GuestAddr(clear_child_tid), zero).ok()) {
      kernel_->futexes().Wake(
          kernel_->futexes().KeyFor(mm(), clear_child_tid, false),
          FUTEX_BITSET_MATCH_ANY, 1);
    }
  }
  if (vfork_done_ != nullptr) vfork_done_->Complete();
  // Close the files now, as Linux's exit_files: the last user of a table
  // releases its descriptions and its record locks, while the task may
  // linger (a zombie, /proc) with an empty table.
  std::atomic_exchange(&shared_.fds, std::make_shared<vfs::FdTable>()).reset();
  std::shared_ptr<mm::MemoryManager> mm = shared_.mm;
  auto maxrss = std::make_shared<std::atomic<uint64_t>>(0);
  if (mm != nullptr) {
    ctx_->Release(mm->as());
    mm->as().SetMaxRssSink(maxrss);
  }
  std::atomic_store(&shared_.mm, std::shared_ptr<mm::MemoryManager>());
  mm.reset();  // the last reference ends the stub process
  {
    absl::MutexLock l(&ctx_mu_);
    ctx_.reset();
  }
  std::shared_ptr<Task> self;  // released outside the lock
  absl::MutexLock l(&kernel_->mu_);
  ThreadGroup& g = tg();
  exited_ = true;
  auto it = kernel_->tasks_.find(tid());
  if (it != kernel_->tasks_.end() && it->second.get() == this) {
    self = std::move(it->second);
    kernel_->tasks_.erase(it);
  }
  if (g.tasks.size() == 1) g.exit_uid = GetCreds().ruid;
  g.tasks.erase(std::find(g.tasks.begin(), g.tasks.end(), this));
  Usage mine = usage();
  mine.maxrss_kb = maxrss->load();
  g.exited_usage.Add(mine);

  if (tid() == g.tgid()) {
    g.leader_exit_status = ExitStatus{exit_code_, 0, false};
  }
  // A group stop may have been waiting for this thread.
  if (g.stop_pending && !group_stopped && g.stop_waiting > 0) {
    if (--g.stop_waiting == 0 && !g.tasks.empty()) {
      g.stop_pending = false;
      g.stopped = true;
      g.stop_report = g.stop_signal;
      kernel_->NotifyParentLocked(&g, CLD_STOPPED, g.stop_signal);
    }
  }
  if (g.execer != nullptr) g.execer->waiter_.Notify();
  if (g.tasks.empty()) kernel_->ProcessExitedLocked(&g);
}

// ---- execve ----

SysResult<void> Task::Execve(const std::string& filename,
                             std::vector<std::string> argv,
                             std::vector<std::string> envp) {
  return Execve(filename, std::move(argv), std::move(envp), ExecTarget());
}

SysResult<void> Task::Execve(const std::string& filename,
                             std::vector<std::string> argv,
                             std::vector<std::string> envp,
                             const ExecTarget& target) {
  if (filename.empty()) return Errno(ENOENT);
  // Linux 5.18 and later never start a program with argc 0.
  if (argv.empty()) argv.push_back("");
  platform::Platform& p = kernel_->platform();
  SENTRY_ASSIGN_OR_RETURN(std::unique_ptr<platform::AddressSpace> as,
                          p.NewAddressSpace());
  auto new_mm =
      std::make_shared<mm::MemoryManager>(std::move(as), p.MaxUserAddress());
  struct rlimit stack = tg().GetRlimit(RLIMIT_STACK);
  new_mm->ChooseLayout(stack.rlim_cur, kernel_->randomize());
  struct rlimit as_limit = tg().GetRlimit(RLIMIT_AS);
  new_mm->set_as_limit(as_limit.rlim_cur);

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
  req.vdso = kernel_->vdso();
  req.script_inaccessible = target.script_inaccessible;
  TaskExecEnvironment env(*this, filename, target);
  // Load through a task whose mm is the new one, so the loader's copies
  // reach the new image.
  std::shared_ptr<mm::MemoryManager> old_mm = shared_.mm;
  // Odd from here to every return: the image, then the credentials.
  struct ExecSeq {
    explicit ExecSeq(std::atomic<uint64_t>& s) : seq(s) { seq++; }
    ~ExecSeq() { seq++; }
    std::atomic<uint64_t>& seq;
  } exec_seq(tg().exec_seq);
  std::atomic_store(&shared_.mm, new_mm);
  SysResult<loader::LoadedImage> image =
      loader::Load(env, *new_mm, std::move(req));
  if (!image.ok()) {
    std::atomic_store(&shared_.mm, old_mm);
    if (ctx_) ctx_->Release(new_mm->as());
    return image.error();
  }

  // The point of no return. First the other threads go (Linux's
  // de_thread): they are told to exit and this thread waits for them.
  bool others = false;
  {
    absl::MutexLock l(&kernel_->mu_);
    ThreadGroup& g = tg();
    if (g.exiting || killed_.load()) {
      // Being killed anyway: leave quietly.
      thread_exit_.store(true);
      others = false;
    } else if (g.tasks.size() > 1) {
      others = true;
      g.execer = this;
      for (Task* t : g.tasks) {
        if (t == this) continue;
        t->killed_.store(true);
        kernel_->SignalWakeLocked(t);
      }
    }
  }
  if (thread_exit_.load()) {
    std::atomic_store(&shared_.mm, old_mm);
    if (ctx_) ctx_->Release(new_mm->as());
    return Errno(EINTR);
  }
  while (others) {
    {
      absl::MutexLock l(&kernel_->mu_);
      if (tg().tasks.size() == 1) break;
    }
    (void)BlockWith(Interruptible::kKillOnly, absl::Now() + absl::Seconds(1));
    if (killed_.load()) break;
  }
  {
    absl::MutexLock l(&kernel_->mu_);
    ThreadGroup& g = tg();
    g.execer = nullptr;
    if (killed_.load() && g.exiting) {
      thread_exit_.store(true);
    } else if (tid() != g.tgid()) {
      // This thread becomes the leader and takes the process's pid.
      auto it = kernel_->tasks_.find(tid());
      std::shared_ptr<Task> self = it->second;
      kernel_->tasks_.erase(it);
      tid_.store(g.tgid());
      kernel_->tasks_[g.tgid()] = self;
    }
  }
  if (thread_exit_.load()) {
    std::atomic_store(&shared_.mm, old_mm);
    if (ctx_) ctx_->Release(new_mm->as());
    return Errno(EINTR);
  }
  // The old memory is released as at exit (Linux's exec_mm_release): a
  // thread waiting on clear_child_tid in memory it shared with us wakes,
  // and robust futexes held in it are released.
  if (old_mm != nullptr) {
    std::shared_ptr<mm::MemoryManager> new_ref = shared_.mm;
    shared_.mm = old_mm;
    ExitRobustList();
    if (clear_child_tid != 0 && old_mm.use_count() > 2) {
      uint32_t zero = 0;
      if (CopyOutObj(GuestAddr(clear_child_tid), zero).ok()) {
        kernel_->futexes().Wake(
            FutexTable::KeyFor(*old_mm, clear_child_tid, false),
            FUTEX_BITSET_MATCH_ANY, 1);
      }
    }
    shared_.mm = new_ref;
  }
  if (old_mm && ctx_) ctx_->Release(old_mm->as());
  old_mm.reset();
  if (vfork_done_ != nullptr) {
    vfork_done_->Complete();
    vfork_done_.reset();
  }
  // execve gives the process its own fd table and dispositions if it
  // shared them with another process.
  if (shared_.fds.use_count() > 1) {
    std::atomic_store(&shared_.fds, shared_.fds->Fork());
  }
  {
    // Before the close-on-exec files go, as Linux bumps the exec id before
    // do_close_on_exec: a parent that sees such a pipe close must find
    // setpgid refused (EACCES).
    absl::MutexLock l(&kernel_->mu_);
    tg().did_exec = true;
  }
  for (auto& f : fds().RemoveCloexec()) f.reset();
  {
    absl::MutexLock l(&kernel_->mu_);
    if (shared_.sighand.use_count() > 1) {
      shared_.sighand = std::make_shared<SignalHandlers>(*shared_.sighand);
    }
    // Caught signals revert to their default; ignored ones stay ignored.
    // Flags, masks and restorers go either way.
    for (SigAction& a : sighand().actions) {
      a = SigAction{a.handler == kSigIgn ? kSigIgn : kSigDfl, 0, 0, 0};
    }
  }
  alt_stack = stack_t{nullptr, SS_DISABLE, 0};
  clear_child_tid = 0;
  robust_list_head = 0;
  restart_fn_ = nullptr;
  {
    auth::Credentials c = creds_;
    auth::CapabilitiesForExec(&c);
    set_creds(std::move(c));
  }
  {
    absl::MutexLock l(&kernel_->mu_);
    tg().dumpable = true;
  }
  tg().set_executable(image->executable);
  tg().set_args(
      {image->arg_start, image->arg_end, image->env_start, image->env_end});
  tg().set_auxv(image->auxv);
  set_comm(target.comm.empty() ? Basename(filename) : target.comm);
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

}  // namespace sentry::kernel
