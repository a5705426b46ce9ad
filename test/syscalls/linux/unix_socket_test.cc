// AF_UNIX sockets, as unix(7) and Linux describe them: socket(2) and
// socketpair(2) with their type flags and errors (EINVAL for an unknown type
// or flag, ESOCKTNOSUPPORT for a type AF_UNIX lacks, EPROTONOSUPPORT), fstat
// and /proc/self/fd links; SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET data
// transfer (message boundaries, MSG_TRUNC both ways, stream coalescing,
// zero-length datagrams, EOF after shutdown(2) or close, EPIPE -- with
// SIGPIPE, unless MSG_NOSIGNAL, for SOCK_STREAM only -- and ECONNRESET only
// when unread data is thrown away); bind/listen/connect/accept/accept4 with
// filesystem, abstract (one namespace per socket type) and autobound names,
// the socket file, getsockname/getpeername contents and lengths, the listen
// backlog (backlog + 1 pending connections, then EAGAIN), sockaddr errors,
// permissions; datagram addressing (recvfrom's sender address, connect as
// the default destination, ENOTCONN, EPERM from a receiver connected
// elsewhere, EAGAIN on a full queue, EMSGSIZE); SCM_RIGHTS (several fds,
// MSG_CTRUNC without leaks, MSG_CMSG_CLOEXEC, fds in flight released with
// the receiver, the 253-fd limit) and SCM_CREDENTIALS with SO_PASSCRED;
// SO_PEERCRED; SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN, SO_ERROR,
// SO_SNDBUF/SO_RCVBUF, SO_RCVTIMEO/SO_SNDTIMEO and option errors; FIONREAD;
// MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL; poll and epoll readiness;
// scatter/gather, sendmmsg/recvmmsg; read/write on sockets; and signals
// interrupting blocked calls (EINTR, SA_RESTART).

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/socket_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::Drain;
using testing_util::ExitedWith;
using testing_util::Fd;
using testing_util::ForkChild;
using testing_util::Interrupter;
using testing_util::KilledBySignal;
using testing_util::kMs;
using testing_util::ListDir;
using testing_util::NowNs;
using testing_util::PendingMask;
using testing_util::Readlink;
using testing_util::RunInChild;
using testing_util::RunLater;
using testing_util::ScopedAction;
using testing_util::ScopedMask;
using testing_util::SigBit;
using testing_util::SleepMs;
using testing_util::TempPath;
using testing_util::WaitFor;
using testing_util::WaitStatus;
using testing_util::Watchdog;

// ----------------------------------------------------------------- helpers

constexpr int kTypes[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};

std::string TypeName(int type) {
  switch (type) {
    case SOCK_STREAM:
      return "Stream";
    case SOCK_DGRAM:
      return "Dgram";
    case SOCK_SEQPACKET:
      return "Seqpacket";
  }
  return "Type" + std::to_string(type);
}

std::string TypeParamName(const ::testing::TestParamInfo<int>& info) {
  return TypeName(info.param);
}

// A new AF_UNIX socket of `type` (O_CLOEXEC); -1 inside on failure.
Fd NewSocket(int type) {
  Fd s(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  EXPECT_GE(s.get(), 0) << "socket: " << strerror(errno);
  return s;
}

struct SocketPair {
  Fd a;
  Fd b;
};

// A connected pair of AF_UNIX sockets of `type` (O_CLOEXEC added).
SocketPair NewPair(int type) {
  int sv[2] = {-1, -1};
  EXPECT_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0)
      << "socketpair: " << strerror(errno);
  return {Fd(sv[0]), Fd(sv[1])};
}

constexpr socklen_t kPathOffset = offsetof(struct sockaddr_un, sun_path);
static_assert(kPathOffset == sizeof(sa_family_t), "Linux's layout");

// A sockaddr_un and the length that goes with it.
struct Addr {
  struct sockaddr_un sun = {};
  socklen_t len = 0;

  const struct sockaddr* sa() const {
    return reinterpret_cast<const struct sockaddr*>(&sun);
  }
  // The first `len` bytes: the family and the name.
  std::string Bytes() const {
    return std::string(reinterpret_cast<const char*>(&sun), len);
  }
};

// A filesystem name; the length counts the terminating NUL.
Addr PathAddr(const std::string& path) {
  Addr a;
  a.sun.sun_family = AF_UNIX;
  EXPECT_LT(path.size(), sizeof(a.sun.sun_path)) << path;
  memcpy(a.sun.sun_path, path.data(),
         std::min(path.size(), sizeof(a.sun.sun_path) - 1));
  a.len = static_cast<socklen_t>(kPathOffset + path.size() + 1);
  return a;
}

// An abstract name: a NUL and then `name`, with no terminator.
Addr AbstractAddr(const std::string& name) {
  Addr a;
  a.sun.sun_family = AF_UNIX;
  memcpy(a.sun.sun_path + 1, name.data(), name.size());
  a.len = static_cast<socklen_t>(kPathOffset + 1 + name.size());
  return a;
}

// A name no other test (or concurrent run) uses.
std::string UniqueName() {
  static int counter = 0;
  return "unix_socket_test." + std::to_string(getpid()) + "." +
         std::to_string(counter++);
}

Addr UniqueAbstractAddr() { return AbstractAddr(UniqueName()); }

// getsockname(2) or getpeername(2) into a full-size buffer.
Addr SockName(int fd) {
  Addr a;
  a.len = sizeof(a.sun);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&a.sun), &a.len) !=
      0) {
    ADD_FAILURE() << "getsockname: " << strerror(errno);
    a.len = 0;
  }
  return a;
}

Addr PeerName(int fd) {
  Addr a;
  a.len = sizeof(a.sun);
  if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&a.sun), &a.len) !=
      0) {
    ADD_FAILURE() << "getpeername: " << strerror(errno);
    a.len = 0;
  }
  return a;
}

// The name of an unnamed socket: just the family.
std::string UnnamedBytes() {
  sa_family_t family = AF_UNIX;
  return std::string(reinterpret_cast<const char*>(&family), sizeof(family));
}

// A socket of `type` bound to `addr` and listening.
Fd Listener(const Addr& addr, int type = SOCK_STREAM, int backlog = 16) {
  Fd s = NewSocket(type);
  EXPECT_EQ(bind(s.get(), addr.sa(), addr.len), 0)
      << "bind: " << strerror(errno);
  EXPECT_EQ(listen(s.get(), backlog), 0) << "listen: " << strerror(errno);
  return s;
}

// A socket of `type` connected to `addr`.
Fd Connected(const Addr& addr, int type = SOCK_STREAM) {
  Fd s = NewSocket(type);
  EXPECT_EQ(connect(s.get(), addr.sa(), addr.len), 0)
      << "connect: " << strerror(errno);
  return s;
}

Fd Accept(int listener) {
  Fd s(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_GE(s.get(), 0) << "accept4: " << strerror(errno);
  return s;
}

ssize_t SendStr(int fd, const std::string& s, int flags = 0) {
  return send(fd, s.data(), s.size(), flags);
}

// What one recv(2) of at most `max` bytes returns, or "<error ...>".
std::string RecvStr(int fd, size_t max, int flags = 0) {
  std::string buf(max, '\0');
  ssize_t n = recv(fd, buf.data(), max, flags);
  if (n < 0) return "<error " + std::string(strerror(errno)) + ">";
  buf.resize(std::min(static_cast<size_t>(n), max));
  return buf;
}

void SetNonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  ASSERT_OK(fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

int GetIntOpt(int fd, int name, int level = SOL_SOCKET) {
  int v = -12345;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, level, name, &v, &len) != 0) {
    ADD_FAILURE() << "getsockopt " << name << ": " << strerror(errno);
    return -12345;
  }
  EXPECT_EQ(len, sizeof(v));
  return v;
}

void SetIntOpt(int fd, int name, int v) {
  ASSERT_OK(setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)));
}

// The events poll(2) reports for `fd` at once (-1 if poll fails).
int Revents(int fd, short events = POLLIN | POLLOUT | POLLRDHUP) {
  struct pollfd p = {fd, events, 0};
  if (poll(&p, 1, 0) < 0) return -1;
  return p.revents;
}

// Sends single bytes with MSG_DONTWAIT until EAGAIN; returns how many went.
int FillWithDatagrams(int fd, const Addr* to = nullptr) {
  for (int n = 0; n < 100000; n++) {
    ssize_t rc = to == nullptr
                     ? send(fd, "d", 1, MSG_DONTWAIT)
                     : sendto(fd, "d", 1, MSG_DONTWAIT, to->sa(), to->len);
    if (rc < 0) {
      EXPECT_EQ(errno, EAGAIN) << strerror(errno);
      return n;
    }
  }
  ADD_FAILURE() << "the receive queue never filled up";
  return -1;
}

// Writes 4 KiB chunks with MSG_DONTWAIT until EAGAIN; returns the total.
size_t FillStream(int fd) {
  std::string chunk(4096, 'f');
  size_t total = 0;
  for (;;) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN) << strerror(errno);
      return total;
    }
    total += static_cast<size_t>(n);
    if (total > (64u << 20)) {
      ADD_FAILURE() << "the socket never filled up";
      return total;
    }
  }
}

// The number of open descriptors, from /proc/self/fd.
size_t OpenFdCount() { return ListDir("/proc/self/fd").size(); }

// Whether SIGPIPE became pending while `fn` ran (with SIGPIPE blocked).
bool RaisesSigpipe(const std::function<void()>& fn) {
  ScopedMask mask(SIG_BLOCK, {SIGPIPE});
  Drain({SIGPIPE});
  fn();
  bool pending = (PendingMask() & SigBit(SIGPIPE)) != 0;
  Drain({SIGPIPE});
  return pending;
}

// Sends `data` together with `fds` in one SCM_RIGHTS message.
ssize_t SendFds(int sock, const std::vector<int>& fds,
                const std::string& data = "x") {
  std::vector<char> control(CMSG_SPACE(fds.size() * sizeof(int)));
  struct iovec iov = {const_cast<char*>(data.data()), data.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

// What one recvmsg(2) returned.
struct Received {
  ssize_t n = -1;
  int err = 0;
  std::string data;
  int flags = 0;          // msg_flags
  size_t controllen = 0;  // msg_controllen on return
  std::vector<int> fds;   // from SCM_RIGHTS messages
  int rights_messages = 0;
  bool has_creds = false;  // an SCM_CREDENTIALS message came
  struct ucred creds = {};
};

// recvmsg(2) with a `data_max`-byte buffer and a `control_size`-byte
// control buffer.
Received RecvMsg(int sock, size_t data_max, size_t control_size,
                 int flags = 0) {
  Received r;
  std::string buf(data_max, '\0');
  // Room for 8-byte alignment; only `control_size` bytes are offered.
  std::vector<uint64_t> control(control_size / 8 + 1);
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control_size == 0 ? nullptr : control.data();
  msg.msg_controllen = control_size;
  r.n = recvmsg(sock, &msg, flags);
  if (r.n < 0) {
    r.err = errno;
    return r;
  }
  buf.resize(std::min(static_cast<size_t>(r.n), data_max));
  r.data = buf;
  r.flags = msg.msg_flags;
  r.controllen = msg.msg_controllen;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      r.rights_messages++;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        r.fds.push_back(fd);
      }
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      r.has_creds = true;
      memcpy(&r.creds, CMSG_DATA(c), sizeof(r.creds));
    }
  }
  return r;
}

// In a forked child: takes uid and gid 65534 (nobody), no groups.
void BecomeNobody() {
  CHILD_CHECK(setgroups(0, nullptr) == 0);
  CHILD_CHECK(setresgid(65534, 65534, 65534) == 0);
  CHILD_CHECK(setresuid(65534, 65534, 65534) == 0);
}

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) close(fd);
}

// ------------------------------------------------------------- socket(2)

TEST(UnixSocketTest, CreatesEachTypeWithoutFlags) {
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    Fd s(socket(AF_UNIX, type, 0));
    ASSERT_GE(s.get(), 0) << strerror(errno);
    EXPECT_EQ(fcntl(s.get(), F_GETFD), 0);
    EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR);
    EXPECT_EQ(GetIntOpt(s.get(), SO_TYPE), type);
  }
}

TEST(UnixSocketTest, NonblockAndCloexecFlags) {
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    Fd s(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_GE(s.get(), 0) << strerror(errno);
    EXPECT_EQ(fcntl(s.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR | O_NONBLOCK);
    // The flags are not part of the type.
    EXPECT_EQ(GetIntOpt(s.get(), SO_TYPE), type);
    Fd n(socket(AF_UNIX, type | SOCK_NONBLOCK, 0));
    ASSERT_GE(n.get(), 0) << strerror(errno);
    EXPECT_EQ(fcntl(n.get(), F_GETFD), 0);
    EXPECT_EQ(fcntl(n.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  }
}

TEST(UnixSocketTest, BadTypeFlagOrProtocol) {
  // Type numbers past SOCK_PACKET, and unknown flag bits, are EINVAL.
  EXPECT_ERRNO(socket(AF_UNIX, 11, 0), EINVAL);
  EXPECT_ERRNO(socket(AF_UNIX, 15, 0), EINVAL);
  EXPECT_ERRNO(socket(AF_UNIX, 42, 0), EINVAL);
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM | 0x100, 0), EINVAL);
  EXPECT_ERRNO(socket(AF_UNIX, -1, 0), EINVAL);
  // Valid socket types that AF_UNIX does not have are ESOCKTNOSUPPORT.
  EXPECT_ERRNO(socket(AF_UNIX, 0, 0), ESOCKTNOSUPPORT);
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_DCCP, 0), ESOCKTNOSUPPORT);
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_PACKET, 0), ESOCKTNOSUPPORT);
  // Any protocol but 0 and PF_UNIX is EPROTONOSUPPORT.
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT);
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_DGRAM, IPPROTO_UDP), EPROTONOSUPPORT);
  EXPECT_ERRNO(socket(AF_UNIX, SOCK_SEQPACKET, -1), EPROTONOSUPPORT);
  EXPECT_ERRNO(socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
  EXPECT_ERRNO(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
}

TEST(UnixSocketTest, ProtocolPfUnixIsAccepted) {
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, PF_UNIX));
  ASSERT_GE(s.get(), 0) << strerror(errno);
  EXPECT_EQ(GetIntOpt(s.get(), SO_TYPE), SOCK_STREAM);
}

