// Another process's memory read and written as that process itself could
// (process_vm_readv/writev(2) honour page protections, unlike /proc/PID/mem),
// through koffi: the one binding, usable from worker threads (the seccomp
// supervisor's) and, asynchronously, off the main thread (an ioctl answer
// into a page this very mount must first fault in).

import koffi from 'koffi';

type VmCall = ((pid: number, local: Buffer, liovcnt: number, remote: Buffer, riovcnt: number, flags: number) => number | bigint) & {
  async: (pid: number, local: Buffer, liovcnt: number, remote: Buffer, riovcnt: number, flags: number, cb: (err: unknown, n: number | bigint) => void) => void;
};

let calls: { readv: VmCall; writev: VmCall } | undefined;

function lib() {
  if (!calls) {
    const l = koffi.load('libc.so.6');
    calls = {
      readv: l.func('intptr_t process_vm_readv(int pid, uint8_t *local, unsigned long liovcnt, uint8_t *remote, unsigned long riovcnt, unsigned long flags)') as VmCall,
      writev: l.func('intptr_t process_vm_writev(int pid, uint8_t *local, unsigned long liovcnt, uint8_t *remote, unsigned long riovcnt, unsigned long flags)') as VmCall,
    };
  }
  return calls;
}

/** struct iovec { void *base; size_t len; }: one for our buffer, one for the range in the other process. */
function iovecs(buf: Buffer, addr: bigint): [Buffer, Buffer] {
  const local = Buffer.alloc(16);
  local.writeBigUInt64LE(BigInt(koffi.address(buf as never)), 0);
  local.writeBigUInt64LE(BigInt(buf.length), 8);
  const remote = Buffer.alloc(16);
  remote.writeBigUInt64LE(addr, 0);
  remote.writeBigUInt64LE(BigInt(buf.length), 8);
  return [local, remote];
}

const result = (n: number | bigint) => (Number(n) < 0 ? -koffi.errno() : Number(n));

/** Reads another process's memory into `into`: the bytes read (fewer when an unmapped page ends the range), or -errno. */
export function readProcess(pid: number, addr: bigint, into: Buffer): number {
  const [local, remote] = iovecs(into, addr);
  return result(lib().readv(pid, local, 1, remote, 1, 0));
}

/** Writes into another process's memory; true when every byte was written. */
export function writeProcess(pid: number, addr: bigint, data: Buffer): boolean {
  const [local, remote] = iovecs(data, addr);
  return Number(lib().writev(pid, local, 1, remote, 1, 0)) === data.length;
}

/** writeProcess off the calling thread: the bytes written. */
export function writeProcessAsync(pid: number, addr: bigint, data: Buffer): Promise<number> {
  const [local, remote] = iovecs(data, addr);
  return new Promise((res, rej) => lib().writev.async(pid, local, 1, remote, 1, 0, (err, n) => (err ? rej(err) : res(Number(n)))));
}
