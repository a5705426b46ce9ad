// The x86-64 signal frame: the registers a SA_SIGINFO handler finds in its
// ucontext at a fault and the ones rt_sigreturn(2) restores from it (a
// handler that edits RIP, RAX, R13 and EFLAGS resumes the code with its
// edits), the direction flag cleared for the handler, the FPU/SSE/AVX state
// saved in the frame with its XSAVE magic numbers, reset for the handler and
// restored after it (or reset when the handler drops it), the handler's
// entry registers and stack alignment and the frame layout, the 128-byte red
// zone below the interrupted stack pointer, and sigaltstack(2): handlers with
// SA_ONSTACK run on the alternate stack (nesting on it), SS_ONSTACK inside
// them, EPERM for changes while on it, SS_DISABLE, kSsAutodisarm, size
// limits; and the deaths: a handler overflowing its alternate stack, an
// alternate stack too small for the frame, and a stack pointer where no frame
// can be written (which a SIGSEGV handler on an alternate stack can catch).

#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <functional>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"

// State shared with the assembly below, which refers to it by name.
extern "C" {
// SigframeFaultRegs: the stack pointer at the fault, the registers after
// the handler returned (rax rbx rcx rdx rsi rdi rbp r8..r15 rsp), and the
// flags after it.
uint64_t sigframe_fault_rsp;
uint64_t sigframe_fault_out[16];
uint64_t sigframe_fault_flags;
// SigframeVector: MXCSR to load before raising, and what it was after.
uint32_t sigframe_mxcsr_in;
uint32_t sigframe_mxcsr_out;
uint32_t sigframe_mxcsr_saved;
// The vector registers, MXCSR and x87 control word at a handler's entry.
alignas(32) uint8_t sigframe_handler_vec[16][32];
uint32_t sigframe_handler_mxcsr;
uint16_t sigframe_handler_fcw;
// SigframeRecordEntry: registers at a handler's first instruction.
uint64_t sigframe_entry_rsp;
uint64_t sigframe_entry_rdi;
uint64_t sigframe_entry_rsi;
uint64_t sigframe_entry_rdx;
uint64_t sigframe_entry_rax;
uint64_t sigframe_entry_ret;

// Loads known values into every general register, sets DF and CF, and loads
// from `fault_addr` at SigframeFaultInsn (a 3-byte instruction); stores the
// registers as they are at SigframeFaultResume.
void SigframeFaultRegs(void* fault_addr);
extern const char SigframeFaultInsn[];
extern const char SigframeFaultResume[];
// Loads xmm0..15 from `in` (16 bytes each) and MXCSR from sigframe_mxcsr_in,
// sends itself `sig` with tgkill, and stores xmm0..15 to `out`.
void SigframeXmm(pid_t pid, pid_t tid, int sig, const void* in, void* out);
// The same with ymm0..15 (32 bytes each).
void SigframeYmm(pid_t pid, pid_t tid, int sig, const void* in, void* out);
// Handlers that record the vector state at entry, then jump to
// SigframeVectorHandlerC.
void SigframeXmmHandler(int, siginfo_t*, void*);
void SigframeYmmHandler(int, siginfo_t*, void*);
void SigframeVectorHandlerC(int, siginfo_t*, void*);
// A handler that records its entry registers and returns.
void SigframeRecordEntry(int, siginfo_t*, void*);
// Fills the 128 bytes below its stack pointer, sends itself `sig`, and
// returns how many of the 16 words changed.
int SigframeRedZone(pid_t pid, pid_t tid, int sig);
// Switches to the stack `rsp` and sends itself `sig`. Does not return.
void SigframeBadStack(pid_t pid, pid_t tid, int sig, void* rsp);
}

