// getpid(2), gettid(2), getppid(2), getuid(2) and friends, getresuid(2),
// getresgid(2), getgroups(2), uname(2), sysinfo(2), getrandom(2),
// prlimit64(2), getrlimit(2), setrlimit(2), arch_prctl(2),
// set_tid_address(2), set_robust_list(2), get_robust_list(2),
// rt_sigaction(2), rt_sigprocmask(2), sigaltstack(2), clock_gettime(2),
// clock_getres(2), nanosleep(2), clock_nanosleep(2), prctl(2)
// PR_SET_NAME/PR_GET_NAME, sched_getaffinity(2), and execve(2) failures:
// the state of a single-threaded process.

#include <asm/prctl.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "test/util/signal_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::KernelSigaction;
using testing_util::kKernelSigsetSize;
using testing_util::ReadFile;
using testing_util::SigBit;
using testing_util::TempPath;
using testing_util::WriteFile;

// `clock` read with the raw clock_gettime syscall (not the vDSO), in ns.
int64_t NowNs(clockid_t clock) {
  struct timespec ts = {};
  syscall(SYS_clock_gettime, clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

TEST(IdentityTest, PidEqualsTidInASingleThreadedProcess) {
  pid_t pid = getpid();
  EXPECT_GT(pid, 0);
  EXPECT_EQ(syscall(SYS_gettid), pid);
  EXPECT_EQ(syscall(SYS_getpid), pid);
  // The parent may be outside the pid namespace (0), but never negative.
  EXPECT_GE(getppid(), 0);
  EXPECT_NE(getppid(), pid);
}

TEST(IdentityTest, UidsAndGidsAreConsistent) {
  uid_t r = 1, e = 1, s = 1;
  ASSERT_OK(getresuid(&r, &e, &s));
  EXPECT_EQ(r, getuid());
  EXPECT_EQ(e, geteuid());
  gid_t rg = 1, eg = 1, sg = 1;
  ASSERT_OK(getresgid(&rg, &eg, &sg));
  EXPECT_EQ(rg, getgid());
  EXPECT_EQ(eg, getegid());
  EXPECT_ERRNO(syscall(SYS_getresuid, reinterpret_cast<uid_t*>(8), &e, &s),
               EFAULT);
}

TEST(IdentityTest, GetgroupsCountsThenFills) {
  int n = getgroups(0, nullptr);
  ASSERT_GE(n, 0);
  std::vector<gid_t> groups(static_cast<size_t>(n) + 4, static_cast<gid_t>(-7));
  EXPECT_EQ(getgroups(static_cast<int>(groups.size()), groups.data()), n);
  // Entries past the count are untouched.
  EXPECT_EQ(groups[static_cast<size_t>(n)], static_cast<gid_t>(-7));
  EXPECT_ERRNO(getgroups(-1, groups.data()), EINVAL);
}

TEST(UnameTest, ReportsLinuxOnX86_64) {
  struct utsname u = {};
  ASSERT_OK(uname(&u));
  EXPECT_STREQ(u.sysname, "Linux");
  EXPECT_STREQ(u.machine, "x86_64");
  EXPECT_GT(strlen(u.release), 0u);
  EXPECT_TRUE(u.release[0] >= '1' && u.release[0] <= '9') << u.release;
  EXPECT_GT(strlen(u.version), 0u);
  EXPECT_ERRNO(uname(reinterpret_cast<struct utsname*>(8)), EFAULT);
}

TEST(SysinfoTest, ReportsPlausibleValues) {
  struct sysinfo si = {};
  ASSERT_OK(sysinfo(&si));
  EXPECT_GT(si.totalram, 0u);
  EXPECT_LE(si.freeram, si.totalram);
  EXPECT_GE(si.mem_unit, 1u);
  EXPECT_GE(si.uptime, 0);
  EXPECT_GE(si.procs, 1);
  EXPECT_ERRNO(sysinfo(reinterpret_cast<struct sysinfo*>(8)), EFAULT);
}

// sysinfo's uptime, /proc/uptime and CLOCK_BOOTTIME count from one boot.
TEST(SysinfoTest, UptimeAgreesWithProcUptimeAndTheBootClock) {
  struct sysinfo si = {};
  ASSERT_OK(sysinfo(&si));
  double proc_uptime = std::stod(testing_util::ReadFile("/proc/uptime"));
  struct timespec boot;
  ASSERT_OK(clock_gettime(CLOCK_BOOTTIME, &boot));
  EXPECT_NEAR(static_cast<double>(si.uptime), proc_uptime, 2.0);
  EXPECT_NEAR(static_cast<double>(boot.tv_sec), proc_uptime, 2.0);
}

TEST(GetrandomTest, FillsTheBufferWithFreshBytes) {
  unsigned char a[64], b[64];
  memset(a, 0, sizeof(a));
  memset(b, 0, sizeof(b));
  EXPECT_EQ(getrandom(a, sizeof(a), 0), static_cast<ssize_t>(sizeof(a)));
  EXPECT_EQ(getrandom(b, sizeof(b), GRND_NONBLOCK),
            static_cast<ssize_t>(sizeof(b)));
  // 512 random bits: equal buffers, or an all-zero one, mean no randomness.
  EXPECT_NE(memcmp(a, b, sizeof(a)), 0);
  unsigned char zero[64] = {};
  EXPECT_NE(memcmp(a, zero, sizeof(a)), 0);
  EXPECT_EQ(getrandom(a, 0, 0), 0);
}

TEST(GetrandomTest, Errors) {
  char buf[16];
  EXPECT_ERRNO(getrandom(buf, sizeof(buf), 0x100), EINVAL);
  EXPECT_ERRNO(getrandom(buf, sizeof(buf), ~0u), EINVAL);
  EXPECT_ERRNO(getrandom(reinterpret_cast<void*>(8), 16, 0), EFAULT);
}

TEST(RlimitTest, NofileRoundTrip) {
  struct rlimit old = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
  EXPECT_LE(old.rlim_cur, old.rlim_max);
  struct rlimit via_prlimit = {};
  ASSERT_OK(prlimit(0, RLIMIT_NOFILE, nullptr, &via_prlimit));
  EXPECT_EQ(via_prlimit.rlim_cur, old.rlim_cur);
  EXPECT_EQ(via_prlimit.rlim_max, old.rlim_max);

  // Lower the soft limit through prlimit, read it back through getrlimit,
  // and restore it through setrlimit; prlimit hands back the old value.
  struct rlimit lower = {64, old.rlim_max}, prev = {};
  ASSERT_OK(prlimit(getpid(), RLIMIT_NOFILE, &lower, &prev));
  EXPECT_EQ(prev.rlim_cur, old.rlim_cur);
  struct rlimit now = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &now));
  ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
  EXPECT_EQ(now.rlim_cur, 64u);
  EXPECT_EQ(now.rlim_max, old.rlim_max);
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &now));
  EXPECT_EQ(now.rlim_cur, old.rlim_cur);
}

