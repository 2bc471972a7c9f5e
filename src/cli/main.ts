// p2pemu command line: one command per file, each with its own options table and help.

import { readFileSync } from 'node:fs';
import { UnsafePathError } from '../daemon/index.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { DMESG_USAGE, dmesgCommand } from './dmesg-cmd.js';
import { EXPLAIN_USAGE, explainCommand } from './explain-cmd.js';
import { REPORT_USAGE, reportCommand } from './report-cmd.js';
import { HMM_USAGE, hmmCommand } from './hmm-cmd.js';
import { DMABUF_USAGE, dmabufCommand } from './dmabuf-cmd.js';
import { SCENARIO_USAGE, scenarioCommand } from './scenario-cmd.js';
import { MOUNT_USAGE, mountCommand } from './mount-cmd.js';
import { RUN_USAGE, runCommand } from './run-cmd.js';
import { STATUS_USAGE, statusCommand } from './status-cmd.js';
import { TOPO_USAGE, topoCommand } from './topo-cmd.js';
import { UNMOUNT_USAGE, unmountCommand } from './unmount-cmd.js';
import { RECORD_USAGE, recordCommand } from './record-cmd.js';
import { IMPORT_USAGE, importCommand } from './import-cmd.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; usage: string; summary: string }> = {
  mount: { run: mountCommand, usage: MOUNT_USAGE, summary: 'mount an emulated PCI host (sysfs + dev tree) at a directory' },
  unmount: { run: unmountCommand, usage: UNMOUNT_USAGE, summary: 'unmount and stop the daemon; recovers stale mounts' },
  run: { run: runCommand, usage: RUN_USAGE, summary: 'run a command with the emulated host at the real /sys and /dev paths' },
  status: { run: statusCommand, usage: STATUS_USAGE, summary: 'list live and stale p2pemu mounts' },
  topo: { run: topoCommand, usage: TOPO_USAGE, summary: 'print a topology as a tree, Graphviz dot or JSON' },
  explain: { run: explainCommand, usage: EXPLAIN_USAGE, summary: 'why a client/provider pair gets its P2P map type and distance' },
  record: { run: recordCommand, usage: RECORD_USAGE, summary: "record this machine's PCI functions (config space, resources, SR-IOV) as a topology" },
  import: { run: importCommand, usage: IMPORT_USAGE, summary: 'turn an lspci -xxx/-xxxx dump into a topology' },
  report: { run: reportCommand, usage: REPORT_USAGE, summary: 'compound pages: struct pages, entries, refused ranges, times measured here beside the cover letter' },
  scenario: { run: scenarioCommand, usage: SCENARIO_USAGE, summary: 'experiments from the threads: compound-review, your own allocation sequence, dmabuf-flow' },
  hmm: { run: hmmCommand, usage: HMM_USAGE, summary: 'HMM: migration vs the proposed P2P alias for device-private pages (compare, mixed)' },
  dmabuf: { run: dmabufCommand, usage: DMABUF_USAGE, summary: 'dma-buf attach decisions, revoke on removal, page_pool bindings' },
  dmesg: { run: dmesgCommand, usage: DMESG_USAGE, summary: "print a mount's emulated kernel log" },
};

export const HELP = `p2pemu — emulated PCI peer-to-peer DMA (P2PDMA) host over FUSE

usage: p2pemu COMMAND [options]     (p2pemu COMMAND --help for details)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`)
  .join('\n')}

example:
  mkdir -p /tmp/p2p && p2pemu mount /tmp/p2p
  lspci -A linux-sysfs -O sysfs.path=/tmp/p2p/sys/bus/pci -tv
  p2pemu unmount /tmp/p2p`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    console.log(topic && COMMANDS[topic] ? COMMANDS[topic].usage : HELP);
    return 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    console.log(`p2pemu ${version()}`);
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    console.error(`p2pemu: unknown command "${cmd}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`p2pemu: ${err.message}`);
      return err.exitCode;
    }
    // a directory or file p2pemu refuses to use (another user's, a symlink): bad input
    if (err instanceof UnsafePathError) {
      console.error(`p2pemu: ${err.message}`);
      return EXIT_USAGE;
    }
    console.error(`p2pemu: ${(err as Error).message ?? err}`);
    return 1;
  }
}
