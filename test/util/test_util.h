// Helpers for syscall tests: temporary files that clean up after
// themselves, and errno-aware assertions.

#ifndef TEST_UTIL_TEST_UTIL_H_
#define TEST_UTIL_TEST_UTIL_H_

#include <errno.h>
#include <string.h>

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
std::string ReadFile(const std::string& path);

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
