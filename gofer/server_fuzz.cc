// Fuzz target: sequences of request packets against a fresh gofer server.
// Input format: [u8 mode][u16 length][packet bytes]..., so mutations reach
// requests that depend on handles an earlier request created. An odd mode
// byte makes the server read-write, on a scratch tree made anew for each
// input, with symlinks out of it to a canary that must never change.

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gofer/protocol/messages.h"
#include "gofer/server.h"
#include "tools/fuzz/fuzz.h"

namespace {

using gofer::proto::MsgType;

const std::string& FuzzRoot() {
  static const std::string* root = [] {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string base =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/gofer_fuzz.XXXXXX";
    std::string* dir = new std::string(mkdtemp(base.data()));
    mkdir((*dir + "/d").c_str(), 0755);
    int fd = open((*dir + "/f").c_str(), O_WRONLY | O_CREAT, 0644);
    (void)!write(fd, "data", 4);
    close(fd);
    (void)!symlink("/etc/passwd", (*dir + "/l").c_str());
    return dir;
  }();
  return *root;
}

// The canary outside the read-write tree, and what it must stay.
std::string CanaryPath() { return FuzzRoot() + "/canary"; }

struct stat CanaryStat() {
  static bool made = [] {
    int fd = open(CanaryPath().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    (void)!write(fd, "canary", 6);
    close(fd);
    return true;
  }();
  (void)made;
  struct stat st = {};
  if (lstat(CanaryPath().c_str(), &st) != 0) abort();
  return st;
}

// Removes everything below the directory `fd` (closed on return).
void RemoveContents(int fd) {
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return;
  }
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (unlinkat(dirfd(d), name.c_str(), 0) == 0) continue;
    int sub = openat(dirfd(d), name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) {
      fchmod(sub, 0755);  // the fuzzer may have made it unlistable
      RemoveContents(sub);
    }
    unlinkat(dirfd(d), name.c_str(), AT_REMOVEDIR);
  }
  closedir(d);
}

