#include "platform/systrap/systrap_platform.h"

#include <cpuid.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "platform/ptrace/stub.h"
#include "platform/sigframe.h"
#include "platform/systrap/sysmsg.h"
#include "sentry/base/guest_addr.h"

namespace platform::systrap {
namespace {

using ptrace::kScratchStart;
using ptrace::kStubEnd;
using ptrace::kStubSize;
using ptrace::kStubStart;
using ptrace::StubAddr;
using sentry::Errno;
using sentry::SysResult;

// Sent to a guest thread to make it stop (Context::Interrupt). Nothing
// else in a stub uses it.
constexpr int kInterruptSignal = SIGUSR2;

// si_code of a SIGSYS raised by a seccomp filter.
constexpr int kSysSeccomp = 1;

// The slots lie under the ptrace stub's scratch page; guests get everything
// beneath them.
constexpr uint64_t kSlotsEnd = kScratchStart & ~(kSlotSize - 1);
constexpr uint64_t kSlotsStart = kSlotsEnd - kSlotsSize;

// Where the guest filter sits on the (read-only) stub page: a sock_fprog,
// then its instructions.
constexpr uint64_t kFilterProgOffset = 0x800;
constexpr uint64_t kFilterOffset = 0x810;

constexpr uint64_t kSaRestorer = 0x04000000;

// How long a waiting sentry thread sleeps before it checks that the guest
// thread still exists.
constexpr absl::Duration kLivenessPeriod = absl::Milliseconds(50);
// A guest thread that has not answered an interrupt after this long has
// blocked the interrupt signal (only a forged signal frame can do that):
// its process is killed.
constexpr absl::Duration kInterruptDeadline = absl::Seconds(2);

// GuestThread::cpu when not on one CPU.
constexpr int kOnCpuUnknown = -2;
constexpr int kSpread = -1;

long Futex(std::atomic<uint32_t>* word, int op, uint32_t val,
           const struct timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, val, timeout,
                 nullptr, 0);
}

void Wake(std::atomic<uint32_t>* word) { Futex(word, FUTEX_WAKE, 1, nullptr); }

bool ThreadAlive(pid_t pid, pid_t tid) {
  return syscall(SYS_tgkill, pid, tid, 0) == 0 || errno != ESRCH;
}

bool IsSynchronousFault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP || sig == SIGSYS;
}

bool InStubPage(uint64_t addr) { return addr >= kStubStart && addr < kStubEnd; }

// Lets host thread `tid` run on `cpu` alone.
bool PinToCpu(pid_t tid, int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(tid, sizeof(one), &one) == 0;
}

// One guest thread: an untraced stub thread and its slot.
struct GuestThread {
  pid_t tid = -1;
  size_t slot = 0;
  uint64_t stub_base = 0;   // the slot's address in the stub
  uint8_t* base = nullptr;  // the slot in the sentry
  // The frame the thread is parked on, as offsets into the slot, checked
  // when the event arrived.
  uint64_t uc_off = 0;
  uint64_t fp_off = 0;
  // Where the thread may run: kOnCpuUnknown until placed, else the one CPU
  // it shares with its sentry thread, or kSpread (every CPU the sentry
  // thread may use but the one it is on, cpu_spread_from).
  int cpu = kOnCpuUnknown;
  // The thread's host fs/gs bases; ~0 until the sentry first sets them.
  uint64_t fs_base = ~0ULL;
  uint64_t gs_base = ~0ULL;
  // How long after its next event the nap armed at the last resume ends
  // (its spin, then the nap; 0: no nap), and when that is
  // (absl::GetCurrentTimeNanos, set once the event came).
  int64_t nap_ends_after_ns = 0;
  int64_t nap_until_ns = 0;

  SysMsg* msg() const { return reinterpret_cast<SysMsg*>(base); }
  UContext* uc() const { return reinterpret_cast<UContext*>(base + uc_off); }

  // The offset in the slot of the `size` bytes at stub address `addr` if
  // they lie in the signal stack, aligned to `align`; 0 otherwise.
  uint64_t Translate(uint64_t addr, uint64_t size, uint64_t align) const {
    if (addr < stub_base + kSignalStackOffset || addr % align != 0) return 0;
    uint64_t off = addr - stub_base;
    if (off > kSlotSize || size > kSlotSize - off) return 0;
    return off;
  }
};

enum class Wait { kEvent, kDied };

// Spinning: a side that expects the other to answer soon polls the state
// word instead of sleeping, which saves two futex calls and a wake-up of
// an idle CPU (on a VM, far dearer than the calls). It pays only while the
// two threads run on two free CPUs; see SpinPolicy.
constexpr int64_t kSentrySpinNs = 30'000;
constexpr int64_t kStubSpinNs = 20'000;
// Naps (Context::NextEventTakes): a guest thread whose next event the
// sentry expects to take long sleeps with a timeout instead of until woken,
// to wake by itself kNapEarlyNs before the answer and spin kNapSpinNs for
// it. A timer wake-up costs the sentry nothing, where waking an idle CPU
// costs the waker an IPI (2.5-5 us here, on the read's critical path).
// kNapEarlyNs covers the spread of a large read's time and of the timer's
// wake-up on a VM; the stub's timer slack is 1 ns (StubChild), not 50 us.
constexpr int64_t kNapEarlyNs = 15'000;
constexpr int64_t kNapSpinNs = 30'000;
// Shorter naps are not worth a timer.
constexpr int64_t kMinNapNs = 10'000;
// ResumeSoon leaves a napping thread alone if its nap ends this soon: the
// answer is ~10 us away then (MemoryManager::kAlmostDoneTail).
constexpr int64_t kNapEndsSoonNs = 8'000;

// Contexts whose guest thread is running or about to: each may want two
// CPUs while it spins.
std::atomic<int> contexts_in_switch{0};
int online_cpus = 1;
// `pause` instructions in kStubSpinNs and kNapSpinNs, measured at start-up.
uint32_t stub_spin_iterations = 0;
uint32_t nap_spin_iterations = 0;

