// The kernel model of one host, booted: PCI enumeration, then driver probe
// (which registers P2P memory), with the P2PDMA subsystem and driver core.

import type { TopologySpec } from '../config/index.js';
import { KernelError } from '../errno.js';
import { DriverCore } from './drivers/index.js';
import { KernelLog } from './klog.js';
import { P2pdmaSubsystem } from './p2pdma/index.js';
import { enumerate, type PciHost } from './pci/index.js';

export interface HostModel {
  klog: KernelLog;
  pci: PciHost;
  p2pdma: P2pdmaSubsystem;
  drivers: DriverCore;
}

export function bootHostModel(spec: TopologySpec, klog = new KernelLog()): HostModel {
  const pci = enumerate(spec, klog);
  const p2pdma = new P2pdmaSubsystem(pci, klog);
  const drivers = new DriverCore(pci, p2pdma, klog);
  drivers.probeAll();
  return { klog, pci, p2pdma, drivers };
}

/**
 * A separate model of the machine `live` is now: booted from the same
 * topology, then brought to the live state — functions removed since are
 * removed, config space (ACS, the command register) copied byte for byte,
 * drivers bound or unbound as they are live. What-if reports run on it (they
 * export buffers, compute and cache map types, log) without touching the live
 * machine. Functions the live machine gained that the topology lacks are not there.
 */
export async function mirrorHostModel(live: HostModel): Promise<HostModel> {
  const m = bootHostModel(structuredClone(live.pci.spec));
  for (const dev of m.pci.sorted().reverse()) {
    if (m.pci.find(dev.bdf) && !live.pci.find(dev.bdf)) await m.drivers.remove(dev);
  }
  for (const dev of m.pci.sorted()) {
    const twin = live.pci.find(dev.bdf)!;
    if (dev.driver && dev.driver !== twin.driver) await m.drivers.unbind(dev);
    dev.driverOverride = twin.driverOverride;
    if (twin.driver && !dev.driver) {
      try {
        m.drivers.bind(dev, twin.driver);
      } catch (err) {
        // bound live through an ID the topology's drivers do not list (new_id): left unbound here
        if (!(err instanceof KernelError)) throw err;
      }
    }
    twin.config.copy(dev.config);
    dev.acsCtrl = twin.acsCtrl;
  }
  return m;
}
