// process_vm_readv(2), process_vm_writev(2) and kcmp(2): another process's
// memory and kernel objects, and who may reach them.

#include <errno.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "test/util/process_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::BecomeUser;
using testing_util::CheckedWaitStatus;
using testing_util::ExitedWith;
using testing_util::ForkPauser;
using testing_util::KillAndReap;
using testing_util::UnusedPid;

constexpr size_t kPage = 4096;

// At the same address in a forked child as here.
char g_buf[2 * kPage];

long VmRead(pid_t pid, const struct iovec* local, unsigned long nl,
            const struct iovec* remote, unsigned long nr,
            unsigned long flags = 0) {
  return syscall(SYS_process_vm_readv, pid, local, nl, remote, nr, flags);
}

long VmWrite(pid_t pid, const struct iovec* local, unsigned long nl,
             const struct iovec* remote, unsigned long nr,
             unsigned long flags = 0) {
  return syscall(SYS_process_vm_writev, pid, local, nl, remote, nr, flags);
}

long Kcmp(pid_t p1, pid_t p2, int type, unsigned long i1, unsigned long i2) {
  return syscall(SYS_kcmp, p1, p2, type, i1, i2);
}

// A child whose g_buf holds `fill` (this process's keeps 'p'), paused
// until killed; with `addr_out`, it also maps two pages, unmaps the
// second and says where they were.
pid_t ChildWith(char fill, uint64_t* addr_out = nullptr) {
  memset(g_buf, 'p', sizeof(g_buf));
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = ForkPauser([&] {
    memset(g_buf, fill, sizeof(g_buf));
    void* m = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) _exit(2);
    memset(m, fill, kPage);
    munmap(static_cast<char*>(m) + kPage, kPage);
    uint64_t addr = reinterpret_cast<uint64_t>(m);
    if (write(fds[1], &addr, sizeof(addr)) != sizeof(addr)) _exit(2);
  });
  uint64_t addr = 0;
  if (read(fds[0], &addr, sizeof(addr)) != sizeof(addr)) addr = 0;
  close(fds[0]);
  close(fds[1]);
  if (addr_out != nullptr) *addr_out = addr;
  return pid;
}

TEST(ProcessVmTest, ReadsAnotherProcesssMemory) {
  pid_t pid = ChildWith('c');
  ASSERT_GT(pid, 0);
  char out[100] = {};
  struct iovec local = {out, sizeof(out)};
  struct iovec remote = {g_buf, sizeof(out)};
  EXPECT_EQ(VmRead(pid, &local, 1, &remote, 1), 100);
  EXPECT_EQ(std::string(out, 100), std::string(100, 'c'));
  EXPECT_EQ(g_buf[0], 'p');  // ours is untouched
  KillAndReap(pid);
}

TEST(ProcessVmTest, WritesAnotherProcesssMemory) {
  memset(g_buf, 'p', sizeof(g_buf));
  int go[2], back[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(back), 0);
  pid_t pid = ForkPauser([&] {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    if (write(back[1], g_buf, 6) != 6) _exit(2);
  });
  ASSERT_GT(pid, 0);
  char hello[] = "hello!";
  struct iovec local = {hello, 6};
  struct iovec remote = {g_buf, 6};
  EXPECT_EQ(VmWrite(pid, &local, 1, &remote, 1), 6);
  ASSERT_EQ(write(go[1], "g", 1), 1);
  char got[7] = {};
  ASSERT_EQ(read(back[0], got, 6), 6);
  EXPECT_STREQ(got, "hello!");
  EXPECT_EQ(g_buf[0], 'p');
  KillAndReap(pid);
  for (int fd : {go[0], go[1], back[0], back[1]}) close(fd);
}

