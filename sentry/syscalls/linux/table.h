// The x86-64 Linux system call table of the sentry.

#ifndef SENTRY_SYSCALLS_LINUX_TABLE_H_
#define SENTRY_SYSCALLS_LINUX_TABLE_H_

#include "sentry/kernel/syscall_table.h"

namespace sentry::syscalls {

// The table: every implemented call with its support level and notes.
const kernel::SyscallTable& LinuxTable();

// The highest system call number the table knows a name for.
inline constexpr uint64_t kMaxSyscall = 450;

}  // namespace sentry::syscalls

#endif  // SENTRY_SYSCALLS_LINUX_TABLE_H_
