// Fuzz target: a control request as a hostile peer of the control socket
// could write it. The first byte is how many fds came with it (0-3), the
// rest the message. Any input is refused with a message or decodes to a
// request whose checked fields hold.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "runsc/control_request.h"
#include "tools/fuzz/fuzz.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "control_request_fuzz: %s\n", what);
    abort();
  }
}

std::string Seed(size_t nfds, const runsc::ControlRequest& req) {
  return std::string(1, static_cast<char>(nfds)) + req.SerializeAsString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t nfds = data[0] % 4;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  runsc::ControlRequest req;
  absl::Status s = runsc::ParseRequest(bytes, nfds, &req);
  if (!s.ok()) {
    Check(!s.message().empty(), "an error without a message");
    return 0;
  }
  if (req.has_exec()) {
    const runsc::ExecRequest& e = req.exec();
    Check(!e.argv().empty() && !e.argv(0).empty(), "exec without a program");
    Check(!e.cwd().empty() && e.cwd()[0] == '/', "exec with a relative cwd");
    Check(e.preserve_fds() <= runsc::kMaxPreservedFds,
          "exec preserving too many fds");
    Check(nfds == (e.terminal() ? 1u : 3u) + e.preserve_fds(),
          "exec with the wrong fds");
    Check(e.argv_size() <= static_cast<int>(runsc::kMaxExecStrings),
          "exec with too many arguments");
  } else if (req.has_debug() &&
             req.debug().strace() == runsc::DebugRequest::ON) {
    Check(nfds == 1, "a trace without its one fd");
  } else {
    Check(nfds == 0, "fds with a request that takes none");
  }
  return 0;
}

std::vector<std::string> FuzzSeeds() {
  runsc::ControlRequest sig;
  sig.mutable_signal()->set_signo(15);
  sig.mutable_signal()->set_all(true);
  runsc::ControlRequest exec;
  runsc::ExecRequest* e = exec.mutable_exec();
  e->add_argv("/bin/sh");
  e->add_argv("-c");
  e->add_env("PATH=/bin");
  e->set_cwd("/");
  e->set_uid(1000);
  e->add_additional_gids(10);
  e->add_fd_names("pipe:[1]");
  runsc::ControlRequest tty = exec;
  tty.mutable_exec()->set_terminal(true);
  runsc::ControlRequest preserving = tty;
  preserving.mutable_exec()->set_preserve_fds(2);
  runsc::ControlRequest limits;
  limits.mutable_limits()->set_max_tasks(64);
  return {Seed(0, sig), Seed(3, exec), Seed(1, tty), Seed(3, preserving),
          Seed(0, limits)};
}
