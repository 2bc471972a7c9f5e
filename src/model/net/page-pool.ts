// A NIC RX queue bound to device memory (devmem TCP, netlink bind-rx), as
// net/core/devmem.c does it (native-notes/dmabuf.md "page_pool"):
//   - the binding takes a dma-buf fd: dma_buf_get() answers anything else with
//     EINVAL, so memory that is no dma-buf (device-private pages: they have no
//     fd and no DMA address) cannot be bound;
//   - it imports the buffer with dma_buf_attach(), a static attachment: never
//     peer2peer, so an exporter that cannot move its buffer refuses (the
//     exporter's errno) and one that can keeps it in system memory;
//   - every sg entry is cut into PAGE_SIZE net_iovs (len / PAGE_SIZE: a tail
//     shorter than a page is never used), and a page_pool of order > 0 is
//     refused with E2BIG (mp_dmabuf_devmem_init).

import { kernelError } from '../../errno.js';
import type { DmaBuf, DmaBufAttachment, DmaBufCore } from '../dmabuf/dmabuf.js';
import type { PciDev } from '../pci/index.js';

export type RxMemory =
  /** the fd of an exported dma-buf; `exporterPage`: the exporter's sg entries are that long (VRAM pages), default one entry */
  | { kind: 'dmabuf'; buf: DmaBuf; exporterPage?: number }
  /** any other fd, e.g. device-private memory's (a dmirror file): there is no dma-buf to get */
  | { kind: 'other-fd'; what: string };

export interface RxBinding {
  nic: PciDev;
  queue: number;
  source: string;
  attachment: DmaBufAttachment;
  /** where the net_iovs point */
  target: string;
  /** net_iov count: PAGE_SIZE pieces of each sg entry */
  netIovs: number;
  /** bytes of the buffer no net_iov covers (sg-entry tails shorter than a page) */
  unusedBytes: number;
  pageSize: number;
}

export const X86_PAGE_SIZE = 4096;

// kernel: net_devmem_bind_dmabuf(), net/core/devmem.c
export function bindRxQueue(nic: PciDev, queue: number, mem: RxMemory, dmabufs: DmaBufCore, pageSize = X86_PAGE_SIZE): RxBinding {
  // kernel: dma_buf_get(), drivers/dma-buf/dma-buf.c: a file that is not a dma-buf
  if (mem.kind === 'other-fd') throw kernelError('EINVAL', `${mem.what} is not a dma-buf: dma_buf_get() refuses it`);
  // a static attachment: no importer ops, so no peer2peer (the exporter decides what that means)
  const attachment = dmabufs.attach(mem.buf, nic);
  const sg = dmabufs.map(attachment)[0]!;
  const entry = mem.exporterPage ?? sg.length;
  const entries = Math.floor(sg.length / entry);
  const perEntry = Math.floor(entry / pageSize);
  const netIovs = entries * perEntry;
  return {
    nic,
    queue,
    source: `dma-buf ${mem.buf.id} of ${mem.buf.exporter.bdf}`,
    attachment,
    target: sg.target,
    netIovs,
    unusedBytes: sg.length - netIovs * pageSize,
    pageSize,
  };
}

// kernel: mp_dmabuf_devmem_init(), net/core/devmem.c
/** A page_pool on a devmem binding hands out single net_iovs only. */
export function pagePoolInit(order: number): void {
  if (order !== 0) throw kernelError('E2BIG', `a page_pool of order ${order} on a dma-buf binding: net_iovs are single pages`);
}

export interface RxFill {
  /** net_iovs one frame's payload takes */
  netIovsPerFrame: number;
  /** payload bytes over net_iov bytes used */
  fill: number;
  /** frames the binding holds before userspace returns tokens */
  framesInFlight: number;
}

/**
 * Frames of `mtu` bytes with `headers` bytes of headers (split to host memory):
 * each payload fills whole net_iovs, one frame per net_iov, no packing of two
 * frames into one net_iov (assumed: the provider hands out whole net_iovs).
 */
export function rxFill(b: RxBinding, mtu: number, headers: number): RxFill {
  const payload = Math.max(1, mtu - headers);
  const netIovsPerFrame = Math.ceil(payload / b.pageSize);
  return { netIovsPerFrame, fill: payload / (netIovsPerFrame * b.pageSize), framesInFlight: Math.floor(b.netIovs / netIovsPerFrame) };
}
