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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

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

using testing_util::FileTest;

constexpr size_t kKernelSigsetSize = 8;
constexpr long kPage = 4096;

// x86 trap numbers and page-fault error code bits.
constexpr greg_t kTrapDE = 0, kTrapBP = 3, kTrapUD = 6, kTrapGP = 13,
                 kTrapPF = 14, kTrapXF = 19;
constexpr greg_t kPfProt = 1, kPfWrite = 2, kPfUser = 4, kPfInstr = 16;

uint64_t Bit(int sig) { return 1ull << (sig - 1); }

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

// A page that was mapped and is not any more.
char* UnmappedPage() {
  void* p = mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  munmap(p, kPage);
  return static_cast<char*>(p);
}

#define CHILD_CHECK(cond)                                                     \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: child check failed: %s (errno %d)\n", __FILE__, \
              __LINE__, #cond, errno);                                        \
      _exit(1);                                                               \
    }                                                                         \
  } while (0)

int RunInChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    // No core files, and no core flag in the status.
    struct rlimit zero = {0, 0};
    setrlimit(RLIMIT_CORE, &zero);
    prctl(PR_SET_DUMPABLE, 0);
    _exit(fn());
  }
  EXPECT_GT(pid, 0) << strerror(errno);
  if (pid < 0) return -1;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

// ---------------------------------------------------------------------------
// SIGSEGV.

TEST(SegvTest, NullLoadIsMaperrAtAddressZero) {
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  EXPECT_EQ(FaultLoad(nullptr), 0u);
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_signo, SIGSEGV);
  EXPECT_EQ(g_fault.info.si_errno, 0);
  EXPECT_EQ(g_fault.info.si_code, SEGV_MAPERR);
  EXPECT_EQ(g_fault.info.si_addr, nullptr);
  EXPECT_EQ(g_fault.rip, Addr(FaultLoadInsn));
  EXPECT_EQ(g_fault.trapno, kTrapPF);
  EXPECT_EQ(g_fault.err, kPfUser);
  EXPECT_EQ(g_fault.cr2, 0);
}

TEST(SegvTest, LoadFromAHoleReportsTheExactAddress) {
  char* addr = UnmappedPage() + 0x123;
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  FaultLoad(addr);
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_code, SEGV_MAPERR);
  EXPECT_EQ(g_fault.info.si_addr, addr);
  EXPECT_EQ(g_fault.cr2, Addr(addr));
  EXPECT_EQ(g_fault.err, kPfUser);
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
    EXPECT_EQ(g_fault.info.si_code, SEGV_ACCERR);
    EXPECT_EQ(g_fault.info.si_addr, addr);
    EXPECT_EQ(g_fault.rip, Addr(FaultStoreInsn));
    EXPECT_EQ(g_fault.trapno, kTrapPF);
    EXPECT_EQ(g_fault.err, kPfUser | kPfWrite | kPfProt);
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
    EXPECT_EQ(g_fault.info.si_code, SEGV_ACCERR);
    EXPECT_EQ(g_fault.info.si_addr, addr);
    EXPECT_EQ(g_fault.err, kPfUser);  // the page was never present
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
    EXPECT_EQ(g_fault.info.si_code, SEGV_ACCERR);
    EXPECT_EQ(g_fault.info.si_addr, p);
    EXPECT_EQ(g_fault.rip, Addr(p));
    EXPECT_EQ(g_fault.trapno, kTrapPF);
    EXPECT_EQ(g_fault.err, kPfUser | kPfInstr | kPfProt);
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
  EXPECT_EQ(g_fault.info.si_code, SI_KERNEL);
  EXPECT_EQ(g_fault.info.si_addr, nullptr);
  EXPECT_EQ(g_fault.rip, Addr(FaultLoadInsn));
  EXPECT_EQ(g_fault.trapno, kTrapGP);
  EXPECT_EQ(g_fault.err, 0);
}

TEST(SegvTest, KernelAddressIsMaperrWithTheProtectionBit) {
  // Linux pretends user accesses to kernel addresses are protection faults
  // (so as not to reveal the kernel's page tables) but reports MAPERR.
  const void* addr = reinterpret_cast<const void*>(0xffff880000001000ull);
  FaultCatcher catcher(SIGSEGV, FaultLoadResume);
  FaultLoad(addr);
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_code, SEGV_MAPERR);
  EXPECT_EQ(g_fault.info.si_addr, addr);
  EXPECT_EQ(g_fault.trapno, kTrapPF);
  EXPECT_EQ(g_fault.err, kPfUser | kPfProt);
}

TEST(SegvTest, PrivilegedInstructionIsSigsegvNotSigill) {
  FaultCatcher catcher(SIGSEGV, FaultHltResume);
  FaultHlt();
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_code, SI_KERNEL);
  EXPECT_EQ(g_fault.info.si_addr, nullptr);
  EXPECT_EQ(g_fault.rip, Addr(FaultHltInsn));
  EXPECT_EQ(g_fault.trapno, kTrapGP);
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
    EXPECT_EQ(g_fault.info.si_signo, SIGBUS);
    EXPECT_EQ(g_fault.info.si_code, BUS_ADRERR);
    EXPECT_EQ(g_fault.info.si_addr, base + kPage + 8);
    EXPECT_EQ(g_fault.rip, Addr(FaultLoadInsn));
    EXPECT_EQ(g_fault.trapno, kTrapPF);
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
  EXPECT_EQ(g_fault.info.si_signo, SIGFPE);
  EXPECT_EQ(g_fault.info.si_code, FPE_INTDIV);
  EXPECT_EQ(g_fault.info.si_addr, FaultDivInsn);
  EXPECT_EQ(g_fault.rip, Addr(FaultDivInsn));
  EXPECT_EQ(g_fault.trapno, kTrapDE);
}

