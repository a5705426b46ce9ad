#include "test/util/test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
  std::string out = ReadAll(fd);
  close(fd);
  return out;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string Readlink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::string SelfExe() { return Readlink("/proc/self/exe"); }

std::string Basename(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

std::set<std::string> ListDir(const std::string& path) {
  std::set<std::string> out;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.insert(name);
  }
  closedir(d);
  return out;
}

Pipe::Pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0) << strerror(errno);
  r = fds[0];
  w = fds[1];
}

Pipe::~Pipe() {
  CloseR();
  CloseW();
}

void Pipe::CloseR() {
  if (r >= 0) close(r);
  r = -1;
}

void Pipe::CloseW() {
  if (w >= 0) close(w);
  w = -1;
}

void PipeFixture::SetUp() { ASSERT_OK(pipe2(fds_, O_CLOEXEC)); }

void PipeFixture::TearDown() {
  CloseRead();
  CloseWrite();
}

void PipeFixture::CloseRead() {
  if (fds_[0] >= 0) close(fds_[0]);
  fds_[0] = -1;
}

void PipeFixture::CloseWrite() {
  if (fds_[1] >= 0) close(fds_[1]);
  fds_[1] = -1;
}

}  // namespace testing_util
