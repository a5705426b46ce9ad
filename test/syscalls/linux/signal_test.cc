// Signals between and within processes: rt_sigaction(2) (the siginfo a
// handler sees for kill(2), tkill(2), tgkill(2), rt_sigqueueinfo(2) and
// rt_tgsigqueueinfo(2); old actions; flag and mask sanitizing; invalid
// signals; SA_RESETHAND, SA_NODEFER and sa_mask), rt_sigprocmask(2) and
// rt_sigpending(2) (blocked signals stay pending and are delivered on
// unblock; sigset sizes), queueing (standard signals coalesce, real-time
// signals queue in order with their values, RLIMIT_SIGPENDING), which
// thread handles a thread- or a process-directed signal, rt_sigsuspend(2),
// pause(2), rt_sigtimedwait(2), default actions observed through a forked
// child's wait status (terminate, core, ignore, stop and continue), ignored
// signals being discarded, SIGCHLD's siginfo, and dispositions, masks and
// pending signals across fork(2) and execve(2). The execve test re-executes
// this binary, which then runs SignalTestExecProbe() instead of the tests.

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <string>
#include <thread>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::ChangeMask;
using testing_util::CheckedWaitStatus;
using testing_util::CurrentMask;
using testing_util::DefaultAndUnblock;
using testing_util::DisableCoreDumps;
using testing_util::Drain;
using testing_util::ExitedWith;
using testing_util::ForkPauser;
using testing_util::Gettid;
using testing_util::IdleThread;
using testing_util::Interrupter;
using testing_util::kChildWatchdogSeconds;
using testing_util::KernelSigaction;
using testing_util::KilledBySignal;
using testing_util::kKernelSigsetSize;
using testing_util::kMs;
using testing_util::NowNs;
using testing_util::PendingMask;
using testing_util::Pipe;
using testing_util::RaiseToSelf;
using testing_util::ReadAll;
using testing_util::RtSigtimedwait;
using testing_util::RunInChild;
using testing_util::RunLater;
using testing_util::ScopedAction;
using testing_util::ScopedMask;
using testing_util::SelfExe;
using testing_util::SigBit;
using testing_util::UnusedPid;
using testing_util::WaitFor;

constexpr unsigned long kSaRestorer = 0x04000000;
constexpr unsigned long kSaUnsupported = 0x00000400;

constexpr const char kExecProbeFlag[] = "--signal_test_exec_probe";

// What the recording handler saw, one entry per invocation in the order the
// invocations started.
struct Record {
  siginfo_t info;
  pid_t tid;
  uint64_t mask;  // the signal mask while the handler ran
  int depth;      // 1 + the number of handler invocations it interrupted
};
constexpr int kMaxRecords = 64;
Record g_records[kMaxRecords];
std::atomic<int> g_nrecords{0};
std::atomic<int> g_depth{0};
// When set, the handler sends itself this signal once (to test nesting).
std::atomic<int> g_reraise{0};

void ResetRecords() {
  g_nrecords = 0;
  g_depth = 0;
  g_reraise = 0;
  memset(g_records, 0, sizeof(g_records));
}

void Recorder(int, siginfo_t* info, void*) {
  int depth = ++g_depth;
  int i = g_nrecords.fetch_add(1);
  if (i < kMaxRecords) {
    g_records[i].info = *info;
    g_records[i].tid = Gettid();
    g_records[i].mask = CurrentMask();
    g_records[i].depth = depth;
  }
  int again = g_reraise.exchange(0);
  if (again != 0) RaiseToSelf(again);
  --g_depth;
}

// Forks a child that waits in pause() for signals, with `sig` at its
// default action and unblocked; returns once the child is ready.
pid_t ForkPausingChild(int sig) {
  Pipe ready;
  pid_t pid = ForkPauser([&] {
    DefaultAndUnblock(sig);
    if (write(ready.w, "x", 1) != 1) _exit(1);
  });
  char c;
  if (pid > 0 && read(ready.r, &c, 1) != 1) ADD_FAILURE() << "child not ready";
  return pid;
}

long RtSigqueueinfo(pid_t pid, int sig, siginfo_t* info) {
  return syscall(SYS_rt_sigqueueinfo, pid, sig, info);
}

// ---------------------------------------------------------------------------
// The siginfo a handler receives.

TEST(SiginfoTest, KillReportsSiUserAndTheSender) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  // A signal a single-threaded process sends itself is delivered before
  // kill() returns.
  ASSERT_EQ(g_nrecords.load(), 1);
  const siginfo_t& info = g_records[0].info;
  EXPECT_EQ(info.si_signo, SIGUSR1);
  EXPECT_EQ(info.si_errno, 0);
  EXPECT_EQ(info.si_code, SI_USER);
  EXPECT_EQ(info.si_pid, getpid());
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(g_records[0].tid, getpid());
}

TEST(SiginfoTest, TkillAndTgkillReportSiTkill) {
  ResetRecords();
  ScopedAction action(SIGUSR2, Recorder);
  ASSERT_EQ(syscall(SYS_tkill, Gettid(), SIGUSR2), 0);
  ASSERT_EQ(syscall(SYS_tgkill, getpid(), Gettid(), SIGUSR2), 0);
  ASSERT_EQ(g_nrecords.load(), 2);
  for (int i = 0; i < 2; i++) {
    const siginfo_t& info = g_records[i].info;
    EXPECT_EQ(info.si_signo, SIGUSR2);
    EXPECT_EQ(info.si_code, SI_TKILL);
    EXPECT_EQ(info.si_pid, getpid());
    EXPECT_EQ(info.si_uid, getuid());
  }
}

TEST(SiginfoTest, SigqueueReportsSiQueueAndTheValue) {
  ResetRecords();
  ScopedAction action(SIGRTMIN + 1, Recorder);
  union sigval value;
  value.sival_int = 0x5eed;
  ASSERT_EQ(sigqueue(getpid(), SIGRTMIN + 1, value), 0);
  ASSERT_EQ(g_nrecords.load(), 1);
  const siginfo_t& info = g_records[0].info;
  EXPECT_EQ(info.si_signo, SIGRTMIN + 1);
  EXPECT_EQ(info.si_code, SI_QUEUE);
  EXPECT_EQ(info.si_value.sival_int, 0x5eed);
  EXPECT_EQ(info.si_pid, getpid());
  EXPECT_EQ(info.si_uid, getuid());
}

