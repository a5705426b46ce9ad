// Helpers for tests that fork: running code in a child, waiting for it, and
// children that wait to be signalled.

#ifndef TEST_UTIL_PROCESS_UTIL_H_
#define TEST_UTIL_PROCESS_UTIL_H_

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "gtest/gtest.h"

namespace testing_util {

// How long a forked child may live: each calls alarm() with it, so that a
// child that hangs dies of SIGALRM instead of blocking the test.
constexpr int kChildWatchdogSeconds = 30;

// Waits for `pid` with waitpid(2) and `options` (retrying EINTR) and
// returns the raw wait status, or -1 if waitpid did not report `pid`.
int WaitStatus(pid_t pid, int options = 0);

// WaitStatus, except that waitpid(2) not reporting `pid` is also a test
// failure (a non-fatal one).
int CheckedWaitStatus(pid_t pid, int options = 0);

// Describes a raw wait status: "exited with 3", "killed by signal 9
// (Killed)", "stopped by signal 19 (Stopped (signal))", "continued", or
// "no status (-1)" for WaitStatus's failure value.
std::string DescribeWaitStatus(int status);

// For EXPECT_TRUE/ASSERT_TRUE: whether the raw wait status `status` says
// the process exited with `code`; the failure message describes it.
::testing::AssertionResult ExitedWith(int status, int code);

// For EXPECT_TRUE/ASSERT_TRUE: whether the raw wait status `status` says
// the process was killed by signal `sig`; the failure message describes it.
::testing::AssertionResult KilledBySignal(int status, int sig);

// Runs `fn` in a forked child under the watchdog and expects the child to
// exit 0. gtest assertions work inside: a failure prints from the child and
// makes it exit 1.
void InForkedChild(const std::function<void()>& fn);

// Runs `fn` in a forked child under the watchdog; the child exits with what
// `fn` returns. Returns the child's raw wait status (-1 if fork failed). Use
// CHILD_CHECK inside.
int RunInChild(const std::function<int()>& fn);

// Forks a child that runs `fn` under the watchdog and then exits 0 (unless
// `fn` exits or execs first). Returns its pid (-1 if fork failed).
pid_t ForkChild(const std::function<void()>& fn);

// Forks a child that runs `before` (if given) under the watchdog and then
// waits in pause(2) to be killed. Returns its pid (-1 if fork failed).
pid_t ForkPauser(const std::function<void()>& before = nullptr);

// A pid that names no process: a reaped child's (pids are not reused that
// quickly).
pid_t UnusedPid();

// Sends SIGKILL to `pid` and reaps it.
void KillAndReap(pid_t pid);

// Makes the calling process (a child: the test process stays root) user
// `uid` and group `gid` in every id, with no supplementary groups.
void BecomeUser(uid_t uid, gid_t gid);

// Makes the calling process write no core file and leave the core flag out
// of its wait status when a signal kills it (RLIMIT_CORE 0, not dumpable).
void DisableCoreDumps();

// The state letter of process `pid` (field 3 of /proc/PID/stat), or '?'.
char ProcState(pid_t pid);

// The number of threads listed in a /proc task directory, or -1 if it
// cannot be opened.
int CountTasks(const std::string& task_dir = "/proc/self/task");

}  // namespace testing_util

// In a forked child (see RunInChild): unless `cond` holds, reports the
// failed check on stderr and exits 1.
#define CHILD_CHECK(cond)                                                     \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: child check failed: %s (errno %d)\n", __FILE__, \
              __LINE__, #cond, errno);                                        \
      _exit(1);                                                               \
    }                                                                         \
  } while (0)

#endif  // TEST_UTIL_PROCESS_UTIL_H_