TEST(UnixSocketTest, SockRawIsADatagramSocket) {
  // "Believe it or not BSD has AF_UNIX, SOCK_RAW" (net/unix/af_unix.c).
  Fd s(socket(AF_UNIX, SOCK_RAW | SOCK_CLOEXEC, 0));
  ASSERT_GE(s.get(), 0) << strerror(errno);
  EXPECT_EQ(GetIntOpt(s.get(), SO_TYPE), SOCK_DGRAM);
}

TEST(UnixSocketTest, FstatAndProcFdLink) {
  Fd s = NewSocket(SOCK_STREAM);
  Fd t = NewSocket(SOCK_DGRAM);
  struct stat st = {}, st2 = {};
  ASSERT_OK(fstat(s.get(), &st));
  ASSERT_OK(fstat(t.get(), &st2));
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFSOCK | 0777));
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_gid, getegid());
  EXPECT_EQ(st.st_size, 0);
  EXPECT_NE(st.st_ino, st2.st_ino);
  EXPECT_EQ(st.st_dev, st2.st_dev);
  EXPECT_EQ(Readlink("/proc/self/fd/" + std::to_string(s.get())),
            "socket:[" + std::to_string(st.st_ino) + "]");
}

// ---------------------------------------------------------- socketpair(2)

TEST(UnixSocketpairTest, FlagsApplyToBothEnds) {
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    int sv[2] = {-1, -1};
    ASSERT_OK(socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    Fd a(sv[0]), b(sv[1]);
    for (int fd : sv) {
      EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
      EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
      EXPECT_EQ(GetIntOpt(fd, SO_TYPE), type);
    }
    // Each end is its own open file description.
    ASSERT_OK(fcntl(a.get(), F_SETFL, O_RDWR));
    EXPECT_EQ(fcntl(b.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  }
}

TEST(UnixSocketpairTest, Errors) {
  int sv[2];
  EXPECT_ERRNO(socketpair(AF_UNIX, 42, 0, sv), EINVAL);
  EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_RDM, 0, sv), ESOCKTNOSUPPORT);
  EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, 2, sv), EPROTONOSUPPORT);
  size_t before = OpenFdCount();
  EXPECT_ERRNO(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0,
                       reinterpret_cast<int*>(8)),
               EFAULT);
  // The sockets made before the copy-out failed are not left open.
  EXPECT_EQ(OpenFdCount(), before);
}

class UnixAllTypesTest : public ::testing::TestWithParam<int> {
 protected:
  int type() const { return GetParam(); }
};

TEST_P(UnixAllTypesTest, DataFlowsBothWays) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(SendStr(p.a.get(), "ping"), 4);
  EXPECT_EQ(RecvStr(p.b.get(), 100), "ping");
  ASSERT_EQ(SendStr(p.b.get(), "pong!"), 5);
  EXPECT_EQ(RecvStr(p.a.get(), 100), "pong!");
  // Nothing is left over on either side.
  EXPECT_EQ(RecvStr(p.a.get(), 100, MSG_DONTWAIT),
            "<error " + std::string(strerror(EAGAIN)) + ">");
  EXPECT_EQ(RecvStr(p.b.get(), 100, MSG_DONTWAIT),
            "<error " + std::string(strerror(EAGAIN)) + ">");
}

TEST_P(UnixAllTypesTest, ReadAndWriteWorkLikeSendAndRecv) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(write(p.a.get(), "hello", 5), 5);
  char buf[16] = {};
  EXPECT_EQ(read(p.b.get(), buf, sizeof(buf)), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  char part1[] = "ab", part2[] = "cde";
  struct iovec out[2] = {{part1, 2}, {part2, 3}};
  ASSERT_EQ(writev(p.b.get(), out, 2), 5);
  char in1[3] = {}, in2[8] = {};
  struct iovec in[2] = {{in1, 3}, {in2, 8}};
  EXPECT_EQ(readv(p.a.get(), in, 2), 5);
  EXPECT_EQ(std::string(in1, 3), "abc");
  EXPECT_EQ(std::string(in2, 2), "de");
  // Sockets have no file position.
  EXPECT_ERRNO(lseek(p.a.get(), 0, SEEK_CUR), ESPIPE);
  EXPECT_ERRNO(pwrite(p.a.get(), "x", 1, 0), ESPIPE);
  EXPECT_ERRNO(pread(p.b.get(), buf, 1, 0), ESPIPE);
}

TEST_P(UnixAllTypesTest, SendmsgGathersAndRecvmsgScatters) {
  SocketPair p = NewPair(type());
  char a[] = "ab", b[] = "", c[] = "cdefg";
  struct iovec out[3] = {{a, 2}, {b, 0}, {c, 5}};
  struct msghdr msg = {};
  msg.msg_iov = out;
  msg.msg_iovlen = 3;
  ASSERT_EQ(sendmsg(p.a.get(), &msg, 0), 7);
  char x[3] = {}, y[2] = {}, z[10] = {};
  struct iovec in[3] = {{x, 3}, {y, 2}, {z, 10}};
  struct msghdr rmsg = {};
  rmsg.msg_iov = in;
  rmsg.msg_iovlen = 3;
  EXPECT_EQ(recvmsg(p.b.get(), &rmsg, 0), 7);
  EXPECT_EQ(std::string(x, 3), "abc");
  EXPECT_EQ(std::string(y, 2), "de");
  EXPECT_EQ(std::string(z, 2), "fg");
  EXPECT_EQ(rmsg.msg_flags, 0);
}

TEST_P(UnixAllTypesTest, SocketpairEndsAreUnnamedAndEachOthersPeer) {
  SocketPair p = NewPair(type());
  EXPECT_EQ(SockName(p.a.get()).Bytes(), UnnamedBytes());
  EXPECT_EQ(PeerName(p.a.get()).Bytes(), UnnamedBytes());
  EXPECT_EQ(PeerName(p.b.get()).Bytes(), UnnamedBytes());
}

TEST_P(UnixAllTypesTest, NameOfAnUnboundSocket) {
  Fd s = NewSocket(type());
  Addr a = SockName(s.get());
  EXPECT_EQ(a.len, sizeof(sa_family_t));
  EXPECT_EQ(a.sun.sun_family, AF_UNIX);
  struct sockaddr_un peer = {};
  socklen_t len = sizeof(peer);
  EXPECT_ERRNO(
      getpeername(s.get(), reinterpret_cast<struct sockaddr*>(&peer), &len),
      ENOTCONN);
}

TEST_P(UnixAllTypesTest, SockoptsNameTheSocket) {
  Fd s = NewSocket(type());
  EXPECT_EQ(GetIntOpt(s.get(), SO_TYPE), type());
  EXPECT_EQ(GetIntOpt(s.get(), SO_DOMAIN), AF_UNIX);
  EXPECT_EQ(GetIntOpt(s.get(), SO_PROTOCOL), 0);
  EXPECT_EQ(GetIntOpt(s.get(), SO_ACCEPTCONN), 0);
  EXPECT_EQ(GetIntOpt(s.get(), SO_ERROR), 0);
  SocketPair p = NewPair(type());
  EXPECT_EQ(GetIntOpt(p.a.get(), SO_TYPE), type());
  EXPECT_EQ(GetIntOpt(p.b.get(), SO_DOMAIN), AF_UNIX);
}

TEST_P(UnixAllTypesTest, PeerCredOfASocketpairIsItsCreator) {
  SocketPair p = NewPair(type());
  for (int fd : {p.a.get(), p.b.get()}) {
    struct ucred cred = {};
    socklen_t len = sizeof(cred);
    ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len));
    EXPECT_EQ(len, sizeof(cred));
    EXPECT_EQ(cred.pid, getpid());
    EXPECT_EQ(cred.uid, geteuid());
    EXPECT_EQ(cred.gid, getegid());
  }
  // Still the creator's after the socket passes to another process.
  pid_t parent = getpid();
  int fd = p.a.get();
  EXPECT_TRUE(ExitedWith(RunInChild([fd, parent] {
                           struct ucred cred = {};
                           socklen_t len = sizeof(cred);
                           CHILD_CHECK(getsockopt(fd, SOL_SOCKET, SO_PEERCRED,
                                                  &cred, &len) == 0);
                           CHILD_CHECK(cred.pid == parent);
                           return 0;
                         }),
                         0));
}

TEST_P(UnixAllTypesTest, MsgDontwaitOnAnEmptyBlockingSocketIsEAGAIN) {
  SocketPair p = NewPair(type());
  char c;
  EXPECT_ERRNO(recv(p.a.get(), &c, 1, MSG_DONTWAIT), EAGAIN);
  // The socket itself stays blocking.
  EXPECT_EQ(fcntl(p.a.get(), F_GETFL) & O_NONBLOCK, 0);
  SetNonblocking(p.b.get());
  EXPECT_ERRNO(read(p.b.get(), &c, 1), EAGAIN);
}

TEST_P(UnixAllTypesTest, ShutdownWithABadHowIsEINVAL) {
  SocketPair p = NewPair(type());
  EXPECT_ERRNO(shutdown(p.a.get(), 3), EINVAL);
  EXPECT_ERRNO(shutdown(p.a.get(), -1), EINVAL);
}

TEST_P(UnixAllTypesTest, ABlockingRecvIsWokenByASendFromAnotherThread) {
  Watchdog watchdog;
  SocketPair p = NewPair(type());
  int fd = p.b.get();
  std::thread writer = RunLater(30, [fd] { SendStr(fd, "wake"); });
  EXPECT_EQ(RecvStr(p.a.get(), 100), "wake");
  writer.join();
}

INSTANTIATE_TEST_SUITE_P(Types, UnixAllTypesTest, ::testing::ValuesIn(kTypes),
                         TypeParamName);

// -------------------------------------------- SOCK_DGRAM and SOCK_SEQPACKET

class UnixMessageTest : public ::testing::TestWithParam<int> {
 protected:
  int type() const { return GetParam(); }
};

TEST_P(UnixMessageTest, BoundariesArePreserved) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(SendStr(p.a.get(), "abc"), 3);
  ASSERT_EQ(SendStr(p.a.get(), "defgh"), 5);
  EXPECT_EQ(RecvStr(p.b.get(), 100), "abc");
  EXPECT_EQ(RecvStr(p.b.get(), 100), "defgh");
}

TEST_P(UnixMessageTest, AShortBufferTruncatesTheMessage) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(SendStr(p.a.get(), "hello world"), 11);
  ASSERT_EQ(SendStr(p.a.get(), "next"), 4);
  Received r = RecvMsg(p.b.get(), 5, 0);
  EXPECT_EQ(r.n, 5);
  EXPECT_EQ(r.data, "hello");
  EXPECT_EQ(r.flags & MSG_TRUNC, MSG_TRUNC);
  // The rest of the message is gone.
  r = RecvMsg(p.b.get(), 100, 0);
  EXPECT_EQ(r.data, "next");
  EXPECT_EQ(r.flags & MSG_TRUNC, 0);
}

TEST_P(UnixMessageTest, MsgTruncReturnsTheRealLength) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(SendStr(p.a.get(), "hello world"), 11);
  char buf[2] = {};
  EXPECT_EQ(recv(p.b.get(), buf, sizeof(buf), MSG_TRUNC), 11);
  EXPECT_EQ(std::string(buf, 2), "he");
  // With MSG_PEEK too, and the message stays.
  ASSERT_EQ(SendStr(p.a.get(), "0123456789"), 10);
  EXPECT_EQ(recv(p.b.get(), buf, sizeof(buf), MSG_TRUNC | MSG_PEEK), 10);
  EXPECT_EQ(RecvStr(p.b.get(), 100), "0123456789");
}

TEST_P(UnixMessageTest, PeekReturnsTheSameMessageAgain) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(SendStr(p.a.get(), "first"), 5);
  ASSERT_EQ(SendStr(p.a.get(), "second"), 6);
  EXPECT_EQ(RecvStr(p.b.get(), 100, MSG_PEEK), "first");
  EXPECT_EQ(RecvStr(p.b.get(), 3, MSG_PEEK), "fir");
  EXPECT_EQ(RecvStr(p.b.get(), 100), "first");
  EXPECT_EQ(RecvStr(p.b.get(), 100), "second");
}

TEST_P(UnixMessageTest, MsgWaitallDoesNotJoinMessages) {
  SocketPair p = NewPair(type());
  ASSERT_EQ(SendStr(p.a.get(), "abc"), 3);
  ASSERT_EQ(SendStr(p.a.get(), "def"), 3);
  EXPECT_EQ(RecvStr(p.b.get(), 6, MSG_WAITALL), "abc");
}

TEST_P(UnixMessageTest, RecvmmsgAndSendmmsg) {
  SocketPair p = NewPair(type());
  std::string texts[3] = {"one", "three", "xx"};
  struct iovec out[3];
  struct mmsghdr smsgs[3] = {};
  for (int i = 0; i < 3; i++) {
    out[i] = {texts[i].data(), texts[i].size()};
    smsgs[i].msg_hdr.msg_iov = &out[i];
    smsgs[i].msg_hdr.msg_iovlen = 1;
  }
  ASSERT_EQ(sendmmsg(p.a.get(), smsgs, 3, 0), 3);
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(smsgs[i].msg_len, texts[i].size());
  }
  char bufs[4][16] = {};
  struct iovec in[4];
  struct mmsghdr rmsgs[4] = {};
  for (int i = 0; i < 4; i++) {
    in[i] = {bufs[i], sizeof(bufs[i])};
    rmsgs[i].msg_hdr.msg_iov = &in[i];
    rmsgs[i].msg_hdr.msg_iovlen = 1;
  }
  // Three messages wait; the fourth slot stays unused.
  ASSERT_EQ(recvmmsg(p.b.get(), rmsgs, 4, MSG_DONTWAIT, nullptr), 3);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(rmsgs[i].msg_len, texts[i].size());
    EXPECT_EQ(std::string(bufs[i], rmsgs[i].msg_len), texts[i]);
  }
  EXPECT_ERRNO(recvmmsg(p.b.get(), rmsgs, 4, MSG_DONTWAIT, nullptr), EAGAIN);
}

