// Implements sendfile(2), splice(2), tee(2), vmsplice(2) and
// copy_file_range(2).
//
// Data moves through a sentry buffer of at most kChunk bytes at a time,
// never sized by the guest's length; there is no zero-copy path. Between
// two pipes it moves under both pipes' locks (Pipe::Transfer), so splice
// and tee of pipes are atomic as in Linux.

#include <fcntl.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "sentry/base/aligned_buffer.h"
#include "sentry/fs/pipe/pipe.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

using fs::pipe::Pipe;
using fs::pipe::PipeFD;

// The most one piece moves: a bound on the sentry's buffer whatever the
// guest asks for.
constexpr size_t kChunk = 64 * 1024;

constexpr unsigned kSpliceFlags =
    SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

PipeFD* AsPipe(vfs::FileDescription& f) { return dynamic_cast<PipeFD*>(&f); }

// Whether I/O without an explicit offset uses the description's own
// position (Read/Write at &pos) rather than none (streams, and files whose
// position the host keeps).
bool HasOwnPosition(const vfs::FileDescription& f) {
  return f.seekable() && !f.host_position();
}

// Holds the position locks of up to two descriptions (null: not needed),
// taken in address order so that two calls moving data in opposite
// directions between the same files cannot deadlock.
class PositionLocks {
 public:
  PositionLocks(vfs::FileDescription* a, vfs::FileDescription* b) {
    if (a != nullptr && !HasOwnPosition(*a)) a = nullptr;
    if (b != nullptr && !HasOwnPosition(*b)) b = nullptr;
    if (a == b) b = nullptr;
    if (a == nullptr) std::swap(a, b);
    if (b != nullptr && b < a) std::swap(a, b);
    first_ = a;
    second_ = b;
    if (first_ != nullptr) first_->pos_mu.Lock();
    if (second_ != nullptr) second_->pos_mu.Lock();
  }
  ~PositionLocks() {
    if (second_ != nullptr) second_->pos_mu.Unlock();
    if (first_ != nullptr) first_->pos_mu.Unlock();
  }
  PositionLocks(const PositionLocks&) = delete;
  PositionLocks& operator=(const PositionLocks&) = delete;

 private:
  vfs::FileDescription* first_;
  vfs::FileDescription* second_;
};

// Where a transfer reads or writes `f`: at the guest's offset if it gave
// one, else at the file's own position (whose lock the caller holds), or
// at none.
int64_t* PositionOf(vfs::FileDescription& f, std::optional<int64_t>& offset)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (offset) return &*offset;
  return HasOwnPosition(f) ? &f.pos : nullptr;
}

// Linux's rw_verify_area: a count that is negative as a ssize_t, a
// negative position, or one the count would carry past the largest
// offset, fail with EINVAL.
SysResult<void> VerifyArea(const int64_t* pos, size_t count) {
  if (static_cast<ssize_t>(count) < 0) return Errno(EINVAL);
  if (pos == nullptr) return Ok();
  int64_t end;
  if (*pos < 0 ||
      __builtin_add_overflow(*pos, static_cast<int64_t>(count), &end)) {
    return Errno(EINVAL);
  }
  return Ok();
}

SysResult<std::optional<int64_t>> CopyInOffset(Task& t, GuestAddr addr) {
  if (addr.IsNull()) return std::optional<int64_t>();
  int64_t off;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &off));
  return std::optional<int64_t>(off);
}

