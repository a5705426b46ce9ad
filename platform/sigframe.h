// The x86-64 signal frame as Linux lays it out (arch/x86/include/uapi/asm/
// sigcontext.h, arch/x86/include/asm/sigframe.h): what the sentry builds in
// guest memory for a guest's handler, and what the systrap platform reads
// from the host's frames on a stub thread's signal stack.

#ifndef PLATFORM_SIGFRAME_H_
#define PLATFORM_SIGFRAME_H_

#include <signal.h>

#include <cstddef>
#include <cstdint>

namespace platform {

// struct sigcontext of x86-64 (uc_mcontext).
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;  // address of the XSAVE area, or 0
  uint64_t reserved1[8];
};
static_assert(sizeof(SigContext) == 256);

// stack_t (uc_stack).
struct GuestStack {
  uint64_t ss_sp;
  int32_t ss_flags;
  int32_t pad;
  uint64_t ss_size;
};
static_assert(sizeof(GuestStack) == 24);

// The kernel's struct ucontext (a 64-bit signal mask, unlike glibc's).
struct UContext {
  uint64_t uc_flags;
  uint64_t uc_link;
  GuestStack uc_stack;
  SigContext uc_mcontext;
  uint64_t uc_sigmask;
};
static_assert(sizeof(UContext) == 304);

struct RtSigframe {
  uint64_t pretcode;  // the restorer: the handler's return address
  UContext uc;
  siginfo_t info;
};
static_assert(sizeof(RtSigframe) == 440);

// The XSAVE image a frame's fpstate points at: the legacy FXSAVE area,
// whose reserved bytes 464..511 hold _fpx_sw_bytes, then the XSAVE header,
// then the extended state, then FP_XSTATE_MAGIC2.
inline constexpr size_t kFxsaveSize = 512;
inline constexpr size_t kXsaveHeaderSize = 64;
inline constexpr size_t kSwBytesOffset = 464;
inline constexpr uint32_t kFpXstateMagic1 = 0x46505853;
inline constexpr uint32_t kFpXstateMagic2 = 0x46505845;

struct FpxSwBytes {
  uint32_t magic1;
  uint32_t extended_size;  // xstate_size + 4 (magic2)
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);

}  // namespace platform

#endif  // PLATFORM_SIGFRAME_H_
