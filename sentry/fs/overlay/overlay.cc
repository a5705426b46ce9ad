#include "sentry/fs/overlay/overlay.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "sentry/vfs/file.h"
#include "sentry/vfs/kernel_context.h"

namespace sentry::fs::overlay {

namespace {

constexpr uint64_t kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC

// Files that exist only in the upper layer report their tmpfs inode number
// with this bit, so they never collide with a lower file's number (tar and
// cp take equal (dev, ino) pairs for hard links).
constexpr uint64_t kUpperOnlyIno = uint64_t{1} << 62;

bool IsWhiteout(const vfs::Inode* i) {
  return dynamic_cast<const tmpfs::TmpfsWhiteout*>(i) != nullptr;
}

}  // namespace

SysResult<std::shared_ptr<OverlayFilesystem>> OverlayFilesystem::Create(
    std::shared_ptr<vfs::Filesystem> lower_fs,
    std::shared_ptr<vfs::Dentry> lower_root,
    std::shared_ptr<tmpfs::TmpfsFilesystem> upper) {
  auto fs = std::shared_ptr<OverlayFilesystem>(new OverlayFilesystem());
  fs->lower_fs_ = lower_fs;
  fs->lower_mount_ = std::make_shared<vfs::Mount>(
      lower_fs, lower_root, vfs::kMountReadOnly, "overlay-lower");
  fs->upper_ = std::move(upper);
  auto upper_root =
      std::dynamic_pointer_cast<tmpfs::TmpfsInode>(fs->upper_->root()->inode());
  if (upper_root == nullptr) return Errno(EINVAL);
  // The root is always "copied up": it takes the lower root's attributes.
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, lower_root->inode()->GetAttr());
  vfs::KernelContext ctx;
  vfs::Inode::AttrChange change;
  change.mode = a.mode & 07777;
  change.uid = a.uid;
  change.gid = a.gid;
  change.atime = a.atime;
  change.mtime = a.mtime;
  SENTRY_RETURN_IF_ERROR(upper_root->SetAttr(ctx, change));
  upper_root->overlay_origin.store(a.ino);
  auto root = std::make_shared<OverlayInode>(
      fs.get(), nullptr, "", lower_root->inode(), upper_root, S_IFDIR);
  fs->root_ = std::make_shared<vfs::Dentry>(nullptr, "", std::move(root));
  return fs;
}

SysResult<vfs::StatFs> OverlayFilesystem::GetStatFs() {
  SENTRY_ASSIGN_OR_RETURN(vfs::StatFs s, upper_->GetStatFs());
  s.type = kOverlayMagic;
  return s;
}

OverlayInode::OverlayInode(OverlayFilesystem* fs,
                           std::shared_ptr<OverlayInode> parent,
                           std::string name, std::shared_ptr<vfs::Inode> lower,
                           std::shared_ptr<tmpfs::TmpfsInode> upper,
                           uint32_t type)
    : Inode(type),
      fs_(fs),
      parent_(std::move(parent)),
      name_(std::move(name)),
      lower_(std::move(lower)),
      upper_(std::move(upper)) {}

std::shared_ptr<tmpfs::TmpfsInode> OverlayInode::upper() const {
  absl::MutexLock l(&mu_);
  return upper_;
}

std::shared_ptr<vfs::Inode> OverlayInode::lower() const { return lower_; }

std::shared_ptr<vfs::Inode> OverlayInode::top() const {
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  if (up != nullptr) return up;
  return lower_;
}

tmpfs::TmpfsDir* OverlayInode::upper_dir() const {
  return dynamic_cast<tmpfs::TmpfsDir*>(upper().get());
}