// Writes all of `buf` to `out` unless a write fails or stops short;
// returns what was written, or the error if nothing was.
SysResult<size_t> WriteAll(Task& t, vfs::FileDescription& out, const char* buf,
                           size_t len, int64_t* off) {
  size_t done = 0;
  while (done < len) {
    SysResult<size_t> n = out.Write(t, buf + done, len - done, off);
    if (!n.ok()) {
      if (done > 0) break;
      return n.error();
    }
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

// Copies up to `count` bytes from `in` to `out` (neither a pipe) piece by
// piece, until `count` is done, `in` ends or a piece comes up short. An
// error after some progress ends the copy with what was done; input read
// but not written is given back by moving `in_off` back, where there is
// one.
SysResult<size_t> CopyFiles(Task& t, vfs::FileDescription& in, int64_t* in_off,
                            vfs::FileDescription& out, int64_t* out_off,
                            size_t count) {
  PageAlignedBuffer buf(std::min(count, kChunk));
  size_t done = 0;
  while (done < count) {
    size_t want = std::min(count - done, buf.size());
    SysResult<size_t> n = in.Read(t, buf.data(), want, in_off);
    if (!n.ok()) {
      if (done > 0) break;
      return n.error();
    }
    if (*n == 0) break;
    SysResult<size_t> w = WriteAll(t, out, buf.data(), *n, out_off);
    size_t written = w.ok() ? *w : 0;
    if (written < *n && in_off != nullptr) {
      *in_off -= static_cast<int64_t>(*n - written);
    }
    done += written;
    if (!w.ok()) {
      if (done > 0) break;
      return w.error();
    }
    if (written < *n || *n < want || !in.seekable()) break;
  }
  return done;
}

// Fills `pipe` from `in`: waits (unless `nonblock`) for room, then moves
// up to `count` bytes, at most what there was room for, as Linux's
// splice_file_to_pipe.
SysResult<size_t> FileToPipe(Task& t, vfs::FileDescription& in, int64_t* in_off,
                             Pipe& pipe, size_t count, bool nonblock) {
  SENTRY_ASSIGN_OR_RETURN(size_t room, pipe.WaitWritable(t, nonblock));
  count = std::min({count, room, kMaxRwCount});
  PageAlignedBuffer buf(std::min(count, kChunk));
  size_t done = 0;
  while (done < count) {
    size_t want = std::min(count - done, buf.size());
    SysResult<size_t> n = in.Read(t, buf.data(), want, in_off);
    if (!n.ok()) {
      if (done > 0) break;
      return n.error();
    }
    if (*n == 0) break;
    SysResult<void> w = pipe.Append(buf.data(), *n);
    if (!w.ok()) {
      // The reader went away: what was read has nowhere to go, as in
      // Linux, where the pipe's pages are freed with the pipe.
      if (done > 0) break;
      return w.error();
    }
    done += *n;
    if (*n < want || !in.seekable()) break;
  }
  return done;
}

// Drains `pipe` into `out`: waits (unless `nonblock`) for data, then moves
// what is there, up to `count` bytes, as Linux's iter_file_splice_write.
// Bytes taken from the pipe that `out` then refuses (ENOSPC, EFBIG) are
// lost, where Linux would leave them in the pipe.
SysResult<size_t> PipeToFile(Task& t, Pipe& pipe, vfs::FileDescription& out,
                             int64_t* out_off, size_t count, bool nonblock) {
  count = std::min(count, kMaxRwCount);
  PageAlignedBuffer buf(std::min(count, kChunk));
  size_t done = 0;
  while (done < count) {
    size_t want = std::min(count - done, buf.size());
    // Only the first piece waits; later ones take what is there.
    SysResult<size_t> n = pipe.Read(t, buf.data(), want, nonblock || done > 0);
    if (!n.ok()) {
      if (done > 0) break;
      return n.error();
    }
    if (*n == 0) break;
    SysResult<size_t> w = WriteAll(t, out, buf.data(), *n, out_off);
    if (!w.ok()) {
      if (done > 0) break;
      return w.error();
    }
    done += *w;
    if (*w < *n) break;
  }
  return done;
}

}  // namespace

// Implements Linux syscall sendfile(2) (sendfile64 on x86-64).
SENTRY_SYSCALL(SysSendfile) {
  int out_fd = a.Int(0);
  int in_fd = a.Int(1);
  GuestAddr off_addr = a.Addr(2);
  size_t count = a.U64(3);
  SENTRY_ASSIGN_OR_RETURN(std::optional<int64_t> offset,
                          CopyInOffset(t, off_addr));
  // Linux's order: the input, its offset and count, then the output.
  SENTRY_ASSIGN_OR_RETURN(auto in, t.GetFile(in_fd));
  if (!in->readable()) return Errno(EBADF);
  if (offset && !in->seekable()) return Errno(ESPIPE);
  SENTRY_RETURN_IF_ERROR(VerifyArea(offset ? &*offset : nullptr, count));
  SENTRY_ASSIGN_OR_RETURN(auto out, t.GetFile(out_fd));
  if (!out->writable()) return Errno(EBADF);
  // Pipes and directories cannot be read by splicing (they have no
  // splice_read in Linux).
  if (AsPipe(*in) != nullptr || in->inode()->IsDir()) return Errno(EINVAL);
  PipeFD* out_pipe = AsPipe(*out);
  if (out_pipe == nullptr) {
    // Linux's do_splice_direct: no appending output, a seekable input.
    if ((out->flags() & O_APPEND) != 0 || !in->seekable()) {
      return Errno(EINVAL);
    }
  }

  // The pipe's own O_NONBLOCK counts, the input's does not.
  bool nonblock = (out->flags() & O_NONBLOCK) != 0;
  if (out_pipe != nullptr) {
    // Wait for room before taking the input's position lock, so that
    // others can use that file while this call waits.
    SysResult<size_t> room = out_pipe->pipe().WaitWritable(t, nonblock);
    if (!room.ok()) return RaiseSigpipe(t, room.error());
  }

  SysResult<size_t> r = size_t{0};
  {
    PositionLocks locks(offset ? nullptr : in.get(),
                        out_pipe != nullptr ? nullptr : out.get());
    int64_t* in_pos = PositionOf(*in, offset);
    if (!offset) SENTRY_RETURN_IF_ERROR(VerifyArea(in_pos, count));
    count = std::min(count, kMaxRwCount);
    if (out_pipe != nullptr) {
      r = FileToPipe(t, *in, in_pos, out_pipe->pipe(), count, nonblock);
    } else {
      std::optional<int64_t> none;
      int64_t* out_pos = PositionOf(*out, none);
      SENTRY_RETURN_IF_ERROR(VerifyArea(out_pos, count));
      r = CopyFiles(t, *in, in_pos, *out, out_pos, count);
    }
  }
  // Like Linux, the offset is written back whatever happened.
  if (offset) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(off_addr, *offset));
  if (!r.ok()) return RaiseSigpipe(t, r.error());
  return *r;
}