TEST(ProcessVmTest, ScattersAndGathersAcrossIovecs) {
  pid_t pid = ChildWith('c');
  ASSERT_GT(pid, 0);
  // Remote: 3 bytes at g_buf, 5 at g_buf+100. Local: 2, 0, 10 bytes.
  g_buf[0] = 'x';  // ours only
  char a[2], b[10];
  struct iovec local[] = {{a, 2}, {nullptr, 0}, {b, 10}};
  struct iovec remote[] = {{g_buf, 3}, {g_buf + 100, 5}};
  EXPECT_EQ(VmRead(pid, local, 3, remote, 2), 8);
  EXPECT_EQ(std::string(a, 2), "cc");
  EXPECT_EQ(std::string(b, 6), "cccccc");
  // Local room limits what moves: 4 bytes of 8 asked for.
  char small[4];
  struct iovec one = {small, 4};
  EXPECT_EQ(VmRead(pid, &one, 1, remote, 2), 4);
  KillAndReap(pid);
}

TEST(ProcessVmTest, StopsAtTheFirstFault) {
  uint64_t addr = 0;
  pid_t pid = ChildWith('c', &addr);
  ASSERT_GT(pid, 0);
  ASSERT_NE(addr, 0u);
  std::string out(2 * kPage, '\0');
  struct iovec local = {out.data(), out.size()};
  // A page mapped, then one not: what was read.
  struct iovec remote = {reinterpret_cast<void*>(addr), 2 * kPage};
  EXPECT_EQ(VmRead(pid, &local, 1, &remote, 1), static_cast<long>(kPage));
  EXPECT_EQ(out.substr(0, kPage), std::string(kPage, 'c'));
  // Nothing mapped: EFAULT. Later iovecs are not tried after a fault.
  struct iovec gone[] = {{reinterpret_cast<void*>(addr + kPage), 10},
                         {g_buf, 10}};
  EXPECT_ERRNO(VmRead(pid, &local, 1, gone, 2), EFAULT);
  EXPECT_ERRNO(VmWrite(pid, &local, 1, gone, 2), EFAULT);
  // A local buffer that faults: EFAULT too.
  struct iovec bad_local = {reinterpret_cast<void*>(8), 10};
  struct iovec ok_remote = {g_buf, 10};
  EXPECT_ERRNO(VmRead(pid, &bad_local, 1, &ok_remote, 1), EFAULT);
  EXPECT_ERRNO(VmWrite(pid, &bad_local, 1, &ok_remote, 1), EFAULT);
  KillAndReap(pid);
}

TEST(ProcessVmTest, WritesHonourTheTargetsProtections) {
  // The child's text is read-only: a write there fails as a store would.
  pid_t pid = ChildWith('c');
  ASSERT_GT(pid, 0);
  char x[4] = {1, 2, 3, 4};
  struct iovec local = {x, 4};
  struct iovec remote = {reinterpret_cast<void*>(&VmRead), 4};
  EXPECT_ERRNO(VmWrite(pid, &local, 1, &remote, 1), EFAULT);
  KillAndReap(pid);
}

TEST(ProcessVmTest, Errors) {
  char buf[8];
  struct iovec local = {buf, 8};
  struct iovec remote = {g_buf, 8};
  EXPECT_ERRNO(VmRead(getpid(), &local, 1, &remote, 1, 1), EINVAL);
  EXPECT_ERRNO(VmWrite(getpid(), &local, 1, &remote, 1, ~0UL), EINVAL);
  EXPECT_ERRNO(VmRead(getpid(), &local, 1025, &remote, 1), EINVAL);
  EXPECT_ERRNO(VmRead(getpid(), &local, 1, &remote, 1025), EINVAL);
  EXPECT_ERRNO(VmRead(getpid(), &local, 1, nullptr, 1), EFAULT);
  struct iovec negative = {g_buf, static_cast<size_t>(-1)};
  EXPECT_ERRNO(VmRead(getpid(), &local, 1, &negative, 1), EINVAL);
  // Nothing to move: 0 before the process is even looked up.
  EXPECT_EQ(VmRead(UnusedPid(), &local, 0, &remote, 1), 0);
  EXPECT_EQ(VmRead(UnusedPid(), &local, 1, &remote, 0), 0);
  struct iovec empty = {g_buf, 0};
  EXPECT_EQ(VmRead(UnusedPid(), &local, 1, &empty, 1), 0);
  EXPECT_ERRNO(VmRead(UnusedPid(), &local, 1, &remote, 1), ESRCH);
  EXPECT_ERRNO(VmRead(0, &local, 1, &remote, 1), ESRCH);
  EXPECT_ERRNO(VmRead(-1, &local, 1, &remote, 1), ESRCH);
  // One's own memory works.
  memcpy(g_buf, "selfself", 8);
  EXPECT_EQ(VmRead(getpid(), &local, 1, &remote, 1), 8);
  EXPECT_EQ(std::string(buf, 8), "selfself");
}