SysResult<vfs::Attr> OverlayInode::GetAttr() {
  vfs::Attr a;
  if (std::shared_ptr<tmpfs::TmpfsInode> up = upper()) {
    SENTRY_ASSIGN_OR_RETURN(a, up->GetAttr());
    uint64_t origin = up->overlay_origin.load();
    a.ino = origin != 0 ? origin : (a.ino | kUpperOnlyIno);
  } else {
    SENTRY_ASSIGN_OR_RETURN(a, lower_->GetAttr());
  }
  a.dev = fs_->dev();
  return a;
}

SysResult<std::shared_ptr<vfs::Inode>> OverlayInode::Lookup(
    vfs::CallContext& ctx, const std::string& name) {
  if (!IsDir()) return Errno(ENOTDIR);
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  auto* up_dir = dynamic_cast<tmpfs::TmpfsDir*>(up.get());
  std::shared_ptr<vfs::Inode> uchild;
  if (up_dir != nullptr) {
    SysResult<std::shared_ptr<vfs::Inode>> r = up_dir->Lookup(ctx, name);
    if (r.ok()) {
      uchild = std::move(*r);
    } else if (r.err() != ENOENT) {
      return r.error();
    }
  }
  if (uchild != nullptr && IsWhiteout(uchild.get())) return Errno(ENOENT);
  std::shared_ptr<vfs::Inode> lchild;
  bool opaque = up_dir != nullptr && up_dir->opaque.load();
  if (lower_ != nullptr && lower_->IsDir() && !opaque &&
      (uchild == nullptr || uchild->IsDir())) {
    SysResult<std::shared_ptr<vfs::Inode>> r = lower_->Lookup(ctx, name);
    if (r.ok()) {
      lchild = std::move(*r);
    } else if (r.err() != ENOENT) {
      return r.error();
    }
    // An upper directory merges only with a lower directory.
    if (uchild != nullptr && lchild != nullptr && !lchild->IsDir()) {
      lchild = nullptr;
    }
  }
  if (uchild == nullptr && lchild == nullptr) return Errno(ENOENT);
  uint32_t type = (uchild != nullptr ? uchild : lchild)->type();
  auto self = shared_from_this();
  return std::shared_ptr<vfs::Inode>(std::make_shared<OverlayInode>(
      fs_, std::move(self), name, std::move(lchild),
      std::dynamic_pointer_cast<tmpfs::TmpfsInode>(uchild), type));
}

SysResult<std::vector<vfs::Dirent>> OverlayInode::ReadDir(
    vfs::CallContext& ctx) {
  if (!IsDir()) return Errno(ENOTDIR);
  std::map<std::string, vfs::Dirent> merged;
  std::set<std::string> whiteouts;
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  auto* up_dir = dynamic_cast<tmpfs::TmpfsDir*>(up.get());
  if (up_dir != nullptr) {
    SENTRY_ASSIGN_OR_RETURN(std::vector<vfs::Dirent> entries,
                            up_dir->ReadDir(ctx));
    for (vfs::Dirent& d : entries) {
      SysResult<std::shared_ptr<vfs::Inode>> child =
          up_dir->Lookup(ctx, d.name);
      if (!child.ok()) continue;  // removed meanwhile
      if (IsWhiteout(child->get())) {
        whiteouts.insert(d.name);
        continue;
      }
      auto* t = dynamic_cast<tmpfs::TmpfsInode*>(child->get());
      uint64_t origin = t != nullptr ? t->overlay_origin.load() : 0;
      d.ino = origin != 0 ? origin : (d.ino | kUpperOnlyIno);
      merged.emplace(d.name, std::move(d));
    }
  }
  bool opaque = up_dir != nullptr && up_dir->opaque.load();
  if (lower_ != nullptr && lower_->IsDir() && !opaque) {
    SENTRY_ASSIGN_OR_RETURN(std::vector<vfs::Dirent> entries,
                            lower_->ReadDir(ctx));
    for (vfs::Dirent& d : entries) {
      if (whiteouts.count(d.name) != 0) continue;
      merged.emplace(d.name, std::move(d));  // an upper entry wins
    }
  }
  std::vector<vfs::Dirent> out;
  out.reserve(merged.size());
  for (auto& [name, d] : merged) out.push_back(std::move(d));
  return out;
}

