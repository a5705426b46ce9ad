#!/usr/bin/env python3
"""Runs a command on a new pty as a person at a terminal would.

  terminal_drive.py ROWS COLS INPUT CMD...

The pty is sized ROWS x COLS before CMD starts; INPUT (with \\r for Enter)
is typed a second later. Prints CMD's exit code on the first line, then
everything CMD wrote to the terminal with carriage returns removed.
Gives up (exit code 124) after 30 seconds.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

rows, cols, typed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(sys.argv[4], sys.argv[4:])
out = b""
start = time.monotonic()
sent = False
while time.monotonic() - start < 30:
    if not sent and time.monotonic() - start > 1:
        os.write(fd, typed.encode())
        sent = True
    r, _, _ = select.select([fd], [], [], 0.1)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: the command and everything it started are gone
        break
    if not data:
        break
    out += data
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print(124)
    print(out.decode(errors="replace").replace("\r", ""))
    sys.exit(0)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
print(out.decode(errors="replace").replace("\r", ""))
