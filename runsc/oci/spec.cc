#include "runsc/oci/spec.h"

#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace runsc::oci {

bool Mount::IsBind() const {
  return type == "bind" || type == "rbind" || HasOption("bind") ||
         HasOption("rbind");
}

bool Mount::HasOption(std::string_view o) const {
  for (const std::string& x : options) {
    if (x == o) return true;
  }
  return false;
}

namespace {

const char* TypeName(const Json& j) {
  switch (j.type()) {
    case Json::Type::kNull:
      return "null";
    case Json::Type::kBool:
      return "a boolean";
    case Json::Type::kNumber:
      return "a number";
    case Json::Type::kString:
      return "a string";
    case Json::Type::kArray:
      return "an array";
    case Json::Type::kObject:
      return "an object";
  }
  return "?";
}

// A short rendering of a bad value for messages.
std::string Shown(const Json& j) {
  std::string s = j.Dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

// Decodes members of JSON objects into C++ values, keeping the first error
// (which names the field by its dotted path). Every getter is a no-op once
// an error is kept, so decoding reads as a straight list of fields.
class Decoder {
 public:
  absl::Status status() const { return status_; }
  bool ok() const { return status_.ok(); }

  void Fail(const std::string& path, const std::string& what) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
    }
  }

  // The member `name` of `obj` (at `path`), or null if absent or JSON null.
  const Json* Member(const Json& obj, std::string_view name) {
    const Json* j = obj.Find(name);
    return j == nullptr || j->is_null() ? nullptr : j;
  }

  bool Expect(const Json& j, Json::Type t, const std::string& path,
              const char* what) {
    if (!ok()) return false;
    if (j.type() == t) return true;
    Fail(path, absl::StrCat("expected ", what, ", got ", TypeName(j)));
    return false;
  }

  void String(const Json& obj, std::string_view name, const std::string& path,
              std::string* out) {
    const Json* j = Member(obj, name);
    if (j == nullptr ||
        !Expect(*j, Json::Type::kString, Sub(path, name), "a string")) {
      return;
    }
    if (j->text().find('\0') != std::string::npos) {
      Fail(Sub(path, name), "contains a NUL byte");
      return;
    }
    *out = j->text();
  }

  void Bool(const Json& obj, std::string_view name, const std::string& path,
            bool* out) {
    const Json* j = Member(obj, name);
    if (j == nullptr ||
        !Expect(*j, Json::Type::kBool, Sub(path, name), "true or false")) {
      return;
    }
    *out = j->bool_value();
  }

  template <typename T>
  void Int(const Json& obj, std::string_view name, const std::string& path,
           T* out) {
    const Json* j = Member(obj, name);
    if (j == nullptr) return;
    std::optional<T> v = IntOf<T>(*j, Sub(path, name));
    if (v.has_value()) *out = *v;
  }

  template <typename T>
  void Int(const Json& obj, std::string_view name, const std::string& path,
           std::optional<T>* out) {
    const Json* j = Member(obj, name);
    if (j == nullptr) return;
    std::optional<T> v = IntOf<T>(*j, Sub(path, name));
    if (v.has_value()) *out = *v;
  }

  template <typename T>
  std::optional<T> IntOf(const Json& j, const std::string& path) {
    if (!ok()) return std::nullopt;
    using L = std::numeric_limits<T>;
    std::string range = absl::StrCat("an integer from ", L::min(), " to ",
                                     L::max(), ", got ", Shown(j));
    if (!j.is_number()) {
      Fail(path, absl::StrCat("expected ", range));
      return std::nullopt;
    }
    if (L::is_signed) {
      std::optional<int64_t> v = j.AsInt64();
      if (!v || *v < static_cast<int64_t>(L::min()) ||
          *v > static_cast<int64_t>(L::max())) {
        Fail(path, absl::StrCat("expected ", range));
        return std::nullopt;
      }
      return static_cast<T>(*v);
    }
    std::optional<uint64_t> v = j.AsUint64();
    if (!v || *v > static_cast<uint64_t>(L::max())) {
      Fail(path, absl::StrCat("expected ", range));
      return std::nullopt;
    }
    return static_cast<T>(*v);
  }

