// pipe(2), pipe2(2) and FIFOs: access modes of the two ends, pipe2's flags
// (O_CLOEXEC, O_NONBLOCK, O_DIRECT packet mode, invalid flags), data in
// order and coalesced, zero-length reads and writes, EOF once every writer
// has closed, EPIPE with SIGPIPE once every reader has closed (death by
// default, EPIPE when ignored, a pending thread-directed SI_USER signal when
// blocked), EAGAIN on an empty or full O_NONBLOCK pipe, the all-or-nothing
// rule for writes of at most PIPE_BUF bytes (and atomicity under concurrent
// writers), the 65536-byte default capacity, F_GETPIPE_SZ/F_SETPIPE_SZ,
// FIONREAD, fstat (S_IFIFO, mode 0600), /proc/self/fd links "pipe:[ino]",
// ESPIPE for lseek, a blocking read woken by another thread, and named
// FIFOs (mkfifo, O_NONBLOCK opens: ENXIO for a writer without a reader).

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"

namespace {

using testing_util::RunLater;
using testing_util::TempPath;
using testing_util::WaitStatus;
using testing_util::Watchdog;

class PipeTest : public testing_util::PipeFixture {
 protected:
  void SetNonblocking(int fd) {
    ASSERT_OK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
  }
  // Writes in `chunk`-sized pieces until EAGAIN; returns the total.
  size_t Fill(size_t chunk = 4096) {
    SetNonblocking(w());
    std::vector<char> buf(chunk, 'f');
    size_t total = 0;
    for (;;) {
      ssize_t n = write(w(), buf.data(), buf.size());
      if (n < 0) {
        EXPECT_EQ(errno, EAGAIN);
        return total;
      }
      total += static_cast<size_t>(n);
      if (total > (64u << 20)) {
        ADD_FAILURE() << "the pipe never filled up";
        return total;
      }
    }
  }
};

std::string Read(int fd, size_t max) {
  std::string buf(max, '\0');
  ssize_t n = read(fd, buf.data(), max);
  if (n < 0) return "<error " + std::string(strerror(errno)) + ">";
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// --------------------------------------------------------------- the ends

TEST_F(PipeTest, TheEndsAreReadOnlyAndWriteOnly) {
  EXPECT_EQ(fcntl(r(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(fcntl(w(), F_GETFL) & O_ACCMODE, O_WRONLY);
  char c = 'x';
  EXPECT_ERRNO(write(r(), &c, 1), EBADF);
  EXPECT_ERRNO(read(w(), &c, 1), EBADF);
  EXPECT_ERRNO(lseek(r(), 0, SEEK_CUR), ESPIPE);
  EXPECT_ERRNO(lseek(w(), 0, SEEK_SET), ESPIPE);
  EXPECT_ERRNO(pwrite(w(), &c, 1, 0), ESPIPE);
  EXPECT_ERRNO(pread(r(), &c, 1, 0), ESPIPE);
}

TEST(Pipe2Test, Flags) {
  int fds[2];
  ASSERT_OK(pipe2(fds, 0));
  EXPECT_EQ(fcntl(fds[0], F_GETFD), 0);
  EXPECT_EQ(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
  close(fds[0]);
  close(fds[1]);
  ASSERT_OK(pipe2(fds, O_CLOEXEC | O_NONBLOCK));
  for (int fd : fds) {
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  }
  // Each end is its own open file description.
  ASSERT_OK(fcntl(fds[0], F_SETFL, 0));
  EXPECT_EQ(fcntl(fds[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  close(fds[0]);
  close(fds[1]);
  EXPECT_ERRNO(pipe2(fds, O_APPEND), EINVAL);
  EXPECT_ERRNO(pipe2(fds, O_WRONLY), EINVAL);
  EXPECT_ERRNO(pipe2(fds, O_RDWR), EINVAL);
  EXPECT_ERRNO(pipe2(fds, O_SYNC), EINVAL);
  EXPECT_ERRNO(pipe2(fds, 0x80000000), EINVAL);
  EXPECT_ERRNO(syscall(SYS_pipe2, reinterpret_cast<int*>(8), 0), EFAULT);
  EXPECT_ERRNO(syscall(SYS_pipe, reinterpret_cast<int*>(8)), EFAULT);
}

// ------------------------------------------------------------------- data

TEST_F(PipeTest, ReadReturnsWhatWasWrittenInOrder) {
  ASSERT_EQ(write(w(), "ab", 2), 2);
  ASSERT_EQ(write(w(), "cde", 3), 3);
  // Two writes are read back together; a short buffer leaves the rest.
  EXPECT_EQ(Read(r(), 4), "abcd");
  EXPECT_EQ(Read(r(), 100), "e");
}

TEST_F(PipeTest, ZeroLengthReadsAndWrites) {
  // A zero-length read of an empty pipe returns at once, even blocking.
  EXPECT_EQ(read(r(), nullptr, 0), 0);
  EXPECT_EQ(write(w(), nullptr, 0), 0);
  int avail = -1;
  ASSERT_OK(ioctl(r(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  // With no reader, a zero-length write still returns 0 and raises nothing.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &pipe_set, &old));
  CloseRead();
  EXPECT_EQ(write(w(), "", 0), 0);
  sigset_t pending;
  ASSERT_OK(sigpending(&pending));
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
  ASSERT_OK(sigprocmask(SIG_SETMASK, &old, nullptr));
}

TEST_F(PipeTest, EofOnlyOnceEveryWriterHasClosed) {
  int w2 = dup(w());
  ASSERT_GE(w2, 0);
  ASSERT_EQ(write(w(), "x", 1), 1);
  CloseWrite();
  EXPECT_EQ(Read(r(), 10), "x");
  // One writer remains: no EOF, just nothing to read.
  SetNonblocking(r());
  char c;
  EXPECT_ERRNO(read(r(), &c, 1), EAGAIN);
  close(w2);
  EXPECT_EQ(read(r(), &c, 1), 0);
  EXPECT_EQ(read(r(), &c, 1), 0);
}

TEST_F(PipeTest, DataWrittenBeforeTheWriterClosedIsStillRead) {
  ASSERT_EQ(write(w(), "last", 4), 4);
  CloseWrite();
  EXPECT_EQ(Read(r(), 10), "last");
  EXPECT_EQ(Read(r(), 10), "");
}

// ------------------------------------------------------------ EPIPE, SIGPIPE

TEST_F(PipeTest, SigpipeKillsAWriterWithTheDefaultAction) {
  CloseRead();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    write(w(), "x", 1);
    _exit(0);
  }
  EXPECT_EQ(WaitStatus(pid), SIGPIPE);
}

TEST_F(PipeTest, WithSigpipeIgnoredWriteIsEPIPE) {
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  ASSERT_OK(sigaction(SIGPIPE, &ign, &old));
  CloseRead();
  EXPECT_ERRNO(write(w(), "x", 1), EPIPE);
  ASSERT_OK(sigaction(SIGPIPE, &old, nullptr));
}

TEST_F(PipeTest, WithSigpipeBlockedWriteIsEPIPEAndTheSignalPends) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ASSERT_OK(sigprocmask(SIG_BLOCK, &pipe_set, &old));
  ASSERT_EQ(write(w(), "before", 6), 6);
  CloseRead();
  // Unread data does not matter: no reader is EPIPE.
  EXPECT_ERRNO(write(w(), "x", 1), EPIPE);
  siginfo_t info = {};
  struct timespec zero = {0, 0};
  EXPECT_EQ(sigtimedwait(&pipe_set, &info, &zero), SIGPIPE);
  EXPECT_EQ(info.si_code, SI_USER);
  EXPECT_EQ(info.si_pid, getpid());
  EXPECT_EQ(info.si_uid, getuid());
  ASSERT_OK(sigprocmask(SIG_SETMASK, &old, nullptr));
}

// ---------------------------------------------------------------- O_NONBLOCK

TEST_F(PipeTest, NonblockingReadOfAnEmptyPipeIsEAGAIN) {
  SetNonblocking(r());
  char c;
  EXPECT_ERRNO(read(r(), &c, 1), EAGAIN);
}

TEST_F(PipeTest, TheDefaultCapacityIs65536Bytes) {
  EXPECT_EQ(Fill(4096), 65536u);
  char c = 'x';
  EXPECT_ERRNO(write(w(), &c, 1), EAGAIN);
  // Reading a page's worth makes room for a page's worth. (Linux counts
  // room in whole page buffers: after reading a single byte a 1-byte write
  // is still EAGAIN; that detail is not asserted here.)
  std::vector<char> buf(4096);
  EXPECT_EQ(read(r(), buf.data(), buf.size()), 4096);
  EXPECT_EQ(write(w(), buf.data(), buf.size()), 4096);
  EXPECT_ERRNO(write(w(), &c, 1), EAGAIN);
}

TEST_F(PipeTest, ByteWritesFillTheSameCapacity) { EXPECT_EQ(Fill(1), 65536u); }

TEST_F(PipeTest, ALargeNonblockingWriteIsPartial) {
  SetNonblocking(w());
  std::vector<char> big(100000, 'b');
  EXPECT_EQ(write(w(), big.data(), big.size()), 65536);
  EXPECT_ERRNO(write(w(), big.data(), big.size()), EAGAIN);
}

TEST_F(PipeTest, NonblockingWritesUpToPipeBufAreAllOrNothing) {
  std::vector<char> buf(65536 - 100, 'a');
  ASSERT_EQ(write(w(), buf.data(), buf.size()),
            static_cast<ssize_t>(buf.size()));
  SetNonblocking(w());
  // 100 bytes of room: 200 (<= PIPE_BUF) do not fit and none are written.
  EXPECT_ERRNO(write(w(), buf.data(), 200), EAGAIN);
  EXPECT_EQ(write(w(), buf.data(), 100), 100);
  int avail = -1;
  ASSERT_OK(ioctl(r(), FIONREAD, &avail));
  EXPECT_EQ(avail, 65536);
}

constexpr int kWriters = 4;
constexpr int kRecordsPerWriter = 64;
constexpr size_t kRecord = PIPE_BUF;

TEST_F(PipeTest, WritesOfPipeBufBytesAreNeverInterleaved) {
  static_assert(PIPE_BUF == 4096, "Linux's PIPE_BUF");
  Watchdog watchdog;
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; i++) {
    writers.emplace_back([this, i] {
      std::string rec(kRecord, static_cast<char>('A' + i));
      for (int j = 0; j < kRecordsPerWriter; j++) {
        if (write(w(), rec.data(), rec.size()) !=
            static_cast<ssize_t>(rec.size())) {
          return;
        }
      }
    });
  }
  std::string all;
  const size_t total = kWriters * kRecordsPerWriter * kRecord;
  std::vector<char> buf(3 * kRecord + 17);  // reads straddle records
  while (all.size() < total) {
    ssize_t n = read(r(), buf.data(), buf.size());
    ASSERT_GT(n, 0);
    all.append(buf.data(), static_cast<size_t>(n));
  }
  for (auto& t : writers) t.join();
  int counts[kWriters] = {};
  for (size_t off = 0; off < all.size(); off += kRecord) {
    char tag = all[off];
    ASSERT_TRUE(tag >= 'A' && tag < 'A' + kWriters) << "at " << off;
    ASSERT_EQ(all.substr(off, kRecord), std::string(kRecord, tag))
        << "record at " << off << " is interleaved";
    counts[tag - 'A']++;
  }
  for (int c : counts) EXPECT_EQ(c, kRecordsPerWriter);
}

// ------------------------------------------------------------- pipe size

TEST_F(PipeTest, GetAndSetPipeSize) {
  EXPECT_EQ(fcntl(r(), F_GETPIPE_SZ), 65536);
  EXPECT_EQ(fcntl(w(), F_GETPIPE_SZ), 65536);
  // Sizes round up to a power-of-two number of pages, at least one.
  EXPECT_EQ(fcntl(w(), F_SETPIPE_SZ, 5000), 8192);
  EXPECT_EQ(fcntl(r(), F_GETPIPE_SZ), 8192);
  EXPECT_EQ(fcntl(w(), F_SETPIPE_SZ, 3 * 4096 + 1), 16384);
  EXPECT_EQ(fcntl(w(), F_SETPIPE_SZ, 0), 4096);
  EXPECT_EQ(fcntl(r(), F_SETPIPE_SZ, 1), 4096);
  EXPECT_EQ(Fill(4096), 4096u);
  EXPECT_EQ(fcntl(w(), F_SETPIPE_SZ, 131072), 131072);
  EXPECT_EQ(Fill(4096), 131072u - 4096u);
  EXPECT_ERRNO(fcntl(w(), F_SETPIPE_SZ, (1UL << 31) + 1), EINVAL);
}

TEST_F(PipeTest, ShrinkingBelowTheDataHeldIsEBUSY) {
  ASSERT_EQ(write(w(), std::string(4097, 'x').data(), 4097), 4097);
  EXPECT_ERRNO(fcntl(w(), F_SETPIPE_SZ, 4096), EBUSY);
  EXPECT_EQ(fcntl(w(), F_GETPIPE_SZ), 65536);
  EXPECT_EQ(fcntl(w(), F_SETPIPE_SZ, 8192), 8192);
}

TEST_F(PipeTest, NonRootCannotExceedPipeMaxSize) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setresuid(65534, 65534, 65534) != 0) _exit(10);
    // /proc/sys/fs/pipe-max-size is 1 MiB by default.
    if (fcntl(w(), F_SETPIPE_SZ, 1 << 20) != 1 << 20) _exit(11);
    if (fcntl(w(), F_SETPIPE_SZ, 2 << 20) != -1 || errno != EPERM) _exit(12);
    _exit(0);
  }
  EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(PipeSizeTest, NotAPipeIsEBADF) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_ERRNO(fcntl(fd, F_GETPIPE_SZ), EBADF);
  EXPECT_ERRNO(fcntl(fd, F_SETPIPE_SZ, 4096), EBADF);
  close(fd);
}

// ------------------------------------------------------- FIONREAD, fstat

TEST_F(PipeTest, FionreadCountsUnreadBytes) {
  int avail = -1;
  ASSERT_OK(ioctl(r(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  ASSERT_EQ(write(w(), "hello", 5), 5);
  ASSERT_EQ(write(w(), "world!", 6), 6);
  ASSERT_OK(ioctl(r(), FIONREAD, &avail));
  EXPECT_EQ(avail, 11);
  // The write end answers too.
  avail = -1;
  ASSERT_OK(ioctl(w(), FIONREAD, &avail));
  EXPECT_EQ(avail, 11);
  char buf[3];
  ASSERT_EQ(read(r(), buf, 3), 3);
  ASSERT_OK(ioctl(r(), FIONREAD, &avail));
  EXPECT_EQ(avail, 8);
}

TEST_F(PipeTest, FstatShowsAFifo) {
  struct stat a = {}, b = {};
  ASSERT_OK(fstat(r(), &a));
  ASSERT_OK(fstat(w(), &b));
  EXPECT_TRUE(S_ISFIFO(a.st_mode));
  EXPECT_EQ(a.st_mode, static_cast<mode_t>(S_IFIFO | 0600));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  EXPECT_EQ(a.st_uid, geteuid());
  EXPECT_EQ(a.st_gid, getegid());
  EXPECT_EQ(a.st_nlink, 1u);
  EXPECT_EQ(a.st_size, 0);
  EXPECT_EQ(a.st_blksize, 4096);
  // A second pipe is a different inode.
  int other[2];
  ASSERT_OK(pipe2(other, O_CLOEXEC));
  struct stat c = {};
  ASSERT_OK(fstat(other[0], &c));
  EXPECT_NE(c.st_ino, a.st_ino);
  close(other[0]);
  close(other[1]);
}

TEST_F(PipeTest, ProcFdLinkNamesThePipeInode) {
  struct stat st = {};
  ASSERT_OK(fstat(r(), &st));
  std::string want = "pipe:[" + std::to_string(st.st_ino) + "]";
  for (int fd : {r(), w()}) {
    char buf[64] = {};
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
    ASSERT_GT(n, 0) << strerror(errno);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), want);
  }
}

// --------------------------------------------------------------- blocking

TEST_F(PipeTest, ABlockingReadIsWokenByAWriteFromAnotherThread) {
  Watchdog watchdog;
  std::thread writer = RunLater(50, [this] { write(w(), "wake", 4); });
  EXPECT_EQ(Read(r(), 100), "wake");
  writer.join();
}

TEST_F(PipeTest, ABlockingReadIsWokenByTheLastWriterClosing) {
  Watchdog watchdog;
  std::thread closer = RunLater(50, [this] { CloseWrite(); });
  EXPECT_EQ(Read(r(), 100), "");
  closer.join();
}

TEST_F(PipeTest, ABlockingWriteToAFullPipeWaitsForRoom) {
  Watchdog watchdog;
  EXPECT_EQ(Fill(), 65536u);
  ASSERT_OK(fcntl(w(), F_SETFL, 0));  // blocking again
  std::thread reader = RunLater(50, [this] {
    std::vector<char> buf(8192);
    read(r(), buf.data(), buf.size());
  });
  EXPECT_EQ(write(w(), "more", 4), 4);
  reader.join();
}

// ------------------------------------------------------ O_DIRECT (packets)

TEST_F(PipeTest, PacketModeKeepsWriteBoundaries) {
  int fds[2];
  ASSERT_OK(pipe2(fds, O_DIRECT | O_CLOEXEC));
  EXPECT_EQ(fcntl(fds[1], F_GETFL) & O_DIRECT, O_DIRECT);
  ASSERT_EQ(write(fds[1], "abc", 3), 3);
  ASSERT_EQ(write(fds[1], "defg", 4), 4);
  ASSERT_EQ(write(fds[1], "hello", 5), 5);
  ASSERT_EQ(write(fds[1], "next", 4), 4);
  EXPECT_EQ(Read(fds[0], 100), "abc");
  EXPECT_EQ(Read(fds[0], 100), "defg");
  // A short read takes the head of a packet and discards the rest.
  EXPECT_EQ(Read(fds[0], 2), "he");
  EXPECT_EQ(Read(fds[0], 100), "next");
  close(fds[0]);
  close(fds[1]);
}

// ------------------------------------------------------------------ FIFOs

class FifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "fifo";
    ASSERT_OK(mkfifo(path_.c_str(), 0640));
  }
  TempPath dir_;
  std::string path_;
};

TEST_F(FifoTest, MkfifoMakesAFifo) {
  struct stat st = {};
  ASSERT_OK(stat(path_.c_str(), &st));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(
      st.st_mode & 07777, 0640u & ~[] {
        mode_t m = umask(0);
        umask(m);
        return m;
      }());
  EXPECT_ERRNO(mkfifo(path_.c_str(), 0600), EEXIST);
}

TEST_F(FifoTest, NonblockingOpens) {
  // A writer without a reader: ENXIO.
  EXPECT_ERRNO(open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC), ENXIO);
  // A reader never needs a writer.
  int rd = open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(rd, 0) << strerror(errno);
  int wr = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(wr, 0) << strerror(errno);
  struct stat st = {};
  ASSERT_OK(fstat(rd, &st));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(write(wr, "fifo", 4), 4);
  EXPECT_EQ(Read(rd, 100), "fifo");
  close(wr);
  EXPECT_EQ(Read(rd, 100), "");  // EOF: the writer came and went
  close(rd);
  // The reader is gone: ENXIO again.
  EXPECT_ERRNO(open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC), ENXIO);
}

TEST_F(FifoTest, OpenReadWriteDoesNotBlock) {
  int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "rw", 2), 2);
  EXPECT_EQ(Read(fd, 10), "rw");
  // With O_RDWR in place a nonblocking writer finds a reader.
  int wr = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  EXPECT_GE(wr, 0) << strerror(errno);
  close(wr);
  close(fd);
}

TEST_F(FifoTest, ABlockingOpenWaitsForThePeer) {
  Watchdog watchdog;
  int wr = -1;
  std::thread writer([&] { wr = open(path_.c_str(), O_WRONLY | O_CLOEXEC); });
  int rd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  writer.join();
  ASSERT_GE(rd, 0) << strerror(errno);
  ASSERT_GE(wr, 0);
  ASSERT_EQ(write(wr, "x", 1), 1);
  EXPECT_EQ(Read(rd, 10), "x");
  close(wr);
  close(rd);
}

}  // namespace
