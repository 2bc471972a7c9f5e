// dma-buf sharing of P2P memory (drivers/dma-buf/dma-buf.c, kernel-facts §8):
// an exporter hands out a range of its BAR, importers attach statically or
// dynamically (with or without allow_peer2peer), the exporter decides with the
// P2P distance, mappings are DMA addresses without pages, and removing the
// exporter revokes every importer's mapping (move_notify) before it completes.

import { kernelError } from '../../errno.js';
import { KERN_WARNING, type KernelLog } from '../klog.js';
import { MapType, type P2pAllocation, type P2pdmaSubsystem } from '../p2pdma/index.js';
import { devPrefix, type PciDev } from '../pci/index.js';

/** What an exporter does for an importer that cannot take P2P (its attach op). */
export type ExporterFallback =
  /** keep (or move) the buffer in system memory for this importer (amdgpu-style) */
  | 'system-memory'
  /** refuse: MMIO cannot move (vfio-pci-style, NVMe CMB) */
  | 'refuse';

/** Accelerators can move a buffer to system memory; NVMe CMBs and p2pmem cards export MMIO only. */
export function defaultFallback(dev: PciDev): ExporterFallback {
  return dev.role === 'accelerator' ? 'system-memory' : 'refuse';
}

export interface SgEntry {
  /** sg_dma_address */
  dmaAddress: number;
  /** sg_dma_len */
  length: number;
  /** sg_page(): always null for P2P MMIO (importers must not touch it) */
  page: null;
  /** where the address points */
  target: 'bar-bus-address' | 'bar-cpu-physical' | 'bar-iova' | 'system-memory';
}

export interface ImporterOps {
  /** importer_ops->allow_peer2peer */
  allowPeer2peer: boolean;
  /** importer_ops->move_notify (invalidate_mappings in the 2026 rename); undefined = none given */
  moveNotify?: (att: DmaBufAttachment) => void;
}

export interface DmaBufAttachment {
  /** numbered per host from 1, never reused */
  id: number;
  buf: DmaBuf;
  importer: PciDev;
  dynamic: boolean;
  peer2peer: boolean;
  /** why peer2peer ended as it did */
  decision: string;
  mapping: SgEntry[] | undefined;
  revoked: boolean;
  ops: ImporterOps | undefined;
}

let nextBufId = 1;

export class DmaBuf {
  readonly id = nextBufId++;
  readonly attachments: DmaBufAttachment[] = [];
  revoked = false;
  /**
   * dma_buf_mmap() goes to the exporter's mmap op; an exporter of MMIO inserts
   * PFNs (remap_pfn_range / vmf_insert_pfn), so the VMA is VM_PFNMAP|VM_IO and
   * GUP refuses it (mm/gup.c check_vma_flags): no O_DIRECT into it.
   */
  readonly mmapIsPfnMap = true;
  /**
   * references to the buffer: the exporter's handle, and every open of its file
   * (dma_buf_get); it is released when none is left and no importer is attached
   */
  refs = 1;

  constructor(
    readonly exporter: PciDev,
    readonly alloc: P2pAllocation,
    readonly fallback: ExporterFallback,
  ) {}

  get size(): number {
    return this.alloc.size;
  }
}

export interface DmaBufEvents {
  /** a buffer was exported (the daemon gives it a file a process can mmap) */
  exported?(buf: DmaBuf): void;
  /** a buffer was revoked with its exporter */
  revoked?(buf: DmaBuf): void;
  /** the last reference went: the buffer is gone (its file too) */
  released?(buf: DmaBuf): void;
}

export class DmaBufCore {
  readonly bufs: DmaBuf[] = [];
  events: DmaBufEvents = {};
  private nextAttachmentId = 1;

  constructor(
    private readonly p2pdma: P2pdmaSubsystem,
    private readonly klog: KernelLog,
    private readonly iommu: boolean,
  ) {}

  /** An exporter driver turns `size` bytes of its P2P memory into a dma-buf. */
  export(exporter: PciDev, size: number, fallback: ExporterFallback): DmaBuf {
    // an exporter being unbound has killed its pgmap references: nothing new is handed out
    const provider = this.p2pdma.providerOf(exporter);
    if (!provider || provider.pgmaps.every((m) => m.dying)) throw kernelError('ENODEV', `${exporter.bdf} has no P2P memory to export`);
    const alloc = this.p2pdma.allocKernel(exporter, size);
    if (!alloc) throw kernelError('ENOMEM', `${exporter.bdf}: no P2P memory to export`);
    const buf = new DmaBuf(exporter, alloc, fallback);
    this.bufs.push(buf);
    this.events.exported?.(buf);
    return buf;
  }

