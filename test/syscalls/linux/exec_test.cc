// execve(2) and execveat(2) that succeed: the new program keeps the pid, the
// parent, the working directory and the descriptors without FD_CLOEXEC; it
// receives argv and envp exactly (an empty argv arrives as one empty
// string); handled signals revert to SIG_DFL while ignored ones, the mask
// and pending signals are kept; comm becomes the basename of the path; an
// exec from a non-main thread of a multi-threaded process leaves one thread
// with the old pid and a normal exit status; execveat with AT_EMPTY_PATH on
// an fd (O_RDONLY or O_PATH) and with a dirfd and a relative path; #!
// scripts (the interpreter's argv layout, an optional argument taken whole,
// a script through a non-close-on-exec fd, and ENOENT through a close-on-exec
// one); exit statuses of /bin/true and /bin/false; and failures not covered
// by process_test: ELOOP, ENOEXEC for an empty #! line, ETXTBSY, EACCES for
// an unsearchable directory, and execveat's flag and fd errors.
//
// The test binary doubles as the program it execs: when the environment
// holds EXEC_TEST_HELPER=report, a constructor writes a report of the
// process's state to stdout and exits before gtest starts.

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::Basename;
using testing_util::CountTasks;
using testing_util::kChildWatchdogSeconds;
using testing_util::ReadAll;
using testing_util::SelfExe;
using testing_util::TempPath;
using testing_util::WaitStatus;

constexpr char kHelperEnv[] = "EXEC_TEST_HELPER=report";

// --------------------------------------------------------- the exec'd side

std::string Disposition(int sig) {
  struct sigaction act = {};
  sigaction(sig, nullptr, &act);
  if (act.sa_handler == SIG_DFL) return "dfl";
  if (act.sa_handler == SIG_IGN) return "ign";
  return "handler";
}

