// An NVMe controller as nvme-pci sees it at probe: registers in BAR0, the CMB
// mapped and registered as P2P memory (nvme_map_cmb), I/O submission queues
// placed in the CMB (nvme_alloc_sq_cmds), namespaces.

import type { NamespaceSpec, NvmeSpec } from '../../config/index.js';
import { KERN_WARNING, type KernelLog } from '../klog.js';
import type { P2pAllocation, P2pdmaSubsystem } from '../p2pdma/index.js';
import { SUBSECTION_SIZE } from '../p2pdma/index.js';
import { devPrefix, type PciDev } from '../pci/index.js';
import {
  cmbSize,
  cmbSizeUnit,
  encodeCmb,
  NVME_CAP_CMBS_BIT,
  NVME_CMBMSC_CMSE,
  NVME_CMBMSC_CRE,
  NVME_CMBSZ_RDS,
  NVME_CMBSZ_SQS,
  NVME_CMBSZ_WDS,
  NVME_REG_CAP,
  NVME_REG_CMBLOC,
  NVME_REG_CMBMSC,
  NVME_REG_CMBSZ,
  NVME_REG_VS,
} from './regs.js';

/** bytes of one submission queue entry */
const SQE_SIZE = 64;
const PAGE = 4096;

export interface NvmeNamespace {
  ctrl: NvmeCtrl;
  nsid: number;
  /** "nvme0n1" */
  name: string;
  size: number;
  lbaSize: number;
}

/** The controller states sysfs `state` names (nvme_sysfs_show_state). */
export type NvmeCtrlState = 'new' | 'live' | 'resetting' | 'connecting' | 'deleting' | 'dead';

export class NvmeCtrl {
  state: NvmeCtrlState = 'live';
  /** controller resets so far (a timeout recovery or reset_controller) */
  resets = 0;
  cmbloc = 0;
  cmbsz = 0;
  cmbmsc = 0;
  /** bytes of CMB registered as P2P memory (0: none) */
  cmbRegistered = 0;
  cmbUseSqes = false;
  /** queue depth after nvme_cmb_qdepth() */
  queueDepth: number;
  readonly sqAllocations: P2pAllocation[] = [];
  readonly namespaces: NvmeNamespace[];

  constructor(
    readonly dev: PciDev,
    /** nvme%d */
    readonly instance: number,
    readonly spec: NvmeSpec,
  ) {
    this.queueDepth = spec.queueDepth;
    this.namespaces = spec.namespaces.map((n: NamespaceSpec) => ({
      ctrl: this,
      nsid: n.nsid,
      name: `nvme${instance}n${n.nsid}`,
      size: n.size,
      lbaSize: n.lbaSize,
    }));
    const cmb = dev.endpoint?.cmb;
    if (cmb) ({ cmbsz: this.cmbsz, cmbloc: this.cmbloc } = encodeCmb(cmb.size, cmb.offset, cmb.bar, cmb.flags));
  }

  get name(): string {
    return `nvme${this.instance}`;
  }

  /** The queues' P2P capability (BLK_FEAT_PCI_P2PDMA), from nvme_pci_supports_pci_p2pdma(). */
  get p2pdmaQueues(): boolean {
    return this.dev.endpoint?.p2pdmaQueues ?? false;
  }

  /** BAR0 as the driver finds it: CAP (with CMBS when there is a CMB), VS, CMBLOC, CMBSZ, CMBMSC. */
  registers(): Buffer {
    const r = Buffer.alloc(PAGE);
    let cap = BigInt(this.spec.queueDepth - 1) | (1n << 16n) | (0x14n << 24n) | (1n << 37n) | (4n << 52n);
    if (this.cmbsz) cap |= 1n << BigInt(NVME_CAP_CMBS_BIT);
    r.writeBigUInt64LE(cap, NVME_REG_CAP);
    r.writeUInt32LE(0x00010400, NVME_REG_VS); // NVMe 1.4
    r.writeUInt32LE(this.cmbloc, NVME_REG_CMBLOC);
    r.writeUInt32LE(this.cmbsz, NVME_REG_CMBSZ);
    r.writeBigUInt64LE(BigInt(this.cmbmsc), NVME_REG_CMBMSC);
    return r;
  }

