// fork(2), vfork(2), clone(2) and clone3(2): what a new process or thread
// gets a copy of and what it shares with its creator (private memory,
// MAP_SHARED memory, MADV_DONTFORK and MADV_WIPEONFORK ranges, open file
// descriptions, the descriptor table under CLONE_FILES, cwd and umask under
// CLONE_FS, signal handlers under CLONE_SIGHAND, the pid and fds of a
// pthread), pending signals and threads that are not inherited, the parent
// suspended by vfork and CLONE_VFORK until the child exits or execs, the
// tid-reporting flags (CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, and
// CLONE_CHILD_CLEARTID's zeroing and futex wake at exit), CLONE_PARENT (and
// the exit signal it copies from the caller), exit signals other than SIGCHLD
// (invisible to waitpid without __WCLONE/__WALL), CLONE_CLEAR_SIGHAND,
// CLONE_PIDFD through clone and clone3, and the flag and struct-size checks
// that fail with EINVAL or E2BIG.

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "test/util/process_util.h"
#include "test/util/test_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::CountTasks;
using testing_util::InForkedChild;
using testing_util::KilledBySignal;
using testing_util::Pipe;
using testing_util::ReadFile;
using testing_util::SleepMs;
using testing_util::TempPath;
using testing_util::WaitStatus;
using testing_util::WriteFile;

// Not in glibc 2.36's <sched.h>; the values are Linux's (linux/sched.h).
constexpr uint64_t kCloneClearSighand = 0x100000000ULL;
constexpr int kCloneArgsSizeVer0 = 64;
constexpr int kCloneArgsSizeVer2 = 88;

// struct clone_args of clone3(2), as of CLONE_ARGS_SIZE_VER2.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
static_assert(sizeof(CloneArgs) == kCloneArgsSizeVer2, "clone_args layout");

long Clone3(void* args, size_t size) { return syscall(SYS_clone3, args, size); }

// Writes/reads one value through a pipe, with raw syscalls so that children
// sharing the parent's memory and TLS (CLONE_VM) may use them.
template <typename T>
void Send(int fd, const T& v) {
  syscall(SYS_write, fd, &v, sizeof(v));
}
template <typename T>
bool Receive(int fd, T* v) {
  return syscall(SYS_read, fd, v, sizeof(*v)) == static_cast<long>(sizeof(*v));
}

// A stack for clone(2) children, unmapped when it goes out of scope (after
// the child has been reaped).
class CloneStack {
 public:
  CloneStack()
      : base_(mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) {
    EXPECT_NE(base_, MAP_FAILED);
  }
  ~CloneStack() { munmap(base_, kSize); }
  CloneStack(const CloneStack&) = delete;
  CloneStack& operator=(const CloneStack&) = delete;
  void* top() { return static_cast<char*>(base_) + kSize; }

 private:
  static constexpr size_t kSize = 256 * 1024;
  void* base_;
};

// ---------------------------------------------------------------- fork(2)

TEST(ForkTest, ChildSeesItsOwnPidAndItsParent) {
  Pipe p;
  pid_t parent = getpid();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pid_t ids[3] = {getpid(), getppid(),
                    static_cast<pid_t>(syscall(SYS_gettid))};
    Send(p.w, ids);
    _exit(0);
  }
  pid_t ids[3] = {};
  ASSERT_TRUE(Receive(p.r, &ids));
  EXPECT_EQ(ids[0], pid);
  EXPECT_EQ(ids[1], parent);
  EXPECT_EQ(ids[2], pid);  // single-threaded: tid == pid
  EXPECT_NE(pid, parent);
  EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(ForkTest, ChildWritesAreInvisibleToTheParentAndViceVersa) {
  static int global = 1;
  global = 1;
  int* heap = new int(2);
  Pipe go, report;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    global = 100;
    *heap = 200;
    char c;
    Receive(go.r, &c);
    // The parent changed its copies in between; ours are untouched.
    int seen[2] = {global, *heap};
    Send(report.w, seen);
    _exit(0);
  }
  global = 10;
  *heap = 20;
  Send(go.w, 'g');
  int seen[2] = {};
  ASSERT_TRUE(Receive(report.r, &seen));
  EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_EQ(seen[0], 100);
  EXPECT_EQ(seen[1], 200);
  EXPECT_EQ(global, 10);
  EXPECT_EQ(*heap, 20);
  delete heap;
}

TEST(ForkTest, SharedAnonymousMemoryStaysShared) {
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* word = static_cast<volatile int*>(m);
  *word = 1;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    *word = 2;
    _exit(0);
  }
  EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_EQ(*word, 2);
  munmap(m, 4096);
}

