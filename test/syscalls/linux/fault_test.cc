// Synchronous faults delivered as signals, with the siginfo and trap details
// Linux reports for each: loads from unmapped memory (NULL, a hole, a
// non-canonical and a kernel address), stores to read-only memory, access to
// PROT_NONE memory, execution of a non-executable page, touching a file
// mapping beyond EOF (SIGBUS), integer division by zero and overflow, an SSE
// division by zero with the exception unmasked, ud2, hlt and int3. A handler
// resumes the code by editing RIP. In forked children: an uncaught fault
// kills, a handler that returns without fixing the fault runs again (and with
// SA_RESETHAND the second fault kills), a fault while SIGSEGV is blocked or
// ignored or inside the SIGSEGV handler kills without running the handler,
// whereas a blocked SIGSEGV sent by kill(2) just stays pending; and pending
// synchronous signals are dequeued before the others.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <initializer_list>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"

extern "C" {
// Each loads, stores, divides or traps at the *Insn label and returns from
// the *Resume label; a handler skips the instruction by setting RIP there.
uint64_t FaultLoad(const void* addr);
extern const char FaultLoadInsn[], FaultLoadResume[];
void FaultStore(void* addr, uint64_t value);
extern const char FaultStoreInsn[], FaultStoreResume[];
uint32_t FaultDiv(uint32_t dividend, uint32_t divisor);
extern const char FaultDivInsn[], FaultDivResume[];
int32_t FaultIdiv(int32_t dividend, int32_t divisor);
extern const char FaultIdivInsn[], FaultIdivResume[];
// Divides 1.0f by 0.0f with the divide-by-zero exception unmasked.
void FaultDivss();
extern const char FaultDivssInsn[], FaultDivssResume[];
void FaultUd2();
extern const char FaultUd2Insn[], FaultUd2Resume[];
void FaultHlt();
extern const char FaultHltInsn[], FaultHltResume[];
void FaultInt3();
extern const char FaultInt3Insn[], FaultInt3Resume[];
}

asm(R"(
  .text
  .globl FaultLoad, FaultLoadInsn, FaultLoadResume
  .type FaultLoad, @function
FaultLoad:
  xor %eax, %eax
FaultLoadInsn:
  mov (%rdi), %rax
FaultLoadResume:
  ret
  .size FaultLoad, .-FaultLoad

  .globl FaultStore, FaultStoreInsn, FaultStoreResume
  .type FaultStore, @function
FaultStore:
FaultStoreInsn:
  mov %rsi, (%rdi)
FaultStoreResume:
  ret
  .size FaultStore, .-FaultStore

  .globl FaultDiv, FaultDivInsn, FaultDivResume
  .type FaultDiv, @function
FaultDiv:
  mov %edi, %eax
  xor %edx, %edx
FaultDivInsn:
  div %esi
FaultDivResume:
  ret
  .size FaultDiv, .-FaultDiv

  .globl FaultIdiv, FaultIdivInsn, FaultIdivResume
  .type FaultIdiv, @function
FaultIdiv:
  mov %edi, %eax
  cdq
FaultIdivInsn:
  idiv %esi
FaultIdivResume:
  ret
  .size FaultIdiv, .-FaultIdiv

  .globl FaultDivss, FaultDivssInsn, FaultDivssResume
  .type FaultDivss, @function
FaultDivss:
  sub $8, %rsp
  stmxcsr (%rsp)
  mov (%rsp), %eax
  and $~0x3f, %eax       /* clear the exception flags */
  and $~0x200, %eax      /* unmask divide-by-zero */
  mov %eax, 4(%rsp)
  ldmxcsr 4(%rsp)
  mov $0x3f800000, %eax  /* 1.0f */
  movd %eax, %xmm0
  xorps %xmm1, %xmm1
FaultDivssInsn:
  divss %xmm1, %xmm0
FaultDivssResume:
  ldmxcsr (%rsp)
  add $8, %rsp
  ret
  .size FaultDivss, .-FaultDivss

  .globl FaultUd2, FaultUd2Insn, FaultUd2Resume
  .type FaultUd2, @function
FaultUd2:
FaultUd2Insn:
  ud2
FaultUd2Resume:
  ret
  .size FaultUd2, .-FaultUd2

  .globl FaultHlt, FaultHltInsn, FaultHltResume
  .type FaultHlt, @function
FaultHlt:
FaultHltInsn:
  hlt
FaultHltResume:
  ret
  .size FaultHlt, .-FaultHlt

  .globl FaultInt3, FaultInt3Insn, FaultInt3Resume
  .type FaultInt3, @function
FaultInt3:
FaultInt3Insn:
  int3
FaultInt3Resume:
  ret
  .size FaultInt3, .-FaultInt3
)");

