#include "runsc/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace runsc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// This machine's layout: v1 hierarchies under a tmpfs, v2 at unified.
constexpr char kHybrid[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup "
    "rw,memory\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "41 22 0:5 / /proc rw - proc proc rw\n";

TEST(Cgroup, ParsesMountinfo) {
  std::vector<CgroupMount> m = ParseCgroupMounts(kHybrid);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].mountpoint, "/sys/fs/cgroup/cpu");
  EXPECT_THAT(m[0].controllers, ElementsAre("cpu"));
  EXPECT_THAT(m[1].controllers, ElementsAre("memory"));
  EXPECT_THAT(m[3].controllers, ElementsAre("xattr"));  // name= dropped
  EXPECT_TRUE(m[4].v2);
  EXPECT_FALSE(m[0].v2);
}

TEST(Cgroup, NormalizesPaths) {
  EXPECT_EQ(*NormalizeCgroupPath("/libpod_parent//libpod-1/", false),
            "/libpod_parent/libpod-1");
  EXPECT_EQ(*NormalizeCgroupPath("system.slice:docker:abc", true),
            "/system.slice/docker-abc.scope");
  for (const char* bad : {"", "rel/path", "/a/../b", "/./a", "/"}) {
    EXPECT_FALSE(NormalizeCgroupPath(bad, false).ok()) << bad;
  }
  EXPECT_FALSE(NormalizeCgroupPath("a:b", true).ok());
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// A fake cgroupfs: the kernel makes a cgroup's files at mkdir; here the
// test makes them first (mkdir of an existing directory is EEXIST, which
// MakeCgroups takes as there).
class FakeCgroupfs : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string t = std::string(tmp ? tmp : "/tmp") + "/cgroup_test.XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    root_ = buf.data();
  }
  void Make(const std::string& dir, std::initializer_list<const char*> files) {
    std::string full = root_ + dir;
    for (size_t at = root_.size() + 1; at <= full.size(); at++) {
      if (at == full.size() || full[at] == '/')
        mkdir(full.substr(0, at).c_str(), 0755);
    }
    for (const char* f : files) std::ofstream(full + "/" + f);
  }
  std::vector<CgroupMount> Mounts() {
    CgroupMount cpu{root_ + "/cpu", false, {"cpu"}};
    CgroupMount mem{root_ + "/memory", false, {"memory"}};
    CgroupMount pids{root_ + "/pids", false, {"pids"}};
    CgroupMount blkio{root_ + "/blkio", false, {"blkio"}};
    CgroupMount v2{root_ + "/unified", true, {}};
    return {cpu, mem, pids, blkio, v2};
  }
  std::string root_;
};

