// Sending a host fd over a unix socket (SCM_RIGHTS), for the gofer's
// protocol and systrap's file channels.

#ifndef SENTRY_BASE_SCM_RIGHTS_H_
#define SENTRY_BASE_SCM_RIGHTS_H_

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstring>

namespace sentry {

// sendmsg(2) of `len` bytes of `data` with `fd` attached (none if fd < 0):
// what sendmsg returns, errno set on failure.
inline ssize_t SendWithFd(int sock, const void* data, size_t len, int fd,
                          int flags) {
  struct iovec iov = {const_cast<void*>(data), len};
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
  return sendmsg(sock, &msg, flags);
}

}  // namespace sentry

#endif  // SENTRY_BASE_SCM_RIGHTS_H_
