// Distance and map type between a provider and a client
// (calc_map_type_and_dist, drivers/pci/p2pdma.c [PCI-NEXT], with the
// corrections of kernel-facts §11), returning a trace for `p2pemu explain`.

import { readAcsCtrl, PCI_ACS_CR, PCI_ACS_EC, PCI_ACS_RR, devPrefix, pciUpstreamBridge, type PciDev } from '../pci/index.js';
import type { CpuSpec } from '../../config/index.js';
import { KERN_WARNING, type KernelLog } from '../klog.js';
import { cpuSupportsP2pdma, findWhitelistEntry, REQ_SAME_HOST_BRIDGE, type WhitelistEntry } from './whitelist.js';

// kernel: enum pci_p2pdma_map_type, include/linux/pci-p2pdma.h [RDMA-NEXT]
export const MapType = {
  UNKNOWN: 0,
  NONE: 1,
  NOT_SUPPORTED: 2,
  BUS_ADDR: 3,
  THRU_HOST_BRIDGE: 4,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

export const MAP_TYPE_NAMES: Record<MapType, string> = {
  0: 'UNKNOWN',
  1: 'NONE',
  2: 'NOT_SUPPORTED',
  3: 'BUS_ADDR',
  4: 'THRU_HOST_BRIDGE',
};

/** The ACS bits that make a node redirect peer traffic upstream. */
const ACS_REDIRECT = PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC;
/** pci=disable_acs_redir= hint buffer: 128 bytes, so at most 127 characters (§11.5). */
const ACS_LIST_MAX = 127;

export interface HostBridgeDecision {
  rule: 'cpu' | 'whitelist' | 'refused';
  /** for whitelist decisions: the matching entries or the failing device */
  detail: string;
}

export interface MapTrace {
  mapType: MapType;
  dist: number;
  providerChain: string[];
  clientChain: string[];
  /** the nearest common upstream node, if the chains meet */
  common: string | undefined;
  /** nodes whose ACS control has RR, CR or EC, in the order the walk met them */
  acsRedirect: { bdf: string; ctrl: number }[];
  hostBridge: HostBridgeDecision | undefined;
  /** what a real kernel would print for a verbose computation */
  logLines: string[];
}

export interface MapContext {
  cpu: CpuSpec;
  klog?: KernelLog;
}

// kernel: pci_bridge_has_acs_redir(), drivers/pci/p2pdma.c [PCI-NEXT]
/** Reads ACS Control from config space, so a setpci change is seen by later computations. */
export function bridgeHasAcsRedir(dev: PciDev): boolean {
  const ctrl = readAcsCtrl(dev);
  return ctrl !== undefined && (ctrl & ACS_REDIRECT) !== 0;
}

/** dev, then each pci_upstream_bridge() above it: a VF's next step is its PF's bridge, never the PF */
function chain(dev: PciDev): PciDev[] {
  const out: PciDev[] = [];
  for (let d: PciDev | undefined = dev; d; d = pciUpstreamBridge(d)) out.push(d);
  return out;
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

// kernel: __host_bridge_whitelist(), drivers/pci/p2pdma.c [PCI-NEXT]
function hostBridgeListed(dev: PciDev, sameHostBridge: boolean, warn: boolean, lines: string[]): WhitelistEntry | undefined {
  const root = dev.hostBridge.whitelistDevice();
  if (!root) return undefined;
  const entry = findWhitelistEntry(root.ids.vendor, root.ids.device);
  if (entry) {
    // REQ_SAME_HOST_BRIDGE across two host bridges: refused, and silently (§11.6)
    if (entry.flags & REQ_SAME_HOST_BRIDGE && !sameHostBridge) return undefined;
    return entry;
  }
  if (warn) lines.push(`${devPrefix(root)}Host bridge not in P2PDMA whitelist: ${hex4(root.ids.vendor)}:${hex4(root.ids.device)}`);
  return undefined;
}

// kernel: host_bridge_whitelist(), drivers/pci/p2pdma.c [PCI-NEXT]
function hostBridgeDecision(a: PciDev, b: PciDev, warn: boolean, lines: string[]): HostBridgeDecision {
  const name = (d: PciDev) => {
    const r = d.hostBridge.whitelistDevice();
    return r ? `${r.bdf} [${hex4(r.ids.vendor)}:${hex4(r.ids.device)}]` : `${d.hostBridge.name} (no usable root device)`;
  };
  if (a.hostBridge === b.hostBridge) {
    const e = hostBridgeListed(a, true, warn, lines);
    return e ? { rule: 'whitelist', detail: `${name(a)} is listed (${e.what})` } : { rule: 'refused', detail: `${name(a)} is not on the whitelist` };
  }
  // Both must be listed; the client's bridge is not looked at once the provider's failed (§11.6).
  const ea = hostBridgeListed(a, false, warn, lines);
  if (!ea) return { rule: 'refused', detail: `different host bridges and the provider's ${name(a)} does not qualify` };
  const eb = hostBridgeListed(b, false, warn, lines);
  if (!eb) return { rule: 'refused', detail: `different host bridges and the client's ${name(b)} does not qualify` };
  return { rule: 'whitelist', detail: `different host bridges, both listed: ${name(a)} (${ea.what}), ${name(b)} (${eb.what})` };
}

/**
 * What a computation for (provider, client) read: every node on both upstream
 * paths with its ACS Control. The kernel never invalidates a cached map type;
 * when these inputs differ from the ones a cached entry was computed from, the
 * entry describes a machine that no longer exists (a setpci since, a removal
 * and rescan) while DMA keeps using it.
 */
export function mapTypeInputs(provider: PciDev, client: PciDev): string {
  const path = (dev: PciDev) => chain(dev).map((d) => `${d.bdf}=${readAcsCtrl(d) ?? '-'}`).join(' ');
  return `${path(provider)} | ${path(client)}`;
}

// kernel: calc_map_type_and_dist(), drivers/pci/p2pdma.c [PCI-NEXT]
export function calcMapTypeAndDist(provider: PciDev, client: PciDev, verbose: boolean, ctx: MapContext): MapTrace {
  const aChain = chain(provider);
  const bChain = chain(client);
  const acs: { bdf: string; ctrl: number }[] = [];
  const lines: string[] = [];
  const noteAcs = (d: PciDev) => {
    if (bridgeHasAcsRedir(d)) acs.push({ bdf: d.bdf, ctrl: readAcsCtrl(d)! });
  };
  let common: PciDev | undefined;
  let distA = 0;
  let distB = 0;
  for (const a of aChain) {
    noteAcs(a);
    const i = bChain.indexOf(a);
    if (i >= 0) {
      common = a;
      distB = i;
      break;
    }
    distA++;
  }
  const trace = (mapType: MapType, dist: number, hostBridge?: HostBridgeDecision): MapTrace => ({
    mapType,
    dist,
    providerChain: aChain.map((d) => d.bdf),
    clientChain: bChain.map((d) => d.bdf),
    common: common?.bdf,
    acsRedirect: common ? acs : [],
    hostBridge,
    logLines: lines,
  });

  let acsRedirects = false;
  let dist: number;
  if (common) {
    // the client's side of the path, up to (not including) the common node
    for (const b of bChain.slice(0, distB)) noteAcs(b);
    dist = distA + distB;
    if (acs.length === 0) return finish(trace(MapType.BUS_ADDR, dist), ctx);
    if (verbose) {
      const list = acs.map((x) => x.bdf).join(';').slice(0, ACS_LIST_MAX);
      lines.push(`${devPrefix(client)}ACS redirect is set between the client and provider (${provider.bdf})`);
      lines.push(`${devPrefix(client)}to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${list}`);
    }
    acsRedirects = true;
  } else {
    // no common upstream node: ACS is not looked at (§11.4)
    dist = aChain.length + bChain.length;
  }

  if (cpuSupportsP2pdma(ctx.cpu)) {
    return finish(trace(MapType.THRU_HOST_BRIDGE, dist, { rule: 'cpu', detail: `${ctx.cpu.vendor} family 0x${ctx.cpu.family.toString(16)} (≥ 0x17) allows any host bridge` }), ctx);
  }
  const hb = hostBridgeDecision(provider, client, acsRedirects, lines);
  if (hb.rule === 'whitelist') return finish(trace(MapType.THRU_HOST_BRIDGE, dist, hb), ctx);
  if (verbose) {
    lines.push(
      `${devPrefix(client)}cannot be used for peer-to-peer DMA as the client and provider (${provider.bdf}) do not share an upstream bridge or whitelisted host bridge`,
    );
  }
  return finish(trace(MapType.NOT_SUPPORTED, dist, hb), ctx);
}

function finish(t: MapTrace, ctx: MapContext): MapTrace {
  if (ctx.klog) for (const l of t.logLines) ctx.klog.log(KERN_WARNING, l);
  return t;
}
