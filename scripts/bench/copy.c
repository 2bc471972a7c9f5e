// Bench helper: copies MIB MiB from SRC to DST with O_DIRECT pread/pwrite
// through a buffer in P2P memory (a mapping of ALLOCATE) or, with --host, in
// anonymous memory, in CHUNK-byte requests from THREADS threads (each its own
// part of the range and of the buffer); prints the seconds the copy took.
// usage: copy [--host] [--chunk BYTES] [--threads N] SRC DST ALLOCATE MIB
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int src, dst;
static size_t chunk = 1 << 20, part;
static unsigned char *buf;

static void *copy_part(void *arg) {
  size_t t = (size_t)arg;
  unsigned char *b = buf + t * chunk;
  for (size_t off = t * part; off < (t + 1) * part; off += chunk) {
    if (pread(src, b, chunk, off) != (ssize_t)chunk || pwrite(dst, b, chunk, off) != (ssize_t)chunk) {
      fprintf(stderr, "copy: at %zu: %s\n", off, strerror(errno));
      exit(1);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int host = 0;
  size_t threads = 1;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--host")) host = 1;
    else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = strtoul(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = strtoul(argv[++i], NULL, 0);
    else break;
  }
  if (argc - i != 4 || chunk == 0 || chunk % 4096 || threads == 0) {
    fprintf(stderr, "usage: copy [--host] [--chunk BYTES] [--threads N] SRC DST ALLOCATE MIB\n");
    return 2;
  }
  size_t total = strtoul(argv[i + 3], NULL, 0) << 20;
  part = total / threads / chunk * chunk;
  src = open(argv[i], O_RDONLY | O_DIRECT);
  dst = open(argv[i + 1], O_RDWR | O_DIRECT);
  if (src < 0 || dst < 0) {
    perror("open");
    return 1;
  }
  size_t len = threads * chunk;
  if (host) {
    if (posix_memalign((void **)&buf, 4096, len)) return 1;
  } else {
    int alloc = open(argv[i + 2], O_RDWR);
    buf = alloc < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, alloc, 0);
    if (buf == MAP_FAILED) {
      perror("allocate");
      return 1;
    }
  }
  memset(buf, 0, len); // fault every page in before the clock starts
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t tid[threads];
  for (size_t t = 0; t < threads; t++) pthread_create(&tid[t], NULL, copy_part, (void *)t);
  for (size_t t = 0; t < threads; t++) pthread_join(tid[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
