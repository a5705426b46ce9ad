// POSIX message queues as Linux implements them (ipc/mqueue.c): mq_open(2)
// (default and explicit attributes, O_EXCL, names, bad attributes and the
// sysctl limits for an unprivileged user, RLIMIT_MSGQUEUE, access modes,
// close-on-exec, the mode and the umask, permissions), mq_unlink(2) (open
// descriptors outlive the name; the sticky root), mq_timedsend(2) and
// mq_timedreceive(2) (priority order, lengths, errors, blocking and
// wake-ups from threads and processes, timeouts, signals), mq_getsetattr(2),
// mq_notify(2) with SIGEV_SIGNAL and SIGEV_NONE, read(2) and poll(2) of a
// queue descriptor, and the mqueue filesystem at /dev/mqueue when mounted.
//
// The raw system calls take the name without glibc's leading '/', so the
// tests call them directly wherever the name matters (and for every error
// case); glibc's mq_getattr(3) and mq_setattr(3) are thin wrappers of
// mq_getsetattr(2) and are used where convenient.

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::BecomeUser;
using testing_util::CheckedWaitStatus;
using testing_util::Drain;
using testing_util::ExitedWith;
using testing_util::ForkChild;
using testing_util::FromNs;
using testing_util::Gettid;
using testing_util::InForkedChild;
using testing_util::kMs;
using testing_util::kSec;
using testing_util::ListDir;
using testing_util::NowNs;
using testing_util::PendingMask;
using testing_util::Pipe;
using testing_util::ProcState;
using testing_util::ReadFile;
using testing_util::RtSigtimedwait;
using testing_util::ScopedAction;
using testing_util::ScopedMask;
using testing_util::SigBit;
using testing_util::WaitFor;
using testing_util::Watchdog;

// The unprivileged user the permission tests become.
constexpr uid_t kNobody = 65534;

// Small limits for the tests' queues: every queue's worst-case size counts
// against its creator's RLIMIT_MSGQUEUE (819200 bytes by default), which
// ten queues of the default 10 x 8192 bytes would already exceed.
constexpr long kMaxMsg = 4;
constexpr long kMsgSize = 16;

// Large enough for a message of any queue in these tests.
constexpr size_t kBufSize = 1 << 16;

// The signal the notification tests ask for.
constexpr int kSig = SIGUSR1;

// The kernel's highest signal number (glibc's _NSIG is one more).
constexpr int kMaxSignal = 64;

// The line read(2) of a queue descriptor yields (mqueue_read_file).
constexpr char kStatusFormat[] =
    "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n";

long MqOpen(const std::string& name, int oflag, mode_t mode = 0600,
            const struct mq_attr* attr = nullptr) {
  return syscall(SYS_mq_open, name.c_str(), oflag, mode, attr);
}

long MqUnlink(const std::string& name) {
  return syscall(SYS_mq_unlink, name.c_str());
}

long MqTimedsend(long fd, const void* msg, size_t len, unsigned prio,
                 const struct timespec* deadline = nullptr) {
  return syscall(SYS_mq_timedsend, fd, msg, len, prio, deadline);
}

long MqTimedreceive(long fd, void* buf, size_t len, unsigned* prio,
                    const struct timespec* deadline = nullptr) {
  return syscall(SYS_mq_timedreceive, fd, buf, len, prio, deadline);
}

long MqNotify(long fd, const struct sigevent* sev) {
  return syscall(SYS_mq_notify, fd, sev);
}

long MqGetsetattr(long fd, const struct mq_attr* new_attr,
                  struct mq_attr* old_attr) {
  return syscall(SYS_mq_getsetattr, fd, new_attr, old_attr);
}

struct mq_attr Attr(long maxmsg, long msgsize) {
  struct mq_attr attr = {};
  attr.mq_maxmsg = maxmsg;
  attr.mq_msgsize = msgsize;
  return attr;
}

// A queue name unique to this process and test, so that tests (and other
// runs of this program: queues outlive processes) do not meet:
// "mqueue_test.<pid>.<test>[.<suffix>]". Compute it before forking, since
// a child's pid differs.
std::string QueueName(const std::string& suffix = "") {
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "mqueue_test." + std::to_string(getpid()) + "." +
                     (info != nullptr ? info->name() : "none");
  if (!suffix.empty()) name += "." + suffix;
  return name;
}

// A new queue (O_CREAT | O_EXCL), by default with the small limits above
// (maxmsg 0 asks for the defaults: no attributes), unlinked and closed when
// destroyed.
class ScopedQueue {
 public:
  explicit ScopedQueue(std::string name, int oflag = O_RDWR,
                       long maxmsg = kMaxMsg, long msgsize = kMsgSize,
                       mode_t mode = 0600)
      : name_(std::move(name)) {
    struct mq_attr attr = Attr(maxmsg, msgsize);
    fd_ = MqOpen(name_, oflag | O_CREAT | O_EXCL, mode,
                 maxmsg == 0 ? nullptr : &attr);
    error_ = errno;
  }
  ~ScopedQueue() {
    if (fd_ >= 0) close(fd_);
    MqUnlink(name_);
  }
  ScopedQueue(const ScopedQueue&) = delete;
  ScopedQueue& operator=(const ScopedQueue&) = delete;

  int fd() const { return static_cast<int>(fd_); }
  const std::string& name() const { return name_; }
  // Why creating the queue failed.
  const char* error() const { return strerror(error_); }

 private:
  std::string name_;
  long fd_ = -1;
  int error_ = 0;
};

// Sets the umask and restores the old one when destroyed.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

// Blocks the notification signal for the calling thread (and the threads
// and children it then starts), so that notifications stay pending to be
// examined; at the end discards any still pending and restores the mask.
class BlockNotifySignal {
 public:
  BlockNotifySignal() : mask_(SIG_BLOCK, {kSig}) {}
  ~BlockNotifySignal() { Drain({kSig}); }
  BlockNotifySignal(const BlockNotifySignal&) = delete;
  BlockNotifySignal& operator=(const BlockNotifySignal&) = delete;

 private:
  ScopedMask mask_;  // restored after the destructor's body has drained
};

long SendMsg(int fd, const std::string& data, unsigned prio = 0) {
  return MqTimedsend(fd, data.data(), data.size(), prio);
}

struct Message {
  std::string data;
  unsigned prio = 0;
};

// Receives a message (waiting for one unless the descriptor is
// non-blocking); a failure is a test failure and yields "<failed>".
Message ReceiveMsg(int fd) {
  std::vector<char> buf(kBufSize);
  Message m;
  long n = MqTimedreceive(fd, buf.data(), buf.size(), &m.prio);
  EXPECT_GE(n, 0) << "mq_timedreceive: " << strerror(errno);
  m.data = n >= 0 ? std::string(buf.data(), n) : "<failed>";
  return m;
}

struct mq_attr GetAttr(int fd) {
  struct mq_attr attr = {};
  EXPECT_EQ(mq_getattr(fd, &attr), 0) << strerror(errno);
  return attr;
}

long CurMsgs(int fd) { return GetAttr(fd).mq_curmsgs; }

// What read(2) of a queue descriptor yields from offset 0.
std::string Status(int fd) {
  char buf[256];
  ssize_t n = pread(fd, buf, sizeof(buf), 0);
  EXPECT_GE(n, 0) << "pread: " << strerror(errno);
  return n >= 0 ? std::string(buf, n) : "";
}

std::string ExpectedStatus(unsigned long qsize, int notify, int signo,
                           pid_t pid) {
  char buf[128];
  snprintf(buf, sizeof(buf), kStatusFormat, qsize, notify, signo, pid);
  return buf;
}

// The status line of a queue with `qsize` bytes queued and no
// notification registered.
std::string IdleStatus(unsigned long qsize) {
  return ExpectedStatus(qsize, 0, 0, 0);
}

// A number from a /proc/sys file, or -1 if it cannot be read.
long ReadProcLong(const std::string& path) {
  std::string s = ReadFile(path);
  if (s.empty()) return -1;
  return strtol(s.c_str(), nullptr, 10);
}

