// The writable attributes of a PCI function (drivers/pci/pci-sysfs.c,
// drivers/base/core.c), each with the kernel's order of checks: capability
// first where the kernel checks it first, then the parse, where any kstrto*
// failure is EINVAL, then the model. native-notes/writable-files.md lists
// every writable file with its grammar and errnos.

import { kernelError, KernelError } from '../../errno.js';
import { KERN_ERR, KERN_INFO, type KernelLog } from '../../model/index.js';
import { devPrefix, enableStore, numaNodeStore, type PciDev, type PciHost } from '../../model/index.js';
import { isPrivileged, type Caller } from '../caller.js';
import type { DirNode } from '../node.js';
import { pathOf, type InodeTable } from '../tree.js';
import { kstrtointOrEinval, kstrtoulOrEinval } from './kstrto.js';
import { ueventText } from './pci-format.js';
import { synthUeventStore } from './synth-uevent.js';

export interface PciStoreContext {
  table: InodeTable;
  host: PciHost;
  klog: KernelLog;
}

function needsSysAdmin(caller: Caller, what: string): void {
  if (!isPrivileged(caller)) throw kernelError('EPERM', `${what} needs CAP_SYS_ADMIN`);
}

// kernel: uevent_store(), drivers/base/core.c: a device also says dev_err()
function ueventStore(ctx: PciStoreContext, dir: DirNode, dev: PciDev, text: string): void {
  try {
    synthUeventStore(ctx.klog, pathOf(dir).replace(/^\/sys/, ''), text);
  } catch (err) {
    if (err instanceof KernelError) ctx.klog.log(KERN_ERR, `${devPrefix(dev)}uevent: failed to send synthetic uevent: -${err.errno}`);
    throw err;
  }
}

// kernel: msi_bus_store(), drivers/pci/pci-sysfs.c [618]
function msiBusStore(ctx: PciStoreContext, dev: PciDev, allowed: boolean): void {
  const what = allowed ? 'allowed' : 'disallowed';
  if (dev.busRange) {
    const bus = `${dev.bdf.slice(0, 4)}:${dev.busRange[0].toString(16).padStart(2, '0')}`;
    ctx.klog.log(KERN_INFO, `pci_bus ${bus}: MSI/MSI-X ${what} for future drivers of devices on this bus`);
  } else ctx.klog.log(KERN_INFO, `${devPrefix(dev)}MSI/MSI-X ${what} for future drivers`);
}

export function addStoreAttrs(ctx: PciStoreContext, dir: DirNode, dev: PciDev): void {
  const t = ctx.table;
  let msiAllowed = true;
  t.text(dir, 'uevent', 0o644, () => ueventText(dev), (text) => ueventStore(ctx, dir, dev, text));
  // kernel: enable_store(), drivers/pci/pci-sysfs.c [618]
  t.text(dir, 'enable', 0o644, () => `${dev.enableCount}\n`, (text, caller) => {
    needsSysAdmin(caller, 'enable');
    enableStore(dev, kstrtoulOrEinval(text) !== 0);
  });
  t.text(dir, 'numa_node', 0o644, () => `${dev.numaNode}\n`, (text, caller) => {
    needsSysAdmin(caller, 'numa_node');
    numaNodeStore(dev, kstrtointOrEinval(text), ctx.host.spec.numa.map((n) => n.node), ctx.klog);
  });
  t.text(dir, 'd3cold_allowed', 0o644, () => `${dev.d3coldAllowed ? 1 : 0}\n`, (text) => {
    dev.d3coldAllowed = kstrtoulOrEinval(text) !== 0;
  });
  t.text(dir, 'broken_parity_status', 0o644, () => `${dev.brokenParity ? 1 : 0}\n`, (text) => {
    dev.brokenParity = kstrtoulOrEinval(text) !== 0;
  });
  t.text(dir, 'msi_bus', 0o644, () => `${msiAllowed ? 1 : 0}\n`, (text, caller) => {
    needsSysAdmin(caller, 'msi_bus');
    msiAllowed = kstrtoulOrEinval(text) !== 0;
    msiBusStore(ctx, dev, msiAllowed);
  });
}
