// p2pemu report: compound pages for P2P memory under a folio policy, in counts
// from the kernel's rules and times measured on this machine, beside the
// cover letter's reference figures.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseSize } from '../config/sizes.js';
import { FOLIO_POLICIES, PMD_SIZE, PUD_SIZE, type FolioPolicy } from '../model/mm/folio.js';
import { bootHostModel } from '../model/host-model.js';
import { readRecord } from '../daemon/registry.js';
import { DEFAULT_TOPOLOGY_NAME } from '../config/default-topology.js';
import { parse, topologyOrExit } from './args.js';
import { hostCosts, type CalibrationMode } from './calibration.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { entryCostLines } from './cost-format.js';
import { applyFolioPolicy, folioSpec, liveLines, pinLines, providerLines, refusalLines, tradeOffLines } from './report-tables.js';

export const REPORT_USAGE = `usage: p2pemu report [MOUNTPOINT] [--topology FILE] [--policy base|device-align|best-effort] [--align 2MiB|1GiB]
                     [--recalibrate | --no-calibration]

Compound pages for P2P memory, in five parts:
  costs       what one page-table entry costs: measured on this machine (a small C
              helper, built and run once per boot) beside the compound-page cover
              letter's figures, shown as a reference and fitted to nothing
  providers   per provider: policy, folio, struct pages backed at registration
              (de-duplicated only for a device-wide folio size), the entries to map
              all of it and the time, in both columns
  refused     every range that did not register, with the rule that refused it
  trade-off   every policy at 2 MiB and at 1 GiB folios on the same topology:
              registered memory, struct pages, entries, what a small mapping gets
  pin         O_DIRECT pin cost for 1 MiB .. 1 GiB: measured on 4 KiB pages and
              2 MiB THPs here, then modelled for P2P memory under each policy
With MOUNTPOINT (and no --topology: the topology that mount was made from), also
every live allocation of that mount with its folios, entries and times.
  --policy P          apply P to every provider (default: what the topology says)
  --align S           folio size for device-align / largest tried by best-effort
  --recalibrate       measure again instead of reusing this boot's measurement
  --no-calibration    measure nothing (the measured-here column says so)`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { topology: { type: 'string' }, policy: { type: 'string' }, align: { type: 'string' }, recalibrate: { type: 'boolean' }, 'no-calibration': { type: 'boolean' } },
    REPORT_USAGE,
  );
  if (values.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new CliError(`report takes at most one MOUNTPOINT\n${REPORT_USAGE}`, EXIT_USAGE);
  if (values.policy !== undefined && !(FOLIO_POLICIES as readonly string[]).includes(values.policy)) {
    throw new CliError(`--policy must be one of: ${FOLIO_POLICIES.join(', ')}`, EXIT_USAGE);
  }
  if (values.recalibrate && values['no-calibration']) throw new CliError('--recalibrate and --no-calibration contradict each other', EXIT_USAGE);
  const align = values.align === undefined ? undefined : parseSize(values.align);
  if (values.align !== undefined && align !== PMD_SIZE && align !== PUD_SIZE) throw new CliError('--align must be 2MiB or 1GiB', EXIT_USAGE);
  // with a mount point and no --topology: the topology that mount was made from
  const rec = positionals[0] && values.topology === undefined ? readRecord(resolve(positionals[0])) : undefined;
  const file = values.topology ?? (rec && rec.topology !== DEFAULT_TOPOLOGY_NAME ? rec.topology : undefined);
  const load = () => topologyOrExit(file);
  const mode: CalibrationMode = values['no-calibration'] ? 'off' : values.recalibrate ? 'fresh' : 'cached';

  const spec = load();
  if (values.policy) {
    const policy = values.policy as FolioPolicy;
    applyFolioPolicy(spec, folioSpec(policy, align ?? (policy === 'best-effort' ? PUD_SIZE : PMD_SIZE)));
  }
  const m = bootHostModel(spec);
  const costs = hostCosts(mode);
  const out = [
    ...entryCostLines(costs),
    '',
    `providers (${values.policy ? `--policy ${values.policy}` : 'policies as the topology says'}):`,
    ...providerLines(m, costs),
    '',
    ...refusalLines(m),
    '',
    'trade-off, like with like:',
    ...tradeOffLines(load, costs),
    '',
    'O_DIRECT pin cost (pinning the user buffer, GUP):',
    ...pinLines(costs),
  ];
  if (positionals[0]) {
    const mnt = resolve(positionals[0]);
    let live: string;
    try {
      live = readFileSync(join(mnt, 'sys/kernel/debug/p2pemu/folios'), 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${mnt}/sys/kernel/debug/p2pemu/folios (${(err as NodeJS.ErrnoException).code}): is it a p2pemu mount?`);
    }
    out.push('', `live on ${mnt}:`, ...liveLines(live, costs));
  }
  console.log(out.join('\n'));
  return 0;
}
