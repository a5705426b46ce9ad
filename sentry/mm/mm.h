// The memory manager of one guest address space: the authoritative list of
// VMAs, the layout (mmap base, brk, stack), and every change to the host
// address space, which it makes through the platform.
//
// Lock order: MemoryManager::mu_ is taken before any platform call that
// changes the address space, so the VMA list and the host stay in step.
// Copies take no lock: the host enforces the page protections. Only writes
// from outside the address space's tasks (CopyOutRemote) hold mu_ shared,
// so that turning memory into a DirectBuffer (exclusive, by its only task)
// loses none. PreadDirect and WriteDirect hold it across their host read or
// write, so the VMAs they go through stay put: WriteDirect's is a file's
// Write, so mu_ comes before the locks of host-backed files
// (vfs::FileDescription::WritesStraightToHost), which never call back into
// a MemoryManager.
//
// References: VMAs hold their file, shared memory and DirectBuffer by
// shared_ptr; a fork's child holds the same ones.

#ifndef SENTRY_MM_MM_H_
#define SENTRY_MM_MM_H_

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "platform/platform.h"
#include "sentry/base/guest_addr.h"
#include "sentry/base/host_fd.h"
#include "sentry/base/sys_result.h"
#include "sentry/vfs/file.h"

namespace sentry::mm {

// Private anonymous memory that the sentry maps too: a memfd the guest
// maps MAP_SHARED while the buffer is live, so a read from a host file can
// go straight into guest memory by a pread on the sentry's own thread (one
// copy, no injection into the guest; docs/large_reads.md), and a write to
// one can come straight from it. The pages of a buffer that a program reads
// into or writes from again and again become one (PreadDirect,
// WriteDirect). A fork freezes
// the buffer first (the guest maps it MAP_PRIVATE from then on, so parent
// and child each copy on write), and the sentry never writes it again.
class DirectBuffer final {
 public:
  // A zero-filled buffer of `size` bytes, or null where the host gives
  // none (or the sentry already holds kMaxDirectBuffers): the caller then
  // uses ordinary anonymous memory.
  static std::shared_ptr<DirectBuffer> Create(uint64_t size);
  ~DirectBuffer();
  DirectBuffer(const DirectBuffer&) = delete;
  DirectBuffer& operator=(const DirectBuffer&) = delete;

  int fd() const { return fd_.get(); }
  char* base() const { return base_; }
  uint64_t size() const { return size_; }
  // Makes [offset, offset+len) zero again and gives its pages back.
  void Zero(uint64_t offset, uint64_t len);

 private:
  DirectBuffer(HostFd fd, char* base, uint64_t size)
      : fd_(std::move(fd)), base_(base), size_(size) {}
  HostFd fd_;
  char* base_;
  uint64_t size_;
};

struct Vma {
  uint64_t start = 0;
  uint64_t end = 0;
  int prot = 0;      // PROT_READ | PROT_WRITE | PROT_EXEC
  int max_prot = 0;  // what mprotect may still grant (file access mode)
  bool shared = false;
  bool growsdown = false;
  // The mapped file (keeps its host fd alive), or null for anonymous memory.
  std::shared_ptr<vfs::FileDescription> file;
  // Shared anonymous memory lives in a memfd so forks share it.
  std::shared_ptr<HostFd> shm;
  uint64_t offset = 0;  // of `start` in the file or memfd
  // For /proc/PID/maps: "[heap]", "[stack]", or the file's path.
  std::string name;
  uint64_t dev = 0, ino = 0;
  // MADV_DONTFORK: not copied into a child; MADV_WIPEONFORK: zero there.
  bool dontfork = false;
  bool wipeonfork = false;
  // Private anonymous memory held in `direct` at `offset` (see
  // DirectBuffer); `direct_live` while the guest maps it shared, false once
  // a fork froze it.
  std::shared_ptr<DirectBuffer> direct;
  bool direct_live = false;
  // Where the last two large reads or writes went in this memory while it
  // was not direct (0: none), newest first: one more at either address
  // makes those pages direct. Two, so that a program that reads into one
  // buffer and writes from another in the same mapping gets both.
  uint64_t last_io[2] = {0, 0};
};

struct MMapRequest {
  uint64_t addr = 0;  // hint, or the address for MAP_FIXED
  uint64_t length = 0;
  int prot = 0;
  int flags = 0;                               // MAP_*
  std::shared_ptr<vfs::FileDescription> file;  // null unless file-backed
  uint64_t offset = 0;
  std::string name;  // for maps; defaults to the file's path
  // Memory the sentry itself provides (the vDSO and its parameter page): a
  // host fd mapped at `offset`, with mprotect limited to `max_prot`.
  std::shared_ptr<HostFd> backing;
  int max_prot = 0;
};

class MemoryManager final {
 public:
  MemoryManager(std::unique_ptr<platform::AddressSpace> as, uint64_t max_addr);
  MemoryManager(const MemoryManager&) = delete;
  MemoryManager& operator=(const MemoryManager&) = delete;