  // kernel: nvme_map_cmb(), drivers/nvme/host/pci.c (kernel-facts §5.2)
  mapCmb(p2pdma: P2pdmaSubsystem, klog: KernelLog): void {
    if (this.cmbRegistered || this.cmbsz === 0) return;
    // CAP.CMBS: enable CMBLOC/CMBSZ with CMBMSC.CRE first
    this.cmbmsc = NVME_CMBMSC_CRE;
    const unit = cmbSizeUnit(this.cmbsz);
    let size = unit * cmbSize(this.cmbsz);
    const offset = unit * ((this.cmbloc >>> 12) & 0xfffff);
    const barIndex = this.cmbloc & 0x7;
    const bar = this.dev.bars.find((b) => b.index === barIndex);
    if (!bar || offset > bar.size) return;
    size = Math.min(size, bar.size - offset);
    // memremap_compat_align(): a CMB that is not 2 MiB aligned is silently skipped
    if (size % SUBSECTION_SIZE !== 0 || bar.start % SUBSECTION_SIZE !== 0) {
      const reason = `a CMB of ${size} bytes in BAR ${barIndex} is not 2 MiB aligned: nvme_map_cmb() skips it, nothing logged`;
      p2pdma.noteSkipped({ dev: this.dev, bar: barIndex, start: bar.start + offset, size, reason, rule: 'nvme-cmb-align' });
      return;
    }
    // CRE | CMSE | controller base address (4 KiB aligned, so the low bits are free)
    this.cmbmsc = bar.start + offset + NVME_CMBMSC_CRE + NVME_CMBMSC_CMSE;
    try {
      p2pdma.addResource(this.dev, barIndex, size, offset, this.dev.endpoint?.cmb?.folios);
    } catch {
      klog.log(KERN_WARNING, `${devPrefix(this.dev)}failed to register the CMB`);
      this.cmbmsc = 0;
      return;
    }
    this.cmbRegistered = size;
    this.cmbUseSqes = this.spec.useCmbSqes && (this.cmbsz & NVME_CMBSZ_SQS) !== 0;
    if ((this.cmbsz & (NVME_CMBSZ_WDS | NVME_CMBSZ_RDS)) === (NVME_CMBSZ_WDS | NVME_CMBSZ_RDS)) p2pdma.publish(this.dev, true);
  }

  // kernel: nvme_cmb_qdepth()
  private cmbQueueDepth(nrIoQueues: number): number {
    const qSize = Math.ceil((this.queueDepth * SQE_SIZE) / PAGE) * PAGE;
    if (nrIoQueues * qSize <= this.cmbRegistered) return this.queueDepth;
    const depth = Math.floor(Math.floor(this.cmbRegistered / nrIoQueues / PAGE) * PAGE / SQE_SIZE);
    return depth < 64 ? -1 : depth;
  }

  // kernel: nvme_setup_io_queues() + nvme_alloc_sq_cmds(): I/O SQs in the CMB (the admin SQ never)
  setupIoQueues(p2pdma: P2pdmaSubsystem): void {
    if (!this.cmbUseSqes) return;
    const depth = this.cmbQueueDepth(this.spec.ioQueues);
    if (depth < 0) {
      this.cmbUseSqes = false;
      return;
    }
    this.queueDepth = depth;
    const qSize = Math.ceil((depth * SQE_SIZE) / PAGE) * PAGE;
    for (let q = 1; q <= this.spec.ioQueues; q++) {
      const a = p2pdma.allocKernel(this.dev, qSize);
      if (!a) break; // falls back to host memory for this queue
      this.sqAllocations.push(a);
    }
  }

  /** Controller reset/removal: the SQs go back to the pool. */
  freeQueues(p2pdma: P2pdmaSubsystem): void {
    for (const a of this.sqAllocations.splice(0)) p2pdma.freeKernel(a);
  }
}
