// VMA bookkeeping, checked against a fake address space that records what
// the memory manager asked the host to do.

#include "sentry/mm/mm.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sentry::mm {
namespace {

constexpr uint64_t kMax = 0x7fffffffe000;

// Tracks host pages (address -> prot) and their contents.
class FakeAddressSpace : public platform::AddressSpace {
 public:
  std::map<uint64_t, int> pages;
  std::map<uint64_t, std::string> data;
  int calls = 0;

  SysResult<void> Map(uint64_t addr, uint64_t len, int prot,
                      const platform::MapSource&) override {
    calls++;
    for (uint64_t p = addr; p < addr + len; p += kPageSize) {
      pages[p] = prot;
      data.erase(p);
    }
    return Ok();
  }
  SysResult<void> Unmap(uint64_t addr, uint64_t len) override {
    calls++;
    for (uint64_t p = addr; p < addr + len; p += kPageSize)
      pages.erase(p), data.erase(p);
    return Ok();
  }
  SysResult<void> Protect(uint64_t addr, uint64_t len, int prot) override {
    calls++;
    for (uint64_t p = addr; p < addr + len; p += kPageSize) pages[p] = prot;
    return Ok();
  }
  SysResult<void> Remap(uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
                        uint64_t new_len) override {
    calls++;
    std::map<uint64_t, int> moved;
    std::map<uint64_t, std::string> moved_data;
    for (uint64_t off = 0; off < new_len; off += kPageSize) {
      uint64_t from = old_addr + off;
      int prot = off < old_len ? pages[from] : pages[old_addr];
      moved[new_addr + off] = prot;
      if (off < old_len && data.count(from))
        moved_data[new_addr + off] = data[from];
    }
    for (uint64_t p = old_addr; p < old_addr + old_len; p += kPageSize)
      pages.erase(p), data.erase(p);
    for (auto& [p, prot] : moved) pages[p] = prot;
    for (auto& [p, d] : moved_data) data[p] = d;
    return Ok();
  }
  SysResult<std::unique_ptr<platform::AddressSpace>> Fork() override {
    auto child = std::make_unique<FakeAddressSpace>();
    child->pages = pages;
    child->data = data;
    return std::unique_ptr<platform::AddressSpace>(std::move(child));
  }
  SysResult<uint32_t> Atomic32(uint64_t addr, AtomicOp op, uint32_t operand,

                               uint32_t expected) override {
    uint32_t old;
    SENTRY_ASSIGN_OR_RETURN(size_t n, Read(addr, &old, sizeof(old)));
    if (n != sizeof(old)) return Errno(EFAULT);
    uint32_t next = old;
    switch (op) {
      case AtomicOp::kSet:
        next = operand;
        break;
      case AtomicOp::kAdd:
        next = old + operand;
        break;
      case AtomicOp::kOr:
        next = old | operand;
        break;
      case AtomicOp::kAndNot:
        next = old & ~operand;
        break;
      case AtomicOp::kXor:
        next = old ^ operand;
        break;
      case AtomicOp::kCompareExchange:
        next = old == expected ? operand : old;
        break;
    }
    SENTRY_RETURN_IF_ERROR(Write(addr, &next, sizeof(next)).status());
    return old;
  }
  SysResult<void> Advise(uint64_t addr, uint64_t len, int) override {
    for (uint64_t p = addr; p < addr + len; p += kPageSize) data.erase(p);
    return Ok();
  }
  SysResult<size_t> Read(uint64_t addr, void* dst, size_t len) override {
    size_t done = 0;
    while (done < len) {
      uint64_t page = (addr + done) & ~(kPageSize - 1);
      auto it = pages.find(page);
      if (it == pages.end() || !(it->second & PROT_READ)) break;
      size_t off = (addr + done) - page;
      size_t n = std::min(len - done, kPageSize - off);
      std::string& d = data[page];
      d.resize(kPageSize);
      memcpy(static_cast<char*>(dst) + done, d.data() + off, n);
      done += n;
    }
    if (done == 0) return Errno(EFAULT);
    return done;
  }
  SysResult<size_t> Write(uint64_t addr, const void* src, size_t len) override {
    size_t done = 0;
    while (done < len) {
      uint64_t page = (addr + done) & ~(kPageSize - 1);
      auto it = pages.find(page);
      if (it == pages.end() || !(it->second & PROT_WRITE)) break;
      size_t off = (addr + done) - page;
      size_t n = std::min(len - done, kPageSize - off);
      std::string& d = data[page];
      d.resize(kPageSize);
      memcpy(d.data() + off, static_cast<const char*>(src) + done, n);
      done += n;
    }
    if (done == 0) return Errno(EFAULT);
    return done;
  }
};

class MmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = std::make_unique<FakeAddressSpace>();
    as_ = fake.get();
    mm_ = std::make_unique<MemoryManager>(std::move(fake), kMax);
    mm_->ChooseLayout(8 << 20, /*randomize=*/false);
  }
  uint64_t Anon(uint64_t len, int prot = PROT_READ | PROT_WRITE,
                uint64_t addr = 0, int flags = MAP_PRIVATE | MAP_ANONYMOUS) {
    MMapRequest r;
    r.addr = addr;
    r.length = len;
    r.prot = prot;
    r.flags = flags;
    auto a = mm_->MMap(r);
    EXPECT_TRUE(a.ok()) << a.err();
    return a.ok() ? *a : 0;
  }
  FakeAddressSpace* as_;
  std::unique_ptr<MemoryManager> mm_;
};

