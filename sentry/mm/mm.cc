#include "sentry/mm/mm.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"

namespace sentry::mm {

namespace {

constexpr int kProtMask = PROT_READ | PROT_WRITE | PROT_EXEC;

uint64_t PageUp(uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }
uint64_t PageDown(uint64_t v) { return v & ~(kPageSize - 1); }

uint64_t RandomPages(uint64_t max_pages) {
  if (max_pages == 0) return 0;
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), 0) != sizeof(r)) return 0;
  return (r % max_pages) * kPageSize;
}

// The largest range a read or write makes a DirectBuffer of: beyond it,
// what a conversion that fails or comes up short wastes starts to matter.
constexpr uint64_t kDirectMaxSize = 64 * 1024 * 1024;
// MADV_POPULATE_READ (Linux 5.14), which Debian 12's headers may lack.
constexpr int kMadvPopulateRead = 22;
// Each buffer is a host fd and a mapping in the sentry: a guest that maps
// thousands of large buffers gets ordinary memory for the rest.
constexpr int kMaxDirectBuffers = 4096;
std::atomic<int> direct_buffers{0};

// Two neighbouring VMAs that Linux would show as one.
bool CanMerge(const Vma& a, const Vma& b) {
  if (a.end != b.start || a.prot != b.prot || a.max_prot != b.max_prot ||
      a.shared != b.shared || a.growsdown != b.growsdown || a.name != b.name ||
      a.file != b.file || a.shm != b.shm || a.dontfork != b.dontfork ||
      a.wipeonfork != b.wipeonfork || a.direct != b.direct ||
      a.direct_live != b.direct_live) {
    return false;
  }
  if (a.file || a.shm || a.direct)
    return a.offset + (a.end - a.start) == b.offset;
  return true;
}

// Two neighbouring VMAs that Linux holds as one mapping though the sentry
// does not merge them: private anonymous memory that differs only in
// whether the sentry holds its pages (DirectBuffer).
bool OneMappingToLinux(const Vma& a, const Vma& b) {
  auto plain_anon = [](const Vma& v) { return !v.file && !v.shm && !v.shared; };
  return a.end == b.start && plain_anon(a) && plain_anon(b) &&
         a.prot == b.prot && a.growsdown == b.growsdown && a.name == b.name &&
         a.dontfork == b.dontfork && a.wipeonfork == b.wipeonfork;
}

// Makes `v` ordinary anonymous memory in the list (its host mapping is the
// caller's to change).
void DropDirect(Vma* v) {
  v->direct = nullptr;
  v->direct_live = false;
  v->offset = 0;
}

// What a DirectBuffer's pages in a dropped VMA hold is no one's any more:
// free them now rather than when the last piece of the buffer goes. A
// frozen buffer may still be a fork's memory and is left alone.
struct Released {
  std::shared_ptr<DirectBuffer> buf;
  uint64_t offset, len;
};
void NoteReleased(const Vma& v, std::vector<Released>* out) {
  if (v.direct && v.direct_live)
    out->push_back({v.direct, v.offset, v.end - v.start});
}
void ZeroReleased(const std::vector<Released>& released) {
  for (const Released& r : released) r.buf->Zero(r.offset, r.len);
}

}  // namespace

