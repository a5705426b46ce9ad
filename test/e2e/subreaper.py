"""Runs a command as conmon runs `runc exec --detach`: as a child
subreaper, so the process the command leaves behind (named by its pid file)
becomes this one's child; waits for that process and prints how it ended
("exit N" or "signal N").

  subreaper.py PIDFILE CMD...
"""
import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
pidfile, cmd = sys.argv[1], sys.argv[2:]
rc = subprocess.call(cmd)
if rc != 0:
    print("command failed: %d" % rc)
    sys.exit(1)
pid = int(open(pidfile).read())
_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    print("signal %d" % os.WTERMSIG(status))
else:
    print("exit %d" % os.WEXITSTATUS(status))
