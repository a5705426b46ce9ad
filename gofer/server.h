// The gofer's file server: answers protocol requests against the one tree it
// serves, holding a host fd per handle.
//
// Every request is hostile input. A malformed packet or an impossible request
// gets an errno reply; nothing a client sends can crash the server, make it
// open anything outside its root, or leak a descriptor.
//
// Single-threaded; not thread-safe.

#ifndef GOFER_SERVER_H_
#define GOFER_SERVER_H_

#include <sys/stat.h>

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "gofer/protocol/messages.h"
#include "sentry/base/host_fd.h"
#include "sentry/base/sys_result.h"

namespace gofer {

struct ServerOptions {
  // Refuse every request that would change the tree (EROFS).
  bool read_only = true;
  // The most handles a client may hold at once.
  size_t max_handles = 1 << 20;
};

class Server final {
 public:
  // `root`: an O_PATH directory fd of the served tree. `proc_self_fd`: an
  // O_PATH fd of /proc/self/fd, through which a handle is reopened with new
  // flags without resolving any path.
  Server(sentry::HostFd root, sentry::HostFd proc_self_fd,
         ServerOptions options);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Answers one request packet. For an Open, `*donate` receives the fd to
  // send along with the reply.
  std::vector<uint8_t> Handle(const uint8_t* data, size_t size,
                              sentry::HostFd* donate);

  // Serves `sock` until the client hangs up.
  absl::Status Serve(int sock);

  size_t handle_count() const { return handles_.size(); }

 private:
  struct Entry {
    sentry::HostFd fd;  // O_PATH | O_NOFOLLOW
    uint32_t mode;      // S_IFMT bits at walk time
    // On a kernel pseudo filesystem (proc, sys, debugfs, ...): it may be
    // stat'ed, so the sentry can mount its own over it, but never walked
    // into, opened, listed or read. The sandbox has its own /proc; a host's
    // /proc/PID/mem or /sys/kernel/debug is no business of a guest's.
    bool opaque;
  };

  sentry::SysResult<proto::AttachReply> Attach();
  sentry::SysResult<proto::WalkReply> Walk(const proto::WalkRequest& req);
  sentry::SysResult<proto::Attr> GetAttr(const proto::HandleRequest& req);
  sentry::SysResult<proto::Empty> Open(const proto::OpenRequest& req,
                                       sentry::HostFd* donate);
  sentry::SysResult<proto::ReadDirReply> ReadDir(
      const proto::ReadDirRequest& req);
  sentry::SysResult<proto::ReadLinkReply> ReadLink(
      const proto::HandleRequest& req);
  sentry::SysResult<proto::StatFsReply> StatFs(const proto::HandleRequest& req);
  sentry::SysResult<proto::Empty> Close(const proto::CloseRequest& req);

  sentry::SysResult<const Entry*> Lookup(uint64_t handle) const;
  // Lookup for calls that reach a file's contents: EACCES if opaque.
  sentry::SysResult<const Entry*> LookupContents(uint64_t handle) const;
  sentry::SysResult<proto::Node> AddHandle(sentry::HostFd fd);
  // Reopens a handle's file with `flags` through /proc/self/fd.
  sentry::SysResult<sentry::HostFd> Reopen(const Entry& e, int flags) const;

  sentry::HostFd root_;
  sentry::HostFd proc_self_fd_;
  ServerOptions options_;
  absl::flat_hash_map<uint64_t, Entry> handles_;
  uint64_t next_handle_ = 1;
};

// True for the f_type of a kernel pseudo filesystem (proc, sysfs, debugfs,
// tracefs, cgroup, ...) whose contents a sandbox must never reach.
bool IsKernelPseudoFilesystem(int64_t type);

// Fills a protocol Attr from a host stat.

proto::Attr AttrFromStat(const struct stat& st);

}  // namespace gofer

#endif  // GOFER_SERVER_H_
