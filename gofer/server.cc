#include "gofer/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
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
// Open flags a Create may carry.
constexpr uint32_t kAllowedCreateFlags =
    O_ACCMODE | O_APPEND | O_NONBLOCK | O_NOATIME;

// A time of a SetAttr: a valid timespec, or UTIME_NOW/UTIME_OMIT.
bool IsValidTime(const proto::Timespec& t) {
  return t.nsec < 1000000000 || t.nsec == UTIME_NOW || t.nsec == UTIME_OMIT;
}

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
    case proto::MsgType::kCreate:
      return Dispatch<proto::CreateRequest>(
          *p, [&](const auto& r) { return Create(r, donate); });
    case proto::MsgType::kMkdir:
      return Dispatch<proto::MkdirRequest>(
          *p, [&](const auto& r) { return Mkdir(r); });
    case proto::MsgType::kMknod:
      return Dispatch<proto::MkdirRequest>(
          *p, [&](const auto& r) { return Mknod(r); });
    case proto::MsgType::kSymlink:
      return Dispatch<proto::SymlinkRequest>(
          *p, [&](const auto& r) { return Symlink(r); });
    case proto::MsgType::kLink:
      return Dispatch<proto::LinkRequest>(
          *p, [&](const auto& r) { return Link(r); });
    case proto::MsgType::kUnlink:
      return Dispatch<proto::UnlinkRequest>(
          *p, [&](const auto& r) { return Unlink(r); });
    case proto::MsgType::kRename:
      return Dispatch<proto::RenameRequest>(
          *p, [&](const auto& r) { return Rename(r); });
    case proto::MsgType::kSetAttr:
      return Dispatch<proto::SetAttrRequest>(
          *p, [&](const auto& r) { return SetAttr(r); });
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
  return ReopenFd(e.fd.get(), flags);
}

SysResult<HostFd> Server::ReopenFd(int held, int flags) const {
  // Never O_NOFOLLOW here: that would open the magic link itself.
  std::string name = std::to_string(held);
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

SysResult<const Server::Entry*> Server::LookupDirForChange(
    uint64_t handle, const std::string& name) const {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir, LookupContents(handle));
  if (dir->mode != S_IFDIR) return Errno(ENOTDIR);
  if (!proto::IsValidName(name)) return Errno(EINVAL);
  if (options_.read_only) return Errno(EROFS);
  return dir;
}

SysResult<void> Server::Chown(int fd, uint32_t uid, uint32_t gid) const {
  if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == 0) return sentry::Ok();
  // EPERM: no CAP_CHOWN. EINVAL: an id this user namespace cannot map.
  if (errno == EPERM || errno == EINVAL) {
    VLOG(1) << "gofer: no chown to " << uid << ":" << gid
            << " (not privileged); the file keeps the gofer's owner";
    return sentry::Ok();
  }
  return Errno::FromHost();
}

SysResult<proto::Node> Server::AdoptNew(const Entry& dir,
                                        const std::string& name, uint32_t uid,
                                        uint32_t gid) {
  // O_NOFOLLOW: if the name is a symlink by now (a host process raced us),
  // the handle is the symlink itself, still inside the tree.
  HostFd fd(
      openat(dir.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Errno::FromHost();
  SENTRY_RETURN_IF_ERROR(Chown(fd.get(), uid, gid));
  return AddHandle(std::move(fd));
}

SysResult<proto::Node> Server::Create(const proto::CreateRequest& req,
                                      HostFd* donate) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir,
                          LookupDirForChange(req.dir, req.name));
  if ((req.flags & ~kAllowedCreateFlags) != 0 ||
      (req.flags & O_ACCMODE) == O_ACCMODE || (req.mode & ~07777u) != 0) {
    return Errno(EINVAL);
  }
  if (handles_.size() >= options_.max_handles) return Errno(ENFILE);
  // O_EXCL never follows a symlink, not even a dangling one.
  HostFd file(openat(dir->fd.get(), req.name.c_str(),
                     static_cast<int>(req.flags) | O_CREAT | O_EXCL |
                         O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                     req.mode));
  if (!file.valid()) return Errno::FromHost();
  // The handle is the file just opened, whatever the name holds now.
  SENTRY_ASSIGN_OR_RETURN(HostFd path, ReopenFd(file.get(), O_PATH));
  SENTRY_RETURN_IF_ERROR(Chown(path.get(), req.uid, req.gid));
  // A chown clears set-user-ID and set-group-ID: give them back.
  if ((req.mode & (S_ISUID | S_ISGID)) != 0 &&
      fchmodat(proc_self_fd_.get(), std::to_string(path.get()).c_str(),
               req.mode, 0) != 0) {
    return Errno::FromHost();
  }
  SENTRY_ASSIGN_OR_RETURN(proto::Node node, AddHandle(std::move(path)));
  *donate = std::move(file);
  return node;
}

