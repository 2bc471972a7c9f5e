// Driver probe of the P2P memory providers that register at boot: the
// accelerator driver and p2pmem_pci (an out-of-tree driver in real life) both
// register the BAR range of the topology's `p2pmem` entry and publish it.
// NVMe registers its CMB through nvme_map_cmb (model/nvme).

import { KERN_WARNING, type KernelLog } from '../klog.js';
import { devPrefix } from '../pci/index.js';
import type { P2pdmaSubsystem } from '../p2pdma/index.js';

import type { PciDev } from '../pci/index.js';

/** A driver's probe, for the parts the model cares about: registering P2P memory. */
export function probeDevice(dev: PciDev, p2pdma: P2pdmaSubsystem, klog: KernelLog): void {
  const spec = dev.endpoint?.p2pmem;
  if (!spec || !dev.driver || dev.role === 'nvme') return;
  try {
    p2pdma.addResource(dev, spec.bar, spec.size, spec.offset, spec.folios);
    p2pdma.publish(dev, true);
  } catch (err) {
    klog.log(KERN_WARNING, `${devPrefix(dev)}failed to register P2P memory: ${(err as Error).message}`);
  }
}
