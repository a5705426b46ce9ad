// The vDSO: the image named by AT_SYSINFO_EHDR and its [vdso] and [vvar]
// mappings; its functions (__vdso_clock_gettime, __vdso_gettimeofday,
// __vdso_time, __vdso_getcpu, version LINUX_2.6) found through its dynamic
// symbol table and called directly; and glibc's clock_gettime,
// gettimeofday, time and sched_getcpu, which go through it. Every reading
// is compared with the system call's, read just before and just after;
// clocks must not go back across calls, threads, or the two paths; clocks
// the vDSO does not compute itself (CPU-time clocks, bad ids) fall back to
// the system call.

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test/util/test_util.h"
#include "test/util/thread_util.h"

namespace {

constexpr int64_t kNsPerSec = 1000000000;
constexpr int64_t kMs = 1000 * 1000;
// How far a vDSO reading may lie outside the system call readings taken
// around it: generous, as the sandbox's vDSO keeps its own calibration of
// the host's clock. A wrong clock or epoch is off by far more.
constexpr int64_t kToleranceNs = 5 * kMs;
// The _COARSE clocks advance once a tick (at most 10 ms); a vDSO may answer
// them with the precise value.
constexpr int64_t kCoarseToleranceNs = 25 * kMs;

using testing_util::Watchdog;

using ClockGettimeFn = int (*)(clockid_t, struct timespec*);
using GettimeofdayFn = int (*)(struct timeval*, struct timezone*);
using TimeFn = time_t (*)(time_t*);
using GetcpuFn = long (*)(unsigned*, unsigned*, void*);

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

int64_t ToNs(const struct timeval& tv) {
  return static_cast<int64_t>(tv.tv_sec) * kNsPerSec + tv.tv_usec * 1000;
}

// The clock through the real system call, or -1.
int64_t SyscallNs(clockid_t clock) {
  struct timespec ts = {};
  if (syscall(SYS_clock_gettime, clock, &ts) != 0) return -1;
  return ToNs(ts);
}

// The vDSO image mapped at AT_SYSINFO_EHDR, read through its program
// headers and dynamic section as a dynamic linker would (after Linux's
// tools/testing/selftests/vDSO/parse_vdso.c).
class VdsoImage final {
 public:
  explicit VdsoImage(uintptr_t base) : base_(base) {
    if (base == 0) return;
    auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(base);
    auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(base + ehdr->e_phoff);
    const ElfW(Dyn)* dyn = nullptr;
    bool found_load = false;
    for (int i = 0; i < ehdr->e_phnum; i++) {
      if (phdr[i].p_type == PT_LOAD && !found_load) {
        found_load = true;
        load_offset_ = base + phdr[i].p_offset - phdr[i].p_vaddr;
      } else if (phdr[i].p_type == PT_DYNAMIC) {
        dyn = reinterpret_cast<const ElfW(Dyn)*>(base + phdr[i].p_offset);
      }
    }
    if (!found_load || dyn == nullptr) return;
    for (; dyn->d_tag != DT_NULL; dyn++) {
      uintptr_t p = dyn->d_un.d_ptr + load_offset_;
      switch (dyn->d_tag) {
        case DT_STRTAB:
          strtab_ = reinterpret_cast<const char*>(p);
          break;
        case DT_SYMTAB:
          symtab_ = reinterpret_cast<const ElfW(Sym)*>(p);
          break;
        case DT_HASH:
          hash_ = reinterpret_cast<const ElfW(Word)*>(p);
          break;
        case DT_GNU_HASH:
          gnu_hash_ = reinterpret_cast<const ElfW(Word)*>(p);
          break;
        case DT_VERSYM:
          versym_ = reinterpret_cast<const ElfW(Half)*>(p);
          break;
        case DT_VERDEF:
          verdef_ = reinterpret_cast<const ElfW(Verdef)*>(p);
          break;
      }
    }
    nsyms_ = CountSymbols();
  }

  // Whether the dynamic symbol table was found.
  bool ok() const { return strtab_ != nullptr && symtab_ != nullptr && nsyms_; }
  size_t symbol_count() const { return nsyms_; }

