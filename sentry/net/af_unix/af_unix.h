// Unix domain sockets (AF_UNIX): stream, datagram and seqpacket endpoints
// that live entirely in the sentry, named by a path on a sandbox
// filesystem, by an abstract name, or not at all.
//
// An Endpoint is one socket. A socket file description (UnixSocketFD)
// holds its endpoint and closes it when the last fd goes. Connected
// endpoints hold each other until either closes; a listener holds the
// server ends of connections not yet accepted; a message holds the file
// descriptions it carries (SCM_RIGHTS) until it is read or dropped.
//
// Lock order: Endpoint::mu_ is a leaf: no code holds two endpoints' locks
// at once (a sender reads its peer under its own lock, drops it, then
// queues under the peer's). The name registries' lock (af_unix.cc) is
// taken with no endpoint lock held. WaitQueue::Notify runs unlocked.

#ifndef SENTRY_NET_AF_UNIX_AF_UNIX_H_
#define SENTRY_NET_AF_UNIX_AF_UNIX_H_

#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"
#include "sentry/net/blocking.h"
#include "sentry/vfs/file.h"

namespace sentry::net::af_unix {

// net.unix.max_dgram_qlen: datagrams a receive queue holds beyond the
// first (Linux's check is "more than this many queued").
inline constexpr size_t kMaxDgramQlen = 10;
// net.core.wmem_default and rmem_default.
inline constexpr int kDefaultBuf = 212992;
// SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF on x86-64.
inline constexpr int kMinSndbuf = 4608;
inline constexpr int kMinRcvbuf = 2304;
// SCM_MAX_FD: file descriptors one message may carry.
inline constexpr size_t kMaxRights = 253;
// SOMAXCONN: listen(2) caps its backlog here.
inline constexpr int kSomaxconn = 4096;

// A process's identity as SO_PEERCRED and SCM_CREDENTIALS report it.
struct Creds {
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// What one send carries besides its bytes.
struct Control {
  std::vector<std::shared_ptr<vfs::FileDescription>> rights;
  Creds creds;  // the sender's, or what it passed with SCM_CREDENTIALS
};

// The name of a socket: the bytes of sun_path that matter. Empty for an
// unnamed socket; a leading NUL for an abstract name; otherwise a path
// (without its terminating NUL).
struct Address {
  std::string name;
  bool abstract() const { return !name.empty() && name[0] == '\0'; }
  bool empty() const { return name.empty(); }
};

// Decodes a guest sockaddr_un of `len` bytes as Linux does: EINVAL for a
// length outside (sizeof(sa_family_t), sizeof(sockaddr_un)] or a family
// other than AF_UNIX. A path ends at its first NUL.
SysResult<Address> ParseAddress(const void* addr, size_t len);
// Encodes `a` as sockaddr_un; returns the length Linux reports for it.
size_t EncodeAddress(const Address& a, struct sockaddr_storage* out);

using vfs::ShouldBlock;

struct RecvResult {
  size_t copied = 0;  // bytes placed in the buffer
  size_t length = 0;  // bytes the message (or the stream read) had
  bool truncated = false;
  Address from;  // the sender's name (datagrams)
  std::optional<Control> control;
};

class Endpoint final : public std::enable_shared_from_this<Endpoint> {
 public:
  // `type` is SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET; `creds` whoever
  // made it (SO_PEERCRED of a socketpair's other end).
  Endpoint(int type, const Creds& creds);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  int type() const { return type_; }
  bool connection_oriented() const { return type_ != SOCK_DGRAM; }

  // socketpair(2).
  static void Pair(const std::shared_ptr<Endpoint>& a,
                   const std::shared_ptr<Endpoint>& b);

  // bind(2) with a name already made: an abstract name is registered here
  // (EADDRINUSE if taken); a path's socket file is made by the caller,
  // which then registers the file's (dev, ino) with BindPath. EINVAL if
  // already bound.
  SysResult<void> BindAbstract(const Address& a);
  SysResult<void> BindPath(const Address& a, uint64_t dev, uint64_t ino);
  // bind(2) with no name: an abstract name of five hex digits.
  SysResult<void> Autobind();
  bool bound();

  SysResult<void> Listen(int backlog, const Creds& creds);
  // connect(2) of a stream or seqpacket socket to `server`, found by name.
  SysResult<void> Connect(vfs::CallContext& ctx,
                          const std::shared_ptr<Endpoint>& server,
                          const Creds& creds, ShouldBlock block,
                          std::optional<absl::Time> deadline);
  // connect(2) of a datagram socket: the default destination (null:
  // AF_UNSPEC, none).
  SysResult<void> ConnectDgram(const std::shared_ptr<Endpoint>& to);
  // accept(2): the server end of the oldest pending connection.
  SysResult<std::shared_ptr<Endpoint>> Accept(
      vfs::CallContext& ctx, ShouldBlock block,
      std::optional<absl::Time> deadline);

  // sendmsg(2). `to` is the destination of an unconnected datagram send
  // (null otherwise). Returns the bytes queued; EPIPE when the connection
  // is shut down for sending (the caller raises SIGPIPE).
  SysResult<size_t> Send(vfs::CallContext& ctx, const char* buf, size_t len,
                         Control control, const std::shared_ptr<Endpoint>& to,
                         ShouldBlock block, std::optional<absl::Time> deadline);
  // recvmsg(2) with MSG_PEEK, MSG_WAITALL and MSG_TRUNC (`flags`).
  SysResult<RecvResult> Recv(vfs::CallContext& ctx, char* buf, size_t len,
                             int flags, ShouldBlock block,
                             std::optional<absl::Time> deadline);

