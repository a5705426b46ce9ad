"""A --console-socket for tests, as an engine (conmon, a shim) serves one.

  console_socket.py SOCKET INPUT...

Listens on SOCKET, takes the one pty master runsc sends, sets its size to
40x100, types each INPUT into it 0.4 s apart (resizing to 50x120 before the
last of two or more), and prints everything the terminal shows until its
slave's last holder closes it. Prints "ready" first, once SOCKET exists.
"""
import fcntl
import os
import socket
import struct
import sys
import termios
import time

path, inputs = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print("ready", flush=True)
s.settimeout(30)
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 4096, 1)
m = fds[0]
fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
for i, text in enumerate(inputs):
    time.sleep(0.4)
    if i == len(inputs) - 1 and i > 0:
        fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        time.sleep(0.5)
    os.write(m, text.encode())
out = b""
while True:
    try:
        d = os.read(m, 4096)
    except OSError:  # EIO: the slave's last holder closed it
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
