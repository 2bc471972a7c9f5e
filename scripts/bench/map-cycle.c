// Bench helper: COUNT cycles of open, mmap of 1 MiB (MAP_SHARED), one store,
// munmap and close of a p2pmem/allocate file; one allocation per cycle, made at
// mmap() under `p2pemu run` and at the store outside it.
// usage: map-cycle ALLOCATE COUNT   → prints cycles per second
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ALLOCATE COUNT\n", argv[0]);
    return 2;
  }
  long count = atol(argv[2]);
  size_t len = 1 << 20;
  double t0 = now();
  for (long i = 0; i < count; i++) {
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror("open"); return 1; }
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    p[0] = 1;
    munmap(p, len);
    close(fd);
  }
  printf("%.1f\n", count / (now() - t0));
  return 0;
}
