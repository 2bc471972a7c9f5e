// Admin commands a controller answers for passthrough (NVME_IOCTL_ADMIN_CMD):
// Identify, Get Log Page (error information, SMART / health, firmware slot,
// commands supported and effects) and Get Features. The driver owns the queue
// commands; anything else is an invalid opcode.

import type { NvmeCtrl } from './ctrl.js';
import { activeNamespaceList, FIRMWARE_REV, IDENTIFY_SIZE, identifyController, identifyNamespace, namespaceDescriptors } from './identify.js';

// NVMe status: Status Code Type in bits 10:8, Status Code in 7:0, Do Not Retry 14 (as the kernel returns nvme_req(req)->status)
export const NVME_SC_SUCCESS = 0x0;
export const NVME_SC_INVALID_OPCODE = 0x1;
export const NVME_SC_INVALID_FIELD = 0x2;
export const NVME_SC_INVALID_NS = 0xb;
export const NVME_SC_LBA_RANGE = 0x80;
export const NVME_SC_INVALID_LOG_PAGE = 0x109;
export const NVME_STATUS_DNR = 0x4000;

export const nvme_admin = { getLogPage: 0x02, identify: 0x06, getFeatures: 0x0a } as const;

/** One passthrough command as the ioctl carries it (struct nvme_passthru_cmd). */
export interface PassthruCmd {
  opcode: number;
  nsid: number;
  cdw10: number;
  cdw11: number;
  cdw12: number;
  cdw13: number;
  dataLen: number;
}

export interface CmdResult {
  /** NVMe status (0: success); the ioctl returns it */
  status: number;
  /** completion dword 0 */
  result: number;
  /** bytes the controller moves to host memory (a read-direction command) */
  data?: Buffer;
}

/** I/O the controller has done, for the SMART log (data units are thousands of 512-byte units). */
export interface CtrlIoTotals {
  readCmds: number;
  writeCmds: number;
  bytesRead: number;
  bytesWritten: number;
}

const fail = (sc: number): CmdResult => ({ status: sc | NVME_STATUS_DNR, result: 0 });

function identify(ctrl: NvmeCtrl, cmd: PassthruCmd): CmdResult {
  const cns = cmd.cdw10 & 0xff;
  const ns = ctrl.namespaces.find((n) => n.nsid === cmd.nsid);
  switch (cns) {
    case 0x00:
      return ns ? { status: 0, result: 0, data: identifyNamespace(ns) } : fail(NVME_SC_INVALID_NS);
    case 0x01:
      return { status: 0, result: 0, data: identifyController(ctrl) };
    case 0x02:
      return { status: 0, result: 0, data: activeNamespaceList(ctrl, cmd.nsid) };
    case 0x03:
      return ns ? { status: 0, result: 0, data: namespaceDescriptors(ns) } : fail(NVME_SC_INVALID_NS);
    default:
      return fail(NVME_SC_INVALID_FIELD);
  }
}

const KELVIN_40C = 313;

// NVMe 1.4 §5.14.1.2: SMART / Health Information, 512 bytes
export function smartLog(io: CtrlIoTotals, powerOnHours: number): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt16LE(KELVIN_40C, 1); // composite temperature
  b[3] = 100; // available spare
  b[4] = 10; // available spare threshold
  const units = (bytes: number) => BigInt(Math.ceil(bytes / 512 / 1000));
  b.writeBigUInt64LE(units(io.bytesRead), 32);
  b.writeBigUInt64LE(units(io.bytesWritten), 48);
  b.writeBigUInt64LE(BigInt(io.readCmds), 64);
  b.writeBigUInt64LE(BigInt(io.writeCmds), 80);
  b.writeBigUInt64LE(1n, 112); // power cycles
  b.writeBigUInt64LE(BigInt(powerOnHours), 128);
  return b;
}

function firmwareSlotLog(): Buffer {
  const b = Buffer.alloc(512);
  b[0] = 1; // active slot 1
  b.write(FIRMWARE_REV, 8, 8, 'latin1');
  return b;
}

function getLogPage(ctrl: NvmeCtrl, cmd: PassthruCmd, io: CtrlIoTotals, powerOnHours: number): CmdResult {
  const lid = cmd.cdw10 & 0xff;
  const numd = ((cmd.cdw11 & 0xffff) * 0x10000 + (cmd.cdw10 >>> 16)) + 1;
  const offset = cmd.cdw12 + cmd.cdw13 * 2 ** 32;
  let page: Buffer;
  switch (lid) {
    case 0x01:
      page = Buffer.alloc(64 * 64); // 64 error entries, none logged
      break;
    case 0x02:
      page = smartLog(io, powerOnHours);
      break;
    case 0x03:
      page = firmwareSlotLog();
      break;
    case 0x05:
      page = Buffer.alloc(IDENTIFY_SIZE); // commands supported and effects: none declared
      break;
    default:
      return fail(NVME_SC_INVALID_LOG_PAGE);
  }
  const want = numd * 4;
  const data = Buffer.alloc(want);
  if (offset < page.length) page.copy(data, 0, offset, Math.min(page.length, offset + want));
  return { status: 0, result: 0, data };
}

// NVMe 1.4 §5.21.1: feature identifiers and the current values a fresh controller holds
function getFeatures(ctrl: NvmeCtrl, cmd: PassthruCmd): CmdResult {
  const fid = cmd.cdw10 & 0xff;
  const queues = ctrl.spec.ioQueues - 1;
  const values: Record<number, number> = {
    0x01: 0, // arbitration
    0x02: 0, // power management: power state 0
    0x04: 353, // temperature threshold (kelvin)
    0x05: 0, // error recovery
    0x06: 1, // volatile write cache enabled
    0x07: queues | (queues << 16), // number of queues (0's based)
    0x08: 0, // interrupt coalescing
    0x09: cmd.cdw11 & 0xffff, // interrupt vector configuration: the vector asked about
    0x0a: 0, // write atomicity
    0x0b: 0, // asynchronous event configuration
  };
  const v = values[fid];
  return v === undefined ? fail(NVME_SC_INVALID_FIELD) : { status: 0, result: v };
}

// kernel: nvme_user_cmd(), drivers/nvme/host/ioctl.c hands the command to the controller; this is the controller's side
export function adminCommand(ctrl: NvmeCtrl, cmd: PassthruCmd, io: CtrlIoTotals, powerOnHours: number): CmdResult {
  switch (cmd.opcode) {
    case nvme_admin.identify:
      return identify(ctrl, cmd);
    case nvme_admin.getLogPage:
      return getLogPage(ctrl, cmd, io, powerOnHours);
    case nvme_admin.getFeatures:
      return getFeatures(ctrl, cmd);
    default:
      return fail(NVME_SC_INVALID_OPCODE);
  }
}

/** An I/O command's LBA range: SLBA in cdw10–11, NLB (0's based) in cdw12; checked against the namespace. */
export function ioRange(nsBlocks: number, cmd: PassthruCmd): { slba: number; nlb: number } | CmdResult {
  const slba = cmd.cdw10 + cmd.cdw11 * 2 ** 32;
  const nlb = (cmd.cdw12 & 0xffff) + 1;
  if (slba + nlb > nsBlocks) return fail(NVME_SC_LBA_RANGE);
  return { slba, nlb };
}

export const nvme_cmd = { flush: 0x00, write: 0x01, read: 0x02, writeZeroes: 0x08 } as const;
