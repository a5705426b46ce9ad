// The benchmark suite: a fixed set of workloads run natively, in the sandbox
// under each platform, and under peer tools, in one run. Configurations
// alternate sample by sample (and take turns going first) so that machine
// noise hits all of them alike; the table shows medians and each column's
// ratio to native (and --json writes the same for tracking).
//
//   bazel run //tools/bench -- [--runs=N] [--scale=F] [--workloads=a,b]
//       [--platforms=ptrace,systrap] [--peers=proot,bwrap] [--json=FILE]
//
// Columns:
//   native   the workload run directly on the host
//   ptrace, systrap, ...
//            `runsc do --platform=NAME -- CMD`, one column per --platforms
//   proot    `proot -r / -w CWD CMD`: a ptrace-based user-space chroot, the
//            nearest peer to the ptrace platform. It translates paths and
//            lets the host kernel do the rest, but Debian's proot 5.1 does
//            not turn on its seccomp acceleration on this kernel, so every
//            system call still costs it two ptrace stops (entry and exit)
//   bwrap    bubblewrap with every namespace unshared and the host root
//            bound read-only: a namespace sandbox, so the kernel's own cost
//            of isolation with no system call interception at all
// The peers are optional and not installed by tools/install_deps.sh
// (`apt-get install proot bubblewrap`); a peer that is not on PATH is left
// out, with a line under the table that says so. A configuration that
// cannot start `/bin/true` at all (say, a platform not yet written) shows
// its error once under the table instead of failing the run, and a single
// workload failing in one configuration shows as an error in that cell only.
//
// Most workloads are loops in small static helper programs (getpid_loop,
// task_loops, fs_loops, tcp_loop, wall_time) that time themselves and print
// their figure, so the sandbox's start-up is not part of those figures; the
// start-up row measures it on its own. The "floor" rows are facts about the
// machine rather than the sandbox (what handing one system call to another
// process costs, by each mechanism; see floor.c), measured natively only.
// The benchmark is never a test: it fails only if it cannot run at all.

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gflags/gflags.h"

DEFINE_int32(runs, 5,
             "Samples per workload and configuration (the default run takes "
             "about 5 minutes on the 2-core development VM).");
DEFINE_string(workloads, "",
              "Comma-separated workloads to run (default: all); see the "
              "names with --workloads=help.");
DEFINE_string(platforms, "ptrace,systrap",
              "Comma-separated sandbox platforms, one column each.");
DEFINE_string(peers, "proot,bwrap",
              "Comma-separated peer tools to compare with (proot, bwrap), one "
              "column each where installed.");
DEFINE_string(json, "", "Also write the results as JSON to this file.");
DEFINE_string(runsc, "",
              "The runsc binary (default: next to this program's runfiles).");
DEFINE_string(getpid_loop, "", "The getpid loop helper.");
DEFINE_string(task_loops, "", "The task-model loop helper (task_loops.c).");
DEFINE_string(fs_loops, "", "The filesystem loop helper (fs_loops.c).");
DEFINE_string(tcp_loop, "", "The loopback TCP helper (tcp_loop.c).");
DEFINE_string(wall_time, "", "The whole-program timer (wall_time.c).");
DEFINE_string(floor, "", "The system call hand-off helper (floor.c).");
DEFINE_int32(file_mib, 256,
             "Size in MiB of the file the sequential read and write "
             "workloads transfer.");
DEFINE_int32(tcp_mib, 1024, "MiB sent over loopback TCP per sample.");
DEFINE_int64(getpid_calls, 20000, "getpid calls per sample.");
DEFINE_double(scale, 1.0,
              "Multiplies every workload's loop count (e.g. 0.1 for a quick "
              "check; figures get noisier).");
DEFINE_int32(idle_ms, 1000,
             "How long an idle sandbox settles before its memory is read.");
DEFINE_int32(timeout_s, 120,
             "A sample that runs longer than this is killed and fails its "
             "workload in that configuration.");