  // The address of the function `name` defined with version `version`, or
  // null.
  void* Lookup(const char* name, const char* version) const {
    if (!ok()) return nullptr;
    for (size_t i = 0; i < nsyms_; i++) {
      const ElfW(Sym)& sym = symtab_[i];
      int type = ELF64_ST_TYPE(sym.st_info);
      int bind = ELF64_ST_BIND(sym.st_info);
      if (type != STT_FUNC || (bind != STB_GLOBAL && bind != STB_WEAK) ||
          sym.st_shndx == SHN_UNDEF) {
        continue;
      }
      if (strcmp(strtab_ + sym.st_name, name) != 0) continue;
      if (!HasVersion(i, version)) continue;
      return reinterpret_cast<void*>(load_offset_ + sym.st_value);
    }
    return nullptr;
  }

 private:
  // DT_HASH's nchain is the symbol count; with only DT_GNU_HASH, the highest
  // symbol any bucket's chain reaches, plus one.
  size_t CountSymbols() const {
    if (hash_ != nullptr) return hash_[1];
    if (gnu_hash_ == nullptr) return 0;
    uint32_t nbuckets = gnu_hash_[0];
    uint32_t symoffset = gnu_hash_[1];
    uint32_t bloom_size = gnu_hash_[2];
    const uint32_t* buckets = gnu_hash_ + 4 + bloom_size * (sizeof(void*) / 4);
    const uint32_t* chain = buckets + nbuckets;
    uint32_t last = 0;
    for (uint32_t b = 0; b < nbuckets; b++) last = std::max(last, buckets[b]);
    if (last < symoffset) return symoffset;
    while ((chain[last - symoffset] & 1) == 0) last++;
    return last + 1;
  }

  // Whether symbol i's version (DT_VERSYM, DT_VERDEF) is named `version`.
  bool HasVersion(size_t i, const char* version) const {
    if (versym_ == nullptr || verdef_ == nullptr) return false;
    ElfW(Half) ndx = versym_[i] & 0x7fff;
    const ElfW(Verdef)* def = verdef_;
    for (;;) {
      if ((def->vd_flags & VER_FLG_BASE) == 0 &&
          (def->vd_ndx & 0x7fff) == ndx) {
        break;
      }
      if (def->vd_next == 0) return false;
      def = reinterpret_cast<const ElfW(Verdef)*>(
          reinterpret_cast<const char*>(def) + def->vd_next);
    }
    auto* aux = reinterpret_cast<const ElfW(Verdaux)*>(
        reinterpret_cast<const char*>(def) + def->vd_aux);
    return strcmp(strtab_ + aux->vda_name, version) == 0;
  }

  uintptr_t base_;
  uintptr_t load_offset_ = 0;
  const char* strtab_ = nullptr;
  const ElfW(Sym) * symtab_ = nullptr;
  const ElfW(Word) * hash_ = nullptr;
  const ElfW(Word) * gnu_hash_ = nullptr;
  const ElfW(Half) * versym_ = nullptr;
  const ElfW(Verdef) * verdef_ = nullptr;
  size_t nsyms_ = 0;
};

const VdsoImage& Vdso() {
  static const VdsoImage* image = new VdsoImage(getauxval(AT_SYSINFO_EHDR));
  return *image;
}

template <typename Fn>
Fn VdsoFunction(const char* name) {
  return reinterpret_cast<Fn>(Vdso().Lookup(name, "LINUX_2.6"));
}

// A line of /proc/self/maps.
struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::string perms;
  std::string name;
};

std::vector<Mapping> Maps() {
  std::vector<Mapping> out;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    std::istringstream fields(line);
    std::string range, offset, dev, inode;
    fields >> range >> m.perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, m.name);
    size_t dash = range.find('-');
    if (dash == std::string::npos) continue;
    m.start = std::stoull(range.substr(0, dash), nullptr, 16);
    m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    out.push_back(m);
  }
  return out;
}

