// p2pemu scenario: experiments from the mailing-list threads, run on the model.
//   compound-review   the review's example from the compound-page thread
//   sequence          a user's own mmap/munmap sequence on a small CMB, per folio policy
//   dmabuf-flow       the NVMe exports its CMB as a dma-buf, beside O_DIRECT into p2pmem

import { readFileSync } from 'node:fs';
import { parseTopology } from '../config/index.js';
import { formatSize } from '../config/index.js';
import { KernelError } from '../errno.js';
import { mmapNs } from '../model/index.js';
import { FOLIO_POLICIES, PAGE_SIZE, PMD_SIZE, PUD_SIZE, type FolioPolicy, type PageTableEntries } from '../model/index.js';
import { formatBytes, formatBytesExact, formatEntries, formatFolios } from '../model/index.js';
import { bootHostModel } from '../model/index.js';
import type { P2pAllocation } from '../model/index.js';
import { parse, topologyOrExit } from './args.js';
import { hostCosts, type CalibrationMode } from './calibration.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { entryCostLines, mmapCells, table } from './cost-format.js';
import { dmabufFlowReport, FLOW_TOPOLOGY } from './dmabuf-flow.js';
import { refusalLines } from './report-tables.js';
import { parseSequence, SequenceError, type Placement, type Sequence } from './sequence.js';

export const SCENARIO_USAGE = `usage: p2pemu scenario compound-review [--recalibrate | --no-calibration]
       p2pemu scenario sequence (FILE | -e STEPS) [--recalibrate | --no-calibration]
       p2pemu scenario dmabuf-flow [--topology FILE] [--bytes SIZE]   (default: an NVMe and an accelerator under one switch)

compound-review  The review's example for "Enable compound page for p2pdma memory":
                 a 4 MiB CMB; app1 maps 4 KiB, then app2 maps 2 MiB at a 2 MiB-aligned
                 address. Per folio policy: placement, folios, entries, the mmap time
                 measured here and the cover letter's reference, or the refusal.
sequence         Your own allocation sequence, run under every folio policy: per step
                 the placement or refusal, folios and entries; after each step the
                 pool's fragmentation (largest free block, largest folio-aligned free
                 block); per policy the refusals and the entries still mapped.
                 FILE ("-" for stdin) has one step per line; -e takes steps separated
                 by ";". Steps:
                   memory 4MiB                 P2P memory of the CMB (default 4MiB)
                   align 2MiB                  folio size (2MiB or 1GiB, default 2MiB)
                   app1: mmap a 4KiB           process app1 maps 4 KiB, calls it a
                   app2: mmap b 2MiB unaligned ... 4 KiB past a folio boundary
                   app2: mmap c 2MiB at 0x7f0000200000   ... at that address
                   app1: munmap a              a's pages return to the pool
                 Without a placement a mapping is aligned to its largest folio, as the
                 series' get_unmapped_area does. "#" starts a comment.
                 example: p2pemu scenario sequence -e 'app1: mmap a 4KiB; app2: mmap b 2MiB; app1: munmap a; app3: mmap c 2MiB'
dmabuf-flow      The alternative flow of the dma-buf thread: the NVMe exports its CMB as
                 a dma-buf and an accelerator imports it (no read/write syscall), beside
                 O_DIRECT from the NVMe into the accelerator's p2pmem: who moves the
                 bytes over which path, what needs struct pages, where each can fail.
  --recalibrate       measure this machine's costs again
  --no-calibration    measure nothing (the measured-here column says so)
  --bytes SIZE        dmabuf-flow: bytes to move (default 1GiB)`;

export const REVIEW_SEQUENCE = 'memory 4MiB; app1: mmap a 4KiB at 0x7f1234561000; app2: mmap b 2MiB at 0x7f1234600000';