TEST(ForkTest, OpenFileDescriptionsAreSharedButDescriptorFlagsAreNot) {
  TempPath dir;
  std::string path = dir / "f";
  WriteFile(path, "0123456789");
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char buf[3];
    if (read(fd, buf, 3) != 3) _exit(1);
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) _exit(2);
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) _exit(3);
    _exit(0);
  }
  EXPECT_EQ(WaitStatus(pid), 0);
  // The offset and the status flags live in the shared description...
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 3);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  // ...the close-on-exec flag in each process's own descriptor table.
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(ForkTest, ADontforkRangeIsAbsentInTheChild) {
  char* m = static_cast<char*>(mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  memset(m, 'x', 3 * 4096);
  // Only the middle page is left out of the child.
  ASSERT_OK(madvise(m + 4096, 4096, MADV_DONTFORK));
  InForkedChild([&] {
    int fds[2];
    ASSERT_OK(pipe(fds));
    EXPECT_ERRNO(write(fds[1], m + 4096, 1), EFAULT);
    EXPECT_EQ(write(fds[1], m, 1), 1);
    EXPECT_EQ(write(fds[1], m + 2 * 4096, 1), 1);
    // The hole is free address space: a fixed mapping there succeeds
    // without disturbing the neighbours.
    void* again =
        mmap(m + 4096, 4096, PROT_READ,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    EXPECT_EQ(again, static_cast<void*>(m + 4096));
    munmap(again, 4096);
    // Touching the hole faults.
    pid_t toucher = fork();
    ASSERT_GE(toucher, 0);
    if (toucher == 0) {
      *static_cast<volatile char*>(m + 4096) = 1;
      _exit(0);
    }
    int status = WaitStatus(toucher);
    // The core bit is not checked.
    EXPECT_TRUE(KilledBySignal(status, SIGSEGV));
  });
  // The parent keeps all three pages, and MADV_DOFORK undoes it.
  EXPECT_EQ(m[4096], 'x');
  ASSERT_OK(madvise(m + 4096, 4096, MADV_DOFORK));
  InForkedChild([&] { EXPECT_EQ(m[4096], 'x'); });
  munmap(m, 3 * 4096);
}

TEST(ForkTest, AWipeonforkRangeIsZeroInTheChild) {
  char* m = static_cast<char*>(mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  memset(m, 0xab, 2 * 4096);
  ASSERT_OK(madvise(m, 4096, MADV_WIPEONFORK));
  InForkedChild([&] {
    EXPECT_EQ(m[0], 0);
    EXPECT_EQ(m[4095], 0);
    EXPECT_EQ(static_cast<unsigned char>(m[4096]), 0xab);
    // Still mapped and writable in the child.
    m[0] = 1;
    EXPECT_EQ(m[0], 1);
  });
  EXPECT_EQ(static_cast<unsigned char>(m[0]), 0xab);
  munmap(m, 2 * 4096);
}

TEST(ForkTest, WipeonforkIsOnlyForPrivateAnonymousMemory) {
  void* shared = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  EXPECT_ERRNO(madvise(shared, 4096, MADV_WIPEONFORK), EINVAL);
  munmap(shared, 4096);
  TempPath dir;
  WriteFile(dir / "f", std::string(4096, 'a'));
  int fd = open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* file = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_NE(file, MAP_FAILED);
  EXPECT_ERRNO(madvise(file, 4096, MADV_WIPEONFORK), EINVAL);
  munmap(file, 4096);
  close(fd);
}

TEST(ForkTest, PendingSignalsAreNotInheritedButTheMaskIs) {
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &usr1, &old));
  ASSERT_OK(kill(getpid(), SIGUSR1));
  InForkedChild([] {
    sigset_t pending, mask;
    ASSERT_OK(sigpending(&pending));
    EXPECT_EQ(sigismember(&pending, SIGUSR1), 0);
    ASSERT_OK(sigprocmask(SIG_BLOCK, nullptr, &mask));
    EXPECT_EQ(sigismember(&mask, SIGUSR1), 1);
  });
  // The parent's signal is still pending; consume it.
  sigset_t pending;
  ASSERT_OK(sigpending(&pending));
  EXPECT_EQ(sigismember(&pending, SIGUSR1), 1);
  struct timespec zero = {0, 0};
  EXPECT_EQ(sigtimedwait(&usr1, nullptr, &zero), SIGUSR1);
  ASSERT_OK(sigprocmask(SIG_SETMASK, &old, nullptr));
}

void* BlockOnPipe(void* arg) {
  char c;
  read(*static_cast<int*>(arg), &c, 1);
  return nullptr;
}

TEST(ForkTest, OnlyTheCallingThreadIsDuplicated) {
  Pipe hold;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, BlockOnPipe, &hold.r), 0);
  ASSERT_EQ(CountTasks("/proc/self/task"), 2);
  InForkedChild([] {
    EXPECT_EQ(CountTasks("/proc/self/task"), 1);
    EXPECT_EQ(syscall(SYS_gettid), getpid());
  });
  Send(hold.w, 'x');
  pthread_join(t, nullptr);
}