namespace {

double NowSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct RunResult {
  std::string out;  // stdout
  std::string err;  // stderr
  int status;       // exit status, 128 + signal, or -1 if it never ran
};

// Reads what is left of fd up to EOF.
std::string ReadAll(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    s.append(buf, static_cast<size_t>(n));
  return s;
}

// Starts args in a process group of its own with the given stdout and
// stderr; returns its pid, or -1.
pid_t Spawn(const std::vector<std::string>& args, int out_fd, int err_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  if (pid > 0) setpgid(pid, pid);  // also here, so that a kill cannot miss
  return pid;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs args and returns its stdout, stderr and exit status. After
// --timeout_s the whole process group is killed.
RunResult Run(const std::vector<std::string>& args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {"", "pipe failed", -1};
  // stderr goes to an unlinked file so that a chatty child cannot block on
  // a pipe nobody reads.
  FILE* err_file = tmpfile();
  if (err_file == nullptr) {
    close(p[0]);
    close(p[1]);
    return {"", "tmpfile failed", -1};
  }
  fcntl(fileno(err_file), F_SETFD, FD_CLOEXEC);
  pid_t pid = Spawn(args, p[1], fileno(err_file));
  close(p[1]);
  RunResult r{"", "", -1};
  if (pid < 0) {
    close(p[0]);
    fclose(err_file);
    r.err = "fork failed";
    return r;
  }
  double deadline = NowSeconds() + FLAGS_timeout_s;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    int left_ms = static_cast<int>((deadline - NowSeconds()) * 1e3);
    struct pollfd pfd = {p[0], POLLIN, 0};
    if (left_ms <= 0 || poll(&pfd, 1, left_ms) == 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    ssize_t n = read(p[0], buf, sizeof(buf));
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(p[0]);
  r.status = WaitStatus(pid);
  rewind(err_file);
  r.err = ReadAll(fileno(err_file));
  fclose(err_file);
  if (timed_out)
    r.err = absl::StrCat("timed out after ", FLAGS_timeout_s, " s\n", r.err);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The last non-empty line of s, for error messages.
std::string LastLine(const std::string& s) {
  std::vector<std::string> lines =
      absl::StrSplit(s, '\n', absl::SkipWhitespace());
  return lines.empty() ? "" : lines.back();
}

std::string Failure(const RunResult& r) {
  std::string why = LastLine(r.err);
  return absl::StrCat("exit status ", r.status, ": ",
                      why.empty() ? "no message" : why);
}

// The file named `name` in a directory of $PATH, or "" if there is none.
std::string FindInPath(const std::string& name) {
  const char* path = getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string Absolute(const std::string& path) {
  char buf[4096];
  if (path.empty() || path[0] == '/' || getcwd(buf, sizeof(buf)) == nullptr)
    return path;
  return std::string(buf) + "/" + path;
}

// One column of the table: a way to run a command.
struct Config {
  enum class Kind { kNative, kRunsc, kProot, kBwrap };
  std::string name;  // the column's heading
  Kind kind;
  std::string binary;  // runsc, proot or bwrap
  std::string error;   // why it cannot run /bin/true; empty if it can
};

// One sample of a workload in one configuration: a value per row of the
// workload, or why there are none.
struct Sample {
  std::vector<double> values;
  std::string error;  // empty on success
};

Sample Value(double v) { return Sample{{v}, ""}; }
Sample Error(std::string why) { return Sample{{}, std::move(why)}; }

struct Row {
  std::string name;         // the row's key in the JSON
  std::string description;  // the table's first column
  std::string unit;
};

struct Workload {
  std::string name;  // what --workloads selects by
  std::vector<Row> rows;
  // Measures one sample in a configuration.
  std::function<Sample(const Config&)> sample;
  // Machine facts with no sandboxed counterpart: only the native column.
  bool native_only = false;
  // At most this many samples (0: --runs), for slow, steady measurements.
  int max_runs = 0;
};

// What one configuration gave for one workload.
struct Cell {
  std::vector<std::vector<double>> samples;  // per row
  std::string error;  // the first failure; empty if every sample worked
};

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.3f", v) : "null";
}

// A figure with about four significant digits, for the table.
std::string Figure(double v) {
  if (!std::isfinite(v)) return "-";
  double a = std::fabs(v);
  return absl::StrFormat(a >= 1000 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", v);
}

std::string Ratio(double v) {
  if (!std::isfinite(v)) return "";
  return absl::StrFormat(v >= 100 ? "%.0fx" : v >= 10 ? "%.1fx" : "%.2fx", v);
}

// Deletes the tree at path (the benchmark's own scratch directory).
void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) {
        remove(p);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

bool WriteFile(const std::string& path, const std::string& content) {
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  bool ok = fwrite(content.data(), 1, content.size(), f) == content.size();
  return fclose(f) == 0 && ok;
}

// The small C project that the build workload compiles: kBuildUnits
// translation units of kBuildFunctions functions each, a header, a main and
// a Makefile. The functions are branchy loops so that the optimizer has
// work to do, and every file includes libc headers, as real code does, so
// that the compiler's file lookups count too.
constexpr int kBuildUnits = 8;
constexpr int kBuildFunctions = 8;

std::string WriteBuildProject(const std::string& dir, const std::string& cc) {
  if (mkdir(dir.c_str(), 0755) != 0) return "mkdir failed";
  std::string header = "#pragma once\n";
  std::string main_c =
      "#include <stdio.h>\n#include <stdlib.h>\n#include \"proj.h\"\n"
      "int main(int argc, char** argv) {\n"
      "  unsigned x = argc > 1 ? (unsigned)atoi(argv[1]) : 7u, sum = 0;\n";
  std::vector<std::string> objects = {"main.o"};
  for (int u = 0; u < kBuildUnits; u++) {
    std::string c =
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "#include \"proj.h\"\n\n"
        "static unsigned table[256];\n\n";
    std::string all = absl::StrFormat("unsigned m%d_all(unsigned x) {\n", u);
    absl::StrAppend(&all, "  unsigned sum = 0;\n");
    for (int f = 0; f < kBuildFunctions; f++) {
      absl::StrAppendFormat(
          &c,
          "unsigned m%d_f%d(unsigned x) {\n"
          "  unsigned acc = %du;\n"
          "  for (unsigned j = 0; j < x %% 64u; j++) {\n"
          "    switch ((acc + j) & 7u) {\n"
          "      case 0: acc += table[j & 255u] * 3u; break;\n"
          "      case 1: acc ^= acc << 5; break;\n"
          "      case 2: acc = (acc >> 3) | (acc << 29); break;\n"
          "      case 3: table[acc & 255u] = acc; break;\n"
          "      case 4: acc -= (unsigned)strlen(\"m%d_f%d\") * j; break;\n"
          "      case 5: acc = acc * 2654435761u + %du; break;\n"
          "      default: acc += j * j + %du; break;\n"
          "    }\n"
          "  }\n"
          "  return acc;\n"
          "}\n\n",
          u, f, f, u, f, f, u);
      absl::StrAppendFormat(&all, "  sum += m%d_f%d(x + %du);\n", u, f, f);
    }
    absl::StrAppend(&all, "  return sum;\n}\n");
    absl::StrAppend(&c, all);
    absl::StrAppendFormat(&header, "unsigned m%d_all(unsigned x);\n", u);
    absl::StrAppendFormat(&main_c, "  sum += m%d_all(x);\n", u);
    objects.push_back(absl::StrFormat("m%d.o", u));
    if (!WriteFile(absl::StrFormat("%s/m%d.c", dir, u), c))
      return "writing a source file failed";
  }
  absl::StrAppend(&main_c, "  printf(\"%u\\n\", sum);\n  return 0;\n}\n");
  std::string makefile = absl::StrCat(
      "CC = ", cc, "\nCFLAGS = -O2 -Wall\nOBJS = ", absl::StrJoin(objects, " "),
      "\n\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n"
      "%.o: %.c proj.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n");
  if (!WriteFile(dir + "/proj.h", header) ||
      !WriteFile(dir + "/main.c", main_c) ||
      !WriteFile(dir + "/Makefile", makefile))
    return "writing the project failed";
  return "";
}

// Removes what a build left in dir, so that every sample builds from
// scratch. (In runsc's overlay root the outputs never reach the host, so
// this only matters natively and for the peers.)
void CleanBuild(const std::string& dir) {
  unlink((dir + "/prog").c_str());
  unlink((dir + "/main.o").c_str());
  for (int u = 0; u < kBuildUnits; u++)
    unlink(absl::StrFormat("%s/m%d.o", dir, u).c_str());
}

// The pids of the process tree rooted at root (root included), from the
// parent links in /proc/*/stat.
std::vector<pid_t> ProcessTree(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return {root};
  while (struct dirent* e = readdir(proc)) {
    int pid;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    FILE* f = fopen(absl::StrCat("/proc/", pid, "/stat").c_str(), "r");
    if (f == nullptr) continue;  // gone already
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    // "PID (COMM) STATE PPID ...", where COMM may hold spaces and ')'.
    const char* close_paren = strrchr(buf, ')');
    char state;
    int ppid;
    if (close_paren != nullptr &&
        sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2)
      children.emplace(ppid, pid);
  }
  closedir(proc);
  std::vector<pid_t> tree = {root};
  for (size_t i = 0; i < tree.size(); i++) {
    auto [begin, end] = children.equal_range(tree[i]);
    for (auto it = begin; it != end; ++it) tree.push_back(it->second);
  }
  return tree;
}

// Adds pid's Rss and Pss (in KiB) from /proc/PID/smaps_rollup; false if
// the file exists but cannot be read (a process that is gone adds nothing).
bool AddMemory(pid_t pid, long* rss_kib, long* pss_kib) {
  FILE* f = fopen(absl::StrCat("/proc/", pid, "/smaps_rollup").c_str(), "r");
  if (f == nullptr) return errno == ENOENT || errno == ESRCH;
  char line[256];
  long kib;
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (sscanf(line, "Rss: %ld kB", &kib) == 1) *rss_kib += kib;
    if (sscanf(line, "Pss: %ld kB", &kib) == 1) *pss_kib += kib;
  }
  fclose(f);
  return true;
}

// Starts cmd (an idle program, in some configuration), lets it settle for
// --idle_ms, and measures the proportional and resident set sizes (in MiB)
// of the whole process tree it started, then kills the tree.
Sample IdleMemory(const std::vector<std::string>& cmd) {
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) return Error("cannot open /dev/null");
  FILE* err_file = tmpfile();
  if (err_file == nullptr) {
    close(null_fd);
    return Error("tmpfile failed");
  }
  fcntl(fileno(err_file), F_SETFD, FD_CLOEXEC);
  pid_t pid = Spawn(cmd, null_fd, fileno(err_file));
  close(null_fd);
  if (pid < 0) {
    fclose(err_file);
    return Error("fork failed");
  }
  usleep(FLAGS_idle_ms * 1000);
  int status;
  if (waitpid(pid, &status, WNOHANG) == pid) {
    rewind(err_file);
    RunResult r{
        "", ReadAll(fileno(err_file)),
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
    fclose(err_file);
    return Error("ended before it was measured: " + Failure(r));
  }
  fclose(err_file);
  Sample s;
  long rss = 0, pss = 0;
  std::vector<pid_t> tree = ProcessTree(pid);
  for (pid_t p : tree) {
    if (!AddMemory(p, &rss, &pss))
      s.error = absl::StrCat("cannot read /proc/", p, "/smaps_rollup");
  }
  // The sandbox's processes need not stay in the group we started, so each
  // one is killed by pid too.
  kill(-pid, SIGKILL);
  for (pid_t p : tree) kill(p, SIGKILL);
  WaitStatus(pid);
  if (s.error.empty()) s.values = {pss / 1024.0, rss / 1024.0};
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::string runsc = Absolute(FLAGS_runsc);
  std::string getpid_loop = Absolute(FLAGS_getpid_loop);
  std::string task_loops = Absolute(FLAGS_task_loops);
  std::string fs_loops = Absolute(FLAGS_fs_loops);
  std::string tcp_loop = Absolute(FLAGS_tcp_loop);
  std::string wall_time = Absolute(FLAGS_wall_time);
  std::string floor_helper = Absolute(FLAGS_floor);
  std::string cwd = Absolute(".");

  // The configurations, in column order.
  std::vector<Config> configs = {{"native", Config::Kind::kNative, "", ""}};
  for (absl::string_view p :
       absl::StrSplit(FLAGS_platforms, ',', absl::SkipWhitespace())) {
    configs.push_back({std::string(absl::StripAsciiWhitespace(p)),
                       Config::Kind::kRunsc, runsc, ""});
  }
  std::vector<std::pair<std::string, std::string>> skipped;  // peer, why
  for (absl::string_view p :
       absl::StrSplit(FLAGS_peers, ',', absl::SkipWhitespace())) {
    std::string peer(absl::StripAsciiWhitespace(p));
    Config::Kind kind;
    std::string package;
    if (peer == "proot") {
      kind = Config::Kind::kProot;
      package = "proot";
    } else if (peer == "bwrap") {
      kind = Config::Kind::kBwrap;
      package = "bubblewrap";
    } else {
      fprintf(stderr, "bench: unknown peer %s (the peers are proot, bwrap)\n",
              peer.c_str());
      return 2;
    }
    std::string binary = FindInPath(peer);
    if (binary.empty()) {
      skipped.emplace_back(
          peer, absl::StrCat("not installed (apt-get install ", package, ")"));
      continue;
    }
    configs.push_back({peer, kind, binary, ""});
  }

  // A host directory for the filesystem workloads and the build: natively
  // and for the peers they use it on the host's disk; in runsc the same
  // path is in the root overlay (so writes stay in the sandbox), and a
  // volume (-v) mounts it at /mnt/bench.
  char dir_template[] = "/var/tmp/uks-bench.XXXXXX";
  std::string host_dir = mkdtemp(dir_template) ? dir_template : "";
  if (host_dir.empty()) {
    perror("mkdtemp");
    return 1;
  }

  // How each configuration runs a command; runsc_flags go to `runsc do`
  // only.
  auto command = [&](const Config& c, std::vector<std::string> args,
                     const std::vector<std::string>& runsc_flags = {}) {
    std::vector<std::string> cmd;
    switch (c.kind) {
      case Config::Kind::kNative:
        return args;
      case Config::Kind::kRunsc:
        cmd = {c.binary, "do", "--platform=" + c.name};
        cmd.insert(cmd.end(), runsc_flags.begin(), runsc_flags.end());
        cmd.push_back("--");
        break;
      case Config::Kind::kProot:
        cmd = {c.binary, "-r", "/", "-w", cwd};
        break;
      case Config::Kind::kBwrap:
        // The host root read-only as in runsc, private /tmp, /dev and
        // /proc, every namespace unshared; the benchmark's directory and
        // /dev/shm bound read-write so that the file workloads write where
        // they do natively.
        cmd = {c.binary, "--ro-bind", "/",     "/",       "--dev",
               "/dev",   "--proc",    "/proc", "--tmpfs", "/tmp"};
        cmd.insert(cmd.end(), {"--bind", "/dev/shm", "/dev/shm", "--bind",
                               host_dir, host_dir});
        cmd.insert(cmd.end(), {"--unshare-all", "--die-with-parent", "--chdir",
                               cwd, "--"});
        break;
    }
    cmd.insert(cmd.end(), args.begin(), args.end());
    return cmd;
  };
  auto is_runsc = [](const Config& c) {
    return c.kind == Config::Kind::kRunsc;
  };
  auto count = [](int64_t n) {
    return std::to_string(std::max<int64_t>(
        1, std::llround(static_cast<double>(n) * FLAGS_scale)));
  };
  // Runs a helper that prints one figure and returns it divided by
  // `divisor` (helpers print nanoseconds; rows show us or ms).
  auto figure = [](const std::vector<std::string>& cmd, double divisor) {
    RunResult r = Run(cmd);
    char* end = nullptr;
    double v = strtod(r.out.c_str(), &end);
    if (r.status != 0 || end == r.out.c_str() || !(v > 0))
      return Error(Failure(r));
    return Value(v / divisor);
  };
  auto loop = [&](std::vector<std::string> args, double divisor) {
    return [&, args, divisor](const Config& c) {
      return figure(command(c, args), divisor);
    };
  };
  auto task = [&](const char* name, int64_t n, double divisor) {
    return loop({task_loops, name, count(n)}, divisor);
  };
  // A filesystem workload in `native_dir` natively and for the peers, and
  // in `sandbox_dir` (with `flags`) in runsc.
  auto fs = [&](const char* name, std::string n, std::string native_dir,
                std::string sandbox_dir, std::vector<std::string> flags,
                double divisor) {
    return
        [&, name, n, native_dir, sandbox_dir, flags, divisor](const Config& c) {
          bool sb = is_runsc(c);
          return figure(
              command(c, {fs_loops, name, n, sb ? sandbox_dir : native_dir},
                      sb ? flags : std::vector<std::string>{}),
              divisor);
        };
  };
  std::string mib = std::to_string(FLAGS_file_mib);
  std::string size = absl::StrCat(FLAGS_file_mib, "M");
  std::vector<std::string> volume = {"-v", host_dir + ":/mnt/bench"};

  // The build project, generated once; a missing compiler or make fails
  // that workload only.
  std::string build_dir = host_dir + "/build";
  std::string make = FindInPath("make");
  std::string cc = FindInPath("gcc");
  std::string build_error = make.empty() || cc.empty()
                                ? "make or gcc is not installed"
                                : WriteBuildProject(build_dir, cc);
  // The real interpreter, not a version manager's shim script in $PATH.
  std::string python3 = "/usr/bin/python3";

  auto floor_row = [&](const char* variant, const char* description) {
    std::string scale = absl::StrCat(FLAGS_scale);
    return Workload{absl::StrCat("floor_", variant),
                    {{absl::StrCat("floor_", variant), description, "ns/call"}},
                    [&, variant, scale](const Config&) {
                      RunResult r = Run({floor_helper, scale, variant});
                      std::vector<std::string> words = absl::StrSplit(
                          r.out, absl::ByAnyChar(" \n"), absl::SkipEmpty());
                      double ns;
                      if (r.status != 0 || words.size() != 2 ||
                          !absl::SimpleAtod(words[1], &ns))
                        return Error(Failure(r));
                      return Value(ns);
                    },
                    /*native_only=*/true};
  };

  // Loop counts give each workload about 0.5-1 s per sample in the slowest
  // configuration (ptrace or proot) on the 2-core development VM, where a
  // sandboxed fork+wait takes ~3-7 ms, a fork+exec ~30 ms, a pipe round
  // trip ~100-200 us, a futex round trip ~50-150 us, a system call
  // ~20-30 us, and a page fault ~12 us even natively (a VM whose page
  // faults are costly); five samples of everything in five configurations
  // then take about 5 minutes.
  std::vector<Workload> workloads = {
      {"getpid",
       {{"getpid", "getpid", "ns/call"}},
       loop({getpid_loop, count(FLAGS_getpid_calls)}, 1)},
      {"open_read_close",
       {{"open_read_close", "open+read+close 4K", "us/op"}},
       fs("open_read_close", count(3000), host_dir, host_dir, {}, 1e3)},
      {"stat",
       {{"stat", "stat", "us/op"}},
       fs("stat", count(5000), host_dir, host_dir, {}, 1e3)},
      {"pipe", {{"pipe", "pipe ping-pong", "us/rtt"}}, task("pipe", 4000, 1e3)},
      {"fork", {{"fork", "fork+exit+wait", "us/op"}}, task("fork", 250, 1e3)},
      {"exec",
       {{"exec", "fork+exec /bin/true", "us/op"}},
       task("exec", 40, 1e3)},
      {"mmap",
       {{"mmap", "mmap+touch+munmap 1M", "us/op"}},
       task("mmap", 150, 1e3)},
      // Files: natively and for the peers on the host's disk (or /dev/shm
      // for tmpfs); in runsc on its overlay root (memory), its /tmp, or a
      // volume of the same host directory. Throughputs are MiB/s: higher
      // is better.
      {"write_tmpfs",
       {{"write_tmpfs", "write " + size + " tmpfs", "MiB/s"}},
       fs("seq_write", mib, "/dev/shm", "/tmp", {}, 1)},
      {"read_tmpfs",
       {{"read_tmpfs", "read " + size + " tmpfs", "MiB/s"}},
       fs("seq_read", mib, "/dev/shm", "/tmp", {}, 1)},
      {"write_overlay",
       {{"write_overlay", "write " + size + " overlay", "MiB/s"}},
       fs("seq_write", mib, host_dir, host_dir, {}, 1)},
      {"read_overlay",
       {{"read_overlay", "read " + size + " overlay", "MiB/s"}},
       fs("seq_read", mib, host_dir, host_dir, {}, 1)},
      {"write_volume",
       {{"write_volume", "write " + size + " volume", "MiB/s"}},
       fs("seq_write", mib, host_dir, "/mnt/bench", volume, 1)},
      {"read_volume",
       {{"read_volume", "read " + size + " volume", "MiB/s"}},
       fs("seq_read", mib, host_dir, "/mnt/bench", volume, 1)},
      {"tcp",
       {{"tcp", absl::StrCat("loopback TCP ", FLAGS_tcp_mib, "M"), "MiB/s"}},
       loop({tcp_loop, count(FLAGS_tcp_mib)}, 1)},
      {"tcp_rr",
       {{"tcp_rr", "loopback TCP round trip", "us"}},
       loop({tcp_loop, "rr", count(20000)}, 1000)},
      // Start-up is timed from here, so it includes everything the
      // configuration does before and after /bin/true.
      {"startup",
       {{"startup", "startup: /bin/true", "ms"}},
       [&](const Config& c) {
         double t0 = NowSeconds();
         RunResult r = Run(command(c, {"/bin/true"}));
         if (r.status != 0) return Error(Failure(r));
         return Value((NowSeconds() - t0) * 1e3);
       }},
      // Whole programs, timed by wall_time inside the configuration (so
      // without its start-up, which the row above shows).
      {"python",
       {{"python", "python3 -c pass", "ms"}},
       loop({wall_time, count(5), python3, "-c", "pass"}, 1e6)},
      {"build",
       {{"build", absl::StrFormat("make -j2: %d C files", kBuildUnits + 1),
         "ms"}},
       [&](const Config& c) {
         if (!build_error.empty()) return Error(build_error);
         CleanBuild(build_dir);
         return figure(
             command(c, {wall_time, "1", make, "-s", "-j2", "-C", build_dir}),
             1e6);
       }},
      {"futex",
       {{"futex", "futex ping-pong", "us/rtt"}},
       task("futex", 10000, 1e3)},
      {"clock_vdso",
       {{"clock_vdso", "clock_gettime vDSO", "ns/call"}},
       task("clock_vdso", 1000000, 1)},
      {"clock_syscall",
       {{"clock_syscall", "clock_gettime syscall", "ns/call"}},
       task("clock_syscall", 20000, 1)},
      floor_row("getpid", "floor: native getpid"),
      floor_row("sigsys_futex", "floor: SIGSYS+futex rtt"),
      floor_row("sigsys_futex_2cpu", "floor: SIGSYS+futex 2 CPUs"),
      floor_row("sigsys_spin", "floor: SIGSYS+spin 2 CPUs"),
      floor_row("ptrace_sysemu", "floor: PTRACE_SYSEMU rtt"),
      floor_row("seccomp_notif", "floor: seccomp user notif"),
      // An idle `sleep 30` and everything the configuration started for it
      // (runsc, sandbox, gofer, stubs; proot; bwrap's two processes).
      {"memory",
       {{"memory_pss", "idle sandbox PSS", "MiB"},
        {"memory_rss", "idle sandbox RSS", "MiB"}},
       [&](const Config& c) {
         return IdleMemory(command(c, {"/bin/sleep", "30"}));
       },
       /*native_only=*/false,
       /*max_runs=*/3},
  };

  std::vector<std::string> names;
  for (const Workload& w : workloads) names.push_back(w.name);
  if (FLAGS_workloads == "help") {
    printf("%s\n", absl::StrJoin(names, ",").c_str());
    RemoveTree(host_dir);
    return 0;
  }
  if (runsc.empty() || getpid_loop.empty() || task_loops.empty() ||
      fs_loops.empty() || tcp_loop.empty() || wall_time.empty() ||
      floor_helper.empty()) {
    fprintf(stderr,
            "bench: --runsc and the helper flags are required (bazel run "
            "sets them)\n");
    RemoveTree(host_dir);
    return 2;
  }
  if (FLAGS_runs < 1) {
    fprintf(stderr, "bench: --runs must be at least 1\n");
    RemoveTree(host_dir);
    return 2;
  }
  std::vector<const Workload*> selected;
  if (FLAGS_workloads.empty()) {
    for (const Workload& w : workloads) selected.push_back(&w);
  } else {
    for (absl::string_view want :
         absl::StrSplit(FLAGS_workloads, ',', absl::SkipWhitespace())) {
      want = absl::StripAsciiWhitespace(want);
      auto it = std::find_if(workloads.begin(), workloads.end(),
                             [&](const Workload& w) { return w.name == want; });
      if (it == workloads.end()) {
        fprintf(stderr, "bench: unknown workload %s; the workloads are: %s\n",
                std::string(want).c_str(), absl::StrJoin(names, ",").c_str());
        RemoveTree(host_dir);
        return 2;
      }
      if (std::find(selected.begin(), selected.end(), &*it) == selected.end())
        selected.push_back(&*it);
    }
  }

  double suite_start = NowSeconds();
  // A configuration that cannot even run /bin/true is reported once, not
  // once per workload.
  for (Config& c : configs) {
    RunResult r = Run(command(c, {"/bin/true"}));
    if (r.status != 0) {
      c.error = Failure(r);
      fprintf(stderr, "bench: %s does not start: %s\n", c.name.c_str(),
              c.error.c_str());
    }
  }

  // results[w][c]: workload w (in `selected`) in configuration c.
  std::vector<std::vector<Cell>> results;
  for (const Workload* w : selected) {
    std::vector<Cell> cells(configs.size());
    for (Cell& cell : cells) cell.samples.resize(w->rows.size());
    auto applies = [&](size_t c) {
      return configs[c].error.empty() &&
             (!w->native_only || configs[c].kind == Config::Kind::kNative);
    };
    double start = NowSeconds();
    // Warm the caches that every configuration's start-up reads.
    for (size_t c = 0; c < configs.size(); c++) {
      if (applies(c) && configs[c].kind != Config::Kind::kNative)
        Run(command(configs[c], {"/bin/true"}));
    }
    int runs = w->max_runs > 0 ? std::min(FLAGS_runs, w->max_runs) : FLAGS_runs;
    for (int i = 0; i < runs; i++) {
      for (size_t k = 0; k < configs.size(); k++) {
        // Each sample round starts with the next configuration, so that
        // none of them always runs right after the same one.
        size_t c = (i + k) % configs.size();
        if (!applies(c) || !cells[c].error.empty()) continue;
        Sample s = w->sample(configs[c]);
        if (s.error.empty() && s.values.size() != w->rows.size())
          s.error = "bench: wrong number of values";
        if (!s.error.empty()) {
          // A workload that fails once is reported as failed in that
          // configuration; more samples would only repeat the failure (or
          // worse, time out again).
          cells[c].error = s.error;
          fprintf(stderr, "bench: %s failed in %s: %s\n", w->name.c_str(),
                  configs[c].name.c_str(), s.error.c_str());
          continue;
        }
        for (size_t row = 0; row < w->rows.size(); row++)
          cells[c].samples[row].push_back(s.values[row]);
      }
    }
    fprintf(stderr, "bench: %s: %.1f s\n", w->name.c_str(),
            NowSeconds() - start);
    results.push_back(std::move(cells));
  }
  double suite_seconds = NowSeconds() - suite_start;
  RemoveTree(host_dir);

  // The table. Errors are numbered notes under it, one per distinct
  // message, naming the configurations that gave it.
  std::vector<std::string> error_texts;
  std::vector<std::vector<std::string>> error_configs;
  auto note = [&](const std::string& description, const std::string& config,
                  const std::string& error) {
    std::string text = absl::StrCat(description, ": ", error);
    auto it = std::find(error_texts.begin(), error_texts.end(), text);
    size_t n = it - error_texts.begin();
    if (it == error_texts.end()) {
      error_texts.push_back(text);
      error_configs.emplace_back();
    }
    error_configs[n].push_back(config);
    return absl::StrCat("error[", n + 1, "]");
  };
  auto median = [&](const Cell& cell, size_t row) {
    return cell.error.empty() && !cell.samples[row].empty()
               ? Median(cell.samples[row])
               : NAN;
  };
  std::string header = absl::StrFormat("%-28s %-8s", "workload", "unit");
  for (size_t c = 0; c < configs.size(); c++) {
    absl::StrAppendFormat(&header, " %10s", configs[c].name);
    if (c > 0) absl::StrAppendFormat(&header, " %7s", "x");
  }
  printf("%s\n", header.c_str());
  for (size_t w = 0; w < selected.size(); w++) {
    for (size_t row = 0; row < selected[w]->rows.size(); row++) {
      const Row& r = selected[w]->rows[row];
      std::string line = absl::StrFormat("%-28s %-8s", r.description, r.unit);
      double native = median(results[w][0], row);
      for (size_t c = 0; c < configs.size(); c++) {
        const Cell& cell = results[w][c];
        std::string value, ratio;
        if (selected[w]->native_only && c > 0) {
          // Not measured there: a blank, not a dash.
        } else if (!configs[c].error.empty()) {
          value = "-";
        } else if (!cell.error.empty()) {
          // Rows of one workload share one error: number it once.
          value = row == 0 ? note(r.description, configs[c].name, cell.error)
                           : "error";
        } else if (!cell.samples[row].empty()) {
          double v = median(cell, row);
          value = Figure(v);
          if (c > 0) ratio = Ratio(v / native);
        }
        absl::StrAppendFormat(&line, " %10s", value);
        if (c > 0) absl::StrAppendFormat(&line, " %7s", ratio);
      }
      printf("%s\n", absl::StripTrailingAsciiWhitespace(line).data());
    }
  }
  printf(
      "(medians of %d samples (memory: at most 3) per configuration, taking "
      "turns; x = median / native's: above 1 is slower for times, below 1 "
      "is slower for MiB/s; floor rows are machine facts, native only; "
      "%.0f s in all)\n",
      FLAGS_runs, suite_seconds);
  for (const Config& c : configs) {
    if (!c.error.empty())
      printf("%s: does not start: %s\n", c.name.c_str(), c.error.c_str());
  }
  for (const auto& [peer, why] : skipped)
    printf("%s: left out: %s\n", peer.c_str(), why.c_str());
  for (size_t n = 0; n < error_texts.size(); n++) {
    printf("error[%zu] %s: %s\n", n + 1,
           absl::StrJoin(error_configs[n], ", ").c_str(),
           error_texts[n].c_str());
  }

  if (!FLAGS_json.empty()) {
    std::vector<std::string> config_json;
    for (const Config& c : configs) {
      config_json.push_back(
          c.error.empty()
              ? absl::StrFormat("{\"name\":%s}", JsonString(c.name))
              : absl::StrFormat("{\"name\":%s,\"error\":%s}",
                                JsonString(c.name), JsonString(c.error)));
    }
    for (const auto& [peer, why] : skipped) {
      config_json.push_back(absl::StrFormat("{\"name\":%s,\"skipped\":%s}",
                                            JsonString(peer), JsonString(why)));
    }
    std::vector<std::string> rows;
    for (size_t w = 0; w < selected.size(); w++) {
      for (size_t row = 0; row < selected[w]->rows.size(); row++) {
        const Row& r = selected[w]->rows[row];
        double native = median(results[w][0], row);
        std::vector<std::string> per_config;
        for (size_t c = 0; c < configs.size(); c++) {
          const Cell& cell = results[w][c];
          std::string entry;
          if (selected[w]->native_only && c > 0) {
            continue;  // not measured in this configuration
          } else if (!configs[c].error.empty()) {
            entry = absl::StrCat(
                "{\"error\":",
                JsonString("does not start: " + configs[c].error), "}");
          } else if (!cell.error.empty()) {
            entry = absl::StrCat("{\"error\":", JsonString(cell.error), "}");
          } else if (!cell.samples[row].empty()) {
            double v = median(cell, row);
            entry = absl::StrCat("{\"median\":", JsonNumber(v),
                                 ",\"samples\":", cell.samples[row].size());
            if (c > 0)
              absl::StrAppend(&entry, ",\"ratio\":", JsonNumber(v / native));
            entry += "}";
          } else {
            continue;  // not measured in this configuration
          }
          per_config.push_back(
              absl::StrCat(JsonString(configs[c].name), ":", entry));
        }
        rows.push_back(absl::StrFormat(
            "{\"name\":%s,\"workload\":%s,\"unit\":%s,\"results\":{%s}}",
            JsonString(r.name), JsonString(r.description), JsonString(r.unit),
            absl::StrJoin(per_config, ",")));
      }
    }
    FILE* f = fopen(FLAGS_json.c_str(), "w");
    if (f == nullptr) {
      perror(FLAGS_json.c_str());
      return 1;
    }
    fprintf(f,
            "{\"runs\":%d,\"scale\":%s,\"seconds\":%s,\n"
            " \"configurations\":[%s],\n"
            " \"workloads\":[\n  %s]}\n",
            FLAGS_runs, JsonNumber(FLAGS_scale).c_str(),
            JsonNumber(suite_seconds).c_str(),
            absl::StrJoin(config_json, ",").c_str(),
            absl::StrJoin(rows, ",\n  ").c_str());
    fclose(f);
  }
  // Errors in a sandboxed column are results (say, a syscall the sandbox
  // does not support yet); only a native failure means the benchmark itself
  // is broken.
  for (const std::vector<Cell>& cells : results) {
    if (!cells[0].error.empty()) return 1;
  }
  return 0;
}