asm(R"(
  .text
  .globl SigframeFaultRegs, SigframeFaultInsn, SigframeFaultResume
  .type SigframeFaultRegs, @function
SigframeFaultRegs:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rdi, %rsi
  movabs $0x1111111111111100, %rax
  movabs $0x2222222222222200, %rbx
  movabs $0x3333333333333300, %rcx
  movabs $0x4444444444444400, %rdx
  movabs $0x6666666666666600, %rdi
  movabs $0x7777777777777700, %rbp
  movabs $0x8888888888888800, %r8
  movabs $0x9999999999999900, %r9
  movabs $0xaaaaaaaaaaaaaa00, %r10
  movabs $0xbbbbbbbbbbbbbb00, %r11
  movabs $0xcccccccccccccc00, %r12
  movabs $0xdddddddddddddd00, %r13
  movabs $0xeeeeeeeeeeeeee00, %r14
  movabs $0xffffffffffffff00, %r15
  mov %rsp, sigframe_fault_rsp(%rip)
  std
  stc
SigframeFaultInsn:
  mov (%rsi), %rax
SigframeFaultResume:
  pushfq
  popq sigframe_fault_flags(%rip)
  cld
  mov %rax, sigframe_fault_out+0(%rip)
  mov %rbx, sigframe_fault_out+8(%rip)
  mov %rcx, sigframe_fault_out+16(%rip)
  mov %rdx, sigframe_fault_out+24(%rip)
  mov %rsi, sigframe_fault_out+32(%rip)
  mov %rdi, sigframe_fault_out+40(%rip)
  mov %rbp, sigframe_fault_out+48(%rip)
  mov %r8, sigframe_fault_out+56(%rip)
  mov %r9, sigframe_fault_out+64(%rip)
  mov %r10, sigframe_fault_out+72(%rip)
  mov %r11, sigframe_fault_out+80(%rip)
  mov %r12, sigframe_fault_out+88(%rip)
  mov %r13, sigframe_fault_out+96(%rip)
  mov %r14, sigframe_fault_out+104(%rip)
  mov %r15, sigframe_fault_out+112(%rip)
  mov %rsp, sigframe_fault_out+120(%rip)
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret
  .size SigframeFaultRegs, .-SigframeFaultRegs

  .globl SigframeXmm
  .type SigframeXmm, @function
SigframeXmm:
  stmxcsr sigframe_mxcsr_saved(%rip)
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  movdqu \i*16(%rcx), %xmm\i
  .endr
  ldmxcsr sigframe_mxcsr_in(%rip)
  mov $234, %eax  /* tgkill; the syscall preserves all but rax, rcx, r11 */
  syscall
  stmxcsr sigframe_mxcsr_out(%rip)
  ldmxcsr sigframe_mxcsr_saved(%rip)
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  movdqu %xmm\i, \i*16(%r8)
  .endr
  ret
  .size SigframeXmm, .-SigframeXmm

  .globl SigframeYmm
  .type SigframeYmm, @function
SigframeYmm:
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqu \i*32(%rcx), %ymm\i
  .endr
  mov $234, %eax
  syscall
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqu %ymm\i, \i*32(%r8)
  .endr
  vzeroupper
  ret
  .size SigframeYmm, .-SigframeYmm

  /* A handler that stores vector registers 0..15 with `mov` (movdqu for
     the xmm, vmovdqu for the ymm registers), MXCSR and the x87 control
     word, then jumps to SigframeVectorHandlerC. */
  .macro SIGFRAME_VECTOR_HANDLER name, mov, reg
  .globl \name
  .type \name, @function
\name:
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  \mov %\reg\()\i, sigframe_handler_vec+\i*32(%rip)
  .endr
  stmxcsr sigframe_handler_mxcsr(%rip)
  fnstcw sigframe_handler_fcw(%rip)
  jmp SigframeVectorHandlerC
  .size \name, .-\name
  .endm

  SIGFRAME_VECTOR_HANDLER SigframeXmmHandler, movdqu, xmm
  SIGFRAME_VECTOR_HANDLER SigframeYmmHandler, vmovdqu, ymm

  .globl SigframeRecordEntry
  .type SigframeRecordEntry, @function
SigframeRecordEntry:
  mov %rsp, sigframe_entry_rsp(%rip)
  mov %rdi, sigframe_entry_rdi(%rip)
  mov %rsi, sigframe_entry_rsi(%rip)
  mov %rdx, sigframe_entry_rdx(%rip)
  mov %rax, sigframe_entry_rax(%rip)
  mov (%rsp), %rax
  mov %rax, sigframe_entry_ret(%rip)
  ret
  .size SigframeRecordEntry, .-SigframeRecordEntry

  .globl SigframeRedZone
  .type SigframeRedZone, @function
SigframeRedZone:
  movabs $0xa5a5a5a5a5a5a5a5, %r8
  mov $-128, %rcx
1:
  lea (%r8,%rcx), %r9
  mov %r9, (%rsp,%rcx)
  add $8, %rcx
  jnz 1b
  mov $234, %eax
  syscall
  xor %eax, %eax
  mov $-128, %rcx
2:
  lea (%r8,%rcx), %r9
  cmp %r9, (%rsp,%rcx)
  je 3f
  inc %eax
3:
  add $8, %rcx
  jnz 2b
  ret
  .size SigframeRedZone, .-SigframeRedZone

  .globl SigframeBadStack
  .type SigframeBadStack, @function
SigframeBadStack:
  mov %rcx, %rsp
  mov $234, %eax
  syscall
  ud2
  .size SigframeBadStack, .-SigframeBadStack
)");

namespace {

using testing_util::ExitedWith;
using testing_util::Gettid;
using testing_util::KernelSigaction;
using testing_util::KilledBySignal;
using testing_util::kKernelSigsetSize;
using testing_util::RaiseToSelf;
using testing_util::RunInChild;
using testing_util::ScopedAction;

// The kernel's struct ucontext is smaller than glibc's ucontext_t (whose
// sigset is 128 bytes): uc_flags, uc_link, uc_stack, uc_mcontext and a
// 64-bit uc_sigmask.
constexpr size_t kKernelUcontextSize = 8 + 8 + sizeof(stack_t) + 256 + 8;
static_assert(kKernelUcontextSize == 304, "kernel struct ucontext");

// The kernel's MINSIGSTKSZ. (glibc's MINSIGSTKSZ is sysconf(_SC_MINSIGSTKSZ)
// under _GNU_SOURCE: the size of this machine's frames.)
constexpr size_t kKernelMinsigstksz = 2048;
constexpr int kSsAutodisarm = static_cast<int>(1u << 31);

constexpr unsigned long kUcFpXstate = 0x1;
constexpr unsigned long kUcSigcontextSs = 0x2;
constexpr unsigned long kUcStrictRestoreSs = 0x4;
constexpr uint32_t kFpXstateMagic1 = 0x46505853;
constexpr uint32_t kFpXstateMagic2 = 0x46505845;
constexpr uint64_t kFlagCF = 1 << 0;
constexpr uint64_t kFlagZF = 1 << 6;
constexpr uint64_t kFlagDF = 1 << 10;

uint64_t ReadFlags() {
  uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags));
  return flags;
}

// The software-reserved bytes at offset 464 of the FXSAVE area.
struct FpxSwBytes {
  uint32_t magic1;
  uint32_t extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48, "struct _fpx_sw_bytes");

const FpxSwBytes* SwBytes(const ucontext_t* uc) {
  return reinterpret_cast<const FpxSwBytes*>(
      reinterpret_cast<const char*>(uc->uc_mcontext.fpregs) + 464);
}

// An mmap()ed stack with an inaccessible guard page below it.
class GuardedStack {
 public:
  explicit GuardedStack(size_t size) : size_(size) {
    void* p = mmap(nullptr, size + 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    if (p == MAP_FAILED) return;
    mprotect(p, 4096, PROT_NONE);
    base_ = static_cast<char*>(p);
  }
  ~GuardedStack() {
    if (base_ != nullptr) munmap(base_, size_ + 4096);
  }
  GuardedStack(const GuardedStack&) = delete;
  GuardedStack& operator=(const GuardedStack&) = delete;
  char* guard() const { return base_; }
  char* bottom() const { return base_ + 4096; }
  char* top() const { return base_ + 4096 + size_; }
  size_t size() const { return size_; }
  bool Contains(const void* p) const { return p >= bottom() && p < top(); }

 private:
  size_t size_;
  char* base_ = nullptr;
};

// Sets the calling thread's alternate stack and restores the old one.
class ScopedAltStack {
 public:
  explicit ScopedAltStack(const GuardedStack& stack, int flags = 0) {
    stack_t ss = {};
    ss.ss_sp = stack.bottom();
    ss.ss_size = stack.size();
    ss.ss_flags = flags;
    EXPECT_EQ(sigaltstack(&ss, &old_), 0) << strerror(errno);
  }
  ~ScopedAltStack() {
    if (old_.ss_flags & SS_DISABLE) {
      stack_t off = {};
      off.ss_flags = SS_DISABLE;
      sigaltstack(&off, nullptr);
    } else {
      sigaltstack(&old_, nullptr);
    }
  }
  ScopedAltStack(const ScopedAltStack&) = delete;
  ScopedAltStack& operator=(const ScopedAltStack&) = delete;

