// /proc as seen for other processes and threads: for a child sleeping in
// read(2), /proc/PID/stat (pid, comm, state, ppid, pgrp, session,
// num_threads, the field count), status (Name, State, Tgid, Pid, PPid, Uid,
// Threads), cmdline (NUL-separated), environ, comm, exe, cwd, fd/ (exactly
// the child's descriptors, with their link targets), maps (line format,
// the binary and the stack), limits (the header and the "Max open files"
// row, byte for byte) and task/; a stopped child's state T; a zombie (state
// Z, empty cmdline) and a reaped child (ENOENT on lookup, ESRCH on reading
// a file opened before); a process with three threads: /proc/self/task
// lists each, task/TID/{stat,comm,status} per thread with names from
// pthread_setname_np, /proc/TID reachable though not listed in /proc; and
// the system files /proc/loadavg, /proc/uptime and /proc/stat (cpu line,
// btime, processes counting forks, procs_running).
//
// The test binary doubles as the child's program: with
// PROC_TASK_TEST_HELPER=wait in its environment, a constructor writes one
// byte to stdout, then reads stdin until EOF and exits, before gtest starts.

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

constexpr char kHelperEnv[] = "PROC_TASK_TEST_HELPER=wait";

// glibc passes argc, argv and envp to the executable's constructors.
__attribute__((constructor)) void MaybeRunAsHelper(int, char**, char** envp) {
  for (char** e = envp; e != nullptr && *e != nullptr; e++) {
    if (strcmp(*e, kHelperEnv) == 0) {
      char c = 'r';
      write(1, &c, 1);
      while (read(0, &c, 1) > 0) {
      }
      _exit(0);
    }
  }
}

using testing_util::Basename;
using testing_util::ForkPauser;
using testing_util::InForkedChild;
using testing_util::kChildWatchdogSeconds;
using testing_util::ListDir;
using testing_util::ReadFile;
using testing_util::Readlink;
using testing_util::SelfExe;
using testing_util::TempPath;
using testing_util::WaitStatus;
using testing_util::WriteFile;

// The fields of a /proc/.../stat line: [0] pid, [1] comm (without the
// parentheses, which may enclose spaces), [2] state, ...
std::vector<std::string> StatFields(const std::string& stat) {
  std::vector<std::string> out;
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return out;
  out.push_back(stat.substr(0, open - 1));
  out.push_back(stat.substr(open + 1, close - open - 1));
  std::istringstream rest(stat.substr(close + 1));
  std::string f;
  while (rest >> f) out.push_back(f);
  return out;
}

// The value of "Key:" in a /proc/.../status file, or "<missing>".
std::string StatusField(const std::string& status, const std::string& key) {
  std::string needle = "\n" + key + ":\t";
  std::string text = "\n" + status;
  size_t pos = text.find(needle);
  if (pos == std::string::npos) return "<missing>";
  pos += needle.size();
  return text.substr(pos, text.find('\n', pos) - pos);
}

// ------------------------------------------- a child sleeping in read(2)

