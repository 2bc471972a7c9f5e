// A process address range as HMM sees it: one state per 4 KiB page (test-sized
// ranges, like the hmm selftests' buffers), the protection of its VMA, and who
// owns device-private pages.

export const PAGE = 4096;

export const PageState = {
  /** no page table entry */
  NONE: 0,
  /** a present system RAM page */
  RAM: 1,
  /** the shared zero page (read fault on untouched anonymous memory) */
  ZERO: 2,
  /** a device-private swap entry (the data lives in a device's private memory) */
  DEVICE_PRIVATE: 3,
  /** a special PFN of a VM_PFNMAP mapping */
  SPECIAL: 4,
} as const;
export type PageState = (typeof PageState)[keyof typeof PageState];

export type Prot = 'none' | 'read' | 'write';

const PROT_CODE: Record<Prot, number> = { none: 0, read: 1, write: 2 };
const CODE_PROT: Prot[] = ['none', 'read', 'write'];

export class AddressSpace {
  readonly state: Uint8Array;
  /** per-page VMA protection (0 none, 1 read, 2 write); 3 = no VMA at all */
  readonly protCode: Uint8Array;
  /** device id owning a DEVICE_PRIVATE page */
  readonly owner: Int32Array;
  /** a page's content tag, so migrations can be checked to keep data */
  readonly data: Float64Array;

  constructor(
    /** first virtual address */
    readonly start: number,
    readonly npages: number,
    prot: Prot = 'write',
  ) {
    this.protCode = new Uint8Array(npages).fill(PROT_CODE[prot]);
    this.state = new Uint8Array(npages);
    this.owner = new Int32Array(npages).fill(-1);
    this.data = new Float64Array(npages);
  }

  /** The protection of page i (undefined: no VMA covers it). */
  protOf(i: number): Prot | undefined {
    return CODE_PROT[this.protCode[i]!];
  }

  setProt(i: number, prot: Prot | undefined): void {
    this.protCode[i] = prot === undefined ? 3 : PROT_CODE[prot];
  }

  index(addr: number): number {
    const i = (addr - this.start) / PAGE;
    if (!Number.isInteger(i) || i < 0 || i >= this.npages) throw new RangeError(`0x${addr.toString(16)} is outside the range`);
    return i;
  }

  /** The CPU touches pages (as a process writing its buffer does): they become present RAM with new content. */
  cpuWrite(first: number, count: number, tag: number): void {
    for (let i = first; i < first + count; i++) {
      this.state[i] = PageState.RAM;
      this.owner[i] = -1;
      this.data[i] = tag + i;
    }
  }
}