 private:
  stack_t old_ = {};
};

// In a child (see RunInChild): makes the `size` bytes at `sp` the
// alternate signal stack.
void SetAltStackInChild(void* sp, size_t size) {
  stack_t ss = {};
  ss.ss_sp = sp;
  ss.ss_size = size;
  CHILD_CHECK(sigaltstack(&ss, nullptr) == 0);
}

// In a child (see RunInChild): installs `action` for `sig` as an
// SA_SIGINFO handler with `flags`.
void SetActionInChild(int sig, void (*action)(int, siginfo_t*, void*),
                      int flags = 0) {
  struct sigaction act = {};
  act.sa_sigaction = action;
  act.sa_flags = SA_SIGINFO | flags;
  CHILD_CHECK(sigaction(sig, &act, nullptr) == 0);
}

// ---------------------------------------------------------------------------
// General registers.

gregset_t g_fault_gregs;
uint64_t g_fault_handler_flags;
siginfo_t g_fault_info;
unsigned long g_fault_uc_flags;
int g_fault_count;

void EditRegistersAtFault(int, siginfo_t* info, void* ucontext) {
  g_fault_handler_flags = ReadFlags();
  auto* uc = static_cast<ucontext_t*>(ucontext);
  memcpy(g_fault_gregs, uc->uc_mcontext.gregs, sizeof(g_fault_gregs));
  g_fault_info = *info;
  g_fault_uc_flags = uc->uc_flags;
  g_fault_count++;
  greg_t* gregs = uc->uc_mcontext.gregs;
  gregs[REG_RIP] += 3;  // skip the faulting load
  gregs[REG_RAX] = 0x0123456789abcdef;
  gregs[REG_R13] = 0x1313131313131313;
  gregs[REG_EFL] = (gregs[REG_EFL] & ~kFlagCF) | kFlagZF;
}

TEST(SigframeTest, FaultRegistersAreSavedAndTheHandlersEditsRestored) {
  // An address that is certainly unmapped.
  void* page =
      mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  ASSERT_EQ(munmap(page, 4096), 0);
  char* fault_addr = static_cast<char*>(page) + 0x18;

  g_fault_count = 0;
  ScopedAction action(SIGSEGV, EditRegistersAtFault);
  SigframeFaultRegs(fault_addr);
  ASSERT_EQ(g_fault_count, 1);

  // What the handler saw.
  const greg_t* g = g_fault_gregs;
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RIP]),
            reinterpret_cast<uint64_t>(SigframeFaultInsn));
  EXPECT_EQ(SigframeFaultResume - SigframeFaultInsn, 3);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RSP]), sigframe_fault_rsp);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RSI]),
            reinterpret_cast<uint64_t>(fault_addr));
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RAX]), 0x1111111111111100u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RBX]), 0x2222222222222200u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RCX]), 0x3333333333333300u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RDX]), 0x4444444444444400u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RDI]), 0x6666666666666600u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RBP]), 0x7777777777777700u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R8]), 0x8888888888888800u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R9]), 0x9999999999999900u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R10]), 0xaaaaaaaaaaaaaa00u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R11]), 0xbbbbbbbbbbbbbb00u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R12]), 0xcccccccccccccc00u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R13]), 0xdddddddddddddd00u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R14]), 0xeeeeeeeeeeeeee00u);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R15]), 0xffffffffffffff00u);
  EXPECT_EQ(g[REG_EFL] & (kFlagCF | kFlagDF), kFlagCF | kFlagDF);
  // The page-fault details: trap 14, a user-mode read of a not-present page
  // (error code 4), and the address in CR2.
  EXPECT_EQ(g[REG_TRAPNO], 14);
  EXPECT_EQ(g[REG_ERR], 4);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_CR2]),
            reinterpret_cast<uint64_t>(fault_addr));
  // cs, gs, fs, ss: the user code and data selectors.
  EXPECT_EQ(g[REG_CSGSFS] & 0xffff, 0x33);
  EXPECT_EQ((static_cast<uint64_t>(g[REG_CSGSFS]) >> 48) & 0xffff, 0x2bu);
  EXPECT_EQ(g_fault_uc_flags,
            kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs);
  EXPECT_EQ(g_fault_info.si_signo, SIGSEGV);
  EXPECT_EQ(g_fault_info.si_code, SEGV_MAPERR);
  EXPECT_EQ(g_fault_info.si_addr, fault_addr);
  // The handler runs with the direction flag clear.
  EXPECT_EQ(g_fault_handler_flags & kFlagDF, 0u);

  // What the code found when it resumed at the handler's RIP.
  const uint64_t* out = sigframe_fault_out;
  EXPECT_EQ(out[0], 0x0123456789abcdefu);  // rax, set by the handler
  EXPECT_EQ(out[1], 0x2222222222222200u);
  EXPECT_EQ(out[2], 0x3333333333333300u);
  EXPECT_EQ(out[3], 0x4444444444444400u);
  EXPECT_EQ(out[4], reinterpret_cast<uint64_t>(fault_addr));
  EXPECT_EQ(out[5], 0x6666666666666600u);
  EXPECT_EQ(out[6], 0x7777777777777700u);
  EXPECT_EQ(out[7], 0x8888888888888800u);
  EXPECT_EQ(out[8], 0x9999999999999900u);
  EXPECT_EQ(out[9], 0xaaaaaaaaaaaaaa00u);
  EXPECT_EQ(out[10], 0xbbbbbbbbbbbbbb00u);
  EXPECT_EQ(out[11], 0xcccccccccccccc00u);
  EXPECT_EQ(out[12], 0x1313131313131313u);  // r13, set by the handler
  EXPECT_EQ(out[13], 0xeeeeeeeeeeeeee00u);
  EXPECT_EQ(out[14], 0xffffffffffffff00u);
  EXPECT_EQ(out[15], sigframe_fault_rsp);
  // CF cleared and ZF set by the handler; DF as the code had it.
  EXPECT_EQ(sigframe_fault_flags & (kFlagCF | kFlagZF | kFlagDF),
            kFlagZF | kFlagDF);
}

