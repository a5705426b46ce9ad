// The flags of every runsc verb, defined in one place (flags.cc).

#ifndef RUNSC_FLAGS_H_
#define RUNSC_FLAGS_H_

#include "gflags/gflags.h"

// `runsc do`
DECLARE_string(platform);
DECLARE_bool(strace);
DECLARE_string(debug_log);
DECLARE_string(cwd);
DECLARE_string(hostname);
DECLARE_bool(debug);
DECLARE_int32(max_tasks);
DECLARE_bool(overlay);
DECLARE_bool(t);
DECLARE_string(network);

// Hidden verbs that runsc runs itself.
DECLARE_int32(config_fd);
DECLARE_int32(gofer_fd);
DECLARE_int32(log_fd);
DECLARE_int32(console_fd);
DECLARE_string(gofer_root);
DECLARE_int32(gofer_root_fd);
DECLARE_bool(gofer_read_only);
DECLARE_int32(net_fd);
DECLARE_string(net_allow_rules);
DECLARE_string(net_listen_ports);
DECLARE_string(sandbox_name);

// `runsc syscalls`
DECLARE_string(format);

#endif  // RUNSC_FLAGS_H_
