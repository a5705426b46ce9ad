#include "sentry/syscalls/linux/sys_common.h"

#include <fcntl.h>

#include <algorithm>
#include <optional>

#include "absl/functional/function_ref.h"
#include "sentry/base/aligned_buffer.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/vfs/inotify.h"
#include "sentry/vfs/resolve.h"

namespace sentry::syscalls {

namespace {
// Bounce buffer size between host files and guest memory.
constexpr size_t kChunk = 256 * 1024;
// Reads from a file with a host fd into guest memory the sentry maps too
// (mm::DirectBuffer), and writes to one from it, are one pread or pwrite by
// the sentry at any size worth a VMA lookup.
constexpr size_t kSentryDirectReadMin = 16 * 1024;
// Reads at least this long into other memory go straight into guest memory
// where the platform can (one copy by the host instead of two through the
// sentry); below it the injection (a ptrace round trip, 13.5 us on the
// development VM, plus a wake-up of the guest thread under systrap) costs
// more than the second copy. docs/large_reads.md has the figures.
constexpr size_t kDirectReadMin = 256 * 1024;
// A direct read goes in pieces of at most this (~1.5 ms of copying), so a
// kill ends a 2 GiB read in about that, as Linux's page-cache reads stop at
// a fatal signal; one more injection per piece costs under 1%.
constexpr size_t kDirectReadPiece = 16 * 1024 * 1024;

PageAlignedBuffer& Bounce() {
  thread_local PageAlignedBuffer buf(kChunk);
  return buf;
}
}  // namespace

SysResult<uint64_t> RaiseSigpipe(Task& t, SysResult<uint64_t> r) {
  if (!r.ok() && r.err() == EPIPE) {
    t.SendSignal(
        kernel::MakeSigInfo(SIGPIPE, SI_USER, t.tgid(), t.creds().ruid));
  }
  return r;
}

bool RangeOk(Task& t, GuestAddr addr, uint64_t len) {
  uint64_t end;
  if (__builtin_add_overflow(addr.value(), len, &end)) return false;
  return !t.has_mm() || end <= t.mm().max_addr();
}

namespace {

// Moves the bytes from `*done` to `count` by `piece` (a direct transfer of
// `want` bytes at `at`: the count moved, or ENOSYS where there is no
// direct way), kDirectReadPiece at most at a time, counting them in
// `*done`. The call's result once it is decided (by an error, a short
// piece, a kill, or the end), or nullopt if the copy must do the rest.
std::optional<SysResult<size_t>> DirectPieces(
    Task& t, vfs::FileDescription& f, uint32_t event, size_t count,
    size_t* done, absl::FunctionRef<SysResult<size_t>(size_t, size_t)> piece) {
  while (*done < count) {
    size_t want = std::min(count - *done, kDirectReadPiece);
    SysResult<size_t> n = piece(*done, want);
    if (!n.ok()) {
      // ENOSYS: no direct way; the copy does the rest.
      if (n.err() == ENOSYS) return std::nullopt;
      if (*done == 0) return n.error();
    } else {
      *done += *n;
    }
    // An error, end of file, a fault, or a kill: Linux returns what it
    // has.
    if (!n.ok() || *n < want || t.Killed()) break;
  }
  if (*done > 0) vfs::NotifyFile(f.vd(), event);
  return SysResult<size_t>(*done);
}

}  // namespace

SysResult<std::vector<struct iovec>> CopyInIovecs(Task& t, GuestAddr addr,
                                                  int count) {
  if (count < 0 || count > kIovMax) return Errno(EINVAL);
  std::vector<struct iovec> iov(static_cast<size_t>(count));
  if (count == 0) return iov;
  SENTRY_RETURN_IF_ERROR(
      t.CopyInFull(addr, iov.data(), iov.size() * sizeof(struct iovec)));
  size_t total = 0;
  for (struct iovec& v : iov) {
    if (static_cast<ssize_t>(v.iov_len) < 0) return Errno(EINVAL);
    size_t room = kMaxRwCount - total;
    v.iov_len = std::min(v.iov_len, room);
    total += v.iov_len;
    if (!RangeOk(t, GuestAddr(reinterpret_cast<uint64_t>(v.iov_base)),
                 v.iov_len)) {
      return Errno(EFAULT);
    }
  }
  return iov;
}

SysResult<size_t> ReadToGuest(Task& t, vfs::FileDescription& f, GuestAddr addr,
                              size_t count, int64_t* offset, bool ends_call) {
  if (!f.readable()) return Errno(EBADF);
  count = std::min(count, kMaxRwCount);
  if (!RangeOk(t, addr, count)) return Errno(EFAULT);
  size_t done = 0;
  if (count >= kSentryDirectReadMin && offset != nullptr) {
    int host_fd = f.DirectReadFd();
    if (host_fd >= 0) {
      std::optional<SysResult<size_t>> r = DirectPieces(
          t, f, IN_ACCESS, count, &done,
          [&](size_t at, size_t want) -> SysResult<size_t> {
            SENTRY_ASSIGN_OR_RETURN(
                size_t n,
                t.PreadToGuest(host_fd, *offset, GuestAddr(addr.value() + at),
                               want, count >= kDirectReadMin,
                               ends_call && at + want == count));
            *offset += static_cast<int64_t>(n);
            return n;
          });
      if (r) return *r;
    }
  }
  PageAlignedBuffer& buf = Bounce();
  if (count == 0 && dynamic_cast<fs::anon::RecordReads*>(&f) != nullptr) {
    return f.Read(t, buf.data(), 0, offset);
  }
  while (done < count) {
    size_t want = std::min(count - done, buf.size());
    int64_t before = offset != nullptr ? *offset : 0;
    SysResult<size_t> n = f.Read(t, buf.data(), want, offset);
    if (!n.ok()) {
      if (done > 0) break;
      return n.error();
    }
    if (*n == 0) break;
    SysResult<size_t> c =
        t.CopyOut(GuestAddr(addr.value() + done), buf.data(), *n);
    if (!c.ok() || *c < *n) {
      // Only what reached the guest was read, as when Linux copies from the
      // page cache and stops at the fault: a position the read moved goes
      // back by the rest (devices such as /dev/zero leave theirs). A
      // stream's bytes are consumed.
      size_t copied = c.ok() ? *c : 0;
      if (offset != nullptr && *offset == before + static_cast<int64_t>(*n)) {
        *offset = before + static_cast<int64_t>(copied);
      }
      done += copied;
      if (done > 0) break;
      return Errno(EFAULT);
    }
    done += *n;
    if (*n < want || !f.seekable() || offset == nullptr || t.Killed()) break;
  }
  if (done > 0) vfs::NotifyFile(f.vd(), IN_ACCESS);
  return done;
}

SysResult<size_t> WriteFromGuest(Task& t, vfs::FileDescription& f,
                                 GuestAddr addr, size_t count,
                                 int64_t* offset) {
  if (!f.writable()) return Errno(EBADF);
  count = std::min(count, kMaxRwCount);
  if (!RangeOk(t, addr, count)) return Errno(EFAULT);
  PageAlignedBuffer& buf = Bounce();
  size_t done = 0;
  if (count == 0) return f.Write(t, buf.data(), 0, offset);
  if (count >= kSentryDirectReadMin && f.WritesStraightToHost()) {
    // From memory the sentry maps too (mm::DirectBuffer): no copy at all.
    std::optional<SysResult<size_t>> r = DirectPieces(
        t, f, IN_MODIFY, count, &done, [&](size_t at, size_t want) {
          return t.WriteFromDirect(
              GuestAddr(addr.value() + at), want,
              [&](const char* view) { return f.Write(t, view, want, offset); });
        });
    if (r) return *r;
  }
  while (done < count) {
    size_t want = std::min(count - done, buf.size());
    SysResult<size_t> c =
        t.CopyIn(GuestAddr(addr.value() + done), buf.data(), want);
    if (!c.ok()) {
      if (done > 0) break;
      return Errno(EFAULT);
    }
    SysResult<size_t> n = f.Write(t, buf.data(), *c, offset);
    if (!n.ok()) {
      if (done > 0) break;
      return n.error();
    }
    done += *n;
    if (*n < *c || *c < want || t.Killed()) break;
  }
  if (done > 0) vfs::NotifyFile(f.vd(), IN_MODIFY);
  return done;
}

SysResult<vfs::PathContext> PathAt(Task& t, int dirfd,
                                   const std::string& path) {
  // An absolute path ignores dirfd, even a bad one.
  bool absolute = !path.empty() && path[0] == '/';
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc,
                          t.PathContextAt(absolute ? AT_FDCWD : dirfd));
  if (dirfd != AT_FDCWD && !path.empty() && path[0] != '/' &&

      !pc.start.dentry->inode()->IsDir()) {
    return Errno(ENOTDIR);
  }
  return pc;
}

