// tool-copy: a P2P copy written the way tools built on option-parsing
// libraries open their file arguments: every file O_RDWR|O_TRUNC (the block
// devices with O_DIRECT too), the P2P buffer mapped but never touched by the
// CPU before the first I/O, and the I/O done from a worker thread.
//   pread(SRC) into the mapping of ALLOCATE, pwrite(DST) from it, then SRC and
//   DST are read into host memory and compared.
//
// usage: tool-copy SRC_NS DST_NS ALLOCATE MiB
// exit: 0 copied and verified, 3 EREMOTEIO, 1 any other failure
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK (1u << 20)

struct io {
  int fd;
  void *buf;
  off_t off;
  int write;
  ssize_t ret;
  int err;
};

static void *run_io(void *p) {
  struct io *io = p;
  io->ret = io->write ? pwrite(io->fd, io->buf, CHUNK, io->off) : pread(io->fd, io->buf, CHUNK, io->off);
  io->err = errno;
  return NULL;
}

// One read or write, done by a thread of its own.
static int in_thread(int fd, void *buf, off_t off, int write, const char *what) {
  struct io io = {fd, buf, off, write, 0, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, run_io, &io) || pthread_join(t, NULL)) return 1;
  if (io.ret == CHUNK) return 0;
  fprintf(stderr, "tool-copy: %s at %lld: %s\n", what, (long long)off, io.ret < 0 ? strerror(io.err) : "short");
  return io.ret < 0 && io.err == EREMOTEIO ? 3 : 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: tool-copy SRC_NS DST_NS ALLOCATE MiB\n");
    return 1;
  }
  size_t total = (size_t)atol(argv[4]) << 20;
  int src = open(argv[1], O_RDWR | O_TRUNC | O_DIRECT);
  int dst = open(argv[2], O_RDWR | O_TRUNC | O_DIRECT);
  int alloc = open(argv[3], O_RDWR | O_TRUNC);
  if (src < 0 || dst < 0 || alloc < 0) {
    perror("tool-copy: open");
    return 1;
  }
  unsigned char *p2p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, alloc, 0);
  unsigned char *want, *got;
  if (p2p == MAP_FAILED || posix_memalign((void **)&want, 4096, CHUNK) || posix_memalign((void **)&got, 4096, CHUNK)) {
    perror("tool-copy: buffers");
    return 1;
  }
  for (size_t off = 0; off < total; off += CHUNK) {
    int r = in_thread(src, p2p, off, 0, "read into P2P memory");
    if (r) return r;
    if ((r = in_thread(dst, p2p, off, 1, "write from P2P memory"))) return r;
    if ((r = in_thread(src, want, off, 0, "read back the source"))) return r;
    if ((r = in_thread(dst, got, off, 0, "read back the copy"))) return r;
    if (memcmp(want, got, CHUNK) != 0) {
      fprintf(stderr, "tool-copy: data differs at %zu\n", off);
      return 1;
    }
  }
  printf("copied %zu MiB %s -> %s -> %s, verified\n", total >> 20, argv[1], argv[3], argv[2]);
  return 0;
}
