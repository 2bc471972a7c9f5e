// SR-IOV as drivers/pci/iov.c does it: the PF's state read from its SR-IOV
// capability at enumeration (sriov_init), enabling VFs (sriov_enable: the
// checks in their order, NumVFs and VF Enable written, one pci_dev per VF)
// and disabling them. Everything is read from and written to the PF's
// config bytes; adding a VF to the host and binding it is the caller's
// (the driver core's), through the two hooks.

import { kernelError } from '../../errno.js';
import { KERN_ERR, type KernelLog } from '../klog.js';
import { cfgDword, cfgWord, findExtCapability, pcieType } from './config-read.js';
import { devPrefix } from './dev-control.js';
import type { PciDev, ResourceLine } from './pci-dev.js';
import * as R from './regs.js';
import { virtfnBus, virtfnDevfn } from './sriov-cap.js';
import { iovResourceLines } from './resource-lines.js';

/** PAGE_SIZE on x86_64: VF BARs must be multiples of it */
const PAGE_SIZE = 4096;

/** pdev->sriov */
export interface PciSriov {
  /** offset of the capability */
  pos: number;
  /** SR-IOV Capabilities register */
  cap: number;
  /** the control bits the kernel keeps (iov->ctrl) */
  ctrl: number;
  totalVFs: number;
  initialVFs: number;
  /** pci_sriov_set_totalvfs() by a driver; TotalVFs otherwise */
  driverMaxVFs: number;
  numVFs: number;
  offset: number;
  stride: number;
  vfDevice: number;
  /** Function Dependency Link, as a devfn */
  link: number;
  /** per-VF size of each VF BAR (0: none) */
  barsz: number[];
  /** VF BARs that exist */
  nres: number;
  maxVfBuses: number;
  driversAutoprobe: boolean;
  /** the enabled VFs, by index */
  vfs: PciDev[];
}

export interface SriovHooks {
  /** pci_iov_add_virtfn(): build VF `id` (its bus, devfn, IDs, config, resources) */
  create(pf: PciDev, id: number): PciDev;
  /** pci_device_add() + pci_bus_add_device(): the VF joins the host and may bind */
  add(vf: PciDev): void;
  /** pci_stop_and_remove_bus_device() */
  remove(vf: PciDev): Promise<void>;
  klog: KernelLog;
  /** the end of the bus range the PF's bus may use (dev->bus->busn_res.end) */
  busnEnd(pf: PciDev): number;
}

function writeNumVfs(pf: PciDev, iov: PciSriov, n: number): void {
  pf.config.writeUInt16LE(n, iov.pos + R.PCI_SRIOV_NUM_VF);
  // kernel: pci_iov_set_numvfs() reads offset and stride back: the hardware may change them with NumVFs
  iov.offset = cfgWord(pf.config, iov.pos + R.PCI_SRIOV_VF_OFFSET);
  iov.stride = cfgWord(pf.config, iov.pos + R.PCI_SRIOV_VF_STRIDE);
}

function writeCtrl(pf: PciDev, iov: PciSriov): void {
  pf.config.writeUInt16LE(iov.ctrl, iov.pos + R.PCI_SRIOV_CTRL);
}

