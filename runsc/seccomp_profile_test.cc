#include "runsc/seccomp_profile.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cstring>
#include <functional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/kernel/seccomp.h"

namespace runsc {
namespace {

using ::testing::HasSubstr;

// The filter the sandbox would install for `profile`.
std::shared_ptr<const sentry::kernel::SeccompFilter> Filter(
    const oci::Seccomp& profile) {
  absl::StatusOr<std::string> bpf = CompileSeccomp(profile);
  EXPECT_TRUE(bpf.ok()) << bpf.status();
  if (!bpf.ok()) return nullptr;
  std::vector<struct sock_filter> prog(bpf->size() / sizeof(sock_filter));
  memcpy(prog.data(), bpf->data(), bpf->size());
  auto f = sentry::kernel::SeccompFilter::Load(std::move(prog), nullptr);
  EXPECT_TRUE(f.ok());
  return f.ok() ? *f : nullptr;
}

uint32_t Verdict(const sentry::kernel::SeccompFilter& f, int nr,
                 uint64_t arg0 = 0, uint64_t arg1 = 0) {
  struct seccomp_data d;
  memset(&d, 0, sizeof(d));
  d.nr = nr;
  d.arch = AUDIT_ARCH_X86_64;
  d.args[0] = arg0;
  d.args[1] = arg1;
  return f.Evaluate(d);
}

TEST(SeccompProfile, DefaultAndRules) {
  oci::Seccomp p;
  p.default_action = "SCMP_ACT_ERRNO";
  p.default_errno_ret = ENOSYS;
  p.syscalls.push_back({{"read", "write", "no_such_call"}, "SCMP_ACT_ALLOW"});
  p.syscalls.push_back({{"kill"}, "SCMP_ACT_KILL_PROCESS"});
  p.syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", EACCES});
  auto f = Filter(p);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Verdict(*f, SYS_read), SECCOMP_RET_ALLOW);
  EXPECT_EQ(Verdict(*f, SYS_write), SECCOMP_RET_ALLOW);
  EXPECT_EQ(Verdict(*f, SYS_kill), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Verdict(*f, SYS_mkdir), SECCOMP_RET_ERRNO | EACCES);
  EXPECT_EQ(Verdict(*f, SYS_getpid), SECCOMP_RET_ERRNO | ENOSYS);
  // Another architecture's calls do not get through as x86-64's.
  struct seccomp_data d;
  memset(&d, 0, sizeof(d));
  d.nr = SYS_read;
  d.arch = AUDIT_ARCH_I386;
  EXPECT_NE(f->Evaluate(d), SECCOMP_RET_ALLOW);
}

// runc's -ENOSYS stub: calls numbered above every call the profile names
// are ENOSYS when the default refuses; below, the default stands.
TEST(SeccompProfile, CallsNewerThanTheProfileAreENOSYS) {
  oci::Seccomp p;
  p.default_action = "SCMP_ACT_ERRNO";
  p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  p.syscalls.push_back({{"read", "write"}, "SCMP_ACT_ALLOW"});
  p.syscalls.push_back({{"kcmp"}, "SCMP_ACT_ERRNO", EACCES});
  auto f = Filter(p);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Verdict(*f, SYS_read), SECCOMP_RET_ALLOW);
  EXPECT_EQ(Verdict(*f, SYS_kcmp), SECCOMP_RET_ERRNO | EACCES);
  EXPECT_EQ(Verdict(*f, SYS_getpid), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(Verdict(*f, SYS_kcmp + 1), SECCOMP_RET_ERRNO | ENOSYS);
  EXPECT_EQ(Verdict(*f, SYS_clone3), SECCOMP_RET_ERRNO | ENOSYS);
  EXPECT_EQ(Verdict(*f, 1000), SECCOMP_RET_ERRNO | ENOSYS);
  // x32's numbers are not x86-64's: the profile decides them (libseccomp
  // treats them as a foreign architecture's).
  EXPECT_NE(Verdict(*f, 0x40000000 | 1000), SECCOMP_RET_ERRNO | ENOSYS);
  // None where runc adds none: a permissive default or no x86-64
  // architecture listed. (A default of ENOSYS needs none either.)
  for (auto change : std::vector<std::function<void(oci::Seccomp&)>>{
           [](oci::Seccomp& q) { q.default_action = "SCMP_ACT_LOG"; },
           [](oci::Seccomp& q) { q.architectures = {"SCMP_ARCH_AARCH64"}; },
           [](oci::Seccomp& q) { q.architectures.clear(); }}) {
    oci::Seccomp q = p;
    change(q);
    auto g = Filter(q);
    ASSERT_NE(g, nullptr);
    uint32_t v = Verdict(*g, 1000);
    EXPECT_NE(v, SECCOMP_RET_ERRNO | ENOSYS) << q.default_action;
  }
}

TEST(SeccompProfile, Arguments) {
  oci::Seccomp p;
  p.default_action = "SCMP_ACT_ALLOW";
  // One argument twice: each its own rule, so either matches (runc's).
  oci::SeccompRule personality{{"personality"}, "SCMP_ACT_ERRNO"};
  personality.args = {{0, 8, 0, "SCMP_CMP_EQ"}, {0, 9, 0, "SCMP_CMP_EQ"}};
  p.syscalls.push_back(personality);
  // Two arguments: both must match.
  oci::SeccompRule kill{{"kill"}, "SCMP_ACT_ERRNO", EPERM};
  kill.args = {{0, 1, 0, "SCMP_CMP_EQ"}, {1, 0xff, 9, "SCMP_CMP_MASKED_EQ"}};
  p.syscalls.push_back(kill);
  auto f = Filter(p);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Verdict(*f, SYS_personality, 8), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(Verdict(*f, SYS_personality, 9), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(Verdict(*f, SYS_personality, 10), SECCOMP_RET_ALLOW);
  EXPECT_EQ(Verdict(*f, SYS_kill, 1, 0x109), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(Verdict(*f, SYS_kill, 1, 0x10a), SECCOMP_RET_ALLOW);
  EXPECT_EQ(Verdict(*f, SYS_kill, 2, 9), SECCOMP_RET_ALLOW);
}

TEST(SeccompProfile, BadProfilesNameTheField) {
  struct {
    oci::Seccomp p;
    const char* message;
  } cases[] = {
      {{"SCMP_ACT_BOGUS"}, "linux.seccomp.defaultAction: unknown action"},
      {{"SCMP_ACT_NOTIFY"}, "SCMP_ACT_NOTIFY is not supported"},
      {{"SCMP_ACT_ALLOW", {}, {"SCMP_ARCH_VAX"}},
       "linux.seccomp.architectures[0]: unknown architecture"},
      {{"SCMP_ACT_ALLOW", {}, {}, {"SECCOMP_FILTER_FLAG_NEW_LISTENER"}},
       "linux.seccomp.flags[0]: unknown or unsupported flag"},
      {{"SCMP_ACT_ALLOW", {}, {}, {}, "/run/agent.sock"},
       "linux.seccomp.listenerPath: not supported"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<std::string> bpf = CompileSeccomp(c.p);
    ASSERT_FALSE(bpf.ok()) << c.message;
    EXPECT_THAT(std::string(bpf.status().message()), HasSubstr(c.message));
  }
  oci::Seccomp op;
  op.default_action = "SCMP_ACT_ALLOW";
  oci::SeccompRule r{{"read"}, "SCMP_ACT_ERRNO"};
  r.args = {{0, 1, 0, "SCMP_CMP_ABOUT"}};
  op.syscalls.push_back(r);
  absl::StatusOr<std::string> bpf = CompileSeccomp(op);
  ASSERT_FALSE(bpf.ok());
  EXPECT_THAT(std::string(bpf.status().message()),
              HasSubstr("linux.seccomp.syscalls[0].args[0].op: unknown "
                        "operator \"SCMP_CMP_ABOUT\""));
}

}  // namespace
}  // namespace runsc
