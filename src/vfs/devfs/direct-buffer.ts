// The main thread's view of an O_DIRECT buffer on a namespace: the segments
// of the caller's buffer as the kernel would pin them, found from the call the
// caller waits in or from what its process submitted (io_submit, io_uring).
// A caller that maps no P2P memory moves host memory, read from nothing. One
// that does but whose buffer cannot be found is not counted as host memory:
// its request is unclassified, and the daemon log says why, once per process.

import { callerMemory, SubmittedIo, type DirectIo } from '../../caller-memory/index.js';
import type { IoSegment } from '../../model/index.js';
import type { MountPort } from '../mount-port.js';
import type { P2pMappings } from '../p2p-mappings.js';

/** processes warned about at most (then the set starts again) */
const WARNED_KEPT = 1024;

export class DirectBuffers {
  private readonly submitted = new SubmittedIo(callerMemory);
  /** "pid/start time" of the processes warned about */
  private readonly warned = new Set<string>();

  constructor(
    private readonly mappings: P2pMappings,
    private readonly port: () => MountPort,
  ) {}

  /** The segments of request `io` of thread `tid`. */
  async segments(tid: number, io: DirectIo): Promise<IoSegment[]> {
    const device = this.port().device;
    if (!device || !this.mappings.mapsAny(tid, device)) return [{ len: io.len, mem: { kind: 'host' } }];
    const found = this.mappings.segmentsFound(tid, device, await this.submitted.bufferOfBlocked(tid, io));
    if ('segments' in found) return found.segments;
    this.warnOnce(tid, found.unclassified);
    return [{ len: io.len, mem: { kind: 'unclassified' } }];
  }

  private warnOnce(tid: number, why: string): void {
    const pid = callerMemory.tgid(tid);
    const key = `${pid}/${callerMemory.identity(pid)?.startTime ?? ''}`;
    if (this.warned.has(key)) return;
    if (this.warned.size >= WARNED_KEPT) this.warned.clear();
    this.warned.add(key);
    this.port().warn?.({ caller: pid, comm: callerMemory.comm(pid), why }, 'O_DIRECT on a namespace from a process with P2P mappings: buffer not found, counted as unclassified (transfers)');
  }
}
