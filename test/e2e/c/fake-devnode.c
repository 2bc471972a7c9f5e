// fake-devnode: an LD_PRELOAD shim that makes fstat() of /dev/nvmeXnY report a
// block device and of /dev/nvmeX a character device, which is all libnvme
// and nvme-cli check before they use a node (nvme_open(), open_dev_direct()).
// It stands in for what the seccomp supervisor of `p2pemu run` will answer;
// a test uses it to show that everything past that check works.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void fake(int fd, struct stat *st) {
  char link[64], path[256];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0 || !S_ISREG(st->st_mode)) return;
  path[n] = 0;
  int a, b;
  char tail;
  if (sscanf(path, "/dev/nvme%dn%d%c", &a, &b, &tail) == 2) st->st_mode = (st->st_mode & 07777) | S_IFBLK;
  else if (sscanf(path, "/dev/nvme%d%c", &a, &tail) == 1 || sscanf(path, "/dev/ng%dn%d%c", &a, &b, &tail) == 2) st->st_mode = (st->st_mode & 07777) | S_IFCHR;
}

int fstat(int fd, struct stat *st) {
  static int (*real)(int, struct stat *);
  if (!real) real = dlsym(RTLD_NEXT, "fstat");
  int r = real(fd, st);
  if (r == 0) fake(fd, st);
  return r;
}

int fstat64(int fd, struct stat64 *st) __attribute__((alias("fstat")));