TEST_F(MmTest, TopDownPlacementBelowMmapBase) {
  uint64_t a = Anon(3 * kPageSize);
  uint64_t b = Anon(kPageSize);
  EXPECT_EQ(a + 3 * kPageSize, mm_->mmap_base());
  EXPECT_EQ(b + kPageSize, a);
  // Adjacent anonymous mappings with equal protection are one VMA.
  EXPECT_EQ(mm_->VmaCount(), 1u);
  EXPECT_EQ(as_->pages.size(), 4u);
}

TEST_F(MmTest, HintIsUsedWhenFree) {
  uint64_t a = Anon(kPageSize, PROT_READ, 0x10000000);
  EXPECT_EQ(a, 0x10000000u);
  uint64_t b =
      Anon(kPageSize, PROT_READ, 0x10000000);  // taken: placed elsewhere
  EXPECT_NE(b, 0x10000000u);
}

TEST_F(MmTest, UnmapSplitsAndProtectSplits) {
  uint64_t a = Anon(4 * kPageSize, PROT_READ, 0x20000000);
  ASSERT_TRUE(mm_->MUnmap(a + kPageSize, kPageSize).ok());
  EXPECT_EQ(mm_->VmaCount(), 2u);
  ASSERT_TRUE(
      mm_->MProtect(a + 2 * kPageSize, kPageSize, PROT_READ | PROT_WRITE).ok());
  EXPECT_EQ(mm_->VmaCount(), 3u);
  EXPECT_EQ(as_->pages[a + 2 * kPageSize], PROT_READ | PROT_WRITE);
  EXPECT_EQ(as_->pages[a + 3 * kPageSize], PROT_READ);
  // Protecting back merges again.
  ASSERT_TRUE(mm_->MProtect(a + 2 * kPageSize, kPageSize, PROT_READ).ok());
  EXPECT_EQ(mm_->VmaCount(), 2u);
  // A range with a hole is ENOMEM, as in Linux.
  EXPECT_EQ(mm_->MProtect(a, 4 * kPageSize, PROT_READ).err(), ENOMEM);
  EXPECT_EQ(mm_->MProtect(a, kPageSize, 0x100).err(), EINVAL);
}