  // kernel: dma_buf_dynamic_attach() / dma_buf_attach(), then the exporter's attach op
  attach(buf: DmaBuf, importer: PciDev, ops?: ImporterOps): DmaBufAttachment {
    if (buf.revoked) throw kernelError('ENODEV', 'the exporter is gone');
    if (ops && !ops.moveNotify) {
      this.klog.log(KERN_WARNING, 'WARNING: dma_buf_dynamic_attach: importer_ops without move_notify');
      throw kernelError('EINVAL', 'a dynamic importer must implement move_notify');
    }
    const att: DmaBufAttachment = { id: 0, buf, importer, dynamic: ops !== undefined, peer2peer: ops?.allowPeer2peer ?? false, decision: '', mapping: undefined, revoked: false, ops };
    if (!ops) att.decision = 'static importer: dma_buf_attach() never sets peer2peer';
    else if (!ops.allowPeer2peer) att.decision = 'importer does not allow peer2peer (it needs struct pages)';
    else {
      // the exporter's attach op: pci_p2pdma_distance(exporter, importer, false) < 0 clears peer2peer
      const dist = this.p2pdma.distanceMany(buf.exporter, [importer], false);
      if (dist < 0) {
        att.peer2peer = false;
        att.decision = `pci_p2pdma_distance() < 0: ${buf.exporter.bdf} and ${importer.bdf} cannot do P2P`;
      } else att.decision = `pci_p2pdma_distance() = ${dist}: P2P allowed`;
    }
    if (!att.peer2peer && buf.fallback === 'refuse') {
      throw kernelError('EOPNOTSUPP', `${buf.exporter.bdf} exports MMIO only and refuses an attachment without peer2peer (${att.decision})`);
    }
    att.id = this.nextAttachmentId++;
    buf.attachments.push(att);
    return att;
  }

  // kernel: dma_buf_map_attachment(), exporter map op (dma_buf_phys_vec_to_sgt for MMIO)
  map(att: DmaBufAttachment): SgEntry[] {
    if (att.revoked) throw kernelError('ENODEV', 'attachment was revoked');
    const a = att.buf.alloc;
    let entry: SgEntry;
    if (!att.peer2peer) {
      entry = { dmaAddress: 0x1_0000_0000 + att.buf.id * 2 ** 30, length: a.size, page: null, target: 'system-memory' };
    } else {
      const type = this.p2pdma.mapType(att.buf.exporter, att.importer);
      if (type === MapType.BUS_ADDR) entry = { dmaAddress: a.busAddr, length: a.size, page: null, target: 'bar-bus-address' };
      else if (type === MapType.THRU_HOST_BRIDGE) {
        entry = this.iommu
          ? { dmaAddress: 0xfe00_0000 + att.buf.id * a.size, length: a.size, page: null, target: 'bar-iova' }
          : { dmaAddress: a.addr, length: a.size, page: null, target: 'bar-cpu-physical' };
      } else throw kernelError('EINVAL', 'dma_buf_phys_vec_to_sgt: no P2P path');
    }
    att.mapping = [entry];
    return att.mapping;
  }

  // kernel: dma_buf_detach(), drivers/dma-buf/dma-buf.c
  /** The importer lets go: its mapping goes with the attachment; an unreferenced buffer with no attachment left is freed. */
  detach(att: DmaBufAttachment): void {
    const i = att.buf.attachments.indexOf(att);
    if (i < 0) return;
    att.buf.attachments.splice(i, 1);
    att.mapping = undefined;
    if (att.buf.refs === 0 && att.buf.attachments.length === 0) this.release(att.buf);
  }

  // kernel: get_dma_buf(), include/linux/dma-buf.h
  get(buf: DmaBuf): void {
    buf.refs++;
  }

  // kernel: dma_buf_put(), drivers/dma-buf/dma-buf.c
  /** A handle is closed; the buffer is released once no handle is left and no importer is attached. */
  put(buf: DmaBuf): void {
    buf.refs--;
    if (buf.refs === 0 && buf.attachments.length === 0) this.release(buf);
  }

  // kernel: dma_buf_release(), drivers/dma-buf/dma-buf.c
  private release(buf: DmaBuf): void {
    const i = this.bufs.indexOf(buf);
    if (i < 0) return;
    this.bufs.splice(i, 1);
    // a revoked buffer gave its memory back already
    if (!buf.revoked) this.p2pdma.freeKernel(buf.alloc);
    this.events.released?.(buf);
  }

  // kernel: dma_buf_move_notify() as the revoke step of an exporting driver's remove()
  /** Every importer is told and loses its mapping before this returns; then the memory goes back. */
  revokeExporter(exporter: PciDev): DmaBufAttachment[] {
    const told: DmaBufAttachment[] = [];
    for (const buf of this.bufs.filter((b) => b.exporter === exporter && !b.revoked)) {
      for (const att of buf.attachments) {
        if (att.ops?.moveNotify) att.ops.moveNotify(att);
        else this.klog.log(KERN_WARNING, `${devPrefix(att.importer)}static dma-buf importer lost its mapping on exporter removal`);
        att.mapping = undefined;
        att.revoked = true;
        told.push(att);
      }
      buf.revoked = true;
      this.events.revoked?.(buf);
      this.p2pdma.freeKernel(buf.alloc);
    }
    return told;
  }
}
