// read(2), write(2), pread64(2), pwrite64(2), readv(2), writev(2),
// preadv(2), pwritev(2), lseek(2): Linux's semantics, natively and sandboxed.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test/util/test_util.h"

namespace {

using testing_util::ReadFile;
using testing_util::TempPath;
using testing_util::WriteFile;

// A directory with a 10-byte file, opened read-write.
using ReadWriteTest = testing_util::FileTest;

TEST_F(ReadWriteTest, ReadAdvancesThePositionAndStopsAtEnd) {
  char buf[6] = {};
  EXPECT_EQ(read(fd_, buf, 4), 4);
  EXPECT_EQ(std::string(buf, 4), "0123");
  EXPECT_EQ(read(fd_, buf, 6), 6);
  EXPECT_EQ(std::string(buf, 6), "456789");
  EXPECT_EQ(read(fd_, buf, 6), 0);  // end of file
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), 10);
}

TEST_F(ReadWriteTest, PositionalCallsLeaveThePositionAlone) {
  char buf[3] = {};
  EXPECT_EQ(pread(fd_, buf, 3, 5), 3);
  EXPECT_EQ(std::string(buf, 3), "567");
  EXPECT_EQ(pwrite(fd_, "ab", 2, 8), 2);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), 0);
  EXPECT_EQ(ReadFile(path_), "01234567ab");
  // Past the end: a read finds nothing, a write leaves a hole of zeros.
  EXPECT_EQ(pread(fd_, buf, 3, 100), 0);
  EXPECT_EQ(pwrite(fd_, "z", 1, 12), 1);
  EXPECT_EQ(ReadFile(path_), std::string("01234567ab\0\0z", 13));
}

TEST_F(ReadWriteTest, NegativeOffsetsAreInvalid) {
  char c;
  EXPECT_ERRNO(pread(fd_, &c, 1, -1), EINVAL);
  EXPECT_ERRNO(pwrite(fd_, &c, 1, -1), EINVAL);
  EXPECT_ERRNO(lseek(fd_, -1, SEEK_SET), EINVAL);
  EXPECT_ERRNO(lseek(fd_, 0, 42), EINVAL);
}

TEST_F(ReadWriteTest, OffsetIsCheckedBeforeTheDescriptor) {
  char c;
  // Linux refuses a negative offset before it looks up the fd.
  EXPECT_ERRNO(pread(-1, &c, 1, -1), EINVAL);
  EXPECT_ERRNO(pwrite(-1, &c, 1, -1), EINVAL);
  EXPECT_ERRNO(pread(-1, &c, 1, 0), EBADF);
  // And a positional read of a write-only file is EBADF (not EINVAL).
  int wo = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(wo, 0);
  EXPECT_ERRNO(pread(wo, &c, 1, 0), EBADF);
  close(wo);
}

TEST_F(ReadWriteTest, SeekWhences) {
  EXPECT_EQ(lseek(fd_, 3, SEEK_SET), 3);
  EXPECT_EQ(lseek(fd_, 2, SEEK_CUR), 5);
  EXPECT_EQ(lseek(fd_, -1, SEEK_END), 9);
  EXPECT_EQ(lseek(fd_, 100, SEEK_SET), 100);  // beyond the end is allowed
  EXPECT_EQ(lseek(fd_, 0, SEEK_DATA), 0);
  EXPECT_EQ(lseek(fd_, 0, SEEK_HOLE), 10);
  EXPECT_ERRNO(lseek(fd_, 10, SEEK_DATA), ENXIO);
}

TEST_F(ReadWriteTest, AppendAlwaysWritesAtTheEnd) {
  int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(write(fd, "X", 1), 1);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 11);
  close(fd);
  EXPECT_EQ(ReadFile(path_), "0123456789X");
}

