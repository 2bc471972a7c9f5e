// p2pemu scenario compound-review: the reviewers' example from the compound
// page thread, run under each folio policy on the model.

import { parseTopology } from '../config/parse-topology.js';
import { KernelError } from '../errno.js';
import { FOLIO_POLICIES, predictedMmapNs, type FolioPolicy } from '../model/mm/folio.js';
import { formatEntries, formatFolios, formatNs } from '../model/mm/folio-report.js';
import { bootHostModel } from '../model/host-model.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const SCENARIO_USAGE = `usage: p2pemu scenario compound-review

The review's scenario for "Enable compound page for p2pdma memory": a 4 MiB CMB;
application 1 maps 4 KiB, then application 2 maps 2 MiB at a 2 MiB-aligned
address. For each folio policy: where each mapping lands in the CMB, its folios,
the page-table entries, the predicted mmap cost, or the refusal.`;

const APP1_VA = 0x7f12_3456_1000;
const APP2_VA = 0x7f12_3460_0000; // 2 MiB aligned

function cmbTopology(policy: FolioPolicy): string {
  const folios = policy === 'base' ? '' : `, folios: ${policy}, align: 2MiB`;
  return `name: compound-review
host_bridges:
  - children:
      - kind: root_port
        slot: "01.0"
        children:
          - { kind: nvme, name: nvme0, use_cmb_sqes: false, cmb: { size: 4MiB, bar: 2${folios} } }
`;
}

export function compoundReview(): string {
  const out = ['4 MiB CMB (BAR 2 of nvme0); app1 maps 4 KiB at 0x7f1234561000, then app2 maps 2 MiB at 0x7f1234600000', ''];
  for (const policy of FOLIO_POLICIES) {
    const m = bootHostModel(parseTopology('compound-review', cmbTopology(policy)));
    const dev = m.pci.find('nvme0')!;
    out.push(`${policy}:`);
    for (const [app, len, va] of [['app1', 4096, APP1_VA], ['app2', 2 ** 21, APP2_VA]] as const) {
      try {
        const a = m.p2pdma.allocMmap(dev, { len, pgoff: 0, shared: true, pid: app === 'app1' ? 1001 : 1002, comm: app, va });
        const f = a.folio!;
        const cmbOffset = a.addr - m.p2pdma.providerOf(dev)!.pool.chunks[0]!.start;
        out.push(
          `  ${app}: ${len >= 2 ** 20 ? `${len / 2 ** 20} MiB` : `${len / 1024} KiB`} at CMB offset 0x${cmbOffset.toString(16)}, folios ${formatFolios(a)}, ` +
            `entries ${formatEntries(f.entries)}, predicted mmap ${formatNs(predictedMmapNs(f.entries))}`,
        );
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        out.push(`  ${app}: refused (${err.code}): ${m.klog.all().at(-1)?.text ?? err.message}`);
      }
    }
  }
  out.push(
    '',
    "the reviewers' point: device-align refuses the small mapping outright; best-effort serves it with a base page",
    'and still gives the 2 MiB mapping an aligned 2 MiB folio (one PMD), where base pages need 512 PTEs.',
  );
  return out.join('\n') + '\n';
}

export async function scenarioCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {}, SCENARIO_USAGE);
  if (values.help) {
    console.log(SCENARIO_USAGE);
    return 0;
  }
  if (positionals[0] !== 'compound-review' || positionals.length !== 1) throw new CliError(`unknown scenario${positionals[0] ? ` "${positionals[0]}"` : ''}\n${SCENARIO_USAGE}`, EXIT_USAGE);
  process.stdout.write(compoundReview());
  return 0;
}