TEST(RlimitTest, Errors) {
  struct rlimit old = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
  struct rlimit bad = {old.rlim_max, old.rlim_max - 1};  // cur > max
  EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &bad), EINVAL);
  EXPECT_ERRNO(prlimit(0, RLIMIT_NOFILE, &bad, nullptr), EINVAL);
  struct rlimit now = {};
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &now));
  EXPECT_EQ(now.rlim_cur, old.rlim_cur);
  EXPECT_EQ(now.rlim_max, old.rlim_max);
  EXPECT_ERRNO(getrlimit(static_cast<__rlimit_resource>(100), &now), EINVAL);
  EXPECT_ERRNO(
      syscall(SYS_getrlimit, RLIMIT_NOFILE, reinterpret_cast<void*>(8)),
      EFAULT);
}

TEST(ArchPrctlTest, GetFsReturnsTheThreadPointer) {
  unsigned long fs = 0;
  ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
  // On x86-64 the first word of the TCB points at itself.
  unsigned long self = 0;
  asm volatile("mov %%fs:0, %0" : "=r"(self));
  EXPECT_NE(fs, 0u);
  EXPECT_EQ(fs, self);
  // A thread-local variable lives near the thread pointer.
  static thread_local int tls_var = 0;
  uintptr_t tls = reinterpret_cast<uintptr_t>(&tls_var);
  EXPECT_LT(fs - tls, 1u << 20);
  EXPECT_ERRNO(syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);
  EXPECT_ERRNO(syscall(SYS_arch_prctl, ARCH_GET_FS, reinterpret_cast<void*>(8)),
               EFAULT);
}