// The state letter of thread `tid` of this process, or '?'.
char TaskState(pid_t tid) {
  std::string stat =
      ReadFile("/proc/self/task/" + std::to_string(tid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return '?';
  return stat[paren + 2];
}

// Waits (up to 10 s) until thread `tid` of this process sleeps, which for
// the threads these tests watch means it is blocked in the call under
// test.
bool WaitUntilSleeping(pid_t tid) {
  return WaitFor([tid] { return TaskState(tid) == 'S'; });
}

// Waits up to 5 s for the (blocked) notification signal and dequeues it;
// returns it or -1.
int TakeSignal(siginfo_t* info) {
  struct timespec ts = FromNs(5 * kSec);
  return static_cast<int>(RtSigtimedwait(SigBit(kSig), info, &ts));
}

bool SignalPending() { return (PendingMask() & SigBit(kSig)) != 0; }

struct sigevent SignalEvent(int signo, int value) {
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = signo;
  sev.sigev_value.sival_int = value;
  return sev;
}

struct sigevent NoneEvent() {
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_NONE;
  return sev;
}

// An absolute CLOCK_REALTIME deadline `offset_ns` from now.
struct timespec RealtimeIn(int64_t offset_ns) {
  return FromNs(NowNs(CLOCK_REALTIME) + offset_ns);
}

constexpr char kDevMqueue[] = "/dev/mqueue";

// Whether /dev/mqueue is a mount of the mqueue filesystem, per
// /proc/self/mountinfo (mount point in field 5, the filesystem type after
// the " - " separator).
bool DevMqueueMounted() {
  std::istringstream lines(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string f, mount_point;
    for (int i = 0; i < 5 && fields >> f; i++) {
      if (i == 4) mount_point = f;
    }
    while (fields >> f && f != "-") {
    }
    std::string fstype;
    fields >> fstype;
    if (mount_point == kDevMqueue && fstype == "mqueue") return true;
  }
  return false;
}

#define SKIP_WITHOUT_DEV_MQUEUE()                            \
  do {                                                       \
    if (!DevMqueueMounted()) {                               \
      GTEST_SKIP() << "no mqueue filesystem at /dev/mqueue"; \
    }                                                        \
  } while (0)

// ---------------------------------------------------------------------------
// mq_open(2)

TEST(MqOpenTest, CreateWithoutAttributesUsesTheSysctlDefaults) {
  long msg_default = ReadProcLong("/proc/sys/fs/mqueue/msg_default");
  long msgsize_default = ReadProcLong("/proc/sys/fs/mqueue/msgsize_default");
  if (msg_default < 0 || msgsize_default < 0) {
    GTEST_SKIP() << "cannot read /proc/sys/fs/mqueue/msg_default or "
                    "msgsize_default";
  }
  ScopedQueue q(QueueName(), O_RDWR, /*maxmsg=*/0);
  ASSERT_GE(q.fd(), 0) << q.error();
  struct mq_attr attr = GetAttr(q.fd());
  EXPECT_EQ(attr.mq_flags, 0);
  EXPECT_EQ(attr.mq_maxmsg, msg_default);
  EXPECT_EQ(attr.mq_msgsize, msgsize_default);
  EXPECT_EQ(attr.mq_curmsgs, 0);
}

TEST(MqOpenTest, CreateWithExplicitAttributes) {
  ScopedQueue q(QueueName(), O_RDWR | O_NONBLOCK, 3, 100);
  ASSERT_GE(q.fd(), 0) << q.error();
  struct mq_attr attr = GetAttr(q.fd());
  EXPECT_EQ(attr.mq_flags, O_NONBLOCK);
  EXPECT_EQ(attr.mq_maxmsg, 3);
  EXPECT_EQ(attr.mq_msgsize, 100);
  EXPECT_EQ(attr.mq_curmsgs, 0);
}

TEST(MqOpenTest, ExclusiveCreateOfAnExistingQueueIsEexist) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct mq_attr attr = Attr(kMaxMsg, kMsgSize);
  EXPECT_ERRNO(MqOpen(q.name(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr),
               EEXIST);
  EXPECT_ERRNO(MqOpen(q.name(), O_RDONLY | O_CREAT | O_EXCL), EEXIST);
}

TEST(MqOpenTest, CreateOfAnExistingQueueOpensItAndIgnoresTheAttributes) {
  ScopedQueue q(QueueName(), O_RDWR, 2, 8);
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  // Attributes are checked only when a queue is made, so even invalid ones
  // pass here.
  struct mq_attr bad = Attr(0, -1);
  long fd = MqOpen(q.name(), O_RDWR | O_CREAT, 0600, &bad);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct mq_attr attr = GetAttr(fd);
  EXPECT_EQ(attr.mq_maxmsg, 2);
  EXPECT_EQ(attr.mq_msgsize, 8);
  EXPECT_EQ(attr.mq_curmsgs, 1);
  EXPECT_EQ(ReceiveMsg(fd).data, "x");
  close(fd);
}

TEST(MqOpenTest, MissingQueueWithoutCreateIsEnoent) {
  std::string name = QueueName();
  EXPECT_ERRNO(MqOpen(name, O_RDONLY), ENOENT);
  EXPECT_ERRNO(MqOpen(name, O_RDWR | O_EXCL), ENOENT);
}

TEST(MqOpenTest, EmptyNameIsEnoent) {
  // getname() refuses an empty string before anything else.
  EXPECT_ERRNO(MqOpen("", O_RDWR), ENOENT);
  EXPECT_ERRNO(MqOpen("", O_RDWR | O_CREAT), ENOENT);
}

TEST(MqOpenTest, NameWithSlashIsEacces) {
  // The kernel's names have no leading '/' (glibc strips it): a '/'
  // anywhere makes the one-component lookup in the mqueue root fail.
  std::string name = QueueName();
  EXPECT_ERRNO(MqOpen("/" + name, O_RDWR | O_CREAT), EACCES);
  EXPECT_ERRNO(MqOpen(name + "/x", O_RDWR | O_CREAT), EACCES);
  EXPECT_ERRNO(MqOpen("/", O_RDWR | O_CREAT), EACCES);
  EXPECT_ERRNO(MqOpen(name, O_RDONLY), ENOENT);
}

TEST(MqOpenTest, DotAndDotDotAreEacces) {
  for (const char* name : {".", ".."}) {
    SCOPED_TRACE(name);
    EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT), EACCES);
    EXPECT_ERRNO(MqOpen(name, O_RDONLY), EACCES);
  }
}

TEST(MqOpenTest, NameOfNameMaxBytesWorksAndLongerIsEnametoolong) {
  std::string longest = QueueName();
  longest.resize(NAME_MAX, 'x');
  std::string too_long = longest + "x";
  struct mq_attr attr = Attr(kMaxMsg, kMsgSize);
  EXPECT_ERRNO(MqOpen(too_long, O_RDWR | O_CREAT, 0600, &attr), ENAMETOOLONG);
  EXPECT_ERRNO(MqOpen(too_long, O_RDWR), ENAMETOOLONG);
  ScopedQueue q(longest);
  EXPECT_GE(q.fd(), 0) << q.error();
}

TEST(MqOpenTest, NonPositiveMaxmsgOrMsgsizeIsEinval) {
  std::string name = QueueName();
  for (const auto& [maxmsg, msgsize] :
       std::vector<std::pair<long, long>>{{0, 8}, {-1, 8}, {1, 0}, {1, -1}}) {
    SCOPED_TRACE("maxmsg " + std::to_string(maxmsg) + ", msgsize " +
                 std::to_string(msgsize));
    struct mq_attr attr = Attr(maxmsg, msgsize);
    EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT, 0600, &attr), EINVAL);
  }
  // Nor was a queue made.
  EXPECT_ERRNO(MqOpen(name, O_RDONLY), ENOENT);
}

