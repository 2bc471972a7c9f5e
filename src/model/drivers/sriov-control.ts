// sriov_numvfs and the VF lifecycle through the driver core: a write goes to
// the PF driver's sriov_configure (here pci_sriov_configure_simple for every
// driver that has one), VFs join the host and bind as the VF driver's ID table
// and sriov_drivers_autoprobe allow, and leave through the removal path.

import { kernelError } from '../../errno.js';
import { KERN_INFO, KERN_WARNING, type KernelLog } from '../klog.js';
import {
  createVirtfn,
  devPrefix,
  sriovConfigureSimple,
  sriovEnable,
  type PciDev,
  type PciHost,
  type SriovHooks,
} from '../pci/index.js';

/**
 * PF drivers with an sriov_configure callback. nvme and ena use
 * pci_sriov_configure_simple (read in their pci_driver tables); the others
 * have their own callback [K, unverified]; a recorded PF bound to any other
 * driver refuses sriov_numvfs with ENOENT. See native-notes/replay.md.
 */
export const SRIOV_CONFIGURE_DRIVERS: ReadonlySet<string> = new Set([
  'nvme', 'ena', 'pci-pf-stub', 'mlx5_core', 'ixgbe', 'i40e', 'ice', 'igb', 'bnxt_en', 'qede', 'nfp', 'cxgb4', 'be2net', 'sfc', 'virtio-pci', 'hinic', 'idpf',
]);

export interface VfLifecycle {
  host: PciHost;
  klog: KernelLog;
  /** whether a VF may bind now (bus drivers_autoprobe and the PF's sriov_drivers_autoprobe) and to what */
  bindVf(vf: PciDev): void;
  /** the removal path of the driver core (unbind, forget, tell the tree) */
  remove(dev: PciDev): Promise<void>;
  /** a function joined the host (the tree adds its directory and links) */
  added(dev: PciDev): void;
  /** the next free IOMMU group, for a VF that has none recorded */
  nextIommuGroup(): number | undefined;
}

/** The end of the bus range a PF's bus may use: the bridge above's subordinate, or the root bus resource. */
function busnEnd(pf: PciDev): number {
  return pf.upstream?.busRange?.[1] ?? pf.hostBridge.busnEnd;
}

export function sriovHooks(l: VfLifecycle): SriovHooks {
  return {
    klog: l.klog,
    busnEnd,
    create: (pf, id) => {
      const vf = createVirtfn(pf, id);
      if (l.host.find(vf.bdf)) throw kernelError('EBUSY', `${vf.bdf} is already taken by another function`);
      vf.iommuGroup = vf.endpoint?.iommuGroup ?? l.nextIommuGroup();
      return vf;
    },
    add: (vf) => {
      l.host.add(vf);
      l.added(vf);
      l.bindVf(vf);
    },
    remove: (vf) => l.remove(vf),
  };
}

const siblingAt = (host: PciHost, pf: PciDev) => (devfn: number) => host.devices.find((d) => d.hostBridge === pf.hostBridge && d.bus === pf.bus && d.devfn === devfn);

// kernel: sriov_numvfs_store(), drivers/pci/iov.c
export async function sriovNumvfsStore(l: VfLifecycle, pf: PciDev, n: number): Promise<void> {
  const iov = pf.sriov!;
  if (n > iov.driverMaxVFs) throw kernelError('ERANGE', `${n} is more than sriov_totalvfs (${iov.driverMaxVFs})`);
  if (n === iov.numVFs) return;
  if (!pf.driver) {
    l.klog.log(KERN_INFO, `${devPrefix(pf)}no driver bound to device; cannot configure SR-IOV`);
    throw kernelError('ENOENT', `no driver is bound to ${pf.bdf}`);
  }
  if (!SRIOV_CONFIGURE_DRIVERS.has(pf.driver)) {
    l.klog.log(KERN_INFO, `${devPrefix(pf)}driver does not support SR-IOV configuration via sysfs`);
    throw kernelError('ENOENT', `${pf.driver} has no sriov_configure`);
  }
  if (n !== 0 && iov.numVFs) {
    l.klog.log(KERN_WARNING, `${devPrefix(pf)}${iov.numVFs} VFs already enabled. Disable before enabling ${n} VFs`);
    throw kernelError('EBUSY', `${iov.numVFs} VFs are enabled; write 0 first`);
  }
  await sriovConfigureSimple(pf, n, sriovHooks(l), siblingAt(l.host, pf));
}

/** Boot of a recorded host: the VFs that were enabled when it was recorded come back, whatever the PF driver. */
export function enableRecordedVfs(l: VfLifecycle): void {
  for (const pf of l.host.sorted()) {
    const n = pf.endpoint?.sriov?.numVfs ?? 0;
    if (!pf.sriov || n === 0) continue;
    try {
      sriovEnable(pf, n, sriovHooks(l), siblingAt(l.host, pf));
    } catch (err) {
      l.klog.log(KERN_WARNING, `${devPrefix(pf)}cannot enable ${n} VFs: ${(err as Error).message}`);
    }
  }
}

// kernel: pci_iov_remove(), drivers/pci/iov.c: after the PF driver's remove
export function pfDriverRemoved(pf: PciDev, klog: KernelLog): void {
  if (!pf.sriov) return;
  pf.sriov.driverMaxVFs = pf.sriov.totalVFs;
  if (pf.sriov.numVFs) klog.log(KERN_WARNING, `${devPrefix(pf)}driver left SR-IOV enabled after remove`);
}