TEST(SiginfoTest, RtSigqueueinfoDeliversTheCallersFieldsButTheRealSigno) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  siginfo_t info = {};
  info.si_signo = 0;  // overwritten with the signal argument
  info.si_code = SI_QUEUE;
  info.si_pid = 12345;  // not checked nor replaced by Linux
  info.si_uid = 777;
  info.si_value.sival_int = -3;
  ASSERT_EQ(RtSigqueueinfo(getpid(), SIGUSR1, &info), 0);
  ASSERT_EQ(g_nrecords.load(), 1);
  const siginfo_t& got = g_records[0].info;
  EXPECT_EQ(got.si_signo, SIGUSR1);
  EXPECT_EQ(got.si_code, SI_QUEUE);
  EXPECT_EQ(got.si_pid, 12345);
  EXPECT_EQ(got.si_uid, 777u);
  EXPECT_EQ(got.si_value.sival_int, -3);
}

TEST(SiginfoTest, RtSigqueueinfoMayClaimAnyCodeOnlyToItself) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  // To itself a process may send a kernel or kill() si_code...
  siginfo_t info = {};
  info.si_code = SI_KERNEL;
  ASSERT_EQ(RtSigqueueinfo(getpid(), SIGUSR1, &info), 0);
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(g_records[0].info.si_code, SI_KERNEL);

  // ...but not to another process: only negative codes other than SI_TKILL.
  pid_t child = ForkPausingChild(SIGUSR1);
  ASSERT_GT(child, 0);
  for (int code : {static_cast<int>(SI_USER), static_cast<int>(SI_KERNEL),
                   static_cast<int>(SI_TKILL), 1}) {
    SCOPED_TRACE(code);
    info = {};
    info.si_code = code;
    EXPECT_ERRNO(RtSigqueueinfo(child, SIGUSR1, &info), EPERM);
  }
  info = {};
  info.si_code = SI_QUEUE;
  EXPECT_EQ(RtSigqueueinfo(child, SIGUSR1, &info), 0);
  int status = CheckedWaitStatus(child);
  EXPECT_TRUE(KilledBySignal(status, SIGUSR1));
}

TEST(SiginfoTest, RtTgsigqueueinfoTargetsTheThread) {
  ResetRecords();
  ScopedAction action(SIGRTMIN, Recorder);
  siginfo_t info = {};
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_int = 99;
  ASSERT_EQ(syscall(SYS_rt_tgsigqueueinfo, getpid(), Gettid(), SIGRTMIN, &info),
            0);
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(g_records[0].info.si_signo, SIGRTMIN);
  EXPECT_EQ(g_records[0].info.si_code, SI_QUEUE);
  EXPECT_EQ(g_records[0].info.si_value.sival_int, 99);
  EXPECT_EQ(g_records[0].tid, Gettid());
  // The thread must belong to the thread group.
  EXPECT_ERRNO(
      syscall(SYS_rt_tgsigqueueinfo, getpid(), UnusedPid(), SIGRTMIN, &info),
      ESRCH);
}

// ---------------------------------------------------------------------------
// rt_sigaction(2).

TEST(SigactionTest, OldActionIsReadBackExactlyWithUnknownFlagsCleared) {
  KernelSigaction act = {}, old = {}, got = {};
  act.handler = reinterpret_cast<void*>(Recorder);
  act.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | kSaRestorer;
  act.restorer = reinterpret_cast<void*>(0x1234);  // never used
  act.mask = SigBit(SIGUSR2) | SigBit(SIGRTMAX);
  ASSERT_EQ(syscall(SYS_rt_sigaction, SIGUSR1, &act, &old, kKernelSigsetSize),
            0);
  ASSERT_EQ(
      syscall(SYS_rt_sigaction, SIGUSR1, nullptr, &got, kKernelSigsetSize), 0);
  EXPECT_EQ(got.handler, act.handler);
  EXPECT_EQ(got.flags, act.flags);
  EXPECT_EQ(got.restorer, act.restorer);
  EXPECT_EQ(got.mask, act.mask);

  // Unknown flag bits (SA_UNSUPPORTED is reserved to detect this) are
  // dropped, and so are SIGKILL and SIGSTOP in the mask.
  KernelSigaction odd = act, prev = {};
  odd.flags |= kSaUnsupported;
  odd.mask |= SigBit(SIGKILL) | SigBit(SIGSTOP);
  ASSERT_EQ(syscall(SYS_rt_sigaction, SIGUSR1, &odd, &prev, kKernelSigsetSize),
            0);
  EXPECT_EQ(prev.flags, act.flags);
  ASSERT_EQ(
      syscall(SYS_rt_sigaction, SIGUSR1, nullptr, &got, kKernelSigsetSize), 0);
  EXPECT_EQ(got.flags, act.flags);
  EXPECT_EQ(got.mask, act.mask);

  ASSERT_EQ(
      syscall(SYS_rt_sigaction, SIGUSR1, &old, nullptr, kKernelSigsetSize), 0);
}

TEST(SigactionTest, InvalidSignalsAreEINVAL) {
  KernelSigaction got = {};
  for (int sig : {0, -1, 65, 1000}) {
    SCOPED_TRACE(sig);
    EXPECT_ERRNO(
        syscall(SYS_rt_sigaction, sig, nullptr, &got, kKernelSigsetSize),
        EINVAL);
  }
  // SIGKILL and SIGSTOP may be read but not set, not even to SIG_DFL.
  KernelSigaction dfl = {};
  for (int sig : {SIGKILL, SIGSTOP}) {
    EXPECT_ERRNO(
        syscall(SYS_rt_sigaction, sig, &dfl, nullptr, kKernelSigsetSize),
        EINVAL);
    got.handler = reinterpret_cast<void*>(1);
    EXPECT_EQ(syscall(SYS_rt_sigaction, sig, nullptr, &got, kKernelSigsetSize),
              0);
    EXPECT_EQ(got.handler, nullptr);
  }
  EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, nullptr, &got, 4), EINVAL);
}

