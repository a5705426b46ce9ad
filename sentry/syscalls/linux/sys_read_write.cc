// Implements read(2), write(2), pread64(2), pwrite64(2), readv(2),
// writev(2), preadv(2), pwritev(2), preadv2(2), pwritev2(2), lseek(2).

#include <fcntl.h>
#include <linux/fs.h>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

// Runs `io` at the description's own position (seekable files, under the
// position lock) or at no position (streams).
template <typename Fn>
SysResult<uint64_t> AtFilePosition(vfs::FileDescription& f, Fn&& io) {
  if (!f.seekable() || f.host_position()) {
    SENTRY_ASSIGN_OR_RETURN(size_t n, io(nullptr));
    return n;
  }
  absl::MutexLock l(&f.pos_mu);
  SENTRY_ASSIGN_OR_RETURN(size_t n, io(&f.pos));
  return n;
}

template <typename Fn>
SysResult<uint64_t> AtOffset(vfs::FileDescription& f, int64_t offset, Fn&& io) {
  if (offset < 0) return Errno(EINVAL);
  if (!f.seekable()) return Errno(ESPIPE);
  SENTRY_ASSIGN_OR_RETURN(size_t n, io(&offset));
  return n;
}

// Transfers each iovec in turn, stopping at the first short transfer.
template <typename Xfer>
SysResult<size_t> Vectored(const std::vector<struct iovec>& iov,
                           int64_t* offset, Xfer&& xfer) {
  size_t total = 0;
  for (const struct iovec& v : iov) {
    if (v.iov_len == 0) continue;
    SysResult<size_t> n = xfer(
        GuestAddr(reinterpret_cast<uint64_t>(v.iov_base)), v.iov_len, offset);
    if (!n.ok()) {
      if (total > 0) break;
      return n.error();
    }
    total += *n;
    if (*n < v.iov_len) break;
  }
  return total;
}

}  // namespace

// Implements Linux syscall read(2).
SENTRY_SYSCALL(SysRead) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  if (IsSocket(*f)) {
    if (!f->readable()) return Errno(EBADF);
    return SocketIo(t, f, {{a.Addr(1), a.U64(2)}}, IoDirection::kIn);
  }
  return AtFilePosition(*f, [&](int64_t* pos) {
    return ReadToGuest(t, *f, a.Addr(1), a.U64(2), pos);
  });
}

// Implements Linux syscall write(2).
SENTRY_SYSCALL(SysWrite) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  if (IsSocket(*f)) {
    if (!f->writable()) return Errno(EBADF);
    return SocketIo(t, f, {{a.Addr(1), a.U64(2)}}, IoDirection::kOut);
  }
  return RaiseSigpipe(t, AtFilePosition(*f, [&](int64_t* pos) {
                        return WriteFromGuest(t, *f, a.Addr(1), a.U64(2), pos);
                      }));
}

