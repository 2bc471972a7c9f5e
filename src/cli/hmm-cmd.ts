// p2pemu hmm: the HMM P2P-alias proposal on the model.
//   compare  a NIC with ODP faults an accelerator's device-private pages: migration
//            (mainline) against the proposed P2P alias, with reachability decided
//            where the kernel decides it (the DMA mapping)
//   mixed    an owner mirrors its own private pages beside another device's:
//            the mix of fake and DMA-able PFNs the review objected to, in both encodings

import { KernelError } from '../errno.js';
import { formatBytes, formatNs } from '../model/index.js';
import { bootHostModel, type HostModel } from '../model/index.js';
import { compareP2pAlias, MIGRATE_PAGE_OVERHEAD_NS, mirrorMixed } from '../model/index.js';
import { MAP_TYPE_NAMES } from '../model/index.js';
import type { PciDev } from '../model/index.js';
import { parse, topologyOrExit } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const HMM_USAGE = `usage: p2pemu hmm compare [--topology FILE] [--owner DEV] [--client DEV] [--pages N] [--host-pages N]
       p2pemu hmm mixed [--topology FILE] [--owner DEV] [--other DEV] [--pages N] [--host-pages N]

compare  A process's buffer of N pages sits in an accelerator's device-private
         memory (migrated there with migrate_vma, as test_hmm's dmirror does); a NIC
         with on-demand paging faults the range with hmm_range_fault() and DMA-maps
         every entry. Three runs:
           mainline          the foreign owner's pages migrate back to RAM first
           hmm-allow-p2p     HMM_PFN_ALLOW_P2P (proposal): the owner offers a P2P
                             page of its BAR for every private page, without knowing
                             the client; hmm_dma_map_pfn() then decides reachability
                             (DMA_MAPPING_ERROR when the NIC cannot reach the BAR), and
                             the driver either fails the fault (EFAULT, as mlx5 does)
                             or retries those pages without ALLOW_P2P (RFC 4/5)
         Prints pages migrated, map errors, bytes over each path and the time
         computed from link rates (plus ${MIGRATE_PAGE_OVERHEAD_NS / 1000} µs of migrate_vma work per page, assumed).
mixed    The owner mirrors a range of N of its own device-private pages, N pages
         another device owns and N host pages, asking for P2P: the result array
         mixes fake device-private PFNs with DMA-able P2P alias PFNs (the review's
         concern). Shown as mainline writes it and with the reviewers' alternative
         (a flag bit marks device-private entries), with what the caller can tell
         from each value alone.
  --owner DEV      device-private memory owner (default: the first accelerator)
  --client DEV     compare: the faulting device (default: the first nic)
  --other DEV      mixed: the other owner (default: the second device with device-private memory)
  --pages N        pages (default 256 for compare, 4 for mixed)
  --host-pages N   pages of the buffer still in system RAM (default 0 for compare, 2 for mixed)`;

function count(v: string | undefined, d: number): number {
  const n = v === undefined ? d : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 1 << 20) throw new CliError('page counts must be integers from 0 to 1048576', EXIT_USAGE);
  return n;
}

function compare(m: HostModel, owner: PciDev, client: PciDev, pages: number, hostPages: number): string[] {
  const runs = compareP2pAlias(m, owner, client, pages, hostPages);
  const out = [
    `owner  ${owner.name} ${owner.bdf} (device-private memory)`,
    `client ${client.name} ${client.bdf} (ODP faults); map type of the owner's BAR for the client: ${MAP_TYPE_NAMES[m.p2pdma.mapType(owner, client)]}`,
    'the P2P alias is chosen in hmm_range_fault() without the client; whether the client reaches it is decided in hmm_dma_map_pfn()',
    `time: bytes / link rate (GT/s × lanes × encoding) + ${MIGRATE_PAGE_OVERHEAD_NS / 1000} µs per migrated page (assumed); computed, not measured`,
    '',
  ];
  for (const r of runs) {
    out.push(`${r.label}:`);
    out.push(`  hmm_range_fault: ${r.aliasesOffered} P2P alias(es) returned; hmm_dma_map_pfn: ${r.mapErrors} DMA_MAPPING_ERROR(s); pages migrated to RAM ${r.migratedToRam}`);
    if (r.errno) out.push(`  the NIC's page fault fails: ${r.errno} (nothing moves; the pages stay in device memory)`);
    else {
      out.push(`  bytes: migration ${formatBytes(r.bytes.migration)}, P2P ${formatBytes(r.bytes.p2p)}, NIC from host memory ${formatBytes(r.bytes.host)}`);
      out.push(`  time ${formatNs(r.predictedNs!)}`);
    }
    out.push(`  result array: ${r.mixed.map((x) => `[${x.first}..${x.first + x.count - 1}] ${x.kind}`).join(', ')}`);
  }
  return out;
}