TEST(KillTest, ArgumentErrors) {
  EXPECT_ERRNO(kill(getpid(), 65), EINVAL);
  EXPECT_ERRNO(kill(getpid(), -1), EINVAL);
  // Signal 0 only checks that the target exists.
  EXPECT_EQ(kill(getpid(), 0), 0);
  pid_t dead = UnusedPid();
  EXPECT_ERRNO(kill(dead, 0), ESRCH);
  EXPECT_ERRNO(kill(dead, SIGUSR1), ESRCH);
  EXPECT_EQ(syscall(SYS_tgkill, getpid(), Gettid(), 0), 0);
  EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), 0, SIGUSR1), EINVAL);
  EXPECT_ERRNO(syscall(SYS_tgkill, 0, Gettid(), SIGUSR1), EINVAL);
  EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), -1, SIGUSR1), EINVAL);
  EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), dead, SIGUSR1), ESRCH);
  EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), Gettid(), 65), EINVAL);
  EXPECT_ERRNO(syscall(SYS_tkill, 0, SIGUSR1), EINVAL);
  EXPECT_ERRNO(syscall(SYS_tkill, dead, SIGUSR1), ESRCH);
}

TEST(SigactionTest, ResetHandRestoresDefaultAfterOneDelivery) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder, SA_RESETHAND);
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(g_nrecords.load(), 1);
  // SA_RESETHAND does not imply SA_NODEFER on Linux: the signal was blocked
  // during its handler.
  EXPECT_NE(g_records[0].mask & SigBit(SIGUSR1), 0u);
  // The handler is SIG_DFL now; the flags are left as they were.
  KernelSigaction got = {};
  ASSERT_EQ(
      syscall(SYS_rt_sigaction, SIGUSR1, nullptr, &got, kKernelSigsetSize), 0);
  EXPECT_EQ(got.handler, nullptr);
  EXPECT_EQ(got.flags & (SA_SIGINFO | SA_RESETHAND),
            static_cast<unsigned long>(SA_SIGINFO | SA_RESETHAND));
  // So a second SIGUSR1 would kill: check that in a child.
  int status = RunInChild([] {
    ChangeMask(SIG_UNBLOCK, {SIGUSR1});
    kill(getpid(), SIGUSR1);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGUSR1));
}

TEST(SigactionTest, SignalIsBlockedDuringItsHandlerWithoutNoDefer) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  g_reraise = SIGUSR1;
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  // The re-raised signal waited for the first handler to return, then ran.
  ASSERT_EQ(g_nrecords.load(), 2);
  EXPECT_NE(g_records[0].mask & SigBit(SIGUSR1), 0u);
  EXPECT_EQ(g_records[0].depth, 1);
  EXPECT_EQ(g_records[1].depth, 1);
  EXPECT_EQ(CurrentMask() & SigBit(SIGUSR1), 0u);
}

TEST(SigactionTest, NoDeferLetsTheSignalNest) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder, SA_NODEFER);
  g_reraise = SIGUSR1;
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(g_nrecords.load(), 2);
  EXPECT_EQ(g_records[0].mask & SigBit(SIGUSR1), 0u);
  EXPECT_EQ(g_records[0].depth, 1);
  EXPECT_EQ(g_records[1].depth, 2);  // ran inside the first invocation
  EXPECT_EQ(CurrentMask() & SigBit(SIGUSR1), 0u);
}

TEST(SigactionTest, SaMaskIsAppliedDuringTheHandlerAndRestoredAfter) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder, 0, {SIGUSR2, SIGRTMIN + 2});
  ScopedMask mask(SIG_UNBLOCK, {SIGUSR1, SIGUSR2, SIGRTMIN + 2});
  uint64_t before = CurrentMask();
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(g_records[0].mask,
            before | SigBit(SIGUSR1) | SigBit(SIGUSR2) | SigBit(SIGRTMIN + 2));
  EXPECT_EQ(CurrentMask(), before);
  // A SIGUSR2 sent from within the handler waits until it returns.
  {
    ScopedAction action2(SIGUSR2, Recorder);
    ResetRecords();
    g_reraise = SIGUSR2;
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(g_nrecords.load(), 2);
    EXPECT_EQ(g_records[0].info.si_signo, SIGUSR1);
    EXPECT_EQ(g_records[1].info.si_signo, SIGUSR2);
    EXPECT_EQ(g_records[1].depth, 1);
  }
}

// Blocks SIGUSR2 after the handler returns by editing the saved mask, and
// unblocks the handled signal's companion SIGRTMIN+2 the same way.
void EditSavedMask(int, siginfo_t*, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  sigaddset(&uc->uc_sigmask, SIGUSR2);
  sigdelset(&uc->uc_sigmask, SIGRTMIN + 2);
  // SIGKILL and SIGSTOP in the saved mask are ignored by rt_sigreturn.
  sigaddset(&uc->uc_sigmask, SIGKILL);
  sigaddset(&uc->uc_sigmask, SIGSTOP);
  g_nrecords++;
  // What the handler itself blocks is undone by rt_sigreturn.
  ChangeMask(SIG_BLOCK, {SIGRTMIN + 5});
}

TEST(SigactionTest, SigreturnRestoresTheMaskSavedInTheFrame) {
  ResetRecords();
  ScopedAction action(SIGUSR1, EditSavedMask);
  ScopedMask unblock(SIG_UNBLOCK, {SIGUSR1, SIGUSR2, SIGRTMIN + 5});
  ScopedMask block(SIG_BLOCK, {SIGRTMIN + 2});
  uint64_t before = CurrentMask();
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(CurrentMask(), (before | SigBit(SIGUSR2)) & ~SigBit(SIGRTMIN + 2));
}

// ---------------------------------------------------------------------------
// rt_sigprocmask(2) and rt_sigpending(2).

TEST(SigprocmaskTest, BlockedSignalStaysPendingUntilUnblocked) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  {
    ScopedMask mask(SIG_BLOCK, {SIGUSR1});
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(g_nrecords.load(), 0);
    EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), SigBit(SIGUSR1));
    sigset_t set;
    ASSERT_EQ(sigpending(&set), 0);
    EXPECT_EQ(sigismember(&set, SIGUSR1), 1);
    EXPECT_EQ(sigismember(&set, SIGUSR2), 0);
    // Unblocking delivers it before rt_sigprocmask returns.
    ASSERT_EQ(ChangeMask(SIG_UNBLOCK, {SIGUSR1}), 0);
    EXPECT_EQ(g_nrecords.load(), 1);
    EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), 0u);
  }
  EXPECT_EQ(g_nrecords.load(), 1);
}

