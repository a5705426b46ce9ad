#include "gofer/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "gofer/protocol/transport.h"

namespace gofer {

using sentry::Errno;
using sentry::HostFd;
using sentry::SysResult;

namespace {

// Open flags a client may ask for; anything else is EINVAL.
constexpr uint32_t kAllowedOpenFlags =
    O_ACCMODE | O_APPEND | O_DIRECTORY | O_NONBLOCK | O_TRUNC | O_NOATIME;

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
  char d_name[];
};

// Decodes a request of type Req, runs `fn`, and encodes its reply or errno.
template <typename Req, typename Fn>
std::vector<uint8_t> Dispatch(const proto::Packet& p, Fn&& fn) {
  uint16_t reply_type = static_cast<uint16_t>(p.header.type | proto::kReplyBit);
  Req req;
  if (!proto::DecodeBody(p, &req)) {
    return proto::Encode(
        static_cast<uint16_t>(proto::MsgType::kError) | proto::kReplyBit,
        p.header.tag, proto::ErrorReply{EINVAL});
  }
  auto result = fn(req);
  if (!result.ok()) {
    return proto::Encode(
        static_cast<uint16_t>(proto::MsgType::kError) | proto::kReplyBit,
        p.header.tag, proto::ErrorReply{result.err()});
  }
  return proto::Encode(reply_type, p.header.tag, *result);
}

}  // namespace

bool IsKernelPseudoFilesystem(int64_t type) {
  switch (static_cast<uint64_t>(type)) {
    case 0x9fa0:      // proc
    case 0x62656572:  // sysfs
    case 0x64626720:  // debugfs
    case 0x74726163:  // tracefs
    case 0x73636673:  // securityfs
    case 0x27e0eb:    // cgroup
    case 0x63677270:  // cgroup2
    case 0xcafe4a11:  // bpf
    case 0x62656570:  // configfs
    case 0x1cd1:      // devpts
    case 0xde5e81e4:  // efivarfs
    case 0x6165676c:  // pstore
    case 0x65735543:  // fusectl
    case 0xf97cff8c:  // selinuxfs
    case 0x43415d53:  // smackfs
    case 0x42494e4d:  // binfmt_misc
    case 0x6e736673:  // nsfs
    case 0x19800202:  // mqueue
      return true;
    default:
      return false;
  }
}

proto::Attr AttrFromStat(const struct stat& st) {
  proto::Attr a;
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.nlink = st.st_nlink;
  a.ino = st.st_ino;
  a.dev = st.st_dev;
  a.rdev = st.st_rdev;
  a.size = static_cast<uint64_t>(st.st_size);
  a.blocks = static_cast<uint64_t>(st.st_blocks);
  a.blksize = static_cast<uint32_t>(st.st_blksize);
  a.atime = {st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec)};
  a.mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec)};
  a.ctime = {st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec)};
  return a;
}

Server::Server(HostFd root, HostFd proc_self_fd, ServerOptions options)
    : root_(std::move(root)),
      proc_self_fd_(std::move(proc_self_fd)),
      options_(options) {}

std::vector<uint8_t> Server::Handle(const uint8_t* data, size_t size,
                                    HostFd* donate) {
  std::optional<proto::Packet> p = proto::ParsePacket(data, size);
  if (!p) {
    return proto::Encode(
        static_cast<uint16_t>(proto::MsgType::kError) | proto::kReplyBit, 0,
        proto::ErrorReply{EINVAL});
  }
  switch (static_cast<proto::MsgType>(p->header.type)) {
    case proto::MsgType::kAttach:
      return Dispatch<proto::Empty>(
          *p, [&](const proto::Empty&) { return Attach(); });
    case proto::MsgType::kWalk:
      return Dispatch<proto::WalkRequest>(
          *p, [&](const auto& r) { return Walk(r); });
    case proto::MsgType::kGetAttr:
      return Dispatch<proto::HandleRequest>(
          *p, [&](const auto& r) { return GetAttr(r); });
    case proto::MsgType::kOpen:
      return Dispatch<proto::OpenRequest>(
          *p, [&](const auto& r) { return Open(r, donate); });
    case proto::MsgType::kReadDir:
      return Dispatch<proto::ReadDirRequest>(
          *p, [&](const auto& r) { return ReadDir(r); });
    case proto::MsgType::kReadLink:
      return Dispatch<proto::HandleRequest>(
          *p, [&](const auto& r) { return ReadLink(r); });
    case proto::MsgType::kStatFs:
      return Dispatch<proto::HandleRequest>(
          *p, [&](const auto& r) { return StatFs(r); });
    case proto::MsgType::kClose:
      return Dispatch<proto::CloseRequest>(
          *p, [&](const auto& r) { return Close(r); });
    default:
      return proto::Encode(
          static_cast<uint16_t>(proto::MsgType::kError) | proto::kReplyBit,
          p->header.tag, proto::ErrorReply{ENOSYS});
  }
}