std::shared_ptr<DirectBuffer> DirectBuffer::Create(uint64_t size) {
  if (direct_buffers.fetch_add(1) >= kMaxDirectBuffers) {
    direct_buffers.fetch_sub(1);
    return nullptr;
  }
  HostFd fd(static_cast<int>(
      syscall(SYS_memfd_create, "anon", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  void* base = MAP_FAILED;
  if (fd.valid() && ftruncate(fd.get(), static_cast<off_t>(size)) == 0) {
    base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  }
  // Nothing may shrink it under the mappings (a pread past the end would
  // be a SIGBUS in the sentry).
  if (base == MAP_FAILED ||
      fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    if (base != MAP_FAILED) munmap(base, size);
    direct_buffers.fetch_sub(1);
    return nullptr;
  }
  return std::shared_ptr<DirectBuffer>(
      new DirectBuffer(std::move(fd), static_cast<char*>(base), size));
}

DirectBuffer::~DirectBuffer() {
  munmap(base_, size_);
  direct_buffers.fetch_sub(1);
}

void DirectBuffer::Zero(uint64_t offset, uint64_t len) {
  if (offset >= size_ || len == 0) return;
  len = std::min(len, size_ - offset);
  // A hole reads back as zeros in every mapping of the memfd.
  if (fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                static_cast<off_t>(offset), static_cast<off_t>(len)) != 0) {
    memset(base_ + offset, 0, len);
  }
}

MemoryManager::MemoryManager(std::unique_ptr<platform::AddressSpace> as,
                             uint64_t max_addr)
    : as_(std::move(as)), max_addr_(max_addr) {}

void MemoryManager::ChooseLayout(uint64_t stack_rlimit, bool randomize) {
  // As arch/x86/mm/mmap.c: the stack at the top (randomized by up to 16 GiB),
  // the mmap base a stack-sized gap below it (randomized by up to 1 TiB).
  constexpr uint64_t kStackRandomPages = 1ULL << 22;
  constexpr uint64_t kMmapRandomPages = 1ULL << 28;
  constexpr uint64_t kMinGap = 128ULL << 20;
  constexpr uint64_t kStackGuardGap = 256 * kPageSize;
  uint64_t stack_rnd = randomize ? RandomPages(kStackRandomPages) : 0;
  uint64_t mmap_rnd = randomize ? RandomPages(kMmapRandomPages) : 0;
  uint64_t limit = std::min<uint64_t>(stack_rlimit, max_addr_ / 6 * 5);
  uint64_t gap = std::clamp<uint64_t>(limit + kStackGuardGap + stack_rnd,
                                      kMinGap, max_addr_ / 6 * 5);
  absl::MutexLock l(&mu_);
  stack_top_ = PageDown(max_addr_ - stack_rnd);
  mmap_base_ = PageDown(max_addr_ - gap - mmap_rnd);
}

uint64_t MemoryManager::mmap_base() const {
  absl::ReaderMutexLock l(&mu_);
  return mmap_base_;
}

uint64_t MemoryManager::stack_top() const {
  absl::ReaderMutexLock l(&mu_);
  return stack_top_;
}

bool MemoryManager::RangeFree(uint64_t start, uint64_t end) const {
  if (start < platform::kMinUserAddress || end > max_addr_ || start >= end)
    return false;
  auto it = vmas_.lower_bound(start);
  if (it != vmas_.end() && it->second.start < end) return false;
  if (it != vmas_.begin() && std::prev(it)->second.end > start) return false;
  return true;
}

bool MemoryManager::RangeFullyMapped(uint64_t start, uint64_t end) const {
  uint64_t cur = start;
  auto it = vmas_.upper_bound(start);
  if (it != vmas_.begin()) --it;
  for (; it != vmas_.end() && cur < end; ++it) {
    if (it->second.end <= cur) continue;
    if (it->second.start > cur) return false;
    cur = it->second.end;
  }
  return cur >= end;
}

SysResult<uint64_t> MemoryManager::FindGap(uint64_t hint, uint64_t len) const {
  if (len > max_addr_ - platform::kMinUserAddress) return Errno(ENOMEM);
  if (hint != 0) {
    hint = PageDown(hint);
    if (hint >= platform::kMinUserAddress && hint <= max_addr_ - len &&
        RangeFree(hint, hint + len)) {
      return hint;
    }
  }
  // Top-down from the mmap base, then from the top of the address space.
  for (uint64_t top : {mmap_base_, max_addr_}) {
    uint64_t end = top;
    auto it = vmas_.lower_bound(end);
    while (true) {
      // The gap between the VMA before `it` and `end`.
      uint64_t gap_start = platform::kMinUserAddress;
      if (it != vmas_.begin())
        gap_start = std::max(gap_start, std::prev(it)->second.end);
      if (end >= gap_start + len && end - len >= gap_start) {
        uint64_t candidate = end - len;
        if (RangeFree(candidate, end)) return candidate;
      }
      if (it == vmas_.begin()) break;
      --it;
      end = std::min(end, it->second.start);
    }
  }
  return Errno(ENOMEM);
}

void MemoryManager::SplitAt(uint64_t addr) {
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return;
  --it;
  Vma& v = it->second;
  if (v.start >= addr || v.end <= addr) return;
  Vma tail = v;
  tail.start = addr;
  if (tail.file || tail.shm || tail.direct) tail.offset += addr - v.start;
  v.end = addr;
  vmas_.emplace(addr, std::move(tail));
}

SysResult<void> MemoryManager::UnmapLocked(uint64_t start, uint64_t end) {
  SplitAt(start);
  SplitAt(end);
  bool any = false;
  std::vector<Released> released;
  for (auto it = vmas_.lower_bound(start);
       it != vmas_.end() && it->second.start < end;) {
    NoteReleased(it->second, &released);
    it = vmas_.erase(it);
    any = true;
  }
  if (!any) return Ok();
  SENTRY_RETURN_IF_ERROR(as_->Unmap(start, end - start));
  ZeroReleased(released);
  return Ok();
}

platform::MapSource MemoryManager::SourceOf(const Vma& v) const {
  platform::MapSource src;
  src.shared = v.shared;
  src.offset = v.offset;
  if (v.direct) {
    src.host_fd = v.direct->fd();
    src.shared = v.direct_live;
  } else if (v.shm) {
    src.host_fd = v.shm->get();
  } else if (v.file) {
    SysResult<vfs::MmapTarget> t = v.file->GetMmapTarget();
    if (t.ok()) {
      src.host_fd = t->host_fd;
      src.offset += t->offset_base;
    }
  }
  return src;
}

SysResult<void> MemoryManager::InsertLocked(Vma vma) {
  SENTRY_RETURN_IF_ERROR(
      as_->Map(vma.start, vma.end - vma.start, vma.prot, SourceOf(vma)));
  uint64_t start = vma.start, end = vma.end;
  vmas_[start] = std::move(vma);
  MergeAround(start, end);
  return Ok();
}

void MemoryManager::MergeAround(uint64_t start, uint64_t end) {
  auto it = vmas_.upper_bound(start);
  if (it != vmas_.begin()) --it;
  if (it != vmas_.begin()) --it;  // start from the VMA before the range
  while (it != vmas_.end() && it->second.start <= end) {
    auto next = std::next(it);
    if (next != vmas_.end() && CanMerge(it->second, next->second)) {
      it->second.end = next->second.end;
      vmas_.erase(next);
      continue;
    }
    it = next;
  }
}

SysResult<uint64_t> MemoryManager::MMap(const MMapRequest& req) {
  if (req.length == 0) return Errno(EINVAL);
  if (req.length > max_addr_) return Errno(ENOMEM);
  uint64_t len = PageUp(req.length);
  bool fixed = (req.flags & MAP_FIXED) != 0;
  bool noreplace = (req.flags & MAP_FIXED_NOREPLACE) != 0;
  bool shared = (req.flags & MAP_TYPE) == MAP_SHARED ||
                (req.flags & MAP_TYPE) == MAP_SHARED_VALIDATE;
  Vma vma;
  vma.prot = req.prot & kProtMask;
  vma.shared = shared;
  vma.growsdown = (req.flags & MAP_GROWSDOWN) != 0;
  vma.file = req.file;
  vma.offset = req.offset;
  vma.name = req.name;
  if (req.backing) {
    vma.shm = req.backing;
    vma.max_prot = req.max_prot;
  } else if (req.file) {
    int f = req.file->flags() & O_ACCMODE;
    vma.max_prot = PROT_READ | PROT_EXEC;
    if (!shared || f == O_RDWR) vma.max_prot |= PROT_WRITE;
    // A noexec mount's files may never become executable (mprotect too).
    if ((req.file->vd().mount->flags() & vfs::kMountNoExec) != 0) {
      vma.max_prot &= ~PROT_EXEC;
    }

    SysResult<vfs::Attr> a = req.file->Stat();
    if (a.ok()) {
      vma.dev = a->dev;
      vma.ino = a->ino;
    }
  } else {
    vma.max_prot = kProtMask;
    vma.offset = 0;
    if (shared) {
      int fd =
          static_cast<int>(syscall(SYS_memfd_create, "shmem", MFD_CLOEXEC));
      if (fd < 0) return Errno::FromHost();
      vma.shm = std::make_shared<HostFd>(fd);
      if (ftruncate(fd, static_cast<off_t>(len)) != 0) return Errno::FromHost();
      vma.name = "/dev/zero (deleted)";
    }
  }
  std::vector<Released> released;
  absl::MutexLock l(&mu_);
  if (!WithinLimit(len)) return Errno(ENOMEM);
  uint64_t addr;
  if (fixed || noreplace) {
    addr = req.addr;
    if (addr % kPageSize != 0) return Errno(EINVAL);
    if (addr < platform::kMinUserAddress) return Errno(EPERM);
    if (addr > max_addr_ || len > max_addr_ - addr) return Errno(ENOMEM);
    if (!fixed && !RangeFree(addr, addr + len)) return Errno(EEXIST);
    // The host mapping replaces the old one atomically: drop the old VMAs
    // from the list only.
    SplitAt(addr);
    SplitAt(addr + len);
    for (auto it = vmas_.lower_bound(addr);
         it != vmas_.end() && it->second.start < addr + len;) {
      NoteReleased(it->second, &released);
      it = vmas_.erase(it);
    }
  } else {
    SENTRY_ASSIGN_OR_RETURN(addr, FindGap(req.addr, len));
  }
  vma.start = addr;
  vma.end = addr + len;
  SysResult<void> inserted = InsertLocked(std::move(vma));
  ZeroReleased(released);
  if (!inserted.ok()) {
    // The old VMAs are gone from the list; make the host agree, as a failed
    // MAP_FIXED in Linux may also leave the range unmapped.
    if (fixed) (void)as_->Unmap(addr, len);
    return inserted.error();
  }
  return addr;
}

SysResult<void> MemoryManager::MUnmap(uint64_t addr, uint64_t length) {
  if (addr % kPageSize != 0 || length == 0) return Errno(EINVAL);
  if (addr > max_addr_ || length > max_addr_ - addr) return Errno(EINVAL);
  absl::MutexLock l(&mu_);
  return UnmapLocked(addr, addr + PageUp(length));
}

SysResult<void> MemoryManager::MProtect(uint64_t addr, uint64_t length,
                                        int prot) {
  if (addr % kPageSize != 0) return Errno(EINVAL);
  if ((prot & ~(kProtMask | PROT_GROWSDOWN | PROT_GROWSUP)) != 0)
    return Errno(EINVAL);
  if (length == 0) return Ok();
  uint64_t end = addr + PageUp(length);
  if (end < addr || end > max_addr_) return Errno(ENOMEM);
  prot &= kProtMask;
  absl::MutexLock l(&mu_);
  if (!RangeFullyMapped(addr, end)) return Errno(ENOMEM);
  for (auto it = vmas_.upper_bound(addr); it != vmas_.begin();) {
    --it;
    if (it->second.end > addr) {
      if ((prot & ~it->second.max_prot) != 0) return Errno(EACCES);
    }
    break;
  }
  for (auto it = vmas_.lower_bound(addr);
       it != vmas_.end() && it->second.start < end; ++it) {
    if ((prot & ~it->second.max_prot) != 0) return Errno(EACCES);
  }
  SENTRY_RETURN_IF_ERROR(as_->Protect(addr, end - addr, prot));
  SplitAt(addr);
  SplitAt(end);
  for (auto it = vmas_.lower_bound(addr);
       it != vmas_.end() && it->second.start < end; ++it) {
    it->second.prot = prot;
  }
  MergeAround(addr, end);
  return Ok();
}

SysResult<uint64_t> MemoryManager::MRemap(uint64_t old_addr, uint64_t old_len,
                                          uint64_t new_len, int flags,
                                          uint64_t new_addr) {
  if (old_addr % kPageSize != 0) return Errno(EINVAL);
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0)
    return Errno(EINVAL);
  if ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0)
    return Errno(EINVAL);
  // Not implemented: MREMAP_DONTUNMAP, and old_len == 0 (duplicating a
  // shared mapping). Both are refused as a kernel without them would.
  if ((flags & MREMAP_DONTUNMAP) != 0 || old_len == 0) return Errno(EINVAL);
  if (new_len == 0) return Errno(EINVAL);
  old_len = PageUp(old_len);
  new_len = PageUp(new_len);
  if (old_len == 0 || new_len == 0 || new_len > max_addr_) return Errno(ENOMEM);
  absl::MutexLock l(&mu_);
  SENTRY_RETURN_IF_ERROR(JoinDirectPiecesLocked(old_addr, old_len));
  auto it = vmas_.upper_bound(old_addr);
  if (it == vmas_.begin()) return Errno(EFAULT);
  --it;
  if (it->second.end < old_addr + old_len || it->second.start > old_addr)
    return Errno(EFAULT);
  Vma src = it->second;
  uint64_t old_end = old_addr + old_len;

  auto move_to = [&](uint64_t dst) -> SysResult<uint64_t> {
    if (src.shm) {
      uint64_t need = src.offset + (old_addr - src.start) + new_len;
      struct stat st;
      if (fstat(src.shm->get(), &st) == 0 &&
          static_cast<uint64_t>(st.st_size) < need &&
          ftruncate(src.shm->get(), static_cast<off_t>(need)) != 0) {
        return Errno::FromHost();
      }
    }
    // A DirectBuffer's pages past the moved ones may be another VMA's
    // (or past its end): the growth is fresh anonymous memory instead.
    uint64_t moved_len = src.direct ? std::min(old_len, new_len) : new_len;
    SENTRY_RETURN_IF_ERROR(as_->Remap(old_addr, old_len, dst, moved_len));
    if (moved_len < new_len) {
      SysResult<void> grown = as_->Map(dst + moved_len, new_len - moved_len,
                                       src.prot, platform::MapSource{});
      if (!grown.ok()) {
        // Back where it was, so the host and the list still agree.
        (void)as_->Remap(dst, moved_len, old_addr, old_len);
        return grown.error();
      }
    }
    SplitAt(old_addr);
    SplitAt(old_end);
    SplitAt(dst);
    SplitAt(dst + new_len);
    std::vector<Released> released;
    for (auto i = vmas_.lower_bound(dst);
         i != vmas_.end() && i->second.start < dst + new_len;) {
      NoteReleased(i->second, &released);
      i = vmas_.erase(i);
    }
    ZeroReleased(released);
    auto moved = vmas_.find(old_addr);
    Vma v = moved->second;
    vmas_.erase(moved);
    // A live buffer's pages past a shrinking move are no one's now.
    if (v.direct && v.direct_live && moved_len < old_len) {
      v.direct->Zero(v.offset + moved_len, old_len - moved_len);
    }
    v.start = dst;
    v.end = dst + moved_len;
    if (moved_len < new_len) {
      Vma fresh = v;
      fresh.start = v.end;
      fresh.end = dst + new_len;
      DropDirect(&fresh);
      vmas_[fresh.start] = std::move(fresh);
    }
    vmas_[dst] = std::move(v);
    MergeAround(dst, dst + new_len);
    return dst;
  };

  if ((flags & MREMAP_FIXED) != 0) {
    if (new_addr % kPageSize != 0 || new_addr < platform::kMinUserAddress ||
        new_addr > max_addr_ - new_len) {
      return Errno(EINVAL);
    }
    if (new_addr < old_end && old_addr < new_addr + new_len)
      return Errno(EINVAL);
    return move_to(new_addr);
  }
  if (new_len <= old_len) {
    if (new_len < old_len)
      SENTRY_RETURN_IF_ERROR(UnmapLocked(old_addr + new_len, old_end));
    return old_addr;
  }
  uint64_t grow_end = old_addr + new_len;
  if (old_end == src.end && grow_end <= max_addr_ &&
      RangeFree(old_end, grow_end)) {
    Vma ext = src;
    ext.start = old_end;
    ext.end = grow_end;
    if (ext.file || ext.shm) ext.offset = src.offset + (old_end - src.start);
    if (ext.direct) {
      // As in move_to: the buffer ends here; the growth is fresh memory.
      DropDirect(&ext);
    }
    if (ext.shm) {
      if (ftruncate(ext.shm->get(),
                    static_cast<off_t>(ext.offset + (grow_end - old_end))) !=
          0) {
        return Errno::FromHost();
      }
    }
    SENTRY_RETURN_IF_ERROR(InsertLocked(std::move(ext)));
    return old_addr;
  }
  if ((flags & MREMAP_MAYMOVE) == 0) return Errno(ENOMEM);
  SENTRY_ASSIGN_OR_RETURN(uint64_t dst, FindGap(0, new_len));
  return move_to(dst);
}

