export { NvmeCtrl, type NvmeNamespace } from './ctrl.js';
export { NvmeDriver } from './nvme-driver.js';
export { encodeCmb, cmbSize, cmbSizeUnit } from './regs.js';
export {
  ctrlIdentity,
  namespaceIds,
  identifyController,
  identifyNamespace,
  activeNamespaceList,
  namespaceDescriptors,
  MDTS,
  NVME_VERSION,
  IDENTIFY_SIZE,
  type CtrlIdentity,
} from './identify.js';
export { timeoutAndReset, canDma, NVME_IO_TIMEOUT_S, type StalledRequest } from './bus-master.js';
export { adminCommand, ioRange, smartLog, nvme_admin, nvme_cmd, NVME_STATUS_DNR, NVME_SC_INVALID_FIELD, NVME_SC_INVALID_OPCODE, type PassthruCmd, type CmdResult, type CtrlIoTotals } from './admin.js';
export { NvmeIoPath, allocationRef, ioNamespace } from './io.js';
export { IoPathMirror, type IoPathCounters, type IoPathSnapshot, type MirrorDecision } from './io-mirror.js';
export { decideIo, movesToDevice, NvmeOpcode, type IoDecision, type IoNamespace, type IoPath, type IoPiece, type IoRequest, type IoSegment, type MapTypeTable, type P2pAllocationRef, type SegmentMemory } from './map-data.js';
export { DATA_PATH_SLOT_FIELDS, TransferStats, transfersTable, type TransferCount } from './transfer-stats.js';
