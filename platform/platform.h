// The platform: how guest code runs and how its address space changes.
//
// A Platform makes AddressSpaces (one per guest process image) and Contexts
// (one per sentry task thread). The guest never executes a host system call of
// its own: every system call it makes stops its thread and is returned by
// Context::Switch for the sentry to emulate.
//
// Threading contract:
//  - A Context belongs to the sentry thread that created it; only that thread
//    may call Switch, and it must destroy the Context (ptrace binds a tracee to
//    one tracer thread). Interrupt may be called from any thread.
//  - AddressSpace methods may be called from any sentry thread that owns a
//    Context; they are internally synchronized, but the caller (the memory
//    manager) serializes changes to overlapping ranges.
//  - An AddressSpace outlives every Switch into it; the memory manager holds
//  the
//    only owning reference.

#ifndef PLATFORM_PLATFORM_H_
#define PLATFORM_PLATFORM_H_

#include <signal.h>
#include <sys/user.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sentry/base/sys_result.h"

namespace platform {

// The guest's general registers, in the kernel's x86-64 user layout.
using Registers = struct user_regs_struct;

// Where the bytes of a mapping come from.
struct MapSource {
  // -1 for anonymous memory; else a sentry fd whose pages are mapped.
  int host_fd = -1;
  uint64_t offset = 0;
  // MAP_SHARED (writes reach host_fd) versus MAP_PRIVATE (copy-on-write).
  bool shared = false;
};

class AddressSpace {
 public:
  virtual ~AddressSpace() = default;

  // Replaces whatever is mapped at [addr, addr+len) (page-aligned) with
  // `source`, using host protection `prot` (PROT_*).
  virtual sentry::SysResult<void> Map(uint64_t addr, uint64_t len, int prot,
                                      const MapSource& source) = 0;
  virtual sentry::SysResult<void> Unmap(uint64_t addr, uint64_t len) = 0;
  virtual sentry::SysResult<void> Protect(uint64_t addr, uint64_t len,
                                          int prot) = 0;
  // Moves the pages of [old_addr, old_addr+old_len) to new_addr, growing or
  // shrinking to new_len, replacing whatever was at the destination.
  virtual sentry::SysResult<void> Remap(uint64_t old_addr, uint64_t old_len,
                                        uint64_t new_addr,
                                        uint64_t new_len) = 0;
  // Applies madvise(advice) to the host pages (MADV_DONTNEED, MADV_FREE).
  virtual sentry::SysResult<void> Advise(uint64_t addr, uint64_t len,
                                         int advice) = 0;

  // A new address space holding a copy-on-write copy of this one's memory;
  // shared mappings stay shared (fork(2)). Called by a sentry thread that
  // runs in this address space.
  virtual sentry::SysResult<std::unique_ptr<AddressSpace>> Fork() = 0;

  // Atomically applies `op` to the 32-bit word at `addr`, as a locked
  // instruction of a guest thread would (so concurrent guest threads see it
  // whole), and returns the word's old value. kCompareExchange stores
  // `operand` only if the word equals `expected`. EFAULT if the guest could
  // not write the word. Called by a sentry thread that runs in this address
  // space.
  enum class AtomicOp { kSet, kAdd, kOr, kAndNot, kXor, kCompareExchange };
  virtual sentry::SysResult<uint32_t> Atomic32(uint64_t addr, AtomicOp op,
                                               uint32_t operand,
                                               uint32_t expected) = 0;

  // The host process that runs this address space's guest code (its pid
  // in the sandbox's pid namespace), or -1 if there is none of its own.
  virtual int StubPid() const { return -1; }

  // The peak resident memory (KiB) of this address space so far.
  virtual sentry::SysResult<uint64_t> MaxRssKb() {
    return sentry::Errno(ENOSYS);
  }

  // Where to report the peak resident memory (KiB) of this address space
  // when it is destroyed (the process's ru_maxrss).
  virtual void SetMaxRssSink(std::shared_ptr<std::atomic<uint64_t>> sink) {
    (void)sink;
  }

  // Reads `len` bytes at `offset` of the sentry's host fd `host_fd` (a
  // regular file) into guest memory at `addr` as pread(2) into the guest's
  // own buffer would, the host copying once: short at a page the guest
  // cannot write, EFAULT if none could be written, the file's own errors.
  // ENOSYS where the platform cannot; the caller then copies through the
  // sentry. Called by a sentry thread that runs in this address space.
  virtual sentry::SysResult<size_t> PreadToGuest(int host_fd, uint64_t offset,
                                                 uint64_t addr, size_t len) {
    (void)host_fd;
    (void)offset;
    (void)addr;
    (void)len;
    return sentry::Errno(ENOSYS);
  }