  // An array member, bounded; calls `each(item, item_path)`.
  template <typename F>
  void Array(const Json& obj, std::string_view name, const std::string& path,
             size_t max, F each) {
    const Json* j = Member(obj, name);
    std::string p = Sub(path, name);
    if (j == nullptr || !Expect(*j, Json::Type::kArray, p, "an array")) return;
    if (j->items().size() > max) {
      Fail(p, absl::StrCat(j->items().size(), " entries, at most ", max));
      return;
    }
    for (size_t i = 0; i < j->items().size() && ok(); i++) {
      each(j->items()[i], absl::StrCat(p, "[", i, "]"));
    }
  }

  void Strings(const Json& obj, std::string_view name, const std::string& path,
               size_t max, std::vector<std::string>* out) {
    Array(obj, name, path, max, [&](const Json& item, const std::string& p) {
      if (!Expect(item, Json::Type::kString, p, "a string")) return;
      if (item.text().find('\0') != std::string::npos) {
        Fail(p, "contains a NUL byte");
        return;
      }
      out->push_back(item.text());
    });
  }

  void StringMap(const Json& obj, std::string_view name,
                 const std::string& path,
                 std::map<std::string, std::string>* out) {
    const Json* j = Member(obj, name);
    std::string p = Sub(path, name);
    if (j == nullptr || !Expect(*j, Json::Type::kObject, p, "an object")) {
      return;
    }
    if (j->members().size() > kMaxListItems) {
      Fail(p, absl::StrCat(j->members().size(), " entries, at most ",
                           kMaxListItems));
      return;
    }
    for (const auto& [k, v] : j->members()) {
      if (!Expect(v, Json::Type::kString, Sub(p, k), "a string")) return;
      (*out)[k] = v.text();
    }
  }

  // An object member; calls `f(obj, path)` if present.
  template <typename F>
  void Object(const Json& obj, std::string_view name, const std::string& path,
              F f) {
    const Json* j = Member(obj, name);
    std::string p = Sub(path, name);
    if (j == nullptr || !Expect(*j, Json::Type::kObject, p, "an object")) {
      return;
    }
    f(*j, p);
  }

  static std::string Sub(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name)
                        : absl::StrCat(path, ".", std::string(name));
  }

 private:
  absl::Status status_;
};

struct RlimitName {
  const char* name;
  int resource;
};
constexpr RlimitName kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

// Checks that `p` is absolute with no "." or ".." component and returns it
// normalized (no repeated or trailing slashes).
std::optional<std::string> NormalAbsolute(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.size() > kMaxPathLen) return std::nullopt;
  std::vector<std::string> parts;
  for (absl::string_view c : absl::StrSplit(p, '/', absl::SkipEmpty())) {
    if (c == "." || c == "..") return std::nullopt;
    parts.emplace_back(c);
  }
  return "/" + absl::StrJoin(parts, "/");
}

void DecodeUser(Decoder& d, const Json& u, const std::string& path, User* out) {
  d.Int(u, "uid", path, &out->uid);
  d.Int(u, "gid", path, &out->gid);
  d.Int(u, "umask", path, &out->umask);
  d.Array(u, "additionalGids", path, kMaxListItems,
          [&](const Json& g, const std::string& p) {
            std::optional<uint32_t> v = d.IntOf<uint32_t>(g, p);
            if (v) out->additional_gids.push_back(*v);
          });
}

constexpr const char* kCapabilityNames[] = {"CHOWN",
                                            "DAC_OVERRIDE",
                                            "DAC_READ_SEARCH",
                                            "FOWNER",
                                            "FSETID",
                                            "KILL",
                                            "SETGID",
                                            "SETUID",
                                            "SETPCAP",
                                            "LINUX_IMMUTABLE",
                                            "NET_BIND_SERVICE",
                                            "NET_BROADCAST",
                                            "NET_ADMIN",
                                            "NET_RAW",
                                            "IPC_LOCK",
                                            "IPC_OWNER",
                                            "SYS_MODULE",
                                            "SYS_RAWIO",
                                            "SYS_CHROOT",
                                            "SYS_PTRACE",
                                            "SYS_PACCT",
                                            "SYS_ADMIN",
                                            "SYS_BOOT",
                                            "SYS_NICE",
                                            "SYS_RESOURCE",
                                            "SYS_TIME",
                                            "SYS_TTY_CONFIG",
                                            "MKNOD",
                                            "LEASE",
                                            "AUDIT_WRITE",
                                            "AUDIT_CONTROL",
                                            "SETFCAP",
                                            "MAC_OVERRIDE",
                                            "MAC_ADMIN",
                                            "SYSLOG",
                                            "WAKE_ALARM",
                                            "BLOCK_SUSPEND",
                                            "AUDIT_READ",
                                            "PERFMON",
                                            "BPF",
                                            "CHECKPOINT_RESTORE"};

