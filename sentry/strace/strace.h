// --strace: prints every guest system call with decoded arguments and its
// result, in strace's format, one line per call on stderr.

#ifndef SENTRY_STRACE_STRACE_H_
#define SENTRY_STRACE_STRACE_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "sentry/base/host_fd.h"
#include "sentry/kernel/syscall_table.h"
#include "sentry/kernel/task.h"

namespace sentry::strace {

class Strace final : public kernel::SyscallObserver {
 public:
  // Writes to `fd` (stderr normally), one write(2) per line so concurrent
  // tasks never interleave within a line.
  Strace(const kernel::SyscallTable& table, int fd) : table_(table), fd_(fd) {}

  // `runsc debug --strace=on`: from now on write to `fd` (owned) instead.
  // Lines being written finish on the old fd before it is closed.
  void Redirect(HostFd fd);

  void Enter(kernel::Task& t, uint64_t nr,
             const kernel::SyscallArgs& args) override;
  void Exit(kernel::Task& t, uint64_t nr, const kernel::SyscallArgs& args,
            int64_t result) override;

 private:
  // One line, whole.
  void Emit(const std::string& line);

  const kernel::SyscallTable& table_;
  // Shared by writers of lines, exclusive for Redirect: a line never goes
  // to an fd that was closed (and its number reused) under it.
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
  HostFd owned_ ABSL_GUARDED_BY(mu_);
};

// Formatting helpers, exposed for tests.
std::string QuoteBytes(const std::string& bytes, size_t max);
std::string OpenFlags(int flags);
std::string ErrnoText(int64_t result);

}  // namespace sentry::strace

#endif  // SENTRY_STRACE_STRACE_H_
