// seccomp(2) and prctl(2) PR_SET_SECCOMP/PR_GET_SECCOMP: classic BPF filters
// returning ERRNO, TRAP (a SIGSYS with the syscall, arch and data in its
// siginfo), KILL_PROCESS and KILL_THREAD (death by SIGSYS), TRACE with no
// tracer (ENOSYS) and ALLOW; filters on syscall arguments; stacked filters
// (the most severe action wins, the newest filter among equals); filters
// inherited across fork and kept across execve; the checks on programs,
// flags and operations; SECCOMP_GET_ACTION_AVAIL; the no_new_privs or
// CAP_SYS_ADMIN requirement (EACCES); and strict mode (read, write, exit and
// rt_sigreturn only, SIGKILL for anything else).
//
// A filter can never be removed, so every test installs its filters in a
// forked child and the parent judges the child's wait status.

#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::DisableCoreDumps;
using testing_util::ExitedWith;
using testing_util::KilledBySignal;
using testing_util::Pipe;
using testing_util::ReadAll;
using testing_util::RunInChild;

// Installs the classic BPF program `insns` with seccomp(2); 0 or -1/errno.
int Install(const std::vector<sock_filter>& insns, unsigned int flags = 0) {
  struct sock_fprog prog = {static_cast<unsigned short>(insns.size()),
                            const_cast<sock_filter*>(insns.data())};
  return static_cast<int>(
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog));
}

// The usual prologue: a syscall made under another ABI (say i386 through
// int 0x80) has other numbers, so anything but x86-64 is killed; then the
// accumulator holds the syscall number.
std::vector<sock_filter> Prologue() {
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
  };
}

// A filter that returns `action` for syscall `nr` and allows the rest.
std::vector<sock_filter> OnSyscall(long nr, uint32_t action) {
  std::vector<sock_filter> f = Prologue();
  f.push_back(
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, action));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return f;
}

// Child side: sets no_new_privs (so that installing needs no privilege) and
// installs `f`, exiting 1 with a message if either fails.
void SetNnpAndInstall(const std::vector<sock_filter>& f) {
  CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  CHILD_CHECK(Install(f) == 0);
}

// Whether a call returned -1 with errno `e`.
bool Failed(long rc, int e) { return rc == -1 && errno == e; }

// getppid(2) made directly: glibc's getppid() assumes the call cannot fail
// and hands back -errno without setting errno.
long Getppid() { return syscall(SYS_getppid); }

// --------------------------------------------------------------- actions

TEST(SeccompTest, RetErrnoFailsOnlyTheFilteredSyscall) {
  EXPECT_TRUE(ExitedWith(RunInChild([] {
                           pid_t pid = getpid();
                           SetNnpAndInstall(OnSyscall(
                               SYS_getppid, SECCOMP_RET_ERRNO | EPERM));
                           CHILD_CHECK(Failed(Getppid(), EPERM));
                           CHILD_CHECK(syscall(SYS_getpid) == pid);
                           return 0;
                         }),
                         0));
}

TEST(SeccompTest, FiltersCanLookAtArguments) {
  Pipe p;
  EXPECT_TRUE(ExitedWith(
      RunInChild([&p] {
        // write(2) with fd 99 fails ENOTTY; any other fd is left alone. On
        // little-endian x86-64 args[0]'s low 32 bits come first.
        std::vector<sock_filter> f = Prologue();
        f.insert(f.end(),
                 {
                     BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 1, 0),
                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                     BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                              offsetof(struct seccomp_data, args[0])),
                     BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 99, 0, 1),
                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                 });
        SetNnpAndInstall(f);
        CHILD_CHECK(Failed(write(99, "x", 1), ENOTTY));
        CHILD_CHECK(write(p.w, "y", 1) == 1);
        return 0;
      }),
      0));
  p.CloseW();
  EXPECT_EQ(ReadAll(p.r), "y");
}

siginfo_t g_sigsys_info;
volatile sig_atomic_t g_sigsys_count = 0;

void OnSigsys(int, siginfo_t* info, void*) {
  g_sigsys_info = *info;
  g_sigsys_count = g_sigsys_count + 1;
}

