// The benchmark suite: each workload natively and in a sandbox, alternating
// so that machine noise hits both alike, with medians and ratios to native
// printed as a table (and as JSON with --json).
//
//   bazel run //tools/bench -- [--runs=N] [--workloads=a,b] [--json=FILE]
//
// Apart from start-up, every workload is a loop in a static helper program
// (getpid_loop, task_loops) that times itself and prints nanoseconds per
// operation, so the sandbox's start-up is not part of those figures.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gflags/gflags.h"

DEFINE_int32(runs, 11, "Samples per workload and configuration.");
DEFINE_string(workloads, "",
              "Comma-separated workloads to run (default: all); see the "
              "names with --workloads=help.");
DEFINE_string(json, "", "Also write the results as JSON to this file.");
DEFINE_string(runsc, "",
              "The runsc binary (default: next to this program's runfiles).");
DEFINE_string(getpid_loop, "", "The getpid loop helper.");
DEFINE_string(task_loops, "", "The task-model loop helper (task_loops.c).");
DEFINE_string(fs_loops, "", "The filesystem loop helper (fs_loops.c).");
DEFINE_int32(file_mib, 256,
             "Size in MiB of the file the sequential read and write "
             "workloads transfer.");
DEFINE_int64(getpid_calls, 20000, "getpid calls per sample.");
DEFINE_double(scale, 1.0,
              "Multiplies every workload's loop count (e.g. 0.1 for a quick "
              "check; figures get noisier).");
DEFINE_int32(timeout_s, 120,
             "A sample that runs longer than this is killed and fails its "
             "workload.");

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

// Runs argv in a process group of its own and returns its stdout, stderr and
// exit status. After --timeout_s the whole group is killed.
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
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(p[1], 1);
    dup2(fileno(err_file), 2);
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(p[1]);
  RunResult r{"", "", -1};
  if (pid < 0) {
    close(p[0]);
    fclose(err_file);
    r.err = "fork failed";
    return r;
  }
  setpgid(pid, pid);  // also here, so that the kill below cannot miss
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
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

// One sample: a value, or why there is none.
struct Sample {
  double value;
  std::string error;  // empty on success
};

struct Workload {
  std::string name;         // what --workloads selects by
  std::string description;  // the table's first column
  std::string unit;
  // Measures one sample, natively (sandbox=false) or in the sandbox.
  std::function<Sample(bool sandbox)> sample;
};

