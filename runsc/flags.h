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

// The runc command line.
DECLARE_string(root);
DECLARE_string(log);
DECLARE_string(log_format);
DECLARE_bool(systemd_cgroup);
DECLARE_string(rootless);
DECLARE_string(bundle);
DECLARE_string(pid_file);
DECLARE_string(console_socket);
DECLARE_int32(preserve_fds);
DECLARE_bool(detach);
DECLARE_bool(keep);
DECLARE_bool(force);
DECLARE_bool(all);
DECLARE_bool(quiet);
DECLARE_bool(no_pivot);
DECLARE_bool(no_new_keyring);
DECLARE_string(process);
DECLARE_bool(tty);
DECLARE_string(user);
DECLARE_bool(no_new_privs);
DECLARE_string(process_label);
DECLARE_string(apparmor);
DECLARE_bool(ignore_paused);
DECLARE_bool(stats);
DECLARE_string(interval);
DECLARE_string(resources);
DECLARE_string(memory);
DECLARE_string(memory_swap);
DECLARE_string(memory_reservation);
DECLARE_string(cpu_share);
DECLARE_string(cpu_period);
DECLARE_string(cpu_quota);
DECLARE_string(pids_limit);
DECLARE_string(kernel_memory);
DECLARE_string(kernel_memory_tcp);
DECLARE_string(cpuset_cpus);
DECLARE_string(cpuset_mems);
DECLARE_string(cpu_rt_period);
DECLARE_string(cpu_rt_runtime);
DECLARE_string(blkio_weight);
DECLARE_string(l3_cache_schema);
DECLARE_string(mem_bw_schema);
DECLARE_bool(stacks);
DECLARE_string(debug_strace);

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
