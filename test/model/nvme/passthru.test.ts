import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../../src/config/default-topology.js';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { adminCommand, timeoutAndReset, type PassthruCmd } from '../../../src/model/nvme/index.js';
import { irqShow, PCI_COMMAND } from '../../../src/model/pci/index.js';
import { parseNewId } from '../../../src/model/drivers/dynamic-ids.js';
import { relativeTarget } from '../../../src/vfs/tree.js';

const model = bootHostModel(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
const nvme0 = model.drivers.nvme.byName('nvme0')!;
const io = { readCmds: 0, writeCmds: 0, bytesRead: 0, bytesWritten: 0 };
const cmd = (c: Partial<PassthruCmd>): PassthruCmd => ({ opcode: 0, nsid: 0, cdw10: 0, cdw11: 0, cdw12: 0, cdw13: 0, dataLen: 4096, ...c });

describe('admin commands', () => {
  test('Identify Controller carries the space-padded serial, model and firmware, and the SUBNQN', () => {
    const r = adminCommand(nvme0, cmd({ opcode: 0x06, cdw10: 1 }), io, 0);
    expect(r.status).toBe(0);
    expect(r.data!.toString('latin1', 24, 64)).toBe('SAMSUNG MZWLJ1T9HBJR-00007'.padEnd(40));
    expect(r.data!.toString('latin1', 768, 768 + 28)).toBe('nqn.2014-08.dev.p2pemu:nvme:');
  });

  test('Get Log Page returns NUMD dwords; an unknown log page is 0x4109, an unknown opcode 0x4001', () => {
    expect(adminCommand(nvme0, cmd({ opcode: 0x02, cdw10: 0x02 | (127 << 16) }), io, 0).data).toHaveLength(512);
    expect(adminCommand(nvme0, cmd({ opcode: 0x02, cdw10: 0x42 }), io, 0).status).toBe(0x4109);
    expect(adminCommand(nvme0, cmd({ opcode: 0x99 }), io, 0).status).toBe(0x4001);
  });
});

describe('the command register', () => {
  test('with Bus Master cleared the driver times out and resets, setting Memory Space and Bus Master again', () => {
    const c = nvme0.dev.config;
    c.writeUInt16LE(c.readUInt16LE(PCI_COMMAND) & ~0x4, PCI_COMMAND);
    expect(timeoutAndReset(nvme0, model.klog, { opcode: 2, qid: 1, write: false, bytes: 4096, passthru: false })).toBe(true);
    expect(c.readUInt16LE(PCI_COMMAND) & 0x6).toBe(0x6);
    expect(model.klog.all().some((r) => r.text.includes('QID 1 timeout, reset controller'))).toBe(true);
    expect(timeoutAndReset(nvme0, model.klog, { opcode: 2, qid: 1, write: false, bytes: 4096, passthru: false })).toBe(false);
  });
});

describe('sysfs helpers', () => {
  test('irq: 0 for the host bridge (no pin), the MSI vector for a port, the INTx line for an MSI-X NVMe', () => {
    expect(irqShow(model.pci.find('hb0')!)).toBe(0);
    expect(irqShow(model.pci.find('sw0p0')!)).toBeGreaterThanOrEqual(24);
    expect(irqShow(nvme0.dev)).toBeLessThan(24);
  });

  test('links to an ancestor end in its name, as kernfs_get_target_path builds them', () => {
    expect(relativeTarget('/sys/devices/a/b/nvme/nvme0', '/sys/devices/a/b')).toBe('../../../b');
    expect(relativeTarget('/sys/bus/pci/devices', '/sys/devices/pci0000:00/0000:00:01.0')).toBe('../../../devices/pci0000:00/0000:00:01.0');
  });

  test('new_id takes two to seven hex fields', () => {
    expect(parseNewId('15b3 101d\n')).toMatchObject({ vendor: 0x15b3, device: 0x101d, subvendor: 0xffffffff });
    expect(() => parseNewId('15b3')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
