import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../../src/config/default-topology.js';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { KernelLog } from '../../../src/model/klog.js';
import { enumerate, readAcsCtrl, PCI_ACS_RR, PCI_ACS_CR, PCI_ACS_SV } from '../../../src/model/pci/index.js';

const host = enumerate(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
const dev = (name: string) => host.find(name)!;

describe('enumeration of the default topology', () => {
  test('bus numbers follow depth-first order under each root port', () => {
    expect(dev('rp0').busRange).toEqual([1, 5]);
    expect(dev('sw0').busRange).toEqual([2, 5]);
    expect(['sw0p0', 'sw0p1', 'sw0p2'].map((n) => dev(n).busRange)).toEqual([[3, 3], [4, 4], [5, 5]]);
    expect(dev('rp1').busRange).toEqual([6, 6]);
    expect(dev('nvme2').bdf).toBe('0000:06:00.0');
    expect(dev('accel0').bdf).toBe('0000:81:00.0');
  });

  test('the upstream walk goes endpoint → downstream port → upstream port → root port → root bus', () => {
    const chain: string[] = [];
    for (let d = dev('nvme0'); d; d = d.upstream!) {
      chain.push(d.name);
      if (!d.upstream) break;
    }
    expect(chain).toEqual(['nvme0', 'sw0p0', 'sw0', 'rp0']);
  });

  test('config space carries the bridge bus numbers and the ACS control bits', () => {
    const p = dev('sw0p2');
    expect([p.config[0x18], p.config[0x19], p.config[0x1a]]).toEqual([2, 5, 5]);
    expect(readAcsCtrl(p)).toBe(p.acsCtrl);
    expect(readAcsCtrl(p)! & (PCI_ACS_RR | PCI_ACS_CR)).toBe(PCI_ACS_RR | PCI_ACS_CR);
    expect(readAcsCtrl(dev('sw0p0'))).toBe(PCI_ACS_SV);
    // an upstream port without ACS bits has no ACS capability at all
    expect(readAcsCtrl(dev('sw0'))).toBeUndefined();
    expect(dev('sw0').config.readUInt32LE(0x100)).toBe(0);
  });

  test('BARs are naturally aligned; large prefetchable ones sit above 4 GiB inside the bridge window', () => {
    const accel = dev('accel0');
    const big = accel.bars.find((b) => b.index === 1)!;
    expect(big.size).toBe(32 * 2 ** 30);
    expect(big.start % big.size).toBe(0);
    expect(big.start).toBeGreaterThan(2 ** 32);
    const win = dev('rp2').prefWindow!;
    expect(big.start).toBeGreaterThanOrEqual(win.start);
    expect(big.start + big.size).toBeLessThanOrEqual(win.start + win.size);
    // the 64-bit BAR's upper dword is in the next BAR register
    expect(accel.config.readUInt32LE(0x14) & 0xf).toBe(0xc);
    const low = accel.config.readUInt32LE(0x14) - 0xc;
    expect(accel.config.readUInt32LE(0x18) * 2 ** 32 + low).toBe(big.start);
  });

  test('host bridges are matched on the device at 00.0 of their root bus', () => {
    expect(host.hostBridges.map((hb) => hb.whitelistDevice()?.bdf)).toEqual(['0000:00:00.0', '0000:80:00.0']);
  });

  test('the boot log names every function with its IDs, class and port type', () => {
    const klog = new KernelLog();
    enumerate(parseTopology('default', DEFAULT_TOPOLOGY_YAML), klog);
    expect(klog.grep('pci 0000:02:02.0: [1000:c010] type 01 class 0x060400 PCIe Switch Downstream Port')).toHaveLength(1);
    expect(klog.grep('pci 0000:03:00.0: BAR 2 [mem 0x40000000000-0x40003ffffff 64bit pref]')).toHaveLength(1);
  });

  test('with iommu on, functions behind ports without full ACS share a group', () => {
    const yaml = `iommu: true
host_bridges:
  - children:
      - kind: root_port
        slot: "01.0"
        acs: []
        children:
          - kind: switch
            ports:
              - { slot: "00.0", acs: [SV, RR, CR, UF], children: [{ kind: nic }] }
              - { slot: "01.0", acs: [SV, RR, CR, UF], children: [{ kind: nvme }] }
      - kind: root_port
        slot: "02.0"
        acs: [SV, RR, CR, UF]
        children: [{ kind: nvme, name: lone }]
`;
    const h = enumerate(parseTopology('t', yaml));
    const g = (n: string) => h.find(n)!.iommuGroup;
    expect(g('nic0')).toBe(g('nvme0'));
    expect(g('nic0')).toBe(g('rp0'));
    expect(g('lone')).not.toBe(g('nic0'));
  });
});