function mixed(m: HostModel, owner: PciDev, other: PciDev, pages: number, hostPages: number): string[] {
  const out = [`owner ${owner.name} mirrors ${pages} pages of its own device-private memory, ${pages} of ${other.name}'s and ${hostPages} host pages (HMM_PFN_ALLOW_P2P)`, ''];
  for (const r of mirrorMixed(m, owner, other, pages, pages, hostPages)) {
    out.push(r.encoding === 'pfn' ? 'as mainline writes the array (device-private entries are PFNs of fake struct pages):' : "with the reviewers' alternative (a flag bit marks a device-private entry, the rest of it is an index):");
    r.runs.forEach((x, i) => out.push(`  [${x.first}..${x.first + x.count - 1}] ${x.kind.padEnd(14)} by value: ${r.byValue[i]}`));
    out.push(
      r.concern
        ? `  ← fake device-private PFNs and DMA-able P2P alias PFNs in one array (the review's concern)${r.encoding === 'pfn' ? '; only a struct page look-up tells them apart' : '; the flag tells them apart'}`
        : '  no fake device-private PFN beside a P2P alias',
      '',
    );
  }
  return out;
}

export async function hmmCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { topology: { type: 'string' }, owner: { type: 'string' }, client: { type: 'string' }, other: { type: 'string' }, pages: { type: 'string' }, 'host-pages': { type: 'string' } },
    HMM_USAGE,
  );
  if (values.help) {
    console.log(HMM_USAGE);
    return 0;
  }
  const sub = positionals[0];
  if ((sub !== 'compare' && sub !== 'mixed') || positionals.length !== 1) throw new CliError(`hmm needs the subcommand compare or mixed\n${HMM_USAGE}`, EXIT_USAGE);
  const m = bootHostModel(topologyOrExit(values.topology));
  const find = (id: string) => {
    const d = m.pci.find(id);
    if (!d) throw new CliError(`no device "${id}"`, EXIT_USAGE);
    return d;
  };
  const owners = m.pci.sorted().filter((d) => (d.endpoint?.devicePrivate ?? 0) > 0 && d.driver);
  const owner = values.owner ? find(values.owner) : owners[0];
  if (!owner) throw new CliError('the topology has no device with device-private memory', EXIT_USAGE);
  try {
    if (sub === 'compare') {
      const client = values.client ? find(values.client) : m.pci.sorted().find((x) => x.role === 'nic' && x.driver);
      if (!client) throw new CliError('the topology has no nic: name the faulting device with --client', EXIT_USAGE);
      console.log(compare(m, owner, client, count(values.pages, 256), count(values['host-pages'], 0)).join('\n'));
    } else {
      const other = values.other ? find(values.other) : owners.find((d) => d !== owner);
      if (!other) throw new CliError('mixed needs a second device with device-private memory: give --other DEV, or a topology with two accelerators (scripts/topologies/eight-accelerators.yaml)', EXIT_USAGE);
      console.log(mixed(m, owner, other, count(values.pages, 4), count(values['host-pages'], 2)).join('\n'));
    }
  } catch (err) {
    if (err instanceof KernelError) throw new CliError(err.message);
    throw err;
  }
  return 0;
}
