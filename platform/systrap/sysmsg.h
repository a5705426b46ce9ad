// The memory a systrap guest thread shares with the sentry: the first page
// of its slot. The stub's handler (platform/ptrace/stub_amd64.S) uses the
// offsets below as numbers; the static_asserts keep the two in step.
//
// Everything here is writable by guest code (it is in the guest's address
// space), so the sentry reads each field once, checks it, and never follows
// a pointer from it into its own memory without a bounds check.

#ifndef PLATFORM_SYSTRAP_SYSMSG_H_
#define PLATFORM_SYSTRAP_SYSMSG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace platform::systrap {

// A slot: the SysMsg page, then the thread's signal stack.
inline constexpr uint64_t kSlotSize = 64 * 1024;
inline constexpr uint64_t kSignalStackOffset = 4096;
inline constexpr uint64_t kMaxThreadsPerProcess = 4096;
inline constexpr uint64_t kSlotsSize = kSlotSize * kMaxThreadsPerProcess;

// SysMsg::state.
enum : uint32_t {
  kStateInit = 0,   // the thread is starting
  kStateRun = 1,    // sentry -> stub: run the guest with the frame's registers
  kStateEvent = 2,  // stub -> sentry: a signal frame awaits the sentry
  kStateExit = 3,   // sentry -> stub: exit the thread
};

// SysMsg::stub_sleeping.
enum : uint32_t {
  kStubAwake = 0,
  kStubAsleep = 1,   // until woken
  kStubNapping = 2,  // for `nap_for` at most (Context::NextEventTakes)
};

struct SysMsg {
  std::atomic<uint32_t> state;            // 0
  std::atomic<uint32_t> stub_sleeping;    // 4: the stub waits on `state`
  std::atomic<uint32_t> sentry_sleeping;  // 8: the sentry waits on `state`
  std::atomic<uint32_t> spin;             // 12: stub spins before sleeping
  std::atomic<uint64_t> ucontext;         // 16: stub address of the frame's
  std::atomic<uint64_t> siginfo;          // 24: ucontext and siginfo
  std::atomic<uint64_t> signo;            // 32
  std::atomic<uint64_t> fs_base;          // 40: applied when set_fs != 0
  std::atomic<uint64_t> gs_base;          // 48: applied when set_gs != 0
  std::atomic<uint32_t> set_fs;           // 56
  std::atomic<uint32_t> set_gs;           // 60
  std::atomic<uint32_t> tid;              // 64: CLONE_CHILD_{SET,CLEAR}TID
  std::atomic<uint32_t> nap;              // 68: once the spin ends, sleep
  std::atomic<uint32_t> nap_spin;         // 72: `nap_for`, then spin this
  std::atomic<int64_t> nap_for[2];        // 80: many times (a timespec)
};

static_assert(offsetof(SysMsg, state) == 0);
static_assert(offsetof(SysMsg, stub_sleeping) == 4);
static_assert(offsetof(SysMsg, sentry_sleeping) == 8);
static_assert(offsetof(SysMsg, spin) == 12);
static_assert(offsetof(SysMsg, ucontext) == 16);
static_assert(offsetof(SysMsg, siginfo) == 24);
static_assert(offsetof(SysMsg, signo) == 32);
static_assert(offsetof(SysMsg, fs_base) == 40);
static_assert(offsetof(SysMsg, gs_base) == 48);
static_assert(offsetof(SysMsg, set_fs) == 56);
static_assert(offsetof(SysMsg, set_gs) == 60);
static_assert(offsetof(SysMsg, tid) == 64);
static_assert(offsetof(SysMsg, nap) == 68);
static_assert(offsetof(SysMsg, nap_spin) == 72);
static_assert(offsetof(SysMsg, nap_for) == 80);
// The stack_t the thread passes to sigaltstack(2) sits at offset 128.
static_assert(sizeof(SysMsg) <= 128);

}  // namespace platform::systrap

#endif  // PLATFORM_SYSTRAP_SYSMSG_H_
