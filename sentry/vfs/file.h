// Open file descriptions: what an fd refers to. Shared by every fd (and
// every process) that dup'ed or inherited it, and by mappings of the file.

#ifndef SENTRY_VFS_FILE_H_
#define SENTRY_VFS_FILE_H_

#include <fcntl.h>
#include <poll.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "sentry/base/sys_result.h"
#include "sentry/vfs/vfs.h"

namespace sentry::vfs {

class FileDescription : public std::enable_shared_from_this<FileDescription> {
 public:
  // `flags` are the open flags; creation-only flags are dropped.
  FileDescription(VirtualDentry vd, int flags);
  // Releases the description's flock and OFD locks.
  virtual ~FileDescription();
  FileDescription(const FileDescription&) = delete;
  FileDescription& operator=(const FileDescription&) = delete;

  const VirtualDentry& vd() const { return vd_; }
  const std::shared_ptr<Inode>& inode() const { return vd_.dentry->inode(); }

  // Access mode and status flags, as F_GETFL reports them.
  int flags() const { return flags_.load(); }
  // F_SETFL: changes only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME.
  void SetStatusFlags(int flags);
  bool readable() const {
    return (flags() & O_ACCMODE) != O_WRONLY && !is_path();
  }
  bool writable() const {
    int acc = flags() & O_ACCMODE;
    return (acc == O_WRONLY || acc == O_RDWR) && !is_path();
  }
  bool is_path() const { return (flags() & O_PATH) != 0; }

  // True for files with a position (regular files, directories, block
  // devices); read/write/lseek then use and advance `pos`.
  virtual bool seekable() const { return true; }

  // True when the position lives outside the sentry (a host fd the sandbox
  // inherited and shares with host processes): read/write then pass a null
  // offset, and Seek moves the host's position.
  virtual bool host_position() const { return false; }

  // True for sockets: read(2) and write(2) on them go through the socket
  // layer (one virtual call instead of a cast per family on every read).
  virtual bool is_socket() const { return false; }

  // I/O at `*offset`, advancing it by what was transferred. Streams ignore
  // the offset; a null offset means "at the file's own position" (streams
  // and host_position() files only). Partial transfers are successes.
  virtual SysResult<size_t> Read(CallContext& ctx, char* buf, size_t len,
                                 int64_t* offset);
  virtual SysResult<size_t> Write(CallContext& ctx, const char* buf, size_t len,
                                  int64_t* offset);

  virtual SysResult<Attr> Stat();

  // lseek(2) for whence SEEK_SET/CUR/END, on `*pos`.
  virtual SysResult<int64_t> Seek(int64_t offset, int whence, int64_t* pos);

  virtual SysResult<int64_t> Ioctl(CallContext& ctx, uint32_t cmd,
                                   uint64_t arg);

  // Directory entries from the description's position on, "." and ".."
  // included; `emit` returns false when the guest's buffer is full (that
  // entry is then not consumed). Each entry carries the offset after it.
  using DirentSink = std::function<bool(const Dirent& d, int64_t next_offset)>;
  virtual SysResult<void> IterDirents(CallContext& ctx, const DirentSink& emit);

  virtual SysResult<MmapTarget> GetMmapTarget();

  // A host fd whose bytes at every offset are this file's, and which
  // pread(2) reads as Read would, so that a read can go from it straight
  // into guest memory (platform::AddressSpace::PreadToGuest); -1 if none.
  // Valid while the description lives.
  virtual int DirectReadFd() const { return -1; }
  // Whether Write hands its buffer to one host write(2)/pwrite(2) and never
  // reads it itself, so that the buffer may be guest memory that a guest
  // thread can change during the call (a write from an mm::DirectBuffer,
  // with no copy): what the host reads is then what Linux could have read.
  virtual bool WritesStraightToHost() const { return false; }
  // Mappings of this file are plain anonymous memory (/dev/zero).
  virtual bool MapsAsAnonymous() const { return false; }