INSTANTIATE_TEST_SUITE_P(Types, UnixMessageTest,
                         ::testing::Values(SOCK_DGRAM, SOCK_SEQPACKET),
                         TypeParamName);

// ------------------------------------------------------------- SOCK_STREAM

TEST(UnixStreamTest, WritesCoalesce) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.a.get(), "ab"), 2);
  ASSERT_EQ(SendStr(p.a.get(), "cde"), 3);
  ASSERT_EQ(SendStr(p.a.get(), "fgh"), 3);
  // A short read leaves the rest; a long one takes every write.
  Received r = RecvMsg(p.b.get(), 1, 0);
  EXPECT_EQ(r.data, "a");
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(RecvStr(p.b.get(), 100), "bcdefgh");
}

TEST(UnixStreamTest, ZeroLengthSendsSendNothing) {
  SocketPair p = NewPair(SOCK_STREAM);
  EXPECT_EQ(send(p.a.get(), "", 0, 0), 0);
  EXPECT_EQ(write(p.a.get(), "", 0), 0);
  char c;
  EXPECT_ERRNO(recv(p.b.get(), &c, 1, MSG_DONTWAIT), EAGAIN);
  // Unlike a pipe's, a zero-length recv waits for data like any other.
  EXPECT_ERRNO(recv(p.b.get(), &c, 0, MSG_DONTWAIT), EAGAIN);
  ASSERT_EQ(SendStr(p.a.get(), "x"), 1);
  EXPECT_EQ(recv(p.b.get(), &c, 0, 0), 0);
  EXPECT_EQ(RecvStr(p.b.get(), 10), "x");
}

TEST(UnixStreamTest, PeekDoesNotConsume) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.a.get(), "abc"), 3);
  ASSERT_EQ(SendStr(p.a.get(), "def"), 3);
  EXPECT_EQ(RecvStr(p.b.get(), 100, MSG_PEEK), "abcdef");
  EXPECT_EQ(RecvStr(p.b.get(), 2, MSG_PEEK), "ab");
  EXPECT_EQ(RecvStr(p.b.get(), 4), "abcd");
  EXPECT_EQ(RecvStr(p.b.get(), 100, MSG_PEEK), "ef");
  EXPECT_EQ(RecvStr(p.b.get(), 100), "ef");
}

TEST(UnixStreamTest, MsgWaitallWaitsForEveryByte) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  int fd = p.a.get();
  std::thread writer([fd] {
    SendStr(fd, "abc");
    SleepMs(30);
    SendStr(fd, "de");
    SleepMs(30);
    SendStr(fd, "fgh");
  });
  EXPECT_EQ(RecvStr(p.b.get(), 6, MSG_WAITALL), "abcdef");
  writer.join();
  EXPECT_EQ(RecvStr(p.b.get(), 100), "gh");
}

TEST(UnixStreamTest, MsgWaitallStopsAtEof) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.a.get(), "abc"), 3);
  ASSERT_OK(shutdown(p.a.get(), SHUT_WR));
  EXPECT_EQ(RecvStr(p.b.get(), 10, MSG_WAITALL), "abc");
}

TEST(UnixStreamTest, ShutdownWrGivesThePeerEof) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.a.get(), "last"), 4);
  ASSERT_OK(shutdown(p.a.get(), SHUT_WR));
  // Data sent before the shutdown is read first, then EOF, every time.
  EXPECT_EQ(RecvStr(p.b.get(), 100), "last");
  EXPECT_EQ(RecvStr(p.b.get(), 100), "");
  EXPECT_EQ(RecvStr(p.b.get(), 100), "");
  // The other direction still works.
  ASSERT_EQ(SendStr(p.b.get(), "reply"), 5);
  EXPECT_EQ(RecvStr(p.a.get(), 100), "reply");
}

TEST(UnixStreamTest, SendAfterShutdownWrIsEPIPEWithSigpipe) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_OK(shutdown(p.a.get(), SHUT_WR));
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.a.get(), "x"), EPIPE); }));
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(write(p.a.get(), "x", 1), EPIPE); }));
  EXPECT_FALSE(RaisesSigpipe(
      [&] { EXPECT_ERRNO(SendStr(p.a.get(), "x", MSG_NOSIGNAL), EPIPE); }));
}

TEST(UnixStreamTest, SigpipeKillsASenderWithTheDefaultAction) {
  SocketPair p = NewPair(SOCK_STREAM);
  p.b.Reset();
  int fd = p.a.get();
  int status = RunInChild([fd] {
    testing_util::DisableCoreDumps();
    testing_util::DefaultAndUnblock(SIGPIPE);
    send(fd, "x", 1, 0);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGPIPE));
}

TEST(UnixStreamTest, ShutdownRdMakesThePeersSendsEPIPE) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.b.get(), "queued"), 6);
  ASSERT_OK(shutdown(p.a.get(), SHUT_RD));
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.b.get(), "x"), EPIPE); }));
  // What was queued before is still there, then EOF.
  EXPECT_EQ(RecvStr(p.a.get(), 100), "queued");
  EXPECT_EQ(RecvStr(p.a.get(), 100), "");
  // The shut-down side can still send.
  ASSERT_EQ(SendStr(p.a.get(), "out"), 3);
  EXPECT_EQ(RecvStr(p.b.get(), 100), "out");
}

TEST(UnixStreamTest, CloseOfThePeerIsEofAndEPIPENotECONNRESET) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.b.get(), "bye"), 3);
  p.b.Reset();
  EXPECT_EQ(RecvStr(p.a.get(), 100), "bye");
  // The closed peer had nothing unread: plain EOF, no ECONNRESET.
  EXPECT_EQ(RecvStr(p.a.get(), 100), "");
  EXPECT_EQ(RecvStr(p.a.get(), 100), "");
  EXPECT_EQ(GetIntOpt(p.a.get(), SO_ERROR), 0);
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.a.get(), "x"), EPIPE); }));
}

TEST(UnixStreamTest, ClosingWithUnreadDataResetsThePeer) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.b.get(), "bye"), 3);
  ASSERT_EQ(SendStr(p.a.get(), "never read"), 10);
  p.b.Reset();
  // Data already queued for `a` comes first, then ECONNRESET once, then
  // EOF.
  EXPECT_EQ(RecvStr(p.a.get(), 100), "bye");
  EXPECT_EQ(RecvStr(p.a.get(), 100),
            "<error " + std::string(strerror(ECONNRESET)) + ">");
  EXPECT_EQ(RecvStr(p.a.get(), 100), "");
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.a.get(), "x"), EPIPE); }));
}

TEST(UnixStreamTest, SoErrorReportsAndClearsTheReset) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendStr(p.a.get(), "never read"), 10);
  p.b.Reset();
  EXPECT_EQ(GetIntOpt(p.a.get(), SO_ERROR), ECONNRESET);
  EXPECT_EQ(GetIntOpt(p.a.get(), SO_ERROR), 0);
  // Reading SO_ERROR consumed it: recv sees plain EOF.
  EXPECT_EQ(RecvStr(p.a.get(), 100), "");
}

TEST(UnixStreamTest, ALargeWriteBlocksUntilTheReaderCatchesUp) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  constexpr size_t kSize = 1 << 20;
  std::string out(kSize, '\0');
  for (size_t i = 0; i < kSize; i++)
    out[i] = static_cast<char>(i * 7 + i / 251);
  int fd = p.a.get();
  ssize_t written = -1;
  std::thread writer([&] { written = write(fd, out.data(), out.size()); });
  std::string in;
  std::vector<char> buf(65536 + 13);
  while (in.size() < kSize) {
    ssize_t n = read(p.b.get(), buf.data(), buf.size());
    ASSERT_GT(n, 0) << strerror(errno);
    in.append(buf.data(), static_cast<size_t>(n));
  }
  writer.join();
  EXPECT_EQ(written, static_cast<ssize_t>(kSize));
  EXPECT_TRUE(in == out) << "the data came back different";
}

TEST(UnixStreamTest, ANonblockingSendIsPartialThenEAGAIN) {
  SocketPair p = NewPair(SOCK_STREAM);
  SetNonblocking(p.a.get());
  std::string big(4 << 20, 'b');
  ssize_t n = write(p.a.get(), big.data(), big.size());
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_LT(n, static_cast<ssize_t>(big.size()));
  EXPECT_ERRNO(write(p.a.get(), big.data(), big.size()), EAGAIN);
  int avail = -1;
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, n);
}

TEST(UnixStreamTest, UnconnectedSocketErrors) {
  Fd s = NewSocket(SOCK_STREAM);
  char c = 'x';
  // Linux answers recv on an unconnected stream socket with EINVAL.
  EXPECT_ERRNO(recv(s.get(), &c, 1, 0), EINVAL);
  EXPECT_ERRNO(read(s.get(), &c, 1), EINVAL);
  EXPECT_ERRNO(send(s.get(), &c, 1, MSG_NOSIGNAL), ENOTCONN);
  EXPECT_ERRNO(write(s.get(), &c, 1), ENOTCONN);
  Addr to = UniqueAbstractAddr();
  EXPECT_ERRNO(sendto(s.get(), &c, 1, MSG_NOSIGNAL, to.sa(), to.len),
               EOPNOTSUPP);
}

TEST(UnixStreamTest, SendtoWithAnAddressOnAConnectedSocketIsEISCONN) {
  SocketPair p = NewPair(SOCK_STREAM);
  Addr to = UniqueAbstractAddr();
  EXPECT_ERRNO(sendto(p.a.get(), "x", 1, MSG_NOSIGNAL, to.sa(), to.len),
               EISCONN);
}

// ---------------------------------------------------------- SOCK_SEQPACKET

TEST(UnixSeqpacketTest, CloseOfThePeerIsEofAndEPIPE) {
  SocketPair p = NewPair(SOCK_SEQPACKET);
  ASSERT_EQ(SendStr(p.b.get(), "bye"), 3);
  p.b.Reset();
  EXPECT_EQ(RecvStr(p.a.get(), 100), "bye");
  EXPECT_EQ(RecvStr(p.a.get(), 100), "");
  // Unlike SOCK_STREAM, SOCK_SEQPACKET raises no SIGPIPE with EPIPE.
  EXPECT_FALSE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.a.get(), "x"), EPIPE); }));
}

TEST(UnixSeqpacketTest, ShutdownWrGivesThePeerEofAndSendsEPIPE) {
  SocketPair p = NewPair(SOCK_SEQPACKET);
  ASSERT_OK(shutdown(p.a.get(), SHUT_WR));
  EXPECT_EQ(RecvStr(p.b.get(), 100), "");
  EXPECT_FALSE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.a.get(), "x"), EPIPE); }));
}

TEST(UnixSeqpacketTest, SendOnAnUnconnectedSocketIsENOTCONN) {
  Fd s = NewSocket(SOCK_SEQPACKET);
  EXPECT_ERRNO(SendStr(s.get(), "x", MSG_NOSIGNAL), ENOTCONN);
  // An address does not help: seqpacket sockets must connect.
  Addr to = UniqueAbstractAddr();
  Fd listener = Listener(to, SOCK_SEQPACKET);
  EXPECT_ERRNO(sendto(s.get(), "x", 1, MSG_NOSIGNAL, to.sa(), to.len),
               ENOTCONN);
}

TEST(UnixSeqpacketTest, ListenConnectAcceptKeepsBoundaries) {
  Addr addr = UniqueAbstractAddr();
  Fd listener = Listener(addr, SOCK_SEQPACKET);
  Fd client = Connected(addr, SOCK_SEQPACKET);
  Fd server = Accept(listener.get());
  EXPECT_EQ(GetIntOpt(server.get(), SO_TYPE), SOCK_SEQPACKET);
  ASSERT_EQ(SendStr(client.get(), "ab"), 2);
  ASSERT_EQ(SendStr(client.get(), "cd"), 2);
  EXPECT_EQ(RecvStr(server.get(), 100), "ab");
  EXPECT_EQ(RecvStr(server.get(), 100), "cd");
}

// --------------------------------------------------------------- SOCK_DGRAM

TEST(UnixDgramTest, ZeroLengthDatagramsAreMessages) {
  SocketPair p = NewPair(SOCK_DGRAM);
  EXPECT_EQ(send(p.a.get(), "", 0, 0), 0);
  ASSERT_EQ(SendStr(p.a.get(), "after"), 5);
  EXPECT_EQ(RecvStr(p.b.get(), 100, MSG_DONTWAIT), "");
  EXPECT_EQ(RecvStr(p.b.get(), 100, MSG_DONTWAIT), "after");
}

TEST(UnixDgramTest, SendWithoutADestinationIsENOTCONN) {
  Fd s = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(SendStr(s.get(), "x"), ENOTCONN);
  EXPECT_ERRNO(write(s.get(), "x", 1), ENOTCONN);
}

TEST(UnixDgramTest, SendtoAMissingNameFails) {
  Fd s = NewSocket(SOCK_DGRAM);
  // A missing file is ENOENT; a missing abstract name ECONNREFUSED.
  Addr path = PathAddr("/nonexistent-dir-for-unix-socket-test/s");
  EXPECT_ERRNO(sendto(s.get(), "x", 1, 0, path.sa(), path.len), ENOENT);
  Addr abstract = UniqueAbstractAddr();
  EXPECT_ERRNO(sendto(s.get(), "x", 1, 0, abstract.sa(), abstract.len),
               ECONNREFUSED);
}

