// Sends N MiB over one loopback TCP connection from a client to a server
// process and prints the throughput in MiB/s. Used by the benchmark natively
// and inside a sandbox; it times only the transfer (from connect to the
// server's acknowledgement of the last byte), so the sandbox's start-up is
// not part of the figure.
//
//   tcp_loop N       throughput: N MiB, prints MiB/s
//   tcp_loop rr N    latency: N one-byte request/response round trips,
//                    prints nanoseconds per round trip
//
// The server listens on 127.0.0.1 on a port the kernel picks, so runs never
// collide, and the traffic never leaves the machine. Exits 1 with a message
// on stderr if any step fails (in a sandbox without sockets, the first
// socket(2)), so that a failure is never mistaken for a fast run.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kChunk = 1 << 20 };

static void Die(const char* what) {
  fprintf(stderr, "tcp_loop: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void WriteAll(int fd, const void* buf, size_t len) {
  const char* p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("write");
    p += n;
    len -= (size_t)n;
  }
}

// The server: counts what arrives until EOF, then answers with the count.
static void Serve(int listener) {
  int fd = accept(listener, NULL, NULL);
  if (fd < 0) Die("accept");
  static char buf[kChunk];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("server read");
    if (n == 0) break;
    total += (uint64_t)n;
  }
  WriteAll(fd, &total, sizeof(total));
  close(fd);
}

// The request/response server: echoes each byte until EOF.
static void Echo(int listener) {
  int fd = accept(listener, NULL, NULL);
  if (fd < 0) Die("accept");
  char c;
  for (;;) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("server read");
    if (n == 0) break;
    WriteAll(fd, &c, 1);
  }
  close(fd);
}

int main(int argc, char** argv) {
  int rr = argc == 3 && strcmp(argv[1], "rr") == 0;
  long mib = argc == 2 ? strtol(argv[1], NULL, 10)
                       : (rr ? strtol(argv[2], NULL, 10) : 0);
  if (mib <= 0) {
    fprintf(stderr, "usage: tcp_loop N (MiB to send) | tcp_loop rr N\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) Die("socket");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof(addr);
  if (bind(listener, (struct sockaddr*)&addr, sizeof(addr)) != 0) Die("bind");
  if (listen(listener, 1) != 0) Die("listen");
  if (getsockname(listener, (struct sockaddr*)&addr, &addr_len) != 0)
    Die("getsockname");
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    if (rr) {
      Echo(listener);
    } else {
      Serve(listener);
    }
    _exit(0);
  }
  close(listener);
  if (rr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) Die("socket");
    if (connect(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0) {
      Die("connect");
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    double t0 = NowNs();
    for (long i = 0; i < mib; i++) {
      char c = 'q';
      WriteAll(fd, &c, 1);
      ssize_t n;
      do {
        n = read(fd, &c, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) Die("reading the response");
    }
    double t1 = NowNs();
    close(fd);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) Die("waitpid");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "tcp_loop: the server failed (status 0x%x)\n", status);
      return 1;
    }
    printf("%.0f\n", (t1 - t0) / mib);
    return 0;
  }

  static char buf[kChunk];
  memset(buf, 'z', sizeof(buf));
  double t0 = NowNs();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket");
  if (connect(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0) Die("connect");
  for (long i = 0; i < mib; i++) WriteAll(fd, buf, sizeof(buf));
  if (shutdown(fd, SHUT_WR) != 0) Die("shutdown");
  uint64_t received = 0;
  size_t got = 0;
  while (got < sizeof(received)) {
    ssize_t n = read(fd, (char*)&received + got, sizeof(received) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("reading the acknowledgement");
    got += (size_t)n;
  }
  double t1 = NowNs();
  close(fd);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) Die("waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "tcp_loop: the server failed (status 0x%x)\n", status);
    return 1;
  }
  if (received != (uint64_t)mib * kChunk) {
    fprintf(stderr, "tcp_loop: the server received %llu bytes of %llu\n",
            (unsigned long long)received,
            (unsigned long long)mib * (unsigned long long)kChunk);
    return 1;
  }
  printf("%.1f\n", mib / ((t1 - t0) / 1e9));
  return 0;
}