namespace {

using testing_util::ChangeMask;
using testing_util::DisableCoreDumps;
using testing_util::ExitedWith;
using testing_util::FileTest;
using testing_util::KilledBySignal;
using testing_util::kKernelSigsetSize;
using testing_util::RtSigtimedwait;
using testing_util::SigBit;

constexpr long kPage = 4096;

// x86 trap numbers and page-fault error code bits.
constexpr greg_t kTrapDE = 0, kTrapBP = 3, kTrapUD = 6, kTrapGP = 13,
                 kTrapPF = 14, kTrapXF = 19;
constexpr greg_t kPfProt = 1, kPfWrite = 2, kPfUser = 4, kPfInstr = 16;

// What the last fault looked like, and what to do about it.
struct FaultRecord {
  int count;
  siginfo_t info;
  greg_t rip, trapno, err, cr2;
};
FaultRecord g_fault;
const char* g_resume;  // set RIP here
bool g_emulate_ret;    // pop RIP from the stack (a call into bad code)
bool g_reset_mxcsr;    // mask SSE exceptions and clear their flags

void OnFault(int, siginfo_t* info, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  greg_t* gregs = uc->uc_mcontext.gregs;
  g_fault.count++;
  g_fault.info = *info;
  g_fault.rip = gregs[REG_RIP];
  g_fault.trapno = gregs[REG_TRAPNO];
  g_fault.err = gregs[REG_ERR];
  g_fault.cr2 = gregs[REG_CR2];
  if (g_resume != nullptr) {
    gregs[REG_RIP] = reinterpret_cast<greg_t>(g_resume);
  } else if (g_emulate_ret) {
    gregs[REG_RIP] = *reinterpret_cast<greg_t*>(gregs[REG_RSP]);
    gregs[REG_RSP] += 8;
  }
  if (g_reset_mxcsr) uc->uc_mcontext.fpregs->mxcsr = 0x1f80;
}

// Handles `sig` with OnFault, resuming at `resume`, and restores the old
// action.
class FaultCatcher {
 public:
  FaultCatcher(int sig, const char* resume) : sig_(sig) {
    memset(&g_fault, 0, sizeof(g_fault));
    g_resume = resume;
    g_emulate_ret = false;
    g_reset_mxcsr = false;
    struct sigaction act = {};
    act.sa_sigaction = OnFault;
    act.sa_flags = SA_SIGINFO;
    sigemptyset(&act.sa_mask);
    EXPECT_EQ(sigaction(sig, &act, &old_), 0);
  }
  ~FaultCatcher() { sigaction(sig_, &old_, nullptr); }
  FaultCatcher(const FaultCatcher&) = delete;
  FaultCatcher& operator=(const FaultCatcher&) = delete;