// Whether spinning pays for one side of one context: every spin that ends
// with the answer earns credit, every one that ends asleep costs more; out
// of credit, the side sleeps at once for a while, then tries again. Under
// load (no free CPU, or a busy host) spins miss and stop by themselves.
class SpinPolicy {
 public:
  bool Allowed() {
    if (cooldown_ > 0) {
      cooldown_--;
      return false;
    }
    return true;
  }
  void Hit() { credit_ = std::min(credit_ + 1, kMaxCredit); }
  // `woken`: the other side was asleep and had to be woken first. That
  // wake-up of an idle CPU can outlast a spin (always the first after the
  // thread moves to another CPU) when spinning pays otherwise: half a miss.
  void Miss(bool woken = false) {
    credit_ -= woken ? 1 : 2;
    if (credit_ <= 0) {
      cooldown_ = kCooldown;
      credit_ = kStartCredit;
    }
  }

 private:
  static constexpr int kMaxCredit = 8;
  static constexpr int kStartCredit = 2;
  static constexpr int kCooldown = 256;
  int credit_ = kStartCredit;
  int cooldown_ = 0;
};

// Puts the XSAVE image of a signal frame in the state of a fresh process.
void ResetXsave(uint8_t* fp) {
  uint32_t mxcsr_mask;
  memcpy(&mxcsr_mask, fp + 28, sizeof(mxcsr_mask));
  // The legacy area up to the software-reserved bytes, which describe the
  // frame to the kernel and stay; then the XSAVE header: all zero means
  // every component is in its initial state.
  memset(fp, 0, kSwBytesOffset);
  memset(fp + kFxsaveSize, 0, kXsaveHeaderSize);
  const uint16_t fcw = 0x37f;     // x87: all exceptions masked
  const uint32_t mxcsr = 0x1f80;  // SSE: all exceptions masked
  memcpy(fp + 0, &fcw, sizeof(fcw));
  memcpy(fp + 24, &mxcsr, sizeof(mxcsr));
  memcpy(fp + 28, &mxcsr_mask, sizeof(mxcsr_mask));
}

// Reads the registers out of a checked frame.
void RegsFromFrame(const UContext& uc, Registers& regs) {
  const SigContext& sc = uc.uc_mcontext;
  regs.r8 = sc.r8;
  regs.r9 = sc.r9;
  regs.r10 = sc.r10;
  regs.r11 = sc.r11;
  regs.r12 = sc.r12;
  regs.r13 = sc.r13;
  regs.r14 = sc.r14;
  regs.r15 = sc.r15;
  regs.rdi = sc.rdi;
  regs.rsi = sc.rsi;
  regs.rbp = sc.rbp;
  regs.rbx = sc.rbx;
  regs.rdx = sc.rdx;
  regs.rax = sc.rax;
  regs.rcx = sc.rcx;
  regs.rsp = sc.rsp;
  regs.rip = sc.rip;
  regs.eflags = sc.eflags;
  regs.cs = sc.cs;
  regs.ss = sc.ss;
  regs.orig_rax = static_cast<uint64_t>(-1);
}

}  // namespace

class SystrapAddressSpace final : public ptrace::InjectingAddressSpace {
 public:
  static SysResult<std::unique_ptr<AddressSpace>> Create(
      const SystrapPlatform& platform, pid_t adopt = -1) {
    auto as =
        std::unique_ptr<SystrapAddressSpace>(new SystrapAddressSpace(platform));
    std::string error;
    SysResult<void> r = as->manager_.Start(&error, adopt);
    if (!r.ok()) {
      LOG(ERROR) << "systrap platform: " << error;
      return r.error();
    }
    SENTRY_RETURN_IF_ERROR(as->SetUpSlots());
    return std::unique_ptr<AddressSpace>(std::move(as));
  }

  ~SystrapAddressSpace() override {
    ReleaseCaller();
    {
      absl::MutexLock l(&mu_);
      for (const auto& [owner, t] : threads_) {
        LOG(ERROR) << "address space destroyed while sentry thread " << owner
                   << " still owns guest thread " << t->tid;
      }
    }
    if (slots_ != nullptr) munmap(slots_, kSlotsSize);
  }

  pid_t pid() const { return manager_.pid(); }
  int StubPid() const override { return pid(); }
  const SystrapPlatform& platform() const { return platform_; }

  SysResult<std::unique_ptr<AddressSpace>> Fork() override {
    // A copy of the syscall thread alone, with the guest's memory; it idles
    // in the stub's pause loop until its own manager seizes it, and gets
    // slots of its own there (it inherits a mapping of ours).
    SENTRY_ASSIGN_OR_RETURN(int64_t child,
                            InjectHere(StubAddr(uks_stub_clone), SYS_clone,
                                       {CLONE_FILES | SIGCHLD, 0, 0, 0, 0}));
    if (child < 0) return Errno(static_cast<int>(-child));
    return Create(platform_, static_cast<pid_t>(child));
  }

