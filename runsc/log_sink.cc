#include "runsc/log_sink.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace runsc {

namespace {

class FdLogSink final : public google::LogSink {
 public:
  explicit FdLogSink(int fd) : fd_(fd) {}
  void send(google::LogSeverity severity, const char*,
            const char* base_filename, int line, const struct ::tm* t,
            const char* message, size_t message_len) override {
    std::string s =
        absl::StrFormat("%c%02d%02d %02d:%02d:%02d %d %s:%d] %s\n",
                        google::GetLogSeverityName(severity)[0], t->tm_mon + 1,
                        t->tm_mday, t->tm_hour, t->tm_min, t->tm_sec, getpid(),
                        base_filename, line, std::string(message, message_len));
    (void)!write(fd_, s.data(), s.size());
  }

 private:
  const int fd_;
};

}  // namespace

void InitLogging(const char* name, int log_fd, bool verbose) {
  FLAGS_logtostderr = false;
  FLAGS_alsologtostderr = false;
  FLAGS_stderrthreshold = google::GLOG_ERROR;
  FLAGS_colorlogtostderr = false;
  if (verbose) FLAGS_v = 1;
  google::InitGoogleLogging(name);
  // No log files: glog would open them by path.
  for (int s = google::GLOG_INFO; s < google::NUM_SEVERITIES; s++) {
    google::SetLogDestination(s, "");
  }
  if (log_fd >= 0) google::AddLogSink(new FdLogSink(log_fd));
}

}  // namespace runsc