SysResult<AtTarget> ResolveAt(Task& t, int dirfd, GuestAddr path_addr,
                              bool follow, bool allow_empty,
                              bool null_is_empty) {
  std::string path;
  if (!path_addr.IsNull() || !(allow_empty && null_is_empty)) {
    SysResult<std::string> p = t.CopyInString(path_addr, vfs::kMaxPath - 1);
    if (!p.ok())
      return p.err() == ENAMETOOLONG ? Errno(ENAMETOOLONG) : p.error();
    path = std::move(*p);
  }
  if (path.empty()) {
    if (!allow_empty) return Errno(ENOENT);
    AtTarget target;
    if (dirfd == AT_FDCWD) {
      target.vd = t.Cwd();
    } else {
      SENTRY_ASSIGN_OR_RETURN(target.file,
                              t.GetFile(dirfd, /*allow_path=*/true));
      target.vd = target.file->vd();
    }
    return target;
  }
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, dirfd, path));
  vfs::Resolver r(t, *pc.ns, pc.root, pc.start);
  vfs::ResolveOptions opts;
  opts.follow_final = follow;
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, r.Resolve(path, opts));
  return AtTarget{std::move(vd), nullptr};
}

SysResult<vfs::Attr> StatOf(const AtTarget& target) {
  if (target.file) return target.file->Stat();
  return target.vd.dentry->inode()->GetAttr();
}

SysResult<void> CheckPtraceAccess(Task& t, Task& target) {
  if (target.tgid() == t.tgid()) return Ok();
  const auth::Credentials& me = t.creds();
  auth::Credentials them = target.GetCreds();
  bool ptrace_cap = me.HasCapability(auth::Capability::kSysPtrace);
  bool same_ids = me.ruid == them.euid && me.ruid == them.suid &&
                  me.ruid == them.ruid && me.rgid == them.egid &&
                  me.rgid == them.sgid && me.rgid == them.rgid;
  if (!same_ids && !ptrace_cap) return Errno(EPERM);
  if (!target.tg().dumpable && !ptrace_cap) return Errno(EPERM);
  if ((them.cap_permitted & ~me.cap_permitted) != 0 && !ptrace_cap)
    return Errno(EPERM);
  return Ok();
}

SysResult<void> ApplySigmask(Task& t, GuestAddr mask_addr, uint64_t size) {
  if (mask_addr.IsNull()) return Ok();
  if (size != sizeof(kernel::SigSet)) return Errno(EINVAL);
  kernel::SigSet mask;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(mask_addr, &mask));
  t.SetTemporaryMask(mask);
  return Ok();
}

}  // namespace sentry::syscalls