  SysResult<void> Shutdown(int how);
  // The last fd of the socket is gone.
  void Close();

  uint32_t Readiness(uint32_t mask);
  WaitQueue& queue() { return queue_; }

  Address name();
  SysResult<Address> PeerName();
  // SO_PEERCRED: the peer's, or the socket's own creator's when unconnected
  // (what Linux reports before connect is "nobody": pid 0, uid and gid -1).
  Creds peer_creds();
  // SO_ERROR: the pending error, cleared.
  int TakeError();
  bool listening();
  // FIONREAD: the unread bytes (stream) or the next message's (datagram,
  // seqpacket). SIOCOUTQ: bytes sent and not yet read.
  size_t InQueue();
  size_t OutQueue();

  // Socket options kept here; the syscall layer checks their values.
  std::atomic<int> sndbuf{kDefaultBuf};
  std::atomic<int> rcvbuf{kDefaultBuf};
  std::atomic<bool> passcred{false};
  std::atomic<int64_t> rcvtimeo_ns{0};  // 0: none
  std::atomic<int64_t> sndtimeo_ns{0};
  // Options Linux remembers without any effect a unix socket shows
  // (SO_REUSEADDR, SO_KEEPALIVE, ...): getsockopt reads back what was set.
  void SetFlagOption(int name, int value);
  int FlagOption(int name);

 private:
  struct Message {
    std::string data;
    size_t off = 0;  // consumed (streams only)
    std::optional<Control> control;
    Address from;
  };
  enum Shut : int { kShutRcv = 1, kShutSend = 2 };

  // Appends a message from `sender` (whose sndbuf bounds what a stream
  // may queue); returns the bytes queued, 0 if there is no room now.
  SysResult<size_t> Enqueue(const Endpoint& sender, const char* buf, size_t len,
                            std::optional<Control>& control,
                            const Address& from);
  std::shared_ptr<Endpoint> peer();
  // Takes (or with `peek` copies) the next message, or stream bytes up to
  // `len` in all from `buf + res->copied` on; false if nothing is queued.
  bool TakeLocked(char* buf, size_t len, bool peek, RecvResult* res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasRoomLocked(size_t len, int sender_sndbuf)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister();

  const int type_;
  const Creds creator_;
  absl::Mutex mu_;
  WaitQueue queue_;
  Address name_ ABSL_GUARDED_BY(mu_);
  // Where the name is registered, to remove it at close.
  std::optional<std::pair<uint64_t, uint64_t>> path_key_ ABSL_GUARDED_BY(mu_);
  bool connected_ ABSL_GUARDED_BY(mu_) = false;  // ever connected (streams)
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<Endpoint> peer_ ABSL_GUARDED_BY(mu_);
  Creds peer_creds_ ABSL_GUARDED_BY(mu_);
  bool has_peer_creds_ ABSL_GUARDED_BY(mu_) = false;
  int shutdown_ ABSL_GUARDED_BY(mu_) = 0;
  int error_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Message> rx_ ABSL_GUARDED_BY(mu_);
  size_t rx_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Listening sockets.
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
  int backlog_ ABSL_GUARDED_BY(mu_) = 0;
  // Whoever called listen(2): what a connecting client's SO_PEERCRED says.
  Creds listen_creds_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Endpoint>> pending_ ABSL_GUARDED_BY(mu_);
  std::map<int, int> flag_options_ ABSL_GUARDED_BY(mu_);
};

// The endpoint bound to an abstract name, or to the socket file (dev, ino);
// ECONNREFUSED if none.
// Abstract names are per socket type, as Linux keeps them.
SysResult<std::shared_ptr<Endpoint>> FindAbstract(const Address& a, int type);
SysResult<std::shared_ptr<Endpoint>> FindPath(uint64_t dev, uint64_t ino);

// A bound socket as /proc/net/unix lists it.
struct BoundInfo {
  std::string name;  // a path, or an abstract name with its leading NUL
  int type = 0;
  bool listening = false;
  bool connected = false;
};
std::vector<BoundInfo> BoundSockets();

// A socket's open file description.
class UnixSocketFD final : public vfs::StreamFD {
 public:
  UnixSocketFD(vfs::VirtualDentry vd, int flags,
               std::shared_ptr<Endpoint> endpoint);
  ~UnixSocketFD() override;

  // A new socket file on the internal "sockfs", owned by uid/gid.
  static std::shared_ptr<UnixSocketFD> New(std::shared_ptr<Endpoint> endpoint,
                                           int flags, uint32_t uid,
                                           uint32_t gid);

  Endpoint& endpoint() { return *endpoint_; }
  const std::shared_ptr<Endpoint>& endpoint_ptr() { return endpoint_; }

  // read(2) and write(2) are recv and send with no flags.
  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return std::shared_ptr<WaitQueue>(endpoint_, &endpoint_->queue());
  }
  std::string AnonName() const override;
  bool is_socket() const override { return true; }

 private:
  const std::shared_ptr<Endpoint> endpoint_;
};

using net::TimeoutDeadline;

}  // namespace sentry::net::af_unix

#endif  // SENTRY_NET_AF_UNIX_AF_UNIX_H_