TEST(MqOpenTest, AttributesBeyondTheSysctlLimitsAreEinvalForAnOrdinaryUser) {
  long msg_max = ReadProcLong("/proc/sys/fs/mqueue/msg_max");
  long msgsize_max = ReadProcLong("/proc/sys/fs/mqueue/msgsize_max");
  if (msg_max < 0 || msgsize_max < 0) {
    GTEST_SKIP() << "cannot read /proc/sys/fs/mqueue/msg_max or msgsize_max";
  }
  // Only as an ordinary user: with CAP_SYS_RESOURCE (which root may or may
  // not have) the limits are the hard ones, 65536 messages of 16 MiB.
  std::string name = QueueName();
  InForkedChild([&] {
    BecomeUser(kNobody, kNobody);
    ASSERT_EQ(geteuid(), kNobody);
    struct mq_attr attr = Attr(msg_max + 1, 1);
    EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT, 0600, &attr), EINVAL);
    attr = Attr(1, msgsize_max + 1);
    EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT, 0600, &attr), EINVAL);
    EXPECT_ERRNO(MqOpen(name, O_RDONLY), ENOENT);
    // Within the limits the same user may make one.
    attr = Attr(1, 1);
    long fd = MqOpen(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    EXPECT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(MqUnlink(name), 0) << strerror(errno);
  });
  MqUnlink(name);
}

TEST(MqOpenTest, QueueBeyondRlimitMsgqueueIsEmfile) {
  ScopedQueue existing(QueueName("existing"));
  ASSERT_GE(existing.fd(), 0) << existing.error();
  std::string name = QueueName();
  InForkedChild([&] {
    // Every queue's worst-case size counts against its creator's limit,
    // privileged or not.
    struct rlimit zero = {0, 0};
    ASSERT_EQ(setrlimit(RLIMIT_MSGQUEUE, &zero), 0) << strerror(errno);
    struct mq_attr attr = Attr(1, 1);
    EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT, 0600, &attr), EMFILE);
    EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT), EMFILE);
    EXPECT_ERRNO(MqOpen(name, O_RDONLY), ENOENT);
    // Opening an existing queue makes nothing.
    long fd = MqOpen(existing.name(), O_RDWR);
    EXPECT_GE(fd, 0) << strerror(errno);
  });
  MqUnlink(name);
}

TEST(MqOpenTest, BadAttributesPointerIsEfault) {
  std::string name = QueueName();
  auto* bad = reinterpret_cast<const struct mq_attr*>(8);
  EXPECT_ERRNO(MqOpen(name, O_RDWR | O_CREAT, 0600, bad), EFAULT);
  EXPECT_ERRNO(MqOpen(name, O_RDONLY), ENOENT);
}

TEST(MqOpenTest, AccessModeThreeOfAnExistingQueueIsEinval) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_ERRNO(MqOpen(q.name(), O_ACCMODE), EINVAL);
  EXPECT_ERRNO(MqOpen(q.name(), O_ACCMODE | O_CREAT), EINVAL);
}

TEST(MqOpenTest, CreateWithAccessModeThreeGivesADescriptorForNeither) {
  // Surprising: the access mode is only checked when the queue exists, so
  // O_CREAT of a new name succeeds, and the descriptor (with neither
  // FMODE_READ nor FMODE_WRITE) can neither send nor receive.
  ScopedQueue q(QueueName(), O_ACCMODE);
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(fcntl(q.fd(), F_GETFL) & O_ACCMODE, O_ACCMODE);
  EXPECT_ERRNO(SendMsg(q.fd(), "x"), EBADF);
  char buf[kMsgSize];
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), EBADF);
  EXPECT_EQ(GetAttr(q.fd()).mq_maxmsg, kMaxMsg);
}

TEST(MqOpenTest, DescriptorsAreAlwaysCloseOnExec) {
  ScopedQueue q(QueueName(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(fcntl(q.fd(), F_GETFD), FD_CLOEXEC);
  // Surprising: also without O_CLOEXEC. Linux allocates every mq_open
  // descriptor close-on-exec (POSIX has exec close message queue
  // descriptors).
  long fd = MqOpen(q.name(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(MqOpenTest, ModeHonoursTheUmaskAndTheCreatorOwnsTheQueue) {
  ScopedUmask mask(027);
  ScopedQueue q(QueueName(), O_RDWR, kMaxMsg, kMsgSize, 0666);
  ASSERT_GE(q.fd(), 0) << q.error();
  struct stat st;
  ASSERT_EQ(fstat(q.fd(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_mode, S_IFREG | 0640);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_gid, getegid());
}

TEST(MqOpenTest, ModeKeepsTheSpecialBits) {
  // Only the file type is forced (S_IFREG); setuid, setgid and sticky
  // bits survive like the permission bits.
  ScopedUmask mask(0);
  ScopedQueue q(QueueName(), O_RDWR, kMaxMsg, kMsgSize, 07777);
  ASSERT_GE(q.fd(), 0) << q.error();
  struct stat st;
  ASSERT_EQ(fstat(q.fd(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_mode, S_IFREG | 07777);
}

TEST(MqOpenTest, AnotherUserWithoutPermissionIsEacces) {
  ScopedQueue mine(QueueName("mine"), O_RDWR, kMaxMsg, kMsgSize, 0600);
  ASSERT_GE(mine.fd(), 0) << mine.error();
  ScopedQueue readable(QueueName("readable"), O_RDWR, kMaxMsg, kMsgSize, 0644);
  ASSERT_GE(readable.fd(), 0) << readable.error();
  InForkedChild([&] {
    BecomeUser(kNobody, kNobody);
    ASSERT_EQ(geteuid(), kNobody);
    for (int mode : {O_RDONLY, O_WRONLY, O_RDWR}) {
      SCOPED_TRACE("access mode " + std::to_string(mode));
      EXPECT_ERRNO(MqOpen(mine.name(), mode), EACCES);
      EXPECT_ERRNO(MqOpen(mine.name(), mode | O_CREAT), EACCES);
    }
    // Existence is checked before permission.
    EXPECT_ERRNO(MqOpen(mine.name(), O_RDONLY | O_CREAT | O_EXCL), EEXIST);
    long fd = MqOpen(readable.name(), O_RDONLY);
    EXPECT_GE(fd, 0) << strerror(errno);
    EXPECT_ERRNO(MqOpen(readable.name(), O_WRONLY), EACCES);
    EXPECT_ERRNO(MqOpen(readable.name(), O_RDWR), EACCES);
  });
}

// ---------------------------------------------------------------------------
// mq_unlink(2)

TEST(MqUnlinkTest, RemovesTheNameWhileOpenDescriptorsKeepWorking) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "before"), 0);
  ASSERT_EQ(MqUnlink(q.name()), 0) << strerror(errno);
  EXPECT_ERRNO(MqOpen(q.name(), O_RDWR), ENOENT);
  EXPECT_ERRNO(MqUnlink(q.name()), ENOENT);
  // The unlinked queue still works through its descriptor.
  EXPECT_EQ(SendMsg(q.fd(), "after"), 0);
  EXPECT_EQ(CurMsgs(q.fd()), 2);
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "before");
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "after");
  // The name is free for a new, separate queue.
  ASSERT_EQ(SendMsg(q.fd(), "old"), 0);
  struct mq_attr attr = Attr(kMaxMsg, kMsgSize);
  long fd = MqOpen(q.name(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(CurMsgs(fd), 0);
  EXPECT_EQ(CurMsgs(q.fd()), 1);
  close(fd);
}

TEST(MqUnlinkTest, MissingOrInvalidNames) {
  std::string name = QueueName();
  EXPECT_ERRNO(MqUnlink(name), ENOENT);
  EXPECT_ERRNO(MqUnlink(""), ENOENT);
  EXPECT_ERRNO(MqUnlink("."), EACCES);
  EXPECT_ERRNO(MqUnlink(".."), EACCES);
  EXPECT_ERRNO(MqUnlink("/" + name), EACCES);
  std::string too_long = name;
  too_long.resize(NAME_MAX + 1, 'x');
  EXPECT_ERRNO(MqUnlink(too_long), ENAMETOOLONG);
}

TEST(MqUnlinkTest, AnOrdinaryUserCannotUnlinkAnotherUsersQueue) {
  // The mqueue root directory is sticky (mode 01777), so only a queue's
  // owner (or CAP_FOWNER) may remove it: EPERM from the sticky check, even
  // when the queue's mode would allow everything.
  ScopedUmask mask(0);
  ScopedQueue q(QueueName(), O_RDWR, kMaxMsg, kMsgSize, 0666);
  ASSERT_GE(q.fd(), 0) << q.error();
  std::string own = QueueName("own");
  InForkedChild([&] {
    BecomeUser(kNobody, kNobody);
    ASSERT_EQ(geteuid(), kNobody);
    EXPECT_ERRNO(MqUnlink(q.name()), EPERM);
    // Its own queue it may unlink.
    struct mq_attr attr = Attr(1, 1);
    ASSERT_GE(MqOpen(own, O_RDWR | O_CREAT | O_EXCL, 0600, &attr), 0)
        << strerror(errno);
    EXPECT_EQ(MqUnlink(own), 0) << strerror(errno);
  });
  long fd = MqOpen(q.name(), O_RDWR);
  EXPECT_GE(fd, 0) << "the queue is gone: " << strerror(errno);
  if (fd >= 0) close(fd);
  MqUnlink(own);
}

// ---------------------------------------------------------------------------
// Sending and receiving

TEST(MqSendReceiveTest, HigherPriorityFirstAndFifoWithinAPriority) {
  ScopedQueue q(QueueName(), O_RDWR, 6, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "one-a", 1), 0);
  ASSERT_EQ(SendMsg(q.fd(), "five-a", 5), 0);
  ASSERT_EQ(SendMsg(q.fd(), "one-b", 1), 0);
  ASSERT_EQ(SendMsg(q.fd(), "zero", 0), 0);
  ASSERT_EQ(SendMsg(q.fd(), "five-b", 5), 0);
  ASSERT_EQ(SendMsg(q.fd(), "top", MQ_PRIO_MAX - 1), 0);
  const std::vector<std::pair<std::string, unsigned>> want = {
      {"top", MQ_PRIO_MAX - 1},
      {"five-a", 5},
      {"five-b", 5},
      {"one-a", 1},
      {"one-b", 1},
      {"zero", 0}};
  for (const auto& [data, prio] : want) {
    Message m = ReceiveMsg(q.fd());
    EXPECT_EQ(m.data, data);
    EXPECT_EQ(m.prio, prio) << data;
  }
  EXPECT_EQ(CurMsgs(q.fd()), 0);
}

TEST(MqSendReceiveTest, TimedreceiveReturnsTheLengthAndFillsThePriority) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "hello", 7), 0);
  char buf[2 * kMsgSize];
  memset(buf, '*', sizeof(buf));
  unsigned prio = 0;
  struct timespec deadline = RealtimeIn(10 * kSec);
  EXPECT_EQ(MqTimedreceive(q.fd(), buf, sizeof(buf), &prio, &deadline), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(buf[5], '*') << "wrote past the message";
  EXPECT_EQ(prio, 7u);
  // The priority pointer may be null.
  ASSERT_EQ(SendMsg(q.fd(), "x", 3), 0);
  EXPECT_EQ(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), 1);
}

TEST(MqSendReceiveTest, ReceiveBufferShorterThanMsgsizeIsEmsgsize) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  // The buffer must hold the largest possible message, not just this one.
  char buf[kMsgSize];
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, kMsgSize - 1, nullptr), EMSGSIZE);
  EXPECT_EQ(CurMsgs(q.fd()), 1);
  EXPECT_EQ(MqTimedreceive(q.fd(), buf, kMsgSize, nullptr), 1);
}