SysResult<std::string> OverlayInode::ReadLink(vfs::CallContext& ctx) {
  return top()->ReadLink(ctx);
}

SysResult<std::shared_ptr<vfs::FileDescription>> OverlayInode::Open(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  if (IsDir()) {
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<vfs::DirectoryFD>(vd, flags));
  }
  bool trunc = (flags & O_TRUNC) != 0;
  bool write = (flags & O_ACCMODE) != O_RDONLY || trunc;
  if (write && IsRegular()) {
    SENTRY_RETURN_IF_ERROR(CopyUp(ctx, /*data=*/!trunc));
  }
  return top()->Open(ctx, vd, flags);
}

SysResult<void> OverlayInode::CopyUp(vfs::CallContext& ctx, bool data) {
  if (upper() != nullptr) return Ok();
  absl::MutexLock l(&fs_->copy_mu_);
  return CopyUpLocked(ctx, data);
}

SysResult<void> OverlayInode::CopyUpLocked(vfs::CallContext& ctx, bool data) {
  if (upper() != nullptr) return Ok();
  std::shared_ptr<OverlayInode> parent;
  std::string name;
  {
    absl::MutexLock l(&mu_);
    parent = parent_;
    name = name_;
  }
  if (parent == nullptr || lower_ == nullptr) return Errno(EIO);
  SENTRY_RETURN_IF_ERROR(parent->CopyUpLocked(ctx, /*data=*/true));
  tmpfs::TmpfsDir* pdir = parent->upper_dir();
  if (pdir == nullptr) return Errno(EIO);
  // Another view of this file may have copied it up already; a whiteout
  // means this view's file was removed meanwhile.
  SysResult<std::shared_ptr<vfs::Inode>> existing = pdir->Lookup(ctx, name);
  if (existing.ok()) {
    if (IsWhiteout(existing->get())) return Errno(ENOENT);
    absl::MutexLock l(&mu_);
    upper_ = std::dynamic_pointer_cast<tmpfs::TmpfsInode>(*existing);
    return Ok();
  }
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, lower_->GetAttr());
  std::shared_ptr<vfs::Inode> made;
  switch (type()) {
    case S_IFDIR: {
      SENTRY_ASSIGN_OR_RETURN(made, pdir->Mkdir(ctx, name, a.mode & 07777));
      break;
    }
    case S_IFREG: {
      SENTRY_ASSIGN_OR_RETURN(made, pdir->Create(ctx, name, a.mode & 07777));
      if (!data) break;
      auto* file = static_cast<tmpfs::TmpfsFile*>(made.get());
      vfs::VirtualDentry lvd{fs_->lower_mount_, std::make_shared<vfs::Dentry>(
                                                    nullptr, name, lower_)};
      SysResult<std::shared_ptr<vfs::FileDescription>> src =
          lower_->Open(ctx, lvd, O_RDONLY);
      SysResult<void> copied =
          src.ok() ? file->FillFrom(ctx, **src) : src.error();
      if (!copied.ok()) {
        // Leave no half-copied file behind.
        (void)pdir->Unlink(ctx, name);
        return copied.error();
      }
      break;
    }
    case S_IFLNK: {
      SENTRY_ASSIGN_OR_RETURN(std::string target, lower_->ReadLink(ctx));
      SENTRY_ASSIGN_OR_RETURN(made, pdir->Symlink(ctx, name, target));
      break;
    }
    case S_IFIFO: {
      SENTRY_ASSIGN_OR_RETURN(
          made, pdir->Mknod(ctx, name, S_IFIFO | (a.mode & 07777)));
      break;
    }
    default:
      return Errno(EPERM);  // devices and sockets stay read-only
  }
  auto up = std::dynamic_pointer_cast<tmpfs::TmpfsInode>(made);
  if (up == nullptr) return Errno(EIO);
  up->overlay_origin.store(a.ino);
  AttrChange change;
  change.mode = a.mode & 07777;
  change.uid = a.uid;
  change.gid = a.gid;
  change.atime = a.atime;
  change.mtime = a.mtime;
  SENTRY_RETURN_IF_ERROR(up->SetAttr(ctx, change));
  absl::MutexLock l(&mu_);
  upper_ = std::move(up);
  return Ok();
}

