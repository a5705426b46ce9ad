// Tests of the vDSO image and its clock: the image is laid out in this
// process as the loader lays it out in a guest (parameter page, then the
// image), its functions are found the way glibc finds them (DT_HASH and the
// LINUX_2.6 version), called natively and compared with the host's clocks.
// The calibration algorithm is also driven with made-up samples.

#include <dlfcn.h>
#include <elf.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "sentry/vdso/vdso_clock.h"
#include "sentry/vdso/vdso_image.h"
#include "sentry/vdso/vdso_params.h"

namespace sentry::vdso {
namespace {

constexpr size_t kPage = 4096;
constexpr int64_t kNsPerSec = 1'000'000'000;
// How far the vDSO may be from the host's clock read around it.
constexpr int64_t kToleranceNs = 2'000'000;

using ClockGettimeFn = int (*)(clockid_t, struct timespec*);
using GettimeofdayFn = int (*)(struct timeval*, struct timezone*);
using TimeFn = time_t (*)(time_t*);
using GetcpuFn = long (*)(unsigned*, unsigned*, void*);

const Elf64_Ehdr* ImageHeader() {
  return reinterpret_cast<const Elf64_Ehdr*>(kVdsoImage);
}

const Elf64_Phdr* ImagePhdrs() {
  return reinterpret_cast<const Elf64_Phdr*>(kVdsoImage +
                                             ImageHeader()->e_phoff);
}

int64_t ToNs(const struct timespec& ts) {
  return int64_t{ts.tv_sec} * kNsPerSec + ts.tv_nsec;
}

int64_t HostNs(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ToNs(ts);
}

// The vDSO image mapped as a guest sees it: the parameter page of `clock`,
// read-only and shared, then the image's PT_LOAD segments.
class MappedVdso {
 public:
  explicit MappedVdso(int params_fd) {
    const Elf64_Ehdr* eh = ImageHeader();
    size_t span = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
      const Elf64_Phdr& ph = ImagePhdrs()[i];
      if (ph.p_type == PT_LOAD) {
        span = std::max<size_t>(span, ph.p_vaddr + ph.p_memsz);
      }
    }
    span = (span + kPage - 1) & ~(kPage - 1);
    size_ = kPage + span;
    void* region =
        mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
    base_ = static_cast<char*>(region);
    CHECK(mmap(base_, kPage, PROT_READ, MAP_SHARED | MAP_FIXED, params_fd, 0) ==
          base_);
    load_ = base_ + kPage;
    CHECK(mmap(load_, span, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == load_);
    for (int i = 0; i < eh->e_phnum; i++) {
      const Elf64_Phdr& ph = ImagePhdrs()[i];
      if (ph.p_type != PT_LOAD) continue;
      CHECK_LE(ph.p_offset + ph.p_filesz, kVdsoImageSize);
      memcpy(load_ + ph.p_vaddr, kVdsoImage + ph.p_offset, ph.p_filesz);
    }
    for (int i = 0; i < eh->e_phnum; i++) {
      const Elf64_Phdr& ph = ImagePhdrs()[i];
      if (ph.p_type != PT_LOAD) continue;
      uint64_t start = ph.p_vaddr & ~(kPage - 1);
      uint64_t end = (ph.p_vaddr + ph.p_memsz + kPage - 1) & ~(kPage - 1);
      int prot = ((ph.p_flags & PF_R) ? PROT_READ : 0) |
                 ((ph.p_flags & PF_W) ? PROT_WRITE : 0) |
                 ((ph.p_flags & PF_X) ? PROT_EXEC : 0);
      CHECK_EQ(mprotect(load_ + start, end - start, prot), 0);
    }
    ParseDynamic();
  }
  ~MappedVdso() { munmap(base_, size_); }

  const volatile vdso_params* params() const {
    return reinterpret_cast<const volatile vdso_params*>(base_);
  }
  char* params_page() const { return base_; }

