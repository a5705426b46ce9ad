// The gofer's file server: answers protocol requests against the one tree it
// serves, holding a host fd per handle.
//
// Every request is hostile input. A malformed packet or an impossible request
// gets an errno reply; nothing a client sends can crash the server, make it
// open anything outside its root, or leak a descriptor.
//
// Changes (create, mkdir, mknod, symlink, link, unlink, rename, setattr,
// open for writing) are made with *at() calls relative to held handles, each
// on one validated name, never through a symlink and never inside a kernel
// pseudo filesystem. New files get exactly the requested mode, so the process
// umask must be 0 (RunGofer sets it), and the requested owner (fchownat after
// the create; a gofer without CAP_CHOWN keeps its own ids).
//
// Single-threaded; not thread-safe. Each request runs to its end before the
// next: no other request of the client can come between a create and the
// chown that follows it.

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
  sentry::SysResult<proto::Node> Create(const proto::CreateRequest& req,
                                        sentry::HostFd* donate);
  sentry::SysResult<proto::Node> Mkdir(const proto::MkdirRequest& req);
  sentry::SysResult<proto::Node> Mknod(const proto::MkdirRequest& req);
  sentry::SysResult<proto::Node> Symlink(const proto::SymlinkRequest& req);
  sentry::SysResult<proto::Empty> Link(const proto::LinkRequest& req);
  sentry::SysResult<proto::Empty> Unlink(const proto::UnlinkRequest& req);
  sentry::SysResult<proto::Empty> Rename(const proto::RenameRequest& req);
  sentry::SysResult<proto::Attr> SetAttr(const proto::SetAttrRequest& req);

  // The directory a change is made in: a writable server, a handle of a
  // directory that is not opaque, and a valid `name`.
  sentry::SysResult<const Entry*> LookupDirForChange(
      uint64_t handle, const std::string& name) const;
  // Gives the file just made as `name` in `dir` the owner uid:gid and
  // returns a handle of it. The name is opened with O_NOFOLLOW.
  sentry::SysResult<proto::Node> AdoptNew(const Entry& dir,
                                          const std::string& name, uint32_t uid,
                                          uint32_t gid);
  // fchownat of an O_PATH fd; EPERM (a gofer without CAP_CHOWN) is not an
  // error: the file keeps the gofer's ids.
  sentry::SysResult<void> Chown(int fd, uint32_t uid, uint32_t gid) const;

  sentry::SysResult<const Entry*> Lookup(uint64_t handle) const;
  // Lookup for calls that reach a file's contents: EACCES if opaque.
  sentry::SysResult<const Entry*> LookupContents(uint64_t handle) const;
  sentry::SysResult<proto::Node> AddHandle(sentry::HostFd fd);
  // Reopens a handle's file with `flags` through /proc/self/fd.
  sentry::SysResult<sentry::HostFd> Reopen(const Entry& e, int flags) const;
  sentry::SysResult<sentry::HostFd> ReopenFd(int held, int flags) const;

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