TEST(ThreadStateTest, SetTidAddressReturnsTheTid) {
  // The clear-child-tid word is only used at thread exit; a static one stays
  // valid for the rest of the process.
  static int ctid = 0;
  EXPECT_EQ(syscall(SYS_set_tid_address, &ctid), syscall(SYS_gettid));
}

TEST(ThreadStateTest, RobustListLengthMustMatch) {
  void* head = nullptr;
  size_t len = 0;
  ASSERT_OK(syscall(SYS_get_robust_list, 0, &head, &len));
  EXPECT_EQ(len, 3 * sizeof(void*));  // sizeof(struct robust_list_head)
  EXPECT_ERRNO(syscall(SYS_set_robust_list, head, len + 1), EINVAL);
  EXPECT_ERRNO(syscall(SYS_set_robust_list, head, 0), EINVAL);
  // Setting it back to what glibc registered succeeds.
  EXPECT_EQ(syscall(SYS_set_robust_list, head, len), 0);
  void* head2 = nullptr;
  size_t len2 = 0;
  ASSERT_OK(syscall(SYS_get_robust_list, 0, &head2, &len2));
  EXPECT_EQ(head2, head);
}

void Handler(int) {}

TEST(SigactionTest, HandlerRoundTrip) {
  struct sigaction act = {}, old = {}, got = {};
  act.sa_handler = Handler;
  act.sa_flags = SA_RESTART | SA_NODEFER;
  sigemptyset(&act.sa_mask);
  sigaddset(&act.sa_mask, SIGUSR2);
  ASSERT_OK(sigaction(SIGUSR1, &act, &old));
  ASSERT_OK(sigaction(SIGUSR1, nullptr, &got));
  EXPECT_EQ(got.sa_handler, Handler);
  EXPECT_EQ(got.sa_flags & (SA_RESTART | SA_NODEFER | SA_SIGINFO),
            SA_RESTART | SA_NODEFER);
  EXPECT_EQ(sigismember(&got.sa_mask, SIGUSR2), 1);
  EXPECT_EQ(sigismember(&got.sa_mask, SIGINT), 0);
  // SIG_IGN reads back too, and the previous action is reported.
  struct sigaction ign = {}, prev = {};
  ign.sa_handler = SIG_IGN;
  ASSERT_OK(sigaction(SIGUSR1, &ign, &prev));
  EXPECT_EQ(prev.sa_handler, Handler);
  ASSERT_OK(sigaction(SIGUSR1, nullptr, &got));
  EXPECT_EQ(got.sa_handler, SIG_IGN);
  ASSERT_OK(sigaction(SIGUSR1, &old, nullptr));
}

TEST(SigactionTest, RawSyscallRoundTripAndSigsetSize) {
  KernelSigaction act = {}, old = {}, got = {};
  act.handler = reinterpret_cast<void*>(Handler);
  act.flags = SA_RESTART;
  act.mask = SigBit(SIGTERM);
  ASSERT_OK(syscall(SYS_rt_sigaction, SIGUSR2, &act, &old, kKernelSigsetSize));
  ASSERT_OK(
      syscall(SYS_rt_sigaction, SIGUSR2, nullptr, &got, kKernelSigsetSize));
  EXPECT_EQ(got.handler, reinterpret_cast<void*>(Handler));
  EXPECT_EQ(got.flags, static_cast<unsigned long>(SA_RESTART));
  EXPECT_EQ(got.mask, act.mask);
  EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR2, nullptr, &got, 4), EINVAL);
  EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR2, nullptr, &got, 16), EINVAL);
  ASSERT_OK(
      syscall(SYS_rt_sigaction, SIGUSR2, &old, nullptr, kKernelSigsetSize));
}