// Implements Linux syscall pread64(2).
SENTRY_SYSCALL(SysPread64) {
  // Linux's order: the offset, the fd, seekability, then the access mode.
  if (a.Long(3) < 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  if (!f->seekable()) return Errno(ESPIPE);
  if (!f->readable()) return Errno(EBADF);
  return AtOffset(*f, a.Long(3), [&](int64_t* off) {
    return ReadToGuest(t, *f, a.Addr(1), a.U64(2), off);
  });
}

// Implements Linux syscall pwrite64(2).
SENTRY_SYSCALL(SysPwrite64) {
  if (a.Long(3) < 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  if (!f->seekable()) return Errno(ESPIPE);
  if (!f->writable()) return Errno(EBADF);
  return RaiseSigpipe(t, AtOffset(*f, a.Long(3), [&](int64_t* off) {
                        return WriteFromGuest(t, *f, a.Addr(1), a.U64(2), off);
                      }));
}

namespace {

SysResult<uint64_t> DoReadv(Task& t, int fd, GuestAddr iov_addr, int count,
                            std::optional<int64_t> offset) {
  if (offset && *offset < 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(fd));
  if (offset && !f->seekable()) return Errno(ESPIPE);
  if (!f->readable()) return Errno(EBADF);
  SENTRY_ASSIGN_OR_RETURN(auto iov, CopyInIovecs(t, iov_addr, count));
  if (IsSocket(*f)) return SocketIo(t, f, GuestIovecs(iov), IoDirection::kIn);
  // The last iovec with room ends the call (for ReadToGuest's early wake).
  uint64_t last_base = 0;
  for (const struct iovec& v : iov) {
    if (v.iov_len > 0) last_base = reinterpret_cast<uint64_t>(v.iov_base);
  }
  auto xfer = [&](GuestAddr addr, size_t len, int64_t* pos) {
    return ReadToGuest(t, *f, addr, len, pos, addr.value() == last_base);
  };
  if (offset)
    return AtOffset(*f, *offset,
                    [&](int64_t* pos) { return Vectored(iov, pos, xfer); });
  return AtFilePosition(*f,
                        [&](int64_t* pos) { return Vectored(iov, pos, xfer); });
}

SysResult<uint64_t> DoWritev(Task& t, int fd, GuestAddr iov_addr, int count,
                             std::optional<int64_t> offset) {
  if (offset && *offset < 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(fd));
  if (offset && !f->seekable()) return Errno(ESPIPE);
  if (!f->writable()) return Errno(EBADF);
  SENTRY_ASSIGN_OR_RETURN(auto iov, CopyInIovecs(t, iov_addr, count));
  // A socket raises SIGPIPE itself, where its type does.
  if (IsSocket(*f)) return SocketIo(t, f, GuestIovecs(iov), IoDirection::kOut);
  auto xfer = [&](GuestAddr addr, size_t len, int64_t* pos) {
    return WriteFromGuest(t, *f, addr, len, pos);
  };
  if (offset)
    return RaiseSigpipe(t, AtOffset(*f, *offset, [&](int64_t* pos) {
                          return Vectored(iov, pos, xfer);
                        }));
  return RaiseSigpipe(t, AtFilePosition(*f, [&](int64_t* pos) {
                        return Vectored(iov, pos, xfer);
                      }));
}

// preadv2/pwritev2 flags this sentry honours: RWF_HIPRI and RWF_DSYNC/SYNC
// are performance or durability hints that change nothing observable here.
constexpr int kKnownRwFlags =
    RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;

}  // namespace

// Implements Linux syscall readv(2).
SENTRY_SYSCALL(SysReadv) {
  return DoReadv(t, a.Int(0), a.Addr(1), a.Int(2), std::nullopt);
}

// Implements Linux syscall writev(2).
SENTRY_SYSCALL(SysWritev) {
  return DoWritev(t, a.Int(0), a.Addr(1), a.Int(2), std::nullopt);
}

// Implements Linux syscall preadv(2). The offset comes split in two halves.
SENTRY_SYSCALL(SysPreadv) {
  return DoReadv(t, a.Int(0), a.Addr(1), a.Int(2), a.Long(3));
}

// Implements Linux syscall pwritev(2).
SENTRY_SYSCALL(SysPwritev) {
  return DoWritev(t, a.Int(0), a.Addr(1), a.Int(2), a.Long(3));
}

// Implements Linux syscall preadv2(2): offset -1 means the file position.
SENTRY_SYSCALL(SysPreadv2) {
  int flags = a.Int(5);
  if ((flags & ~kKnownRwFlags) != 0 ||
      (flags & (RWF_NOWAIT | RWF_APPEND)) != 0) {
    return Errno(EOPNOTSUPP);
  }
  int64_t off = a.Long(3);
  return DoReadv(t, a.Int(0), a.Addr(1), a.Int(2),
                 off == -1 ? std::nullopt : std::optional<int64_t>(off));
}

// Implements Linux syscall pwritev2(2).
SENTRY_SYSCALL(SysPwritev2) {
  int flags = a.Int(5);
  if ((flags & ~kKnownRwFlags) != 0 ||
      (flags & (RWF_NOWAIT | RWF_APPEND)) != 0) {
    return Errno(EOPNOTSUPP);
  }
  int64_t off = a.Long(3);
  return DoWritev(t, a.Int(0), a.Addr(1), a.Int(2),
                  off == -1 ? std::nullopt : std::optional<int64_t>(off));
}

// Implements Linux syscall lseek(2).
SENTRY_SYSCALL(SysLseek) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(a.Int(0)));
  int whence = a.Int(2);
  if (whence < SEEK_SET || whence > SEEK_HOLE) return Errno(EINVAL);
  absl::MutexLock l(&f->pos_mu);
  SENTRY_ASSIGN_OR_RETURN(int64_t pos, f->Seek(a.Long(1), whence, &f->pos));
  return static_cast<uint64_t>(pos);
}

}  // namespace sentry::syscalls