// ---------------------------------------------------------------------------
// Vector state.

enum class VectorMode { kObserve, kEditXmm7, kDropFpregs };
VectorMode g_vector_mode;
int g_vector_count;
alignas(16) uint8_t g_saved_xmm[16][16];
uint8_t g_saved_ymmh0[16];
uint32_t g_saved_mxcsr;
bool g_fpregs_aligned;
FpxSwBytes g_sw;
uint32_t g_magic2;
uint64_t g_xstate_bv;

const uint8_t kHandlerJunk[32] = {
    0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe,
    0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad,
    0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
const uint8_t kEditedXmm7[16] = {7, 7, 7, 7, 7, 7, 7, 7,
                                 7, 7, 7, 7, 7, 7, 7, 0x77};

}  // namespace

// Called by SigframeXmmHandler and SigframeYmmHandler (so not static).
void SigframeVectorHandlerC(int, siginfo_t*, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  g_vector_count++;
  const struct _libc_fpstate* fp = uc->uc_mcontext.fpregs;
  if (fp == nullptr) return;
  g_fpregs_aligned = reinterpret_cast<uintptr_t>(fp) % 64 == 0;
  memcpy(g_saved_xmm, fp->_xmm, sizeof(g_saved_xmm));
  g_saved_mxcsr = fp->mxcsr;
  g_sw = *SwBytes(uc);
  if (g_sw.magic1 == kFpXstateMagic1) {
    const char* base = reinterpret_cast<const char*>(fp);
    memcpy(&g_magic2, base + g_sw.xstate_size, sizeof(g_magic2));
    memcpy(&g_xstate_bv, base + 512, sizeof(g_xstate_bv));
    // The standard XSAVE layout puts the upper halves of ymm0..15 at 576.
    memcpy(g_saved_ymmh0, base + 576, sizeof(g_saved_ymmh0));
  }
  // Clobber every vector register the interrupted code was using.
  asm volatile(
      "movdqu %0, %%xmm0\n movdqu %0, %%xmm1\n movdqu %0, %%xmm2\n"
      "movdqu %0, %%xmm3\n movdqu %0, %%xmm4\n movdqu %0, %%xmm5\n"
      "movdqu %0, %%xmm6\n movdqu %0, %%xmm7\n movdqu %0, %%xmm8\n"
      "movdqu %0, %%xmm9\n movdqu %0, %%xmm10\n movdqu %0, %%xmm11\n"
      "movdqu %0, %%xmm12\n movdqu %0, %%xmm13\n movdqu %0, %%xmm14\n"
      "movdqu %0, %%xmm15\n"
      :
      : "m"(kHandlerJunk)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  uint32_t mxcsr = 0x1f80 | 0x6000;  // round toward zero
  asm volatile("ldmxcsr %0" : : "m"(mxcsr));
  if (g_vector_mode == VectorMode::kEditXmm7) {
    memcpy(uc->uc_mcontext.fpregs->_xmm[7].element, kEditedXmm7, 16);
  } else if (g_vector_mode == VectorMode::kDropFpregs) {
    uc->uc_mcontext.fpregs = nullptr;
  }
}

namespace {

class VectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_vector_count = 0;
    memset(g_saved_xmm, 0, sizeof(g_saved_xmm));
    memset(sigframe_handler_vec, 0x5a, sizeof(sigframe_handler_vec));
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < 32; j++)
        in_[i][j] = static_cast<uint8_t>(i * 16 + j + 1);
    memset(out_, 0, sizeof(out_));
    // Flush-to-zero, denormals-are-zero, round up, all exceptions masked.
    sigframe_mxcsr_in = 0x1f80 | 0x8000 | 0x0040 | 0x4000;
  }
  void RunXmm(VectorMode mode) {
    g_vector_mode = mode;
    alignas(16) uint8_t in[16][16];
    for (int i = 0; i < 16; i++) memcpy(in[i], in_[i], 16);
    ScopedAction action(SIGUSR1, SigframeXmmHandler);
    SigframeXmm(getpid(), Gettid(), SIGUSR1, in, xmm_out_);
  }
  uint8_t in_[16][32];
  uint8_t out_[16][32];
  uint8_t xmm_out_[16][16];
};

TEST_F(VectorTest, XmmAndMxcsrAreSavedResetForTheHandlerAndRestored) {
  RunXmm(VectorMode::kObserve);
  ASSERT_EQ(g_vector_count, 1);
  for (int i = 0; i < 16; i++) {
    SCOPED_TRACE(i);
    // Saved in the frame.
    EXPECT_EQ(memcmp(g_saved_xmm[i], in_[i], 16), 0);
    // Zero at the handler's entry: Linux gives the handler a fresh FPU
    // state.
    uint8_t zero[16] = {};
    EXPECT_EQ(memcmp(sigframe_handler_vec[i], zero, 16), 0);
    // Restored after the handler clobbered it.
    EXPECT_EQ(memcmp(xmm_out_[i], in_[i], 16), 0);
  }
  EXPECT_EQ(g_saved_mxcsr, sigframe_mxcsr_in);
  EXPECT_EQ(sigframe_handler_mxcsr, 0x1f80u);
  EXPECT_EQ(sigframe_handler_fcw, 0x37f);
  EXPECT_EQ(sigframe_mxcsr_out, sigframe_mxcsr_in);
}