SysResult<proto::Node> Server::Mkdir(const proto::MkdirRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir,
                          LookupDirForChange(req.dir, req.name));
  if ((req.mode & ~07777u) != 0) return Errno(EINVAL);
  if (handles_.size() >= options_.max_handles) return Errno(ENFILE);
  if (mkdirat(dir->fd.get(), req.name.c_str(), req.mode) != 0)
    return Errno::FromHost();
  return AdoptNew(*dir, req.name, req.uid, req.gid);
}

SysResult<proto::Node> Server::Mknod(const proto::MkdirRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir,
                          LookupDirForChange(req.dir, req.name));
  uint32_t type = req.mode & S_IFMT;
  // No devices and no sockets: only what a guest may make anywhere.
  if ((type != S_IFIFO && type != S_IFREG) || (req.mode & ~(S_IFMT | 07777u)))
    return Errno(EPERM);
  if (handles_.size() >= options_.max_handles) return Errno(ENFILE);
  if (mknodat(dir->fd.get(), req.name.c_str(), req.mode, 0) != 0)
    return Errno::FromHost();
  return AdoptNew(*dir, req.name, req.uid, req.gid);
}

SysResult<proto::Node> Server::Symlink(const proto::SymlinkRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir,
                          LookupDirForChange(req.dir, req.name));
  if (req.target.empty() || req.target.size() >= proto::kMaxString ||
      req.target.find('\0') != std::string::npos) {
    return Errno(req.target.empty() ? ENOENT : EINVAL);
  }
  if (handles_.size() >= options_.max_handles) return Errno(ENFILE);
  if (symlinkat(req.target.c_str(), dir->fd.get(), req.name.c_str()) != 0)
    return Errno::FromHost();
  return AdoptNew(*dir, req.name, req.uid, req.gid);
}

SysResult<proto::Empty> Server::Link(const proto::LinkRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir,
                          LookupDirForChange(req.dir, req.name));
  SENTRY_ASSIGN_OR_RETURN(const Entry* target, LookupContents(req.target));
  if (target->mode == S_IFDIR) return Errno(EPERM);
  // The magic link of /proc/self/fd names the handle's file itself (a
  // symlink included), with no path walked: AT_EMPTY_PATH would need
  // CAP_DAC_READ_SEARCH in the initial namespace.
  std::string fd_name = std::to_string(target->fd.get());
  if (linkat(proc_self_fd_.get(), fd_name.c_str(), dir->fd.get(),
             req.name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    return Errno::FromHost();
  }
  return proto::Empty{};
}

SysResult<proto::Empty> Server::Unlink(const proto::UnlinkRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* dir,
                          LookupDirForChange(req.dir, req.name));
  if ((req.flags & ~static_cast<uint32_t>(AT_REMOVEDIR)) != 0)
    return Errno(EINVAL);
  if (unlinkat(dir->fd.get(), req.name.c_str(), static_cast<int>(req.flags)) !=
      0) {
    return Errno::FromHost();
  }
  return proto::Empty{};
}