TEST(UnixDgramTest, RecvfromGivesTheSendersName) {
  Addr raddr = UniqueAbstractAddr();
  Fd receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(receiver.get(), raddr.sa(), raddr.len));
  Addr saddr = UniqueAbstractAddr();
  Fd named = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(named.get(), saddr.sa(), saddr.len));
  Fd unnamed = NewSocket(SOCK_DGRAM);

  ASSERT_EQ(sendto(named.get(), "n", 1, 0, raddr.sa(), raddr.len), 1);
  ASSERT_EQ(sendto(unnamed.get(), "u", 1, 0, raddr.sa(), raddr.len), 1);
  Addr from;
  from.len = sizeof(from.sun);
  char c = 0;
  ASSERT_EQ(recvfrom(receiver.get(), &c, 1, 0,
                     reinterpret_cast<struct sockaddr*>(&from.sun), &from.len),
            1);
  EXPECT_EQ(c, 'n');
  EXPECT_EQ(from.Bytes(), saddr.Bytes());
  // An unnamed sender has an empty address: length 0.
  from = Addr();
  from.len = sizeof(from.sun);
  ASSERT_EQ(recvfrom(receiver.get(), &c, 1, 0,
                     reinterpret_cast<struct sockaddr*>(&from.sun), &from.len),
            1);
  EXPECT_EQ(c, 'u');
  EXPECT_EQ(from.len, 0u);
}

TEST(UnixDgramTest, ConnectSetsTheDefaultDestination) {
  Addr raddr = UniqueAbstractAddr();
  Fd receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(receiver.get(), raddr.sa(), raddr.len));
  Fd sender = NewSocket(SOCK_DGRAM);
  ASSERT_OK(connect(sender.get(), raddr.sa(), raddr.len));
  EXPECT_EQ(PeerName(sender.get()).Bytes(), raddr.Bytes());
  ASSERT_EQ(SendStr(sender.get(), "via send"), 8);
  ASSERT_EQ(write(sender.get(), "via write", 9), 9);
  EXPECT_EQ(RecvStr(receiver.get(), 100), "via send");
  EXPECT_EQ(RecvStr(receiver.get(), 100), "via write");
  // An explicit address still overrides the default.
  Addr other = UniqueAbstractAddr();
  Fd other_receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(other_receiver.get(), other.sa(), other.len));
  ASSERT_EQ(sendto(sender.get(), "o", 1, 0, other.sa(), other.len), 1);
  EXPECT_EQ(RecvStr(other_receiver.get(), 100, MSG_DONTWAIT), "o");
  // The receiver of a connected socket is not itself connected back.
  struct sockaddr_un peer = {};
  socklen_t len = sizeof(peer);
  EXPECT_ERRNO(getpeername(receiver.get(),
                           reinterpret_cast<struct sockaddr*>(&peer), &len),
               ENOTCONN);
}

TEST(UnixDgramTest, ConnectAfUnspecDisconnects) {
  Addr raddr = UniqueAbstractAddr();
  Fd receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(receiver.get(), raddr.sa(), raddr.len));
  Fd sender = NewSocket(SOCK_DGRAM);
  ASSERT_OK(connect(sender.get(), raddr.sa(), raddr.len));
  struct sockaddr unspec = {};
  unspec.sa_family = AF_UNSPEC;
  ASSERT_OK(connect(sender.get(), &unspec, sizeof(unspec)));
  EXPECT_ERRNO(SendStr(sender.get(), "x"), ENOTCONN);
  struct sockaddr_un peer = {};
  socklen_t len = sizeof(peer);
  EXPECT_ERRNO(getpeername(sender.get(),
                           reinterpret_cast<struct sockaddr*>(&peer), &len),
               ENOTCONN);
}

TEST(UnixDgramTest, AReceiverConnectedElsewhereRefusesOthersWithEPERM) {
  Addr raddr = UniqueAbstractAddr();
  Fd receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(receiver.get(), raddr.sa(), raddr.len));
  Addr paddr = UniqueAbstractAddr();
  Fd partner = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(partner.get(), paddr.sa(), paddr.len));
  ASSERT_OK(connect(receiver.get(), paddr.sa(), paddr.len));
  // The receiver's peer may send to it; nobody else may.
  ASSERT_EQ(sendto(partner.get(), "p", 1, 0, raddr.sa(), raddr.len), 1);
  Fd stranger = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(sendto(stranger.get(), "s", 1, 0, raddr.sa(), raddr.len), EPERM);
  EXPECT_EQ(RecvStr(receiver.get(), 100, MSG_DONTWAIT), "p");
}

TEST(UnixDgramTest, APairPeersCloseIsNoEofAndThenECONNREFUSED) {
  SocketPair p = NewPair(SOCK_DGRAM);
  p.b.Reset();
  // Datagram sockets have no EOF: the receive queue is just empty.
  EXPECT_EQ(RecvStr(p.a.get(), 100, MSG_DONTWAIT),
            "<error " + std::string(strerror(EAGAIN)) + ">");
  // The first send finds the peer dead and disconnects; the next has no
  // destination.
  EXPECT_ERRNO(SendStr(p.a.get(), "x"), ECONNREFUSED);
  EXPECT_ERRNO(SendStr(p.a.get(), "x"), ENOTCONN);
}

TEST(UnixDgramTest, SendAfterShutdownWrIsEPIPE) {
  SocketPair p = NewPair(SOCK_DGRAM);
  ASSERT_OK(shutdown(p.a.get(), SHUT_WR));
  // Without SIGPIPE, as for SOCK_SEQPACKET.
  EXPECT_FALSE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(p.a.get(), "x"), EPIPE); }));
  // The peer gets no EOF datagram; it can still send to us.
  ASSERT_EQ(SendStr(p.b.get(), "in"), 2);
  EXPECT_EQ(RecvStr(p.a.get(), 100), "in");
}

TEST(UnixDgramTest, AFullPairIsEAGAINUntilTheReceiverReads) {
  SocketPair p = NewPair(SOCK_DGRAM);
  int sent = FillWithDatagrams(p.a.get());
  EXPECT_GT(sent, 0);
  EXPECT_ERRNO(SendStr(p.a.get(), "x", MSG_DONTWAIT), EAGAIN);
  SetNonblocking(p.a.get());
  EXPECT_ERRNO(SendStr(p.a.get(), "x"), EAGAIN);
  EXPECT_EQ(Revents(p.a.get(), POLLOUT), 0);
  // Reading makes room again.
  for (int i = 0; i < sent; i++) {
    ASSERT_EQ(RecvStr(p.b.get(), 10, MSG_DONTWAIT), "d");
  }
  EXPECT_EQ(SendStr(p.a.get(), "x"), 1);
  EXPECT_EQ(Revents(p.a.get(), POLLOUT), POLLOUT);
}

TEST(UnixDgramTest, AFullReceiverIsEAGAINForUnconnectedSenders) {
  Addr raddr = UniqueAbstractAddr();
  Fd receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(receiver.get(), raddr.sa(), raddr.len));
  Fd sender = NewSocket(SOCK_DGRAM);
  int sent = FillWithDatagrams(sender.get(), &raddr);
  EXPECT_GT(sent, 0);
  EXPECT_ERRNO(
      sendto(sender.get(), "x", 1, MSG_DONTWAIT, raddr.sa(), raddr.len),
      EAGAIN);
  ASSERT_EQ(RecvStr(receiver.get(), 10, MSG_DONTWAIT), "d");
  EXPECT_EQ(sendto(sender.get(), "x", 1, MSG_DONTWAIT, raddr.sa(), raddr.len),
            1);
}

TEST(UnixDgramTest, ADatagramLargerThanTheSendBufferIsEMSGSIZE) {
  SocketPair p = NewPair(SOCK_DGRAM);
  SetIntOpt(p.a.get(), SO_SNDBUF, 65536);
  std::string big(256 * 1024, 'x');
  EXPECT_ERRNO(SendStr(p.a.get(), big), EMSGSIZE);
  // A datagram is sent whole or not at all: nothing arrived.
  EXPECT_EQ(RecvStr(p.b.get(), 10, MSG_DONTWAIT),
            "<error " + std::string(strerror(EAGAIN)) + ">");
}

TEST(UnixDgramTest, MsgWaitallIsIgnored) {
  SocketPair p = NewPair(SOCK_DGRAM);
  ASSERT_EQ(SendStr(p.a.get(), "ab"), 2);
  EXPECT_EQ(RecvStr(p.b.get(), 10, MSG_WAITALL), "ab");
}

// --------------------------------------------------------- filesystem names

class UnixPathTest : public ::testing::Test {
 protected:
  TempPath dir_;
};

TEST_F(UnixPathTest, BindCreatesASocketFile) {
  mode_t old_umask = umask(022);
  std::string path = dir_ / "sock";
  Addr addr = PathAddr(path);
  Fd s = NewSocket(SOCK_STREAM);
  int rc = bind(s.get(), addr.sa(), addr.len);
  int err = errno;
  umask(old_umask);
  ASSERT_EQ(rc, 0) << strerror(err);
  struct stat st = {};
  ASSERT_OK(stat(path.c_str(), &st));
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  // 0777 less the umask.
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFSOCK | 0755));
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_size, 0);
  // The file is not the socket's own inode.
  struct stat fst = {};
  ASSERT_OK(fstat(s.get(), &fst));
  EXPECT_NE(fst.st_ino, st.st_ino);
  // Opening a socket file is ENXIO.
  EXPECT_ERRNO(open(path.c_str(), O_RDONLY | O_CLOEXEC), ENXIO);
}

TEST_F(UnixPathTest, NamesAndLengths) {
  Addr addr = PathAddr(dir_ / "srv");
  Fd listener = Listener(addr);
  // The length counts the terminating NUL.
  Addr name = SockName(listener.get());
  EXPECT_EQ(name.len, kPathOffset + strlen(addr.sun.sun_path) + 1);
  EXPECT_EQ(name.Bytes(), addr.Bytes());

  Fd client = Connected(addr);
  struct sockaddr_un from = {};
  socklen_t from_len = sizeof(from);
  Fd server(accept4(listener.get(), reinterpret_cast<struct sockaddr*>(&from),
                    &from_len, SOCK_CLOEXEC));
  ASSERT_GE(server.get(), 0) << strerror(errno);
  // The client is unnamed: accept reports just the family.
  EXPECT_EQ(from_len, sizeof(sa_family_t));
  EXPECT_EQ(from.sun_family, AF_UNIX);
  // The accepted socket bears the listener's name; the client's peer is it.
  EXPECT_EQ(SockName(server.get()).Bytes(), addr.Bytes());
  EXPECT_EQ(PeerName(client.get()).Bytes(), addr.Bytes());
  EXPECT_EQ(SockName(client.get()).Bytes(), UnnamedBytes());
  EXPECT_EQ(PeerName(server.get()).Bytes(), UnnamedBytes());
}

TEST_F(UnixPathTest, AcceptReportsANamedClientsName) {
  Addr addr = PathAddr(dir_ / "srv");
  Fd listener = Listener(addr);
  Addr caddr = PathAddr(dir_ / "cli");
  Fd client = NewSocket(SOCK_STREAM);
  ASSERT_OK(bind(client.get(), caddr.sa(), caddr.len));
  ASSERT_OK(connect(client.get(), addr.sa(), addr.len));
  Addr from;
  from.len = sizeof(from.sun);
  Fd server(accept(listener.get(),
                   reinterpret_cast<struct sockaddr*>(&from.sun), &from.len));
  ASSERT_GE(server.get(), 0) << strerror(errno);
  EXPECT_EQ(from.Bytes(), caddr.Bytes());
  EXPECT_EQ(PeerName(server.get()).Bytes(), caddr.Bytes());
}

TEST_F(UnixPathTest, AnAddrlenWithoutTheNulStillNamesThePath) {
  std::string path = dir_ / "nonul";
  Addr addr = PathAddr(path);
  Fd s = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(s.get(), addr.sa(), addr.len - 1));
  Addr name = SockName(s.get());
  EXPECT_EQ(name.len, addr.len);
  EXPECT_EQ(name.Bytes(), addr.Bytes());
  // sizeof(sockaddr_un) with NUL padding is the same name too.
  Fd t = NewSocket(SOCK_DGRAM);
  ASSERT_EQ(sendto(t.get(), "x", 1, 0, addr.sa(), sizeof(addr.sun)), 1);
  EXPECT_EQ(RecvStr(s.get(), 10, MSG_DONTWAIT), "x");
}

TEST_F(UnixPathTest, ARelativePathIsReportedAsGiven) {
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_OK(chdir(dir_.path().c_str()));
  Addr rel = PathAddr("rel.sock");
  Fd s = NewSocket(SOCK_DGRAM);
  int rc = bind(s.get(), rel.sa(), rel.len);
  int err = errno;
  ASSERT_OK(chdir(cwd));
  ASSERT_EQ(rc, 0) << strerror(err);
  EXPECT_EQ(SockName(s.get()).Bytes(), rel.Bytes());
  Addr abs = PathAddr(dir_ / "rel.sock");
  Fd t = NewSocket(SOCK_DGRAM);
  ASSERT_EQ(sendto(t.get(), "x", 1, 0, abs.sa(), abs.len), 1);
  EXPECT_EQ(RecvStr(s.get(), 10, MSG_DONTWAIT), "x");
}