TEST(SigactionTest, KillAndStopCannotBeChanged) {
  struct sigaction act = {};
  act.sa_handler = SIG_IGN;
  EXPECT_ERRNO(sigaction(SIGKILL, &act, nullptr), EINVAL);
  EXPECT_ERRNO(sigaction(SIGSTOP, &act, nullptr), EINVAL);
  // ...but their actions may be read.
  struct sigaction got = {};
  EXPECT_EQ(sigaction(SIGKILL, nullptr, &got), 0);
  EXPECT_EQ(got.sa_handler, SIG_DFL);
  EXPECT_ERRNO(sigaction(0, &act, nullptr), EINVAL);
  EXPECT_ERRNO(syscall(SYS_rt_sigaction, 65, nullptr, &got, kKernelSigsetSize),
               EINVAL);
}

TEST(SigprocmaskTest, BlockUnblockAndSetmask) {
  sigset_t old, set, got;
  ASSERT_OK(sigprocmask(SIG_SETMASK, nullptr, &old));
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &set, nullptr));
  ASSERT_OK(sigprocmask(SIG_SETMASK, nullptr, &got));
  EXPECT_EQ(sigismember(&got, SIGUSR1), 1);
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &set, nullptr));
  ASSERT_OK(sigprocmask(SIG_SETMASK, nullptr, &got));
  EXPECT_EQ(sigismember(&got, SIGUSR1), 1);
  EXPECT_EQ(sigismember(&got, SIGUSR2), 1);
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  ASSERT_OK(sigprocmask(SIG_UNBLOCK, &set, nullptr));
  ASSERT_OK(sigprocmask(SIG_SETMASK, nullptr, &got));
  EXPECT_EQ(sigismember(&got, SIGUSR1), 0);
  EXPECT_EQ(sigismember(&got, SIGUSR2), 1);
  ASSERT_OK(sigprocmask(SIG_SETMASK, &old, nullptr));
  ASSERT_OK(sigprocmask(SIG_SETMASK, nullptr, &got));
  EXPECT_EQ(sigismember(&got, SIGUSR2), sigismember(&old, SIGUSR2));
}

TEST(SigprocmaskTest, KillAndStopAreNeverBlocked) {
  uint64_t old = 0, all = ~0ull, got = 0;
  ASSERT_OK(
      syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, kKernelSigsetSize));
  ASSERT_OK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, nullptr, &got,
                    kKernelSigsetSize));
  ASSERT_OK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr,
                    kKernelSigsetSize));
  EXPECT_EQ(got & (1ull << (SIGKILL - 1)), 0u);
  EXPECT_EQ(got & (1ull << (SIGSTOP - 1)), 0u);
  EXPECT_NE(got & (1ull << (SIGUSR1 - 1)), 0u);
  EXPECT_NE(got & (1ull << (64 - 1)), 0u);
}

TEST(SigprocmaskTest, Errors) {
  uint64_t set = 0, got = 0;
  EXPECT_ERRNO(
      syscall(SYS_rt_sigprocmask, 42, &set, nullptr, kKernelSigsetSize),
      EINVAL);
  EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &got, 4), EINVAL);
  EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK,
                       reinterpret_cast<void*>(8), nullptr, kKernelSigsetSize),
               EFAULT);
}

TEST(SigaltstackTest, SetGetAndDisable) {
  std::vector<char> mem(64 * 1024);
  stack_t ss = {}, old = {}, got = {};
  ss.ss_sp = mem.data();
  ss.ss_size = mem.size();
  ss.ss_flags = 0;
  ASSERT_OK(sigaltstack(&ss, &old));
  ASSERT_OK(sigaltstack(nullptr, &got));
  EXPECT_EQ(got.ss_sp, mem.data());
  EXPECT_EQ(got.ss_size, mem.size());
  EXPECT_EQ(got.ss_flags, 0);  // not currently on it
  stack_t off = {};
  off.ss_flags = SS_DISABLE;
  ASSERT_OK(sigaltstack(&off, nullptr));
  ASSERT_OK(sigaltstack(nullptr, &got));
  EXPECT_EQ(got.ss_flags & SS_DISABLE, SS_DISABLE);
  if (!(old.ss_flags & SS_DISABLE)) sigaltstack(&old, nullptr);
}

