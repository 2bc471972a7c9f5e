// Bench prototype: how much FUSE-over-io_uring could give the data path, with
// no Node in the way. Mounts a one-file filesystem (MNT/data, SIZE MiB of
// anonymous memory) and serves it either from THREADS threads blocking in
// read(2) on /dev/fuse (the transport p2pemu uses) or over io_uring
// (CONFIG_FUSE_IO_URING, /sys/module/fuse/parameters/enable_uring = Y): a
// queue per possible CPU, each with a thread pinned to its CPU and ENTRIES
// ring entries, registered with FUSE_IO_URING_CMD_REGISTER and answered with
// FUSE_IO_URING_CMD_COMMIT_AND_FETCH (kernel: fs/fuse/dev_uring.c,
// fuse_uring_register(), fuse_uring_commit_fetch(); the request goes to the
// queue of the CPU the caller runs on, fuse_uring_task_to_queue()). Both
// modes read the data with pread into the reply buffer: the same copies.
// Runs until SIGTERM/SIGINT, then unmounts. `make bench` with
// BENCH_ONLY=transport runs both modes under scripts/bench/randio.c
// (native-notes/performance.md has the figures).
// usage: fuse-transport devfuse|uring MNT SIZE_MIB [THREADS]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

// include/uapi/linux/fuse.h 7.42+ (the local header is 7.38)
#define OVER_IO_URING_FLAGS2 (1u << (41 - 32))
#define URING_HDR_SZ 128
#define URING_CMD_REGISTER 1
#define URING_CMD_COMMIT_AND_FETCH 2
struct uring_ent_in_out {
  uint64_t flags, commit_id;
  uint32_t payload_sz, padding;
  uint64_t reserved;
};
struct uring_req_header {
  char in_out[URING_HDR_SZ];
  char op_in[URING_HDR_SZ];
  struct uring_ent_in_out ent;
};
struct uring_cmd_req {
  uint64_t flags, commit_id;
  uint16_t qid;
  uint8_t padding[6];
};

#define MAX_PAGES 128
#define MAX_WRITE (MAX_PAGES * 4096)
#define ENTRIES 8
#define FILE_INO 2

static int fuse_fd, data_fd;
static uint64_t data_size;
static int use_uring;
static const char *mnt;
// set once INIT is answered: until the ring is ready the kernel holds every
// other request (fs/fuse/dev.c, fuse_block_alloc()), so only this may gate it
static volatile int init_answered;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void fill_attr(struct fuse_attr *a, uint64_t ino) {
  memset(a, 0, sizeof(*a));
  a->ino = ino;
  a->nlink = 1;
  a->blksize = 4096;
  if (ino == FUSE_ROOT_ID) a->mode = S_IFDIR | 0755;
  else {
    a->mode = S_IFREG | 0644;
    a->size = data_size;
  }
}

// One request: header, the op's struct, the payload after it (over io_uring an
// op without a struct of its own, LOOKUP, has its name there or, from kernels
// that give it an empty header, in the payload). Writes the reply's payload
// to out; returns its length, or -errno.
static int handle(const struct fuse_in_header *h, const void *op, const void *payload, void *out) {
  switch (h->opcode) {
  case FUSE_INIT: {
    const struct fuse_init_in *in = op;
    struct fuse_init_out *o = out;
    memset(o, 0, sizeof(*o));
    o->major = FUSE_KERNEL_VERSION;
    o->minor = FUSE_KERNEL_MINOR_VERSION;
    o->max_readahead = in->max_readahead;
    o->flags = in->flags & (FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_INIT_EXT);
    o->flags2 = use_uring ? (in->flags2 & OVER_IO_URING_FLAGS2) : 0;
    o->max_background = 64;
    o->congestion_threshold = 48;
    o->max_write = MAX_WRITE;
    o->time_gran = 1;
    o->max_pages = MAX_PAGES;
    return sizeof(*o);
  }
  case FUSE_LOOKUP: {
    const char *name = *(const char *)op ? op : payload;
    if (h->nodeid != FUSE_ROOT_ID || strcmp(name, "data")) return -ENOENT;
    struct fuse_entry_out *e = out;
    memset(e, 0, sizeof(*e));
    e->nodeid = FILE_INO;
    e->entry_valid = e->attr_valid = 3600;
    fill_attr(&e->attr, FILE_INO);
    return sizeof(*e);
  }
  case FUSE_GETATTR: {
    struct fuse_attr_out *a = out;
    memset(a, 0, sizeof(*a));
    a->attr_valid = 3600;
    fill_attr(&a->attr, h->nodeid);
    return sizeof(*a);
  }
  case FUSE_OPEN:
  case FUSE_OPENDIR: {
    struct fuse_open_out *o = out;
    memset(o, 0, sizeof(*o));
    return sizeof(*o);
  }
  case FUSE_READ: {
    const struct fuse_read_in *r = op;
    if (r->offset >= data_size) return 0;
    size_t n = r->size;
    if (n > data_size - r->offset) n = data_size - r->offset;
    ssize_t got = pread(data_fd, out, n, r->offset);
    return got < 0 ? -errno : (int)got;
  }
  case FUSE_FLUSH:
  case FUSE_RELEASE:
  case FUSE_RELEASEDIR:
    return 0;
  default:
    return -ENOSYS;
  }
}