// Implements Linux syscall splice(2).
SENTRY_SYSCALL(SysSplice) {
  int in_fd = a.Int(0);
  GuestAddr off_in_addr = a.Addr(1);
  int out_fd = a.Int(2);
  GuestAddr off_out_addr = a.Addr(3);
  size_t len = a.U64(4);
  unsigned flags = a.U32(5);
  if (len == 0) return 0;
  if ((flags & ~kSpliceFlags) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto in, t.GetFile(in_fd));
  SENTRY_ASSIGN_OR_RETURN(auto out, t.GetFile(out_fd));
  PipeFD* in_pipe = AsPipe(*in);
  PipeFD* out_pipe = AsPipe(*out);
  // Offsets belong to the end that is not a pipe.
  if ((in_pipe != nullptr && !off_in_addr.IsNull()) ||
      (out_pipe != nullptr && !off_out_addr.IsNull())) {
    return Errno(ESPIPE);
  }
  SENTRY_ASSIGN_OR_RETURN(std::optional<int64_t> off_out,
                          CopyInOffset(t, off_out_addr));
  SENTRY_ASSIGN_OR_RETURN(std::optional<int64_t> off_in,
                          CopyInOffset(t, off_in_addr));
  if (!in->readable() || !out->writable()) return Errno(EBADF);
  bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0;

  SysResult<size_t> r = size_t{0};
  if (in_pipe != nullptr && out_pipe != nullptr) {
    nonblock = nonblock || ((in->flags() | out->flags()) & O_NONBLOCK) != 0;
    r = Pipe::Transfer(t, in_pipe->pipe(), out_pipe->pipe(), len, nonblock,
                       Pipe::Consume::kYes);
  } else if (in_pipe != nullptr) {
    if (off_out && !out->seekable()) return Errno(EINVAL);
    if ((out->flags() & O_APPEND) != 0) return Errno(EINVAL);
    SENTRY_RETURN_IF_ERROR(VerifyArea(off_out ? &*off_out : nullptr, len));
    // Only the pipe's O_NONBLOCK counts, not the file's.
    nonblock = nonblock || (in->flags() & O_NONBLOCK) != 0;
    // Wait for data before taking the output's position lock, so that
    // others can use that file while this call waits.
    SENTRY_ASSIGN_OR_RETURN(bool has_data,
                            in_pipe->pipe().WaitReadable(t, nonblock));
    if (!has_data) return 0;
    PositionLocks locks(off_out ? nullptr : out.get(), nullptr);
    int64_t* pos = PositionOf(*out, off_out);
    SENTRY_RETURN_IF_ERROR(VerifyArea(pos, len));
    r = PipeToFile(t, in_pipe->pipe(), *out, pos, len, nonblock);
  } else if (out_pipe != nullptr) {
    if (off_in && !in->seekable()) return Errno(EINVAL);
    if (in->inode()->IsDir()) return Errno(EINVAL);
    SENTRY_RETURN_IF_ERROR(VerifyArea(off_in ? &*off_in : nullptr, len));
    nonblock = nonblock || (out->flags() & O_NONBLOCK) != 0;
    // As above: wait for room before taking the input's position lock.
    SysResult<size_t> room = out_pipe->pipe().WaitWritable(t, nonblock);
    if (!room.ok()) return RaiseSigpipe(t, room.error());
    PositionLocks locks(off_in ? nullptr : in.get(), nullptr);
    int64_t* pos = PositionOf(*in, off_in);
    SENTRY_RETURN_IF_ERROR(VerifyArea(pos, len));
    r = FileToPipe(t, *in, pos, out_pipe->pipe(), len, nonblock);
  } else {
    return Errno(EINVAL);  // one end must be a pipe
  }
  if (!r.ok()) return RaiseSigpipe(t, r.error());
  if (off_out) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(off_out_addr, *off_out));
  if (off_in) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(off_in_addr, *off_in));
  return *r;
}

