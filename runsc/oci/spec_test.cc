#include "runsc/oci/spec.h"

#include <sys/resource.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace runsc::oci {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Spec, TheDefaultParses) {
  absl::StatusOr<Spec> s = ParseSpec(DefaultSpecJson());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->root_path, "rootfs");
  EXPECT_TRUE(s->root_readonly);
  ASSERT_TRUE(s->process.has_value());
  EXPECT_THAT(s->process->args, ElementsAre("sh"));
  EXPECT_TRUE(s->process->terminal);
  ASSERT_EQ(s->process->rlimits.size(), 1u);
  EXPECT_EQ(s->process->rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(s->mounts.size(), 6u);
  EXPECT_EQ(s->linux.namespaces.size(), 5u);
  EXPECT_EQ(s->linux.masked_paths.size(), 10u);
  absl::StatusOr<Spec> v2 = ParseSpec(DefaultSpecJson(true));
  ASSERT_TRUE(v2.ok()) << v2.status();
  ASSERT_EQ(v2->linux.namespaces.size(), 6u);
  EXPECT_EQ(v2->linux.namespaces[5].type, "cgroup");
}

TEST(Spec, DecodesWhatRunscUses) {
  absl::StatusOr<Spec> s = ParseSpec(R"({
    "ociVersion": "1.1.0",
    "root": {"path": "/var/lib/c/rootfs", "readonly": false},
    "process": {
      "terminal": false,
      "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [10, 20]},
      "args": ["/bin/sh", "-c", "echo hi"],
      "env": ["PATH=/bin", "A=b=c"],
      "cwd": "/home",
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615,
                   "soft": 1024}],
      "noNewPrivileges": true,
      "oomScoreAdj": -500,
      "unknownMember": {"ignored": [1, 2]}
    },
    "hostname": "box",
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "//data//x/", "type": "bind", "source": "/srv/x",
       "options": ["rbind", "ro"]},
      {"destination": "/etc/hosts", "source": "/run/h", "options": ["bind"]}
    ],
    "hooks": {"poststop": [{"path": "/bin/cleanup", "args": ["cleanup", "1"],
                            "timeout": 5}]},
    "annotations": {"io.example/x": "y"},
    "linux": {
      "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/n"}],
      "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "resources": {"memory": {"limit": 536870912}, "cpu": {"shares": 512,
                    "quota": 50000, "period": 100000}, "pids": {"limit": 100}},
      "cgroupsPath": "/runsc/c1",
      "maskedPaths": ["/proc/kcore"],
      "readonlyPaths": ["/proc/sys/"]
    }
  })");
  ASSERT_TRUE(s.ok()) << s.status();
  const Process& p = *s->process;
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 100u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_THAT(p.user.additional_gids, ElementsAre(10u, 20u));
  EXPECT_EQ(p.cwd, "/home");
  EXPECT_EQ(p.rlimits[0].hard, UINT64_MAX);
  EXPECT_EQ(p.oom_score_adj, -500);
  EXPECT_EQ(s->hostname, "box");
  ASSERT_EQ(s->mounts.size(), 3u);
  EXPECT_EQ(s->mounts[1].destination, "/data/x");
  EXPECT_TRUE(s->mounts[1].IsBind());
  EXPECT_TRUE(s->mounts[1].HasOption("ro"));
  EXPECT_TRUE(s->mounts[2].IsBind());
  EXPECT_FALSE(s->mounts[0].IsBind());
  ASSERT_EQ(s->hooks.poststop.size(), 1u);
  EXPECT_EQ(s->hooks.poststop[0].timeout, 5);
  EXPECT_EQ(s->annotations.at("io.example/x"), "y");
  EXPECT_EQ(s->linux.namespaces[1].path, "/run/netns/n");
  EXPECT_EQ(s->linux.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(s->linux.resources.memory_limit, 536870912);
  EXPECT_EQ(s->linux.resources.cpu_quota, 50000);
  EXPECT_EQ(s->linux.resources.pids_limit, 100);
  EXPECT_THAT(s->linux.readonly_paths, ElementsAre("/proc/sys"));
}

