// nvme-passthru: NVMe passthrough ioctls the way libnvme and nvme-cli issue
// them, printing one line per command.
//   nvme-passthru info DEV          NVME_IOCTL_ID, Identify Controller and
//                                   Namespace, SMART and error logs, Get Features
//   nvme-passthru copy SRC DST BUF MiB
//                                   NVME_IOCTL_IO_CMD Read of SRC into BUF
//                                   (host memory when BUF is "-", else a mapping
//                                   of that allocate file), Write of it to DST
// exit: 0 ok, 3 EREMOTEIO, 4 EINTR, 1 other failures
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int admin(int fd, uint8_t opcode, uint32_t nsid, uint32_t cdw10, uint32_t cdw11, void *buf, uint32_t len, uint32_t *result) {
  struct nvme_admin_cmd c = {.opcode = opcode, .nsid = nsid, .addr = (uintptr_t)buf, .data_len = len, .cdw10 = cdw10, .cdw11 = cdw11};
  int r = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &c);
  if (result) *result = c.result;
  return r;
}

static int info(const char *dev) {
  int fd = open(dev, O_RDONLY);
  if (fd < 0) return perror(dev), 1;
  int nsid = ioctl(fd, NVME_IOCTL_ID);
  printf("nsid %d\n", nsid);
  static uint8_t id[4096];
  int r = admin(fd, 0x06, 0, 1, 0, id, sizeof id, NULL);
  printf("identify ctrl: status %d vid %04x sn '%.20s' mn '%.40s' fr '%.8s' mdts %u nn %u subnqn '%s'\n", r, id[0] | id[1] << 8, id + 4, id + 24, id + 64, id[77],
         id[516] | id[517] << 8, (char *)id + 768);
  r = admin(fd, 0x06, nsid > 0 ? nsid : 1, 0, 0, id, sizeof id, NULL);
  uint64_t nsze;
  memcpy(&nsze, id, 8);
  int flbas = id[26] & 0xf;
  printf("identify ns: status %d nsze %llu nlbaf %u flbas %d lbads %u\n", r, (unsigned long long)nsze, id[25] + 1, flbas, id[128 + 4 * flbas + 2]);
  r = admin(fd, 0x06, 0, 0, 0, id, sizeof id, NULL);
  printf("identify ns 0: status 0x%x\n", r);
  static uint8_t log[512];
  // SMART: lid 2, numd 127 (512 bytes)
  r = admin(fd, 0x02, 0xffffffff, 0x02 | (127u << 16), 0, log, sizeof log, NULL);
  printf("smart: status %d temperature %u spare %u power cycles %u\n", r, log[1] | log[2] << 8, log[3], log[112]);
  r = admin(fd, 0x02, 0xffffffff, 0x01 | (15u << 16), 0, log, 64, NULL);
  printf("error log: status %d first entry zero %d\n", r, log[0] == 0 && log[8] == 0);
  uint32_t res = 0;
  r = admin(fd, 0x0a, 0, 0x07, 0, NULL, 0, &res);
  printf("features number of queues: status %d result 0x%08x\n", r, res);
  r = admin(fd, 0x0a, 0, 0x06, 0, NULL, 0, &res);
  printf("features volatile write cache: status %d result %u\n", r, res);
  r = admin(fd, 0xc1, 0, 0, 0, NULL, 0, NULL);
  printf("vendor opcode: status 0x%x\n", r);
  return 0;
}

static int io(int fd, uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf, uint32_t len) {
  struct nvme_passthru_cmd c = {.opcode = opcode, .nsid = nsid, .addr = (uintptr_t)buf, .data_len = len, .cdw10 = (uint32_t)slba, .cdw11 = (uint32_t)(slba >> 32), .cdw12 = nlb - 1};
  return ioctl(fd, NVME_IOCTL_IO_CMD, &c);
}

static int copy(const char *src, const char *dst, const char *bufpath, size_t mib) {
  int s = open(src, O_RDWR), d = open(dst, O_RDWR);
  if (s < 0 || d < 0) return perror("open"), 1;
  int sn = ioctl(s, NVME_IOCTL_ID), dn = ioctl(d, NVME_IOCTL_ID);
  size_t chunk = 1 << 20;
  unsigned char *buf;
  if (strcmp(bufpath, "-") == 0) {
    buf = aligned_alloc(4096, chunk);
  } else {
    int a = open(bufpath, O_RDWR);
    if (a < 0) return perror(bufpath), 1;
    buf = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
    if (buf == MAP_FAILED) return perror("mmap"), 1;
  }
  unsigned char *check = aligned_alloc(4096, chunk), *want = aligned_alloc(4096, chunk);
  // passthrough bypasses the page cache, as on a real kernel: read back with O_DIRECT
  int sd = open(src, O_RDONLY | O_DIRECT), dd = open(dst, O_RDONLY | O_DIRECT);
  if (sd < 0 || dd < 0) return perror("open O_DIRECT"), 1;
  for (size_t off = 0; off < mib << 20; off += chunk) {
    uint32_t nlb = chunk / 512;
    int r = io(s, 0x02, sn, off / 512, nlb, buf, chunk);
    if (r) {
      fprintf(stderr, "read: %s (status %d)\n", r < 0 ? strerror(errno) : "nvme status", r);
      return r < 0 && errno == EREMOTEIO ? 3 : r < 0 && errno == EINTR ? 4 : 1;
    }
    if ((r = io(d, 0x01, dn, off / 512, nlb, buf, chunk))) return fprintf(stderr, "write: %s\n", strerror(errno)), 1;
    if (pread(sd, want, chunk, off) != (ssize_t)chunk || pread(dd, check, chunk, off) != (ssize_t)chunk) return perror("pread"), 1;
    if (memcmp(want, check, chunk)) return fprintf(stderr, "data differs at %zu\n", off), 1;
  }
  struct nvme_passthru_cmd bad = {.opcode = 0x02, .nsid = sn + 7, .addr = (uintptr_t)check, .data_len = 512};
  int r = ioctl(s, NVME_IOCTL_IO_CMD, &bad);
  printf("copied %zu MiB, verified; wrong nsid: %s\n", mib, r < 0 ? strerror(errno) : "accepted");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "info") == 0) return info(argv[2]);
  if (argc == 6 && strcmp(argv[1], "copy") == 0) return copy(argv[2], argv[3], argv[4], atoi(argv[5]));
  fprintf(stderr, "usage: nvme-passthru info DEV | copy SRC DST BUF|- MiB\n");
  return 1;
}
