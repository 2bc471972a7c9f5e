// The kernel model of one host, booted: PCI enumeration, then driver probe
// (which registers P2P memory), with the P2PDMA subsystem and driver core.

import type { TopologySpec } from '../config/spec.js';
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
