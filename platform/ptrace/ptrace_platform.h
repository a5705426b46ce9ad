// The ptrace platform: guest threads run in stub processes traced with
// PTRACE_SYSEMU, so every guest system call stops at entry without running.
//
// Processes and threads:
//  - Each AddressSpace is one stub process. Its first thread (the "syscall
//    thread") is traced by a manager thread of the sentry that owns the stub
//    and creates further stub threads on request.
//  - Each sentry task thread runs its guest thread on a stub thread of its own
//    in that process, which it traces (ptrace binds a tracee to one tracer
//    thread). It changes the address space by injecting mmap/munmap/mprotect
//    into that same stub thread, so no hand-off is needed on the common path.
//  - Stubs share the sentry's fd table (CLONE_FILES), so an injected mmap can
//    name any sentry fd directly.
//
// Lock order: PtraceAddressSpace::mu_ is a leaf; StubProcess::mu_ is a leaf.

#ifndef PLATFORM_PTRACE_PTRACE_PLATFORM_H_
#define PLATFORM_PTRACE_PTRACE_PLATFORM_H_

#include <linux/filter.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "platform/platform.h"
#include "platform/ptrace/stub_process.h"
#include "sentry/base/host_fd.h"

namespace platform::ptrace {

class PtracePlatform final : public Platform {
 public:
  // Sets up the stub page memfd and the stub seccomp filter. Fails with a
  // message when ptrace or seccomp is unavailable.
  static sentry::SysResult<std::unique_ptr<Platform>> Create(
      std::string* error);

  std::string_view Name() const override { return "ptrace"; }
  uint64_t MaxUserAddress() const override;
  sentry::SysResult<std::unique_ptr<AddressSpace>> NewAddressSpace() override;
  std::unique_ptr<Context> NewContext() override;
  void Prepare() override { zygote_->StartAsync(); }

  const StubConfig& stub_config() const { return stub_config_; }

 private:
  PtracePlatform() = default;

  sentry::HostFd stub_memfd_;
  std::vector<sock_filter> filter_;
  sock_fprog filter_prog_{};
  StubConfig stub_config_;
  // Every new address space's stub is forked from it; never destroyed while
  // the platform lives, so its detached start-up thread may use it.
  std::unique_ptr<StubZygote> zygote_ =
      std::make_unique<StubZygote>(stub_config_);
};

// Builds the seccomp filter every stub runs under: system calls issued from
// the stub page and on its short list are allowed; any other from the stub
// page kills the stub; any from elsewhere (the vsyscall page, which the kernel
// emulates without a ptrace stop) traps with SIGSYS so the sentry sees it.
// Exposed for tests.
std::vector<sock_filter> BuildStubFilter();

}  // namespace platform::ptrace

#endif  // PLATFORM_PTRACE_PTRACE_PLATFORM_H_
