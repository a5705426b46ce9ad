// inotify(7): the events editors and build tools watch for (create,
// delete, modify, move, close_write, attrib, open), on files and on their
// directories, with inotify_init1(2), inotify_add_watch(2) and
// inotify_rm_watch(2).

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "test/util/test_util.h"
#include "test/util/thread_util.h"

namespace {

using testing_util::TempPath;
using testing_util::WriteFile;

struct Ev {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  std::string name;
};

// Every queued event (the fd is non-blocking).
std::vector<Ev> Drain(int fd) {
  std::vector<Ev> out;
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      auto* e = reinterpret_cast<struct inotify_event*>(buf + off);
      out.push_back(Ev{e->wd, e->mask, e->cookie,
                       e->len > 0 ? std::string(e->name) : ""});
      off += static_cast<ssize_t>(sizeof(*e) + e->len);
    }
  }
  return out;
}

std::string Describe(const std::vector<Ev>& evs) {
  std::string s;
  for (const Ev& e : evs) {
    s += std::to_string(e.wd) + ":" + std::to_string(e.mask) + ":" + e.name +
         " ";
  }
  return s;
}

class InotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { close(fd_); }

  TempPath dir_;
  int fd_ = -1;
};

TEST_F(InotifyTest, DirectoryHearsCreateModifyCloseDelete) {
  int wd = inotify_add_watch(
      fd_, dir_.path().c_str(),
      IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | IN_OPEN);
  ASSERT_GE(wd, 0);
  int f = open((dir_ / "a").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(f, 0);
  ASSERT_EQ(write(f, "x", 1), 1);
  close(f);
  ASSERT_EQ(unlink((dir_ / "a").c_str()), 0);
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 5u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_CREATE));
  EXPECT_EQ(evs[1].mask, static_cast<uint32_t>(IN_OPEN));
  EXPECT_EQ(evs[2].mask, static_cast<uint32_t>(IN_MODIFY));
  EXPECT_EQ(evs[3].mask, static_cast<uint32_t>(IN_CLOSE_WRITE));
  EXPECT_EQ(evs[4].mask, static_cast<uint32_t>(IN_DELETE));
  for (const Ev& e : evs) {
    EXPECT_EQ(e.wd, wd);
    EXPECT_EQ(e.name, "a");
  }
}

TEST_F(InotifyTest, MkdirAndRmdirCarryIsdir) {
  ASSERT_GE(inotify_add_watch(fd_, dir_.path().c_str(), IN_CREATE | IN_DELETE),
            0);
  ASSERT_EQ(mkdir((dir_ / "d").c_str(), 0755), 0);
  ASSERT_EQ(rmdir((dir_ / "d").c_str()), 0);
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_CREATE | IN_ISDIR));
  EXPECT_EQ(evs[1].mask, static_cast<uint32_t>(IN_DELETE | IN_ISDIR));
}

TEST_F(InotifyTest, RenamePairsMovedFromAndMovedTo) {
  ASSERT_EQ(mkdir((dir_ / "x").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ / "y").c_str(), 0755), 0);
  WriteFile(dir_ / "x/f", "");
  int wx = inotify_add_watch(fd_, (dir_ / "x").c_str(), IN_MOVE);
  int wy = inotify_add_watch(fd_, (dir_ / "y").c_str(), IN_MOVE);
  int wf = inotify_add_watch(fd_, (dir_ / "x/f").c_str(), IN_MOVE_SELF);
  ASSERT_GE(wx, 0);
  ASSERT_GE(wy, 0);
  ASSERT_GE(wf, 0);
  ASSERT_EQ(rename((dir_ / "x/f").c_str(), (dir_ / "y/g").c_str()), 0);
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 3u) << Describe(evs);
  EXPECT_EQ(evs[0].wd, wx);
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_MOVED_FROM));
  EXPECT_EQ(evs[0].name, "f");
  EXPECT_EQ(evs[1].wd, wy);
  EXPECT_EQ(evs[1].mask, static_cast<uint32_t>(IN_MOVED_TO));
  EXPECT_EQ(evs[1].name, "g");
  EXPECT_NE(evs[0].cookie, 0u);
  EXPECT_EQ(evs[0].cookie, evs[1].cookie);
  EXPECT_EQ(evs[2].wd, wf);
  EXPECT_EQ(evs[2].mask, static_cast<uint32_t>(IN_MOVE_SELF));
}

TEST_F(InotifyTest, AttribOnChmodAndUtimes) {
  WriteFile(dir_ / "f", "");
  int wd = inotify_add_watch(fd_, (dir_ / "f").c_str(), IN_ATTRIB);
  ASSERT_GE(wd, 0);
  ASSERT_EQ(chmod((dir_ / "f").c_str(), 0600), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (dir_ / "f").c_str(), nullptr, 0), 0);
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);  // the repeat is merged
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_ATTRIB));
  EXPECT_EQ(evs[0].name, "");
}

