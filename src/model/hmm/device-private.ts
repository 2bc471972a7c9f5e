// Device-private memory (MEMORY_DEVICE_PRIVATE, kernel-facts §6.2): a pgmap of
// struct pages with no CPU mapping, owned by a device, reached by the CPU only
// through migrate_to_ram(). Fake PFNs: they name struct pages, not addresses a
// DMA engine can use.

import { kernelError } from '../../errno.js';
import { DevPagemap, MemoryType } from '../mm/pgmap.js';
import type { PciDev } from '../pci/index.js';

/** PFNs of device-private pages start here: above any physical address the host has (a fake range). */
const PRIVATE_PFN_BASE = 2 ** 40;
let nextBase = PRIVATE_PFN_BASE;

export class DevicePrivateMemory {
  readonly pgmap: DevPagemap;
  readonly pfnBase: number;
  private used = 0;

  constructor(
    /** the pgmap owner: the device whose driver created it (dev_pagemap.owner) */
    readonly owner: PciDev,
    readonly id: number,
    readonly pages: number,
  ) {
    this.pfnBase = nextBase;
    nextBase += pages;
    this.pgmap = new DevPagemap(MemoryType.MEMORY_DEVICE_PRIVATE, this.pfnBase * 4096, pages * 4096, -1, 0);
  }

  get free(): number {
    return this.pages - this.used;
  }

  take(n: number): void {
    if (n > this.free) throw kernelError('ENOMEM', `${this.owner.bdf}: no device-private memory left`);
    this.used += n;
    this.pgmap.refs += n;
  }

  give(n: number): void {
    this.used -= n;
    this.pgmap.refs -= n;
  }
}