// Implements Linux syscall tee(2).
SENTRY_SYSCALL(SysTee) {
  int in_fd = a.Int(0);
  int out_fd = a.Int(1);
  size_t len = a.U64(2);
  unsigned flags = a.U32(3);
  if ((flags & ~kSpliceFlags) != 0) return Errno(EINVAL);
  if (len == 0) return 0;
  SENTRY_ASSIGN_OR_RETURN(auto in, t.GetFile(in_fd));
  SENTRY_ASSIGN_OR_RETURN(auto out, t.GetFile(out_fd));
  if (!in->readable() || !out->writable()) return Errno(EBADF);
  PipeFD* in_pipe = AsPipe(*in);
  PipeFD* out_pipe = AsPipe(*out);
  if (in_pipe == nullptr || out_pipe == nullptr) return Errno(EINVAL);
  bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0 ||
                  ((in->flags() | out->flags()) & O_NONBLOCK) != 0;
  return RaiseSigpipe(t, Pipe::Transfer(t, in_pipe->pipe(), out_pipe->pipe(),
                                        len, nonblock, Pipe::Consume::kNo));
}

// Implements Linux syscall vmsplice(2). A writable end is filled from the
// iovecs, a read end drained into them. Only SPLICE_F_NONBLOCK makes it
// non-blocking: Linux ignores the pipe's O_NONBLOCK here.
SENTRY_SYSCALL(SysVmsplice) {
  int fd = a.Int(0);
  GuestAddr iov_addr = a.Addr(1);
  uint64_t nr_segs = a.U64(2);
  unsigned flags = a.U32(3);
  if ((flags & ~kSpliceFlags) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(fd));
  bool to_pipe = f->writable();
  if (!to_pipe && !f->readable()) return Errno(EBADF);
  if (nr_segs > static_cast<uint64_t>(kIovMax)) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(std::vector<struct iovec> iov,
                          CopyInIovecs(t, iov_addr, static_cast<int>(nr_segs)));
  size_t total = 0;
  for (const struct iovec& v : iov) total += v.iov_len;
  if (total == 0) return 0;
  PipeFD* p = AsPipe(*f);
  if (p == nullptr) return Errno(EBADF);
  bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
  PageAlignedBuffer buf(std::min(total, kChunk));
  size_t done = 0;

  if (to_pipe) {
    SysResult<size_t> room = p->pipe().WaitWritable(t, nonblock);
    if (!room.ok()) return RaiseSigpipe(t, room.error());
    size_t limit = std::min(total, *room);
    for (const struct iovec& v : iov) {
      uint64_t base = reinterpret_cast<uint64_t>(v.iov_base);
      for (size_t off = 0; off < v.iov_len && done < limit;) {
        size_t want = std::min({v.iov_len - off, limit - done, buf.size()});
        SysResult<size_t> c = t.CopyIn(GuestAddr(base + off), buf.data(), want);
        size_t got = c.ok() ? *c : 0;
        if (got > 0) {
          SysResult<void> w = p->pipe().Append(buf.data(), got);
          if (!w.ok()) {
            if (done > 0) return done;
            return RaiseSigpipe(t, w.error());
          }
        }
        done += got;
        off += got;
        if (got < want)
          return done > 0 ? SysResult<uint64_t>(done)
                          : SysResult<uint64_t>(Errno(EFAULT));
      }
      if (done == limit) break;
    }
    return done;
  }

  for (const struct iovec& v : iov) {
    uint64_t base = reinterpret_cast<uint64_t>(v.iov_base);
    for (size_t off = 0; off < v.iov_len;) {
      size_t want = std::min(v.iov_len - off, buf.size());
      // Only the first piece waits; later ones take what is there.
      SysResult<size_t> n =
          p->pipe().Read(t, buf.data(), want, nonblock || done > 0);
      if (!n.ok()) {
        if (done > 0) return done;
        return n.error();
      }
      if (*n == 0) return done;
      SysResult<size_t> c = t.CopyOut(GuestAddr(base + off), buf.data(), *n);
      size_t put = c.ok() ? *c : 0;
      done += put;
      if (put < *n) {
        // The bytes are consumed: report what reached the guest.
        return done > 0 ? SysResult<uint64_t>(done)
                        : SysResult<uint64_t>(Errno(EFAULT));
      }
      off += *n;
      if (*n < want) return done;
    }
  }
  return done;
}