  // The address of `name` with version `version`, as glibc's
  // dl_vdso_vsym finds it (SysV hash, then the symbol's version), or nullptr.
  void* Lookup(const std::string& name,
               const std::string& version = "LINUX_2.6") const {
    uint32_t h = 0;
    for (unsigned char c : name) {
      h = (h << 4) + c;
      uint32_t g = h & 0xf0000000;
      if (g != 0) h ^= g >> 24;
      h &= ~g;
    }
    const uint32_t nbucket = hash_[0];
    const uint32_t* bucket = hash_ + 2;
    const uint32_t* chain = bucket + nbucket;
    for (uint32_t i = bucket[h % nbucket]; i != STN_UNDEF; i = chain[i]) {
      const Elf64_Sym& sym = symtab_[i];
      if (name != strtab_ + sym.st_name) continue;
      if (sym.st_shndx == SHN_UNDEF) continue;
      if (VersionOf(i) != version) continue;
      return load_ + sym.st_value;
    }
    return nullptr;
  }

  template <typename Fn>
  Fn Get(const std::string& name) const {
    void* p = Lookup(name);
    CHECK(p != nullptr) << name;
    return reinterpret_cast<Fn>(p);
  }

  // Dynamic tags present, for the relocation check.
  const std::vector<int64_t>& dynamic_tags() const { return tags_; }

 private:
  void ParseDynamic() {
    const Elf64_Ehdr* eh = ImageHeader();
    const Elf64_Dyn* dyn = nullptr;
    for (int i = 0; i < eh->e_phnum; i++) {
      if (ImagePhdrs()[i].p_type == PT_DYNAMIC) {
        dyn =
            reinterpret_cast<const Elf64_Dyn*>(load_ + ImagePhdrs()[i].p_vaddr);
      }
    }
    CHECK(dyn != nullptr);
    for (; dyn->d_tag != DT_NULL; dyn++) {
      tags_.push_back(dyn->d_tag);
      // The image is linked at 0: d_ptr is an offset from the load address.
      const char* p = load_ + dyn->d_un.d_ptr;
      switch (dyn->d_tag) {
        case DT_HASH:
          hash_ = reinterpret_cast<const uint32_t*>(p);
          break;
        case DT_SYMTAB:
          symtab_ = reinterpret_cast<const Elf64_Sym*>(p);
          break;
        case DT_STRTAB:
          strtab_ = p;
          break;
        case DT_VERSYM:
          versym_ = reinterpret_cast<const Elf64_Half*>(p);
          break;
        case DT_VERDEF:
          verdef_ = p;
          break;
      }
    }
    CHECK(hash_ != nullptr && symtab_ != nullptr && strtab_ != nullptr);
  }

  std::string VersionOf(uint32_t sym) const {
    if (versym_ == nullptr || verdef_ == nullptr) return "";
    Elf64_Half index = versym_[sym] & 0x7fff;
    const char* p = verdef_;
    for (;;) {
      auto* vd = reinterpret_cast<const Elf64_Verdef*>(p);
      if (vd->vd_ndx == index) {
        auto* aux = reinterpret_cast<const Elf64_Verdaux*>(p + vd->vd_aux);
        return strtab_ + aux->vda_name;
      }
      if (vd->vd_next == 0) return "";
      p += vd->vd_next;
    }
  }

