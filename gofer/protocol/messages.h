// Messages between the sentry (client) and the gofer (server).
//
// The protocol works on handles, never on paths: the client walks one name
// component at a time from a handle it holds, and the gofer opens each
// component relative to the handle's host fd with O_NOFOLLOW. A handle names
// exactly one host file for its lifetime, so a symlink swapped in later
// cannot steer the gofer anywhere.
//
// Framing: every message is one SOCK_SEQPACKET packet, a Header then the
// body. A reply carries the request's type with kReplyBit set, or kError with
// an errno. Open replies carry the opened host fd as SCM_RIGHTS.

#ifndef GOFER_PROTOCOL_MESSAGES_H_
#define GOFER_PROTOCOL_MESSAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gofer/protocol/wire.h"
#include "sentry/base/sys_result.h"

namespace gofer::proto {

enum class MsgType : uint16_t {
  kAttach = 1,
  kWalk = 2,
  kGetAttr = 3,
  kOpen = 4,
  kReadDir = 5,
  kReadLink = 6,
  kStatFs = 7,
  kClose = 8,
  // Changes to the tree; a read-only server answers each with EROFS.
  kCreate = 9,
  kMkdir = 10,
  kMknod = 11,
  kSymlink = 12,
  kLink = 13,
  kUnlink = 14,
  kRename = 15,
  kSetAttr = 16,
  kError = 0x7fff,
};
inline constexpr uint16_t kReplyBit = 0x8000;

// The largest packet either side sends or accepts.
inline constexpr size_t kMaxMessageSize = 256 * 1024;
inline constexpr size_t kHeaderSize = 12;

struct Header {
  uint32_t size = 0;  // of the whole packet, header included
  uint16_t type = 0;
  uint16_t flags = 0;  // must be zero
  uint32_t tag = 0;    // echoed in the reply
  template <typename V>
  void Visit(V& v) {
    v(size);
    v(type);
    v(flags);
    v(tag);
  }
};

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  template <typename V>
  void Visit(V& v) {
    v(sec);
    v(nsec);
  }
};

// A host file's attributes, as struct stat has them.
struct Attr {
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  uint32_t blksize = 0;
  Timespec atime, mtime, ctime;
  template <typename V>
  void Visit(V& v) {
    v(mode), v(uid), v(gid), v(nlink), v(ino), v(dev), v(rdev), v(size),
        v(blocks), v(blksize), v(atime), v(mtime), v(ctime);
  }
};

struct Node {
  uint64_t handle = 0;
  Attr attr;
  template <typename V>
  void Visit(V& v) {
    v(handle), v(attr);
  }
};

struct Empty {
  template <typename V>
  void Visit(V&) {}
};

struct HandleRequest {
  uint64_t handle = 0;
  template <typename V>
  void Visit(V& v) {
    v(handle);
  }
};

// Attach: Empty -> AttachReply. The root of the served tree.
struct AttachReply {
  Node root;
  template <typename V>
  void Visit(V& v) {
    v(root);
  }
};

// The most names one Walk may carry, so that its reply (one Node each)
// always fits in a packet.
inline constexpr size_t kMaxWalkNames = 256;

// Walk: from directory `dir`, one component per name. Stops at the first

// component that cannot be walked: `nodes` then holds the ones that could,
// and `error` the errno of the one that could not (0 if all were walked).
struct WalkRequest {
  uint64_t dir = 0;
  std::vector<std::string> names;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(names);
  }
};
struct WalkReply {
  std::vector<Node> nodes;
  int32_t error = 0;
  template <typename V>
  void Visit(V& v) {
    v(nodes), v(error);
  }
};

// GetAttr: HandleRequest -> Attr.

// Open: the host fd comes back as SCM_RIGHTS with an Empty reply.
struct OpenRequest {
  uint64_t handle = 0;
  uint32_t flags =
      0;  // O_ACCMODE | O_APPEND | O_DIRECTORY | O_NONBLOCK | O_TRUNC
  template <typename V>
  void Visit(V& v) {
    v(handle), v(flags);
  }
};

