export { PciDev, type PciRole, type PciResource, type ResourceLine, type MsiCapability } from './pci-dev.js';
export { PciHostBridge } from './host-bridge.js';
export { PciHost, pciUpstreamBridge } from './pci-host.js';
export { enumerate } from './enumerate.js';
export { buildConfigSpace, readAcsCtrl, acsCapOffset, syncMsiEnable, setConfig } from './config-space.js';
export { IrqAllocator, enableVectors, disableVectors, restoreVectors, irqShow, msiFromConfig, MSIX_TABLE } from './interrupts.js';
export { pciSpeedString, linkSpeedCode } from './link.js';
export { devPrefix, enableStore, numaNodeStore, writeConfig } from './dev-control.js';
export {
  findCapability,
  findExtCapability,
  pcieType,
  idsFromConfig,
  bridgeBuses,
  headerType,
  currentLink,
  maxLink,
  isPcieConfig,
  linkSpeedFromCode,
  cfgByte,
  cfgWord,
  cfgDword,
  type ConfigIds,
} from './config-read.js';
export { roleFromConfig } from './role.js';
export { resourceLines, iovResourceLines, barsFromLines, RESOURCE_LINES_BRIDGE, RESOURCE_LINES_ENDPOINT } from './resource-lines.js';
export { sriovInit, sriovEnable, sriovDisable, sriovConfigureSimple, virtfnPlace, type PciSriov, type SriovHooks } from './sriov.js';
export { createVirtfn } from './virtfn.js';
export { virtfnBus, virtfnDevfn, maxVfBus } from './sriov-cap.js';
export * from './regs.js';
export { pciMmapFits } from './mmap-fits.js';