void DecodeProcess(Decoder& d, const Json& j, const std::string& path,
                   Process* out) {
  d.Bool(j, "terminal", path, &out->terminal);
  d.Object(j, "consoleSize", path, [&](const Json& c, const std::string& p) {
    d.Int(c, "width", p, &out->console_width);
    d.Int(c, "height", p, &out->console_height);
  });
  d.Object(j, "user", path, [&](const Json& u, const std::string& p) {
    DecodeUser(d, u, p, &out->user);
  });
  d.Strings(j, "args", path, kMaxArgs, &out->args);
  d.Strings(j, "env", path, kMaxArgs, &out->env);
  d.String(j, "cwd", path, &out->cwd);
  d.Object(j, "capabilities", path, [&](const Json& c, const std::string& p) {
    Capabilities& caps = out->capabilities;
    caps.present = true;
    struct {
      const char* name;
      std::vector<std::string>* set;
    } sets[] = {{"bounding", &caps.bounding},
                {"effective", &caps.effective},
                {"inheritable", &caps.inheritable},
                {"permitted", &caps.permitted},
                {"ambient", &caps.ambient}};
    for (const auto& s : sets) {
      d.Strings(c, s.name, p, 64, s.set);
      for (size_t i = 0; i < s.set->size() && d.ok(); i++) {
        if (!CapabilityNumber((*s.set)[i])) {
          d.Fail(absl::StrCat(p, ".", s.name, "[", i, "]"),
                 absl::StrCat("unknown capability \"", (*s.set)[i], "\""));
        }
      }
    }
  });
  std::set<std::string> seen;
  d.Array(j, "rlimits", path, 64, [&](const Json& r, const std::string& p) {
    if (!d.Expect(r, Json::Type::kObject, p, "an object")) return;
    Rlimit rl;
    d.String(r, "type", p, &rl.type);
    d.Int(r, "hard", p, &rl.hard);
    d.Int(r, "soft", p, &rl.soft);
    if (!d.ok()) return;
    for (const RlimitName& n : kRlimits) {
      if (rl.type == n.name) rl.resource = n.resource;
    }
    if (rl.resource < 0) {
      d.Fail(p + ".type", absl::StrCat("unknown rlimit \"", rl.type, "\""));
    } else if (!seen.insert(rl.type).second) {
      d.Fail(p + ".type", absl::StrCat(rl.type, " given twice"));
    } else if (rl.soft > rl.hard) {
      d.Fail(p, "soft limit above the hard limit");
    }
    out->rlimits.push_back(rl);
  });
  d.Bool(j, "noNewPrivileges", path, &out->no_new_privileges);
  d.Int(j, "oomScoreAdj", path, &out->oom_score_adj);
  d.String(j, "apparmorProfile", path, &out->apparmor_profile);
  d.String(j, "selinuxLabel", path, &out->selinux_label);
  if (!d.ok()) return;
  if (out->args.empty()) {
    d.Fail(Decoder::Sub(path, "args"), "no program to run");
  } else if (out->cwd.empty() || out->cwd[0] != '/') {
    d.Fail(Decoder::Sub(path, "cwd"),
           absl::StrCat("\"", out->cwd, "\" is not an absolute path"));
  } else if (out->oom_score_adj &&
             (*out->oom_score_adj < -1000 || *out->oom_score_adj > 1000)) {
    d.Fail(Decoder::Sub(path, "oomScoreAdj"), "expected -1000 to 1000");
  }
  for (size_t i = 0; i < out->env.size() && d.ok(); i++) {
    if (out->env[i].find('=') == std::string::npos) {
      d.Fail(absl::StrCat(path, ".env[", i, "]"),
             absl::StrCat("\"", out->env[i], "\" is not KEY=VALUE"));
    }
  }
}

