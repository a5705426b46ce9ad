// Runs a command N times, one after another, and prints the mean wall time
// of one run in nanoseconds (from fork to the end of waitpid). Used by the
// benchmark natively and inside a sandbox, so that whole-program workloads
// (python3's start-up, a build) are timed without the sandbox's start-up.
//
//   wall_time N CMD [ARGS...]
//
// CMD's standard output goes to our standard error, so that our standard
// output holds only the figure. Exits 1 with a message on stderr if CMD
// cannot be run or fails, so that a failure is never mistaken for a fast run.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char** argv) {
  long n = argc > 2 ? strtol(argv[1], NULL, 10) : 0;
  if (n <= 0) {
    fprintf(stderr, "usage: wall_time N CMD [ARGS...]\n");
    return 2;
  }
  double total = 0;
  for (long i = 0; i < n; i++) {
    double t0 = NowNs();
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "wall_time: fork: %s\n", strerror(errno));
      return 1;
    }
    if (pid == 0) {
      dup2(2, 1);
      execv(argv[2], argv + 2);
      fprintf(stderr, "wall_time: %s: %s\n", argv[2], strerror(errno));
      _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        fprintf(stderr, "wall_time: waitpid: %s\n", strerror(errno));
        return 1;
      }
    }
    total += NowNs() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "wall_time: %s failed (status 0x%x)\n", argv[2], status);
      return 1;
    }
  }
  printf("%.1f\n", total / n);
  return 0;
}
