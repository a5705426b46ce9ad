// The benchmark suite: each workload natively and in a sandbox, alternating
// so that machine noise hits both alike, with medians and ratios to native
// printed as a table (and as JSON with --json).
//
//   bazel run //tools/bench -- [--runs=N] [--json=FILE]

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gflags/gflags.h"

DEFINE_int32(runs, 11, "Samples per workload and configuration.");
DEFINE_string(json, "", "Also write the results as JSON to this file.");
DEFINE_string(runsc, "",
              "The runsc binary (default: next to this program's runfiles).");
DEFINE_string(getpid_loop, "", "The getpid loop helper.");
DEFINE_int64(getpid_calls, 20000, "getpid calls per sample.");

namespace {

double NowSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Runs argv, returns its stdout and exit status.
std::pair<std::string, int> Run(const std::vector<std::string>& args) {
  int p[2];
  if (pipe(p) != 0) return {"", -1};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    close(p[0]);
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {out,
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Workload {
  std::string name;
  std::string unit;
  // Measures one sample, natively (sandbox=false) or in the sandbox.
  std::function<double(bool sandbox)> sample;
};

struct Result {
  std::string name, unit;
  double native, sandbox;
};

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::string runsc = FLAGS_runsc, loop = FLAGS_getpid_loop;
  if (runsc.empty() || loop.empty()) {
    fprintf(stderr,
            "bench: --runsc and --getpid_loop are required (bazel run sets "
            "them)\n");
    return 2;
  }
  char buf[4096];
  if (runsc[0] != '/' && getcwd(buf, sizeof(buf)) != nullptr)
    runsc = std::string(buf) + "/" + runsc;
  if (loop[0] != '/' && getcwd(buf, sizeof(buf)) != nullptr)
    loop = std::string(buf) + "/" + loop;
  auto wrap = [&](bool sandbox, std::vector<std::string> args) {
    if (sandbox)
      args.insert(args.begin(), {runsc, "do", "--platform=ptrace", "--"});
    return args;
  };

  std::vector<Workload> workloads = {
      {"startup: /bin/true", "ms",
       [&](bool sb) {
         double t0 = NowSeconds();
         auto r = Run(wrap(sb, {"/bin/true"}));
         if (r.second != 0)
           fprintf(stderr, "bench: /bin/true exited %d\n", r.second);
         return (NowSeconds() - t0) * 1e3;
       }},
      {"getpid", "ns/call",
       [&](bool sb) {
         auto r = Run(wrap(sb, {loop, std::to_string(FLAGS_getpid_calls)}));
         return strtod(r.first.c_str(), nullptr);
       }},
  };

  std::vector<Result> results;
  for (const Workload& w : workloads) {
    std::vector<double> nat, sb;
    Run(wrap(true, {"/bin/true"}));  // warm caches for both
    for (int i = 0; i < FLAGS_runs; i++) {
      nat.push_back(w.sample(false));
      sb.push_back(w.sample(true));
    }
    results.push_back({w.name, w.unit, Median(nat), Median(sb)});
  }

  printf("%-22s %-9s %12s %12s %9s\n", "workload", "unit", "native", "ptrace",
         "ratio");
  for (const Result& r : results) {
    printf("%-22s %-9s %12.1f %12.1f %8.1fx\n", r.name.c_str(), r.unit.c_str(),
           r.native, r.sandbox, r.sandbox / r.native);
  }
  printf(
      "(medians of %d samples each, native and sandboxed runs alternating)\n",
      FLAGS_runs);
  if (!FLAGS_json.empty()) {
    std::vector<std::string> rows;
    for (const Result& r : results) {
      rows.push_back(absl::StrFormat(
          "{\"workload\":\"%s\",\"unit\":\"%s\",\"native\":%.3f,\"ptrace\":%."
          "3f,\"ratio\":%.3f}",
          r.name, r.unit, r.native, r.sandbox, r.sandbox / r.native));
    }
    FILE* f = fopen(FLAGS_json.c_str(), "w");
    if (f == nullptr) {
      perror(FLAGS_json.c_str());
      return 1;
    }
    fprintf(f, "[%s]\n", absl::StrJoin(rows, ",\n ").c_str());
    fclose(f);
  }
  return 0;
}