TEST(SigprocmaskTest, KillAndStopCannotBeBlocked) {
  uint64_t all = ~0ull, old = 0, got = 0;
  ASSERT_EQ(
      syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, kKernelSigsetSize),
      0);
  got = CurrentMask();
  ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr,
                    kKernelSigsetSize),
            0);
  EXPECT_EQ(got, ~(SigBit(SIGKILL) | SigBit(SIGSTOP)));
}

TEST(SigprocmaskTest, SigsetSizeMustBeEight) {
  uint64_t set = 0, got = 0;
  for (size_t size : {0, 4, 16, 128}) {
    SCOPED_TRACE(size);
    EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &got, size),
                 EINVAL);
    EXPECT_ERRNO(syscall(SYS_rt_sigsuspend, &set, size), EINVAL);
    struct timespec zero = {0, 0};
    EXPECT_ERRNO(syscall(SYS_rt_sigtimedwait, &set, nullptr, &zero, size),
                 EINVAL);
  }
  // rt_sigpending only refuses sizes larger than the kernel's sigset; a
  // smaller one gets that many bytes.
  EXPECT_ERRNO(syscall(SYS_rt_sigpending, &got, 16), EINVAL);
  ScopedMask mask(SIG_BLOCK, {SIGUSR2});
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  uint64_t small = ~0ull;
  EXPECT_EQ(syscall(SYS_rt_sigpending, &small, 4), 0);
  EXPECT_EQ(small >> 32, 0xffffffffu);  // the upper half is untouched
  EXPECT_EQ(small & SigBit(SIGUSR2), SigBit(SIGUSR2));
  Drain({SIGUSR2});
}

TEST(SigprocmaskTest, HowMustBeValid) {
  uint64_t set = 0;
  EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, 3, &set, nullptr, kKernelSigsetSize),
               EINVAL);
  // Without a new set `how` is not looked at.
  uint64_t got = 0;
  EXPECT_EQ(syscall(SYS_rt_sigprocmask, 3, nullptr, &got, kKernelSigsetSize),
            0);
  EXPECT_EQ(got, CurrentMask());
}

// ---------------------------------------------------------------------------
// Queueing.

TEST(QueueTest, StandardSignalsCoalesce) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  {
    ScopedMask mask(SIG_BLOCK, {SIGUSR1});
    for (int i = 0; i < 3; i++) ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    // Even when queued with values, only the first instance is kept.
    union sigval v;
    v.sival_int = 5;
    ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
  }
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(g_records[0].info.si_code, SI_USER);
}

TEST(QueueTest, RealtimeSignalsQueueInOrderLowestNumberFirst) {
  ScopedMask mask(SIG_BLOCK, {SIGUSR2, SIGRTMIN, SIGRTMIN + 1});
  union sigval v;
  for (int i = 1; i <= 3; i++) {
    v.sival_int = 100 + i;
    ASSERT_EQ(sigqueue(getpid(), SIGRTMIN + 1, v), 0);
  }
  for (int i = 1; i <= 2; i++) {
    v.sival_int = 200 + i;
    ASSERT_EQ(sigqueue(getpid(), SIGRTMIN, v), 0);
  }
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  // Standard signals first, then by number, each signal's queue in order.
  const int want_sig[] = {SIGUSR2,      SIGRTMIN,     SIGRTMIN,
                          SIGRTMIN + 1, SIGRTMIN + 1, SIGRTMIN + 1};
  const int want_value[] = {0, 201, 202, 101, 102, 103};
  uint64_t set = SigBit(SIGUSR2) | SigBit(SIGRTMIN) | SigBit(SIGRTMIN + 1);
  for (int i = 0; i < 6; i++) {
    siginfo_t info = {};
    struct timespec zero = {0, 0};
    ASSERT_EQ(RtSigtimedwait(set, &info, &zero), want_sig[i]) << i;
    EXPECT_EQ(info.si_signo, want_sig[i]);
    if (want_sig[i] != SIGUSR2) {
      EXPECT_EQ(info.si_code, SI_QUEUE);
      EXPECT_EQ(info.si_value.sival_int, want_value[i]) << i;
    }
  }
  EXPECT_EQ(PendingMask() & set, 0u);
}

TEST(QueueTest, HandlersRunInQueueOrderWhenTheyBlockTheOthers) {
  ResetRecords();
  // Each handler blocks the other signals, so they run one after another
  // rather than nesting.
  ScopedAction a(SIGRTMIN, Recorder, 0, {SIGRTMIN + 1});
  ScopedAction b(SIGRTMIN + 1, Recorder, 0, {SIGRTMIN});
  {
    ScopedMask mask(SIG_BLOCK, {SIGRTMIN, SIGRTMIN + 1});
    union sigval v;
    for (int i = 1; i <= 2; i++) {
      v.sival_int = 10 + i;
      ASSERT_EQ(sigqueue(getpid(), SIGRTMIN + 1, v), 0);
      v.sival_int = 20 + i;
      ASSERT_EQ(sigqueue(getpid(), SIGRTMIN, v), 0);
    }
  }
  ASSERT_EQ(g_nrecords.load(), 4);
  const int want_sig[] = {SIGRTMIN, SIGRTMIN, SIGRTMIN + 1, SIGRTMIN + 1};
  const int want_value[] = {21, 22, 11, 12};
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ(g_records[i].info.si_signo, want_sig[i]) << i;
    EXPECT_EQ(g_records[i].info.si_value.sival_int, want_value[i]) << i;
    EXPECT_EQ(g_records[i].depth, 1) << i;
  }
}

