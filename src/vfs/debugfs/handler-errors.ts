// MNT/sys/kernel/debug/p2pemu/handler_errors: requests a daemon bug answered
// with EIO (`status` shows the total): "total N", then "COUNT OP PATH: MESSAGE"
// per kind. The session counts them; the daemon hands this file the count.

import type { InodeTable } from '../tree.js';
import { p2pemuDebugDir } from './root.js';

export interface HandlerErrors {
  total: number;
  bugs: { op: string; path: string; message: string; count: number }[];
}

export function addHandlerErrorsFile(t: InodeTable, errors: () => HandlerErrors): void {
  const dir = p2pemuDebugDir(t);
  t.seqText(dir, 'handler_errors', 0o444, () => {
    const { total, bugs } = errors();
    return [`total ${total}`, ...bugs.map((b) => `${b.count} ${b.op} ${b.path}: ${b.message}`)].join('\n') + '\n';
  });
}
