// The spirit of tools/testing/selftests/mm/hmm-tests.c, against the model:
// each test names the selftest it mirrors.
import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../../src/config/default-topology.js';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { AddressSpace, PageState } from '../../../src/model/hmm/address-space.js';
import {
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  HMM_PFN_ALLOW_P2P,
  HMM_PFN_DMA_MAPPED,
  HMM_PFN_P2PDMA,
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmRangeFault,
  migrateToDevice,
  migrateToSystem,
  snapshot,
} from '../../../src/model/hmm/hmm.js';
import { compareP2pAlias, hmmContext, mirrorMixed, ownerOf } from '../../../src/model/hmm/hmm-host.js';
import { odpFault } from '../../../src/model/hmm/hmm-dma.js';
import { mixesFakeAndAlias } from '../../../src/model/hmm/pfn-encoding.js';

const m = bootHostModel(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
const accel = m.pci.find('accel0')!;
const nic = m.pci.find('nic0')!;
const NPAGES = 16;

function setup(prot: 'none' | 'read' | 'write' = 'write') {
  const ctx = hmmContext(m, false);
  const mirror = ownerOf(ctx, accel);
  return { ctx, mirror, as: new AddressSpace(0x7f00_0000_0000, NPAGES, prot) };
}

describe('hmm_range_fault through a dmirror-like device', () => {
  // hmm-tests: anon_read — the device reads pages the process wrote
  test('anon_read: written pages come back VALID and WRITE', () => {
    const { ctx, mirror, as } = setup();
    as.cpuWrite(0, NPAGES, 100);
    const r = hmmRangeFault(as, { first: 0, count: NPAGES, defaultFlags: HMM_PFN_REQ_FAULT, devPrivateOwner: mirror.id }, ctx);
    expect(r.pfns.every((p) => (p & HMM_PFN_VALID) !== 0n && (p & HMM_PFN_WRITE) !== 0n)).toBe(true);
    expect(r.faulted).toBe(0);
  });

  // hmm-tests: anon_read_prot — PROT_NONE memory cannot be faulted: EFAULT
  test('anon_read_prot: a read fault on PROT_NONE memory fails with EFAULT', () => {
    const { ctx, mirror, as } = setup('none');
    expect(() => hmmRangeFault(as, { first: 0, count: NPAGES, defaultFlags: HMM_PFN_REQ_FAULT, devPrivateOwner: mirror.id }, ctx)).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
  });

  // hmm-tests: anon_write_prot — a device write to read-only memory: EPERM, nothing written
  test('anon_write_prot: a write fault on read-only memory fails with EPERM', () => {
    const { ctx, mirror, as } = setup('read');
    expect(() =>
      hmmRangeFault(as, { first: 0, count: NPAGES, defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, devPrivateOwner: mirror.id }, ctx),
    ).toThrow(expect.objectContaining({ code: 'EPERM' }));
  });

  // hmm-tests: anon_read_prot's zero-page half / anon_write — untouched memory
  test('read faults on untouched memory map the zero page (read-only); write faults map fresh pages', () => {
    const { ctx, mirror, as } = setup();
    const r = hmmRangeFault(as, { first: 0, count: 4, defaultFlags: HMM_PFN_REQ_FAULT, devPrivateOwner: mirror.id }, ctx);
    expect(r.pfns.map((p) => p & HMM_PFN_WRITE)).toEqual([0n, 0n, 0n, 0n]);
    const w = hmmRangeFault(as, { first: 0, count: 4, defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, devPrivateOwner: mirror.id }, ctx);
    expect(w.pfns.every((p) => (p & HMM_PFN_WRITE) !== 0n)).toBe(true);
    expect(w.faulted).toBe(4);
  });

  // hmm-tests: migrate + snapshot — pages in the mirror's own device memory read as LOCAL, never faulted back
  test('migrate: pages moved to device-private memory snapshot as DEV_PRIVATE_LOCAL | WRITE and stay there', () => {
    const { ctx, mirror, as } = setup();
    as.cpuWrite(0, NPAGES, 1);
    expect(migrateToDevice(as, 0, NPAGES, mirror, ctx)).toBe(NPAGES);
    expect(mirror.free).toBe(mirror.pages - NPAGES);
    const s = snapshot(as, 0, NPAGES, mirror.id, ctx);
    expect([...s]).toEqual(new Array(NPAGES).fill(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE));
    expect(as.state.every((x) => x === PageState.DEVICE_PRIVATE)).toBe(true);
  });

  // hmm-tests: migrate_fault — a CPU (or foreign device) access migrates the pages back
  test('migrate_fault: a foreign owner faulting device-private pages migrates them to RAM, counted', () => {
    const { ctx, mirror, as } = setup();
    as.cpuWrite(0, NPAGES, 1);
    migrateToDevice(as, 0, NPAGES, mirror, ctx);
    const r = hmmRangeFault(as, { first: 0, count: NPAGES, defaultFlags: HMM_PFN_REQ_FAULT, devPrivateOwner: -1 }, ctx);
    expect(r.migratedToRam).toBe(NPAGES);
    expect(mirror.free).toBe(mirror.pages);
    expect(as.state.every((x) => x === PageState.RAM)).toBe(true);
  });

  // hmm-tests: migrate_release / MIGRATE_TO_SYS
  test('migrate to system brings every device page back', () => {
    const { ctx, mirror, as } = setup();
    as.cpuWrite(0, NPAGES, 1);
    migrateToDevice(as, 0, NPAGES / 2, mirror, ctx);
    expect(migrateToSystem(as, 0, NPAGES, ctx)).toBe(NPAGES / 2);
  });

  // hmm-tests: anon_snapshot / mixedmap — snapshot faults nothing and reports each page's state
  test('snapshot: NONE for holes, ZERO|READ, WRITE, LOCAL, ERROR for special PFNs, NONE for a foreign private page', () => {
    const { ctx, mirror, as } = setup();
    as.cpuWrite(2, 1, 1);
    hmmRangeFault(as, { first: 1, count: 1, defaultFlags: HMM_PFN_REQ_FAULT, devPrivateOwner: mirror.id }, ctx); // zero page
    as.cpuWrite(3, 1, 1);
    migrateToDevice(as, 3, 1, mirror, ctx);
    as.state[4] = PageState.SPECIAL;
    const s = snapshot(as, 0, 5, mirror.id, ctx);
    expect([...s]).toEqual([
      HMM_DMIRROR_PROT_NONE,
      HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,
      HMM_DMIRROR_PROT_WRITE,
      HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
      HMM_DMIRROR_PROT_ERROR,
    ]);
    expect(snapshot(as, 3, 1, -1, ctx)[0]).toBe(HMM_DMIRROR_PROT_NONE);
  });

  test('a fault requested on a special PFN fails with EFAULT; without a fault it reports HMM_PFN_ERROR', () => {
    const { ctx, as } = setup();
    as.state[0] = PageState.SPECIAL;
    expect(hmmRangeFault(as, { first: 0, count: 1, defaultFlags: 0n, devPrivateOwner: -1 }, ctx).pfns[0]).toBe(HMM_PFN_ERROR);
    expect(() => hmmRangeFault(as, { first: 0, count: 1, defaultFlags: HMM_PFN_REQ_FAULT, devPrivateOwner: -1 }, ctx)).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
  });
});

describe('HMM_PFN_ALLOW_P2P (proposal, not mainline)', () => {
  test('without the hmm-allow-p2p profile the request flag changes nothing: the pages migrate', () => {
    const { ctx, mirror, as } = setup();
    as.cpuWrite(0, NPAGES, 1);
    migrateToDevice(as, 0, NPAGES, mirror, ctx);
    const r = hmmRangeFault(as, { first: 0, count: NPAGES, defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_ALLOW_P2P, devPrivateOwner: -1 }, ctx);
    expect([r.migratedToRam, r.p2pAliased]).toEqual([NPAGES, 0]);
  });

  test('NIC and accelerator under a whitelisted host bridge: every page is a P2P alias, none migrates (exact counts)', () => {
    const [mainline, p2p] = compareP2pAlias(m, accel, nic, 256);
    expect([mainline!.result.migratedToRam, mainline!.result.p2pAliased]).toEqual([256, 0]);
    expect([p2p!.result.migratedToRam, p2p!.result.p2pAliased]).toEqual([0, 256]);
    expect(p2p!.bytes.p2p).toBe(256 * 4096);
    expect(p2p!.predictedNs!).toBeLessThan(mainline!.predictedNs!);
  });

  test('part of the buffer still in RAM: aliases and RAM PFNs share the array, both DMA-able: not the review\'s concern', () => {
    const [, p2p] = compareP2pAlias(m, accel, nic, 8, 4);
    expect(p2p!.mixed.map((x) => [x.kind, x.count])).toEqual([['p2p-alias', 8], ['ram', 4]]);
    expect(mixesFakeAndAlias(p2p!.result.kinds)).toBe(false);
  });

  // kernel: hmm_dma_map_pfn(), mm/hmm.c — get_dma_pfn_for_device() takes no client
  test('a client that cannot reach the owner\'s BAR still gets aliases from hmm_range_fault; hmm_dma_map_pfn refuses them and the driver fails with EFAULT', () => {
    const nvme2 = m.pci.find('nvme2')!; // other host bridge, not whitelisted
    const [, fail, retry] = compareP2pAlias(m, accel, nvme2, 32);
    expect([fail!.aliasesOffered, fail!.mapErrors, fail!.migratedToRam, fail!.errno]).toEqual([32, 32, 0, 'EFAULT']);
    // the proposal's mlx5 fallback (RFC 4/5): fault those pages again without ALLOW_P2P, so they migrate
    expect([retry!.aliasesOffered, retry!.mapErrors, retry!.migratedToRam, retry!.errno]).toEqual([32, 32, 32, undefined]);
  });

  test('hmm_dma_map_pfn marks a reachable alias HMM_PFN_P2PDMA (host bridge) and leaves RAM plainly mapped', () => {
    const ctx = hmmContext(m, true);
    const owner = ownerOf(ctx, accel);
    const as = new AddressSpace(0x7f00_0000_0000, 2);
    as.cpuWrite(0, 2, 1);
    migrateToDevice(as, 0, 1, owner, ctx);
    const f = odpFault(as, { first: 0, count: 2, defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_ALLOW_P2P, devPrivateOwner: -1 }, nic, ctx, 'fail');
    expect(f.outcomes).toEqual(['p2p-host-bridge', 'mapped']);
    expect(f.result.pfns[0]! & (HMM_PFN_P2PDMA | HMM_PFN_DMA_MAPPED)).toBe(HMM_PFN_P2PDMA | HMM_PFN_DMA_MAPPED);
  });
});

describe("the review's concern: fake device-private PFNs beside DMA-able aliases", () => {
  const two = bootHostModel(
    parseTopology(
      'two',
      `host_bridges:\n  - vendor: 0x8086\n    device: 0x2020\n    children:\n      - { kind: root_port, slot: "01.0", children: [{ kind: accelerator, name: a0 }] }\n      - { kind: root_port, slot: "02.0", children: [{ kind: accelerator, name: a1 }] }\n`,
    ),
  );
  const [pfn, flags] = mirrorMixed(two, two.pci.find('a0')!, two.pci.find('a1')!, 4, 4, 2);

  test('an owner mirroring its own private pages and another owner\'s gets both kinds in one array, and that mix is flagged', () => {
    expect(pfn!.runs.map((x) => [x.kind, x.count])).toEqual([['device-private', 4], ['p2p-alias', 4], ['ram', 2]]);
    expect(pfn!.concern).toBe(true);
  });

  test('as mainline encodes it, no value says which entry is fake; with the flag-bit alternative each value does', () => {
    expect(pfn!.byValue.every((v) => v.includes('only its struct page says'))).toBe(true);
    expect(flags!.byValue).toEqual([expect.stringMatching(/^device index 0 in the caller's own memory/), expect.stringMatching(/DMA-able$/), expect.stringMatching(/DMA-able$/)]);
  });
});
