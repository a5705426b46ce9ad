#include "sentry/fs/gofer/gofer_fs.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glog/logging.h"
#include "gofer/protocol/transport.h"
#include "sentry/fs/host/host_file.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::gofer {

namespace {

// A file opened through the gofer: I/O goes to the donated host fd, and
// fstat asks that fd too, so sizes are exact.
class GoferFileFD final : public HostFileFD {
 public:
  GoferFileFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<HostFd> fd,
              uint64_t dev, std::shared_ptr<std::atomic<uint64_t>> generation)
      : HostFileFD(std::move(vd), flags, std::move(fd), /*seekable=*/true),
        dev_(dev),
        generation_(std::move(generation)) {}

  ~GoferFileFD() override {
    // Writes through a shared mapping change the file with no call here.
    if (writable()) generation_->fetch_add(1);
  }

  // A write changes size and times that stat of the path reports.
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override {
    SysResult<size_t> n = HostFileFD::Write(ctx, buf, len, offset);
    generation_->fetch_add(1);
    return n;
  }

  SysResult<vfs::MmapTarget> GetMmapTarget() override {
    if (writable()) generation_->fetch_add(1);
    return HostFileFD::GetMmapTarget();
  }

  SysResult<vfs::Attr> Stat() override {
    // Opened through an overlay: the overlay's view names the file.
    if (dynamic_cast<GoferInode*>(inode().get()) == nullptr) {
      return inode()->GetAttr();
    }
    struct stat st;
    if (fstat(host_fd(), &st) != 0) return Errno::FromHost();
    return AttrFromHostStat(st, dev_);
  }

 private:
  const uint64_t dev_;
  const std::shared_ptr<std::atomic<uint64_t>> generation_;
};

// A donated fd must be what was asked for: a regular file.
SysResult<void> CheckRegular(const HostFd& fd) {
  struct stat st;
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return Errno(EIO);
  return Ok();
}

proto::Timespec ToProto(const struct timespec& t) {
  return proto::Timespec{static_cast<int64_t>(t.tv_sec),
                         static_cast<uint32_t>(t.tv_nsec)};
}

}  // namespace

vfs::Attr AttrFromProto(const proto::Attr& a, uint64_t dev) {
  vfs::Attr out;
  out.ino = a.ino;
  out.dev = dev;
  out.mode = a.mode;
  out.nlink = static_cast<uint32_t>(a.nlink);
  out.uid = a.uid;
  out.gid = a.gid;
  out.rdev = a.rdev;
  out.size = a.size;
  out.blocks = a.blocks;
  out.blksize = a.blksize;
  out.atime = {a.atime.sec, static_cast<long>(a.atime.nsec)};
  out.mtime = {a.mtime.sec, static_cast<long>(a.mtime.nsec)};
  out.ctime = {a.ctime.sec, static_cast<long>(a.ctime.nsec)};
  return out;
}

bool GoferClient::dead() const {
  absl::MutexLock l(&mu_);
  return dead_;
}