TEST(MqSendReceiveTest, MessageLongerThanMsgsizeIsEmsgsize) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_ERRNO(SendMsg(q.fd(), std::string(kMsgSize + 1, 'x')), EMSGSIZE);
  EXPECT_EQ(CurMsgs(q.fd()), 0);
  EXPECT_EQ(SendMsg(q.fd(), std::string(kMsgSize, 'x')), 0);
  EXPECT_EQ(ReceiveMsg(q.fd()).data, std::string(kMsgSize, 'x'));
}

TEST(MqSendReceiveTest, PriorityOfMqPrioMaxOrMoreIsEinval) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(MQ_PRIO_MAX, 32768);
  EXPECT_ERRNO(SendMsg(q.fd(), "x", MQ_PRIO_MAX), EINVAL);
  EXPECT_ERRNO(SendMsg(q.fd(), "x", UINT_MAX), EINVAL);
  EXPECT_EQ(CurMsgs(q.fd()), 0);
  // The priority is checked before the descriptor.
  EXPECT_ERRNO(MqTimedsend(-1, "x", 1, MQ_PRIO_MAX), EINVAL);
  EXPECT_EQ(SendMsg(q.fd(), "x", MQ_PRIO_MAX - 1), 0);
}

TEST(MqSendReceiveTest, ZeroLengthMessages) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(MqTimedsend(q.fd(), "", 0, 2), 0);
  EXPECT_EQ(MqTimedsend(q.fd(), nullptr, 0, 1), 0);
  EXPECT_EQ(CurMsgs(q.fd()), 2);
  EXPECT_EQ(Status(q.fd()), IdleStatus(0));
  Message m = ReceiveMsg(q.fd());
  EXPECT_EQ(m.data, "");
  EXPECT_EQ(m.prio, 2u);
  m = ReceiveMsg(q.fd());
  EXPECT_EQ(m.data, "");
  EXPECT_EQ(m.prio, 1u);
}

TEST(MqSendReceiveTest, WrongAccessModeIsEbadf) {
  ScopedQueue q(QueueName(), O_RDONLY);
  ASSERT_GE(q.fd(), 0) << q.error();
  long wfd = MqOpen(q.name(), O_WRONLY);
  ASSERT_GE(wfd, 0) << strerror(errno);
  EXPECT_ERRNO(SendMsg(q.fd(), "x"), EBADF);
  EXPECT_EQ(SendMsg(wfd, "x"), 0);
  char buf[kMsgSize];
  EXPECT_ERRNO(MqTimedreceive(wfd, buf, sizeof(buf), nullptr), EBADF);
  EXPECT_EQ(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), 1);
  close(wfd);
}

TEST(MqSendReceiveTest, DescriptorsOfOtherKindsAreEbadf) {
  Pipe p;
  ASSERT_GE(p.r, 0);
  char buf[kMsgSize];
  struct mq_attr attr;
  struct sigevent sev = NoneEvent();
  for (int fd : {p.r, p.w, -1}) {
    SCOPED_TRACE("fd " + std::to_string(fd));
    EXPECT_ERRNO(MqTimedsend(fd, "x", 1, 0), EBADF);
    EXPECT_ERRNO(MqTimedreceive(fd, buf, sizeof(buf), nullptr), EBADF);
    EXPECT_ERRNO(MqGetsetattr(fd, nullptr, &attr), EBADF);
    EXPECT_ERRNO(MqNotify(fd, &sev), EBADF);
    EXPECT_ERRNO(MqNotify(fd, nullptr), EBADF);
  }
}

TEST(MqSendReceiveTest, SendFromABadBufferIsEfaultAndQueuesNothing) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_ERRNO(MqTimedsend(q.fd(), reinterpret_cast<void*>(8), 4, 0), EFAULT);
  EXPECT_EQ(CurMsgs(q.fd()), 0);
}

TEST(MqSendReceiveTest, ReceiveIntoABadBufferIsEfaultAndLosesTheMessage) {
  // Surprising: the message is taken off the queue before it is copied
  // out, and dropped when the copy fails.
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "lost"), 0);
  ASSERT_EQ(SendMsg(q.fd(), "kept"), 0);
  EXPECT_ERRNO(
      MqTimedreceive(q.fd(), reinterpret_cast<void*>(8), kMsgSize, nullptr),
      EFAULT);
  EXPECT_EQ(CurMsgs(q.fd()), 1);
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "kept");
}

// ---------------------------------------------------------------------------
// Blocking, wake-ups and timeouts

TEST(MqBlockingTest, NonblockingSendToAFullQueueIsEagain) {
  ScopedQueue q(QueueName(), O_RDWR | O_NONBLOCK, 2, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "a"), 0);
  ASSERT_EQ(SendMsg(q.fd(), "b"), 0);
  EXPECT_ERRNO(SendMsg(q.fd(), "c"), EAGAIN);
  // Even with a deadline: O_NONBLOCK wins.
  struct timespec deadline = RealtimeIn(10 * kSec);
  EXPECT_ERRNO(MqTimedsend(q.fd(), "c", 1, 0, &deadline), EAGAIN);
  EXPECT_EQ(CurMsgs(q.fd()), 2);
}

