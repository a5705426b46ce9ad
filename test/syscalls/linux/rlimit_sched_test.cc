// Resource limits and scheduling, changed only in forked children so the
// test process keeps its own: getrlimit(2)/setrlimit(2)/prlimit64(2) on the
// caller and on a child (the child sees what its parent set; other users'
// processes are EPERM even to read; missing ones ESRCH), enforcement of
// RLIMIT_NOFILE (EMFILE for new fds, EBADF for dup2 and EINVAL for F_DUPFD
// at or above the limit), RLIMIT_NPROC (EAGAIN from fork as non-root),
// RLIMIT_AS (ENOMEM from mmap) and RLIMIT_CPU (SIGXCPU), raising a hard
// limit as non-root (EPERM); sched_yield(2), sched_getaffinity(2) and
// sched_setaffinity(2) (pinning, inheritance, size and empty-mask errors),
// getcpu(2), sched_getscheduler(2)/sched_getparam(2)/sched_setscheduler(2)
// (SCHED_OTHER with priority 0; SCHED_BATCH), sched_get_priority_min/max(2),
// and getpriority(2)/setpriority(2) for PRIO_PROCESS, PRIO_PGRP and
// PRIO_USER (clamping, the raw syscall's 20 - nice, EACCES for a non-root
// raise, EPERM for another user's process).

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::BecomeUser;
using testing_util::ForkChild;
using testing_util::InForkedChild;
using testing_util::KilledBySignal;
using testing_util::Pipe;
using testing_util::Receive;
using testing_util::Send;
using testing_util::UnusedPid;
using testing_util::WaitStatus;

// A uid that no other process on the machine uses, and a gid of the same
// number: RLIMIT_NPROC and PRIO_USER count every process of a user. Derived
// from our pid so that copies of this test running at once do not share it.
uid_t UniqueUid() { return 200000 + static_cast<uid_t>(getpid()); }
gid_t UniqueGid() { return static_cast<gid_t>(UniqueUid()); }

// ------------------------------------------------------------- get/set

TEST(RlimitTest, EveryResourceCanBeRead) {
  for (int res = 0; res < RLIMIT_NLIMITS; res++) {
    struct rlimit rl = {};
    ASSERT_OK(getrlimit(static_cast<__rlimit_resource>(res), &rl));
    EXPECT_LE(rl.rlim_cur, rl.rlim_max) << "resource " << res;
    struct rlimit via = {};
    ASSERT_OK(prlimit(0, static_cast<__rlimit_resource>(res), nullptr, &via));
    EXPECT_EQ(via.rlim_cur, rl.rlim_cur);
    EXPECT_EQ(via.rlim_max, rl.rlim_max);
  }
  struct rlimit rl;
  EXPECT_ERRNO(getrlimit(static_cast<__rlimit_resource>(RLIMIT_NLIMITS), &rl),
               EINVAL);
  EXPECT_ERRNO(prlimit(0, static_cast<__rlimit_resource>(-1), nullptr, &rl),
               EINVAL);
}

TEST(RlimitTest, SetOnSelfAndReadBack) {
  InForkedChild([] {
    struct rlimit fsize = {1000, 2000}, old = {};
    ASSERT_OK(prlimit(0, RLIMIT_FSIZE, &fsize, &old));
    struct rlimit now = {};
    ASSERT_OK(getrlimit(RLIMIT_FSIZE, &now));
    EXPECT_EQ(now.rlim_cur, 1000u);
    EXPECT_EQ(now.rlim_max, 2000u);
    // prlimit hands back the value it replaced. (Raising the hard limit
    // back would need CAP_SYS_RESOURCE, which even root may lack.)
    struct rlimit lower = {500, 1500}, again = {};
    ASSERT_OK(prlimit(getpid(), RLIMIT_FSIZE, &lower, &again));
    EXPECT_EQ(again.rlim_cur, 1000u);
    EXPECT_EQ(again.rlim_max, 2000u);
    ASSERT_OK(getrlimit(RLIMIT_FSIZE, &now));
    EXPECT_EQ(now.rlim_cur, 500u);
    EXPECT_EQ(now.rlim_max, 1500u);
  });
}