// --------------------------------------------------------------- vfork(2)

// vfork's child may only store to memory, sleep and _exit or execve; the
// code around it is kept minimal so that no caller state is clobbered.
pid_t VforkSleepThenStore(volatile int* flag) {
  pid_t pid = vfork();
  if (pid == 0) {
    SleepMs(100);
    *flag = 1;
    _exit(7);
  }
  return pid;
}

TEST(VforkTest, ParentIsSuspendedUntilTheChildExitsAndSharesItsMemory) {
  static volatile int flag = 0;
  flag = 0;
  pid_t pid = VforkSleepThenStore(&flag);
  ASSERT_GT(pid, 0);
  // Had the parent run on, it would (barring a 100 ms stall) see 0.
  EXPECT_EQ(flag, 1);
  EXPECT_EQ(WaitStatus(pid), 7 << 8);
}

pid_t VforkExecReader(int stdin_fd) {
  pid_t pid = vfork();
  if (pid == 0) {
    dup2(stdin_fd, 0);
    execl("/bin/sh", "sh", "-c", "read x", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

TEST(VforkTest, ParentResumesWhenTheChildExecs) {
  int fds[2];
  ASSERT_OK(pipe2(fds, O_CLOEXEC));
  int saved_stdin = dup(0);
  ASSERT_GE(saved_stdin, 0);
  pid_t pid = VforkExecReader(fds[0]);
  ASSERT_GT(pid, 0);
  // The child is now a shell blocked reading the pipe, which only we can
  // write: the parent was released by the exec, not by an exit.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0);
  EXPECT_EQ(write(fds[1], "\n", 1), 1);
  EXPECT_EQ(WaitStatus(pid), 0);
  close(fds[0]);
  close(fds[1]);
  close(saved_stdin);
}

// ---------------------------------------------------- pthreads (clone(2))

thread_local int tls_value = 0;

struct ThreadIds {
  pid_t pid = 0, tid = 0, ppid = 0;
  int tls_seen = -1;
  int fd = -1;
};

void* ReportIds(void* arg) {
  auto* ids = static_cast<ThreadIds*>(arg);
  ids->pid = getpid();
  ids->tid = static_cast<pid_t>(syscall(SYS_gettid));
  ids->ppid = getppid();
  ids->tls_seen = tls_value;
  tls_value = 99;
  return nullptr;
}

TEST(ThreadTest, AThreadSharesThePidAndHasItsOwnTidAndTls) {
  tls_value = 5;
  ThreadIds ids;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, ReportIds, &ids), 0);
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  EXPECT_EQ(ids.pid, getpid());
  EXPECT_EQ(ids.ppid, getppid());
  EXPECT_NE(ids.tid, getpid());
  EXPECT_GT(ids.tid, 0);
  // CLONE_SETTLS: the thread has its own instance, initialised afresh.
  EXPECT_EQ(ids.tls_seen, 0);
  EXPECT_EQ(tls_value, 5);
}

void UsrHandler(int) {}

struct SharedStateArgs {
  std::string dir;
  int fd = -1;
};

void* ChangeSharedState(void* arg) {
  auto* a = static_cast<SharedStateArgs*>(arg);
  a->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct sigaction act = {};
  act.sa_handler = UsrHandler;
  sigaction(SIGUSR2, &act, nullptr);
  chdir(a->dir.c_str());
  return nullptr;
}

TEST(ThreadTest, AThreadSharesFdsSignalHandlersAndTheWorkingDirectory) {
  TempPath dir;
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  struct sigaction old = {};
  ASSERT_OK(sigaction(SIGUSR2, nullptr, &old));
  SharedStateArgs a;
  a.dir = dir.path();
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, ChangeSharedState, &a), 0);
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  char now[PATH_MAX];
  char* got = getcwd(now, sizeof(now));
  struct sigaction cur = {};
  sigaction(SIGUSR2, nullptr, &cur);
  int fd_flags = fcntl(a.fd, F_GETFD);
  // Restore before asserting.
  chdir(cwd);
  sigaction(SIGUSR2, &old, nullptr);
  close(a.fd);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(std::string(now), dir.path());
  EXPECT_EQ(cur.sa_handler, UsrHandler);
  EXPECT_EQ(fd_flags, FD_CLOEXEC);
}

