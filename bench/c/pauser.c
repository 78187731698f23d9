// Fills /proc for the scan benchmark: forks COUNT children that only pause(), prints "ready" and waits for
// stdin to close (the benchmark ending, however it ends), then KILLs its whole process group.
// Usage: pauser COUNT

#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pauser COUNT\n");
    return 64;
  }
  int count = atoi(argv[1]);
  pid_t self = getpid();
  setpgid(0, 0);
  signal(SIGCHLD, SIG_IGN);  // children that die are reaped by the kernel
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("pauser: fork");
      kill(-getpgrp(), SIGKILL);
      return 70;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(0);
      for (;;) pause();
    }
  }
  printf("ready %d\n", count);
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  kill(-getpgrp(), SIGKILL);
  return 0;
}