GoferClient::GoferClient(HostFd sock) : sock_(std::move(sock)) {
  // A gofer that stops answering is a dead gofer: give up on it after a
  // minute rather than block every sentry thread forever.
  struct timeval tv = {60, 0};
  setsockopt(sock_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(sock_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

SysResult<std::vector<uint8_t>> GoferClient::RoundTrip(
    const std::vector<uint8_t>& packet, HostFd* fd, bool* fds_lost) {
  absl::MutexLock l(&mu_);
  if (dead_) return Errno(EIO);
  int err = proto::SendPacket(sock_.get(), packet);
  std::vector<uint8_t> reply;
  if (err == 0) err = proto::RecvPacket(sock_.get(), &reply, fd, fds_lost);
  if (err != 0) {
    // The gofer is gone, broken or silent: fail this and every later call
    // with EIO, and keep the sandbox running.
    LOG(ERROR) << "gofer connection lost: " << strerror(err);
    dead_ = true;
    return Errno(EIO);
  }
  return reply;
}

template <typename Reply, typename Req>
SysResult<Reply> GoferClient::Call(proto::MsgType type, const Req& req,
                                   HostFd* fd) {
  uint32_t tag;
  {
    absl::MutexLock l(&mu_);
    tag = next_tag_++;
  }
  std::vector<uint8_t> packet =
      proto::Encode(static_cast<uint16_t>(type), tag, req);
  HostFd received;
  bool fds_lost = false;
  SENTRY_ASSIGN_OR_RETURN(std::vector<uint8_t> reply,
                          RoundTrip(packet, &received, &fds_lost));
  SysResult<Reply> r =
      proto::DecodeReply<Reply>(reply.data(), reply.size(), type, tag);
  // The gofer sent an fd the sentry had no room for: out of descriptors.
  if (r.ok() && fds_lost) return Errno(ENFILE);
  if (r.ok() && fd != nullptr) *fd = std::move(received);
  return r;
}

SysResult<std::shared_ptr<GoferFilesystem>> GoferFilesystem::Create(
    HostFd sock) {
  auto fs =
      std::shared_ptr<GoferFilesystem>(new GoferFilesystem(std::move(sock)));
  SENTRY_ASSIGN_OR_RETURN(proto::AttachReply attach,
                          fs->client_.Call<proto::AttachReply>(
                              proto::MsgType::kAttach, proto::Empty{}));
  if (!S_ISDIR(attach.root.attr.mode)) return Errno(ENOTDIR);
  fs->root_handle_ = attach.root.handle;
  fs->root_ = std::make_shared<vfs::Dentry>(
      nullptr, "", std::make_shared<GoferInode>(fs, attach.root));
  return fs;
}

SysResult<vfs::StatFs> GoferFilesystem::GetStatFs() {
  SENTRY_ASSIGN_OR_RETURN(
      proto::StatFsReply r,
      client_.Call<proto::StatFsReply>(proto::MsgType::kStatFs,
                                       proto::HandleRequest{root_handle_}));
  vfs::StatFs s;
  s.type = r.type;
  s.bsize = r.bsize;
  s.blocks = r.blocks;
  s.bfree = r.bfree;
  s.bavail = r.bavail;
  s.files = r.files;
  s.ffree = r.ffree;
  s.namelen = r.namelen;
  s.frsize = r.frsize;
  return s;
}

GoferInode::GoferInode(const std::shared_ptr<GoferFilesystem>& fs,
                       const proto::Node& node)
    : Inode(node.attr.mode),
      fs_(fs),
      dev_(fs->dev()),
      handle_(node.handle),
      attr_(AttrFromProto(node.attr, fs->dev())),
      attr_generation_(fs->generation()->load()) {}

SysResult<std::shared_ptr<GoferFilesystem>> GoferInode::Fs() const {
  std::shared_ptr<GoferFilesystem> fs = fs_.lock();
  if (!fs) return Errno(EIO);  // the filesystem (and its gofer) is gone
  return fs;
}

GoferInode::~GoferInode() {
  // A filesystem that is gone took its gofer connection and every handle
  // with it.
  std::shared_ptr<GoferFilesystem> fs = fs_.lock();
  if (!fs || fs->client().dead()) return;
  SysResult<proto::Empty> r = fs->client().Call<proto::Empty>(
      proto::MsgType::kClose, proto::CloseRequest{{handle_}});
  if (!r.ok())
    VLOG(1) << "closing gofer handle " << handle_ << ": " << strerror(r.err());
}

SysResult<vfs::Attr> GoferInode::GetAttr() {
  // Attributes are those of the walk that created the inode until the
  // sandbox changes something in this filesystem; fstat on an open file
  // asks the host directly.
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  uint64_t generation = fs->generation()->load();
  {
    absl::MutexLock l(&mu_);
    if (attr_generation_ == generation) return attr_;
  }
  SENTRY_ASSIGN_OR_RETURN(proto::Attr a, fs->client().Call<proto::Attr>(
                                             proto::MsgType::kGetAttr,
                                             proto::HandleRequest{handle_}));
  // A handle names one file for its life: its type cannot change.
  if ((a.mode & S_IFMT) != type()) return Errno(EIO);
  absl::MutexLock l(&mu_);
  // Fetched after `generation` began: current at least as of it.
  attr_ = AttrFromProto(a, dev_);
  attr_generation_ = generation;
  return attr_;
}

SysResult<std::shared_ptr<vfs::Inode>> GoferInode::Lookup(
    vfs::CallContext&, const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  if (!IsDir()) return Errno(ENOTDIR);
  SENTRY_ASSIGN_OR_RETURN(
      proto::WalkReply w,
      fs->client().Call<proto::WalkReply>(proto::MsgType::kWalk,
                                          proto::WalkRequest{handle_, {name}}));
  if (w.nodes.size() != 1) {
    // A reply with the wrong number of nodes is a broken gofer.
    for (const proto::Node& n : w.nodes) {
      (void)fs->client().Call<proto::Empty>(proto::MsgType::kClose,
                                            proto::CloseRequest{{n.handle}});
    }
    return Errno(w.error > 0 && w.error < 4096 ? w.error : EIO);
  }
  return std::shared_ptr<vfs::Inode>(
      std::make_shared<GoferInode>(fs, w.nodes[0]));
}

SysResult<std::vector<vfs::Dirent>> GoferInode::ReadDir(vfs::CallContext&) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  if (!IsDir()) return Errno(ENOTDIR);
  // A gofer reply is untrusted: a listing that never ends, or offsets that
  // go round in a circle, are a broken gofer, not a directory.
  constexpr size_t kMaxEntries = 1 << 20;
  std::vector<vfs::Dirent> out;
  absl::flat_hash_set<uint64_t> seen_offsets;
  uint64_t offset = 0;
  for (;;) {
    SENTRY_ASSIGN_OR_RETURN(proto::ReadDirReply r,
                            fs->client().Call<proto::ReadDirReply>(
                                proto::MsgType::kReadDir,
                                proto::ReadDirRequest{handle_, offset, 1024}));
    if (r.entries.empty()) break;
    for (proto::Dirent& d : r.entries) {
      if (!proto::IsValidName(d.name))
        return Errno(EIO);  // a name we would never walk
      out.push_back(vfs::Dirent{std::move(d.name), d.ino, d.type});
    }
    uint64_t next = r.entries.back().next_offset;
    if (!seen_offsets.insert(next).second || out.size() > kMaxEntries) {
      LOG(ERROR) << "gofer: a directory listing that does not end; giving EIO";
      return Errno(EIO);
    }
    offset = next;
  }
  return out;
}

SysResult<std::string> GoferInode::ReadLink(vfs::CallContext&) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  if (!IsSymlink()) return Errno(EINVAL);
  {
    absl::MutexLock l(&mu_);
    if (link_) return *link_;
  }
  SENTRY_ASSIGN_OR_RETURN(
      proto::ReadLinkReply r,
      fs->client().Call<proto::ReadLinkReply>(proto::MsgType::kReadLink,
                                              proto::HandleRequest{handle_}));
  absl::MutexLock l(&mu_);
  link_ = r.target;
  return r.target;
}

SysResult<std::shared_ptr<vfs::FileDescription>> GoferInode::Open(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  if (IsDir()) {
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<vfs::DirectoryFD>(vd, flags));
  }
  if (!IsRegular())
    return Errno(EPERM);  // the gofer serves no devices or FIFOs
  HostFd fd;
  {
    // Just made by Create, open read-write: reads and writes are checked
    // against the description's own flags, so it serves any access mode.
    absl::MutexLock l(&mu_);
    fd = std::move(created_fd_);
  }
  if (fd.valid()) {
    if ((flags & O_TRUNC) != 0 && ftruncate(fd.get(), 0) != 0)
      return Errno::FromHost();
    return std::shared_ptr<vfs::FileDescription>(std::make_shared<GoferFileFD>(
        vd, flags, std::make_shared<HostFd>(std::move(fd)), dev_,
        fs->generation()));
  }
  uint32_t want = static_cast<uint32_t>(
      flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_NOATIME));
  SENTRY_RETURN_IF_ERROR(fs->client().Call<proto::Empty>(
      proto::MsgType::kOpen, proto::OpenRequest{handle_, want}, &fd));
  // An Open reply without its fd, or with something else, is a broken gofer.
  SENTRY_RETURN_IF_ERROR(CheckRegular(fd));
  if ((want & (O_TRUNC | O_ACCMODE)) != O_RDONLY) fs->Changed();
  return std::shared_ptr<vfs::FileDescription>(std::make_shared<GoferFileFD>(
      vd, flags, std::make_shared<HostFd>(std::move(fd)), dev_,
      fs->generation()));
}

