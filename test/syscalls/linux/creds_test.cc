// Credentials, each test in a forked child so that the test process stays
// root: setuid(2)/setgid(2) (root sets all three ids, others only the
// effective one), setreuid(2)/setregid(2) (the saved-id rule),
// setresuid(2)/setresgid(2) (root sets anything, others permute), setfsuid(2)
// and setfsgid(2) (always return the old value; fsuid follows euid; a
// non-zero fsuid drops the file capabilities), getresuid/getresgid after
// each, setgroups(2)/getgroups(2) (sorted, EINVAL/EPERM cases), capget(2)
// and capset(2) (root's effective set equals its permitted set; leaving uid
// 0 clears them unless PR_SET_KEEPCAPS; a temporary euid change clears only
// the effective set; nothing beyond the permitted set can be raised; version
// negotiation), permission checks that follow (chown, kill, open of another
// user's file), and prctl: PR_SET/GET_NAME per thread and truncated to 15
// bytes, PR_SET/GET_DUMPABLE (0 and 1 only; reset on a uid change),
// PR_SET/GET_NO_NEW_PRIVS, PR_SET/GET_KEEPCAPS. (PR_SET_SECCOMP is left out:
// the sandbox answers EINVAL to it.)

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::BecomeUser;
using testing_util::ForkChild;
using testing_util::ForkPauser;
using testing_util::InForkedChild;
using testing_util::ReadFile;
using testing_util::TempPath;
using testing_util::WaitStatus;
using testing_util::WriteFile;

constexpr uid_t kUid1 = 12345;
constexpr uid_t kUid2 = 23456;
constexpr uid_t kUid3 = 34567;
constexpr gid_t kGid1 = 12345;
constexpr gid_t kGid2 = 23456;
constexpr gid_t kGid3 = 34567;

struct Ids {
  unsigned r, e, s;
  bool operator==(const Ids& o) const {
    return r == o.r && e == o.e && s == o.s;
  }
};
std::ostream& operator<<(std::ostream& os, const Ids& ids) {
  return os << "(" << ids.r << ", " << ids.e << ", " << ids.s << ")";
}

Ids Uids() {
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  return {r, e, s};
}

Ids Gids() {
  gid_t r, e, s;
  getresgid(&r, &e, &s);
  return {r, e, s};
}

// The current fsuid/fsgid: setfs*id(-1) changes nothing and returns it.
uid_t Fsuid() { return static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1))); }
gid_t Fsgid() { return static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1))); }

// 64-bit capability sets (version 3: two 32-bit words each).
struct Caps {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

int Capget(pid_t pid, Caps* caps) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, pid};
  struct __user_cap_data_struct data[2] = {};
  int rc = static_cast<int>(syscall(SYS_capget, &hdr, data));
  if (rc == 0) {
    caps->effective = data[0].effective | uint64_t{data[1].effective} << 32;
    caps->permitted = data[0].permitted | uint64_t{data[1].permitted} << 32;
    caps->inheritable = data[0].inheritable | uint64_t{data[1].inheritable}
                                                  << 32;
  }
  return rc;
}

Caps Capget() {
  Caps c;
  EXPECT_EQ(Capget(0, &c), 0) << strerror(errno);
  return c;
}

int Capset(const Caps& caps, pid_t pid = 0) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, pid};
  struct __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(caps.effective);
  data[1].effective = static_cast<uint32_t>(caps.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(caps.permitted);
  data[1].permitted = static_cast<uint32_t>(caps.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(caps.inheritable);
  data[1].inheritable = static_cast<uint32_t>(caps.inheritable >> 32);
  return static_cast<int>(syscall(SYS_capset, &hdr, data));
}

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

// Capabilities every test here relies on root having.
constexpr uint64_t kRootNeeds = Bit(CAP_CHOWN) | Bit(CAP_DAC_OVERRIDE) |
                                Bit(CAP_DAC_READ_SEARCH) | Bit(CAP_FOWNER) |
                                Bit(CAP_KILL) | Bit(CAP_SETGID) |
                                Bit(CAP_SETUID) | Bit(CAP_SETPCAP);

// A root-owned file with mode 0600, in a directory anyone may search.
class RootFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(chmod(dir_.path().c_str(), 0755));
    path_ = dir_ / "rootfile";
    WriteFile(path_, "secret");
    ASSERT_OK(chmod(path_.c_str(), 0600));
  }
  TempPath dir_;
  std::string path_;
};

