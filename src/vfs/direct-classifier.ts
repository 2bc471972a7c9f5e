// Loaded by each reader thread (fs-types.ts DirectClassifierSpec): decides an
// O_DIRECT request on a namespace where it was read, as NamespaceFile does on
// the main thread — the caller's buffer as the kernel pins it, its segments
// (host memory, an allocation, a PFN map), and the model's decision and
// counters (IoPathMirror) — from the copy direct-share.ts publishes.
//   - A caller whose process maps no such file moves host memory, whatever
//     its buffer: no syscall is read (one /proc/TID/maps read per thread and
//     generation tells).
//   - Otherwise its syscall is read from /proc files kept open (TaskFiles),
//     and the buffer found from it or from what the process submitted
//     through io_submit or io_uring (SubmittedIo).
//   - What the copy cannot answer goes to the main thread: a map type not
//     cached yet, a caller still on a CPU after RUNNING_SPIN_MS, a buffer
//     not found (counted there as unclassified, with a warning).

import { ERRNO } from '../errno.js';
import type { DirectRequest, DirectVerdict } from '../fs-types.js';
import { callerMemory, SubmittedIo, TaskFiles, type SyscallState } from '../caller-memory/index.js';
import { IoPathMirror, NvmeOpcode, type IoNamespace, type IoSegment } from '../model/index.js';
import type { DirectClassifierData, DirectDoc } from './direct-share.js';
import { segmentsOfFound, type FileMemory, type ProcessMapping } from './p2p-mappings.js';
import { SharedSnapshot } from './shared-snapshot.js';

/**
 * How long a reader thread asks again for a caller still on a CPU (the
 * first requests of a large O_DIRECT call arrive while the kernel is still
 * pinning the rest of the buffer) before the main thread waits for it
 * without holding a reader (native-notes/performance.md).
 */
export const RUNNING_SPIN_MS = 2;
/** back-to-back asks before napping between them */
const RUNNING_BUSY_TRIES = 16;
const NAP_MS = 0.02;
/** threads whose mappings a reader keeps per generation */
const TASKS_KEPT = 1024;

const MAIN: DirectVerdict = { kind: 'main' };

export function createDirectClassifier(raw: unknown): (req: DirectRequest) => DirectVerdict {
  const data = raw as DirectClassifierData;
  const snapshot = new SharedSnapshot(data.snapshot);
  const mirror = new IoPathMirror({ paths: data.paths, decided: data.decided });
  const tasks = new TaskFiles();
  const submitted = new SubmittedIo(tasks);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let seen = -1;
  let doc: DirectDoc | undefined;
  let files = new Map<number, FileMemory>();
  let namespaces = new Map<number, IoNamespace>();
  const mapsByTid = new Map<number, { generation: number; maps: ProcessMapping[] }>();

  const refresh = () => {
    if (snapshot.sequence === seen) return;
    const got = snapshot.read();
    if (!got) return;
    seen = got.sequence;
    doc = got.doc as DirectDoc;
    files = new Map(doc.files);
    namespaces = new Map(doc.io.namespaces);
    mirror.update(doc.io);
  };

  const mapsOf = (tid: number, device: string, generation: number): ProcessMapping[] => {
    const hit = mapsByTid.get(tid);
    if (hit && hit.generation === generation) return hit.maps;
    const maps = callerMemory
      .mappingsOfFiles(tid, device, new Set(files.keys()))
      .map((m) => ({ start: m.start, end: m.end, offset: m.offset, mem: files.get(m.ino)! }));
    if (mapsByTid.size >= TASKS_KEPT) mapsByTid.clear();
    mapsByTid.set(tid, { generation, maps });
    return maps;
  };

  /** The caller's syscall once it has left the CPU; 'running' if it has not within RUNNING_SPIN_MS. */
  const blockedSyscall = (tid: number): SyscallState | 'running' | undefined => {
    let sc = tasks.syscall(tid);
    const deadline = performance.now() + RUNNING_SPIN_MS;
    for (let i = 0; sc === 'running' && performance.now() < deadline; i++) {
      if (i >= RUNNING_BUSY_TRIES) Atomics.wait(nap, 0, 0, NAP_MS);
      sc = tasks.syscall(tid);
    }
    return sc;
  };

  return (req: DirectRequest): DirectVerdict => {
    refresh();
    const ns = namespaces.get(req.slot);
    if (!doc || !ns || doc.device === undefined) return MAIN;
    const maps = mapsOf(req.tid, doc.device, doc.generation);
    let segments: IoSegment[] = [{ len: req.len, mem: { kind: 'host' } }];
    if (maps.length > 0) {
      const io = { node: req.node, offset: req.offset, len: req.len, write: req.write };
      const sc = blockedSyscall(req.tid);
      const buffer = sc === 'running' ? submitted.bufferOfRunning(req.tid, io) : submitted.bufferOf(req.tid, sc, io);
      if (!buffer) return MAIN;
      const found = segmentsOfFound(maps, buffer);
      // the main thread counts an unclassified request and warns once per process
      if ('unclassified' in found) return MAIN;
      segments = found.segments;
    }
    const d = mirror.decide({ ns, opcode: req.write ? NvmeOpcode.WRITE : NvmeOpcode.READ, segments }, req.slot);
    if (d.kind === 'mapped') return { kind: 'serve', count: d.count };
    if (d.kind === 'failed') return { kind: 'refuse', errno: ERRNO[d.errno] };
    return MAIN;
  };
}