  char* base_ = nullptr;  // the parameter page
  char* load_ = nullptr;  // the image's load address
  size_t size_ = 0;
  const uint32_t* hash_ = nullptr;
  const Elf64_Sym* symtab_ = nullptr;
  const char* strtab_ = nullptr;
  const Elf64_Half* versym_ = nullptr;
  const char* verdef_ = nullptr;
  std::vector<int64_t> tags_;
};

// Waits until the page has been published `updates` times.
bool WaitForUpdates(const volatile vdso_params* p, uint32_t updates,
                    absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (p->ready == 1 && p->seq >= 2 * updates) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

TEST(VdsoImageTest, ExportsTheFunctionsWithVersionLinux26) {
  auto clock = VdsoClock::Create();
  ASSERT_NE(clock, nullptr);
  MappedVdso vdso(clock->params_fd());
  for (const char* name : {"clock_gettime", "gettimeofday", "time", "getcpu"}) {
    void* prefixed = vdso.Lookup(std::string("__vdso_") + name);
    EXPECT_NE(prefixed, nullptr) << name;
    EXPECT_EQ(vdso.Lookup(name), prefixed) << name;
    EXPECT_EQ(vdso.Lookup(std::string("__vdso_") + name, "LINUX_2.5"), nullptr);
  }
  EXPECT_EQ(vdso.Lookup("read_clock"), nullptr);  // internal stays internal
}

TEST(VdsoImageTest, OneReadOnlyExecutableSegmentWithoutRelocations) {
  const Elf64_Ehdr* eh = ImageHeader();
  ASSERT_EQ(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
  EXPECT_EQ(eh->e_type, ET_DYN);
  EXPECT_EQ(eh->e_machine, EM_X86_64);
  int loads = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf64_Phdr& ph = ImagePhdrs()[i];
    if (ph.p_type != PT_LOAD) continue;
    loads++;
    EXPECT_EQ(ph.p_flags & PF_W, 0u) << "writable PT_LOAD " << i;
    EXPECT_EQ(ph.p_vaddr, 0u);
    EXPECT_EQ(ph.p_filesz, ph.p_memsz) << "no .bss";
    EXPECT_LE(ph.p_memsz, 2 * kPage);
  }
  EXPECT_EQ(loads, 1);
  auto clock = VdsoClock::Create();
  ASSERT_NE(clock, nullptr);
  MappedVdso vdso(clock->params_fd());
  for (int64_t tag : vdso.dynamic_tags()) {
    EXPECT_NE(tag, DT_REL);
    EXPECT_NE(tag, DT_RELA);
    EXPECT_NE(tag, DT_JMPREL);
    EXPECT_NE(tag, DT_TEXTREL);
    EXPECT_NE(tag, DT_NEEDED);
  }
}

class VdsoClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HostHasInvariantTsc()) GTEST_SKIP() << "no invariant TSC";
    clock_ = VdsoClock::Create();
    ASSERT_NE(clock_, nullptr);
    vdso_ = std::make_unique<MappedVdso>(clock_->params_fd());
    EXPECT_EQ(vdso_->params()->ready, 0u);
    clock_->Start();
    ASSERT_TRUE(WaitForUpdates(vdso_->params(), 1, absl::Seconds(5)));
    clock_gettime_ = vdso_->Get<ClockGettimeFn>("__vdso_clock_gettime");
  }

  std::unique_ptr<VdsoClock> clock_;
  std::unique_ptr<MappedVdso> vdso_;
  ClockGettimeFn clock_gettime_ = nullptr;
};

// `ours` read between host readings `before` and `after` of the same clock.
void ExpectBetween(int64_t before, int64_t ours, int64_t after) {
  EXPECT_GE(ours, before - kToleranceNs);
  EXPECT_LE(ours, after + kToleranceNs);
}

TEST_F(VdsoClockTest, ClocksAgreeWithTheHost) {
  struct Case {
    clockid_t clock;
    clockid_t host;  // the precise host clock to compare with
  };
  for (Case c : {Case{CLOCK_MONOTONIC, CLOCK_MONOTONIC},
                 Case{CLOCK_REALTIME, CLOCK_REALTIME},
                 Case{CLOCK_BOOTTIME, CLOCK_BOOTTIME},
                 Case{CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC},
                 Case{CLOCK_REALTIME_COARSE, CLOCK_REALTIME}}) {
    SCOPED_TRACE(c.clock);
    int64_t worst = 0;
    for (int i = 0; i < 1000; i++) {
      int64_t before = HostNs(c.host);
      struct timespec ts = {-1, -1};
      ASSERT_EQ(clock_gettime_(c.clock, &ts), 0);
      int64_t after = HostNs(c.host);
      ASSERT_GE(ts.tv_nsec, 0);
      ASSERT_LT(ts.tv_nsec, kNsPerSec);
      ExpectBetween(before, ToNs(ts), after);
      worst = std::max({worst, before - ToNs(ts), ToNs(ts) - after});
    }
    std::cout << "clock " << c.clock << ": worst error outside the host "
              << "bracket " << worst << " ns\n";
  }
}

TEST_F(VdsoClockTest, MonotonicNeverGoesBackwardsAcrossUpdates) {
  const uint32_t first_seq = vdso_->params()->seq;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  int64_t last = 0;
  int64_t calls = 0, backwards = 0;
  // At least 200k calls and two parameter updates.
  while (calls < 200'000 || vdso_->params()->seq < first_seq + 4) {
    struct timespec ts;
    ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &ts), 0);
    int64_t now = ToNs(ts);
    if (now < last) backwards++;
    last = now;
    calls++;
    ASSERT_LT(absl::Now(), deadline);
  }
  EXPECT_EQ(backwards, 0) << "over " << calls << " calls";
  ExpectBetween(HostNs(CLOCK_MONOTONIC) - kToleranceNs, last,
                HostNs(CLOCK_MONOTONIC));
}