TEST(RlimitTest, PrlimitOnAChildIsSeenByTheChild) {
  Pipe go, report;
  pid_t child = ForkChild([&] {
    char c;
    read(go.r, &c, 1);
    struct rlimit rl = {};
    getrlimit(RLIMIT_NOFILE, &rl);
    write(report.w, &rl, sizeof(rl));
  });
  ASSERT_GE(child, 0);
  struct rlimit mine = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &mine));
  struct rlimit want = {77, mine.rlim_max}, old = {};
  ASSERT_OK(prlimit(child, RLIMIT_NOFILE, &want, &old));
  EXPECT_EQ(old.rlim_cur, mine.rlim_cur);  // inherited from us
  EXPECT_EQ(old.rlim_max, mine.rlim_max);
  struct rlimit read_back = {};
  ASSERT_OK(prlimit(child, RLIMIT_NOFILE, nullptr, &read_back));
  EXPECT_EQ(read_back.rlim_cur, 77u);
  Send(go.w, 'g');
  auto seen = Receive<struct rlimit>(report.r);
  EXPECT_EQ(seen.rlim_cur, 77u);
  EXPECT_EQ(seen.rlim_max, mine.rlim_max);
  EXPECT_EQ(WaitStatus(child), 0);
  // Ours did not change; a reaped child is gone.
  struct rlimit after = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &after));
  EXPECT_EQ(after.rlim_cur, mine.rlim_cur);
  EXPECT_ERRNO(prlimit(child, RLIMIT_NOFILE, nullptr, &after), ESRCH);
}

TEST(RlimitTest, PrlimitOnAnotherUsersProcessIsEPERM) {
  pid_t me = getpid();
  InForkedChild([me] {
    BecomeUser(UniqueUid(), UniqueGid());
    struct rlimit rl = {};
    // Even reading needs the same user (or CAP_SYS_RESOURCE).
    EXPECT_ERRNO(prlimit(me, RLIMIT_NOFILE, nullptr, &rl), EPERM);
    ASSERT_OK(prlimit(0, RLIMIT_NOFILE, nullptr, &rl));
    EXPECT_ERRNO(prlimit(me, RLIMIT_NOFILE, &rl, nullptr), EPERM);
  });
}

TEST(RlimitTest, NonRootCannotRaiseAHardLimit) {
  InForkedChild([] {
    BecomeUser(UniqueUid(), UniqueGid());
    struct rlimit rl = {};
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    ASSERT_GT(rl.rlim_max, 16u);
    struct rlimit higher = {rl.rlim_cur, rl.rlim_max + 1};
    EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &higher), EPERM);
    // Lowering is allowed, and is one-way.
    struct rlimit lower = {16, 16};
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &lower));
    struct rlimit back = {16, 17};
    EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &back), EPERM);
    // The soft limit moves freely below the hard one.
    struct rlimit soft = {8, 16};
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &soft));
    soft = {16, 16};
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &soft));
  });
}

// ---------------------------------------------------------- enforcement

TEST(RlimitTest, NofileIsEnforced) {
  InForkedChild([] {
    // Only 0-2 stay open; the limit allows fds 0..7.
    ASSERT_OK(syscall(SYS_close_range, 3, ~0U, 0));
    struct rlimit rl = {};
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    rl.rlim_cur = 8;
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
    int opened = 0;
    int fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
      EXPECT_LT(fd, 8);
      opened++;
      if (opened > 100) break;
    }
    EXPECT_EQ(errno, EMFILE);
    EXPECT_EQ(opened, 5);
    EXPECT_ERRNO(dup(0), EMFILE);
    EXPECT_ERRNO(fcntl(0, F_DUPFD, 0), EMFILE);
    int fds[2];
    EXPECT_ERRNO(pipe(fds), EMFILE);
    // At or above the limit: EBADF for dup2, EINVAL for F_DUPFD.
    EXPECT_ERRNO(dup2(0, 8), EBADF);
    EXPECT_ERRNO(dup2(0, 1000), EBADF);
    EXPECT_ERRNO(fcntl(0, F_DUPFD, 8), EINVAL);
    // Replacing an open fd below the limit still works.
    EXPECT_EQ(dup2(0, 7), 7);
    // Freeing one makes room for one.
    ASSERT_OK(close(5));
    EXPECT_EQ(open("/dev/null", O_RDONLY), 5);
  });
}

