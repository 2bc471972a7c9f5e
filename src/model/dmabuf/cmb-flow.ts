// Two ways to move bytes from an NVMe namespace into an accelerator, as the
// compound-page and dma-buf threads compare them (native-notes/dmabuf.md
// "The alternative flow"):
//   p2pmem   mainline: the accelerator's BAR is P2PDMA memory with struct pages;
//            a process maps p2pmem/allocate and O_DIRECT-reads the namespace into
//            it. GUP pins the P2P pages (FOLL_PCI_P2PDMA); the NVMe writes the
//            accelerator's memory directly.
//   cmb      the thread's alternative: the NVMe exports its CMB as a dma-buf (not
//            mainline), the accelerator imports it (dynamic, allow_peer2peer); a
//            read command with its data buffer in the CMB fills it inside the
//            device, then the accelerator reads the CMB over P2P. No read()/
//            write() syscall, no GUP, no struct pages needed for the buffer, but
//            it moves at most a CMB at a time.

import { KernelError } from '../../errno.js';
import { linkGBps } from '../hmm/hmm-host.js';
import type { HostModel } from '../host-model.js';
import { formatBytes } from '../mm/folio-report.js';
import { pgmapStructPages } from '../mm/vmemmap.js';
import { NVME_CMBSZ_RDS } from '../nvme/regs.js';
import { allocationRef, ioNamespace, NvmeIoPath } from '../nvme/io.js';
import { NvmeOpcode } from '../nvme/map-data.js';
import { MapType, type P2pAllocation } from '../p2pdma/index.js';
import type { PciDev } from '../pci/index.js';
import { DmaBufCore } from './dmabuf.js';

export interface FlowStep {
  what: string;
  /** empty when it worked */
  refused?: string;
}

export interface FlowResult {
  name: string;
  steps: FlowStep[];
  ok: boolean;
  /** bytes that cross a PCIe link, and between whom */
  p2pBytes: number;
  path: string;
  /** struct-page memory the flow needs for its buffer */
  structPages: number;
  gup: boolean;
  /** how many times the buffer is filled and drained */
  rounds: number;
  /** bytes / the slower link's rate: computed from link speed and width, not measured */
  linkNs?: number;
}

const refusal = (err: unknown) => {
  if (err instanceof KernelError) return err.message;
  throw err;
};

const pathName = (t: MapType) => (t === MapType.BUS_ADDR ? 'through the switch (bus address)' : t === MapType.THRU_HOST_BRIDGE ? 'through the host bridge' : 'no P2P path');

/** Mainline: O_DIRECT read of the namespace into a p2pmem/allocate mapping of the accelerator. */
export function oDirectIntoP2pmem(m: HostModel, nvme: PciDev, accel: PciDev, bytes: number): FlowResult {
  const steps: FlowStep[] = [];
  const r: FlowResult = { name: 'O_DIRECT into the accelerator\'s p2pmem (mainline)', steps, ok: false, p2pBytes: 0, path: '', structPages: 0, gup: true, rounds: 1 };
  const provider = m.p2pdma.providerOf(accel);
  if (!provider) {
    steps.push({ what: `map ${accel.name}'s p2pmem/allocate`, refused: `ENODEV: ${accel.bdf} registered no P2P memory` });
    return r;
  }
  r.structPages = provider.pgmaps.reduce((n, pg) => n + pgmapStructPages(pg.size, pg.vmemmapShift).backed, 0);
  steps.push({ what: `${accel.name} registered ${formatBytes(provider.pool.size)} as P2PDMA memory: struct pages for all of it, backed at registration` });
  const chunk = Math.min(bytes, provider.pool.avail);
  r.rounds = Math.ceil(bytes / Math.max(chunk, 1));
  steps.push({ what: `a process maps ${formatBytes(chunk)} of p2pmem/allocate (pages inserted at mmap)` });
  const ns = m.drivers.nvme.ctrls.get(nvme)?.namespaces[0];
  if (!ns) {
    steps.push({ what: `open ${nvme.name}n1`, refused: `ENODEV: ${nvme.name} has no namespace` });
    return r;
  }
  let alloc: P2pAllocation;
  try {
    alloc = m.p2pdma.allocMmap(accel, { len: chunk, pgoff: 0, shared: true, pid: 1, comm: 'dmabuf-flow' });
  } catch (err) {
    steps.push({ what: `map ${accel.name}'s p2pmem/allocate`, refused: refusal(err) });
    return r;
  }
  try {
    const segments = [{ len: chunk, mem: { kind: 'p2p' as const, alloc: allocationRef(alloc), offset: 0 } }];
    const path = new NvmeIoPath(m.p2pdma).map({ ns: ioNamespace(ns), opcode: NvmeOpcode.READ, segments })[0]!.path;
    steps.push({ what: `O_DIRECT read of ${ns.name}: GUP pins the P2P pages (FOLL_PCI_P2PDMA), ${nvme.name} writes ${accel.name}'s BAR ${path === 'p2p-switch' ? 'through the switch' : 'through the host bridge'}` });
  } catch (err) {
    steps.push({ what: `O_DIRECT read of ${ns.name}`, refused: refusal(err) });
    return r;
  } finally {
    m.p2pdma.freeMmap(alloc);
  }
  r.ok = true;
  r.p2pBytes = bytes;
  r.path = `${nvme.name} → ${accel.name} ${pathName(m.p2pdma.mapType(accel, nvme))}`;
  r.linkNs = bytes / Math.min(linkGBps(nvme), linkGBps(accel));
  return r;
}

