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
import { odpFault, type DmaMapOutcome, type OnMapError } from './hmm-dma.js';
import { mixesFakeAndAlias, readByValue, type PfnEncoding } from './pfn-encoding.js';

export function hmmContext(m: HostModel, allowP2pProposal: boolean, pfnEncoding: PfnEncoding = 'pfn'): HmmContext {
  const owners = new Map<number, DevicePrivateMemory>();
  let id = 1;
  for (const dev of m.pci.sorted()) {
    const bytes = dev.endpoint?.devicePrivate ?? 0;
    if (bytes > 0 && dev.driver) owners.set(id, new DevicePrivateMemory(dev, id++, Math.floor(bytes / PAGE)));
  }
  return { p2pdma: m.p2pdma, owners, allowP2pProposal, pfnEncoding, nextRamPfn: { value: 0x100000 } };
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
  /** P2P aliases the first hmm_range_fault() returned */
  aliasesOffered: number;
  /** pages whose DMA mapping failed at hmm_dma_map_pfn() in the first pass */
  mapErrors: number;
  migratedToRam: number;
  /** set when the NIC's fault fails */
  errno?: 'EFAULT';
  /** bytes by path */
  bytes: { migration: number; p2p: number; host: number };
  /** undefined when the fault failed */
  predictedNs?: number;
  mixed: ReturnType<typeof mixedRuns>;
}

const RUNS: [string, bigint, OnMapError][] = [
  ['mainline: migrate to RAM', HMM_PFN_REQ_FAULT, 'fail'],
  ['hmm-allow-p2p, driver fails on a map error (mlx5 populate_mtt)', HMM_PFN_REQ_FAULT | HMM_PFN_ALLOW_P2P, 'fail'],
  ['hmm-allow-p2p, driver retries without ALLOW_P2P (RFC 4/5)', HMM_PFN_REQ_FAULT | HMM_PFN_ALLOW_P2P, 'retry-without-p2p'],
];

const P2P_OK: DmaMapOutcome[] = ['p2p-bus', 'p2p-host-bridge'];

/**
 * The workload: a process's buffer of `pages` pages was migrated to the owner's
 * device-private memory (an accelerator computed into it); the NIC, with ODP,
 * then faults the whole range to send it and DMA-maps every entry. Run as
 * mainline (migration) and with HMM_PFN_ALLOW_P2P under both driver behaviours.
 */
export function compareP2pAlias(m: HostModel, ownerDev: PciDev, client: PciDev, pages: number, hostResident = 0): CompareRun[] {
  const runs: CompareRun[] = [];
  for (const [label, flags, onMapError] of RUNS) {
    const ctx = hmmContext(m, true);
    const owner = ownerOf(ctx, ownerDev);
    const as = new AddressSpace(0x7f00_0000_0000, pages + hostResident);
    as.cpuWrite(0, pages + hostResident, 1);
    migrateToDevice(as, 0, pages, owner, ctx);
    // the NIC's ODP fault: its own owner id is not the accelerator's
    const f = odpFault(as, { first: 0, count: pages + hostResident, defaultFlags: flags, devPrivateOwner: -1 }, client, ctx, onMapError);
    const aliased = f.outcomes.filter((o) => P2P_OK.includes(o)).length * PAGE;
    const migrated = f.migratedToRam * PAGE;
    const hostBytes = (pages + hostResident) * PAGE - aliased;
    const mt = m.p2pdma.mapType(ownerDev, client);
    const p2pGBps = Math.min(linkGBps(ownerDev), linkGBps(client)) * (mt === MapType.THRU_HOST_BRIDGE ? 0.9 : 1);
    // migration: device → RAM over the owner's link, then the NIC reads RAM over its own
    const ns = f.errno ? undefined : migrated / linkGBps(ownerDev) + f.migratedToRam * MIGRATE_PAGE_OVERHEAD_NS + hostBytes / linkGBps(client) + aliased / p2pGBps;
    runs.push({
      label,
      result: f.result,
      aliasesOffered: f.aliasesOffered,
      mapErrors: f.mapErrors,
      migratedToRam: f.migratedToRam,
      errno: f.errno,
      bytes: { migration: migrated, p2p: f.errno ? 0 : aliased, host: f.errno ? 0 : hostBytes },
      predictedNs: ns,
      mixed: mixedRuns(f.result.kinds),
    });
  }
  return runs;
}

export interface MixedMirror {
  encoding: PfnEncoding;
  runs: ReturnType<typeof mixedRuns>;
  /** per run, what the first entry's value tells the caller */
  byValue: string[];
  /** fake device-private PFNs beside DMA-able alias PFNs: the review's concern */
  concern: boolean;
}

/**
 * The owner mirrors a range holding its own device-private pages, pages that
 * another device owns, and RAM, asking for P2P: its own pages come back as fake
 * PFNs (never aliased: an owner is the dev_private_owner of its own pages), the
 * other device's as P2P aliases. Run once per encoding.
 */
export function mirrorMixed(m: HostModel, ownerDev: PciDev, otherDev: PciDev, own: number, foreign: number, ram: number): MixedMirror[] {
  return (['pfn', 'flag-bits'] as const).map((encoding) => {
    const ctx = hmmContext(m, true, encoding);
    const mine = ownerOf(ctx, ownerDev);
    const theirs = ownerOf(ctx, otherDev);
    const as = new AddressSpace(0x7f00_0000_0000, own + foreign + ram);
    as.cpuWrite(0, own + foreign + ram, 1);
    migrateToDevice(as, 0, own, mine, ctx);
    migrateToDevice(as, own, foreign, theirs, ctx);
    const r = hmmRangeFault(as, { first: 0, count: own + foreign + ram, defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_ALLOW_P2P, devPrivateOwner: mine.id }, ctx);
    const runs = mixedRuns(r.kinds);
    return { encoding, runs, byValue: runs.map((x) => readByValue(r.pfns[x.first]!, encoding)), concern: mixesFakeAndAlias(r.kinds) };
  });
}