TEST_F(ReadWriteTest, VectoredIoFillsEachBufferInTurn) {
  char a[3], b[4];
  struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
  EXPECT_EQ(readv(fd_, iov, 2), 7);
  EXPECT_EQ(std::string(a, 3), "012");
  EXPECT_EQ(std::string(b, 4), "3456");
  char x[] = "xy", y[] = "Z";
  struct iovec out[2] = {{x, 2}, {y, 1}};
  EXPECT_EQ(pwritev(fd_, out, 2, 1), 3);
  EXPECT_EQ(ReadFile(path_), "0xyZ456789");
  EXPECT_EQ(preadv(fd_, iov, 2, 8), 2);
  EXPECT_EQ(std::string(a, 2), "89");
  EXPECT_ERRNO(readv(fd_, iov, -1), EINVAL);
  EXPECT_ERRNO(readv(fd_, iov, 1025), EINVAL);  // IOV_MAX is 1024
  EXPECT_EQ(readv(fd_, iov, 0), 0);
}

TEST_F(ReadWriteTest, BadDescriptorsAndAccessModes) {
  char c;
  EXPECT_ERRNO(read(-1, &c, 1), EBADF);
  EXPECT_ERRNO(write(12345, &c, 1), EBADF);
  int ro = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ro, 0);
  EXPECT_ERRNO(write(ro, "x", 1), EBADF);
  close(ro);
  int wo = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(wo, 0);
  EXPECT_ERRNO(read(wo, &c, 1), EBADF);
  close(wo);
  int dir = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  EXPECT_ERRNO(read(dir, &c, 1), EISDIR);
  close(dir);
  int path_fd = open(path_.c_str(), O_PATH | O_CLOEXEC);
  ASSERT_GE(path_fd, 0);
  EXPECT_ERRNO(read(path_fd, &c, 1), EBADF);
  close(path_fd);
}

TEST_F(ReadWriteTest, BadBuffersAreEFAULT) {
  EXPECT_ERRNO(read(fd_, reinterpret_cast<void*>(8), 4), EFAULT);
  EXPECT_ERRNO(write(fd_, reinterpret_cast<void*>(8), 4), EFAULT);
  // An unmapped page right after a mapped one: the read stops short.
  char* p = static_cast<char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(munmap(p + 4096, 4096), 0);
  EXPECT_EQ(pread(fd_, p + 4096 - 4, 10, 0), 4);
  EXPECT_EQ(std::string(p + 4096 - 4, 4), "0123");
  munmap(p, 4096);
}

TEST_F(ReadWriteTest, ZeroLengthTransfers) {
  EXPECT_EQ(read(fd_, nullptr, 0), 0);
  EXPECT_EQ(write(fd_, nullptr, 0), 0);
  EXPECT_EQ(ReadFile(path_), "0123456789");
}

TEST_F(ReadWriteTest, LargeTransfersRoundTrip) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7);
  ASSERT_EQ(pwrite(fd_, big.data(), big.size(), 0),
            static_cast<ssize_t>(big.size()));
  std::string back(big.size(), '\0');
  ASSERT_EQ(pread(fd_, back.data(), back.size(), 0),
            static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == big);
}

