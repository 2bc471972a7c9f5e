/*
 * A native-AIO caller that keeps nothing of its submissions: it reads NS
 * (O_DIRECT) into a shared mapping of ALLOCATE with io_submit, wipes each iocb
 * as soon as io_submit returns (the kernel copied it; the ABI allows reuse),
 * then waits for the completions. Nothing left in its memory names the
 * buffer, so the emulator cannot find it.
 *
 * usage: aio-forget-iocb NS ALLOCATE COUNT   (COUNT reads of 64 KiB)
 * prints "done N pid P" (N bytes read, P its pid); exit 1 on any error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s NS ALLOCATE COUNT\n", argv[0]);
		return 2;
	}
	int count = atoi(argv[3]);
	int ns = open(argv[1], O_RDONLY | O_DIRECT);
	int mem = open(argv[2], O_RDWR);
	if (ns < 0 || mem < 0) {
		perror("open");
		return 1;
	}
	char *buf = mmap(NULL, (size_t)count * CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, mem, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, count, &ctx) < 0) {
		perror("io_setup");
		return 1;
	}
	long done = 0;
	for (int i = 0; i < count; i++) {
		struct iocb cb;
		struct iocb *list[1] = { &cb };
		memset(&cb, 0, sizeof(cb));
		cb.aio_lio_opcode = IOCB_CMD_PREAD;
		cb.aio_fildes = ns;
		cb.aio_buf = (unsigned long)(buf + (size_t)i * CHUNK);
		cb.aio_nbytes = CHUNK;
		cb.aio_offset = (long long)i * CHUNK;
		if (syscall(SYS_io_submit, ctx, 1, list) != 1) {
			perror("io_submit");
			return 1;
		}
		/* the kernel has its copy: forget ours */
		memset((void *)&cb, 0, sizeof(cb));
		__asm__ volatile("" ::: "memory");
		struct io_event ev;
		if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1) {
			perror("io_getevents");
			return 1;
		}
		if ((long)ev.res < 0) {
			fprintf(stderr, "read: %s\n", strerror((int)-ev.res));
			return 1;
		}
		done += (long)ev.res;
	}
	printf("done %ld pid %d\n", done, (int)getpid());
	return 0;
}
