// p2pemu calibration: what installing page-table entries and pinning user
// pages cost on this machine (native-notes/compound-pages.md "Measured here").
// Compiled and run by `p2pemu report` / `p2pemu scenario` once per boot; prints
// one JSON object on stdout. Bounded: at most a few hundred MiB per
// measurement, 1 GiB for the largest pin, a couple of seconds in all.
//
//   pte  MAP_POPULATE of a memfd whose pages already exist (no allocation, no
//        zeroing in the timed part): the cost of one 4 KiB entry.
//   pmd  the same on a hugetlbfs memfd of 2 MiB pages; the pages are reserved
//        for the run (nr_hugepages raised, then put back) when root may do so.
//   pud  the same with 1 GiB pages, when the CPU and the kernel offer them.
//   pin  io_uring buffer registration (pin_user_pages_fast + the bvec table,
//        no I/O) of anonymous buffers in 4 KiB pages and in 2 MiB THPs, at
//        1 MiB .. 1 GiB.
//
// usage: mm-costs [PTE_MIB PMD_PAGES PUD_PAGES PIN_MAX_MIB]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#define HUGE_SHIFT 26
#define MIB (1UL << 20)

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* JSON string-safe: our messages contain no quotes or backslashes. */
static int first = 1;
static void field(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void field(const char *name, const char *fmt, ...) {
  va_list ap;
  printf("%s\"%s\": ", first ? "{" : ", ", name);
  first = 0;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

/* Best of `reps` times to map `len` bytes of fd with MAP_POPULATE (the entries get installed). */
static double populate_ns(int fd, size_t len, int reps) {
  double best = -1;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    double t1 = now_ns();
    if (p == MAP_FAILED) return -1;
    munmap(p, len);
    if (best < 0 || t1 - t0 < best) best = t1 - t0;
  }
  return best;
}

static void measure_pte(size_t mib) {
  size_t len = mib * MIB;
  int fd = memfd_create("p2pemu-calibrate", 0);
  if (fd < 0 || ftruncate(fd, len) || fallocate(fd, 0, 0, len)) {
    field("pte_error", "\"memfd of %zu MiB: %s\"", mib, strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  double ns = populate_ns(fd, len, 3);
  close(fd);
  if (ns < 0) {
    field("pte_error", "\"mmap: %s\"", strerror(errno));
    return;
  }
  field("pte_ns", "%.3f", ns / (len / 4096));
  field("pte_how", "\"MAP_POPULATE of a %zu MiB memfd whose 4 KiB pages exist, best of 3\"", mib);
}

static long read_long(const char *path) {
  FILE *f = fopen(path, "r");
  long v = -1;
  if (!f) return -1;
  if (fscanf(f, "%ld", &v) != 1) v = -1;
  fclose(f);
  return v;
}

static int write_long(const char *path, long v) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int ok = fprintf(f, "%ld\n", v) > 0;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* Huge pages of 2^shift bytes for the run: returns how many are free for us; *restore gets the old pool size (or -1). */
static long reserve_huge(const char *dir, long want, long *restore, char *why, size_t whylen) {
  char nr[256], fr[256];
  snprintf(nr, sizeof nr, "%s/nr_hugepages", dir);
  snprintf(fr, sizeof fr, "%s/free_hugepages", dir);
  *restore = -1;
  long total = read_long(nr), free_ = read_long(fr);
  if (total < 0 || free_ < 0) {
    snprintf(why, whylen, "the kernel offers no such huge page size (%s is missing)", dir);
    return 0;
  }
  if (free_ >= want) return want;
  if (write_long(nr, total + (want - free_)) != 0) {
    snprintf(why, whylen, "%ld free and the pool cannot be raised (%s: %s; needs root)", free_, nr, strerror(errno));
    return free_;
  }
  *restore = total;
  free_ = read_long(fr);
  if (free_ < want) snprintf(why, whylen, "asked the kernel for %ld, it could reserve only %ld (memory too fragmented or too small)", want, free_);
  return free_ < want ? free_ : want;
}

/* Gives back the huge pages reserved for the run. */
static void restore_pool(const char *dir, long restore) {
  char nr[256];
  if (restore < 0) return;
  snprintf(nr, sizeof nr, "%s/nr_hugepages", dir);
  write_long(nr, restore);
}

static void measure_huge(const char *key, const char *dir, unsigned shift, long want, int reps) {
  char why[512] = "";
  char errkey[32], nskey[32], howkey[32];
  snprintf(errkey, sizeof errkey, "%s_error", key);
  snprintf(nskey, sizeof nskey, "%s_ns", key);
  snprintf(howkey, sizeof howkey, "%s_how", key);
  long restore;
  /* two calibrations at once must not give back each other's reservation: hold the pool's file locked */
  char nr[256];
  snprintf(nr, sizeof nr, "%s/nr_hugepages", dir);
  int lock = open(nr, O_RDONLY);
  if (lock >= 0) flock(lock, LOCK_EX);
  long got = reserve_huge(dir, want, &restore, why, sizeof why);
  if (got < want) {
    restore_pool(dir, restore);
    if (lock >= 0) close(lock);
    field(errkey, "\"%s\"", why);
    return;
  }
  size_t len = (size_t)want << shift;
  int fd = memfd_create("p2pemu-calibrate-huge", MFD_HUGETLB | (shift << HUGE_SHIFT));
  double ns = -1;
  int err = 0;
  if (fd >= 0 && ftruncate(fd, len) == 0 && fallocate(fd, 0, 0, len) == 0) ns = populate_ns(fd, len, reps);
  else err = errno;
  if (fd >= 0) close(fd);
  restore_pool(dir, restore);
  if (lock >= 0) close(lock);
  if (ns < 0) {
    field(errkey, "\"hugetlbfs memfd: %s\"", strerror(err ? err : errno));
    return;
  }
  field(nskey, "%.3f", ns / want);
  field(howkey, "\"MAP_POPULATE of a hugetlbfs memfd of %ld pages of %lu MiB%s, best of %d\"", want, (1UL << shift) / MIB,
        restore >= 0 ? " reserved for the run and given back" : "", reps);
}

static int ring_fd = -1;

static double pin_ns(void *p, size_t len, int reps) {
  double best = -1;
  struct iovec iov = {p, len};
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    long rc = syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_BUFFERS, &iov, 1);
    double t1 = now_ns();
    if (rc < 0) return -1;
    syscall(__NR_io_uring_register, ring_fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
    if (best < 0 || t1 - t0 < best) best = t1 - t0;
  }
  return best;
}

/* kB of AnonHugePages in the smaps entry that starts at p */
static long thp_kb(void *p) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0;
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, ' ') && !strstr(line, "kB")) in = (a == (unsigned long)p);
    else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
  }
  fclose(f);
  return kb;
}