TEST_F(InotifyTest, DeleteSelfEndsTheWatch) {
  WriteFile(dir_ / "f", "");
  int wd = inotify_add_watch(fd_, (dir_ / "f").c_str(), IN_DELETE_SELF);
  ASSERT_GE(wd, 0);
  ASSERT_EQ(unlink((dir_ / "f").c_str()), 0);
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_DELETE_SELF));
  EXPECT_EQ(evs[1].mask, static_cast<uint32_t>(IN_IGNORED));
  EXPECT_ERRNO(inotify_rm_watch(fd_, wd), EINVAL);
}

TEST_F(InotifyTest, SameFileSameWatchAndMaskAdd) {
  int a = inotify_add_watch(fd_, dir_.path().c_str(), IN_CREATE);
  int b = inotify_add_watch(fd_, dir_.path().c_str(), IN_DELETE | IN_MASK_ADD);
  EXPECT_EQ(a, b);
  EXPECT_ERRNO(
      inotify_add_watch(fd_, dir_.path().c_str(), IN_DELETE | IN_MASK_CREATE),
      EEXIST);
  WriteFile(dir_ / "f", "");
  ASSERT_EQ(unlink((dir_ / "f").c_str()), 0);
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  // Replacing the mask drops IN_CREATE.
  ASSERT_EQ(inotify_add_watch(fd_, dir_.path().c_str(), IN_DELETE), a);
  WriteFile(dir_ / "g", "");
  ASSERT_EQ(unlink((dir_ / "g").c_str()), 0);
  evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_DELETE));
}

TEST_F(InotifyTest, RmWatchQueuesIgnored) {
  int wd = inotify_add_watch(fd_, dir_.path().c_str(), IN_CREATE);
  ASSERT_GE(wd, 0);
  ASSERT_EQ(inotify_rm_watch(fd_, wd), 0);
  WriteFile(dir_ / "f", "");
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, static_cast<uint32_t>(IN_IGNORED));
  EXPECT_ERRNO(inotify_rm_watch(fd_, wd), EINVAL);
}

TEST_F(InotifyTest, OneshotFiresOnce) {
  int wd = inotify_add_watch(fd_, dir_.path().c_str(), IN_CREATE | IN_ONESHOT);
  ASSERT_GE(wd, 0);
  WriteFile(dir_ / "a", "");
  WriteFile(dir_ / "b", "");
  std::vector<Ev> evs = Drain(fd_);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  EXPECT_EQ(evs[0].name, "a");
  EXPECT_EQ(evs[1].mask, static_cast<uint32_t>(IN_IGNORED));
}

TEST_F(InotifyTest, ArgumentErrors) {
  EXPECT_ERRNO(inotify_init1(0x1234), EINVAL);
  EXPECT_ERRNO(inotify_add_watch(fd_, dir_.path().c_str(), 0), EINVAL);
  EXPECT_ERRNO(inotify_add_watch(fd_, (dir_ / "missing").c_str(), IN_CREATE),
               ENOENT);
  WriteFile(dir_ / "f", "");
  EXPECT_ERRNO(
      inotify_add_watch(fd_, (dir_ / "f").c_str(), IN_CREATE | IN_ONLYDIR),
      ENOTDIR);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_ERRNO(inotify_add_watch(p[0], dir_.path().c_str(), IN_CREATE), EINVAL);
  EXPECT_ERRNO(inotify_rm_watch(p[0], 1), EINVAL);
  close(p[0]);
  close(p[1]);
  // With nothing queued, a tiny buffer is not looked at yet.
  char small[8];
  EXPECT_ERRNO(read(fd_, small, sizeof(small)), EAGAIN);
}

TEST_F(InotifyTest, TooSmallBufferForTheEventIsEinval) {
  ASSERT_GE(inotify_add_watch(fd_, dir_.path().c_str(), IN_CREATE), 0);
  WriteFile(dir_ / "a-rather-long-name", "");
  char buf[sizeof(struct inotify_event) + 4];
  EXPECT_ERRNO(read(fd_, buf, sizeof(buf)), EINVAL);
  int n = 0;
  ASSERT_EQ(ioctl(fd_, FIONREAD, &n), 0);
  EXPECT_GT(n, static_cast<int>(sizeof(struct inotify_event)));
  EXPECT_EQ(Drain(fd_).size(), 1u);
}

TEST_F(InotifyTest, BlockingReadAndPoll) {
  testing_util::Watchdog watchdog;
  int fd = inotify_init1(0);
  ASSERT_GE(fd, 0);
  ASSERT_GE(inotify_add_watch(fd, dir_.path().c_str(), IN_CREATE), 0);
  struct pollfd pfd = {fd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  std::thread t =
      testing_util::RunLater(50, [&] { WriteFile(dir_ / "late", ""); });
  char buf[256] __attribute__((aligned(8)));
  ssize_t n = read(fd, buf, sizeof(buf));  // blocks until the create
  t.join();
  ASSERT_GT(n, 0);
  auto* e = reinterpret_cast<struct inotify_event*>(buf);
  EXPECT_EQ(e->mask, static_cast<uint32_t>(IN_CREATE));
  EXPECT_STREQ(e->name, "late");
  WriteFile(dir_ / "again", "");
  EXPECT_EQ(poll(&pfd, 1, 1000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
  close(fd);
}

}  // namespace
