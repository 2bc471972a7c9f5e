// /dev of the mount: kmsg, the emulated kernel log in /dev/kmsg record format.

import { KERN_WARNING, formatKmsg, type KernelLog } from '../../model/klog.js';
import type { InodeTable } from '../tree.js';
import { sliceAt } from '../command-file.js';

// default_message_loglevel for writes without a <N> prefix
const DEFAULT_WRITE_LEVEL = KERN_WARNING;

export function buildDevfs(table: InodeTable, klog: KernelLog): void {
  const dev = table.dirs(table.root, 'dev');
  table.device(dev, {
    name: 'kmsg',
    standsFor: 'char',
    mode: 0o644,
    direct: true,
    size: () => 0,
    // differs: a stream of every record that ends at the newest one, instead of one
    // record per read() that blocks for the next; see native-notes/sysfs-tree.md
    read: (offset, size) => {
      return sliceAt(Buffer.from(klog.all().map(formatKmsg).join('')), offset, size);
    },
    write: (_offset, data) => {
      const m = /^<(\d)>/.exec(data.toString('utf8'));
      const text = data.toString('utf8').slice(m ? m[0].length : 0).replace(/\n$/, '');
      klog.log(m ? Number(m[1]) : DEFAULT_WRITE_LEVEL, text);
      return data.length;
    },
  });
}
