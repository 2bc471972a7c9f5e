export { PciDev, type PciRole, type PciResource } from './pci-dev.js';
export { PciHostBridge } from './host-bridge.js';
export { PciHost, pciUpstreamBridge } from './pci-host.js';
export { enumerate } from './enumerate.js';
export { buildConfigSpace, readAcsCtrl, acsCapOffset, syncMsiEnable } from './config-space.js';
export { IrqAllocator, enableVectors, disableVectors, irqShow, MSIX_TABLE } from './interrupts.js';
export { pciSpeedString, linkSpeedCode } from './link.js';
export { devPrefix, enableStore, numaNodeStore, writeConfig } from './dev-control.js';
export * from './regs.js';
