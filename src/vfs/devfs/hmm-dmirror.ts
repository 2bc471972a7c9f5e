// MNT/dev/hmm_dmirror0: a text-driven stand-in for lib/test_hmm.c's dmirror
// device. A process mirrors a range of its own address space (protections from
// /proc/PID/maps, presence from /proc/PID/pagemap), then migrates it to the
// device-private memory of the device, snapshots it, and lets devices fault it
// (native-notes/hmm.md). Migrations move the model's view, not the process's pages.
//
// Commands (one write each; read the same open file for the result):
//   mirror ADDR NPAGES            mirror the caller's pages        → "ok mirrored N present P"
//   migrate_to_dev ADDR NPAGES    into the device's private memory → "ok migrated N"
//   migrate_to_sys ADDR NPAGES    back to system memory            → "ok migrated N"
//   snapshot ADDR NPAGES          HMM_DMIRROR_PROT_* per page      → hex bytes
//   read ADDR NPAGES / write ADDR NPAGES   the device faults them   → "ok faulted F migrated M"
//   fault DEV ADDR NPAGES [p2p|p2p-retry]   another device faults and DMA-maps them
//                                 (p2p: HMM_PFN_ALLOW_P2P; a DMA_MAPPING_ERROR fails the
//                                 write with EFAULT; p2p-retry: those pages are faulted
//                                 again without it and migrate)
//                                 → "ok migrated M p2p_alias A map_errors E kinds RUNS"

import { kernelError } from '../../errno.js';
import { AddressSpace, PageState, PAGE } from '../../model/hmm/address-space.js';
import type { DevicePrivateMemory } from '../../model/hmm/device-private.js';
import {
  HMM_PFN_ALLOW_P2P,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  hmmRangeFault,
  migrateToDevice,
  migrateToSystem,
  mixedRuns,
  snapshot,
  type HmmContext,
} from '../../model/hmm/hmm.js';
import { odpFault } from '../../model/hmm/hmm-dma.js';
import type { PciHost } from '../../model/pci/index.js';
import { pagesPresent, tgidOf, vmasOf } from '../../proc.js';
import type { Caller } from '../caller.js';
import { CommandFile } from '../command-file.js';
import type { DirNode } from '../node.js';
import type { InodeTable } from '../tree.js';

const MAX_PAGES = 1 << 20;

/** One open of hmm_dmirrorN: its mirror, as dmirror keeps one per open file. */
class Dmirror {
  private as: AddressSpace | undefined;

  constructor(
    private readonly ctx: HmmContext,
    private readonly mem: DevicePrivateMemory,
    private readonly host: PciHost,
  ) {}

  private range(addrText: string | undefined, nText: string | undefined): { first: number; count: number } {
    const addr = Number(addrText);
    const count = Number(nText);
    if (!Number.isSafeInteger(addr) || addr % PAGE !== 0 || !Number.isInteger(count) || count <= 0 || count > MAX_PAGES) {
      throw kernelError('EINVAL', 'ADDR must be page aligned and NPAGES between 1 and 1048576');
    }
    if (!this.as) throw kernelError('EINVAL', 'mirror a range first');
    const first = (addr - this.as.start) / PAGE;
    if (first < 0 || first + count > this.as.npages) throw kernelError('EINVAL', 'outside the mirrored range');
    return { first, count };
  }

  private mirror(pid: number, addrText: string | undefined, nText: string | undefined): string {
    const addr = Number(addrText);
    const n = Number(nText);
    if (!Number.isSafeInteger(addr) || addr % PAGE !== 0 || !Number.isInteger(n) || n <= 0 || n > MAX_PAGES) throw kernelError('EINVAL', 'bad range');
    const as = new AddressSpace(addr, n);
    const vmas = vmasOf(pid);
    const present = pagesPresent(pid, addr, n) ?? [];
    let p = 0;
    for (let i = 0; i < n; i++) {
      const va = addr + i * PAGE;
      const vma = vmas.find((v) => va >= v.start && va < v.end);
      as.setProt(i, !vma ? undefined : vma.perms[1] === 'w' ? 'write' : vma.perms[0] === 'r' ? 'read' : 'none');
      if (present[i]) {
        as.state[i] = PageState.RAM;
        p++;
      }
    }
    // a new mirror drops the device pages of the previous one
    if (this.as) migrateToSystem(this.as, 0, this.as.npages, this.ctx);
    this.as = as;
    return `ok mirrored ${n} present ${p}`;
  }

  run(command: string, caller: Caller): string {
    const [cmd, a, b, c, d] = command.split(/\s+/);
    switch (cmd) {
      case 'mirror':
        return this.mirror(tgidOf(caller.pid), a, b);
      case 'migrate_to_dev': {
        const r = this.range(a, b);
        return `ok migrated ${migrateToDevice(this.as!, r.first, r.count, this.mem, this.ctx)}`;
      }
      case 'migrate_to_sys': {
        const r = this.range(a, b);
        return `ok migrated ${migrateToSystem(this.as!, r.first, r.count, this.ctx)}`;
      }
      case 'snapshot': {
        const r = this.range(a, b);
        return Buffer.from(snapshot(this.as!, r.first, r.count, this.mem.id, this.ctx)).toString('hex');
      }
      case 'read':
      case 'write': {
        const r = this.range(a, b);
        const flags = HMM_PFN_REQ_FAULT | (cmd === 'write' ? HMM_PFN_REQ_WRITE : 0n);
        const res = hmmRangeFault(this.as!, { ...r, defaultFlags: flags, devPrivateOwner: this.mem.id }, this.ctx);
        return `ok faulted ${res.faulted} migrated ${res.migratedToRam}`;
      }
      case 'fault': {
        const dev = a ? this.host.find(a) : undefined;
        if (!dev) throw kernelError('ENODEV', `no device ${a}`);
        const r = this.range(b, c);
        if (d !== undefined && d !== 'p2p' && d !== 'p2p-retry') throw kernelError('EINVAL', 'fault DEV ADDR NPAGES [p2p|p2p-retry]');
        const flags = HMM_PFN_REQ_FAULT | (d ? HMM_PFN_ALLOW_P2P : 0n);
        // the device faults and DMA-maps the range: reachability of a P2P alias is decided at the mapping
        const f = odpFault(this.as!, { ...r, defaultFlags: flags, devPrivateOwner: -1 }, dev, this.ctx, d === 'p2p-retry' ? 'retry-without-p2p' : 'fail');
        if (f.errno) throw kernelError(f.errno, `${dev.bdf}: hmm_dma_map_pfn() gave DMA_MAPPING_ERROR for ${f.mapErrors} P2P alias page(s)`);
        const runs = mixedRuns(f.result.kinds).map((x) => `${x.kind}:${x.count}`).join(',');
        return `ok migrated ${f.migratedToRam} p2p_alias ${f.result.p2pAliased} map_errors ${f.mapErrors} kinds ${runs}`;
      }
      default:
        throw kernelError('EINVAL', `unknown command ${cmd}`);
    }
  }
}

/** One hmm_dmirrorN per device with device-private memory. */
export function addDmirrorNodes(t: InodeTable, devDir: DirNode, ctx: HmmContext, host: PciHost): void {
  let n = 0;
  for (const mem of ctx.owners.values()) {
    t.device(devDir, {
      name: `hmm_dmirror${n++}`,
      standsFor: 'char',
      mode: 0o600,
      direct: true,
      size: () => 0,
      openFile: () => {
        const d = new Dmirror(ctx, mem, host);
        return new CommandFile((command, caller) => d.run(command, caller));
      },
    });
  }
}