  // fsync(2): EINVAL for streams, as Linux says for files that cannot sync.
  virtual SysResult<void> Sync();

  // What /proc/PID/fd/N shows for files with no path ("pipe:[N]"); empty
  // for files that have one.
  virtual std::string AnonName() const { return ""; }

  // poll(2): which of `mask` (POLLIN, POLLOUT, ...) hold now; POLLERR and
  // POLLHUP are reported whatever the mask. Files that never block are
  // always readable and writable.
  virtual uint32_t Readiness(uint32_t mask) {
    return mask & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
  }
  // The queue on which changes of readiness are announced, or null when
  // readiness never changes (or is the host's: see HostPollFds). The
  // pointer keeps the queue alive, not necessarily this file: an epoll set
  // may outlive the files it watches.
  virtual std::shared_ptr<WaitQueue> EventQueue() { return nullptr; }
  // Whether this is a terminal (job-control ioctls apply).
  virtual bool IsTerminal() const { return false; }
  // For streams the host serves (an inherited terminal or pipe): the host
  // fds whose readiness is this file's, to poll alongside the waiter.
  virtual void HostPollFds(uint32_t events, std::vector<struct pollfd>* out) {
    (void)events;
    (void)out;
  }
  // An fd of this description left a table (close, dup2 over it,
  // close-on-exec, the table's end): Linux's flush, on every close(2) and
  // not only the last. Runs on the closing task's thread, except at the
  // table's end when another thread (a /proc reader) held it last.
  virtual void FdClosed() const {}

  // Whether readiness means anything for this file: epoll refuses files
  // that are always ready (regular files, directories) with EPERM.
  virtual bool Pollable() const { return false; }

  // The file position and the lock that serializes its users.
  absl::Mutex pos_mu;
  int64_t pos ABSL_GUARDED_BY(pos_mu) = 0;

 private:
  const VirtualDentry vd_;
  std::atomic<int> flags_;
};

// A directory opened for reading. Lists the directory once, when reading
// starts at offset 0, and serves getdents from that snapshot, so a listing
// is stable while the directory changes (as POSIX allows), and offsets
// are plain indexes.
class DirectoryFD : public FileDescription {
 public:
  using FileDescription::FileDescription;

  SysResult<void> IterDirents(CallContext& ctx,
                              const DirentSink& emit) override;
  SysResult<int64_t> Seek(int64_t offset, int whence, int64_t* pos) override;
  SysResult<size_t> Read(CallContext&, char*, size_t, int64_t*) override {
    return Errno(EISDIR);
  }
  SysResult<size_t> Write(CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EISDIR);
  }

 private:
  absl::Mutex mu_;
  std::vector<Dirent> snapshot_ ABSL_GUARDED_BY(mu_);
  bool have_snapshot_ ABSL_GUARDED_BY(mu_) = false;
};

// A stream (pipe, terminal, eventfd, ...): no position, so the base's
// lseek says ESPIPE and fsync EINVAL; readiness changes, so epoll takes it.
class StreamFD : public FileDescription {
 public:
  using FileDescription::FileDescription;
  bool seekable() const override { return false; }
  bool Pollable() const override { return true; }
};

// A description opened with O_PATH: it names a file but allows no I/O.
class PathFD final : public FileDescription {
 public:
  using FileDescription::FileDescription;
  SysResult<size_t> Read(CallContext&, char*, size_t, int64_t*) override {
    return Errno(EBADF);
  }
  SysResult<size_t> Write(CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EBADF);
  }
  SysResult<int64_t> Ioctl(CallContext&, uint32_t, uint64_t) override {
    return Errno(EBADF);
  }
  SysResult<void> IterDirents(CallContext&, const DirentSink&) override {
    return Errno(EBADF);
  }
  SysResult<int64_t> Seek(int64_t, int, int64_t*) override {
    return Errno(EBADF);
  }
};

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_FILE_H_