void* SleepForever(void* arg) {
  auto* done = static_cast<std::atomic<bool>*>(arg);
  while (!done->load()) SleepMs(1);
  return nullptr;
}

TEST(ThreadTest, AThreadIsNotAWaitableChild) {
  std::atomic<bool> done{false};
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, SleepForever, &done), 0);
  // Find the other thread's tid in /proc/self/task.
  pid_t other = 0;
  DIR* d = opendir("/proc/self/task");
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    pid_t tid = atoi(e->d_name);
    if (tid != getpid()) other = tid;
  }
  closedir(d);
  EXPECT_GT(other, 0);
  EXPECT_ERRNO(waitpid(other, nullptr, WNOHANG | __WALL), ECHILD);
  done = true;
  pthread_join(t, nullptr);
}

// ------------------------------------------------------------ raw clone(2)

// Children created with CLONE_VM share the parent's TLS (no CLONE_SETTLS),
// so they use raw syscalls only and never touch errno.

struct VmChildState {
  volatile int stored = 0;
  volatile pid_t pid = 0;
  volatile pid_t ppid = 0;
  volatile pid_t ctid_seen = 0;
  pid_t* ctid = nullptr;
  int started_fd = -1;
  int go_fd = -1;
  int sleep_ms = 0;
};

int VmChild(void* arg) {
  auto* s = static_cast<VmChildState*>(arg);
  s->pid = static_cast<pid_t>(syscall(SYS_getpid));
  s->ppid = static_cast<pid_t>(syscall(SYS_getppid));
  if (s->ctid != nullptr) s->ctid_seen = *s->ctid;
  if (s->started_fd >= 0) Send(s->started_fd, 's');
  if (s->go_fd >= 0) {
    char c;
    Receive(s->go_fd, &c);
  }
  if (s->sleep_ms > 0) {
    struct timespec ts = {0, s->sleep_ms * 1000L * 1000L};
    syscall(SYS_nanosleep, &ts, nullptr);
  }
  s->stored = 42;
  return 7;
}

TEST(CloneTest, AVmChildOnItsOwnStackSharesMemory) {
  CloneStack stack;
  VmChildState s;
  pid_t pid = clone(VmChild, stack.top(), CLONE_VM | SIGCHLD, &s);
  ASSERT_GT(pid, 0) << strerror(errno);
  EXPECT_EQ(WaitStatus(pid), 7 << 8);
  EXPECT_EQ(s.stored, 42);
  EXPECT_EQ(s.pid, pid);
  EXPECT_EQ(s.ppid, getpid());
}

TEST(CloneTest, ParentAndChildSettidStoreTheNewTid) {
  CloneStack stack;
  VmChildState s;
  pid_t ptid = -1, ctid = -1;
  s.ctid = &ctid;
  pid_t pid =
      clone(VmChild, stack.top(),
            CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, &s,
            &ptid, nullptr, &ctid);
  ASSERT_GT(pid, 0) << strerror(errno);
  // CLONE_PARENT_SETTID is stored before clone returns.
  EXPECT_EQ(ptid, pid);
  EXPECT_EQ(WaitStatus(pid), 7 << 8);
  // CLONE_CHILD_SETTID is stored before the child runs its first
  // instruction, and without CLONE_CHILD_CLEARTID it stays.
  EXPECT_EQ(s.ctid_seen, pid);
  EXPECT_EQ(ctid, pid);
}

TEST(CloneTest, ForkLikeSettidStoresInEachProcessOwnMemory) {
  pid_t ptid = -1, ctid = -1;
  Pipe p;
  // No CLONE_VM and no new stack: the child returns from the syscall on a
  // copy of this stack, like fork().
  long rc =
      syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD,
              nullptr, &ptid, &ctid, nullptr);
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) {
    pid_t seen[3] = {static_cast<pid_t>(syscall(SYS_getpid)), ptid, ctid};
    Send(p.w, seen);
    syscall(SYS_exit_group, 0);
  }
  pid_t pid = static_cast<pid_t>(rc);
  pid_t seen[3] = {};
  ASSERT_TRUE(Receive(p.r, &seen));
  EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_EQ(ptid, pid);  // written in the parent, after the copy
  EXPECT_EQ(ctid, -1);   // written in the child only
  EXPECT_EQ(seen[0], pid);
  EXPECT_EQ(seen[1], -1);
  EXPECT_EQ(seen[2], pid);
}

