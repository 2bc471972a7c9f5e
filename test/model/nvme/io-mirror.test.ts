// kernel: nvme_map_data(), pci_p2pdma_map_type()
// A reader thread's copy of the I/O path (IoPathMirror over NvmeIoPath.snapshot):
// every request it answers is answered as the model's own path answers it, and
// counted in the same rows of `transfers`; what it cannot answer (a map type not
// cached yet) it hands back, so the first computation and its log lines stay
// the model's.
import { describe, expect, test } from 'vitest';
import { loadTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { allocationRef, ioNamespace, IoPathMirror, NvmeIoPath, NvmeOpcode, type IoRequest } from '../../../src/model/nvme/index.js';

function boot() {
  const m = bootHostModel(loadTopology(undefined));
  const dev = (name: string) => m.pci.find(name)!;
  const nsOf = (name: string) => ioNamespace(m.drivers.nvme.ctrls.get(dev(name))!.namespaces[0]!);
  const alloc = (name: string) => m.p2pdma.allocMmap(dev(name), { len: 1 << 20, pgoff: 0, shared: true, pid: 100, comm: 'test' });
  const io = new NvmeIoPath(m.p2pdma);
  // the reader thread's copy: built from structured clones, as a worker gets them
  const mirror = () => {
    const mi = new IoPathMirror(structuredClone(io.mirrorCounters));
    mi.update(structuredClone(io.snapshot()));
    return mi;
  };
  return { m, io, nsOf, alloc, mirror };
}

const into = (a: Parameters<typeof allocationRef>[0], len = 4096) => [{ len, mem: { kind: 'p2p' as const, alloc: allocationRef(a), offset: 0 } }];

describe('a reader thread decides as the model does', () => {
  test('a pair not cached yet is handed back; once the model computed it, the copy decides and counts in the same row', () => {
    const { io, nsOf, alloc, mirror } = boot();
    const ns = nsOf('nvme0');
    const slot = io.dataPathSlot(ns)!;
    const r: IoRequest = { ns, opcode: NvmeOpcode.READ, segments: into(alloc('nvme1'), 8192) };
    expect(mirror().decide(r, slot)).toEqual({ kind: 'ask-owner' });
    io.submit(r, () => undefined);
    const d = mirror().decide(r, slot);
    expect(d.kind).toBe('mapped');
    if (d.kind === 'mapped') d.count();
    expect(io.stats.all()).toEqual([{ client: '0000:03:00.0', provider: '0000:04:00.0', path: 'p2p-switch', reads: 2, writes: 0, bytes: 16384 }]);
  });

  test('a refused pair: EREMOTEIO from the copy too, counted as refused once per request', () => {
    const { io, nsOf, alloc, mirror } = boot();
    const ns = nsOf('nvme2');
    const slot = io.dataPathSlot(ns)!;
    const r: IoRequest = { ns, opcode: NvmeOpcode.WRITE, segments: into(alloc('nvme1')) };
    expect(() => io.submit(r, () => undefined)).toThrow(expect.objectContaining({ code: 'EREMOTEIO' }));
    expect(mirror().decide(r, slot)).toEqual({ kind: 'failed', errno: 'EREMOTEIO' });
    expect(io.stats.all()).toEqual([{ client: '0000:06:00.0', provider: '0000:04:00.0', path: 'refused', reads: 0, writes: 2, bytes: 0 }]);
  });

  test('host memory needs no map type; the request served for the namespace is counted once, on the host row', () => {
    const { io, nsOf, mirror } = boot();
    const ns = nsOf('nvme0');
    const slot = io.dataPathSlot(ns)!;
    const d = mirror().decide({ ns, opcode: NvmeOpcode.WRITE, segments: [{ len: 4096, mem: { kind: 'host' } }] }, slot);
    // the reader counts what it served in the namespace's slot, then the decision's pieces
    Atomics.add(io.stats.dataPath, slot * 4 + 1, 1n);
    Atomics.add(io.stats.dataPath, slot * 4 + 3, 4096n);
    if (d.kind === 'mapped') d.count();
    expect(io.stats.all()).toEqual([{ client: '0000:03:00.0', provider: 'host memory', path: 'host', reads: 0, writes: 1, bytes: 4096 }]);
    expect(io.totals(ns)).toMatchObject({ writeCmds: 1, bytesWritten: 4096 });
  });

  test('a PFN map is EFAULT, counted nowhere', () => {
    const { io, nsOf, mirror } = boot();
    const ns = nsOf('nvme0');
    const d = mirror().decide({ ns, opcode: NvmeOpcode.READ, segments: [{ len: 4096, mem: { kind: 'pfnmap', what: 'a mapping of dma-buf 1' } }] }, io.dataPathSlot(ns)!);
    expect(d).toEqual({ kind: 'failed', errno: 'EFAULT' });
    expect(io.stats.all()).toEqual([]);
  });

  test('the snapshot changes version when the model computes a map type', () => {
    const { io, nsOf, alloc } = boot();
    const ns = nsOf('nvme0');
    io.dataPathSlot(ns);
    const before = io.version;
    io.submit({ ns, opcode: NvmeOpcode.READ, segments: into(alloc('nvme1')) }, () => undefined);
    expect(io.version).not.toBe(before);
  });
});