  platform::AddressSpace& as() { return *as_; }
  uint64_t max_addr() const { return max_addr_; }

  // Chooses the randomized layout (mmap base, stack top) for a new image.
  void ChooseLayout(uint64_t stack_rlimit, bool randomize);
  uint64_t mmap_base() const;
  uint64_t stack_top() const;

  // mmap(2), after the syscall layer checked flags and the file's access.
  SysResult<uint64_t> MMap(const MMapRequest& req);
  SysResult<void> MUnmap(uint64_t addr, uint64_t length);
  SysResult<void> MProtect(uint64_t addr, uint64_t length, int prot);
  SysResult<uint64_t> MRemap(uint64_t old_addr, uint64_t old_len,
                             uint64_t new_len, int flags, uint64_t new_addr);
  SysResult<void> MAdvise(uint64_t addr, uint64_t length, int advice);

  // fork(2): a copy-on-write copy of this address space and its VMAs
  // (without those marked MADV_DONTFORK).
  SysResult<std::shared_ptr<MemoryManager>> Fork();

  // RLIMIT_AS: mappings that would take the total beyond it fail.
  void set_as_limit(uint64_t limit);

  // The user time that the tasks running in this address space have
  // counted against its stub process's host CPU clock (Task::AccountUser):
  // together they may not count more than it gained, however long each
  // waited for a CPU in its Switch.
  std::atomic<int64_t>& user_ns_claimed() { return user_ns_claimed_; }

  // pread(2) of `host_fd` (a regular file) at `offset` into guest memory
  // at [addr, addr+len) by the sentry itself, where all of that range is
  // live DirectBuffer memory the guest may write; ENOSYS where it is not
  // (the caller then goes another way). Returns what pread returned.
  // `sole_user`: the caller is the only task using this address space, so
  // the pages of anonymous memory read into a second time at the same
  // address may be made a DirectBuffer here (no guest thread can write them
  // meanwhile).
  // `almost_done` runs before the last kAlmostDoneTail bytes of a longer
  // read (Context::ResumeSoon), not at all for a shorter one.
  SysResult<size_t> PreadDirect(int host_fd, uint64_t offset, uint64_t addr,
                                size_t len, bool sole_user,
                                absl::FunctionRef<void()> almost_done);
  // ~10-15 us of copying from the page cache here.
  static constexpr uint64_t kAlmostDoneTail = 128 * 1024;

  // write(2) from guest memory with no copy: calls `write` with the
  // sentry's view of [addr, addr+len), under mu_, where all of it
  // is in one live DirectBuffer the guest may read; ENOSYS where it is not
  // (the caller copies then). `sole_user`: as for PreadDirect; memory
  // written from twice may be made a DirectBuffer here. `write` must not
  // call back into this MemoryManager, and must read the view at most once
  // (it is guest memory: other guest threads may change it meanwhile).
  SysResult<size_t> WriteDirect(
      uint64_t addr, size_t len, bool sole_user,
      absl::FunctionRef<SysResult<size_t>(const char*)> write);

  // An atomic update of a guest word (futexes): see AddressSpace::Atomic32.
  SysResult<uint32_t> Atomic32(GuestAddr addr,
                               platform::AddressSpace::AtomicOp op,
                               uint32_t operand, uint32_t expected = 0);

  // What a futex at `addr` is keyed by when shared between processes: the
  // file or shared memory and the offset in it, or nullopt for private
  // memory (keyed by address space and address).
  struct SharedKey {
    const void* object;
    uint64_t offset;
  };
  std::optional<SharedKey> SharedKeyFor(uint64_t addr) const;

  // brk(2): sets up the heap at `start` for a new image, then moves its end.
  void SetBrkStart(uint64_t start);
  uint64_t Brk(uint64_t addr);

