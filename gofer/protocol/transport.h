// One packet at a time over a SOCK_SEQPACKET socket, with at most one fd.

#ifndef GOFER_PROTOCOL_TRANSPORT_H_
#define GOFER_PROTOCOL_TRANSPORT_H_

#include <cstdint>
#include <vector>

#include "sentry/base/host_fd.h"

namespace gofer::proto {

// Sends `data` as one packet, with `fd` attached as SCM_RIGHTS if >= 0.
// Returns 0 or an errno (EPIPE when the peer is gone).
int SendPacket(int sock, const std::vector<uint8_t>& data, int fd = -1);

// Receives one packet into `buf`. If the packet carries fds, the first goes
// to `*fd` (when fd is non-null) and every other one is closed, so a hostile
// peer cannot make us leak descriptors. Returns 0, ECONNRESET at end of
// stream, EMSGSIZE for a packet over kMaxMessageSize, or another errno.
// `*fds_lost` (if given) says the kernel dropped fds the peer sent, which
// happens when this process has no fd slot left (MSG_CTRUNC).
int RecvPacket(int sock, std::vector<uint8_t>* buf, sentry::HostFd* fd,
               bool* fds_lost = nullptr);

}  // namespace gofer::proto

#endif  // GOFER_PROTOCOL_TRANSPORT_H_
