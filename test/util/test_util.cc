#include "test/util/test_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

namespace testing_util {

std::string TempDir() {
  const char* d = getenv("TEST_TMPDIR");
  return d != nullptr && d[0] != '\0' ? d : "/tmp";
}

TempPath::TempPath() {
  std::string tmpl = TempDir() + "/t.XXXXXX";
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) {
    ADD_FAILURE() << "mkdtemp in " << TempDir() << ": " << strerror(errno);
    return;
  }
  path_ = p;
}

TempPath::~TempPath() {
  if (path_.empty()) return;
  nftw(
      path_.c_str(),
      [](const char* p, const struct stat*, int type, struct FTW*) {
        return type == FTW_DP ? rmdir(p) : unlink(p);
      },
      16, FTW_DEPTH | FTW_PHYS);
}

void FileTest::SetUp() {
  path_ = dir_ / "file";
  WriteFile(path_, "0123456789");
  fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd_, 0) << path_ << ": " << strerror(errno);
}

void FileTest::TearDown() {
  if (fd_ >= 0) close(fd_);
}

void WriteFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  ASSERT_EQ(write(fd, data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  close(fd);
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

}  // namespace testing_util
