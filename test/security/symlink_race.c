// A guest that races symlink swaps on a read-write volume against file
// operations through the swapped path, to steer the gofer out of its root.
//
//   symlink_race VOLUME SECONDS
//
// In VOLUME, "d" flips between a real directory and symlinks to outside the
// volume (relative, absolute and "/"), and "d/secret" between a real file
// and symlinks to the canary outside, while threads open, read, write,
// create, truncate, chmod, utime, link, rename and unlink through "d/...".
// Every distinct content read that is not one this program wrote is
// printed as "READ <content>", so the test can check that the canary's
// bytes never reach the guest. The canary paths outside are the test's:
// CANARY_REL (relative to VOLUME) and CANARY_ABS in the environment.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char* vol;
static const char* canary_rel;
static const char* canary_abs;
static atomic_int stop;
static atomic_long ops, swaps;
static pthread_mutex_t print_mu = PTHREAD_MUTEX_INITIALIZER;

// Contents this program itself puts in files: reading them is no leak.
static int Known(const char* buf, ssize_t n) {
  static const char* known[] = {"inside\n", "written\n", "created\n", ""};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    size_t len = strlen(known[i]);
    if ((size_t)n <= len && memcmp(buf, known[i], (size_t)n) == 0) return 1;
  }
  return 0;
}

static void Report(const char* buf, ssize_t n) {
  static char seen[64][128];
  static int nseen;
  pthread_mutex_lock(&print_mu);
  int found = 0;
  for (int i = 0; i < nseen; i++) {
    if (strncmp(seen[i], buf, (size_t)n) == 0 && seen[i][n] == 0) found = 1;
  }
  if (!found && nseen < 64 && n < 128) {
    memcpy(seen[nseen], buf, (size_t)n);
    seen[nseen][n] = 0;
    nseen++;
    printf("READ %.*s\n", (int)n, buf);
    fflush(stdout);
  }
  pthread_mutex_unlock(&print_mu);
}

static void P(char* out, size_t size, const char* rel) {
  snprintf(out, size, "%s/%s", vol, rel);
}

static void ReadPath(const char* rel) {
  char path[4096], buf[128];
  P(path, sizeof(path), rel);
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n > 0 && !Known(buf, n)) Report(buf, n);
}

static void* Reader(void* arg) {
  (void)arg;
  const char* paths[] = {"d/secret", "d/f", "d/new", "d/sub/x", "d/renamed"};
  for (unsigned i = 0; !atomic_load(&stop); i++) {
    ReadPath(paths[i % 5]);
    // A directory listing through the swapped path.
    char path[4096];
    P(path, sizeof(path), "d");
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      char dents[4096];
      (void)syscall(SYS_getdents64, fd, dents, sizeof(dents));
      close(fd);
    }
    atomic_fetch_add(&ops, 1);
  }
  return NULL;
}

static void* Writer(void* arg) {
  long id = (long)arg;
  char path[4096], path2[4096];
  for (unsigned i = 0; !atomic_load(&stop); i++) {
    switch ((i + (unsigned)id) % 12) {
      case 0: {
        P(path, sizeof(path), "d/secret");
        int fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
          (void)!write(fd, "written\n", 8);
          close(fd);
        }
        break;
      }
      case 1: {
        P(path, sizeof(path), "d/new");
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd >= 0) {
          (void)!write(fd, "created\n", 8);
          close(fd);
        }
        break;
      }
      case 2:
        P(path, sizeof(path), "d/secret");
        (void)truncate(path, 0);
        break;
      case 3:
        P(path, sizeof(path), "d/secret");
        (void)chmod(path, 0777);
        (void)chown(path, 4242, 4242);
        break;
      case 4: {
        P(path, sizeof(path), "d/secret");
        struct timespec ts[2] = {{1, 0}, {1, 0}};
        (void)utimensat(AT_FDCWD, path, ts, 0);
        break;
      }
      case 5:
        P(path, sizeof(path), "d/secret");
        P(path2, sizeof(path2), "d/renamed");
        (void)rename(path, path2);
        break;
      case 6:
        P(path, sizeof(path), "d/secret");
        (void)unlink(path);
        P(path, sizeof(path), "d/renamed");
        (void)unlink(path);
        break;
      case 7:
        P(path, sizeof(path), "d/sub");
        (void)mkdir(path, 0777);
        P(path, sizeof(path), "d/sub/x");
        (void)mknod(path, S_IFIFO | 0644, 0);
        (void)unlink(path);
        P(path, sizeof(path), "d/sub");
        (void)rmdir(path);
        break;
      case 8:
        P(path, sizeof(path), "d/secret");
        P(path2, sizeof(path2), "d/hardlink");
        (void)link(path, path2);
        (void)unlink(path2);
        break;
      case 9:
        P(path, sizeof(path), "d/PWNED-symlink");
        (void)symlink("x", path);
        (void)unlink(path);
        P(path, sizeof(path), "d/PWNED-file");
        close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        (void)unlink(path);
        break;
      case 10: {
        // Through a file symlink in a real directory.
        P(path, sizeof(path), "d/f");
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
          (void)!write(fd, "inside\n", 7);
          (void)ftruncate(fd, 7);
          (void)fallocate(fd, 0, 0, 7);
          close(fd);
        }
        break;
      }
      case 11:
        P(path, sizeof(path), "d/secret");
        P(path2, sizeof(path2), "elsewhere");
        (void)syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, path2,
                      RENAME_EXCHANGE);
        (void)syscall(SYS_renameat2, AT_FDCWD, path2, AT_FDCWD, path,
                      RENAME_EXCHANGE);
        break;
    }
    atomic_fetch_add(&ops, 1);
  }
  return NULL;
}

