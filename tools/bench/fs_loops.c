// Runs one filesystem workload in a directory and prints its figure: mean
// nanoseconds per operation, or MiB/s for the sequential transfers. Used
// by the benchmark natively and inside a sandbox; it times only its own
// loop, so the sandbox's start-up is not part of the figure.
//
//   fs_loops WORKLOAD N DIR
//
// Workloads:
//   open_read_close  open a 4 KiB file in DIR, read it, close it (N times)
//   stat             stat(2) that file (N times)
//   seq_write        write N MiB to a new file in DIR in 1 MiB writes, then
//                    fsync it (MiB/s, the fsync included)
//   seq_read         write N MiB as above (untimed), then read it back in
//                    1 MiB reads (MiB/s)
//
// The files are removed afterwards. Exits 1 with a message on stderr if any
// operation fails, so that a failure is never mistaken for a fast run.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void Die(const char* what) {
  fprintf(stderr, "fs_loops: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

enum { kChunk = 1 << 20 };

static void WriteFile(const char* path, long mib, int sync) {
  static char buf[kChunk];
  memset(buf, 'x', sizeof(buf));
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) Die("open for writing");
  for (long i = 0; i < mib; i++) {
    for (size_t done = 0; done < sizeof(buf);) {
      ssize_t n = write(fd, buf + done, sizeof(buf) - done);
      if (n <= 0) Die("write");
      done += (size_t)n;
    }
  }
  if (sync && fsync(fd) != 0) Die("fsync");
  if (close(fd) != 0) Die("close");
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fs_loops WORKLOAD N DIR\n");
    return 2;
  }
  const char* w = argv[1];
  long n = strtol(argv[2], NULL, 10);
  if (n <= 0) {
    fprintf(stderr, "fs_loops: N must be positive\n");
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s/fs_loops.%d", argv[3], (int)getpid());
  double t0, t1;
  if (strcmp(w, "open_read_close") == 0 || strcmp(w, "stat") == 0) {
    char buf[4096];
    memset(buf, 'y', sizeof(buf));
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf)) Die("set-up");
    close(fd);
    int is_stat = strcmp(w, "stat") == 0;
    t0 = NowNs();
    for (long i = 0; i < n; i++) {
      if (is_stat) {
        struct stat st;
        if (stat(path, &st) != 0) Die("stat");
      } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) Die("open");
        if (read(fd, buf, sizeof(buf)) != sizeof(buf)) Die("read");
        close(fd);
      }
    }
    t1 = NowNs();
    unlink(path);
    printf("%.1f\n", (t1 - t0) / n);
    return 0;
  }
  if (strcmp(w, "seq_write") == 0) {
    t0 = NowNs();
    WriteFile(path, n, 1);
    t1 = NowNs();
    unlink(path);
    printf("%.1f\n", n / ((t1 - t0) / 1e9));
    return 0;
  }
  if (strcmp(w, "seq_read") == 0) {
    WriteFile(path, n, 1);
    static char buf[kChunk];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die("open for reading");
    long total = 0;
    t0 = NowNs();
    for (;;) {
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r < 0) Die("read");
      if (r == 0) break;
      total += r;
    }
    t1 = NowNs();
    close(fd);
    unlink(path);
    if (total != n * (long)kChunk) {
      fprintf(stderr, "fs_loops: read %ld bytes, wrote %ld\n", total,
              n * (long)kChunk);
      return 1;
    }
    printf("%.1f\n", n / ((t1 - t0) / 1e9));
    return 0;
  }
  fprintf(stderr, "fs_loops: unknown workload %s\n", w);
  return 2;
}