  // Copies between guest memory and the sentry, honouring the guest's page
  // protections as a guest system call would. Returns the bytes copied, which
  // may be short at an inaccessible page; EFAULT if none could be.
  virtual sentry::SysResult<size_t> Read(uint64_t addr, void* dst,
                                         size_t len) = 0;
  virtual sentry::SysResult<size_t> Write(uint64_t addr, const void* src,
                                          size_t len) = 0;
};

enum class StopReason {
  kSyscall,      // regs.orig_rax holds the number; rip is past the instruction.
  kFault,        // a synchronous signal; see SwitchResult::siginfo.
  kInterrupted,  // Interrupt() was called (or a spurious wakeup).
  kDied,         // the host thread running the guest is gone.
};

struct SwitchResult {
  StopReason reason = StopReason::kInterrupted;
  // For kFault: the signal the host raised, with si_addr/si_code as the guest
  // should see them.
  siginfo_t siginfo{};
};

class Context {
 public:
  virtual ~Context() = default;

  // Runs the guest thread with `regs` in `as` until it stops; `regs` then
  // holds the guest's registers at the stop.
  virtual SwitchResult Switch(AddressSpace& as, Registers& regs) = 0;

  // Makes the current Switch, or the next one, return kInterrupted soon.
  // Thread-safe.
  virtual void Interrupt() = 0;

  // Resets the floating-point/vector state of the guest thread to the state
  // of a fresh process (execve).
  virtual sentry::SysResult<void> ResetFPState(AddressSpace& as) = 0;

  // The guest thread's FPU and vector state as an XSAVE image in standard
  // format (what a signal frame carries), and setting it back. SetFPState
  // refuses (EINVAL) an image the host would not load.
  virtual sentry::SysResult<std::vector<uint8_t>> GetFPState(
      AddressSpace& as) = 0;
  virtual sentry::SysResult<void> SetFPState(
      AddressSpace& as, const std::vector<uint8_t>& xsave) = 0;

  // A hint from the owning thread, in the middle of a long piece of work for
  // the guest (a large read): it will call Switch within microseconds. A
  // platform whose guest thread sleeps on another CPU meanwhile may start
  // waking it now, so that the wake-up overlaps the rest of the work
  // instead of following it.
  virtual void ResumeSoon(AddressSpace& /*as*/) {}

  // A hint from the owning thread before Switch: the guest's next event
  // (system call) will likely take about `ns` to handle, as the one just
  // handled did. A platform whose guest thread would sleep meanwhile may
  // have it wake by itself shortly before, so that ResumeSoon need not
  // wake it. For the next Switch only.
  virtual void NextEventTakes(int64_t /*ns*/) {}

  // Tells the Context that its sentry thread's CPU affinity changed, so the
  // host thread running the guest must follow it (the guest reads its CPU
  // with rdtscp/getcpu). Called on the owning thread.
  virtual void AffinityChanged() {}

  // Ends this Context's use of `as`. Must be called, on the owning thread,
  // before `as` is destroyed if this Context ever switched into it.
  virtual void Release(AddressSpace& as) = 0;
};

class Platform {
 public:
  virtual ~Platform() = default;

  // Returns the platform named `name` ("ptrace"), set up and ready, or an
  // error message naming what this host lacks.
  static sentry::SysResult<std::unique_ptr<Platform>> Create(
      std::string_view name, std::string* error);

  virtual std::string_view Name() const = 0;

  // Guest mappings must lie in [kMinUserAddress, MaxUserAddress()).
  virtual uint64_t MaxUserAddress() const = 0;

  virtual sentry::SysResult<std::unique_ptr<AddressSpace>>
  NewAddressSpace() = 0;

  // Called once the sentry has confined itself (namespaces, capabilities,
  // seccomp), before the first guest: a platform may start in the
  // background what its first address space will need. The default does
  // nothing.
  virtual void Prepare() {}

  // Must be called on the sentry thread that will use the Context.
  virtual std::unique_ptr<Context> NewContext() = 0;
};

// The lowest address a guest may map (the host's vm.mmap_min_addr default).
inline constexpr uint64_t kMinUserAddress = 0x10000;

}  // namespace platform

#endif  // PLATFORM_PLATFORM_H_