// Each hostile or malformed document is refused with the field named.
TEST(Spec, BadDocumentsNameTheField) {
  const std::string base = R"("ociVersion": "1.0.2", "root": {"path": "r"})";
  struct {
    std::string body;
    const char* message;
  } cases[] = {
      {"[]", "config: expected an object, got an array"},
      {R"({"root": {"path": "r"}})", "ociVersion: missing"},
      {R"({"ociVersion": "1"})", "root.path: missing"},
      {R"({"ociVersion": 1, "root": {"path": "r"}})",
       "ociVersion: expected a string, got a number"},
      {"{" + base + R"(, "process": {"args": []}})",
       "process.args: no program to run"},
      {"{" + base + R"(, "process": {"args": "sh"}})",
       "process.args: expected an array, got a string"},
      {"{" + base + R"(, "process": {"args": ["sh", 1]}})",
       "process.args[1]: expected a string, got a number"},
      {"{" + base + R"(, "process": {"args": ["sh"], "cwd": "home"}})",
       "process.cwd: \"home\" is not an absolute path"},
      {"{" + base +
           R"(, "process": {"args": ["sh"], "user": {"uid": "root"}}})",
       "process.user.uid: expected an integer from 0 to 4294967295, got "
       "\"root\""},
      {"{" + base + R"(, "process": {"args": ["sh"], "user": {"uid": -1}}})",
       "process.user.uid: expected an integer from 0 to 4294967295, got -1"},
      {"{" + base + R"(, "process": {"args": ["sh"], "user": {"uid": 1.5}}})",
       "process.user.uid: expected an integer"},
      {"{" + base + R"(, "process": {"args": ["sh"], "env": ["NOEQUALS"]}})",
       "process.env[0]: \"NOEQUALS\" is not KEY=VALUE"},
      {"{" + base + R"(, "process": {"args": ["s\u0000h"]}})",
       "process.args[0]: contains a NUL byte"},
      {"{" + base +
           R"(, "process": {"args": ["sh"], "rlimits": [{"type": "RLIMIT_BOGUS"}]}})",
       "process.rlimits[0].type: unknown rlimit \"RLIMIT_BOGUS\""},
      {"{" + base +
           R"(, "process": {"args": ["sh"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]}})",
       "process.rlimits[0]: soft limit above the hard limit"},
      {"{" + base +
           R"(, "mounts": [{"destination": "/a/../etc", "source": "/x", "type": "bind"}]})",
       "mounts[0].destination: \"/a/../etc\" is not an absolute path without "
       ".."},
      {"{" + base + R"(, "mounts": [{"destination": "tmp", "type": "tmpfs"}]})",
       "mounts[0].destination: \"tmp\" is not an absolute path"},
      {"{" + base +
           R"(, "mounts": [{"destination": "/proc", "type": "bind", "source": "/"}]})",
       "mounts[0].destination: a bind mount on /proc: only a proc mount"},
      {"{" + base +
           R"(, "mounts": [{"destination": "/proc/sys", "type": "tmpfs"}]})",
       "mounts[0].destination: a tmpfs mount on /proc/sys"},
      {"{" + base + R"(, "mounts": [{"destination": "/x", "type": "bind"}]})",
       "mounts[0].source: a bind mount needs a source"},
      {"{" + base + R"(, "mounts": {"destination": "/x"}})",
       "mounts: expected an array, got an object"},
      {"{" + base + R"(, "hooks": {"poststart": [{"path": "rel"}]}})",
       "hooks.poststart[0].path: expected an absolute path"},
      {"{" + base +
           R"(, "linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}})",
       "linux.namespaces[1].type: namespace pid given twice"},
      {"{" + base + R"(, "linux": {"namespaces": [{"type": "bogus"}]}})",
       "linux.namespaces[0].type: unknown namespace \"bogus\""},
      {"{" + base + R"(, "linux": {"maskedPaths": ["/proc/../etc"]}})",
       "linux.maskedPaths[0]: \"/proc/../etc\" is not an absolute path"},
      {"{" + base + R"(, "linux": {"resources": {"memory": {"limit": "1g"}}}})",
       "linux.resources.memory.limit: expected an integer"},
      {"{" + base +
           R"(, "linux": {"resources": {"unified": {"../../x.y": "1"}}}})",
       "linux.resources.unified: \"../../x.y\" is not a cgroup file name"},
      {"{" + base + R"(, "linux": {"resources": {"unified": {"a.b": 1}}}})",
       "linux.resources.unified"},
      {"{" + base + R"(, "annotations": {"a": 1}})",
       "annotations.a: expected a string, got a number"},
      {"{" + base + R"(, "hostname": ")" + std::string(65, 'h') + "\"}",
       "hostname: longer than 64 bytes"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<Spec> s = ParseSpec(c.body);
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.message))
        << c.body;
  }
}

TEST(Spec, HugeArraysAreRefusedByName) {
  std::string args;
  for (size_t i = 0; i <= kMaxArgs; i++) args += i == 0 ? "\"a\"" : ",\"a\"";
  absl::StatusOr<Spec> s = ParseSpec(
      R"({"ociVersion": "1", "root": {"path": "r"}, "process": {"args": [)" +
      args + "]}}");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("process.args: 4097 entries, at most 4096"));
  std::string mounts;
  for (size_t i = 0; i <= kMaxMounts; i++)
    mounts += std::string(i == 0 ? "" : ",") + R"({"destination": "/m"})";
  s = ParseSpec(R"({"ociVersion": "1", "root": {"path": "r"}, "mounts": [)" +
                mounts + "]}");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("mounts: 1025 entries, at most 1024"));
}

TEST(Spec, AProcessAlone) {
  absl::StatusOr<Process> p = ParseProcess(
      R"({"args": ["sh", "-c", "id"], "env": ["A=1"], "cwd": "/tmp",)"
      R"( "terminal": true, "user": {"uid": 7, "gid": 8,)"
      R"( "additionalGids": [9]}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->args, ElementsAre("sh", "-c", "id"));
  EXPECT_THAT(p->env, ElementsAre("A=1"));
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_TRUE(p->terminal);
  EXPECT_EQ(p->user.uid, 7u);
  EXPECT_EQ(p->user.gid, 8u);
  EXPECT_THAT(p->user.additional_gids, ElementsAre(9u));
  struct {
    const char* body;
    const char* message;
  } cases[] = {
      {"[]", "process: expected an object, got an array"},
      {R"({"args": []})", "process.args: no program to run"},
      {R"({"args": ["sh"], "cwd": "rel"})",
       "process.cwd: \"rel\" is not an absolute path"},
      {R"({"args": ["sh"], "env": [1]})",
       "process.env[0]: expected a string, got a number"},
      {R"({"args": ["sh"])", "JSON"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<Process> bad = ParseProcess(c.body);
    ASSERT_FALSE(bad.ok()) << c.body;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(c.message))
        << c.body;
  }
}

}  // namespace
}  // namespace runsc::oci