SysResult<void> MemoryManager::MAdvise(uint64_t addr, uint64_t length,
                                       int advice) {
  if (addr % kPageSize != 0) return Errno(EINVAL);
  uint64_t len = PageUp(length);
  if (len < length) return Errno(EINVAL);
  switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_MERGEABLE:
    case MADV_UNMERGEABLE:
    case MADV_COLD:
    case MADV_PAGEOUT:
      break;
    case MADV_DONTFORK:
    case MADV_DOFORK:
    case MADV_WIPEONFORK:
    case MADV_KEEPONFORK:
      break;
    default:
      // Not implemented (REMOVE, HWPOISON, ...): refused as a kernel that
      // lacks them does.
      return Errno(EINVAL);
  }
  if (len == 0) return Ok();
  if (addr + len < addr || addr + len > max_addr_) return Errno(ENOMEM);
  absl::MutexLock l(&mu_);
  if (!RangeFullyMapped(addr, addr + len)) return Errno(ENOMEM);
  if (advice == MADV_DONTFORK || advice == MADV_DOFORK ||
      advice == MADV_WIPEONFORK || advice == MADV_KEEPONFORK) {
    // Wiping applies to private anonymous memory only.
    if (advice == MADV_WIPEONFORK) {
      for (const auto& [start, v] : vmas_) {
        if (v.end <= addr || v.start >= addr + len) continue;
        if (v.shared || v.file || v.shm) return Errno(EINVAL);
      }
    }
    SplitAt(addr);
    SplitAt(addr + len);
    if (advice == MADV_WIPEONFORK) {
      // The host wipes only its own anonymous memory.
      for (auto it = vmas_.lower_bound(addr);
           it != vmas_.end() && it->second.start < addr + len; ++it) {
        if (it->second.direct) SENTRY_RETURN_IF_ERROR(UndirectLocked(it));
      }
    }
    // The host does the work at fork (the stub's fork is a host fork);
    // the VMA flags keep the sentry's list in step.
    SENTRY_RETURN_IF_ERROR(as_->Advise(addr, len, advice));
    for (auto it = vmas_.lower_bound(addr);
         it != vmas_.end() && it->second.start < addr + len; ++it) {
      Vma& v = it->second;
      if (advice == MADV_DONTFORK) v.dontfork = true;
      if (advice == MADV_DOFORK) v.dontfork = false;
      if (advice == MADV_WIPEONFORK) v.wipeonfork = true;
      if (advice == MADV_KEEPONFORK) v.wipeonfork = false;
    }
    MergeAround(addr, addr + len);
    return Ok();
  }
  // Only these change what the guest sees (pages read back as zero or as
  // the file); the rest are hints with no observable effect.
  if (advice != MADV_DONTNEED && advice != MADV_FREE) return Ok();
  SplitAt(addr);
  SplitAt(addr + len);
  // The host drops other memory's pages itself, a run of neighbours at a
  // time. A live DirectBuffer is shared memory to the host, whose pages it
  // would keep: the sentry zeroes them (MADV_FREE may too). A frozen one's
  // pages would come back as the buffer's, not zero: fresh anonymous
  // memory replaces it.
  uint64_t run = addr;
  auto flush = [&](uint64_t to) -> SysResult<void> {
    if (to > run) SENTRY_RETURN_IF_ERROR(as_->Advise(run, to - run, advice));
    return Ok();
  };
  for (auto it = vmas_.lower_bound(addr);
       it != vmas_.end() && it->second.start < addr + len; ++it) {
    Vma& v = it->second;
    if (!v.direct) continue;
    SENTRY_RETURN_IF_ERROR(flush(v.start));
    run = v.end;
    if (v.direct_live) {
      v.direct->Zero(v.offset, v.end - v.start);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(
        as_->Map(v.start, v.end - v.start, v.prot, platform::MapSource{}));
    DropDirect(&v);
  }
  SENTRY_RETURN_IF_ERROR(flush(addr + len));
  MergeAround(addr, addr + len);
  return Ok();
}