TEST(MqBlockingTest, NonblockingReceiveFromAnEmptyQueueIsEagain) {
  ScopedQueue q(QueueName(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(q.fd(), 0) << q.error();
  char buf[kMsgSize];
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), EAGAIN);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  EXPECT_EQ(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), 1);
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), EAGAIN);
}

TEST(MqBlockingTest, BlockedReceiveIsWokenBySendFromAnotherThread) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  pid_t tid = Gettid();
  std::thread sender([&] {
    EXPECT_TRUE(WaitUntilSleeping(tid));
    EXPECT_EQ(SendMsg(q.fd(), "wake", 9), 0) << strerror(errno);
  });
  Message m;
  {
    Watchdog watchdog(20);
    m = ReceiveMsg(q.fd());
  }
  sender.join();
  EXPECT_EQ(m.data, "wake");
  EXPECT_EQ(m.prio, 9u);
  EXPECT_EQ(CurMsgs(q.fd()), 0);
}

TEST(MqBlockingTest, BlockedSendIsWokenByReceiveFromAnotherThread) {
  ScopedQueue q(QueueName(), O_RDWR, 2, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "a"), 0);
  ASSERT_EQ(SendMsg(q.fd(), "b"), 0);
  pid_t tid = Gettid();
  std::thread receiver([&] {
    EXPECT_TRUE(WaitUntilSleeping(tid));
    EXPECT_EQ(ReceiveMsg(q.fd()).data, "a");
  });
  {
    Watchdog watchdog(20);
    EXPECT_EQ(SendMsg(q.fd(), "c"), 0) << strerror(errno);
  }
  receiver.join();
  EXPECT_EQ(CurMsgs(q.fd()), 2);
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "b");
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "c");
}

TEST(MqBlockingTest, BlockedReceiveIsWokenBySendFromAForkedChild) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  pid_t parent = getpid();
  int fd = q.fd();
  pid_t child = ForkChild([parent, fd] {
    // Send once the parent sleeps in mq_timedreceive.
    CHILD_CHECK(WaitFor([parent] { return ProcState(parent) == 'S'; }));
    CHILD_CHECK(SendMsg(fd, "from child", 4) == 0);
  });
  ASSERT_GT(child, 0) << strerror(errno);
  Message m;
  {
    Watchdog watchdog(20);
    m = ReceiveMsg(fd);
  }
  EXPECT_EQ(m.data, "from child");
  EXPECT_EQ(m.prio, 4u);
  EXPECT_TRUE(ExitedWith(CheckedWaitStatus(child), 0));
}

TEST(MqBlockingTest, DeadlineInThePastIsEtimedoutAtOnce) {
  ScopedQueue q(QueueName(), O_RDWR, 1, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  char buf[kMsgSize];
  struct timespec past = RealtimeIn(-kSec);
  struct timespec epoch = {0, 0};
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr, &past),
               ETIMEDOUT);
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr, &epoch),
               ETIMEDOUT);
  // A call that need not wait ignores the (valid) deadline.
  EXPECT_EQ(MqTimedsend(q.fd(), "x", 1, 0, &past), 0);
  EXPECT_ERRNO(MqTimedsend(q.fd(), "y", 1, 0, &past), ETIMEDOUT);
  EXPECT_EQ(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr, &past), 1);
}

TEST(MqBlockingTest, DeadlineInTheNearFutureIsEtimedoutAfterIt) {
  ScopedQueue q(QueueName(), O_RDWR, 1, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  Watchdog watchdog(20);
  char buf[kMsgSize];
  // The deadline is absolute on CLOCK_REALTIME.
  int64_t deadline_ns = NowNs(CLOCK_REALTIME) + 100 * kMs;
  struct timespec deadline = FromNs(deadline_ns);
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr, &deadline),
               ETIMEDOUT);
  EXPECT_GE(NowNs(CLOCK_REALTIME), deadline_ns);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  deadline_ns = NowNs(CLOCK_REALTIME) + 100 * kMs;
  deadline = FromNs(deadline_ns);
  EXPECT_ERRNO(MqTimedsend(q.fd(), "y", 1, 0, &deadline), ETIMEDOUT);
  EXPECT_GE(NowNs(CLOCK_REALTIME), deadline_ns);
  EXPECT_EQ(CurMsgs(q.fd()), 1);
}

TEST(MqBlockingTest, InvalidDeadlineIsEinvalEvenWhenNotWaiting) {
  ScopedQueue q(QueueName(), O_RDWR, 1, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  char buf[kMsgSize];
  const struct timespec bad[] = {{0, 1000000000}, {0, -1}, {-1, 0}};
  for (const struct timespec& ts : bad) {
    SCOPED_TRACE(std::to_string(ts.tv_sec) + " s " +
                 std::to_string(ts.tv_nsec) + " ns");
    // Empty: the receive would wait.
    EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr, &ts),
                 EINVAL);
    // Not full: the send would not wait, yet Linux checks the deadline
    // first (POSIX only requires it when the call would block).
    EXPECT_ERRNO(MqTimedsend(q.fd(), "x", 1, 0, &ts), EINVAL);
  }
  EXPECT_EQ(CurMsgs(q.fd()), 0);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  for (const struct timespec& ts : bad) {
    SCOPED_TRACE(std::to_string(ts.tv_sec) + " s " +
                 std::to_string(ts.tv_nsec) + " ns");
    // Now the receive need not wait (and the full queue would make the
    // send wait): EINVAL all the same, and the message stays.
    EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr, &ts),
                 EINVAL);
    EXPECT_ERRNO(MqTimedsend(q.fd(), "y", 1, 0, &ts), EINVAL);
  }
  EXPECT_EQ(CurMsgs(q.fd()), 1);
}

std::atomic<int> g_handled{0};
void CountingHandler(int, siginfo_t*, void*) { g_handled++; }

TEST(MqBlockingTest, SignalInterruptsABlockedReceiveWithEintr) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ScopedAction action(SIGUSR2, CountingHandler);
  g_handled = 0;
  pid_t tid = Gettid();
  std::thread interrupter([&] {
    EXPECT_TRUE(WaitUntilSleeping(tid));
    syscall(SYS_tgkill, getpid(), tid, SIGUSR2);
  });
  char buf[kMsgSize];
  {
    Watchdog watchdog(20);
    EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), EINTR);
  }
  interrupter.join();
  EXPECT_EQ(g_handled.load(), 1);
}

TEST(MqBlockingTest, BlockedReceiveRestartsAfterAnSaRestartHandler) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ScopedAction action(SIGUSR2, CountingHandler, SA_RESTART);
  g_handled = 0;
  pid_t tid = Gettid();
  std::thread helper([&] {
    EXPECT_TRUE(WaitUntilSleeping(tid));
    syscall(SYS_tgkill, getpid(), tid, SIGUSR2);
    // Back asleep in the restarted call.
    EXPECT_TRUE(WaitFor([] { return g_handled == 1; }));
    EXPECT_TRUE(WaitUntilSleeping(tid));
    EXPECT_EQ(SendMsg(q.fd(), "after"), 0);
  });
  Message m;
  {
    Watchdog watchdog(20);
    m = ReceiveMsg(q.fd());
  }
  helper.join();
  EXPECT_EQ(m.data, "after");
  EXPECT_EQ(g_handled.load(), 1);
}

// ---------------------------------------------------------------------------
// mq_getsetattr(2)

TEST(MqGetsetattrTest, OnlyONonblockChanges) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  struct mq_attr new_attr = Attr(99, 99);
  new_attr.mq_flags = O_NONBLOCK;
  new_attr.mq_curmsgs = 99;
  struct mq_attr old_attr = {};
  ASSERT_EQ(MqGetsetattr(q.fd(), &new_attr, &old_attr), 0) << strerror(errno);
  // The old attributes are those before the change.
  EXPECT_EQ(old_attr.mq_flags, 0);
  EXPECT_EQ(old_attr.mq_maxmsg, kMaxMsg);
  EXPECT_EQ(old_attr.mq_msgsize, kMsgSize);
  EXPECT_EQ(old_attr.mq_curmsgs, 1);
  struct mq_attr attr = GetAttr(q.fd());
  EXPECT_EQ(attr.mq_flags, O_NONBLOCK);
  EXPECT_EQ(attr.mq_maxmsg, kMaxMsg);
  EXPECT_EQ(attr.mq_msgsize, kMsgSize);
  EXPECT_EQ(attr.mq_curmsgs, 1);
  // And it takes effect.
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "x");
  char buf[kMsgSize];
  EXPECT_ERRNO(MqTimedreceive(q.fd(), buf, sizeof(buf), nullptr), EAGAIN);
  new_attr.mq_flags = 0;
  ASSERT_EQ(mq_setattr(q.fd(), &new_attr, &old_attr), 0) << strerror(errno);
  EXPECT_EQ(old_attr.mq_flags, O_NONBLOCK);
  EXPECT_EQ(GetAttr(q.fd()).mq_flags, 0);
}

