// process_vm_readv(2), process_vm_writev(2) and kcmp(2): calls that reach
// into another process's memory or compare its kernel objects, under
// Linux's ptrace access rules (CheckPtraceAccess).

#include <linux/kcmp.h>
#include <sys/random.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <vector>

#include "sentry/base/aligned_buffer.h"
#include "sentry/fs/epoll/epoll.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

using kernel::Task;

namespace {

// The caller's iovecs, consumed front to back.
class LocalIov {
 public:
  explicit LocalIov(std::vector<struct iovec> iov) : iov_(std::move(iov)) {
    for (const struct iovec& v : iov_) left_ += v.iov_len;
  }
  size_t left() const { return left_; }

  // Moves up to `n` bytes between `buf` and the caller's memory at the
  // cursor; returns what moved (short where the caller's memory faults).
  size_t Transfer(Task& t, char* buf, size_t n, bool to_local) {
    size_t done = 0;
    while (done < n && i_ < iov_.size()) {
      const struct iovec& v = iov_[i_];
      size_t chunk = std::min(n - done, v.iov_len - off_);
      GuestAddr at(reinterpret_cast<uint64_t>(v.iov_base) + off_);
      SysResult<size_t> moved = to_local ? t.CopyOut(at, buf + done, chunk)
                                         : t.CopyIn(at, buf + done, chunk);
      size_t m = moved.ok() ? *moved : 0;
      done += m;
      off_ += m;
      left_ -= m;
      if (m < chunk) return done;
      if (off_ == v.iov_len) {
        i_++;
        off_ = 0;
      }
    }
    return done;
  }

 private:
  std::vector<struct iovec> iov_;
  size_t i_ = 0, off_ = 0, left_ = 0;
};

// Linux's process_vm_rw: flags must be 0; nothing to move returns 0
// before the process is looked up; a fault on either side ends the copy,
// which returns what it moved, or EFAULT if nothing.
SysResult<uint64_t> ProcessVmRw(Task& t, const SyscallArgs& a, bool write) {
  if (a.U64(5) != 0) return Errno(EINVAL);
  if (a.U64(2) > static_cast<uint64_t>(kIovMax)) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::vector<struct iovec> local_iov,
                          CopyInIovecs(t, a.Addr(1), a.Int(2)));
  LocalIov local(std::move(local_iov));
  if (local.left() == 0) return 0;
  if (a.U64(4) > static_cast<uint64_t>(kIovMax)) return Errno(EINVAL);
  std::vector<struct iovec> remote(a.U64(4));
  if (!remote.empty()) {
    SENTRY_RETURN_IF_ERROR(t.CopyInFull(a.Addr(3), remote.data(),
                                        remote.size() * sizeof(struct iovec)));
  }
  bool any = false;
  for (const struct iovec& v : remote) {
    if (static_cast<ssize_t>(v.iov_len) < 0) return Errno(EINVAL);
    any |= v.iov_len > 0;
  }
  if (!any) return 0;

  int pid = a.Int(0);
  std::shared_ptr<Task> other = pid > 0 ? t.kernel().FindTask(pid) : nullptr;
  if (other == nullptr) return Errno(ESRCH);
  // The access check and the address space must be of one image: an
  // execve between them could give a new, more privileged image's memory
  // on the old one's permission. Retried while an exec runs.
  std::shared_ptr<mm::MemoryManager> mm;
  absl::Time give_up = absl::Now() + absl::Seconds(1);
  for (;;) {
    uint64_t seq = other->tg().exec_seq.load();
    if (seq % 2 == 0) {
      mm = other->GetMM();
      SENTRY_RETURN_IF_ERROR(CheckPtraceAccess(t, *other));
      if (other->tg().exec_seq.load() == seq) break;
    }
    if (absl::Now() > give_up) return Errno(EAGAIN);
    absl::SleepFor(absl::Microseconds(100));
  }
  if (mm == nullptr) return Errno(ESRCH);

  constexpr size_t kChunk = 64 * 1024;
  PageAlignedBuffer buf(kChunk);
  uint64_t total = 0;
  auto faulted = [&total]() -> SysResult<uint64_t> {
    if (total > 0) return total;
    return Errno(EFAULT);
  };
  for (const struct iovec& v : remote) {
    uint64_t addr = reinterpret_cast<uint64_t>(v.iov_base);
    size_t left = v.iov_len;
    while (left > 0 && local.left() > 0) {
      size_t chunk = std::min({left, kChunk, local.left()});
      size_t n;
      if (write) {
        size_t got = local.Transfer(t, buf.data(), chunk, false);
        SysResult<size_t> put =
            mm->CopyOutRemote(GuestAddr(addr), buf.data(), got);
        n = put.ok() ? *put : 0;
        total += n;
        if (n < chunk) return faulted();
      } else {
        SysResult<size_t> got = mm->CopyIn(GuestAddr(addr), buf.data(), chunk);
        size_t g = got.ok() ? *got : 0;
        n = local.Transfer(t, buf.data(), g, true);
        total += n;
        if (n < chunk) return faulted();
      }
      addr += n;
      left -= n;
    }
    if (local.left() == 0) break;
  }
  return total;
}

