// Fuzz target: sequences of request packets against a fresh gofer server.
// Input format: repeated [u16 length][packet bytes], so mutations reach
// requests that depend on handles an earlier request created.

#include <fcntl.h>
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
  std::vector<std::string> seeds(6);
  for (std::string& s : seeds) Append(&s, MsgType::kAttach, p::Empty{});
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
  return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int baseline_fd = LowestFreeFd();
  {
    sentry::HostFd root(
        open(FuzzRoot().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    sentry::HostFd proc(
        open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
    gofer::ServerOptions options;
    options.max_handles = 256;
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
  return 0;
}