static int no_reply(uint32_t opcode) {
  return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET || opcode == FUSE_INTERRUPT;
}

// ---- /dev/fuse: a thread per reader, read() then writev() ----
static void *devfuse_reader(void *arg) {
  (void)arg;
  char *in = malloc(MAX_WRITE + 4096);
  char *out = malloc(MAX_WRITE + 4096);
  for (;;) {
    ssize_t n = read(fuse_fd, in, MAX_WRITE + 4096);
    if (n < 0) {
      if (errno == ENOENT || errno == EINTR || errno == EAGAIN) continue;
      return NULL; // ENODEV: unmounted
    }
    struct fuse_in_header *h = (void *)in;
    if (no_reply(h->opcode)) continue;
    int len = handle(h, in + sizeof(*h), in + sizeof(*h), out);
    struct fuse_out_header oh = {.len = sizeof(oh) + (len > 0 ? len : 0), .error = len < 0 ? len : 0, .unique = h->unique};
    struct iovec iov[2] = {{&oh, sizeof(oh)}, {out, len > 0 ? len : 0}};
    if (writev(fuse_fd, iov, 2) < 0 && errno != ENOENT) perror("writev /dev/fuse");
    if (h->opcode == FUSE_INIT) __atomic_store_n(&init_answered, 1, __ATOMIC_RELEASE);
  }
}

// ---- io_uring: a queue per CPU ----
struct ring {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes; // 128-byte entries: index * 2
  struct io_uring_cqe *cqes;
};

static void ring_setup(struct ring *r, unsigned depth) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SQE128;
  r->fd = syscall(__NR_io_uring_setup, depth, &p);
  if (r->fd < 0) die("io_uring_setup");
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (cq_len > sq_len) sq_len = cq_len;
  char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) die("mmap sq ring");
  char *cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq : mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
  r->sq_head = (void *)(sq + p.sq_off.head);
  r->sq_tail = (void *)(sq + p.sq_off.tail);
  r->sq_mask = (void *)(sq + p.sq_off.ring_mask);
  r->sq_array = (void *)(sq + p.sq_off.array);
  r->cq_head = (void *)(cq + p.cq_off.head);
  r->cq_tail = (void *)(cq + p.cq_off.tail);
  r->cq_mask = (void *)(cq + p.cq_off.ring_mask);
  r->cqes = (void *)(cq + p.cq_off.cqes);
  r->sqes = mmap(NULL, p.sq_entries * 128, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) die("mmap sqes");
}

struct entry {
  struct uring_req_header hdr;
  char *payload;
  struct iovec iov[2];
};