// ReadDir: entries of `dir` after position `offset` (0 = from the start);
// each entry gives the offset to continue after it. "." and ".." are left
// out: the sentry makes its own. An empty reply is the end.
struct ReadDirRequest {
  uint64_t dir = 0;
  uint64_t offset = 0;
  uint32_t max_entries = 0;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(offset), v(max_entries);
  }
};
struct Dirent {
  uint64_t ino = 0;
  uint64_t next_offset = 0;
  uint8_t type = 0;  // DT_*
  std::string name;
  template <typename V>
  void Visit(V& v) {
    v(ino), v(next_offset), v(type), v(name);
  }
};
struct ReadDirReply {
  std::vector<Dirent> entries;
  template <typename V>
  void Visit(V& v) {
    v(entries);
  }
};

// ReadLink: HandleRequest -> ReadLinkReply.
struct ReadLinkReply {
  std::string target;
  template <typename V>
  void Visit(V& v) {
    v(target);
  }
};

// StatFs: HandleRequest -> StatFsReply.
struct StatFsReply {
  uint64_t type = 0, bsize = 0, blocks = 0, bfree = 0, bavail = 0, files = 0,
           ffree = 0, namelen = 0, frsize = 0, flags = 0;
  template <typename V>
  void Visit(V& v) {
    v(type), v(bsize), v(blocks), v(bfree), v(bavail), v(files), v(ffree),
        v(namelen), v(frsize), v(flags);
  }
};

// Close: releases handles. Unknown handles are ignored (the reply is Empty).
struct CloseRequest {
  std::vector<uint64_t> handles;
  template <typename V>
  void Visit(V& v) {
    v(handles);
  }
};

// Create: a new regular file `name` in `dir` (O_CREAT | O_EXCL, never
// through a symlink), owned by uid:gid with exactly `mode` (07777 bits).
// The reply is the new file's Node; the file opened with `flags` (an access
// mode, O_APPEND, O_NONBLOCK, O_NOATIME) comes with it as SCM_RIGHTS.
struct CreateRequest {
  uint64_t dir = 0;
  std::string name;
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(name), v(flags), v(mode), v(uid), v(gid);
  }
};

// Mkdir: MkdirRequest -> Node. Mknod: the same, with the file type in
// `mode` (S_IFIFO or S_IFREG only) -> Node.
struct MkdirRequest {
  uint64_t dir = 0;
  std::string name;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(name), v(mode), v(uid), v(gid);
  }
};

// Symlink: SymlinkRequest -> Node. The target is text, never resolved by
// the gofer.
struct SymlinkRequest {
  uint64_t dir = 0;
  std::string name;
  std::string target;
  uint32_t uid = 0;
  uint32_t gid = 0;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(name), v(target), v(uid), v(gid);
  }
};

// Link: a new name `name` in `dir` for the file of handle `target` (not a
// directory) -> Empty.
struct LinkRequest {
  uint64_t dir = 0;
  std::string name;
  uint64_t target = 0;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(name), v(target);
  }
};

// Unlink: removes `name` from `dir`; with flags AT_REMOVEDIR, an empty
// directory, otherwise anything but a directory -> Empty.
struct UnlinkRequest {
  uint64_t dir = 0;
  std::string name;
  uint32_t flags = 0;
  template <typename V>
  void Visit(V& v) {
    v(dir), v(name), v(flags);
  }
};

// Rename: renameat2(2) of `old_name` in `old_dir` to `new_name` in
// `new_dir`; flags RENAME_NOREPLACE or RENAME_EXCHANGE -> Empty.
struct RenameRequest {
  uint64_t old_dir = 0;
  std::string old_name;
  uint64_t new_dir = 0;
  std::string new_name;
  uint32_t flags = 0;
  template <typename V>
  void Visit(V& v) {
    v(old_dir), v(old_name), v(new_dir), v(new_name), v(flags);
  }
};

