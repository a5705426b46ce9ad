// Sends glog's messages to an fd (the --debug_log file), never to a file
// glog would open by path, and nothing but errors to stderr.

#ifndef RUNSC_LOG_SINK_H_
#define RUNSC_LOG_SINK_H_

namespace runsc {

// Sets up glog for a runsc process called `name`: everything to `log_fd`
// (if >= 0), ERROR and worse also to stderr.
void InitLogging(const char* name, int log_fd, bool verbose);

}  // namespace runsc

#endif  // RUNSC_LOG_SINK_H_