  // The injected pread runs on the caller's traced thread, which the
  // caller then waits for: on the caller's own CPU both hand-offs are
  // direct switches, where elsewhere each wakes a sleeping CPU.
  SysResult<size_t> PreadToGuest(int host_fd, uint64_t offset, uint64_t addr,
                                 size_t len) override {
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, manager_.TracedThreadForCaller());
    thread_local pid_t pinned_tid = -1;
    thread_local int pinned_cpu = -1;
    int cpu = sched_getcpu();
    if (cpu >= 0 && (tid != pinned_tid || cpu != pinned_cpu) &&
        PinToCpu(tid, cpu)) {
      pinned_tid = tid;
      pinned_cpu = cpu;
    }
    return InjectingAddressSpace::PreadToGuest(host_fd, offset, addr, len);
  }

  SysResult<uint64_t> MaxRssKb() override {
    SENTRY_ASSIGN_OR_RETURN(
        int64_t rc,
        InjectHere(StubAddr(uks_stub_syscall), SYS_getrusage,
                   {static_cast<uint64_t>(RUSAGE_SELF), kScratchStart}));
    if (rc != 0) return Errno(static_cast<int>(-rc));
    struct rusage ru;
    SENTRY_ASSIGN_OR_RETURN(
        size_t n,
        ptrace::ReadStubMemory(pid(), kScratchStart, &ru, sizeof(ru)));
    if (n != sizeof(ru)) return Errno(EFAULT);
    return static_cast<uint64_t>(ru.ru_maxrss);
  }

  void SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink) override {
    manager_.SetMaxRssSink(std::move(sink));
  }

  SysResult<uint32_t> Atomic32(uint64_t addr, AtomicOp op, uint32_t operand,
                               uint32_t expected) override {
    if (addr % 4 != 0 || addr < kMinUserAddress || addr + 4 > kSlotsStart) {
      return Errno(EFAULT);
    }
    Registers r = manager_.regs_template();
    r.rdi = addr;
    r.rsi = operand;
    r.rdx = expected;
    r.rcx = static_cast<uint64_t>(op);
    SENTRY_ASSIGN_OR_RETURN(int64_t old,
                            InjectHere(StubAddr(uks_stub_atomic), 0,
                                       {addr, operand, expected}, &r));
    return static_cast<uint32_t>(old);
  }

  SysResult<size_t> Read(uint64_t addr, void* dst, size_t len) override {
    return ptrace::ReadStubMemory(pid(), addr, dst, len);
  }

  SysResult<size_t> Write(uint64_t addr, const void* src, size_t len) override {
    return ptrace::WriteStubMemory(pid(), addr, src, len);
  }

  // The calling sentry thread's guest thread here, or null if it has none
  // yet (never made one).
  GuestThread* ExistingThreadForCaller() {
    pid_t me = ptrace::CurrentTid();
    absl::MutexLock l(&mu_);
    auto it = threads_.find(me);
    return it != threads_.end() ? it->second.get() : nullptr;
  }

  // Returns the guest thread the calling sentry thread runs, creating one
  // on first use. The thread is parked on a frame on return.
  SysResult<GuestThread*> ThreadForCaller() {
    pid_t me = ptrace::CurrentTid();
    {
      absl::MutexLock l(&mu_);
      auto it = threads_.find(me);
      if (it != threads_.end()) return it->second.get();
    }
    SENTRY_ASSIGN_OR_RETURN(std::unique_ptr<GuestThread> t, NewThread());
    absl::MutexLock l(&mu_);
    GuestThread* raw = t.get();
    threads_[me] = std::move(t);
    return raw;
  }

  // Ends the calling thread's use of this address space: its guest thread
  // exits and its slot is free again.
  void ReleaseCaller() {
    pid_t me = ptrace::CurrentTid();
    std::unique_ptr<GuestThread> t;
    {
      absl::MutexLock l(&mu_);
      auto it = threads_.find(me);
      if (it != threads_.end()) {
        t = std::move(it->second);
        threads_.erase(it);
      }
    }
    if (t != nullptr) EndThread(*t);
    manager_.ReleaseTracedThreadOfCaller();
  }

  // Waits until `t` publishes an event. `interrupted_since`, if not null,
  // is when the sentry first asked the running thread to stop (0: not
  // asked).
  // With `spin_ns`, polls that long first; `*caught_spinning` says whether
  // the event came while polling.
  Wait AwaitEvent(GuestThread& t, int64_t spin_ns,
                  const std::atomic<int64_t>* interrupted_since,
                  bool* caught_spinning = nullptr) {
    SysMsg* m = t.msg();
    if (spin_ns > 0) {
      int64_t deadline = absl::GetCurrentTimeNanos() + spin_ns;
      for (uint32_t i = 1;; i++) {
        if (m->state.load(std::memory_order_acquire) == kStateEvent) {
          *caught_spinning = true;
          return Wait::kEvent;
        }
        __builtin_ia32_pause();
        if (i % 64 == 0 && absl::GetCurrentTimeNanos() > deadline) break;
      }
    }
    const struct timespec period = absl::ToTimespec(kLivenessPeriod);
    for (;;) {
      m->sentry_sleeping.exchange(1);
      uint32_t s = m->state.load();
      if (s != kStateEvent) Futex(&m->state, FUTEX_WAIT, s, &period);
      m->sentry_sleeping.store(0);
      if (m->state.load(std::memory_order_acquire) == kStateEvent) {
        return Wait::kEvent;
      }
      if (!ThreadAlive(pid(), t.tid)) return Wait::kDied;
      int64_t since =
          interrupted_since != nullptr ? interrupted_since->load() : 0;
      if (since != 0 &&
          absl::Now() - absl::FromUnixNanos(since) > kInterruptDeadline) {
        LOG(ERROR) << "systrap: guest thread " << t.tid << " of stub " << pid()
                   << " ignores interrupts (its signal mask was forged); "
                      "killing its process";
        kill(pid(), SIGKILL);
        return Wait::kDied;
      }
    }
  }

  // Copies out the frame `t` published, after checking that it (and its
  // FPU state) lies in the thread's signal stack, and records where it is.
  // Only guest code writing over the slot makes this fail.
  bool TakeFrame(GuestThread& t, UContext& uc, siginfo_t& si) {
    SysMsg* m = t.msg();
    uint64_t uc_off = t.Translate(m->ucontext.load(), sizeof(UContext), 8);
    uint64_t si_off = t.Translate(m->siginfo.load(), sizeof(siginfo_t), 8);
    if (uc_off == 0 || si_off == 0) return false;
    memcpy(&uc, t.base + uc_off, sizeof(uc));
    memcpy(&si, t.base + si_off, sizeof(si));
    uint64_t fp_off =
        t.Translate(uc.uc_mcontext.fpstate, platform_.xstate_size() + 4, 64);
    if (fp_off == 0) return false;
    t.uc_off = uc_off;
    t.fp_off = fp_off;
    return true;
  }

  // Reads the event `t` published into `regs` and says what it was.
  SwitchResult ReadEvent(GuestThread& t, Registers& regs) {
    SwitchResult result;
    UContext uc;
    siginfo_t si;
    if (!TakeFrame(t, uc, si)) {
      LOG(ERROR) << "systrap: guest thread " << t.tid << " of stub " << pid()
                 << " published a frame outside its signal stack; killing "
                    "its process";
      kill(pid(), SIGKILL);
      result.reason = StopReason::kDied;
      return result;
    }
    RegsFromFrame(uc, regs);
    regs.fs_base = t.fs_base;
    regs.gs_base = t.gs_base;
    int sig = si.si_signo;
    bool syscall = sig == SIGSYS && si.si_code == kSysSeccomp;
    if (InStubPage(regs.rip) && !syscall) {
      // The stub's own code faulted (or a guest jumped into it and
      // faulted): nothing a guest thread can continue from. (A system call
      // the guest made from the stub page's `syscall` instruction is
      // emulated like any other.)
      LOG(ERROR) << "systrap: signal " << si.si_signo << " in stub code at 0x"
                 << std::hex << regs.rip << std::dec << " (stub " << pid()
                 << "); killing its process";
      kill(pid(), SIGKILL);
      result.reason = StopReason::kDied;
      return result;
    }
    if (syscall) {
      // A guest system call, from a `syscall` instruction or the vsyscall
      // page (the kernel has done its `ret` already). Other ABIs (int 0x80,
      // sysenter) get SIGSEGV, as on Linux without IA-32 emulation.
      if (si.si_arch != AUDIT_ARCH_X86_64 ||
          (static_cast<uint32_t>(si.si_syscall) & 0x40000000) != 0) {
        result.reason = StopReason::kFault;
        result.siginfo.si_signo = SIGSEGV;
        result.siginfo.si_code = SI_KERNEL;
        return result;
      }
      regs.orig_rax = static_cast<uint64_t>(si.si_syscall);
      regs.rax = static_cast<uint64_t>(si.si_syscall);
      result.reason = StopReason::kSyscall;
      return result;
    }
    if (IsSynchronousFault(sig) && si.si_code > 0) {
      result.reason = StopReason::kFault;
      result.siginfo = si;
      return result;
    }
    // The interrupt signal, or a signal some host process sent the stub.
    result.reason = StopReason::kInterrupted;
    return result;
  }

  // Writes `regs` into the frame `t` is parked on, for rt_sigreturn.
  void WriteFrame(GuestThread& t, const Registers& regs) {
    SigContext& sc = t.uc()->uc_mcontext;
    sc.r8 = regs.r8;
    sc.r9 = regs.r9;
    sc.r10 = regs.r10;
    sc.r11 = regs.r11;
    sc.r12 = regs.r12;
    sc.r13 = regs.r13;
    sc.r14 = regs.r14;
    sc.r15 = regs.r15;
    sc.rdi = regs.rdi;
    sc.rsi = regs.rsi;
    sc.rbp = regs.rbp;
    sc.rbx = regs.rbx;
    sc.rdx = regs.rdx;
    sc.rax = regs.rax;
    sc.rcx = regs.rcx;
    sc.rsp = regs.rsp;
    sc.rip = regs.rip;
    sc.eflags = regs.eflags;
    sc.cs = static_cast<uint16_t>(regs.cs);
    sc.ss = static_cast<uint16_t>(regs.ss);
    // Guest threads never block host signals; the interrupt signal must
    // get through.
    t.uc()->uc_sigmask = 0;
    SysMsg* m = t.msg();
    if (regs.fs_base != t.fs_base) {
      m->fs_base.store(regs.fs_base);
      m->set_fs.store(1);
      t.fs_base = regs.fs_base;
    }
    if (regs.gs_base != t.gs_base) {
      m->gs_base.store(regs.gs_base);
      m->set_gs.store(1);
      t.gs_base = regs.gs_base;
    }
  }

  // Lets `t` run: it returns from its frame into the guest. The thread
  // spins `spin` times before it sleeps at its next event; with `nap_ns`,
  // it first sleeps that long, then spins nap_spin_iterations times.
  // Returns whether it had to be woken (it was not spinning).
  bool Resume(GuestThread& t, uint32_t spin, int64_t nap_ns) {
    SysMsg* m = t.msg();
    m->spin.store(spin, std::memory_order_relaxed);
    if (nap_ns > 0) {
      m->nap_for[0].store(nap_ns / 1000000000, std::memory_order_relaxed);
      m->nap_for[1].store(nap_ns % 1000000000, std::memory_order_relaxed);
      m->nap_spin.store(nap_spin_iterations, std::memory_order_relaxed);
    }
    m->nap.store(nap_ns > 0 ? 1 : 0, std::memory_order_relaxed);
    t.nap_ends_after_ns =
        nap_ns > 0 ? (spin > 0 ? kStubSpinNs : 0) + nap_ns : 0;
    // The exchange orders the stores above before the guest runs.
    m->state.exchange(kStateRun);
    if (m->stub_sleeping.load() == 0) return false;
    Wake(&m->state);
    return true;
  }

  // Wakes `t`, asleep at an event the sentry is still handling, to spin
  // `spin` times (Context::ResumeSoon): its wake-up, dear on an idle CPU,
  // then overlaps the sentry's last work, and Resume finds it spinning.
  void WakeEarly(GuestThread& t, uint32_t spin) {
    SysMsg* m = t.msg();
    if (m->state.load(std::memory_order_relaxed) != kStateEvent) return;
    m->spin.store(spin, std::memory_order_relaxed);
    // The stub reloads `spin` after each wake; the futex call orders it.
    uint32_t sleeping = m->stub_sleeping.load();
    if (sleeping == kStubAwake) return;
    // A nap about to end wakes the thread in time without the IPI.
    if (sleeping == kStubNapping && t.nap_ends_after_ns > 0 &&
        t.nap_until_ns - absl::GetCurrentTimeNanos() <= kNapEndsSoonNs) {
      return;
    }
    Wake(&m->state);
  }

  uint8_t* FpState(GuestThread& t) { return t.base + t.fp_off; }

 private:
  explicit SystrapAddressSpace(const SystrapPlatform& platform)
      : InjectingAddressSpace(kSlotsStart),
        platform_(platform),
        manager_(platform.stub_config()) {}

  SysResult<int64_t> InjectRaw(long nr,
                               std::initializer_list<uint64_t> args) override {
    return InjectHere(StubAddr(uks_stub_syscall), nr, args);
  }

  // Injects into the calling sentry thread's own traced stub thread: no
  // hand-off to the manager thread (a wake-up of another CPU) per mmap.
  SysResult<int64_t> InjectHere(uint64_t ip, long nr,
                                std::initializer_list<uint64_t> args,
                                const Registers* tmpl = nullptr) {
    SENTRY_ASSIGN_OR_RETURN(pid_t tid, manager_.TracedThreadForCaller());
    return ptrace::Inject(
        tid, tmpl != nullptr ? *tmpl : manager_.regs_template(), ip, nr, args);
  }

  // A memfd for the slots, mapped in the sentry and over the stub's slot
  // range (replacing the parent's, in a forked stub).
  SysResult<void> SetUpSlots() {
    int fd = static_cast<int>(
        syscall(SYS_memfd_create, "uks-systrap-slots", MFD_CLOEXEC));
    if (fd < 0) return Errno::FromHost();
    slots_fd_.Reset(fd);
    if (ftruncate(fd, kSlotsSize) != 0) return Errno::FromHost();
    void* p =
        mmap(nullptr, kSlotsSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return Errno::FromHost();
    slots_ = static_cast<uint8_t*>(p);
    SENTRY_ASSIGN_OR_RETURN(
        int64_t rc,
        manager_.InjectOnManager(
            StubAddr(uks_stub_syscall), SYS_mmap,
            {kSlotsStart, kSlotsSize, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, static_cast<uint64_t>(fd), 0}));
    if (rc != static_cast<int64_t>(kSlotsStart)) {
      LOG(ERROR) << "systrap: mapping the slots into stub " << pid()
                 << " failed: " << rc;
      return Errno(ENOMEM);
    }
    absl::MutexLock l(&mu_);
    used_slots_.assign(kMaxThreadsPerProcess, false);
    return sentry::Ok();
  }

  SysResult<std::unique_ptr<GuestThread>> NewThread() {
    auto t = std::make_unique<GuestThread>();
    {
      absl::MutexLock l(&mu_);
      size_t i = 0;
      while (i < used_slots_.size() && used_slots_[i]) i++;
      if (i == used_slots_.size()) return Errno(EAGAIN);
      used_slots_[i] = true;
      t->slot = i;
    }
    t->stub_base = kSlotsStart + t->slot * kSlotSize;
    t->base = slots_ + t->slot * kSlotSize;
    // The slot's previous thread, if any, has exited.
    memset(t->base, 0, kSignalStackOffset);
    Registers r = manager_.regs_template();
    r.r12 = t->stub_base;
    r.r13 = kStubStart + kFilterProgOffset;
    constexpr uint64_t kFlags = CLONE_VM | CLONE_FS | CLONE_SIGHAND |
                                CLONE_THREAD | CLONE_SYSVSEM |
                                CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    SysResult<int64_t> tid =
        InjectHere(StubAddr(uks_systrap_clone), SYS_clone,
                   {kFlags, 0, 0, t->stub_base + offsetof(SysMsg, tid), 0}, &r);
    if (!tid.ok() || *tid <= 0) {
      FreeSlot(t->slot);
      if (!tid.ok()) return tid.error();
      return Errno(static_cast<int>(-*tid));
    }
    t->tid = static_cast<pid_t>(*tid);
    // The thread parks in the handler at the int3 after its set-up, with
    // a frame whose FPU state the kernel describes as CPUID does.
    UContext uc;
    siginfo_t si;
    FpxSwBytes sw{};
    bool ok = AwaitEvent(*t, 0, nullptr) == Wait::kEvent &&
              TakeFrame(*t, uc, si) && si.si_signo == SIGTRAP &&
              uc.uc_mcontext.rip == StubAddr(uks_systrap_ready);
    if (ok) {
      memcpy(&sw, FpState(*t) + kSwBytesOffset, sizeof(sw));
      ok = sw.magic1 == kFpXstateMagic1 &&
           sw.xstate_size == platform_.xstate_size();
    }
    if (!ok) {
      LOG(ERROR) << "systrap: guest thread " << t->tid << " of stub " << pid()
                 << " did not start (FPU frame: magic 0x" << std::hex
                 << sw.magic1 << std::dec << ", size " << sw.xstate_size
                 << ", expected " << platform_.xstate_size() << ")";
      EndThread(*t);
      return Errno(EAGAIN);
    }
    // What the syscall thread had (the sentry's, once) is not the guest's.
    ResetXsave(FpState(*t));
    return t;
  }

  void FreeSlot(size_t slot) {
    absl::MutexLock l(&mu_);
    used_slots_[slot] = false;
  }

  // Makes `t` exit and waits until it has.
  void EndThread(GuestThread& t) {
    SysMsg* m = t.msg();
    m->state.exchange(kStateExit);
    Wake(&m->state);
    const struct timespec period = absl::ToTimespec(kLivenessPeriod);
    absl::Time deadline = absl::Now() + kInterruptDeadline;
    for (;;) {
      uint32_t tid = m->tid.load();
      if (tid == 0 || !ThreadAlive(pid(), t.tid)) break;
      if (absl::Now() > deadline) {
        LOG(ERROR) << "systrap: guest thread " << t.tid << " of stub " << pid()
                   << " does not exit; killing its process";
        kill(pid(), SIGKILL);
        break;
      }
      Futex(&m->tid, FUTEX_WAIT, tid, &period);
    }
    FreeSlot(t.slot);
  }

  const SystrapPlatform& platform_;
  ptrace::StubProcess manager_;
  sentry::HostFd slots_fd_;
  uint8_t* slots_ = nullptr;

  absl::Mutex mu_;
  // Sentry thread tid -> the guest thread it runs in this process.
  absl::flat_hash_map<pid_t, std::unique_ptr<GuestThread>> threads_
      ABSL_GUARDED_BY(mu_);
  std::vector<bool> used_slots_ ABSL_GUARDED_BY(mu_);
};

