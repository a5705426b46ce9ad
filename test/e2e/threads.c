// Threads, a signal, fork+exec and vfork through a C library: built with
// musl (test/e2e:threads_musl), whose pthread_create and vfork use other
// clone flags and stacks than glibc's.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int counter;
static int finished;

static void* Work(void* arg) {
  for (int i = 0; i < 10000; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  finished++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return arg;
}

static volatile sig_atomic_t got;
static void Handler(int sig) { got = sig; }

int main(void) {
  pthread_t threads[8];
  for (int i = 0; i < 8; i++) pthread_create(&threads[i], NULL, Work, NULL);
  pthread_mutex_lock(&mu);
  while (finished < 8) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < 8; i++) pthread_join(threads[i], NULL);
  printf("counter %d\n", counter);
  signal(SIGUSR1, Handler);
  raise(SIGUSR1);
  printf("signal %d\n", got);
  fflush(stdout);
  int status;
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/echo", "echo", "exec ok", (char*)NULL);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  printf("child %d\n", WEXITSTATUS(status));
  pid = vfork();
  if (pid == 0) _exit(5);
  waitpid(pid, &status, 0);
  printf("vfork %d\n", WEXITSTATUS(status));
  return 0;
}
