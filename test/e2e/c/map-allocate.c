// map-allocate: what mmap() of p2pmem/allocate answers, and how p2pmem/available
// moves, one line per case ("case: result delta"), where delta is how much
// `available` dropped between before the mmap() and right after it (nothing
// touched yet). Built statically in the tests: the answers must not depend on
// libc. Also a thread and a forked child, and what stat says of device nodes.
//
// usage: map-allocate P2PMEM_DIR [DEVNODE…]
//   P2PMEM_DIR   /sys/bus/pci/devices/BDF/p2pmem
//   DEVNODE      printed as "stat PATH: chr|blk|reg MAJOR:MINOR", fstat too
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char allocate[512], available[512];

static long avail(void) {
  char b[64] = {0};
  int fd = open(available, O_RDONLY);
  if (fd < 0 || read(fd, b, sizeof b - 1) <= 0) return -1;
  close(fd);
  return atol(b);
}

static const char *errname(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "?";
}

/** One mmap of a fresh open of allocate; unmapped and closed again. */
static void map_case(const char *name, size_t len, int flags, off_t off) {
  int fd = open(allocate, O_RDWR);
  if (fd < 0) {
    printf("%s: open %s\n", name, errname(errno));
    return;
  }
  long before = avail();
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);
  long after = avail();
  if (p == MAP_FAILED) {
    printf("%s: %s %ld\n", name, errname(errno), before - after);
  } else {
    printf("%s: ok %ld\n", name, before - after);
    ((volatile char *)p)[0] = 1;
    munmap(p, len);
  }
  close(fd);
  fflush(stdout);
}

static void *thread_case(void *arg) {
  (void)arg;
  map_case("thread-offset", 1 << 20, MAP_SHARED, 4096);
  return NULL;
}

static void stat_case(const char *path) {
  struct stat st;
  const char *kind;
  int fd = open(path, O_RDONLY);
  if (stat(path, &st) != 0 || fd < 0) {
    printf("stat %s: %s\n", path, errname(errno));
    return;
  }
  kind = S_ISBLK(st.st_mode) ? "blk" : S_ISCHR(st.st_mode) ? "chr" : "reg";
  printf("stat %s: %s %u:%u\n", path, kind, major(st.st_rdev), minor(st.st_rdev));
  if (fstat(fd, &st) == 0)
    printf("fstat %s: %s %u:%u\n", path, S_ISBLK(st.st_mode) ? "blk" : S_ISCHR(st.st_mode) ? "chr" : "reg", major(st.st_rdev), minor(st.st_rdev));
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: map-allocate P2PMEM_DIR [DEVNODE...]\n");
    return 2;
  }
  snprintf(allocate, sizeof allocate, "%s/allocate", argv[1]);
  snprintf(available, sizeof available, "%s/available", argv[1]);
  map_case("offset", 1 << 20, MAP_SHARED, 4096);
  map_case("too-large", (size_t)avail() + (1 << 20), MAP_SHARED, 0);
  map_case("private", 1 << 20, MAP_PRIVATE, 0);
  map_case("good", 1 << 20, MAP_SHARED, 0);
  pthread_t t;
  pthread_create(&t, NULL, thread_case, NULL);
  pthread_join(t, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    map_case("child-private", 1 << 20, MAP_PRIVATE, 0);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  for (int i = 2; i < argc; i++) stat_case(argv[i]);
  return 0;
}
