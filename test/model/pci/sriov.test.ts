// kernel: sriov_numvfs_store(), pci_sriov_configure_simple(), sriov_enable(), sriov_disable(), drivers/pci/iov.c
import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { bootHostModel } from '../../../src/model/host-model.js';
import { PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF } from '../../../src/model/pci/regs.js';

const topo = (driver: string, extra = '') => `cpu: { vendor: GenuineIntel, family: 6 }
host_bridges:
  - vendor: 0x8086
    device: 0x2020
    children:
      - kind: root_port
        slot: "01.0"
        children:
          - { kind: nic, name: pf, driver: ${driver}, sriov: { total_vfs: 4, vf_device: 0x101e, offset: 8, stride: 2, vf_bars: [{ index: 0, size: 64KiB }]${extra} } }
`;

function boot(driver = 'mlx5_core', extra = '') {
  const m = bootHostModel(parseTopology('t', topo(driver, extra)));
  const pf = m.pci.find('pf')!;
  const vfNames = () => m.pci.sorted().filter((d) => d.physfn === pf).map((d) => d.bdf);
  const numVfsReg = () => pf.config.readUInt16LE(pf.sriov!.pos + PCI_SRIOV_NUM_VF);
  const vfe = () => (pf.config.readUInt16LE(pf.sriov!.pos + 8) & PCI_SRIOV_CTRL_VFE) !== 0;
  return { m, pf, vfNames, numVfsReg, vfe };
}

describe('sriov_numvfs writes', () => {
  test('N creates N VFs at offset + stride·i; 0 removes them and clears NumVFs and VF Enable', async () => {
    const { m, pf, vfNames, numVfsReg, vfe } = boot();
    await m.drivers.sriovNumvfs(pf, 3);
    expect(vfNames()).toEqual(['0000:01:01.0', '0000:01:01.2', '0000:01:01.4']);
    expect([numVfsReg(), vfe()]).toEqual([3, true]);
    const vf = m.pci.find('0000:01:01.2')!;
    // IDs from the PF's vendor and the capability's VF Device ID; BAR = slice 1 of the VF BAR region
    expect([vf.ids.vendor, vf.ids.device, vf.physfn, vf.vfIndex]).toEqual([pf.ids.vendor, 0x101e, pf, 1]);
    expect(vf.bars[0]!.size).toBe(64 * 1024);
    await m.drivers.sriovNumvfs(pf, 0);
    expect([vfNames(), numVfsReg(), vfe()]).toEqual([[], 0, false]);
  });

  test('a different non-zero count while VFs are enabled: EBUSY and the kernel warning', async () => {
    const { m, pf, vfNames } = boot();
    await m.drivers.sriovNumvfs(pf, 2);
    await expect(m.drivers.sriovNumvfs(pf, 3)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(m.klog.grep('2 VFs already enabled. Disable before enabling 3 VFs')).toHaveLength(1);
    expect(vfNames()).toHaveLength(2);
    await m.drivers.sriovNumvfs(pf, 2); // the same count: nothing happens
    await m.drivers.sriovNumvfs(pf, 0);
    await m.drivers.sriovNumvfs(pf, 3);
    expect(vfNames()).toHaveLength(3);
  });

  test('more than sriov_totalvfs: ERANGE before anything else', async () => {
    const { m, pf } = boot('none');
    await expect(m.drivers.sriovNumvfs(pf, 5)).rejects.toMatchObject({ code: 'ERANGE' });
  });

  test('no driver, or a driver without sriov_configure: ENOENT and the kernel’s two messages', async () => {
    const a = boot('none');
    await expect(a.m.drivers.sriovNumvfs(a.pf, 1)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(a.m.klog.grep('no driver bound to device; cannot configure SR-IOV')).toHaveLength(1);
    const b = boot('e1000e');
    await expect(b.m.drivers.sriovNumvfs(b.pf, 1)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(b.m.klog.grep('driver does not support SR-IOV configuration via sysfs')).toHaveLength(1);
  });

  test('num_vfs in the topology enables VFs at boot', async () => {
    const { pf, vfNames } = boot('mlx5_core', ', num_vfs: 2');
    expect(vfNames()).toHaveLength(2);
    expect(pf.sriov!.numVFs).toBe(2);
  });
});