TEST_F(UnixPathTest, ConnectAcceptAndTalk) {
  Addr addr = PathAddr(dir_ / "s");
  Fd listener = Listener(addr);
  Fd client = Connected(addr);
  Fd server = Accept(listener.get());
  ASSERT_EQ(SendStr(client.get(), "hi server"), 9);
  EXPECT_EQ(RecvStr(server.get(), 100), "hi server");
  ASSERT_EQ(SendStr(server.get(), "hi client"), 9);
  EXPECT_EQ(RecvStr(client.get(), 100), "hi client");
  EXPECT_EQ(GetIntOpt(server.get(), SO_ACCEPTCONN), 0);
  EXPECT_EQ(GetIntOpt(listener.get(), SO_ACCEPTCONN), 1);
  server.Reset();
  EXPECT_EQ(RecvStr(client.get(), 100), "");
}

TEST_F(UnixPathTest, DataSentBeforeAcceptIsDelivered) {
  Addr addr = PathAddr(dir_ / "s");
  Fd listener = Listener(addr);
  Fd client = Connected(addr);
  ASSERT_EQ(SendStr(client.get(), "early"), 5);
  ASSERT_OK(shutdown(client.get(), SHUT_WR));
  Fd server = Accept(listener.get());
  EXPECT_EQ(RecvStr(server.get(), 100), "early");
  EXPECT_EQ(RecvStr(server.get(), 100), "");
}

TEST_F(UnixPathTest, BindingATakenPathIsEADDRINUSE) {
  Addr addr = PathAddr(dir_ / "s");
  Fd first = NewSocket(SOCK_STREAM);
  ASSERT_OK(bind(first.get(), addr.sa(), addr.len));
  Fd second = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(bind(second.get(), addr.sa(), addr.len), EADDRINUSE);
  // Any file is in the way, not only sockets.
  testing_util::WriteFile(dir_ / "file", "");
  Addr file = PathAddr(dir_ / "file");
  EXPECT_ERRNO(bind(second.get(), file.sa(), file.len), EADDRINUSE);
  // Closing the socket leaves its file behind, still in the way.
  first.Reset();
  EXPECT_ERRNO(bind(second.get(), addr.sa(), addr.len), EADDRINUSE);
  // After unlink(2), the path is free.
  ASSERT_OK(unlink(addr.sun.sun_path));
  EXPECT_EQ(bind(second.get(), addr.sa(), addr.len), 0) << strerror(errno);
}

TEST_F(UnixPathTest, BindingABoundSocketAgainIsEINVAL) {
  Addr a1 = PathAddr(dir_ / "one");
  Addr a2 = PathAddr(dir_ / "two");
  Fd s = NewSocket(SOCK_STREAM);
  ASSERT_OK(bind(s.get(), a1.sa(), a1.len));
  EXPECT_ERRNO(bind(s.get(), a2.sa(), a2.len), EINVAL);
  // Its own path exists already: Linux creates the file first, so that
  // is EADDRINUSE.
  EXPECT_ERRNO(bind(s.get(), a1.sa(), a1.len), EADDRINUSE);
  Addr abstract = UniqueAbstractAddr();
  EXPECT_ERRNO(bind(s.get(), abstract.sa(), abstract.len), EINVAL);
  // The failed bind made no file.
  struct stat st;
  EXPECT_ERRNO(stat(a2.sun.sun_path, &st), ENOENT);
}

TEST_F(UnixPathTest, BindInAMissingDirectoryIsENOENT) {
  Addr addr = PathAddr(dir_ / "missing/s");
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(bind(s.get(), addr.sa(), addr.len), ENOENT);
  // The socket stays unbound and can bind elsewhere.
  Addr ok = PathAddr(dir_ / "s");
  EXPECT_EQ(bind(s.get(), ok.sa(), ok.len), 0) << strerror(errno);
}

TEST_F(UnixPathTest, ConnectToAMissingPathIsENOENT) {
  Addr addr = PathAddr(dir_ / "nothing");
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    Fd s = NewSocket(type);
    EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ENOENT);
  }
}

TEST_F(UnixPathTest, ConnectToARegularFileIsECONNREFUSED) {
  testing_util::WriteFile(dir_ / "file", "data");
  Addr addr = PathAddr(dir_ / "file");
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    Fd s = NewSocket(type);
    EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ECONNREFUSED);
  }
}

TEST_F(UnixPathTest, ConnectToANonListeningStreamSocketIsECONNREFUSED) {
  Addr addr = PathAddr(dir_ / "s");
  Fd bound = NewSocket(SOCK_STREAM);
  ASSERT_OK(bind(bound.get(), addr.sa(), addr.len));
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ECONNREFUSED);
  // Nor once its socket has been closed and only the file remains.
  bound.Reset();
  EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ECONNREFUSED);
  Fd d = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(sendto(d.get(), "x", 1, 0, addr.sa(), addr.len), ECONNREFUSED);
}

TEST_F(UnixPathTest, ConnectToASocketOfAnotherTypeIsEPROTOTYPE) {
  Addr dgram = PathAddr(dir_ / "dgram");
  Fd d = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(d.get(), dgram.sa(), dgram.len));
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(connect(s.get(), dgram.sa(), dgram.len), EPROTOTYPE);
  Fd q = NewSocket(SOCK_SEQPACKET);
  EXPECT_ERRNO(connect(q.get(), dgram.sa(), dgram.len), EPROTOTYPE);
  Addr stream = PathAddr(dir_ / "stream");
  Fd l = Listener(stream);
  Fd d2 = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(sendto(d2.get(), "x", 1, 0, stream.sa(), stream.len),
               EPROTOTYPE);
  EXPECT_ERRNO(connect(d2.get(), stream.sa(), stream.len), EPROTOTYPE);
  Fd q2 = NewSocket(SOCK_SEQPACKET);
  EXPECT_ERRNO(connect(q2.get(), stream.sa(), stream.len), EPROTOTYPE);
}

TEST_F(UnixPathTest, UnlinkAfterBind) {
  Addr addr = PathAddr(dir_ / "s");
  Fd listener = Listener(addr);
  ASSERT_OK(unlink(addr.sun.sun_path));
  // The socket keeps its name but can no longer be reached by it.
  EXPECT_EQ(SockName(listener.get()).Bytes(), addr.Bytes());
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ENOENT);
  // A new socket takes the path, and connections go to it.
  Fd listener2 = Listener(addr);
  ASSERT_OK(connect(s.get(), addr.sa(), addr.len));
  SetNonblocking(listener.get());
  SetNonblocking(listener2.get());
  EXPECT_ERRNO(accept(listener.get(), nullptr, nullptr), EAGAIN);
  Fd server(accept(listener2.get(), nullptr, nullptr));
  EXPECT_GE(server.get(), 0) << strerror(errno);
}

TEST_F(UnixPathTest, ConnectNeedsWritePermissionOnTheSocketFile) {
  ASSERT_OK(chmod(dir_.path().c_str(), 0755));
  Addr addr = PathAddr(dir_ / "s");
  Fd listener = Listener(addr);
  auto connect_as_nobody = [&addr] {
    return RunInChild([&addr] {
      BecomeNobody();
      int s = socket(AF_UNIX, SOCK_STREAM, 0);
      CHILD_CHECK(s >= 0);
      if (connect(s, addr.sa(), addr.len) == 0) return 0;
      return errno == EACCES ? 2 : 3;
    });
  };
  ASSERT_OK(chmod(addr.sun.sun_path, 0775));
  EXPECT_TRUE(ExitedWith(connect_as_nobody(), 2)) << "want EACCES";
  ASSERT_OK(chmod(addr.sun.sun_path, 0777));
  EXPECT_TRUE(ExitedWith(connect_as_nobody(), 0));
}

TEST_F(UnixPathTest, ClosingAListenerResetsItsPendingClients) {
  Addr addr = PathAddr(dir_ / "s");
  Fd listener = Listener(addr);
  Fd client = Connected(addr);
  listener.Reset();
  EXPECT_EQ(RecvStr(client.get(), 100),
            "<error " + std::string(strerror(ECONNRESET)) + ">");
  EXPECT_EQ(RecvStr(client.get(), 100), "");
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(client.get(), "x"), EPIPE); }));
}

// --------------------------------------------------------- abstract names

TEST(UnixAbstractTest, BindConnectAndNames) {
  Addr addr = UniqueAbstractAddr();
  Fd listener = Listener(addr);
  Addr name = SockName(listener.get());
  // The length is exactly what bind was given: no terminator is added.
  EXPECT_EQ(name.len, addr.len);
  EXPECT_EQ(name.Bytes(), addr.Bytes());
  Fd client = Connected(addr);
  Fd server = Accept(listener.get());
  EXPECT_EQ(PeerName(client.get()).Bytes(), addr.Bytes());
  EXPECT_EQ(SockName(server.get()).Bytes(), addr.Bytes());
  ASSERT_EQ(SendStr(client.get(), "abstract"), 8);
  EXPECT_EQ(RecvStr(server.get(), 100), "abstract");
}

TEST(UnixAbstractTest, ANameInUseIsEADDRINUSEUntilClosed) {
  Addr addr = UniqueAbstractAddr();
  Fd first = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(first.get(), addr.sa(), addr.len));
  Fd second = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(bind(second.get(), addr.sa(), addr.len), EADDRINUSE);
  // An abstract name disappears with its socket.
  first.Reset();
  EXPECT_EQ(bind(second.get(), addr.sa(), addr.len), 0) << strerror(errno);
}

TEST(UnixAbstractTest, ConnectToAnUnknownNameIsECONNREFUSED) {
  Addr addr = UniqueAbstractAddr();
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    Fd s = NewSocket(type);
    EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ECONNREFUSED);
  }
}

TEST(UnixAbstractTest, EveryByteOfTheLengthIsPartOfTheName) {
  Addr addr = UniqueAbstractAddr();
  Fd listener = Listener(addr);
  // The same bytes plus a NUL are another name.
  Addr longer = addr;
  longer.len++;
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(connect(s.get(), longer.sa(), longer.len), ECONNREFUSED);
  Addr shorter = addr;
  shorter.len--;
  EXPECT_ERRNO(connect(s.get(), shorter.sa(), shorter.len), ECONNREFUSED);
  // A name with NULs inside is fine.
  Addr nuls = AbstractAddr(std::string("a\0b\0", 4) + UniqueName());
  Fd l2 = Listener(nuls);
  EXPECT_EQ(SockName(l2.get()).Bytes(), nuls.Bytes());
  EXPECT_EQ(connect(s.get(), nuls.sa(), nuls.len), 0) << strerror(errno);
}

TEST(UnixAbstractTest, AutobindPicksFiveHexDigits) {
  Fd s = NewSocket(SOCK_DGRAM);
  struct sockaddr_un only_family = {};
  only_family.sun_family = AF_UNIX;
  ASSERT_OK(bind(s.get(), reinterpret_cast<struct sockaddr*>(&only_family),
                 sizeof(sa_family_t)));
  Addr name = SockName(s.get());
  ASSERT_EQ(name.len, kPathOffset + 6);
  EXPECT_EQ(name.sun.sun_path[0], '\0');
  for (int i = 1; i <= 5; i++) {
    char c = name.sun.sun_path[i];
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
        << "byte " << i << " is " << static_cast<int>(c);
  }
  // Another socket gets another name, and the name reaches the socket.
  Fd t = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(t.get(), reinterpret_cast<struct sockaddr*>(&only_family),
                 sizeof(sa_family_t)));
  EXPECT_NE(SockName(t.get()).Bytes(), name.Bytes());
  ASSERT_EQ(sendto(t.get(), "x", 1, 0, name.sa(), name.len), 1);
  Addr from;
  from.len = sizeof(from.sun);
  char c;
  ASSERT_EQ(recvfrom(s.get(), &c, 1, 0,
                     reinterpret_cast<struct sockaddr*>(&from.sun), &from.len),
            1);
  EXPECT_EQ(from.Bytes(), SockName(t.get()).Bytes());
  // Autobinding a bound socket succeeds and changes nothing.
  EXPECT_EQ(bind(s.get(), reinterpret_cast<struct sockaddr*>(&only_family),
                 sizeof(sa_family_t)),
            0)
      << strerror(errno);
  EXPECT_EQ(SockName(s.get()).Bytes(), name.Bytes());
  // A named bind after autobind is EINVAL.
  Addr named = UniqueAbstractAddr();
  EXPECT_ERRNO(bind(s.get(), named.sa(), named.len), EINVAL);
}

TEST(UnixAbstractTest, EachSocketTypeHasItsOwnAbstractNamespace) {
  // Linux looks abstract names up by name and type: sockets of different
  // types may share a name, and a connect finds only its own type.
  Addr addr = UniqueAbstractAddr();
  Fd dgram = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(dgram.get(), addr.sa(), addr.len));
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(connect(s.get(), addr.sa(), addr.len), ECONNREFUSED);
  Fd stream = Listener(addr, SOCK_STREAM);
  Fd seqpacket = Listener(addr, SOCK_SEQPACKET);
  ASSERT_OK(connect(s.get(), addr.sa(), addr.len));
  Fd q = Connected(addr, SOCK_SEQPACKET);
  Fd d = NewSocket(SOCK_DGRAM);
  ASSERT_EQ(sendto(d.get(), "d", 1, 0, addr.sa(), addr.len), 1);
  EXPECT_EQ(RecvStr(dgram.get(), 10, MSG_DONTWAIT), "d");
  SetNonblocking(stream.get());
  SetNonblocking(seqpacket.get());
  Fd from_stream(accept(stream.get(), nullptr, nullptr));
  ASSERT_GE(from_stream.get(), 0) << strerror(errno);
  EXPECT_EQ(GetIntOpt(from_stream.get(), SO_TYPE), SOCK_STREAM);
  Fd from_seqpacket(accept(seqpacket.get(), nullptr, nullptr));
  ASSERT_GE(from_seqpacket.get(), 0) << strerror(errno);
  EXPECT_EQ(GetIntOpt(from_seqpacket.get(), SO_TYPE), SOCK_SEQPACKET);
  // Within a type the name is still taken.
  Fd another = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(bind(another.get(), addr.sa(), addr.len), EADDRINUSE);
}

