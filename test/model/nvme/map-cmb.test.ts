// kernel: nvme_map_cmb(), nvme_cmb_qdepth(), nvme_alloc_sq_cmds(), drivers/nvme/host/pci.c
import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { cmbSize, cmbSizeUnit, encodeCmb } from '../../../src/model/nvme/index.js';

function boot(cmb: string, extra = '') {
  const yaml = `host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children:\n          - { kind: nvme, name: n, cmb: ${cmb}${extra} }\n`;
  const m = bootHostModel(parseTopology('t', yaml));
  const dev = m.pci.find('n')!;
  return { m, ctrl: m.drivers.nvme.ctrls.get(dev)!, provider: m.p2pdma.providerOf(dev) };
}

describe('CMBSZ/CMBLOC encoding', () => {
  test('64 MiB in BAR 2: size unit and SZ decode back to the size', () => {
    const { cmbsz, cmbloc } = encodeCmb(64 * 2 ** 20, 0, 2, ['SQS', 'RDS', 'WDS']);
    expect(cmbSizeUnit(cmbsz) * cmbSize(cmbsz)).toBe(64 * 2 ** 20);
    expect(cmbsz & 0x1f).toBe(0x19);
    expect(cmbloc & 7).toBe(2);
  });

  test('the kernel-facts example 0x00100219 is 256 MiB in 1 MiB units', () => {
    expect(cmbSizeUnit(0x00100219) * cmbSize(0x00100219)).toBe(256 * 2 ** 20);
  });
});

describe('nvme_map_cmb', () => {
  test('an aligned CMB with RDS and WDS is registered, published, and holds the I/O SQs', () => {
    const { ctrl, provider } = boot('{ size: 64MiB, bar: 2 }', ', io_queues: 4');
    expect(provider!.pool.size).toBe(64 * 2 ** 20);
    expect(provider!.published).toBe(true);
    expect(provider!.pool.avail).toBe(64 * 2 ** 20 - 4 * 64 * 1024);
    expect(ctrl.sqAllocations).toHaveLength(4);
  });

  test('without RDS and WDS the CMB is P2P memory but not published', () => {
    const { provider } = boot('{ size: 64MiB, bar: 2, flags: [SQS] }');
    expect(provider!.pool.size).toBe(64 * 2 ** 20);
    expect(provider!.published).toBe(false);
  });

  test('a CMB that is not a multiple of 2 MiB is skipped silently (no p2pmem)', () => {
    const { m, provider } = boot('{ size: 512KiB, bar: 2 }');
    expect(provider).toBeUndefined();
    expect(m.klog.grep('failed to register the CMB')).toEqual([]);
  });

  test('use_cmb_sqes off: the whole CMB stays available', () => {
    const { provider } = boot('{ size: 8MiB, bar: 2 }', ', use_cmb_sqes: false');
    expect(provider!.pool.avail).toBe(8 * 2 ** 20);
  });

  test('queues that do not fit the CMB get a smaller queue depth (nvme_cmb_qdepth)', () => {
    const shrunk = boot('{ size: 2MiB, bar: 2 }', ', io_queues: 64');
    // 2 MiB / 64 queues = 32 KiB per queue = 512 entries
    expect(shrunk.ctrl.queueDepth).toBe(512);
    expect(shrunk.ctrl.sqAllocations).toHaveLength(64);
    const more = boot('{ size: 2MiB, bar: 2 }', ', io_queues: 128, queue_depth: 1024');
    // 16 KiB per queue = 256 entries
    expect(more.ctrl.queueDepth).toBe(256);
    expect(more.provider!.pool.avail).toBe(0);
  });
});