// Writes "key=value" lines describing this process to stdout.
void Report(int argc, char** argv, char** envp) {
  std::string out;
  auto add = [&out](const std::string& key, const std::string& value) {
    out += key + "=" + value + "\n";
  };
  add("pid", std::to_string(getpid()));
  add("ppid", std::to_string(getppid()));
  add("tid", std::to_string(syscall(SYS_gettid)));
  add("tasks", std::to_string(CountTasks()));
  char comm[32] = {};
  prctl(PR_GET_NAME, comm);
  add("comm", comm);
  char cwd[PATH_MAX] = {};
  add("cwd", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
  add("argc", std::to_string(argc));
  for (int i = 0; i < argc; i++) add("argv" + std::to_string(i), argv[i]);
  int n = 0;
  for (char** e = envp; *e != nullptr; e++)
    add("env" + std::to_string(n++), *e);
  add("envc", std::to_string(n));
  std::string fds;
  for (int fd = 0; fd < 64; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) fds += std::to_string(fd) + ",";
  }
  add("fds", fds);
  add("usr1", Disposition(SIGUSR1));
  add("usr2", Disposition(SIGUSR2));
  sigset_t set;
  sigprocmask(SIG_BLOCK, nullptr, &set);
  add("blocked_term", std::to_string(sigismember(&set, SIGTERM)));
  sigpending(&set);
  add("pending_term", std::to_string(sigismember(&set, SIGTERM)));
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t w = write(1, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

// glibc passes argc, argv and envp to the executable's constructors.
__attribute__((constructor)) void MaybeRunAsHelper(int argc, char** argv,
                                                   char** envp) {
  for (char** e = envp; e != nullptr && *e != nullptr; e++) {
    if (strcmp(*e, kHelperEnv) == 0) {
      Report(argc, argv, envp);
      _exit(0);
    }
  }
}

// --------------------------------------------------------- the test's side

using Fields = std::map<std::string, std::string>;

std::string Dirname(const std::string& path) {
  return path.substr(0, path.rfind('/'));
}

// argv/envp arrays that own their strings.
class Args {
 public:
  explicit Args(std::vector<std::string> strings)
      : strings_(std::move(strings)) {
    for (auto& s : strings_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() { return ptrs_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
};

struct Outcome {
  int status = -1;
  Fields report;
  std::string raw;
};

// Forks; the child runs `setup` (which may do anything to itself), points
// stdout at a pipe and calls `exec`, exiting 127 with a message if it
// returns. Collects the child's output, parsed as a report, and its status.
template <typename Setup, typename Exec>
Outcome RunChild(Setup setup, Exec exec) {
  Outcome out;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << strerror(errno);
    return out;
  }
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(kChildWatchdogSeconds);
    dup2(fds[1], 1);
    setup();
    exec();
    int err = errno;
    fprintf(stderr, "exec failed: %s\n", strerror(err));
    _exit(127);
  }
  close(fds[1]);
  out.raw = ReadAll(fds[0]);
  close(fds[0]);
  out.status = WaitStatus(pid);
  size_t pos = 0;
  while (pos < out.raw.size()) {
    size_t nl = out.raw.find('\n', pos);
    if (nl == std::string::npos) nl = out.raw.size();
    std::string line = out.raw.substr(pos, nl - pos);
    size_t eq = line.find('=');
    if (eq != std::string::npos)
      out.report[line.substr(0, eq)] = line.substr(eq + 1);
    pos = nl + 1;
  }
  out.report["child"] = std::to_string(pid);
  return out;
}

template <typename Exec>
Outcome RunChild(Exec exec) {
  return RunChild([] {}, exec);
}

// Execs the test binary as the reporting helper.
void ExecHelper(std::vector<std::string> argv = {"exec_test"},
                std::vector<std::string> env = {kHelperEnv}) {
  Args a(std::move(argv)), e(std::move(env));
  execve("/proc/self/exe", a.get(), e.get());
}

std::vector<std::string> ReportedArgv(const Fields& f) {
  std::vector<std::string> out;
  int argc = atoi(f.count("argc") ? f.at("argc").c_str() : "-1");
  for (int i = 0; i < argc; i++)
    out.push_back(f.at("argv" + std::to_string(i)));
  return out;
}

std::vector<std::string> ReportedEnv(const Fields& f) {
  std::vector<std::string> out;
  int n = atoi(f.count("envc") ? f.at("envc").c_str() : "-1");
  for (int i = 0; i < n; i++) out.push_back(f.at("env" + std::to_string(i)));
  return out;
}

bool FdListed(const Fields& f, int fd) {
  if (!f.count("fds")) return false;
  return ("," + f.at("fds")).find("," + std::to_string(fd) + ",") !=
         std::string::npos;
}

// Creates `name` in `dir` with `content` and exactly `mode`.
std::string MakeFile(const TempPath& dir, const std::string& name,
                     const std::string& content, mode_t mode) {
  std::string p = dir / name;
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  EXPECT_GE(fd, 0) << p << ": " << strerror(errno);
  if (fd < 0) return p;
  EXPECT_EQ(write(fd, content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  fchmod(fd, mode);
  close(fd);
  return p;
}

int Execveat(int dirfd, const char* path, char* const argv[],
             char* const envp[], int flags) {
  return static_cast<int>(
      syscall(SYS_execveat, dirfd, path, argv, envp, flags));
}

// ---------------------------------------------------------------- identity

// Expects the exec'd program of `o` (see RunChild) to have been the child's
// only thread, with the child's pid and tid and this process as parent.
void ExpectOneThreadWithTheChildsPidAndParent(Outcome& o) {
  EXPECT_EQ(o.report["pid"], o.report["child"]);
  EXPECT_EQ(o.report["tid"], o.report["child"]);
  EXPECT_EQ(o.report["ppid"], std::to_string(getpid()));
  EXPECT_EQ(o.report["tasks"], "1");
}

TEST(ExecTest, KeepsThePidAndTheParent) {
  Outcome o = RunChild([] { ExecHelper(); });
  EXPECT_EQ(o.status, 0) << o.raw;
  ExpectOneThreadWithTheChildsPidAndParent(o);
}

TEST(ExecTest, ArgvAndEnvpArriveExactly) {
  std::vector<std::string> argv = {"name zero", "a b", "", "last"};
  std::vector<std::string> env = {"X=1", "EMPTY=", "NOEQUALS", kHelperEnv,
                                  "X=2"};
  Outcome o = RunChild([&] { ExecHelper(argv, env); });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(ReportedArgv(o.report), argv);
  EXPECT_EQ(ReportedEnv(o.report), env);
}

TEST(ExecTest, AnEmptyArgvArrivesAsOneEmptyString) {
  // Since Linux 5.18 the kernel supplies argv[0] = "" when argv is empty,
  // whether as an empty array or as NULL.
  Outcome o = RunChild([] {
    char* argv[] = {nullptr};
    char* envp[] = {const_cast<char*>(kHelperEnv), nullptr};
    execve("/proc/self/exe", argv, envp);
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(ReportedArgv(o.report), std::vector<std::string>{""});
  o = RunChild([] {
    char* envp[] = {const_cast<char*>(kHelperEnv), nullptr};
    syscall(SYS_execve, "/proc/self/exe", nullptr, envp);
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(ReportedArgv(o.report), std::vector<std::string>{""});
}

TEST(ExecTest, CommIsTheBasenameOfThePathTruncatedTo15) {
  Outcome o = RunChild([] { ExecHelper({"argv zero is not used"}); });
  EXPECT_EQ(o.report["comm"], "exe");
  TempPath dir;
  std::string link = dir / "a_very_long_program_name";
  ASSERT_OK(symlink(SelfExe().c_str(), link.c_str()));
  o = RunChild([&] {
    Args a({"x"}), e({kHelperEnv});
    execve(link.c_str(), a.get(), e.get());
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(o.report["comm"], "a_very_long_pro");
}

TEST(ExecTest, TheWorkingDirectoryIsKept) {
  TempPath dir;
  Outcome o =
      RunChild([&] { chdir(dir.path().c_str()); }, [] { ExecHelper(); });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(o.report["cwd"], dir.path());
}

// ------------------------------------------------------------- descriptors

TEST(ExecTest, CloseOnExecDescriptorsAreClosedAndOthersKept) {
  Outcome o = RunChild(
      [] {
        int fd = open("/dev/null", O_RDONLY);
        dup2(fd, 40);
        fcntl(fd, F_DUPFD_CLOEXEC, 41);
        int c = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup3(c, 42, O_CLOEXEC);
        // FD_CLOEXEC set and then cleared again: kept.
        dup3(c, 43, O_CLOEXEC);
        fcntl(43, F_SETFD, 0);
      },
      [] { ExecHelper(); });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_TRUE(FdListed(o.report, 1));
  EXPECT_TRUE(FdListed(o.report, 40)) << o.report["fds"];
  EXPECT_FALSE(FdListed(o.report, 41)) << o.report["fds"];
  EXPECT_FALSE(FdListed(o.report, 42)) << o.report["fds"];
  EXPECT_TRUE(FdListed(o.report, 43)) << o.report["fds"];
}

// ----------------------------------------------------------------- signals

void Handler(int) {}

TEST(ExecTest, HandlersResetIgnoredKeptMaskAndPendingKept) {
  Outcome o = RunChild(
      [] {
        signal(SIGUSR1, Handler);
        signal(SIGUSR2, SIG_IGN);
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, nullptr);
        kill(getpid(), SIGTERM);  // stays pending across the exec
      },
      [] { ExecHelper(); });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(o.report["usr1"], "dfl");
  EXPECT_EQ(o.report["usr2"], "ign");
  EXPECT_EQ(o.report["blocked_term"], "1");
  EXPECT_EQ(o.report["pending_term"], "1");
}

// ------------------------------------------------------- multi-threaded

void* BlockForever(void*) {
  for (;;) pause();
  return nullptr;
}

void* ExecFromThread(void*) {
  ExecHelper();
  _exit(127);
}

TEST(ExecTest, FromANonMainThreadTheProcessKeepsItsPidAndOneThread) {
  Outcome o = RunChild([] {
    pthread_t idle, execer;
    pthread_create(&idle, nullptr, BlockForever, nullptr);
    pthread_create(&execer, nullptr, ExecFromThread, nullptr);
    pthread_join(execer, nullptr);  // never returns: the exec ends us
    _exit(126);
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  // The exec'ing thread took over the thread-group leader's pid.
  ExpectOneThreadWithTheChildsPidAndParent(o);
}

// ---------------------------------------------------------------- execveat

TEST(ExecveatTest, EmptyPathOnAnFdOfTheBinary) {
  for (int flags : {O_RDONLY, O_PATH}) {
    Outcome o = RunChild([flags] {
      int fd = open("/proc/self/exe", flags | O_CLOEXEC);
      Args a({"fexec"}), e({kHelperEnv});
      Execveat(fd, "", a.get(), e.get(), AT_EMPTY_PATH);
    });
    EXPECT_EQ(o.status, 0) << o.raw;
    EXPECT_EQ(o.report["pid"], o.report["child"]);
    EXPECT_EQ(ReportedArgv(o.report), std::vector<std::string>{"fexec"});
    // Recent Linux (checked on 6.18) names the process after the file the
    // fd refers to; older kernels used the fd number, the basename of the
    // "/dev/fd/N" they exec.
    EXPECT_EQ(o.report["comm"], Basename(SelfExe()).substr(0, 15));
  }
}

TEST(ExecveatTest, DirfdAndARelativePath) {
  std::string exe = SelfExe();
  Outcome o = RunChild([&] {
    int dirfd = open(Dirname(exe).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    Args a({"rel"}), e({kHelperEnv});
    Execveat(dirfd, Basename(exe).c_str(), a.get(), e.get(), 0);
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(ReportedArgv(o.report), std::vector<std::string>{"rel"});
  EXPECT_EQ(o.report["comm"], Basename(exe).substr(0, 15));
  // An absolute path ignores the dirfd, even an invalid one.
  o = RunChild([] {
    Args a({"true"}), e({});
    Execveat(-1, "/bin/true", a.get(), e.get(), 0);
  });
  EXPECT_EQ(o.status, 0) << o.raw;
}

TEST(ExecveatTest, Errors) {
  TempPath dir;
  std::string link = dir / "link";
  ASSERT_OK(symlink("/bin/true", link.c_str()));
  Args a({"x"}), e({});
  int dirfd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  int filefd = open("/bin/true", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(filefd, 0);
  EXPECT_ERRNO(Execveat(AT_FDCWD, "/bin/true", a.get(), e.get(), 0x1), EINVAL);
  EXPECT_ERRNO(Execveat(dirfd, "link", a.get(), e.get(), AT_SYMLINK_NOFOLLOW),
               ELOOP);
  // An empty path needs AT_EMPTY_PATH.
  EXPECT_ERRNO(Execveat(filefd, "", a.get(), e.get(), 0), ENOENT);
  EXPECT_ERRNO(Execveat(-1, "true", a.get(), e.get(), 0), EBADF);
  EXPECT_ERRNO(Execveat(100000, "true", a.get(), e.get(), 0), EBADF);
  EXPECT_ERRNO(Execveat(filefd, "true", a.get(), e.get(), 0), ENOTDIR);
  EXPECT_ERRNO(Execveat(dirfd, "", a.get(), e.get(), AT_EMPTY_PATH), EACCES);
  close(dirfd);
  close(filefd);
}

// ------------------------------------------------------------- exit status

TEST(ExecTest, ExitStatusOfTrueAndFalse) {
  Outcome o = RunChild([] { execl("/bin/false", "false", nullptr); });
  EXPECT_EQ(o.status, 1 << 8);
  o = RunChild([] { execl("/bin/true", "true", nullptr); });
  EXPECT_EQ(o.status, 0);
}

// ----------------------------------------------------------------- scripts

TEST(ScriptTest, AShebangScriptRuns) {
  TempPath dir;
  std::string script = MakeFile(dir, "s", "#!/bin/sh\nexit 7\n", 0755);
  Outcome o = RunChild([&] { execl(script.c_str(), "s", nullptr); });
  EXPECT_EQ(o.status, 7 << 8) << o.raw;
}

TEST(ScriptTest, InterpreterArgvLayout) {
  TempPath dir;
  // Blanks around the interpreter are skipped; everything after it, inner
  // blanks included but trailing blanks dropped, is one argument.
  std::string script = MakeFile(
      dir, "s", "#! \t" + SelfExe() + "  one  two \t\nignored\n", 0755);
  Outcome o = RunChild([&] {
    Args a({"argv zero", "x", "y"}), e({kHelperEnv});
    execve(script.c_str(), a.get(), e.get());
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  // The interpreter path, its argument, the script's path as given to
  // execve, then the caller's argv without argv[0].
  EXPECT_EQ(
      ReportedArgv(o.report),
      (std::vector<std::string>{SelfExe(), "one  two", script, "x", "y"}));
  // comm is the script's name, not the interpreter's.
  EXPECT_EQ(o.report["comm"], "s");
}

TEST(ScriptTest, WithoutAnArgumentTheScriptPathFollowsTheInterpreter) {
  TempPath dir;
  std::string script = MakeFile(dir, "s", "#!" + SelfExe() + "\n", 0755);
  Outcome o = RunChild([&] {
    Args a({"zero", "x"}), e({kHelperEnv});
    execve(script.c_str(), a.get(), e.get());
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(ReportedArgv(o.report),
            (std::vector<std::string>{SelfExe(), script, "x"}));
}

TEST(ScriptTest, ThroughAnFdTheScriptIsDevFdN) {
  TempPath dir;
  std::string script = MakeFile(dir, "s", "#!" + SelfExe() + "\n", 0755);
  Outcome o = RunChild([&] {
    int fd = open(script.c_str(), O_RDONLY);  // not close-on-exec
    dup2(fd, 9);
    Args a({"zero"}), e({kHelperEnv});
    Execveat(9, "", a.get(), e.get(), AT_EMPTY_PATH);
  });
  EXPECT_EQ(o.status, 0) << o.raw;
  EXPECT_EQ(ReportedArgv(o.report),
            (std::vector<std::string>{SelfExe(), "/dev/fd/9"}));
}

TEST(ScriptTest, ThroughACloseOnExecFdIsENOENT) {
  TempPath dir;
  std::string script = MakeFile(dir, "s", "#!/bin/sh\nexit 0\n", 0755);
  int fd = open(script.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Args a({"s"}), e({});
  // The interpreter could not open /dev/fd/N after the exec closed it.
  EXPECT_ERRNO(Execveat(fd, "", a.get(), e.get(), AT_EMPTY_PATH), ENOENT);
  close(fd);
}

TEST(ScriptTest, AScriptThatIsItsOwnInterpreterIsELOOP) {
  TempPath dir;
  std::string path = dir / "loop";
  MakeFile(dir, "loop", "#!" + path + "\n", 0755);
  Args a({"loop"}), e({});
  EXPECT_ERRNO(execve(path.c_str(), a.get(), e.get()), ELOOP);
}

TEST(ScriptTest, AnEmptyInterpreterIsENOEXEC) {
  TempPath dir;
  Args a({"s"}), e({});
  std::string p1 = MakeFile(dir, "empty", "#!\n", 0755);
  EXPECT_ERRNO(execve(p1.c_str(), a.get(), e.get()), ENOEXEC);
  std::string p2 = MakeFile(dir, "blank", "#!  \t \n", 0755);
  EXPECT_ERRNO(execve(p2.c_str(), a.get(), e.get()), ENOEXEC);
}

// ------------------------------------------------------------------ errors

TEST(ExecErrorsTest, AFileOpenForWritingIsETXTBSY) {
  TempPath dir;
  std::string path = dir / "prog";
  // A copy of /bin/true, held open for writing.
  int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(in, 0);
  int out = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
  ASSERT_GE(out, 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof(buf))) > 0) {
    ASSERT_EQ(write(out, buf, static_cast<size_t>(n)), n);
  }
  close(in);
  Args a({"prog"}), e({});
  EXPECT_ERRNO(execve(path.c_str(), a.get(), e.get()), ETXTBSY);
  close(out);
  Outcome o = RunChild([&] { execve(path.c_str(), a.get(), e.get()); });
  EXPECT_EQ(o.status, 0);
}

TEST(ExecErrorsTest, MissingAndNonExecutableFiles) {
  TempPath dir;
  Args a({"x"}), e({});
  EXPECT_ERRNO(execve((dir / "missing").c_str(), a.get(), e.get()), ENOENT);
  EXPECT_ERRNO(execve((dir / "missing/x").c_str(), a.get(), e.get()), ENOENT);
  std::string plain = MakeFile(dir, "plain", "#!/bin/sh\n", 0644);
  EXPECT_ERRNO(execve(plain.c_str(), a.get(), e.get()), EACCES);
  std::string garbage = MakeFile(dir, "garbage",
                                 "\x7f"
                                 "ELF junk",
                                 0755);
  EXPECT_ERRNO(execve(garbage.c_str(), a.get(), e.get()), ENOEXEC);
}

TEST(ExecErrorsTest, AnUnsearchableDirectoryIsEACCESForNonRoot) {
  TempPath dir;
  ASSERT_OK(mkdir((dir / "private").c_str(), 0700));
  std::string prog = dir / "private/true";
  ASSERT_OK(symlink("/bin/true", prog.c_str()));
  ASSERT_OK(chmod(dir.path().c_str(), 0755));
  Outcome o = RunChild(
      [&] {
        if (setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0) {
          _exit(125);
        }
        Args a({"true"}), e({});
        execve(prog.c_str(), a.get(), e.get());
        _exit(errno == EACCES ? 0 : 1);
      },
      [] {});
  EXPECT_EQ(o.status, 0);
}

}  // namespace
