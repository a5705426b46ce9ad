// mmap(2), munmap(2), mprotect(2), mremap(2), madvise(2), msync(2), brk(2)
// and the /proc/self/maps view of the address space.

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "test/util/test_util.h"

namespace {

using testing_util::ReadFile;
using testing_util::TempPath;
using testing_util::WriteFile;

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

char* MapAnon(size_t len, int prot = PROT_READ | PROT_WRITE,
              int flags = MAP_PRIVATE) {
  void* p = mmap(nullptr, len, prot, flags | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}

struct MapsLine {
  uintptr_t start = 0, end = 0;
  std::string perms;
  std::string name;
};

// Parses /proc/self/maps; `ok` is cleared if any line is malformed.
std::vector<MapsLine> ReadMaps(bool* ok = nullptr) {
  std::vector<MapsLine> out;
  std::string maps = ReadFile("/proc/self/maps");
  size_t pos = 0;
  if (ok) *ok = !maps.empty() && maps.back() == '\n';
  while (pos < maps.size()) {
    size_t nl = maps.find('\n', pos);
    if (nl == std::string::npos) nl = maps.size();
    std::string line = maps.substr(pos, nl - pos);
    pos = nl + 1;
    MapsLine m;
    unsigned long start, end, offset, inode;
    unsigned dev_major, dev_minor;
    char perms[5] = {};
    int name_at = -1;
    int n = sscanf(line.c_str(), "%lx-%lx %4c %lx %x:%x %lu %n", &start, &end,
                   perms, &offset, &dev_major, &dev_minor, &inode, &name_at);
    bool good = n == 7 && name_at > 0 && start < end && start % kPage == 0 &&
                end % kPage == 0 && (perms[0] == 'r' || perms[0] == '-') &&
                (perms[1] == 'w' || perms[1] == '-') &&
                (perms[2] == 'x' || perms[2] == '-') &&
                (perms[3] == 'p' || perms[3] == 's');
    if (!good) {
      if (ok) *ok = false;
      ADD_FAILURE() << "malformed maps line: '" << line << "'";
      continue;
    }
    m.start = start;
    m.end = end;
    m.perms = perms;
    m.name = line.substr(static_cast<size_t>(name_at));
    out.push_back(m);
  }
  return out;
}

// The maps entry containing addr, or an empty one.
MapsLine FindMapping(const void* addr) {
  uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  for (const MapsLine& m : ReadMaps()) {
    if (m.start <= a && a < m.end) return m;
  }
  return MapsLine();
}

class MmapFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "file";
    // Two and a half pages of a known pattern.
    content_.resize(kPage * 2 + kPage / 2);
    for (size_t i = 0; i < content_.size(); i++)
      content_[i] = static_cast<char>('a' + i % 26);
    WriteFile(path_, content_);
  }

  // Maps `len` bytes of the file from `offset` through a read-only
  // descriptor that is closed again at once (the mapping keeps the file);
  // MAP_FAILED if the open or the mmap failed.
  char* MapFile(size_t len, int prot, int flags, off_t offset = 0) {
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (fd < 0) return static_cast<char*>(MAP_FAILED);
    void* p = mmap(nullptr, len, prot, flags, fd, offset);
    close(fd);
    return static_cast<char*>(p);
  }

  TempPath dir_;
  std::string path_;
  std::string content_;
};

TEST(MmapTest, AnonymousPrivateIsZeroedAndWritable) {
  char* p = MapAnon(4 * kPage);
  ASSERT_NE(p, nullptr) << strerror(errno);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kPage, 0u);
  for (size_t i = 0; i < 4 * kPage; i++) ASSERT_EQ(p[i], 0) << i;
  memset(p, 0x5a, 4 * kPage);
  EXPECT_EQ(p[0], 0x5a);
  EXPECT_EQ(p[4 * kPage - 1], 0x5a);
  EXPECT_EQ(munmap(p, 4 * kPage), 0);
}