TEST(QueueTest, PendingSignalsUnblockedTogetherNestTheirFrames) {
  ResetRecords();
  // With empty sa_masks Linux sets up a frame for the lowest pending signal,
  // then, the next one still being deliverable, a frame for it on top
  // before returning to user mode: the later signal's handler runs first,
  // and the first one's runs when it returns.
  ScopedAction a(SIGUSR1, Recorder);
  ScopedAction b(SIGUSR2, Recorder);
  {
    ScopedMask mask(SIG_BLOCK, {SIGUSR1, SIGUSR2});
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  }
  ASSERT_EQ(g_nrecords.load(), 2);
  EXPECT_EQ(g_records[0].info.si_signo, SIGUSR2);
  EXPECT_EQ(g_records[1].info.si_signo, SIGUSR1);
  // The handler that ran first had both signals blocked: the one whose
  // frame lies beneath it and its own.
  EXPECT_EQ(g_records[0].mask & (SigBit(SIGUSR1) | SigBit(SIGUSR2)),
            SigBit(SIGUSR1) | SigBit(SIGUSR2));
  EXPECT_EQ(g_records[1].mask & (SigBit(SIGUSR1) | SigBit(SIGUSR2)),
            SigBit(SIGUSR1));
}

TEST(QueueTest, RlimitSigpendingBoundsQueuedSignals) {
  int status = RunInChild([] {
    // The limit counts the user's queued signals; root is not exempt.
    struct rlimit lim = {4, 4};
    CHILD_CHECK(setrlimit(RLIMIT_SIGPENDING, &lim) == 0);
    CHILD_CHECK(ChangeMask(SIG_BLOCK, {SIGRTMIN, SIGRTMIN + 1}) == 0);
    int queued = 0;
    union sigval v;
    v.sival_int = 0;
    for (; queued < 16; queued++) {
      v.sival_int = queued;
      if (sigqueue(getpid(), SIGRTMIN, v) != 0) break;
    }
    CHILD_CHECK(errno == EAGAIN);
    CHILD_CHECK(queued >= 1 && queued <= 4);
    // kill() of a real-time signal still succeeds over the limit, but the
    // signal is pending without its siginfo: it is dequeued as SI_USER
    // from pid 0.
    CHILD_CHECK(kill(getpid(), SIGRTMIN + 1) == 0);
    uint64_t one = SigBit(SIGRTMIN + 1);
    siginfo_t info = {};
    info.si_pid = 1234;
    struct timespec zero = {0, 0};
    CHILD_CHECK(RtSigtimedwait(one, &info, &zero) == SIGRTMIN + 1);
    CHILD_CHECK(info.si_code == SI_USER);
    CHILD_CHECK(info.si_pid == 0);
    CHILD_CHECK(info.si_uid == 0);
    // Everything that was queued is dequeued in order.
    for (int i = 0; i < queued; i++) {
      uint64_t rt = SigBit(SIGRTMIN);
      CHILD_CHECK(RtSigtimedwait(rt, &info, &zero) == SIGRTMIN);
      CHILD_CHECK(info.si_value.sival_int == i);
    }
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
}

// ---------------------------------------------------------------------------
// Which thread handles a signal.

TEST(ThreadSignalTest, TgkillIsHandledByTheNamedThread) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  IdleThread t;
  ASSERT_TRUE(WaitFor([&] { return t.tid() != 0; }));
  ASSERT_EQ(syscall(SYS_tgkill, getpid(), t.tid(), SIGUSR1), 0);
  EXPECT_TRUE(WaitFor([] { return g_nrecords.load() >= 1; }));
  t.Stop();
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(g_records[0].tid, t.tid());
  EXPECT_NE(g_records[0].tid, Gettid());
  EXPECT_EQ(g_records[0].info.si_code, SI_TKILL);
}

TEST(ThreadSignalTest, ProcessSignalGoesToAThreadThatDoesNotBlockIt) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  ScopedMask mask(SIG_BLOCK, {SIGUSR1});
  // The new thread inherited the blocked SIGUSR1.
  IdleThread t([] { ChangeMask(SIG_UNBLOCK, {SIGUSR1}); });
  ASSERT_TRUE(WaitFor([&] { return t.tid() != 0; }));
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  EXPECT_TRUE(WaitFor([] { return g_nrecords.load() >= 1; }));
  t.Stop();
  ASSERT_EQ(g_nrecords.load(), 1);
  EXPECT_EQ(g_records[0].tid, t.tid());
  EXPECT_EQ(g_records[0].info.si_code, SI_USER);
  EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), 0u);
}

TEST(ThreadSignalTest, PendingIsSharedForProcessSignalsAndPrivateForThreads) {
  ResetRecords();
  ScopedAction a(SIGUSR1, Recorder);
  ScopedAction b(SIGUSR2, Recorder);
  ScopedMask mask(SIG_BLOCK, {SIGUSR1, SIGUSR2});
  std::atomic<pid_t> tid{0};
  std::atomic<bool> sent{false};
  std::atomic<uint64_t> thread_pending{0};
  std::thread t([&] {
    tid = Gettid();
    while (!sent) usleep(1000);
    thread_pending = PendingMask();
    // Unblocking in this thread takes both: its own SIGUSR2 and the
    // process's SIGUSR1.
    ChangeMask(SIG_UNBLOCK, {SIGUSR1, SIGUSR2});
  });
  ASSERT_TRUE(WaitFor([&] { return tid.load() != 0; }));
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(syscall(SYS_tgkill, getpid(), tid.load(), SIGUSR2), 0);
  uint64_t main_pending = PendingMask();
  sent = true;
  t.join();
  EXPECT_EQ(main_pending & (SigBit(SIGUSR1) | SigBit(SIGUSR2)),
            SigBit(SIGUSR1));
  EXPECT_EQ(thread_pending.load() & (SigBit(SIGUSR1) | SigBit(SIGUSR2)),
            SigBit(SIGUSR1) | SigBit(SIGUSR2));
  ASSERT_EQ(g_nrecords.load(), 2);
  EXPECT_EQ(g_records[0].tid, tid.load());
  EXPECT_EQ(g_records[1].tid, tid.load());
  EXPECT_EQ(PendingMask() & (SigBit(SIGUSR1) | SigBit(SIGUSR2)), 0u);
}

// ---------------------------------------------------------------------------
// Waiting for signals.

