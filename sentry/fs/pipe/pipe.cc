#include "sentry/fs/pipe/pipe.h"

#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

#include "sentry/fs/anon/anon.h"

namespace sentry::fs::pipe {

SysResult<size_t> Pipe::Read(vfs::CallContext& ctx, char* buf, size_t len,
                             bool nonblock) {
  if (len == 0) return size_t{0};
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (size_ > 0) {
        size_t done = 0;
        while (done < len && !chunks_.empty()) {
          Chunk& c = chunks_.front();
          size_t avail = c.data.size() - c.off;
          size_t n = std::min(len - done, avail);
          memcpy(buf + done, c.data.data() + c.off, n);
          done += n;
          if (c.packet) {
            // A packet is read once: what did not fit is dropped.
            size_ -= avail;
            chunks_.pop_front();
            break;
          }
          c.off += n;
          size_ -= n;
          if (c.off == c.data.size()) chunks_.pop_front();
          if (!chunks_.empty() && chunks_.front().packet) break;
        }
        queue_.Notify(kEventOut);
        return done;
      }
      if (writers_ == 0) return size_t{0};
      if (nonblock) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventHup);
      continue;  // re-check now that no wake can be missed
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<size_t> Pipe::Write(vfs::CallContext& ctx, const char* buf,
                              size_t len, bool nonblock, bool packet) {
  // Writing nothing succeeds, even with no reader (and raises no SIGPIPE).
  if (len == 0) return size_t{0};
  size_t done = 0;
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (readers_ == 0) {
        if (done > 0) return done;
        return Errno(EPIPE);
      }
      size_t room = capacity_ > size_ ? capacity_ - size_ : 0;
      size_t left = len - done;
      // Up to PIPE_BUF bytes go in one piece or not at all; so does each
      // packet.
      bool atomic = len <= kPipeBuf || packet;
      size_t piece = packet ? std::min(left, kPipeBuf) : left;
      if (room > 0 && (!atomic || room >= piece)) {
        size_t n = std::min(room, piece);
        if (packet || chunks_.empty() || chunks_.back().packet) {
          chunks_.push_back(Chunk{std::string(), 0, packet});
        }
        chunks_.back().data.append(buf + done, n);
        size_ += n;
        done += n;
        queue_.Notify(kEventIn);
        if (done == len) return done;
        continue;
      }
      if (nonblock) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventOut | kEventErr);
      continue;
    }
    SysResult<void> r = ctx.Block(std::nullopt);
    if (!r.ok()) {
      // Interrupted: what was written stays written.
      if (done > 0) return done;
      return r.error();
    }
  }
}

uint32_t Pipe::ReadReadiness(uint64_t writers_seen) {
  absl::MutexLock l(&mu_);
  uint32_t r = 0;
  if (size_ > 0) r |= POLLIN | POLLRDNORM;
  if (writers_ == 0 && writer_opens_ != writers_seen) r |= POLLHUP;
  return r;
}

uint32_t Pipe::WriteReadiness() {
  absl::MutexLock l(&mu_);
  uint32_t r = 0;
  // With no reader a write would not block (it fails with EPIPE).
  if (readers_ == 0) return POLLOUT | POLLWRNORM | POLLERR;
  if (capacity_ - std::min(capacity_, size_) >= kPipeBuf) {
    r |= POLLOUT | POLLWRNORM;
  }
  return r;
}

void Pipe::AddReader() {
  absl::MutexLock l(&mu_);
  readers_++;
  reader_opens_++;
  queue_.Notify(kEventAll);
}

void Pipe::AddWriter() {
  absl::MutexLock l(&mu_);
  writers_++;
  writer_opens_++;
  queue_.Notify(kEventAll);
}

void Pipe::RemoveReader() {
  absl::MutexLock l(&mu_);
  if (--readers_ == 0) queue_.Notify(kEventOut | kEventErr);
}

void Pipe::RemoveWriter() {
  absl::MutexLock l(&mu_);
  if (--writers_ == 0) queue_.Notify(kEventIn | kEventHup);
}

uint64_t Pipe::WriterOpens() {
  absl::MutexLock l(&mu_);
  return writer_opens_;
}

int Pipe::readers() {
  absl::MutexLock l(&mu_);
  return readers_;
}