TEST_F(MmTest, FixedReplacesAndNoReplaceRefuses) {
  uint64_t a = Anon(2 * kPageSize, PROT_READ, 0x30000000);
  Anon(kPageSize, PROT_READ | PROT_EXEC, a + kPageSize,
       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  EXPECT_EQ(as_->pages[a + kPageSize], PROT_READ | PROT_EXEC);
  EXPECT_EQ(mm_->VmaCount(), 2u);
  MMapRequest r;
  r.addr = a;
  r.length = kPageSize;
  r.prot = PROT_READ;
  r.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
  EXPECT_EQ(mm_->MMap(r).err(), EEXIST);
  r.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  r.addr = a + 1;
  EXPECT_EQ(mm_->MMap(r).err(), EINVAL);
  r.addr = 0x1000;
  EXPECT_EQ(mm_->MMap(r).err(), EPERM);
  r.addr = kMax;
  EXPECT_EQ(mm_->MMap(r).err(), ENOMEM);
  r.addr = 0;
  r.length = 0;
  EXPECT_EQ(mm_->MMap(r).err(), EINVAL);
}

TEST_F(MmTest, BrkGrowsAndShrinks) {
  mm_->SetBrkStart(0x600000);
  EXPECT_EQ(mm_->Brk(0), 0x600000u);
  EXPECT_EQ(mm_->Brk(0x600000 + 100), 0x600000u + 100);
  EXPECT_EQ(as_->pages.count(0x600000), 1u);
  EXPECT_EQ(mm_->Brk(0x600000 + 3 * kPageSize), 0x600000u + 3 * kPageSize);
  EXPECT_EQ(as_->pages.size(), 3u);
  EXPECT_EQ(mm_->Brk(0x600000 + 10), 0x600000u + 10);
  EXPECT_EQ(as_->pages.size(), 1u);
  // Below the start: unchanged. Into a mapping: unchanged.
  EXPECT_EQ(mm_->Brk(0x500000), 0x600000u + 10);
  Anon(kPageSize, PROT_READ, 0x610000);
  EXPECT_EQ(mm_->Brk(0x620000), 0x600000u + 10);
  EXPECT_THAT(mm_->MapsText(), ::testing::HasSubstr("[heap]"));
}

TEST_F(MmTest, MremapGrowsInPlaceOrMovesWithContents) {
  uint64_t a = Anon(kPageSize, PROT_READ | PROT_WRITE, 0x40000000);
  ASSERT_TRUE(mm_->CopyOut(GuestAddr(a), "keep", 4).ok());
  auto r = mm_->MRemap(a, kPageSize, 2 * kPageSize, 0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, a);
  Anon(kPageSize, PROT_READ, a + 2 * kPageSize);  // block further growth
  EXPECT_EQ(mm_->MRemap(a, 2 * kPageSize, 4 * kPageSize, 0, 0).err(), ENOMEM);
  r = mm_->MRemap(a, 2 * kPageSize, 4 * kPageSize, MREMAP_MAYMOVE, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r, a);
  char buf[4];
  ASSERT_TRUE(mm_->CopyIn(GuestAddr(*r), buf, 4).ok());
  EXPECT_EQ(std::string(buf, 4), "keep");
  EXPECT_FALSE(mm_->FindVma(a).has_value());
  EXPECT_EQ(mm_->MRemap(a, kPageSize, 2 * kPageSize, MREMAP_FIXED, 0).err(),
            EINVAL);
  EXPECT_EQ(mm_->MRemap(0x50000000, kPageSize, kPageSize, 0, 0).err(), EFAULT);
}

TEST_F(MmTest, MadviseDontneedZeroesAndChecksRange) {
  uint64_t a = Anon(kPageSize, PROT_READ | PROT_WRITE, 0x40000000);
  ASSERT_TRUE(mm_->CopyOut(GuestAddr(a), "x", 1).ok());
  ASSERT_TRUE(mm_->MAdvise(a, kPageSize, MADV_DONTNEED).ok());
  char c = 1;
  ASSERT_TRUE(mm_->CopyIn(GuestAddr(a), &c, 1).ok());
  EXPECT_EQ(c, 0);
  EXPECT_EQ(mm_->MAdvise(a + kPageSize, kPageSize, MADV_WILLNEED).err(),
            ENOMEM);
  // Not implemented: refused as by a kernel without it.
  EXPECT_EQ(mm_->MAdvise(a, kPageSize, MADV_REMOVE).err(), EINVAL);
  // Fork advice is recorded on the VMA.
  ASSERT_TRUE(mm_->MAdvise(a, kPageSize, MADV_DONTFORK).ok());
  EXPECT_TRUE(mm_->FindVma(a)->dontfork);
  ASSERT_TRUE(mm_->MAdvise(a, kPageSize, MADV_WIPEONFORK).ok());
  EXPECT_TRUE(mm_->FindVma(a)->wipeonfork);
}

TEST_F(MmTest, CopyInStringStopsAtNulAndLimits) {
  uint64_t a = Anon(kPageSize, PROT_READ | PROT_WRITE, 0x40000000);
  // A string ending exactly at the end of the mapping.
  std::string s(10, 'z');
  ASSERT_TRUE(mm_->CopyOut(GuestAddr(a + kPageSize - 11), s.c_str(), 11).ok());
  auto r = mm_->CopyInString(GuestAddr(a + kPageSize - 11), 4096);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, s);
  EXPECT_EQ(mm_->CopyInString(GuestAddr(a + kPageSize - 11), 5).err(),
            ENAMETOOLONG);
  // Running off the mapping without a NUL is EFAULT.
  ASSERT_TRUE(mm_->CopyOut(GuestAddr(a + kPageSize - 1), "q", 1).ok());
  EXPECT_EQ(mm_->CopyInString(GuestAddr(a + kPageSize - 1), 4096).err(),
            EFAULT);
  EXPECT_EQ(mm_->CopyInString(GuestAddr(0), 4096).err(), EFAULT);
}

TEST_F(MmTest, MapsTextFormat) {
  Anon(kPageSize, PROT_READ | PROT_EXEC, 0x400000);
  std::string maps = mm_->MapsText();
  EXPECT_EQ(maps, "00400000-00401000 r-xp 00000000 00:00 0 \n");
}

}  // namespace
}  // namespace sentry::mm
