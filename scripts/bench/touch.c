// Bench helper: maps SIZE MiB of a file (MAP_SHARED) or anonymous memory and
// times two passes: first touch (one store per 4 KiB page: every store faults)
// and a second pass over the whole region (memset: no faults left).
// usage: touch PATH|anon MIB   → prints "first_touch_s second_pass_s"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    fprintf(stderr, "usage: %s PATH|anon MIB\n", argv[0]);
    return 2;
  }
  size_t len = (size_t)atol(argv[2]) << 20;
  char *p;
  if (strcmp(argv[1], "anon") == 0) {
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  } else {
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror("open"); return 1; }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
  }
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  double t0 = now();
  for (size_t off = 0; off < len; off += 4096) p[off] = (char)off;
  double t1 = now();
  memset(p, 0x5a, len);
  double t2 = now();
  printf("%.6f %.6f\n", t1 - t0, t2 - t1);
  return 0;
}
