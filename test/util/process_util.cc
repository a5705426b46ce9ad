#include "test/util/process_util.h"

#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "gtest/gtest.h"
#include "test/util/test_util.h"

namespace testing_util {

namespace {

// waitpid(2), retried while it fails with EINTR.
pid_t WaitpidRetryingEintr(pid_t pid, int* status, int options) {
  pid_t rc;
  do {
    rc = waitpid(pid, status, options);
  } while (rc == -1 && errno == EINTR);
  return rc;
}

}  // namespace

int WaitStatus(pid_t pid, int options) {
  int status = 0;
  return WaitpidRetryingEintr(pid, &status, options) == pid ? status : -1;
}

int CheckedWaitStatus(pid_t pid, int options) {
  int status = 0;
  pid_t rc = WaitpidRetryingEintr(pid, &status, options);
  EXPECT_EQ(rc, pid) << "waitpid: " << strerror(errno);
  return rc == pid ? status : -1;
}

std::string DescribeWaitStatus(int status) {
  if (status == -1) return "no status (-1)";
  auto signal_name = [](int sig) {
    return "signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  };
  if (WIFEXITED(status))
    return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by " + signal_name(WTERMSIG(status)) +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  if (WIFSTOPPED(status)) return "stopped by " + signal_name(WSTOPSIG(status));
  if (WIFCONTINUED(status)) return "continued";
  return "unknown status " + std::to_string(status);
}

::testing::AssertionResult ExitedWith(int status, int code) {
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "got: " << DescribeWaitStatus(status)
                                       << "; want: exited with " << code;
}

::testing::AssertionResult KilledBySignal(int status, int sig) {
  if (status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got: " << DescribeWaitStatus(status) << "; want: killed by signal "
         << sig << " (" << strsignal(sig) << ")";
}

void InForkedChild(const std::function<void()>& fn) {
  pid_t pid = ForkChild([&fn] {
    fn();
    fflush(nullptr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  });
  ASSERT_GE(pid, 0) << strerror(errno);
  EXPECT_EQ(WaitStatus(pid), 0) << "the child failed (see its output)";
}

int RunInChild(const std::function<int()>& fn) {
  pid_t pid = ForkChild([&fn] { _exit(fn()); });
  EXPECT_GT(pid, 0) << strerror(errno);
  if (pid < 0) return -1;
  return CheckedWaitStatus(pid);
}

pid_t ForkChild(const std::function<void()>& fn) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(kChildWatchdogSeconds);
    fn();
    _exit(0);
  }
  return pid;
}

pid_t ForkPauser(const std::function<void()>& before) {
  return ForkChild([&before] {
    if (before) before();
    for (;;) pause();
  });
}

pid_t UnusedPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  WaitStatus(pid);
  return pid;
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  WaitStatus(pid);
}

void BecomeUser(uid_t uid, gid_t gid) {
  ASSERT_OK(setgroups(0, nullptr));
  ASSERT_OK(setresgid(gid, gid, gid));
  ASSERT_OK(setresuid(uid, uid, uid));
}

void DisableCoreDumps() {
  struct rlimit zero = {0, 0};
  setrlimit(RLIMIT_CORE, &zero);
  prctl(PR_SET_DUMPABLE, 0);
}

char ProcState(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return '?';
  return stat[paren + 2];
}

int CountTasks(const std::string& task_dir) {
  DIR* d = opendir(task_dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n;
}

}  // namespace testing_util
