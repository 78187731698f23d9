// Starts the benchmark's workers and reaps each one the moment it exits: a zombie still counts as alive for
// `kill -0` and for start-stop-daemon, so an idle parent would distort their figures.
// Usage: spawner WORKER RECORD_FILE TIMEOUT_MS DELAY_MS...
// Prints "ready PID PID ..." once every worker waits for TERM, then "reaped PID REAP_NS STATUS" per worker.
// After TIMEOUT_MS it KILLs whatever is left (and exits 1), so a broken contender cannot leave workers behind.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int signo) {
  (void)signo;
  timed_out = 1;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: spawner WORKER RECORD_FILE TIMEOUT_MS DELAY_MS...\n");
    return 64;
  }
  const char *worker = argv[1];
  const char *record = argv[2];
  long timeout_ms = atol(argv[3]);
  int count = argc - 4;
  pid_t *pids = calloc((size_t)count, sizeof *pids);
  int *done = calloc((size_t)count, sizeof *done);
  if (!pids || !done) return 70;

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return 70;
  pid_t self = getpid();
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      for (int j = 0; j < i; j++) kill(pids[j], SIGKILL);
      return 70;
    }
    if (pid == 0) {
      // Never outlive the spawner, even if the benchmark is killed.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(70);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      if (dup2(ready[1], 3) != 3) _exit(70);
      execl(worker, worker, argv[4 + i], record, "3", (char *)NULL);
      _exit(127);
    }
    pids[i] = pid;
  }
  close(ready[1]);

  // Every worker writes one byte once its TERM handler is in place.
  int got = 0;
  while (got < count) {
    struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
    int n = poll(&pfd, 1, 10000);
    char buf[256];
    ssize_t r = n > 0 ? read(ready[0], buf, sizeof buf) : -1;
    if (r <= 0) {
      fprintf(stderr, "spawner: only %d of %d workers became ready\n", got, count);
      for (int j = 0; j < count; j++) kill(pids[j], SIGKILL);
      return 70;
    }
    got += (int)r;
  }
  close(ready[0]);
  printf("ready");
  for (int i = 0; i < count; i++) printf(" %d", (int)pids[i]);
  printf("\n");
  fflush(stdout);

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_alarm;  // no SA_RESTART: waitpid returns EINTR on the alarm
  sigaction(SIGALRM, &action, NULL);
  alarm((unsigned)((timeout_ms + 999) / 1000));

  int reaped = 0;
  int killed = 0;
  while (reaped < count) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    long long reap_ns = now_ns();
    if (pid < 0) {
      if (errno == EINTR && timed_out && !killed) {
        for (int j = 0; j < count; j++)
          if (!done[j]) kill(pids[j], SIGKILL);
        killed = 1;
        continue;
      }
      if (errno == EINTR) continue;
      break;
    }
    for (int j = 0; j < count; j++)
      if (pids[j] == pid) done[j] = 1;
    printf("reaped %d %lld %d\n", (int)pid, reap_ns, status);
    reaped++;
  }
  fflush(stdout);
  return killed ? 1 : 0;
}
