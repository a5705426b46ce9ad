// File descriptions backed by a host fd the sentry holds: files served by
// the gofer (which donated the fd), tmpfs files (a memfd), and the host's
// stdin/stdout/stderr. Reads and writes go straight to the host fd; the
// sentry never opens anything by path to get one.

#ifndef SENTRY_FS_HOST_HOST_FILE_H_
#define SENTRY_FS_HOST_HOST_FILE_H_

#include <memory>

#include "sentry/base/host_fd.h"
#include "sentry/kernel/terminal.h"
#include "sentry/vfs/file.h"

namespace sentry::fs {

class HostFileFD : public vfs::FileDescription, public kernel::TerminalFile {
 public:
  // `fd` may be shared with other descriptions (a tmpfs inode's memfd).
  // With `host_position`, the position is the host fd's own (inherited
  // stdio, whose offset host processes share).
  HostFileFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<HostFd> fd,
             bool seekable, bool host_position = false,
             std::string host_name = "");

  bool seekable() const override { return seekable_; }
  bool host_position() const override { return host_position_; }
  SysResult<int64_t> Seek(int64_t offset, int whence, int64_t* pos) override;
  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  SysResult<vfs::MmapTarget> GetMmapTarget() override;
  // Files with a position of the sentry's own (gofer files, tmpfs memfds);
  // not the inherited stdio, whose position is the host's.
  int DirectReadFd() const override {
    return seekable_ && !host_position_ ? fd_->get() : -1;
  }
  // The same files: Write is one pwrite of the buffer it is given.
  bool WritesStraightToHost() const override { return DirectReadFd() >= 0; }
  SysResult<void> Sync() override;
  uint32_t Readiness(uint32_t mask) override;
  void HostPollFds(uint32_t events, std::vector<struct pollfd>* out) override {
    if (seekable_) return;
    out->push_back({fd_->get(),
                    static_cast<short>(events & (POLLIN | POLLOUT | POLLPRI)),
                    0});
  }
  bool Pollable() const override { return !seekable_; }
  bool IsTerminal() const override { return terminal_; }

  // The host terminal's job-control state, for a terminal the sandbox
  // inherited (see HostTerminal); set once, before the guest sees the
  // file.
  void set_terminal(std::shared_ptr<kernel::Terminal> t) {
    job_terminal_ = std::move(t);
  }
  std::shared_ptr<kernel::Terminal> terminal() const override {
    return job_terminal_;
  }

  int host_fd() const { return fd_->get(); }
  // For inherited host fds, the host's own name of the file ("/dev/pts/0",
  // "pipe:[123]"), which /proc/PID/fd shows.
  std::string AnonName() const override { return host_name_; }

 private:
  // Waits until the host fd is ready for `events` (POLLIN, POLLOUT):
  // EAGAIN at once for a non-blocking description, kERESTARTSYS if a
  // signal interrupts the wait.
  SysResult<void> WaitReady(vfs::CallContext& ctx, short events);

  const std::shared_ptr<HostFd> fd_;
  const bool seekable_;

  const bool host_position_;
  const std::string host_name_;
  const bool terminal_;
  std::shared_ptr<kernel::Terminal> job_terminal_;
  // Appends must find the end and write there as one step.
  absl::Mutex append_mu_;
};

// An inode for a host fd that has no place in the sandbox's tree (the stdio
// the sandbox inherited): attributes come from fstat.
class HostInode final : public vfs::Inode {
 public:
  HostInode(std::shared_ptr<HostFd> fd, uint32_t type, uint64_t dev,
            std::string host_name);
  SysResult<vfs::Attr> GetAttr() override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;
  const std::shared_ptr<HostFd>& fd() const { return fd_; }

 private:
  const std::shared_ptr<HostFd> fd_;
  const uint64_t dev_;
  const std::string host_name_;
};

// Wraps an inherited host fd (stdin, stdout, stderr) as a file description.
// Takes ownership of `fd`.
// Takes ownership of `fd`; `host_name` is what the host calls the file
// (its /proc/self/fd link), read before the sentry gave up the host's /proc.
SysResult<std::shared_ptr<vfs::FileDescription>> ImportHostFd(
    HostFd fd, std::string host_name);

// The host terminal the sandbox runs on (without `runsc do -t`): its modes
// and size are the host's, its foreground process group and session are
// the sandbox's. /dev/tty and /dev/console open it.
class HostTerminal final : public kernel::Terminal,
                           public std::enable_shared_from_this<HostTerminal> {
 public:
  explicit HostTerminal(std::shared_ptr<HostFd> fd) : fd_(std::move(fd)) {}
  SysResult<std::shared_ptr<vfs::FileDescription>> OpenTty(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  const std::shared_ptr<HostFd> fd_;
};

// Converts a host stat, keeping its inode number but reporting `dev`.
vfs::Attr AttrFromHostStat(const struct stat& st, uint64_t dev);

}  // namespace sentry::fs

#endif  // SENTRY_FS_HOST_HOST_FILE_H_
