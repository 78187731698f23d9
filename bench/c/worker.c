// A fixture worker for the drain benchmark: waits for TERM, takes its delay to finish, records when TERM
// arrived and when it exits (CLOCK_MONOTONIC, the clock measure.c uses), then exits 0.
// Usage: worker DELAY_MS RECORD_FILE READY_FD

#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;

static void on_term(int signo) {
  (void)signo;
  terminated = 1;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: worker DELAY_MS RECORD_FILE READY_FD\n");
    return 64;
  }
  long delay_ms = atol(argv[1]);
  int ready_fd = atoi(argv[3]);

  // Block TERM until we wait for it, so a TERM sent right after "ready" is never lost.
  sigset_t term_only, empty;
  sigemptyset(&term_only);
  sigaddset(&term_only, SIGTERM);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &term_only, NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_term;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, NULL);

  if (write(ready_fd, "r", 1) != 1) return 70;
  close(ready_fd);

  while (!terminated) sigsuspend(&empty);
  long long term_ns = now_ns();

  // Finish the "work": an absolute deadline, so a second TERM cannot cut the delay short.
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += delay_ms / 1000;
  until.tv_nsec += (delay_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec += 1;
    until.tv_nsec -= 1000000000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0) {
  }

  int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  char line[96];
  long long exit_ns = now_ns();
  int len = snprintf(line, sizeof line, "%d %lld %lld\n", (int)getpid(), term_ns, exit_ns);
  // One short O_APPEND write: atomic, so 200 workers can share the file.
  if (fd < 0 || write(fd, line, (size_t)len) != len) return 71;
  _exit(0);
}