// Reads this long go straight from the file into the process's memory in
// the sandbox (platform::AddressSpace::PreadToGuest), shorter ones through
// the sentry's buffer; both must keep read(2)'s rules: short at the first
// page the process cannot write, EFAULT if it can write none, the position
// moved by what was read.
TEST_F(ReadWriteTest, LargeReadsIntoPartlyWritableBuffers) {
  constexpr size_t kBig = 1024 * 1024;
  std::string big(kBig, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 13);
  ASSERT_EQ(pwrite(fd_, big.data(), big.size(), 0),
            static_cast<ssize_t>(big.size()));
  char* p = static_cast<char*>(mmap(nullptr, kBig, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(mprotect(p + kBig / 2, kBig / 2, PROT_READ), 0);
  ASSERT_EQ(lseek(fd_, 0, SEEK_SET), 0);
  EXPECT_EQ(read(fd_, p, kBig), static_cast<ssize_t>(kBig / 2));
  EXPECT_EQ(memcmp(p, big.data(), kBig / 2), 0);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), static_cast<off_t>(kBig / 2));
  EXPECT_ERRNO(read(fd_, p + kBig / 2, kBig / 2), EFAULT);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), static_cast<off_t>(kBig / 2));
  // The same through the sentry's buffer.
  ASSERT_EQ(lseek(fd_, 0, SEEK_SET), 0);
  EXPECT_EQ(read(fd_, p + kBig / 2 - 8192, 65536), 8192);
  EXPECT_EQ(memcmp(p + kBig / 2 - 8192, big.data(), 8192), 0);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), 8192);
  EXPECT_ERRNO(read(fd_, p + kBig / 2, 65536), EFAULT);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), 8192);
  // Short at the end of the file, then nothing.
  EXPECT_EQ(pread(fd_, p, kBig / 2, kBig - 4096), 4096);
  EXPECT_EQ(memcmp(p, big.data() + kBig - 4096, 4096), 0);
  EXPECT_EQ(pread(fd_, p, kBig / 2, kBig + 1), 0);
  // Vectored: each buffer filled in turn.
  std::vector<char> a(kBig / 2), b(kBig / 2);
  struct iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  EXPECT_EQ(preadv(fd_, iov, 2, 0), static_cast<ssize_t>(kBig));
  EXPECT_EQ(memcmp(a.data(), big.data(), a.size()), 0);
  EXPECT_EQ(memcmp(b.data(), big.data() + a.size(), b.size()), 0);
  munmap(p, kBig);
}

// Reads of tens of MiB (the sandbox splits them into pieces): one call
// returns the whole, and a fault or the end of the file past the first
// pieces still gives a short read of exactly what was there.
TEST_F(ReadWriteTest, VeryLargeReadsAreWholeOrShortAtTheFault) {
  constexpr size_t kMiB = 1024 * 1024;
  constexpr size_t kSize = 40 * kMiB + 12345;
  std::string big(kSize, '\0');
  for (size_t i = 0; i < big.size(); i++) {
    big[i] = static_cast<char>(i / 4096 * 7 + i % 4093);
  }
  ASSERT_EQ(pwrite(fd_, big.data(), big.size(), 0),
            static_cast<ssize_t>(big.size()));
  const size_t len = 48 * kMiB;
  char* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  // From an odd offset to the end of the file, in one call.
  ASSERT_EQ(lseek(fd_, 777, SEEK_SET), 777);
  EXPECT_EQ(read(fd_, p, len), static_cast<ssize_t>(kSize - 777));
  EXPECT_EQ(memcmp(p, big.data() + 777, kSize - 777), 0);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), static_cast<off_t>(kSize));
  // A buffer that stops being writable 33 MiB in.
  ASSERT_EQ(mprotect(p + 33 * kMiB, len - 33 * kMiB, PROT_READ), 0);
  memset(p, 0, 33 * kMiB);
  ASSERT_EQ(lseek(fd_, 0, SEEK_SET), 0);
  EXPECT_EQ(read(fd_, p, kSize), static_cast<ssize_t>(33 * kMiB));
  EXPECT_EQ(memcmp(p, big.data(), 33 * kMiB), 0);
  EXPECT_EQ(lseek(fd_, 0, SEEK_CUR), static_cast<off_t>(33 * kMiB));
  munmap(p, len);
}

