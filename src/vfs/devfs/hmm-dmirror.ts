// MNT/dev/hmm_dmirror0: a text-driven stand-in for lib/test_hmm.c's dmirror
// device. A process mirrors a range of its own address space (protections from
// /proc/PID/maps, presence from /proc/PID/pagemap), then migrates it to the
// device-private memory of the device, snapshots it, and lets devices fault it
// (native-notes/hmm.md). Migrations move the model's view, not the process's pages.
//
// Commands (one per line; read the same open file for the results):
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
import { AddressSpace, PageState, PAGE } from '../../model/index.js';
import type { DevicePrivateMemory } from '../../model/index.js';
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
} from '../../model/index.js';
import { odpFault } from '../../model/index.js';
import type { PciHost } from '../../model/index.js';
import { callerMemory, type Vma } from '../../caller-memory/index.js';
import type { Caller } from '../caller.js';
import { CommandFile, commandNumber } from '../command-file.js';
import type { DirNode, IoctlCall } from '../node.js';
import type { InodeTable } from '../tree.js';

const MAX_PAGES = 1 << 20;
/** the end of a process's address space with 4-level page tables (TASK_SIZE_MAX, x86_64) */
const TASK_SIZE = 2 ** 47 - PAGE;
/** pages worked through before the main thread serves others (a 1 Mi-page request is 16 slices) */
export const DMIRROR_SLICE_PAGES = 1 << 16;

const nextTurn = () => new Promise<void>((res) => setImmediate(res));

/** Runs fn over [first, first+count) in slices, yielding between them. */
async function sliced(first: number, count: number, fn: (first: number, count: number) => void): Promise<void> {
  for (let at = first; at < first + count; at += DMIRROR_SLICE_PAGES) {
    if (at > first) await nextTurn();
    fn(at, Math.min(DMIRROR_SLICE_PAGES, first + count - at));
  }
}

// test_hmm's ioctl check: a page-aligned address and a range that does not wrap
function parseRange(addrText: string | undefined, nText: string | undefined): { addr: number; npages: number } {
  const addr = commandNumber(addrText);
  const npages = commandNumber(nText);
  if (!(addr >= 0) || addr % PAGE !== 0) throw kernelError('EINVAL', 'ADDR must be a page-aligned address');
  if (!(npages >= 1 && npages <= MAX_PAGES)) throw kernelError('EINVAL', `NPAGES must be between 1 and ${MAX_PAGES}`);
  if (addr + npages * PAGE > TASK_SIZE) throw kernelError('EINVAL', 'the range ends beyond the user address space');
  return { addr, npages };
}

/** Per page of [addr, addr+npages): the protection of the VMA holding it (undefined: none). */
function protections(vmas: Vma[], as: AddressSpace, first: number, count: number): void {
  const start = as.start + first * PAGE;
  const end = start + count * PAGE;
  let i = first;
  for (const v of vmas) {
    if (v.end <= start || v.start >= end) continue;
    const a = Math.max(first, (v.start - as.start) / PAGE);
    const b = Math.min(first + count, (v.end - as.start) / PAGE);
    for (; i < a; i++) as.setProt(i, undefined);
    const prot = v.perms[1] === 'w' ? 'write' : v.perms[0] === 'r' ? 'read' : 'none';
    for (; i < b; i++) as.setProt(i, prot);
  }
  for (; i < first + count; i++) as.setProt(i, undefined);
}

/** The first address of [start, end) that no VMA covers, if any (VMAs sorted, as /proc/PID/maps lists them). */
function firstUnmapped(vmas: Vma[], start: number, end: number): number | undefined {
  let at = start;
  for (const v of vmas) {
    if (v.end <= at) continue;
    if (v.start > at) return at;
    at = v.end;
    if (at >= end) return undefined;
  }
  return at < end ? at : undefined;
}

/** One open of hmm_dmirrorN: its mirror, as dmirror keeps one per open file. */
class Dmirror {
  private as: AddressSpace | undefined;
  private pid = 0;

  constructor(
    private readonly ctx: HmmContext,
    private readonly mem: DevicePrivateMemory,
    private readonly host: PciHost,
  ) {}