TEST_F(VectorTest, HandlerEditsToTheSavedXmmStateAreRestored) {
  RunXmm(VectorMode::kEditXmm7);
  ASSERT_EQ(g_vector_count, 1);
  EXPECT_EQ(memcmp(xmm_out_[7], kEditedXmm7, 16), 0);
  EXPECT_EQ(memcmp(xmm_out_[6], in_[6], 16), 0);
  EXPECT_EQ(memcmp(xmm_out_[8], in_[8], 16), 0);
}

TEST_F(VectorTest, DroppingFpregsResetsTheStateOnReturn) {
  // rt_sigreturn with a NULL fpregs pointer puts the FPU in its initial
  // state rather than keeping the handler's.
  RunXmm(VectorMode::kDropFpregs);
  ASSERT_EQ(g_vector_count, 1);
  uint8_t zero[16] = {};
  for (int i = 0; i < 16; i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(memcmp(xmm_out_[i], zero, 16), 0);
  }
  EXPECT_EQ(sigframe_mxcsr_out, 0x1f80u);
}

TEST_F(VectorTest, FrameCarriesTheXsaveMagicNumbers) {
  RunXmm(VectorMode::kObserve);
  ASSERT_EQ(g_vector_count, 1);
  EXPECT_TRUE(g_fpregs_aligned);
  EXPECT_EQ(g_sw.magic1, kFpXstateMagic1);
  EXPECT_EQ(g_sw.extended_size, g_sw.xstate_size + 4);
  EXPECT_EQ(g_magic2, kFpXstateMagic2);
  // x87 and SSE state are always there; the features are a subset of the
  // ones the OS enabled in XCR0.
  EXPECT_EQ(g_sw.xfeatures & 3, 3u);
  uint32_t eax, ebx, ecx, edx;
  __cpuid_count(0xd, 0, eax, ebx, ecx, edx);
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  uint64_t xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
  EXPECT_EQ(g_sw.xfeatures & ~xcr0, 0u);
  // Without dynamically enabled features (AMX), the frame holds all of
  // XCR0's state: the size CPUID reports for it.
  if ((xcr0 & (3ull << 17)) == 0) {
    EXPECT_EQ(g_sw.xfeatures, xcr0);
    EXPECT_EQ(g_sw.xstate_size, ebx);
  }
  // The XSAVE header's XSTATE_BV says SSE state is present.
  EXPECT_NE(g_xstate_bv & 2, 0u);
}

TEST_F(VectorTest, YmmUpperHalvesAreSavedAndRestored) {
  if (!__builtin_cpu_supports("avx")) GTEST_SKIP() << "no AVX";
  g_vector_mode = VectorMode::kObserve;
  {
    ScopedAction action(SIGUSR1, SigframeYmmHandler);
    SigframeYmm(getpid(), Gettid(), SIGUSR1, in_, out_);
  }
  ASSERT_EQ(g_vector_count, 1);
  for (int i = 0; i < 16; i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(memcmp(out_[i], in_[i], 32), 0);
    uint8_t zero[32] = {};
    EXPECT_EQ(memcmp(sigframe_handler_vec[i], zero, 32), 0);
  }
  EXPECT_NE(g_sw.xfeatures & 4, 0u);
  EXPECT_NE(g_xstate_bv & 4, 0u);
  EXPECT_EQ(memcmp(g_saved_ymmh0, in_[0] + 16, 16), 0);
}

// ---------------------------------------------------------------------------
// The handler's entry and the frame's place.

TEST(SigframeTest, HandlerEntryRegistersAndFrameLayout) {
  ScopedAction action(SIGUSR1, SigframeRecordEntry);
  KernelSigaction ka = {};
  ASSERT_EQ(syscall(SYS_rt_sigaction, SIGUSR1, nullptr, &ka, kKernelSigsetSize),
            0);
  sigframe_entry_rax = 0xbad;
  RaiseToSelf(SIGUSR1);
  // As if called: the return address (the restorer) on top of a stack that
  // was 16-byte aligned before the call.
  EXPECT_EQ((sigframe_entry_rsp + 8) % 16, 0u);
  EXPECT_EQ(sigframe_entry_ret, reinterpret_cast<uint64_t>(ka.restorer));
  EXPECT_EQ(sigframe_entry_rdi, static_cast<uint64_t>(SIGUSR1));
  // rax is 0 for handlers declared without a prototype (varargs).
  EXPECT_EQ(sigframe_entry_rax, 0u);
  // struct rt_sigframe: the return address, the ucontext, the siginfo.
  EXPECT_EQ(sigframe_entry_rdx, sigframe_entry_rsp + 8);
  EXPECT_EQ(sigframe_entry_rsi, sigframe_entry_rsp + 8 + kKernelUcontextSize);
}

uint64_t g_frame_rsp_saved;
uint64_t g_frame_lowest;
uint64_t g_frame_highest;

void RecordFrameExtent(int, siginfo_t* info, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  g_frame_rsp_saved = uc->uc_mcontext.gregs[REG_RSP];
  g_frame_lowest = reinterpret_cast<uint64_t>(uc) - 8;
  uint64_t fp_end = reinterpret_cast<uint64_t>(uc->uc_mcontext.fpregs) +
                    SwBytes(uc)->extended_size;
  uint64_t info_end = reinterpret_cast<uint64_t>(info) + sizeof(siginfo_t);
  g_frame_highest = fp_end > info_end ? fp_end : info_end;
}

TEST(SigframeTest, FrameLiesBelowTheRedZone) {
  ScopedAction action(SIGUSR1, RecordFrameExtent);
  RaiseToSelf(SIGUSR1);
  EXPECT_LT(g_frame_lowest, g_frame_highest);
  EXPECT_LE(g_frame_highest, g_frame_rsp_saved - 128);
}

int g_redzone_handler_count;

void StackHungryHandler(int, siginfo_t*, void*) {
  volatile char buf[1024];
  for (size_t i = 0; i < sizeof(buf); i++) buf[i] = static_cast<char>(i);
  g_redzone_handler_count++;
}

