// kernel: nvme_map_data(), pci_p2pdma_state(), pci_p2pdma_map_type(), check_vma_flags()
// A request as the kernel sees one (namespace, opcode, the segments of the
// caller's buffer) → the path of each run of it, or the errno the I/O fails with.
import { describe, expect, test } from 'vitest';
import { loadTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { allocationRef, decideIo, ioNamespace, NvmeIoPath, NvmeOpcode, type IoRequest, type IoSegment, type MapTypeTable } from '../../../src/model/nvme/index.js';
import { MapType } from '../../../src/model/p2pdma/index.js';

const ns = { name: 'nvme0n1', client: '0000:03:00.0', clientIdx: 0x300, p2pdmaQueues: true };
const host = (len: number): IoSegment => ({ len, mem: { kind: 'host' } });
const p2p = (len: number, provider: string, pgmap: number, id = 1, offset = 0): IoSegment => ({ len, mem: { kind: 'p2p', alloc: { id, provider, pgmap }, offset } });
const pfn = (len: number): IoSegment => ({ len, mem: { kind: 'pfnmap', what: 'a mapping of dma-buf 1' } });
const req = (...segments: IoSegment[]): IoRequest => ({ ns, opcode: NvmeOpcode.READ, segments });
const table = (entries: [string, MapType][]): MapTypeTable => new Map(entries.map(([p, t]) => [p, new Map([[ns.clientIdx, t]])]));

describe('the decision, from plain data', () => {
  test('host memory only: one host run of the whole length, however many segments', () => {
    expect(decideIo(req(host(4096), host(8192)), new Map())).toEqual({ kind: 'mapped', pieces: [{ len: 12288, provider: undefined, path: 'host' }] });
  });

  test.each([
    [MapType.BUS_ADDR, 'p2p-switch'],
    [MapType.THRU_HOST_BRIDGE, 'p2p-host-bridge'],
  ] as const)('P2P pages with map type %i take the %s path; host memory around them stays host', (type, path) => {
    const d = decideIo(req(host(512), p2p(4096, '0000:04:00.0', 0x4000_0000), host(512)), table([['0000:04:00.0', type]]));
    expect(d).toEqual({
      kind: 'mapped',
      pieces: [
        { len: 512, provider: undefined, path: 'host' },
        { len: 4096, provider: '0000:04:00.0', path },
        { len: 512, provider: undefined, path: 'host' },
      ],
    });
  });

  test('NOT_SUPPORTED fails the I/O with EREMOTEIO, naming both functions, counted as refused for the provider', () => {
    expect(decideIo(req(p2p(4096, '0000:04:00.0', 0x4000_0000)), table([['0000:04:00.0', MapType.NOT_SUPPORTED]]))).toEqual({
      kind: 'failed',
      errno: 'EREMOTEIO',
      message: '0000:03:00.0 cannot reach P2P memory of 0000:04:00.0',
      refused: { provider: '0000:04:00.0' },
    });
  });

  test('a queue without P2PDMA refuses P2P pages at GUP, before any map type is looked up', () => {
    const d = decideIo({ ...req(p2p(4096, '0000:04:00.0', 0x4000_0000)), ns: { ...ns, p2pdmaQueues: false } }, new Map());
    expect(d).toMatchObject({ kind: 'failed', errno: 'EREMOTEIO', message: 'nvme0n1: its queue does not support P2PDMA, GUP refuses P2P pages' });
  });

  test('a PFN map (a dma-buf mapping) is EFAULT and no P2P refusal', () => {
    const d = decideIo(req(host(4096), pfn(4096)), table([]));
    expect(d).toEqual({ kind: 'failed', errno: 'EFAULT', message: 'a mapping of dma-buf 1 is a VM_PFNMAP|VM_IO mapping: GUP has no struct page to pin' });
  });

  test('a pair the table lacks is handed back to be computed, with the provider that needs it', () => {
    expect(decideIo(req(host(1), p2p(4096, '0000:05:00.0', 0x5000_0000)), table([['0000:04:00.0', MapType.BUS_ADDR]]))).toEqual({ kind: 'needs-map-type', provider: '0000:05:00.0' });
  });

  test('runs follow the pgmap: two allocations in one pgmap are one run, a second pgmap starts another', () => {
    const t = table([['0000:04:00.0', MapType.BUS_ADDR]]);
    const one = decideIo(req(p2p(4096, '0000:04:00.0', 0x4000_0000, 1), p2p(4096, '0000:04:00.0', 0x4000_0000, 2)), t);
    const two = decideIo(req(p2p(4096, '0000:04:00.0', 0x4000_0000, 1), p2p(4096, '0000:04:00.0', 0x4800_0000, 2)), t);
    expect(one.kind === 'mapped' && one.pieces.map((p) => p.len)).toEqual([8192]);
    expect(two.kind === 'mapped' && two.pieces.map((p) => p.len)).toEqual([4096, 4096]);
  });

  test('the decision is the same on a structured clone of its inputs (what a reader thread would hold)', () => {
    const r = req(host(512), p2p(4096, '0000:04:00.0', 0x4000_0000), pfn(1));
    const t = table([['0000:04:00.0', MapType.BUS_ADDR]]);
    expect(decideIo(structuredClone(r), structuredClone(t))).toEqual(decideIo(r, t));
  });
});

describe('the model\'s I/O path on the default topology', () => {
  const boot = () => {
    const m = bootHostModel(loadTopology(undefined));
    const dev = (name: string) => m.pci.find(name)!;
    const nsOf = (name: string) => m.drivers.nvme.ctrls.get(dev(name))!.namespaces[0]!;
    const alloc = (name: string) => m.p2pdma.allocMmap(dev(name), { len: 1 << 20, pgoff: 0, shared: true, pid: 100, comm: 'test' });
    return { m, io: new NvmeIoPath(m.p2pdma), nsOf, alloc };
  };
  const into = (a: ReturnType<ReturnType<typeof boot>['alloc']>, len = 4096) => [{ len, mem: { kind: 'p2p' as const, alloc: allocationRef(a), offset: 0 } }];

  test('the first request of a pair computes its map type and caches it; the I/O runs and is counted per path', () => {
    const { m, io, nsOf, alloc } = boot();
    const cmb = alloc('nvme1');
    const r = { ns: ioNamespace(nsOf('nvme0')), opcode: NvmeOpcode.WRITE, segments: into(cmb, 8192) };
    expect(m.p2pdma.mapTypeTable.get('0000:04:00.0')?.get(r.ns.clientIdx)).toBeUndefined();
    let ran = 0;
    expect(io.submit(r, () => ++ran)).toBe(1);
    expect(m.p2pdma.mapTypeTable.get('0000:04:00.0')?.get(r.ns.clientIdx)).toBe(MapType.BUS_ADDR);
    expect(io.stats.all()).toEqual([{ client: '0000:03:00.0', provider: '0000:04:00.0', path: 'p2p-switch', reads: 0, writes: 1, bytes: 8192 }]);
  });

  test('a refused pair: EREMOTEIO, the kernel\'s lines logged once however often it is asked, the I/O never runs', () => {
    const { m, io, nsOf, alloc } = boot();
    const cmb = alloc('nvme1');
    const r = { ns: ioNamespace(nsOf('nvme2')), opcode: NvmeOpcode.READ, segments: into(cmb) };
    let ran = false;
    for (let i = 0; i < 3; i++) expect(() => io.submit(r, () => (ran = true))).toThrow(expect.objectContaining({ code: 'EREMOTEIO' }));
    expect(ran).toBe(false);
    const lines = m.klog.all().filter((l) => l.text.includes('cannot be used for peer-to-peer DMA as the client and provider (0000:04:00.0)'));
    expect(lines).toHaveLength(1);
    expect(io.stats.all()).toEqual([{ client: '0000:06:00.0', provider: '0000:04:00.0', path: 'refused', reads: 3, writes: 0, bytes: 0 }]);
  });

  test('memory of a provider that is gone (no P2PDMA state) is NOT_SUPPORTED, decided without looping', async () => {
    const { m, io, nsOf, alloc } = boot();
    const a = alloc('p2pmem0');
    await m.drivers.remove(m.pci.find('p2pmem0')!);
    expect(() => io.map({ ns: ioNamespace(nsOf('nvme0')), opcode: NvmeOpcode.READ, segments: into(a) })).toThrow(expect.objectContaining({ code: 'EREMOTEIO' }));
  });
});
