// The files of /sys and /proc that common programs read to learn about the
// machine, checked for Linux's formats and for agreement with the system
// calls that report the same things.

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/util/test_util.h"

namespace {

using testing_util::ListDir;
using testing_util::ReadFile;

constexpr long kSysfsMagic = 0x62656572;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

bool IsNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// Parses a CPU list as sysfs prints it ("0-3,5\n"); false if malformed.
bool ParseCpuList(const std::string& text, std::set<int>* cpus) {
  if (text.empty() || text.back() != '\n') return false;
  std::string body = text.substr(0, text.size() - 1);
  for (const std::string& range : Split(body, ',')) {
    std::vector<std::string> ends = Split(range, '-');
    if (ends.empty() || ends.size() > 2) return false;
    for (const std::string& e : ends)
      if (!IsNumber(e)) return false;
    int lo = std::atoi(ends[0].c_str());
    int hi = ends.size() == 2 ? std::atoi(ends[1].c_str()) : lo;
    if (hi < lo) return false;
    for (int i = lo; i <= hi; i++) cpus->insert(i);
  }
  return true;
}

std::set<int> CpuFile(const std::string& name) {
  std::string text = ReadFile("/sys/devices/system/cpu/" + name);
  std::set<int> cpus;
  EXPECT_TRUE(ParseCpuList(text, &cpus)) << name << ": '" << text << "'";
  return cpus;
}

// ---- /sys ----

TEST(SysfsTest, IsSysfs) {
  struct statfs s;
  ASSERT_OK(statfs("/sys", &s));
  EXPECT_EQ(s.f_type, kSysfsMagic);
}

TEST(SysfsTest, OnlineCpusAgreeWithAffinityAndSysconf) {
  std::set<int> online = CpuFile("online");
  ASSERT_FALSE(online.empty());
  EXPECT_EQ(static_cast<long>(online.size()), sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
  int allowed = 0;
  for (int i = 0; i < CPU_SETSIZE; i++) {
    if (!CPU_ISSET(i, &set)) continue;
    allowed++;
    EXPECT_EQ(online.count(i), 1u) << "CPU " << i << " is allowed, not online";
  }
  EXPECT_GT(allowed, 0);
}

TEST(SysfsTest, PossibleAndPresentHoldTheOnlineCpus) {
  std::set<int> online = CpuFile("online");
  std::set<int> possible = CpuFile("possible");
  std::set<int> present = CpuFile("present");
  for (int c : online) {
    EXPECT_EQ(possible.count(c), 1u) << c;
    EXPECT_EQ(present.count(c), 1u) << c;
  }
  EXPECT_GE(static_cast<long>(possible.size()), sysconf(_SC_NPROCESSORS_CONF));
}

TEST(SysfsTest, EachOnlineCpuHasADirectory) {
  std::set<std::string> names = ListDir("/sys/devices/system/cpu");
  for (int c : CpuFile("online")) {
    std::string name = "cpu" + std::to_string(c);
    EXPECT_EQ(names.count(name), 1u) << name;
    struct stat st;
    ASSERT_OK(stat(("/sys/devices/system/cpu/" + name).c_str(), &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
  }
}

TEST(SysfsTest, TransparentHugepageSettings) {
  std::string enabled = ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
  ASSERT_FALSE(enabled.empty());
  ASSERT_EQ(enabled.back(), '\n');
  // The choices, the one in force in brackets.
  int chosen = 0;
  std::set<std::string> words;
  for (const std::string& w : Fields(enabled)) {
    if (w.size() > 2 && w.front() == '[' && w.back() == ']') {
      chosen++;
      words.insert(w.substr(1, w.size() - 2));
    } else {
      words.insert(w);
    }
  }
  EXPECT_EQ(chosen, 1) << enabled;
  EXPECT_EQ(words.count("always"), 1u) << enabled;
  EXPECT_EQ(words.count("madvise"), 1u) << enabled;
  EXPECT_EQ(words.count("never"), 1u) << enabled;
  std::string pmd =
      ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
  ASSERT_FALSE(pmd.empty());
  EXPECT_EQ(pmd.back(), '\n');
  EXPECT_GT(std::atol(pmd.c_str()), 4096) << pmd;
}

TEST(SysfsTest, CgroupDirectoryExists) {
  struct stat st;
  ASSERT_OK(stat("/sys/fs/cgroup", &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(SysfsTest, FilesAreReadOnly) {
  if (getuid() == 0) {
    // Root may open a 0444 file for writing on Linux; sysfs then refuses
    // the write itself. Opening for writing must at least not succeed in
    // changing anything: check the mode bits instead.
    struct stat st;
    ASSERT_OK(stat("/sys/devices/system/cpu/online", &st));
    EXPECT_EQ(st.st_mode & 0222, 0u);
    return;
  }
  EXPECT_ERRNO(open("/sys/devices/system/cpu/online", O_WRONLY), EACCES);
}

// ---- /proc ----

TEST(ProcFormatTest, MountinfoHasProcFiveFields) {
  std::string text = ReadFile("/proc/self/mountinfo");
  std::vector<std::string> lines = Split(text, '\n');
  ASSERT_FALSE(lines.empty());
  std::set<std::string> ids;
  std::vector<std::string> parents;
  std::map<std::string, std::vector<std::string>> by_point;
  for (const std::string& line : lines) {
    std::vector<std::string> f = Fields(line);
    // ID, parent, major:minor, root, mount point, options, optional
    // fields, "-", type, source, superblock options.
    ASSERT_GE(f.size(), 10u) << line;
    EXPECT_TRUE(IsNumber(f[0])) << line;
    EXPECT_TRUE(IsNumber(f[1])) << line;
    std::vector<std::string> dev = Split(f[2], ':');
    ASSERT_EQ(dev.size(), 2u) << line;
    EXPECT_TRUE(IsNumber(dev[0]) && IsNumber(dev[1])) << line;
    EXPECT_EQ(f[4][0], '/') << line;
    EXPECT_TRUE(f[5].rfind("rw", 0) == 0 || f[5].rfind("ro", 0) == 0) << line;
    size_t sep = 6;
    while (sep < f.size() && f[sep] != "-") sep++;
    ASSERT_LT(sep, f.size()) << "no separator: " << line;
    ASSERT_EQ(f.size(), sep + 4) << line;
    // The root within the filesystem: a path, except for a namespace
    // file bind-mounted from nsfs ("net:[4026532176]", as ip netns and
    // podman leave in /run/netns).
    if (f[sep + 1] != "nsfs") {
      EXPECT_EQ(f[3][0], '/') << line;
    }
    EXPECT_TRUE(ids.insert(f[0]).second) << "duplicate id: " << line;
    parents.push_back(f[1]);
    by_point[f[4]] = f;
  }
  // Every parent is listed, but for the root's, which may lie outside.
  int unlisted = 0;
  for (const std::string& p : parents) unlisted += ids.count(p) == 0 ? 1 : 0;
  EXPECT_LE(unlisted, 1);

  ASSERT_EQ(by_point.count("/proc"), 1u) << text;
  const std::vector<std::string>& proc = by_point["/proc"];
  EXPECT_EQ(proc[proc.size() - 3], "proc");
  struct stat st;
  ASSERT_OK(stat("/proc", &st));
  EXPECT_EQ(proc[2], std::to_string(major(st.st_dev)) + ":" +
                         std::to_string(minor(st.st_dev)));
  ASSERT_EQ(by_point.count("/sys"), 1u) << text;
  EXPECT_EQ(by_point["/sys"][by_point["/sys"].size() - 3], "sysfs");
  EXPECT_EQ(by_point.count("/"), 1u) << text;
}

TEST(ProcFormatTest, MountsAgreesWithMountinfo) {
  std::vector<std::string> mounts = Split(ReadFile("/proc/self/mounts"), '\n');
  std::vector<std::string> info = Split(ReadFile("/proc/self/mountinfo"), '\n');
  EXPECT_EQ(mounts.size(), info.size());
  std::set<std::string> points;
  for (const std::string& line : mounts) {
    std::vector<std::string> f = Fields(line);
    ASSERT_EQ(f.size(), 6u) << line;
    EXPECT_EQ(f[4], "0");
    EXPECT_EQ(f[5], "0");
    points.insert(f[1]);
  }
  for (const std::string& line : info) {
    EXPECT_EQ(points.count(Fields(line)[4]), 1u) << line;
  }
  EXPECT_EQ(ReadFile("/proc/mounts"), ReadFile("/proc/self/mounts"));
}

TEST(ProcFormatTest, FilesystemsListsTheMountedTypes) {
  std::string text = ReadFile("/proc/filesystems");
  std::set<std::string> types;
  for (const std::string& line : Split(text, '\n')) {
    std::vector<std::string> f = Split(line, '\t');
    ASSERT_EQ(f.size(), 2u) << "'" << line << "'";
    EXPECT_TRUE(f[0].empty() || f[0] == "nodev") << line;
    types.insert(f[1]);
  }
  for (const char* t : {"proc", "sysfs", "tmpfs"}) {
    EXPECT_EQ(types.count(t), 1u) << t;
  }
}

TEST(ProcFormatTest, MeminfoFormatAndTotals) {
  std::map<std::string, long> kb;
  for (const std::string& line : Split(ReadFile("/proc/meminfo"), '\n')) {
    std::vector<std::string> f = Fields(line);
    ASSERT_TRUE(f.size() == 2 || (f.size() == 3 && f[2] == "kB")) << line;
    ASSERT_EQ(f[0].back(), ':') << line;
    ASSERT_TRUE(IsNumber(f[1])) << line;
    kb[f[0].substr(0, f[0].size() - 1)] = std::atol(f[1].c_str());
  }
  for (const char* key :
       {"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal",
        "SwapFree", "Shmem", "SReclaimable"}) {
    EXPECT_EQ(kb.count(key), 1u) << key;
  }
  struct sysinfo si;
  ASSERT_OK(sysinfo(&si));
  long total_kb = static_cast<long>(si.totalram * si.mem_unit / 1024);
  EXPECT_EQ(kb["MemTotal"], total_kb);
  EXPECT_LE(kb["MemFree"], kb["MemTotal"]);
}

TEST(ProcFormatTest, CpuinfoCountsTheOnlineCpus) {
  int processors = 0;
  for (const std::string& line : Split(ReadFile("/proc/cpuinfo"), '\n')) {
    if (line.rfind("processor", 0) == 0) processors++;
  }
  EXPECT_EQ(processors, sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(ProcFormatTest, KernelSysctls) {
  struct utsname u;
  ASSERT_OK(uname(&u));
  EXPECT_EQ(ReadFile("/proc/sys/kernel/hostname"),
            std::string(u.nodename) + "\n");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/ostype"), "Linux\n");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/osrelease"),
            std::string(u.release) + "\n");
  std::string pid_max = ReadFile("/proc/sys/kernel/pid_max");
  ASSERT_FALSE(pid_max.empty());
  EXPECT_EQ(pid_max.back(), '\n');
  EXPECT_GT(std::atol(pid_max.c_str()), 300);
  std::string file_max = ReadFile("/proc/sys/fs/file-max");
  ASSERT_FALSE(file_max.empty());
  EXPECT_TRUE(IsNumber(file_max.substr(0, file_max.size() - 1))) << file_max;
  std::string overcommit = ReadFile("/proc/sys/vm/overcommit_memory");
  EXPECT_TRUE(overcommit == "0\n" || overcommit == "1\n" || overcommit == "2\n")
      << overcommit;
}

}  // namespace
