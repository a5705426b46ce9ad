// Layout of the stub page (stub_amd64.S) in every stub process.

#ifndef PLATFORM_PTRACE_STUB_H_
#define PLATFORM_PTRACE_STUB_H_

#include <cstdint>

extern "C" {
extern const char uks_stub_begin[];
extern const char uks_stub_syscall[];
extern const char uks_stub_clone[];
extern const char uks_stub_init[];
extern const char uks_stub_atomic[];
extern const char uks_systrap_clone[];
extern const char uks_systrap_ready[];
extern const char uks_systrap_handler[];
extern const char uks_systrap_restorer[];
extern const char uks_stub_end[];
}

namespace platform::ptrace {

// The top of a 47-bit x86-64 user address space (TASK_SIZE_MAX).
inline constexpr uint64_t kUserTop = 0x7ffffffff000;
// The stub page sits just below the top; guests get everything beneath it.
inline constexpr uint64_t kStubSize = 0x1000;
inline constexpr uint64_t kStubStart = kUserTop - kStubSize;
// A page of scratch memory under the stub page, for injected system calls
// that return data through memory (getrusage). Read-write, outside the
// range the guest may map, unmap or protect.
inline constexpr uint64_t kScratchStart = kStubStart - 0x1000;
inline constexpr uint64_t kStubEnd = kUserTop;

// Guest-visible addresses of the stub's entry points.
inline uint64_t StubAddr(const char* symbol) {
  return kStubStart + static_cast<uint64_t>(symbol - uks_stub_begin);
}

}  // namespace platform::ptrace

#endif  // PLATFORM_PTRACE_STUB_H_