// ------------------------------------------------------------------- uids

TEST(SetuidTest, RootSetuidSetsAllThreeIds) {
  InForkedChild([] {
    EXPECT_EQ(Uids(), (Ids{0, 0, 0}));
    ASSERT_OK(setuid(kUid1));
    EXPECT_EQ(Uids(), (Ids{kUid1, kUid1, kUid1}));
    EXPECT_EQ(Fsuid(), kUid1);
    // No way back.
    EXPECT_ERRNO(setuid(0), EPERM);
    EXPECT_ERRNO(seteuid(0), EPERM);
    EXPECT_ERRNO(setresuid(-1, -1, 0), EPERM);
    EXPECT_EQ(setuid(kUid1), 0);  // a no-op is allowed
  });
}

TEST(SetuidTest, ATemporaryEuidChangeKeepsTheWayBack) {
  InForkedChild([] {
    ASSERT_OK(setresuid(-1, kUid1, -1));
    EXPECT_EQ(Uids(), (Ids{0, kUid1, 0}));
    EXPECT_EQ(Fsuid(), kUid1);  // fsuid follows euid
    // Without uid 0 in the effective id, non-root rules apply: setuid may
    // only pick the real or saved id, and changes the effective id alone.
    EXPECT_ERRNO(setuid(kUid2), EPERM);
    ASSERT_OK(setuid(0));
    EXPECT_EQ(Uids(), (Ids{0, 0, 0}));
    // Now privileged again: setuid sets all three.
    ASSERT_OK(setuid(kUid2));
    EXPECT_EQ(Uids(), (Ids{kUid2, kUid2, kUid2}));
  });
}

TEST(SetuidTest, SetreuidUpdatesTheSavedIdByTheRule) {
  InForkedChild([] {
    // The effective id differs from the old real id: saved = new effective.
    ASSERT_OK(setreuid(-1, kUid1));
    EXPECT_EQ(Uids(), (Ids{0, kUid1, kUid1}));
    // Back to euid 0 is allowed (the real id is 0); the new effective id
    // equals the real one, so the saved id stays.
    ASSERT_OK(setreuid(-1, 0));
    EXPECT_EQ(Uids(), (Ids{0, 0, kUid1}));
    // Setting the real id: saved = new effective (unchanged here).
    ASSERT_OK(setreuid(kUid1, -1));
    EXPECT_EQ(Uids(), (Ids{kUid1, 0, 0}));
    ASSERT_OK(setreuid(kUid2, kUid3));
    EXPECT_EQ(Uids(), (Ids{kUid2, kUid3, kUid3}));
    // Unprivileged now: swapping real and effective is allowed.
    ASSERT_OK(setreuid(kUid3, kUid2));
    EXPECT_EQ(Uids(), (Ids{kUid3, kUid2, kUid2}));
    EXPECT_ERRNO(setreuid(kUid1, -1), EPERM);
    EXPECT_ERRNO(setreuid(-1, 0), EPERM);
  });
}

TEST(SetuidTest, SetresuidRootSetsAnythingOthersPermute) {
  InForkedChild([] {
    ASSERT_OK(setresuid(kUid1, kUid2, kUid3));
    EXPECT_EQ(Uids(), (Ids{kUid1, kUid2, kUid3}));
    ASSERT_OK(setresuid(kUid3, kUid1, kUid2));
    EXPECT_EQ(Uids(), (Ids{kUid3, kUid1, kUid2}));
    ASSERT_OK(setresuid(-1, -1, -1));
    EXPECT_EQ(Uids(), (Ids{kUid3, kUid1, kUid2}));
    EXPECT_ERRNO(setresuid(0, -1, -1), EPERM);
    EXPECT_ERRNO(setresuid(-1, 99, -1), EPERM);
    EXPECT_ERRNO(setresuid(-1, -1, 99), EPERM);
    EXPECT_EQ(Uids(), (Ids{kUid3, kUid1, kUid2}));  // failures change nothing
  });
}