void DecodeHooks(Decoder& d, const Json& j, const std::string& path,
                 Hooks* out) {
  auto list = [&](const char* name, std::vector<Hook>* hooks) {
    d.Array(j, name, path, 64, [&](const Json& h, const std::string& p) {
      if (!d.Expect(h, Json::Type::kObject, p, "an object")) return;
      Hook hook;
      d.String(h, "path", p, &hook.path);
      d.Strings(h, "args", p, kMaxArgs, &hook.args);
      d.Strings(h, "env", p, kMaxArgs, &hook.env);
      d.Int(h, "timeout", p, &hook.timeout);
      if (!d.ok()) return;
      if (hook.path.empty() || hook.path[0] != '/') {
        d.Fail(p + ".path", "expected an absolute path");
      } else if (hook.timeout && *hook.timeout <= 0) {
        d.Fail(p + ".timeout", "expected a positive number of seconds");
      }
      hooks->push_back(std::move(hook));
    });
  };
  list("prestart", &out->prestart);
  list("createRuntime", &out->create_runtime);
  list("createContainer", &out->create_container);
  list("startContainer", &out->start_container);
  list("poststart", &out->poststart);
  list("poststop", &out->poststop);
}

void DecodeLinux(Decoder& d, const Json& j, const std::string& path,
                 Linux* out) {
  static const std::set<std::string> kTypes = {
      "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
  std::set<std::string> seen;
  d.Array(j, "namespaces", path, 16, [&](const Json& n, const std::string& p) {
    if (!d.Expect(n, Json::Type::kObject, p, "an object")) return;
    Namespace ns;
    d.String(n, "type", p, &ns.type);
    d.String(n, "path", p, &ns.path);
    if (!d.ok()) return;
    if (kTypes.count(ns.type) == 0) {
      d.Fail(p + ".type", absl::StrCat("unknown namespace \"", ns.type, "\""));
    } else if (!seen.insert(ns.type).second) {
      d.Fail(p + ".type", absl::StrCat("namespace ", ns.type, " given twice"));
    } else if (!ns.path.empty() && ns.path[0] != '/') {
      d.Fail(p + ".path", "expected an absolute path");
    }
    out->namespaces.push_back(ns);
  });
  auto mappings = [&](const char* name, std::vector<IdMapping>* v) {
    d.Array(j, name, path, 340, [&](const Json& m, const std::string& p) {
      if (!d.Expect(m, Json::Type::kObject, p, "an object")) return;
      IdMapping idm;
      d.Int(m, "containerID", p, &idm.container_id);
      d.Int(m, "hostID", p, &idm.host_id);
      d.Int(m, "size", p, &idm.size);
      v->push_back(idm);
    });
  };
  mappings("uidMappings", &out->uid_mappings);
  mappings("gidMappings", &out->gid_mappings);
  d.Object(j, "resources", path, [&](const Json& r, const std::string& p) {
    d.Object(r, "memory", p, [&](const Json& m, const std::string& mp) {
      d.Int(m, "limit", mp, &out->resources.memory_limit);
      d.Int(m, "swap", mp, &out->resources.memory_swap);
      d.Int(m, "reservation", mp, &out->resources.memory_reservation);
    });
    d.Object(r, "cpu", p, [&](const Json& c, const std::string& cp) {
      d.Int(c, "shares", cp, &out->resources.cpu_shares);
      d.Int(c, "quota", cp, &out->resources.cpu_quota);
      d.Int(c, "period", cp, &out->resources.cpu_period);
    });
    d.Object(r, "pids", p, [&](const Json& c, const std::string& pp) {
      d.Int(c, "limit", pp, &out->resources.pids_limit);
    });
    d.StringMap(r, "unified", p, &out->resources.unified);
    for (const auto& [file, value] : out->resources.unified) {
      // "controller.setting": a file in the cgroup's own directory.
      if (!d.ok()) break;
      if (file.find('/') != std::string::npos ||
          file.find('.') == std::string::npos || file[0] == '.' ||
          file.size() > 255) {
        d.Fail(p + ".unified",
               absl::StrCat("\"", file, "\" is not a cgroup file name"));
      }
    }
  });
  d.String(j, "cgroupsPath", path, &out->cgroups_path);
  d.Object(j, "seccomp", path, [&](const Json& s, const std::string& p) {
    Seccomp sc;
    d.String(s, "defaultAction", p, &sc.default_action);
    if (d.ok() && sc.default_action.empty())
      d.Fail(p + ".defaultAction", "missing");
    d.Int(s, "defaultErrnoRet", p, &sc.default_errno_ret);
    d.Strings(s, "architectures", p, 64, &sc.architectures);
    d.Strings(s, "flags", p, 64, &sc.flags);
    d.String(s, "listenerPath", p, &sc.listener_path);
    d.Array(s, "syscalls", p, kMaxListItems,
            [&](const Json& r, const std::string& rp) {
              if (!d.Expect(r, Json::Type::kObject, rp, "an object")) return;
              SeccompRule rule;
              d.Strings(r, "names", rp, kMaxListItems, &rule.names);
              d.String(r, "action", rp, &rule.action);
              if (d.ok() && rule.action.empty())
                d.Fail(rp + ".action", "missing");
              d.Int(r, "errnoRet", rp, &rule.errno_ret);
              d.Array(
                  r, "args", rp, 6, [&](const Json& a, const std::string& ap) {
                    if (!d.Expect(a, Json::Type::kObject, ap, "an object"))
                      return;
                    SeccompArg arg;
                    d.Int(a, "index", ap, &arg.index);
                    d.Int(a, "value", ap, &arg.value);
                    d.Int(a, "valueTwo", ap, &arg.value_two);
                    d.String(a, "op", ap, &arg.op);
                    if (d.ok() && arg.index > 5)
                      d.Fail(ap + ".index", "a system call has 6 arguments");
                    rule.args.push_back(arg);
                  });
              sc.syscalls.push_back(std::move(rule));
            });
    out->seccomp = std::move(sc);
  });
  d.Strings(j, "maskedPaths", path, kMaxListItems, &out->masked_paths);
  d.Strings(j, "readonlyPaths", path, kMaxListItems, &out->readonly_paths);
  d.StringMap(j, "sysctl", path, &out->sysctl);
  auto absolute = [&](std::vector<std::string>& v, const char* name) {
    for (size_t i = 0; i < v.size() && d.ok(); i++) {
      std::optional<std::string> n = NormalAbsolute(v[i]);
      if (!n) {
        d.Fail(
            absl::StrCat(path, ".", name, "[", i, "]"),
            absl::StrCat("\"", v[i], "\" is not an absolute path without .."));
      } else {
        v[i] = *n;
      }
    }
  };
  absolute(out->masked_paths, "maskedPaths");
  absolute(out->readonly_paths, "readonlyPaths");
}

void DecodeMounts(Decoder& d, const Json& j, std::vector<Mount>* out) {
  d.Array(
      j, "mounts", "", kMaxMounts, [&](const Json& m, const std::string& p) {
        if (!d.Expect(m, Json::Type::kObject, p, "an object")) return;
        Mount mount;
        d.String(m, "destination", p, &mount.destination);
        d.String(m, "type", p, &mount.type);
        d.String(m, "source", p, &mount.source);
        d.Strings(m, "options", p, 256, &mount.options);
        if (!d.ok()) return;
        std::optional<std::string> dest = NormalAbsolute(mount.destination);
        if (!dest) {
          d.Fail(p + ".destination",
                 absl::StrCat("\"", mount.destination,
                              "\" is not an absolute path without .."));
          return;
        }
        mount.destination = *dest;
        bool in_proc = *dest == "/proc" || absl::StartsWith(*dest, "/proc/");
        if (in_proc && !(*dest == "/proc" && mount.type == "proc")) {
          d.Fail(p + ".destination",
                 absl::StrCat("a ", mount.type.empty() ? "bind" : mount.type,
                              " mount on ", *dest,
                              ": only a proc mount may go at /proc, and "
                              "nothing below it"));
          return;
        }
        if (mount.IsBind() && mount.source.empty()) {
          d.Fail(p + ".source", "a bind mount needs a source");
          return;
        }
        out->push_back(std::move(mount));
      });
}

}  // namespace

