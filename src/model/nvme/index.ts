export { NvmeCtrl, type NvmeNamespace } from './ctrl.js';
export { NvmeDriver } from './nvme-driver.js';
export { encodeCmb, cmbSize, cmbSizeUnit } from './regs.js';
export { classifyP2p, TransferStats, type IoPath } from './io.js';
