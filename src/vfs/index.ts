export { Vfs, STATIC_TIMEOUT_S } from './vfs.js';
export { InodeTable, walk, pathOf, relativeTarget, ROOT_INO } from './tree.js';
export type { VNode, DirNode, TextAttrNode, BinAttrNode, DeviceNode, SymlinkNode } from './node.js';
export { buildPciSysfs, type PciDirs } from './sysfs/pci-tree.js';
export { buildDevfs } from './devfs.js';