// kernel: sriov_init(), drivers/pci/iov.c (via pci_iov_init(): PCI Express functions only)
/** SR-IOV state from config, VF Enable cleared; undefined when the function is not a PF. `iovResources`: lines 7–12 of its resource file. */
export function sriovInit(dev: PciDev, iovResources: ResourceLine[], autoprobe: boolean): PciSriov | undefined {
  const cfg = dev.config;
  if (!dev.isPcie) return undefined;
  const pos = findExtCapability(cfg, R.PCI_EXT_CAP_ID_SRIOV);
  if (!pos) return undefined;
  // VF Enable left on by firmware (or a recording) is cleared first; the ARI bit is kept as given
  const ctrl = cfgWord(cfg, pos + R.PCI_SRIOV_CTRL) & ~(R.PCI_SRIOV_CTRL_VFE | R.PCI_SRIOV_CTRL_MSE);
  cfg.writeUInt16LE(ctrl, pos + R.PCI_SRIOV_CTRL);
  const total = cfgWord(cfg, pos + R.PCI_SRIOV_TOTAL_VF);
  if (!total) return undefined;
  let pgsz = cfgDword(cfg, pos + R.PCI_SRIOV_SUP_PGSIZE);
  if (!pgsz) return undefined;
  pgsz &= -pgsz; // the smallest supported size
  // recorded bytes already hold what the recorded kernel wrote (a 64K-page arm64 kernel picks another size): kept
  const recorded = cfgDword(cfg, pos + R.PCI_SRIOV_SYS_PGSIZE);
  const keep = dev.raw && recorded !== 0 && (recorded & (recorded - 1)) === 0 && (recorded & cfgDword(cfg, pos + R.PCI_SRIOV_SUP_PGSIZE)) !== 0;
  if (!keep) cfg.writeUInt32LE(pgsz >>> 0, pos + R.PCI_SRIOV_SYS_PGSIZE);
  const barsz = new Array<number>(R.PCI_SRIOV_NUM_BARS).fill(0);
  let nres = 0;
  for (const line of iovResources) {
    if (!line.flags || line.size === 0) continue;
    const per = Math.floor(line.size / total);
    if (per % PAGE_SIZE !== 0) return undefined; // -EIO: the capability is ignored
    barsz[line.index - R.PCI_IOV_RESOURCES] = per;
    nres++;
  }
  const iov: PciSriov = {
    pos,
    cap: cfgDword(cfg, pos + R.PCI_SRIOV_CAP),
    ctrl,
    totalVFs: total,
    initialVFs: 0,
    driverMaxVFs: total,
    numVFs: 0,
    offset: 0,
    stride: 0,
    vfDevice: cfgWord(cfg, pos + R.PCI_SRIOV_VF_DID),
    link: cfg[pos + R.PCI_SRIOV_FUNC_LINK]!,
    barsz,
    nres,
    maxVfBuses: 0,
    driversAutoprobe: autoprobe,
    vfs: [],
  };
  // an RCiEP's dependency link names a function of its own device
  if (pcieType(cfg) === R.PCI_EXP_TYPE_RC_END) iov.link = (dev.slot << 3) | iov.link;
  // kernel: compute_max_vf_buses(): every NumVFs must give a usable offset and stride
  for (let n = total; n > 0; n--) {
    writeNumVfs(dev, iov, n);
    if (!iov.offset || (n > 1 && !iov.stride)) {
      writeNumVfs(dev, iov, 0);
      return undefined;
    }
    iov.maxVfBuses = Math.max(iov.maxVfBuses, virtfnBus(dev.bus, dev.devfn, iov.offset, iov.stride, n - 1));
  }
  writeNumVfs(dev, iov, 0);
  return iov;
}

/** The BDF a VF would get: bus and devfn from the PF's offset and stride. */
export function virtfnPlace(pf: PciDev, iov: PciSriov, id: number): { bus: number; devfn: number } {
  return { bus: virtfnBus(pf.bus, pf.devfn, iov.offset, iov.stride, id), devfn: virtfnDevfn(pf.devfn, iov.offset, iov.stride, id) };
}