TEST_F(VdsoClockTest, GettimeofdayAndTimeAgreeWithTheHost) {
  auto gettimeofday_fn = vdso_->Get<GettimeofdayFn>("__vdso_gettimeofday");
  auto time_fn = vdso_->Get<TimeFn>("__vdso_time");
  // And the unprefixed aliases.
  EXPECT_EQ(vdso_->Get<GettimeofdayFn>("gettimeofday"), gettimeofday_fn);
  EXPECT_EQ(vdso_->Get<TimeFn>("time"), time_fn);

  int64_t before = HostNs(CLOCK_REALTIME);
  struct timeval tv = {-1, -1};
  struct timezone tz = {123, 456};
  ASSERT_EQ(gettimeofday_fn(&tv, &tz), 0);
  int64_t after = HostNs(CLOCK_REALTIME);
  EXPECT_GE(tv.tv_usec, 0);
  EXPECT_LT(tv.tv_usec, 1'000'000);
  ExpectBetween(before / 1000 * 1000, tv.tv_sec * kNsPerSec + tv.tv_usec * 1000,
                after);
  EXPECT_EQ(tz.tz_minuteswest, 0);
  EXPECT_EQ(tz.tz_dsttime, 0);
  EXPECT_EQ(gettimeofday_fn(nullptr, nullptr), 0);

  before = HostNs(CLOCK_REALTIME);
  time_t stored = -1;
  time_t t = time_fn(&stored);
  after = HostNs(CLOCK_REALTIME);
  EXPECT_EQ(t, stored);
  EXPECT_GE(t, (before - kToleranceNs) / kNsPerSec);
  EXPECT_LE(t, (after + kToleranceNs) / kNsPerSec);
  EXPECT_NEAR(time_fn(nullptr), HostNs(CLOCK_REALTIME) / kNsPerSec, 1);
}

TEST_F(VdsoClockTest, GetcpuReadsTheCpuWithoutASystemCall) {
  auto getcpu_fn = vdso_->Get<GetcpuFn>("__vdso_getcpu");
  long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  bool matched = false;
  for (int i = 0; i < 100 && !matched; i++) {
    unsigned cpu = ~0u, node = ~0u;
    ASSERT_EQ(getcpu_fn(&cpu, &node, nullptr), 0);
    EXPECT_LT(cpu, static_cast<unsigned>(ncpu));
    EXPECT_LT(node, 4096u);
    // Migration between the two reads is possible, so only once.
    matched = static_cast<int>(cpu) == sched_getcpu();
  }
  EXPECT_TRUE(matched);
  EXPECT_EQ(getcpu_fn(nullptr, nullptr, nullptr), 0);
}

