// sendfile(2), splice(2), tee(2), vmsplice(2) and copy_file_range(2): the
// data, offsets and positions, Linux's errnos, and blocking across threads.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test/util/signal_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::Pipe;
using testing_util::ReadFile;
using testing_util::RunLater;
using testing_util::ScopedAction;
using testing_util::TempPath;
using testing_util::Watchdog;
using testing_util::WriteFile;

constexpr size_t kPipeCapacity = 65536;

// Bytes that differ from position to position, so that misplaced data
// shows.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

std::string ReadN(int fd, size_t n) {
  std::string s(n, '\0');
  ssize_t r = read(fd, s.data(), n);
  s.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return s;
}

off_t Position(int fd) { return lseek(fd, 0, SEEK_CUR); }

// Fills `fd` (a pipe's write end, O_NONBLOCK or not) to its capacity.
void FillPipe(int fd) {
  int flags = fcntl(fd, F_GETFL);
  ASSERT_OK(fcntl(fd, F_SETFL, flags | O_NONBLOCK));
  std::string chunk(4096, 'f');
  while (write(fd, chunk.data(), chunk.size()) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_OK(fcntl(fd, F_SETFL, flags));
}

void NoopHandler(int, siginfo_t*, void*) {}

class SpliceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_path_ = dir_ / "src";
    dst_path_ = dir_ / "dst";
    WriteFile(src_path_, "0123456789");
    src_ = open(src_path_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_OK(src_);
    dst_ =
        open(dst_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_OK(dst_);
  }
  void TearDown() override {
    close(src_);
    close(dst_);
  }

  TempPath dir_;
  std::string src_path_, dst_path_;
  int src_ = -1;
  int dst_ = -1;
};

// ---- sendfile ----

TEST_F(SpliceTest, SendfileUsesAndAdvancesBothPositions) {
  ASSERT_EQ(lseek(src_, 2, SEEK_SET), 2);
  ASSERT_EQ(write(dst_, "xy", 2), 2);
  EXPECT_EQ(sendfile(dst_, src_, nullptr, 5), 5);
  EXPECT_EQ(Position(src_), 7);
  EXPECT_EQ(Position(dst_), 7);
  EXPECT_EQ(ReadFile(dst_path_), "xy23456");
}

TEST_F(SpliceTest, SendfileOffsetIsUpdatedAndPositionIsNot) {
  off_t off = 3;
  EXPECT_EQ(sendfile(dst_, src_, &off, 4), 4);
  EXPECT_EQ(off, 7);
  EXPECT_EQ(Position(src_), 0);
  EXPECT_EQ(ReadFile(dst_path_), "3456");
  // Short at the end of the file, then nothing.
  EXPECT_EQ(sendfile(dst_, src_, &off, 100), 3);
  EXPECT_EQ(off, 10);
  EXPECT_EQ(sendfile(dst_, src_, &off, 100), 0);
  EXPECT_EQ(off, 10);
  EXPECT_EQ(ReadFile(dst_path_), "3456789");
}

TEST_F(SpliceTest, SendfileLargeFileWhole) {
  std::string data = Pattern(1 << 20 | 123);
  WriteFile(src_path_, data);
  off_t off = 0;
  // A count beyond MAX_RW_COUNT is cut to it; the file ends first.
  EXPECT_EQ(sendfile(dst_, src_, &off, size_t{1} << 40),
            static_cast<ssize_t>(data.size()));
  EXPECT_EQ(off, static_cast<off_t>(data.size()));
  EXPECT_EQ(ReadFile(dst_path_), data);
}

TEST_F(SpliceTest, SendfileCountZero) {
  off_t off = 0;
  EXPECT_EQ(sendfile(dst_, src_, &off, 0), 0);
  EXPECT_EQ(off, 0);
}

TEST_F(SpliceTest, SendfileErrors) {
  off_t off = 0;
  EXPECT_ERRNO(sendfile(dst_, -1, &off, 1), EBADF);
  EXPECT_ERRNO(sendfile(-1, src_, &off, 1), EBADF);
  EXPECT_ERRNO(sendfile(src_, src_, &off, 1), EBADF);  // output read-only
  int wo = open(src_path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_OK(wo);
  EXPECT_ERRNO(sendfile(dst_, wo, &off, 1), EBADF);  // input write-only
  close(wo);
  int opath = open(src_path_.c_str(), O_PATH | O_CLOEXEC);
  ASSERT_OK(opath);
  EXPECT_ERRNO(sendfile(dst_, opath, nullptr, 1), EBADF);
  close(opath);

  off = -1;
  EXPECT_ERRNO(sendfile(dst_, src_, &off, 1), EINVAL);
  off = 0x7ffffffffffffff0LL;
  EXPECT_ERRNO(sendfile(dst_, src_, &off, 100), EINVAL);
  off = 0;
  EXPECT_ERRNO(sendfile(dst_, src_, &off, static_cast<size_t>(-1)), EINVAL);
  EXPECT_ERRNO(sendfile(dst_, src_, reinterpret_cast<off_t*>(8), 1), EFAULT);

  int dir = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_OK(dir);
  off = 0;
  EXPECT_ERRNO(sendfile(dst_, dir, &off, 1), EINVAL);
  close(dir);

  int app =
      open(dst_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);  // appending
  ASSERT_OK(app);
  off = 0;
  EXPECT_ERRNO(sendfile(app, src_, &off, 1), EINVAL);
  close(app);
}

TEST_F(SpliceTest, SendfileFromPipe) {
  Pipe p;
  ASSERT_EQ(write(p.w, "abc", 3), 3);
  off_t off = 0;
  EXPECT_ERRNO(sendfile(dst_, p.r, &off, 3), ESPIPE);
  EXPECT_ERRNO(sendfile(dst_, p.r, nullptr, 3), EINVAL);
}

TEST_F(SpliceTest, SendfileToPipe) {
  Pipe p;
  off_t off = 1;
  EXPECT_EQ(sendfile(p.w, src_, &off, 4), 4);
  EXPECT_EQ(off, 5);
  EXPECT_EQ(ReadN(p.r, 100), "1234");
  // Without an offset: the file's position.
  EXPECT_EQ(sendfile(p.w, src_, nullptr, 3), 3);
  EXPECT_EQ(Position(src_), 3);
  EXPECT_EQ(ReadN(p.r, 100), "012");
}

TEST_F(SpliceTest, SendfileToPipeStopsAtItsCapacity) {
  std::string data = Pattern(3 * kPipeCapacity);
  WriteFile(src_path_, data);
  Pipe p;
  off_t off = 0;
  EXPECT_EQ(sendfile(p.w, src_, &off, data.size()),
            static_cast<ssize_t>(kPipeCapacity));
  EXPECT_EQ(off, static_cast<off_t>(kPipeCapacity));
  EXPECT_EQ(ReadN(p.r, kPipeCapacity), data.substr(0, kPipeCapacity));
}

TEST_F(SpliceTest, SendfileToFullNonblockingPipe) {
  int fds[2];
  ASSERT_OK(pipe2(fds, O_NONBLOCK | O_CLOEXEC));
  FillPipe(fds[1]);
  off_t off = 0;
  EXPECT_ERRNO(sendfile(fds[1], src_, &off, 1), EAGAIN);
  close(fds[0]);
  close(fds[1]);
}

TEST_F(SpliceTest, SendfileToPipeWithoutReader) {
  ScopedAction ignore(SIGPIPE, SIG_IGN);
  Pipe p;
  p.CloseR();
  off_t off = 0;
  EXPECT_ERRNO(sendfile(p.w, src_, &off, 1), EPIPE);
}

TEST_F(SpliceTest, SendfileBlocksUntilThePipeHasRoom) {
  Watchdog watchdog;
  Pipe p;
  FillPipe(p.w);
  std::string drained;
  std::thread reader = RunLater(100, [&] { drained = ReadN(p.r, 8192); });
  off_t off = 0;
  EXPECT_EQ(sendfile(p.w, src_, &off, 10), 10);
  reader.join();
  EXPECT_EQ(drained.size(), 8192u);
}

// ---- splice ----

TEST_F(SpliceTest, SpliceFileToPipeWithOffset) {
  Pipe p;
  loff_t off = 2;
  EXPECT_EQ(splice(src_, &off, p.w, nullptr, 5, 0), 5);
  EXPECT_EQ(off, 7);
  EXPECT_EQ(Position(src_), 0);
  EXPECT_EQ(ReadN(p.r, 100), "23456");
}

TEST_F(SpliceTest, SpliceFileToPipeAtPosition) {
  Pipe p;
  ASSERT_EQ(lseek(src_, 6, SEEK_SET), 6);
  EXPECT_EQ(splice(src_, nullptr, p.w, nullptr, 100, SPLICE_F_MORE), 4);
  EXPECT_EQ(Position(src_), 10);
  EXPECT_EQ(ReadN(p.r, 100), "6789");
  // At the end of the file: nothing.
  EXPECT_EQ(splice(src_, nullptr, p.w, nullptr, 100, 0), 0);
}

TEST_F(SpliceTest, SplicePipeToFile) {
  Pipe p;
  ASSERT_EQ(write(p.w, "hello world", 11), 11);
  loff_t off = 3;
  EXPECT_EQ(splice(p.r, nullptr, dst_, &off, 5, SPLICE_F_MOVE), 5);
  EXPECT_EQ(off, 8);
  EXPECT_EQ(Position(dst_), 0);
  // The rest, at the file's position.
  EXPECT_EQ(splice(p.r, nullptr, dst_, nullptr, 100, 0), 6);
  EXPECT_EQ(Position(dst_), 6);
  std::string want("\0\0\0hello", 8);
  want.replace(0, 6, " world");
  EXPECT_EQ(ReadFile(dst_path_), want);
}

TEST_F(SpliceTest, SplicePipeToFileLarge) {
  std::string data = Pattern(kPipeCapacity);
  Pipe p;
  ASSERT_EQ(write(p.w, data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  EXPECT_EQ(splice(p.r, nullptr, dst_, nullptr, 1 << 20, 0),
            static_cast<ssize_t>(data.size()));
  EXPECT_EQ(ReadFile(dst_path_), data);
}

TEST_F(SpliceTest, SplicePipeToPipe) {
  Pipe a, b;
  ASSERT_EQ(write(a.w, "abcdef", 6), 6);
  EXPECT_EQ(splice(a.r, nullptr, b.w, nullptr, 4, 0), 4);
  EXPECT_EQ(ReadN(b.r, 100), "abcd");
  EXPECT_EQ(ReadN(a.r, 100), "ef");
}

TEST_F(SpliceTest, SpliceFromPipeWithoutWriterIsEndOfFile) {
  Pipe p;
  p.CloseW();
  EXPECT_EQ(splice(p.r, nullptr, dst_, nullptr, 10, 0), 0);
  Pipe q;
  EXPECT_EQ(splice(p.r, nullptr, q.w, nullptr, 10, 0), 0);
}

TEST_F(SpliceTest, SpliceToPipeWithoutReader) {
  ScopedAction ignore(SIGPIPE, SIG_IGN);
  Pipe p;
  p.CloseR();
  EXPECT_ERRNO(splice(src_, nullptr, p.w, nullptr, 1, 0), EPIPE);
  Pipe q;
  ASSERT_EQ(write(q.w, "x", 1), 1);
  EXPECT_ERRNO(splice(q.r, nullptr, p.w, nullptr, 1, 0), EPIPE);
}

TEST_F(SpliceTest, SpliceErrors) {
  Pipe p, q;
  loff_t off = 0;
  // A length of 0 is checked first of all.
  EXPECT_EQ(splice(-1, nullptr, -1, nullptr, 0, 0xffff), 0);
  EXPECT_ERRNO(splice(src_, nullptr, p.w, nullptr, 1, 0x100), EINVAL);
  EXPECT_ERRNO(splice(-1, nullptr, p.w, nullptr, 1, 0), EBADF);
  EXPECT_ERRNO(splice(src_, nullptr, -1, nullptr, 1, 0), EBADF);
  // No pipe at all.
  EXPECT_ERRNO(splice(src_, nullptr, dst_, nullptr, 1, 0), EINVAL);
  // An offset for a pipe.
  EXPECT_ERRNO(splice(p.r, &off, dst_, nullptr, 1, 0), ESPIPE);
  EXPECT_ERRNO(splice(src_, nullptr, p.w, &off, 1, 0), ESPIPE);
  EXPECT_ERRNO(splice(p.r, &off, q.w, nullptr, 1, 0), ESPIPE);
  // A pipe to itself.
  EXPECT_ERRNO(splice(p.r, nullptr, p.w, nullptr, 1, 0), EINVAL);
  // Ends the wrong way round.
  EXPECT_ERRNO(splice(p.w, nullptr, q.w, nullptr, 1, 0), EBADF);
  EXPECT_ERRNO(splice(p.r, nullptr, q.r, nullptr, 1, 0), EBADF);
  EXPECT_ERRNO(splice(p.r, nullptr, src_, nullptr, 1, 0), EBADF);
  int wo = open(src_path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_OK(wo);
  EXPECT_ERRNO(splice(wo, nullptr, p.w, nullptr, 1, 0), EBADF);
  close(wo);
  // An appending output, a negative offset, a directory.
  int app = open(dst_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_OK(app);
  EXPECT_ERRNO(splice(p.r, nullptr, app, nullptr, 1, 0), EINVAL);
  close(app);
  off = -1;
  EXPECT_ERRNO(splice(src_, &off, p.w, nullptr, 1, 0), EINVAL);
  int dir = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_OK(dir);
  EXPECT_ERRNO(splice(dir, nullptr, p.w, nullptr, 1, 0), EINVAL);
  close(dir);
  EXPECT_ERRNO(splice(src_, reinterpret_cast<loff_t*>(8), p.w, nullptr, 1, 0),
               EFAULT);
}

TEST_F(SpliceTest, SpliceNonblockFlagOnEmptyAndFullPipes) {
  Pipe p, q;
  EXPECT_ERRNO(splice(p.r, nullptr, dst_, nullptr, 1, SPLICE_F_NONBLOCK),
               EAGAIN);
  ASSERT_EQ(write(q.w, "x", 1), 1);
  EXPECT_ERRNO(splice(p.r, nullptr, q.w, nullptr, 1, SPLICE_F_NONBLOCK),
               EAGAIN);
  FillPipe(p.w);
  EXPECT_ERRNO(splice(src_, nullptr, p.w, nullptr, 1, SPLICE_F_NONBLOCK),
               EAGAIN);
  EXPECT_ERRNO(splice(q.r, nullptr, p.w, nullptr, 1, SPLICE_F_NONBLOCK),
               EAGAIN);
}

TEST_F(SpliceTest, SpliceHonoursThePipesNonblockingMode) {
  int fds[2];
  ASSERT_OK(pipe2(fds, O_NONBLOCK | O_CLOEXEC));
  EXPECT_ERRNO(splice(fds[0], nullptr, dst_, nullptr, 1, 0), EAGAIN);
  FillPipe(fds[1]);
  EXPECT_ERRNO(splice(src_, nullptr, fds[1], nullptr, 1, 0), EAGAIN);
  close(fds[0]);
  close(fds[1]);
}

// O_NONBLOCK of the file at the other end does not make splice
// non-blocking: it waits for the pipe.
TEST_F(SpliceTest, SpliceWaitsForDataWhateverTheFilesMode) {
  Watchdog watchdog;
  int nb = open(dst_path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_OK(nb);
  Pipe p;
  std::thread writer =
      RunLater(100, [&] { EXPECT_EQ(write(p.w, "late", 4), 4); });
  EXPECT_EQ(splice(p.r, nullptr, nb, nullptr, 10, 0), 4);
  writer.join();
  close(nb);
  EXPECT_EQ(ReadFile(dst_path_), "late");
}

TEST_F(SpliceTest, SpliceWaitsForRoom) {
  Watchdog watchdog;
  Pipe p;
  FillPipe(p.w);
  std::thread reader = RunLater(100, [&] { ReadN(p.r, 4096); });
  EXPECT_EQ(splice(src_, nullptr, p.w, nullptr, 10, 0), 10);
  reader.join();
}

// A splice waiting for the pipe does not keep others from the file.
TEST_F(SpliceTest, WaitingSpliceLeavesTheFileUsable) {
  Watchdog watchdog;
  Pipe p;
  FillPipe(p.w);
  std::atomic<ssize_t> spliced{-2};
  std::thread splicer(
      [&] { spliced = splice(src_, nullptr, p.w, nullptr, 3, 0); });
  testing_util::SleepMs(50);
  char c;
  EXPECT_EQ(read(src_, &c, 1), 1);
  ReadN(p.r, 4096);
  splicer.join();
  EXPECT_EQ(spliced.load(), 3);
  // Where the position ends up is a race: Linux reads it before waiting
  // and stores it back after, undoing the read's update.
}

TEST_F(SpliceTest, SplicePipeToPipeWaitsForData) {
  Watchdog watchdog;
  Pipe a, b;
  std::thread writer =
      RunLater(100, [&] { EXPECT_EQ(write(a.w, "data", 4), 4); });
  EXPECT_EQ(splice(a.r, nullptr, b.w, nullptr, 100, 0), 4);
  writer.join();
  EXPECT_EQ(ReadN(b.r, 100), "data");
}

TEST_F(SpliceTest, SpliceInterruptedBySignal) {
  Watchdog watchdog;
  ScopedAction action(SIGUSR1, NoopHandler);  // no SA_RESTART
  Pipe p;
  pid_t tid = testing_util::Gettid();
  std::thread signaller =
      RunLater(100, [&] { ASSERT_OK(tgkill(getpid(), tid, SIGUSR1)); });
  EXPECT_ERRNO(splice(p.r, nullptr, dst_, nullptr, 10, 0), EINTR);
  signaller.join();
}

TEST_F(SpliceTest, SpliceRestartsAfterSaRestartHandler) {
  Watchdog watchdog;
  ScopedAction action(SIGUSR1, NoopHandler, SA_RESTART);
  Pipe p;
  pid_t tid = testing_util::Gettid();
  std::thread signaller = RunLater(50, [&] {
    ASSERT_OK(tgkill(getpid(), tid, SIGUSR1));
    testing_util::SleepMs(50);
    EXPECT_EQ(write(p.w, "ok", 2), 2);
  });
  EXPECT_EQ(splice(p.r, nullptr, dst_, nullptr, 10, 0), 2);
  signaller.join();
}

// ---- tee ----

TEST_F(SpliceTest, TeeCopiesWithoutConsuming) {
  Pipe a, b;
  ASSERT_EQ(write(a.w, "hello", 5), 5);
  EXPECT_EQ(tee(a.r, b.w, 3, 0), 3);
  EXPECT_EQ(ReadN(b.r, 100), "hel");
  EXPECT_EQ(tee(a.r, b.w, 100, SPLICE_F_NONBLOCK), 5);
  EXPECT_EQ(ReadN(b.r, 100), "hello");
  EXPECT_EQ(ReadN(a.r, 100), "hello");
}

TEST_F(SpliceTest, TeeErrors) {
  Pipe a, b;
  EXPECT_ERRNO(tee(a.r, b.w, 0, 0x100), EINVAL);  // flags before length
  EXPECT_EQ(tee(-1, -1, 0, 0), 0);
  EXPECT_ERRNO(tee(-1, b.w, 1, 0), EBADF);
  EXPECT_ERRNO(tee(a.r, -1, 1, 0), EBADF);
  EXPECT_ERRNO(tee(a.w, b.w, 1, 0), EBADF);
  EXPECT_ERRNO(tee(a.r, b.r, 1, 0), EBADF);
  EXPECT_ERRNO(tee(a.r, a.w, 1, 0), EINVAL);
  EXPECT_ERRNO(tee(src_, b.w, 1, 0), EINVAL);
  EXPECT_ERRNO(tee(a.r, dst_, 1, 0), EINVAL);
}

TEST_F(SpliceTest, TeeNonblockingAndEndOfFile) {
  Pipe a, b;
  EXPECT_ERRNO(tee(a.r, b.w, 1, SPLICE_F_NONBLOCK), EAGAIN);
  ASSERT_EQ(write(a.w, "x", 1), 1);
  FillPipe(b.w);
  EXPECT_ERRNO(tee(a.r, b.w, 1, SPLICE_F_NONBLOCK), EAGAIN);
  ReadN(a.r, 1);
  a.CloseW();
  // Empty with no writer: the end, once the output has room.
  Pipe c;
  EXPECT_EQ(tee(a.r, c.w, 1, 0), 0);
}

TEST_F(SpliceTest, TeeToPipeWithoutReader) {
  ScopedAction ignore(SIGPIPE, SIG_IGN);
  Pipe a, b;
  ASSERT_EQ(write(a.w, "x", 1), 1);
  b.CloseR();
  EXPECT_ERRNO(tee(a.r, b.w, 1, 0), EPIPE);
}

TEST_F(SpliceTest, TeeWaitsForData) {
  Watchdog watchdog;
  Pipe a, b;
  std::thread writer =
      RunLater(100, [&] { EXPECT_EQ(write(a.w, "tee", 3), 3); });
  EXPECT_EQ(tee(a.r, b.w, 10, 0), 3);
  writer.join();
  EXPECT_EQ(ReadN(b.r, 10), "tee");
  EXPECT_EQ(ReadN(a.r, 10), "tee");
}

// ---- vmsplice ----

TEST_F(SpliceTest, VmspliceIntoPipe) {
  Pipe p;
  char one[] = "abc";
  char two[] = "defg";
  struct iovec iov[2] = {{one, 3}, {two, 4}};
  EXPECT_EQ(vmsplice(p.w, iov, 2, 0), 7);
  EXPECT_EQ(ReadN(p.r, 100), "abcdefg");
}

TEST_F(SpliceTest, VmspliceOutOfPipe) {
  Pipe p;
  ASSERT_EQ(write(p.w, "0123456789", 10), 10);
  char one[4] = {}, two[3] = {};
  struct iovec iov[2] = {{one, 4}, {two, 3}};
  EXPECT_EQ(vmsplice(p.r, iov, 2, 0), 7);
  EXPECT_EQ(std::string(one, 4), "0123");
  EXPECT_EQ(std::string(two, 3), "456");
  EXPECT_EQ(ReadN(p.r, 100), "789");
}

TEST_F(SpliceTest, VmspliceErrors) {
  Pipe p;
  char buf[4] = "abc";
  struct iovec iov = {buf, 3};
  EXPECT_ERRNO(vmsplice(p.w, &iov, 1, 0x100), EINVAL);
  EXPECT_ERRNO(vmsplice(-1, &iov, 1, 0), EBADF);
  EXPECT_ERRNO(vmsplice(dst_, &iov, 1, 0), EBADF);
  EXPECT_ERRNO(vmsplice(p.w, &iov, 1025, 0), EINVAL);
  EXPECT_EQ(vmsplice(p.w, &iov, 0, 0), 0);
  struct iovec bad = {reinterpret_cast<void*>(8), 3};
  EXPECT_ERRNO(vmsplice(p.w, &bad, 1, 0), EFAULT);
  ScopedAction ignore(SIGPIPE, SIG_IGN);
  p.CloseR();
  EXPECT_ERRNO(vmsplice(p.w, &iov, 1, 0), EPIPE);
}

TEST_F(SpliceTest, VmspliceNonblockFlag) {
  Pipe p;
  char buf[4] = {};
  struct iovec iov = {buf, sizeof(buf)};
  EXPECT_ERRNO(vmsplice(p.r, &iov, 1, SPLICE_F_NONBLOCK), EAGAIN);
  FillPipe(p.w);
  EXPECT_ERRNO(vmsplice(p.w, &iov, 1, SPLICE_F_NONBLOCK), EAGAIN);
}

// vmsplice ignores the pipe's O_NONBLOCK: only SPLICE_F_NONBLOCK counts.
TEST_F(SpliceTest, VmspliceBlocksOnNonblockingPipe) {
  Watchdog watchdog;
  int fds[2];
  ASSERT_OK(pipe2(fds, O_NONBLOCK | O_CLOEXEC));
  std::thread writer =
      RunLater(100, [&] { EXPECT_EQ(write(fds[1], "vm", 2), 2); });
  char buf[8] = {};
  struct iovec iov = {buf, sizeof(buf)};
  EXPECT_EQ(vmsplice(fds[0], &iov, 1, 0), 2);
  writer.join();
  EXPECT_EQ(std::string(buf, 2), "vm");
  close(fds[0]);
  close(fds[1]);
}

// ---- copy_file_range ----

TEST_F(SpliceTest, CopyFileRangeWithOffsets) {
  loff_t in = 2, out = 1;
  EXPECT_EQ(copy_file_range(src_, &in, dst_, &out, 5, 0), 5);
  EXPECT_EQ(in, 7);
  EXPECT_EQ(out, 6);
  EXPECT_EQ(Position(src_), 0);
  EXPECT_EQ(Position(dst_), 0);
  EXPECT_EQ(ReadFile(dst_path_), std::string("\0"
                                             "23456",
                                             6));
}

TEST_F(SpliceTest, CopyFileRangeAtPositions) {
  ASSERT_EQ(lseek(src_, 4, SEEK_SET), 4);
  EXPECT_EQ(copy_file_range(src_, nullptr, dst_, nullptr, 100, 0), 6);
  EXPECT_EQ(Position(src_), 10);
  EXPECT_EQ(Position(dst_), 6);
  EXPECT_EQ(ReadFile(dst_path_), "456789");
  // At the end of the input: nothing, and beyond it too.
  EXPECT_EQ(copy_file_range(src_, nullptr, dst_, nullptr, 100, 0), 0);
  loff_t in = 100;
  EXPECT_EQ(copy_file_range(src_, &in, dst_, nullptr, 5, 0), 0);
}

TEST_F(SpliceTest, CopyFileRangeLarge) {
  std::string data = Pattern(3 << 20);
  WriteFile(src_path_, data);
  EXPECT_EQ(copy_file_range(src_, nullptr, dst_, nullptr, data.size(), 0),
            static_cast<ssize_t>(data.size()));
  EXPECT_EQ(ReadFile(dst_path_), data);
}

TEST_F(SpliceTest, CopyFileRangeWithinOneFile) {
  int fd = open(src_path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_OK(fd);
  loff_t in = 0, out = 2;
  EXPECT_ERRNO(copy_file_range(fd, &in, fd, &out, 5, 0), EINVAL);
  out = 5;
  EXPECT_EQ(copy_file_range(fd, &in, fd, &out, 5, 0), 5);
  EXPECT_EQ(ReadFile(src_path_), "0123401234");
  // A range cut short by the end of the file no longer overlaps.
  in = 0;
  out = 10;
  EXPECT_EQ(copy_file_range(fd, &in, fd, &out, 100, 0), 10);
  EXPECT_EQ(ReadFile(src_path_), "01234012340123401234");
  close(fd);
}

TEST_F(SpliceTest, CopyFileRangeErrors) {
  loff_t in = 0, out = 0;
  EXPECT_ERRNO(copy_file_range(-1, nullptr, dst_, nullptr, 1, 0), EBADF);
  EXPECT_ERRNO(copy_file_range(src_, nullptr, -1, nullptr, 1, 0), EBADF);
  EXPECT_ERRNO(copy_file_range(src_, nullptr, dst_, nullptr, 1, 1), EINVAL);
  EXPECT_ERRNO(
      copy_file_range(src_, reinterpret_cast<loff_t*>(8), dst_, nullptr, 1, 0),
      EFAULT);
  int dir = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_OK(dir);
  EXPECT_ERRNO(copy_file_range(dir, nullptr, dst_, nullptr, 1, 0), EISDIR);
  EXPECT_ERRNO(copy_file_range(src_, nullptr, dir, nullptr, 1, 0), EISDIR);
  close(dir);
  Pipe p;
  EXPECT_ERRNO(copy_file_range(p.r, nullptr, dst_, nullptr, 1, 0), EINVAL);
  EXPECT_ERRNO(copy_file_range(src_, nullptr, p.w, nullptr, 1, 0), EINVAL);
  int app = open(dst_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_OK(app);
  EXPECT_ERRNO(copy_file_range(src_, nullptr, app, nullptr, 1, 0), EBADF);
  close(app);
  EXPECT_ERRNO(copy_file_range(dst_, nullptr, src_, nullptr, 1, 0), EBADF);
  int wo = open(src_path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_OK(wo);
  EXPECT_ERRNO(copy_file_range(wo, nullptr, dst_, nullptr, 1, 0), EBADF);
  close(wo);
  // Offsets that would wrap.
  in = -1;
  EXPECT_ERRNO(copy_file_range(src_, &in, dst_, &out, 5, 0), EOVERFLOW);
  in = 0;
  out = -1;
  EXPECT_ERRNO(copy_file_range(src_, &in, dst_, &out, 5, 0), EOVERFLOW);
}

// Linux 5.19 and later copy across filesystems only if both have a
// copy_file_range method of the same kind; tmpfs has none.
TEST_F(SpliceTest, CopyFileRangeAcrossFilesystems) {
  std::string shm_path = "/dev/shm/splice_test_" + std::to_string(getpid());
  int shm =
      open(shm_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (shm < 0) GTEST_SKIP() << "no /dev/shm: " << strerror(errno);
  unlink(shm_path.c_str());
  ASSERT_EQ(write(shm, "abc", 3), 3);
  struct stat a, b;
  ASSERT_OK(fstat(shm, &a));
  ASSERT_OK(fstat(dst_, &b));
  if (a.st_dev == b.st_dev)
    GTEST_SKIP() << "/dev/shm and the test directory "
                    "are one filesystem";
  loff_t in = 0;
  EXPECT_ERRNO(copy_file_range(shm, &in, dst_, nullptr, 3, 0), EXDEV);
  EXPECT_ERRNO(copy_file_range(src_, nullptr, shm, nullptr, 3, 0), EXDEV);
  close(shm);
}

}  // namespace