 private:
  int sig_;
  struct sigaction old_ = {};
};

greg_t Addr(const void* p) { return reinterpret_cast<greg_t>(p); }

// One expectation about the fault OnFault recorded last: a field of its
// siginfo or a register of its context equals a value. See ExpectFault.
using FaultCheck = std::function<void()>;

// The check that `*field` (a field of g_fault) equals `want`; `name` names
// the field in a failure.
template <typename T>
FaultCheck FieldIs(const char* name, const T* field, T want) {
  return [=] { EXPECT_EQ(*field, want) << name; };
}

FaultCheck SiSigno(int v) {
  return FieldIs("si_signo", &g_fault.info.si_signo, v);
}
FaultCheck SiErrno(int v) {
  return FieldIs("si_errno", &g_fault.info.si_errno, v);
}
FaultCheck SiCode(int v) {
  return FieldIs("si_code", &g_fault.info.si_code, v);
}
FaultCheck SiAddr(const void* v) {
  return FieldIs<void*>("si_addr", &g_fault.info.si_addr, const_cast<void*>(v));
}
FaultCheck RegRip(greg_t v) { return FieldIs("REG_RIP", &g_fault.rip, v); }
FaultCheck RegTrapno(greg_t v) {
  return FieldIs("REG_TRAPNO", &g_fault.trapno, v);
}
FaultCheck RegErr(greg_t v) { return FieldIs("REG_ERR", &g_fault.err, v); }
FaultCheck RegCr2(greg_t v) { return FieldIs("REG_CR2", &g_fault.cr2, v); }

// Expects the fault OnFault recorded last to pass every check in `checks`
// (after the caller has asserted that there was exactly one).
void ExpectFault(std::initializer_list<FaultCheck> checks) {
  for (const FaultCheck& check : checks) check();
}

// A page that was mapped and is not any more.
char* UnmappedPage() {
  void* p = mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  munmap(p, kPage);
  return static_cast<char*>(p);
}

// Runs `fn` in a child (see testing_util::RunInChild) that writes no core
// file and leaves the core flag out of its status.
int RunInChild(const std::function<int()>& fn) {
  return testing_util::RunInChild([&fn] {
    DisableCoreDumps();
    return fn();
  });
}

// ---------------------------------------------------------------------------
// SIGSEGV.

TEST(SegvTest, NullLoadIsMaperrAtAddressZero) {
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  EXPECT_EQ(FaultLoad(nullptr), 0u);
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiSigno(SIGSEGV), SiErrno(0), SiCode(SEGV_MAPERR),
               SiAddr(nullptr), RegRip(Addr(FaultLoadInsn)), RegTrapno(kTrapPF),
               RegErr(kPfUser), RegCr2(0)});
}

TEST(SegvTest, LoadFromAHoleReportsTheExactAddress) {
  char* addr = UnmappedPage() + 0x123;
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  FaultLoad(addr);
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault(
      {SiCode(SEGV_MAPERR), SiAddr(addr), RegCr2(Addr(addr)), RegErr(kPfUser)});
}

TEST(SegvTest, StoreToAReadOnlyPageIsAccerr) {
  void* p = mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  char* addr = static_cast<char*>(p) + 0x10;
  // Touch it first so that the page is present: the error code then says
  // "protection" as well as "write".
  EXPECT_EQ(FaultLoad(addr), 0u);
  {
    FaultCatcher catcher(SIGSEGV, FaultStoreResume);
    FaultStore(addr, 0x55);
    ASSERT_EQ(g_fault.count, 1);
    ExpectFault({SiCode(SEGV_ACCERR), SiAddr(addr),
                 RegRip(Addr(FaultStoreInsn)), RegTrapno(kTrapPF),
                 RegErr(kPfUser | kPfWrite | kPfProt)});
  }
  EXPECT_EQ(FaultLoad(addr), 0u);  // nothing was written
  munmap(p, kPage);
}