namespace {

class SystrapContext final : public Context {
 public:
  SystrapContext() = default;
  ~SystrapContext() override = default;

  SwitchResult Switch(AddressSpace& as, Registers& regs) override {
    auto& sas = static_cast<SystrapAddressSpace&>(as);
    SwitchResult result;
    SysResult<GuestThread*> t_or = sas.ThreadForCaller();
    if (!t_or.ok()) {
      result.reason = StopReason::kDied;
      return result;
    }
    GuestThread& t = **t_or;
    if (t.tid != published_tid_ || sas.pid() != published_pid_) {
      // Where Interrupt() sends its signal; the lock only when it changes,
      // not on every guest system call.
      absl::MutexLock l(&mu_);
      pid_ = sas.pid();
      tid_ = t.tid;
      published_tid_ = t.tid;
      published_pid_ = sas.pid();
    }
    sas.WriteFrame(t, regs);
    running_.store(true);
    // Interrupt() checks running_ after setting the flag, so one of the two
    // sees the other.
    if (interrupt_pending_.exchange(false)) {
      running_.store(false);
      result.reason = StopReason::kInterrupted;
      return result;
    }
    // Spin only with a free CPU for each side of every running context.
    bool free_cpus = 2 * (contexts_in_switch.fetch_add(1) + 1) <= online_cpus;
    bool sentry_spin = free_cpus && sentry_spin_.Allowed();
    bool stub_spin = free_cpus && stub_spin_.Allowed();
    Place(t, sentry_spin || stub_spin);
    // A long answer expected for the next event: the guest thread naps
    // through most of it, after its spin (spread only, as for ResumeSoon:
    // on the sentry's CPU it would spin where the sentry works).
    int64_t nap = 0;
    if (next_event_ns_ > 0 && t.cpu == kSpread) {
      nap = next_event_ns_ - kNapEarlyNs - (stub_spin ? kStubSpinNs : 0);
      if (nap < kMinNapNs) nap = 0;
    }
    next_event_ns_ = 0;
    bool woken = sas.Resume(t, stub_spin ? stub_spin_iterations : 0, nap);
    if (stub_spun_) {
      // The thread spun at its last event: did the answer come in time?
      if (woken) {
        stub_spin_.Miss();
      } else {
        stub_spin_.Hit();
      }
    }
    stub_spun_ = stub_spin;
    bool caught = false;
    Wait w = sas.AwaitEvent(t, sentry_spin ? kSentrySpinNs : 0,
                            &interrupted_since_, &caught);
    contexts_in_switch.fetch_sub(1);
    // The nap, if one was armed, began about now, or after the spin.
    if (t.nap_ends_after_ns > 0) {
      t.nap_until_ns = absl::GetCurrentTimeNanos() + t.nap_ends_after_ns;
    }
    if (sentry_spin) {
      if (caught) {
        sentry_spin_.Hit();
      } else {
        sentry_spin_.Miss(woken);
      }
    }
    running_.store(false);
    interrupted_since_.store(0);
    if (w == Wait::kDied) {
      result.reason = StopReason::kDied;
      return result;
    }
    return sas.ReadEvent(t, regs);
  }