TEST(SeccompTest, RetTrapRaisesSigsysWithTheSyscallAndData) {
  EXPECT_TRUE(ExitedWith(
      RunInChild([] {
        struct sigaction sa = {};
        sa.sa_sigaction = OnSigsys;
        sa.sa_flags = SA_SIGINFO;
        CHILD_CHECK(sigaction(SIGSYS, &sa, nullptr) == 0);
        SetNnpAndInstall(OnSyscall(SYS_getppid, SECCOMP_RET_TRAP | 42));
        // What getppid returns is whatever rax held when the handler
        // returned, so it is not checked.
        Getppid();
        CHILD_CHECK(g_sigsys_count == 1);
        CHILD_CHECK(g_sigsys_info.si_signo == SIGSYS);
        CHILD_CHECK(g_sigsys_info.si_code == 1);  // SYS_SECCOMP
        CHILD_CHECK(g_sigsys_info.si_syscall == SYS_getppid);
        CHILD_CHECK(g_sigsys_info.si_arch == AUDIT_ARCH_X86_64);
        CHILD_CHECK(g_sigsys_info.si_errno == 42);
        // Other syscalls are untouched.
        CHILD_CHECK(syscall(SYS_getpid) == getpid());
        CHILD_CHECK(g_sigsys_count == 1);
        return 0;
      }),
      0));
}

TEST(SeccompTest, RetKillProcessKillsWithSigsys) {
  EXPECT_TRUE(KilledBySignal(RunInChild([] {
                               DisableCoreDumps();
                               SetNnpAndInstall(OnSyscall(
                                   SYS_getppid, SECCOMP_RET_KILL_PROCESS));
                               Getppid();
                               return 2;
                             }),
                             SIGSYS));
}

TEST(SeccompTest, RetKillThreadOfTheOnlyThreadKillsWithSigsys) {
  EXPECT_TRUE(KilledBySignal(RunInChild([] {
                               DisableCoreDumps();
                               SetNnpAndInstall(OnSyscall(
                                   SYS_getppid, SECCOMP_RET_KILL_THREAD));
                               Getppid();
                               return 2;
                             }),
                             SIGSYS));
}

TEST(SeccompTest, RetTraceWithoutATracerIsENOSYS) {
  EXPECT_TRUE(ExitedWith(RunInChild([] {
                           SetNnpAndInstall(
                               OnSyscall(SYS_getppid, SECCOMP_RET_TRACE | 7));
                           CHILD_CHECK(Failed(Getppid(), ENOSYS));
                           return 0;
                         }),
                         0));
}

// -------------------------------------------------------------- stacking

TEST(SeccompTest, EveryStackedFilterRuns) {
  EXPECT_TRUE(ExitedWith(
      RunInChild([] {
        SetNnpAndInstall({BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
        CHILD_CHECK(
            Install(OnSyscall(SYS_getppid, SECCOMP_RET_ERRNO | EACCES)) == 0);
        CHILD_CHECK(Failed(Getppid(), EACCES));
        return 0;
      }),
      0));
}

TEST(SeccompTest, AmongEqualActionsTheNewestFilterWins) {
  EXPECT_TRUE(ExitedWith(
      RunInChild([] {
        SetNnpAndInstall(OnSyscall(SYS_getppid, SECCOMP_RET_ERRNO | E2BIG));
        CHILD_CHECK(
            Install(OnSyscall(SYS_getppid, SECCOMP_RET_ERRNO | ENOEXEC)) == 0);
        CHILD_CHECK(Failed(Getppid(), ENOEXEC));
        return 0;
      }),
      0));
}

TEST(SeccompTest, TheMostSevereActionWinsWhateverTheOrder) {
  EXPECT_TRUE(KilledBySignal(
      RunInChild([] {
        DisableCoreDumps();
        SetNnpAndInstall(OnSyscall(SYS_getppid, SECCOMP_RET_KILL_PROCESS));
        CHILD_CHECK(
            Install(OnSyscall(SYS_getppid, SECCOMP_RET_ERRNO | EPERM)) == 0);
        Getppid();
        return 2;
      }),
      SIGSYS));
}

// ----------------------------------------------------------- inheritance

TEST(SeccompTest, FiltersAreInheritedByForkedChildren) {
  EXPECT_TRUE(ExitedWith(
      RunInChild([] {
        CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
        SetNnpAndInstall(OnSyscall(SYS_getppid, SECCOMP_RET_ERRNO | EPERM));
        CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == SECCOMP_MODE_FILTER);
        pid_t pid = fork();
        if (pid == 0) {
          CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == SECCOMP_MODE_FILTER);
          CHILD_CHECK(Failed(Getppid(), EPERM));
          _exit(0);
        }
        CHILD_CHECK(pid > 0);
        int status = 0;
        CHILD_CHECK(waitpid(pid, &status, 0) == pid);
        CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return 0;
      }),
      0));
}

TEST(SeccompTest, FiltersSurviveExecve) {
  Pipe p;
  EXPECT_TRUE(ExitedWith(
      RunInChild([&p] {
        // syslog(2) is something grep never calls.
        SetNnpAndInstall(OnSyscall(SYS_syslog, SECCOMP_RET_ERRNO | EPERM));
        CHILD_CHECK(dup2(p.w, STDOUT_FILENO) == STDOUT_FILENO);
        execl("/bin/grep", "grep", "^Seccomp:", "/proc/self/status",
              static_cast<char*>(nullptr));
        CHILD_CHECK(false);
        return 1;
      }),
      0));
  p.CloseW();
  EXPECT_EQ(ReadAll(p.r), "Seccomp:\t2\n");
}