TEST(RlimitTest, NprocLimitsForkForNonRoot) {
  InForkedChild([] {
    BecomeUser(UniqueUid(), UniqueGid());
    struct rlimit rl = {2, 2};
    ASSERT_OK(setrlimit(RLIMIT_NPROC, &rl));
    // This process is the user's first; one more is allowed.
    Pipe hold;
    pid_t second = fork();
    ASSERT_GE(second, 0) << strerror(errno);
    if (second == 0) {
      char c;
      read(hold.r, &c, 1);
      _exit(0);
    }
    EXPECT_ERRNO(fork(), EAGAIN);
    Send(hold.w, 'g');
    EXPECT_EQ(WaitStatus(second), 0);
    // Reaped: the count dropped, fork works again.
    pid_t third = fork();
    ASSERT_GE(third, 0) << strerror(errno);
    if (third == 0) _exit(0);
    EXPECT_EQ(WaitStatus(third), 0);
  });
}

TEST(RlimitTest, AddressSpaceLimitsMmap) {
  InForkedChild([] {
    struct rlimit old = {};
    ASSERT_OK(getrlimit(RLIMIT_AS, &old));
    // gtest may allocate on failure, so results are checked after the
    // limit is lifted again.
    struct rlimit four_gib = {4ULL << 30, old.rlim_max};
    ASSERT_OK(setrlimit(RLIMIT_AS, &four_gib));
    errno = 0;
    void* huge = mmap(nullptr, 8ULL << 30, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    int huge_errno = errno;
    void* small = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // Below what is already mapped: nothing new fits at all.
    struct rlimit one_page = {4096, old.rlim_max};
    ASSERT_OK(setrlimit(RLIMIT_AS, &one_page));
    errno = 0;
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int page_errno = errno;
    ASSERT_OK(setrlimit(RLIMIT_AS, &old));
    EXPECT_EQ(huge, MAP_FAILED);
    EXPECT_EQ(huge_errno, ENOMEM);
    EXPECT_NE(small, MAP_FAILED);
    EXPECT_EQ(page, MAP_FAILED);
    EXPECT_EQ(page_errno, ENOMEM);
  });
}

TEST(RlimitTest, CpuLimitSendsSigxcpu) {
  pid_t pid = ForkChild([&] {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    struct rlimit cpu = {1, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CPU, &cpu) != 0) _exit(1);
    signal(SIGXCPU, SIG_DFL);
    for (volatile unsigned long i = 0;; i++) {
    }
  });
  ASSERT_GE(pid, 0);
  int status = WaitStatus(pid);
  // SIGXCPU's default action dumps core; whether a dump was written (the
  // 0x80 bit) depends on core_pattern and is not checked.
  EXPECT_TRUE(KilledBySignal(status, SIGXCPU));
}

// ---------------------------------------------------------- scheduling

TEST(SchedTest, YieldSucceeds) {
  for (int i = 0; i < 10; i++) EXPECT_EQ(sched_yield(), 0);
}

TEST(SchedTest, PinningToOneCpu) {
  InForkedChild([] {
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++) {
      if (CPU_ISSET(i, &set)) cpu = i;
    }
    ASSERT_GE(cpu, 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_OK(sched_setaffinity(0, sizeof(one), &one));
    cpu_set_t got;
    CPU_ZERO(&got);
    ASSERT_OK(sched_getaffinity(0, sizeof(got), &got));
    EXPECT_TRUE(CPU_EQUAL(&got, &one));
    EXPECT_EQ(CPU_COUNT(&got), 1);
    // We now run on that CPU only.
    unsigned cur = 999, node = 999;
    ASSERT_OK(syscall(SYS_getcpu, &cur, &node, nullptr));
    EXPECT_EQ(cur, static_cast<unsigned>(cpu));
    EXPECT_EQ(sched_getcpu(), cpu);
    // A child inherits the mask, and another process's is readable.
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      cpu_set_t c;
      CPU_ZERO(&c);
      sched_getaffinity(0, sizeof(c), &c);
      _exit(CPU_EQUAL(&c, &one) ? 0 : 1);
    }
    EXPECT_EQ(WaitStatus(child), 0);
  });
}

TEST(SchedTest, AffinityErrors) {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 4, &set), EINVAL);
  EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, &set), EINVAL);
  EXPECT_ERRNO(sched_getaffinity(UnusedPid(), sizeof(set), &set), ESRCH);
  EXPECT_ERRNO(sched_getaffinity(-1, sizeof(set), &set), ESRCH);
  // A mask naming no CPU that exists.
  cpu_set_t none;
  CPU_ZERO(&none);
  EXPECT_ERRNO(sched_setaffinity(0, sizeof(none), &none), EINVAL);
  CPU_SET(CPU_SETSIZE - 1, &none);
  EXPECT_ERRNO(sched_setaffinity(0, sizeof(none), &none), EINVAL);
  EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof(set),
                       reinterpret_cast<void*>(8)),
               EFAULT);
}