TEST(MmapTest, LengthIsRoundedUpToAPage) {
  char* p = MapAnon(10);
  ASSERT_NE(p, nullptr);
  p[kPage - 1] = 1;  // the rest of the page is usable
  MapsLine m = FindMapping(p);
  EXPECT_EQ(m.end - m.start >= kPage, true);
  EXPECT_EQ(m.perms, "rw-p");
  EXPECT_EQ(munmap(p, 10), 0);
}

TEST(MmapTest, SharedAnonymousIsZeroedAndWritable) {
  char* p = MapAnon(2 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED);
  ASSERT_NE(p, nullptr) << strerror(errno);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[2 * kPage - 1], 0);
  strcpy(p, "shared");
  EXPECT_STREQ(p, "shared");
  MapsLine m = FindMapping(p);
  EXPECT_EQ(m.perms, "rw-s");
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST_F(MmapFileTest, PrivateFileMappingIsACopyOnWriteView) {
  char* p = MapFile(3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_EQ(std::string(p, content_.size()), content_);
  // Past the end of the file, the last page is zero-filled.
  EXPECT_EQ(p[content_.size()], 0);
  EXPECT_EQ(p[3 * kPage - 1], 0);
  p[0] = '#';
  p[kPage] = '#';
  EXPECT_EQ(p[0], '#');
  EXPECT_EQ(ReadFile(path_), content_);
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST_F(MmapFileTest, OffsetMapsFromThatPageOfTheFile) {
  char* p = MapFile(kPage, PROT_READ, MAP_PRIVATE, kPage);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_EQ(std::string(p, kPage), content_.substr(kPage, kPage));
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST_F(MmapFileTest, SharedFileMappingWritesReachTheFile) {
  int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char* p = static_cast<char*>(
      mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  memcpy(p + 3, "XYZ", 3);
  EXPECT_EQ(msync(p, 2 * kPage, MS_SYNC), 0);
  char buf[6] = {};
  EXPECT_EQ(pread(fd, buf, 6, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "abcXYZ");
  // And writes to the file show up in the mapping.
  EXPECT_EQ(pwrite(fd, "!!", 2, kPage), 2);
  EXPECT_EQ(p[kPage], '!');
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
  close(fd);
}

TEST(MmapTest, FixedReplacesPartOfAMapping) {
  char* p = MapAnon(3 * kPage);
  ASSERT_NE(p, nullptr);
  memset(p, 'x', 3 * kPage);
  void* q = mmap(p + kPage, kPage, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(q, p + kPage) << strerror(errno);
  EXPECT_EQ(p[0], 'x');
  EXPECT_EQ(p[kPage], 0);  // the new mapping is fresh
  EXPECT_EQ(p[2 * kPage - 1], 0);
  EXPECT_EQ(p[2 * kPage], 'x');
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(MmapTest, FixedNoReplaceRefusesAnOccupiedRange) {
  char* p = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  p[0] = 'k';
  EXPECT_ERRNO(mmap(p + kPage, kPage, PROT_READ,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
               EEXIST);
  EXPECT_EQ(p[0], 'k');
  // A free range is taken at exactly that address.
  ASSERT_EQ(munmap(p + kPage, kPage), 0);
  void* q = mmap(p + kPage, kPage, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  EXPECT_EQ(q, p + kPage) << strerror(errno);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(MmapTest, MunmapFreesTheRange) {
  char* p = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(FindMapping(p).end, 0u);
  ASSERT_EQ(munmap(p, 2 * kPage), 0);
  EXPECT_EQ(FindMapping(p).end, 0u);
  EXPECT_EQ(FindMapping(p + kPage).end, 0u);
  // The range is free: a no-replace mapping there succeeds.
  void* q = mmap(p, 2 * kPage, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  EXPECT_EQ(q, p) << strerror(errno);
  if (q != MAP_FAILED) munmap(q, 2 * kPage);
  // Unmapping a free range is not an error.
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(MmapTest, MunmapSplitsAMapping) {
  char* p = MapAnon(3 * kPage);
  ASSERT_NE(p, nullptr);
  memset(p, 'y', 3 * kPage);
  ASSERT_EQ(munmap(p + kPage, kPage), 0);
  MapsLine lo = FindMapping(p), hi = FindMapping(p + 2 * kPage);
  EXPECT_EQ(lo.end, reinterpret_cast<uintptr_t>(p + kPage));
  EXPECT_EQ(hi.start, reinterpret_cast<uintptr_t>(p + 2 * kPage));
  EXPECT_EQ(FindMapping(p + kPage).end, 0u);
  EXPECT_EQ(p[0], 'y');
  EXPECT_EQ(p[2 * kPage], 'y');
  munmap(p, 3 * kPage);
}

TEST(MmapTest, MunmapErrors) {
  char* p = MapAnon(kPage);
  ASSERT_NE(p, nullptr);
  EXPECT_ERRNO(munmap(p + 1, kPage), EINVAL);
  EXPECT_ERRNO(munmap(p, 0), EINVAL);
  munmap(p, kPage);
}

TEST(MmapTest, MprotectChangesThePermissions) {
  char* p = MapAnon(3 * kPage);
  ASSERT_NE(p, nullptr);
  p[kPage] = 'q';
  ASSERT_EQ(mprotect(p + kPage, kPage, PROT_READ), 0);
  EXPECT_EQ(FindMapping(p + kPage).perms, "r--p");
  EXPECT_EQ(FindMapping(p).perms, "rw-p");
  EXPECT_EQ(FindMapping(p + 2 * kPage).perms, "rw-p");
  EXPECT_EQ(p[kPage], 'q');  // the contents survive
  ASSERT_EQ(mprotect(p + kPage, kPage, PROT_READ | PROT_WRITE), 0);
  p[kPage] = 'r';
  EXPECT_EQ(p[kPage], 'r');
  munmap(p, 3 * kPage);
}

TEST(MmapTest, MprotectErrors) {
  char* p = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  EXPECT_ERRNO(mprotect(p + 1, kPage, PROT_READ), EINVAL);
  EXPECT_ERRNO(mprotect(p, kPage, 0x100), EINVAL);  // unknown PROT bit
  // A range that runs into unmapped memory.
  ASSERT_EQ(munmap(p + kPage, kPage), 0);
  EXPECT_ERRNO(mprotect(p, 2 * kPage, PROT_READ), ENOMEM);
  ASSERT_EQ(munmap(p, kPage), 0);
  EXPECT_ERRNO(mprotect(p, kPage, PROT_READ), ENOMEM);
}

TEST_F(MmapFileTest, SharedWritableNeedsAWritableDescriptor) {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
               EACCES);
  // A private writable mapping of the same descriptor is fine.
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  EXPECT_NE(p, MAP_FAILED) << strerror(errno);
  if (p != MAP_FAILED) munmap(p, kPage);
  // And a shared read-only mapping cannot be made writable later.
  p = mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_ERRNO(mprotect(p, kPage, PROT_READ | PROT_WRITE), EACCES);
  munmap(p, kPage);
  close(fd);
  // Any mapping needs read access to the file.
  fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0), EACCES);
  close(fd);
}

TEST_F(MmapFileTest, InvalidArguments) {
  int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(mmap(nullptr, 0, PROT_READ, MAP_PRIVATE, fd, 0), EINVAL);
  EXPECT_ERRNO(mmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
               EINVAL);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, 0, fd, 0), EINVAL);  // neither
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 1), EINVAL);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, kPage / 2),
               EINVAL);
  // MAP_FIXED needs an aligned address.
  EXPECT_ERRNO(mmap(reinterpret_cast<void*>(0x10000001), kPage, PROT_READ,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
               EINVAL);
  close(fd);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0), EBADF);
  // A directory cannot be mapped.
  int dfd = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  EXPECT_ERRNO(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);
  close(dfd);
}

long Brk(uintptr_t addr) { return syscall(SYS_brk, addr); }

TEST(BrkTest, GrowsAndShrinks) {
  // Everything is recorded first and checked after the break is restored,
  // so that no allocation by the test framework sees a moved break.
  uintptr_t start = static_cast<uintptr_t>(Brk(0));
  uintptr_t grown = static_cast<uintptr_t>(Brk(start + 16 * kPage));
  bool writable = false, zeroed = false;
  if (grown == start + 16 * kPage) {
    char* mem = reinterpret_cast<char*>((start + kPage - 1) & ~(kPage - 1));
    zeroed = mem[0] == 0 && mem[8 * kPage] == 0;
    mem[0] = 1;
    mem[8 * kPage] = 2;
    writable = mem[0] == 1 && mem[8 * kPage] == 2;
  }
  uintptr_t shrunk = static_cast<uintptr_t>(Brk(start));
  uintptr_t now = static_cast<uintptr_t>(Brk(0));
  EXPECT_NE(start, 0u);
  EXPECT_EQ(grown, start + 16 * kPage);
  EXPECT_TRUE(zeroed);
  EXPECT_TRUE(writable);
  EXPECT_EQ(shrunk, start);
  EXPECT_EQ(now, start);
}

TEST(BrkTest, ShrunkMemoryComesBackZeroed) {
  uintptr_t start = static_cast<uintptr_t>(Brk(0));
  uintptr_t page = (start + kPage - 1) & ~(kPage - 1);
  char* mem = reinterpret_cast<char*>(page + kPage);
  uintptr_t grown1 = static_cast<uintptr_t>(Brk(page + 4 * kPage));
  if (grown1 == page + 4 * kPage) mem[0] = 'z';
  uintptr_t shrunk = static_cast<uintptr_t>(Brk(page));
  uintptr_t grown2 = static_cast<uintptr_t>(Brk(page + 4 * kPage));
  char after = grown2 == page + 4 * kPage ? mem[0] : 'E';
  Brk(start);
  EXPECT_EQ(grown1, page + 4 * kPage);
  EXPECT_EQ(shrunk, page);
  EXPECT_EQ(grown2, page + 4 * kPage);
  EXPECT_EQ(after, 0);
  EXPECT_EQ(static_cast<uintptr_t>(Brk(0)), start);
}

TEST(BrkTest, ImpossibleRequestsLeaveTheBreakUnchanged) {
  uintptr_t start = static_cast<uintptr_t>(Brk(0));
  // Below the data segment, and into kernel space: brk returns the old break.
  uintptr_t low = static_cast<uintptr_t>(Brk(4096));
  uintptr_t high =
      static_cast<uintptr_t>(Brk(~static_cast<uintptr_t>(0) - kPage));
  EXPECT_EQ(low, start);
  EXPECT_EQ(high, start);
  EXPECT_EQ(static_cast<uintptr_t>(Brk(0)), start);
}

TEST(BrkTest, MapsShowsTheHeapAfterGrowing) {
  uintptr_t start = static_cast<uintptr_t>(Brk(0));
  uintptr_t grown = static_cast<uintptr_t>(Brk(start + 4 * kPage));
  std::string maps = ReadFile("/proc/self/maps");
  Brk(start);
  EXPECT_EQ(grown, start + 4 * kPage);
  EXPECT_NE(maps.find("[heap]"), std::string::npos) << maps;
}

TEST(MremapTest, GrowsInPlaceWhenTheNextPagesAreFree) {
  char* p = MapAnon(3 * kPage);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(munmap(p + kPage, 2 * kPage), 0);
  p[0] = 'g';
  void* q = mremap(p, kPage, 3 * kPage, 0);
  ASSERT_EQ(q, p) << strerror(errno);
  EXPECT_EQ(p[0], 'g');
  EXPECT_EQ(p[3 * kPage - 1], 0);
  // Linux may merge the grown mapping with an adjacent one of the same kind,
  // so only containment is certain.
  MapsLine m = FindMapping(p);
  EXPECT_LE(m.start, reinterpret_cast<uintptr_t>(p));
  EXPECT_GE(m.end, reinterpret_cast<uintptr_t>(p + 3 * kPage));
  munmap(p, 3 * kPage);
}

TEST(MremapTest, MayMoveKeepsTheContents) {
  char* p = MapAnon(3 * kPage);
  ASSERT_NE(p, nullptr);
  // The third page, made a separate read-only mapping, blocks growth in
  // place.
  char* blocker = p + 2 * kPage;
  ASSERT_EQ(mprotect(blocker, kPage, PROT_READ), 0);
  for (size_t i = 0; i < 2 * kPage; i++) p[i] = static_cast<char>(i % 251);
  EXPECT_ERRNO(mremap(p, 2 * kPage, 8 * kPage, 0), ENOMEM);
  char* q = static_cast<char*>(mremap(p, 2 * kPage, 8 * kPage, MREMAP_MAYMOVE));
  ASSERT_NE(q, MAP_FAILED) << strerror(errno);
  EXPECT_NE(q, p);
  bool same = true;
  for (size_t i = 0; i < 2 * kPage; i++)
    same = same && q[i] == static_cast<char>(i % 251);
  EXPECT_TRUE(same);
  EXPECT_EQ(q[8 * kPage - 1], 0);
  // The old range is gone.
  EXPECT_EQ(FindMapping(p).end, 0u);
  munmap(q, 8 * kPage);
  munmap(blocker, kPage);
}

TEST(MremapTest, ShrinkKeepsTheAddressAndUnmapsTheTail) {
  char* p = MapAnon(4 * kPage);
  ASSERT_NE(p, nullptr);
  p[0] = 's';
  EXPECT_EQ(mremap(p, 4 * kPage, kPage, 0), p);
  EXPECT_EQ(p[0], 's');
  EXPECT_EQ(FindMapping(p + kPage).end, 0u);
  munmap(p, kPage);
}

TEST(MremapTest, FixedMovesToTheGivenAddress) {
  char* p = MapAnon(kPage);
  char* dst = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(dst, nullptr);
  strcpy(p, "moved");
  void* q = mremap(p, kPage, kPage, MREMAP_MAYMOVE | MREMAP_FIXED, dst + kPage);
  ASSERT_EQ(q, dst + kPage) << strerror(errno);
  EXPECT_STREQ(dst + kPage, "moved");
  EXPECT_EQ(FindMapping(p).end, 0u);
  munmap(dst, 2 * kPage);
}

TEST(MremapTest, InvalidArguments) {
  char* p = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  EXPECT_ERRNO(mremap(p + 1, kPage, 2 * kPage, MREMAP_MAYMOVE), EINVAL);
  EXPECT_ERRNO(mremap(p, kPage, 0, MREMAP_MAYMOVE), EINVAL);
  EXPECT_ERRNO(mremap(p, kPage, kPage, MREMAP_FIXED, p + kPage),
               EINVAL);                                 // FIXED needs MAYMOVE
  EXPECT_ERRNO(mremap(p, kPage, kPage, 0x40), EINVAL);  // unknown flag
  ASSERT_EQ(munmap(p, 2 * kPage), 0);
  EXPECT_ERRNO(mremap(p, kPage, 2 * kPage, MREMAP_MAYMOVE),
               EFAULT);  // nothing mapped there
}

TEST(MadviseTest, DontneedZeroesPrivateAnonymousPages) {
  char* p = MapAnon(3 * kPage);
  ASSERT_NE(p, nullptr);
  memset(p, 'd', 3 * kPage);
  ASSERT_EQ(madvise(p + kPage, kPage, MADV_DONTNEED), 0);
  EXPECT_EQ(p[0], 'd');
  EXPECT_EQ(p[kPage], 0);
  EXPECT_EQ(p[2 * kPage - 1], 0);
  EXPECT_EQ(p[2 * kPage], 'd');
  // The mapping is still there and usable.
  p[kPage] = 'e';
  EXPECT_EQ(p[kPage], 'e');
  munmap(p, 3 * kPage);
}

TEST_F(MmapFileTest, DontneedOnAPrivateFileMappingRevertsToTheFile) {
  char* p = MapFile(kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  ASSERT_NE(p, MAP_FAILED);
  p[0] = '#';
  ASSERT_EQ(madvise(p, kPage, MADV_DONTNEED), 0);
  EXPECT_EQ(p[0], 'a');
  munmap(p, kPage);
}

TEST(MadviseTest, Errors) {
  char* p = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  EXPECT_ERRNO(madvise(p + 1, kPage, MADV_NORMAL), EINVAL);
  EXPECT_ERRNO(madvise(p, kPage, 12345), EINVAL);
  ASSERT_EQ(munmap(p + kPage, kPage), 0);
  EXPECT_ERRNO(madvise(p, 2 * kPage, MADV_NORMAL), ENOMEM);
  munmap(p, kPage);
}

TEST(MsyncTest, Errors) {
  char* p = MapAnon(2 * kPage);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(msync(p, 2 * kPage, MS_SYNC), 0);
  EXPECT_EQ(msync(p, kPage, MS_ASYNC), 0);
  EXPECT_ERRNO(msync(p + 1, kPage, MS_SYNC), EINVAL);
  EXPECT_ERRNO(msync(p, kPage, MS_SYNC | MS_ASYNC), EINVAL);
  EXPECT_ERRNO(msync(p, kPage, 0x100), EINVAL);
  ASSERT_EQ(munmap(p + kPage, kPage), 0);
  EXPECT_ERRNO(msync(p, 2 * kPage, MS_SYNC), ENOMEM);
  munmap(p, kPage);
  EXPECT_ERRNO(msync(p, kPage, MS_SYNC), ENOMEM);
}

TEST(ProcMapsTest, LinesAreWellFormed) {
  bool ok = false;
  std::vector<MapsLine> maps = ReadMaps(&ok);
  EXPECT_TRUE(ok);
  ASSERT_FALSE(maps.empty());
  // Sorted by address and non-overlapping.
  for (size_t i = 1; i < maps.size(); i++) {
    EXPECT_LE(maps[i - 1].end, maps[i].start) << i;
  }
  bool stack = false;
  for (const MapsLine& m : maps) stack = stack || m.name == "[stack]";
  EXPECT_TRUE(stack);
  // Our own stack variable lives in [stack] (single-threaded process).
  int local = 0;
  EXPECT_EQ(FindMapping(&local).name, "[stack]");
}

TEST(ProcMapsTest, ShowsANewMappingWithItsPermissions) {
  char* p = MapAnon(2 * kPage, PROT_READ | PROT_EXEC);
  ASSERT_NE(p, nullptr);
  MapsLine m = FindMapping(p);
  EXPECT_LE(m.start, reinterpret_cast<uintptr_t>(p));
  EXPECT_GE(m.end, reinterpret_cast<uintptr_t>(p + 2 * kPage));
  EXPECT_EQ(m.perms, "r-xp");
  EXPECT_EQ(m.name, "");
  munmap(p, 2 * kPage);
}

TEST_F(MmapFileTest, ProcMapsNamesAFileMapping) {
  char* p = MapFile(kPage, PROT_READ, MAP_SHARED, kPage);
  ASSERT_NE(p, MAP_FAILED);
  char* real = realpath(path_.c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  std::string want = real;
  free(real);
  std::string maps = ReadFile("/proc/self/maps");
  MapsLine m = FindMapping(p);
  EXPECT_EQ(m.perms, "r--s");
  EXPECT_EQ(m.name, want);
  // The offset column is the file offset in hex.
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "%lx-%lx r--s %08lx ",
           static_cast<unsigned long>(m.start),
           static_cast<unsigned long>(m.end),
           static_cast<unsigned long>(kPage));
  EXPECT_NE(maps.find(prefix), std::string::npos) << prefix << "\n" << maps;
  munmap(p, kPage);
}

}  // namespace
