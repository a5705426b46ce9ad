// Helpers for syscall tests: temporary files that clean up after
// themselves, small file and directory readers, pipes, and errno-aware
// assertions. Helpers for forking, signals, time and threads are in
// process_util.h, signal_util.h, time_util.h and thread_util.h.

#ifndef TEST_UTIL_TEST_UTIL_H_
#define TEST_UTIL_TEST_UTIL_H_

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace testing_util {

// A directory for a test's files: $TEST_TMPDIR (which the harness points at
// the sandbox's /tmp) or /tmp.
std::string TempDir();

// A new empty directory under TempDir(), removed with its contents.
class TempPath {
 public:
  TempPath();
  ~TempPath();
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

// A fixture: a fresh directory, `path_` a file in it holding "0123456789",
// and `fd_` that file opened read-write.
class FileTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  TempPath dir_;
  std::string path_;
  int fd_ = -1;
};

// Writes `data` to a new file at `path` (mode 0644).
void WriteFile(const std::string& path, const std::string& data);

// The whole content of the file at `path`, or "" if it cannot be opened.
std::string ReadFile(const std::string& path);

// What `fd` yields until EOF (or until a read fails).
std::string ReadAll(int fd);

// The target of the symbolic link at `path`, or "" if readlink(2) fails.
std::string Readlink(const std::string& path);

// The path of the running program (/proc/self/exe), or "".
std::string SelfExe();

// What follows the last '/' in `path`.
std::string Basename(const std::string& path);

// The names in the directory at `path`, without "." and ".."; empty if it
// cannot be opened.
std::set<std::string> ListDir(const std::string& path);

// A pipe (O_CLOEXEC) whose ends close themselves; `r` and `w` are -1 once
// closed.
struct Pipe {
  Pipe();
  ~Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  // Closes the read or the write end early.
  void CloseR();
  void CloseW();

  int r = -1;
  int w = -1;
};

// A fixture: `r()` and `w()` are the ends of a fresh pipe (O_CLOEXEC),
// closed at the end of the test unless CloseRead()/CloseWrite() closed
// them first.
class PipeFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  void CloseRead();
  void CloseWrite();
  int r() const { return fds_[0]; }
  int w() const { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

// Writes the bytes of `v` to `fd` (a pipe to another process), asserting
// that all were written.
template <typename T>
void Send(int fd, const T& v) {
  ASSERT_EQ(write(fd, &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
}

// Reads a `T` that Send wrote from `fd`, expecting all its bytes.
template <typename T>
T Receive(int fd) {
  T v{};
  EXPECT_EQ(read(fd, &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
  return v;
}

}  // namespace testing_util

// Asserts that a call failed with -1 and errno `e`.
#define EXPECT_ERRNO(call, e)                                                \
  do {                                                                       \
    errno = 0;                                                               \
    auto rc_ = (call);                                                       \
    int err_ = errno;                                                        \
    EXPECT_EQ(rc_, decltype(rc_)(-1)) << #call;                              \
    EXPECT_EQ(err_, (e)) << #call << ": got " << strerror(err_) << ", want " \
                         << strerror(e);                                     \
  } while (0)

// Asserts that a call succeeded (did not return -1).
#define ASSERT_OK(call)                                                    \
  do {                                                                     \
    errno = 0;                                                             \
    auto rc_ = (call);                                                     \
    ASSERT_NE(rc_, decltype(rc_)(-1)) << #call << ": " << strerror(errno); \
  } while (0)

#endif  // TEST_UTIL_TEST_UTIL_H_