function cmbTopology(memory: number, policy: FolioPolicy, align: number): string {
  const folios = policy === 'base' ? '' : `, folios: ${policy}, align: ${formatSize(align)}`;
  return `name: sequence
host_bridges:
  - children:
      - kind: root_port
        slot: "01.0"
        children:
          - { kind: nvme, name: nvme0, use_cmb_sqes: false, cmb: { size: ${formatSize(memory)}, bar: 2${folios} } }
`;
}

/** 64 GiB of address space per process: 32 processes fit below the 47-bit user limit */
const PROC_SPAN = 2 ** 36;

/** Each process maps at its own addresses: aligned to the mapping's largest folio unless told otherwise. */
class AddressPicker {
  private readonly next = new Map<string, number>();

  pick(proc: string, size: number, place: Placement): number {
    if (typeof place === 'object') return place.at;
    const base = this.next.get(proc) ?? 0x7e00_0000_0000 + this.next.size * PROC_SPAN;
    const folio = size >= PUD_SIZE ? PUD_SIZE : size >= PMD_SIZE ? PMD_SIZE : PAGE_SIZE;
    const aligned = Math.ceil(base / folio) * folio;
    const va = place === 'unaligned' ? aligned + PAGE_SIZE : aligned;
    this.next.set(proc, va + Math.ceil(size / PUD_SIZE) * PUD_SIZE);
    return va;
  }
}

const POLICY_LABEL: Record<FolioPolicy, string> = {
  base: 'mainline: 4 KiB pages, first fit',
  'device-align': 'the series: one folio size for the whole pgmap',
  'best-effort': 'the review: the largest folio an aligned range still allows, per mmap',
};

const addEntries = (a: PageTableEntries, b: PageTableEntries, sign = 1): PageTableEntries => ({ pte: a.pte + sign * b.pte, pmd: a.pmd + sign * b.pmd, pud: a.pud + sign * b.pud });

/** One policy's run of the sequence: a table of steps, then what is left. */
export function runSequence(seq: Sequence, policy: FolioPolicy, costs: ReturnType<typeof hostCosts>): string[] {
  const m = bootHostModel(parseTopology('sequence', cmbTopology(seq.memory, policy, seq.align)));
  const dev = m.pci.find('nvme0')!;
  const provider = m.p2pdma.providerOf(dev);
  const out = [`${policy} (${POLICY_LABEL[policy]}${policy === 'base' ? '' : `, ${formatBytes(seq.align)} folios`}):`];
  if (!provider) return [...out, ...refusalLines(m).map((l) => `  ${l}`), '  every mmap fails: ENODEV (the device has no P2P memory)', ''];
  const start = provider.pool.chunks[0]!.start;
  const addrs = new AddressPicker();
  const mapped = new Map<string, P2pAllocation>();
  const pids = new Map<string, number>();
  let entries: PageTableEntries = { pte: 0, pmd: 0, pud: 0 };
  let refused = 0;
  const rows = [['  step', 'result', 'folios', 'entries', 'measured here', 'cover-letter ref', 'largest free', `largest ${formatBytes(seq.align)}-aligned free`]];
  for (const step of seq.steps) {
    let cells: string[];
    if (step.op === 'munmap') {
      const a = mapped.get(step.name);
      if (a) {
        m.p2pdma.freeMmap(a);
        mapped.delete(step.name);
        entries = addEntries(entries, a.folio!.entries, -1);
        cells = [`freed ${formatBytesExact(a.size)} at offset 0x${(a.addr - start).toString(16)}`, '', '', '', ''];
      } else cells = ['nothing to unmap (its mmap was refused)', '', '', '', ''];
    } else {
      if (!pids.has(step.proc)) pids.set(step.proc, 1000 + pids.size);
      const va = addrs.pick(step.proc, step.size, step.place);
      const logged = m.klog.all().length;
      try {
        const a = m.p2pdma.allocMmap(dev, { len: step.size, pgoff: 0, shared: true, pid: pids.get(step.proc)!, comm: step.proc, va });
        mapped.set(step.name, a);
        entries = addEntries(entries, a.folio!.entries);
        cells = [`at offset 0x${(a.addr - start).toString(16)}, va 0x${va.toString(16)}`, formatFolios(a), formatEntries(a.folio!.entries), ...mmapCells(a.folio!.entries, costs)];
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        refused++;
        cells = [`refused (${err.code}): ${m.klog.all().length > logged ? m.klog.all().at(-1)!.text : `${err.message.slice(err.code.length + 2)} (the kernel logs nothing)`}`, '', '', '', ''];
      }
    }
    rows.push([`  ${step.text}`, ...cells, formatBytesExact(provider.pool.largestFree()), formatBytesExact(provider.pool.largestAlignedFree(seq.align))]);
  }
  const total = mmapNs(entries, costs.entries);
  out.push(...table(rows));
  out.push(`  ${refused} refused; still mapped: ${formatEntries(entries)}${total === undefined ? '' : ` (measured here ${mmapCells(entries, costs)[0]})`}`, '');
  return out;
}