absl::Status Server::Serve(int sock) {
  std::vector<uint8_t> buf;
  for (;;) {
    HostFd unused;
    int err = proto::RecvPacket(sock, &buf, &unused);
    if (err == ECONNRESET) return absl::OkStatus();  // The sentry is gone.
    std::vector<uint8_t> reply;
    HostFd donate;
    if (err == EMSGSIZE) {
      reply = proto::Encode(
          static_cast<uint16_t>(proto::MsgType::kError) | proto::kReplyBit, 0,
          proto::ErrorReply{EMSGSIZE});
    } else if (err != 0) {
      return absl::InternalError(
          absl::StrCat("gofer: receiving a request: ", strerror(err)));
    } else {
      reply = Handle(buf.data(), buf.size(), &donate);
    }
    err = proto::SendPacket(sock, reply, donate.get());
    if (err == EPIPE || err == ECONNRESET) return absl::OkStatus();
    if (err != 0) {
      return absl::InternalError(
          absl::StrCat("gofer: sending a reply: ", strerror(err)));
    }
  }
}

SysResult<const Server::Entry*> Server::Lookup(uint64_t handle) const {
  auto it = handles_.find(handle);
  if (it == handles_.end()) return Errno(EBADF);
  return &it->second;
}

SysResult<const Server::Entry*> Server::LookupContents(uint64_t handle) const {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, Lookup(handle));
  if (e->opaque) {
    LOG(WARNING) << "gofer: refused access into a kernel pseudo filesystem";
    return Errno(EACCES);
  }
  return e;
}

SysResult<proto::Node> Server::AddHandle(HostFd fd) {
  if (handles_.size() >= options_.max_handles) return Errno(ENFILE);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno::FromHost();
  struct statfs sfs;
  if (fstatfs(fd.get(), &sfs) != 0) return Errno::FromHost();
  proto::Node node;
  node.handle = next_handle_++;
  node.attr = AttrFromStat(st);
  handles_.emplace(node.handle, Entry{std::move(fd), st.st_mode & S_IFMT,
                                      IsKernelPseudoFilesystem(sfs.f_type)});
  return node;
}

SysResult<HostFd> Server::Reopen(const Entry& e, int flags) const {
  std::string name = std::to_string(e.fd.get());
  int fd =
      openat(proc_self_fd_.get(), name.c_str(), flags | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Errno::FromHost();
  return HostFd(fd);
}

SysResult<proto::AttachReply> Server::Attach() {
  int fd = fcntl(root_.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Errno::FromHost();
  SENTRY_ASSIGN_OR_RETURN(proto::Node node, AddHandle(HostFd(fd)));
  return proto::AttachReply{node};
}

SysResult<proto::WalkReply> Server::Walk(const proto::WalkRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir, LookupContents(req.dir));
  proto::WalkReply reply;
  int dir_fd = dir->fd.get();
  uint32_t dir_mode = dir->mode;
  bool dir_opaque = false;  // LookupContents refused an opaque start
  if (req.names.size() > proto::kMaxWalkNames) return Errno(EINVAL);
  for (const std::string& name : req.names) {
    if (!proto::IsValidName(name)) {
      reply.error = EINVAL;
      break;
    }
    if (dir_mode != S_IFDIR) {
      reply.error = ENOTDIR;
      break;
    }
    if (dir_opaque) {
      reply.error = EACCES;
      break;
    }
    // O_NOFOLLOW: a symlink is returned as itself; the sentry resolves it.
    int fd = openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      reply.error = errno;
      break;
    }
    SysResult<proto::Node> node = AddHandle(HostFd(fd));
    if (!node.ok()) {
      reply.error = node.err();
      break;
    }
    const Entry& added = handles_.at(node->handle);
    dir_fd = added.fd.get();
    dir_mode = added.mode;
    dir_opaque = added.opaque;

    reply.nodes.push_back(*node);
  }
  if (reply.nodes.empty() && reply.error != 0) return Errno(reply.error);
  return reply;
}

SysResult<proto::Attr> Server::GetAttr(const proto::HandleRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, Lookup(req.handle));
  struct stat st;
  if (fstat(e->fd.get(), &st) != 0) return Errno::FromHost();
  return AttrFromStat(st);
}