void GoferInode::NewOwner(vfs::CallContext& ctx, uint32_t* uid, uint32_t* gid) {
  *uid = ctx.creds().fsuid;
  *gid = ctx.creds().fsgid;
  SysResult<vfs::Attr> dir = GetAttr();
  if (dir.ok() && (dir->mode & S_ISGID) != 0) *gid = dir->gid;
}

SysResult<std::shared_ptr<vfs::Inode>> GoferInode::Made(
    const std::shared_ptr<GoferFilesystem>& fs, const proto::Node& node) {
  fs->Changed();
  return std::shared_ptr<vfs::Inode>(std::make_shared<GoferInode>(fs, node));
}

SysResult<std::shared_ptr<vfs::Inode>> GoferInode::Create(
    vfs::CallContext& ctx, const std::string& name, uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  proto::CreateRequest req{handle_, name, O_RDWR, mode & 07777};
  NewOwner(ctx, &req.uid, &req.gid);
  HostFd fd;
  SENTRY_ASSIGN_OR_RETURN(
      proto::Node node,
      fs->client().Call<proto::Node>(proto::MsgType::kCreate, req, &fd));
  fs->Changed();
  auto inode = std::make_shared<GoferInode>(fs, node);
  if (!S_ISREG(node.attr.mode) || !CheckRegular(fd).ok()) return Errno(EIO);
  {
    absl::MutexLock l(&inode->mu_);
    inode->created_fd_ = std::move(fd);
  }
  return std::shared_ptr<vfs::Inode>(std::move(inode));
}