SysResult<void> Pipe::WaitForReader(vfs::CallContext& ctx, bool nonblock) {
  std::optional<ScopedWait> wait;
  uint64_t start;
  {
    absl::MutexLock l(&mu_);
    start = reader_opens_;
  }
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (readers_ > 0 || reader_opens_ != start) return Ok();
      if (nonblock) return Errno(ENXIO);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(ENXIO);
      wait.emplace(&queue_, ctx.waiter(), kEventAll);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<void> Pipe::WaitForWriter(vfs::CallContext& ctx, bool nonblock) {
  if (nonblock) return Ok();
  std::optional<ScopedWait> wait;
  uint64_t start;
  {
    absl::MutexLock l(&mu_);
    start = writer_opens_;
  }
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (writers_ > 0 || writer_opens_ != start) return Ok();
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Ok();
      wait.emplace(&queue_, ctx.waiter(), kEventAll);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

size_t Pipe::Available() {
  absl::MutexLock l(&mu_);
  return size_;
}

size_t Pipe::capacity() {
  absl::MutexLock l(&mu_);
  return capacity_;
}

SysResult<size_t> Pipe::SetCapacity(size_t size) {
  // Rounded up to a power-of-two number of pages, at least one page.
  size_t pages = std::max<size_t>(1, (size + 4095) / 4096);
  size_t rounded = 4096;
  while (rounded / 4096 < pages) rounded <<= 1;
  absl::MutexLock l(&mu_);
  if (size_ > rounded) return Errno(EBUSY);
  capacity_ = rounded;
  queue_.Notify(kEventOut);
  return rounded;
}

SysResult<bool> Pipe::WaitReadable(vfs::CallContext& ctx, bool nonblock) {
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (size_ > 0) return true;
      if (writers_ == 0) return false;
      if (nonblock) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventHup);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<size_t> Pipe::WaitWritable(vfs::CallContext& ctx, bool nonblock) {
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (readers_ == 0) return Errno(EPIPE);
      if (capacity_ > size_) return capacity_ - size_;
      if (nonblock) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventOut | kEventErr);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<void> Pipe::Append(const char* buf, size_t len) {
  absl::MutexLock l(&mu_);
  if (readers_ == 0) return Errno(EPIPE);
  if (len == 0) return Ok();
  if (chunks_.empty() || chunks_.back().packet) chunks_.push_back(Chunk{});
  chunks_.back().data.append(buf, len);
  size_ += len;
  queue_.Notify(kEventIn);
  return Ok();
}

// Both locks are taken through pointers ordered by address, which the
// thread-safety analysis cannot follow.
SysResult<size_t> Pipe::Transfer(vfs::CallContext& ctx, Pipe& from, Pipe& to,
                                 size_t len, bool nonblock, Consume consume)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (&from == &to) return Errno(EINVAL);
  if (len == 0) return size_t{0};
  for (;;) {
    SENTRY_ASSIGN_OR_RETURN(bool has_data, from.WaitReadable(ctx, nonblock));
    if (!has_data) return size_t{0};
    SENTRY_RETURN_IF_ERROR(to.WaitWritable(ctx, nonblock).status());
    absl::Mutex* first = &from < &to ? &from.mu_ : &to.mu_;
    absl::Mutex* second = &from < &to ? &to.mu_ : &from.mu_;
    absl::MutexLock l1(first);
    absl::MutexLock l2(second);
    if (to.readers_ == 0) return Errno(EPIPE);
    size_t room = to.capacity_ > to.size_ ? to.capacity_ - to.size_ : 0;
    // Another reader or writer got there first: wait again.
    if (from.size_ == 0 || room == 0) continue;
    size_t n = std::min({len, from.size_, room});
    if (to.chunks_.empty() || to.chunks_.back().packet) {
      to.chunks_.push_back(Chunk{});
    }
    std::string& dst = to.chunks_.back().data;
    size_t copied = 0;
    for (auto it = from.chunks_.begin(); copied < n; ++it) {
      size_t take = std::min(n - copied, it->data.size() - it->off);
      dst.append(it->data, it->off, take);
      copied += take;
    }
    if (consume == Consume::kYes) {
      size_t left = n;
      while (left > 0) {
        Chunk& c = from.chunks_.front();
        size_t take = std::min(left, c.data.size() - c.off);
        c.off += take;
        left -= take;
        if (c.off == c.data.size()) from.chunks_.pop_front();
      }
      from.size_ -= n;
      from.queue_.Notify(kEventOut);
    }
    to.size_ += n;
    to.queue_.Notify(kEventIn);
    return n;
  }
}

PipeFD::PipeFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pipe> pipe)
    : StreamFD(std::move(vd), flags),
      pipe_(std::move(pipe)),
      read_end_((flags & O_ACCMODE) != O_WRONLY),
      write_end_((flags & O_ACCMODE) != O_RDONLY),
      writers_seen_(pipe_->WriterOpens()) {
  if (read_end_) pipe_->AddReader();
  if (write_end_) pipe_->AddWriter();
}