TEST(MqGetsetattrTest, CurmsgsCountsQueuedMessages) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(CurMsgs(q.fd()), 0);
  ASSERT_EQ(SendMsg(q.fd(), "a"), 0);
  EXPECT_EQ(CurMsgs(q.fd()), 1);
  ASSERT_EQ(SendMsg(q.fd(), "b"), 0);
  EXPECT_EQ(CurMsgs(q.fd()), 2);
  ReceiveMsg(q.fd());
  EXPECT_EQ(CurMsgs(q.fd()), 1);
  // Every descriptor of the queue sees the same count.
  long other = MqOpen(q.name(), O_RDONLY);
  ASSERT_GE(other, 0) << strerror(errno);
  EXPECT_EQ(CurMsgs(other), 1);
  close(other);
}

TEST(MqGetsetattrTest, FlagsOtherThanONonblockAreEinval) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  for (long flags : {long{O_NONBLOCK | O_RDWR}, long{O_CLOEXEC}, long{O_APPEND},
                     long{O_WRONLY}, -1L}) {
    SCOPED_TRACE("mq_flags " + std::to_string(flags));
    struct mq_attr new_attr = {};
    new_attr.mq_flags = flags;
    EXPECT_ERRNO(MqGetsetattr(q.fd(), &new_attr, nullptr), EINVAL);
  }
  EXPECT_EQ(GetAttr(q.fd()).mq_flags, 0);
  // The flags are checked before the descriptor.
  struct mq_attr new_attr = {};
  new_attr.mq_flags = O_CLOEXEC;
  EXPECT_ERRNO(MqGetsetattr(-1, &new_attr, nullptr), EINVAL);
}

TEST(MqGetsetattrTest, NullAttributesAreANoOp) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(MqGetsetattr(q.fd(), nullptr, nullptr), 0) << strerror(errno);
  EXPECT_ERRNO(
      MqGetsetattr(q.fd(), reinterpret_cast<struct mq_attr*>(8), nullptr),
      EFAULT);
}

TEST(MqGetsetattrTest, NonblockIsTheDescriptorsFileStatusFlag) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  long other = MqOpen(q.name(), O_RDWR);
  ASSERT_GE(other, 0) << strerror(errno);
  ASSERT_EQ(fcntl(q.fd(), F_SETFL, O_NONBLOCK), 0) << strerror(errno);
  EXPECT_EQ(GetAttr(q.fd()).mq_flags, O_NONBLOCK);
  // Per open description, not per queue.
  EXPECT_EQ(GetAttr(other).mq_flags, 0);
  struct mq_attr new_attr = {};
  ASSERT_EQ(mq_setattr(q.fd(), &new_attr, nullptr), 0) << strerror(errno);
  EXPECT_EQ(fcntl(q.fd(), F_GETFL) & O_NONBLOCK, 0);
  close(other);
}

// ---------------------------------------------------------------------------
// mq_notify(2)

TEST(MqNotifyTest, SignalOnArrivalInAnEmptyQueueThenUnregistered) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = SignalEvent(kSig, 0x1234);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  EXPECT_FALSE(SignalPending());
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  siginfo_t info = {};
  ASSERT_EQ(TakeSignal(&info), kSig);
  EXPECT_EQ(info.si_signo, kSig);
  EXPECT_EQ(info.si_errno, 0);
  EXPECT_EQ(info.si_code, SI_MESGQ);
  EXPECT_EQ(info.si_value.sival_int, 0x1234);
  EXPECT_EQ(info.si_pid, getpid());
  EXPECT_EQ(info.si_uid, getuid());
  // The notification removed the registration: no second signal.
  EXPECT_EQ(Status(q.fd()), IdleStatus(1));
  ReceiveMsg(q.fd());
  ASSERT_EQ(SendMsg(q.fd(), "y"), 0);
  EXPECT_FALSE(SignalPending());
  // And the process may register again.
  ReceiveMsg(q.fd());
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  ASSERT_EQ(SendMsg(q.fd(), "z"), 0);
  EXPECT_EQ(TakeSignal(nullptr), kSig);
}

TEST(MqNotifyTest, SignalCarriesTheSendersPidAndUid) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = SignalEvent(kSig, 77);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  int fd = q.fd();
  // The child sends through the descriptor it inherited: access was
  // checked when it was opened.
  pid_t child = ForkChild([fd] {
    BecomeUser(kNobody, kNobody);
    CHILD_CHECK(geteuid() == kNobody);
    CHILD_CHECK(SendMsg(fd, "x") == 0);
  });
  ASSERT_GT(child, 0) << strerror(errno);
  ASSERT_TRUE(ExitedWith(CheckedWaitStatus(child), 0));
  siginfo_t info = {};
  ASSERT_EQ(TakeSignal(&info), kSig);
  EXPECT_EQ(info.si_code, SI_MESGQ);
  EXPECT_EQ(info.si_value.sival_int, 77);
  EXPECT_EQ(info.si_pid, child);
  EXPECT_EQ(info.si_uid, kNobody);
}

TEST(MqNotifyTest, NoSignalWhenTheQueueWasNotEmpty) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  ASSERT_EQ(SendMsg(q.fd(), "a"), 0);
  struct sigevent sev = SignalEvent(kSig, 0);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  ASSERT_EQ(SendMsg(q.fd(), "b"), 0);
  EXPECT_FALSE(SignalPending());
  // Still registered, for the next arrival in an empty queue.
  EXPECT_EQ(Status(q.fd()), ExpectedStatus(2, SIGEV_SIGNAL, kSig, getpid()));
  ReceiveMsg(q.fd());
  ReceiveMsg(q.fd());
  EXPECT_FALSE(SignalPending());
  ASSERT_EQ(SendMsg(q.fd(), "c"), 0);
  EXPECT_EQ(TakeSignal(nullptr), kSig);
}

TEST(MqNotifyTest, SecondRegistrationFromAnotherProcessIsEbusy) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = SignalEvent(kSig, 0);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  pid_t me = getpid();
  InForkedChild([&] {
    EXPECT_ERRNO(MqNotify(q.fd(), &sev), EBUSY);
    struct sigevent none = NoneEvent();
    EXPECT_ERRNO(MqNotify(q.fd(), &none), EBUSY);
    // Unregistering is silently ignored for a process that is not the
    // owner.
    EXPECT_EQ(MqNotify(q.fd(), nullptr), 0) << strerror(errno);
    // Nor does the child's closing its copy drop the registration.
    close(q.fd());
  });
  EXPECT_EQ(Status(q.fd()), ExpectedStatus(0, SIGEV_SIGNAL, kSig, me));
  // The owner itself cannot register twice either.
  EXPECT_ERRNO(MqNotify(q.fd(), &sev), EBUSY);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  EXPECT_EQ(TakeSignal(nullptr), kSig);
}

TEST(MqNotifyTest, NullUnregisters) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = SignalEvent(kSig, 0);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  ASSERT_EQ(MqNotify(q.fd(), nullptr), 0) << strerror(errno);
  EXPECT_EQ(Status(q.fd()), IdleStatus(0));
  // Unregistering with nothing registered is fine too.
  EXPECT_EQ(MqNotify(q.fd(), nullptr), 0) << strerror(errno);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  EXPECT_FALSE(SignalPending());
  // Another process may now register.
  InForkedChild(
      [&] { EXPECT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno); });
}