// Makes VOLUME/NAME a real directory with "f" and "secret" inside.
static void MakeRealDir(const char* name) {
  char path[4096];
  P(path, sizeof(path), name);
  mkdir(path, 0777);
  for (int i = 0; i < 2; i++) {
    char file[4200];
    snprintf(file, sizeof(file), "%s/%s", path, i ? "secret" : "f");
    int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!write(fd, "inside\n", 7);
      close(fd);
    }
  }
}

static void* Swapper(void* arg) {
  (void)arg;
  char d[4096], tmp[4096], secret[4200], stmp[4096];
  P(d, sizeof(d), "d");
  P(tmp, sizeof(tmp), "d.tmp");
  P(stmp, sizeof(stmp), "secret.tmp");
  char rel_file[4096], abs_file[4096];
  snprintf(rel_file, sizeof(rel_file), "../%s/secret", canary_rel);
  snprintf(abs_file, sizeof(abs_file), "%s/secret", canary_abs);
  const char* dir_targets[] = {canary_rel, canary_abs, "/", "../../../../.."};
  for (unsigned i = 0; !atomic_load(&stop); i++) {
    // "d": a real directory, or a symlink out of the volume, swapped in
    // with one rename so there is always something at "d".
    if (i % 2 == 0) {
      MakeRealDir("d.tmp");
    } else {
      unlink(tmp);
      (void)symlink(dir_targets[(i / 2) % 4], tmp);
    }
    if (rename(tmp, d) != 0 && (errno == EISDIR || errno == ENOTDIR ||
                                errno == EEXIST || errno == ENOTEMPTY)) {
      // A symlink cannot replace a directory, nor a directory a symlink or
      // a full directory: exchange them.
      (void)syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, d, RENAME_EXCHANGE);
    }
    // Inside a real "d": "secret" a symlink to the canary's file.
    snprintf(secret, sizeof(secret), "%s/secret", d);
    unlink(stmp);
    (void)symlink(i % 4 < 2 ? rel_file : abs_file, stmp);
    (void)rename(stmp, secret);
    // Tidy whatever "d.tmp" holds now.
    char inner[4200];
    const char* names[] = {"f", "secret", "new", "renamed", "hardlink"};
    for (int k = 0; k < 5; k++) {
      snprintf(inner, sizeof(inner), "%s/%s", tmp, names[k]);
      (void)unlink(inner);
    }
    (void)rmdir(tmp);
    (void)unlink(tmp);
    atomic_fetch_add(&swaps, 1);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: symlink_race VOLUME SECONDS\n");
    return 2;
  }
  vol = argv[1];
  canary_rel = getenv("CANARY_REL");
  canary_abs = getenv("CANARY_ABS");
  if (canary_rel == NULL || canary_abs == NULL) {
    fprintf(stderr, "symlink_race: CANARY_REL and CANARY_ABS must be set\n");
    return 2;
  }
  int seconds = atoi(argv[2]);
  MakeRealDir("d");
  pthread_t threads[8];
  int n = 0;
  pthread_create(&threads[n++], NULL, Swapper, NULL);
  pthread_create(&threads[n++], NULL, Swapper, NULL);
  for (long i = 0; i < 3; i++)
    pthread_create(&threads[n++], NULL, Reader, NULL);
  for (long i = 0; i < 3; i++)
    pthread_create(&threads[n++], NULL, Writer, (void*)i);
  sleep((unsigned)seconds);
  atomic_store(&stop, 1);
  for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
  printf("DONE ops=%ld swaps=%ld\n", atomic_load(&ops), atomic_load(&swaps));
  return 0;
}
