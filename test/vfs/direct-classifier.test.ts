// What a reader thread decides about an O_DIRECT request on a namespace, from
// the copy the main thread publishes and the caller's own /proc files: a real
// process blocked in readv(2) with its buffer in a mapping of a file that
// stands for a p2pmem allocation (no mount needed: the classifier matches
// mappings by device and inode, as /proc/PID/maps prints them).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ERRNO } from '../../src/errno.js';
import { loadTopology } from '../../src/config/parse-topology.js';
import { bootHostModel } from '../../src/model/host-model.js';
import { allocationRef, ioNamespace, NvmeIoPath, NvmeOpcode } from '../../src/model/nvme/index.js';
import { createDirectClassifier } from '../../src/vfs/direct-classifier.js';
import type { DirectDoc } from '../../src/vfs/direct-share.js';
import { SharedSnapshot } from '../../src/vfs/shared-snapshot.js';

let dir: string;
let child: ChildProcess;
let blocked: ChildProcess;
let mapped: { ino: number; device: string };

/** Waits until /proc/PID/syscall shows the process blocked in syscall `nr`. */
async function blockedIn(pid: number, nr: number): Promise<void> {
  const deadline = Date.now() + 15_000; // a bound for a loaded machine, not a sleep
  while (Date.now() < deadline) {
    if (readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith(`${nr} `)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never blocked in syscall ${nr}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'p2pemu-classify-'));
  const file = join(dir, 'allocation');
  writeFileSync(file, Buffer.alloc(1 << 20));
  // maps the file, then waits in readv(2) on its stdin with the mapping as the buffer
  const script = `import mmap, os\nf = open(${JSON.stringify(file)}, 'r+b')\nm = mmap.mmap(f.fileno(), 1 << 20)\nos.readv(0, [memoryview(m)[8192:8192 + 65536]])\n`;
  child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'inherit', 'inherit'] });
  // and one that maps nothing, waiting in read(2)
  blocked = spawn('/usr/bin/python3', ['-c', 'import os\nos.read(0, 1)\n'], { stdio: ['pipe', 'inherit', 'inherit'] });
  await blockedIn(child.pid!, 19);
  await blockedIn(blocked.pid!, 0);
  const ino = statSync(file).ino;
  const line = readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n').find((l) => l.split(/\s+/)[4] === String(ino))!;
  mapped = { ino, device: line.split(/\s+/)[3]! };
}, 40_000);

afterAll(() => {
  child.stdin!.end('x');
  blocked.stdin!.end('x');
  rmSync(dir, { recursive: true, force: true });
});

function setup(provider: string, client: string) {
  const m = bootHostModel(loadTopology(undefined));
  const ctrl = m.drivers.nvme.ctrls.get(m.pci.find(client)!)!;
  const ns = ioNamespace(ctrl.namespaces[0]!);
  const a = m.p2pdma.allocMmap(m.pci.find(provider)!, { len: 1 << 20, pgoff: 0, shared: true, pid: 100, comm: 'test' });
  const io = new NvmeIoPath(m.p2pdma);
  const slot = io.dataPathSlot(ns)!;
  const snapshot = new SharedSnapshot();
  const publish = () => {
    const doc: DirectDoc = { generation: 1, device: mapped.device, files: [[mapped.ino, { kind: 'p2p', alloc: allocationRef(a) }]], io: io.snapshot() };
    snapshot.publish(doc);
  };
  publish();
  const classify = createDirectClassifier({ snapshot: snapshot.buffer, ...io.mirrorCounters });
  // the model computes the pair's map type the first time (on the main thread)
  const firstOnMain = () => {
    try {
      io.submit({ ns, opcode: NvmeOpcode.READ, segments: [{ len: 4096, mem: { kind: 'p2p', alloc: allocationRef(a), offset: 0 } }] }, () => undefined);
    } catch {
      /* a refusal: the map type is cached all the same */
    }
    publish();
  };
  return { io, slot, classify, firstOnMain };
}

describe('a reader thread decides O_DIRECT on a namespace', () => {
  test('a buffer in P2P memory behind a switch: served, counted on the p2p-switch row with the offset into the buffer', () => {
    const { io, slot, classify, firstOnMain } = setup('nvme1', 'nvme0');
    const req = { slot, tid: child.pid!, node: 0, offset: 4096, len: 4096, write: false };
    // before the model has the pair's map type, the reader hands the request on
    expect(classify(req)).toEqual({ kind: 'main' });
    firstOnMain();
    const v = classify(req);
    expect(v.kind).toBe('serve');
    if (v.kind === 'serve') v.count();
    expect(io.stats.all().find((r) => r.path === 'p2p-switch')).toMatchObject({ client: '0000:03:00.0', provider: '0000:04:00.0', reads: 2, bytes: 8192 });
  });

  test('a pair the kernel refuses: EREMOTEIO from the reader, counted as refused', () => {
    const { io, slot, classify, firstOnMain } = setup('nvme1', 'nvme2');
    firstOnMain();
    expect(classify({ slot, tid: child.pid!, node: 0, offset: 0, len: 4096, write: true })).toEqual({ kind: 'refuse', errno: ERRNO.EREMOTEIO });
    expect(io.stats.all()).toEqual([{ client: '0000:06:00.0', provider: '0000:04:00.0', path: 'refused', reads: 1, writes: 1, bytes: 0 }]);
  });

  test('a process that maps no P2P memory moves host memory, whatever its buffer', () => {
    const { slot, classify } = setup('nvme1', 'nvme2');
    const v = classify({ slot, tid: blocked.pid!, node: 0, offset: 0, len: 4096, write: false });
    expect(v.kind).toBe('serve');
  });

  test('a namespace the copy does not know yet goes to the main thread', () => {
    const { classify } = setup('nvme1', 'nvme0');
    expect(classify({ slot: 999, tid: child.pid!, node: 0, offset: 0, len: 4096, write: false })).toEqual({ kind: 'main' });
  });
});
