// Guest seccomp filters: classic BPF programs over struct seccomp_data,
// checked and run as Linux's kernel/seccomp.c does. A task holds its
// newest filter, which holds the older ones; filters are immutable once
// loaded and shared by every task that inherited them (fork, clone,
// execve keep them), so no lock guards a filter itself.
#ifndef SENTRY_KERNEL_SECCOMP_H_
#define SENTRY_KERNEL_SECCOMP_H_

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "sentry/base/sys_result.h"

namespace sentry::kernel {

class SeccompFilter {
 public:
  // Checks a guest's program as Linux does (1 to 4096 instructions, only
  // the opcodes seccomp admits, loads of seccomp_data at aligned offsets
  // inside it, jumps that stay inside, scratch memory written before it
  // is read, a return at the end) and chains it before `prev`. EINVAL for
  // a bad program, ENOMEM past Linux's 32768-instruction path limit.
  static SysResult<std::shared_ptr<const SeccompFilter>> Load(
      std::vector<struct sock_filter> prog,
      std::shared_ptr<const SeccompFilter> prev);

  // The action (SECCOMP_RET_*, with its data) for `data` of this filter
  // and every older one: the first in Linux's precedence order (kill
  // process, kill thread, trap, errno, user notification, trace, log,
  // allow); among equals, the newest filter's.
  uint32_t Evaluate(const struct seccomp_data& data) const;

  // Filters in the chain, this one included (/proc's Seccomp_filters).
  int count() const { return count_; }
  // Whether `older` is this filter or one this one was chained onto
  // (SECCOMP_FILTER_FLAG_TSYNC's test for the other threads).
  bool Extends(const SeccompFilter* older) const;

 private:
  SeccompFilter(std::vector<struct sock_filter> prog,
                std::shared_ptr<const SeccompFilter> prev);
  // This program's verdict alone.
  uint32_t Run(const struct seccomp_data& data) const;

  std::vector<struct sock_filter> prog_;
  std::shared_ptr<const SeccompFilter> prev_;
  int count_;
  size_t path_insns_;  // as Linux counts them against its path limit
};

// Whether `action` (SECCOMP_GET_ACTION_AVAIL) is one the sandbox carries
// out. SECCOMP_RET_USER_NOTIF is not: there are no listeners.
bool SeccompActionAvailable(uint32_t action);

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_SECCOMP_H_