const Mapping* FindMapping(const std::vector<Mapping>& maps,
                           const std::string& name) {
  for (const Mapping& m : maps) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// The clocks the vDSO computes itself.
struct ClockCase {
  clockid_t id;
  const char* name;
  int64_t tolerance;
};

const ClockCase kVdsoClocks[] = {
    {CLOCK_REALTIME, "CLOCK_REALTIME", kToleranceNs},
    {CLOCK_MONOTONIC, "CLOCK_MONOTONIC", kToleranceNs},
    {CLOCK_BOOTTIME, "CLOCK_BOOTTIME", kToleranceNs},
    {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE", kCoarseToleranceNs},
    {CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE", kCoarseToleranceNs},
};

// Checks that `read` (a vDSO path) agrees with the system call on `c`:
// between a system call reading before and one after, give or take the
// tolerance.
template <typename Read>
void ExpectAgreesWithSyscall(const ClockCase& c, Read read) {
  for (int i = 0; i < 20; i++) {
    int64_t before = SyscallNs(c.id);
    struct timespec ts = {-1, -1};
    ASSERT_EQ(read(c.id, &ts), 0) << c.name;
    int64_t after = SyscallNs(c.id);
    ASSERT_GE(before, 0) << c.name;
    EXPECT_GE(ts.tv_nsec, 0) << c.name;
    EXPECT_LT(ts.tv_nsec, kNsPerSec) << c.name;
    int64_t v = ToNs(ts);
    EXPECT_GE(v, before - c.tolerance) << c.name;
    EXPECT_LE(v, after + c.tolerance) << c.name;
  }
}

TEST(VdsoImageTest, AuxvPointsToAnElfImage) {
  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  ASSERT_NE(base, 0u);
  EXPECT_EQ(base % sysconf(_SC_PAGESIZE), 0u);
  auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(base);
  EXPECT_EQ(memcmp(ehdr->e_ident, ELFMAG, SELFMAG), 0);
  EXPECT_EQ(ehdr->e_ident[EI_CLASS], ELFCLASS64);
  EXPECT_EQ(ehdr->e_ident[EI_DATA], ELFDATA2LSB);
  EXPECT_EQ(ehdr->e_type, ET_DYN);
  EXPECT_EQ(ehdr->e_machine, EM_X86_64);
  EXPECT_EQ(ehdr->e_phentsize, sizeof(ElfW(Phdr)));
  // One loadable segment, and a dynamic section with the symbols.
  auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(base + ehdr->e_phoff);
  int loads = 0, dynamics = 0;
  for (int i = 0; i < ehdr->e_phnum; i++) {
    loads += phdr[i].p_type == PT_LOAD;
    dynamics += phdr[i].p_type == PT_DYNAMIC;
  }
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(dynamics, 1);
  EXPECT_TRUE(Vdso().ok());
  EXPECT_GE(Vdso().symbol_count(), 4u);
}

TEST(VdsoImageTest, MapsListVdsoAndVvar) {
  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  std::vector<Mapping> maps = Maps();
  const Mapping* vdso = FindMapping(maps, "[vdso]");
  const Mapping* vvar = FindMapping(maps, "[vvar]");
  ASSERT_NE(vdso, nullptr);
  ASSERT_NE(vvar, nullptr);
  EXPECT_EQ(vdso->start, base);
  EXPECT_EQ(vdso->perms, "r-xp");
  EXPECT_GT(vdso->end, vdso->start);
  // The data page is readable only.
  EXPECT_EQ(vvar->perms.substr(0, 3), "r--");
  EXPECT_GT(vvar->end, vvar->start);
  // The whole image lies in the [vdso] mapping.
  auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(base);
  auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(base + ehdr->e_phoff);
  for (int i = 0; i < ehdr->e_phnum; i++) {
    if (phdr[i].p_type != PT_LOAD) continue;
    EXPECT_LE(base + phdr[i].p_offset + phdr[i].p_filesz, vdso->end);
  }
}

TEST(VdsoImageTest, VvarCannotBeMadeWritable) {
  const Mapping* vvar = nullptr;
  std::vector<Mapping> maps = Maps();
  vvar = FindMapping(maps, "[vvar]");
  ASSERT_NE(vvar, nullptr);
  EXPECT_ERRNO(mprotect(reinterpret_cast<void*>(vvar->start),
                        vvar->end - vvar->start, PROT_READ | PROT_WRITE),
               EACCES);
}

TEST(VdsoSymbolTest, FunctionsAreDefinedWithVersionLinux26) {
  ASSERT_TRUE(Vdso().ok());
  std::vector<Mapping> maps = Maps();
  const Mapping* vdso = FindMapping(maps, "[vdso]");
  ASSERT_NE(vdso, nullptr);
  for (const char* name : {"clock_gettime", "gettimeofday", "time", "getcpu"}) {
    std::string prefixed = std::string("__vdso_") + name;
    void* f = Vdso().Lookup(prefixed.c_str(), "LINUX_2.6");
    ASSERT_NE(f, nullptr) << prefixed;
    EXPECT_GE(reinterpret_cast<uintptr_t>(f), vdso->start) << prefixed;
    EXPECT_LT(reinterpret_cast<uintptr_t>(f), vdso->end) << prefixed;
    // The unprefixed name is the same function.
    EXPECT_EQ(Vdso().Lookup(name, "LINUX_2.6"), f) << name;
    // The lookup checks the version.
    EXPECT_EQ(Vdso().Lookup(prefixed.c_str(), "LINUX_9.9"), nullptr);
  }
  EXPECT_EQ(Vdso().Lookup("__vdso_no_such_function", "LINUX_2.6"), nullptr);
}

TEST(VdsoClockTest, LibcClockGettimeAgreesWithTheSyscall) {
  for (const ClockCase& c : kVdsoClocks) {
    ExpectAgreesWithSyscall(c, clock_gettime);
  }
}

TEST(VdsoClockTest, VdsoClockGettimeAgreesWithTheSyscall) {
  auto fn = VdsoFunction<ClockGettimeFn>("__vdso_clock_gettime");
  ASSERT_NE(fn, nullptr);
  for (const ClockCase& c : kVdsoClocks) ExpectAgreesWithSyscall(c, fn);
}

TEST(VdsoClockTest, ClocksNeverGoBackAcrossManyCalls) {
  auto fn = VdsoFunction<ClockGettimeFn>("__vdso_clock_gettime");
  ASSERT_NE(fn, nullptr);
  for (clockid_t clock :
       {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE}) {
    struct timespec ts;
    ASSERT_EQ(clock_gettime(clock, &ts), 0);
    int64_t last = ToNs(ts);
    int backwards = 0;
    for (int i = 0; i < 100000; i++) {
      // Alternate glibc's path and the vDSO function itself.
      ASSERT_EQ(i % 2 ? clock_gettime(clock, &ts) : fn(clock, &ts), 0);
      int64_t now = ToNs(ts);
      if (now < last) backwards++;
      last = now;
    }
    EXPECT_EQ(backwards, 0) << "clock " << clock;
  }
}

TEST(VdsoClockTest, ClocksNeverGoBackBetweenTheVdsoAndTheSyscall) {
  for (clockid_t clock : {CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    struct timespec ts;
    int64_t last = SyscallNs(clock);
    int backwards = 0;
    int64_t worst = 0;
    for (int i = 0; i < 2000; i++) {
      ASSERT_EQ(clock_gettime(clock, &ts), 0);
      int64_t v = ToNs(ts);
      int64_t s = SyscallNs(clock);
      for (int64_t now : {v, s}) {
        if (now < last) {
          backwards++;
          worst = std::max(worst, last - now);
        }
        last = now;
      }
    }
    EXPECT_EQ(backwards, 0)
        << "clock " << clock << ": by up to " << worst << " ns";
  }
}

TEST(VdsoClockTest, MonotonicNeverGoesBackAcrossThreads) {
  // Each reading is taken after loading the latest any thread published:
  // it must not be older.
  Watchdog watchdog;
  constexpr int kThreads = 4;
  constexpr int kReads = 20000;
  std::atomic<int64_t> latest{0};
  std::atomic<int> backwards{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kReads; i++) {
        int64_t seen = latest.load();
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = ToNs(ts);
        if (now < seen) backwards.fetch_add(1);
        while (seen < now && !latest.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(backwards.load(), 0);
}

TEST(VdsoTimeTest, GettimeofdayAgreesWithTheSyscall) {
  auto fn = VdsoFunction<GettimeofdayFn>("__vdso_gettimeofday");
  ASSERT_NE(fn, nullptr);
  // glibc declares the time zone argument void*.
  GettimeofdayFn libc = [](struct timeval* tv, struct timezone* tz) {
    return gettimeofday(tv, tz);
  };
  for (GettimeofdayFn read : {fn, libc}) {
    for (int i = 0; i < 20; i++) {
      struct timeval before = {}, tv = {-1, -1}, after = {};
      ASSERT_EQ(syscall(SYS_gettimeofday, &before, nullptr), 0);
      ASSERT_EQ(read(&tv, nullptr), 0);
      ASSERT_EQ(syscall(SYS_gettimeofday, &after, nullptr), 0);
      EXPECT_GE(tv.tv_usec, 0);
      EXPECT_LT(tv.tv_usec, 1000000);
      EXPECT_GE(ToNs(tv), ToNs(before) - kToleranceNs);
      EXPECT_LE(ToNs(tv), ToNs(after) + kToleranceNs);
    }
    // The time zone is the system call's, and both pointers may be null.
    struct timezone tz = {-1, -1}, sys_tz = {-2, -2};
    ASSERT_EQ(read(nullptr, &tz), 0);
    ASSERT_EQ(syscall(SYS_gettimeofday, nullptr, &sys_tz), 0);
    EXPECT_EQ(tz.tz_minuteswest, sys_tz.tz_minuteswest);
    EXPECT_EQ(tz.tz_dsttime, sys_tz.tz_dsttime);
    EXPECT_EQ(read(nullptr, nullptr), 0);
  }
}

TEST(VdsoTimeTest, TimeAgreesWithTheSyscall) {
  auto fn = VdsoFunction<TimeFn>("__vdso_time");
  ASSERT_NE(fn, nullptr);
  for (TimeFn read : {fn, static_cast<TimeFn>(time)}) {
    for (int i = 0; i < 20; i++) {
      long before = syscall(SYS_time, nullptr);
      time_t stored = -1;
      time_t t = read(&stored);
      long after = syscall(SYS_time, nullptr);
      EXPECT_EQ(stored, t);
      // Seconds: a reading within the tolerance may round to the next one.
      EXPECT_GE(t, before - 1);
      EXPECT_LE(t, after + 1);
      EXPECT_GE(read(nullptr), t);
    }
  }
}

// The CPUs this thread may run on.
std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int i = 0; i < CPU_SETSIZE; i++) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

// Restores this thread's CPU affinity on destruction.
class AffinityRestorer final {
 public:
  AffinityRestorer() {
    CPU_ZERO(&set_);
    ok_ = sched_getaffinity(0, sizeof(set_), &set_) == 0;
  }
  ~AffinityRestorer() {
    if (ok_) sched_setaffinity(0, sizeof(set_), &set_);
  }
  AffinityRestorer(const AffinityRestorer&) = delete;
  AffinityRestorer& operator=(const AffinityRestorer&) = delete;

 private:
  cpu_set_t set_;
  bool ok_ = false;
};

TEST(VdsoGetcpuTest, GetcpuIsWithinTheAffinityMask) {
  auto fn = VdsoFunction<GetcpuFn>("__vdso_getcpu");
  ASSERT_NE(fn, nullptr);
  std::vector<int> cpus = AllowedCpus();
  ASSERT_FALSE(cpus.empty());
  auto allowed = [&](int cpu) {
    return std::find(cpus.begin(), cpus.end(), cpu) != cpus.end();
  };
  for (int i = 0; i < 100; i++) {
    int libc_cpu = sched_getcpu();
    EXPECT_TRUE(allowed(libc_cpu)) << libc_cpu;
    unsigned cpu = ~0u, node = ~0u;
    ASSERT_EQ(fn(&cpu, &node, nullptr), 0);
    EXPECT_TRUE(allowed(static_cast<int>(cpu))) << cpu;
    unsigned sys_cpu = ~0u, sys_node = ~0u;
    ASSERT_EQ(syscall(SYS_getcpu, &sys_cpu, &sys_node, nullptr), 0);
    EXPECT_TRUE(allowed(static_cast<int>(sys_cpu))) << sys_cpu;
    EXPECT_EQ(node, sys_node);
    // Either pointer may be null.
    EXPECT_EQ(fn(nullptr, nullptr, nullptr), 0);
  }
}

TEST(VdsoGetcpuTest, GetcpuFollowsAPinnedThread) {
  auto fn = VdsoFunction<GetcpuFn>("__vdso_getcpu");
  ASSERT_NE(fn, nullptr);
  std::vector<int> cpus = AllowedCpus();
  ASSERT_FALSE(cpus.empty());
  AffinityRestorer restore;
  for (int want : cpus) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(want, &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0) << strerror(errno);
    // sched_setaffinity returns once the caller runs on an allowed CPU.
    EXPECT_EQ(sched_getcpu(), want);
    unsigned cpu = ~0u;
    ASSERT_EQ(fn(&cpu, nullptr, nullptr), 0);
    EXPECT_EQ(cpu, static_cast<unsigned>(want));
    unsigned sys_cpu = ~0u;
    ASSERT_EQ(syscall(SYS_getcpu, &sys_cpu, nullptr, nullptr), 0);
    EXPECT_EQ(sys_cpu, static_cast<unsigned>(want));
  }
}

TEST(VdsoClockTest, InvalidClocksFailWithEINVALAsTheSyscallDoes) {
  auto fn = VdsoFunction<ClockGettimeFn>("__vdso_clock_gettime");
  ASSERT_NE(fn, nullptr);
  // 10 was CLOCK_SGI_CYCLE, removed; the others were never clocks.
  for (clockid_t bad : {10, 16, 100, INT_MAX}) {
    struct timespec ts = {};
    EXPECT_ERRNO(syscall(SYS_clock_gettime, bad, &ts), EINVAL);
    EXPECT_ERRNO(clock_gettime(bad, &ts), EINVAL);
    // The vDSO function returns the negated errno, as the kernel does.
    EXPECT_EQ(fn(bad, &ts), -EINVAL) << "clock " << bad;
  }
}

// Spends about `ns` of this thread's CPU time.
void BurnCpu(int64_t ns) {
  int64_t start = SyscallNs(CLOCK_THREAD_CPUTIME_ID);
  volatile uint64_t sink = 0;
  while (SyscallNs(CLOCK_THREAD_CPUTIME_ID) - start < ns) {
    for (int i = 0; i < 10000; i++) sink = sink + i;
  }
}

TEST(VdsoClockTest, CpuTimeClocksFallBackToTheSyscall) {
  auto fn = VdsoFunction<ClockGettimeFn>("__vdso_clock_gettime");
  ASSERT_NE(fn, nullptr);
  BurnCpu(5 * kMs);
  for (clockid_t clock : {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}) {
    for (ClockGettimeFn read :
         {fn, static_cast<ClockGettimeFn>(clock_gettime)}) {
      // CPU time only advances: before <= reading <= after, exactly.
      int64_t before = SyscallNs(clock);
      struct timespec ts = {-1, -1};
      ASSERT_EQ(read(clock, &ts), 0);
      int64_t after = SyscallNs(clock);
      EXPECT_GE(ToNs(ts), 5 * kMs) << "clock " << clock;
      EXPECT_LE(before, ToNs(ts)) << "clock " << clock;
      EXPECT_LE(ToNs(ts), after) << "clock " << clock;
      // And it counts this thread's work.
      BurnCpu(10 * kMs);
      struct timespec later = {};
      ASSERT_EQ(read(clock, &later), 0);
      EXPECT_GE(ToNs(later) - ToNs(ts), 10 * kMs) << "clock " << clock;
    }
  }
}

TEST(VdsoClockTest, MonotonicRawFallsBackOrAgrees) {
  // Not one of the clocks this project's vDSO computes: through the vDSO it
  // must still read as the system call does.
  auto fn = VdsoFunction<ClockGettimeFn>("__vdso_clock_gettime");
  ASSERT_NE(fn, nullptr);
  ClockCase raw = {CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW", kToleranceNs};
  ExpectAgreesWithSyscall(raw, fn);
  ExpectAgreesWithSyscall(raw, clock_gettime);
}

}  // namespace
