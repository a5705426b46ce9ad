// The shape of the system call table. The table itself lives in
// sentry/syscalls/linux; the kernel only dispatches through it.

#ifndef SENTRY_KERNEL_SYSCALL_TABLE_H_
#define SENTRY_KERNEL_SYSCALL_TABLE_H_

#include <cstdint>

#include "sentry/base/guest_addr.h"
#include "sentry/base/sys_result.h"

namespace sentry::kernel {

class Task;

struct SyscallArgs {
  uint64_t raw[6] = {};

  uint64_t U64(int i) const { return raw[i]; }
  uint32_t U32(int i) const { return static_cast<uint32_t>(raw[i]); }
  int32_t Int(int i) const { return static_cast<int32_t>(raw[i]); }
  int64_t Long(int i) const { return static_cast<int64_t>(raw[i]); }
  GuestAddr Addr(int i) const { return GuestAddr(raw[i]); }
};

// Every handler has this signature. The value is what the guest sees in
// rax on success; an Errno becomes -errno (restart codes are handled by the
// task loop).
using SyscallFn = SysResult<uint64_t> (*)(Task& t, const SyscallArgs& a);

enum class Support {
  kFull,     // Linux's semantics
  kPartial,  // some flags or modes missing; `note` names them
  kError,    // always fails with a fixed errno; `note` says which and why
};

struct SyscallEntry {
  const char* name = nullptr;
  SyscallFn fn = nullptr;
  Support support = Support::kError;
  const char* note = "";
  // How --strace prints the arguments, one letter each (see
  // sentry/strace/strace.h), and the result ('d' decimal, 'x' hex).
  const char* args = "";
  char ret = 'd';
};

class SyscallTable {
 public:
  virtual ~SyscallTable() = default;
  // The entry for `nr`, or null if the sentry does not implement it.
  virtual const SyscallEntry* Lookup(uint64_t nr) const = 0;
  // Linux's name for `nr` ("" if there is none).
  virtual const char* Name(uint64_t nr) const = 0;
};

// Watches system calls (--strace). Called on the task's own thread.
class SyscallObserver {
 public:
  virtual ~SyscallObserver() = default;
  virtual void Enter(Task& t, uint64_t nr, const SyscallArgs& args) = 0;
  virtual void Exit(Task& t, uint64_t nr, const SyscallArgs& args,
                    int64_t result) = 0;
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_SYSCALL_TABLE_H_
