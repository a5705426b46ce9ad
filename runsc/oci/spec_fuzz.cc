// Fuzz target: config.json as a hostile bundle writes it. Any input either
// parses to a Spec whose checked fields hold, or is refused with a message;
// and a JSON value that parses prints back to text that parses to the same
// text again.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "runsc/oci/json.h"
#include "runsc/oci/spec.h"
#include "tools/fuzz/fuzz.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "spec_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<runsc::oci::Json> j = runsc::oci::ParseJson(text);
  if (j.ok()) {
    std::string once = j->Dump();
    absl::StatusOr<runsc::oci::Json> again = runsc::oci::ParseJson(once);
    Check(again.ok(), "a dumped value does not parse");
    Check(again->Dump() == once, "dump is not stable");
  }
  absl::StatusOr<runsc::oci::Spec> spec = runsc::oci::ParseSpec(text);
  if (!spec.ok()) {
    Check(!spec.status().message().empty(), "an error without a message");
    return 0;
  }
  Check(!spec->root_path.empty(), "no root path");
  if (spec->process) {
    Check(!spec->process->args.empty(), "no args");
    Check(spec->process->cwd[0] == '/', "relative cwd");
  }
  for (const runsc::oci::Mount& m : spec->mounts) {
    Check(m.destination[0] == '/', "relative mount destination");
    Check((m.destination + "/").find("/../") == std::string::npos,
          "mount destination with ..");
    Check(m.destination.compare(0, 6, "/proc/") != 0, "mount below /proc");
  }
  return 0;
}

std::vector<std::string> FuzzSeeds() {
  return {
      runsc::oci::DefaultSpecJson(),
      R"({"ociVersion":"1.0.2","root":{"path":"/r"},"process":{"args":["a"],)"
      R"("cwd":"/","user":{"uid":1,"gid":2,"additionalGids":[3]},)"
      R"("rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,)"
      R"("soft":1}]},"mounts":[{"destination":"/x","type":"bind",)"
      R"("source":"/y","options":["rbind","ro"]}],"hooks":{"poststop":)"
      R"([{"path":"/bin/true","timeout":3}]},"annotations":{"a":"b"},)"
      R"("linux":{"namespaces":[{"type":"network","path":"/n"}],)"
      R"("resources":{"memory":{"limit":-1},"cpu":{"quota":100000},)"
      R"("pids":{"limit":10}},"uidMappings":[{"containerID":0,)"
      R"("hostID":1000,"size":1}]}})",
      R"(["\u00e9\ud83d\ude00",1.5e-3,-0,true,null,{"":{}}])",
  };
}
