// A PCI host bridge: one root bus in one domain, the device the P2PDMA
// whitelist is matched against, and the MMIO apertures it forwards.

import type { PciDev } from './pci-dev.js';

export class PciHostBridge {
  readonly rootBusDevices: PciDev[] = [];
  /** the last bus enumeration reached below this host bridge */
  busEnd = 0;
  /** the end of the root bus resource (busn_res): up to the next host bridge's root bus in the domain, else ff */
  busnEnd = 0xff;
  mem32: { start: number; end: number } = { start: 0, end: 0 };
  mem64: { start: number; end: number } = { start: 0, end: 0 };

  constructor(
    readonly name: string,
    readonly index: number,
    readonly domain: number,
    readonly bus: number,
    /** the IDs the file gives, or those of the root bus's first function when it says function: none */
    public vendor: number,
    public device: number,
    readonly numaNode: number,
  ) {}

  /** "pci0000:00", the directory name under /sys/devices */
  get dirName(): string {
    return `pci${this.domain.toString(16).padStart(4, '0')}:${this.bus.toString(16).padStart(2, '0')}`;
  }

  // kernel: pci_host_bridge_dev(), drivers/pci/p2pdma.c [PCI-NEXT]
  /** The first device on the root bus, if it is at 00.0 or is a root port: what the whitelist is matched on. */
  whitelistDevice(): PciDev | undefined {
    const first = this.rootBusDevices[0];
    if (!first) return undefined;
    if (first.devfn === 0 || first.role === 'root_port') return first;
    return undefined;
  }
}