TEST(SetuidTest, GetresuidBadPointerIsEFAULT) {
  uid_t u;
  EXPECT_ERRNO(syscall(SYS_getresuid, &u, &u, reinterpret_cast<uid_t*>(8)),
               EFAULT);
}

// ------------------------------------------------------------------- gids

TEST(SetgidTest, RootSetgidSetsAllThreeIds) {
  InForkedChild([] {
    ASSERT_OK(setgid(kGid1));
    EXPECT_EQ(Gids(), (Ids{kGid1, kGid1, kGid1}));
    EXPECT_EQ(Fsgid(), kGid1);
    // Still root (CAP_SETGID): may set it back.
    ASSERT_OK(setgid(0));
    EXPECT_EQ(Gids(), (Ids{0, 0, 0}));
  });
}

TEST(SetgidTest, SetregidAndSetresgid) {
  InForkedChild([] {
    ASSERT_OK(setregid(-1, kGid1));
    EXPECT_EQ(Gids(), (Ids{0, kGid1, kGid1}));
    ASSERT_OK(setregid(kGid2, -1));
    EXPECT_EQ(Gids(), (Ids{kGid2, kGid1, kGid1}));
    ASSERT_OK(setresgid(kGid1, kGid2, kGid3));
    EXPECT_EQ(Gids(), (Ids{kGid1, kGid2, kGid3}));
  });
}

TEST(SetgidTest, NonRootMayOnlyPermute) {
  InForkedChild([] {
    ASSERT_OK(setresgid(kGid1, kGid2, kGid3));
    ASSERT_OK(setresuid(kUid1, kUid1, kUid1));
    EXPECT_ERRNO(setgid(0), EPERM);
    EXPECT_ERRNO(setresgid(-1, 0, -1), EPERM);
    EXPECT_ERRNO(setregid(0, -1), EPERM);
    ASSERT_OK(setresgid(kGid3, kGid1, kGid2));
    EXPECT_EQ(Gids(), (Ids{kGid3, kGid1, kGid2}));
    // Unprivileged setgid changes the effective id only.
    ASSERT_OK(setgid(kGid2));
    EXPECT_EQ(Gids(), (Ids{kGid3, kGid2, kGid2}));
  });
}

// ----------------------------------------------------------------- fsuid

TEST_F(RootFileTest, SetfsuidReturnsTheOldValueAndDropsFileCapabilities) {
  ASSERT_OK(chmod(dir_.path().c_str(), 0777));
  InForkedChild([this] {
    EXPECT_EQ(setfsuid(kUid1), 0);
    EXPECT_EQ(Fsuid(), kUid1);
    EXPECT_EQ(Uids(), (Ids{0, 0, 0}));  // the other ids are untouched
    // Files are now accessed and created as kUid1, without the
    // capabilities that override file permissions.
    EXPECT_ERRNO(open(path_.c_str(), O_RDONLY | O_CLOEXEC), EACCES);
    EXPECT_ERRNO(chown(path_.c_str(), kUid2, -1), EPERM);
    std::string mine = dir_ / "mine";
    int fd = open(mine.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << strerror(errno);
    struct stat st = {};
    ASSERT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_uid, kUid1);
    close(fd);
    // Back to 0: the capabilities return.
    EXPECT_EQ(setfsuid(0), static_cast<int>(kUid1));
    fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << strerror(errno);
    close(fd);
    // A change of the effective id resets the fsuid to it.
    setfsuid(kUid2);
    ASSERT_OK(setresuid(-1, kUid1, -1));
    EXPECT_EQ(Fsuid(), kUid1);
  });
}