SysResult<std::shared_ptr<vfs::Inode>> GoferInode::Mkdir(
    vfs::CallContext& ctx, const std::string& name, uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  proto::MkdirRequest req{handle_, name, mode & 07777};
  NewOwner(ctx, &req.uid, &req.gid);
  // A set-group-ID directory passes the bit on to its subdirectories.
  SysResult<vfs::Attr> dir = GetAttr();
  if (dir.ok() && (dir->mode & S_ISGID) != 0) req.mode |= S_ISGID;
  SENTRY_ASSIGN_OR_RETURN(proto::Node node, fs->client().Call<proto::Node>(
                                                proto::MsgType::kMkdir, req));
  if (!S_ISDIR(node.attr.mode)) return Errno(EIO);
  return Made(fs, node);
}

SysResult<std::shared_ptr<vfs::Inode>> GoferInode::Mknod(
    vfs::CallContext& ctx, const std::string& name, uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFIFO) return Errno(EPERM);
  proto::MkdirRequest req{handle_, name, type | (mode & 07777)};
  NewOwner(ctx, &req.uid, &req.gid);
  SENTRY_ASSIGN_OR_RETURN(proto::Node node, fs->client().Call<proto::Node>(
                                                proto::MsgType::kMknod, req));
  if ((node.attr.mode & S_IFMT) != type) return Errno(EIO);
  return Made(fs, node);
}

SysResult<std::shared_ptr<vfs::Inode>> GoferInode::Symlink(
    vfs::CallContext& ctx, const std::string& name, const std::string& target) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  proto::SymlinkRequest req{handle_, name, target};
  NewOwner(ctx, &req.uid, &req.gid);
  SENTRY_ASSIGN_OR_RETURN(proto::Node node, fs->client().Call<proto::Node>(
                                                proto::MsgType::kSymlink, req));
  if (!S_ISLNK(node.attr.mode)) return Errno(EIO);
  return Made(fs, node);
}