  void Interrupt() override {
    interrupt_pending_.store(true);
    if (!running_.load()) return;
    absl::MutexLock l(&mu_);
    if (tid_ <= 0) return;
    int64_t zero = 0;
    interrupted_since_.compare_exchange_strong(zero,
                                               absl::GetCurrentTimeNanos());
    syscall(SYS_tgkill, pid_, tid_, kInterruptSignal);
  }

  SysResult<void> ResetFPState(AddressSpace& as) override {
    auto& sas = static_cast<SystrapAddressSpace&>(as);
    SENTRY_ASSIGN_OR_RETURN(GuestThread * t, sas.ThreadForCaller());
    ResetXsave(sas.FpState(*t));
    return sentry::Ok();
  }

  // The image in the layout of ptrace's NT_X86_XSTATE: XCR0 where the
  // frame has its software-reserved bytes.
  SysResult<std::vector<uint8_t>> GetFPState(AddressSpace& as) override {
    auto& sas = static_cast<SystrapAddressSpace&>(as);
    SENTRY_ASSIGN_OR_RETURN(GuestThread * t, sas.ThreadForCaller());
    const uint8_t* fp = sas.FpState(*t);
    std::vector<uint8_t> buf(fp, fp + sas.platform().xstate_size());
    FpxSwBytes sw{};
    memcpy(&sw, &sas.platform().xcr0(), sizeof(uint64_t));
    std::copy_n(reinterpret_cast<const uint8_t*>(&sw), sizeof(sw),
                buf.begin() + kSwBytesOffset);
    return buf;
  }