TEST(SigaltstackTest, Errors) {
  std::vector<char> mem(64 * 1024);
  stack_t ss = {};
  ss.ss_sp = mem.data();
  ss.ss_size = 1024;  // below the kernel's MINSIGSTKSZ (2048)
  EXPECT_ERRNO(sigaltstack(&ss, nullptr), ENOMEM);
  ss.ss_size = mem.size();
  ss.ss_flags = 0x1234;
  EXPECT_ERRNO(sigaltstack(&ss, nullptr), EINVAL);
  EXPECT_ERRNO(sigaltstack(reinterpret_cast<stack_t*>(8), nullptr), EFAULT);
}

TEST(ClockTest, MonotonicNeverGoesBackwards) {
  int64_t prev = NowNs(CLOCK_MONOTONIC);
  for (int i = 0; i < 1000; i++) {
    int64_t now = NowNs(CLOCK_MONOTONIC);
    ASSERT_GE(now, prev);
    prev = now;
  }
}

TEST(ClockTest, RealtimeAgreesWithTime) {
  struct timespec ts = {};
  ASSERT_OK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts));
  time_t t = static_cast<time_t>(syscall(SYS_time, nullptr));
  EXPECT_LE(ts.tv_sec, t);
  EXPECT_GE(ts.tv_sec + 2, t);
  struct timeval tv = {};
  ASSERT_OK(syscall(SYS_gettimeofday, &tv, nullptr));
  EXPECT_LE(ts.tv_sec, tv.tv_sec);
  EXPECT_GE(ts.tv_sec + 2, tv.tv_sec);
  EXPECT_GE(tv.tv_usec, 0);
  EXPECT_LT(tv.tv_usec, 1000000);
  // And with the vDSO-backed library call.
  struct timespec lib = {};
  ASSERT_OK(clock_gettime(CLOCK_REALTIME, &lib));
  EXPECT_LE(ts.tv_sec, lib.tv_sec);
  EXPECT_GE(ts.tv_sec + 2, lib.tv_sec);
}

TEST(ClockTest, ResolutionAndBadClocks) {
  struct timespec res = {};
  ASSERT_OK(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res));
  EXPECT_EQ(res.tv_sec, 0);
  EXPECT_GT(res.tv_nsec, 0);
  struct timespec ts = {};
  EXPECT_ERRNO(syscall(SYS_clock_gettime, 100, &ts), EINVAL);
  EXPECT_ERRNO(syscall(SYS_clock_getres, 100, &res), EINVAL);
  EXPECT_ERRNO(
      syscall(SYS_clock_gettime, CLOCK_MONOTONIC, reinterpret_cast<void*>(8)),
      EFAULT);
}

// glibc's nanosleep() is built on clock_nanosleep(2); the raw syscall is
// used to reach nanosleep(2) itself.
long Nanosleep(const struct timespec* ts) {
  return syscall(SYS_nanosleep, ts, nullptr);
}

TEST(SleepTest, NanosleepRejectsBadTimespecs) {
  struct timespec ts = {0, 1000000000};
  EXPECT_ERRNO(Nanosleep(&ts), EINVAL);
  ts = {0, -1};
  EXPECT_ERRNO(Nanosleep(&ts), EINVAL);
  ts = {-1, 0};
  EXPECT_ERRNO(Nanosleep(&ts), EINVAL);
  EXPECT_ERRNO(Nanosleep(reinterpret_cast<struct timespec*>(8)), EFAULT);
  ts = {0, 1000000000};
  EXPECT_ERRNO(nanosleep(&ts, nullptr), EINVAL);  // the library route too
}

TEST(SleepTest, NanosleepSleepsAtLeastTheRequestedTime) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  int64_t before = NowNs(CLOCK_MONOTONIC);
  ASSERT_OK(Nanosleep(&ts));
  int64_t after = NowNs(CLOCK_MONOTONIC);
  EXPECT_GE(after - before, 20 * 1000 * 1000);
}

