#include "runsc/flags.h"

DEFINE_string(platform, "auto",
              "How guest code runs: systrap (seccomp traps, fast), ptrace "
              "(PTRACE_SYSEMU, works wherever ptrace does), or auto (systrap "
              "where the kernel supports it, else ptrace).");
DEFINE_bool(strace, false,
            "Print every guest system call, with decoded arguments and its "
            "result, on stderr "
            "in strace's format.");
DEFINE_string(debug_log, "",
              "Write the sandbox's and the gofer's logs to this file.");
DEFINE_string(cwd, "",
              "Working directory of the program (default: the caller's).");
DEFINE_string(hostname, "sandbox", "Host name inside the sandbox.");
DEFINE_bool(overlay, true,
            "Put the host root under a sandbox-private in-memory overlay, so "
            "writes succeed inside and never reach the host; false mounts it "
            "read-only.");
DEFINE_bool(debug, false, "Verbose logs (to --debug_log).");
DEFINE_int32(max_tasks, 4096,
             "The most threads the sandbox may hold at once; fork and clone "
             "beyond it fail with EAGAIN.");

DEFINE_bool(t, false,
            "Run the program on a terminal of its own inside the sandbox "
            "(a pseudo-terminal, its controlling terminal), connected to "
            "runsc's terminal in raw mode. The default when runsc's stdin "
            "and stdout are terminals; -t=false turns it off.");

DEFINE_string(network, "none",
              "The sandbox's network: none (only its own loopback, the "
              "default) or host (also host sockets made on the guest's "
              "behalf, to the destinations --net-allow names).");

// The runc command line (global flags, then the verbs').
DEFINE_string(root, "/run/runsc",
              "Directory of the containers' state (runc's --root).");
DEFINE_string(log, "", "File for runsc's own messages (runc's --log).");
DEFINE_string(log_format, "text", "Format of --log: text or json.");
DEFINE_bool(systemd_cgroup, false,
            "Accepted for runc compatibility; cgroups are made by path.");
DEFINE_string(rootless, "auto", "Accepted for runc compatibility.");
DEFINE_string(bundle, "", "The OCI bundle (default: the current directory).");
DEFINE_string(pid_file, "", "Write the container's pid here.");
DEFINE_string(console_socket, "",
              "Unix socket to send the container terminal's master to.");
DEFINE_int32(preserve_fds, 0,
             "create, run, exec: the process gets this many of the "
             "caller's fds beyond stdio (3, 4, ...) as its own.");
DEFINE_bool(detach, false, "run: do not wait for the container.");
DEFINE_bool(keep, false, "run: keep the container's state when it exits.");
DEFINE_bool(force, false, "delete: kill a container that is not stopped.");
DEFINE_bool(all, false, "kill: signal every process of the container.");
DEFINE_bool(quiet, false, "list: only the ids.");
DEFINE_bool(no_pivot, false, "Accepted for runc compatibility.");
DEFINE_bool(no_new_keyring, false, "Accepted for runc compatibility.");
DEFINE_string(process, "",
              "exec: a JSON file with the process to run (the OCI process "
              "object) instead of the command line.");
DEFINE_bool(tty, false, "exec: run on a new pty (needs --console-socket).");
DEFINE_string(user, "", "exec: UID[:GID] to run as (numeric).");
DEFINE_bool(no_new_privs, false,
            "exec: accepted; nothing in the sandbox gains privileges.");
DEFINE_string(process_label, "", "exec: accepted (no SELinux in the sandbox).");
DEFINE_string(apparmor, "", "exec: accepted (no AppArmor in the sandbox).");
DEFINE_bool(ignore_paused, false, "exec: accepted for runc compatibility.");
DEFINE_bool(stats, false, "events: print one stats event and exit.");
DEFINE_string(interval, "5s", "events: how often to print stats.");
// `runsc update`: runc's flags; empty is not given. Sizes take runc's
// units (50M); -1 is unlimited.
DEFINE_string(resources, "",
              "update: a linux.resources JSON file, - for stdin.");
DEFINE_string(memory, "", "update: memory limit.");
DEFINE_string(memory_swap, "", "update: memory plus swap limit.");
DEFINE_string(memory_reservation, "", "update: memory soft limit.");
DEFINE_string(cpu_share, "", "update: CPU shares.");
DEFINE_string(cpu_period, "", "update: CPU CFS period, microseconds.");
DEFINE_string(cpu_quota, "", "update: CPU CFS quota, microseconds.");
DEFINE_string(pids_limit, "", "update: most tasks.");
// Accepted by name so that they are refused with a reason.
DEFINE_string(kernel_memory, "", "update: not supported.");
DEFINE_string(kernel_memory_tcp, "", "update: not supported.");
DEFINE_string(cpuset_cpus, "", "update: not supported.");
DEFINE_string(cpuset_mems, "", "update: not supported.");
DEFINE_string(cpu_rt_period, "", "update: not supported.");
DEFINE_string(cpu_rt_runtime, "", "update: not supported.");
DEFINE_string(blkio_weight, "", "update: not supported.");
DEFINE_string(l3_cache_schema, "", "update: not supported.");
DEFINE_string(mem_bw_schema, "", "update: not supported.");
DEFINE_bool(stacks, false, "debug: print what each task of the sandbox does.");
// `runsc debug --strace=on|off` (Split renames debug's --strace to this).
DEFINE_string(debug_strace, "",
              "debug: on (trace to stdout from now on) or off.");

DEFINE_int32(config_fd, -1, "(internal) fd of the boot configuration.");
DEFINE_int32(gofer_fd, -1, "(internal) fd of the sentry-gofer socket.");
DEFINE_int32(log_fd, -1, "(internal) fd to write logs to.");
DEFINE_int32(console_fd, -1,
             "(internal) fd of the console socket of `runsc do -t`.");
DEFINE_string(gofer_root, "/", "(internal) the tree the gofer serves.");
DEFINE_int32(gofer_root_fd, -1,
             "(internal) O_PATH fd of the tree the gofer serves (a volume).");
DEFINE_bool(gofer_read_only, true,
            "(internal) the gofer refuses every change (EROFS).");
DEFINE_int32(net_fd, -1, "(internal) fd of the network broker's socket.");
DEFINE_string(net_allow_rules, "",
              "(internal) the broker's allowlist, comma-separated.");
DEFINE_string(net_listen_ports, "",
              "(internal) the broker's listen ports, comma-separated.");
DEFINE_string(sandbox_name, "", "(internal) the sandbox's name in logs.");

DEFINE_string(format, "table",
              "Output format of `runsc syscalls`: table or markdown.");
