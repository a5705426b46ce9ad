// The systrap platform: guest threads run untraced in stub processes, under
// a seccomp filter whose action for every guest system call is
// SECCOMP_RET_TRAP. A SIGSYS handler on the stub page (and the same handler
// for faults and interrupts) hands the signal frame to the sentry through
// memory the two share, and waits on a futex until the sentry has written
// the guest's next registers into that frame. No ptrace stop is on the path
// of a guest system call. README.md says why a guest gains nothing by
// jumping into the stub code or forging the shared memory.
//
// Processes and threads:
//  - Each AddressSpace is one stub process whose first thread (the syscall
//    thread) is traced by a manager thread of the sentry, exactly as on the
//    ptrace platform (platform/ptrace/stub_process.h). The sentry changes
//    the address space only by injecting system calls into traced stub
//    threads: each sentry thread has one of its own in the process.
//  - Each sentry task thread runs its guest thread on an untraced stub
//    thread of its own, cloned from the syscall thread without the sentry's
//    fd table, with a 64 KiB slot of shared memory (sysmsg.h).
//
// Lock order: SystrapAddressSpace::mu_ and SystrapContext::mu_ are leaves;
// StubProcess::mu_ is a leaf.

#ifndef PLATFORM_SYSTRAP_SYSTRAP_PLATFORM_H_
#define PLATFORM_SYSTRAP_SYSTRAP_PLATFORM_H_

#include <linux/filter.h>

#include <memory>
#include <string>
#include <vector>

#include "platform/platform.h"
#include "platform/ptrace/stub_process.h"
#include "sentry/base/host_fd.h"

namespace platform::systrap {

class SystrapPlatform final : public Platform {
 public:
  // Sets up the stub page (code and the guest filter) and learns the FPU
  // state layout. Fails with a message naming what this host lacks.
  static sentry::SysResult<std::unique_ptr<Platform>> Create(
      std::string* error);

  std::string_view Name() const override { return "systrap"; }
  uint64_t MaxUserAddress() const override;
  sentry::SysResult<std::unique_ptr<AddressSpace>> NewAddressSpace() override;
  std::unique_ptr<Context> NewContext() override;
  void Prepare() override { zygote_->StartAsync(); }

  const ptrace::StubConfig& stub_config() const { return stub_config_; }
  // The size of the XSAVE image in a signal frame, and XCR0.
  uint32_t xstate_size() const { return xstate_size_; }
  const uint64_t& xcr0() const { return xcr0_; }

 private:
  SystrapPlatform() = default;

  sentry::HostFd stub_memfd_;
  std::vector<sock_filter> filter_;
  sock_fprog filter_prog_{};
  std::vector<ptrace::StubHandler> handlers_;
  ptrace::StubConfig stub_config_;
  // Every new address space's stub is forked from it; never destroyed while
  // the platform lives, so its detached start-up thread may use it.
  std::unique_ptr<ptrace::StubZygote> zygote_ =
      std::make_unique<ptrace::StubZygote>(stub_config_);
  uint32_t xstate_size_ = 0;
  uint64_t xcr0_ = 0;
};

// The filter of the whole stub process (its syscall thread): like the
// ptrace stub's, plus what guest threads need to start. Foreign
// architectures trap, so the sentry can answer int 0x80 as Linux without
// IA-32 emulation does. Exposed for tests.
std::vector<sock_filter> BuildProcessFilter();

// The filter each guest thread adds: from the stub page only
// futex(WAIT/WAKE), rt_sigreturn, arch_prctl(SET_FS/SET_GS) and exit pass
// (what the handler issues); every other system call traps.
std::vector<sock_filter> BuildGuestFilter();

}  // namespace platform::systrap

#endif  // PLATFORM_SYSTRAP_SYSTRAP_PLATFORM_H_
