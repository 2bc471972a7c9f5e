// The HMM side of one emulated host: device-private memory of every device that
// has some, the dmirror-like test device, and the NIC-with-ODP comparison of
// migration against the proposed P2P alias.

import { kernelError } from '../../errno.js';
import type { HostModel } from '../host-model.js';
import { MapType } from '../p2pdma/index.js';
import type { PciDev } from '../pci/index.js';
import { AddressSpace, PAGE } from './address-space.js';
import { DevicePrivateMemory } from './device-private.js';
import { HMM_PFN_ALLOW_P2P, HMM_PFN_REQ_FAULT, hmmRangeFault, migrateToDevice, mixedRuns, type HmmContext, type HmmRangeResult } from './hmm.js';

export function hmmContext(m: HostModel, allowP2pProposal: boolean): HmmContext {
  const owners = new Map<number, DevicePrivateMemory>();
  let id = 1;
  for (const dev of m.pci.sorted()) {
    const bytes = dev.endpoint?.devicePrivate ?? 0;
    if (bytes > 0 && dev.driver) owners.set(id, new DevicePrivateMemory(dev, id++, Math.floor(bytes / PAGE)));
  }
  return { p2pdma: m.p2pdma, owners, allowP2pProposal, nextRamPfn: { value: 0x100000 } };
}

export function ownerOf(ctx: HmmContext, dev: PciDev): DevicePrivateMemory {
  const o = [...ctx.owners.values()].find((x) => x.owner === dev);
  if (!o) throw kernelError('ENODEV', `${dev.bdf} has no device-private memory`);
  return o;
}

/** GB/s of a PCIe link: GT/s × lanes × encoding (8b/10b below 8 GT/s, 128b/130b from 8 GT/s). */
export function linkGBps(dev: PciDev): number {
  const l = dev.link ?? { speed: 8, width: 4 };
  const enc = l.speed < 8 ? 8 / 10 : 128 / 130;
  return (l.speed * enc * l.width) / 8;
}

/** Per-page software cost of migrate_vma (setup, copy scheduling, finalize): an assumption, stated in the output. */
export const MIGRATE_PAGE_OVERHEAD_NS = 2000;

export interface CompareRun {
  label: string;
  result: HmmRangeResult;
  /** bytes by path */
  bytes: { migration: number; p2p: number; host: number };
  predictedNs: number;
  mixed: ReturnType<typeof mixedRuns>;
}

/**
 * The workload: a process's buffer of `pages` pages was migrated to the owner's
 * device-private memory (an accelerator computed into it); the NIC, with ODP,
 * then faults the whole range to send it. Run once as mainline (migration) and
 * once with HMM_PFN_ALLOW_P2P.
 */
export function compareP2pAlias(m: HostModel, ownerDev: PciDev, client: PciDev, pages: number, hostResident = 0): CompareRun[] {
  const runs: CompareRun[] = [];
  for (const [label, flags] of [['mainline: migrate to RAM', HMM_PFN_REQ_FAULT], ['hmm-allow-p2p: P2P alias', HMM_PFN_REQ_FAULT | HMM_PFN_ALLOW_P2P]] as const) {
    const ctx = hmmContext(m, true);
    const owner = ownerOf(ctx, ownerDev);
    const as = new AddressSpace(0x7f00_0000_0000, pages + hostResident);
    as.cpuWrite(0, pages + hostResident, 1);
    migrateToDevice(as, 0, pages, owner, ctx);
    // the NIC's ODP fault: its own owner id is not the accelerator's
    const result = hmmRangeFault(as, { first: 0, count: pages + hostResident, defaultFlags: flags, devPrivateOwner: -1, client }, ctx);
    const migrated = result.migratedToRam * PAGE;
    const aliased = result.p2pAliased * PAGE;
    const hostBytes = (pages + hostResident) * PAGE - aliased;
    const mt = m.p2pdma.mapType(ownerDev, client);
    const p2pGBps = Math.min(linkGBps(ownerDev), linkGBps(client)) * (mt === MapType.THRU_HOST_BRIDGE ? 0.9 : 1);
    // migration: device → RAM over the owner's link, then the NIC reads RAM over its own
    const ns =
      (migrated / linkGBps(ownerDev)) + result.migratedToRam * MIGRATE_PAGE_OVERHEAD_NS + hostBytes / linkGBps(client) + aliased / p2pGBps;
    runs.push({ label, result, bytes: { migration: migrated, p2p: aliased, host: hostBytes }, predictedNs: ns, mixed: mixedRuns(result.kinds) });
  }
  return runs;
}