TEST_F(VdsoClockTest, OtherClocksMakeTheSystemCall) {
  struct timespec ts = {-1, -1};
  int64_t before = HostNs(CLOCK_MONOTONIC_RAW);
  EXPECT_EQ(clock_gettime_(CLOCK_MONOTONIC_RAW, &ts), 0);
  ExpectBetween(before, ToNs(ts), HostNs(CLOCK_MONOTONIC_RAW));
  EXPECT_EQ(clock_gettime_(CLOCK_TAI, &ts), 0);
  EXPECT_EQ(clock_gettime_(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
  EXPECT_EQ(clock_gettime_(CLOCK_THREAD_CPUTIME_ID, &ts), 0);
  EXPECT_GT(ToNs(ts), 0);
  // Bad ids: what the raw system call returns, -errno.
  EXPECT_EQ(clock_gettime_(12345, &ts), -EINVAL);
  EXPECT_EQ(syscall(SYS_clock_gettime, 12345, &ts), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(clock_gettime_(-1000, &ts), -EINVAL);
}

TEST_F(VdsoClockTest, ManyThreadsSeeOneMonotonicClock) {
  // Updates every millisecond, so readers race with many of them; a value
  // one thread saw must never be ahead of what another thread reads after.
  auto fast = VdsoClock::Create(absl::Milliseconds(1));
  ASSERT_NE(fast, nullptr);
  MappedVdso vdso(fast->params_fd());
  fast->Start();
  ASSERT_TRUE(WaitForUpdates(vdso.params(), 1, absl::Seconds(5)));
  auto fn = vdso.Get<ClockGettimeFn>("__vdso_clock_gettime");
  const uint32_t first_seq = vdso.params()->seq;

  std::atomic<int64_t> latest{0};
  std::atomic<int64_t> violations{0};
  std::atomic<int64_t> calls{0};
  absl::Time end = absl::Now() + absl::Milliseconds(500);
  auto reader = [&] {
    int64_t n = 0;
    while (absl::Now() < end) {
      for (int i = 0; i < 1000; i++, n++) {
        int64_t seen = latest.load(std::memory_order_acquire);
        struct timespec ts;
        fn(CLOCK_MONOTONIC, &ts);
        int64_t now = ToNs(ts);
        if (now < seen) violations.fetch_add(1);
        while (seen < now && !latest.compare_exchange_weak(seen, now)) {
        }
      }
    }
    calls.fetch_add(n);
  };
  std::thread a(reader), b(reader);
  a.join();
  b.join();
  EXPECT_EQ(violations.load(), 0) << "over " << calls.load() << " calls";
  EXPECT_GE(vdso.params()->seq, first_seq + 2 * 20) << "too few updates raced";
  ExpectBetween(HostNs(CLOCK_MONOTONIC) - kToleranceNs, latest.load(),
                HostNs(CLOCK_MONOTONIC));
}

TEST(VdsoClockNotReadyTest, FallsBackToTheSystemCall) {
  // Never started: the page stays as on a host without an invariant TSC.
  auto clock = VdsoClock::Create();
  ASSERT_NE(clock, nullptr);
  MappedVdso vdso(clock->params_fd());
  ASSERT_EQ(vdso.params()->ready, 0u);
  auto fn = vdso.Get<ClockGettimeFn>("clock_gettime");
  for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME}) {
    int64_t before = HostNs(c);
    struct timespec ts = {-1, -1};
    ASSERT_EQ(fn(c, &ts), 0);
    ExpectBetween(before, ToNs(ts), HostNs(c));
  }
  struct timeval tv = {-1, -1};
  ASSERT_EQ(vdso.Get<GettimeofdayFn>("gettimeofday")(&tv, nullptr), 0);
  EXPECT_NEAR(tv.tv_sec, HostNs(CLOCK_REALTIME) / kNsPerSec, 1);
  time_t stored = 0;
  EXPECT_NEAR(vdso.Get<TimeFn>("time")(&stored),
              HostNs(CLOCK_REALTIME) / kNsPerSec, 1);
  EXPECT_NEAR(stored, HostNs(CLOCK_REALTIME) / kNsPerSec, 1);
  EXPECT_EQ(fn(12345, nullptr), -EINVAL);
}

TEST(VdsoParamsPageTest, GuestsCannotWriteIt) {
  auto clock = VdsoClock::Create();
  ASSERT_NE(clock, nullptr);
  MappedVdso vdso(clock->params_fd());
  // F_SEAL_FUTURE_WRITE (Linux >= 5.1): a read-only shared mapping cannot be
  // made writable, and no new writable mapping can be made.
  EXPECT_NE(mprotect(vdso.params_page(), kPage, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED,
                 clock->params_fd(), 0),
            MAP_FAILED);
  EXPECT_NE(ftruncate(clock->params_fd(), 2 * kPage), 0);
}

// Reports the cost per call natively, next to the host's vDSO (called
// directly, and through glibc); never asserts timing.
TEST_F(VdsoClockTest, ReportNsPerCall) {
  void* host_vdso = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (host_vdso == nullptr) GTEST_SKIP() << "no host vDSO";
  auto host_clock_gettime = reinterpret_cast<ClockGettimeFn>(
      dlvsym(host_vdso, "__vdso_clock_gettime", "LINUX_2.6"));
  auto host_getcpu = reinterpret_cast<GetcpuFn>(
      dlvsym(host_vdso, "__vdso_getcpu", "LINUX_2.6"));
  ASSERT_NE(host_clock_gettime, nullptr);
  ASSERT_NE(host_getcpu, nullptr);
  auto getcpu_fn = vdso_->Get<GetcpuFn>("__vdso_getcpu");

  constexpr int kCalls = 2'000'000;
  auto measure = [&](auto&& call) {
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
      int64_t start = HostNs(CLOCK_MONOTONIC);
      for (int i = 0; i < kCalls; i++) call();
      best = std::min(best, double(HostNs(CLOCK_MONOTONIC) - start) / kCalls);
    }
    return best;
  };
  struct timespec ts;
  unsigned cpu;
  std::cout << "ns per call (best of 5 x " << kCalls << "), ours vs host:\n";
  for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_REALTIME}) {
    double ours = measure([&] { clock_gettime_(c, &ts); });
    double host = measure([&] { host_clock_gettime(c, &ts); });
    double libc = measure([&] { clock_gettime(c, &ts); });
    std::cout << "  clock_gettime(" << c << "): " << ours << " vs " << host
              << " (glibc wrapper " << libc << ")\n";
    RecordProperty("clock_gettime_" + std::to_string(c) + "_ours",
                   std::to_string(ours));
    RecordProperty("clock_gettime_" + std::to_string(c) + "_host",
                   std::to_string(host));
  }
  double ours = measure([&] { getcpu_fn(&cpu, nullptr, nullptr); });
  double host = measure([&] { host_getcpu(&cpu, nullptr, nullptr); });
  std::cout << "  getcpu: " << ours << " vs " << host << "\n";
  dlclose(host_vdso);
}

