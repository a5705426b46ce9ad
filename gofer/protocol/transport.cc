#include "gofer/protocol/transport.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gofer/protocol/messages.h"

namespace gofer::proto {

int SendPacket(int sock, const std::vector<uint8_t>& data, int fd) {
  struct iovec iov = {const_cast<uint8_t*>(data.data()), data.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    // Without an fd, send(2): the sentry's seccomp filter refuses
    // sendmsg (see sentry/boot/sentry_seccomp.h).
    ssize_t n = fd >= 0 ? sendmsg(sock, &msg, MSG_NOSIGNAL)
                        : send(sock, data.data(), data.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(data.size())) return 0;
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? errno : EIO;
  }
}

int RecvPacket(int sock, std::vector<uint8_t>* buf, sentry::HostFd* fd,
               bool* fds_lost) {
  // Learn the packet's size first (SOCK_SEQPACKET keeps boundaries, and
  // MSG_TRUNC reports the whole length): zero-filling a buffer of the
  // largest size for every message cost more than this extra call.
  ssize_t size;
  do {
    struct msghdr peek = {};
    size = recvmsg(sock, &peek, MSG_PEEK | MSG_TRUNC);
  } while (size < 0 && errno == EINTR);
  if (size < 0) return errno;
  // One byte more than the limit lets an oversized packet show as MSG_TRUNC.
  buf->resize(
      std::clamp<size_t>(static_cast<size_t>(size), 1, kMaxMessageSize + 1));
  struct iovec iov = {buf->data(), buf->size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // Room for a few fds so that extra ones arrive (and get closed) rather
  // than being silently discarded by the kernel with MSG_CTRUNC.
  alignas(struct cmsghdr) char control[CMSG_SPACE(16 * sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  bool kept = false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int received;
      memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (fd != nullptr && !kept) {
        fd->Reset(received);
        kept = true;
      } else {
        close(received);
      }
    }
  }
  if (n == 0) return ECONNRESET;
  if ((msg.msg_flags & MSG_TRUNC) != 0 ||
      static_cast<size_t>(n) > kMaxMessageSize) {
    return EMSGSIZE;
  }
  if (fds_lost != nullptr) *fds_lost = (msg.msg_flags & MSG_CTRUNC) != 0;

  buf->resize(static_cast<size_t>(n));
  return 0;
}

}  // namespace gofer::proto