TEST(SleepTest, ClockNanosleepToAnAbsoluteDeadline) {
  struct timespec deadline = {};
  ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &deadline));
  deadline.tv_nsec += 20 * 1000 * 1000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr),
            0);
  int64_t now = NowNs(CLOCK_MONOTONIC);
  EXPECT_GE(now, static_cast<int64_t>(deadline.tv_sec) * 1000000000 +
                     deadline.tv_nsec);
  // A deadline in the past returns at once (no upper bound is asserted; it
  // just must not fail).
  struct timespec past = {0, 0};
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, nullptr), 0);
  // clock_nanosleep returns the error number rather than setting errno.
  struct timespec bad = {0, 1000000000};
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, nullptr), EINVAL);
}

TEST(SleepTest, ClockNanosleepClockIds) {
  struct timespec one = {0, 1};
  // A clock id that does not exist is EINVAL.
  EXPECT_ERRNO(syscall(SYS_clock_nanosleep, 100, 0, &one, nullptr), EINVAL);
  // The thread's CPU clock exists but cannot be slept on: EOPNOTSUPP from
  // the kernel. (glibc's wrapper answers EINVAL itself without asking, so
  // the raw syscall is used.)
  EXPECT_ERRNO(
      syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &one, nullptr),
      EOPNOTSUPP);
}

// Restores the process name.
class PrctlNameTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(prctl(PR_GET_NAME, saved_)); }
  void TearDown() override { prctl(PR_SET_NAME, saved_); }
  char saved_[16] = {};
};

TEST_F(PrctlNameTest, RoundTrip) {
  ASSERT_OK(prctl(PR_SET_NAME, "renamed"));
  char name[16];
  memset(name, 'X', sizeof(name));
  ASSERT_OK(prctl(PR_GET_NAME, name));
  EXPECT_STREQ(name, "renamed");
  // /proc shows the same name.
  EXPECT_EQ(ReadFile("/proc/self/comm"), "renamed\n");
}

TEST_F(PrctlNameTest, LongNamesAreTruncatedTo15Bytes) {
  ASSERT_OK(prctl(PR_SET_NAME, "0123456789abcdefghij"));
  char name[32];
  memset(name, 'X', sizeof(name));
  ASSERT_OK(prctl(PR_GET_NAME, name));
  EXPECT_EQ(name[15], '\0');
  EXPECT_STREQ(name, "0123456789abcde");
}

TEST(SchedTest, AffinityHasAtLeastOneCpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
  EXPECT_GE(CPU_COUNT(&set), 1);
  // The raw syscall returns the number of bytes it wrote, a multiple of the
  // word size.
  cpu_set_t raw;
  long n = syscall(SYS_sched_getaffinity, 0, sizeof(raw), &raw);
  EXPECT_GE(n, 8);
  EXPECT_EQ(n % 8, 0);
  EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 4, &raw),
               EINVAL);  // not a word multiple
  EXPECT_EQ(sched_getaffinity(getpid(), sizeof(set), &set), 0);
}

class ExecveTest : public ::testing::Test {
 protected:
  // Creates `name` with `content` and `mode` (umask cleared so that the mode
  // is exact without chmod).
  std::string MakeFile(const std::string& name, const std::string& content,
                       mode_t mode) {
    std::string p = dir_ / name;
    mode_t old = umask(0);
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    umask(old);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (fd >= 0) {
      EXPECT_EQ(write(fd, content.data(), content.size()),
                static_cast<ssize_t>(content.size()));
      close(fd);
    }
    return p;
  }

  // Returns errno of a failed execve; a successful one never returns.
  static int ExecErrno(const std::string& path) {
    char* const argv[] = {const_cast<char*>(path.c_str()), nullptr};
    char* const envp[] = {nullptr};
    errno = 0;
    int rc = execve(path.c_str(), argv, envp);
    return rc == -1 ? errno : 0;
  }

  TempPath dir_;
};

