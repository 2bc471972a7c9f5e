// What nvme-pci does when its device stops doing DMA because someone cleared
// Memory Space or Bus Master in the command register (setpci, a config write):
// the controller can no longer fetch commands from host memory nor move data,
// so the request times out, the driver aborts it (the abort cannot be fetched
// either), times out again and resets the controller; the reset enables the
// device again (pci_enable_device_mem, pci_set_master) and block I/O is
// retried and completes, while a passthrough command comes back cancelled.

import { KERN_INFO, KERN_WARNING, type KernelLog } from '../klog.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../pci/index.js';
import type { NvmeCtrl } from './ctrl.js';

/** The default nvme_core.io_timeout and admin_timeout, in seconds (what a real stall lasts per timeout). */
export const NVME_IO_TIMEOUT_S = 30;
// NVME_SC_HOST_ABORTED_CMD: the status nvme_cancel_request() gives every request when the controller is disabled
const NVME_SC_HOST_ABORTED_CMD = 0x371;

export interface StalledRequest {
  /** NVMe opcode and queue: QID 0 is the admin queue */
  opcode: number;
  qid: number;
  write: boolean;
  bytes: number;
  /** a passthrough (ioctl) command: REQ_OP_DRV_IN/OUT, never retried */
  passthru: boolean;
}

/** Whether the function answers memory requests and may master the bus (both needed to run commands). */
export function canDma(ctrl: NvmeCtrl): boolean {
  const cmd = ctrl.dev.config.readUInt16LE(PCI_COMMAND);
  return (cmd & PCI_COMMAND_MEMORY) !== 0 && (cmd & PCI_COMMAND_MASTER) !== 0;
}

// kernel: nvme_get_opcode_str(), nvme_get_admin_opcode_str(), drivers/nvme/host/constants.c
function opcodeName(qid: number, opcode: number): string {
  const io: Record<number, string> = { 0x00: 'Flush', 0x01: 'Write', 0x02: 'Read', 0x08: 'Write Zeroes' };
  const admin: Record<number, string> = { 0x02: 'Get Log Page', 0x06: 'Identify', 0x0a: 'Get Features' };
  return (qid === 0 ? admin[opcode] : io[opcode]) ?? 'Unknown';
}

// kernel: blk_op_str(), block/blk-core.c: the request operation and its number
function reqOp(req: StalledRequest): string {
  if (req.passthru) return req.write ? 'DRV_OUT(35)' : 'DRV_IN(34)';
  return req.write ? 'WRITE(1)' : 'READ(0)';
}

// kernel: nvme_timeout(), abort_endio(), drivers/nvme/host/pci.c; nvme_reset_work() → nvme_pci_enable()
/**
 * Runs the driver's timeout handling for a request the device cannot serve.
 * Returns false when the device can do DMA (nothing happens); otherwise logs
 * what the driver logs, resets the controller (Memory Space and Bus Master
 * are set again) and returns true: block I/O then completes on retry, a
 * passthrough command fails with EINTR.
 */
// differs: the two io_timeout periods (2 × 30 s) are not waited; see native-notes/nvme.md
export function timeoutAndReset(ctrl: NvmeCtrl, klog: KernelLog, req: StalledRequest): boolean {
  if (canDma(ctrl)) return false;
  const who = `nvme ${ctrl.name}: `;
  const head = `I/O tag 0 (0000) opcode ${req.opcode === 0 ? '0' : `0x${req.opcode.toString(16)}`} (${opcodeName(req.qid, req.opcode)}) QID ${req.qid} timeout`;
  if (req.qid !== 0) {
    klog.log(KERN_WARNING, `${who}${head}, aborting req_op:${reqOp(req)} size:${req.bytes}`);
  }
  klog.log(KERN_WARNING, `${who}${head}, reset controller`);
  ctrl.state = 'resetting';
  if (req.qid !== 0) klog.log(KERN_WARNING, `${who}Abort status: 0x${NVME_SC_HOST_ABORTED_CMD.toString(16)}`);
  const cmd = ctrl.dev.config.readUInt16LE(PCI_COMMAND);
  ctrl.dev.config.writeUInt16LE(cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, PCI_COMMAND);
  ctrl.resets++;
  klog.log(KERN_INFO, `${who}${ctrl.spec.ioQueues}/0/0 default/read/poll queues`);
  ctrl.state = 'live';
  return true;
}