absl::StatusOr<Spec> ParseSpec(std::string_view config_json) {
  absl::StatusOr<Json> doc = ParseJson(config_json);
  if (!doc.ok()) return doc.status();
  Decoder d;
  Spec spec;
  if (!d.Expect(*doc, Json::Type::kObject, "config", "an object"))
    return d.status();
  d.String(*doc, "ociVersion", "", &spec.oci_version);
  d.Object(*doc, "root", "", [&](const Json& r, const std::string& p) {
    d.String(r, "path", p, &spec.root_path);
    d.Bool(r, "readonly", p, &spec.root_readonly);
  });
  d.Object(*doc, "process", "", [&](const Json& j, const std::string& p) {
    spec.process.emplace();
    DecodeProcess(d, j, p, &*spec.process);
  });
  d.String(*doc, "hostname", "", &spec.hostname);
  d.String(*doc, "domainname", "", &spec.domainname);
  DecodeMounts(d, *doc, &spec.mounts);
  d.Object(*doc, "hooks", "", [&](const Json& j, const std::string& p) {
    DecodeHooks(d, j, p, &spec.hooks);
  });
  d.StringMap(*doc, "annotations", "", &spec.annotations);
  d.Object(*doc, "linux", "", [&](const Json& j, const std::string& p) {
    DecodeLinux(d, j, p, &spec.linux);
  });
  if (!d.ok()) return d.status();
  if (spec.oci_version.empty()) {
    return absl::InvalidArgumentError("ociVersion: missing");
  }
  if (spec.root_path.empty()) {
    return absl::InvalidArgumentError("root.path: missing");
  }
  if (spec.hostname.size() > 64) {
    return absl::InvalidArgumentError("hostname: longer than 64 bytes");
  }
  return spec;
}