TEST(CloneTest, ChildCleartidIsZeroedAndWokenAtExit) {
  CloneStack stack;
  VmChildState s;
  Pipe started;
  s.started_fd = started.w;
  s.sleep_ms = 100;
  // The word is aligned and separate from the state the child writes.
  alignas(64) static pid_t ctid;
  ctid = -1;
  pid_t pid =
      clone(VmChild, stack.top(),
            CLONE_VM | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, &s,
            nullptr, nullptr, &ctid);
  ASSERT_GT(pid, 0) << strerror(errno);
  char c;
  ASSERT_TRUE(Receive(started.r, &c));
  EXPECT_EQ(ctid, pid);
  // Sleep on the word while the child sleeps 100 ms and exits; its exit
  // must zero the word and wake us well before the 10 s timeout.
  struct timespec timeout = {10, 0};
  long rc = syscall(SYS_futex, &ctid, FUTEX_WAIT, pid, &timeout, nullptr, 0);
  int err = errno;
  if (rc == -1) {
    EXPECT_EQ(err, EAGAIN) << "not woken: " << strerror(err);
  }
  EXPECT_EQ(ctid, 0);
  EXPECT_EQ(WaitStatus(pid), 7 << 8);
}

struct ExecArgs {
  int stdin_fd;
};

int ExecReader(void* arg) {
  static const char* const argv[] = {"sh", "-c", "read x", nullptr};
  static const char* const envp[] = {nullptr};
  syscall(SYS_dup2, static_cast<ExecArgs*>(arg)->stdin_fd, 0);
  syscall(SYS_execve, "/bin/sh", argv, envp);
  return 127;
}

TEST(CloneTest, ChildCleartidIsAlsoZeroedWhenAVmSharingChildExecs) {
  int fds[2];
  ASSERT_OK(pipe2(fds, O_CLOEXEC));
  ExecArgs args = {fds[0]};
  CloneStack stack;
  alignas(64) static pid_t ctid;
  ctid = -1;
  // CLONE_VFORK: clone returns once the child has exec'd (or exited).
  pid_t pid = clone(ExecReader, stack.top(),
                    CLONE_VM | CLONE_VFORK | CLONE_CHILD_SETTID |
                        CLONE_CHILD_CLEARTID | SIGCHLD,
                    &args, nullptr, nullptr, &ctid);
  ASSERT_GT(pid, 0) << strerror(errno);
  // The child is a shell blocked on our pipe, yet its exec left our
  // memory (which it shared) and cleared the tid word on the way out.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0);
  EXPECT_EQ(ctid, 0);
  ASSERT_EQ(write(fds[1], "\n", 1), 1);
  EXPECT_EQ(WaitStatus(pid), 0);
  close(fds[0]);
  close(fds[1]);
}

int DupAndReturnIt(void* arg) { return dup(*static_cast<int*>(arg)); }

TEST(CloneTest, CloneFilesSharesTheDescriptorTable) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  CloneStack stack;
  pid_t pid = clone(DupAndReturnIt, stack.top(), CLONE_FILES | SIGCHLD, &fd);
  ASSERT_GT(pid, 0) << strerror(errno);
  int status = WaitStatus(pid);
  ASSERT_TRUE(WIFEXITED(status));
  int newfd = WEXITSTATUS(status);
  ASSERT_GT(newfd, 2);
  // The child's dup is in our table, on the same file, without FD_CLOEXEC.
  struct stat a = {}, b = {};
  ASSERT_OK(fstat(fd, &a));
  ASSERT_OK(fstat(newfd, &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(fcntl(newfd, F_GETFD), 0);
  close(newfd);
  // Without CLONE_FILES the child's dup stays in the child.
  pid = clone(DupAndReturnIt, stack.top(), SIGCHLD, &fd);
  ASSERT_GT(pid, 0);
  status = WaitStatus(pid);
  ASSERT_TRUE(WIFEXITED(status));
  newfd = WEXITSTATUS(status);
  ASSERT_GT(newfd, 2);
  EXPECT_ERRNO(fcntl(newfd, F_GETFD), EBADF);
  close(fd);
}

int ChdirAndUmask(void* arg) {
  if (chdir(static_cast<const char*>(arg)) != 0) return 1;
  umask(027);
  return 0;
}

TEST(CloneTest, CloneFsSharesTheWorkingDirectoryAndUmask) {
  TempPath dir;
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  mode_t old_umask = umask(022);
  CloneStack stack;
  pid_t pid = clone(ChdirAndUmask, stack.top(), CLONE_FS | SIGCHLD,
                    const_cast<char*>(dir.path().c_str()));
  ASSERT_GT(pid, 0) << strerror(errno);
  int status = WaitStatus(pid);
  char now[PATH_MAX];
  char* got = getcwd(now, sizeof(now));
  mode_t now_umask = umask(022);
  chdir(cwd);
  EXPECT_EQ(status, 0);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(std::string(now), dir.path());
  EXPECT_EQ(now_umask, 027u);
  // Without CLONE_FS neither moves.
  pid = clone(ChdirAndUmask, stack.top(), SIGCHLD,
              const_cast<char*>(dir.path().c_str()));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitStatus(pid), 0);
  ASSERT_NE(getcwd(now, sizeof(now)), nullptr);
  EXPECT_EQ(std::string(now), std::string(cwd));
  EXPECT_EQ(umask(old_umask), 022u);
}