SysResult<proto::Empty> Server::Rename(const proto::RenameRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* old_dir,
                          LookupDirForChange(req.old_dir, req.old_name));
  SENTRY_ASSIGN_OR_RETURN(const Entry* new_dir,
                          LookupDirForChange(req.new_dir, req.new_name));
  if ((req.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0 ||
      req.flags == (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    return Errno(EINVAL);
  }
  if (syscall(SYS_renameat2, old_dir->fd.get(), req.old_name.c_str(),
              new_dir->fd.get(), req.new_name.c_str(), req.flags) != 0) {
    return Errno::FromHost();
  }
  return proto::Empty{};
}

SysResult<proto::Attr> Server::SetAttr(const proto::SetAttrRequest& req) {
  SENTRY_ASSIGN_OR_RETURN(const Entry* e, LookupContents(req.handle));
  if ((req.valid & ~proto::kSetAttrAll) != 0 || (req.mode & ~07777u) != 0 ||
      !IsValidTime(req.atime) || !IsValidTime(req.mtime)) {
    return Errno(EINVAL);
  }
  if (options_.read_only) return Errno(EROFS);
  // Mode, size and times go through the handle's magic link, which a
  // symlink's would not name safely; Linux changes none of them on a
  // symlink through a path either.
  bool contents = (req.valid & (proto::kSetAttrMode | proto::kSetAttrSize |
                                proto::kSetAttrAtime | proto::kSetAttrMtime));
  if (contents && e->mode == S_IFLNK) return Errno(EOPNOTSUPP);
  if ((req.valid & proto::kSetAttrSize) != 0) {
    if (e->mode == S_IFDIR) return Errno(EISDIR);
    if (e->mode != S_IFREG) return Errno(EINVAL);
    if (req.size > static_cast<uint64_t>(INT64_MAX)) return Errno(EFBIG);
    SENTRY_ASSIGN_OR_RETURN(HostFd f, Reopen(*e, O_WRONLY | O_NONBLOCK));
    if (ftruncate(f.get(), static_cast<off_t>(req.size)) != 0)
      return Errno::FromHost();
  }
  if ((req.valid & (proto::kSetAttrUid | proto::kSetAttrGid)) != 0) {
    uid_t uid = (req.valid & proto::kSetAttrUid) != 0 ? req.uid : -1;
    gid_t gid = (req.valid & proto::kSetAttrGid) != 0 ? req.gid : -1;
    if (fchownat(e->fd.get(), "", uid, gid, AT_EMPTY_PATH) != 0)
      return Errno::FromHost();
  }
  std::string fd_name = std::to_string(e->fd.get());
  // After a chown, which may have cleared set-ID bits the mode now sets.
  if ((req.valid & proto::kSetAttrMode) != 0 &&
      fchmodat(proc_self_fd_.get(), fd_name.c_str(), req.mode, 0) != 0) {
    return Errno::FromHost();
  }
  if ((req.valid & (proto::kSetAttrAtime | proto::kSetAttrMtime)) != 0) {
    struct timespec ts[2];
    const proto::Timespec* in[2] = {&req.atime, &req.mtime};
    const uint32_t bits[2] = {proto::kSetAttrAtime, proto::kSetAttrMtime};
    for (int i = 0; i < 2; i++) {
      ts[i].tv_sec = static_cast<time_t>(in[i]->sec);
      ts[i].tv_nsec = (req.valid & bits[i]) != 0 ? in[i]->nsec : UTIME_OMIT;
    }
    if (utimensat(proc_self_fd_.get(), fd_name.c_str(), ts, 0) != 0)
      return Errno::FromHost();
  }
  struct stat st;
  if (fstat(e->fd.get(), &st) != 0) return Errno::FromHost();
  return AttrFromStat(st);
}

}  // namespace gofer