TEST_F(ExecveTest, MissingFileIsENOENT) {
  EXPECT_EQ(ExecErrno(dir_ / "missing"), ENOENT);
  EXPECT_EQ(ExecErrno(""), ENOENT);
}

TEST_F(ExecveTest, DirectoryIsEACCES) {
  EXPECT_EQ(ExecErrno(dir_.path()), EACCES);
}

TEST_F(ExecveTest, NonExecutableFileIsEACCES) {
  // Without any execute bit even root may not exec it.
  EXPECT_EQ(ExecErrno(MakeFile("plain", "#!/bin/sh\nexit 0\n", 0644)), EACCES);
}

TEST_F(ExecveTest, UnrecognizedFormatIsENOEXEC) {
  std::string garbage(256, '\0');
  for (size_t i = 0; i < garbage.size(); i++)
    garbage[i] = static_cast<char>(i * 37 + 11);
  EXPECT_EQ(ExecErrno(MakeFile("garbage", garbage, 0755)), ENOEXEC);
  // An empty executable file is not a known format either.
  EXPECT_EQ(ExecErrno(MakeFile("empty", "", 0755)), ENOEXEC);
}

TEST_F(ExecveTest, ScriptWithAMissingInterpreterIsENOENT) {
  EXPECT_EQ(ExecErrno(MakeFile("script", "#!/nonexistent/interpreter\n", 0755)),
            ENOENT);
}

TEST_F(ExecveTest, FileAsDirectoryIsENOTDIR) {
  std::string f = MakeFile("f", "", 0755);
  EXPECT_EQ(ExecErrno(f + "/x"), ENOTDIR);
}

TEST_F(ExecveTest, BadPointersAreEFAULT) {
  std::string garbage = MakeFile("garbage", "not an executable", 0755);
  errno = 0;
  EXPECT_EQ(execve(reinterpret_cast<const char*>(8), nullptr, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  char* const bad_argv = reinterpret_cast<char*>(8);
  char* const argv[] = {bad_argv, nullptr};
  char* const envp[] = {nullptr};
  errno = 0;
  EXPECT_EQ(execve(garbage.c_str(), argv, envp), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(ExecveLimitsTest, HugeArgumentArraysAreE2BIGWithoutCopyingThemAll) {
  // Two million empty strings: 2M pointers and bytes, far over execve's
  // limit. Linux refuses with E2BIG; the sandbox must too, and quickly.
  std::vector<char*> argv(2000000, const_cast<char*>(""));
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  EXPECT_ERRNO(execve("/bin/true", argv.data(), envp), E2BIG);
  // One string longer than MAX_ARG_STRLEN (32 pages) is E2BIG on its own.
  std::string big(32 * 4096 + 1, 'x');
  char* argv2[] = {const_cast<char*>("true"), big.data(), nullptr};
  EXPECT_ERRNO(execve("/bin/true", argv2, envp), E2BIG);
}

TEST(ArchPrctlTest, BasesAtOrAboveTheTopOfUserSpaceAreEPERM) {
  uint64_t old = 0;
  ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &old));
  // TASK_SIZE_MAX is 0x7ffffffff000: the last page below 2^47 is refused.
  EXPECT_ERRNO(syscall(SYS_arch_prctl, ARCH_SET_FS, 0x7ffffffff800UL), EPERM);
  EXPECT_ERRNO(syscall(SYS_arch_prctl, ARCH_SET_GS, 1UL << 47), EPERM);
  uint64_t now = 0;
  ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &now));
  EXPECT_EQ(now, old);
}

TEST(PrctlTest, NoNewPrivsIsRememberedAndCapBoundsAreChecked) {
  ASSERT_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
  EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL);
  // Capability numbers past CAP_LAST_CAP (40 on Linux 6.x) are EINVAL.
  EXPECT_GE(prctl(PR_CAPBSET_READ, 0, 0, 0, 0), 0);
  EXPECT_ERRNO(prctl(PR_CAPBSET_READ, 63, 0, 0, 0), EINVAL);
  EXPECT_ERRNO(prctl(PR_CAPBSET_READ, 64, 0, 0, 0), EINVAL);
}

}  // namespace
