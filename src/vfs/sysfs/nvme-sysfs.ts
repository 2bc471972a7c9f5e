// The NVMe part of sysfs (drivers/nvme/host/sysfs.c, core.c): the controller
// directory under its PCI function (…/<BDF>/nvme/nvmeX), its subsystem under
// /sys/devices/virtual/nvme-subsystem, namespaces as disks below the
// controller (the layout without native multipath, CONFIG_NVME_MULTIPATH=n
// or nvme_core.multipath=N), the generic character devices ngXnY, and every
// link to them: class/{nvme,nvme-subsystem,nvme-generic,block}, block/, dev/.

import { ctrlIdentity, MDTS, namespaceIds, type NvmeCtrl, type NvmeNamespace } from '../../model/index.js';
import type { DirNode, VNode } from '../node.js';
import { pathOf, relativeTarget, type InodeTable } from '../tree.js';
import { addGendiskAttrs, BLOCK_EXT_MAJOR, type DiskIo } from './block-sysfs.js';
import { addPowerDir } from './pci-device-extras.js';
import { ueventWrite } from './synth-uevent.js';
import { kstrtobool } from './kstrto.js';

/** Character majors the kernel hands out dynamically (alloc_chrdev_region) for "nvme" and "nvme-generic". */
export const CTRL_MAJOR = 241;
export const GENERIC_MAJOR = 240;

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const hexBytes = (b: Buffer, sep = '') => [...b].map((x) => x.toString(16).padStart(2, '0')).join(sep);
// kernel "%pU": 8-4-4-4-12 lowercase hex
const uuidText = (b: Buffer) => {
  const h = hexBytes(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export interface NvmeSysfsContext {
  table: InodeTable;
  /** minors handed out lowest-free, as the kernel's idas do */
  blockMinor(): number;
  genericMinor(): number;
  diskseq(): number;
  io(ns: NvmeNamespace): DiskIo;
  mountedAt: number;
}

/** What addNvmeSysfs created outside the controller directory, for removal at unbind. */
export interface NvmeSysfsNodes {
  nodes: VNode[];
  minors: { block: number[]; generic: number[] };
}

function link(t: InodeTable, dir: DirNode, name: string, target: DirNode): VNode {
  return t.symlink(dir, name, relativeTarget(pathOf(dir), pathOf(target)));
}

// kernel: nvme_class_uevent(), drivers/nvme/host/core.c: a PCIe controller adds NVME_TRTYPE only
function charUevent(major: number, minor: number, name: string, extra = ''): string {
  return `MAJOR=${major}\nMINOR=${minor}\nDEVNAME=${name}\n${extra}`;
}

export function addNvmeSysfs(ctx: NvmeSysfsContext, pciDir: DirNode, ctrl: NvmeCtrl): NvmeSysfsNodes {
  const t = ctx.table;
  const sys = t.dirs(t.root, 'sys');
  const out: NvmeSysfsNodes = { nodes: [], minors: { block: [], generic: [] } };
  const id = ctrlIdentity(ctrl);
  const ctrlDir = t.dirs(pciDir, `nvme/${ctrl.name}`);
  const ro = (dir: DirNode, name: string, show: () => string) => t.text(dir, name, 0o444, show);

  // kernel: nvme_dev_attrs, drivers/nvme/host/sysfs.c (the ones visible for a PCIe controller)
  t.text(ctrlDir, 'reset_controller', 0o200, undefined, () => undefined);
  t.text(ctrlDir, 'rescan_controller', 0o200, undefined, () => undefined);
  // the subsystem's fields, space-padded as Identify Controller gives them ("%.*s")
  ro(ctrlDir, 'model', () => `${id.model}\n`);
  ro(ctrlDir, 'serial', () => `${id.serial}\n`);
  ro(ctrlDir, 'firmware_rev', () => `${id.firmware}\n`);
  ro(ctrlDir, 'cntlid', () => `${id.cntlid}\n`);
  ro(ctrlDir, 'transport', () => 'pcie\n');
  ro(ctrlDir, 'subsysnqn', () => `${id.subnqn}\n`);
  // kernel: nvme_pci_get_address(), drivers/nvme/host/pci.c
  ro(ctrlDir, 'address', () => `${ctrl.dev.bdf}\n`);
  ro(ctrlDir, 'state', () => `${ctrl.state}\n`);
  ro(ctrlDir, 'numa_node', () => `${ctrl.dev.numaNode}\n`);
  ro(ctrlDir, 'queue_count', () => `${ctrl.spec.ioQueues + 1}\n`);
  ro(ctrlDir, 'sqsize', () => `${ctrl.queueDepth - 1}\n`);
  ro(ctrlDir, 'kato', () => '0\n');
  ro(ctrlDir, 'cntrltype', () => 'io\n');
  ro(ctrlDir, 'dctype', () => 'none\n');
  let errLog = false;
  t.text(ctrlDir, 'passthru_err_log_enabled', 0o644, () => (errLog ? 'on\n' : 'off\n'), (text) => {
    // kernel: nvme_passthru_err_log_enabled_store(), drivers/nvme/host/sysfs.c: kstrtobool, else EINVAL
    errLog = kstrtobool(text);
  });
  // kernel: cmb_show(), cmbloc_show(), cmbsz_show(); visible only when CMBSZ is not 0
  if (ctrl.cmbsz !== 0) {
    ro(ctrlDir, 'cmb', () => `cmbloc : x${hex8(ctrl.cmbloc)}\ncmbsz  : x${hex8(ctrl.cmbsz)}\n`);
    ro(ctrlDir, 'cmbloc', () => `${ctrl.cmbloc >>> 0}\n`);
    ro(ctrlDir, 'cmbsz', () => `${ctrl.cmbsz >>> 0}\n`);
  }
  ro(ctrlDir, 'dev', () => `${CTRL_MAJOR}:${ctrl.instance}\n`);
  t.text(ctrlDir, 'uevent', 0o644, () => charUevent(CTRL_MAJOR, ctrl.instance, ctrl.name, 'NVME_TRTYPE=pcie\n'), ueventWrite);
  link(t, ctrlDir, 'device', pciDir);
  const classNvme = t.dirs(sys, 'class/nvme');
  link(t, ctrlDir, 'subsystem', classNvme);
  addPowerDir(t, ctrlDir, ctx.mountedAt);
  out.nodes.push(link(t, classNvme, ctrl.name, ctrlDir));
  out.nodes.push(link(t, t.dirs(sys, 'dev/char'), `${CTRL_MAJOR}:${ctrl.instance}`, ctrlDir));

  // kernel: nvme_subsys_attrs; the subsystem takes the instance of its first controller
  const classSubsys = t.dirs(sys, 'class/nvme-subsystem');
  const subsys = t.dir(t.dirs(sys, 'devices/virtual/nvme-subsystem'), `nvme-subsys${ctrl.instance}`);
  out.nodes.push(subsys);
  ro(subsys, 'model', () => `${id.model}\n`);
  ro(subsys, 'serial', () => `${id.serial}\n`);
  ro(subsys, 'firmware_rev', () => `${id.firmware}\n`);
  ro(subsys, 'subsysnqn', () => `${id.subnqn}\n`);
  ro(subsys, 'subsystype', () => 'nvm\n');
  t.text(subsys, 'uevent', 0o644, () => '', ueventWrite);
  link(t, subsys, 'subsystem', classSubsys);
  link(t, subsys, ctrl.name, ctrlDir);
  addPowerDir(t, subsys, ctx.mountedAt);
  out.nodes.push(link(t, classSubsys, subsys.name, subsys));

  const block = t.dirs(sys, 'block');
  const classBlock = t.dirs(sys, 'class/block');
  const classGeneric = t.dirs(sys, 'class/nvme-generic');
  for (const ns of ctrl.namespaces) {
    const minor = ctx.blockMinor();
    out.minors.block.push(minor);
    const d = t.dir(ctrlDir, ns.name);
    addGendiskAttrs(t, d, {
      name: ns.name,
      minor,
      size: ns.size,
      lbaSize: ns.lbaSize,
      diskseq: ctx.diskseq(),
      maxHwSectorsKb: (4096 << MDTS) / 1024,
      nrRequests: ctrl.queueDepth - 1,
      io: () => ctx.io(ns),
      mountedAt: ctx.mountedAt,
    });
    addNamespaceIdAttrs(t, d, ns);
    link(t, d, 'device', ctrlDir);
    link(t, d, 'subsystem', classBlock);
    out.nodes.push(link(t, block, ns.name, d));
    out.nodes.push(link(t, classBlock, ns.name, d));
    out.nodes.push(link(t, t.dirs(sys, 'dev/block'), `${BLOCK_EXT_MAJOR}:${minor}`, d));

    // kernel: nvme_add_ns_cdev(), drivers/nvme/host/core.c: ngXnY, a child of the controller
    const gMinor = ctx.genericMinor();
    out.minors.generic.push(gMinor);
    const gname = genericName(ns);
    const g = t.dir(ctrlDir, gname);
    ro(g, 'dev', () => `${GENERIC_MAJOR}:${gMinor}\n`);
    t.text(g, 'uevent', 0o644, () => charUevent(GENERIC_MAJOR, gMinor, gname), ueventWrite);
    link(t, g, 'device', ctrlDir);
    link(t, g, 'subsystem', classGeneric);
    addPowerDir(t, g, ctx.mountedAt);
    out.nodes.push(link(t, classGeneric, gname, g));
    out.nodes.push(link(t, t.dirs(sys, 'dev/char'), `${GENERIC_MAJOR}:${gMinor}`, g));
  }
  return out;
}

/** "ng0n1" for "nvme0n1". */
export function genericName(ns: NvmeNamespace): string {
  return ns.name.replace(/^nvme/, 'ng');
}

// kernel: wwid_show(), nguid_show(), uuid_show(), eui_show(), nsid_show(), csi_show(), metadata_bytes_show(), nuse_show()
function addNamespaceIdAttrs(t: InodeTable, d: DirNode, ns: NvmeNamespace): void {
  const { eui64, nguid } = namespaceIds(ns);
  const ro = (name: string, show: () => string) => t.text(d, name, 0o444, show);
  // without a UUID the NGUID names the namespace
  ro('wwid', () => `eui.${hexBytes(nguid)}\n`);
  ro('uuid', () => `${uuidText(nguid)}\n`);
  ro('nguid', () => `${uuidText(nguid)}\n`);
  ro('eui', () => `${hexBytes(eui64, ' ')}\n`);
  ro('csi', () => '0\n');
  ro('nsid', () => `${ns.nsid}\n`);
  ro('metadata_bytes', () => '0\n');
  ro('nuse', () => `${ns.size / ns.lbaSize}\n`);
  let errLog = false;
  t.text(d, 'passthru_err_log_enabled', 0o644, () => (errLog ? 'on\n' : 'off\n'), (text) => {
    // kernel: nvme_passthru_err_log_enabled_store(), drivers/nvme/host/sysfs.c: kstrtobool, else EINVAL
    errLog = kstrtobool(text);
  });
}