TEST(MqNotifyTest, NoSignalWhenAReceiverIsWaiting) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = SignalEvent(kSig, 0);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  std::atomic<pid_t> receiver_tid{0};
  Message m;
  std::thread receiver([&] {
    receiver_tid = Gettid();
    m = ReceiveMsg(q.fd());
  });
  {
    Watchdog watchdog(20);
    EXPECT_TRUE(WaitFor([&] { return receiver_tid != 0; }));
    EXPECT_TRUE(WaitUntilSleeping(receiver_tid));
    // The message goes straight to the waiting receiver: the queue never
    // becomes non-empty, so nothing is notified.
    EXPECT_EQ(SendMsg(q.fd(), "direct"), 0);
    receiver.join();
  }
  EXPECT_EQ(m.data, "direct");
  EXPECT_FALSE(SignalPending());
  EXPECT_EQ(Status(q.fd()), ExpectedStatus(0, SIGEV_SIGNAL, kSig, getpid()));
  ASSERT_EQ(SendMsg(q.fd(), "queued"), 0);
  EXPECT_EQ(TakeSignal(nullptr), kSig);
}

TEST(MqNotifyTest, SigevNoneRegistersWithoutASignal) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = NoneEvent();
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  EXPECT_EQ(Status(q.fd()), ExpectedStatus(0, SIGEV_NONE, 0, getpid()));
  struct sigevent sig = SignalEvent(kSig, 0);
  EXPECT_ERRNO(MqNotify(q.fd(), &sig), EBUSY);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  EXPECT_FALSE(SignalPending());
  // The arrival consumed the registration all the same.
  EXPECT_EQ(Status(q.fd()), IdleStatus(1));
  EXPECT_EQ(MqNotify(q.fd(), &sig), 0) << strerror(errno);
  EXPECT_EQ(MqNotify(q.fd(), nullptr), 0) << strerror(errno);
}

TEST(MqNotifyTest, InvalidSigeventIsEinval) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  for (int signo : {kMaxSignal + 1, 1000, -1}) {
    SCOPED_TRACE("sigev_signo " + std::to_string(signo));
    struct sigevent sev = SignalEvent(signo, 0);
    EXPECT_ERRNO(MqNotify(q.fd(), &sev), EINVAL);
  }
  struct sigevent sev = SignalEvent(kSig, 0);
  for (int notify : {int{SIGEV_THREAD_ID}, 99, -1}) {
    SCOPED_TRACE("sigev_notify " + std::to_string(notify));
    sev.sigev_notify = notify;
    EXPECT_ERRNO(MqNotify(q.fd(), &sev), EINVAL);
  }
  // The sigevent is checked before the descriptor.
  sev = SignalEvent(kMaxSignal + 1, 0);
  EXPECT_ERRNO(MqNotify(-1, &sev), EINVAL);
  EXPECT_ERRNO(MqNotify(q.fd(), reinterpret_cast<struct sigevent*>(8)), EFAULT);
  EXPECT_EQ(Status(q.fd()), IdleStatus(0));
}

TEST(MqNotifyTest, SignalNumbersUpTo64AreAcceptedAndZeroSendsNothing) {
  // Surprising: valid_signal() accepts 0, which registers (taking the
  // slot) but sends nothing when a message arrives.
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = SignalEvent(kMaxSignal, 0);
  EXPECT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  EXPECT_EQ(MqNotify(q.fd(), nullptr), 0) << strerror(errno);
  sev = SignalEvent(0, 0);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  EXPECT_EQ(Status(q.fd()), ExpectedStatus(0, SIGEV_SIGNAL, 0, getpid()));
  uint64_t pending = PendingMask();
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  EXPECT_EQ(PendingMask(), pending);
  EXPECT_EQ(Status(q.fd()), IdleStatus(1));
}

TEST(MqNotifyTest, OwnerClosingAnyDescriptorOfTheQueueUnregisters) {
  // Surprising: closing any descriptor of the queue in the owning process
  // (a dup, or another mq_open of it) drops the registration, not just
  // closing the one it was made through.
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  struct sigevent sev = NoneEvent();
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  int dup_fd = dup(q.fd());
  ASSERT_GE(dup_fd, 0) << strerror(errno);
  close(dup_fd);
  EXPECT_EQ(Status(q.fd()), IdleStatus(0));

  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  long other = MqOpen(q.name(), O_RDONLY);
  ASSERT_GE(other, 0) << strerror(errno);
  close(other);
  EXPECT_EQ(Status(q.fd()), IdleStatus(0));
}

TEST(MqNotifyTest, OwnersExitUnregisters) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  int fd = q.fd();
  pid_t child = ForkChild([fd] {
    struct sigevent sev = NoneEvent();
    CHILD_CHECK(MqNotify(fd, &sev) == 0);
  });
  ASSERT_GT(child, 0) << strerror(errno);
  ASSERT_TRUE(ExitedWith(CheckedWaitStatus(child), 0));
  EXPECT_EQ(Status(fd), IdleStatus(0));
  struct sigevent sev = NoneEvent();
  EXPECT_EQ(MqNotify(fd, &sev), 0) << strerror(errno);
}

// glibc's SIGEV_THREAD: its helper thread gets a cookie on a netlink
// socket from the kernel and runs the function on a thread of its own.
std::atomic<int> g_thread_calls{0};
std::atomic<intptr_t> g_thread_value{0};
void OnArrival(union sigval v) {
  g_thread_value = reinterpret_cast<intptr_t>(v.sival_ptr);
  g_thread_calls++;
}

TEST(MqNotifyTest, SigevThreadRunsTheFunctionOnArrival) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  g_thread_calls = 0;
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = OnArrival;
  sev.sigev_value.sival_ptr = reinterpret_cast<void*>(0x1234);
  ASSERT_EQ(mq_notify(static_cast<mqd_t>(q.fd()), &sev), 0) << strerror(errno);
  ASSERT_EQ(SendMsg(q.fd(), "x"), 0);
  for (int i = 0; i < 500 && g_thread_calls == 0; i++) usleep(10 * 1000);
  EXPECT_EQ(g_thread_calls, 1);
  EXPECT_EQ(g_thread_value, 0x1234);
  // Once: the registration is gone, and a new one may be made, then
  // removed again (glibc's helper is told of that too).
  ASSERT_EQ(mq_notify(static_cast<mqd_t>(q.fd()), &sev), 0) << strerror(errno);
  ASSERT_EQ(mq_notify(static_cast<mqd_t>(q.fd()), nullptr), 0);
  char buf[kMsgSize];
  ASSERT_EQ(mq_receive(static_cast<mqd_t>(q.fd()), buf, sizeof(buf), nullptr),
            1);
  ASSERT_EQ(SendMsg(q.fd(), "y"), 0);
  usleep(100 * 1000);
  EXPECT_EQ(g_thread_calls, 1);
}

TEST(MqNotifyTest, SigevThreadNeedsANetlinkSocket) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  char cookie[32] = {};
  struct sigevent sev = {};
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_value.sival_ptr = cookie;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  sev.sigev_signo = fds[0];
  EXPECT_ERRNO(MqNotify(q.fd(), &sev), ENOTSOCK);
  int unix_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_GE(unix_fd, 0);
  sev.sigev_signo = unix_fd;
  EXPECT_ERRNO(MqNotify(q.fd(), &sev), EINVAL);  // not netlink
  sev.sigev_signo = 999;
  EXPECT_ERRNO(MqNotify(q.fd(), &sev), EBADF);
  sev.sigev_value.sival_ptr = reinterpret_cast<void*>(8);
  EXPECT_ERRNO(MqNotify(q.fd(), &sev), EFAULT);
  for (int fd : {fds[0], fds[1], unix_fd}) close(fd);
}

// ---------------------------------------------------------------------------
// read(2) and poll(2) of a queue descriptor