TEST(SigsuspendTest, ReturnsEINTRAfterTheHandlerAndRestoresTheMask) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder, SA_RESTART);
  ScopedMask mask(SIG_BLOCK, {SIGUSR1, SIGUSR2});
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  EXPECT_EQ(g_nrecords.load(), 0);
  uint64_t before = CurrentMask();
  uint64_t empty = 0;
  EXPECT_ERRNO(syscall(SYS_rt_sigsuspend, &empty, kKernelSigsetSize), EINTR);
  ASSERT_EQ(g_nrecords.load(), 1);
  // The handler ran under the temporary mask plus its own signal.
  EXPECT_EQ(g_records[0].mask, SigBit(SIGUSR1));
  EXPECT_EQ(CurrentMask(), before);
}

TEST(SigsuspendTest, WaitsForASignalFromAnotherThread) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  ScopedMask mask(SIG_BLOCK, {SIGUSR1});
  uint64_t before = CurrentMask();
  uint64_t wait_mask = before & ~SigBit(SIGUSR1);
  alarm(30);
  {
    Interrupter interrupter(SIGUSR1);
    EXPECT_ERRNO(syscall(SYS_rt_sigsuspend, &wait_mask, kKernelSigsetSize),
                 EINTR);
  }
  alarm(0);
  EXPECT_GE(g_nrecords.load(), 1);
  EXPECT_EQ(CurrentMask(), before);
  Drain({SIGUSR1});
}

TEST(PauseTest, ReturnsEINTREvenWithSaRestart) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder, SA_RESTART);
  alarm(30);
  {
    Interrupter interrupter(SIGUSR1);
    EXPECT_ERRNO(pause(), EINTR);
  }
  alarm(0);
  EXPECT_GE(g_nrecords.load(), 1);
}

TEST(SigtimedwaitTest, DequeuesABlockedPendingSignalWithItsSiginfo) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  ScopedMask mask(SIG_BLOCK, {SIGUSR1});
  union sigval v;
  v.sival_int = 42;
  ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
  uint64_t set = SigBit(SIGUSR1);
  siginfo_t info = {};
  struct timespec timeout = {5, 0};
  EXPECT_EQ(RtSigtimedwait(set, &info, &timeout), SIGUSR1);
  EXPECT_EQ(info.si_signo, SIGUSR1);
  EXPECT_EQ(info.si_errno, 0);
  EXPECT_EQ(info.si_code, SI_QUEUE);
  EXPECT_EQ(info.si_value.sival_int, 42);
  EXPECT_EQ(info.si_pid, getpid());
  EXPECT_EQ(info.si_uid, getuid());
  // Taken, not delivered.
  EXPECT_EQ(g_nrecords.load(), 0);
  EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), 0u);
}

TEST(SigtimedwaitTest, TimeoutIsEAGAINAndZeroPolls) {
  ScopedMask mask(SIG_BLOCK, {SIGUSR1});
  uint64_t set = SigBit(SIGUSR1);
  struct timespec zero = {0, 0};
  EXPECT_ERRNO(RtSigtimedwait(set, nullptr, &zero), EAGAIN);
  struct timespec timeout = {0, 50 * kMs};
  int64_t start = NowNs();
  EXPECT_ERRNO(RtSigtimedwait(set, nullptr, &timeout), EAGAIN);
  EXPECT_GE(NowNs() - start, 50 * kMs);
  struct timespec bad = {0, 1000000000};
  EXPECT_ERRNO(RtSigtimedwait(set, nullptr, &bad), EINVAL);
  bad = {-1, 0};
  EXPECT_ERRNO(RtSigtimedwait(set, nullptr, &bad), EINVAL);
}

TEST(SigtimedwaitTest, WakesWhenTheSignalArrives) {
  ScopedMask mask(SIG_BLOCK, {SIGUSR1});
  pid_t self = Gettid();
  std::thread t =
      RunLater(20, [self] { syscall(SYS_tgkill, getpid(), self, SIGUSR1); });
  uint64_t set = SigBit(SIGUSR1);
  siginfo_t info = {};
  struct timespec timeout = {10, 0};
  EXPECT_EQ(RtSigtimedwait(set, &info, &timeout), SIGUSR1);
  t.join();
  EXPECT_EQ(info.si_code, SI_TKILL);
  EXPECT_EQ(info.si_pid, getpid());
}

TEST(SigtimedwaitTest, AHandledSignalOutsideTheSetInterruptsWithEINTR) {
  ResetRecords();
  ScopedAction action(SIGUSR2, Recorder, SA_RESTART);
  ScopedMask mask(SIG_BLOCK, {SIGUSR1});
  uint64_t set = SigBit(SIGUSR1);
  struct timespec timeout = {10, 0};
  {
    Interrupter interrupter(SIGUSR2);
    EXPECT_ERRNO(RtSigtimedwait(set, nullptr, &timeout), EINTR);
  }
  EXPECT_GE(g_nrecords.load(), 1);
}

// ---------------------------------------------------------------------------
// Default actions, seen by the parent of a child that gets the signal.

TEST(DefaultActionTest, TerminatingSignalsKillWithoutCore) {
  for (int sig :
       {SIGHUP, SIGINT, SIGKILL, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
        SIGSTKFLT, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGRTMIN, SIGRTMAX}) {
    int status = RunInChild([sig] {
      if (sig != SIGKILL) DefaultAndUnblock(sig);
      kill(getpid(), sig);
      return 100;
    });
    EXPECT_TRUE(KilledBySignal(status, sig));
    EXPECT_FALSE(WCOREDUMP(status)) << sig;
  }
}

TEST(DefaultActionTest, CoreSignalsKillAndReportNoCoreWhenNotDumpable) {
  for (int sig : {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV,
                  SIGXCPU, SIGXFSZ, SIGSYS}) {
    int status = RunInChild([sig] {
      // No core is written for a process that is not dumpable, so the
      // status's core flag is clear whatever the host's core_pattern.
      DisableCoreDumps();
      DefaultAndUnblock(sig);
      kill(getpid(), sig);
      return 100;
    });
    EXPECT_TRUE(KilledBySignal(status, sig));
    EXPECT_FALSE(WCOREDUMP(status)) << sig;
  }
}