// Threads reading large pieces of one file at once each get their own.
TEST_F(ReadWriteTest, ConcurrentLargeReadsGetTheirOwnBytes) {
  constexpr size_t kPiece = 512 * 1024;
  constexpr int kThreads = 4;
  std::string big(kPiece * kThreads, '\0');
  for (size_t i = 0; i < big.size(); i++) {
    big[i] = static_cast<char>(i / kPiece * 31 + i % 251);
  }
  ASSERT_EQ(pwrite(fd_, big.data(), big.size(), 0),
            static_cast<ssize_t>(big.size()));
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      std::vector<char> buf(kPiece);
      for (int i = 0; i < 50; i++) {
        off_t off = static_cast<off_t>(t * kPiece);
        if (pread(fd_, buf.data(), kPiece, off) !=
                static_cast<ssize_t>(kPiece) ||
            memcmp(buf.data(), big.data() + off, kPiece) != 0) {
          bad++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// Large anonymous buffers that reads fill (the sandbox may keep them where
// it can read into them itself): they stay private memory in every way a
// program can see.
class ReadBufferTest : public ReadWriteTest {
 protected:
  static constexpr size_t kLen = 1024 * 1024;

  void SetUp() override {
    ReadWriteTest::SetUp();
    // Three different 1 MiB patterns, one after the other.
    data_.resize(3 * kLen);
    for (size_t i = 0; i < data_.size(); i++) {
      data_[i] = static_cast<char>(i / kLen * 50 + i % 241 + 1);
    }
    ASSERT_EQ(pwrite(fd_, data_.data(), data_.size(), 0),
              static_cast<ssize_t>(data_.size()));
  }

  // A fresh private anonymous mapping of `len` bytes.
  static char* Map(size_t len) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }

  // A fresh 1 MiB mapping that reads filled, last with pattern `n`, or
  // null. More than one read: the sandbox changes how it holds memory that
  // reads keep going into.
  char* MapHolding(int n) {
    char* buf = Map(kLen);
    if (buf != nullptr &&
        (!ReadPattern(buf, (n + 1) % 3) || !ReadPattern(buf, n))) {
      munmap(buf, kLen);
      return nullptr;
    }
    return buf;
  }

  // Reads pattern `n` into `buf` with one pread; whether all of it came.
  bool ReadPattern(char* buf, int n, size_t len = kLen) {
    return pread(fd_, buf, len, static_cast<off_t>(n * kLen)) ==
           static_cast<ssize_t>(len);
  }
  bool Holds(const char* buf, int n, size_t len = kLen) const {
    return memcmp(buf, data_.data() + n * kLen, len) == 0;
  }
  // Whether the file holds `want` at `at`, read back a page at a time: too
  // little for the sandbox to treat the reads' memory as a buffer.
  bool FileHolds(off_t at, const char* want, size_t len) const {
    char page[4096];
    for (size_t done = 0; done < len;) {
      size_t n = std::min(len - done, sizeof(page));
      if (pread(fd_, page, n, at + static_cast<off_t>(done)) !=
              static_cast<ssize_t>(n) ||
          memcmp(page, want + done, n) != 0) {
        return false;
      }
      done += n;
    }
    return true;
  }
  // Waits for the child `pid`, which exits 0 if all it checked held.
  static void ExpectCleanExit(pid_t pid) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  static bool AllZero(const char* buf, size_t len) {
    for (size_t i = 0; i < len; i++) {
      if (buf[i] != 0) return false;
    }
    return true;
  }

  std::string data_;
};

TEST_F(ReadBufferTest, WhatTheProgramWroteOutlivesRepeatedReads) {
  char* buf = Map(kLen);
  ASSERT_NE(buf, nullptr);
  memset(buf, 'q', kLen);
  const size_t part = kLen / 4;
  for (int n = 0; n < 3; n++) {
    ASSERT_TRUE(ReadPattern(buf + part, n, part));
    EXPECT_TRUE(Holds(buf + part, n, part));
    EXPECT_EQ(std::string(buf, part), std::string(part, 'q'));
    EXPECT_EQ(std::string(buf + 2 * part, 2 * part),
              std::string(2 * part, 'q'));
  }
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, UnalignedReadsKeepTheBytesAroundThem) {
  char* buf = Map(kLen);
  ASSERT_NE(buf, nullptr);
  memset(buf, 'q', kLen);
  // The reads share their first and last pages with bytes the program
  // wrote, which must outlive every read.
  const size_t len = kLen - 300;
  for (int n = 0; n < 3; n++) {
    ASSERT_TRUE(ReadPattern(buf + 100, n, len));
    EXPECT_TRUE(Holds(buf + 100, n, len));
    EXPECT_EQ(std::string(buf, 100), std::string(100, 'q'));
    EXPECT_EQ(std::string(buf + 100 + len, 200), std::string(200, 'q'));
  }
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, ShortReadsLeaveTheRestAlone) {
  char* buf = Map(kLen);
  ASSERT_NE(buf, nullptr);
  // 1000 bytes before the end of the file, again and again at one place;
  // then full reads there, then a short one again.
  const off_t near_end = static_cast<off_t>(data_.size()) - 1000;
  for (int i = 0; i < 3; i++) {
    memset(buf, 'q', kLen);
    ASSERT_EQ(pread(fd_, buf, kLen, near_end), 1000);
    EXPECT_EQ(memcmp(buf, data_.data() + near_end, 1000), 0);
    EXPECT_EQ(std::string(buf + 1000, kLen - 1000),
              std::string(kLen - 1000, 'q'));
  }
  ASSERT_TRUE(ReadPattern(buf, 0));
  ASSERT_TRUE(ReadPattern(buf, 1));
  memset(buf, 'r', kLen);
  ASSERT_EQ(pread(fd_, buf, kLen, near_end), 1000);
  EXPECT_EQ(memcmp(buf, data_.data() + near_end, 1000), 0);
  EXPECT_EQ(std::string(buf + 1000, kLen - 1000),
            std::string(kLen - 1000, 'r'));
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, ChunksFillOneLargeBuffer) {
  char* buf = Map(3 * kLen);
  ASSERT_NE(buf, nullptr);
  for (int pass = 0; pass < 2; pass++) {
    for (int n = 0; n < 3; n++) ASSERT_TRUE(ReadPattern(buf + n * kLen, n));
    EXPECT_EQ(memcmp(buf, data_.data(), 3 * kLen), 0);
    memset(buf, 0, 3 * kLen);
  }
  munmap(buf, 3 * kLen);
}

// Writes of large buffers, as the reads above: what reaches the file is
// what the buffer holds at the time of each write.
TEST_F(ReadBufferTest, WritesCarryTheBuffersLatestBytes) {
  char* buf = Map(kLen);
  ASSERT_NE(buf, nullptr);
  const off_t at = static_cast<off_t>(data_.size());
  const size_t len = kLen - 300;
  for (int n = 0; n < 4; n++) {
    memset(buf, 'a' + n, kLen);
    buf[100 + n] = 'z';  // inside the write
    buf[50] = 'y';       // before it, in its first page
    const off_t to = at + n * static_cast<off_t>(kLen);
    ASSERT_EQ(pwrite(fd_, buf + 100, len, to), static_cast<ssize_t>(len));
    EXPECT_TRUE(FileHolds(to, buf + 100, len)) << n;
    EXPECT_EQ(buf[50], 'y');
    EXPECT_EQ(buf[kLen - 1], 'a' + n);
  }
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, WritesAfterAForkAreEachSidesOwn) {
  char* buf = Map(kLen);
  ASSERT_NE(buf, nullptr);
  const off_t at = static_cast<off_t>(data_.size());
  memset(buf, 'p', kLen);
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(pwrite(fd_, buf, kLen, at), static_cast<ssize_t>(kLen));
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    memset(buf, 'c', kLen);
    if (pwrite(fd_, buf, kLen, at + kLen) != static_cast<ssize_t>(kLen))
      _exit(10);
    _exit(0);
  }
  ExpectCleanExit(pid);
  EXPECT_EQ(buf[0], 'p');
  ASSERT_EQ(pwrite(fd_, buf, kLen, at), static_cast<ssize_t>(kLen));
  EXPECT_TRUE(FileHolds(at, std::string(kLen, 'p').data(), kLen));
  EXPECT_TRUE(FileHolds(at + kLen, std::string(kLen, 'c').data(), kLen));
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, MremapTakesAMappingWithAReadBufferInside) {
  char* buf = Map(2 * kLen);
  ASSERT_NE(buf, nullptr);
  memset(buf, 'q', 2 * kLen);
  const size_t len = kLen / 2;
  for (int n = 0; n < 3; n++) ASSERT_TRUE(ReadPattern(buf + 100, n, len));
  // Linux holds one mapping: growing, moving and shrinking it all work.
  void* r = mremap(buf, 2 * kLen, 4 * kLen, MREMAP_MAYMOVE);
  ASSERT_NE(r, MAP_FAILED) << strerror(errno);
  char* grown = static_cast<char*>(r);
  EXPECT_EQ(std::string(grown, 100), std::string(100, 'q'));
  EXPECT_TRUE(Holds(grown + 100, 2, len));
  EXPECT_EQ(std::string(grown + 100 + len, 2 * kLen - 100 - len),
            std::string(2 * kLen - 100 - len, 'q'));
  EXPECT_TRUE(AllZero(grown + 2 * kLen, 2 * kLen));
  ASSERT_TRUE(ReadPattern(grown + 100, 1, len));
  EXPECT_EQ(mremap(grown, 4 * kLen, kLen, 0), grown);
  EXPECT_TRUE(Holds(grown + 100, 1, len));
  EXPECT_EQ(grown[99], 'q');
  munmap(grown, kLen);
}

TEST_F(ReadBufferTest, ForkGivesEachSideItsOwnCopy) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(10);
    // The parent's read after the fork is not here.
    if (!Holds(buf, 0)) _exit(11);
    if (!ReadPattern(buf, 2) || !Holds(buf, 2)) _exit(12);
    buf[5] = 'c';
    _exit(0);
  }
  ASSERT_TRUE(ReadPattern(buf, 1));
  EXPECT_TRUE(Holds(buf, 1));
  ASSERT_EQ(write(go[1], "x", 1), 1);
  ExpectCleanExit(pid);
  // Nor is the child's.
  EXPECT_TRUE(Holds(buf, 1));
  close(go[0]);
  close(go[1]);
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, DontneedZeroesBeforeAndAfterAFork) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  ASSERT_EQ(madvise(buf + 4096, 8192, MADV_DONTNEED), 0);
  EXPECT_TRUE(Holds(buf, 0, 4096));
  EXPECT_TRUE(AllZero(buf + 4096, 8192));
  EXPECT_EQ(memcmp(buf + 12288, data_.data() + 12288, kLen - 12288), 0);
  ASSERT_TRUE(ReadPattern(buf, 1));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (madvise(buf, kLen, MADV_DONTNEED) != 0) _exit(10);
    _exit(AllZero(buf, kLen) ? 0 : 11);
  }
  ExpectCleanExit(pid);
  EXPECT_TRUE(Holds(buf, 1));
  // Written after the fork, then dropped: zeros, not what was there.
  buf[0] = 'w';
  ASSERT_EQ(madvise(buf, kLen, MADV_DONTNEED), 0);
  EXPECT_TRUE(AllZero(buf, kLen));
  ASSERT_TRUE(ReadPattern(buf, 2));
  EXPECT_TRUE(Holds(buf, 2));
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, GrowingWithMremapAddsZeros) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  // Split the mapping, then grow its first half: the growth is new memory,
  // not the second half's bytes, wherever the half lands.
  ASSERT_EQ(mprotect(buf + kLen / 2, kLen / 2, PROT_READ), 0);
  void* r = mremap(buf, kLen / 2, kLen, MREMAP_MAYMOVE);
  ASSERT_NE(r, MAP_FAILED);
  char* grown = static_cast<char*>(r);
  EXPECT_NE(grown, buf);  // the second half is in the way
  EXPECT_TRUE(Holds(grown, 0, kLen / 2));
  EXPECT_TRUE(AllZero(grown + kLen / 2, kLen / 2));
  EXPECT_EQ(memcmp(buf + kLen / 2, data_.data() + kLen / 2, kLen / 2), 0);
  ASSERT_TRUE(ReadPattern(grown, 1));
  EXPECT_TRUE(Holds(grown, 1));
  munmap(grown, kLen);
  munmap(buf + kLen / 2, kLen / 2);
  // Growing in place, into a range just freed.
  buf = Map(2 * kLen);
  ASSERT_NE(buf, nullptr);
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(pread(fd_, buf, 2 * kLen, 0), static_cast<ssize_t>(2 * kLen));
  }
  ASSERT_EQ(munmap(buf + kLen, kLen), 0);
  r = mremap(buf, kLen, 2 * kLen, 0);
  ASSERT_EQ(r, buf);
  EXPECT_TRUE(Holds(buf, 0));
  EXPECT_TRUE(AllZero(buf + kLen, kLen));
  munmap(buf, 2 * kLen);
}

