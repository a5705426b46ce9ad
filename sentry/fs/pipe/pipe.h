// Pipes: a bounded byte buffer between a read end and a write end, as
// pipe(2) makes them.
//
// Writes of at most PIPE_BUF bytes are atomic; larger ones may interleave
// with other writers. A read returns what is there, or waits for a
// writer; with every writer gone it returns 0 (end of file). A write with
// every reader gone fails with EPIPE (the syscall layer raises SIGPIPE).
//
// Lock order: Pipe::mu_ is a leaf; waits happen with it released. Only
// Pipe::Transfer (splice and tee between two pipes) holds two pipes' mu_,
// taken in address order.

#ifndef SENTRY_FS_PIPE_PIPE_H_
#define SENTRY_FS_PIPE_PIPE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "sentry/base/waiter.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::pipe {

inline constexpr size_t kPipeBuf = 4096;                     // PIPE_BUF
inline constexpr size_t kDefaultCapacity = 65536;            // 16 pages
inline constexpr size_t kMaxUnprivilegedCapacity = 1 << 20;  // pipe-max-size

class Pipe final {
 public:
  Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         bool nonblock);
  // With `packet` (O_DIRECT), each write of up to PIPE_BUF bytes is a
  // packet a read returns whole or cut short, never merged.
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          bool nonblock, bool packet);

  // Readiness of an end (POLLIN/POLLOUT/POLLHUP/POLLERR). A reader reports
  // hang-up only once some writer has come and gone since it opened
  // (`writers_seen`, from WriterOpens at its open), as FIFO readers do.
  uint32_t ReadReadiness(uint64_t writers_seen);
  uint32_t WriteReadiness();

  // FIFO opens: waits (unless `nonblock`) for the other side; a
  // non-blocking writer without a reader fails with ENXIO. The caller
  // makes its PipeFD first, so the count includes itself.
  SysResult<void> WaitForReader(vfs::CallContext& ctx, bool nonblock);
  SysResult<void> WaitForWriter(vfs::CallContext& ctx, bool nonblock);
  // Writers ever opened.
  uint64_t WriterOpens();
  int readers();

  void AddReader();
  void AddWriter();
  void RemoveReader();
  void RemoveWriter();

  size_t Available();
  size_t capacity();
  // F_SETPIPE_SZ: EBUSY if more bytes are buffered than `size` holds.
  SysResult<size_t> SetCapacity(size_t size);

  // For splice(2), tee(2) and vmsplice(2), which move data in pieces they
  // bound themselves. Nothing here is atomic in the PIPE_BUF sense: like
  // Linux's splice, pieces land in whatever room there is.
  //
  // Waits (unless `nonblock`) until the pipe holds data and says true, or
  // says false once it is empty with every writer gone.
  SysResult<bool> WaitReadable(vfs::CallContext& ctx, bool nonblock);
  // Waits (unless `nonblock`) until the pipe has room and returns how much;
  // EPIPE with every reader gone.
  SysResult<size_t> WaitWritable(vfs::CallContext& ctx, bool nonblock);
  // Appends `len` bytes the caller found room for with WaitWritable,
  // without waiting or checking the capacity again: a writer that slipped
  // in between makes the pipe overshoot by at most `len` (Linux orders the
  // two under its pipe lock). EPIPE with every reader gone.
  SysResult<void> Append(const char* buf, size_t len);
  // Moves up to `len` bytes from `from` to `to` (with kNo, copies them and
  // leaves `from` as it was: tee(2)) under both pipes' locks, waiting
  // (unless `nonblock`) for data in `from` and room in `to`. 0 once `from`
  // is empty with no writer; EPIPE when `to` has no reader; EINVAL if they
  // are the same pipe.
  enum class Consume { kNo, kYes };
  static SysResult<size_t> Transfer(vfs::CallContext& ctx, Pipe& from, Pipe& to,
                                    size_t len, bool nonblock, Consume consume);

  WaitQueue& queue() { return queue_; }

 private:
  // Bytes in order; a packet is a chunk of its own.
  struct Chunk {
    std::string data;
    size_t off = 0;  // consumed from the front
    bool packet = false;
  };
  absl::Mutex mu_;
  std::deque<Chunk> chunks_ ABSL_GUARDED_BY(mu_);
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;  // bytes buffered
  size_t capacity_ ABSL_GUARDED_BY(mu_) = kDefaultCapacity;
  int readers_ ABSL_GUARDED_BY(mu_) = 0;
  int writers_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reader_opens_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t writer_opens_ ABSL_GUARDED_BY(mu_) = 0;
  WaitQueue queue_;
};

// One end of a pipe.
class PipeFD final : public vfs::StreamFD {
 public:
  PipeFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pipe> pipe);
  const std::shared_ptr<Pipe>& pipe_ptr() const { return pipe_; }
  ~PipeFD() override;

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return std::shared_ptr<WaitQueue>(pipe_, &pipe_->queue());
  }
  std::string AnonName() const override;

  Pipe& pipe() { return *pipe_; }

 private:
  const std::shared_ptr<Pipe> pipe_;
  const bool read_end_;
  const bool write_end_;
  const uint64_t writers_seen_;
};

// pipe2(2): the read and write ends of a new pipe, with `flags` (O_NONBLOCK,
// O_DIRECT) on both, owned by uid/gid.
std::pair<std::shared_ptr<PipeFD>, std::shared_ptr<PipeFD>> NewPipe(
    int flags, uint32_t uid, uint32_t gid);

// Opens the pipe of a FIFO at `vd` (open(2) of a named pipe), with
// Linux's rules for waiting on the other side.
SysResult<std::shared_ptr<vfs::FileDescription>> OpenFifo(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags,
    const std::shared_ptr<Pipe>& pipe);

}  // namespace sentry::fs::pipe

#endif  // SENTRY_FS_PIPE_PIPE_H_
