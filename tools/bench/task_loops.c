// Runs one task-model workload N times and prints the mean nanoseconds per
// operation. Used by the benchmark natively and inside a sandbox; it times
// only its own loop, so the sandbox's start-up is not part of the figure.
//
//   task_loops WORKLOAD N
//
// Workloads (one operation each):
//   fork          fork a child that _exit(0)s; waitpid for it
//   exec          fork a child that execv("/bin/true"); waitpid for it
//   pipe          one byte to a child process and back, over two pipes
//   mmap          mmap 1 MiB of anonymous memory, write one byte to each of
//                 its pages, munmap it
//   futex         a round trip between two threads through FUTEX_WAKE and
//                 FUTEX_WAIT (private) on one word
//   clock_vdso    clock_gettime(CLOCK_MONOTONIC) through libc (the vDSO)
//   clock_syscall clock_gettime(CLOCK_MONOTONIC) as a raw system call
//
// Exits 1 with a message on stderr if any operation fails, so that a
// failure is never mistaken for a fast run.
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void Die(const char* what) {
  fprintf(stderr, "task_loops: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// Waits for pid and fails unless it exited with status 0.
static void WaitOk(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) Die("waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "task_loops: child %d ended with status 0x%x\n", pid,
            status);
    exit(1);
  }
}

static void Fork(long n) {
  for (long i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) _exit(0);
    WaitOk(pid);
  }
}

static void Exec(long n) {
  char* const argv[] = {"/bin/true", NULL};
  for (long i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      execv(argv[0], argv);
      _exit(127);
    }
    WaitOk(pid);
  }
}

static void Pipe(long n) {
  int to_child[2], to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    char c;
    // Echo until the parent closes its end.
    while (read(to_child[0], &c, 1) == 1) {
      if (write(to_parent[1], &c, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  close(to_child[0]);
  close(to_parent[1]);
  for (long i = 0; i < n; i++) {
    char c = (char)i;
    if (write(to_child[1], &c, 1) != 1) Die("write");
    if (read(to_parent[0], &c, 1) != 1) Die("read");
  }
  close(to_child[1]);
  WaitOk(pid);
  close(to_parent[0]);
}

static void Mmap(long n) {
  const size_t kSize = 1 << 20;
  long page = sysconf(_SC_PAGESIZE);
  for (long i = 0; i < n; i++) {
    char* p = mmap(NULL, kSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) Die("mmap");
    // Volatile, so that the compiler cannot drop the stores that fault the
    // pages in.
    for (size_t off = 0; off < kSize; off += (size_t)page)
      ((volatile char*)p)[off] = 1;
    if (munmap(p, kSize) != 0) Die("munmap");
  }
}

// The futex word: 0 means the main thread's turn, 1 the partner's.
static atomic_int futex_word;
static long futex_rounds;

static void FutexWait(int expected) {
  while (atomic_load(&futex_word) == expected) {
    long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, expected, NULL,
                     NULL, 0);
    if (r != 0 && errno != EAGAIN && errno != EINTR) Die("FUTEX_WAIT");
  }
}

static void FutexPass(int value) {
  atomic_store(&futex_word, value);
  if (syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0)
    Die("FUTEX_WAKE");
}

static void* FutexPartner(void* arg) {
  (void)arg;
  for (long i = 0; i < futex_rounds; i++) {
    FutexWait(0);  // until it is our turn
    FutexPass(0);
  }
  return NULL;
}

static void Futex(long n) {
  futex_rounds = n;
  atomic_store(&futex_word, 0);
  pthread_t t;
  int err = pthread_create(&t, NULL, FutexPartner, NULL);
  if (err != 0) {
    errno = err;
    Die("pthread_create");
  }
  for (long i = 0; i < n; i++) {
    FutexPass(1);
    FutexWait(1);  // until the partner hands the turn back
  }
  pthread_join(t, NULL);
}

// Stores the clock loops' results so the compiler cannot drop the calls.
static volatile long clock_sink;

static void ClockVdso(long n) {
  struct timespec ts;
  long sum = 0;
  for (long i = 0; i < n; i++) {
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) Die("clock_gettime");
    sum += ts.tv_nsec;
  }
  clock_sink = sum;
}

static void ClockSyscall(long n) {
  struct timespec ts;
  long sum = 0;
  for (long i = 0; i < n; i++) {
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
      Die("clock_gettime");
    sum += ts.tv_nsec;
  }
  clock_sink = sum;
}

static const struct {
  const char* name;
  void (*run)(long n);
} kWorkloads[] = {
    {"fork", Fork},
    {"exec", Exec},
    {"pipe", Pipe},
    {"mmap", Mmap},
    {"futex", Futex},
    {"clock_vdso", ClockVdso},
    {"clock_syscall", ClockSyscall},
};

int main(int argc, char** argv) {
  long n = argc > 2 ? atol(argv[2]) : 0;
  if (argc != 3 || n <= 0) {
    fprintf(stderr, "usage: task_loops WORKLOAD N\n");
    return 2;
  }
  for (size_t i = 0; i < sizeof(kWorkloads) / sizeof(kWorkloads[0]); i++) {
    if (strcmp(argv[1], kWorkloads[i].name) != 0) continue;
    double start = NowNs();
    kWorkloads[i].run(n);
    double ns = NowNs() - start;
    printf("%.1f\n", ns / n);
    return 0;
  }
  fprintf(stderr, "task_loops: unknown workload %s\n", argv[1]);
  return 2;
}