TEST(MqFileTest, ReadGivesTheStatusLine) {
  BlockNotifySignal block;
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  EXPECT_EQ(ReadFile("/proc/self/fd/" + std::to_string(q.fd())), IdleStatus(0));
  ASSERT_EQ(SendMsg(q.fd(), "abc"), 0);
  ASSERT_EQ(SendMsg(q.fd(), "hello", 3), 0);
  // QSIZE counts the bytes of the queued messages.
  EXPECT_EQ(Status(q.fd()), IdleStatus(8));
  struct sigevent sev = SignalEvent(kSig, 0);
  ASSERT_EQ(MqNotify(q.fd(), &sev), 0) << strerror(errno);
  // NOTIFY is the sigev_notify value (SIGEV_SIGNAL is 0).
  std::string want = ExpectedStatus(8, SIGEV_SIGNAL, kSig, getpid());
  EXPECT_EQ(Status(q.fd()), want);
  // A file: the offset advances to the end, where read(2) yields 0.
  char buf[256];
  ASSERT_EQ(lseek(q.fd(), 0, SEEK_SET), 0) << strerror(errno);
  EXPECT_EQ(read(q.fd(), buf, 5), 5);
  EXPECT_EQ(std::string(buf, 5), "QSIZE");
  ssize_t n = read(q.fd(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), want.substr(5));
  EXPECT_EQ(read(q.fd(), buf, sizeof(buf)), 0);
  ASSERT_EQ(MqNotify(q.fd(), nullptr), 0) << strerror(errno);
  ReceiveMsg(q.fd());
  EXPECT_EQ(Status(q.fd()), IdleStatus(3));
}

TEST(MqFileTest, ReadNeedsReadAccessAndWriteIsEinval) {
  ScopedQueue q(QueueName(), O_WRONLY);
  ASSERT_GE(q.fd(), 0) << q.error();
  char buf[256];
  EXPECT_ERRNO(read(q.fd(), buf, sizeof(buf)), EBADF);
  // The queue file has no write method.
  EXPECT_ERRNO(write(q.fd(), "x", 1), EINVAL);
  long rfd = MqOpen(q.name(), O_RDONLY);
  ASSERT_GE(rfd, 0) << strerror(errno);
  EXPECT_ERRNO(write(rfd, "x", 1), EBADF);
  EXPECT_EQ(CurMsgs(rfd), 0);
  close(rfd);
}

short PollEvents(int fd, short events) {
  struct pollfd pfd = {fd, events, 0};
  EXPECT_GE(poll(&pfd, 1, 0), 0) << strerror(errno);
  return pfd.revents;
}

TEST(MqFileTest, PollInWhenMessagesAreQueuedAndOutWhenNotFull) {
  ScopedQueue q(QueueName(), O_RDWR, 2, kMsgSize);
  ASSERT_GE(q.fd(), 0) << q.error();
  const short all = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
  EXPECT_EQ(PollEvents(q.fd(), all), POLLOUT | POLLWRNORM);
  ASSERT_EQ(SendMsg(q.fd(), "a"), 0);
  EXPECT_EQ(PollEvents(q.fd(), all), all);
  ASSERT_EQ(SendMsg(q.fd(), "b"), 0);
  EXPECT_EQ(PollEvents(q.fd(), all), POLLIN | POLLRDNORM);
  // Regardless of the descriptor's access mode.
  long wfd = MqOpen(q.name(), O_WRONLY);
  ASSERT_GE(wfd, 0) << strerror(errno);
  EXPECT_EQ(PollEvents(wfd, all), POLLIN | POLLRDNORM);
  close(wfd);
}

TEST(MqFileTest, PollIsWokenByASendFromAnotherThread) {
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  pid_t tid = Gettid();
  std::thread sender([&] {
    EXPECT_TRUE(WaitUntilSleeping(tid));
    EXPECT_EQ(SendMsg(q.fd(), "x"), 0);
  });
  struct pollfd pfd = {q.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 10000), 1) << strerror(errno);
  sender.join();
  EXPECT_EQ(pfd.revents, POLLIN);
}

// ---------------------------------------------------------------------------
// The mqueue filesystem

TEST(MqueueFsTest, QueueAppearsAsARegularFileWithItsMode) {
  SKIP_WITHOUT_DEV_MQUEUE();
  ScopedUmask mask(022);
  ScopedQueue q(QueueName(), O_RDWR, kMaxMsg, kMsgSize, 0640);
  ASSERT_GE(q.fd(), 0) << q.error();
  std::string path = std::string(kDevMqueue) + "/" + q.name();
  EXPECT_EQ(ListDir(kDevMqueue).count(q.name()), 1u);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0) << path << ": " << strerror(errno);
  EXPECT_EQ(st.st_mode, S_IFREG | 0640);
  EXPECT_EQ(st.st_uid, geteuid());
  struct stat fst;
  ASSERT_EQ(fstat(q.fd(), &fst), 0) << strerror(errno);
  EXPECT_EQ(st.st_ino, fst.st_ino);
  EXPECT_EQ(st.st_dev, fst.st_dev);
  // Reading the file gives the status line.
  ASSERT_EQ(SendMsg(q.fd(), "abcd"), 0);
  EXPECT_EQ(ReadFile(path), IdleStatus(4));
}

TEST(MqueueFsTest, UnlinkThereRemovesTheQueue) {
  SKIP_WITHOUT_DEV_MQUEUE();
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  std::string path = std::string(kDevMqueue) + "/" + q.name();
  ASSERT_EQ(unlink(path.c_str()), 0) << path << ": " << strerror(errno);
  EXPECT_ERRNO(MqOpen(q.name(), O_RDWR), ENOENT);
  EXPECT_ERRNO(MqUnlink(q.name()), ENOENT);
  EXPECT_EQ(ListDir(kDevMqueue).count(q.name()), 0u);
  // The open descriptor still works.
  EXPECT_EQ(SendMsg(q.fd(), "x"), 0);
  EXPECT_EQ(ReceiveMsg(q.fd()).data, "x");
}

TEST(MqueueFsTest, OpenOfTheFileGivesAQueueDescriptor) {
  SKIP_WITHOUT_DEV_MQUEUE();
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  std::string path = std::string(kDevMqueue) + "/" + q.name();
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  // Unlike mq_open(2), open(2) leaves close-on-exec to O_CLOEXEC.
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  EXPECT_EQ(MqTimedsend(fd, "via open", 8, 3), 0) << strerror(errno);
  Message m = ReceiveMsg(q.fd());
  EXPECT_EQ(m.data, "via open");
  EXPECT_EQ(m.prio, 3u);
  struct mq_attr attr = GetAttr(fd);
  EXPECT_EQ(attr.mq_maxmsg, kMaxMsg);
  EXPECT_EQ(attr.mq_msgsize, kMsgSize);
  close(fd);
}

TEST(MqueueFsTest, OpenWithCreateMakesAQueueWithTheDefaults) {
  SKIP_WITHOUT_DEV_MQUEUE();
  long msg_default = ReadProcLong("/proc/sys/fs/mqueue/msg_default");
  long msgsize_default = ReadProcLong("/proc/sys/fs/mqueue/msgsize_default");
  if (msg_default < 0 || msgsize_default < 0) {
    GTEST_SKIP() << "cannot read /proc/sys/fs/mqueue/msg_default or "
                    "msgsize_default";
  }
  std::string name = QueueName();
  std::string path = std::string(kDevMqueue) + "/" + name;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  long mq = MqOpen(name, O_RDONLY);
  EXPECT_GE(mq, 0) << strerror(errno);
  struct mq_attr attr = GetAttr(fd);
  EXPECT_EQ(attr.mq_maxmsg, msg_default);
  EXPECT_EQ(attr.mq_msgsize, msgsize_default);
  close(fd);
  if (mq >= 0) close(mq);
  EXPECT_EQ(MqUnlink(name), 0) << strerror(errno);
}

TEST(MqueueFsTest, RootIsStickyAndHoldsOnlyQueues) {
  SKIP_WITHOUT_DEV_MQUEUE();
  struct stat st;
  ASSERT_EQ(stat(kDevMqueue, &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_mode, S_IFDIR | 01777);
  ScopedQueue q(QueueName());
  ASSERT_GE(q.fd(), 0) << q.error();
  std::string path = std::string(kDevMqueue) + "/" + q.name();
  std::string other = path + ".other";
  // The directory has no mkdir, rename, link or symlink operation.
  EXPECT_ERRNO(mkdir(other.c_str(), 0700), EPERM);
  EXPECT_ERRNO(rename(path.c_str(), other.c_str()), EPERM);
  EXPECT_ERRNO(link(path.c_str(), other.c_str()), EPERM);
  EXPECT_ERRNO(symlink("x", other.c_str()), EPERM);
  EXPECT_EQ(ListDir(kDevMqueue).count(q.name() + ".other"), 0u);
}

}  // namespace
