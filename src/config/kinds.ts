// What each endpoint kind looks like when the topology file says nothing more:
// IDs of a real part of that kind, its class code, BARs, link and driver.

import type { BarSpec, EndpointKind, LinkSpec, PciIds } from './spec.js';

export interface KindDefaults extends PciIds {
  /** positions come from the endpoint that takes these defaults */
  bars: Omit<BarSpec, 'at'>[];
  link: LinkSpec;
  /** 'none': no driver binds */
  driver: string;
  /** BAR that holds P2P memory by default (accelerator, p2pmem) */
  p2pmemBar?: number;
}

const bar = (index: number, size: number, is64: boolean, prefetch: boolean): Omit<BarSpec, 'at'> => ({ index, size, is64, prefetch });

export const KIND_DEFAULTS = {
  // Samsung PM173x-class NVMe SSD: BAR0 holds the controller registers.
  nvme: {
    vendor: 0x144d,
    device: 0xa824,
    subsystemVendor: 0x144d,
    subsystemDevice: 0xa801,
    revision: 0,
    classCode: 0x010802,
    bars: [bar(0, 16 * 1024, true, false)],
    link: { speed: 16, width: 4 },
    driver: 'nvme',
  },
  // A data-centre GPU-like accelerator: registers, one large aperture, a small one.
  accelerator: {
    vendor: 0x10de,
    device: 0x2330,
    subsystemVendor: 0x10de,
    subsystemDevice: 0x16c1,
    revision: 0xa1,
    classCode: 0x030200,
    bars: [bar(0, 16 * 2 ** 20, false, false), bar(1, 32 * 2 ** 30, true, true), bar(3, 32 * 2 ** 20, true, true)],
    link: { speed: 32, width: 16 },
    driver: 'p2pemu_accel',
    p2pmemBar: 1,
  },
  // Mellanox ConnectX-6 Dx.
  nic: {
    vendor: 0x15b3,
    device: 0x101d,
    subsystemVendor: 0x15b3,
    subsystemDevice: 0x0016,
    revision: 0,
    classCode: 0x020000,
    bars: [bar(0, 32 * 2 ** 20, true, true)],
    link: { speed: 16, width: 16 },
    driver: 'mlx5_core',
  },
  // A generic P2P memory card (Eideticom NoLoad-style) bound to p2pmem_pci.
  p2pmem: {
    vendor: 0x1de5,
    device: 0x1000,
    subsystemVendor: 0x1de5,
    subsystemDevice: 0x1000,
    revision: 0,
    classCode: 0x058000,
    bars: [bar(0, 16 * 1024, true, false), bar(4, 256 * 2 ** 20, true, true)],
    link: { speed: 8, width: 8 },
    driver: 'p2pmem_pci',
    p2pmemBar: 4,
  },
} as Record<EndpointKind, KindDefaults>;

/**
 * A generic function described by keys: the QEMU PCI test device's IDs
 * (1b36:0005, Red Hat's ID space for emulated devices), class "unassigned",
 * no BARs and no driver. Set `class` (and IDs) to say what it is.
 */
KIND_DEFAULTS.function = {
  vendor: 0x1b36,
  device: 0x0005,
  subsystemVendor: 0x1af4,
  subsystemDevice: 0x1100,
  revision: 0,
  classCode: 0xff0000,
  bars: [],
  link: { speed: 8, width: 4 },
  driver: 'none',
};

export const PORT_DEFAULTS = {
  rootPort: { vendor: 0x8086, device: 0x34b0, link: { speed: 16, width: 16 } },
  // Broadcom/PLX PEX 88096-class switch: the same IDs on upstream and downstream ports.
  switchPort: { vendor: 0x1000, device: 0xc010, link: { speed: 16, width: 16 } },
};