TEST(SegvTest, ProtNoneAccessIsAccerr) {
  void* p = mmap(nullptr, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  char* addr = static_cast<char*>(p) + 8;
  {
    FaultCatcher catcher(SIGSEGV, FaultLoadResume);
    FaultLoad(addr);
    ASSERT_EQ(g_fault.count, 1);
    // Only kPfUser: the page was never present.
    ExpectFault({SiCode(SEGV_ACCERR), SiAddr(addr), RegErr(kPfUser)});
  }
  munmap(p, kPage);
}

TEST(SegvTest, ExecutingANonExecutablePageIsAccerr) {
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  static_cast<unsigned char*>(p)[0] = 0xc3;  // ret
  {
    FaultCatcher catcher(SIGSEGV, nullptr);
    g_emulate_ret = true;
    reinterpret_cast<void (*)()>(p)();
    ASSERT_EQ(g_fault.count, 1);
    ExpectFault({SiCode(SEGV_ACCERR), SiAddr(p), RegRip(Addr(p)),
                 RegTrapno(kTrapPF), RegErr(kPfUser | kPfInstr | kPfProt)});
  }
  // Made executable, the same page runs.
  ASSERT_EQ(mprotect(p, kPage, PROT_READ | PROT_EXEC), 0);
  reinterpret_cast<void (*)()>(p)();
  munmap(p, kPage);
}

TEST(SegvTest, NonCanonicalAddressIsAGeneralProtectionFault) {
  // A non-canonical address raises #GP, not a page fault: Linux reports
  // SI_KERNEL with no address.
  const void* addr = reinterpret_cast<const void*>(0x8000000000000000ull);
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  FaultLoad(addr);
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiCode(SI_KERNEL), SiAddr(nullptr), RegRip(Addr(FaultLoadInsn)),
               RegTrapno(kTrapGP), RegErr(0)});
}

TEST(SegvTest, KernelAddressIsMaperrWithTheProtectionBit) {
  // Linux pretends user accesses to kernel addresses are protection faults
  // (so as not to reveal the kernel's page tables) but reports MAPERR.
  const void* addr = reinterpret_cast<const void*>(0xffff880000001000ull);
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  FaultLoad(addr);
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiCode(SEGV_MAPERR), SiAddr(addr), RegTrapno(kTrapPF),
               RegErr(kPfUser | kPfProt)});
}

TEST(SegvTest, PrivilegedInstructionIsSigsegvNotSigill) {
  FaultCatcher catcher(SIGSEGV, FaultHltResume);
  FaultHlt();
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiCode(SI_KERNEL), SiAddr(nullptr), RegRip(Addr(FaultHltInsn)),
               RegTrapno(kTrapGP)});
}

// ---------------------------------------------------------------------------
// SIGBUS.

using BusTest = FileTest;

TEST_F(BusTest, FileMappingBeyondEofIsBusAdrerr) {
  // The file holds 10 bytes; map two pages of it.
  void* p = mmap(nullptr, 2 * kPage, PROT_READ, MAP_SHARED, fd_, 0);
  ASSERT_NE(p, MAP_FAILED);
  char* base = static_cast<char*>(p);
  // The rest of the last page is zeros...
  EXPECT_EQ(FaultLoad(base + 64), 0u);
  // ...and the page after it is beyond EOF.
  {
    FaultCatcher catcher(SIGBUS, FaultLoadResume);
    FaultLoad(base + kPage + 8);
    ASSERT_EQ(g_fault.count, 1);
    ExpectFault({SiSigno(SIGBUS), SiCode(BUS_ADRERR), SiAddr(base + kPage + 8),
                 RegRip(Addr(FaultLoadInsn)), RegTrapno(kTrapPF)});
  }
  // Growing the file makes the page readable.
  ASSERT_EQ(ftruncate(fd_, 2 * kPage), 0);
  EXPECT_EQ(FaultLoad(base + kPage + 8), 0u);
  munmap(p, 2 * kPage);
}

// ---------------------------------------------------------------------------
// SIGFPE, SIGILL, SIGTRAP.

TEST(FpeTest, IntegerDivisionByZeroIsIntdivAtTheInstruction) {
  FaultCatcher catcher(SIGFPE, FaultDivResume);
  FaultDiv(1, 0);
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiSigno(SIGFPE), SiCode(FPE_INTDIV), SiAddr(FaultDivInsn),
               RegRip(Addr(FaultDivInsn)), RegTrapno(kTrapDE)});
}