TEST(FpeTest, IntegerDivisionOverflowIsAlsoIntdiv) {
  // INT_MIN / -1 raises the same #DE exception as a zero divisor.
  FaultCatcher catcher(SIGFPE, FaultIdivResume);
  FaultIdiv(INT32_MIN, -1);
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_code, FPE_INTDIV);
  EXPECT_EQ(g_fault.info.si_addr, FaultIdivInsn);
  EXPECT_EQ(g_fault.trapno, kTrapDE);
  // Divisions that do not fault are unaffected.
  EXPECT_EQ(FaultIdiv(-7, 2), -3);
  EXPECT_EQ(FaultDiv(7, 2), 3u);
}

TEST(FpeTest, UnmaskedSseDivisionByZeroIsFltdiv) {
  FaultCatcher catcher(SIGFPE, FaultDivssResume);
  g_reset_mxcsr = true;
  FaultDivss();
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_code, FPE_FLTDIV);
  EXPECT_EQ(g_fault.info.si_addr, FaultDivssInsn);
  EXPECT_EQ(g_fault.rip, Addr(FaultDivssInsn));
  EXPECT_EQ(g_fault.trapno, kTrapXF);
}

TEST(IllTest, Ud2IsIllopnAtTheInstruction) {
  FaultCatcher catcher(SIGILL, FaultUd2Resume);
  FaultUd2();
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_signo, SIGILL);
  EXPECT_EQ(g_fault.info.si_code, ILL_ILLOPN);
  EXPECT_EQ(g_fault.info.si_addr, FaultUd2Insn);
  EXPECT_EQ(g_fault.rip, Addr(FaultUd2Insn));
  EXPECT_EQ(g_fault.trapno, kTrapUD);
}

TEST(TrapTest, Int3IsSiKernelWithRipAfterTheInstruction) {
  // No resume address: int3 is a trap, so the saved RIP is already past it.
  FaultCatcher catcher(SIGTRAP, nullptr);
  FaultInt3();
  ASSERT_EQ(g_fault.count, 1);
  EXPECT_EQ(g_fault.info.si_signo, SIGTRAP);
  EXPECT_EQ(g_fault.info.si_code, SI_KERNEL);
  EXPECT_EQ(g_fault.info.si_addr, nullptr);
  EXPECT_EQ(g_fault.rip, Addr(FaultInt3Resume));
  EXPECT_EQ(FaultInt3Resume - FaultInt3Insn, 1);
  EXPECT_EQ(g_fault.trapno, kTrapBP);
}

// ---------------------------------------------------------------------------
// Faults that kill.

TEST(FatalFaultTest, UncaughtSigsegvKills) {
  int status = RunInChild([] {
    signal(SIGSEGV, SIG_DFL);
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
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
    EXPECT_TRUE(WIFSIGNALED(status)) << c.sig << " " << status;
    EXPECT_EQ(WTERMSIG(status), c.sig);
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
      uint64_t set = Bit(SIGSEGV);
      CHILD_CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, nullptr,
                          kKernelSigsetSize) == 0);
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
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
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
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(FatalFaultTest, FaultWhileSigsegvIsBlockedKillsWithoutTheHandler) {
  int runs = 0;
  int status = RunWithReportingHandler(0, true, false, &runs, [] {
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  EXPECT_EQ(runs, 0);
}

TEST(FatalFaultTest, FaultWhileSigsegvIsIgnoredKills) {
  int runs = 0;
  int status = RunWithReportingHandler(0, false, true, &runs, [] {
    FaultLoad(nullptr);
    return 0;
  });
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
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
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

TEST(FatalFaultTest, BlockedSigsegvFromKillJustStaysPending) {
  int runs = 0;
  int status = RunWithReportingHandler(0, true, false, &runs, [] {
    CHILD_CHECK(kill(getpid(), SIGSEGV) == 0);
    uint64_t pending = 0;
    CHILD_CHECK(syscall(SYS_rt_sigpending, &pending, kKernelSigsetSize) == 0);
    CHILD_CHECK(pending & Bit(SIGSEGV));
    return 42;
  });
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
  EXPECT_EQ(runs, 0);
}

TEST(SyncSignalTest, SynchronousSignalsAreDequeuedBeforeLowerNumberedOnes) {
  // Among pending signals Linux takes SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
  // SIGFPE and SIGSYS first, then the lowest number.
  uint64_t set = Bit(SIGHUP) | Bit(SIGUSR1) | Bit(SIGSEGV) | Bit(SIGSYS);
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
    g = static_cast<int>(
        syscall(SYS_rt_sigtimedwait, &set, nullptr, &zero, kKernelSigsetSize));
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
