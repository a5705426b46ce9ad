// Implements mmap(2), munmap(2), mprotect(2), mremap(2), madvise(2), brk(2),
// msync(2).

#include <fcntl.h>
#include <sys/mman.h>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

// Implements Linux syscall mmap(2).
SENTRY_SYSCALL(SysMmap) {
  uint64_t addr = a.U64(0), len = a.U64(1);
  int prot = a.Int(2), flags = a.Int(3), fd = a.Int(4);
  uint64_t offset = a.U64(5);
  if (offset % kPageSize != 0) return Errno(EINVAL);
  int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_PRIVATE &&
      type != MAP_SHARED_VALIDATE) {
    return Errno(EINVAL);
  }
  constexpr int kValidated = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_32BIT |
                             MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE |
                             MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE |
                             MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB |
                             MAP_FIXED_NOREPLACE | MAP_SYNC;
  if (type == MAP_SHARED_VALIDATE && (flags & ~kValidated) != 0)
    return Errno(EOPNOTSUPP);
  // Not implemented: huge pages (no hugetlbfs here) and MAP_SYNC (no DAX).
  if ((flags & MAP_HUGETLB) != 0) return Errno(EINVAL);
  if ((flags & MAP_SYNC) != 0 && type == MAP_SHARED_VALIDATE)
    return Errno(EOPNOTSUPP);
  if (len == 0) return Errno(EINVAL);
  mm::MMapRequest req;
  req.addr = addr;
  req.length = len;
  req.prot = prot;
  req.flags = flags;
  req.offset = offset;
  std::shared_ptr<vfs::FileDescription> f;
  if ((flags & MAP_ANONYMOUS) == 0) {
    SENTRY_ASSIGN_OR_RETURN(f, t.GetFile(fd));
  }
  if (f && f->MapsAsAnonymous()) {
    if (!f->readable()) return Errno(EACCES);
    req.flags |= MAP_ANONYMOUS;
    f.reset();
  }
  if (f) {
    if (!f->readable()) return Errno(EACCES);
    bool shared = type != MAP_PRIVATE;
    if (shared && (prot & PROT_WRITE) != 0) {
      if (!f->writable()) return Errno(EACCES);
      if ((f->flags() & O_APPEND) != 0) return Errno(EACCES);
    }
    if ((prot & PROT_EXEC) != 0 &&
        (f->vd().mount->flags() & vfs::kMountNoExec) != 0) {
      return Errno(EPERM);
    }
    SENTRY_RETURN_IF_ERROR(f->GetMmapTarget());
    if (offset + len < offset) return Errno(EOVERFLOW);
    req.name = t.PathOf(f->vd());
    req.file = std::move(f);
  }
  SENTRY_ASSIGN_OR_RETURN(uint64_t at, t.mm().MMap(req));
  return at;
}

// Implements Linux syscall munmap(2).
SENTRY_SYSCALL(SysMunmap) {
  SENTRY_RETURN_IF_ERROR(t.mm().MUnmap(a.U64(0), a.U64(1)));
  return 0;
}

// Implements Linux syscall mprotect(2).
SENTRY_SYSCALL(SysMprotect) {
  SENTRY_RETURN_IF_ERROR(t.mm().MProtect(a.U64(0), a.U64(1), a.Int(2)));
  return 0;
}

// Implements Linux syscall mremap(2). MREMAP_DONTUNMAP and old_size 0 are
// not implemented (EINVAL).
SENTRY_SYSCALL(SysMremap) {
  SENTRY_ASSIGN_OR_RETURN(
      uint64_t at,
      t.mm().MRemap(a.U64(0), a.U64(1), a.U64(2), a.Int(3), a.U64(4)));
  return at;
}

// Implements Linux syscall madvise(2).
SENTRY_SYSCALL(SysMadvise) {
  SENTRY_RETURN_IF_ERROR(t.mm().MAdvise(a.U64(0), a.U64(1), a.Int(2)));
  return 0;
}

// Implements Linux syscall brk(2): returns the new break, or the old one
// when it cannot move.
SENTRY_SYSCALL(SysBrk) { return t.mm().Brk(a.U64(0)); }

// Implements Linux syscall msync(2). Shared file mappings write through to
// the host file's page cache already; the checks are Linux's.
SENTRY_SYSCALL(SysMsync) {
  uint64_t addr = a.U64(0), len = a.U64(1);
  int flags = a.Int(2);
  if (addr % kPageSize != 0) return Errno(EINVAL);
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0)
    return Errno(EINVAL);
  if ((flags & MS_ASYNC) != 0 && (flags & MS_SYNC) != 0) return Errno(EINVAL);
  uint64_t end = addr + ((len + kPageSize - 1) & ~(kPageSize - 1));
  for (uint64_t p = addr; p < end;) {
    std::optional<mm::Vma> v = t.mm().FindVma(p);
    if (!v) return Errno(ENOMEM);
    if ((flags & MS_SYNC) != 0 && v->shared && v->file)
      SENTRY_RETURN_IF_ERROR(v->file->Sync());
    p = v->end;
  }
  return 0;
}

}  // namespace sentry::syscalls