class ProcPidTest : public ::testing::Test {
 protected:
  void SetUp() override {
    exe_ = SelfExe();
    data_path_ = dir_ / "data";
    WriteFile(data_path_, "data");
    int in[2], ready[2];
    ASSERT_OK(pipe2(in, O_CLOEXEC));
    ASSERT_OK(pipe2(ready, O_CLOEXEC));
    int data = open(data_path_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(data, 0);
    struct stat st = {};
    ASSERT_OK(fstat(in[0], &st));
    stdin_ino_ = st.st_ino;
    fflush(nullptr);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      alarm(kChildWatchdogSeconds);  // survives the exec
      chdir(dir_.path().c_str());
      dup2(in[0], 0);
      dup2(ready[1], 1);
      dup2(data, 5);
      syscall(SYS_close_range, 3, 4, 0);
      syscall(SYS_close_range, 6, ~0U, 0);
      struct rlimit nofile = {100, 200};
      setrlimit(RLIMIT_NOFILE, &nofile);
      const char* argv[] = {"proc_task_test", "--arg with space", "", nullptr};
      const char* envp[] = {kHelperEnv, "A=1", "B=", nullptr};
      execve(exe_.c_str(), const_cast<char**>(argv), const_cast<char**>(envp));
      _exit(127);
    }
    close(in[0]);
    close(ready[1]);
    close(data);
    stdin_w_ = in[1];
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the helper did not start";
    close(ready[0]);
    proc_ = "/proc/" + std::to_string(pid_);
    // It wrote before reading; wait (boundedly) until it sleeps in read.
    for (int i = 0; i < 10000; i++) {
      std::vector<std::string> f = StatFields(ReadFile(proc_ + "/stat"));
      if (f.size() > 2 && f[2] == "S") break;
      struct timespec ts = {0, 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  void TearDown() override {
    if (stdin_w_ >= 0) close(stdin_w_);
    if (pid_ > 0) {
      EXPECT_EQ(WaitStatus(pid_), 0);
    }
  }
  std::string Comm() const { return Basename(exe_).substr(0, 15); }

  TempPath dir_;
  std::string exe_, data_path_, proc_;
  ino_t stdin_ino_ = 0;
  pid_t pid_ = -1;
  int stdin_w_ = -1;
};

TEST_F(ProcPidTest, Stat) {
  std::string stat = ReadFile(proc_ + "/stat");
  std::vector<std::string> f = StatFields(stat);
  ASSERT_EQ(f.size(), 52u) << stat;
  EXPECT_EQ(f[0], std::to_string(pid_));
  EXPECT_EQ(f[1], Comm());
  EXPECT_EQ(f[2], "S");  // asleep in read(2)
  EXPECT_EQ(f[3], std::to_string(getpid()));
  EXPECT_EQ(f[4], std::to_string(getpgrp()));
  EXPECT_EQ(f[5], std::to_string(getsid(0)));
  EXPECT_EQ(f[19], "1");  // num_threads
  EXPECT_EQ(stat.back(), '\n');
}

TEST_F(ProcPidTest, Status) {
  std::string status = ReadFile(proc_ + "/status");
  EXPECT_EQ(StatusField(status, "Name"), Comm());
  EXPECT_EQ(StatusField(status, "State"), "S (sleeping)");
  EXPECT_EQ(StatusField(status, "Tgid"), std::to_string(pid_));
  EXPECT_EQ(StatusField(status, "Pid"), std::to_string(pid_));
  EXPECT_EQ(StatusField(status, "PPid"), std::to_string(getpid()));
  EXPECT_EQ(StatusField(status, "Threads"), "1");
  EXPECT_EQ(StatusField(status, "Uid"), "0\t0\t0\t0");
  EXPECT_EQ(StatusField(status, "Gid"), "0\t0\t0\t0");
  EXPECT_EQ(status.rfind("Name:\t", 0), 0u) << "Name comes first";
}

TEST_F(ProcPidTest, CmdlineIsNulSeparated) {
  EXPECT_EQ(ReadFile(proc_ + "/cmdline"),
            std::string("proc_task_test\0--arg with space\0\0", 33));
}

TEST_F(ProcPidTest, EnvironIsTheInitialEnvironment) {
  std::string want =
      std::string(kHelperEnv) + '\0' + "A=1" + '\0' + "B=" + '\0';
  EXPECT_EQ(ReadFile(proc_ + "/environ"), want);
}

TEST_F(ProcPidTest, CommExeAndCwd) {
  EXPECT_EQ(ReadFile(proc_ + "/comm"), Comm() + "\n");
  EXPECT_EQ(Readlink(proc_ + "/exe"), exe_);
  EXPECT_EQ(Readlink(proc_ + "/cwd"), dir_.path());
  // The links can be followed.
  struct stat a = {}, b = {};
  ASSERT_OK(stat((proc_ + "/cwd").c_str(), &a));
  ASSERT_OK(stat(dir_.path().c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(ProcPidTest, FdListsExactlyTheChildsDescriptors) {
  EXPECT_EQ(ListDir(proc_ + "/fd"),
            (std::set<std::string>{"0", "1", "2", "5"}));
  EXPECT_EQ(Readlink(proc_ + "/fd/0"),
            "pipe:[" + std::to_string(stdin_ino_) + "]");
  EXPECT_EQ(Readlink(proc_ + "/fd/5"), data_path_);
  // Opening the link opens the file itself.
  int fd = open((proc_ + "/fd/5").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[8] = {};
  EXPECT_EQ(read(fd, buf, sizeof(buf)), 4);
  EXPECT_STREQ(buf, "data");
  close(fd);
  EXPECT_EQ(ListDir(proc_ + "/fdinfo"), ListDir(proc_ + "/fd"));
}

TEST_F(ProcPidTest, MapsFormat) {
  std::string maps = ReadFile(proc_ + "/maps");
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(maps.back(), '\n');
  const std::regex line_re(
      "([0-9a-f]+)-([0-9a-f]+) [r-][w-][x-][ps] [0-9a-f]{8} "
      "[0-9a-f]{2,}:[0-9a-f]{2,} [0-9]+ *(.*)");
  std::istringstream in(maps);
  std::string line;
  bool exe_text = false, stack = false;
  unsigned long prev_end = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, line_re)) << line;
    unsigned long start = std::stoul(m[1].str(), nullptr, 16);
    unsigned long end = std::stoul(m[2].str(), nullptr, 16);
    EXPECT_LT(start, end) << line;
    EXPECT_GE(start, prev_end) << "sorted, not overlapping: " << line;
    prev_end = end;
    if (m[3].str() == exe_ && line.find(" r-xp ") != std::string::npos)
      exe_text = true;
    if (m[3].str() == "[stack]") stack = true;
  }
  EXPECT_TRUE(exe_text) << maps;
  EXPECT_TRUE(stack) << maps;
}

TEST_F(ProcPidTest, LimitsFormat) {
  std::string limits = ReadFile(proc_ + "/limits");
  std::istringstream in(limits);
  std::string header;
  ASSERT_TRUE(std::getline(in, header));
  // "%-25s %-20s %-20s %-10s\n"
  EXPECT_EQ(
      header,
      "Limit                     Soft Limit           Hard Limit          "
      " Units     ");
  EXPECT_NE(limits.find("\nMax open files            100                  200  "
                        "                files     \n"),
            std::string::npos)
      << limits;
  // Unlimited values are spelled out; a row without units ends after the
  // hard limit's padding.
  EXPECT_NE(limits.find("\nMax cpu time              unlimited            "
                        "unlimited            seconds   \n"),
            std::string::npos)
      << limits;
  int rows = 0;
  std::string line;
  while (std::getline(in, line)) rows++;
  EXPECT_EQ(rows, 16);  // RLIM_NLIMITS
}

TEST_F(ProcPidTest, TaskListsTheOneThread) {
  EXPECT_EQ(ListDir(proc_ + "/task"),
            std::set<std::string>{std::to_string(pid_)});
  std::vector<std::string> f =
      StatFields(ReadFile(proc_ + "/task/" + std::to_string(pid_) + "/stat"));
  ASSERT_GE(f.size(), 3u);
  EXPECT_EQ(f[0], std::to_string(pid_));
}

// ---------------------------------------------- stopped, zombie, reaped

TEST(ProcStateTest, AStoppedProcessIsT) {
  pid_t pid = ForkPauser();
  ASSERT_GE(pid, 0);
  ASSERT_OK(kill(pid, SIGSTOP));
  siginfo_t info = {};
  ASSERT_OK(waitid(P_PID, static_cast<id_t>(pid), &info, WSTOPPED));
  std::string proc = "/proc/" + std::to_string(pid);
  std::vector<std::string> f = StatFields(ReadFile(proc + "/stat"));
  ASSERT_GE(f.size(), 3u);
  EXPECT_EQ(f[2], "T");
  EXPECT_EQ(StatusField(ReadFile(proc + "/status"), "State"), "T (stopped)");
  ASSERT_OK(kill(pid, SIGKILL));
  EXPECT_EQ(WaitStatus(pid), SIGKILL);
}

TEST(ProcStateTest, AZombieAndThenAReapedChild) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(0);
  siginfo_t info = {};
  ASSERT_OK(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT));
  std::string proc = "/proc/" + std::to_string(pid);
  std::vector<std::string> f = StatFields(ReadFile(proc + "/stat"));
  ASSERT_GE(f.size(), 3u);
  EXPECT_EQ(f[2], "Z");
  EXPECT_EQ(StatusField(ReadFile(proc + "/status"), "State"), "Z (zombie)");
  // A zombie has no memory: its command line reads empty.
  EXPECT_EQ(ReadFile(proc + "/cmdline"), "");
  int dirfd = open(proc.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  int statfd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(statfd, 0);
  EXPECT_EQ(WaitStatus(pid), 0);
  // Gone: lookups fail, and files opened before cannot be read.
  struct stat st;
  EXPECT_ERRNO(stat(proc.c_str(), &st), ENOENT);
  EXPECT_ERRNO(open((proc + "/status").c_str(), O_RDONLY | O_CLOEXEC), ENOENT);
  // Through a directory fd opened before, Linux (6.18) says ESRCH.
  EXPECT_ERRNO(openat(dirfd, "status", O_RDONLY | O_CLOEXEC), ESRCH);
  char buf[64];
  EXPECT_ERRNO(read(statfd, buf, sizeof(buf)), ESRCH);
  EXPECT_EQ(ListDir("/proc").count(std::to_string(pid)), 0u);
  close(statfd);
  close(dirfd);
}

// ------------------------------------------------------------- threads

struct Worker {
  pthread_t thread;
  pid_t tid = 0;
  int release_fd = -1;
  int ready_fd = -1;
};

void* WorkerMain(void* arg) {
  auto* w = static_cast<Worker*>(arg);
  w->tid = static_cast<pid_t>(syscall(SYS_gettid));
  char c = 'r';
  write(w->ready_fd, &c, 1);
  read(w->release_fd, &c, 1);
  return nullptr;
}

TEST(ProcTaskTest, EveryThreadIsListedWithItsOwnFiles) {
  InForkedChild([] {
    int release[2], ready[2];
    ASSERT_OK(pipe2(release, O_CLOEXEC));
    ASSERT_OK(pipe2(ready, O_CLOEXEC));
    Worker workers[2];
    for (Worker& w : workers) {
      w.release_fd = release[0];
      w.ready_fd = ready[1];
      ASSERT_EQ(pthread_create(&w.thread, nullptr, WorkerMain, &w), 0);
      char c;
      ASSERT_EQ(read(ready[0], &c, 1), 1);
    }
    // From this thread: the others' names go through task/TID/comm.
    ASSERT_EQ(pthread_setname_np(workers[0].thread, "worker-one"), 0);
    ASSERT_EQ(pthread_setname_np(workers[1].thread, "worker-two"), 0);
    pid_t pid = getpid();
    std::string self = "/proc/" + std::to_string(pid);
    EXPECT_EQ(ListDir("/proc/self/task"),
              (std::set<std::string>{std::to_string(pid),
                                     std::to_string(workers[0].tid),
                                     std::to_string(workers[1].tid)}));
    EXPECT_EQ(StatusField(ReadFile("/proc/self/status"), "Threads"), "3");
    std::vector<std::string> f = StatFields(ReadFile("/proc/self/stat"));
    ASSERT_GE(f.size(), 20u);
    EXPECT_EQ(f[19], "3");
    const char* names[] = {"worker-one", "worker-two"};
    for (int i = 0; i < 2; i++) {
      std::string tid = std::to_string(workers[i].tid);
      std::string task = "/proc/self/task/" + tid;
      EXPECT_EQ(ReadFile(task + "/comm"), std::string(names[i]) + "\n");
      f = StatFields(ReadFile(task + "/stat"));
      ASSERT_GE(f.size(), 6u);
      EXPECT_EQ(f[0], tid);
      EXPECT_EQ(f[1], names[i]);
      EXPECT_EQ(f[3], std::to_string(getppid()));
      std::string status = ReadFile(task + "/status");
      EXPECT_EQ(StatusField(status, "Pid"), tid);
      EXPECT_EQ(StatusField(status, "Tgid"), std::to_string(pid));
      EXPECT_EQ(StatusField(status, "Name"), names[i]);
      // /proc/TID works though readdir of /proc lists only processes.
      std::string by_tid = "/proc/" + tid;
      EXPECT_EQ(StatusField(ReadFile(by_tid + "/status"), "Tgid"),
                std::to_string(pid));
      EXPECT_EQ(ListDir("/proc").count(tid), 0u);
    }
    // The main thread's name is its own.
    EXPECT_EQ(ReadFile(self + "/task/" + std::to_string(pid) + "/comm"),
              ReadFile("/proc/self/comm"));
    // Writing a thread's comm file renames it.
    int fd = open(
        ("/proc/self/task/" + std::to_string(workers[0].tid) + "/comm").c_str(),
        O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "renamed", 7), 7);
    close(fd);
    char name[16] = {};
    ASSERT_EQ(pthread_getname_np(workers[0].thread, name, sizeof(name)), 0);
    EXPECT_STREQ(name, "renamed");
    close(release[1]);
    for (Worker& w : workers) pthread_join(w.thread, nullptr);
    // pthread_join returns when the thread clears its tid, a moment before
    // Linux releases the task: its entry may linger that long.
    std::set<std::string> only_main = {std::to_string(pid)};
    for (int i = 0; i < 2000 && ListDir("/proc/self/task") != only_main; i++) {
      usleep(1000);
    }
    EXPECT_EQ(ListDir("/proc/self/task"), only_main);
    close(release[0]);
    close(ready[0]);
    close(ready[1]);
  });
}

// ------------------------------------------------------ system-wide files

TEST(ProcSystemTest, LoadavgFormat) {
  std::string s = ReadFile("/proc/loadavg");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      s, m,
      std::regex("[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2} "
                 "([0-9]+)/([0-9]+) ([0-9]+)\n")))
      << s;
  long running = std::stol(m[1].str());
  long total = std::stol(m[2].str());
  EXPECT_GE(running, 1);  // us
  EXPECT_GE(total, running);
  EXPECT_GT(std::stol(m[3].str()), 0);  // the last pid handed out
}

