// open-flags: what each open flag, ftruncate, truncate and fallocate do to
// one file, one line per case ("case: result"). Run against a real kernel's
// /sys and /dev and against the mount, the lines must agree (see
// native-notes/open-flags.md for the table).
//
// usage: open-flags PATH [DATA|BLOCK|MMAP|-]
//   DATA  bytes to write where a case writes; BLOCK: one 512-byte block;
//   MMAP  after the O_TRUNC opens, map the file and touch it (allocate);
//   -     write nothing.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path;
static const char *data;
static size_t dlen;
static int touch_mapping;

static const char *errname(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "?";
}

static long long size_of(int fd) {
  struct stat st;
  return fstat(fd, &st) ? -1 : (long long)st.st_size;
}

// In a child: map the open file and touch its first page (SIGBUS shows as such).
static const char *touch(int fd) {
  pid_t pid = fork();
  if (pid == 0) {
    volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) _exit(2);
    p[0] = 1;
    _exit(p[0] == 1 ? 0 : 3);
  }
  int st;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st)) return WTERMSIG(st) == SIGBUS ? " touch SIGBUS" : " touch killed";
  return WEXITSTATUS(st) == 0 ? " touch ok" : " touch failed";
}

static void open_case(const char *name, int flags, int writes) {
  int fd = open(path, flags, 0600);
  if (fd < 0) {
    printf("%s: %s\n", name, errname(errno));
    return;
  }
  char extra[64] = "";
  if (writes && data) {
    ssize_t n = write(fd, data, dlen);
    snprintf(extra, sizeof extra, " write %s", n == (ssize_t)dlen ? "ok" : n < 0 ? errname(errno) : "short");
  }
  if (touch_mapping && (flags & O_TRUNC) && (flags & O_ACCMODE) == O_RDWR) strcat(extra, touch(fd));
  printf("%s: ok size %lld%s\n", name, size_of(fd), extra);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: open-flags PATH [DATA|BLOCK|MMAP|-]\n");
    return 1;
  }
  path = argv[1];
  const char *arg = argc > 2 ? argv[2] : "-";
  static char block[512] __attribute__((aligned(4096)));
  if (strcmp(arg, "BLOCK") == 0) {
    memset(block, 'b', sizeof block);
    data = block;
    dlen = sizeof block;
  } else if (strcmp(arg, "MMAP") == 0) {
    touch_mapping = 1;
  } else if (strcmp(arg, "-") != 0) {
    data = arg;
    dlen = strlen(arg);
  }
  open_case("O_RDONLY|O_TRUNC", O_RDONLY | O_TRUNC, 0);
  open_case("O_RDWR|O_TRUNC", O_RDWR | O_TRUNC, 0);
  open_case("O_WRONLY|O_APPEND", O_WRONLY | O_APPEND, 1);
  open_case("O_CREAT|O_EXCL", O_RDWR | O_CREAT | O_EXCL, 0);
  open_case("O_CREAT", O_RDONLY | O_CREAT, 0);
  open_case("O_DIRECT", O_RDONLY | O_DIRECT, 0);
  open_case("O_NONBLOCK", O_RDONLY | O_NONBLOCK, 0);
  open_case("O_NOATIME", O_RDONLY | O_NOATIME, 0);
  open_case("O_SYNC", O_WRONLY | O_SYNC, 1);
  open_case("O_DSYNC", O_WRONLY | O_DSYNC, 1);

  int fd = open(path, O_PATH);
  if (fd < 0) {
    printf("O_PATH: %s\n", errname(errno));
  } else {
    char c;
    ssize_t n = read(fd, &c, 1);
    printf("O_PATH: ok size %lld read %s\n", size_of(fd), n < 0 ? errname(errno) : "ok");
    close(fd);
  }
  char *copy = strdup(path);
  fd = open(dirname(copy), O_TMPFILE | O_RDWR, 0600);
  printf("O_TMPFILE in its directory: %s\n", fd < 0 ? errname(errno) : "ok");
  if (fd >= 0) close(fd);
  fd = open(path, O_TMPFILE | O_RDWR, 0600);
  printf("O_TMPFILE on it: %s\n", fd < 0 ? errname(errno) : "ok");
  if (fd >= 0) close(fd);

  fd = open(path, O_RDWR);
  if (fd < 0) fd = open(path, O_WRONLY);
  if (fd < 0) {
    printf("ftruncate: %s at open\n", errname(errno));
  } else {
    int r = ftruncate(fd, 0);
    printf("ftruncate: %s size %lld\n", r ? errname(errno) : "ok", size_of(fd));
    static const struct { const char *name; int mode; } modes[] = {
      {"fallocate 0", 0},
      {"fallocate KEEP_SIZE", FALLOC_FL_KEEP_SIZE},
      {"fallocate PUNCH_HOLE|KEEP_SIZE", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE},
      {"fallocate ZERO_RANGE", FALLOC_FL_ZERO_RANGE},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
      printf("%s: %s\n", modes[i].name, fallocate(fd, modes[i].mode, 0, 4096) ? errname(errno) : "ok");
    close(fd);
  }
  struct stat st;
  int r = truncate(path, 0);
  printf("truncate: %s size %lld\n", r ? errname(errno) : "ok", stat(path, &st) ? -1LL : (long long)st.st_size);
  return 0;
}