SysResult<void> GoferInode::Unlink(vfs::CallContext&, const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  SENTRY_RETURN_IF_ERROR(fs->client().Call<proto::Empty>(
      proto::MsgType::kUnlink, proto::UnlinkRequest{handle_, name, 0}));
  fs->Changed();
  return Ok();
}

SysResult<void> GoferInode::Rmdir(vfs::CallContext&, const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  SENTRY_RETURN_IF_ERROR(fs->client().Call<proto::Empty>(
      proto::MsgType::kUnlink,
      proto::UnlinkRequest{handle_, name,
                           static_cast<uint32_t>(AT_REMOVEDIR)}));
  fs->Changed();
  return Ok();
}

SysResult<void> GoferInode::Link(vfs::CallContext&, const std::string& name,
                                 const std::shared_ptr<vfs::Inode>& target) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  auto* t = dynamic_cast<GoferInode*>(target.get());
  if (t == nullptr || t->fs_.lock() != fs) return Errno(EXDEV);
  SENTRY_RETURN_IF_ERROR(fs->client().Call<proto::Empty>(
      proto::MsgType::kLink, proto::LinkRequest{handle_, name, t->handle_}));
  fs->Changed();
  return Ok();
}

SysResult<void> GoferInode::Rename(vfs::CallContext&,
                                   const std::string& old_name, vfs::Inode&,
                                   vfs::Inode& new_dir,
                                   const std::string& new_name, vfs::Inode*,
                                   unsigned flags) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  auto* to = dynamic_cast<GoferInode*>(&new_dir);
  if (to == nullptr || to->fs_.lock() != fs) return Errno(EXDEV);
  SENTRY_RETURN_IF_ERROR(fs->client().Call<proto::Empty>(
      proto::MsgType::kRename,
      proto::RenameRequest{handle_, old_name, to->handle_, new_name, flags}));
  fs->Changed();
  return Ok();
}

SysResult<void> GoferInode::SetAttr(vfs::CallContext&,
                                    const AttrChange& change) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  proto::SetAttrRequest req;
  req.handle = handle_;
  if (change.mode) {
    req.valid |= proto::kSetAttrMode;
    req.mode = *change.mode & 07777;
  }
  if (change.uid) {
    req.valid |= proto::kSetAttrUid;
    req.uid = *change.uid;
  }
  if (change.gid) {
    req.valid |= proto::kSetAttrGid;
    req.gid = *change.gid;
  }
  if (change.atime) {
    req.valid |= proto::kSetAttrAtime;
    req.atime = ToProto(*change.atime);
  }
  if (change.mtime) {
    req.valid |= proto::kSetAttrMtime;
    req.mtime = ToProto(*change.mtime);
  }
  if (req.valid == 0) return Ok();
  SysResult<proto::Attr> r =
      fs->client().Call<proto::Attr>(proto::MsgType::kSetAttr, req);
  fs->Changed();
  return r.status();
}

SysResult<void> GoferInode::Truncate(uint64_t size) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  proto::SetAttrRequest req;
  req.handle = handle_;
  req.valid = proto::kSetAttrSize;
  req.size = size;
  SysResult<proto::Attr> r =
      fs->client().Call<proto::Attr>(proto::MsgType::kSetAttr, req);
  fs->Changed();
  return r.status();
}

SysResult<void> GoferInode::Allocate(int mode, uint64_t offset, uint64_t len) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<GoferFilesystem> fs, Fs());
  HostFd fd;
  SENTRY_RETURN_IF_ERROR(fs->client().Call<proto::Empty>(
      proto::MsgType::kOpen, proto::OpenRequest{handle_, O_WRONLY}, &fd));
  SENTRY_RETURN_IF_ERROR(CheckRegular(fd));
  int rc = fallocate(fd.get(), mode, static_cast<off_t>(offset),
                     static_cast<off_t>(len));
  fs->Changed();
  if (rc != 0) return Errno::FromHost();
  return Ok();
}

}  // namespace sentry::fs::gofer