  SysResult<void> SetFPState(AddressSpace& as,
                             const std::vector<uint8_t>& xsave) override {
    auto& sas = static_cast<SystrapAddressSpace&>(as);
    SENTRY_ASSIGN_OR_RETURN(GuestThread * t, sas.ThreadForCaller());
    uint32_t size = sas.platform().xstate_size();
    if (xsave.size() != size) return Errno(EINVAL);
    // What XRSTOR would refuse (#GP), the kernel's checks for ptrace.
    uint32_t mxcsr, mxcsr_mask;
    memcpy(&mxcsr, xsave.data() + 24, sizeof(mxcsr));
    memcpy(&mxcsr_mask, xsave.data() + 28, sizeof(mxcsr_mask));
    if (mxcsr_mask == 0) mxcsr_mask = 0xffbf;
    uint64_t header[8];
    memcpy(header, xsave.data() + kFxsaveSize, sizeof(header));
    if ((mxcsr & ~mxcsr_mask) != 0 ||
        (header[0] & ~sas.platform().xcr0()) != 0 || header[1] != 0) {
      return Errno(EINVAL);
    }
    for (int i = 2; i < 8; i++) {
      if (header[i] != 0) return Errno(EINVAL);
    }
    uint8_t* fp = sas.FpState(*t);
    memcpy(fp, xsave.data(), kSwBytesOffset);
    memcpy(fp + kFxsaveSize, xsave.data() + kFxsaveSize, size - kFxsaveSize);
    return sentry::Ok();
  }