bool OverlayInode::LowerHas(vfs::CallContext& ctx, const std::string& name) {
  if (lower_ == nullptr || !lower_->IsDir()) return false;
  tmpfs::TmpfsDir* up_dir = upper_dir();
  if (up_dir != nullptr && up_dir->opaque.load()) return false;
  return lower_->Lookup(ctx, name).ok();
}

SysResult<bool> OverlayInode::ClearWhiteout(vfs::CallContext& ctx,
                                            const std::string& name) {
  tmpfs::TmpfsDir* up_dir = upper_dir();
  if (up_dir == nullptr) return Errno(EIO);
  SysResult<std::shared_ptr<vfs::Inode>> r = up_dir->Lookup(ctx, name);
  if (!r.ok() || !IsWhiteout(r->get())) return false;
  SENTRY_RETURN_IF_ERROR(up_dir->Unlink(ctx, name));
  return true;
}

std::shared_ptr<vfs::Inode> OverlayInode::Wrap(
    const std::string& name, std::shared_ptr<vfs::Inode> upper_child) {
  uint32_t type = upper_child->type();
  auto self = shared_from_this();
  return std::make_shared<OverlayInode>(
      fs_, std::move(self), name, nullptr,
      std::dynamic_pointer_cast<tmpfs::TmpfsInode>(std::move(upper_child)),
      type);
}

SysResult<std::shared_ptr<vfs::Inode>> OverlayInode::Create(
    vfs::CallContext& ctx, const std::string& name, uint32_t mode) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(ClearWhiteout(ctx, name));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> made,
                          upper_dir()->Create(ctx, name, mode));
  return Wrap(name, std::move(made));
}

SysResult<std::shared_ptr<vfs::Inode>> OverlayInode::Mkdir(
    vfs::CallContext& ctx, const std::string& name, uint32_t mode) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_ASSIGN_OR_RETURN(bool hid, ClearWhiteout(ctx, name));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> made,
                          upper_dir()->Mkdir(ctx, name, mode));
  // Where a lower directory was removed, the new one must not show its
  // old entries.
  if (hid || LowerHas(ctx, name)) {
    static_cast<tmpfs::TmpfsDir*>(made.get())->opaque.store(true);
  }
  return Wrap(name, std::move(made));
}

SysResult<std::shared_ptr<vfs::Inode>> OverlayInode::CreateTmpfile(
    vfs::CallContext& ctx, uint32_t mode) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> made,
                          upper_dir()->CreateTmpfile(ctx, mode));
  return Wrap("", std::move(made));
}

SysResult<std::shared_ptr<vfs::Inode>> OverlayInode::Mknod(
    vfs::CallContext& ctx, const std::string& name, uint32_t mode) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(ClearWhiteout(ctx, name));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> made,
                          upper_dir()->Mknod(ctx, name, mode));
  return Wrap(name, std::move(made));
}

SysResult<std::shared_ptr<vfs::Inode>> OverlayInode::Symlink(
    vfs::CallContext& ctx, const std::string& name, const std::string& target) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(ClearWhiteout(ctx, name));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> made,
                          upper_dir()->Symlink(ctx, name, target));
  return Wrap(name, std::move(made));
}