TEST(UnixAbstractTest, PasscredAutobindsAnUnnamedSender) {
  Addr raddr = UniqueAbstractAddr();
  Fd receiver = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(receiver.get(), raddr.sa(), raddr.len));
  Fd sender = NewSocket(SOCK_DGRAM);
  SetIntOpt(sender.get(), SO_PASSCRED, 1);
  ASSERT_EQ(sendto(sender.get(), "x", 1, 0, raddr.sa(), raddr.len), 1);
  Addr name = SockName(sender.get());
  EXPECT_EQ(name.len, kPathOffset + 6);
  Addr from;
  from.len = sizeof(from.sun);
  char c;
  ASSERT_EQ(recvfrom(receiver.get(), &c, 1, 0,
                     reinterpret_cast<struct sockaddr*>(&from.sun), &from.len),
            1);
  EXPECT_EQ(from.Bytes(), name.Bytes());
}

// ------------------------------------------------------- sockaddr errors

TEST(UnixAddrErrorsTest, BadLengthsAndFamilies) {
  Addr addr = UniqueAbstractAddr();
  Fd s = NewSocket(SOCK_STREAM);
  // Longer than sockaddr_un (or sockaddr_storage) is EINVAL.
  struct sockaddr_storage big = {};
  memcpy(&big, &addr.sun, sizeof(addr.sun));
  EXPECT_ERRNO(bind(s.get(), reinterpret_cast<struct sockaddr*>(&big),
                    sizeof(struct sockaddr_un) + 1),
               EINVAL);
  EXPECT_ERRNO(
      bind(s.get(), reinterpret_cast<struct sockaddr*>(&big), sizeof(big) + 1),
      EINVAL);
  EXPECT_ERRNO(bind(s.get(), addr.sa(), 1), EINVAL);
  EXPECT_ERRNO(bind(s.get(), addr.sa(), 0), EINVAL);
  EXPECT_ERRNO(bind(s.get(), addr.sa(), static_cast<socklen_t>(-1)), EINVAL);
  Addr wrong = addr;
  wrong.sun.sun_family = AF_INET;
  EXPECT_ERRNO(bind(s.get(), wrong.sa(), wrong.len), EINVAL);
  wrong.sun.sun_family = AF_UNSPEC;
  EXPECT_ERRNO(bind(s.get(), wrong.sa(), wrong.len), EINVAL);
  EXPECT_ERRNO(bind(s.get(), reinterpret_cast<struct sockaddr*>(8), addr.len),
               EFAULT);
  // None of those bound the socket.
  EXPECT_EQ(SockName(s.get()).Bytes(), UnnamedBytes());

  Fd listener = Listener(addr);
  wrong = addr;
  wrong.sun.sun_family = AF_INET;
  EXPECT_ERRNO(connect(s.get(), wrong.sa(), wrong.len), EINVAL);
  EXPECT_ERRNO(connect(s.get(), addr.sa(), sizeof(struct sockaddr_un) + 1),
               EINVAL);
  EXPECT_ERRNO(connect(s.get(), addr.sa(), 1), EINVAL);
  Fd d = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(connect(d.get(), wrong.sa(), wrong.len), EINVAL);
  EXPECT_ERRNO(sendto(d.get(), "x", 1, 0, wrong.sa(), wrong.len), EINVAL);
  EXPECT_ERRNO(
      sendto(d.get(), "x", 1, 0, addr.sa(), sizeof(struct sockaddr_un) + 1),
      EINVAL);
}

TEST(UnixAddrErrorsTest, GetsocknameWithAShortBufferTruncates) {
  Addr addr = UniqueAbstractAddr();
  Fd s = NewSocket(SOCK_DGRAM);
  ASSERT_OK(bind(s.get(), addr.sa(), addr.len));
  char buf[sizeof(struct sockaddr_un)];
  memset(buf, 'Z', sizeof(buf));
  socklen_t len = 5;
  ASSERT_OK(
      getsockname(s.get(), reinterpret_cast<struct sockaddr*>(buf), &len));
  // The full length comes back; only 5 bytes were written.
  EXPECT_EQ(len, addr.len);
  EXPECT_EQ(std::string(buf, 5), addr.Bytes().substr(0, 5));
  EXPECT_EQ(buf[5], 'Z');
  len = static_cast<socklen_t>(-1);
  EXPECT_ERRNO(
      getsockname(s.get(), reinterpret_cast<struct sockaddr*>(buf), &len),
      EINVAL);
}

// ---------------------------------------------------------- listen, accept

TEST(UnixListenTest, ListenErrors) {
  // An unbound stream socket cannot listen.
  Fd unbound = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(listen(unbound.get(), 5), EINVAL);
  Fd dgram = NewSocket(SOCK_DGRAM);
  Addr addr = UniqueAbstractAddr();
  ASSERT_OK(bind(dgram.get(), addr.sa(), addr.len));
  EXPECT_ERRNO(listen(dgram.get(), 5), EOPNOTSUPP);
  SocketPair p = NewPair(SOCK_STREAM);
  EXPECT_ERRNO(listen(p.a.get(), 5), EINVAL);
  // Listening twice is fine (it only changes the backlog).
  Fd l = Listener(UniqueAbstractAddr());
  EXPECT_EQ(listen(l.get(), 3), 0) << strerror(errno);
}

TEST(UnixListenTest, AcceptAndConnectErrors) {
  Fd unbound = NewSocket(SOCK_STREAM);
  EXPECT_ERRNO(accept(unbound.get(), nullptr, nullptr), EINVAL);
  Fd dgram = NewSocket(SOCK_DGRAM);
  EXPECT_ERRNO(accept(dgram.get(), nullptr, nullptr), EOPNOTSUPP);
  SocketPair p = NewPair(SOCK_STREAM);
  EXPECT_ERRNO(accept(p.a.get(), nullptr, nullptr), EINVAL);
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr);
  EXPECT_ERRNO(accept4(l.get(), nullptr, nullptr, O_APPEND), EINVAL);
  // A listening socket cannot connect; a connected one is EISCONN.
  EXPECT_ERRNO(connect(l.get(), addr.sa(), addr.len), EINVAL);
  EXPECT_ERRNO(connect(p.a.get(), addr.sa(), addr.len), EISCONN);
  Fd c = Connected(addr);
  EXPECT_ERRNO(connect(c.get(), addr.sa(), addr.len), EISCONN);
}

TEST(UnixListenTest, NonblockingAcceptIsEAGAIN) {
  Fd l = Listener(UniqueAbstractAddr());
  SetNonblocking(l.get());
  EXPECT_ERRNO(accept(l.get(), nullptr, nullptr), EAGAIN);
  EXPECT_ERRNO(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC), EAGAIN);
}

TEST(UnixListenTest, Accept4Flags) {
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr);
  SetNonblocking(l.get());
  Fd c1 = Connected(addr);
  Fd c2 = Connected(addr);
  // Plain accept: the listener's O_NONBLOCK is not inherited.
  Fd s1(accept(l.get(), nullptr, nullptr));
  ASSERT_GE(s1.get(), 0) << strerror(errno);
  EXPECT_EQ(fcntl(s1.get(), F_GETFD), 0);
  EXPECT_EQ(fcntl(s1.get(), F_GETFL), O_RDWR);
  Fd s2(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  ASSERT_GE(s2.get(), 0) << strerror(errno);
  EXPECT_EQ(fcntl(s2.get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(s2.get(), F_GETFL), O_RDWR | O_NONBLOCK);
  char c;
  EXPECT_ERRNO(recv(s2.get(), &c, 1, 0), EAGAIN);
}

TEST(UnixListenTest, ABlockingAcceptIsWokenByAConnect) {
  Watchdog watchdog;
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr);
  Fd client;
  std::thread connector = RunLater(30, [&] { client = Connected(addr); });
  Fd server(accept(l.get(), nullptr, nullptr));
  EXPECT_GE(server.get(), 0) << strerror(errno);
  connector.join();
  ASSERT_EQ(SendStr(server.get(), "x"), 1);
  EXPECT_EQ(RecvStr(client.get(), 10), "x");
}

TEST(UnixListenTest, AFullBacklogMakesANonblockingConnectEAGAIN) {
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr, SOCK_STREAM, 2);
  // Linux queues backlog + 1 connections.
  std::vector<Fd> clients;
  for (int i = 0; i < 3; i++) {
    Fd c(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect(c.get(), addr.sa(), addr.len), 0)
        << "connection " << i << ": " << strerror(errno);
    clients.push_back(std::move(c));
  }
  Fd extra(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  EXPECT_ERRNO(connect(extra.get(), addr.sa(), addr.len), EAGAIN);
  // Accepting one makes room; the same socket can try again.
  Fd s = Accept(l.get());
  EXPECT_EQ(connect(extra.get(), addr.sa(), addr.len), 0) << strerror(errno);
  EXPECT_ERRNO(connect(NewSocket(SOCK_STREAM | SOCK_NONBLOCK).get(), addr.sa(),
                       addr.len),
               EAGAIN);
}

TEST(UnixListenTest, ABlockingConnectWaitsForRoomInTheBacklog) {
  Watchdog watchdog;
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr, SOCK_STREAM, 0);
  Fd first = Connected(addr);
  std::atomic<bool> accepting{false};
  Fd accepted;
  std::thread acceptor = RunLater(50, [&] {
    accepting = true;
    accepted = Accept(l.get());
  });
  Fd second = NewSocket(SOCK_STREAM);
  EXPECT_EQ(connect(second.get(), addr.sa(), addr.len), 0) << strerror(errno);
  EXPECT_TRUE(accepting.load()) << "connect returned with the backlog full";
  acceptor.join();
}

TEST(UnixListenTest, ListenerPollsReadableWithAPendingConnection) {
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr);
  EXPECT_EQ(Revents(l.get(), POLLIN | POLLOUT), 0);
  Fd c = Connected(addr);
  EXPECT_EQ(Revents(l.get(), POLLIN | POLLOUT), POLLIN);
  Fd s = Accept(l.get());
  EXPECT_EQ(Revents(l.get(), POLLIN | POLLOUT), 0);
}

// ---------------------------------------------------------------- SCM_RIGHTS

class UnixRightsTest : public ::testing::TestWithParam<int> {
 protected:
  int type() const { return GetParam(); }
};

TEST_P(UnixRightsTest, PassAPipeEnd) {
  SocketPair p = NewPair(type());
  testing_util::Pipe pipe;
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w}, "fd"), 2);
  Received r = RecvMsg(p.b.get(), 10, CMSG_SPACE(sizeof(int)));
  ASSERT_EQ(r.n, 2) << strerror(r.err);
  EXPECT_EQ(r.data, "fd");
  EXPECT_EQ(r.flags, 0);
  ASSERT_EQ(r.fds.size(), 1u);
  Fd got(r.fds[0]);
  EXPECT_NE(got.get(), pipe.w);
  // The same open file description: same inode, same flags.
  struct stat a = {}, b = {};
  ASSERT_OK(fstat(got.get(), &b));
  ASSERT_OK(fstat(pipe.w, &a));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(fcntl(got.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
  ASSERT_EQ(write(got.get(), "through", 7), 7);
  char buf[16] = {};
  EXPECT_EQ(read(pipe.r, buf, sizeof(buf)), 7);
  EXPECT_EQ(std::string(buf, 7), "through");
}

TEST_P(UnixRightsTest, PassSeveralFds) {
  SocketPair p = NewPair(type());
  testing_util::Pipe p1, p2;
  ASSERT_EQ(SendFds(p.a.get(), {p1.w, p2.w, p1.r}), 1);
  Received r = RecvMsg(p.b.get(), 10, CMSG_SPACE(3 * sizeof(int)));
  ASSERT_EQ(r.n, 1) << strerror(r.err);
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(r.rights_messages, 1);
  ASSERT_EQ(r.fds.size(), 3u);
  Fd w1(r.fds[0]), w2(r.fds[1]), r1(r.fds[2]);
  // In the order sent.
  ASSERT_EQ(write(w1.get(), "1", 1), 1);
  ASSERT_EQ(write(w2.get(), "2", 1), 1);
  char c = 0;
  EXPECT_EQ(read(r1.get(), &c, 1), 1);
  EXPECT_EQ(c, '1');
  EXPECT_EQ(read(p2.r, &c, 1), 1);
  EXPECT_EQ(c, '2');
}

TEST_P(UnixRightsTest, AShortControlBufferSetsMsgCtruncAndLeaksNothing) {
  SocketPair p = NewPair(type());
  testing_util::Pipe pipe;
  size_t before = OpenFdCount();
  // No control buffer at all: no descriptors are installed.
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w, pipe.w, pipe.r}), 1);
  Received r = RecvMsg(p.b.get(), 10, 0);
  ASSERT_EQ(r.n, 1) << strerror(r.err);
  EXPECT_EQ(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  EXPECT_TRUE(r.fds.empty());
  EXPECT_EQ(OpenFdCount(), before);
  // Room for less than a header: the same.
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w, pipe.w, pipe.r}), 1);
  r = RecvMsg(p.b.get(), 10, sizeof(struct cmsghdr) - 1);
  ASSERT_EQ(r.n, 1) << strerror(r.err);
  EXPECT_EQ(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  EXPECT_EQ(r.controllen, 0u);
  EXPECT_EQ(OpenFdCount(), before);
  // Room for one of three: one arrives, the other two are closed.
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w, pipe.w, pipe.r}), 1);
  r = RecvMsg(p.b.get(), 10, CMSG_LEN(sizeof(int)));
  ASSERT_EQ(r.n, 1) << strerror(r.err);
  EXPECT_EQ(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  EXPECT_EQ(r.controllen, CMSG_LEN(sizeof(int)));
  ASSERT_EQ(r.fds.size(), 1u);
  EXPECT_EQ(OpenFdCount(), before + 1);
  CloseAll(r.fds);
  EXPECT_EQ(OpenFdCount(), before);
}