TEST(SigframeTest, RedZoneIsPreserved) {
  g_redzone_handler_count = 0;
  ScopedAction action(SIGUSR1, StackHungryHandler);
  EXPECT_EQ(SigframeRedZone(getpid(), Gettid(), SIGUSR1), 0);
  EXPECT_EQ(g_redzone_handler_count, 1);
}

// ---------------------------------------------------------------------------
// sigaltstack(2).

struct AltObservation {
  uintptr_t local;
  stack_t current;
  stack_t uc_stack;
  int set_errno;
  int disable_errno;
  int count;
};
AltObservation g_alt[2];
int g_alt_depth;
int g_alt_nest_sig;

void ObserveAltStack(int, siginfo_t*, void* ucontext) {
  int depth = g_alt_depth++;
  if (depth < 2) {
    volatile char local = 0;
    AltObservation& o = g_alt[depth];
    o.local = reinterpret_cast<uintptr_t>(&local);
    sigaltstack(nullptr, &o.current);
    o.uc_stack = static_cast<ucontext_t*>(ucontext)->uc_stack;
    // Changing or disabling the stack one is on is refused.
    static char other[65536];
    stack_t ss = {};
    ss.ss_sp = other;
    ss.ss_size = sizeof(other);
    errno = 0;
    o.set_errno = sigaltstack(&ss, nullptr) == 0 ? 0 : errno;
    stack_t off = {};
    off.ss_flags = SS_DISABLE;
    errno = 0;
    o.disable_errno = sigaltstack(&off, nullptr) == 0 ? 0 : errno;
    o.count++;
    if (depth == 0 && g_alt_nest_sig != 0) RaiseToSelf(g_alt_nest_sig);
  }
  g_alt_depth--;
}

class AltStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memset(g_alt, 0, sizeof(g_alt));
    g_alt_depth = 0;
    g_alt_nest_sig = 0;
  }
  GuardedStack stack_{64 * 1024};
};

TEST_F(AltStackTest, OnStackHandlerRunsOnTheAlternateStack) {
  ScopedAltStack alt(stack_);
  ScopedAction action(SIGUSR1, ObserveAltStack, SA_ONSTACK);
  RaiseToSelf(SIGUSR1);
  ASSERT_EQ(g_alt[0].count, 1);
  EXPECT_TRUE(stack_.Contains(reinterpret_cast<void*>(g_alt[0].local)));
  EXPECT_EQ(g_alt[0].current.ss_flags, SS_ONSTACK);
  EXPECT_EQ(g_alt[0].current.ss_sp, stack_.bottom());
  EXPECT_EQ(g_alt[0].current.ss_size, stack_.size());
  EXPECT_EQ(g_alt[0].set_errno, EPERM);
  EXPECT_EQ(g_alt[0].disable_errno, EPERM);
  // The frame records the alternate stack as it was set.
  EXPECT_EQ(g_alt[0].uc_stack.ss_sp, stack_.bottom());
  EXPECT_EQ(g_alt[0].uc_stack.ss_size, stack_.size());
  EXPECT_EQ(g_alt[0].uc_stack.ss_flags, 0);
  // Back on the thread stack, it is not "on" any more and may be changed.
  stack_t now = {};
  ASSERT_EQ(sigaltstack(nullptr, &now), 0);
  EXPECT_EQ(now.ss_flags, 0);
  EXPECT_EQ(now.ss_sp, stack_.bottom());
}

TEST_F(AltStackTest, NestedSignalStaysOnTheAlternateStackBelowTheFirst) {
  ScopedAltStack alt(stack_);
  ScopedAction a(SIGUSR1, ObserveAltStack, SA_ONSTACK);
  ScopedAction b(SIGUSR2, ObserveAltStack, SA_ONSTACK);
  g_alt_nest_sig = SIGUSR2;
  RaiseToSelf(SIGUSR1);
  ASSERT_EQ(g_alt[0].count, 1);
  ASSERT_EQ(g_alt[1].count, 1);
  EXPECT_TRUE(stack_.Contains(reinterpret_cast<void*>(g_alt[1].local)));
  EXPECT_LT(g_alt[1].local, g_alt[0].local);
  EXPECT_EQ(g_alt[1].current.ss_flags, SS_ONSTACK);
  // uc_stack holds the alternate stack's settings (its flags as set), not
  // whether the interrupted code was on it: 0 here too, although the
  // interrupted handler was running on it.
  EXPECT_EQ(g_alt[1].uc_stack.ss_flags, 0);
  EXPECT_EQ(g_alt[1].uc_stack.ss_sp, stack_.bottom());
}

TEST_F(AltStackTest, HandlerWithoutOnStackUsesTheThreadStack) {
  ScopedAltStack alt(stack_);
  ScopedAction action(SIGUSR1, ObserveAltStack);
  RaiseToSelf(SIGUSR1);
  ASSERT_EQ(g_alt[0].count, 1);
  EXPECT_FALSE(stack_.Contains(reinterpret_cast<void*>(g_alt[0].local)));
  EXPECT_EQ(g_alt[0].current.ss_flags, 0);
  // Not on it, so it may be changed from the handler.
  EXPECT_EQ(g_alt[0].set_errno, 0);
  EXPECT_EQ(g_alt[0].disable_errno, 0);
}

TEST_F(AltStackTest, DisabledAlternateStackIsNotUsed) {
  ScopedAltStack alt(stack_);
  stack_t off = {};
  off.ss_flags = SS_DISABLE;
  off.ss_size = 1;  // ignored with SS_DISABLE
  ASSERT_EQ(sigaltstack(&off, nullptr), 0);
  stack_t now = {};
  ASSERT_EQ(sigaltstack(nullptr, &now), 0);
  EXPECT_EQ(now.ss_flags, SS_DISABLE);
  EXPECT_EQ(now.ss_sp, nullptr);
  EXPECT_EQ(now.ss_size, 0u);
  ScopedAction action(SIGUSR1, ObserveAltStack, SA_ONSTACK);
  RaiseToSelf(SIGUSR1);
  ASSERT_EQ(g_alt[0].count, 1);
  EXPECT_FALSE(stack_.Contains(reinterpret_cast<void*>(g_alt[0].local)));
  EXPECT_EQ(g_alt[0].current.ss_flags, SS_DISABLE);
  EXPECT_EQ(g_alt[0].uc_stack.ss_flags, SS_DISABLE);
}

