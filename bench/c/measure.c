// Runs one contender and measures it the way the kernel sees it: CLOCK_MONOTONIC at fork and at the return
// of wait4, and wait4's rusage (the contender plus the children it reaped: a shell loop's `sleep`s).
// Usage: measure OUT_JSON TIMEOUT_MS COMMAND [ARG...]
// The contender inherits stdin, stdout and stderr. After TIMEOUT_MS it is KILLed ("timedOut": true).

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
  if (argc < 4) {
    fprintf(stderr, "usage: measure OUT_JSON TIMEOUT_MS COMMAND [ARG...]\n");
    return 64;
  }
  long timeout_ms = atol(argv[2]);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_alarm;  // no SA_RESTART: wait4 returns EINTR on the alarm
  sigaction(SIGALRM, &action, NULL);

  long long start_ns = now_ns();
  pid_t pid = fork();
  if (pid < 0) return 70;
  if (pid == 0) {
    execvp(argv[3], argv + 3);
    perror("measure: exec");
    _exit(127);
  }
  alarm((unsigned)((timeout_ms + 999) / 1000));
  int status = 0;
  struct rusage usage;
  pid_t got;
  for (;;) {
    got = wait4(pid, &status, 0, &usage);
    if (got == pid) break;
    if (got < 0 && errno == EINTR) {
      if (timed_out) kill(pid, SIGKILL);
      continue;
    }
    perror("measure: wait4");
    return 70;
  }
  long long end_ns = now_ns();

  FILE *out = fopen(argv[1], "w");
  if (!out) return 70;
  fprintf(out,
          "{\"startNs\":%lld,\"endNs\":%lld,\"exitCode\":%d,\"signal\":%d,\"userUs\":%lld,\"sysUs\":%lld,"
          "\"maxRssKb\":%ld,\"timedOut\":%s}\n",
          start_ns, end_ns, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          WIFSIGNALED(status) ? WTERMSIG(status) : 0,
          (long long)usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec,
          (long long)usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec, usage.ru_maxrss,
          timed_out ? "true" : "false");
  fclose(out);
  return 0;
}
