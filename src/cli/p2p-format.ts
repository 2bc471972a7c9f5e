// P2P views of a topology: the provider × client matrix (like nvidia-smi topo
// -m) and the step-by-step explanation of one pair's decision.

import { acsText } from './topo-format.js';
import { calcMapTypeAndDist, MAP_TYPE_NAMES, MapType, type MapTrace } from '../model/index.js';
import type { HostModel } from '../model/index.js';
import { readAcsCtrl, type PciDev } from '../model/index.js';

const SHORT: Record<number, string> = {
  [MapType.BUS_ADDR]: 'BUS',
  [MapType.THRU_HOST_BRIDGE]: 'HB',
  [MapType.NOT_SUPPORTED]: 'NO',
};

export function clientsOf(m: HostModel): PciDev[] {
  return m.pci.sorted().filter((d) => !d.isBridge && d.role !== 'host_bridge');
}

/** Functions that could expose P2P memory: not bridges, with a memory BAR (bars holds memory BARs only). */
function withMemoryBar(m: HostModel): PciDev[] {
  return clientsOf(m).filter((d) => d.bars.length > 0);
}

/** `providers`: the columns; default the registered providers, else every function with a memory BAR. */
export interface LiveView {
  /** where the model runs: cells and explanations add the map-type cache the I/O path uses */
  mountpoint: string;
}

export function formatMatrix(m: HostModel, chosen?: PciDev[], live?: LiveView): string {
  const registered = m.p2pdma.allProviders().map((p) => p.dev);
  const fallback = !chosen && registered.length === 0;
  const providers = (chosen ?? (fallback ? withMemoryBar(m) : registered)).sort((a, b) => a.bdf.localeCompare(b.bdf));
  const clients = clientsOf(m);
  if (providers.length === 0) return 'no function registers P2P memory or has a memory BAR in this topology\n';
  const cpu = m.pci.spec.cpu;
  const label = (d: PciDev) => `${d.name} ${d.bdf.slice(5)}`;
  const w0 = Math.max(...clients.map((c) => label(c).length), 'client \\ provider'.length);
  const cols = providers.map((p) => Math.max(label(p).length, 8));
  const lines = [
    ['client \\ provider'.padEnd(w0), ...providers.map((p, i) => label(p).padEnd(cols[i]!))].join('  '),
  ];
  let stale = 0;
  for (const c of clients) {
    const cells = providers.map((p, i) => {
      const t = calcMapTypeAndDist(p, c, false, { cpu });
      // live: DMA uses the cached map type where there is one, however old
      const cached = live ? m.p2pdma.cachedMapType(p, c) : undefined;
      if (cached?.computedBeforeChange) stale++;
      const text = `${SHORT[cached?.type ?? t.mapType]}(${t.dist})${cached?.computedBeforeChange ? '*' : ''}`;
      return text.padEnd(cols[i]!);
    });
    lines.push([label(c).padEnd(w0), ...cells].join('  ').trimEnd());
  }
  if (live) lines.unshift(`live on ${live.mountpoint}: the map type DMA uses (the provider's cache where it holds the pair, else what the first mapping computes)`, '');
  lines.push(
    '',
    'BUS(n)  PCI_P2PDMA_MAP_BUS_ADDR: switch-local, bus addresses, distance n',
    'HB(n)   PCI_P2PDMA_MAP_THRU_HOST_BRIDGE: through a whitelisted host bridge (or an AMD Zen CPU)',
    'NO(n)   PCI_P2PDMA_MAP_NOT_SUPPORTED: DMA mapping fails (EREMOTEIO)',
    'a function with itself (provider = client) is computed like any pair: where its own ACS redirects, through the host bridge (HB, or NO)',
  );
  // the decision does not depend on the provider having registered memory (calc_map_type_and_dist looks at the path only)
  if (fallback) lines.push('', 'no function registers P2P memory: the columns are every function with a memory BAR (choose with --providers)');
  if (stale) lines.push('*       cached before its path changed (setpci, remove and rescan) and never invalidated: DMA still uses it; p2pemu explain --mount shows both answers');
  return lines.join('\n') + '\n';
}