int InstallUsr2Handler(void*) {
  struct sigaction act = {};
  act.sa_handler = UsrHandler;
  return static_cast<int>(
      syscall(SYS_rt_sigaction, SIGUSR2, &act, nullptr, 8) == 0 ? 0 : 1);
}

TEST(CloneTest, CloneSighandSharesSignalHandlers) {
  struct sigaction old = {};
  ASSERT_OK(sigaction(SIGUSR2, nullptr, &old));
  CloneStack stack;
  pid_t pid = clone(InstallUsr2Handler, stack.top(),
                    CLONE_VM | CLONE_SIGHAND | SIGCHLD, nullptr);
  ASSERT_GT(pid, 0) << strerror(errno);
  EXPECT_EQ(WaitStatus(pid), 0);
  struct sigaction cur = {};
  ASSERT_OK(sigaction(SIGUSR2, nullptr, &cur));
  ASSERT_OK(sigaction(SIGUSR2, &old, nullptr));
  EXPECT_EQ(cur.sa_handler, UsrHandler);
}

int ReportPpidAndExit(void* arg) {
  pid_t ids[2] = {getpid(), getppid()};
  Send(*static_cast<int*>(arg), ids);
  return 0;
}

TEST(CloneTest, CloneParentGivesTheChildTheCallersParent) {
  Pipe p;
  pid_t me = getpid();
  pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    CloneStack stack;
    // Exit signal 0 is asked for, but CLONE_PARENT takes the caller's own
    // exit signal (SIGCHLD) for the new child.
    pid_t pid = clone(ReportPpidAndExit, stack.top(), CLONE_PARENT, &p.w);
    if (pid < 0) _exit(1);
    // Not our child: nothing to wait for.
    if (waitpid(-1, nullptr, __WALL) != -1 || errno != ECHILD) _exit(2);
    _exit(0);
  }
  EXPECT_EQ(WaitStatus(middle), 0);
  pid_t ids[2] = {};
  ASSERT_TRUE(Receive(p.r, &ids));
  EXPECT_EQ(ids[1], me);
  EXPECT_NE(ids[0], middle);
  // Ours to reap, with plain waitpid (its exit signal is SIGCHLD).
  EXPECT_EQ(WaitStatus(ids[0]), 0);
}

TEST(CloneTest, CloneVforkSuspendsTheParentUntilTheChildExits) {
  CloneStack stack;
  VmChildState s;
  s.sleep_ms = 100;
  pid_t pid = clone(VmChild, stack.top(), CLONE_VM | CLONE_VFORK | SIGCHLD, &s);
  ASSERT_GT(pid, 0) << strerror(errno);
  EXPECT_EQ(s.stored, 42);
  EXPECT_EQ(WaitStatus(pid), 7 << 8);
}

int ExitAtOnce(void*) { return 0; }

// Returns the errno of a clone with `flags` whose child exits at once, or 0
// (after reaping the child) if it succeeded.
int CloneErrno(int flags) {
  CloneStack stack;
  errno = 0;
  pid_t pid = clone(ExitAtOnce, stack.top(), flags, nullptr);
  if (pid == -1) return errno;
  if (!(flags & CLONE_THREAD)) WaitStatus(pid, __WALL);
  return 0;
}

TEST(CloneTest, InvalidFlagCombinationsAreEINVAL) {
  EXPECT_EQ(CloneErrno(CLONE_VM | CLONE_THREAD), EINVAL);
  EXPECT_EQ(CloneErrno(CLONE_SIGHAND | SIGCHLD), EINVAL);
  EXPECT_EQ(CloneErrno(CLONE_THREAD | CLONE_SIGHAND), EINVAL);  // no VM
  EXPECT_EQ(CloneErrno(CLONE_FS | CLONE_NEWNS | SIGCHLD), EINVAL);
  EXPECT_EQ(CloneErrno(CLONE_FS | CLONE_NEWUSER | SIGCHLD), EINVAL);
  EXPECT_EQ(CloneErrno(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWPID),
            EINVAL);
  EXPECT_EQ(CloneErrno(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWUSER),
            EINVAL);
  // A valid neighbour of each works.
  EXPECT_EQ(CloneErrno(CLONE_VM | CLONE_SIGHAND | SIGCHLD), 0);
}