SysResult<void> MemoryManager::JoinDirectPiecesLocked(uint64_t addr,
                                                      uint64_t len) {
  uint64_t end;
  if (__builtin_add_overflow(addr, len, &end)) return Ok();
  auto first = vmas_.upper_bound(addr);
  if (first == vmas_.begin()) return Ok();
  --first;
  if (first->second.end <= addr || first->second.end >= end) return Ok();
  std::vector<uint64_t> direct;
  for (auto it = first;; ++it) {
    if (it->second.direct) direct.push_back(it->second.start);
    if (it->second.end >= end) break;
    auto next = std::next(it);
    if (next == vmas_.end() || !OneMappingToLinux(it->second, next->second))
      return Ok();
  }
  for (uint64_t start : direct) {
    SENTRY_RETURN_IF_ERROR(UndirectLocked(vmas_.find(start)));
  }
  MergeAround(addr, end);
  return Ok();
}

SysResult<void> MemoryManager::UndirectLocked(VmaMap::iterator it) {
  Vma& v = it->second;
  const uint64_t len = v.end - v.start;
  // The contents: a live buffer holds them; a frozen one's pages the guest
  // wrote since are the guest's own, read through the host (made readable
  // for it if need be).
  std::vector<char> copy;
  const char* contents = v.direct->base() + v.offset;
  if (!v.direct_live) {
    copy.resize(len);
    if ((v.prot & PROT_READ) == 0) {
      SENTRY_RETURN_IF_ERROR(as_->Protect(v.start, len, v.prot | PROT_READ));
    }
    SysResult<size_t> n = as_->Read(v.start, copy.data(), len);
    if ((v.prot & PROT_READ) == 0) (void)as_->Protect(v.start, len, v.prot);
    if (!n.ok() || *n != len) return Errno(ENOMEM);
    contents = copy.data();
  }
  // Not atomic: a guest thread touching these pages meanwhile may see
  // zeros, or lose a write. Only MADV_WIPEONFORK on a buffer, and mremap
  // of a range that buffers split (JoinDirectPiecesLocked), get here.
  SENTRY_RETURN_IF_ERROR(
      as_->Map(v.start, len, PROT_READ | PROT_WRITE, platform::MapSource{}));
  SysResult<size_t> n = as_->Write(v.start, contents, len);
  if ((v.prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE) ||
      (v.prot & PROT_EXEC) != 0) {
    (void)as_->Protect(v.start, len, v.prot);
  }
  if (v.direct_live) v.direct->Zero(v.offset, len);
  DropDirect(&v);
  if (!n.ok() || *n != len) return Errno(ENOMEM);
  return Ok();
}