  // Only for a guest thread spread to other CPUs, with one free for it: one
  // that shares the sentry thread's CPU would spin where the sentry works.
  void ResumeSoon(AddressSpace& as) override {
    auto& sas = static_cast<SystrapAddressSpace&>(as);
    if (2 * (contexts_in_switch.load() + 1) > online_cpus) return;
    GuestThread* t = sas.ExistingThreadForCaller();
    if (t == nullptr || t->cpu != kSpread) return;
    // Not counted by the stub's spin policy: a slow file (a disk, a
    // network) can outlast any spin here without spinning at events
    // being useless.
    sas.WakeEarly(*t, stub_spin_iterations);
  }

  // The shorter of the last two guesses: a nap that ends early costs a
  // spin, one that ends late costs the IPI it was to save, or more.
  void NextEventTakes(int64_t ns) override {
    next_event_ns_ = last_guess_ns_ > 0 ? std::min(ns, last_guess_ns_) : ns;
    last_guess_ns_ = ns;
  }

  void AffinityChanged() override { affinity_changed_ = true; }

  // Decides where the guest thread runs. Sleeping hand-offs are cheapest on
  // one CPU: the wake-up is a direct switch, where a wake-up of another
  // (idle) CPU costs an IPI and, on a VM, an exit. Spinning needs the two
  // on different CPUs. Either way the guest thread stays within the CPUs
  // its sentry thread may use, which are the guest's (it reads its CPU
  // itself: rdtscp, getcpu).
  void Place(GuestThread& t, bool spread) {
    int cpu = sched_getcpu();
    if (cpu < 0) return;
    if (!spread) {
      if (t.cpu == cpu && !affinity_changed_) return;
      if (PinToCpu(t.tid, cpu)) t.cpu = cpu;
      affinity_changed_ = false;
      return;
    }
    if (t.cpu == kSpread && spread_from_ == cpu && !affinity_changed_) return;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
    if (CPU_COUNT(&set) > 1) CPU_CLR(cpu, &set);
    if (sched_setaffinity(t.tid, sizeof(set), &set) == 0) {
      t.cpu = kSpread;
      spread_from_ = cpu;
    }
    affinity_changed_ = false;
  }

  void Release(AddressSpace& as) override {
    auto& sas = static_cast<SystrapAddressSpace&>(as);
    {
      absl::MutexLock l(&mu_);
      if (pid_ == sas.pid()) pid_ = tid_ = published_tid_ = published_pid_ = -1;
    }
    sas.ReleaseCaller();
  }

 private:
  // Set by AffinityChanged(); read and cleared by Switch (same thread).
  bool affinity_changed_ = false;
  // The CPU the sentry thread was on when its guest thread was spread.
  int spread_from_ = -1;
  SpinPolicy sentry_spin_;
  SpinPolicy stub_spin_;
  // Whether the guest thread was asked to spin at its next event.
  bool stub_spun_ = false;
  // NextEventTakes's guess, for the next Switch only, and the last hint.
  int64_t next_event_ns_ = 0;
  int64_t last_guess_ns_ = 0;
  // pid_ and tid_ as the switching thread last set them (read without mu_
  // by that thread only).
  pid_t published_pid_ = -1;
  pid_t published_tid_ = -1;
  std::atomic<bool> interrupt_pending_{false};
  std::atomic<bool> running_{false};
  // When Interrupt() first signalled the running thread (ns since the
  // epoch); 0 when not.
  std::atomic<int64_t> interrupted_since_{0};

  absl::Mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = -1;
  pid_t tid_ ABSL_GUARDED_BY(mu_) = -1;
};

uint64_t Xgetbv0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

}  // namespace

std::vector<sock_filter> BuildProcessFilter() {
  static constexpr uint32_t kAllowed[] = {
      // Injected by the sentry into the syscall thread.
      SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_mremap, SYS_clone,
      SYS_pause, SYS_gettid, SYS_tkill, SYS_exit, SYS_getrusage,
      // A new guest thread's set-up, before it adds the guest filter.
      SYS_close_range, SYS_sigaltstack, SYS_seccomp,
      // The handler.
      SYS_futex, SYS_rt_sigreturn, SYS_arch_prctl,
      // Injected: large file reads straight into guest memory.
      SYS_pread64};
  // Guest code can jump onto the stub page: anything else from there
  // traps to the sentry like any guest system call.
  return ptrace::BuildStubPageFilter(kAllowed, std::size(kAllowed),
                                     SECCOMP_RET_TRAP, SECCOMP_RET_TRAP);
}