TEST(CloneTest, ClonePidfdReturnsAPidfdThroughTheParentTidArgument) {
  int pidfd = -1;
  long rc = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr,
                    nullptr);
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) syscall(SYS_exit_group, 3);
  pid_t pid = static_cast<pid_t>(rc);
  ASSERT_GE(pidfd, 0);
  EXPECT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
  struct pollfd pfd = {pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
  siginfo_t info = {};
  ASSERT_OK(waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED));
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 3);
  close(pidfd);
}

TEST(CloneTest, ClonePidfdConflicts) {
  int pidfd = -1;
  // The pidfd and the parent tid would share one pointer.
  EXPECT_ERRNO(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD,
                       nullptr, &pidfd, nullptr, nullptr),
               EINVAL);
  EXPECT_ERRNO(syscall(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD,
                       nullptr, &pidfd, nullptr, nullptr),
               EINVAL);
  EXPECT_EQ(pidfd, -1);
}

// ---------------------------------------------------------------- clone3(2)

TEST(Clone3Test, ForkLike) {
  CloneArgs args = {};
  args.exit_signal = SIGCHLD;
  Pipe p;
  long rc = Clone3(&args, sizeof(args));
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) {
    pid_t ids[2] = {static_cast<pid_t>(syscall(SYS_getpid)),
                    static_cast<pid_t>(syscall(SYS_getppid))};
    Send(p.w, ids);
    syscall(SYS_exit_group, 5);
  }
  pid_t ids[2] = {};
  ASSERT_TRUE(Receive(p.r, &ids));
  EXPECT_EQ(ids[0], rc);
  EXPECT_EQ(ids[1], getpid());
  EXPECT_EQ(WaitStatus(static_cast<pid_t>(rc)), 5 << 8);
}

TEST(Clone3Test, TheFirstPublishedSizeIsAccepted) {
  CloneArgs args = {};
  args.exit_signal = SIGCHLD;
  long rc = Clone3(&args, kCloneArgsSizeVer0);
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) syscall(SYS_exit_group, 0);
  EXPECT_EQ(WaitStatus(static_cast<pid_t>(rc)), 0);
}

TEST(Clone3Test, AnExitSignalOtherThanSigchldMakesACloneChild) {
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &usr1, &old));
  CloneArgs args = {};
  args.exit_signal = SIGUSR1;
  long rc = Clone3(&args, sizeof(args));
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) syscall(SYS_exit_group, 4);
  pid_t pid = static_cast<pid_t>(rc);
  // The parent is told with SIGUSR1, carrying the CLD_* siginfo.
  siginfo_t info = {};
  struct timespec timeout = {10, 0};
  EXPECT_EQ(sigtimedwait(&usr1, &info, &timeout), SIGUSR1);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 4);
  // waitpid without __WCLONE or __WALL only sees SIGCHLD children.
  EXPECT_ERRNO(waitpid(pid, nullptr, WNOHANG), ECHILD);
  EXPECT_ERRNO(waitpid(-1, nullptr, WNOHANG), ECHILD);
  EXPECT_EQ(WaitStatus(pid, __WCLONE), 4 << 8);
  ASSERT_OK(sigprocmask(SIG_SETMASK, &old, nullptr));
}

TEST(Clone3Test, ExitSignalZeroNeedsWall) {
  CloneArgs args = {};
  args.exit_signal = 0;
  long rc = Clone3(&args, sizeof(args));
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) syscall(SYS_exit_group, 6);
  pid_t pid = static_cast<pid_t>(rc);
  EXPECT_ERRNO(waitpid(pid, nullptr, WNOHANG), ECHILD);
  EXPECT_EQ(WaitStatus(pid, __WALL), 6 << 8);
}

TEST(Clone3Test, ClonePidfdStoresAPidfd) {
  int pidfd = -1;
  CloneArgs args = {};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  Pipe go;
  long rc = Clone3(&args, sizeof(args));
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) {
    char c;
    Receive(go.r, &c);
    syscall(SYS_exit_group, 0);
  }
  pid_t pid = static_cast<pid_t>(rc);
  ASSERT_GE(pidfd, 0);
  EXPECT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
  std::string fdinfo = ReadFile("/proc/self/fdinfo/" + std::to_string(pidfd));
  EXPECT_NE(fdinfo.find("\nPid:\t" + std::to_string(pid) + "\n"),
            std::string::npos)
      << fdinfo;
  // Not readable while the child runs; readable once it exits.
  struct pollfd pfd = {pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  Send(go.w, 'g');
  EXPECT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
  EXPECT_EQ(WaitStatus(pid), 0);
  close(pidfd);
}