SysResult<std::shared_ptr<MemoryManager>> MemoryManager::Fork() {
  // Exclusive: the VMA list copied must be the one the host copies.
  absl::MutexLock l(&mu_);
  // A live DirectBuffer is shared memory to the host, which a host fork
  // would share: the guest maps it copy-on-write first (the same pages),
  // and the sentry stops writing it. MADV_DONTFORK memory stays behind.
  for (auto& [start, v] : vmas_) {
    if (!v.direct || !v.direct_live || v.dontfork) continue;
    v.direct_live = false;
    SysResult<void> frozen =
        as_->Map(v.start, v.end - v.start, v.prot, SourceOf(v));
    if (!frozen.ok()) {
      v.direct_live = true;
      return frozen.error();
    }
  }
  SENTRY_ASSIGN_OR_RETURN(std::unique_ptr<platform::AddressSpace> as,
                          as_->Fork());
  auto child = std::make_shared<MemoryManager>(std::move(as), max_addr_);
  absl::MutexLock cl(&child->mu_);
  for (const auto& [start, v] : vmas_) {
    if (!v.dontfork) child->vmas_.emplace(start, v);
  }
  child->mmap_base_ = mmap_base_;
  child->stack_top_ = stack_top_;
  child->brk_start_ = brk_start_;
  child->brk_ = brk_;
  child->as_limit_ = as_limit_;
  return child;
}

void MemoryManager::set_as_limit(uint64_t limit) {
  absl::MutexLock l(&mu_);
  as_limit_ = limit;
}

bool MemoryManager::WithinLimit(uint64_t len) const {
  if (as_limit_ == ~0ULL) return true;
  uint64_t total = 0;
  for (const auto& [start, v] : vmas_) total += v.end - v.start;
  return total + len >= total && total + len <= as_limit_;
}

SysResult<size_t> MemoryManager::PreadDirect(
    int host_fd, uint64_t offset, uint64_t addr, size_t len, bool sole_user,
    absl::FunctionRef<void()> almost_done) {
  if (len == 0 || static_cast<int64_t>(offset) < 0) return Errno(ENOSYS);
  uint64_t end;
  if (__builtin_add_overflow(addr, len, &end)) return Errno(ENOSYS);
  {
    absl::ReaderMutexLock l(&mu_);
    SysResult<size_t> n =
        PreadIntoLocked(host_fd, offset, addr, end, almost_done);
    if (n.ok() || n.err() != ENOSYS || !sole_user) return n;
  }
  absl::MutexLock l(&mu_);
  if (!SecondTransferLocked(addr, end)) return Errno(ENOSYS);
  return ConvertAndReadLocked(host_fd, offset, addr, end);
}