TEST_F(ReadBufferTest, WipeOnForkWipesOnlyTheChild) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  ASSERT_EQ(madvise(buf, kLen / 2, MADV_WIPEONFORK), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!AllZero(buf, kLen / 2)) _exit(10);
    if (memcmp(buf + kLen / 2, data_.data() + kLen / 2, kLen / 2) != 0)
      _exit(11);
    _exit(0);
  }
  ExpectCleanExit(pid);
  EXPECT_TRUE(Holds(buf, 0));
  ASSERT_TRUE(ReadPattern(buf, 1));
  EXPECT_TRUE(Holds(buf, 1));
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, UnmappedAndReplacedRangesComeBackZero) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  ASSERT_EQ(munmap(buf + 65536, 65536), 0);
  void* p = mmap(buf + 65536, 65536, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(p, buf + 65536);
  EXPECT_TRUE(AllZero(buf + 65536, 65536));
  EXPECT_TRUE(Holds(buf, 0, 65536));
  // A read across the pieces gets all of it.
  ASSERT_TRUE(ReadPattern(buf, 1));
  EXPECT_TRUE(Holds(buf, 1));
  p = mmap(buf, kLen, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(p, buf);
  EXPECT_TRUE(AllZero(buf, kLen));
  munmap(buf, kLen);
}

TEST_F(ReadBufferTest, ReadOnlyBufferFaults) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  ASSERT_EQ(mprotect(buf, kLen, PROT_READ), 0);
  EXPECT_ERRNO(pread(fd_, buf, kLen, kLen), EFAULT);
  EXPECT_TRUE(Holds(buf, 0));
  // Writable again: the read lands.
  ASSERT_EQ(mprotect(buf, kLen, PROT_READ | PROT_WRITE), 0);
  ASSERT_TRUE(ReadPattern(buf, 2));
  EXPECT_TRUE(Holds(buf, 2));
  munmap(buf, kLen);
}