/** The alternative: the NVMe exports its CMB as a dma-buf, the accelerator imports and reads it. */
export function cmbDmabufFlow(m: HostModel, nvme: PciDev, accel: PciDev, bytes: number): FlowResult {
  const steps: FlowStep[] = [];
  const r: FlowResult = { name: 'NVMe CMB exported as a dma-buf, imported by the accelerator (proposal)', steps, ok: false, p2pBytes: 0, path: '', structPages: 0, gup: false, rounds: 1 };
  const ctrl = m.drivers.nvme.ctrls.get(nvme);
  const provider = m.p2pdma.providerOf(nvme);
  if (!ctrl || !provider) {
    steps.push({ what: `${nvme.name} exports its CMB`, refused: `ENODEV: ${nvme.name} has no registered CMB` });
    return r;
  }
  if ((ctrl.cmbsz & NVME_CMBSZ_RDS) === 0) {
    steps.push({ what: `${nvme.name} reads into its own CMB`, refused: 'EINVAL: CMBSZ.RDS is clear: the CMB cannot hold read data' });
    return r;
  }
  const core = new DmaBufCore(m.p2pdma, m.klog, m.pci.spec.iommu);
  const chunk = Math.min(bytes, provider.pool.avail);
  let buf;
  try {
    buf = core.export(nvme, chunk, 'refuse');
  } catch (err) {
    steps.push({ what: `${nvme.name} exports ${chunk} bytes of its CMB as a dma-buf`, refused: refusal(err) });
    return r;
  }
  steps.push({ what: `${nvme.name} exports ${formatBytes(chunk)} of its CMB as a dma-buf (MMIO: no struct pages needed for it)` });
  try {
    const att = core.attach(buf, accel, { allowPeer2peer: true, moveNotify: () => undefined });
    const sg = core.map(att)[0]!;
    steps.push({ what: `${accel.name} imports it (dynamic, allow_peer2peer): ${att.decision}; mapped as ${sg.target}` });
  } catch (err) {
    steps.push({ what: `${accel.name} imports and maps the dma-buf`, refused: refusal(err) });
    return r;
  } finally {
    core.revokeExporter(nvme);
  }
  r.rounds = Math.ceil(bytes / chunk);
  steps.push({ what: `${r.rounds} round(s): a read command with its data buffer in the CMB fills it inside ${nvme.name} (no PCIe transfer), then ${accel.name} reads the CMB over P2P` });
  r.ok = true;
  r.p2pBytes = bytes;
  r.path = `${accel.name} reads ${nvme.name}'s CMB ${pathName(m.p2pdma.mapType(nvme, accel))}`;
  r.linkNs = bytes / Math.min(linkGBps(nvme), linkGBps(accel));
  return r;
}