TEST_F(AltStackTest, AutoDisarmDisablesItDuringTheHandler) {
  ScopedAltStack alt(stack_, kSsAutodisarm);
  stack_t now = {};
  ASSERT_EQ(sigaltstack(nullptr, &now), 0);
  EXPECT_EQ(now.ss_flags, kSsAutodisarm);
  ScopedAction action(SIGUSR1, ObserveAltStack, SA_ONSTACK);
  RaiseToSelf(SIGUSR1);
  ASSERT_EQ(g_alt[0].count, 1);
  EXPECT_TRUE(stack_.Contains(reinterpret_cast<void*>(g_alt[0].local)));
  // Disarmed while the handler runs, so it may even be changed...
  EXPECT_EQ(g_alt[0].current.ss_flags, SS_DISABLE);
  EXPECT_EQ(g_alt[0].set_errno, 0);
  EXPECT_EQ(g_alt[0].uc_stack.ss_flags, kSsAutodisarm);
  // ...and rt_sigreturn puts back the one saved in the frame.
  ASSERT_EQ(sigaltstack(nullptr, &now), 0);
  EXPECT_EQ(now.ss_flags, kSsAutodisarm);
  EXPECT_EQ(now.ss_sp, stack_.bottom());
  EXPECT_EQ(now.ss_size, stack_.size());
}

TEST_F(AltStackTest, SizeAndFlagErrors) {
  stack_t old = {};
  ASSERT_EQ(sigaltstack(nullptr, &old), 0);
  stack_t ss = {};
  ss.ss_sp = stack_.bottom();
  ss.ss_size = kKernelMinsigstksz - 1;
  EXPECT_ERRNO(sigaltstack(&ss, nullptr), ENOMEM);
  ss.ss_size = kKernelMinsigstksz;
  EXPECT_EQ(sigaltstack(&ss, nullptr), 0);
  // SS_ONSTACK is accepted as a synonym of 0 when setting.
  ss.ss_size = stack_.size();
  ss.ss_flags = SS_ONSTACK;
  EXPECT_EQ(sigaltstack(&ss, nullptr), 0);
  stack_t now = {};
  ASSERT_EQ(sigaltstack(nullptr, &now), 0);
  EXPECT_EQ(now.ss_flags, 0);
  ss.ss_flags = 0x10;
  EXPECT_ERRNO(sigaltstack(&ss, nullptr), EINVAL);
  ss.ss_flags = SS_DISABLE | SS_ONSTACK;
  EXPECT_ERRNO(sigaltstack(&ss, nullptr), EINVAL);
  EXPECT_ERRNO(sigaltstack(reinterpret_cast<stack_t*>(8), nullptr), EFAULT);
  EXPECT_ERRNO(sigaltstack(nullptr, reinterpret_cast<stack_t*>(8)), EFAULT);
  stack_t off = {};
  off.ss_flags = SS_DISABLE;
  sigaltstack((old.ss_flags & SS_DISABLE) ? &off : &old, nullptr);
}

// ---------------------------------------------------------------------------
// Frames that cannot be delivered.

// Recurses until the stack overflows (the bound is never reached).
int Recurse(int n) {
  volatile char buf[512];
  buf[0] = static_cast<char>(n);
  if (n > (1 << 30)) return 0;
  return Recurse(n + 1) + buf[0];
}

void RecursingHandler(int, siginfo_t*, void*) { Recurse(0); }

