// Helpers shared by the system call handlers.

#ifndef SENTRY_SYSCALLS_LINUX_SYS_COMMON_H_
#define SENTRY_SYSCALLS_LINUX_SYS_COMMON_H_

#include <sys/uio.h>

#include <memory>
#include <vector>

#include "sentry/base/sys_result.h"
#include "sentry/kernel/syscall_table.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/file.h"

namespace sentry::syscalls {

using kernel::SyscallArgs;
using kernel::Task;

// The most one read or write moves (Linux's MAX_RW_COUNT).
inline constexpr size_t kMaxRwCount = 0x7ffff000;
inline constexpr int kIovMax = 1024;

#define SENTRY_SYSCALL(name) \
  SysResult<uint64_t> name(Task& t, const SyscallArgs& a)

// The file at `fd` if it is a T (an epoll, a timerfd, a queue): EBADF if
// there is no file, `other_kind` (Linux's answer for that call) if it is
// another kind.
template <typename T>
SysResult<std::shared_ptr<T>> GetFileOf(Task& t, int fd, int other_kind) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                          t.GetFile(fd));
  auto typed = std::dynamic_pointer_cast<T>(f);
  if (typed == nullptr) return Errno(other_kind);
  return typed;
}

// Guest iovecs, checked: at most IOV_MAX, no negative lengths, the total
// clamped to kMaxRwCount as Linux does.
SysResult<std::vector<struct iovec>> CopyInIovecs(Task& t, GuestAddr addr,
                                                  int count);

// Reads from `f` into guest memory at `addr`, in chunks, honouring short
// reads: a stream stops after the first chunk that returned data.
// `ends_call`: this read ends the system call (not one iovec of several),
// so the guest thread may be woken before it ends (Context::ResumeSoon).
SysResult<size_t> ReadToGuest(Task& t, vfs::FileDescription& f, GuestAddr addr,
                              size_t count, int64_t* offset,
                              bool ends_call = true);
SysResult<size_t> WriteFromGuest(Task& t, vfs::FileDescription& f,
                                 GuestAddr addr, size_t count, int64_t* offset);

// A file named by (dirfd, path) or, with AT_EMPTY_PATH and an empty path,
// by dirfd itself.
struct AtTarget {
  vfs::VirtualDentry vd;
  std::shared_ptr<vfs::FileDescription> file;  // set when named by fd
};
// Where a relative `path` given with `dirfd` starts; ENOTDIR if dirfd is
// not a directory and the path is relative.
SysResult<vfs::PathContext> PathAt(Task& t, int dirfd, const std::string& path);

// A NULL `path` is EFAULT, except with `null_is_empty` (the stat calls with
// AT_EMPTY_PATH, which Linux 6.11 and later accept that way).
SysResult<AtTarget> ResolveAt(Task& t, int dirfd, GuestAddr path, bool follow,
                              bool allow_empty, bool null_is_empty = false);

SysResult<vfs::Attr> StatOf(const AtTarget& target);

// A write that failed with EPIPE (a pipe or socket with no reader) also
// sends SIGPIPE to the writing thread, as Linux does.
SysResult<uint64_t> RaiseSigpipe(Task& t, SysResult<uint64_t> r);

// Linux's __ptrace_may_access in its REALCREDS modes (process_vm_readv,
// kcmp, get_robust_list): another process of the caller's real uid and
// gid in all of its ids, or a caller with CAP_SYS_PTRACE; a dumpable
// target (else CAP_SYS_PTRACE); and, as commoncap checks, target's
// permitted capabilities within the caller's (else CAP_SYS_PTRACE).
// EPERM otherwise. The sandbox has no Yama.
SysResult<void> CheckPtraceAccess(Task& t, Task& target);

// The temporary signal mask of ppoll, pselect6 and epoll_pwait(2): none
// if `mask_addr` is NULL, EINVAL unless `size` is the kernel's sigset size.
SysResult<void> ApplySigmask(Task& t, GuestAddr mask_addr, uint64_t size);

// Sockets (sys_socket.cc). read(2), write(2), readv(2) and writev(2) on a
// socket are recvmsg and sendmsg without flags: all the iovecs make one
// message, and SIGPIPE is raised where sendmsg would raise it.
bool IsSocket(const vfs::FileDescription& f);
enum class IoDirection { kIn, kOut };
struct GuestIovec {
  GuestAddr base;
  uint64_t len;
};
std::vector<GuestIovec> GuestIovecs(const std::vector<struct iovec>& iov);
SysResult<uint64_t> SocketIo(Task& t,
                             const std::shared_ptr<vfs::FileDescription>& f,
                             const std::vector<GuestIovec>& iov,
                             IoDirection dir);

// fcntl(2)'s record-lock commands (sys_lock.cc).
SysResult<uint64_t> FcntlLock(Task& t,
                              const std::shared_ptr<vfs::FileDescription>& f,
                              int cmd, GuestAddr addr);

// True if the range [addr, addr+len) lies in the guest's address space.
bool RangeOk(Task& t, GuestAddr addr, uint64_t len);

}  // namespace sentry::syscalls

#endif  // SENTRY_SYSCALLS_LINUX_SYS_COMMON_H_
