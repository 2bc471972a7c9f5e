// struct dev_pagemap: a ZONE_DEVICE range with its reference count. The
// percpu_ref is a plain counter: one reference per page mapped by userspace,
// one per in-kernel allocation (kernel-facts §1.4).

export const MemoryType = {
  MEMORY_DEVICE_PRIVATE: 1,
  MEMORY_DEVICE_COHERENT: 2,
  MEMORY_DEVICE_FS_DAX: 3,
  MEMORY_DEVICE_GENERIC: 4,
  MEMORY_DEVICE_PCI_P2PDMA: 5,
} as const;
export type MemoryType = (typeof MemoryType)[keyof typeof MemoryType];

export class DevPagemap {
  refs = 0;
  /** compound pages of 2^vmemmapShift base pages (0: plain pages, mainline P2PDMA) */
  vmemmapShift = 0;
  dying = false;
  private drained: (() => void)[] = [];

  constructor(
    readonly type: MemoryType,
    /** CPU physical range */
    readonly start: number,
    readonly size: number,
    /** BAR and offset in the BAR the range starts at */
    readonly bar: number,
    readonly barOffset: number,
  ) {}

  // kernel: percpu_ref_tryget_live_rcu()
  tryGetLive(n = 1): boolean {
    if (this.dying) return false;
    this.refs += n;
    return true;
  }

  put(n = 1): void {
    this.refs -= n;
    if (this.refs < 0) throw new Error('pgmap reference count went negative');
    if (this.refs === 0 && this.dying) for (const cb of this.drained.splice(0)) cb();
  }

  // kernel: memunmap_pages(): kill the ref, then wait until it drains
  kill(): Promise<void> {
    this.dying = true;
    if (this.refs === 0) return Promise.resolve();
    return new Promise((res) => this.drained.push(res));
  }
}