TEST_P(UnixRightsTest, DroppedFdsAreReallyClosed) {
  SocketPair p = NewPair(type());
  testing_util::Pipe pipe;
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w, pipe.w}), 1);
  pipe.CloseW();
  Received r = RecvMsg(p.b.get(), 10, 0);
  ASSERT_EQ(r.n, 1) << strerror(r.err);
  EXPECT_EQ(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  // No write end is left anywhere: the pipe is at EOF.
  SetNonblocking(pipe.r);
  char c;
  EXPECT_EQ(read(pipe.r, &c, 1), 0) << strerror(errno);
}

TEST_P(UnixRightsTest, MsgCmsgCloexec) {
  SocketPair p = NewPair(type());
  testing_util::Pipe pipe;
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w}), 1);
  Received r = RecvMsg(p.b.get(), 10, CMSG_SPACE(sizeof(int)));
  ASSERT_EQ(r.fds.size(), 1u);
  Fd plain(r.fds[0]);
  // The pipe is O_CLOEXEC here, but the flag belongs to the descriptor.
  EXPECT_EQ(fcntl(plain.get(), F_GETFD), 0);
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w}), 1);
  r = RecvMsg(p.b.get(), 10, CMSG_SPACE(sizeof(int)), MSG_CMSG_CLOEXEC);
  ASSERT_EQ(r.fds.size(), 1u);
  Fd cloexec(r.fds[0]);
  EXPECT_EQ(fcntl(cloexec.get(), F_GETFD), FD_CLOEXEC);
}

TEST_P(UnixRightsTest, FdsInFlightAreClosedWithTheReceiver) {
  SocketPair p = NewPair(type());
  testing_util::Pipe pipe;
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w}), 1);
  pipe.CloseW();
  SetNonblocking(pipe.r);
  char c;
  // In flight, the write end still exists.
  EXPECT_ERRNO(read(pipe.r, &c, 1), EAGAIN);
  p.b.Reset();
  p.a.Reset();
  EXPECT_EQ(read(pipe.r, &c, 1), 0) << strerror(errno);
}

TEST_P(UnixRightsTest, PassASocket) {
  SocketPair p = NewPair(type());
  SocketPair inner = NewPair(SOCK_STREAM);
  ASSERT_EQ(SendFds(p.a.get(), {inner.a.get()}), 1);
  inner.a.Reset();
  Received r = RecvMsg(p.b.get(), 10, CMSG_SPACE(sizeof(int)));
  ASSERT_EQ(r.fds.size(), 1u);
  Fd got(r.fds[0]);
  ASSERT_EQ(SendStr(got.get(), "inner"), 5);
  EXPECT_EQ(RecvStr(inner.b.get(), 100), "inner");
  EXPECT_EQ(GetIntOpt(got.get(), SO_TYPE), SOCK_STREAM);
}

TEST_P(UnixRightsTest, BadFdsAreEBADF) {
  SocketPair p = NewPair(type());
  EXPECT_ERRNO(SendFds(p.a.get(), {-1}), EBADF);
  Fd closed(dup(p.a.get()));
  int n = closed.get();
  closed.Reset();
  EXPECT_ERRNO(SendFds(p.a.get(), {n}), EBADF);
  // Nothing was sent.
  EXPECT_EQ(RecvStr(p.b.get(), 10, MSG_DONTWAIT),
            "<error " + std::string(strerror(EAGAIN)) + ">");
}

TEST_P(UnixRightsTest, AtMost253FdsPerMessage) {
  SocketPair p = NewPair(type());
  testing_util::Pipe pipe;
  std::vector<int> fds(254, pipe.w);
  EXPECT_ERRNO(SendFds(p.a.get(), fds), EINVAL);
  fds.resize(253);
  ASSERT_EQ(SendFds(p.a.get(), fds), 1) << strerror(errno);
  size_t before = OpenFdCount();
  Received r = RecvMsg(p.b.get(), 10, CMSG_SPACE(253 * sizeof(int)));
  EXPECT_EQ(r.fds.size(), 253u);
  EXPECT_EQ(OpenFdCount(), before + 253);
  CloseAll(r.fds);
}

INSTANTIATE_TEST_SUITE_P(Types, UnixRightsTest, ::testing::ValuesIn(kTypes),
                         TypeParamName);

TEST(UnixRightsStreamTest, DataWithFdsIsNotJoinedWithLaterData) {
  SocketPair p = NewPair(SOCK_STREAM);
  testing_util::Pipe pipe;
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w}, "ab"), 2);
  ASSERT_EQ(SendStr(p.a.get(), "cd"), 2);
  Received r = RecvMsg(p.b.get(), 100, CMSG_SPACE(sizeof(int)));
  EXPECT_EQ(r.data, "ab");
  ASSERT_EQ(r.fds.size(), 1u);
  CloseAll(r.fds);
  r = RecvMsg(p.b.get(), 100, CMSG_SPACE(sizeof(int)));
  EXPECT_EQ(r.data, "cd");
  EXPECT_TRUE(r.fds.empty());
}

// Earlier data is joined with the write that carries rights: the read ends
// there, with the rights.
TEST(UnixRightsStreamTest, EarlierDataIsJoinedWithTheDataWithFds) {
  SocketPair p = NewPair(SOCK_STREAM);
  testing_util::Pipe pipe;
  ASSERT_EQ(SendStr(p.a.get(), "ab"), 2);
  ASSERT_EQ(SendFds(p.a.get(), {pipe.w}, "cd"), 2);
  ASSERT_EQ(SendStr(p.a.get(), "ef"), 2);
  Received r = RecvMsg(p.b.get(), 100, CMSG_SPACE(sizeof(int)));
  EXPECT_EQ(r.data, "abcd");
  ASSERT_EQ(r.fds.size(), 1u);
  CloseAll(r.fds);
  r = RecvMsg(p.b.get(), 100, CMSG_SPACE(sizeof(int)));
  EXPECT_EQ(r.data, "ef");
  EXPECT_TRUE(r.fds.empty());
}

// ------------------------------------------- SCM_CREDENTIALS, SO_PEERCRED

TEST(UnixCredsTest, SoPasscredDeliversTheSendersCredentials) {
  for (int type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    SocketPair p = NewPair(type);
    EXPECT_EQ(GetIntOpt(p.b.get(), SO_PASSCRED), 0);
    SetIntOpt(p.b.get(), SO_PASSCRED, 1);
    EXPECT_EQ(GetIntOpt(p.b.get(), SO_PASSCRED), 1);
    int fd = p.a.get();
    pid_t child = ForkChild([fd] { send(fd, "c", 1, 0); });
    ASSERT_GT(child, 0);
    EXPECT_EQ(WaitStatus(child), 0);
    Received r = RecvMsg(p.b.get(), 10, CMSG_SPACE(sizeof(struct ucred)));
    ASSERT_EQ(r.n, 1) << strerror(r.err);
    ASSERT_TRUE(r.has_creds);
    EXPECT_EQ(r.creds.pid, child);
    EXPECT_EQ(r.creds.uid, geteuid());
    EXPECT_EQ(r.creds.gid, getegid());
    // And the receiver's own sends, received by a socket without the
    // option, carry none.
    ASSERT_EQ(SendStr(p.b.get(), "n"), 1);
    r = RecvMsg(p.a.get(), 10, CMSG_SPACE(sizeof(struct ucred)));
    ASSERT_EQ(r.n, 1) << strerror(r.err);
    EXPECT_FALSE(r.has_creds);
    EXPECT_EQ(r.controllen, 0u);
  }
}

TEST(UnixCredsTest, ExplicitCredentialsMustBeTheSendersOwn) {
  SocketPair p = NewPair(SOCK_DGRAM);
  SetIntOpt(p.b.get(), SO_PASSCRED, 1);
  int fd = p.a.get();
  auto send_creds = [](int sock, struct ucred cred) {
    char control[CMSG_SPACE(sizeof(cred))] = {};
    struct iovec iov = {const_cast<char*>("k"), 1};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(cred));
    memcpy(CMSG_DATA(c), &cred, sizeof(cred));
    return sendmsg(sock, &msg, 0);
  };
  int status = RunInChild([&] {
    BecomeNobody();
    // Its own credentials pass.
    CHILD_CHECK(send_creds(fd, {getpid(), 65534, 65534}) == 1);
    // Claiming another uid, gid or pid is EPERM for an unprivileged sender.
    CHILD_CHECK(send_creds(fd, {getpid(), 0, 65534}) == -1 && errno == EPERM);
    CHILD_CHECK(send_creds(fd, {getpid(), 65534, 0}) == -1 && errno == EPERM);
    CHILD_CHECK(send_creds(fd, {getppid(), 65534, 65534}) == -1 &&
                errno == EPERM);
    return 0;
  });
  EXPECT_TRUE(ExitedWith(status, 0));
  Received r =
      RecvMsg(p.b.get(), 10, CMSG_SPACE(sizeof(struct ucred)), MSG_DONTWAIT);
  ASSERT_EQ(r.n, 1) << strerror(r.err);
  ASSERT_TRUE(r.has_creds);
  EXPECT_EQ(r.creds.uid, 65534u);
  EXPECT_EQ(r.creds.gid, 65534u);
  EXPECT_ERRNO(recv(p.b.get(), r.data.data(), 1, MSG_DONTWAIT), EAGAIN);
}

TEST(UnixCredsTest, PeerCredOfAConnection) {
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr);
  pid_t parent = getpid();
  uid_t parent_uid = geteuid();
  pid_t child = ForkChild([&] {
    BecomeNobody();
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHILD_CHECK(connect(s, addr.sa(), addr.len) == 0);
    // The client sees the credentials of whoever called listen().
    struct ucred cred = {};
    socklen_t len = sizeof(cred);
    CHILD_CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0);
    CHILD_CHECK(len == sizeof(cred));
    CHILD_CHECK(cred.pid == parent);
    CHILD_CHECK(cred.uid == parent_uid);
    // Wait for the parent to look before exiting.
    char c;
    CHILD_CHECK(read(s, &c, 1) == 1);
  });
  ASSERT_GT(child, 0);
  Fd s = Accept(l.get());
  if (s.get() < 0) {
    testing_util::KillAndReap(child);
    return;
  }
  struct ucred cred = {};
  socklen_t len = sizeof(cred);
  ASSERT_OK(getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len));
  EXPECT_EQ(cred.pid, child);
  EXPECT_EQ(cred.uid, 65534u);
  EXPECT_EQ(cred.gid, 65534u);
  SendStr(s.get(), "k");
  EXPECT_EQ(WaitStatus(child), 0);
}

TEST(UnixCredsTest, PeerCredOfAnUnconnectedSocket) {
  Fd s = NewSocket(SOCK_STREAM);
  struct ucred cred = {1, 2, 3};
  socklen_t len = sizeof(cred);
  ASSERT_OK(getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len));
  EXPECT_EQ(len, sizeof(cred));
  EXPECT_EQ(cred.pid, 0);
  EXPECT_EQ(cred.uid, static_cast<uid_t>(-1));
  EXPECT_EQ(cred.gid, static_cast<gid_t>(-1));
}

// ---------------------------------------------------------- socket options

TEST(UnixSockoptTest, BufferSizesAreDoubled) {
  SocketPair p = NewPair(SOCK_STREAM);
  SetIntOpt(p.a.get(), SO_SNDBUF, 8192);
  EXPECT_EQ(GetIntOpt(p.a.get(), SO_SNDBUF), 16384);
  SetIntOpt(p.a.get(), SO_RCVBUF, 10000);
  EXPECT_EQ(GetIntOpt(p.a.get(), SO_RCVBUF), 20000);
  // Tiny values are raised to a minimum.
  SetIntOpt(p.a.get(), SO_SNDBUF, 1);
  EXPECT_GT(GetIntOpt(p.a.get(), SO_SNDBUF), 2);
}

TEST(UnixSockoptTest, RcvtimeoMakesRecvFailWithEAGAIN) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  struct timeval tv = {0, 40000};
  ASSERT_OK(setsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  struct timeval got = {};
  socklen_t len = sizeof(got);
  ASSERT_OK(getsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &got, &len));
  EXPECT_EQ(len, sizeof(got));
  EXPECT_EQ(got.tv_sec, 0);
  EXPECT_EQ(got.tv_usec, 40000);
  int64_t start = NowNs();
  char c;
  EXPECT_ERRNO(recv(p.a.get(), &c, 1, 0), EAGAIN);
  int64_t elapsed = NowNs() - start;
  EXPECT_GE(elapsed, 35 * kMs);
  EXPECT_LT(elapsed, 2000 * kMs);
  // Data that arrives in time is returned.
  int fd = p.b.get();
  std::thread writer = RunLater(10, [fd] { SendStr(fd, "y"); });
  EXPECT_EQ(RecvStr(p.a.get(), 10), "y");
  writer.join();
}

TEST(UnixSockoptTest, RcvtimeoAppliesToAccept) {
  Watchdog watchdog;
  Fd l = Listener(UniqueAbstractAddr());
  struct timeval tv = {0, 20000};
  ASSERT_OK(setsockopt(l.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  EXPECT_ERRNO(accept(l.get(), nullptr, nullptr), EAGAIN);
}

TEST(UnixSockoptTest, SndtimeoMakesAFullSendFailWithEAGAIN) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  FillStream(p.a.get());
  struct timeval tv = {0, 20000};
  ASSERT_OK(setsockopt(p.a.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
  std::string chunk(4096, 'x');
  EXPECT_ERRNO(send(p.a.get(), chunk.data(), chunk.size(), 0), EAGAIN);
}

TEST(UnixSockoptTest, TimeoutErrors) {
  SocketPair p = NewPair(SOCK_STREAM);
  struct timeval tv = {0, 1000000};
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
               EDOM);
  tv = {0, -1};
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)),
               EDOM);
  tv = {0, 1000};
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, 4), EINVAL);
  // A zero timeout means "never time out".
  tv = {0, 0};
  ASSERT_OK(setsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  struct timeval got = {1, 1};
  socklen_t len = sizeof(got);
  ASSERT_OK(getsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &got, &len));
  EXPECT_EQ(got.tv_sec, 0);
  EXPECT_EQ(got.tv_usec, 0);
}