TEST(FpeTest, IntegerDivisionOverflowIsAlsoIntdiv) {
  // INT_MIN / -1 raises the same #DE exception as a zero divisor.
  FaultCatcher catcher(SIGFPE, FaultIdivResume);
  FaultIdiv(INT32_MIN, -1);
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiCode(FPE_INTDIV), SiAddr(FaultIdivInsn), RegTrapno(kTrapDE)});
  // Divisions that do not fault are unaffected.
  EXPECT_EQ(FaultIdiv(-7, 2), -3);
  EXPECT_EQ(FaultDiv(7, 2), 3u);
}

TEST(FpeTest, UnmaskedSseDivisionByZeroIsFltdiv) {
  FaultCatcher catcher(SIGFPE, FaultDivssResume);
  g_reset_mxcsr = true;
  FaultDivss();
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiCode(FPE_FLTDIV), SiAddr(FaultDivssInsn),
               RegRip(Addr(FaultDivssInsn)), RegTrapno(kTrapXF)});
}

TEST(IllTest, Ud2IsIllopnAtTheInstruction) {
  FaultCatcher catcher(SIGILL, FaultUd2Resume);
  FaultUd2();
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiSigno(SIGILL), SiCode(ILL_ILLOPN), SiAddr(FaultUd2Insn),
               RegRip(Addr(FaultUd2Insn)), RegTrapno(kTrapUD)});
}

TEST(TrapTest, Int3IsSiKernelWithRipAfterTheInstruction) {
  // No resume address: int3 is a trap, so the saved RIP is already past it.
  FaultCatcher catcher(SIGTRAP, nullptr);
  FaultInt3();
  ASSERT_EQ(g_fault.count, 1);
  ExpectFault({SiSigno(SIGTRAP), SiCode(SI_KERNEL), SiAddr(nullptr),
               RegRip(Addr(FaultInt3Resume)), RegTrapno(kTrapBP)});
  EXPECT_EQ(FaultInt3Resume - FaultInt3Insn, 1);
}

// ---------------------------------------------------------------------------
// Faults that kill.