TEST(DefaultActionTest, SomeSignalsAreIgnoredByDefault) {
  int status = RunInChild([] {
    for (int sig : {SIGCHLD, SIGURG, SIGWINCH, SIGCONT}) {
      DefaultAndUnblock(sig);
      CHILD_CHECK(kill(getpid(), sig) == 0);
      // Discarded, not left pending.
      CHILD_CHECK((PendingMask() & SigBit(sig)) == 0);
    }
    return 42;
  });
  EXPECT_TRUE(ExitedWith(status, 42));
}

TEST(DefaultActionTest, StopAndContinueAreReportedByWaitpid) {
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  status = CheckedWaitStatus(pid, WUNTRACED);
  EXPECT_TRUE(WIFSTOPPED(status)) << status;
  EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
  // A stop is reported once.
  EXPECT_EQ(waitpid(pid, &status, WUNTRACED | WNOHANG), 0);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  status = CheckedWaitStatus(pid, WCONTINUED);
  EXPECT_TRUE(WIFCONTINUED(status)) << status;
  EXPECT_EQ(waitpid(pid, &status, WCONTINUED | WNOHANG), 0);
  // Stopped again: SIGKILL still kills a stopped process.
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  status = CheckedWaitStatus(pid, WUNTRACED);
  EXPECT_TRUE(WIFSTOPPED(status)) << status;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  status = CheckedWaitStatus(pid);
  EXPECT_TRUE(KilledBySignal(status, SIGKILL));
}

TEST(DefaultActionTest, TerminalStopSignalsStopAProcessInItsOwnGroup) {
  for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU}) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(kChildWatchdogSeconds);
      // A process group whose member has its parent in another group of
      // the same session is not orphaned, so these signals stop it.
      setpgid(0, 0);
      DefaultAndUnblock(sig);
      kill(getpid(), sig);
      _exit(7);  // after SIGCONT
    }
    ASSERT_GT(pid, 0);
    int status = CheckedWaitStatus(pid, WUNTRACED);
    EXPECT_TRUE(WIFSTOPPED(status)) << sig << " " << status;
    EXPECT_EQ(WSTOPSIG(status), sig);
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    status = CheckedWaitStatus(pid);
    EXPECT_TRUE(ExitedWith(status, 7));
  }
}

// ---------------------------------------------------------------------------
// Ignored signals.

TEST(IgnoreTest, IgnoredSignalIsDiscardedWhenSent) {
  ScopedAction ign(SIGUSR1, SIG_IGN);
  ScopedMask unblock(SIG_UNBLOCK, {SIGUSR1});
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ScopedMask block(SIG_BLOCK, {SIGUSR1});
  EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), 0u);
}

TEST(IgnoreTest, BlockedIgnoredSignalStaysPending) {
  // The action might change before the signal is unblocked, so Linux keeps
  // a blocked signal pending even while it is ignored.
  ResetRecords();
  ScopedAction handled(SIGUSR1, Recorder);
  ScopedMask block(SIG_BLOCK, {SIGUSR1});
  {
    ScopedAction ign(SIGUSR1, SIG_IGN);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(PendingMask() & SigBit(SIGUSR1), SigBit(SIGUSR1));
  }
  // Back to the handler: the signal is still there and is delivered.
  ASSERT_EQ(ChangeMask(SIG_UNBLOCK, {SIGUSR1}), 0);
  EXPECT_EQ(g_nrecords.load(), 1);
}

TEST(IgnoreTest, IgnoringAPendingSignalDiscardsIt) {
  ResetRecords();
  ScopedAction handled(SIGUSR1, Recorder);
  ScopedAction chld(SIGCHLD, Recorder);
  ScopedMask block(SIG_BLOCK, {SIGUSR1, SIGCHLD});
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(kill(getpid(), SIGCHLD), 0);
  ASSERT_EQ(PendingMask() & (SigBit(SIGUSR1) | SigBit(SIGCHLD)),
            SigBit(SIGUSR1) | SigBit(SIGCHLD));
  // SIG_IGN, and SIG_DFL for a signal whose default is to ignore, flush it.
  {
    ScopedAction ign(SIGUSR1, SIG_IGN);
    ScopedAction dfl(SIGCHLD, SIG_DFL);
    EXPECT_EQ(PendingMask() & (SigBit(SIGUSR1) | SigBit(SIGCHLD)), 0u);
  }
  ASSERT_EQ(ChangeMask(SIG_UNBLOCK, {SIGUSR1, SIGCHLD}), 0);
  EXPECT_EQ(g_nrecords.load(), 0);
}

// ---------------------------------------------------------------------------
// SIGCHLD.

TEST(SigchldTest, ExitedChildReportsCldExited) {
  ScopedMask block(SIG_BLOCK, {SIGCHLD});
  Drain({SIGCHLD});
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  ASSERT_GT(pid, 0);
  // SIGCHLD is ignored by default, but a blocked signal is kept.
  uint64_t set = SigBit(SIGCHLD);
  siginfo_t info = {};
  struct timespec timeout = {10, 0};
  ASSERT_EQ(RtSigtimedwait(set, &info, &timeout), SIGCHLD);
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(info.si_status, 7);
  int status = CheckedWaitStatus(pid);
  EXPECT_TRUE(ExitedWith(status, 7));
}

// Sends `sig` to the child `pid` and expects the SIGCHLD it causes (which
// the caller blocks) within 10 s, with `code`, the child's pid and `sig`.
void SignalAndExpectSigchld(pid_t pid, int sig, int code) {
  ASSERT_EQ(kill(pid, sig), 0);
  siginfo_t info = {};
  struct timespec timeout = {10, 0};
  ASSERT_EQ(RtSigtimedwait(SigBit(SIGCHLD), &info, &timeout), SIGCHLD);
  EXPECT_EQ(info.si_code, code);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, sig);
}

TEST(SigchldTest, StoppedContinuedAndKilledChildren) {
  ScopedMask block(SIG_BLOCK, {SIGCHLD});
  Drain({SIGCHLD});
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  ASSERT_NO_FATAL_FAILURE(SignalAndExpectSigchld(pid, SIGSTOP, CLD_STOPPED));
  CheckedWaitStatus(pid, WUNTRACED);
  ASSERT_NO_FATAL_FAILURE(SignalAndExpectSigchld(pid, SIGCONT, CLD_CONTINUED));
  CheckedWaitStatus(pid, WCONTINUED);
  ASSERT_NO_FATAL_FAILURE(SignalAndExpectSigchld(pid, SIGKILL, CLD_KILLED));
  int status = CheckedWaitStatus(pid);
  EXPECT_TRUE(WIFSIGNALED(status));
}