TEST(SetfsuidTest, NonRootMayOnlyPickOneOfItsIds) {
  InForkedChild([] {
    ASSERT_OK(setresuid(kUid1, kUid2, kUid3));
    EXPECT_EQ(Fsuid(), kUid2);
    // Refused silently: the old value comes back and nothing changes.
    EXPECT_EQ(setfsuid(99), static_cast<int>(kUid2));
    EXPECT_EQ(Fsuid(), kUid2);
    EXPECT_EQ(setfsuid(0), static_cast<int>(kUid2));
    EXPECT_EQ(Fsuid(), kUid2);
    EXPECT_EQ(setfsuid(kUid3), static_cast<int>(kUid2));
    EXPECT_EQ(Fsuid(), kUid3);
    EXPECT_EQ(setfsgid(99), 0);
    EXPECT_EQ(Fsgid(), 0u);
  });
}

// ---------------------------------------------------------------- groups

TEST(GroupsTest, SetgroupsAsRootAndGetgroupsSorted) {
  InForkedChild([] {
    gid_t in[] = {7, 5, 6, 5};
    ASSERT_OK(setgroups(4, in));
    ASSERT_EQ(getgroups(0, nullptr), 4);
    gid_t out[8] = {};
    ASSERT_EQ(getgroups(8, out), 4);
    // Linux keeps the list sorted (duplicates stay).
    EXPECT_EQ(std::vector<gid_t>(out, out + 4),
              (std::vector<gid_t>{5, 5, 6, 7}));
    EXPECT_ERRNO(getgroups(3, out), EINVAL);
    ASSERT_OK(setgroups(0, nullptr));
    EXPECT_EQ(getgroups(0, nullptr), 0);
    EXPECT_ERRNO(setgroups(65537, in), EINVAL);  // above NGROUPS_MAX
    EXPECT_ERRNO(syscall(SYS_setgroups, 2, reinterpret_cast<gid_t*>(8)),
                 EFAULT);
    // The groups show in /proc.
    ASSERT_OK(setgroups(2, in));
    EXPECT_NE(ReadFile("/proc/self/status").find("\nGroups:\t5 7 \n"),
              std::string::npos)
        << ReadFile("/proc/self/status");
  });
}

TEST(GroupsTest, NonRootSetgroupsIsEPERM) {
  InForkedChild([] {
    gid_t g[] = {kGid1};
    ASSERT_OK(setgroups(1, g));
    ASSERT_OK(setresuid(kUid1, kUid1, kUid1));
    EXPECT_ERRNO(setgroups(1, g), EPERM);
    EXPECT_ERRNO(setgroups(0, nullptr), EPERM);
    // Reading them needs no privilege, and they survived the uid change.
    gid_t out[4] = {};
    EXPECT_EQ(getgroups(4, out), 1);
    EXPECT_EQ(out[0], kGid1);
  });
}

// ---------------------------------------------------------- capabilities

TEST(CapabilitiesTest, RootsEffectiveSetIsItsPermittedSet) {
  Caps c = Capget();
  EXPECT_EQ(c.effective, c.permitted);
  EXPECT_EQ(c.permitted & kRootNeeds, kRootNeeds);
  EXPECT_EQ(c.inheritable, 0u);
}

TEST(CapabilitiesTest, LeavingUidZeroClearsThem) {
  InForkedChild([] {
    Caps before = Capget();
    ASSERT_OK(setresuid(kUid1, kUid1, kUid1));
    Caps c = Capget();
    EXPECT_EQ(c.effective, 0u);
    EXPECT_EQ(c.permitted, 0u);
    EXPECT_EQ(c.inheritable, before.inheritable);
    // And nothing can be raised again.
    EXPECT_ERRNO(Capset(before), EPERM);
  });
}

TEST(CapabilitiesTest, ATemporaryEuidChangeClearsOnlyTheEffectiveSet) {
  InForkedChild([] {
    Caps root = Capget();
    ASSERT_OK(seteuid(kUid1));
    Caps c = Capget();
    EXPECT_EQ(c.effective, 0u);
    EXPECT_EQ(c.permitted, root.permitted);
    ASSERT_OK(seteuid(0));
    c = Capget();
    EXPECT_EQ(c.effective, root.permitted);
  });
}