static void queue_cmd(struct ring *r, int op, struct entry *e, unsigned idx, int qid, uint64_t commit_id) {
  unsigned tail = *r->sq_tail;
  unsigned slot = tail & *r->sq_mask;
  struct io_uring_sqe *sqe = (void *)((char *)r->sqes + slot * 128);
  memset(sqe, 0, 128);
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fuse_fd;
  sqe->cmd_op = op;
  sqe->addr = (uint64_t)(uintptr_t)e->iov;
  sqe->len = 2;
  sqe->user_data = idx;
  struct uring_cmd_req *c = (void *)sqe->cmd;
  c->qid = qid;
  c->commit_id = commit_id;
  r->sq_array[slot] = slot;
  __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

static void *uring_queue(void *arg) {
  int qid = (int)(intptr_t)arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(qid, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  struct ring r;
  ring_setup(&r, ENTRIES * 2);
  struct entry *ents = calloc(ENTRIES, sizeof(*ents));
  for (unsigned i = 0; i < ENTRIES; i++) {
    ents[i].payload = aligned_alloc(4096, MAX_WRITE);
    ents[i].iov[0] = (struct iovec){&ents[i].hdr, sizeof(ents[i].hdr)};
    ents[i].iov[1] = (struct iovec){ents[i].payload, MAX_WRITE};
    queue_cmd(&r, URING_CMD_REGISTER, &ents[i], i, qid, 0);
  }
  unsigned to_submit = ENTRIES;
  for (;;) {
    int n = syscall(__NR_io_uring_enter, r.fd, to_submit, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    if (n < 0 && errno != EINTR) die("io_uring_enter");
    to_submit = 0;
    unsigned head = *r.cq_head;
    while (head != __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE)) {
      struct io_uring_cqe *cqe = &r.cqes[head & *r.cq_mask];
      struct entry *e = &ents[cqe->user_data];
      head++;
      if (cqe->res < 0) {
        if (cqe->res == -ENOTCONN || cqe->res == -ECANCELED) return NULL; // unmounted
        fprintf(stderr, "queue %d: command failed: %s\n", qid, strerror(-cqe->res));
        return NULL;
      }
      struct fuse_in_header h;
      memcpy(&h, e->hdr.in_out, sizeof(h));
      int len = handle(&h, e->hdr.op_in, e->payload, e->payload);
      struct fuse_out_header oh = {.len = sizeof(oh) + (len > 0 ? len : 0), .error = len < 0 ? len : 0, .unique = h.unique};
      memcpy(e->hdr.in_out, &oh, sizeof(oh));
      e->hdr.ent.payload_sz = len > 0 ? len : 0;
      queue_cmd(&r, URING_CMD_COMMIT_AND_FETCH, e, cqe->user_data, qid, e->hdr.ent.commit_id);
      to_submit++;
    }
    __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
  }
}

static void on_signal(int sig) {
  (void)sig;
  umount2(mnt, MNT_DETACH);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: fuse-transport devfuse|uring MNT SIZE_MIB [THREADS]\n");
    return 2;
  }
  use_uring = !strcmp(argv[1], "uring");
  mnt = argv[2];
  data_size = strtoull(argv[3], NULL, 0) << 20;
  int threads = argc > 4 ? atoi(argv[4]) : 4;
  data_fd = memfd_create("fuse-transport", 0);
  if (data_fd < 0 || ftruncate(data_fd, data_size)) die("memfd");
  // write it whole, so reads move real pages
  char *fill = calloc(1, 1 << 20);
  for (uint64_t off = 0; off < data_size; off += 1 << 20) pwrite(data_fd, fill, 1 << 20, off);
  fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fuse_fd < 0) die("/dev/fuse");
  char opts[128];
  snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fuse_fd);
  if (mount("fuse-transport", mnt, "fuse.fuse-transport", MS_NOSUID | MS_NODEV, opts)) die("mount");
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  // INIT always comes through /dev/fuse; the ring is registered after it
  pthread_t t;
  for (int i = 0; i < (use_uring ? 1 : threads); i++) pthread_create(&t, NULL, devfuse_reader, NULL);
  if (use_uring) {
    while (!__atomic_load_n(&init_answered, __ATOMIC_ACQUIRE)) usleep(1000);
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    for (long q = 0; q < cpus; q++) pthread_create(&t, NULL, uring_queue, (void *)(intptr_t)q);
  }
  printf("ready\n");
  fflush(stdout);
  pause();
  return 0;
}