// kcmp's ordering of two objects: 0 if the same, else 1 or 2 by the
// order of their addresses scrambled with per-type random values, as
// Linux's kptr_obfuscate, so the order says nothing of the sentry's heap.
uint64_t Kcmp(const void* p1, const void* p2, int type) {
  static const std::array<std::array<uint64_t, 2>, KCMP_TYPES>* cookies = [] {
    auto* c = new std::array<std::array<uint64_t, 2>, KCMP_TYPES>();
    for (auto& pair : *c) {
      if (getrandom(pair.data(), sizeof(pair), 0) !=
          static_cast<ssize_t>(sizeof(pair)))
        pair = {0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9};
      pair[1] |= (1ULL << 63) | 1;  // odd and large, as Linux's
    }
    return c;
  }();
  auto scramble = [&](const void* p) {
    uint64_t v = reinterpret_cast<uint64_t>(p);
    return (v ^ (*cookies)[type][0]) * (*cookies)[type][1];
  };
  uint64_t a = scramble(p1), b = scramble(p2);
  return a < b ? 1 : (a > b ? 2 : 0);
}

struct KcmpEpollSlot {
  uint32_t efd, tfd, toff;
};

}  // namespace

// Implements Linux syscall process_vm_readv(2).
SENTRY_SYSCALL(SysProcessVmReadv) { return ProcessVmRw(t, a, false); }

// Implements Linux syscall process_vm_writev(2).
SENTRY_SYSCALL(SysProcessVmWritev) { return ProcessVmRw(t, a, true); }

// Implements Linux syscall kcmp(2). No System V semaphores or I/O
// contexts here: KCMP_SYSVSEM and KCMP_IO fail with EOPNOTSUPP, as
// KCMP_SYSVSEM does on a Linux without SysV IPC.
SENTRY_SYSCALL(SysKcmp) {
  int pid1 = a.Int(0), pid2 = a.Int(1), type = a.Int(2);
  std::shared_ptr<Task> t1 = pid1 > 0 ? t.kernel().FindTask(pid1) : nullptr;
  std::shared_ptr<Task> t2 = pid2 > 0 ? t.kernel().FindTask(pid2) : nullptr;
  if (t1 == nullptr || t2 == nullptr) return Errno(ESRCH);
  SENTRY_RETURN_IF_ERROR(CheckPtraceAccess(t, *t1));
  SENTRY_RETURN_IF_ERROR(CheckPtraceAccess(t, *t2));
  // Linux takes the indexes as unsigned ints.
  auto file_of = [](Task& task, uint64_t index) {
    uint32_t fd = static_cast<uint32_t>(index);
    std::shared_ptr<vfs::FdTable> fds = task.GetFdTable();
    std::shared_ptr<vfs::FileDescription> f;
    if (fds != nullptr && fd <= static_cast<uint32_t>(INT32_MAX)) {
      SysResult<std::shared_ptr<vfs::FileDescription>> got =
          fds->Get(static_cast<int>(fd));
      if (got.ok()) f = *got;
    }
    return f;
  };
  switch (type) {
    case KCMP_FILE: {
      std::shared_ptr<vfs::FileDescription> f1 = file_of(*t1, a.U64(3));
      std::shared_ptr<vfs::FileDescription> f2 = file_of(*t2, a.U64(4));
      if (f1 == nullptr || f2 == nullptr) return Errno(EBADF);
      return Kcmp(f1.get(), f2.get(), type);
    }
    case KCMP_VM:
      return Kcmp(t1->GetMM().get(), t2->GetMM().get(), type);
    case KCMP_FILES:
      return Kcmp(t1->GetFdTable().get(), t2->GetFdTable().get(), type);
    case KCMP_FS:
      return Kcmp(t1->GetFsContext().get(), t2->GetFsContext().get(), type);
    case KCMP_SIGHAND: {
      absl::MutexLock l(&t.kernel().mu());
      return Kcmp(t1->SighandIdLocked(), t2->SighandIdLocked(), type);
    }
    case KCMP_IO:
    case KCMP_SYSVSEM:
      return Errno(EOPNOTSUPP);
    case KCMP_EPOLL_TFD: {
      // Whether t1's fd idx1 is the file t2's epoll set (slot.efd) watches
      // as its slot.toff'th registration of fd slot.tfd.
      std::shared_ptr<vfs::FileDescription> f1 = file_of(*t1, a.U64(3));
      if (f1 == nullptr) return Errno(EBADF);
      KcmpEpollSlot slot;
      SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(4), &slot));
      std::shared_ptr<vfs::FileDescription> ep = file_of(*t2, slot.efd);
      if (ep == nullptr) return Errno(EBADF);
      auto* set = dynamic_cast<fs::epoll::EpollFD*>(ep.get());
      if (set == nullptr) return Errno(EINVAL);
      std::shared_ptr<vfs::FileDescription> target =
          set->Target(static_cast<int>(slot.tfd), slot.toff);
      if (target == nullptr) return Errno(ENOENT);
      return Kcmp(f1.get(), target.get(), KCMP_FILE);
    }
    default:
      return Errno(EINVAL);
  }
}

}  // namespace sentry::syscalls