function sequenceReport(seq: Sequence, costs: ReturnType<typeof hostCosts>, title: string): string {
  const out = [title, '', ...entryCostLines(costs), ''];
  for (const policy of FOLIO_POLICIES) out.push(...runSequence(seq, policy, costs));
  return out.join('\n');
}

export function compoundReview(mode: CalibrationMode = 'cached'): string {
  const seq = parseSequence(REVIEW_SEQUENCE, 'compound-review', true);
  return (
    sequenceReport(seq, hostCosts(mode), '4 MiB CMB (BAR 2 of nvme0); app1 maps 4 KiB, then app2 maps 2 MiB at a 2 MiB-aligned address') +
    "\nthe reviewers' point: device-align refuses the small mapping outright; best-effort serves it with a base page\n" +
    'and still gives the 2 MiB mapping an aligned 2 MiB folio (one PMD), where base pages need 512 PTEs.\n'
  );
}

function readSteps(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, EXIT_USAGE);
  }
}

export async function scenarioCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { e: { type: 'string', short: 'e' }, topology: { type: 'string' }, bytes: { type: 'string' }, recalibrate: { type: 'boolean' }, 'no-calibration': { type: 'boolean' } },
    SCENARIO_USAGE,
  );
  if (values.help) {
    console.log(SCENARIO_USAGE);
    return 0;
  }
  if (values.recalibrate && values['no-calibration']) throw new CliError('--recalibrate and --no-calibration contradict each other', EXIT_USAGE);
  const mode: CalibrationMode = values['no-calibration'] ? 'off' : values.recalibrate ? 'fresh' : 'cached';
  const [name, ...rest] = positionals;
  if (name === 'compound-review' && rest.length === 0) {
    process.stdout.write(compoundReview(mode));
    return 0;
  }
  if (name === 'sequence') {
    if ((values.e === undefined) === (rest.length === 0) || rest.length > 1) throw new CliError(`sequence takes one FILE or -e STEPS\n${SCENARIO_USAGE}`, EXIT_USAGE);
    let seq: Sequence;
    try {
      seq = values.e !== undefined ? parseSequence(values.e, '-e', true) : parseSequence(readSteps(rest[0]!), rest[0]!);
    } catch (err) {
      if (err instanceof SequenceError) throw new CliError(err.message, EXIT_USAGE);
      throw err;
    }
    process.stdout.write(sequenceReport(seq, hostCosts(mode), `a ${formatBytes(seq.memory)} CMB (BAR 2 of nvme0), ${seq.steps.length} steps`) + '\n');
    return 0;
  }
  if (name === 'dmabuf-flow' && rest.length === 0) {
    process.stdout.write(dmabufFlowReport(values.topology ? topologyOrExit(values.topology) : parseTopology('dmabuf-flow', FLOW_TOPOLOGY), values.bytes));
    return 0;
  }
  throw new CliError(`unknown scenario${name ? ` "${[name, ...rest].join(' ')}"` : ''}\n${SCENARIO_USAGE}`, EXIT_USAGE);
}