  private range(addrText: string | undefined, nText: string | undefined): { first: number; count: number } {
    const { addr, npages } = parseRange(addrText, nText);
    if (!this.as) throw kernelError('EINVAL', 'mirror a range first');
    const first = (addr - this.as.start) / PAGE;
    if (first < 0 || first + npages > this.as.npages) throw kernelError('EINVAL', 'outside the mirrored range');
    // the process may have changed its mappings since: look again, as the kernel does per call
    protections(callerMemory.vmas(this.pid), this.as, first, npages);
    return { first, count: npages };
  }

  // kernel: dmirror_migrate(), lib/test_hmm.c
  /** Every page needs a readable VMA, or the whole request is EINVAL. */
  private migratable(r: { first: number; count: number }): void {
    for (let i = r.first; i < r.first + r.count; i++) {
      const prot = this.as!.protOf(i);
      if (prot === undefined || prot === 'none') throw kernelError('EINVAL', `no readable mapping at 0x${(this.as!.start + i * PAGE).toString(16)}`);
    }
  }

  private async mirror(pid: number, addrText: string | undefined, nText: string | undefined): Promise<string> {
    const { addr, npages } = parseRange(addrText, nText);
    const vmas = callerMemory.vmas(pid);
    const hole = firstUnmapped(vmas, addr, addr + npages * PAGE);
    if (hole !== undefined) throw kernelError('EINVAL', `no mapping at 0x${hole.toString(16)}`);
    const as = new AddressSpace(addr, npages);
    protections(vmas, as, 0, npages);
    const present = callerMemory.pagesPresent(pid, addr, npages) ?? [];
    let p = 0;
    for (let i = 0; i < npages; i++) {
      if (present[i]) {
        as.state[i] = PageState.RAM;
        p++;
      }
    }
    // a new mirror drops the device pages of the previous one
    this.release();
    this.as = as;
    this.pid = pid;
    return `ok mirrored ${npages} present ${p}`;
  }

  /** The device faults the range itself (dev_private_owner: its own pages), a slice at a time. */
  private async fault(r: { first: number; count: number }, flags: bigint): Promise<{ faulted: number; migratedToRam: number }> {
    const total = { faulted: 0, migratedToRam: 0 };
    await sliced(r.first, r.count, (first, count) => {
      const res = hmmRangeFault(this.as!, { first, count, defaultFlags: flags, devPrivateOwner: this.mem.id }, this.ctx);
      total.faulted += res.faulted;
      total.migratedToRam += res.migratedToRam;
    });
    return total;
  }

  async run(command: string, caller: Caller): Promise<string> {
    const [cmd, a, b, c, d] = command.split(/\s+/);
    switch (cmd) {
      case 'mirror':
        return this.mirror(callerMemory.tgid(caller.pid), a, b);
      case 'migrate_to_dev':
      case 'migrate_to_sys': {
        const r = this.range(a, b);
        this.migratable(r);
        let moved = 0;
        await sliced(r.first, r.count, (first, count) => {
          moved += cmd === 'migrate_to_dev' ? migrateToDevice(this.as!, first, count, this.mem, this.ctx) : migrateToSystem(this.as!, first, count, this.ctx);
        });
        return `ok migrated ${moved}`;
      }
      case 'snapshot': {
        const r = this.range(a, b);
        const out: string[] = [];
        await sliced(r.first, r.count, (first, count) => {
          out.push(Buffer.from(snapshot(this.as!, first, count, this.mem.id, this.ctx)).toString('hex'));
        });
        return out.join('');
      }
      case 'read':
      case 'write': {
        const r = this.range(a, b);
        const flags = HMM_PFN_REQ_FAULT | (cmd === 'write' ? HMM_PFN_REQ_WRITE : 0n);
        const res = await this.fault(r, flags);
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

  /** The mirror ends: its device pages go back to the device (closing the file, or a new mirror). */
  release(): void {
    if (this.as) migrateToSystem(this.as, 0, this.as.npages, this.ctx);
    this.as = undefined;
  }
}

/** An open of hmm_dmirrorN: its commands, and ioctls refused as dmirror refuses unknown ones. */
class DmirrorFile extends CommandFile {
  // kernel: dmirror_fops_unlocked_ioctl(), lib/test_hmm.c
  ioctl(call: IoctlCall): never {
    throw kernelError('EINVAL', `ioctl 0x${call.cmd.toString(16)}: this dmirror takes text commands`);
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
        return new DmirrorFile(
          (command, caller) => d.run(command, caller),
          () => d.release(),
        );
      },
    });
  }
}
