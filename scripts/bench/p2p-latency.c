// Bench helper: N 4 KiB O_DIRECT preads of NS into a mapping of ALLOCATE, one
// at a time; prints requests per second and how they ended ("ok" or the
// errno's name, the same for all or the run fails). Run against memory the
// kernel refuses (EREMOTEIO) and memory it allows, it shows whether a refusal
// is answered as fast as a transfer.  usage: p2p-latency NS ALLOCATE N
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: p2p-latency NS ALLOCATE N\n");
    return 2;
  }
  long n = atol(argv[3]);
  int ns = open(argv[1], O_RDONLY | O_DIRECT);
  int alloc = open(argv[2], O_RDWR);
  if (ns < 0 || alloc < 0) {
    perror("open");
    return 1;
  }
  unsigned char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, alloc, 0);
  if (buf == MAP_FAILED) {
    perror("mmap allocate");
    return 1;
  }
  buf[0] = 0; // the allocation's first fault before the clock starts
  int first = -1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    int e = pread(ns, buf, 4096, (i % 256) * 4096) == 4096 ? 0 : errno;
    if (first < 0) first = e;
    else if (e != first) {
      fprintf(stderr, "p2p-latency: request %ld: %s after %s\n", i, strerror(e), first ? strerror(first) : "ok");
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%.0f %s\n", n / secs, first ? strerrorname_np(first) : "ok");
  return 0;
}
