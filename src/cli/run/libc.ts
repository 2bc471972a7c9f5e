// The few system calls `p2pemu run` needs inside its mount namespace and Node
// does not offer: mount(2), mknod(2), and replacing the process with the
// command (execvp) after putting back the signal state a shell expects.

import koffi from 'koffi';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;

interface Libc {
  mount: (source: string | null, target: string, fstype: string | null, flags: number, data: string | null) => number;
  mknod: (path: string, mode: number, dev: bigint) => number;
  execvp: (file: string, argv: (string | null)[]) => number;
  signal: (sig: number, handler: null) => unknown;
  fcntl: (fd: number, cmd: number, arg: number) => number;
  sigprocmask: (how: number, set: Buffer, old: null) => number;
  errno: () => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  const errnoPtr = l.func('int *__errno_location(void)');
  libc = {
    mount: l.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    mknod: l.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    execvp: l.func('int execvp(const char *file, const char **argv)'),
    signal: l.func('void *signal(int sig, void *handler)'),
    fcntl: l.func('int fcntl(int fd, int cmd, int arg)'),
    sigprocmask: l.func('int sigprocmask(int how, const uint8_t *set, void *old)'),
    errno: () => koffi.decode(errnoPtr(), 'int') as number,
    strerror: l.func('const char *strerror(int errnum)'),
  };
  return libc;
}

function check(r: number, what: string): void {
  if (r !== 0) {
    const c = lib();
    throw new Error(`${what}: ${c.strerror(c.errno())}`);
  }
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  check(lib().mount(source, target, fstype, flags, data), `mount ${source ?? fstype} on ${target}`);
}

export function mknod(path: string, mode: number, rdev: number): void {
  check(lib().mknod(path, mode, BigInt(rdev)), `mknod ${path}`);
}

const SIG_SETMASK = 2;
const F_SETFD = 2;
// SIGPIPE: Node ignores it, and an ignored signal stays ignored across exec
const SIGPIPE = 13;

/** Replaces this process with the command (PATH searched) with the signal state and stdio a shell would give it; returns only on failure. */
export function execvp(argv: string[]): Error {
  const c = lib();
  c.signal(SIGPIPE, null); // SIG_DFL
  c.sigprocmask(SIG_SETMASK, Buffer.alloc(128), null); // nothing blocked
  // Node marks stdin, stdout and stderr close-on-exec at startup: the command needs them
  for (const fd of [0, 1, 2]) c.fcntl(fd, F_SETFD, 0);
  c.execvp(argv[0]!, [...argv, null]);
  return new Error(`${argv[0]}: ${c.strerror(c.errno())}`);
}