TEST(ProcSystemTest, UptimeFormat) {
  std::string s = ReadFile("/proc/uptime");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      s, m, std::regex("([0-9]+\\.[0-9]{2}) ([0-9]+\\.[0-9]{2})\n")))
      << s;
  double up = std::stod(m[1].str());
  EXPECT_GT(up, 0);
  // Against the boot-time clock, to a generous second.
  struct timespec boot = {};
  ASSERT_OK(clock_gettime(CLOCK_BOOTTIME, &boot));
  EXPECT_LE(up, boot.tv_sec + 1.0);
  EXPECT_GE(up, boot.tv_sec - 1.0);
}

// The number after `key ` in /proc/stat, or -1.
long StatCounter(const std::string& stat, const std::string& key) {
  size_t pos = ("\n" + stat).find("\n" + key + " ");
  if (pos == std::string::npos) return -1;
  return std::stol(stat.substr(pos + key.size() + 1));
}

TEST(ProcSystemTest, StatFormat) {
  std::string s = ReadFile("/proc/stat");
  ASSERT_EQ(s.rfind("cpu  ", 0), 0u) << s;
  std::istringstream first(s.substr(0, s.find('\n')));
  std::string label;
  first >> label;
  int fields = 0;
  long long v;
  while (first >> v) {
    EXPECT_GE(v, 0);
    fields++;
  }
  EXPECT_EQ(fields, 10);  // user nice system idle iowait irq softirq ...
  EXPECT_NE(s.find("\ncpu0 "), std::string::npos);
  time_t now = time(nullptr);
  long btime = StatCounter(s, "btime");
  EXPECT_GT(btime, 0);
  EXPECT_LE(btime, now);
  EXPECT_GE(StatCounter(s, "procs_running"), 1);
  EXPECT_GE(StatCounter(s, "procs_blocked"), 0);
  EXPECT_GE(StatCounter(s, "ctxt"), 0);
  EXPECT_GE(StatCounter(s, "intr"), 0);
  EXPECT_GT(StatCounter(s, "processes"), 0);
}

TEST(ProcSystemTest, StatProcessesCountsForks) {
  long before = StatCounter(ReadFile("/proc/stat"), "processes");
  ASSERT_GT(before, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(0);
  EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_GT(StatCounter(ReadFile("/proc/stat"), "processes"), before);
}

}  // namespace
