// kernel: dma_buf_dynamic_attach(), dma_buf_move_notify() (kernel-facts §8)
import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/parse-topology.js';
import { DmaBufCore } from '../../src/model/dmabuf/dmabuf.js';
import { bootHostModel } from '../../src/model/host-model.js';
import { bindRxQueue, pagePoolInit, rxFill } from '../../src/model/net/page-pool.js';
import { cmbDmabufFlow, oDirectIntoP2pmem } from '../../src/model/dmabuf/cmb-flow.js';
import { FLOW_TOPOLOGY } from '../../src/cli/dmabuf-flow.js';

function setup() {
  const m = bootHostModel(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
  return { m, core: new DmaBufCore(m.p2pdma, m.klog, false), d: (n: string) => m.pci.find(n)! };
}
const dyn = (allowPeer2peer: boolean, moved?: string[]) => ({ allowPeer2peer, moveNotify: (a: { importer: { name: string } }) => moved?.push(a.importer.name) });

describe('attach decisions over the map-type corpus', () => {
  test.each([
    ['nvme1', 'nvme0', true, 'bar-bus-address'], // switch-local
    ['accel0', 'nic0', true, 'bar-cpu-physical'], // whitelisted host bridge, no IOMMU
    ['accel0', 'nvme2', false, 'system-memory'], // not supported: accelerator falls back
  ])('%s exports to %s (dynamic, allow_peer2peer): peer2peer %s, mapped as %s', (exp, imp, p2p, target) => {
    const { core, d } = setup();
    const buf = core.export(d(exp), 2 ** 20, exp.startsWith('accel') ? 'system-memory' : 'refuse');
    const att = core.attach(buf, d(imp), dyn(true));
    expect(att.peer2peer).toBe(p2p);
    const sg = core.map(att);
    expect(sg[0]!.target).toBe(target);
    expect(sg[0]!.page).toBeNull();
  });

  test('a static importer never gets peer2peer; an MMIO-only exporter then refuses with EOPNOTSUPP', () => {
    const { core, d } = setup();
    const cmb = core.export(d('nvme1'), 2 ** 20, 'refuse');
    expect(() => core.attach(cmb, d('nvme0'))).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP' }));
    const vram = core.export(d('accel0'), 2 ** 20, 'system-memory');
    expect(core.attach(vram, d('nic0')).peer2peer).toBe(false);
  });

  test('a dynamic importer without move_notify is refused with EINVAL and a warning', () => {
    const { core, d, m } = setup();
    const buf = core.export(d('accel0'), 2 ** 20, 'system-memory');
    expect(() => core.attach(buf, d('nic0'), { allowPeer2peer: true })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(m.klog.grep('importer_ops without move_notify')).toHaveLength(1);
  });

  test('with an IOMMU, a host-bridge path is mapped to an IOVA', () => {
    const { m, d } = setup();
    const core = new DmaBufCore(m.p2pdma, m.klog, true);
    const att = core.attach(core.export(d('accel0'), 2 ** 20, 'system-memory'), d('nic0'), dyn(true));
    expect(core.map(att)[0]!.target).toBe('bar-iova');
  });
});

describe('revoke on removal', () => {
  test('removing the exporter calls move_notify in every dynamic importer and unmaps all before returning; the memory returns to the pool', () => {
    const { core, d, m } = setup();
    const before = m.p2pdma.providerOf(d('accel0'))!.pool.avail;
    const buf = core.export(d('accel0'), 4 * 2 ** 20, 'system-memory');
    const moved: string[] = [];
    const atts = [core.attach(buf, d('nic0'), dyn(true, moved)), core.attach(buf, d('nvme0'), dyn(false, moved)), core.attach(buf, d('nvme2'))];
    atts.forEach((a) => core.map(a));
    core.revokeExporter(d('accel0'));
    expect(moved).toEqual(['nic0', 'nvme0']);
    expect(atts.every((a) => a.revoked && a.mapping === undefined)).toBe(true);
    expect(() => core.map(atts[0]!)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(m.p2pdma.providerOf(d('accel0'))!.pool.avail).toBe(before);
  });
});

// kernel: net_devmem_bind_dmabuf(), mp_dmabuf_devmem_init(), net/core/devmem.c
describe('page_pool bindings as devmem.c makes them', () => {
  test('the binding imports statically: an accelerator keeps the buffer in system memory, so the RX queue gets no P2P', () => {
    const { core, d } = setup();
    const b = bindRxQueue(d('nic0'), 0, { kind: 'dmabuf', buf: core.export(d('accel0'), 4 * 2 ** 20, 'system-memory') }, core);
    expect([b.attachment.dynamic, b.attachment.peer2peer, b.target, b.netIovs]).toEqual([false, false, 'system-memory', 1024]);
  });

  test('an exporter of MMIO only (an NVMe CMB) refuses the static import, and the binding fails with its errno', () => {
    const { core, d } = setup();
    expect(() => bindRxQueue(d('nic0'), 0, { kind: 'dmabuf', buf: core.export(d('nvme1'), 2 ** 20, 'refuse') }, core)).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP' }));
  });

  test('device-private memory is not a dma-buf: dma_buf_get() refuses its fd with EINVAL', () => {
    const { core, d } = setup();
    expect(() => bindRxQueue(d('nic0'), 1, { kind: 'other-fd', what: 'a dmirror fd' }, core)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  test('a page_pool of order 1 on a binding is refused with E2BIG', () => {
    expect(() => pagePoolInit(1)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    expect(() => pagePoolInit(0)).not.toThrow();
  });

  test.each([
    // host PAGE_SIZE, exporter page, net_iovs, unused bytes
    [4096, 65536, 1024, 0],
    [65536, 65536, 64, 0],
    [65536, 4096, 0, 4 * 2 ** 20],
  ])('PAGE_SIZE %d over exporter pages of %d: %d net_iovs, %d bytes unused', (page, exporterPage, netIovs, unused) => {
    const { core, d } = setup();
    const b = bindRxQueue(d('nic0'), 0, { kind: 'dmabuf', buf: core.export(d('accel0'), 4 * 2 ** 20, 'system-memory'), exporterPage }, core, page);
    expect([b.netIovs, b.unusedBytes]).toEqual([netIovs, unused]);
  });

  test('MTU 9000 on 4 KiB net_iovs: three per frame; MTU 1500: one, a third full', () => {
    const { core, d } = setup();
    const b = bindRxQueue(d('nic0'), 0, { kind: 'dmabuf', buf: core.export(d('accel0'), 4 * 2 ** 20, 'system-memory') }, core);
    expect(rxFill(b, 9000, 66).netIovsPerFrame).toBe(3);
    expect(rxFill(b, 1500, 66)).toEqual({ netIovsPerFrame: 1, fill: (1500 - 66) / 4096, framesInFlight: 1024 });
  });
});

describe('the alternative flow: the NVMe exports its CMB as a dma-buf (native-notes/dmabuf.md)', () => {
  const flow = () => {
    const m = bootHostModel(parseTopology('flow', FLOW_TOPOLOGY));
    return { m, nvme0: m.pci.find('nvme0')!, nvme1: m.pci.find('nvme1')!, accel: m.pci.find('accel0')! };
  };

  test('under one switch both flows move the bytes once over the bus address; only the dma-buf flow needs no struct pages and no GUP, in CMB-sized rounds', () => {
    const { m, nvme0, accel } = flow();
    const direct = oDirectIntoP2pmem(m, nvme0, accel, 2 ** 30);
    const cmb = cmbDmabufFlow(m, nvme0, accel, 2 ** 30);
    expect([direct.ok, direct.gup, direct.structPages, direct.rounds]).toEqual([true, true, 512 * 2 ** 20, 1]);
    expect([cmb.ok, cmb.gup, cmb.structPages, cmb.rounds]).toEqual([true, false, 0, 4]);
    expect(cmb.path).toContain('through the switch (bus address)');
  });

  test('an NVMe without a CMB has nothing to export; O_DIRECT into p2pmem through the host bridge still works', () => {
    const { m, nvme1, accel } = flow();
    expect(cmbDmabufFlow(m, nvme1, accel, 2 ** 20).steps[0]!.refused).toMatch(/^ENODEV/);
    expect(oDirectIntoP2pmem(m, nvme1, accel, 2 ** 20).path).toContain('through the host bridge');
  });
});
