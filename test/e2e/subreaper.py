"""Runs a command as conmon runs `runc exec --detach`: as a child
subreaper, so the process the command leaves behind (named by its pid file)
becomes this one's child; waits for that process and prints how it ended
("exit N" or "signal N").

  subreaper.py [--signal N] PIDFILE CMD...

With --signal, sends signal N to that process half a second after CMD
returns (an engine stopping an exec), before waiting.
"""
import ctypes
import os
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
args = sys.argv[1:]
sig = None
if args[0] == "--signal":
    sig, args = int(args[1]), args[2:]
pidfile, cmd = args[0], args[1:]
rc = subprocess.call(cmd)
if rc != 0:
    print("command failed: %d" % rc)
    sys.exit(1)
pid = int(open(pidfile).read())
if sig is not None:
    time.sleep(0.5)
    os.kill(pid, sig)
_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    print("signal %d" % os.WTERMSIG(status))
else:
    print("exit %d" % os.WEXITSTATUS(status))
