// /sys/class/nvme/nvmeX and /sys/block/nvmeXnY (kernel-facts §5.4): the
// controller directory under its PCI function (…/<BDF>/nvme/nvmeX), namespaces
// below it (the layout without native multipath), class and block links.

import type { NvmeCtrl } from '../../model/nvme/index.js';
import type { DirNode } from '../node.js';
import { pathOf, relativeTarget, type InodeTable } from '../tree.js';

const BLOCK_MAJOR = 259;
const CTRL_MAJOR = 241;
const SECTOR = 512;

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

export function addNvmeSysfs(t: InodeTable, pciDir: DirNode, ctrl: NvmeCtrl, blockIndex: () => number): DirNode {
  const sys = t.dirs(t.root, 'sys');
  const ctrlDir = t.dirs(pciDir, `nvme/${ctrl.name}`);
  const ro = (dir: DirNode, name: string, show: () => string) => t.text(dir, name, 0o444, show);
  ro(ctrlDir, 'model', () => `${ctrl.spec.model}\n`);
  ro(ctrlDir, 'serial', () => `${ctrl.spec.serial}\n`);
  ro(ctrlDir, 'firmware_rev', () => 'P2PEMU01\n');
  ro(ctrlDir, 'transport', () => 'pcie\n');
  ro(ctrlDir, 'address', () => `${ctrl.dev.bdf}\n`);
  ro(ctrlDir, 'state', () => 'live\n');
  ro(ctrlDir, 'cntlid', () => '0\n');
  ro(ctrlDir, 'numa_node', () => `${ctrl.dev.numaNode}\n`);
  ro(ctrlDir, 'queue_count', () => `${ctrl.spec.ioQueues + 1}\n`);
  ro(ctrlDir, 'sqsize', () => `${ctrl.queueDepth - 1}\n`);
  ro(ctrlDir, 'dev', () => `${CTRL_MAJOR}:${ctrl.instance}\n`);
  // kernel: cmb_show(), cmbloc_show(), cmbsz_show(); visible only when CMBSZ is not 0
  if (ctrl.cmbsz !== 0) {
    ro(ctrlDir, 'cmb', () => `cmbloc : x${hex8(ctrl.cmbloc)}\ncmbsz  : x${hex8(ctrl.cmbsz)}\n`);
    ro(ctrlDir, 'cmbloc', () => `${ctrl.cmbloc >>> 0}\n`);
    ro(ctrlDir, 'cmbsz', () => `${ctrl.cmbsz >>> 0}\n`);
  }
  t.symlink(ctrlDir, 'device', relativeTarget(pathOf(ctrlDir), pathOf(pciDir)));
  const classNvme = t.dirs(sys, 'class/nvme');
  t.symlink(classNvme, ctrl.name, relativeTarget(pathOf(classNvme), pathOf(ctrlDir)));

  const block = t.dirs(sys, 'block');
  const classBlock = t.dirs(sys, 'class/block');
  for (const ns of ctrl.namespaces) {
    const d = t.dir(ctrlDir, ns.name);
    const minor = blockIndex();
    ro(d, 'size', () => `${ns.size / SECTOR}\n`);
    ro(d, 'ro', () => '0\n');
    ro(d, 'removable', () => '0\n');
    ro(d, 'dev', () => `${BLOCK_MAJOR}:${minor}\n`);
    ro(d, 'nsid', () => `${ns.nsid}\n`);
    t.symlink(d, 'device', relativeTarget(pathOf(d), pathOf(ctrlDir)));
    const q = t.dir(d, 'queue');
    ro(q, 'logical_block_size', () => `${ns.lbaSize}\n`);
    ro(q, 'physical_block_size', () => `${ns.lbaSize}\n`);
    ro(q, 'hw_sector_size', () => `${ns.lbaSize}\n`);
    ro(q, 'minimum_io_size', () => `${ns.lbaSize}\n`);
    ro(q, 'optimal_io_size', () => '0\n');
    ro(q, 'rotational', () => '0\n');
    ro(q, 'max_hw_sectors_kb', () => '2048\n');
    ro(q, 'max_sectors_kb', () => '1280\n');
    ro(q, 'nr_requests', () => `${ctrl.queueDepth - 1}\n`);
    ro(q, 'read_ahead_kb', () => '128\n');
    ro(q, 'write_cache', () => 'write back\n');
    ro(q, 'scheduler', () => '[none] mq-deadline\n');
    ro(q, 'dma_alignment', () => '3\n');
    t.symlink(block, ns.name, relativeTarget(pathOf(block), pathOf(d)));
    t.symlink(classBlock, ns.name, relativeTarget(pathOf(classBlock), pathOf(d)));
  }
  return ctrlDir;
}