SysResult<void> OverlayInode::Unlink(vfs::CallContext& ctx,
                                     const std::string& name) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  tmpfs::TmpfsDir* up_dir = upper_dir();
  bool in_lower = LowerHas(ctx, name);
  SysResult<std::shared_ptr<vfs::Inode>> up = up_dir->Lookup(ctx, name);
  bool in_upper = up.ok() && !IsWhiteout(up->get());
  if (!in_upper && !in_lower) return Errno(ENOENT);
  if (in_upper) SENTRY_RETURN_IF_ERROR(up_dir->Unlink(ctx, name));
  if (in_lower) SENTRY_RETURN_IF_ERROR(up_dir->AddWhiteout(name));
  return Ok();
}

SysResult<bool> OverlayInode::MergedEmpty(vfs::CallContext& ctx) {
  SENTRY_ASSIGN_OR_RETURN(std::vector<vfs::Dirent> entries, ReadDir(ctx));
  return entries.empty();
}

SysResult<void> OverlayInode::Rmdir(vfs::CallContext& ctx,
                                    const std::string& name) {
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> child, Lookup(ctx, name));
  auto* victim = static_cast<OverlayInode*>(child.get());
  if (!victim->IsDir()) return Errno(ENOTDIR);
  SENTRY_ASSIGN_OR_RETURN(bool empty, victim->MergedEmpty(ctx));
  if (!empty) return Errno(ENOTEMPTY);
  tmpfs::TmpfsDir* up_dir = upper_dir();
  bool in_lower = LowerHas(ctx, name);
  if (tmpfs::TmpfsDir* victim_up = victim->upper_dir()) {
    victim_up->DropWhiteouts();
    SENTRY_RETURN_IF_ERROR(up_dir->Rmdir(ctx, name));
  }
  if (in_lower) SENTRY_RETURN_IF_ERROR(up_dir->AddWhiteout(name));
  return Ok();
}