// Implements Linux syscall copy_file_range(2): between regular files of
// one filesystem (EXDEV across filesystems, as Linux 5.19 and later say
// for filesystems without a copy_file_range method of their own, which no
// sentry filesystem has).
SENTRY_SYSCALL(SysCopyFileRange) {
  int in_fd = a.Int(0);
  GuestAddr off_in_addr = a.Addr(1);
  int out_fd = a.Int(2);
  GuestAddr off_out_addr = a.Addr(3);
  size_t len = a.U64(4);
  unsigned flags = a.U32(5);
  SENTRY_ASSIGN_OR_RETURN(auto in, t.GetFile(in_fd));
  SENTRY_ASSIGN_OR_RETURN(auto out, t.GetFile(out_fd));
  SENTRY_ASSIGN_OR_RETURN(std::optional<int64_t> off_in,
                          CopyInOffset(t, off_in_addr));
  SENTRY_ASSIGN_OR_RETURN(std::optional<int64_t> off_out,
                          CopyInOffset(t, off_out_addr));
  if (flags != 0) return Errno(EINVAL);
  // Linux's generic_file_rw_checks, then the filesystem check.
  if (in->inode()->IsDir() || out->inode()->IsDir()) return Errno(EISDIR);
  if (!in->inode()->IsRegular() || !out->inode()->IsRegular()) {
    return Errno(EINVAL);
  }
  if (!in->readable() || !out->writable() || (out->flags() & O_APPEND) != 0) {
    return Errno(EBADF);
  }
  const vfs::Filesystem* in_fs =
      in->vd().mount ? in->vd().mount->fs().get() : nullptr;
  const vfs::Filesystem* out_fs =
      out->vd().mount ? out->vd().mount->fs().get() : nullptr;
  if (in_fs == nullptr || in_fs != out_fs) return Errno(EXDEV);

  SysResult<size_t> r = size_t{0};
  {
    PositionLocks locks(off_in ? nullptr : in.get(),
                        off_out ? nullptr : out.get());
    // Files whose position the host keeps are copied at an explicit
    // position too; start from where they are.
    int64_t pos_in = 0, pos_out = 0;
    int64_t* in_pos = PositionOf(*in, off_in);
    int64_t* out_pos = PositionOf(*out, off_out);
    if (in_pos == nullptr) {
      SENTRY_ASSIGN_OR_RETURN(pos_in, in->Seek(0, SEEK_CUR, &pos_in));
    } else {
      pos_in = *in_pos;
    }
    if (out_pos == nullptr) {
      SENTRY_ASSIGN_OR_RETURN(pos_out, out->Seek(0, SEEK_CUR, &pos_out));
    } else {
      pos_out = *out_pos;
    }
    // Offsets must not wrap (compared as Linux does, unsigned).
    uint64_t count = len;
    if (static_cast<uint64_t>(pos_in) + count < static_cast<uint64_t>(pos_in) ||
        static_cast<uint64_t>(pos_out) + count <
            static_cast<uint64_t>(pos_out)) {
      return Errno(EOVERFLOW);
    }
    // Shortened to the end of the input.
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, in->Stat());
    int64_t size_in = static_cast<int64_t>(attr.size);
    count = pos_in >= size_in
                ? 0
                : std::min<uint64_t>(count,
                                     static_cast<uint64_t>(size_in - pos_in));
    // No overlapping ranges within one file.
    if (in->inode() == out->inode() &&
        static_cast<uint64_t>(pos_out) + count >
            static_cast<uint64_t>(pos_in) &&
        static_cast<uint64_t>(pos_out) <
            static_cast<uint64_t>(pos_in) + count) {
      return Errno(EINVAL);
    }
    SENTRY_RETURN_IF_ERROR(VerifyArea(&pos_in, count));
    SENTRY_RETURN_IF_ERROR(VerifyArea(&pos_out, count));
    if (count == 0) return 0;
    r = CopyFiles(t, *in, &pos_in, *out, &pos_out,
                  std::min<uint64_t>(count, kMaxRwCount));
    if (r.ok() && *r > 0) {
      if (in_pos != nullptr) {
        *in_pos = pos_in;
      } else {
        SENTRY_RETURN_IF_ERROR(in->Seek(pos_in, SEEK_SET, &pos_in).status());
      }
      if (out_pos != nullptr) {
        *out_pos = pos_out;
      } else {
        SENTRY_RETURN_IF_ERROR(out->Seek(pos_out, SEEK_SET, &pos_out).status());
      }
    }
  }
  if (!r.ok()) return r.error();
  if (*r > 0) {
    if (off_in) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(off_in_addr, *off_in));
    if (off_out) SENTRY_RETURN_IF_ERROR(t.CopyOutObj(off_out_addr, *off_out));
  }
  return *r;
}

}  // namespace sentry::syscalls