std::optional<int> CapabilityNumber(std::string_view name) {
  if (name.rfind("CAP_", 0) != 0) return std::nullopt;
  name.remove_prefix(4);
  for (size_t i = 0; i < sizeof(kCapabilityNames) / sizeof(*kCapabilityNames);
       i++) {
    if (name == kCapabilityNames[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

absl::StatusOr<Process> ParseProcess(std::string_view json) {
  absl::StatusOr<Json> doc = ParseJson(json);
  if (!doc.ok()) return doc.status();
  Decoder d;
  Process p;
  if (!d.Expect(*doc, Json::Type::kObject, "process", "an object"))
    return d.status();
  DecodeProcess(d, *doc, "process", &p);
  if (!d.ok()) return d.status();
  return p;
}

namespace {

// A JSON file's text, refused unread beyond the JSON size limit.
absl::StatusOr<std::string> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot be read: ", strerror(errno)));
  }
  // At most one byte past the limit, so a huge file is refused unread.
  size_t limit = JsonLimits().max_bytes;
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

}  // namespace

absl::StatusOr<Spec> LoadSpec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  absl::StatusOr<std::string> text = ReadJsonFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Spec> spec = ParseSpec(*text);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", spec.status().message()));
  }
  return spec;
}

absl::StatusOr<Process> LoadProcess(const std::string& path) {
  absl::StatusOr<std::string> text = ReadJsonFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Process> p = ParseProcess(*text);
  if (!p.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", p.status().message()));
  }
  return p;
}

std::string DefaultSpecJson(bool cgroup_namespace) {
  std::string spec = R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runsc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                 "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
      {"type": "uts"}, {"type": "mount"}
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
      "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
      "/proc/sysrq-trigger"
    ],
    "resources": {"devices": [{"allow": false, "access": "rwm"}]}
  }
}
)";
  if (cgroup_namespace) {
    spec = absl::StrReplaceAll(
        spec,
        {{R"({"type": "mount"})", R"({"type": "mount"}, {"type": "cgroup"})"}});
  }
  return spec;
}

}  // namespace runsc::oci