  // Guest memory access, honouring page protections. CopyIn/CopyOut return
  // what was copied (short at a fault); the Full variants demand all of it.
  SysResult<size_t> CopyIn(GuestAddr addr, void* dst, size_t len);
  SysResult<size_t> CopyOut(GuestAddr addr, const void* src, size_t len);
  // CopyOut by a writer that is not a task of this address space
  // (process_vm_writev): it must not fall between PreadDirect's copy of a
  // mapping and its remap.
  SysResult<size_t> CopyOutRemote(GuestAddr addr, const void* src, size_t len);
  // Reads a NUL-terminated string of at most `max` bytes (NUL excluded):
  // ENAMETOOLONG if longer, EFAULT if unreadable.
  SysResult<std::string> CopyInString(GuestAddr addr, size_t max);

  // The text of /proc/PID/maps.
  std::string MapsText() const;

  size_t VmaCount() const;
  // Total mapped bytes (for /proc/PID/status VmSize).
  uint64_t MappedBytes() const;
  // Finds the VMA containing addr.
  std::optional<Vma> FindVma(uint64_t addr) const;

 private:
  using VmaMap = std::map<uint64_t, Vma>;  // keyed by start

  // Picks where a mapping of `len` bytes goes: at the hint if it is free,
  // else top-down below the mmap base.
  SysResult<uint64_t> FindGap(uint64_t hint, uint64_t len) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool RangeFree(uint64_t start, uint64_t end) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool RangeFullyMapped(uint64_t start, uint64_t end) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Splits VMAs so that `addr` is a boundary.
  void SplitAt(uint64_t addr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes [start, end) from the list and the host.
  SysResult<void> UnmapLocked(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Maps `vma` on the host and inserts it.
  SysResult<void> InsertLocked(Vma vma) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MergeAround(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The sentry's view of [addr, end) if that is all in one live, readable
  // DirectBuffer VMA, else null.
  const char* DirectViewLocked(uint64_t addr, uint64_t end) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether [addr, end) is ordinary anonymous memory that a large read or
  // write went to last time too (remembering this one otherwise).
  bool SecondTransferLocked(uint64_t addr, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the pages [lo, hi) of an ordinary anonymous VMA `buf`, which
  // holds what they should: splits the VMA there and maps `buf` over them.
  // ENOSYS if the host refuses, with nothing changed.
  SysResult<void> MapDirectLocked(uint64_t lo, uint64_t hi,
                                  std::shared_ptr<DirectBuffer> buf)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // PreadDirect's read into [addr, end), ordinary anonymous memory, made
  // by making the pages it lands in a new DirectBuffer: the read goes into
  // the buffer, which then replaces them (with the bytes around the read
  // copied). ENOSYS if it cannot, or if the file is too short to fill
  // the range (a short read that races a truncation is copied out
  // instead); the memory is then as it was.
  SysResult<size_t> ConvertAndReadLocked(int host_fd, uint64_t offset,
                                         uint64_t addr, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The pread of PreadDirect over [addr, end), if that is all live direct
  // memory.
  SysResult<size_t> PreadIntoLocked(int host_fd, uint64_t offset, uint64_t addr,
                                    uint64_t end,
                                    absl::FunctionRef<void()> almost_done) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // mremap(2) takes one VMA; where DirectBuffer pages split what Linux
  // holds as one mapping across [addr, addr+len), makes those pages
  // ordinary anonymous memory again so that the range is one VMA.
  SysResult<void> JoinDirectPiecesLocked(uint64_t addr, uint64_t len)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Turns the direct VMA at `it` into ordinary anonymous memory with the
  // same contents (for advice the host only takes for that).
  SysResult<void> UndirectLocked(VmaMap::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  platform::MapSource SourceOf(const Vma& v) const;

  const std::unique_ptr<platform::AddressSpace> as_;
  const uint64_t max_addr_;

  mutable absl::Mutex mu_;
  VmaMap vmas_ ABSL_GUARDED_BY(mu_);
  uint64_t mmap_base_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t stack_top_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t brk_start_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t brk_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t as_limit_ ABSL_GUARDED_BY(mu_) = ~0ULL;
  std::atomic<int64_t> user_ns_claimed_{0};
  // Whether growing the mappings by `len` stays within RLIMIT_AS.
  bool WithinLimit(uint64_t len) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
};

}  // namespace sentry::mm

#endif  // SENTRY_MM_MM_H_