// kernel: sriov_enable(), drivers/pci/iov.c
export function sriovEnable(pf: PciDev, n: number, h: SriovHooks, findSibling: (devfn: number) => PciDev | undefined): void {
  const iov = pf.sriov!;
  if (!n) return;
  if (iov.numVFs) throw kernelError('EINVAL', `${pf.bdf} already has ${iov.numVFs} VFs enabled`);
  let initial = cfgWord(pf.config, iov.pos + R.PCI_SRIOV_INITIAL_VF);
  const vfm = (iov.cap & R.PCI_SRIOV_CAP_VFM) !== 0;
  if (initial > iov.totalVFs || (!vfm && initial !== iov.totalVFs)) throw kernelError('EIO', `InitialVFs ${initial} does not match TotalVFs ${iov.totalVFs}`);
  if (n < 0 || n > iov.totalVFs || (!vfm && n > initial)) throw kernelError('EINVAL', `${n} VFs is more than the ${iov.totalVFs} the PF offers`);
  // kernel: a VF BAR region the resource pass could not place has no parent resource
  const assigned = iovResourceLines(pf).filter((r) => r.flags && r.size && r.start).length;
  if (assigned !== iov.nres) {
    h.klog.log(KERN_ERR, `${devPrefix(pf)}not enough MMIO resources for SR-IOV`);
    throw kernelError('ENOMEM', 'not enough MMIO resources for SR-IOV');
  }
  const bus = virtfnBus(pf.bus, pf.devfn, iov.offset, iov.stride, n - 1);
  const end = h.busnEnd(pf);
  if (bus > end) {
    const hex2 = (v: number) => v.toString(16).padStart(2, '0');
    h.klog.log(KERN_ERR, `${devPrefix(pf)}can't enable ${n} VFs (bus ${hex2(bus)} out of range of [bus ${hex2(pf.bus)}-${hex2(end)}])`);
    throw kernelError('ENOMEM', `VF bus ${hex2(bus)} is beyond the bus range of ${pf.bdf}`);
  }
  if (iov.link !== pf.devfn) {
    const dep = findSibling(iov.link);
    if (!dep) throw kernelError('ENODEV', `the function ${pf.bdf} depends on (devfn ${iov.link}) does not exist`);
    if (!dep.sriov) throw kernelError('ENOSYS', `the function ${pf.bdf} depends on is not a PF`);
  }
  iov.initialVFs = initial;
  if (n < initial) initial = n;
  writeNumVfs(pf, iov, n);
  iov.ctrl |= R.PCI_SRIOV_CTRL_VFE | R.PCI_SRIOV_CTRL_MSE;
  writeCtrl(pf, iov);
  // kernel: sriov_add_vfs(): the first `initial` VFs, undone in reverse on failure
  const added: PciDev[] = [];
  try {
    for (let i = 0; i < initial; i++) {
      const vf = h.create(pf, i);
      iov.vfs[i] = vf;
      h.add(vf);
      added.push(vf);
    }
  } catch (err) {
    for (const vf of added.reverse()) void h.remove(vf);
    iov.vfs = [];
    iov.ctrl &= ~(R.PCI_SRIOV_CTRL_VFE | R.PCI_SRIOV_CTRL_MSE);
    writeCtrl(pf, iov);
    writeNumVfs(pf, iov, 0);
    throw err;
  }
  iov.numVFs = n;
}

// kernel: sriov_disable(), drivers/pci/iov.c: every VF removed, then VF Enable and NumVFs cleared
export async function sriovDisable(pf: PciDev, h: SriovHooks): Promise<void> {
  const iov = pf.sriov!;
  if (!iov.numVFs) return;
  for (const vf of iov.vfs) if (vf) await h.remove(vf);
  iov.vfs = [];
  iov.ctrl &= ~(R.PCI_SRIOV_CTRL_VFE | R.PCI_SRIOV_CTRL_MSE);
  writeCtrl(pf, iov);
  iov.numVFs = 0;
  writeNumVfs(pf, iov, 0);
}

// kernel: pci_sriov_configure_simple(), drivers/pci/iov.c: what nvme and most PF drivers do on a sriov_numvfs write
export async function sriovConfigureSimple(pf: PciDev, n: number, h: SriovHooks, findSibling: (devfn: number) => PciDev | undefined): Promise<number> {
  if (!pf.sriov) throw kernelError('ENODEV', `${pf.bdf} is not a PF`);
  if (n === 0) {
    await sriovDisable(pf, h);
    return 0;
  }
  sriovEnable(pf, n, h, findSibling);
  return n;
}