SysResult<proto::Empty> Server::Open(const proto::OpenRequest& req,
                                     HostFd* donate) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, LookupContents(req.handle));
  if ((req.flags & ~kAllowedOpenFlags) != 0) return Errno(EINVAL);
  int flags = static_cast<int>(req.flags);
  int acc = flags & O_ACCMODE;
  if (acc == O_ACCMODE) return Errno(EINVAL);
  bool writes = acc != O_RDONLY || (flags & O_TRUNC) != 0;
  switch (e->mode) {
    case S_IFREG:
      if ((flags & O_DIRECTORY) != 0) return Errno(ENOTDIR);
      break;
    case S_IFDIR:
      if (writes) return Errno(EISDIR);
      break;
    case S_IFLNK:
      return Errno(ELOOP);
    default:
      // Host devices, FIFOs and sockets stay out of the sandbox: opening one
      // could block this single-threaded server or reach host hardware.
      LOG(WARNING) << "gofer: refused to open a host file of type 0" << std::oct
                   << e->mode;
      return Errno(EPERM);
  }
  if (writes && options_.read_only) return Errno(EROFS);
  SENTRY_ASSIGN_OR_RETURN(HostFd fd, Reopen(*e, flags));
  *donate = std::move(fd);
  return proto::Empty{};
}

SysResult<proto::ReadDirReply> Server::ReadDir(
    const proto::ReadDirRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, LookupContents(req.dir));
  if (e->mode != S_IFDIR) return Errno(ENOTDIR);
  SENTRY_ASSIGN_OR_RETURN(HostFd dir, Reopen(*e, O_RDONLY | O_DIRECTORY));
  if (lseek(dir.get(), static_cast<off_t>(req.offset), SEEK_SET) < 0)
    return Errno::FromHost();
  uint32_t max_entries = std::min<uint32_t>(req.max_entries, proto::kMaxVector);
  if (max_entries == 0) return Errno(EINVAL);
  proto::ReadDirReply reply;
  // Bound the reply well under kMaxMessageSize: names are at most 255 bytes.
  constexpr size_t kReplyBudget = proto::kMaxMessageSize / 2;
  size_t bytes = 0;
  alignas(linux_dirent64) char buf[32768];
  for (;;) {
    long n = syscall(SYS_getdents64, dir.get(), buf, sizeof(buf));
    if (n < 0) return Errno::FromHost();
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<linux_dirent64*>(buf + off);
      off += d->d_reclen;
      std::string name(d->d_name);
      if (name == "." || name == "..") continue;
      bytes += name.size() + 32;
      reply.entries.push_back(proto::Dirent{d->d_ino,
                                            static_cast<uint64_t>(d->d_off),
                                            d->d_type, std::move(name)});
      if (reply.entries.size() >= max_entries || bytes >= kReplyBudget)
        return reply;
    }
  }
  return reply;
}

SysResult<proto::ReadLinkReply> Server::ReadLink(
    const proto::HandleRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, LookupContents(req.handle));
  if (e->mode != S_IFLNK) return Errno(EINVAL);
  char buf[proto::kMaxString];
  ssize_t n = readlinkat(e->fd.get(), "", buf, sizeof(buf));
  if (n < 0) return Errno::FromHost();
  if (static_cast<size_t>(n) >= sizeof(buf)) return Errno(ENAMETOOLONG);
  return proto::ReadLinkReply{std::string(buf, static_cast<size_t>(n))};
}

SysResult<proto::StatFsReply> Server::StatFs(const proto::HandleRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, Lookup(req.handle));
  struct statfs s;
  if (fstatfs(e->fd.get(), &s) != 0) return Errno::FromHost();
  proto::StatFsReply r;
  r.type = static_cast<uint64_t>(s.f_type);
  r.bsize = static_cast<uint64_t>(s.f_bsize);
  r.blocks = s.f_blocks;
  r.bfree = s.f_bfree;
  r.bavail = s.f_bavail;
  r.files = s.f_files;
  r.ffree = s.f_ffree;
  r.namelen = static_cast<uint64_t>(s.f_namelen);
  r.frsize = static_cast<uint64_t>(s.f_frsize);
  r.flags = static_cast<uint64_t>(s.f_flags);
  return r;
}

SysResult<proto::Empty> Server::Close(const proto::CloseRequest& req) {
  for (uint64_t h : req.handles) handles_.erase(h);
  return proto::Empty{};
}

}  // namespace gofer