// SetAttr: changes the fields named in `valid` -> the file's new Attr. A
// time whose bit is clear is left alone (UTIME_OMIT); nsec may also be
// UTIME_NOW. Size applies to regular files only.
inline constexpr uint32_t kSetAttrMode = 1;
inline constexpr uint32_t kSetAttrUid = 2;
inline constexpr uint32_t kSetAttrGid = 4;
inline constexpr uint32_t kSetAttrSize = 8;
inline constexpr uint32_t kSetAttrAtime = 16;
inline constexpr uint32_t kSetAttrMtime = 32;
inline constexpr uint32_t kSetAttrAll = 63;
struct SetAttrRequest {
  uint64_t handle = 0;
  uint32_t valid = 0;
  uint32_t mode = 0;  // 07777 bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timespec atime, mtime;
  template <typename V>
  void Visit(V& v) {
    v(handle), v(valid), v(mode), v(uid), v(gid), v(size), v(atime), v(mtime);
  }
};

struct ErrorReply {
  int32_t error = 0;
  template <typename V>
  void Visit(V& v) {
    v(error);
  }
};

// Encodes a whole packet.
template <typename Body>
std::vector<uint8_t> Encode(uint16_t type, uint32_t tag, const Body& body) {
  std::vector<uint8_t> out;
  Writer w(&out);
  Header h;
  h.type = type;
  h.tag = tag;
  w(h);
  w(body);
  uint32_t size = static_cast<uint32_t>(out.size());
  for (int i = 0; i < 4; i++) out[i] = static_cast<uint8_t>(size >> (8 * i));
  return out;
}

// A received packet, split into header and body. Valid while the packet's
// bytes are.
struct Packet {
  Header header;
  const uint8_t* body = nullptr;
  size_t body_size = 0;
};

// Checks the header of a received packet; nullopt if malformed.
inline std::optional<Packet> ParsePacket(const uint8_t* data, size_t size) {
  if (size < kHeaderSize || size > kMaxMessageSize) return std::nullopt;
  Packet p;
  Reader r(data, kHeaderSize);
  r(p.header);
  if (!r.Done() || p.header.size != size || p.header.flags != 0)
    return std::nullopt;
  p.body = data + kHeaderSize;
  p.body_size = size - kHeaderSize;
  return p;
}

// Decodes a packet body exactly; false on any malformation.
template <typename Body>
bool DecodeBody(const Packet& p, Body* out) {
  Reader r(p.body, p.body_size);
  r(*out);
  return r.Done();
}

// Validates a name the client asks the gofer to walk or create: one
// component, never "." or "..", no '/' and no NUL.
inline bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..")
    return false;
  for (char c : name) {
    if (c == '/' || c == '\0') return false;
  }
  return true;
}

// Decodes the reply to a request of type `request` with tag `tag`: the reply
// body, the errno of an error reply, or EIO for anything malformed (a reply
// is as untrusted as a request).
template <typename Reply>
sentry::SysResult<Reply> DecodeReply(const uint8_t* data, size_t size,
                                     MsgType request, uint32_t tag) {
  std::optional<Packet> p = ParsePacket(data, size);
  if (!p || p->header.tag != tag) return sentry::Errno(EIO);
  if (p->header.type == (static_cast<uint16_t>(MsgType::kError) | kReplyBit)) {
    ErrorReply e;
    // Only a plausible errno passes; anything else is a broken reply.
    if (!DecodeBody(*p, &e) || e.error <= 0 || e.error >= 4096)
      return sentry::Errno(EIO);
    return sentry::Errno(e.error);
  }
  if (p->header.type != (static_cast<uint16_t>(request) | kReplyBit))
    return sentry::Errno(EIO);
  Reply r;
  if (!DecodeBody(*p, &r)) return sentry::Errno(EIO);
  return r;
}

}  // namespace gofer::proto

#endif  // GOFER_PROTOCOL_MESSAGES_H_
