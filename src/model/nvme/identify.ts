// What an NVMe controller says about itself: the Identify Controller and
// Identify Namespace data structures (NVMe base spec 1.4, Figures 247 and 245),
// the namespace identifiers, and the strings the kernel copies from them into
// sysfs (nvme_init_subsystem keeps SN, MN and FR space-padded).

import type { NvmeCtrl, NvmeNamespace } from './ctrl.js';

export const IDENTIFY_SIZE = 4096;
/** NVMe 1.4 in the VER field and the VS register */
export const NVME_VERSION = 0x00010400;
export const FIRMWARE_REV = 'P2PEMU01';
/** IEEE OUI of the emulated vendor (Samsung's, like the default model) */
const IEEE_OUI = [0x38, 0x25, 0x00];
/** Maximum Data Transfer Size as a power of two of the 4 KiB page: 2^9 × 4 KiB = 2 MiB (max_hw_sectors_kb 2048) */
export const MDTS = 9;
// ONCS: Write Zeroes (bit 3) and Dataset Management (bit 2); VWC: a volatile write cache is present
const ONCS = (1 << 3) | (1 << 2);
const OACS = 0;

const pad = (s: string, n: number) => s.slice(0, n).padEnd(n, ' ');

export interface CtrlIdentity {
  vid: number;
  ssvid: number;
  /** space-padded to the field widths: 20, 40 and 8 bytes */
  serial: string;
  model: string;
  firmware: string;
  subnqn: string;
  cntlid: number;
}

export function ctrlIdentity(ctrl: NvmeCtrl): CtrlIdentity {
  const ids = ctrl.dev.ids;
  return {
    vid: ids.vendor,
    ssvid: ids.subsystemVendor,
    serial: pad(ctrl.spec.serial, 20),
    model: pad(ctrl.spec.model, 40),
    firmware: pad(FIRMWARE_REV, 8),
    // a controller that reports an NQN of its own: the kernel copies it as it is (nvme_init_subnqn)
    subnqn: `nqn.2014-08.dev.p2pemu:nvme:${ctrl.spec.serial}`,
    cntlid: 1,
  };
}

/** 8-byte EUI-64 and 16-byte NGUID of a namespace, derived from the controller's serial and the NSID. */
export function namespaceIds(ns: NvmeNamespace): { eui64: Buffer; nguid: Buffer } {
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(`${ns.ctrl.spec.serial}/${ns.nsid}`)) h = ((h ^ BigInt(c)) * 0x100000001b3n) & 0xffffffffffffffffn;
  const eui64 = Buffer.alloc(8);
  eui64.writeBigUInt64BE(h);
  // the OUI leads an EUI-64
  eui64[0] = IEEE_OUI[2]!;
  eui64[1] = IEEE_OUI[1]!;
  eui64[2] = IEEE_OUI[0]!;
  const nguid = Buffer.alloc(16);
  eui64.copy(nguid, 0);
  nguid.writeBigUInt64BE(h ^ 0x5a5a5a5a5a5a5a5an, 8);
  return { eui64, nguid };
}

/** Identify Controller (CNS 01h). */
export function identifyController(ctrl: NvmeCtrl): Buffer {
  const id = ctrlIdentity(ctrl);
  const b = Buffer.alloc(IDENTIFY_SIZE);
  b.writeUInt16LE(id.vid, 0);
  b.writeUInt16LE(id.ssvid, 2);
  b.write(id.serial, 4, 20, 'latin1');
  b.write(id.model, 24, 40, 'latin1');
  b.write(id.firmware, 64, 8, 'latin1');
  b[72] = 2; // RAB
  b[73] = IEEE_OUI[0]!;
  b[74] = IEEE_OUI[1]!;
  b[75] = IEEE_OUI[2]!;
  b[77] = MDTS;
  b.writeUInt16LE(id.cntlid, 78);
  b.writeUInt32LE(NVME_VERSION, 80);
  b[111] = 1; // CNTRLTYPE: I/O controller
  b.writeUInt16LE(OACS, 256);
  b[258] = 3; // ACL: 4 abort commands
  b[259] = 3; // AERL
  b[260] = (1 << 1) | 1; // FRMW: one firmware slot, slot 1 read-only
  b[261] = 0x02; // LPA: the command effects log page
  b[262] = 63; // ELPE: 64 error log entries
  b[263] = 0; // NPSS: one power state
  b.writeUInt16LE(353, 266); // WCTEMP (kelvin)
  b.writeUInt16LE(358, 268); // CCTEMP
  const capacity = ctrl.namespaces.reduce((n, ns) => n + BigInt(ns.size), 0n);
  b.writeBigUInt64LE(capacity, 280); // TNVMCAP, low 8 of 16 bytes
  b[512] = 0x66; // SQES: 64-byte entries
  b[513] = 0x44; // CQES: 16-byte entries
  b.writeUInt32LE(Math.max(1, ...ctrl.namespaces.map((n) => n.nsid)), 516); // NN
  b.writeUInt16LE(ONCS, 520);
  b[525] = 1; // VWC present
  b.write(id.subnqn, 768, 256, 'utf8');
  // power state 0: 25.00 W (MP in centiwatts), entry and exit latencies in µs
  b.writeUInt16LE(2500, 2048);
  return b;
}

/** LBA Format index in use: 0 for 512-byte blocks, 1 for 4 KiB (the two formats every namespace lists). */
export function lbaFormatIndex(ns: NvmeNamespace): number {
  return ns.lbaSize === 512 ? 0 : 1;
}

/** Identify Namespace (CNS 00h). */
export function identifyNamespace(ns: NvmeNamespace): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const blocks = BigInt(ns.size / ns.lbaSize);
  b.writeBigUInt64LE(blocks, 0); // NSZE
  b.writeBigUInt64LE(blocks, 8); // NCAP
  b.writeBigUInt64LE(blocks, 16); // NUSE
  b[25] = 1; // NLBAF: two formats (0's based)
  b[26] = lbaFormatIndex(ns); // FLBAS
  const { eui64, nguid } = namespaceIds(ns);
  nguid.copy(b, 104);
  eui64.copy(b, 120);
  // LBA formats: MS 0, LBADS 9 and 12, relative performance best/better
  b.writeUInt32LE((9 << 16) | (2 << 24), 128);
  b.writeUInt32LE((12 << 16) | (0 << 24), 132);
  return b;
}

/** Active Namespace ID list (CNS 02h): the NSIDs above `after`, ascending. */
export function activeNamespaceList(ctrl: NvmeCtrl, after: number): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const ids = ctrl.namespaces.map((n) => n.nsid).filter((n) => n > after).sort((a, c) => a - c);
  ids.slice(0, 1024).forEach((nsid, i) => b.writeUInt32LE(nsid, i * 4));
  return b;
}

// NVMe 1.4 §5.15.2.3: Namespace Identification Descriptor list (CNS 03h): EUI-64 (type 1), NGUID (type 2), CSI (type 4)
export function namespaceDescriptors(ns: NvmeNamespace): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const { eui64, nguid } = namespaceIds(ns);
  let off = 0;
  const put = (type: number, id: Buffer) => {
    b[off] = type;
    b[off + 1] = id.length;
    id.copy(b, off + 4);
    off += 4 + id.length;
  };
  put(1, eui64);
  put(2, nguid);
  put(4, Buffer.from([0])); // NVM command set
  return b;
}