// A root child paused, for unprivileged callers to try.
TEST(ProcessVmTest, AnotherUsersProcessIsEPERM) {
  pid_t root_child = ChildWith('r');
  ASSERT_GT(root_child, 0);
  int status = testing_util::RunInChild([&] {
    BecomeUser(65534, 65534);
    // Changing uids made this process undumpable (fs.suid_dumpable 0),
    // and its children would inherit that.
    CHILD_CHECK(prctl(PR_SET_DUMPABLE, 1) == 0);
    char buf[4];
    struct iovec local = {buf, 4};
    struct iovec remote = {g_buf, 4};
    CHILD_CHECK(VmRead(root_child, &local, 1, &remote, 1) == -1 &&
                errno == EPERM);
    CHILD_CHECK(Kcmp(root_child, getpid(), KCMP_VM, 0, 0) == -1 &&
                errno == EPERM);
    CHILD_CHECK(Kcmp(getpid(), root_child, KCMP_VM, 0, 0) == -1 &&
                errno == EPERM);
    // A process of one's own uid is fine, unless it is not dumpable.
    int fds[2];
    CHILD_CHECK(pipe(fds) == 0);
    pid_t mine = ForkPauser([&] {
      if (write(fds[1], "x", 1) != 1) _exit(2);
    });
    char c;
    CHILD_CHECK(read(fds[0], &c, 1) == 1);
    CHILD_CHECK(VmRead(mine, &local, 1, &remote, 1) == 4);
    KillAndReap(mine);
    pid_t hidden = ForkPauser([&] {
      prctl(PR_SET_DUMPABLE, 0);
      if (write(fds[1], "x", 1) != 1) _exit(2);
    });
    CHILD_CHECK(read(fds[0], &c, 1) == 1);
    CHILD_CHECK(VmRead(hidden, &local, 1, &remote, 1) == -1 && errno == EPERM);
    KillAndReap(hidden);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
  KillAndReap(root_child);
}

TEST(KcmpTest, ComparesFilesByDescriptionNotByNumber) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int dup_fd = dup(fds[0]);
  ASSERT_GE(dup_fd, 0);
  pid_t me = getpid();
  EXPECT_EQ(Kcmp(me, me, KCMP_FILE, fds[0], dup_fd), 0);
  long ab = Kcmp(me, me, KCMP_FILE, fds[0], fds[1]);
  long ba = Kcmp(me, me, KCMP_FILE, fds[1], fds[0]);
  EXPECT_TRUE((ab == 1 && ba == 2) || (ab == 2 && ba == 1)) << ab << " " << ba;
  // A forked child's copy of an fd is the same description.
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(Kcmp(me, pid, KCMP_FILE, fds[1], fds[1]), 0);
  EXPECT_NE(Kcmp(me, pid, KCMP_FILE, fds[0], fds[1]), 0);
  EXPECT_ERRNO(Kcmp(me, pid, KCMP_FILE, fds[0], 999), EBADF);
  // Indexes are unsigned ints: the high bits are dropped.
  EXPECT_EQ(Kcmp(me, me, KCMP_FILE, (1UL << 32) | fds[0], fds[0]), 0);
  KillAndReap(pid);
  for (int fd : {fds[0], fds[1], dup_fd}) close(fd);
}

TEST(KcmpTest, ThreadsShareWhatForkCopies) {
  pid_t me = getpid();
  pid_t tid = 0;
  std::atomic<bool> stop{false};
  std::thread thread([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    while (!stop) usleep(1000);
  });
  while (tid == 0) usleep(1000);
  pid_t pid = ForkPauser();
  ASSERT_GT(pid, 0);
  for (int type : {KCMP_VM, KCMP_FILES, KCMP_FS, KCMP_SIGHAND}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(Kcmp(me, me, type, 0, 0), 0);
    EXPECT_EQ(Kcmp(me, tid, type, 0, 0), 0);
    long a = Kcmp(me, pid, type, 0, 0), b = Kcmp(pid, me, type, 0, 0);
    EXPECT_TRUE((a == 1 && b == 2) || (a == 2 && b == 1)) << a << " " << b;
  }
  stop = true;
  thread.join();
  KillAndReap(pid);
}

TEST(KcmpTest, EpollTargets) {
  struct Slot {
    uint32_t efd, tfd, toff;
  };
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev), 0);
  pid_t me = getpid();
  Slot slot = {static_cast<uint32_t>(ep), static_cast<uint32_t>(fds[0]), 0};
  auto addr = reinterpret_cast<unsigned long>(&slot);
  EXPECT_EQ(Kcmp(me, me, KCMP_EPOLL_TFD, fds[0], addr), 0);
  EXPECT_NE(Kcmp(me, me, KCMP_EPOLL_TFD, fds[1], addr), 0);
  slot.toff = 1;  // only one registration of that fd
  EXPECT_ERRNO(Kcmp(me, me, KCMP_EPOLL_TFD, fds[0], addr), ENOENT);
  slot = {static_cast<uint32_t>(ep), static_cast<uint32_t>(fds[1]), 0};
  EXPECT_ERRNO(Kcmp(me, me, KCMP_EPOLL_TFD, fds[0], addr), ENOENT);
  slot = {static_cast<uint32_t>(fds[1]), static_cast<uint32_t>(fds[0]), 0};
  EXPECT_ERRNO(Kcmp(me, me, KCMP_EPOLL_TFD, fds[0], addr), EINVAL);
  slot = {999, static_cast<uint32_t>(fds[0]), 0};
  EXPECT_ERRNO(Kcmp(me, me, KCMP_EPOLL_TFD, fds[0], addr), EBADF);
  EXPECT_ERRNO(Kcmp(me, me, KCMP_EPOLL_TFD, 999, addr), EBADF);
  EXPECT_ERRNO(Kcmp(me, me, KCMP_EPOLL_TFD, fds[0], 8), EFAULT);
  for (int fd : {ep, fds[0], fds[1]}) close(fd);
}

TEST(KcmpTest, Errors) {
  pid_t me = getpid();
  EXPECT_ERRNO(Kcmp(0, me, KCMP_VM, 0, 0), ESRCH);
  EXPECT_ERRNO(Kcmp(me, UnusedPid(), KCMP_VM, 0, 0), ESRCH);
  EXPECT_ERRNO(Kcmp(me, -1, KCMP_VM, 0, 0), ESRCH);
  EXPECT_ERRNO(Kcmp(me, me, KCMP_TYPES, 0, 0), EINVAL);
  EXPECT_ERRNO(Kcmp(me, me, -1, 0, 0), EINVAL);
  // The tasks are looked up before the type is checked.
  EXPECT_ERRNO(Kcmp(UnusedPid(), me, KCMP_TYPES, 0, 0), ESRCH);
}

}  // namespace