TEST(SchedTest, GetcpuIsInTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
  unsigned cpu = 999, node = 999;
  ASSERT_OK(syscall(SYS_getcpu, &cpu, &node, nullptr));
  ASSERT_LT(cpu, static_cast<unsigned>(CPU_SETSIZE));
  EXPECT_TRUE(CPU_ISSET(cpu, &set));
  EXPECT_LT(node, 1024u);
  // Either pointer may be null.
  EXPECT_EQ(syscall(SYS_getcpu, nullptr, nullptr, nullptr), 0);
}

TEST(SchedTest, ThePolicyIsSchedOtherWithPriorityZero) {
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
  EXPECT_EQ(sched_getscheduler(getpid()), SCHED_OTHER);
  struct sched_param p = {-1};
  ASSERT_OK(sched_getparam(0, &p));
  EXPECT_EQ(p.sched_priority, 0);
  pid_t gone = UnusedPid();
  EXPECT_ERRNO(sched_getscheduler(gone), ESRCH);
  EXPECT_ERRNO(sched_getparam(gone, &p), ESRCH);
  EXPECT_ERRNO(sched_getscheduler(-1), EINVAL);
  EXPECT_ERRNO(sched_getparam(-1, &p), EINVAL);
  EXPECT_ERRNO(syscall(SYS_sched_getparam, 0, nullptr), EINVAL);
}

TEST(SchedTest, SetschedulerChecksThePriority) {
  InForkedChild([] {
    struct sched_param p = {0};
    ASSERT_OK(sched_setscheduler(0, SCHED_OTHER, &p));
    p.sched_priority = 1;
    EXPECT_ERRNO(sched_setscheduler(0, SCHED_OTHER, &p), EINVAL);
    EXPECT_ERRNO(sched_setparam(0, &p), EINVAL);
    EXPECT_ERRNO(sched_setscheduler(0, 42, &p), EINVAL);
    p.sched_priority = 0;
    ASSERT_OK(sched_setscheduler(0, SCHED_BATCH, &p));
    EXPECT_EQ(sched_getscheduler(0), SCHED_BATCH);
    // sched_setparam keeps the policy (glibc's posix_spawn calls it).
    ASSERT_OK(sched_setparam(0, &p));
    EXPECT_EQ(sched_getscheduler(0), SCHED_BATCH);
    EXPECT_ERRNO(sched_setscheduler(0, -2, &p), EINVAL);
    EXPECT_ERRNO(sched_setparam(-1, &p), EINVAL);
    ASSERT_OK(sched_setscheduler(0, SCHED_OTHER, &p));
    EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
  });
}

TEST(SchedTest, RrGetInterval) {
  struct timespec ts = {1, 1};
  ASSERT_OK(sched_rr_get_interval(0, &ts));
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  EXPECT_ERRNO(sched_rr_get_interval(-1, &ts), EINVAL);
  EXPECT_ERRNO(sched_rr_get_interval(UnusedPid(), &ts), ESRCH);
}

TEST(SchedTest, PriorityRanges) {
  EXPECT_EQ(sched_get_priority_min(SCHED_OTHER), 0);
  EXPECT_EQ(sched_get_priority_max(SCHED_OTHER), 0);
  EXPECT_EQ(sched_get_priority_min(SCHED_BATCH), 0);
  EXPECT_EQ(sched_get_priority_max(SCHED_BATCH), 0);
  EXPECT_EQ(sched_get_priority_min(SCHED_IDLE), 0);
  EXPECT_EQ(sched_get_priority_max(SCHED_IDLE), 0);
  EXPECT_EQ(sched_get_priority_min(SCHED_FIFO), 1);
  EXPECT_EQ(sched_get_priority_max(SCHED_FIFO), 99);
  EXPECT_EQ(sched_get_priority_min(SCHED_RR), 1);
  EXPECT_EQ(sched_get_priority_max(SCHED_RR), 99);
  EXPECT_ERRNO(sched_get_priority_min(42), EINVAL);
  EXPECT_ERRNO(sched_get_priority_max(-1), EINVAL);
}

// ------------------------------------------------------------------ nice

// getpriority's glibc wrapper returns the nice value; -1 is a valid one.
int Nice(int which, id_t who) {
  errno = 0;
  int n = getpriority(static_cast<__priority_which_t>(which), who);
  return errno == 0 ? n : 1000 + errno;
}

