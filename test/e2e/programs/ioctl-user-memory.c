// Passes pointers the kernel's put_user() would refuse to _IO block ioctls
// (BLKSSZGET: an int, BLKGETSIZE: an unsigned long) and reports, per case,
// the errno and whether the memory behind the pointer is unchanged.
// usage: ioctl-user-memory NAMESPACE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *name(int rc) {
  if (rc == 0) return "ok";
  return errno == EFAULT ? "EFAULT" : strerror(errno);
}

static void report(const char *what, int rc, int intact) {
  printf("%s %s %s\n", what, name(rc), intact ? "intact" : "CHANGED");
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 1; }
  long page = sysconf(_SC_PAGESIZE);

  // a read-only page filled with 0xaa
  unsigned char *ro = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(ro, 0xaa, page);
  mprotect(ro, page, PROT_READ);
  int rc = ioctl(fd, BLKSSZGET, ro);
  report("read-only", rc, ro[0] == 0xaa && ro[3] == 0xaa);

  // a PROT_NONE page, looked at again after making it readable
  unsigned char *none = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(none, 0xbb, page);
  mprotect(none, page, PROT_NONE);
  rc = ioctl(fd, BLKSSZGET, none);
  mprotect(none, page, PROT_READ);
  report("prot-none", rc, none[0] == 0xbb && none[3] == 0xbb);

  // the program's own code
  unsigned char text[8];
  memcpy(text, (void *)main, sizeof text);
  rc = ioctl(fd, BLKSSZGET, (void *)main);
  report("text", rc, memcmp(text, (void *)main, sizeof text) == 0);

  // an unsigned long whose last bytes fall into an unmapped page
  unsigned char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(two, 0xcc, page);
  munmap(two + page, page);
  unsigned char *edge = two + page - 4;
  rc = ioctl(fd, BLKGETSIZE, edge);
  report("straddling", rc, edge[0] == 0xcc && edge[3] == 0xcc);

  // and a good pointer still gets the answer
  int lbs = 0;
  rc = ioctl(fd, BLKSSZGET, &lbs);
  printf("writable %s %d\n", name(rc), lbs);
  return 0;
}
