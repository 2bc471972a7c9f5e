// MNT/sys/kernel/debug: where every debugfs file of the emulator lives.
// The kernel mounts debugfs with mode 0700 (DEBUGFS_DEFAULT_MODE,
// fs/debugfs/inode.c), so only root enters it, whatever the file modes below.

import type { DirNode } from '../node.js';
import type { InodeTable } from '../tree.js';

/** MNT/sys/kernel/debug/p2pemu[/sub], the debugfs root made 0700 on first use. */
export function p2pemuDebugDir(t: InodeTable, sub = ''): DirNode {
  const kernel = t.dirs(t.root, 'sys/kernel');
  const debug = (kernel.children.get('debug') as DirNode | undefined) ?? t.dir(kernel, 'debug', 0o700);
  return t.dirs(debug, `p2pemu/${sub}`);
}