// The one line of /proc/self/maps whose range holds [at, at+len) (Linux
// may have merged it with a neighbour) shows private anonymous memory.
void ExpectPlainAnonymousLine(const char* at, size_t len) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int found = 0;
  const uintptr_t lo_at = reinterpret_cast<uintptr_t>(at);
  while (std::getline(maps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2) continue;
    if (lo_at < lo || lo_at >= hi) continue;
    found++;
    EXPECT_GE(hi, lo_at + len);
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, name;
    in >> range >> perms >> offset >> dev >> inode >> name;
    EXPECT_EQ(perms, "rw-p");
    EXPECT_EQ(offset, "00000000");
    EXPECT_EQ(dev, "00:00");
    EXPECT_EQ(inode, "0");
    EXPECT_EQ(name, "");
  }
  EXPECT_EQ(found, 1);
}

TEST_F(ReadBufferTest, MapsShowsPlainAnonymousMemory) {
  char* buf = MapHolding(0);
  ASSERT_NE(buf, nullptr);
  ExpectPlainAnonymousLine(buf, kLen);
  munmap(buf, kLen);
  // A buffer within a larger mapping, read into at an unaligned place.
  buf = Map(3 * kLen);
  ASSERT_NE(buf, nullptr);
  for (int n = 0; n < 3; n++) ASSERT_TRUE(ReadPattern(buf + kLen + 10, n));
  ExpectPlainAnonymousLine(buf, 3 * kLen);
  munmap(buf, 3 * kLen);
}

TEST(DevNullTest, SeeksToZeroAndSwallowsWrites) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, "abc", 3), 3);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 0);
  EXPECT_EQ(lseek(fd, 100, SEEK_SET), 0);
  close(fd);
}

}  // namespace