// The calibration algorithm against a made-up host clock.
class SimulatedHost {
 public:
  // ns per tick: a 2.7 GHz TSC.
  explicit SimulatedHost(double ns_per_tick = 1 / 2.7) : rate_(ns_per_tick) {}

  // Advances the TSC by `ns` of host time.
  void Advance(int64_t ns) {
    tsc_ += static_cast<uint64_t>(std::llround(ns / rate_));
    mono_ += ns;
  }
  void SetRate(double ns_per_tick) { rate_ = ns_per_tick; }
  // Host time passes without the TSC, or the TSC without host time.
  void StallTsc(int64_t ns) { mono_ += ns; }
  void JumpTsc(int64_t ns) {
    tsc_ += static_cast<uint64_t>(std::llround(ns / rate_));
  }
  void StepRealtime(int64_t ns) { realtime_offset_ += ns; }

  // A sample with `jitter_ns` of timing error on the host reading.
  HostSample Sample(int64_t jitter_ns = 0) const {
    HostSample s;
    s.tsc = tsc_;
    s.monotonic_ns = mono_ + jitter_ns;
    s.realtime_offset_ns = realtime_offset_ + jitter_ns / 2;
    s.boottime_offset_ns = 5'000;
    return s;
  }
  uint64_t tsc() const { return tsc_; }
  int64_t mono() const { return mono_; }
  int64_t realtime_offset() const { return realtime_offset_; }
  double rate() const { return rate_; }

 private:
  double rate_;
  uint64_t tsc_ = uint64_t{1} << 40;
  int64_t mono_ = 1'000 * kNsPerSec;
  int64_t realtime_offset_ = 1'700'000'000 * kNsPerSec;
};

constexpr int64_t kInterval = 200'000'000;

// Feeds `host`'s sample into `cal`, commits a little later, and checks
// continuity and that the clock did not go backwards at the update.
void Update(Calibrator& cal, SimulatedHost& host, int64_t jitter_ns = 0) {
  auto u = cal.Plan(host.Sample(jitter_ns));
  ASSERT_TRUE(u.has_value());
  bool had_clock = cal.calibrated();
  ClockParams old = cal.current();
  uint64_t at = host.tsc() + 5000;  // the update's own TSC, a bit later
  const ClockParams& now = cal.Commit(*u, at);
  EXPECT_EQ(now.tsc_base, at);
  EXPECT_GT(now.mult, 0u);
  if (had_clock && u->anchor.monotonic_base_ns == old.monotonic_base_ns) {
    EXPECT_EQ(MonotonicAt(now, at), MonotonicAt(old, at)) << "continuous";
    EXPECT_LE(MonotonicAt(old, at - 1), MonotonicAt(now, at)) << "monotonic";
  }
}

Calibrator Calibrated(SimulatedHost& host) {
  Calibrator cal(absl::Nanoseconds(kInterval));
  EXPECT_FALSE(cal.Plan(host.Sample()).has_value());
  host.Advance(20'000'000);
  Update(cal, host);
  EXPECT_TRUE(cal.calibrated());
  return cal;
}