struct Result {
  std::string name, description, unit;
  double native = NAN, sandbox = NAN;
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

std::string Absolute(const std::string& path) {
  char buf[4096];
  if (path.empty() || path[0] == '/' || getcwd(buf, sizeof(buf)) == nullptr)
    return path;
  return std::string(buf) + "/" + path;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::string runsc = Absolute(FLAGS_runsc);
  std::string getpid_loop = Absolute(FLAGS_getpid_loop);
  std::string task_loops = Absolute(FLAGS_task_loops);
  std::string fs_loops = Absolute(FLAGS_fs_loops);
  // A host directory for the filesystem workloads: natively they use it on
  // the host's disk; in the sandbox the same path is in the root overlay,
  // and a volume (-v) mounts it at /mnt/bench.
  char dir_template[] = "/var/tmp/uks-bench.XXXXXX";
  std::string host_dir = mkdtemp(dir_template) ? dir_template : "";
  if (host_dir.empty()) {
    perror("mkdtemp");
    return 1;
  }
  auto wrap_with = [&](bool sandbox, std::vector<std::string> flags,
                       std::vector<std::string> args) {
    if (!sandbox) return args;
    std::vector<std::string> cmd = {runsc, "do", "--platform=ptrace"};
    cmd.insert(cmd.end(), flags.begin(), flags.end());
    cmd.push_back("--");
    cmd.insert(cmd.end(), args.begin(), args.end());
    return cmd;
  };
  auto wrap = [&](bool sandbox, std::vector<std::string> args) {
    return wrap_with(sandbox, {}, std::move(args));
  };
  auto failure = [](bool sandbox, const RunResult& r) {
    std::string why = LastLine(r.err);
    return Sample{
        NAN, absl::StrCat(sandbox ? "sandbox" : "native", ": exit status ",
                          r.status, ": ", why.empty() ? "no message" : why)};
  };
  auto count = [](int64_t n) {
    return std::to_string(std::max<int64_t>(
        1, std::llround(static_cast<double>(n) * FLAGS_scale)));
  };
  // A workload whose helper prints nanoseconds per operation; the figure is
  // reported in units of `divisor` ns.
  auto loop = [&](std::vector<std::string> cmd, double divisor) {
    return [&wrap, &failure, cmd, divisor](bool sb) {
      RunResult r = Run(wrap(sb, cmd));
      char* end = nullptr;
      double ns = strtod(r.out.c_str(), &end);
      if (r.status != 0 || end == r.out.c_str() || !(ns > 0))
        return failure(sb, r);
      return Sample{ns / divisor, ""};
    };
  };
  auto task = [&](const char* name, int64_t n, double divisor) {
    return loop({task_loops, name, count(n)}, divisor);
  };
  // A filesystem workload in `native_dir` natively and in `sandbox_dir`
  // (with `flags`) in the sandbox.
  auto fs = [&](const char* name, int64_t n, std::string native_dir,
                std::string sandbox_dir, std::vector<std::string> flags) {
    return [&wrap_with, &failure, &fs_loops, name, n, native_dir, sandbox_dir,
            flags](bool sb) {
      std::string arg = std::to_string(n);
      RunResult r = Run(wrap_with(
          sb, flags, {fs_loops, name, arg, sb ? sandbox_dir : native_dir}));
      char* end = nullptr;
      double v = strtod(r.out.c_str(), &end);
      if (r.status != 0 || end == r.out.c_str() || !(v > 0))
        return failure(sb, r);
      return Sample{v, ""};
    };
  };
  int64_t mib = FLAGS_file_mib;
  std::vector<std::string> volume = {"-v", host_dir + ":/mnt/bench"};

  // Loop counts give each workload about 1.5-2 s per pair of samples on the
  // 2-core development VM, where a sandboxed fork+wait takes ~2.5 ms, a
  // fork+exec ~20 ms, a pipe round trip ~100 us, a futex round trip ~35 us
  // and a system call ~30 us; --runs=11 of everything then takes 2-3 min.
  std::vector<Workload> workloads = {
      {"startup", "startup: /bin/true", "ms",
       [&](bool sb) {
         double t0 = NowSeconds();
         RunResult r = Run(wrap(sb, {"/bin/true"}));
         if (r.status != 0) return failure(sb, r);
         return Sample{(NowSeconds() - t0) * 1e3, ""};
       }},
      {"getpid", "getpid", "ns/call",
       loop({getpid_loop, count(FLAGS_getpid_calls)}, 1)},
      {"fork", "fork+exit+wait", "us/op", task("fork", 500, 1e3)},
      {"exec", "fork+exec /bin/true", "us/op", task("exec", 60, 1e3)},
      {"pipe", "pipe ping-pong", "us/rtt", task("pipe", 12000, 1e3)},
      {"futex", "futex ping-pong", "us/rtt", task("futex", 25000, 1e3)},
      {"clock_vdso", "clock_gettime vDSO", "ns/call",
       task("clock_vdso", 1000000, 1)},
      {"clock_syscall", "clock_gettime syscall", "ns/call",
       task("clock_syscall", 40000, 1)},
      // Files: natively on the host's disk (or /dev/shm for tmpfs); in the
      // sandbox on its overlay root (memory), its /tmp, or a volume of the
      // same host directory. Throughputs are MiB/s: higher is better.
      {"open_read_close", "open+read+close 4K", "us/op",
       [&, f = fs("open_read_close", std::stoll(count(3000)), host_dir,
                  host_dir, {})](bool sb) {
         Sample s = f(sb);
         s.value /= 1e3;
         return s;
       }},
      {"stat", "stat", "us/op",
       [&, f = fs("stat", std::stoll(count(5000)), host_dir, host_dir, {})](
           bool sb) {
         Sample s = f(sb);
         s.value /= 1e3;
         return s;
       }},
      {"write_tmpfs", "write 256M tmpfs", "MiB/s",
       fs("seq_write", mib, "/dev/shm", "/tmp", {})},
      {"read_tmpfs", "read 256M tmpfs", "MiB/s",
       fs("seq_read", mib, "/dev/shm", "/tmp", {})},
      {"write_overlay", "write 256M overlay", "MiB/s",
       fs("seq_write", mib, host_dir, host_dir, {})},
      {"read_overlay", "read 256M overlay", "MiB/s",
       fs("seq_read", mib, host_dir, host_dir, {})},
      {"write_volume", "write 256M volume", "MiB/s",
       fs("seq_write", mib, host_dir, "/mnt/bench", volume)},
      {"read_volume", "read 256M volume", "MiB/s",
       fs("seq_read", mib, host_dir, "/mnt/bench", volume)},
  };

  std::vector<std::string> names;
  for (const Workload& w : workloads) names.push_back(w.name);
  if (FLAGS_workloads == "help") {
    printf("%s\n", absl::StrJoin(names, ",").c_str());
    return 0;
  }
  if (runsc.empty() || getpid_loop.empty() || task_loops.empty()) {
    fprintf(stderr,
            "bench: --runsc, --getpid_loop and --task_loops are required "
            "(bazel run sets them)\n");
    return 2;
  }
  if (FLAGS_runs < 1) {
    fprintf(stderr, "bench: --runs must be at least 1\n");
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
        return 2;
      }
      if (std::find(selected.begin(), selected.end(), &*it) == selected.end())
        selected.push_back(&*it);
    }
  }

  double suite_start = NowSeconds();
  std::vector<Result> results;
  bool all_ok = true;
  for (const Workload* w : selected) {
    Result res{w->name, w->description, w->unit};
    double start = NowSeconds();
    std::vector<double> nat, sb;
    Run(wrap(true, {"/bin/true"}));  // warm caches for both
    for (int i = 0; i < FLAGS_runs && res.error.empty(); i++) {
      for (bool sandbox : {false, true}) {
        Sample s = w->sample(sandbox);
        if (!s.error.empty()) {
          // A workload that fails once is reported as failed; more samples
          // would only repeat the failure (or worse, time out again).
          res.error = s.error;
          fprintf(stderr, "bench: %s failed: %s\n", w->name.c_str(),
                  s.error.c_str());
          break;
        }
        (sandbox ? sb : nat).push_back(s.value);
      }
    }
    fprintf(stderr, "bench: %s: %.1f s\n", w->name.c_str(),
            NowSeconds() - start);
    if (res.error.empty()) {
      res.native = Median(nat);
      res.sandbox = Median(sb);
    } else {
      all_ok = false;
    }
    results.push_back(res);
  }
  double suite_seconds = NowSeconds() - suite_start;
  rmdir(host_dir.c_str());

  printf("%-22s %-9s %12s %12s %9s\n", "workload", "unit", "native", "ptrace",
         "ratio");
  for (const Result& r : results) {
    if (!r.error.empty()) {
      printf("%-22s %-9s %12s %12s %9s  (%s)\n", r.description.c_str(),
             r.unit.c_str(), "-", "-", "FAILED", r.error.c_str());
      continue;
    }
    printf("%-22s %-9s %12.1f %12.1f %8.1fx\n", r.description.c_str(),
           r.unit.c_str(), r.native, r.sandbox, r.sandbox / r.native);
  }
  printf(
      "(medians of %d samples each, native and sandboxed runs alternating; "
      "%.1f s in all)\n",
      FLAGS_runs, suite_seconds);

  if (!FLAGS_json.empty()) {
    std::vector<std::string> rows;
    for (const Result& r : results) {
      std::string row = absl::StrFormat(
          "{\"workload\":%s,\"name\":%s,\"unit\":%s,\"native\":%s,"
          "\"ptrace\":%s,\"ratio\":%s",
          JsonString(r.description), JsonString(r.name), JsonString(r.unit),
          JsonNumber(r.native), JsonNumber(r.sandbox),
          JsonNumber(r.sandbox / r.native));
      if (!r.error.empty())
        absl::StrAppend(&row, ",\"error\":", JsonString(r.error));
      rows.push_back(row + "}");
    }
    FILE* f = fopen(FLAGS_json.c_str(), "w");
    if (f == nullptr) {
      perror(FLAGS_json.c_str());
      return 1;
    }
    fprintf(f, "[%s]\n", absl::StrJoin(rows, ",\n ").c_str());
    fclose(f);
  }
  return all_ok ? 0 : 1;
}