function chainText(devs: string[], m: HostModel, t: MapTrace, stopAt: string | undefined): string {
  const out: string[] = [];
  for (const bdf of devs) {
    const d = m.pci.find(bdf)!;
    const ctrl = readAcsCtrl(d);
    const redirect = t.acsRedirect.some((x) => x.bdf === bdf);
    const acs = ctrl === undefined ? '' : ` [${acsText(ctrl)}${redirect ? ': redirects' : ''}]`;
    out.push(`${bdf} ${d.name}${acs}`);
    if (bdf === stopAt) break;
  }
  return out.join(' → ');
}

/** What the provider's map-type cache holds for the pair: what DMA between them uses on a live machine. */
function cacheLines(m: HostModel, client: PciDev, provider: PciDev, fresh: MapTrace): string[] {
  const head = `map-type cache of ${provider.name} (what DMA between the pair uses):`;
  if (!m.p2pdma.providerOf(provider)) return [head, `  none: ${provider.name} registers no P2P memory`];
  const cached = m.p2pdma.cachedMapType(provider, client);
  if (!cached) return [head, '  nothing cached yet: the first DMA mapping computes the result above (and logs the lines below)'];
  const name = MAP_TYPE_NAMES[cached.type];
  if (!cached.computedBeforeChange) return [head, `  ${name}, computed from the paths as they are now`];
  const differs = cached.type !== fresh.mapType ? `; computed now it would be ${MAP_TYPE_NAMES[fresh.mapType]}` : '; computed now it would be the same';
  return [head, `  ${name}, computed before these paths changed and never invalidated: DMA keeps using it until ${provider.name}'s driver is rebound${differs}`];
}

export function formatExplain(m: HostModel, client: PciDev, provider: PciDev, live?: LiveView): string {
  const cpu = m.pci.spec.cpu;
  const t = calcMapTypeAndDist(provider, client, true, { cpu });
  const lines = [
    `client:   ${client.name} ${client.bdf} (${client.role})`,
    `provider: ${provider.name} ${provider.bdf} (${provider.role})${m.p2pdma.providerOf(provider) ? '' : '  note: this device registers no P2P memory'}`,
    '',
    `provider path: ${chainText(t.providerChain, m, t, t.common)}`,
    `client path:   ${chainText(t.clientChain, m, t, t.common)}`,
  ];
  if (t.common) {
    lines.push(`nearest common upstream: ${t.common} ${m.pci.find(t.common)!.name}; distance ${t.dist}`);
    if (t.acsRedirect.length === 0) lines.push('ACS: no node up to the common one redirects (RR/CR/EC clear) → bus addresses');
    else lines.push(`ACS: redirect (RR, CR or EC) set on ${t.acsRedirect.map((x) => x.bdf).join(', ')} → traffic goes up to the host bridge`);
  } else {
    lines.push(`no common upstream bridge (the paths meet only at the host bridge); distance ${t.dist} = ${t.providerChain.length} + ${t.clientChain.length}; ACS is not looked at`);
  }
  if (t.hostBridge) lines.push(`host bridge: ${t.hostBridge.rule === 'cpu' ? 'CPU rule: ' : t.hostBridge.rule === 'whitelist' ? 'whitelist: ' : 'refused: '}${t.hostBridge.detail}`);
  lines.push('', `result: ${MAP_TYPE_NAMES[t.mapType]}, distance ${t.dist}${live ? ` (live on ${live.mountpoint})` : ''}`);
  if (live) lines.push(...cacheLines(m, client, provider, t));
  lines.push('', 'kernel log of the first DMA mapping of this pair (pci_p2pdma_map_type, verbose):');
  lines.push(...(t.logLines.length ? t.logLines.map((l) => `  ${l}`) : ['  (nothing: this path logs no warning)']));
  return lines.join('\n') + '\n';
}
