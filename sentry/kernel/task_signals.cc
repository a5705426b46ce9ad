// Signal delivery: masks, dequeueing, default actions, group stops, the
// x86-64 signal frame and rt_sigreturn, and the restart rules for system
// calls a signal interrupted. Mirrors arch/x86/kernel/signal*.c and
// kernel/signal.c of Linux.

#include <sys/syscall.h>

#include <cstring>

#include "glog/logging.h"
#include "platform/sigframe.h"
#include "sentry/kernel/task.h"

namespace sentry::kernel {

namespace {

using platform::FpxSwBytes;
using platform::GuestStack;
using platform::kFpXstateMagic1;
using platform::kFpXstateMagic2;
using platform::kFxsaveSize;
using platform::kSwBytesOffset;
using platform::kXsaveHeaderSize;
using platform::RtSigframe;
using platform::SigContext;
using platform::UContext;

constexpr uint64_t kUcFpXstate = 0x1;
constexpr uint64_t kUcSigcontextSs = 0x2;
constexpr uint64_t kUcStrictRestoreSs = 0x4;

constexpr uint64_t kUserCS = 0x33;
constexpr uint64_t kUserSS = 0x2b;

// EFLAGS bits sigreturn takes from the frame (Linux's FIX_EFLAGS).
constexpr uint64_t kFixEflags =
    0x40000 /*AC*/ | 0x800 /*OF*/ | 0x400 /*DF*/ | 0x100 /*TF*/ | 0x80 /*SF*/ |
    0x40 /*ZF*/ | 0x10 /*AF*/ | 0x4 /*PF*/ | 0x1 /*CF*/ | 0x10000 /*RF*/;
constexpr uint64_t kEflagsDF = 0x400, kEflagsTF = 0x100, kEflagsRF = 0x10000;

constexpr int kSsAutodisarm = 1 << 31;

}  // namespace

// ---- Masks and queues ----

bool Task::DeliverableLocked() const {
  if (killed_.load()) return true;
  const ThreadGroup& g = tg();
  if (g.stop_pending && !group_stopped) return true;
  if (group_stopped && (g.stopped || g.stop_pending)) return true;
  return ((pending_.pending() | g.pending.pending()) & ~mask_.load()) != 0;
}

void Task::RecalcPendingLocked() { signal_hint_.store(DeliverableLocked()); }

void Task::SetSignalMask(SigSet mask) {
  mask &= ~kUnblockable;
  absl::MutexLock l(&kernel_->mu_);
  SigSet newly_blocked = mask & ~mask_.load();
  mask_.store(mask);
  RecalcPendingLocked();
  // Process-directed signals this thread no longer takes go to a thread
  // that does (Linux's retarget_shared_pending).
  SigSet orphaned = newly_blocked & tg().pending.pending();
  if (orphaned == 0) return;
  for (Task* t : tg().tasks) {
    if (t == this || t->exited_) continue;
    if ((orphaned & ~t->signal_mask()) != 0) {
      kernel_->SignalWakeLocked(t);
      orphaned &= t->signal_mask();
      if (orphaned == 0) break;
    }
  }
}

void Task::SetTemporaryMask(SigSet mask) {
  if (!saved_mask_) saved_mask_ = mask_.load();
  SetSignalMask(mask);
}

SigSet Task::PendingSignals() const {
  absl::MutexLock l(&kernel_->mu_);
  return pending_.pending() | tg().pending.pending();
}

bool Task::DequeueSignalIn(SigSet set, siginfo_t* info) {
  absl::MutexLock l(&kernel_->mu_);
  SigSet skip = ~set;
  bool got = pending_.Dequeue(skip, info) || tg().pending.Dequeue(skip, info);
  if (got && info->si_code == SI_TIMER) {
    kernel_->PosixTimerSignalDequeuedLocked(&tg(), info);
  }
  RecalcPendingLocked();
  return got;
}

void Task::SendSignal(const siginfo_t& info) {
  absl::MutexLock l(&kernel_->mu_);
  (void)kernel_->SendTaskSignalLocked(this, info);
}

void Task::ForceSignal(const siginfo_t& info) {
  int sig = info.si_signo;
  absl::MutexLock l(&kernel_->mu_);
  SigAction& act = sighand().actions[sig - 1];
  bool blocked = (mask_.load() & SigBit(sig)) != 0;
  // A fault cannot be ignored or blocked away: the default action applies
  // instead (Linux's force_sig_info).
  if (act.handler == kSigIgn || blocked) {
    act.handler = kSigDfl;
    if (blocked) mask_.store(mask_.load() & ~SigBit(sig));
  }
  // A fault ends even the sandbox's init (Linux clears
  // SIGNAL_UNKILLABLE here).
  if (act.handler == kSigDfl) tg().unkillable = false;
  pending_.Enqueue(info, ~0ULL);
  signal_hint_.store(true);
}

bool Task::OnAltStack(uint64_t sp) const {
  // With SS_AUTODISARM the stack counts as free even when in use, so a
  // nested signal starts over at its top (Linux's on_sig_stack).
  if ((alt_stack.ss_flags & kSsAutodisarm) != 0) return false;
  return WithinAltStack(sp);
}

bool Task::WithinAltStack(uint64_t sp) const {
  uint64_t base = reinterpret_cast<uint64_t>(alt_stack.ss_sp);
  return sp > base && sp - base <= alt_stack.ss_size;
}

SysResult<uint64_t> Task::RunRestart() {
  RestartFn fn = std::move(restart_fn_);
  restart_fn_ = nullptr;
  if (!fn) return Errno(EINTR);
  return fn(*this);
}

// ---- Delivery ----

void Task::DoGroupStop() {
  for (;;) {
    {
      absl::MutexLock l(&kernel_->mu_);
      if (killed_.load()) {
        thread_exit_.store(true);
        return;
      }
      if (!group_stopped) return;
      ThreadGroup& g = tg();
      if (!g.stopped && !g.stop_pending) {
        group_stopped = false;
        return;
      }
    }
    (void)BlockWith(Interruptible::kKillOnly, std::nullopt);
  }
}

void Task::HandleSignals() {
  bool first = true;
  for (;;) {
    siginfo_t info;
    SigAction act;
    SigSet old_mask = 0;
    bool stop = false;
    {
      absl::MutexLock l(&kernel_->mu_);
      ThreadGroup& g = tg();
      if (killed_.load()) {
        thread_exit_.store(true);
        return;
      }
      if (g.stop_pending && !group_stopped) {
        // Take part in the group stop; the last thread to stop tells the
        // parent.
        group_stopped = true;
        if (--g.stop_waiting <= 0) {
          g.stop_pending = false;
          g.stopped = true;
          g.stop_report = g.stop_signal;
          kernel_->NotifyParentLocked(&g, CLD_STOPPED, g.stop_signal);
        }
      }
      if (group_stopped && (g.stopped || g.stop_pending)) {
        stop = true;
      } else {
        group_stopped = false;
        SigSet blocked = mask_.load();
        if (!pending_.Dequeue(blocked, &info) &&
            !g.pending.Dequeue(blocked, &info)) {
          RecalcPendingLocked();
          break;
        }
        if (info.si_code == SI_TIMER) {
          kernel_->PosixTimerSignalDequeuedLocked(&g, &info);
        }
        int sig = info.si_signo;
        bool external = (g.external_fatal & SigBit(sig)) != 0;
        g.external_fatal &= ~SigBit(sig);
        act = sighand().actions[sig - 1];
        if (act.handler == kSigIgn) continue;
        if (act.handler == kSigDfl) {
          // The sandbox's init ignores what it does not handle, but for
          // what runsc forwarded from outside.
          if (g.unkillable && !external &&
              DefaultActionOf(sig) != DefaultAction::kIgnore)
            continue;
          switch (DefaultActionOf(sig)) {
            case DefaultAction::kIgnore:
            case DefaultAction::kContinue:
              continue;
            case DefaultAction::kStop:
              // Terminal stop signals to an orphaned process group have
              // nobody to continue them: discarded.
              if (sig != SIGSTOP && kernel_->OrphanedProcessGroupLocked(g.pgid))
                continue;
              if (!g.stop_pending && !g.stopped) {
                g.stop_pending = true;
                g.stop_signal = sig;
                g.stop_waiting = static_cast<int>(g.tasks.size());
                for (Task* t : g.tasks) {
                  if (t != this) kernel_->SignalWakeLocked(t);
                }
              }
              continue;
            case DefaultAction::kTerminate:
            case DefaultAction::kCore:
              // The sandbox writes no core files, so no exit status
              // claims one (Linux sets the flag only for a dump made).
              kernel_->GroupExitLocked(&g, ExitStatus{0, sig, false});
              thread_exit_.store(true);
              return;
          }
        }
        if ((act.flags & SA_RESETHAND) != 0) {
          sighand().actions[sig - 1].handler = kSigDfl;
        }
        old_mask = saved_mask_ ? *saved_mask_ : mask_.load();
      }
    }
    if (stop) {
      DoGroupStop();
      if (thread_exit_.load()) return;
      continue;
    }
    // A handler runs. The system call it interrupted either fails with
    // EINTR or restarts after the handler (SA_RESTART), which the frame
    // records by holding the restarted registers.
    if (first && restart_code_ != 0) {
      int code = restart_code_;
      restart_code_ = 0;
      bool restart = code == kERESTARTNOINTR ||
                     (code == kERESTARTSYS && (act.flags & SA_RESTART) != 0);
      if (restart) {
        regs_.rax = regs_.orig_rax;
        regs_.rip -= 2;
      } else {
        regs_.rax = static_cast<uint64_t>(-EINTR);
      }
    }
    first = false;
    if (!SetupFrame(info, act, old_mask)) {
      // The frame could not be written (a bad stack, an overflowed
      // alternate stack): a SIGSEGV follows (Linux's force_sigsegv),
      // which a handler on another stack may still catch; if the failed
      // frame was SIGSEGV's own, it kills.
      if (info.si_signo == SIGSEGV) {
        absl::MutexLock l(&kernel_->mu_);
        sighand().actions[SIGSEGV - 1].handler = kSigDfl;
      }
      ForceSignal(MakeSigInfo(SIGSEGV, SI_KERNEL));
      continue;
    }
    {
      absl::MutexLock l(&kernel_->mu_);
      SigSet m = mask_.load() | act.mask;
      if ((act.flags & SA_NODEFER) == 0) m |= SigBit(info.si_signo);
      mask_.store(m & ~kUnblockable);
      saved_mask_.reset();
    }
  }
  // No (more) handlers: an interrupted call restarts transparently.
  if (restart_code_ != 0) {
    int code = restart_code_;
    restart_code_ = 0;
    if (code == kERESTART_RESTARTBLOCK) {
      regs_.rax = SYS_restart_syscall;
    } else {
      regs_.rax = regs_.orig_rax;
    }
    regs_.rip -= 2;
  }
  if (saved_mask_) {
    SigSet m = *saved_mask_;
    saved_mask_.reset();
    SetSignalMask(m);
  }
}

bool Task::SetupFrame(const siginfo_t& info, const SigAction& act,
                      SigSet old_mask) {
  if ((act.flags & kSaRestorer) == 0) {
    // x86-64 has no default restorer: the handler could not return.
    return false;
  }
  uint64_t sp = regs_.rsp;
  bool nested_altstack = OnAltStack(sp);
  bool entering_altstack = false;
  sp -= 128;  // the red zone
  if ((act.flags & SA_ONSTACK) != 0 && alt_stack.ss_size != 0 &&
      !OnAltStack(sp)) {
    sp = reinterpret_cast<uint64_t>(alt_stack.ss_sp) + alt_stack.ss_size;
    entering_altstack = true;
  }
  SysResult<std::vector<uint8_t>> fp = ctx_->GetFPState(mm().as());
  if (!fp.ok() || fp->size() < kFxsaveSize + kXsaveHeaderSize) {
    LOG(ERROR) << "task " << tid() << ": reading FP state failed";
    return false;
  }
  std::vector<uint8_t>& xsave = *fp;
  uint32_t xstate_size = static_cast<uint32_t>(xsave.size());
  // The host's regset carries XCR0 where the frame wants _fpx_sw_bytes.
  uint64_t xcr0;
  memcpy(&xcr0, xsave.data() + kSwBytesOffset, sizeof(xcr0));
  FpxSwBytes sw{};
  sw.magic1 = kFpXstateMagic1;
  sw.extended_size = xstate_size + 4;
  sw.xfeatures = xcr0;
  sw.xstate_size = xstate_size;
  memcpy(xsave.data() + kSwBytesOffset, &sw, sizeof(sw));
  uint32_t magic2 = kFpXstateMagic2;
  xsave.resize(xstate_size + 4);
  memcpy(xsave.data() + xstate_size, &magic2, sizeof(magic2));

  uint64_t fp_addr = (sp - xsave.size()) & ~63ULL;
  sp = fp_addr - sizeof(RtSigframe);
  sp = (sp & ~15ULL) - 8;
  if ((nested_altstack || entering_altstack) && !WithinAltStack(sp)) {
    return false;
  }
  if (sp < platform::kMinUserAddress) return false;

  RtSigframe frame;
  memset(&frame, 0, sizeof(frame));
  frame.pretcode = act.restorer;
  frame.uc.uc_flags = kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs;
  frame.uc.uc_stack.ss_sp = reinterpret_cast<uint64_t>(alt_stack.ss_sp);
  frame.uc.uc_stack.ss_size = alt_stack.ss_size;
  // The flags as sigaltstack set them (Linux saves sas_ss_flags).
  frame.uc.uc_stack.ss_flags =
      alt_stack.ss_size == 0 ? SS_DISABLE : alt_stack.ss_flags;
  SigContext& sc = frame.uc.uc_mcontext;
  sc.r8 = regs_.r8;
  sc.r9 = regs_.r9;
  sc.r10 = regs_.r10;
  sc.r11 = regs_.r11;
  sc.r12 = regs_.r12;
  sc.r13 = regs_.r13;
  sc.r14 = regs_.r14;
  sc.r15 = regs_.r15;
  sc.rdi = regs_.rdi;
  sc.rsi = regs_.rsi;
  sc.rbp = regs_.rbp;
  sc.rbx = regs_.rbx;
  sc.rdx = regs_.rdx;
  sc.rax = regs_.rax;
  sc.rcx = regs_.rcx;
  sc.rsp = regs_.rsp;
  sc.rip = regs_.rip;
  sc.eflags = regs_.eflags;
  sc.cs = static_cast<uint16_t>(regs_.cs);
  sc.ss = static_cast<uint16_t>(regs_.ss);
  sc.trapno = fault_trapno_;
  sc.err = fault_err_;
  sc.cr2 = fault_cr2_;
  sc.oldmask = old_mask;
  sc.fpstate = fp_addr;
  frame.uc.uc_sigmask = old_mask;
  frame.info = info;

  uint64_t frame_addr = sp;
  if (!CopyOutFull(GuestAddr(fp_addr), xsave.data(), xsave.size()).ok() ||
      !CopyOutObj(GuestAddr(frame_addr), frame).ok()) {
    return false;
  }
  if ((alt_stack.ss_flags & kSsAutodisarm) != 0) {
    alt_stack = stack_t{nullptr, SS_DISABLE, 0};
  }
  regs_.rdi = static_cast<uint64_t>(info.si_signo);
  regs_.rsi = frame_addr + offsetof(RtSigframe, info);
  regs_.rdx = frame_addr + offsetof(RtSigframe, uc);
  regs_.rax = 0;
  regs_.rsp = frame_addr;
  regs_.rip = act.handler;
  regs_.cs = kUserCS;
  regs_.ss = kUserSS;
  regs_.eflags &= ~(kEflagsDF | kEflagsRF | kEflagsTF);
  // The handler starts with a clean FPU, as in Linux.
  SysResult<void> reset = ctx_->ResetFPState(mm().as());
  if (!reset.ok()) return false;
  return true;
}

SysResult<void> Task::SigReturn() {
  uint64_t frame_addr = regs_.rsp - 8;  // the handler's ret popped pretcode
  RtSigframe frame;
  auto segv = [this]() -> SysResult<void> {
    ForceSignal(MakeSigInfo(SIGSEGV, SI_KERNEL));
    MarkRegsReplaced();
    return Ok();
  };
  restart_fn_ = nullptr;
  if (!CopyInObj(GuestAddr(frame_addr), &frame).ok()) return segv();
  // As in Linux, the mask and then the registers apply before the FPU
  // state is checked: a frame rejected there leaves the thread in the
  // interrupted code, under the frame's mask, with rax 0 and a SIGSEGV.
  SetSignalMask(frame.uc.uc_sigmask);
  const SigContext& sc = frame.uc.uc_mcontext;
  platform::Registers& r = regs_;
  r.r8 = sc.r8;
  r.r9 = sc.r9;
  r.r10 = sc.r10;
  r.r11 = sc.r11;
  r.r12 = sc.r12;
  r.r13 = sc.r13;
  r.r14 = sc.r14;
  r.r15 = sc.r15;
  r.rdi = sc.rdi;
  r.rsi = sc.rsi;
  r.rbp = sc.rbp;
  r.rbx = sc.rbx;
  r.rdx = sc.rdx;
  r.rax = 0;
  r.rcx = sc.rcx;
  r.rsp = sc.rsp;
  r.rip = sc.rip;
  r.eflags = (r.eflags & ~kFixEflags) | (sc.eflags & kFixEflags);
  r.cs = kUserCS;
  r.ss = kUserSS;
  r.orig_rax = static_cast<uint64_t>(-1);  // no restart after this
  // The FPU state: the frame's XSAVE image, checked by its magic numbers;
  // a bare FXSAVE image (no magic) restores the legacy part only.
  if (sc.fpstate == 0) {
    if (!ctx_->ResetFPState(mm().as()).ok()) return segv();
  } else {
    SysResult<std::vector<uint8_t>> cur = ctx_->GetFPState(mm().as());
    if (!cur.ok()) return segv();
    size_t size = cur->size();
    std::vector<uint8_t> image(size + 4);
    if (!CopyInFull(GuestAddr(sc.fpstate), image.data(), kFxsaveSize).ok()) {
      return segv();
    }
    FpxSwBytes sw;
    memcpy(&sw, image.data() + kSwBytesOffset, sizeof(sw));
    uint64_t xcr0;
    memcpy(&xcr0, cur->data() + kSwBytesOffset, sizeof(xcr0));
    bool full = sw.magic1 == kFpXstateMagic1 && sw.xstate_size == size &&
                sw.extended_size == size + 4;
    if (full) {
      if (!CopyInFull(GuestAddr(sc.fpstate), image.data(), size + 4).ok()) {
        return segv();
      }
      uint32_t magic2;
      memcpy(&magic2, image.data() + size, sizeof(magic2));
      full = magic2 == kFpXstateMagic2;
    }
    // Linux loads the image with XRSTOR, or FXRSTOR without the magic,
    // which fault (#GP) on an image not 64- or 16-byte aligned.
    if (sc.fpstate % (full ? 64 : 16) != 0) return segv();
    image.resize(size);
    if (!full) {
      // Legacy x87/SSE state only; every other component to its init
      // state.
      memset(image.data() + kFxsaveSize, 0, size - kFxsaveSize);
      uint64_t xstate_bv = 3;  // x87 | SSE
      memcpy(image.data() + kFxsaveSize, &xstate_bv, sizeof(xstate_bv));
    }
    memset(image.data() + kSwBytesOffset, 0, sizeof(FpxSwBytes));
    memcpy(image.data() + kSwBytesOffset, &xcr0, sizeof(xcr0));
    if (!ctx_->SetFPState(mm().as(), image).ok()) return segv();
  }
  r.rax = sc.rax;
  // The alternate stack as the frame recorded it; errors are ignored, as
  // in Linux's restore_altstack.
  const GuestStack& st = frame.uc.uc_stack;
  if (!OnAltStack(regs_.rsp)) {
    int mode = st.ss_flags & ~kSsAutodisarm;
    if (mode == SS_DISABLE || st.ss_size == 0) {
      alt_stack = stack_t{nullptr, SS_DISABLE, 0};
    } else if (mode == 0 || mode == SS_ONSTACK) {
      alt_stack.ss_sp = reinterpret_cast<void*>(st.ss_sp);
      alt_stack.ss_size = st.ss_size;
      alt_stack.ss_flags = st.ss_flags;
    }
  }
  MarkRegsReplaced();
  return Ok();
}

}  // namespace sentry::kernel
