// A PF's SR-IOV attributes (sriov_dev_attr_group, drivers/pci/iov.c: shown
// only for a PF) and the links between a PF and its VFs (virtfnN in the PF,
// physfn in the VF), created and removed with the VFs.

import { kernelError } from '../../errno.js';
import type { DriverCore } from '../../model/index.js';
import type { PciDev } from '../../model/index.js';
import type { DirNode, VNode } from '../node.js';
import { pathOf, relativeTarget, type InodeTable } from '../tree.js';
import type { Vfs } from '../vfs.js';
import { kstrtobool, kstrtou16 } from './kstrto.js';

// kernel: sriov_totalvfs_show(), sriov_numvfs_show()/_store(), sriov_offset_show(), sriov_stride_show(),
// sriov_vf_device_show(), sriov_drivers_autoprobe_show()/_store(), drivers/pci/iov.c
export function addSriovFiles(t: InodeTable, dir: DirNode, pf: PciDev, drivers: DriverCore): void {
  const iov = pf.sriov!;
  t.text(dir, 'sriov_totalvfs', 0o444, () => `${iov.driverMaxVFs}\n`);
  // the store checks no capability: the 0644 mode keeps other users out at open()
  t.text(dir, 'sriov_numvfs', 0o644, () => `${iov.numVFs}\n`, async (text) => {
    let n: number;
    try {
      n = kstrtou16(text);
    } catch {
      // any kstrtou16() failure, too large included, is -EINVAL here
      throw kernelError('EINVAL', `sriov_numvfs takes a number of VFs, not ${JSON.stringify(text.slice(0, 32))}`);
    }
    await drivers.sriovNumvfs(pf, n);
  });
  t.text(dir, 'sriov_offset', 0o444, () => `${iov.offset}\n`);
  t.text(dir, 'sriov_stride', 0o444, () => `${iov.stride}\n`);
  t.text(dir, 'sriov_vf_device', 0o444, () => `${iov.vfDevice.toString(16)}\n`);
  t.text(dir, 'sriov_drivers_autoprobe', 0o644, () => `${iov.driversAutoprobe ? 1 : 0}\n`, (text) => {
    iov.driversAutoprobe = kstrtobool(text);
  });
}

// kernel: pci_iov_sysfs_link(), drivers/pci/iov.c: virtfn%u in the PF, physfn in the VF
export function linkVirtfn(t: InodeTable, vfs: Vfs | undefined, pfDir: DirNode, vfDir: DirNode, vf: PciDev): void {
  const name = `virtfn${vf.vfIndex}`;
  t.symlink(pfDir, name, relativeTarget(pathOf(pfDir), pathOf(vfDir)));
  t.symlink(vfDir, 'physfn', relativeTarget(pathOf(vfDir), pathOf(pfDir)));
  vfs?.added(pfDir, name);
  vfs?.added(vfDir, 'physfn');
}

// kernel: pci_iov_remove_virtfn(): the PF's virtfn%u goes with the VF
export function unlinkVirtfn(pfDir: DirNode | undefined, vf: PciDev, remove: (n: VNode) => void): void {
  const link = pfDir?.children.get(`virtfn${vf.vfIndex}`);
  if (link) remove(link);
}