// ------------------------------------------------------------- bad input

TEST(SeccompTest, BadProgramsFlagsAndOperationsAreRefused) {
  EXPECT_TRUE(ExitedWith(
      RunInChild([] {
        CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        const sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        CHILD_CHECK(Failed(Install({}), EINVAL));
        // BPF_MAXINSNS is 4096.
        CHILD_CHECK(
            Failed(Install(std::vector<sock_filter>(4097, allow)), EINVAL));
        CHILD_CHECK(Failed(
            Install({BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), allow}),
            EINVAL));
        // The last instruction must be a return.
        CHILD_CHECK(
            Failed(Install({BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                     offsetof(struct seccomp_data, nr))}),
                   EINVAL));
        CHILD_CHECK(Failed(
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, nullptr), EFAULT));
        // A null instruction pointer is caught before any copy; any other
        // bad one faults.
        struct sock_fprog insns = {1, nullptr};
        CHILD_CHECK(Failed(
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &insns), EINVAL));
        insns.filter = reinterpret_cast<sock_filter*>(8);
        CHILD_CHECK(Failed(
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &insns), EFAULT));
        CHILD_CHECK(Failed(Install({allow}, 1u << 31), EINVAL));
        CHILD_CHECK(Failed(syscall(SYS_seccomp, 99, 0, nullptr), EINVAL));
        // None of the refusals installed anything.
        CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
        return 0;
      }),
      0));
}

TEST(SeccompTest, GetActionAvail) {
  uint32_t action = SECCOMP_RET_ERRNO;
  EXPECT_EQ(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action), 0);
  action = SECCOMP_RET_KILL_PROCESS;
  EXPECT_EQ(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action), 0);
  action = 0x12340000;
  EXPECT_ERRNO(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action),
               EOPNOTSUPP);
}

TEST(SeccompTest, WithoutNoNewPrivsOrCapSysAdminInstallingIsEACCES) {
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
    GTEST_SKIP() << "this process already has no_new_privs set";
  }
  EXPECT_TRUE(ExitedWith(
      RunInChild([] {
        // Leaving uid 0 in every id drops all capabilities.
        CHILD_CHECK(setgroups(0, nullptr) == 0);
        CHILD_CHECK(setresgid(65534, 65534, 65534) == 0);
        CHILD_CHECK(setresuid(65534, 65534, 65534) == 0);
        std::vector<sock_filter> f =
            OnSyscall(SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
        CHILD_CHECK(Failed(Install(f), EACCES));
        struct sock_fprog prog = {static_cast<unsigned short>(f.size()),
                                  f.data()};
        CHILD_CHECK(Failed(
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), EACCES));
        CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
        // no_new_privs is all an unprivileged process needs.
        SetNnpAndInstall(f);
        CHILD_CHECK(Failed(Getppid(), EPERM));
        return 0;
      }),
      0));
}

// ------------------------------------------------------------ strict mode

// After strict mode only raw read, write, exit and rt_sigreturn may run:
// even _exit (exit_group) would be killed, so the children end with
// SYS_exit and report a failed check through a distinct exit code.
TEST(SeccompTest, StrictModeAllowsWriteAndExit) {
  Pipe p;
  EXPECT_TRUE(ExitedWith(
      RunInChild([&p] {
        CHILD_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) == 0);
        if (syscall(SYS_write, p.w, "s", 1) != 1) {
          syscall(SYS_exit, 2);
        }
        syscall(SYS_exit, 0);
        return 3;
      }),
      0));
  p.CloseW();
  EXPECT_EQ(ReadAll(p.r), "s");
}

TEST(SeccompTest, StrictModeKillsAnyOtherSyscallWithSigkill) {
  Pipe p;
  EXPECT_TRUE(KilledBySignal(
      RunInChild([&p] {
        CHILD_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) == 0);
        syscall(SYS_write, p.w, "s", 1);
        syscall(SYS_getpid);
        syscall(SYS_exit, 2);
        return 3;
      }),
      SIGKILL));
  p.CloseW();
  EXPECT_EQ(ReadAll(p.r), "s");
}

TEST(SeccompTest, StrictModeKillsExitGroup) {
  EXPECT_TRUE(KilledBySignal(
      RunInChild([] {
        CHILD_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) == 0);
        syscall(SYS_exit_group, 0);
        syscall(SYS_exit, 2);
        return 3;
      }),
      SIGKILL));
}

}  // namespace