PipeFD::~PipeFD() {
  if (read_end_) pipe_->RemoveReader();
  if (write_end_) pipe_->RemoveWriter();
}

SysResult<size_t> PipeFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                               int64_t*) {
  if (!read_end_) return Errno(EBADF);
  return pipe_->Read(ctx, buf, len, (flags() & O_NONBLOCK) != 0);
}

SysResult<size_t> PipeFD::Write(vfs::CallContext& ctx, const char* buf,
                                size_t len, int64_t*) {
  if (!write_end_) return Errno(EBADF);
  return pipe_->Write(ctx, buf, len, (flags() & O_NONBLOCK) != 0,
                      (flags() & O_DIRECT) != 0);
}

SysResult<int64_t> PipeFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                 uint64_t arg) {
  if (cmd == FIONREAD) {
    int32_t n =
        static_cast<int32_t>(std::min<size_t>(pipe_->Available(), INT32_MAX));
    SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
    return 0;
  }
  return FileDescription::Ioctl(ctx, cmd, arg);
}

uint32_t PipeFD::Readiness(uint32_t mask) {
  uint32_t r = 0;
  if (read_end_) r |= pipe_->ReadReadiness(writers_seen_);
  if (write_end_) r |= pipe_->WriteReadiness();
  return r & (mask | POLLHUP | POLLERR);
}

std::string PipeFD::AnonName() const {
  return "pipe:[" + std::to_string(anon::AnonIno(vd())) + "]";
}

std::pair<std::shared_ptr<PipeFD>, std::shared_ptr<PipeFD>> NewPipe(
    int flags, uint32_t uid, uint32_t gid) {
  auto pipe = std::make_shared<Pipe>();
  vfs::VirtualDentry vd = anon::NewAnonFile("pipefs", S_IFIFO | 0600, uid, gid);
  int status = flags & (O_NONBLOCK | O_DIRECT);
  // The read end first: it has seen no writer yet, so it reports a
  // hang-up as soon as its writer closes.
  auto r = std::make_shared<PipeFD>(vd, O_RDONLY | status, pipe);
  auto w = std::make_shared<PipeFD>(vd, O_WRONLY | status, pipe);
  return {r, w};
}

SysResult<std::shared_ptr<vfs::FileDescription>> OpenFifo(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags,
    const std::shared_ptr<Pipe>& pipe) {
  bool nonblock = (flags & O_NONBLOCK) != 0;
  int keep = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
  switch (flags & O_ACCMODE) {
    case O_RDONLY: {
      auto f = std::make_shared<PipeFD>(vd, keep, pipe);
      SENTRY_RETURN_IF_ERROR(pipe->WaitForWriter(ctx, nonblock));
      return std::shared_ptr<vfs::FileDescription>(f);
    }
    case O_WRONLY: {
      if (nonblock && pipe->readers() == 0) return Errno(ENXIO);
      auto f = std::make_shared<PipeFD>(vd, keep, pipe);
      SENTRY_RETURN_IF_ERROR(pipe->WaitForReader(ctx, nonblock));
      return std::shared_ptr<vfs::FileDescription>(f);
    }
    case O_RDWR:
      // Both ends at once: never waits (Linux allows it on FIFOs).
      return std::shared_ptr<vfs::FileDescription>(
          std::make_shared<PipeFD>(vd, keep, pipe));
    default:
      return Errno(EINVAL);
  }
}

}  // namespace sentry::fs::pipe