SysResult<size_t> MemoryManager::WriteDirect(
    uint64_t addr, size_t len, bool sole_user,
    absl::FunctionRef<SysResult<size_t>(const char*)> write) {
  uint64_t end;
  if (len == 0 || __builtin_add_overflow(addr, len, &end)) {
    return Errno(ENOSYS);
  }
  {
    absl::ReaderMutexLock l(&mu_);
    if (const char* at = DirectViewLocked(addr, end)) return write(at);
    if (!sole_user) return Errno(ENOSYS);
  }
  absl::MutexLock l(&mu_);
  if (!SecondTransferLocked(addr, end)) return Errno(ENOSYS);
  // Everything in the pages goes into the buffer: the write's bytes and
  // the ones around them. The caller is the only task using the address
  // space (see ConvertAndReadLocked), so nothing changes them meanwhile.
  const uint64_t lo = PageDown(addr), hi = PageUp(end);
  std::shared_ptr<DirectBuffer> buf = DirectBuffer::Create(hi - lo);
  if (buf == nullptr) return Errno(ENOSYS);
  // A bounce-buffer at a time; pages that read as zero stay holes, so
  // memory the program never touched stays unallocated, as on Linux.
  constexpr size_t kBounce = 256 * 1024;
  static const char kZeroPage[kPageSize] = {};
  std::vector<char> bounce(std::min<uint64_t>(kBounce, hi - lo));
  for (uint64_t done = 0; done < hi - lo;) {
    size_t want = std::min<uint64_t>(bounce.size(), hi - lo - done);
    SysResult<size_t> n = as_->Read(lo + done, bounce.data(), want);
    if (!n.ok() || *n != want) return Errno(ENOSYS);
    for (size_t p = 0; p < want; p += kPageSize) {
      if (memcmp(bounce.data() + p, kZeroPage, kPageSize) != 0)
        memcpy(buf->base() + done + p, bounce.data() + p, kPageSize);
    }
    done += want;
  }
  const char* at = buf->base() + (addr - lo);
  SENTRY_RETURN_IF_ERROR(MapDirectLocked(lo, hi, std::move(buf)));
  return write(at);
}

const char* MemoryManager::DirectViewLocked(uint64_t addr, uint64_t end) const {
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return nullptr;
  --it;
  const Vma& v = it->second;
  // What write(2) may read: the guest's readable memory.
  if (v.end < end || !v.direct || !v.direct_live || (v.prot & PROT_READ) == 0) {
    return nullptr;
  }
  return v.direct->base() + v.offset + (addr - v.start);
}

bool MemoryManager::SecondTransferLocked(uint64_t addr, uint64_t end) {
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return false;
  --it;
  Vma& v = it->second;
  // Ordinary private anonymous memory, readable and writable, holding the
  // whole range: memory a program reads into, not a heap or a stack.
  if (v.start > addr || v.end < end || v.direct || v.file || v.shm ||
      v.shared || v.growsdown || v.dontfork || v.wipeonfork ||
      !v.name.empty() || v.prot != (PROT_READ | PROT_WRITE) ||
      PageUp(end) - PageDown(addr) > kDirectMaxSize) {
    return false;
  }
  // Only a buffer used again: not the pieces of one large buffer filled
  // or written by consecutive calls, nor memory used once.
  if (v.last_io[0] == addr || v.last_io[1] == addr) return true;
  v.last_io[1] = v.last_io[0];
  v.last_io[0] = addr;
  return false;
}

SysResult<void> MemoryManager::MapDirectLocked(
    uint64_t lo, uint64_t hi, std::shared_ptr<DirectBuffer> buf) {
  SplitAt(lo);
  SplitAt(hi);
  auto it = vmas_.find(lo);
  Vma direct = it->second;
  direct.direct = std::move(buf);
  direct.direct_live = true;
  direct.offset = 0;
  SysResult<void> mapped = as_->Map(lo, hi - lo, direct.prot, SourceOf(direct));
  if (!mapped.ok()) {
    // Nothing changed on the host: the guest still has its memory.
    MergeAround(lo, hi);
    return Errno(ENOSYS);
  }
  it->second = std::move(direct);
  return Ok();
}

namespace {

// Where part of a read goes in the sentry.
struct Piece {
  char* at;
  size_t len;
};

// pread(2)s `host_fd` from `offset` into `pieces` in order, until one
// comes back short: the count read, or the error if nothing was. The last
// kAlmostDoneTail bytes go in a pread of their own, after `almost_done`:
// about the time a sleeping guest thread takes to wake.
SysResult<size_t> PreadPieces(int host_fd, uint64_t offset, const Piece* pieces,
                              size_t count,
                              absl::FunctionRef<void()> almost_done) {
  uint64_t total = 0;
  for (size_t i = 0; i < count; i++) total += pieces[i].len;
  uint64_t tail_at = total > MemoryManager::kAlmostDoneTail
                         ? total - MemoryManager::kAlmostDoneTail
                         : 0;
  size_t done = 0;
  for (size_t i = 0; i < count; i++) {
    for (size_t at = 0; at < pieces[i].len;) {
      size_t want = pieces[i].len - at;
      if (tail_at > 0 && done + want > tail_at) {
        if (done < tail_at) {
          want = tail_at - done;
        } else {
          almost_done();
          tail_at = 0;
        }
      }
      ssize_t n;
      do {
        n = pread(host_fd, pieces[i].at + at, want,
                  static_cast<off_t>(offset + done));
        // As HostFileFD::Read: a host file may be interrupted (FUSE, NFS).
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        if (done > 0) return done;
        return Errno(errno == ENOSYS ? EIO : errno);
      }
      done += static_cast<size_t>(n);
      at += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < want) return done;
    }
  }
  return done;
}