TEST(SigframeFatalTest, HandlerOverflowingItsAlternateStackIsKilledBySigsegv) {
  int status = RunInChild([] {
    GuardedStack stack(4 * 4096);
    SetAltStackInChild(stack.bottom(), stack.size());
    signal(SIGSEGV, SIG_DFL);
    SetActionInChild(SIGUSR1, RecursingHandler, SA_ONSTACK);
    RaiseToSelf(SIGUSR1);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
}

// The size of a signal frame on this machine, from the one a handler gets.
size_t g_frame_size;
void MeasureFrame(int, siginfo_t*, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  uint64_t fp_end = reinterpret_cast<uint64_t>(uc->uc_mcontext.fpregs) +
                    SwBytes(uc)->extended_size;
  g_frame_size = fp_end - (reinterpret_cast<uint64_t>(uc) - 8);
}

TEST(SigframeFatalTest, AlternateStackTooSmallForTheFrameKillsBySigsegv) {
  {
    ScopedAction action(SIGUSR1, MeasureFrame);
    RaiseToSelf(SIGUSR1);
  }
  ASSERT_GT(g_frame_size, 0u);
  // A frame needs as much room as the handler's frame above plus alignment;
  // make the stack smaller than that (but never below kKernelMinsigstksz).
  size_t size = g_frame_size < kKernelMinsigstksz + 64 ? kKernelMinsigstksz
                                                       : g_frame_size - 64;
  if (size >= g_frame_size) GTEST_SKIP() << "frame fits in kKernelMinsigstksz";
  int status = RunInChild([size] {
    GuardedStack stack(16 * 4096);
    SetAltStackInChild(stack.top() - size, size);
    signal(SIGSEGV, SIG_DFL);
    SetActionInChild(SIGUSR1, MeasureFrame, SA_ONSTACK);
    RaiseToSelf(SIGUSR1);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
}

void NeverCalled(int, siginfo_t*, void*) { _exit(3); }

TEST(SigframeFatalTest, UnwritableStackAtDeliveryKillsBySigsegv) {
  int status = RunInChild([] {
    void* p =
        mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHILD_CHECK(p != MAP_FAILED);
    SetActionInChild(SIGUSR1, NeverCalled);
    // Even a SIGSEGV handler cannot run without a stack to run on.
    SetActionInChild(SIGSEGV, NeverCalled);
    SigframeBadStack(getpid(), Gettid(), SIGUSR1, static_cast<char*>(p) + 2048);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
}

char* g_bad_rsp;

void ReportForcedSegv(int sig, siginfo_t* info, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  // The SIGSEGV that replaced the undeliverable SIGUSR1 comes from the
  // kernel, and the registers are those of the code that got the signal.
  if (sig != SIGSEGV) _exit(10);
  if (info->si_code != SI_KERNEL) _exit(11);
  if (info->si_pid != 0 || info->si_uid != 0) _exit(12);
  if (uc->uc_mcontext.gregs[REG_RSP] != reinterpret_cast<greg_t>(g_bad_rsp))
    _exit(13);
  _exit(42);
}

TEST(SigframeFatalTest, SigsegvHandlerOnAnAlternateStackCatchesTheFailure) {
  int status = RunInChild([] {
    void* p =
        mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHILD_CHECK(p != MAP_FAILED);
    static char altstack[64 * 1024];
    SetAltStackInChild(altstack, sizeof(altstack));
    SetActionInChild(SIGUSR1, NeverCalled);
    SetActionInChild(SIGSEGV, ReportForcedSegv, SA_ONSTACK);
    g_bad_rsp = static_cast<char*>(p) + 2048;
    SigframeBadStack(getpid(), Gettid(), SIGUSR1, g_bad_rsp);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 42));
}

void* g_overflow_guard;

void ReportStackOverflow(int, siginfo_t* info, void*) {
  char* addr = static_cast<char*>(info->si_addr);
  char* guard = static_cast<char*>(g_overflow_guard);
  if (info->si_code != SEGV_ACCERR) _exit(10);
  if (addr < guard || addr >= guard + 4096) _exit(11);
  stack_t ss = {};
  sigaltstack(nullptr, &ss);
  if (ss.ss_flags != SS_ONSTACK) _exit(12);
  _exit(42);
}

TEST(SigframeFatalTest, StackOverflowIsCaughtOnTheAlternateStack) {
  int status = RunInChild([] {
    static char altstack[64 * 1024];
    SetAltStackInChild(altstack, sizeof(altstack));
    SetActionInChild(SIGSEGV, ReportStackOverflow, SA_ONSTACK);
    // Run the recursion on a small stack with a PROT_NONE guard page below.
    static GuardedStack* stack = new GuardedStack(64 * 1024);
    g_overflow_guard = stack->guard();
    ucontext_t main_uc, run_uc;
    CHILD_CHECK(getcontext(&run_uc) == 0);
    run_uc.uc_stack.ss_sp = stack->bottom();
    run_uc.uc_stack.ss_size = stack->size();
    run_uc.uc_link = &main_uc;
    makecontext(&run_uc, reinterpret_cast<void (*)()>(+[] { Recurse(0); }), 0);
    swapcontext(&main_uc, &run_uc);
    return 1;
  });
  EXPECT_TRUE(ExitedWith(status, 42));
}

// ---------------------------------------------------------------------------
// rt_sigreturn(2) with an FPU image the CPU will not load: reserved MXCSR
// bits, or an image not aligned as XRSTOR (64 bytes) or, without the XSAVE
// magic, FXRSTOR (16 bytes) needs. Linux has restored the frame's signal
// mask and registers by then; the SIGSEGV (SI_KERNEL) that follows finds
// the thread back in the interrupted code, with that mask.

enum class FpuDamage { kMxcsrReservedBits, kAligned16, kAligned8 };
FpuDamage g_fpu_damage;
greg_t g_interrupted_rip, g_interrupted_rsp;
alignas(64) uint8_t g_moved_image[16384 + 64];
int g_rejected_count;
int g_rejected_code;
greg_t g_rejected_rip, g_rejected_rsp;
bool g_rejected_mask_has_usr2;

void DamageFpuOnReturn(int, siginfo_t*, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  g_interrupted_rip = uc->uc_mcontext.gregs[REG_RIP];
  g_interrupted_rsp = uc->uc_mcontext.gregs[REG_RSP];
  sigaddset(&uc->uc_sigmask, SIGUSR2);  // a mask to tell the frame's by
  if (g_fpu_damage == FpuDamage::kMxcsrReservedBits) {
    uc->uc_mcontext.fpregs->mxcsr |= 0xffff0000u;
    return;
  }
  size_t size = SwBytes(uc)->extended_size;
  if (size > sizeof(g_moved_image) - 64) size = 512;
  uint8_t* moved =
      g_moved_image + (g_fpu_damage == FpuDamage::kAligned16 ? 16 : 8);
  memcpy(moved, uc->uc_mcontext.fpregs, size);
  uc->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(moved);
}

void RecordRejectedReturn(int, siginfo_t* info, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  g_rejected_count++;
  g_rejected_code = info->si_code;
  g_rejected_rip = uc->uc_mcontext.gregs[REG_RIP];
  g_rejected_rsp = uc->uc_mcontext.gregs[REG_RSP];
  g_rejected_mask_has_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2) == 1;
}

class RejectedFpuTest : public ::testing::TestWithParam<FpuDamage> {};

TEST_P(RejectedFpuTest, SigsegvFollowsWithTheFramesRegistersAndMask) {
  FpuDamage damage = GetParam();
  int status = RunInChild([damage] {
    g_fpu_damage = damage;
    SetActionInChild(SIGUSR1, DamageFpuOnReturn);
    SetActionInChild(SIGSEGV, RecordRejectedReturn);
    RaiseToSelf(SIGUSR1);
    // Back here once the SIGSEGV handler returned.
    if (g_rejected_count != 1) return 10;
    if (g_rejected_code != SI_KERNEL) return 11;
    if (g_rejected_rip != g_interrupted_rip) return 12;
    if (g_rejected_rsp != g_interrupted_rsp) return 13;
    if (!g_rejected_mask_has_usr2) return 14;
    return 42;
  });
  EXPECT_TRUE(ExitedWith(status, 42));
}

INSTANTIATE_TEST_SUITE_P(Damage, RejectedFpuTest,
                         ::testing::Values(FpuDamage::kMxcsrReservedBits,
                                           FpuDamage::kAligned16,
                                           FpuDamage::kAligned8));

}  // namespace