// Ours minus the host's, a little after the host's present (so also after
// an update just committed).
int64_t ErrorNs(const Calibrator& cal, SimulatedHost host) {
  host.Advance(10'000);
  return MonotonicAt(cal.current(), host.tsc()) - host.mono();
}

TEST(CalibratorTest, TracksTheHostWithJitteredSamples) {
  SimulatedHost host;
  Calibrator cal = Calibrated(host);
  int64_t worst = 0;
  for (int i = 0; i < 100; i++) {
    host.Advance(kInterval);
    // Drift: a thermal wander of the crystal, 20 ppm over the run.
    host.SetRate(host.rate() * (1 + 2e-7));
    Update(cal, host, (i * 37) % 61 - 30);
    if (i >= 2) worst = std::max(worst, std::abs(cal.last_error_ns()));
  }
  EXPECT_LT(worst, 1000) << "ns";
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
}

TEST(CalibratorTest, SlewsAPoorFirstCalibrationOutInOneInterval) {
  SimulatedHost host;
  Calibrator cal(absl::Nanoseconds(kInterval));
  ASSERT_FALSE(cal.Plan(host.Sample()).has_value());
  host.Advance(20'000'000);
  Update(cal, host, 20'000);  // 20 us late: the first rate is 0.1% fast
  host.Advance(kInterval);
  Update(cal, host);
  EXPECT_GT(std::abs(cal.last_error_ns()), 200'000);
  // Down to the first sample's own lateness (counted in the rate too), then
  // to nothing.
  host.Advance(kInterval);
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 25'000);
  Update(cal, host);
  host.Advance(kInterval);
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
}

TEST(CalibratorTest, SlewsAtMostFivePercent) {
  SimulatedHost host;
  Calibrator cal = Calibrated(host);
  host.Advance(kInterval);
  Update(cal, host);
  // The TSC jumps 30 ms ahead of the host: we are 30 ms early. The jump is
  // not taken for a rate; we slow down by at most 5% (10 ms per interval)
  // and never go backwards.
  const double steady = static_cast<double>(cal.current().mult);
  host.JumpTsc(30'000'000);
  for (int i = 0; i < 5; i++) {
    host.Advance(kInterval);
    Update(cal, host);
    EXPECT_GE(cal.current().mult / steady, 0.95 - 1e-6);
    EXPECT_LE(cal.current().mult / steady, 1.05 + 1e-6);
  }
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
}

TEST(CalibratorTest, FollowsAHostSlew) {
  SimulatedHost host;
  Calibrator cal = Calibrated(host);
  const double rate = host.rate();
  // chronyd slews the host clock 2% fast for one interval, then stops.
  host.SetRate(rate * 1.02);
  host.Advance(kInterval);
  host.SetRate(rate);
  Update(cal, host);
  for (int i = 0; i < 3; i++) {
    host.Advance(kInterval);
    Update(cal, host);
  }
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
}

TEST(CalibratorTest, StepsForwardOnlyWhenFarBehind) {
  SimulatedHost host;
  Calibrator cal = Calibrated(host);
  host.Advance(kInterval);
  Update(cal, host);
  const uint64_t mult = cal.current().mult;
  // The TSC stood still for 5 s of host time (a suspend, say).
  host.StallTsc(5 * kNsPerSec);
  host.Advance(kInterval);
  int64_t before = MonotonicAt(cal.current(), host.tsc());
  Update(cal, host);
  EXPECT_GT(MonotonicAt(cal.current(), host.tsc() + 5000), before);
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
  EXPECT_NEAR(static_cast<double>(cal.current().mult) / mult, 1, 1e-6);
  host.Advance(kInterval);
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
}

TEST(CalibratorTest, OffsetsFollowHostStepsButNotNoise) {
  SimulatedHost host;
  Calibrator cal = Calibrated(host);
  const int64_t offset = cal.current().realtime_offset_ns;
  EXPECT_EQ(offset, host.realtime_offset());
  host.Advance(kInterval);
  Update(cal, host, 400);  // 200 ns of noise in the offset
  EXPECT_EQ(cal.current().realtime_offset_ns, offset);
  host.StepRealtime(-3600 * kNsPerSec);  // the host's clock is set back
  host.Advance(kInterval);
  Update(cal, host);
  EXPECT_EQ(cal.current().realtime_offset_ns, host.realtime_offset());
}

TEST(CalibratorTest, FollowsARateChange) {
  SimulatedHost host;
  Calibrator cal = Calibrated(host);
  // NTP changes the host's frequency by 300 ppm.
  host.SetRate(host.rate() * 1.0003);
  for (int i = 0; i < 4; i++) {
    host.Advance(kInterval);
    Update(cal, host);
  }
  EXPECT_LT(std::abs(ErrorNs(cal, host)), 1000);
}

}  // namespace
}  // namespace sentry::vdso