TEST(PriorityTest, SetAndGetOwnNiceValue) {
  InForkedChild([] {
    int base = Nice(PRIO_PROCESS, 0);
    ASSERT_LE(base, 10);
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, base + 5));
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), base + 5);
    EXPECT_EQ(Nice(PRIO_PROCESS, getpid()), base + 5);
    // The raw syscall answers 20 - nice, so that it is never negative.
    EXPECT_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 20 - (base + 5));
    // Out-of-range values are clamped to [-20, 19].
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, 100));
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), 19);
    EXPECT_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 1);
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, -100));  // root may raise
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), -20);
    EXPECT_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 40);
    // nice(2) is relative.
    errno = 0;
    EXPECT_EQ(nice(3), -17);
    EXPECT_EQ(errno, 0);
  });
}

TEST(PriorityTest, ANewChildInheritsTheNiceValue) {
  InForkedChild([] {
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, 7));
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(Nice(PRIO_PROCESS, 0) == 7 ? 0 : 1);
    EXPECT_EQ(WaitStatus(child), 0);
  });
}

TEST(PriorityTest, NonRootMayOnlyLowerItsPriority) {
  InForkedChild([] {
    struct rlimit no_raise = {0, 0};
    ASSERT_OK(setrlimit(RLIMIT_NICE, &no_raise));
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, 5));
    BecomeUser(UniqueUid(), UniqueGid());
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, 10));
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), 10);
    EXPECT_ERRNO(setpriority(PRIO_PROCESS, 0, 9), EACCES);
    EXPECT_ERRNO(setpriority(PRIO_PROCESS, 0, -20), EACCES);
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), 10);
    ASSERT_OK(setpriority(PRIO_PROCESS, 0, 10));  // unchanged is fine
  });
}

TEST(PriorityTest, AnotherUsersProcessIsEPERM) {
  pid_t me = getpid();
  int mine = Nice(PRIO_PROCESS, 0);
  InForkedChild([me, mine] {
    BecomeUser(UniqueUid(), UniqueGid());
    // Reading is allowed; changing is not.
    EXPECT_EQ(Nice(PRIO_PROCESS, static_cast<id_t>(me)), mine);
    EXPECT_ERRNO(setpriority(PRIO_PROCESS, static_cast<id_t>(me), 19), EPERM);
  });
}

TEST(PriorityTest, ProcessGroupAndUser) {
  InForkedChild([] {
    ASSERT_OK(setpgid(0, 0));
    Pipe go, report;
    pid_t member = fork();
    ASSERT_GE(member, 0);
    if (member == 0) {
      char c;
      read(go.r, &c, 1);
      int n = Nice(PRIO_PROCESS, 0);
      write(report.w, &n, sizeof(n));
      _exit(0);
    }
    // Every member of our group.
    ASSERT_OK(setpriority(PRIO_PGRP, 0, 6));
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), 6);
    EXPECT_EQ(Nice(PRIO_PGRP, 0), 6);
    EXPECT_EQ(Nice(PRIO_PGRP, static_cast<id_t>(getpgrp())), 6);
    Send(go.w, 'g');
    EXPECT_EQ(Receive<int>(report.r), 6);
    EXPECT_EQ(WaitStatus(member), 0);
    // PRIO_USER reports the best (lowest) nice value of the user's
    // processes; only this one has the unique uid.
    uid_t uid = UniqueUid();
    BecomeUser(uid, UniqueGid());
    ASSERT_OK(setpriority(PRIO_USER, uid, 8));
    EXPECT_EQ(Nice(PRIO_USER, uid), 8);
    EXPECT_EQ(Nice(PRIO_USER, 0), 8);  // 0: the caller's real uid
    EXPECT_EQ(Nice(PRIO_PROCESS, 0), 8);
  });
}

TEST(PriorityTest, Errors) {
  EXPECT_EQ(Nice(PRIO_PROCESS, static_cast<id_t>(UnusedPid())), 1000 + ESRCH);
  EXPECT_EQ(Nice(42, 0), 1000 + EINVAL);
  EXPECT_ERRNO(setpriority(static_cast<__priority_which_t>(42), 0, 0), EINVAL);
  EXPECT_ERRNO(setpriority(PRIO_PROCESS, static_cast<id_t>(UnusedPid()), 0),
               ESRCH);
  // A user with no processes.
  EXPECT_EQ(Nice(PRIO_USER, UniqueUid() + 1), 1000 + ESRCH);
}

}  // namespace