TEST(FatalFaultTest, UncaughtSigsegvKills) {
  int status = RunInChild([] {
    signal(SIGSEGV, SIG_DFL);
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
  EXPECT_FALSE(WCOREDUMP(status));
}

TEST(FatalFaultTest, UncaughtSigfpeSigillSigtrapKill) {
  struct Case {
    int sig;
    void (*fn)();
  };
  const Case cases[] = {
      {SIGFPE, [] { FaultDiv(1, 0); }},
      {SIGILL, FaultUd2},
      {SIGTRAP, FaultInt3},
  };
  for (const Case& c : cases) {
    int status = RunInChild([&c] {
      signal(c.sig, SIG_DFL);
      c.fn();
      return 0;
    });
    EXPECT_TRUE(KilledBySignal(status, c.sig));
  }
}

// Counts its runs in a pipe and returns without fixing anything.
int g_report_fd = -1;
void ReportAndReturn(int, siginfo_t*, void*) {
  if (write(g_report_fd, "x", 1) != 1) _exit(2);
}

// Runs `fn` in a child whose SIGSEGV handler is ReportAndReturn installed
// with `flags`; returns the child's status and how many times the handler
// ran.
int RunWithReportingHandler(int flags, bool block, bool ignore, int* runs,
                            const std::function<int()>& fn) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  int status = RunInChild([&] {
    close(fds[0]);
    g_report_fd = fds[1];
    struct sigaction act = {};
    if (ignore) {
      act.sa_handler = SIG_IGN;
    } else {
      act.sa_sigaction = ReportAndReturn;
      act.sa_flags = SA_SIGINFO | flags;
    }
    CHILD_CHECK(sigaction(SIGSEGV, &act, nullptr) == 0);
    if (block) {
      CHILD_CHECK(ChangeMask(SIG_BLOCK, {SIGSEGV}) == 0);
    }
    return fn();
  });
  close(fds[1]);
  char buf[64];
  ssize_t n = read(fds[0], buf, sizeof(buf));
  *runs = n < 0 ? -1 : static_cast<int>(n);
  close(fds[0]);
  return status;
}

TEST(FatalFaultTest, HandlerThatReturnsRefaultsAndResetHandKillsTheSecondTime) {
  int runs = 0;
  int status = RunWithReportingHandler(SA_RESETHAND, false, false, &runs, [] {
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
  EXPECT_EQ(runs, 1);
}

int g_refaults;
void CountRefaults(int, siginfo_t*, void*) {
  if (++g_refaults == 5) _exit(42);
}

TEST(FatalFaultTest, HandlerThatReturnsRunsAgainForTheSameFault) {
  int status = RunInChild([] {
    struct sigaction act = {};
    act.sa_sigaction = CountRefaults;
    act.sa_flags = SA_SIGINFO;
    CHILD_CHECK(sigaction(SIGSEGV, &act, nullptr) == 0);
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 42));
}

TEST(FatalFaultTest, FaultWhileSigsegvIsBlockedKillsWithoutTheHandler) {
  int runs = 0;
  int status = RunWithReportingHandler(0, true, false, &runs, [] {
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
  EXPECT_EQ(runs, 0);
}

TEST(FatalFaultTest, FaultWhileSigsegvIsIgnoredKills) {
  int runs = 0;
  int status = RunWithReportingHandler(0, false, true, &runs, [] {
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
}

void FaultAgain(int, siginfo_t*, void*) {
  if (write(g_report_fd, "x", 1) != 1) _exit(2);
  FaultLoad(nullptr);  // SIGSEGV is blocked in its own handler
  _exit(3);
}

TEST(FatalFaultTest, FaultInsideTheSigsegvHandlerKills) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int status = RunInChild([&] {
    close(fds[0]);
    g_report_fd = fds[1];
    struct sigaction act = {};
    act.sa_sigaction = FaultAgain;
    act.sa_flags = SA_SIGINFO;
    CHILD_CHECK(sigaction(SIGSEGV, &act, nullptr) == 0);
    FaultLoad(nullptr);
    return 0;
  });
  close(fds[1]);
  char buf[8];
  EXPECT_EQ(read(fds[0], buf, sizeof(buf)), 1);
  close(fds[0]);
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
}

TEST(FatalFaultTest, BlockedSigsegvFromKillJustStaysPending) {
  int runs = 0;
  int status = RunWithReportingHandler(0, true, false, &runs, [] {
    CHILD_CHECK(kill(getpid(), SIGSEGV) == 0);
    uint64_t pending = 0;
    CHILD_CHECK(syscall(SYS_rt_sigpending, &pending, kKernelSigsetSize) == 0);
    CHILD_CHECK(pending & SigBit(SIGSEGV));
    return 42;
  });
  EXPECT_TRUE(ExitedWith(status, 42));
  EXPECT_EQ(runs, 0);
}

TEST(SyncSignalTest, SynchronousSignalsAreDequeuedBeforeLowerNumberedOnes) {
  // Among pending signals Linux takes SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
  // SIGFPE and SIGSYS first, then the lowest number.
  uint64_t set =
      SigBit(SIGHUP) | SigBit(SIGUSR1) | SigBit(SIGSEGV) | SigBit(SIGSYS);
  uint64_t old = 0;
  ASSERT_EQ(
      syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, kKernelSigsetSize), 0);
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_EQ(kill(getpid(), SIGSYS), 0);
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_EQ(kill(getpid(), SIGSEGV), 0);
  int got[4] = {};
  struct timespec zero = {0, 0};
  for (int& g : got) {
    g = static_cast<int>(RtSigtimedwait(set, nullptr, &zero));
  }
  ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr,
                    kKernelSigsetSize),
            0);
  EXPECT_EQ(got[0], SIGSEGV);
  EXPECT_EQ(got[1], SIGSYS);
  EXPECT_EQ(got[2], SIGHUP);
  EXPECT_EQ(got[3], SIGUSR1);
}

}  // namespace