TEST(UnixSockoptTest, OptlenErrors) {
  SocketPair p = NewPair(SOCK_STREAM);
  int v = 4096;
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, SO_PASSCRED, &v, 0), EINVAL);
  socklen_t len = static_cast<socklen_t>(-1);
  EXPECT_ERRNO(getsockopt(p.a.get(), SOL_SOCKET, SO_TYPE, &v, &len), EINVAL);
  // A larger optlen is cut down to the option's size.
  int64_t big = -1;
  len = sizeof(big);
  ASSERT_OK(getsockopt(p.a.get(), SOL_SOCKET, SO_TYPE, &big, &len));
  EXPECT_EQ(len, sizeof(int));
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF,
                          reinterpret_cast<void*>(8), sizeof(int)),
               EFAULT);
}

TEST(UnixSockoptTest, UnknownOptionsAndLevels) {
  SocketPair p = NewPair(SOCK_STREAM);
  int v = 1;
  socklen_t len = sizeof(v);
  EXPECT_ERRNO(getsockopt(p.a.get(), SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
  EXPECT_ERRNO(setsockopt(p.a.get(), SOL_SOCKET, 9999, &v, sizeof(v)),
               ENOPROTOOPT);
  // AF_UNIX has no options at any other level.
  len = sizeof(v);
  EXPECT_ERRNO(getsockopt(p.a.get(), IPPROTO_TCP, 1, &v, &len), EOPNOTSUPP);
  EXPECT_ERRNO(setsockopt(p.a.get(), IPPROTO_TCP, 1, &v, sizeof(v)),
               EOPNOTSUPP);
}

TEST(UnixSockoptTest, SocketCallsOnANonSocketAreENOTSOCK) {
  testing_util::Pipe pipe;
  int v = 1;
  socklen_t len = sizeof(v);
  EXPECT_ERRNO(getsockopt(pipe.r, SOL_SOCKET, SO_TYPE, &v, &len), ENOTSOCK);
  EXPECT_ERRNO(setsockopt(pipe.r, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)),
               ENOTSOCK);
  Addr addr = UniqueAbstractAddr();
  EXPECT_ERRNO(bind(pipe.r, addr.sa(), addr.len), ENOTSOCK);
  EXPECT_ERRNO(connect(pipe.r, addr.sa(), addr.len), ENOTSOCK);
  EXPECT_ERRNO(listen(pipe.r, 1), ENOTSOCK);
  EXPECT_ERRNO(accept(pipe.r, nullptr, nullptr), ENOTSOCK);
  EXPECT_ERRNO(shutdown(pipe.r, SHUT_RD), ENOTSOCK);
  EXPECT_ERRNO(send(pipe.w, "x", 1, 0), ENOTSOCK);
  char c;
  EXPECT_ERRNO(recv(pipe.r, &c, 1, MSG_DONTWAIT), ENOTSOCK);
  struct sockaddr_un sun;
  len = sizeof(sun);
  EXPECT_ERRNO(
      getsockname(pipe.r, reinterpret_cast<struct sockaddr*>(&sun), &len),
      ENOTSOCK);
  // A closed descriptor is EBADF instead.
  Fd s = NewSocket(SOCK_STREAM);
  int n = s.get();
  s.Reset();
  len = sizeof(v);
  EXPECT_ERRNO(getsockopt(n, SOL_SOCKET, SO_TYPE, &v, &len), EBADF);
  EXPECT_ERRNO(setsockopt(n, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)), EBADF);
}

// ------------------------------------------------------------------ FIONREAD

TEST(UnixIoctlTest, FionreadOnAStreamCountsEveryByte) {
  SocketPair p = NewPair(SOCK_STREAM);
  int avail = -1;
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  ASSERT_EQ(SendStr(p.a.get(), "hello"), 5);
  ASSERT_EQ(SendStr(p.a.get(), "world!"), 6);
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 11);
  EXPECT_EQ(RecvStr(p.b.get(), 3), "hel");
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 8);
  // The sender's own queue is empty.
  ASSERT_OK(ioctl(p.a.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
}

TEST(UnixIoctlTest, FionreadOnASeqpacketCountsEveryByte) {
  SocketPair p = NewPair(SOCK_SEQPACKET);
  ASSERT_EQ(SendStr(p.a.get(), "hello"), 5);
  ASSERT_EQ(SendStr(p.a.get(), "world!"), 6);
  int avail = -1;
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 11);
}

TEST(UnixIoctlTest, FionreadOnADgramIsTheNextDatagram) {
  SocketPair p = NewPair(SOCK_DGRAM);
  int avail = -1;
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  ASSERT_EQ(SendStr(p.a.get(), "hello"), 5);
  ASSERT_EQ(SendStr(p.a.get(), "world!"), 6);
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 5);
  EXPECT_EQ(RecvStr(p.b.get(), 100), "hello");
  ASSERT_OK(ioctl(p.b.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 6);
}

TEST(UnixIoctlTest, FionreadOnAListenerIsEINVAL) {
  Fd l = Listener(UniqueAbstractAddr());
  int avail = -1;
  EXPECT_ERRNO(ioctl(l.get(), FIONREAD, &avail), EINVAL);
}

// ---------------------------------------------------------- poll and epoll

TEST(UnixPollTest, StreamReadiness) {
  SocketPair p = NewPair(SOCK_STREAM);
  EXPECT_EQ(Revents(p.a.get()), POLLOUT);
  ASSERT_EQ(SendStr(p.b.get(), "x"), 1);
  EXPECT_EQ(Revents(p.a.get()), POLLIN | POLLOUT);
  EXPECT_EQ(Revents(p.b.get()), POLLOUT);
  EXPECT_EQ(RecvStr(p.a.get(), 10), "x");
  EXPECT_EQ(Revents(p.a.get()), POLLOUT);
}

TEST(UnixPollTest, PeerShutdownWrIsPollrdhupWithoutPollhup) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_OK(shutdown(p.b.get(), SHUT_WR));
  EXPECT_EQ(Revents(p.a.get()), POLLIN | POLLOUT | POLLRDHUP);
  // The side that shut down only lost its writing half.
  EXPECT_EQ(Revents(p.b.get()), POLLOUT);
}

TEST(UnixPollTest, PeerCloseIsPollhup) {
  SocketPair p = NewPair(SOCK_STREAM);
  p.b.Reset();
  EXPECT_EQ(Revents(p.a.get()), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  // POLLHUP comes even when not asked for.
  EXPECT_EQ(Revents(p.a.get(), 0), POLLHUP);
}

TEST(UnixPollTest, ShutdownBothWaysIsPollhup) {
  SocketPair p = NewPair(SOCK_STREAM);
  ASSERT_OK(shutdown(p.a.get(), SHUT_RDWR));
  EXPECT_EQ(Revents(p.a.get()) & (POLLIN | POLLRDHUP | POLLHUP),
            POLLIN | POLLRDHUP | POLLHUP);
  EXPECT_EQ(Revents(p.b.get()) & (POLLIN | POLLRDHUP | POLLHUP),
            POLLIN | POLLRDHUP | POLLHUP);
}

TEST(UnixPollTest, AnUnconnectedStreamSocketIsHungUp) {
  Fd s = NewSocket(SOCK_STREAM);
  EXPECT_EQ(Revents(s.get()), POLLOUT | POLLHUP);
}

TEST(UnixPollTest, AFullStreamIsNotWritableUntilDrained) {
  SocketPair p = NewPair(SOCK_STREAM);
  size_t total = FillStream(p.a.get());
  EXPECT_GT(total, 0u);
  EXPECT_EQ(Revents(p.a.get()), 0);
  std::vector<char> buf(total);
  size_t got = 0;
  while (got < total) {
    ssize_t n = recv(p.b.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    ASSERT_GT(n, 0) << strerror(errno);
    got += static_cast<size_t>(n);
  }
  EXPECT_EQ(Revents(p.a.get()), POLLOUT);
}

TEST(UnixPollTest, DgramReadiness) {
  SocketPair p = NewPair(SOCK_DGRAM);
  EXPECT_EQ(Revents(p.a.get()), POLLOUT);
  ASSERT_EQ(SendStr(p.b.get(), "x"), 1);
  EXPECT_EQ(Revents(p.a.get()), POLLIN | POLLOUT);
  Fd unbound = NewSocket(SOCK_DGRAM);
  // Unlike a stream socket, an unconnected datagram socket is not hung up.
  EXPECT_EQ(Revents(unbound.get()), POLLOUT);
}

TEST(UnixPollTest, ABlockingPollIsWokenByData) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  int fd = p.b.get();
  std::thread writer = RunLater(30, [fd] { SendStr(fd, "x"); });
  struct pollfd pfd = {p.a.get(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
  writer.join();
}

TEST(UnixEpollTest, EpollWaitIsWokenByDataAndHangup) {
  Watchdog watchdog;
  SocketPair p = NewPair(SOCK_STREAM);
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(ep.get(), 0) << strerror(errno);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = 42;
  ASSERT_OK(epoll_ctl(ep.get(), EPOLL_CTL_ADD, p.a.get(), &ev));
  struct epoll_event out[2] = {};
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 0);
  int fd = p.b.get();
  std::thread writer = RunLater(30, [fd] { SendStr(fd, "x"); });
  ASSERT_EQ(epoll_wait(ep.get(), out, 2, 10000), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u64, 42u);
  writer.join();
  EXPECT_EQ(RecvStr(p.a.get(), 10), "x");
  std::thread closer = RunLater(30, [&p] { p.b.Reset(); });
  ASSERT_EQ(epoll_wait(ep.get(), out, 2, 10000), 1);
  closer.join();
  EXPECT_EQ(out[0].events,
            static_cast<uint32_t>(EPOLLIN | EPOLLRDHUP | EPOLLHUP));
}

TEST(UnixEpollTest, EdgeTriggeredListener) {
  Addr addr = UniqueAbstractAddr();
  Fd l = Listener(addr);
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(ep.get(), 0) << strerror(errno);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ASSERT_OK(epoll_ctl(ep.get(), EPOLL_CTL_ADD, l.get(), &ev));
  struct epoll_event out[2] = {};
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 0);
  Fd c = Connected(addr);
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 1);
  // Edge-triggered: no new connection, no new event.
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 0);
  Fd c2 = Connected(addr);
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 1);
}

// ----------------------------------------------------------------- signals

std::atomic<int> g_handled{0};
void CountSignal(int, siginfo_t*, void*) { g_handled++; }

TEST(UnixInterruptTest, ABlockedRecvFailsWithEINTR) {
  Watchdog watchdog;
  ScopedAction action(SIGUSR1, CountSignal, 0);
  SocketPair p = NewPair(SOCK_STREAM);
  char c;
  ssize_t n;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    n = recv(p.a.get(), &c, 1, 0);
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR) << strerror(err);
}

TEST(UnixInterruptTest, ABlockedAcceptFailsWithEINTR) {
  Watchdog watchdog;
  ScopedAction action(SIGUSR1, CountSignal, 0);
  Fd l = Listener(UniqueAbstractAddr());
  int n;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    n = accept(l.get(), nullptr, nullptr);
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR) << strerror(err);
}

TEST(UnixInterruptTest, WithSaRestartABlockedRecvResumes) {
  Watchdog watchdog;
  ScopedAction action(SIGUSR1, CountSignal, SA_RESTART);
  SocketPair p = NewPair(SOCK_DGRAM);
  g_handled = 0;
  std::thread writer;
  std::string got;
  {
    Interrupter interrupter(SIGUSR1);
    int fd = p.b.get();
    writer = std::thread([fd] {
      WaitFor([] { return g_handled >= 3; });
      SendStr(fd, "late");
    });
    got = RecvStr(p.a.get(), 10);
  }
  writer.join();
  EXPECT_EQ(got, "late");
  EXPECT_GE(g_handled.load(), 3);
}

TEST(UnixInterruptTest, WithATimeoutSaRestartStillGivesEINTR) {
  // A socket timeout turns the restart into EINTR (sock_intr_errno).
  Watchdog watchdog;
  ScopedAction action(SIGUSR1, CountSignal, SA_RESTART);
  SocketPair p = NewPair(SOCK_STREAM);
  struct timeval tv = {10, 0};
  ASSERT_OK(setsockopt(p.a.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  char c;
  ssize_t n;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    n = recv(p.a.get(), &c, 1, 0);
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR) << strerror(err);
}

}  // namespace

// A blocking stream send bigger than the peer will take, to a peer that
// never reads, waits; a signal ends the wait with the count sent so far.
// (The sandbox once spun here after the first piece, deaf to signals.)
TEST(UnixSocketTest, BlockingSendToAFullPeerIsInterruptedWithPartialCount) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::vector<char> buf(16 << 20, 'x');
  Watchdog watchdog;
  // SIGUSR1 at this thread, again and again: CI once hung here with a
  // one-shot ITIMER_REAL, whose process-directed signal may come before
  // send blocks, or go to another thread.
  ScopedAction action(SIGUSR1, CountSignal, 0);  // no SA_RESTART
  ssize_t n;
  int err;
  {
    Interrupter interrupter(SIGUSR1);
    n = send(sv[0], buf.data(), buf.size(), 0);
    err = errno;
  }
  EXPECT_GT(n, 0) << strerror(err);
  EXPECT_LT(n, static_cast<ssize_t>(buf.size()));
  // Nothing more fits, so a second send with nothing queued fails EINTR.
  {
    Interrupter interrupter(SIGUSR1);
    n = send(sv[0], buf.data(), buf.size(), 0);
    err = errno;
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR);
  close(sv[0]);
  close(sv[1]);
}
