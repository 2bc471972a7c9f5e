// Bench helper: NPROC processes each do OPS random 4 KiB O_DIRECT preads of
// PATH; prints the total IOPS.  usage: randio PATH NPROC OPS
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PATH NPROC OPS\n", argv[0]);
    return 2;
  }
  int nproc = atoi(argv[2]);
  long ops = atol(argv[3]);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int p = 0; p < nproc; p++) {
    if (fork() == 0) {
      int fd = open(argv[1], O_RDONLY | O_DIRECT);
      if (fd < 0) _exit(1);
      off_t size = lseek(fd, 0, SEEK_END);
      long blocks = size / 4096;
      void *buf;
      if (posix_memalign(&buf, 4096, 4096)) _exit(1);
      unsigned int seed = 12345 + p;
      for (long i = 0; i < ops; i++) {
        off_t off = (off_t)(rand_r(&seed) % blocks) * 4096;
        if (pread(fd, buf, 4096, off) != 4096) _exit(1);
      }
      _exit(0);
    }
  }
  int failed = 0, st;
  while (wait(&st) > 0) failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (failed) {
    fprintf(stderr, "randio: a reader failed\n");
    return 1;
  }
  printf("%.0f\n", nproc * ops / secs);
  return 0;
}