// Fills `len` bytes of the new memfd `to` at `at` from `host_fd` at
// `offset` by splice(2) through a pipe: the file's page-cache pages go
// into the pipe by reference and are copied once, by the memfd's write,
// into pages it allocates without zeroing them first. Filling fresh
// memfd pages through a mapping costs a fault and a page of zeroes each:
// 800-1100 us per MiB on the development VM, against ~370 this way and
// ~125 more to map them into the sentry afterwards. What was transferred,
// short at the end of the file or at an error after some bytes; an error
// if nothing moved (EINVAL: this file cannot be spliced from).
SysResult<size_t> SpliceInto(int host_fd, uint64_t offset, int to, uint64_t at,
                             size_t len) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Errno::FromHost();
  HostFd rd(p[0]), wr(p[1]);
  // One round per MiB rather than per 64 KiB; kept small where the host's
  // per-user pipe allowance (pipe-user-pages-soft) says no.
  constexpr int kPipeSize = 1 << 20;
  int room = fcntl(wr.get(), F_SETPIPE_SZ, kPipeSize);
  if (room <= 0) room = fcntl(wr.get(), F_GETPIPE_SZ);
  if (room <= 0) return Errno(EINVAL);
  size_t done = 0;
  while (done < len) {
    loff_t in = static_cast<loff_t>(offset + done);
    ssize_t n;
    do {
      n = splice(host_fd, &in, wr.get(), nullptr,
                 std::min<size_t>(len - done, static_cast<size_t>(room)), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (done > 0) return done;
      return Errno(errno);
    }
    if (n == 0) break;  // the end of the file
    // Whatever the pipe holds goes into the memfd before anything returns:
    // bytes left in it would be lost.
    for (ssize_t out = 0; out < n;) {
      loff_t to_off = static_cast<loff_t>(at + done + out);
      ssize_t m;
      do {
        m = splice(rd.get(), nullptr, to, &to_off, static_cast<size_t>(n - out),
                   0);
      } while (m < 0 && errno == EINTR);
      if (m <= 0) {
        done += static_cast<size_t>(out);
        if (done > 0) return done;
        return Errno(m < 0 ? errno : EIO);
      }
      out += m;
    }
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

SysResult<size_t> MemoryManager::ConvertAndReadLocked(int host_fd,
                                                      uint64_t offset,
                                                      uint64_t addr,
                                                      uint64_t end) {
  // A read the file cannot fill (a program polling the end of a growing
  // file) is not worth a buffer that the short read would throw away.
  struct stat st;
  if (fstat(host_fd, &st) != 0 ||
      static_cast<uint64_t>(st.st_size) < offset + (end - addr)) {
    return Errno(ENOSYS);
  }
  // Only the pages the read lands in: the rest of the mapping (other
  // buffers, in a program's .bss) stays as it is, uncopied.
  const uint64_t lo = PageDown(addr), hi = PageUp(end);
  std::shared_ptr<DirectBuffer> buf = DirectBuffer::Create(hi - lo);
  if (buf == nullptr) return Errno(ENOSYS);
  // The read first, straight into the buffer: its pages need no copy. The
  // caller is the only task using the address space and is in the sentry,
  // so no guest thread and no other task's CopyOut or Atomic32 writes the
  // range meanwhile; a writer from outside (CopyOutRemote) waits for mu_.
  // So the bytes of the first and last pages around the read, copied
  // next, are still the guest's when the buffer replaces them.
  // No early wake: the edge copies and the remap still follow the read.
  Piece piece{buf->base() + (addr - lo), end - addr};
  SysResult<size_t> spliced =
      SpliceInto(host_fd, offset, buf->fd(), addr - lo, end - addr);
  size_t n;
  if (spliced.ok()) {
    n = *spliced;
    // The next reads go through the sentry's mapping: its page table
    // entries now, 16 pages to a fault (~125 us per MiB), rather than one
    // write fault per page in the next read (~300). Best effort: a kernel
    // before 5.14 has no MADV_POPULATE_READ, and the reads fault instead.
    if (n == end - addr) madvise(buf->base(), hi - lo, kMadvPopulateRead);
  } else {
    SENTRY_ASSIGN_OR_RETURN(n, PreadPieces(host_fd, offset, &piece, 1, [] {}));
  }
  if (n < end - addr) {
    // Short (the file shrank since the fstat): the rest of the range keeps
    // what it held, so this buffer is not worth its copy.
    if (n == 0) return size_t{0};
    SysResult<size_t> w = as_->Write(addr, piece.at, n);
    if (!w.ok() || *w != n) return Errno(EFAULT);
    return n;
  }
  if (lo < addr) {
    SysResult<size_t> r = as_->Read(lo, buf->base(), addr - lo);
    if (!r.ok() || *r != addr - lo) return Errno(ENOSYS);
  }
  if (end < hi) {
    SysResult<size_t> r = as_->Read(end, buf->base() + (end - lo), hi - end);
    if (!r.ok() || *r != hi - end) return Errno(ENOSYS);
  }
  // Nothing changed if this fails: the caller reads again the old way.
  SENTRY_RETURN_IF_ERROR(MapDirectLocked(lo, hi, std::move(buf)));
  return n;
}

SysResult<size_t> MemoryManager::PreadIntoLocked(
    int host_fd, uint64_t offset, uint64_t addr, uint64_t end,
    absl::FunctionRef<void()> almost_done) const {
  // Where each part of the range is in the sentry; a range that strays
  // outside writable live buffers is left to the caller.
  constexpr size_t kMaxPieces = 16;
  Piece pieces[kMaxPieces];
  size_t count = 0;
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return Errno(ENOSYS);
  --it;
  for (uint64_t cur = addr; cur < end; ++it) {
    if (it == vmas_.end() || count == kMaxPieces) return Errno(ENOSYS);
    const Vma& v = it->second;
    if (v.start > cur || v.end <= cur || !v.direct || !v.direct_live ||
        (v.prot & PROT_WRITE) == 0) {
      return Errno(ENOSYS);
    }
    uint64_t n = std::min(end, v.end) - cur;
    pieces[count++] = {v.direct->base() + v.offset + (cur - v.start), n};
    cur += n;
  }
  return PreadPieces(host_fd, offset, pieces, count, almost_done);
}

SysResult<uint32_t> MemoryManager::Atomic32(GuestAddr addr,
                                            platform::AddressSpace::AtomicOp op,
                                            uint32_t operand,
                                            uint32_t expected) {
  if (addr.value() % 4 != 0 || addr.value() >= max_addr_) return Errno(EFAULT);
  return as_->Atomic32(addr.value(), op, operand, expected);
}

std::optional<MemoryManager::SharedKey> MemoryManager::SharedKeyFor(
    uint64_t addr) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return std::nullopt;
  --it;
  const Vma& v = it->second;
  if (addr >= v.end || !v.shared) return std::nullopt;
  uint64_t offset = v.offset + (addr - v.start);
  if (v.shm) return SharedKey{v.shm.get(), offset};
  if (v.file) return SharedKey{v.file->inode().get(), offset};
  return std::nullopt;
}

void MemoryManager::SetBrkStart(uint64_t start) {
  absl::MutexLock l(&mu_);
  brk_start_ = brk_ = start;
}

uint64_t MemoryManager::Brk(uint64_t addr) {
  absl::MutexLock l(&mu_);
  if (addr < brk_start_) return brk_;
  uint64_t old_top = PageUp(brk_);
  uint64_t new_top = PageUp(addr);
  if (new_top < addr) return brk_;
  if (new_top > old_top) {
    if (!RangeFree(old_top, new_top) || new_top > mmap_base_) return brk_;
    if (!WithinLimit(new_top - old_top)) return brk_;

    Vma heap;
    heap.start = old_top;
    heap.end = new_top;
    heap.prot = heap.max_prot = PROT_READ | PROT_WRITE;
    heap.max_prot |= PROT_EXEC;
    heap.name = "[heap]";
    if (!InsertLocked(std::move(heap)).ok()) return brk_;
  } else if (new_top < old_top) {
    if (!UnmapLocked(new_top, old_top).ok()) return brk_;
  }
  brk_ = addr;
  return brk_;
}

SysResult<size_t> MemoryManager::CopyIn(GuestAddr addr, void* dst, size_t len) {
  if (len == 0) return size_t{0};
  if (addr.value() >= max_addr_) return Errno(EFAULT);
  len = std::min<uint64_t>(len, max_addr_ - addr.value());
  return as_->Read(addr.value(), dst, len);
}

SysResult<size_t> MemoryManager::CopyOut(GuestAddr addr, const void* src,
                                         size_t len) {
  if (len == 0) return size_t{0};
  if (addr.value() >= max_addr_) return Errno(EFAULT);
  len = std::min<uint64_t>(len, max_addr_ - addr.value());
  return as_->Write(addr.value(), src, len);
}

SysResult<size_t> MemoryManager::CopyOutRemote(GuestAddr addr, const void* src,
                                               size_t len) {
  // Shared: see ConvertAndReadLocked.
  absl::ReaderMutexLock l(&mu_);
  return CopyOut(addr, src, len);
}

SysResult<std::string> MemoryManager::CopyInString(GuestAddr addr, size_t max) {
  std::string out;
  uint64_t cur = addr.value();
  char buf[kPageSize];
  while (out.size() <= max) {
    if (cur >= max_addr_) return Errno(EFAULT);
    // Never read across a page boundary in one go: the next page may be
    // unmapped even though the string ends before it.
    size_t chunk = kPageSize - (cur % kPageSize);
    chunk = std::min<size_t>(chunk, max + 1 - out.size());
    SysResult<size_t> n = as_->Read(cur, buf, chunk);
    if (!n.ok() || *n == 0) return Errno(EFAULT);
    const char* nul = static_cast<const char*>(memchr(buf, '\0', *n));
    if (nul != nullptr) {
      out.append(buf, static_cast<size_t>(nul - buf));
      if (out.size() > max) break;
      return out;
    }
    out.append(buf, *n);
    cur += *n;
  }
  return Errno(ENAMETOOLONG);
}

std::string MemoryManager::MapsText() const {
  absl::ReaderMutexLock l(&mu_);
  std::string out;
  for (auto it = vmas_.begin(); it != vmas_.end(); ++it) {
    const Vma& v = it->second;
    // Linux would have merged anonymous neighbours that differ only in
    // whether the sentry holds their pages (DirectBuffer): show them so.
    uint64_t end = v.end;
    while (std::next(it) != vmas_.end() &&
           OneMappingToLinux(it->second, std::next(it)->second)) {
      ++it;
      end = it->second.end;
    }
    std::string line = absl::StrFormat(
        "%08x-%08x %c%c%c%c %08x %02x:%02x %u ", v.start, end,
        (v.prot & PROT_READ) ? 'r' : '-', (v.prot & PROT_WRITE) ? 'w' : '-',
        (v.prot & PROT_EXEC) ? 'x' : '-', v.shared ? 's' : 'p',
        v.direct ? 0 : v.offset, major(v.dev), minor(v.dev), v.ino);
    if (!v.name.empty()) {
      // As show_map_vma(): pad to 72 columns, then one space, then the name.
      if (line.size() < 72) line.append(72 - line.size(), ' ');
      line += ' ';
      line += v.name;
    }
    out += line;
    out += '\n';
  }
  return out;
}

size_t MemoryManager::VmaCount() const {
  absl::ReaderMutexLock l(&mu_);
  return vmas_.size();
}

uint64_t MemoryManager::MappedBytes() const {
  absl::ReaderMutexLock l(&mu_);
  uint64_t total = 0;
  for (const auto& [start, v] : vmas_) total += v.end - v.start;
  return total;
}

std::optional<Vma> MemoryManager::FindVma(uint64_t addr) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return std::nullopt;
  --it;
  if (it->second.end <= addr) return std::nullopt;
  return it->second;
}

}  // namespace sentry::mm