TEST_F(FakeCgroupfs, WritesV1LimitsWhereTheControllersAre) {
  Make("/cpu/c/1", {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"});
  Make("/memory/c/1", {"memory.limit_in_bytes"});  // no swap accounting
  Make("/pids/c/1", {"pids.max"});
  Make("/unified/c/1", {"cgroup.procs"});  // hybrid: no controllers in v2
  Make("/blkio", {});
  CgroupLimits l;
  l.memory_limit = 64 << 20;
  l.memory_swap = 128 << 20;
  l.cpu_shares = 512;
  l.cpu_quota = 50000;
  l.cpu_period = 100000;
  l.pids_limit = 100;
  absl::StatusOr<CgroupDirs> c = MakeCgroups(Mounts(), "/c/1", l, false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->dirs,
              ElementsAre(root_ + "/cpu/c/1", root_ + "/memory/c/1",
                          root_ + "/pids/c/1", root_ + "/unified/c/1"));
  EXPECT_EQ(Read(root_ + "/memory/c/1/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(Read(root_ + "/cpu/c/1/cpu.shares"), "512");
  EXPECT_EQ(Read(root_ + "/cpu/c/1/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Read(root_ + "/cpu/c/1/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(Read(root_ + "/pids/c/1/pids.max"), "100");
  struct stat st;
  EXPECT_NE(stat((root_ + "/blkio/c").c_str(), &st), 0)
      << "a hierarchy the sandbox does not use is left alone";
}

TEST_F(FakeCgroupfs, WritesV2Limits) {
  Make("/unified/k/2",
       {"memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max"});
  // The controllers each ancestor has, and its subtree_control to enable
  // them in (the kernel's files; here plain ones).
  std::ofstream(root_ + "/unified/cgroup.controllers")
      << "cpu io memory pids\n";
  std::ofstream(root_ + "/unified/cgroup.subtree_control");
  std::ofstream(root_ + "/unified/k/cgroup.controllers") << "memory pids\n";
  std::ofstream(root_ + "/unified/k/cgroup.subtree_control");
  CgroupLimits l;
  l.memory_limit = 1 << 30;
  l.memory_swap = 3 << 29;
  l.cpu_shares = 1024;
  l.cpu_quota = 20000;
  l.pids_limit = -1;
  CgroupMount v2{root_ + "/unified", true, {}};
  absl::StatusOr<CgroupDirs> c = MakeCgroups({v2}, "/k/2", l, false);
  ASSERT_TRUE(c.ok()) << c.status();
  std::string d = root_ + "/unified/k/2/";
  EXPECT_EQ(Read(d + "memory.max"), "1073741824");
  EXPECT_EQ(Read(d + "memory.swap.max"), "536870912");  // swap alone
  EXPECT_EQ(Read(d + "cpu.weight"), "39");              // runc's conversion
  EXPECT_EQ(Read(d + "cpu.max"), "20000 100000");
  EXPECT_EQ(Read(d + "pids.max"), "max");
  EXPECT_EQ(Read(root_ + "/unified/cgroup.subtree_control"),
            "+memory +cpu +pids");
  EXPECT_EQ(Read(root_ + "/unified/k/cgroup.subtree_control"), "+memory +pids");
}

TEST_F(FakeCgroupfs, ALimitNoHierarchyTakesIsAnError) {
  Make("/unified/n", {});
  CgroupMount v2{root_ + "/unified", true, {}};
  CgroupLimits l;
  l.memory_limit = 1 << 20;
  absl::StatusOr<CgroupDirs> c = MakeCgroups({v2}, "/n/3", l, false);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("a memory limit asked for, but no cgroup hierarchy"));
  struct stat st;
  EXPECT_NE(stat((root_ + "/unified/n/3").c_str(), &st), 0)
      << "what was made is removed";
  // Rootless (a runtime in a user namespace), as runc: skipped.
  EXPECT_TRUE(MakeCgroups({v2}, "/n/3", l, true).ok());
}

TEST_F(FakeCgroupfs, ReadsStatsFromEitherVersion) {
  Make("/cpuacct/s", {});
  std::ofstream(root_ + "/cpuacct/s/cpuacct.usage") << "123456789\n";
  std::ofstream(root_ + "/cpuacct/s/cpuacct.stat") << "user 10\nsystem 5\n";
  Make("/memory/s", {});
  std::ofstream(root_ + "/memory/s/memory.usage_in_bytes") << "4096\n";
  std::ofstream(root_ + "/memory/s/memory.limit_in_bytes") << "8192\n";
  std::ofstream(root_ + "/memory/s/memory.oom_control")
      << "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
  Make("/unified/s", {});
  std::ofstream(root_ + "/unified/s/pids.current") << "7\n";
  std::ofstream(root_ + "/unified/s/pids.max") << "max\n";
  CgroupStats st = ReadCgroupStats(CgroupDirs{
      {root_ + "/cpuacct/s", root_ + "/memory/s", root_ + "/unified/s"}});
  EXPECT_EQ(st.cpu_total_ns, 123456789u);
  EXPECT_EQ(st.cpu_user_ns, 100000000u);
  EXPECT_EQ(st.cpu_kernel_ns, 50000000u);
  EXPECT_EQ(st.memory_usage, 4096u);
  EXPECT_EQ(st.memory_limit, 8192u);
  EXPECT_EQ(st.oom_kills, 2u);
  EXPECT_EQ(st.pids_current, 7u);
  EXPECT_FALSE(st.pids_limit.has_value());  // "max"
}

TEST_F(FakeCgroupfs, AnUnwritableHierarchy) {
  // A hierarchy whose directory cannot be made: a file where it would go.
  std::ofstream(root_ + "/memory");
  CgroupMount mem{root_ + "/memory", false, {"memory"}};
  CgroupLimits l;
  absl::StatusOr<CgroupDirs> c = MakeCgroups({mem}, "/x", l, false);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("/memory/x"));
}

// A cgroup someone froze (v1 freezer.state, v2 cgroup.freeze) is refused
// with runc's words, and left as it was; a thawed one is taken.
TEST_F(FakeCgroupfs, RefusesAFrozenCgroup) {
  for (bool v2 : {false, true}) {
    CgroupMount m{root_ + (v2 ? "/unified" : "/freezer"), v2, {}};
    if (!v2) m.controllers = {"freezer"};
    const char* state = v2 ? "cgroup.freeze" : "freezer.state";
    Make(v2 ? "/unified/ct" : "/freezer/ct", {state});
    std::string dir = m.mountpoint + "/ct";
    std::ofstream(dir + "/" + state) << (v2 ? "1\n" : "FROZEN\n");
    absl::StatusOr<CgroupDirs> made = MakeCgroups({m}, "/ct", {}, false);
    ASSERT_FALSE(made.ok()) << (v2 ? "v2" : "v1");
    EXPECT_THAT(std::string(made.status().message()),
                HasSubstr("container's cgroup unexpectedly frozen"));
    struct stat st;
    EXPECT_EQ(stat(dir.c_str(), &st), 0) << "a frozen cgroup is not removed";
    std::ofstream(dir + "/" + state) << (v2 ? "0\n" : "THAWED\n");
    made = MakeCgroups({m}, "/ct", {}, false);
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_THAT(made->dirs, ElementsAre(dir));
  }
}

// linux.resources.unified: refused where v1 hierarchies exist (runc's
// "invalid configuration"), written into the cgroup where v2 is alone.
TEST_F(FakeCgroupfs, UnifiedOnlyOnV2) {
  Make("/unified/ct", {"memory.min"});
  CgroupLimits l;
  l.unified["memory.min"] = "131072";
  absl::StatusOr<CgroupDirs> made = MakeCgroups(Mounts(), "/ct", l, false);
  ASSERT_FALSE(made.ok());
  EXPECT_THAT(std::string(made.status().message()),
              HasSubstr("invalid configuration"));
  CgroupMount v2{root_ + "/unified", true, {}};
  made = MakeCgroups({v2}, "/ct", l, false);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(Read(root_ + "/unified/ct/memory.min"), "131072");
}

// runsc update: the limits given land in the container's cgroups; one
// that no hierarchy takes is an error, not a silent no-op.
TEST_F(FakeCgroupfs, UpdateWritesWhatIsGiven) {
  Make("/pids/ct", {"pids.max"});
  Make("/cpu/ct", {"cpu.shares"});
  CgroupMount pids{root_ + "/pids", false, {"pids"}};
  CgroupMount cpu{root_ + "/cpu", false, {"cpu"}};
  CgroupDirs dirs{{pids.mountpoint + "/ct", cpu.mountpoint + "/ct"}};
  CgroupLimits l;
  l.pids_limit = 10;
  l.cpu_shares = 200;
  ASSERT_TRUE(UpdateCgroups({pids, cpu}, dirs, l).ok());
  EXPECT_EQ(Read(root_ + "/pids/ct/pids.max"), "10");
  EXPECT_EQ(Read(root_ + "/cpu/ct/cpu.shares"), "200");
  CgroupLimits mem;
  mem.memory_limit = 1 << 20;
  absl::Status s = UpdateCgroups({pids, cpu}, dirs, mem);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("a memory limit asked for, but no cgroup hierarchy"));
}

}  // namespace
}  // namespace runsc
