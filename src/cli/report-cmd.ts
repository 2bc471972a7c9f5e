// p2pemu report: compound pages for P2P memory under a folio policy, in counts
// from the kernel's rules and times measured on this machine, beside the
// cover letter's reference figures.

import { parseSize } from '../config/index.js';
import type { TopologySpec } from '../config/index.js';
import type { ControlRequest, LiveHost } from '../daemon/index.js';
import { FOLIO_POLICIES, PMD_SIZE, PUD_SIZE, type FolioPolicy } from '../model/index.js';
import { foliosText } from '../model/index.js';
import type { HostCosts } from '../model/index.js';
import { bootHostModel, type HostModel } from '../model/index.js';
import { modelOrExit, parse } from './args.js';
import { hostCosts, type CalibrationMode } from './calibration.js';
import { askLive, LIVE_HELP, LIVE_OPTIONS, liveMount } from './live.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { entryCostLines } from './cost-format.js';
import { applyFolioPolicy, folioSpec, liveLines, pinLines, providerLines, refusalLines, tradeOffLines } from './report-tables.js';

export const REPORT_USAGE = `usage: p2pemu report [--topology FILE | --mount MNT | --live | MOUNTPOINT] [--policy base|device-align|best-effort]
                     [--align 2MiB|1GiB] [--recalibrate | --no-calibration]

Compound pages for P2P memory, in five parts (six on a mount):
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
 live        on a mount (--mount MNT, or MOUNTPOINT): the providers as the daemon
              has them, the trade-off on its topology, and every live allocation
              with its folios, entries and times (times measured by this command)
  --policy P          apply P to every provider (default: what the topology says)
  --align S           folio size for device-align / largest tried by best-effort
  --recalibrate       measure again instead of reusing this boot's measurement
  --no-calibration    measure nothing (the measured-here column says so)
${LIVE_HELP}`;

/** What the report is asked for, apart from where the machine comes from. */
interface ReportOptions {
  policy?: FolioPolicy;
  align?: number;
  costs: HostCosts;
}

/**
 * The report on a machine: `m` for providers and refusals (a fresh boot of
 * `spec` under --policy), `spec` for the like-with-like trade-off, and on a
 * live mount every live allocation.
 */
export function reportView(m: HostModel, spec: TopologySpec, o: ReportOptions, live?: { mountpoint: string; folios: string }): string {
  const load = () => structuredClone(spec);
  let model = m;
  if (o.policy) {
    const what = load();
    applyFolioPolicy(what, folioSpec(o.policy, o.align ?? (o.policy === 'best-effort' ? PUD_SIZE : PMD_SIZE)));
    model = bootHostModel(what);
  }
  const out = [
    ...entryCostLines(o.costs),
    '',
    `providers (${o.policy ? `--policy ${o.policy}` : live ? `live on ${live.mountpoint}` : 'policies as the topology says'}):`,
    ...providerLines(model, o.costs),
    '',
    ...refusalLines(model),
    '',
    'trade-off, like with like:',
    ...tradeOffLines(load, o.costs),
    '',
    'O_DIRECT pin cost (pinning the user buffer, GUP):',
    ...pinLines(o.costs),
  ];
  if (live) out.push('', `live on ${live.mountpoint}:`, ...liveLines(live.folios, o.costs));
  return out.join('\n') + '\n';
}

/** The daemon's side of `report --mount`: the costs come measured from the command. */
export function reportLive(req: ControlRequest, live: LiveHost): string {
  const o = { policy: req.policy as FolioPolicy | undefined, align: req.align as number | undefined, costs: req.costs as HostCosts };
  return reportView(live.model, live.spec, o, { mountpoint: live.mountpoint, folios: foliosText(live.model.p2pdma) });
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { topology: { type: 'string' }, policy: { type: 'string' }, align: { type: 'string' }, recalibrate: { type: 'boolean' }, 'no-calibration': { type: 'boolean' }, ...LIVE_OPTIONS },
    REPORT_USAGE,
  );
  if (values.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new CliError(`report takes at most one MOUNTPOINT\n${REPORT_USAGE}`, EXIT_USAGE);
  if (positionals[0] !== undefined && values.mount !== undefined) throw new CliError('MOUNTPOINT and --mount name the same thing: give one', EXIT_USAGE);
  if (values.policy !== undefined && !(FOLIO_POLICIES as readonly string[]).includes(values.policy)) {
    throw new CliError(`--policy must be one of: ${FOLIO_POLICIES.join(', ')}`, EXIT_USAGE);
  }
  if (values.recalibrate && values['no-calibration']) throw new CliError('--recalibrate and --no-calibration contradict each other', EXIT_USAGE);
  const align = values.align === undefined ? undefined : parseSize(values.align);
  if (values.align !== undefined && align !== PMD_SIZE && align !== PUD_SIZE) throw new CliError('--align must be 2MiB or 1GiB', EXIT_USAGE);
  const rec = liveMount({ ...values, mount: values.mount ?? positionals[0] });
  const mode: CalibrationMode = values['no-calibration'] ? 'off' : values.recalibrate ? 'fresh' : 'cached';
  // measured here, in this process: the daemon never runs the calibration helper
  const o: ReportOptions = { policy: values.policy as FolioPolicy | undefined, align, costs: hostCosts(mode) };
  if (rec) {
    process.stdout.write(await askLive(rec, { command: 'report', ...o }));
    return 0;
  }
  const m = modelOrExit(values.topology);
  process.stdout.write(reportView(m, m.pci.spec, o));
  return 0;
}