SysResult<void> OverlayInode::Link(vfs::CallContext& ctx,
                                   const std::string& name,
                                   const std::shared_ptr<vfs::Inode>& target) {
  auto* t = dynamic_cast<OverlayInode*>(target.get());
  if (t == nullptr || t->fs_ != fs_) return Errno(EXDEV);
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(t->CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(ClearWhiteout(ctx, name));
  return upper_dir()->Link(ctx, name, t->upper());
}

SysResult<void> OverlayInode::Rename(
    vfs::CallContext& ctx, const std::string& old_name, vfs::Inode& moved_inode,
    vfs::Inode& new_dir_inode, const std::string& new_name,
    vfs::Inode* replaced_inode, unsigned flags) {
  auto* new_dir = dynamic_cast<OverlayInode*>(&new_dir_inode);
  auto* moved = dynamic_cast<OverlayInode*>(&moved_inode);
  auto* replaced = dynamic_cast<OverlayInode*>(replaced_inode);
  if (new_dir == nullptr || moved == nullptr || new_dir->fs_ != fs_ ||
      (replaced_inode != nullptr && replaced == nullptr)) {
    return Errno(EXDEV);
  }
  bool exchange = (flags & RENAME_EXCHANGE) != 0;
  // Without redirects a directory with a lower part cannot move: overlayfs
  // says EXDEV and mv(1) copies instead.
  if (moved->IsDir() && moved->lower_ != nullptr) return Errno(EXDEV);
  if (exchange && replaced->IsDir() && replaced->lower_ != nullptr) {
    return Errno(EXDEV);
  }
  absl::MutexLock l(&fs_->copy_mu_);
  SENTRY_RETURN_IF_ERROR(CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(new_dir->CopyUpLocked(ctx, true));
  SENTRY_RETURN_IF_ERROR(moved->CopyUpLocked(ctx, true));
  tmpfs::TmpfsDir* from = upper_dir();
  tmpfs::TmpfsDir* to = new_dir->upper_dir();
  auto self = shared_from_this();
  auto target = new_dir->shared_from_this();
  if (exchange) {
    SENTRY_RETURN_IF_ERROR(replaced->CopyUpLocked(ctx, true));
    SENTRY_RETURN_IF_ERROR(from->Rename(ctx, old_name, *moved->upper(), *to,
                                        new_name, replaced->upper().get(),
                                        flags));
    absl::MutexLock ml(&moved->mu_);
    moved->parent_ = target;
    moved->name_ = new_name;
    absl::MutexLock rl(&replaced->mu_);
    replaced->parent_ = self;
    replaced->name_ = old_name;
    return Ok();
  }
  bool hides_lower = new_dir->LowerHas(ctx, new_name);
  SENTRY_ASSIGN_OR_RETURN(bool had_whiteout,
                          new_dir->ClearWhiteout(ctx, new_name));
  std::shared_ptr<tmpfs::TmpfsInode> replaced_up;
  if (replaced != nullptr) {
    if (replaced->IsDir()) {
      SENTRY_ASSIGN_OR_RETURN(bool empty, replaced->MergedEmpty(ctx));
      if (!empty) return Errno(ENOTEMPTY);
      if (tmpfs::TmpfsDir* d = replaced->upper_dir()) d->DropWhiteouts();
    }
    replaced_up = replaced->upper();
  }
  SENTRY_RETURN_IF_ERROR(from->Rename(ctx, old_name, *moved->upper(), *to,
                                      new_name, replaced_up.get(), flags));
  if (moved->IsDir() && (hides_lower || had_whiteout)) {
    moved->upper_dir()->opaque.store(true);
  }
  if (LowerHas(ctx, old_name)) {
    SENTRY_RETURN_IF_ERROR(from->AddWhiteout(old_name));
  }
  absl::MutexLock ml(&moved->mu_);
  moved->parent_ = std::move(target);
  moved->name_ = new_name;
  return Ok();
}

SysResult<void> OverlayInode::SetAttr(vfs::CallContext& ctx,
                                      const AttrChange& change) {
  SENTRY_RETURN_IF_ERROR(CopyUp(ctx));
  return upper()->SetAttr(ctx, change);
}

SysResult<void> OverlayInode::Truncate(uint64_t size) {
  // Truncate has no caller context; a copy-up reads the lower file with
  // the kernel's own (it is the sentry's read, not the guest's).
  vfs::KernelContext ctx;
  SENTRY_RETURN_IF_ERROR(CopyUp(ctx, /*data=*/size != 0));
  return upper()->Truncate(size);
}

SysResult<void> OverlayInode::Allocate(int mode, uint64_t offset,
                                       uint64_t len) {
  // Only reached through an fd open for writing: already copied up.
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  if (up == nullptr) return Errno(EBADF);
  return up->Allocate(mode, offset, len);
}

SysResult<std::string> OverlayInode::GetXattr(vfs::CallContext& ctx,
                                              const std::string& name) {
  // The lower layer (the host's files through the gofer) shows none.
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  if (up == nullptr) return Errno(ENODATA);
  return up->GetXattr(ctx, name);
}

SysResult<std::vector<std::string>> OverlayInode::ListXattr(
    vfs::CallContext& ctx) {
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  if (up == nullptr) return std::vector<std::string>();
  return up->ListXattr(ctx);
}

SysResult<void> OverlayInode::SetXattr(vfs::CallContext& ctx,
                                       const std::string& name,
                                       const std::string& value, int flags) {
  SENTRY_RETURN_IF_ERROR(CopyUp(ctx));
  return upper()->SetXattr(ctx, name, value, flags);
}

SysResult<void> OverlayInode::RemoveXattr(vfs::CallContext& ctx,
                                          const std::string& name) {
  // Only a copied-up file can hold one: the lower layer has none here.
  std::shared_ptr<tmpfs::TmpfsInode> up = upper();
  if (up == nullptr) return Errno(ENODATA);
  return up->RemoveXattr(ctx, name);
}

}  // namespace sentry::fs::overlay