// A fresh read-write tree: the same shape as the read-only one, plus
// symlinks to the canary outside it.
const std::string& FreshWritableRoot() {
  static const std::string* rw = new std::string(FuzzRoot() + "/rw");
  mkdir(rw->c_str(), 0755);
  RemoveContents(open(rw->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  chmod(rw->c_str(), 0755);
  mkdir((*rw + "/d").c_str(), 0755);
  int fd = open((*rw + "/f").c_str(), O_WRONLY | O_CREAT, 0644);
  (void)!write(fd, "data", 4);
  close(fd);
  (void)!symlink("../canary", (*rw + "/l").c_str());
  (void)!symlink(CanaryPath().c_str(), (*rw + "/abs").c_str());
  return *rw;
}

// The lowest free descriptor: any fd leaked by an input takes that slot, so
// the number changes.
int LowestFreeFd() {
  int fd = dup(2);
  close(fd);
  return fd;
}

template <typename Body>
void Append(std::string* out, MsgType type, const Body& body) {
  std::vector<uint8_t> p =
      gofer::proto::Encode(static_cast<uint16_t>(type), 1, body);
  out->push_back(static_cast<char>(p.size() & 0xff));
  out->push_back(static_cast<char>(p.size() >> 8));
  out->append(p.begin(), p.end());
}

}  // namespace

std::vector<std::string> FuzzSeeds() {
  namespace p = gofer::proto;
  std::vector<std::string> seeds(12);
  for (size_t i = 0; i < seeds.size(); i++) {
    seeds[i].push_back(i >= 6 ? 1 : 0);  // read-write from seed 6 on
    Append(&seeds[i], MsgType::kAttach, p::Empty{});
  }
  Append(&seeds[1], MsgType::kWalk, p::WalkRequest{1, {"d"}});
  Append(&seeds[1], MsgType::kReadDir, p::ReadDirRequest{2, 0, 16});
  Append(&seeds[2], MsgType::kWalk, p::WalkRequest{1, {"f"}});
  Append(&seeds[2], MsgType::kOpen, p::OpenRequest{2, O_RDONLY});
  Append(&seeds[2], MsgType::kGetAttr, p::HandleRequest{2});
  Append(&seeds[3], MsgType::kWalk, p::WalkRequest{1, {"l", "x"}});
  Append(&seeds[3], MsgType::kReadLink, p::HandleRequest{2});
  Append(&seeds[4], MsgType::kStatFs, p::HandleRequest{1});
  Append(&seeds[4], MsgType::kClose, p::CloseRequest{{1, 2, 3}});
  Append(&seeds[5], MsgType::kReadDir, p::ReadDirRequest{1, 0, 1});
  Append(&seeds[5], MsgType::kReadDir, p::ReadDirRequest{1, 3, 4096});
  // Changes, on a read-write server; handle 1 is the root, 2 the first
  // node made or walked.
  Append(&seeds[6], MsgType::kCreate,
         p::CreateRequest{1, "n", O_RDWR, 0644, 0, 0});
  Append(&seeds[6], MsgType::kSetAttr,
         p::SetAttrRequest{2, p::kSetAttrAll, 04755, 0, 0, 3, {1, 2}, {3, 4}});
  Append(&seeds[6], MsgType::kLink, p::LinkRequest{1, "n2", 2});
  Append(&seeds[7], MsgType::kMkdir, p::MkdirRequest{1, "m", 0700, 0, 0});
  Append(&seeds[7], MsgType::kMknod,
         p::MkdirRequest{2, "fifo", S_IFIFO | 0600, 0, 0});
  Append(&seeds[7], MsgType::kUnlink, p::UnlinkRequest{2, "fifo", 0});
  Append(&seeds[7], MsgType::kUnlink, p::UnlinkRequest{1, "m", AT_REMOVEDIR});
  Append(&seeds[8], MsgType::kSymlink, p::SymlinkRequest{1, "s", "/", 0, 0});
  Append(&seeds[8], MsgType::kRename,
         p::RenameRequest{1, "s", 1, "d", RENAME_EXCHANGE});
  Append(&seeds[8], MsgType::kWalk, p::WalkRequest{1, {"d", "f"}});
  Append(&seeds[9], MsgType::kWalk, p::WalkRequest{1, {"l"}});
  Append(&seeds[9], MsgType::kSetAttr,
         p::SetAttrRequest{
             2, p::kSetAttrMode | p::kSetAttrSize, 0777, 0, 0, 0, {}, {}});
  Append(&seeds[9], MsgType::kLink, p::LinkRequest{1, "hard", 2});
  Append(&seeds[9], MsgType::kUnlink, p::UnlinkRequest{1, "l", 0});
  Append(&seeds[10], MsgType::kWalk, p::WalkRequest{1, {"f"}});
  Append(&seeds[10], MsgType::kOpen,
         p::OpenRequest{2, O_WRONLY | O_TRUNC | O_APPEND});
  Append(&seeds[10], MsgType::kRename,
         p::RenameRequest{1, "f", 1, "abs", RENAME_NOREPLACE});
  Append(&seeds[11], MsgType::kWalk, p::WalkRequest{1, {"abs"}});
  Append(&seeds[11], MsgType::kSetAttr,
         p::SetAttrRequest{
             2, p::kSetAttrUid | p::kSetAttrGid, 0, 1, 1, 0, {}, {}});
  Append(&seeds[11], MsgType::kRename, p::RenameRequest{1, "d", 1, "abs", 0});
  return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool writable = (data[0] & 1) != 0;
  data++;
  size--;
  static const mode_t old_umask = umask(0);  // as RunGofer sets it
  (void)old_umask;
  const struct stat canary = CanaryStat();
  const std::string& root_path = writable ? FreshWritableRoot() : FuzzRoot();
  const int baseline_fd = LowestFreeFd();
  {
    sentry::HostFd root(
        open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    sentry::HostFd proc(
        open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
    gofer::ServerOptions options;
    options.max_handles = 256;
    options.read_only = !writable;
    gofer::Server server(std::move(root), std::move(proc), options);
    size_t off = 0;
    while (off + 2 <= size) {
      size_t len = data[off] | (static_cast<size_t>(data[off + 1]) << 8);
      off += 2;
      len = std::min(len, size - off);
      sentry::HostFd donated;
      std::vector<uint8_t> reply = server.Handle(data + off, len, &donated);
      // Every reply must itself be a well-formed packet.
      if (!gofer::proto::ParsePacket(reply.data(), reply.size())) abort();
      off += len;
    }
    if (server.handle_count() > options.max_handles) abort();
  }
  // Destroying the server must give back every descriptor.
  if (LowestFreeFd() != baseline_fd) abort();
  // Nothing outside the served tree changed.
  const struct stat after = CanaryStat();
  if (after.st_mode != canary.st_mode || after.st_uid != canary.st_uid ||
      after.st_gid != canary.st_gid || after.st_size != canary.st_size ||
      after.st_nlink != canary.st_nlink ||
      after.st_mtim.tv_sec != canary.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != canary.st_mtim.tv_nsec ||
      after.st_ctim.tv_nsec != canary.st_ctim.tv_nsec) {
    abort();
  }
  return 0;
}