TEST(CapabilitiesTest, KeepcapsKeepsThePermittedSet) {
  InForkedChild([] {
    EXPECT_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
    ASSERT_OK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    EXPECT_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1);
    EXPECT_ERRNO(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
    Caps root = Capget();
    ASSERT_OK(setresuid(kUid1, kUid1, kUid1));
    Caps c = Capget();
    EXPECT_EQ(c.effective, 0u);
    EXPECT_EQ(c.permitted, root.permitted);
    // The permitted set can be made effective again, as kUid1.
    Caps raise = c;
    raise.effective = Bit(CAP_SETUID);
    ASSERT_OK(Capset(raise));
    EXPECT_EQ(Capget().effective, Bit(CAP_SETUID));
    ASSERT_OK(setresuid(kUid2, kUid2, kUid2));  // allowed by CAP_SETUID
    EXPECT_EQ(Uids(), (Ids{kUid2, kUid2, kUid2}));
  });
}

TEST(CapabilitiesTest, NothingBeyondThePermittedSetCanBeRaised) {
  InForkedChild([] {
    Caps c = Capget();
    Caps dropped = c;
    dropped.permitted &= ~Bit(CAP_CHOWN);
    dropped.effective &= ~Bit(CAP_CHOWN);
    ASSERT_OK(Capset(dropped));
    EXPECT_EQ(Capget().permitted & Bit(CAP_CHOWN), 0u);
    Caps back = dropped;
    back.effective |= Bit(CAP_CHOWN);  // effective must be within permitted
    EXPECT_ERRNO(Capset(back), EPERM);
    back = dropped;
    back.permitted |= Bit(CAP_CHOWN);
    EXPECT_ERRNO(Capset(back), EPERM);
    // Dropping a capability from the effective set alone is allowed, and
    // matters even to uid 0.
    Caps no_dac = dropped;
    no_dac.effective &= ~Bit(CAP_DAC_OVERRIDE) & ~Bit(CAP_DAC_READ_SEARCH);
    ASSERT_OK(Capset(no_dac));
    EXPECT_EQ(Capget().effective, no_dac.effective);
  });
}

TEST_F(RootFileTest, RootWithoutCapChownCannotGiveAFileAway) {
  InForkedChild([this] {
    Caps c = Capget();
    c.effective &= ~Bit(CAP_CHOWN);
    ASSERT_OK(Capset(c));
    EXPECT_ERRNO(chown(path_.c_str(), kUid1, -1), EPERM);
    // Without CAP_DAC_OVERRIDE/READ_SEARCH, root obeys the mode bits too;
    // it still owns the file, so chmod works.
    c.effective &= ~Bit(CAP_DAC_OVERRIDE) & ~Bit(CAP_DAC_READ_SEARCH);
    ASSERT_OK(Capset(c));
    ASSERT_OK(chmod(path_.c_str(), 0000));
    EXPECT_ERRNO(open(path_.c_str(), O_RDONLY | O_CLOEXEC), EACCES);
  });
}

