#include "runsc/dns.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace runsc {
namespace {

bool IsAddress(const std::string& s) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A host or domain name as resolv.conf and hosts(5) take it: dot-separated
// labels of letters, digits, '-' and '_', at most 253 bytes. Anything else
// (spaces, newlines, '#') would change the file's meaning.
bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
          c != '_') {
        return false;
      }
    }
  }
  return true;
}

// The first word of a resolv.conf line ("" for blanks and comments).
std::string Keyword(absl::string_view line) {
  line = absl::StripLeadingAsciiWhitespace(line);
  if (line.empty() || line[0] == '#' || line[0] == ';') return "";
  size_t end = 0;
  while (end < line.size() &&
         !absl::ascii_isspace(static_cast<unsigned char>(line[end]))) {
    end++;
  }
  return std::string(line.substr(0, end));
}

}  // namespace

absl::StatusOr<std::string> ComposeResolvConf(
    const std::string& host_conf, const std::vector<std::string>& servers,
    const std::vector<std::string>& search,
    const std::vector<std::string>& options) {
  if (servers.size() > kMaxNameservers) {
    return absl::InvalidArgumentError(
        absl::StrCat(servers.size(), " --dns servers: resolvers use at most ",
                     kMaxNameservers));
  }
  for (const std::string& s : servers) {
    if (!IsAddress(s)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dns=", s, ": expected an IPv4 or IPv6 address"));
    }
  }
  for (const std::string& d : search) {
    if (!IsName(d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dns-search=", d, ": expected a domain name"));
    }
  }
  for (const std::string& o : options) {
    bool ok = !o.empty() && o.size() <= 64;
    for (char c : o) {
      if (!absl::ascii_isgraph(static_cast<unsigned char>(c)) || c == '#' ||
          c == ';') {
        ok = false;
      }
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--dns-option=", o, ": expected one resolv.conf option"));
    }
  }
  std::string out =
      "# written by runsc do (--dns, --dns-search, --dns-option)\n";
  for (absl::string_view line : absl::StrSplit(host_conf, '\n')) {
    std::string k = Keyword(line);
    if ((k == "nameserver" && !servers.empty()) ||
        ((k == "search" || k == "domain") && !search.empty()) ||
        (k == "options" && !options.empty())) {
      continue;
    }
    if (line.empty()) continue;
    absl::StrAppend(&out, line, "\n");
  }
  for (const std::string& s : servers)
    absl::StrAppend(&out, "nameserver ", s, "\n");
  if (!search.empty())
    absl::StrAppend(&out, "search ", absl::StrJoin(search, " "), "\n");
  if (!options.empty())
    absl::StrAppend(&out, "options ", absl::StrJoin(options, " "), "\n");
  return out;
}

absl::StatusOr<std::string> ComposeHosts(const std::string& host_hosts,
                                         const std::vector<std::string>& add) {
  std::string out;
  for (const std::string& a : add) {
    size_t sep = a.find_first_of(":=");
    std::string name = a.substr(0, sep);
    std::string ip = sep == std::string::npos ? "" : a.substr(sep + 1);
    if (!IsName(name) || !IsAddress(ip)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--add-host=", a, ": expected NAME:IP (an IPv4 or IPv6 address)"));
    }
    if (out.empty()) out = "# runsc do --add-host\n";
    absl::StrAppend(&out, ip, "\t", name, "\n");
  }
  absl::StrAppend(&out, host_hosts);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

}  // namespace runsc
