#include "runsc/control_request.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace runsc {

absl::Status ParseRequest(std::string_view bytes, size_t nfds,
                          ControlRequest* req) {
  if (bytes.empty() ||
      !req->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("malformed request");
  }
  size_t want_fds = 0;
  if (req->has_exec()) {
    const ExecRequest& e = req->exec();
    if (e.preserve_fds() > kMaxPreservedFds) {
      return absl::InvalidArgumentError(absl::StrCat("exec: ", e.preserve_fds(),
                                                     " preserved fds, at most ",
                                                     kMaxPreservedFds));
    }
    want_fds = (e.terminal() ? 1 : 3) + e.preserve_fds();
    if (e.argv().empty() || e.argv(0).empty())
      return absl::InvalidArgumentError("exec: no program to run");
    if (e.argv_size() > static_cast<int>(kMaxExecStrings) ||
        e.env_size() > static_cast<int>(kMaxExecStrings) ||
        e.additional_gids_size() > static_cast<int>(kMaxExecStrings) ||
        e.fd_names_size() > static_cast<int>(kMaxControlFds)) {
      return absl::InvalidArgumentError("exec: too many arguments");
    }
    if (e.cwd().empty() || e.cwd()[0] != '/')
      return absl::InvalidArgumentError(absl::StrCat(
          "exec: the working directory \"", e.cwd(), "\" is not absolute"));
    for (const std::string& v : e.env()) {
      if (v.find('=') == std::string::npos)
        return absl::InvalidArgumentError(
            absl::StrCat("exec: \"", v, "\" is not KEY=VALUE"));
    }
  }
  if (req->has_debug() && req->debug().strace() == DebugRequest::ON) {
    want_fds = 1;  // where the trace goes
  }
  if (nfds != want_fds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", want_fds, " fds with the request, got ", nfds));
  }
  return absl::OkStatus();
}

}  // namespace runsc