TEST(Clone3Test, ClearSighandResetsHandlersButKeepsIgnored) {
  struct sigaction old1 = {}, old2 = {}, act = {};
  act.sa_handler = UsrHandler;
  ASSERT_OK(sigaction(SIGUSR1, &act, &old1));
  act.sa_handler = SIG_IGN;
  ASSERT_OK(sigaction(SIGUSR2, &act, &old2));
  CloneArgs args = {};
  args.flags = kCloneClearSighand;
  args.exit_signal = SIGCHLD;
  long rc = Clone3(&args, sizeof(args));
  if (rc == 0) {
    struct sigaction a1 = {}, a2 = {};
    sigaction(SIGUSR1, nullptr, &a1);
    sigaction(SIGUSR2, nullptr, &a2);
    syscall(SYS_exit_group, (a1.sa_handler == SIG_DFL ? 0 : 1) |
                                (a2.sa_handler == SIG_IGN ? 0 : 2));
  }
  sigaction(SIGUSR1, &old1, nullptr);
  sigaction(SIGUSR2, &old2, nullptr);
  ASSERT_GE(rc, 0) << strerror(errno);
  EXPECT_EQ(WaitStatus(static_cast<pid_t>(rc)), 0);
}

TEST(Clone3Test, SizeChecks) {
  // Large enough for every check: a page and a bit.
  alignas(8) static unsigned char buf[4096 + 64];
  memset(buf, 0, sizeof(buf));
  reinterpret_cast<CloneArgs*>(buf)->exit_signal = SIGCHLD;
  EXPECT_ERRNO(Clone3(buf, 0), EINVAL);
  EXPECT_ERRNO(Clone3(buf, kCloneArgsSizeVer0 - 1), EINVAL);
  EXPECT_ERRNO(Clone3(buf, 4096 + 1), E2BIG);
  // A larger struct from a newer ABI is fine if the unknown tail is zero,
  // and E2BIG if it is not.
  buf[sizeof(CloneArgs) + 7] = 1;
  EXPECT_ERRNO(Clone3(buf, sizeof(CloneArgs) + 8), E2BIG);
  buf[sizeof(CloneArgs) + 7] = 0;
  long rc = Clone3(buf, sizeof(CloneArgs) + 8);
  ASSERT_GE(rc, 0) << strerror(errno);
  if (rc == 0) syscall(SYS_exit_group, 0);
  EXPECT_EQ(WaitStatus(static_cast<pid_t>(rc)), 0);
  EXPECT_ERRNO(Clone3(reinterpret_cast<void*>(8), sizeof(CloneArgs)), EFAULT);
}

// Returns the errno of a clone3 that must fail before creating anything.
int Clone3Errno(const CloneArgs& in) {
  CloneArgs args = in;
  errno = 0;
  long rc = Clone3(&args, sizeof(args));
  if (rc == 0) syscall(SYS_exit_group, 0);  // a child that must not exist
  if (rc > 0) {
    WaitStatus(static_cast<pid_t>(rc), __WALL);
    return 0;
  }
  return errno;
}

TEST(Clone3Test, InvalidArgumentsAreEINVAL) {
  CloneArgs a = {};
  a.exit_signal = SIGCHLD;
  CloneArgs b = a;
  b.flags = SIGCHLD;  // the exit signal belongs in its own field
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.flags = CLONE_DETACHED;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.flags = 1ULL << 40;  // unknown
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.exit_signal = 65;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.exit_signal = 0x100 | SIGCHLD;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.flags = CLONE_VM | CLONE_SIGHAND | kCloneClearSighand;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;  // CLONE_THREAD and CLONE_PARENT take no exit signal
  b.flags = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.flags = CLONE_PARENT;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.flags = CLONE_THREAD;
  b.exit_signal = 0;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;  // a stack needs a size and a size needs a stack
  b.flags = CLONE_VM;
  b.stack_size = 4096;
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b.stack_size = 0;
  static char stack[4096];
  b.stack = reinterpret_cast<uintptr_t>(stack);
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  b.set_tid_size = 1;  // without set_tid
  EXPECT_EQ(Clone3Errno(b), EINVAL);
  b = a;
  pid_t tids[1] = {0};
  b.set_tid = reinterpret_cast<uintptr_t>(tids);
  b.set_tid_size = 33;  // more than MAX_PID_NS_LEVEL
  EXPECT_EQ(Clone3Errno(b), EINVAL);
}

}  // namespace