TEST(SigchldTest, NoCldStopSuppressesStopAndContinueNotices) {
  ResetRecords();
  ScopedAction action(SIGCHLD, Recorder, SA_NOCLDSTOP);
  ScopedMask block(SIG_BLOCK, {SIGCHLD});
  Drain({SIGCHLD});
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  CheckedWaitStatus(pid, WUNTRACED);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  CheckedWaitStatus(pid, WCONTINUED);
  uint64_t set = SigBit(SIGCHLD);
  struct timespec wait = {0, 100 * kMs};
  EXPECT_ERRNO(RtSigtimedwait(set, nullptr, &wait), EAGAIN);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  siginfo_t info = {};
  struct timespec timeout = {10, 0};
  ASSERT_EQ(RtSigtimedwait(set, &info, &timeout), SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_KILLED);
  CheckedWaitStatus(pid);
}

TEST(SigchldTest, IgnoringSigchldReapsChildrenAutomatically) {
  ScopedAction ign(SIGCHLD, SIG_IGN);
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  // waitpid blocks until the child is gone, then finds nothing to reap.
  EXPECT_ERRNO(waitpid(pid, nullptr, 0), ECHILD);
}

// ---------------------------------------------------------------------------
// fork(2) and execve(2).

TEST(ForkTest, ChildInheritsActionsAndMaskButNotPendingSignals) {
  ResetRecords();
  ScopedAction action(SIGUSR1, Recorder);
  ScopedMask block(SIG_BLOCK, {SIGUSR2});
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  ASSERT_EQ(PendingMask() & SigBit(SIGUSR2), SigBit(SIGUSR2));
  int status = RunInChild([] {
    struct sigaction got = {};
    CHILD_CHECK(sigaction(SIGUSR1, nullptr, &got) == 0);
    CHILD_CHECK(got.sa_sigaction == Recorder);
    CHILD_CHECK((CurrentMask() & SigBit(SIGUSR2)) != 0);
    CHILD_CHECK((PendingMask() & SigBit(SIGUSR2)) == 0);
    CHILD_CHECK(kill(getpid(), SIGUSR1) == 0);
    CHILD_CHECK(g_nrecords.load() == 1);
    CHILD_CHECK(g_records[0].info.si_pid == getpid());
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
  EXPECT_EQ(g_nrecords.load(), 0);
  Drain({SIGUSR2});
}

TEST(ExecTest, ResetsHandlersKeepsIgnoredMaskAndPendingSignals) {
  std::string exe = SelfExe();
  ASSERT_FALSE(exe.empty());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(kChildWatchdogSeconds);
    dup2(fds[1], 1);
    struct sigaction act = {};
    act.sa_sigaction = Recorder;
    act.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&act.sa_mask);
    CHILD_CHECK(sigaction(SIGUSR1, &act, nullptr) == 0);
    act.sa_handler = SIG_IGN;
    act.sa_flags = SA_RESTART;
    CHILD_CHECK(sigaction(SIGUSR2, &act, nullptr) == 0);
    CHILD_CHECK(ChangeMask(SIG_SETMASK, {SIGRTMIN + 3}) == 0);
    union sigval v;
    v.sival_int = 77;
    CHILD_CHECK(sigqueue(getpid(), SIGRTMIN + 3, v) == 0);
    static char altstack[65536];
    stack_t ss = {};
    ss.ss_sp = altstack;
    ss.ss_size = sizeof(altstack);
    CHILD_CHECK(sigaltstack(&ss, nullptr) == 0);
    char* const argv[] = {const_cast<char*>(exe.c_str()),
                          const_cast<char*>(kExecProbeFlag), nullptr};
    execv(exe.c_str(), argv);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  close(fds[1]);
  std::string out = ReadAll(fds[0]);
  close(fds[0]);
  int status = CheckedWaitStatus(pid);
  EXPECT_TRUE(ExitedWith(status, 0));
  // Caught -> default; ignored stays ignored; flags and masks cleared; the
  // signal mask and the queued signal (with its value) survive; the
  // alternate stack does not.
  EXPECT_EQ(out,
            "usr1=dfl flags=0 mask=0\n"
            "usr2=ign flags=0 mask=0\n"
            "blocked=" +
                std::to_string(SigBit(SIGRTMIN + 3)) +
                "\n"
                "pending=" +
                std::to_string(SigBit(SIGRTMIN + 3)) +
                " code=-1 value=77\n"
                "altstack=disabled\n");
}

}  // namespace

// Runs instead of the tests when ExecTest re-executes this binary: prints
// the signal state that execve(2) left.
__attribute__((constructor)) static void SignalTestExecProbe(int argc,
                                                             char** argv,
                                                             char**) {
  if (argc < 2 || strcmp(argv[1], kExecProbeFlag) != 0) return;
  for (int sig : {SIGUSR1, SIGUSR2}) {
    KernelSigaction got = {};
    syscall(SYS_rt_sigaction, sig, nullptr, &got, kKernelSigsetSize);
    const char* h = got.handler == SIG_DFL   ? "dfl"
                    : got.handler == SIG_IGN ? "ign"
                                             : "handler";
    printf("%s=%s flags=%lx mask=%llx\n", sig == SIGUSR1 ? "usr1" : "usr2", h,
           got.flags, static_cast<unsigned long long>(got.mask));
  }
  printf("blocked=%llu\n", static_cast<unsigned long long>(CurrentMask()));
  uint64_t pending = PendingMask();
  siginfo_t info = {};
  uint64_t set = SigBit(SIGRTMIN + 3);
  struct timespec zero = {0, 0};
  RtSigtimedwait(set, &info, &zero);
  printf("pending=%llu code=%d value=%d\n",
         static_cast<unsigned long long>(pending), info.si_code,
         info.si_value.sival_int);
  stack_t ss = {};
  sigaltstack(nullptr, &ss);
  printf("altstack=%s\n", (ss.ss_flags & SS_DISABLE) ? "disabled" : "enabled");
  fflush(stdout);
  _exit(0);
}