TEST(CapabilitiesTest, CapgetVersionNegotiation) {
  struct __user_cap_header_struct hdr = {0x12345678, 0};
  struct __user_cap_data_struct data[2] = {};
  EXPECT_ERRNO(syscall(SYS_capget, &hdr, data), EINVAL);
  // The kernel wrote its preferred version back.
  EXPECT_EQ(hdr.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  // A probe with no data pointer succeeds for a good version...
  hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  EXPECT_EQ(syscall(SYS_capget, &hdr, nullptr), 0);
  // ...and for a bad one too: that is how a caller asks for the version,
  // which is written back.
  hdr = {0, 0};
  EXPECT_EQ(syscall(SYS_capget, &hdr, nullptr), 0);
  EXPECT_EQ(hdr.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  // capset has no such probe.
  hdr = {0, 0};
  EXPECT_ERRNO(syscall(SYS_capset, &hdr, data), EINVAL);
  EXPECT_EQ(hdr.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  // The older versions are accepted; version 1 has one 32-bit word.
  hdr = {_LINUX_CAPABILITY_VERSION_1, 0};
  struct __user_cap_data_struct one[2] = {};
  one[1].effective = 0xdeadbeef;
  EXPECT_EQ(syscall(SYS_capget, &hdr, one), 0);
  EXPECT_EQ(one[0].effective, static_cast<uint32_t>(Capget().effective));
  EXPECT_EQ(one[1].effective, 0xdeadbeef);  // not written
  hdr = {_LINUX_CAPABILITY_VERSION_2, 0};
  EXPECT_EQ(syscall(SYS_capget, &hdr, data), 0);
  EXPECT_ERRNO(syscall(SYS_capget, reinterpret_cast<void*>(8), data), EFAULT);
}

TEST(CapabilitiesTest, CapgetOfAnotherProcessAndCapsetOfAnotherIsEPERM) {
  int go[2];
  ASSERT_OK(pipe2(go, O_CLOEXEC));
  int ready[2];
  ASSERT_OK(pipe2(ready, O_CLOEXEC));
  pid_t pid = ForkChild([&] {
    if (setresuid(kUid1, kUid1, kUid1) != 0) _exit(1);
    char c = 'r';
    write(ready[1], &c, 1);
    read(go[0], &c, 1);
  });
  ASSERT_GE(pid, 0);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  Caps other;
  ASSERT_OK(Capget(pid, &other));
  EXPECT_EQ(other.effective, 0u);
  EXPECT_EQ(other.permitted, 0u);
  EXPECT_ERRNO(Capset(other, pid), EPERM);
  write(go[1], "g", 1);
  EXPECT_EQ(WaitStatus(pid), 0);
  Caps gone;
  EXPECT_ERRNO(Capget(pid, &gone), ESRCH);
  for (int fd : {go[0], go[1], ready[0], ready[1]}) close(fd);
}

// ---------------------------------------------- checks as an ordinary user

TEST_F(RootFileTest, NonRootCannotReadChownOrChmodAnothersFile) {
  InForkedChild([this] {
    BecomeUser(kUid1, kGid1);
    EXPECT_ERRNO(open(path_.c_str(), O_RDONLY | O_CLOEXEC), EACCES);
    EXPECT_ERRNO(chown(path_.c_str(), kUid1, -1), EPERM);
    EXPECT_ERRNO(chmod(path_.c_str(), 0777), EPERM);
  });
}

TEST_F(RootFileTest, NonRootCannotGiveItsOwnFileAway) {
  std::string mine = dir_ / "mine";
  WriteFile(mine, "");
  ASSERT_OK(chown(mine.c_str(), kUid1, kGid1));
  InForkedChild([&] {
    BecomeUser(kUid1, kGid1);
    EXPECT_ERRNO(chown(mine.c_str(), kUid2, -1), EPERM);
    // Changing to the same owner, or -1, is allowed.
    EXPECT_EQ(chown(mine.c_str(), kUid1, -1), 0);
    EXPECT_EQ(chown(mine.c_str(), -1, -1), 0);
    // Only to a group the caller is in.
    EXPECT_ERRNO(chown(mine.c_str(), -1, kGid2), EPERM);
    EXPECT_EQ(chown(mine.c_str(), -1, kGid1), 0);
  });
}

TEST(KillPermissionTest, NonRootCannotSignalAnotherUsersProcess) {
  pid_t me = getpid();
  InForkedChild([me] {
    // A process of the same (real) user can be signalled.
    pid_t peer = ForkPauser([] { setresuid(kUid1, kUid1, kUid1); });
    ASSERT_GE(peer, 0);
    BecomeUser(kUid1, kGid1);
    EXPECT_ERRNO(kill(me, 0), EPERM);
    EXPECT_ERRNO(kill(me, SIGTERM), EPERM);
    // `peer` may not have switched yet; poll until it has (bounded by the
    // watchdog).
    while (kill(peer, 0) != 0) {
      EXPECT_EQ(errno, EPERM);
      sched_yield();
    }
    EXPECT_EQ(kill(peer, SIGKILL), 0);
    EXPECT_EQ(WaitStatus(peer), SIGKILL);
  });
}

TEST(KillPermissionTest, SenderRealOrEffectiveMustMatchTargetRealOrSaved) {
  InForkedChild([] {
    int ready[2];
    ASSERT_OK(pipe2(ready, O_CLOEXEC));
    pid_t target = ForkPauser([&] {
      setresuid(kUid1, kUid2, kUid3);
      write(ready[1], "r", 1);
    });
    ASSERT_GE(target, 0);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    // Returns 0 if a sender with these ids may signal `target`, else errno.
    auto kill_as = [target](uid_t r, uid_t e) {
      pid_t sender = fork();
      if (sender == 0) {
        if (setresuid(r, e, e) != 0) _exit(100);
        _exit(kill(target, 0) == 0 ? 0 : errno);
      }
      int status = WaitStatus(sender);
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    EXPECT_EQ(kill_as(kUid1, 99), 0);         // real == target's real
    EXPECT_EQ(kill_as(99, kUid1), 0);         // effective == target's real
    EXPECT_EQ(kill_as(kUid3, 99), 0);         // real == target's saved
    EXPECT_EQ(kill_as(99, kUid3), 0);         // effective == target's saved
    EXPECT_EQ(kill_as(kUid2, kUid2), EPERM);  // only target's effective
    EXPECT_EQ(kill_as(99, 98), EPERM);
    ASSERT_OK(kill(target, SIGKILL));
    EXPECT_EQ(WaitStatus(target), SIGKILL);
    close(ready[0]);
    close(ready[1]);
  });
}

// ------------------------------------------------------------------ prctl

void* NameThread(void* arg) {
  prctl(PR_SET_NAME, "worker-thread");
  char name[16] = {};
  prctl(PR_GET_NAME, name);
  *static_cast<std::string*>(arg) = name;
  return nullptr;
}

TEST(PrctlTest, NamesArePerThreadAndTruncatedTo15Bytes) {
  InForkedChild([] {
    ASSERT_OK(prctl(PR_SET_NAME, "a-name-longer-than-sixteen"));
    char name[32];
    memset(name, 'X', sizeof(name));
    ASSERT_OK(prctl(PR_GET_NAME, name));
    EXPECT_STREQ(name, "a-name-longer-t");
    EXPECT_EQ(name[16], 'X');  // exactly 16 bytes written
    std::string thread_name;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, NameThread, &thread_name), 0);
    ASSERT_EQ(pthread_join(t, nullptr), 0);
    EXPECT_EQ(thread_name, "worker-thread");
    ASSERT_OK(prctl(PR_GET_NAME, name));
    EXPECT_STREQ(name, "a-name-longer-t");
    EXPECT_EQ(ReadFile("/proc/self/comm"), "a-name-longer-t\n");
  });
}

TEST(PrctlTest, DumpableAcceptsOnlyZeroAndOne) {
  InForkedChild([] {
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    ASSERT_OK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    ASSERT_OK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    EXPECT_ERRNO(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_DUMPABLE, -1, 0, 0, 0), EINVAL);
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  });
}

TEST(PrctlTest, AnEffectiveUidChangeResetsDumpable) {
  // To fs.suid_dumpable, which is 0 unless the administrator changed it.
  std::string sysctl = ReadFile("/proc/sys/fs/suid_dumpable");
  int want = sysctl.empty() ? 0 : atoi(sysctl.c_str());
  InForkedChild([want] {
    ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    ASSERT_OK(setresuid(-1, kUid1, -1));
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), want);
    ASSERT_OK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    // Setting the same ids again changes nothing and keeps it.
    ASSERT_OK(setresuid(-1, kUid1, -1));
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  });
}

TEST(PrctlTest, NoNewPrivsIsOneWayAndInherited) {
  InForkedChild([] {
    EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    ASSERT_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
    EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
    EXPECT_EQ(WaitStatus(pid), 0);
    EXPECT_NE(ReadFile("/proc/self/status").find("\nNoNewPrivs:\t1\n"),
              std::string::npos);
  });
}

}  // namespace
