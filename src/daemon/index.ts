// The daemon and what the CLI needs to find and drive one (the only file the CLI imports of the lower layers' mount mechanics).
export * from './control.js';
export * from './daemon.js';
export * from './daemon-identity.js';
export * from './logger.js';
export * from './registry.js';
export * from './state-dir.js';
export { abortConnection, DEFAULT_READERS, DEFAULT_TRANSPORT, FUSE_TRANSPORTS, findMount, isStaleMount, listMounts, mountDevice, unmountFuse, unmountStrict } from '../fuse/index.js';
export type { FuseTransport } from '../fuse/index.js';
export { checkRootOnlyDir, UnsafePathError } from '../memory/index.js';
