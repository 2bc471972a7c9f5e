// p2p-copy: copy between two NVMe namespaces through P2P memory with O_DIRECT,
// the way an NVMe→NVMe (or NVMe→accelerator) data mover does on real hardware:
//   read(src, p2p_buf) ; write(dst, p2p_buf)
// where p2p_buf is a mapping of some device's p2pmem/allocate (for example the
// CMB of another NVMe). Then it reads dst back into host memory and compares.
//
// usage: p2p-copy [--no-verify] SRC_NS DST_NS ALLOCATE_FILE [MiB]
// exit: 0 copied and verified, 3 the kernel refused the P2P path (EREMOTEIO), 1 other errors
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK (1u << 20)

// FNV-1a over 64-bit words (the chunks are whole pages)
static uint64_t fnv1a(const unsigned char *p, size_t n, uint64_t h) {
  const uint64_t *w = (const uint64_t *)p;
  for (size_t i = 0; i < n / 8; i++) h = (h ^ w[i]) * 0x100000001b3ULL;
  return h;
}

int main(int argc, char **argv) {
  int verify = 1;
  if (argc > 1 && strcmp(argv[1], "--no-verify") == 0) {
    verify = 0;
    argv++;
    argc--;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: p2p-copy [--no-verify] SRC_NS DST_NS ALLOCATE_FILE [MiB]\n");
    return 1;
  }
  size_t total = (argc > 4 ? (size_t)atol(argv[4]) : 8) << 20;
  int src = open(argv[1], O_RDONLY | O_DIRECT);
  int dst = open(argv[2], O_RDWR | O_DIRECT);
  int alloc = open(argv[3], O_RDWR);
  if (src < 0 || dst < 0 || alloc < 0) {
    perror("open");
    return 1;
  }
  unsigned char *p2p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, alloc, 0);
  if (p2p == MAP_FAILED) {
    perror("mmap allocate");
    return 1;
  }
  p2p[0] = 0; // first touch: the emulator allocates from the pool here
  uint64_t want = 0xcbf29ce484222325ULL, got = want;
  for (size_t off = 0; off < total; off += CHUNK) {
    ssize_t n = pread(src, p2p, CHUNK, off);
    if (n != CHUNK) {
      fprintf(stderr, "p2p-copy: read %s into P2P memory at %zu: %s\n", argv[1], off, n < 0 ? strerror(errno) : "short read");
      return errno == EREMOTEIO ? 3 : 1;
    }
    if (verify) want = fnv1a(p2p, CHUNK, want);
    n = pwrite(dst, p2p, CHUNK, off);
    if (n != CHUNK) {
      fprintf(stderr, "p2p-copy: write %s from P2P memory at %zu: %s\n", argv[2], off, n < 0 ? strerror(errno) : "short write");
      return errno == EREMOTEIO ? 3 : 1;
    }
  }
  if (!verify) {
    printf("copied %zu MiB %s -> P2P buffer -> %s (not verified)\n", total >> 20, argv[1], argv[2]);
    return 0;
  }
  unsigned char *host;
  if (posix_memalign((void **)&host, 4096, CHUNK)) return 1;
  for (size_t off = 0; off < total; off += CHUNK) {
    if (pread(dst, host, CHUNK, off) != CHUNK) {
      perror("read back");
      return 1;
    }
    got = fnv1a(host, CHUNK, got);
  }
  printf("copied %zu MiB %s -> P2P buffer -> %s, checksum %016llx %s\n", total >> 20, argv[1], argv[2], (unsigned long long)got,
         got == want ? "verified" : "MISMATCH");
  return got == want ? 0 : 1;
}
