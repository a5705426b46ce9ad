#include "sentry/fs/pipe/pipe.h"

#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "sentry/fs/anon/anon.h"

namespace sentry::fs::pipe {

SysResult<size_t> Pipe::Read(vfs::CallContext& ctx, char* buf, size_t len,
                             bool nonblock) {
  if (len == 0) return size_t{0};
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (!buf_.empty()) {
        size_t n = std::min(len, buf_.size());
        std::copy(buf_.begin(), buf_.begin() + n, buf);
        buf_.erase(buf_.begin(), buf_.begin() + n);
        queue_.Notify(kEventOut);
        return n;
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
                              size_t len, bool nonblock) {
  size_t done = 0;
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (readers_ == 0) {
        if (done > 0) return done;
        return Errno(EPIPE);
      }
      size_t room = capacity_ > buf_.size() ? capacity_ - buf_.size() : 0;
      size_t left = len - done;
      // Up to PIPE_BUF bytes go in one piece or not at all.
      bool atomic = len <= kPipeBuf;
      if (room > 0 && (!atomic || room >= left)) {
        size_t n = std::min(room, left);
        buf_.insert(buf_.end(), buf + done, buf + done + n);
        done += n;
        queue_.Notify(kEventIn);
        if (done == len) return done;
        continue;
      }
      if (nonblock) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      if (len == 0) return size_t{0};
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

uint32_t Pipe::ReadReadiness() {
  absl::MutexLock l(&mu_);
  uint32_t r = 0;
  if (!buf_.empty()) r |= POLLIN | POLLRDNORM;
  if (writers_ == 0) r |= POLLHUP;
  return r;
}

uint32_t Pipe::WriteReadiness() {
  absl::MutexLock l(&mu_);
  uint32_t r = 0;
  if (readers_ == 0) return POLLERR;
  if (capacity_ - std::min(capacity_, buf_.size()) >= kPipeBuf) {
    r |= POLLOUT | POLLWRNORM;
  }
  return r;
}

void Pipe::AddReader() {
  absl::MutexLock l(&mu_);
  readers_++;
}

void Pipe::AddWriter() {
  absl::MutexLock l(&mu_);
  writers_++;
}

void Pipe::RemoveReader() {
  absl::MutexLock l(&mu_);
  if (--readers_ == 0) queue_.Notify(kEventOut | kEventErr);
}

void Pipe::RemoveWriter() {
  absl::MutexLock l(&mu_);
  if (--writers_ == 0) queue_.Notify(kEventIn | kEventHup);
}

size_t Pipe::Available() {
  absl::MutexLock l(&mu_);
  return buf_.size();
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
  if (buf_.size() > rounded) return Errno(EBUSY);
  capacity_ = rounded;
  queue_.Notify(kEventOut);
  return rounded;
}

PipeFD::PipeFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pipe> pipe)
    : FileDescription(std::move(vd), flags),
      pipe_(std::move(pipe)),
      read_end_((flags & O_ACCMODE) != O_WRONLY),
      write_end_((flags & O_ACCMODE) != O_RDONLY) {
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
  return pipe_->Write(ctx, buf, len, (flags() & O_NONBLOCK) != 0);
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
  if (read_end_) r |= pipe_->ReadReadiness();
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
  auto r = std::make_shared<PipeFD>(vd, O_RDONLY | status, pipe);
  auto w = std::make_shared<PipeFD>(vd, O_WRONLY | status, pipe);
  return {r, w};
}

}  // namespace sentry::fs::pipe
