// p2pemu dmesg MOUNTPOINT: the emulated kernel log, formatted like dmesg.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatDmesg } from '../model/index.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const DMESG_USAGE = `usage: p2pemu dmesg MOUNTPOINT [--level N]

Prints the emulated kernel log (MOUNTPOINT/dev/kmsg) the way dmesg does.
  --level N   only records with printk level <= N (e.g. 4 for warnings and worse)`;

/** The bytes behind /dev/kmsg's \xNN escapes, shown as UTF-8 the way dmesg shows them. */
function unescapeKmsg(text: string): string {
  return Buffer.from(text.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

export async function dmesgCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { level: { type: 'string' } }, DMESG_USAGE);
  if (values.help) {
    console.log(DMESG_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`dmesg needs exactly one MOUNTPOINT\n${DMESG_USAGE}`, EXIT_USAGE);
  const maxLevel = values.level === undefined ? 7 : Number(values.level);
  let text: string;
  try {
    text = readFileSync(join(resolve(positionals[0]!), 'dev/kmsg'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') throw new CliError(`${positionals[0]} is a stale mount; recover with: p2pemu unmount ${positionals[0]}`);
    throw new CliError(`cannot read ${positionals[0]}/dev/kmsg (${code}): is it a p2pemu mount?`);
  }
  for (const line of text.split('\n').filter(Boolean)) {
    // "prefix,seq,usec,flags;text": the prefix is facility << 3 | level; the text has \xNN escapes
    const m = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/.exec(line);
    if (!m || (Number(m[1]) & 7) > maxLevel) continue;
    process.stdout.write(formatDmesg({ usec: Number(m[3]), text: unescapeKmsg(m[4]!) }));
  }
  return 0;
}