static void measure_pin(size_t max_mib) {
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  ring_fd = (int)syscall(__NR_io_uring_setup, 1, &params);
  if (ring_fd < 0) {
    field("pin_error", "\"io_uring_setup: %s (io_uring disabled?)\"", strerror(errno));
    return;
  }
  size_t len = max_mib * MIB;
  const size_t sizes[] = {1, 16, 256, 1024};
  for (int kind = 0; kind < 2; kind++) {
    const char *name = kind == 0 ? "4k" : "thp";
    /* 2 MiB-aligned so that a THP can back every block */
    char *raw = mmap(NULL, len + 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
      field(kind ? "pin_thp_error" : "pin_4k_error", "\"mmap of %zu MiB: %s\"", max_mib, strerror(errno));
      continue;
    }
    char *p = (char *)(((uintptr_t)raw + 2 * MIB - 1) & ~(2 * MIB - 1));
    if (p != raw) munmap(raw, p - raw);
    munmap(p + len, raw + len + 2 * MIB - (p + len));
    madvise(p, len, kind == 0 ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    memset(p, 1, len);
    long kb = thp_kb(p);
    char key[48];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && sizes[i] <= max_mib; i++) {
      double ns = pin_ns(p, sizes[i] * MIB, 3);
      snprintf(key, sizeof key, "pin_%s_%zu", name, sizes[i]);
      if (ns < 0) {
        field(kind ? "pin_thp_error" : "pin_4k_error", "\"IORING_REGISTER_BUFFERS of %zu MiB: %s\"", sizes[i], strerror(errno));
        break;
      }
      field(key, "%.0f", ns);
    }
    if (kind == 1) field("pin_thp_coverage", "%.4f", kb < 0 ? 0 : (double)kb * 1024 / len);
    munmap(p, len);
  }
  close(ring_fd);
  field("pin_how", "\"io_uring buffer registration (pin_user_pages_fast and the bvec table, no I/O) of anonymous memory, best of 3\"");
}

int main(int argc, char **argv) {
  size_t pte_mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
  long pmd_pages = argc > 2 ? strtol(argv[2], NULL, 0) : 64;
  long pud_pages = argc > 3 ? strtol(argv[3], NULL, 0) : 1;
  size_t pin_mib = argc > 4 ? strtoul(argv[4], NULL, 0) : 1024;
  double t0 = now_ns();
  measure_pte(pte_mib);
  measure_huge("pmd", "/sys/kernel/mm/hugepages/hugepages-2048kB", 21, pmd_pages, 5);
  if (access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK) != 0) {
    field("pud_error", "\"this host offers no 1 GiB pages (no /sys/kernel/mm/hugepages/hugepages-1048576kB: the CPU lacks pdpe1gb or the kernel does not enable gigantic pages)\"");
  } else {
    measure_huge("pud", "/sys/kernel/mm/hugepages/hugepages-1048576kB", 30, pud_pages, 10);
  }
  measure_pin(pin_mib);
  field("took_ms", "%.0f", (now_ns() - t0) / 1e6);
  printf("}\n");
  return 0;
}
