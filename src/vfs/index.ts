export { Vfs, STATIC_TIMEOUT_S } from './vfs.js';
export { InodeTable, walk, pathOf, relativeTarget, ROOT_INO } from './tree.js';
export type { VNode, DirNode, TextAttrNode, BinAttrNode, DeviceNode, SymlinkNode } from './node.js';
export { PciSysfs, type PciDirs, type PciSysfsContext } from './sysfs/pci-tree.js';
export { addSystemSysfs } from './sysfs/system-sysfs.js';
export { addP2pmemGroup, AllocateFile, ALLOCATE_FILE_SIZE, type OpenAllocations, type P2pmemContext } from './sysfs/p2pmem-group.js';
export { buildDebugfs } from './debugfs.js';
export type { CacheInvalidation } from './vfs.js';
export { buildDevfs } from './devfs/kmsg.js';
