// --strace: prints every guest system call with decoded arguments and its
// result, in strace's format, one line per call on stderr.

#ifndef SENTRY_STRACE_STRACE_H_
#define SENTRY_STRACE_STRACE_H_

#include <string>

#include "sentry/kernel/syscall_table.h"
#include "sentry/kernel/task.h"

namespace sentry::strace {

class Strace final : public kernel::SyscallObserver {
 public:
  // Writes to `fd` (stderr normally), one write(2) per line so concurrent
  // tasks never interleave within a line.
  Strace(const kernel::SyscallTable& table, int fd) : table_(table), fd_(fd) {}

  void Enter(kernel::Task& t, uint64_t nr,
             const kernel::SyscallArgs& args) override;
  void Exit(kernel::Task& t, uint64_t nr, const kernel::SyscallArgs& args,
            int64_t result) override;

 private:
  const kernel::SyscallTable& table_;
  const int fd_;
};

// Formatting helpers, exposed for tests.
std::string QuoteBytes(const std::string& bytes, size_t max);
std::string OpenFlags(int flags);
std::string ErrnoText(int64_t result);

}  // namespace sentry::strace

#endif  // SENTRY_STRACE_STRACE_H_