std::vector<sock_filter> BuildGuestFilter() {
  constexpr uint32_t kStubHi = static_cast<uint32_t>(kStubStart >> 32);
  constexpr uint32_t kStubLo = static_cast<uint32_t>(kStubStart);
  constexpr uint32_t kStubEndLo = static_cast<uint32_t>(kStubEnd - 1);
  std::vector<sock_filter> f;
  auto stmt = [&](uint16_t code, uint32_t k) {
    f.push_back(BPF_STMT(code, k));
  };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    f.push_back(BPF_JUMP(code, k, jt, jf));
  };
  constexpr uint16_t kLoad = BPF_LD | BPF_W | BPF_ABS;
  constexpr uint16_t kJeq = BPF_JMP | BPF_JEQ | BPF_K;
  // Another ABI, or anywhere but the stub page: the sentry's business.
  stmt(kLoad, offsetof(seccomp_data, arch));
  jump(kJeq, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  stmt(kLoad, offsetof(seccomp_data, instruction_pointer) + 4);
  jump(kJeq, kStubHi, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  stmt(kLoad, offsetof(seccomp_data, instruction_pointer));
  jump(BPF_JMP | BPF_JGE | BPF_K, kStubLo, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  jump(BPF_JMP | BPF_JGT | BPF_K, kStubEndLo, 0, 1);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  // The stub page: only what the handler issues.
  stmt(kLoad, offsetof(seccomp_data, nr));
  jump(kJeq, SYS_futex, 0, 5);
  stmt(kLoad, offsetof(seccomp_data, args[1]));  // the operation
  jump(kJeq, FUTEX_WAIT, 2, 0);
  jump(kJeq, FUTEX_WAKE, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  jump(kJeq, SYS_arch_prctl, 0, 5);
  stmt(kLoad, offsetof(seccomp_data, args[0]));  // the code
  jump(kJeq, 0x1002 /* ARCH_SET_FS */, 2, 0);
  jump(kJeq, 0x1001 /* ARCH_SET_GS */, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  jump(kJeq, SYS_rt_sigreturn, 1, 0);
  jump(kJeq, SYS_exit, 0, 1);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  // A guest that jumps onto a stub `syscall` gets its call emulated.
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  return f;
}

SysResult<std::unique_ptr<Platform>> SystrapPlatform::Create(
    std::string* error) {
  auto p = std::unique_ptr<SystrapPlatform>(new SystrapPlatform());
  uint32_t action = SECCOMP_RET_TRAP;
  if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {
    *error = std::string("seccomp cannot trap (SECCOMP_RET_TRAP): ") +
             strerror(errno);
    return Errno::FromHost();
  }
  // The sentry reads and writes the FPU state in signal frames, which the
  // kernel lays out as XSAVE images of the size CPUID gives for XCR0.
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & bit_OSXSAVE) == 0) {
    *error = "the CPU or kernel lacks XSAVE";
    return Errno(ENOSYS);
  }
  __cpuid_count(0xd, 0, eax, ebx, ecx, edx);
  p->xstate_size_ = ebx;
  p->xcr0_ = Xgetbv0();
  if (p->xstate_size_ < kFxsaveSize + kXsaveHeaderSize ||
      p->xstate_size_ > 32 * 1024) {
    *error = "unexpected XSAVE size " + std::to_string(p->xstate_size_);
    return Errno(ENOSYS);
  }

  // The stub page: the code, then the guest filter at a fixed offset.
  std::string page = ptrace::StubPageImage();
  std::vector<sock_filter> guest = BuildGuestFilter();
  CHECK_LE(static_cast<size_t>(uks_stub_end - uks_stub_begin),
           kFilterProgOffset);
  CHECK_LE(kFilterOffset + guest.size() * sizeof(sock_filter), kStubSize);
  struct {
    uint16_t len;
    uint16_t pad[3];
    uint64_t filter;
  } prog = {
      static_cast<uint16_t>(guest.size()), {}, kStubStart + kFilterOffset};
  static_assert(sizeof(prog) == sizeof(sock_fprog));
  memcpy(page.data() + kFilterProgOffset, &prog, sizeof(prog));
  memcpy(page.data() + kFilterOffset, guest.data(),
         guest.size() * sizeof(sock_filter));
  SENTRY_ASSIGN_OR_RETURN(p->stub_memfd_, ptrace::SealedStubMemfd(page, error));

  p->filter_ = BuildProcessFilter();
  p->filter_prog_.len = static_cast<unsigned short>(p->filter_.size());
  p->filter_prog_.filter = p->filter_.data();
  for (int sig :
       {SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, kInterruptSignal}) {
    ptrace::KernelSigaction act{};
    act.handler = StubAddr(uks_systrap_handler);
    act.flags = SA_SIGINFO | SA_ONSTACK | kSaRestorer;
    act.restorer = StubAddr(uks_systrap_restorer);
    act.mask = ~0ULL;  // nothing interrupts the handler
    p->handlers_.push_back({sig, act});
  }
  // The CPUs the sandbox may use (a cpuset or taskset narrows them).
  cpu_set_t cpus;
  online_cpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0
                    ? CPU_COUNT(&cpus)
                    : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  // How many `pause` instructions the stub's spin takes.
  int64_t t0 = absl::GetCurrentTimeNanos();
  constexpr int kCalibration = 2000;
  for (int i = 0; i < kCalibration; i++) __builtin_ia32_pause();
  int64_t per_pause =
      std::max<int64_t>(1, (absl::GetCurrentTimeNanos() - t0) / kCalibration);
  stub_spin_iterations = static_cast<uint32_t>(kStubSpinNs / per_pause);
  nap_spin_iterations = static_cast<uint32_t>(kNapSpinNs / per_pause);
  p->stub_config_.memfd = p->stub_memfd_.get();
  p->stub_config_.filter = &p->filter_prog_;
  p->stub_config_.handlers = p->handlers_.data();
  p->stub_config_.num_handlers = p->handlers_.size();
  return std::unique_ptr<Platform>(std::move(p));
}

uint64_t SystrapPlatform::MaxUserAddress() const { return kSlotsStart; }

SysResult<std::unique_ptr<AddressSpace>> SystrapPlatform::NewAddressSpace() {
  SENTRY_ASSIGN_OR_RETURN(pid_t child, zygote_->Fork());
  return SystrapAddressSpace::Create(*this, child);
}

std::unique_ptr<Context> SystrapPlatform::NewContext() {
  return std::make_unique<SystrapContext>();
}

}  // namespace platform::systrap
